"""Tests for the mixture models of ``emkit fit --model`` beyond gmm and kmeans: student,
bayesian-gmm, bernoulli, categorical, multinomial, poisson and exponential."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

import emkit
from cli_support import run_cli as _run
from cli_support import table_rows as _table_rows
from emkit.cli.options import DEFAULT_N_INIT
from emkit.estimators.bayesian_gaussian_mixture import BayesianGaussianMixture
from emkit.estimators.mixtures import (
    BernoulliMixture,
    CategoricalMixture,
    ExponentialMixture,
    MultinomialMixture,
    PoissonMixture,
)
from emkit.estimators.student_mixture import StudentMixture
from emkit.io.readers import read_table

N_SAMPLES = 80


def _write(path, header, rows):
    lines = [",".join(header)] + [",".join(repr(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _data(kind, directory):
    """A small two-cluster data file of the kind a family reads, with its feature names."""
    rng = np.random.default_rng(7)
    z = rng.integers(0, 2, N_SAMPLES)[:, np.newaxis]
    if kind == "real":
        X = rng.standard_t(4, (N_SAMPLES, 2)) + np.where(z == 1, [4.0, 3.0], [0.0, 0.0])
    elif kind == "binary":
        X = (rng.random((N_SAMPLES, 3)) < np.where(z == 1, 0.85, 0.15)).astype(int)
    elif kind == "codes":
        first = np.where(z[:, 0] == 1, rng.integers(0, 2, N_SAMPLES), 2)
        second = np.where(z[:, 0] == 1, 3, rng.integers(0, 3, N_SAMPLES))
        X = np.column_stack([first, second])
    elif kind == "counts":
        X = rng.poisson(np.where(z == 1, [2.0, 9.0, 4.0], [8.0, 1.0, 4.0]))
    else:  # waiting times
        X = rng.exponential(np.where(z == 1, [1.0, 6.0], [5.0, 0.5]))
    header = [f"f{j}" for j in range(X.shape[1])]
    return _write(directory / f"{kind}.csv", header, X.tolist())


def _student_columns(est, names):
    return ["dof", *names], np.column_stack([est.dof_, est.means_])


def _categorical_columns(est, names):
    counts = [int(n) for n in est.n_categories_]
    header = [f"{name}={code}" for name, n in zip(names, counts, strict=True) for code in range(n)]
    return header, np.concatenate([est.probs_[:, c, :n] for c, n in enumerate(counts)], axis=1)


def _attribute(name):
    return lambda est, names: (list(names), getattr(est, name))


# --model, data kind, extra options, the same estimator in Python, first summary line, title
# of the parameter table and its columns (names and values) from the Python estimator.
CASES = {
    "student-fixed-dof": (
        "student",
        "real",
        ["--covariance-type", "diag", "--reg-covar", "1e-4", "--fixed-dof", "5"],
        StudentMixture(2, covariance_type="diag", reg_covar=1e-4, dof_init=5.0, fixed_dof=True),
        "Student-t mixture, 2 components, diagonal covariance",
        "degrees of freedom (dof) and locations by component",
        _student_columns,
    ),
    "student": (
        "student",
        "real",
        ["--covariance-type", "EEE", "--init-params", "k-means++"],
        StudentMixture(2, covariance_type="EEE", init_params="k-means++"),
        "Student-t mixture, 2 components, EEE covariance",
        "degrees of freedom (dof) and locations by component",
        _student_columns,
    ),
    "bayesian-gmm": (
        "bayesian-gmm",
        "real",
        ["--covariance-type", "spherical", "--weight-prior", "dirichlet-distribution"],
        BayesianGaussianMixture(
            2, covariance_type="spherical", weight_concentration_prior_type="dirichlet_distribution"
        ),
        "variational Bayesian Gaussian mixture, 2 components, spherical covariance, Dirichlet "
        "distribution weight prior",
        "means by component",
        _attribute("means_"),
    ),
    "bayesian-gmm-process": (
        "bayesian-gmm",
        "real",
        ["--n-init", "2", "--reg-covar", "1e-5"],
        BayesianGaussianMixture(2, n_init=2, reg_covar=1e-5),
        "variational Bayesian Gaussian mixture, 2 components, full covariance, Dirichlet "
        "process weight prior",
        "means by component",
        _attribute("means_"),
    ),
    "bernoulli": (
        "bernoulli",
        "binary",
        ["--init-params", "random", "--max-iter", "50"],
        BernoulliMixture(2, init_params="random", max_iter=50),
        "Bernoulli mixture, 2 components",
        "probabilities of 1 by component",
        _attribute("probs_"),
    ),
    "categorical": (
        "categorical",
        "codes",
        ["--n-init", "4"],
        CategoricalMixture(2, n_init=4),
        "categorical mixture, 2 components",
        "category probabilities by component (feature=code)",
        _categorical_columns,
    ),
    "multinomial": (
        "multinomial",
        "counts",
        ["--tol", "1e-6"],
        MultinomialMixture(2, tol=1e-6),
        "multinomial mixture, 2 components",
        "category probabilities by component",
        _attribute("probs_"),
    ),
    "poisson": (
        "poisson",
        "counts",
        ["--n-init", "3"],
        PoissonMixture(2, n_init=3),
        "Poisson mixture, 2 components",
        "rates by component",
        _attribute("lambdas_"),
    ),
    "exponential": (
        "exponential",
        "waiting",
        ["--init-params", "hc"],
        ExponentialMixture(2, init_params="hc"),
        "exponential mixture, 2 components",
        "rates by component",
        _attribute("rates_"),
    ),
}


def _fail(capsys, *argv):
    """Run a command that must fail; returns its stderr, one error line."""
    code, out, err = _run(capsys, *argv)
    assert code == 2, (out, err)
    assert out == ""
    assert "Traceback" not in err
    assert err.startswith("emkit: error: ") or err.startswith("usage: emkit")
    return err


@pytest.fixture(params=list(CASES))
def fitted(request, tmp_path, capsys):
    """The case, its data file, the model file the command line wrote, its summary, and the
    same estimator fitted in Python."""
    model, kind, extra, estimator, title, table, columns = CASES[request.param]
    data = _data(kind, tmp_path)
    path = tmp_path / "m.emkit"
    argv = ["fit", data, "--model", model, "-k", 2, "--random-state", 0, "-o", path, *extra]
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    assert err == ""
    X = read_table(data).values
    expected = clone(estimator).set_params(random_state=0)
    # The command line's default restarts, but for the deterministic hierarchical start.
    if "--n-init" not in extra and expected.init_params != "hc":
        expected.set_params(n_init=DEFAULT_N_INIT)
    expected.fit(X)
    return {
        "data": data,
        "path": path,
        "out": out,
        "X": X,
        "estimator": expected,
        "title": title,
        "table": table,
        "columns": columns,
    }


def _expected_rows(case):
    est = case["estimator"]
    names, values = case["columns"](est, ["f0", "f1", "f2"][: case["X"].shape[1]])
    rows = [
        [str(j), f"{w:.6g}", *(f"{float(v):.6g}" for v in row)]
        for j, (w, row) in enumerate(zip(est.weights_, values, strict=True))
    ]
    return ["component", "weight", *names], rows


def test_fit_summary_matches_the_estimator(fitted):
    out, est, X = fitted["out"], fitted["estimator"], fitted["X"]
    n, d = X.shape
    lines = out.splitlines()
    assert lines[0] == f"emkit fit: {fitted['title']}"
    names = ", ".join(f"f{j}" for j in range(d))
    assert lines[1] == f"data            {fitted['data']}: {n} samples x {d} features ({names})"
    state = "yes" if est.converged_ else "no"
    assert lines[2].startswith(f"converged       {state}, after {est.n_iter_} iteration")
    assert lines[3].startswith(f"restarts        {est.n_init}")
    if isinstance(est, BayesianGaussianMixture):
        bound = est.lower_bound_
        assert lines[4] == f"ELBO            {bound * n:.6g} (mean per sample {bound:.6g})"
        assert "BIC" not in out
    else:
        mean = est.score(X)
        assert lines[4] == f"log-likelihood  {mean * n:.6g} (mean per sample {mean:.6g})"
        assert lines[5] == f"parameters      {est._n_parameters()} (df)"
        assert lines[6] == "criteria        BIC, ICL and AIC in mclust's sign: larger is better"
        # mclust's sign: scikit-learn's bic() and aic() negated.
        assert lines[7] == f"BIC             {-est.bic(X):.6g} (2 log L - df log n)"
        entropy = np.log(est.predict_proba(X).max(axis=1)).sum()
        icl = -est.bic(X) + 2 * entropy
        assert lines[8] == f"ICL             {icl:.6g} (BIC + 2 sum of log largest posterior)"
        assert lines[9] == f"AIC             {-est.aic(X):.6g} (2 log L - 2 df)"
    assert _table_rows(out, fitted["table"]) == _expected_rows(fitted)
    assert lines[-1] == f"model written to {fitted['path']}"


def test_saved_model_is_the_estimator(fitted):
    est = fitted["estimator"]
    loaded = emkit.load(fitted["path"])
    assert type(loaded) is type(est)
    # The options reached the estimator under its own names, and nothing else changed.
    assert loaded.get_params() == est.get_params()
    assert list(loaded.feature_names_in_) == [f"f{j}" for j in range(fitted["X"].shape[1])]
    np.testing.assert_array_equal(loaded.weights_, est.weights_)
    assert loaded.lower_bound_ == est.lower_bound_


def test_predict_labels_and_proba(fitted, capsys):
    est, X = fitted["estimator"], fitted["X"]
    code, out, err = _run(capsys, "predict", fitted["path"], fitted["data"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "row,label"
    np.testing.assert_array_equal([int(v.split(",")[1]) for v in lines[1:]], est.predict(X))

    code, out, err = _run(capsys, "predict", fitted["path"], fitted["data"], "--proba")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "row,label,p0,p1"
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])[:, 1:]
    np.testing.assert_array_equal(rows[:, 0], est.predict(X))
    np.testing.assert_array_equal(rows[:, 1:], est.predict_proba(X))


def test_info_on_the_saved_file(fitted, capsys):
    est = fitted["estimator"]
    code, out, err = _run(capsys, "info", fitted["path"])
    assert code == 0, err
    assert f"model           {type(est).__name__}: {fitted['title']}\n" in out
    assert f"features        {fitted['X'].shape[1]} (f0, f1" in out
    assert f"  n_components{' ' * 2}" in out
    if isinstance(est, BayesianGaussianMixture):
        assert f"ELBO            mean per sample {est.lower_bound_:.6g} (training data)" in out
    else:
        assert f"log-likelihood  mean per sample {est.lower_bound_:.6g} (training data)" in out
        assert f"parameters      {est._n_parameters()}" in out
    assert _table_rows(out, fitted["table"]) == _table_rows(fitted["out"], fitted["table"])


# --------------------------------------------------------------------------------------- #
# Options that do not apply
# --------------------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("model", "extra", "message"),
    [
        (
            "poisson",
            ["--covariance-type", "diag"],
            "--covariance-type applies to --model bayesian-gmm, gmm or student and to --model "
            "hmm --emission gaussian or gmm only",
        ),
        (
            "bernoulli",
            ["--reg-covar", "0.1"],
            "--reg-covar applies to --model bayesian-gmm, gmm or student only",
        ),
        ("gmm", ["--fixed-dof", "3"], "--fixed-dof applies to --model student only"),
        ("bayesian-gmm", ["--fixed-dof", "3"], "--fixed-dof applies to --model student only"),
        (
            "student",
            ["--weight-prior", "dirichlet-process"],
            "--weight-prior applies to --model bayesian-gmm only",
        ),
        (
            "kmeans",
            ["--init-params", "random"],
            "--init-params applies to --model bayesian-gmm, bernoulli, categorical, exponential, "
            "gmm, multinomial, poisson or student and to --model hmm only",
        ),
        ("categorical", ["--n-mix", "2"], "--n-mix applies to --model hmm --emission gmm only"),
        ("exponential", ["--emission", "poisson"], "--emission applies to --model hmm only"),
        (
            "multinomial",
            ["--sequence-column", "f0"],
            "--sequence-column applies to --model hmm only",
        ),
        (
            "bayesian-gmm",
            ["--covariance-type", "VVV"],
            "argument --covariance-type: expected one of 'full', 'tied', 'diag', 'spherical', "
            "got 'VVV'",
        ),
    ],
)
def test_error_options_that_do_not_apply(tmp_path, capsys, model, extra, message):
    data = _data("counts", tmp_path)
    err = _fail(capsys, "fit", data, "--model", model, "-k", 2, *extra)
    assert err == f"emkit: error: {message}\n"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--fixed-dof", "0"),
        ("--fixed-dof", "-2"),
        ("--fixed-dof", "inf"),
        ("--weight-prior", "dirichlet"),
    ],
)
def test_error_invalid_option_values(tmp_path, capsys, option, value):
    data = _data("real", tmp_path)
    model = "student" if option == "--fixed-dof" else "bayesian-gmm"
    err = _fail(capsys, "fit", data, "--model", model, "-k", 2, f"{option}={value}")
    assert f"argument {option}" in err


# --------------------------------------------------------------------------------------- #
# Data the families cannot read
# --------------------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("model", "rows", "message"),
    [
        (
            "bernoulli",
            [[1, 0], [0, 2]],
            "Bernoulli data must be 0 or 1; column 'b' holds 2 (data row 2)",
        ),
        (
            "bernoulli",
            [[1, 0], [0.5, 1]],
            "Bernoulli data must be 0 or 1; column 'a' holds 0.5 (data row 2)",
        ),
        # The family's check, before scikit-learn's refusal of negative values, which names
        # no position.
        (
            "poisson",
            [[1, 0], [-1, 2]],
            "Poisson counts must be non-negative; column 'a' holds -1 (data row 2)",
        ),
        (
            "poisson",
            [[1, 0.25], [1, 2]],
            "Poisson counts must be integers; column 'b' holds 0.25 (data row 1)",
        ),
        (
            "multinomial",
            [[1, 3], [2, 1.5]],
            "Multinomial counts must be integers; column 'b' holds 1.5 (data row 2)",
        ),
        (
            "categorical",
            [[0, 1], [1.5, 2]],
            "Categorical data must be integer category codes; column 'a' holds 1.5 (data row 2)",
        ),
        (
            "categorical",
            [[0, -1], [1, 2]],
            "Categorical data must be non-negative category codes; column 'b' holds -1 (data "
            "row 1)",
        ),
        (
            "exponential",
            [[0.5, 1], [2, -0.5]],
            "Exponential data must be non-negative; column 'b' holds -0.5 (data row 2)",
        ),
    ],
)
def test_error_data_the_family_cannot_read(tmp_path, capsys, model, rows, message):
    data = _write(tmp_path / "bad.csv", ["a", "b"], rows)
    err = _fail(capsys, "fit", data, "--model", model, "-k", 1)
    assert err == f"emkit: error: {str(data)!r}: {message}\n"


def _fit_quietly(capsys, model, kind, tmp_path):
    data = _data(kind, tmp_path)
    path = tmp_path / f"{model}.emkit"
    argv = ["fit", data, "--model", model, "-k", 2, "--random-state", 0, "-q", "-o", path]
    assert _run(capsys, *argv) == (0, "", "")
    return path


def test_error_predict_data_the_family_cannot_read(tmp_path, capsys):
    path = _fit_quietly(capsys, "poisson", "counts", tmp_path)
    data = _write(tmp_path / "bad.csv", ["f0", "f1", "f2"], [[1, 2, 3], [4, -5, 6]])
    err = _fail(capsys, "predict", path, data)
    assert err == (
        f"emkit: error: {str(data)!r}: Poisson counts must be non-negative; column 'f1' holds -5 "
        "(data row 2)\n"
    )


def test_error_predict_category_unknown_to_the_model(tmp_path, capsys):
    path = _fit_quietly(capsys, "categorical", "codes", tmp_path)
    known = emkit.load(path).n_categories_
    assert list(known) == [3, 4]
    data = _write(tmp_path / "new.csv", ["f0", "f1"], [[0, 3], [1, 2], [2, 4]])
    err = _fail(capsys, "predict", path, data)
    assert err == (
        f"emkit: error: {str(data)!r}: Categorical column 'f1' has 4 categories (codes 0..3); "
        "data row 3 holds 4\n"
    )


def test_error_single_sample(tmp_path, capsys):
    data = _write(tmp_path / "one.csv", ["a", "b"], [[1.0, 2.0]])
    err = _fail(capsys, "fit", data, "--model", "exponential", "-k", 1)
    assert (
        err
        == f"emkit: error: {str(data)!r} has 1 sample; an exponential mixture needs at least 2\n"
    )
    err = _fail(capsys, "fit", data, "--model", "student", "-k", 1)
    assert "has 1 sample; a Student-t mixture needs at least 2" in err
