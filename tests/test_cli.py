"""Tests for the ``emkit`` command line (emkit.cli.main)."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import emkit
from cli_support import run_cli as _run
from cli_support import table_rows as _table_rows
from emkit.io.readers import read_table

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAITHFUL = ROOT / "examples" / "data" / "faithful.csv"


def _fail(capsys, *argv):
    """Run a command that must fail; returns its stderr."""
    code, out, err = _run(capsys, *argv)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    return err


def _fit_gmm(capsys, path, *extra):
    code, out, err = _run(
        capsys,
        "fit",
        FAITHFUL,
        "--model",
        "gmm",
        "--components",
        2,
        "--random-state",
        0,
        "-o",
        path,
        *extra,
    )
    assert code == 0, err
    return out


def _unnamed(estimator):
    """The estimator without the column names the command line stores, so that plain
    arrays can be passed to it without scikit-learn's feature-name warning."""
    del estimator.feature_names_in_
    return estimator


def _faithful():
    return read_table(FAITHFUL).values


@pytest.fixture
def gmm_file(tmp_path, capsys):
    path = tmp_path / "gmm.emkit"
    _fit_gmm(capsys, path)
    return path


# --------------------------------------------------------------------------------------- #
# emkit fit
# --------------------------------------------------------------------------------------- #


def test_version(capsys):
    code, out, _ = _run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"emkit {emkit.__version__}"


def test_fit_faithful_default_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(
        capsys, "fit", FAITHFUL, "--model", "gmm", "--components", 2, "--random-state", 0
    )
    assert code == 0
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "emkit fit: Gaussian mixture, 2 components, full covariance"
    assert f"{FAITHFUL}: 272 samples x 2 features (eruptions, waiting)" in out
    assert "converged       yes, after" in out
    assert "parameters      11" in out
    assert lines[-1] == "model written to faithful.emkit"

    header, rows = _table_rows(out, "means by component")
    assert header == ["component", "weight", "eruptions", "waiting"]
    weights = sorted(float(row[1]) for row in rows)
    np.testing.assert_allclose(weights, [0.356, 0.644], atol=0.002)
    means = sorted((float(row[2]), float(row[3])) for row in rows)
    np.testing.assert_allclose(means, [(2.04, 54.5), (4.29, 80.0)], atol=0.05)

    path = tmp_path / "faithful.emkit"
    est = emkit.load(path)
    assert isinstance(est, emkit.GaussianMixture)
    assert list(est.feature_names_in_) == ["eruptions", "waiting"]
    np.testing.assert_allclose(np.sort(est.weights_), weights, atol=1e-4)
    X = _faithful()
    labels = _unnamed(est).predict(X)
    assert labels.shape == (272,)
    assert set(labels.tolist()) == {0, 1}


def test_fit_summary_statistics_match_the_estimator(tmp_path, capsys):
    out = _fit_gmm(capsys, tmp_path / "m.emkit")
    est = _unnamed(emkit.load(tmp_path / "m.emkit"))
    X = _faithful()
    # mclust's sign, larger is better: scikit-learn's bic() and aic() negated.
    assert f"BIC             {-est.bic(X):.6g} (2 log L - df log n)" in out
    assert f"AIC             {-est.aic(X):.6g} (2 log L - 2 df)" in out
    assert f"log-likelihood  {est.score(X) * 272:.6g}" in out


def test_fit_is_reproducible_with_random_state(tmp_path, capsys):
    out1 = _fit_gmm(capsys, tmp_path / "a.emkit", "--init-params", "random")
    out2 = _fit_gmm(capsys, tmp_path / "b.emkit", "--init-params", "random")
    assert out1.splitlines()[:-1] == out2.splitlines()[:-1]


