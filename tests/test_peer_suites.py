"""scikit-learn's and hmmlearn's own test suites, run against emkit's classes
(``tools/peer_suites.py``): a drop-in passes every test of them that counts."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

TOOL = pathlib.Path(__file__).resolve().parents[1] / "tools" / "peer_suites.py"


@pytest.mark.parametrize(
    "suite",
    [
        "sklearn-gaussian-mixture",
        "sklearn-bayesian-mixture",
        "sklearn-kmeans",
        "sklearn-lda",
        "sklearn-factor-analysis",
        "hmmlearn",
    ],
)
def test_the_peers_suite_passes_with_emkit(suite):
    pytest.importorskip("hmmlearn")
    run = subprocess.run(
        [sys.executable, str(TOOL), suite], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "failed with emkit" not in run.stdout
