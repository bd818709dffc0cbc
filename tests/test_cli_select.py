"""Tests for ``emkit select`` (emkit.cli.main) and ``emkit fit --init-params hc``."""

from __future__ import annotations

import csv
import math
import pathlib

import numpy as np
import pytest

import emkit
from cli_support import run_cli as _run
from cli_support import table_rows as _table_rows
from emkit.cli.parser import build_parser
from emkit.io.readers import read_table
from emkit.selection import TABLE_COLUMNS, select_model

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAITHFUL = ROOT / "examples" / "data" / "faithful.csv"
TITLE = "candidates, best first (BIC, ICL, AIC: larger is better)"
TYPES = "EII,VII,EEE,VVV"


def _fail(capsys, *argv):
    """Run a command that must fail; returns its stderr."""
    code, out, err = _run(capsys, *argv)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    return err


def _select(capsys, *extra, data=FAITHFUL):
    code, out, err = _run(
        capsys,
        "select",
        data,
        "--components",
        "1-4",
        "--covariance-types",
        TYPES,
        "--random-state",
        0,
        "--n-jobs",
        2,
        *extra,
    )
    assert code == 0, err
    return out, err


@pytest.fixture(scope="module")
def expected():
    """The same selection through the Python API."""
    X = read_table(FAITHFUL).values
    return select_model(
        X, n_components=[1, 2, 3, 4], covariance_types=TYPES.split(","), random_state=0
    )


def test_select_prints_the_chosen_model_and_the_table(capsys, expected):
    out, err = _select(capsys)
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == (
        "emkit select: Gaussian mixture, 3 components, EEE covariance (best BIC of 16 candidates)"
    )
    assert f"{FAITHFUL}: 272 samples x 2 features (eruptions, waiting)" in out
    assert "criterion       BIC, larger is better (mclust's sign)" in out
    best = expected.best_
    assert f"BIC             {best.bic:.6g} (2 log L - df log n)" in out
    assert f"ICL             {best.icl:.6g} (BIC + 2 sum of log largest posterior)" in out
    assert f"AIC             {best.aic:.6g} (2 log L - 2 df)" in out
    assert f"log-likelihood  {best.log_likelihood:.6g} (mean per sample" in out
    assert "parameters      11" in out

    header, rows = _table_rows(out, TITLE)
    assert header == [
        "rank",
        "covariance",
        "K",
        "log-likelihood",
        "parameters",
        "BIC",
        "ICL",
        "AIC",
        "converged",
    ]
    assert [row[0] for row in rows] == [str(i) for i in range(1, 17)]
    assert [(row[1], int(row[2])) for row in rows] == [
        (c.covariance_type, c.n_components) for c in expected.ranked()
    ]
    bics = [float(row[5]) for row in rows]
    assert bics == sorted(bics, reverse=True)
    assert rows[0][1:3] == ["EEE", "3"]
    for row, c in zip(rows, expected.ranked(), strict=True):
        assert row[5] == f"{c.bic:.6g}" and row[6] == f"{c.icl:.6g}" and row[7] == f"{c.aic:.6g}"
        assert row[4] == str(c.n_parameters) and row[8] == "yes"

    header, means = _table_rows(out, "means by component")
    assert header == ["component", "weight", "eruptions", "waiting"]
    assert len(means) == 3


def test_select_by_icl_sorts_by_icl(capsys):
    out, _ = _select(capsys, "--criterion", "icl")
    assert "(best ICL of 16 candidates)" in out.splitlines()[0]
    _, rows = _table_rows(out, TITLE)
    icls = [float(row[6]) for row in rows]
    assert icls == sorted(icls, reverse=True)


