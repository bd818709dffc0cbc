"""The public names of emkit: importable, documented, and estimators that load by name."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import emkit
from emkit.estimators.registry import all_faces


@pytest.mark.parametrize("name", emkit.__all__)
def test_public_names_are_documented(name):
    obj = getattr(emkit, name)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        assert obj.__doc__ and obj.__doc__.strip(), f"emkit.{name} has no docstring"


def test_every_public_estimator_can_be_read_back_from_a_model_file():
    public = {
        name
        for name in emkit.__all__
        if inspect.isclass(getattr(emkit, name)) and hasattr(getattr(emkit, name), "save")
    }
    assert public <= set(all_faces())
    assert {"GaussianMixture", "StudentMixture", "BayesianGaussianMixture", "GaussianHMM"} <= public


def test_import_emkit_is_light_and_load_finds_every_face(tmp_path):
    """`import emkit` imports no estimator, nor scikit-learn, SciPy or Numba; a model file
    of any face still loads in a fresh interpreter (its module is found when needed)."""
    import subprocess
    import sys

    X = np.random.default_rng(0).normal(size=(50, 2))
    emkit.PoissonMixture(2, random_state=0).fit(np.abs(np.round(X * 3))).save(tmp_path / "p.emkit")
    code = (
        "import sys, emkit\n"
        "heavy = ('sklearn', 'scipy', 'numba', 'emkit.estimators')\n"
        "assert not [m for m in heavy if m in sys.modules], sys.modules.keys()\n"
        f"model = emkit.load({str(tmp_path / 'p.emkit')!r})\n"
        "print(type(model).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PoissonMixture"