def test_fit_kmeans(tmp_path, capsys):
    path = tmp_path / "k.emkit"
    code, out, err = _run(
        capsys,
        "fit",
        FAITHFUL,
        "--model",
        "kmeans",
        "--components",
        3,
        "--random-state",
        1,
        "--n-init",
        2,
        "-o",
        path,
    )
    assert code == 0, err
    assert out.splitlines()[0] == "emkit fit: k-means, 3 clusters"
    assert "inertia" in out
    assert "best of 2 initialisations" in out
    header, rows = _table_rows(out, "cluster centres")
    assert header == ["cluster", "eruptions", "waiting"]
    assert len(rows) == 3
    est = emkit.load(path)
    assert isinstance(est, emkit.KMeans)
    assert est.n_clusters == 3
    np.testing.assert_allclose(
        np.sort(est.cluster_centers_[:, 1]), sorted(float(row[2]) for row in rows), rtol=1e-4
    )
    assert f"inertia         {est.inertia_:.6g}" in out


@pytest.mark.parametrize(
    ("covariance_type", "words"),
    [("full", "full"), ("tied", "tied"), ("diag", "diagonal"), ("spherical", "spherical")],
)
def test_fit_every_covariance_type(tmp_path, capsys, covariance_type, words):
    path = tmp_path / f"{covariance_type}.emkit"
    out = _fit_gmm(
        capsys,
        path,
        "--covariance-type",
        covariance_type,
        "--n-init",
        2,
        "--max-iter",
        500,
        "--tol",
        "1e-4",
        "--reg-covar",
        "1e-5",
    )
    assert f"Gaussian mixture, 2 components, {words} covariance" in out
    est = emkit.load(path)
    assert est.covariance_type == covariance_type
    assert (est.n_init, est.max_iter, est.tol, est.reg_covar) == (2, 500, 1e-4, 1e-5)
    expected_parameters = {"full": 11, "tied": 8, "diag": 9, "spherical": 7}[covariance_type]
    assert f"parameters      {expected_parameters}" in out


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_fit_init_params(tmp_path, capsys, init_params):
    path = tmp_path / "m.emkit"
    _fit_gmm(capsys, path, "--init-params", init_params)
    assert emkit.load(path).init_params == init_params


def test_fit_selected_columns(tmp_path, capsys):
    path = tmp_path / "m.emkit"
    out = _fit_gmm(capsys, path, "--columns", "waiting")
    assert "272 samples x 1 feature (waiting)" in out
    est = emkit.load(path)
    assert list(est.feature_names_in_) == ["waiting"]
    assert est.means_.shape == (2, 1)


def test_fit_headerless_npy_names_columns(tmp_path, capsys):
    data = tmp_path / "data.npy"
    np.save(data, _faithful())
    path = tmp_path / "m.emkit"
    code, out, err = _run(
        capsys, "fit", data, "--model", "gmm", "--components", 2, "--random-state", 0, "-o", path
    )
    assert code == 0, err
    assert "272 samples x 2 features (x0, x1)" in out
    assert list(emkit.load(path).feature_names_in_) == ["x0", "x1"]


def test_fit_quiet_prints_nothing(tmp_path, capsys):
    path = tmp_path / "m.emkit"
    code, out, err = _run(
        capsys, "fit", FAITHFUL, "--model", "gmm", "--components", 2, "--quiet", "-o", path
    )
    assert (code, out, err) == (0, "", "")
    assert path.exists()


def test_fit_reports_non_convergence_as_a_warning(tmp_path, capsys):
    path = tmp_path / "m.emkit"
    code, out, err = _run(
        capsys,
        "fit",
        FAITHFUL,
        "--model",
        "gmm",
        "--components",
        3,
        "--max-iter",
        1,
        "--tol",
        0,
        "--random-state",
        0,
        "-o",
        path,
    )
    assert code == 0
    assert "converged       no, after 1 iteration" in out
    # tol 0 disables the convergence warning; a positive tol that is not reached warns.
    code, out, err = _run(
        capsys,
        "fit",
        FAITHFUL,
        "--model",
        "gmm",
        "--components",
        3,
        "--max-iter",
        1,
        "--tol",
        "1e-12",
        "--random-state",
        0,
        "-o",
        path,
    )
    assert code == 0
    assert err.startswith("emkit: warning: ")
    assert "did not converge" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------------------- #
