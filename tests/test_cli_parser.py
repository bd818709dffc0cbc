"""The command line's parser imports no estimator (nor NumPy); its models are the entry points,
their options the parameters their faces declare, read by declared type."""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import subprocess
import sys
from importlib.metadata import entry_points
from typing import Optional

import pytest

from emkit.cli import models, options, parser
from emkit.cli.errors import CommandError
from emkit.cli.options import build_estimator
from emkit.cli.parser import build_parser, parse_arguments
from emkit.estimators.description import description_of
from emkit.models.initialization import INITIALIZERS
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
heavy = ("numpy", "sklearn", "scipy", "numba", "emkit.estimators", "emkit.families",
         "emkit.selection", "emkit.models", "emkit.core", "pyarrow")
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


def test_defaults_the_help_states_are_the_commands():
    from emkit.cli.topics import FACES

    assert (parser.SELECT_MAX_ITER, parser.SELECT_TOL) == (DEFAULT_MAX_ITER, DEFAULT_TOL)
    assert parser.SELECT_INITS == tuple(INITIALIZERS)
    assert parser.TOPIC_MODELS == tuple(FACES)


def test_models_are_the_entry_points():
    names = {entry.name: entry.value for entry in entry_points(group=models.GROUP)}
    assert models.model_names() == sorted({name.split(".")[0] for name in names})
    # 'hmm' names the default emission's face.
    assert models.emission_names()[0] == "gaussian"
    assert names["hmm"] == names["hmm.gaussian"]
    assert set(models.emission_names()) == {
        name.removeprefix("hmm.") for name in names if name.startswith("hmm.")
    }


def test_every_model_and_emission_builds_its_face():
    built = set()
    for model in models.all_models():
        face = description_of(model.face)
        argv = ["--model", *model.name.split(), "-k", 2]
        estimator = build_estimator(_args(*argv), model)
        assert type(estimator) is model.face
        assert getattr(estimator, face.components) == 2
        built.add(type(estimator).__name__)
    # Every face the entry points name, and none besides.
    assert built == {entry.value.split(":")[1] for entry in entry_points(group=models.GROUP)}


def test_no_model_is_named_in_the_command_line():
    """The command line reads its models from the entry points: no face's class name, no
    name of --model or --emission in its source (but emkit select's, which chooses among
    Gaussian mixtures and names the face select_model fits, and emkit topics's, which names
    its topic models, the mixture of unigrams among them)."""
    names = {entry.value.split(":")[1] for entry in entry_points(group=models.GROUP)}
    names |= {entry.name.removeprefix("hmm.") for entry in entry_points(group=models.GROUP)}
    names.discard("hmm")  # the naming scheme of the emissions
    names -= set(INITIALIZERS)  # 'kmeans' is a start of emkit select too
    for path in sorted((SRC / "emkit" / "cli").glob("*.py")):
        text = path.read_text()
        own = {"select.py": {"GaussianMixture"}, "topics.py": {"MultinomialMixture"}}
        for name in names - own.get(path.name, set()):
            if name[0].isupper():
                assert not re.search(rf"\b{name}\b", text), f"{path.name} names {name}"
            else:
                quoted = rf"[\"']{re.escape(name)}[\"']"
                assert not re.search(quoted, text), f"{path.name} names the model {name!r}"


def _args(*argv):
    return parse_arguments(build_parser(), ["fit", "data.csv", *map(str, argv)])


@pytest.mark.parametrize(
    ("argv", "name", "params"),
    [
        (["--model", "gmm", "-k", 2], "GaussianMixture", {"n_components": 2, "n_init": 3}),
        (["--model", "kmeans", "-k", 4], "KMeans", {"n_clusters": 4, "n_init": 3, "max_iter": 300}),
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
        # Any declared parameter with a value an option can give is an option.
        (
            ["--model", "hmm", "-k", 2, "--min-covar=0.01", "--algorithm", "map"],
            "GaussianHMM",
            {"min_covar": 0.01, "algorithm": "map"},
        ),
        (
            ["--model", "gmm", "-k", 2, "--hard", "--accelerate", "none", "--chunk-size", 64],
            "GaussianMixture",
            {"hard": True, "accelerate": None, "chunk_size": 64},
        ),
        (
            ["--model", "bernoulli", "-k", 2, "--prior", 2, "--init-params", "random-from-data"],
            "BernoulliMixture",
            {"prior": 2.0, "init_params": "random_from_data"},
        ),
        (["--model", "kmeans", "-k", 2, "--init", "random"], "KMeans", {"init": "random"}),
        (
            ["--model", "hmm", "--emission", "poisson", "-k", 2, "--lambdas-prior", "0.5"],
            "PoissonHMM",
            {"lambdas_prior": 0.5, "n_iter": 100},
        ),
    ],
)
def test_options_become_hyperparameters(argv, name, params):
    args = _args(*argv)
    estimator = build_estimator(args, models.load(args.model, args.emission))
    assert type(estimator).__name__ == name
    got = estimator.get_params()
    assert {key: got[key] for key in params} == params