def test_select_writes_the_table_and_the_model(tmp_path, capsys, expected):
    table, model = tmp_path / "table.csv", tmp_path / "best.emkit"
    out, _ = _select(capsys, "--output", table, "--save", model)
    assert out.splitlines()[-2:] == [f"table written to {table}", f"model written to {model}"]

    with open(table, newline="") as stream:
        records = list(csv.DictReader(stream))
    assert list(records[0]) == ["rank", *TABLE_COLUMNS]
    assert len(records) == 16
    for rank, (record, c) in enumerate(zip(records, expected.ranked(), strict=True), start=1):
        assert int(record["rank"]) == rank
        assert record["covariance_type"] == c.covariance_type
        assert int(record["n_components"]) == c.n_components
        assert int(record["n_parameters"]) == c.n_parameters
        for name in ("log_likelihood", "bic", "icl", "aic"):
            assert float(record[name]) == getattr(c, name)  # written exactly
        assert record["converged"] == "1" and record["error"] == ""

    est = emkit.load(model)
    assert isinstance(est, emkit.GaussianMixture)
    assert (est.covariance_type, est.n_components, est.init_params) == ("EEE", 3, "hc")
    assert list(est.feature_names_in_) == ["eruptions", "waiting"]
    np.testing.assert_array_equal(est.means_, expected.best_estimator_.means_)
    code, out, err = _run(capsys, "predict", model, FAITHFUL)
    assert code == 0, err
    assert out.splitlines()[0] == "row,label" and len(out.splitlines()) == 273


def test_select_is_reproducible_and_independent_of_n_jobs(capsys):
    first, _ = _select(capsys)
    code, second, err = _run(
        capsys,
        "select",
        FAITHFUL,
        "--components",
        "1-4",
        "--covariance-types",
        TYPES,
        "--random-state",
        0,
        "--n-jobs",
        1,
    )
    assert code == 0, err
    assert first == second


def test_select_options_reach_the_fits(tmp_path, capsys):
    model = tmp_path / "m.emkit"
    out, _ = _select(
        capsys,
        "--columns",
        "waiting",
        "--init-params",
        "kmeans",
        "--n-init",
        2,
        "--max-iter",
        300,
        "--tol",
        "1e-5",
        "--reg-covar",
        "1e-4",
        "--save",
        model,
    )
    assert "272 samples x 1 feature (waiting)" in out
    est = emkit.load(model)
    assert (est.init_params, est.n_init, est.max_iter, est.tol, est.reg_covar) == (
        "kmeans",
        2,
        300,
        1e-5,
        1e-4,
    )
    assert list(est.feature_names_in_) == ["waiting"]


def test_select_component_lists(capsys):
    code, out, err = _run(
        capsys,
        "select",
        FAITHFUL,
        "-k",
        "3,1-2",
        "--covariance-types",
        "VVV",
        "--random-state",
        0,
        "--n-jobs",
        1,
    )
    assert code == 0, err
    _, rows = _table_rows(out, TITLE)
    assert sorted(int(row[2]) for row in rows) == [1, 2, 3]


def test_select_defaults():
    args = build_parser().parse_args(["select", "data.csv"])
    assert args.components == list(range(1, 10))
    assert args.covariance_types is None
    assert (args.criterion, args.init_params) == ("bic", "hc")
    assert args.output is None and args.save is None


def test_select_quiet_prints_nothing(tmp_path, capsys):
    model = tmp_path / "m.emkit"
    out, err = _select(capsys, "--quiet", "--save", model)
    assert out == "" and err == ""
    assert model.exists()