# emkit predict
# --------------------------------------------------------------------------------------- #


def test_predict_to_stdout(gmm_file, capsys):
    code, out, err = _run(capsys, "predict", gmm_file, FAITHFUL)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "row,label"
    rows, labels = np.array([[int(v) for v in line.split(",")] for line in lines[1:]]).T
    np.testing.assert_array_equal(rows, np.arange(272))
    expected = _unnamed(emkit.load(gmm_file)).predict(_faithful())
    np.testing.assert_array_equal(labels, expected)


def test_predict_proba_to_stdout(gmm_file, capsys):
    code, out, _ = _run(capsys, "predict", gmm_file, FAITHFUL, "--proba")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "row,label,p0,p1"
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])[:, 1:]
    assert rows.shape == (272, 3)
    np.testing.assert_allclose(rows[:, 1:].sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(rows[:, 0], np.argmax(rows[:, 1:], axis=1))


def test_predict_proba_to_file(gmm_file, tmp_path, capsys):
    out_path = tmp_path / "pred.csv"
    code, out, err = _run(capsys, "predict", gmm_file, FAITHFUL, "--proba", "-o", out_path)
    assert (code, out, err) == (0, "", "")
    table = read_table(out_path)
    assert table.columns == ("row", "label", "p0", "p1")
    assert table.values.shape == (272, 4)
    proba = table.values[:, 2:]
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(table.values[:, 1], np.argmax(proba, axis=1))
    expected = _unnamed(emkit.load(gmm_file)).predict_proba(_faithful())
    np.testing.assert_allclose(proba, expected, rtol=1e-12)


def test_predict_labels_to_file(gmm_file, tmp_path, capsys):
    out_path = tmp_path / "labels.csv"
    assert _run(capsys, "predict", gmm_file, FAITHFUL, "-o", out_path)[0] == 0
    table = read_table(out_path)
    assert table.columns == ("row", "label")
    assert set(table.values[:, 1].tolist()) == {0.0, 1.0}


def test_predict_selects_columns_by_name(gmm_file, tmp_path, capsys):
    X = _faithful()
    # Columns in another order, plus a text column the model does not use.
    lines = ["id,waiting,eruptions"] + [f"s{i},{w!r},{e!r}" for i, (e, w) in enumerate(X.tolist())]
    data = tmp_path / "shuffled.csv"
    data.write_text("\n".join(lines) + "\n")
    _, expected, _ = _run(capsys, "predict", gmm_file, FAITHFUL)
    code, out, err = _run(capsys, "predict", gmm_file, data)
    assert code == 0, err
    assert out == expected


def test_predict_headerless_data_by_position(gmm_file, tmp_path, capsys):
    data = tmp_path / "plain.csv"
    data.write_text("".join(f"{e!r},{w!r}\n" for e, w in _faithful().tolist()))
    _, expected, _ = _run(capsys, "predict", gmm_file, FAITHFUL)
    code, out, err = _run(capsys, "predict", gmm_file, data)
    assert code == 0, err
    assert out == expected


def test_predict_kmeans(tmp_path, capsys):
    path = tmp_path / "k.emkit"
    assert (
        _run(
            capsys, "fit", FAITHFUL, "--model", "kmeans", "-k", 2, "-o", path, "--random-state", 0
        )[0]
        == 0
    )
    code, out, _ = _run(capsys, "predict", path, FAITHFUL)
    assert code == 0
    labels = np.array([int(line.split(",")[1]) for line in out.splitlines()[1:]])
    np.testing.assert_array_equal(labels, _unnamed(emkit.load(path)).predict(_faithful()))


# --------------------------------------------------------------------------------------- #
# emkit info
# --------------------------------------------------------------------------------------- #


def test_info_gmm(gmm_file, capsys):
    code, out, err = _run(capsys, "info", gmm_file)
    assert code == 0, err
    assert "model           GaussianMixture: Gaussian mixture, 2 components, full covariance" in out
    assert "features        2 (eruptions, waiting)" in out
    assert "converged       yes" in out
    assert "parameters      11" in out
    assert "hyperparameters" in out
    # names are padded to the longest hyperparameter name
    assert re.search(r"^  covariance_type +full$", out, re.MULTILINE)
    assert re.search(r"^  random_state +0$", out, re.MULTILINE)
    header, rows = _table_rows(out, "means by component")
    assert header == ["component", "weight", "eruptions", "waiting"]
    assert len(rows) == 2


def test_info_table_matches_fit(tmp_path, capsys):
    path = tmp_path / "m.emkit"
    fit_out = _fit_gmm(capsys, path)
    _, info_out, _ = _run(capsys, "info", path)
    assert _table_rows(fit_out, "means by component") == _table_rows(info_out, "means by component")


def test_info_kmeans(tmp_path, capsys):
    path = tmp_path / "k.emkit"
    assert _run(capsys, "fit", FAITHFUL, "--model", "kmeans", "-k", 2, "-o", path)[0] == 0
    code, out, _ = _run(capsys, "info", path)
    assert code == 0
    assert "KMeans: k-means, 2 clusters" in out
    assert "inertia" in out
    assert "  n_clusters    2" in out
    assert len(_table_rows(out, "cluster centres")[1]) == 2


# --------------------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------------------- #


def test_error_missing_data_file(tmp_path, capsys):
    err = _fail(capsys, "fit", tmp_path / "nope.csv", "--model", "gmm", "--components", 2)
    assert err.startswith("emkit: error: no such file:")
    assert "nope.csv" in err


def test_error_missing_model_file(tmp_path, capsys):
    err = _fail(capsys, "predict", tmp_path / "nope.emkit", FAITHFUL)
    assert "emkit: error: no such model file:" in err
    err = _fail(capsys, "info", tmp_path / "nope.emkit")
    assert "emkit: error: no such model file:" in err


def test_error_non_numeric_column(tmp_path, capsys):
    data = tmp_path / "text.csv"
    data.write_text("a,b\n1,2\n3,x\n4,5\n")
    err = _fail(capsys, "fit", data, "--model", "gmm", "--components", 2)
    assert "column 'b' is not numeric: value 'x' on line 3" in err


def test_error_nan(tmp_path, capsys):
    data = tmp_path / "nan.csv"
    data.write_text("a,b\n1,2\n3,nan\n4,5\n")
    # A Gaussian mixture conditions on the observed cells; k-means needs whole rows.
    err = _fail(capsys, "fit", data, "--model", "kmeans", "--components", 2)
    assert "column 'b' has 1 missing value (first on line 3)" in err


def test_error_nan_in_predict_data(tmp_path, capsys):
    # k-means needs whole rows (a Gaussian mixture conditions on the observed cells).
    model = tmp_path / "kmeans.emkit"
    code, _, err = _run(capsys, "fit", FAITHFUL, "--model", "kmeans", "-k", 2, "-o", model, "-q")
    assert code == 0, err
    named = tmp_path / "named.csv"
    named.write_text("eruptions,waiting\n1,2\n3,NA\n")
    assert "column 'waiting' has 1 missing value" in _fail(capsys, "predict", model, named)
    plain = tmp_path / "plain.csv"
    plain.write_text("1,2\n3,\n")
    assert "column 'x1' has 1 missing value" in _fail(capsys, "predict", model, plain)


def test_error_empty_file(tmp_path, capsys):
    data = tmp_path / "empty.csv"
    data.write_text("")
    err = _fail(capsys, "fit", data, "--model", "gmm", "--components", 2)
    assert "holds no data rows" in err
    data.write_text("a,b\n")
    err = _fail(capsys, "fit", data, "--model", "kmeans", "--components", 2)
    assert "holds no data rows" in err


def test_error_unsupported_suffix(tmp_path, capsys):
    data = tmp_path / "data.xlsx"
    data.write_text("a\n1\n")
    err = _fail(capsys, "fit", data, "--model", "gmm", "--components", 1)
    assert "unsupported file type" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["fit", "--model", "gmm", "--components", "2", "--bogus"],
        ["predict", "m.emkit", "d.csv", "--bogus"],
        ["info", "m.emkit", "--bogus"],
    ],
)
def test_error_unknown_option(capsys, argv):
    argv = [str(FAITHFUL) if a == "d.csv" else a for a in argv]
    if argv[0] == "fit":
        argv.insert(1, str(FAITHFUL))
    err = _fail(capsys, *argv)
    assert "unrecognized arguments: --bogus" in err


