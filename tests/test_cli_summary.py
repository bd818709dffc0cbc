"""The summary of ``emkit fit``: what mclust's ``summary()`` shows of a Gaussian mixture, in
mclust's sign and one number format, and the restarts."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import emkit
from cli_support import run_cli as _run
from cli_support import table_rows as _table_rows
from emkit.io.readers import read_table

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAITHFUL = ROOT / "examples" / "data" / "faithful.csv"


def _fit(capsys, tmp_path, *extra):
    path = tmp_path / "m.emkit"
    argv = ["fit", FAITHFUL, "--model", "gmm", "-k", 2, "--random-state", 0, "-o", path, *extra]
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    est = emkit.load(path)
    del est.feature_names_in_  # scored on a plain array below
    return out, est, read_table(FAITHFUL).values


def _field(out, label):
    """The text after the label of a summary line."""
    (line,) = [line for line in out.splitlines() if line.startswith(f"{label:<16}")]
    return line[16:]


def _matrix(out, title):
    lines = out.splitlines()
    start = lines.index(title) + 1
    header = lines[start].split()
    rows = [lines[start + 1 + i].split() for i in range(len(header))]
    assert [row[0] for row in rows] == header
    return np.array([[float(v) for v in row[1:]] for row in rows])


def test_gaussian_mixture_summary_has_mclusts_numbers(tmp_path, capsys):
    out, est, X = _fit(capsys, tmp_path)
    n = X.shape[0]
    log_lik = est.score(X) * n
    proba = est.predict_proba(X)
    bic = 2 * log_lik - est._n_parameters() * np.log(n)
    icl = bic + 2 * np.log(proba.max(axis=1)).sum()
    assert _field(out, "log-likelihood") == f"{log_lik:.6g} (mean per sample {log_lik / n:.6g})"
    assert _field(out, "parameters") == "11 (df)"
    assert _field(out, "criteria") == "BIC, ICL and AIC in mclust's sign: larger is better"
    assert _field(out, "BIC") == f"{bic:.6g} (2 log L - df log n)"
    assert _field(out, "ICL") == f"{icl:.6g} (BIC + 2 sum of log largest posterior)"
    assert _field(out, "AIC") == f"{2 * log_lik - 22:.6g} (2 log L - 2 df)"
    assert bic == pytest.approx(-est.bic(X), rel=1e-12)

    _, rows = _table_rows(out, "means by component")
    np.testing.assert_array_equal([r[1] for r in rows], [f"{w:.6g}" for w in est.weights_])
    for j in range(2):
        matrix = _matrix(out, f"covariance of component {j}")
        np.testing.assert_allclose(matrix, est.covariances_[j], rtol=5e-6)

    header, rows = _table_rows(out, "clustering table (rows by most probable component)")
    assert header == ["component", "rows"]
    counts = np.bincount(est.predict(X), minlength=2)
    assert [int(r[1]) for r in rows] == counts.tolist()
    uncertainty = 1 - proba.max(axis=1)
    assert _field(out, "uncertainty") == (
        f"mean {uncertainty.mean():.6g}, max {uncertainty.max():.6g} "
        "(1 - the largest posterior probability of a row)"
    )


def test_every_number_has_six_significant_digits(tmp_path, capsys):
    out, est, _ = _fit(capsys, tmp_path)
    _, rows = _table_rows(out, "means by component")
    assert [r[2:] for r in rows] == [[f"{v:.6g}" for v in m] for m in est.means_]


@pytest.mark.parametrize(
    ("covariance_type", "title", "shared"),
    [
        ("diag", "variances by component", False),
        ("spherical", "variances by component", False),
        ("EEI", "variances by component", False),
        ("tied", "covariance of every component", True),
        ("EEE", "covariance of every component", True),
        ("VEV", "covariance of component 1", False),
    ],
)
def test_covariance_tables_by_structure(tmp_path, capsys, covariance_type, title, shared):
    out, est, _ = _fit(capsys, tmp_path, "--covariance-type", covariance_type)
    full = np.asarray(
        emkit.families.covariance_structure(covariance_type).full(est.covariances_, 2, 2)
    )
    if title.startswith("variances"):
        _, rows = _table_rows(out, title)
        variances = np.array([[float(v) for v in r[1:]] for r in rows])
        np.testing.assert_allclose(variances, np.diagonal(full, axis1=1, axis2=2), rtol=5e-6)
        assert "covariance of" not in out
    else:
        np.testing.assert_allclose(_matrix(out, title), full[1], rtol=5e-6)
        assert ("covariance of component 0" in out) is not shared


def test_restarts_show_their_final_log_likelihoods(tmp_path, capsys):
    out, est, X = _fit(capsys, tmp_path, "--n-init", 4, "--init-params", "random")
    text = _field(out, "restarts")
    count, rest = text.split(": final log-likelihoods ")
    assert count == "4"
    shown, reached = rest.split("; ")
    finals = [float(v) for v in shown.split(", ")]
    assert len(finals) == 4
    assert finals == sorted(finals, reverse=True)
    # The best restart is the returned fit.
    assert finals[0] == pytest.approx(est.score(X) * X.shape[0], rel=1e-5)
    assert reached.endswith(" of 4 reached the best")
    assert 1 <= int(reached.split()[0]) <= 4


def test_three_restarts_by_default(tmp_path, capsys):
    out, est, _ = _fit(capsys, tmp_path)
    assert est.n_init == 3
    assert _field(out, "restarts").startswith("3: final log-likelihoods ")
    assert "best of 3 initialisations" in _field(out, "converged")


def test_a_single_start_is_said_and_restarts_suggested(tmp_path, capsys):
    out, _, _ = _fit(capsys, tmp_path, "--n-init", 1)
    assert _field(out, "restarts") == (
        "1: a single start may end at a local maximum; try more with --n-init 10"
    )
    out, est, _ = _fit(capsys, tmp_path, "--init-params", "hc")
    assert est.n_init == 1
    assert _field(out, "restarts") == "1 (its start is deterministic)"


def test_hmm_criteria_in_mclusts_sign(tmp_path, capsys):
    path = tmp_path / "h.emkit"
    code, out, err = _run(
        capsys, "fit", FAITHFUL, "--model", "hmm", "-k", 2, "--random-state", 0, "-o", path
    )
    assert code == 0, err
    est = emkit.load(path)
    del est.feature_names_in_
    X = read_table(FAITHFUL).values
    assert _field(out, "criteria") == "BIC and AIC in mclust's sign: larger is better"
    assert _field(out, "BIC") == f"{-est.bic(X):.6g} (2 log L - df log n)"
    _, rows = _table_rows(out, "clustering table (rows by state on the most probable path)")
    assert [int(r[1]) for r in rows] == np.bincount(est.predict(X), minlength=2).tolist()


def test_kmeans_clustering_table(tmp_path, capsys):
    path = tmp_path / "k.emkit"
    code, out, err = _run(
        capsys, "fit", FAITHFUL, "--model", "kmeans", "-k", 3, "--random-state", 0, "-o", path
    )
    assert code == 0, err
    est = emkit.load(path)
    del est.feature_names_in_
    _, rows = _table_rows(out, "clustering table (rows by nearest centre)")
    labels = est.predict(read_table(FAITHFUL).values)
    assert [int(r[1]) for r in rows] == np.bincount(labels, minlength=3).tolist()
    assert "uncertainty" not in out and "BIC" not in out


def test_hmm_restarts_show_their_final_objectives(tmp_path, capsys):
    path = tmp_path / "h.emkit"
    argv = ["fit", FAITHFUL, "--model", "hmm", "-k", 2, "--random-state", 0, "-o", path]
    code, out, err = _run(capsys, *argv, "--n-init", 3, "--init-params", "stmc")
    assert code == 0, err
    X = read_table(FAITHFUL).values
    expected = emkit.GaussianHMM(2, n_iter=100, n_init=3, random_state=0).fit(X)
    # The face's restart_lower_bounds_, per sample, as totals over the data.
    finals = np.sort(expected.restart_lower_bounds_ * X.shape[0])[::-1]
    count, rest = _field(out, "restarts").split(": final objectives (log-likelihood + log prior) ")
    assert count == "3"
    shown, reached = rest.split("; ")
    assert shown == ", ".join(f"{v:.6g}" for v in finals)
    assert reached.endswith(" of 3 reached the best")
