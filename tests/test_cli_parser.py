"""The command line's parser imports no estimator, and its table of models agrees with the
estimators it names."""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys

import pytest

from emkit.cli import models
from emkit.cli.fit import build_estimator
from emkit.cli.parser import build_parser
from emkit.families.covariance import COVARIANCE_STRUCTURES
from emkit.selection import DEFAULT_MAX_ITER, DEFAULT_TOL

SRC = pathlib.Path(__file__).resolve().parents[1] / "src"

# Runs the command line's parser in a fresh interpreter with the package's own __init__ left
# out (it may import every estimator, which is not the command line's doing), and prints the
# heavy modules that were imported.
_PROBE = """
import importlib.util, io, json, sys, types, contextlib
spec = importlib.util.find_spec("emkit")
package = types.ModuleType("emkit")
package.__path__ = list(spec.submodule_search_locations)
sys.modules["emkit"] = package
from emkit.cli.main import main
for argv in (["--help"], ["fit", "--help"], ["select", "--help"], ["fit", "x.csv"]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    assert code in (0, 2), code
heavy = ("sklearn", "scipy", "numba", "emkit.estimators", "emkit.families", "emkit.selection",
         "emkit.models", "emkit.core", "pyarrow")
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in heavy
                        or name.startswith(heavy))))
"""


def test_parser_and_help_import_no_estimator():
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": ""},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_covariance_types_are_the_families():
    assert models.COVARIANCE_TYPES == tuple(COVARIANCE_STRUCTURES)
    assert set(models.DIAGONAL_COVARIANCES) | set(models.SHARED_COVARIANCES) < set(
        models.COVARIANCE_TYPES
    )


def test_select_defaults_are_select_models():
    assert (models.SELECT_MAX_ITER, models.SELECT_TOL) == (DEFAULT_MAX_ITER, DEFAULT_TOL)


def test_every_face_names_its_class():
    for name, face in models.FACES.items():
        cls = models.estimator_class(face)
        assert cls.__name__ == name
        assert face.components in cls().get_params()


def _args(*argv):
    return build_parser().parse_args(["fit", "data.csv", *map(str, argv)])


@pytest.mark.parametrize(
    ("argv", "name", "params"),
    [
        (["--model", "gmm", "-k", 2], "GaussianMixture", {"n_components": 2, "n_init": 3}),
        (["--model", "kmeans", "-k", 4], "KMeans", {"n_clusters": 4, "n_init": 3}),
        (["--model", "hmm", "-k", 2], "GaussianHMM", {"n_iter": 100, "n_init": 3}),
        (
            ["--model", "hmm", "-k", 2, "--emission", "gmm", "--n-mix", 3, "--max-iter", 7],
            "GMMHMM",
            {"n_mix": 3, "n_iter": 7},
        ),
        (
            ["--model", "student", "-k", 2, "--fixed-dof", 4, "--covariance-type", "EEV"],
            "StudentMixture",
            {"dof_init": 4.0, "fixed_dof": True, "covariance_type": "EEV"},
        ),
        (
            ["--model", "bayesian-gmm", "-k", 2, "--weight-prior", "dirichlet-distribution"],
            "BayesianGaussianMixture",
            {"weight_concentration_prior_type": "dirichlet_distribution"},
        ),
        (["--model", "poisson", "-k", 2, "--init-params", "hc"], "PoissonMixture", {"n_init": 1}),
        (
            ["--model", "gmm", "-k", 2, "--n-init", 5, "--tol", "1e-5", "--reg-covar", "0.1"],
            "GaussianMixture",
            {"n_init": 5, "tol": 1e-5, "reg_covar": 0.1},
        ),
    ],
)
def test_options_become_hyperparameters(argv, name, params):
    estimator = build_estimator(_args(*argv))
    assert type(estimator).__name__ == name
    got = estimator.get_params()
    assert {key: got[key] for key in params} == params


def test_every_model_and_emission_builds_its_face():
    for model, entry in models.MODELS.items():
        for emission, name in entry.faces.items():
            argv = ["--model", model, "-k", 2] + (["--emission", emission] if emission else [])
            assert type(build_estimator(_args(*argv))).__name__ == name


def test_version_is_read_only_when_asked(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--version"])
    assert capsys.readouterr().out.startswith("emkit ")
    assert isinstance(build_parser(), argparse.ArgumentParser)