def test_error_unknown_model(capsys):
    err = _fail(capsys, "fit", FAITHFUL, "--model", "hmmm", "--components", 2)
    assert "argument --model: invalid choice: 'hmmm'" in err


def test_error_missing_required_arguments(capsys):
    assert "required: --components" in _fail(capsys, "fit", FAITHFUL, "--model", "gmm")
    assert "usage: emkit" in _fail(capsys)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--components", "0"),
        ("--components", "two"),
        ("--n-init", "0"),
        ("--max-iter", "-1"),
        ("--tol", "-1"),
        ("--tol", "nan"),
        ("--reg-covar", "abc"),
        ("--random-state", "-3"),
        ("--covariance-type", "full-rank"),
        ("--init-params", "zeros"),
        ("--columns", "a,,b"),
    ],
)
def test_error_invalid_option_values(capsys, option, value):
    argv = ["fit", FAITHFUL, "--model", "gmm", "--components", 2, f"{option}={value}"]
    err = _fail(capsys, *argv)
    assert f"argument {option}" in err


def test_error_gmm_option_with_kmeans(capsys):
    err = _fail(
        capsys, "fit", FAITHFUL, "--model", "kmeans", "--components", 2, "--covariance-type", "diag"
    )
    assert err == (
        "emkit: error: --covariance-type applies to --model bayesian-gmm, gmm or student and to "
        "--model hmm --emission gaussian or gmm only\n"
    )