def test_select_reports_failures_and_non_convergence(tmp_path, capsys):
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(size=(60, 2)), np.tile([[5.0, 5.0]], (15, 1))])
    data = tmp_path / "dup.csv"
    np.savetxt(data, X, delimiter=",", header="a,b", comments="")
    table = tmp_path / "t.csv"
    code, out, err = _run(
        capsys,
        "select",
        data,
        "-k",
        "1-3",
        "--covariance-types",
        "VVV",
        "--reg-covar",
        0,
        "--n-jobs",
        1,
        "--output",
        table,
    )
    assert code == 0, err
    _, rows = _table_rows(out, TITLE)
    failed = [row for row in rows if row[-1] == "failed"]
    assert failed and all(row[3] == "-" and row[5] == "-" for row in failed)
    assert rows[-1][-1] == "failed"
    assert any(line.startswith("failed: VVV K=") for line in out.splitlines())
    assert "ill-defined empirical covariance" in out
    with open(table, newline="") as stream:
        records = list(csv.DictReader(stream))
    assert records[-1]["error"] != "" and math.isnan(float(records[-1]["bic"]))
    assert err == ""
    # On these data VII with two components is not estimable (a component on the repeated
    # point); Old Faithful's is, and one iteration leaves it unconverged.
    code, out, err = _run(
        capsys,
        "select",
        FAITHFUL,
        "-k",
        "1-2",
        "--covariance-types",
        "VII",
        "--max-iter",
        1,
        "--tol",
        "1e-12",
        "--init-params",
        "kmeans",
        "--random-state",
        0,
        "--n-jobs",
        1,
    )
    assert code == 0, err
    assert err.count("emkit: warning:") == 2
    assert "candidates did not converge within 1 iterations (VII K=2)" in err
    # The best K is the largest tried.
    assert "emkit: warning: the best number of components, 2, is the largest tried" in err
    _, rows = _table_rows(out, TITLE)
    assert "no" in [row[-1] for row in rows]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--components", "0-3"], "argument --components/-k: expected ranges"),
        (["--components", "3-1"], "argument --components/-k: expected ranges"),
        (["--components", "two"], "argument --components/-k: expected numbers of components"),
        (["--criterion", "bicc"], "argument --criterion: invalid choice: 'bicc'"),
        (["--covariance-types", "VVV,XYZ"], "--covariance-types: covariance_type must be one of"),
        (["--covariance-types", "full,VVV"], "names the same model twice ('full' and 'VVV')"),
        (["--covariance-types", "VVV,,EII"], "argument --covariance-types: expected comma"),
        (["--n-init", "2"], "--n-init applies to --init-params kmeans"),
        (["--n-jobs", "0"], "argument --n-jobs: expected a non-zero whole number"),
        (["--init-params", "zeros"], "argument --init-params: invalid choice"),
        (["--columns", "nope"], "has no column 'nope'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_select_errors(capsys, argv, message):
    err = _fail(capsys, "select", FAITHFUL, *argv)
    assert message in err


def test_select_refuses_data_no_candidate_fits(tmp_path, capsys):
    data = tmp_path / "tiny.csv"
    data.write_text("a,b\n1,2\n3,5\n4,4\n")
    err = _fail(capsys, "select", data, "-k", "5-6", "--covariance-types", "VII")
    assert "emkit: error: none of the 2 candidate models could be fitted" in err
    one = tmp_path / "one.csv"
    one.write_text("a,b\n1,2\n")
    assert "has 1 sample" in _fail(capsys, "select", one)


def test_fit_with_the_hierarchical_start(tmp_path, capsys):
    model = tmp_path / "m.emkit"
    code, _, err = _run(
        capsys,
        "fit",
        FAITHFUL,
        "--model",
        "gmm",
        "--components",
        3,
        "--covariance-type",
        "tied",
        "--init-params",
        "hc",
        "--tol",
        "1e-6",
        "--max-iter",
        1000,
        "-o",
        model,
    )
    assert code == 0, err
    est = emkit.load(model)
    assert est.init_params == "hc"
    del est.feature_names_in_  # scored on a plain array below
    # mclust's EEE model with 3 components on these data: BIC -2314.316 (its sign).
    assert -est.bic(read_table(FAITHFUL).values) >= -2314.316 - 0.1


@pytest.mark.parametrize(
    ("components", "note"),
    [
        (
            "1-2",
            "the best number of components, 2, is the largest tried: the best model may "
            "have more; widen --components",
        ),
        (
            "3-5",
            "the best number of components, 3, is the smallest tried: the best model may "
            "have fewer; widen --components",
        ),
        ("2-4", None),
    ],
)
def test_select_says_when_the_best_is_at_the_edge_of_the_range(capsys, components, note):
    code, out, err = _run(
        capsys, "select", FAITHFUL, "-k", components, "--covariance-types", "EEE", "-q"
    )
    assert (code, out) == (0, "")
    assert err == ("" if note is None else f"emkit: warning: {note}\n")