@pytest.mark.parametrize(
    ("model", "flag"),
    [("gmm", "--warm-start"), ("bayesian-gmm", "--warm-start"), ("kmeans", "--copy-x")],
)
def test_parameters_without_effect_in_one_fit_are_not_options(model, flag):
    """A warm start needs a previous fit, and emkit never copies the data: declared, but
    offered only in Python."""
    assert flag not in options.model_options(models.load(model))


def test_parameters_are_set_aside_before_the_parser_reads_the_rest():
    args = _args(
        "--reg-covar", "-1e-3", "--hard", "--quiet", "--model", "gmm", "-k", 2, "--x=a=b", "--y"
    )
    assert args.parameters == [
        ("--reg-covar", "-1e-3"),
        ("--hard", None),
        ("--x", "a=b"),
        ("--y", None),
    ]
    assert (args.model, args.components, args.quiet, args.data) == ("gmm", 2, True, "data.csv")
    # Other commands take no parameters: argparse refuses what it does not know.
    with pytest.raises(SystemExit):
        parse_arguments(build_parser(), ["info", "m.emkit", "--reg-covar", "1"])


@pytest.mark.parametrize(
    ("type_text", "default", "texts", "values"),
    [
        ("float", 1e-6, ["0.5", "1"], [0.5, 1.0]),
        ("int or None", None, ["3", "none"], [3, None]),
        ("{'squarem'} or None", None, ["squarem", "None"], ["squarem", None]),
        ("'auto' or int", "auto", ["auto", "10"], ["auto", 10]),
        ("bool", False, ["true", "no", None], [True, False, True]),
        (
            "{'dirichlet_process', 'dirichlet_distribution'}",
            "x",
            ["dirichlet-process"],
            ["dirichlet_process"],
        ),
        ("float or array-like of shape (n_components,)", 1.0, ["2"], [2.0]),
        ("int | Sequence[int] | None", None, ["4"], [4]),
        # Annotations of families whose module does not postpone them.
        (options.type_text(float), 0.0, ["1e-3"], [1e-3]),
        (options.type_text(int | None), None, ["2", "none"], [2, None]),
        # A type no option reads, with a default one does: the default's type.
        (options.type_text(Optional[int]), 3, ["5"], [5]),  # noqa: UP045
    ],
)
def test_values_are_read_by_declared_type(type_text, default, texts, values):
    conversion = options.Conversion.of(type_text, default)
    assert [conversion.read(text, "--x") for text in texts] == values


@pytest.mark.parametrize(
    "type_text",
    ["array-like of int", "Family", "callable", "frozenset[str]"],
)
def test_types_no_option_can_give(type_text):
    assert options.Conversion.of(type_text, None) is None


@pytest.mark.parametrize(
    ("type_text", "text", "message"),
    [
        ("int", "2.5", "argument --x: expected a whole number, got '2.5'"),
        ("float", "abc", "argument --x: expected a number, got 'abc'"),
        ("{'a', 'b'}", "c", "argument --x: expected one of 'a', 'b', got 'c'"),
        ("float", None, "argument --x: expected a value (a number)"),
    ],
)
def test_values_of_the_wrong_type(type_text, text, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        options.Conversion.of(type_text, 0).read(text, "--x")


def test_version_is_read_only_when_asked(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--version"])
    assert capsys.readouterr().out.startswith("emkit ")
    assert isinstance(build_parser(), argparse.ArgumentParser)