def test_error_unknown_column(capsys):
    err = _fail(
        capsys,
        "fit",
        FAITHFUL,
        "--model",
        "gmm",
        "--components",
        2,
        "--columns",
        "waiting,duration",
    )
    assert "has no column 'duration'" in err


def test_error_model_wrong_number_of_columns(gmm_file, tmp_path, capsys):
    data = tmp_path / "three.csv"
    data.write_text("1,2,3\n4,5,6\n")
    err = _fail(capsys, "predict", gmm_file, data)
    assert (
        "emkit: error: the model was fitted on 2 features (eruptions, waiting) but "
        f"{str(data)!r} has 3 columns"
    ) in err


def test_error_model_missing_column_names(gmm_file, tmp_path, capsys):
    data = tmp_path / "other.csv"
    data.write_text("eruptions,duration\n1,2\n3,4\n")
    err = _fail(capsys, "predict", gmm_file, data)
    assert f"emkit: error: {str(data)!r} lacks column 'waiting' that the model was fitted on" in err
    # Also when another column of the data is not numeric.
    data.write_text("eruptions,name\n1,a\n3,b\n")
    assert "has no column 'waiting'" in _fail(capsys, "predict", gmm_file, data)


def test_error_headerless_model_wrong_number_of_columns(tmp_path, capsys):
    data = tmp_path / "plain.csv"
    data.write_text("".join(f"{e!r},{w!r}\n" for e, w in _faithful().tolist()))
    model = tmp_path / "m.emkit"
    assert _run(capsys, "fit", data, "--model", "gmm", "-k", 2, "-o", model)[0] == 0
    three = tmp_path / "three.csv"
    three.write_text("a,b,c\n1,2,3\n")
    err = _fail(capsys, "predict", model, three)
    assert f"the model was fitted on 2 features but {str(three)!r} has 3 columns" in err


def test_error_corrupt_model_file(tmp_path, capsys):
    bad = tmp_path / "bad.emkit"
    bad.write_text("this is not a model\n")
    assert "is not an emkit model file" in _fail(capsys, "predict", bad, FAITHFUL)
    assert "is not an emkit model file" in _fail(capsys, "info", bad)


def test_error_truncated_model_file(gmm_file, tmp_path, capsys):
    truncated = tmp_path / "truncated.emkit"
    truncated.write_bytes(gmm_file.read_bytes()[:200])
    assert "is truncated or corrupt" in _fail(capsys, "info", truncated)


def test_error_zip_that_is_not_a_model(tmp_path, capsys):
    other = tmp_path / "other.emkit"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "has no manifest.json" in _fail(capsys, "predict", other, FAITHFUL)


def test_error_components_exceed_samples(tmp_path, capsys):
    data = tmp_path / "small.csv"
    data.write_text("a,b\n1,2\n3,4\n5,7\n")
    err = _fail(capsys, "fit", data, "--model", "gmm", "--components", 5)
    assert "has 3 samples, fewer than the 5 components asked for" in err
    err = _fail(capsys, "fit", data, "--model", "kmeans", "--components", 4)
    assert "has 3 samples, fewer than the 4 clusters asked for" in err


def test_error_single_sample_gmm(tmp_path, capsys):
    data = tmp_path / "one.csv"
    data.write_text("a,b\n1,2\n")
    err = _fail(capsys, "fit", data, "--model", "gmm", "--components", 1)
    assert "has 1 sample; a Gaussian mixture needs at least 2" in err


def test_error_proba_with_kmeans(tmp_path, capsys):
    path = tmp_path / "k.emkit"
    assert _run(capsys, "fit", FAITHFUL, "--model", "kmeans", "-k", 2, "-o", path)[0] == 0
    assert "--proba needs a probabilistic model" in _fail(
        capsys, "predict", path, FAITHFUL, "--proba"
    )


def test_error_output_directory_missing(tmp_path, capsys):
    err = _fail(
        capsys,
        "fit",
        FAITHFUL,
        "--model",
        "gmm",
        "--components",
        2,
        "-o",
        tmp_path / "no" / "such" / "dir" / "m.emkit",
    )
    assert err == (
        f"emkit: error: cannot write the model file {str(tmp_path / 'no/such/dir/m.emkit')!r}: "
        f"the directory {str(tmp_path / 'no/such/dir')!r} does not exist\n"
    )


# --------------------------------------------------------------------------------------- #
# python -m emkit
# --------------------------------------------------------------------------------------- #


def test_python_dash_m(tmp_path):
    model = tmp_path / "m.emkit"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "emkit",
            "fit",
            str(FAITHFUL),
            "--model",
            "gmm",
            "--components",
            "2",
            "-o",
            str(model),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("emkit fit: Gaussian mixture, 2 components, full covariance")
    assert f"model written to {model}" in proc.stdout
    assert isinstance(emkit.load(model), emkit.GaussianMixture)


def test_predict_with_model_saved_without_column_names(tmp_path, capsys):
    path = tmp_path / "plain.emkit"
    emkit.GaussianMixture(2, random_state=0).fit(_faithful()).save(path)
    code, out, err = _run(capsys, "predict", path, FAITHFUL)
    assert code == 0, err
    assert len(out.splitlines()) == 273
    code, out, _ = _run(capsys, "info", path)
    assert "features        2 (x0, x1)" in out
