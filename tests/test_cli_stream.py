"""The command line reads a mixture's data file a chunk at a time: ``emkit fit`` fits, checks
and summarises a row source, and ``emkit predict`` writes its table a chunk at a time; both
say what they did in the words of the whole file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

import emkit
import emkit.cli.data
from cli_support import run_cli as _run
from emkit.cli import summary
from emkit.cli.summary import Restarts, fit_summary
from emkit.estimators.description import description_of
from emkit.io.readers import read_table

RNG = np.random.default_rng(5)
X = np.concatenate([RNG.normal(0, 1, (700, 2)), RNG.normal(3, 1, (500, 2))]).round(6)
COUNTS = RNG.poisson([[1.0, 6.0]], size=(1200, 2)).astype(np.float64)
CHUNK = "100"  # 12 chunks of the 1200 rows


def _csv(path, values, columns=("a", "b")):
    pd.DataFrame(values, columns=list(columns)).to_csv(path, index=False)
    return path


def _no_whole_reads(monkeypatch):
    """Make a read of a whole data file fail: what follows reads chunks."""

    def refuse(*args, **kwargs):
        raise AssertionError("the file was read whole")

    monkeypatch.setattr(emkit.cli.data, "read_table", refuse)


def _fail(capsys, *argv):
    code, out, err = _run(capsys, *argv)
    assert code == 2, (out, err)
    assert err.startswith("emkit: error: ") and err.count("\n") == 1, err
    return err.removeprefix("emkit: error: ").rstrip("\n")


# --------------------------------------------------------------------------------------- #
# emkit fit
# --------------------------------------------------------------------------------------- #


@pytest.mark.parametrize("kind", ["csv", "parquet", "npy"])
def test_a_streamed_fit_is_the_fit_of_the_array(tmp_path, capsys, monkeypatch, kind):
    data = tmp_path / f"x.{kind}"
    if kind == "npy":
        np.save(data, X)
    elif kind == "parquet":
        pd.DataFrame(X, columns=["a", "b"]).to_parquet(data)
    else:
        _csv(data, X)
    _no_whole_reads(monkeypatch)
    path = tmp_path / "m.emkit"
    argv = ["fit", data, "--model", "gmm", "-k", 2, "--random-state", 0, "-o", path]
    code, out, err = _run(capsys, *argv, "--chunk-size", CHUNK)
    assert (code, err) == (0, "")
    names = ["x0", "x1"] if kind == "npy" else ["a", "b"]
    assert f"{data}: 1200 samples x 2 features ({', '.join(names)})" in out
    loaded = emkit.load(path)
    expected = emkit.GaussianMixture(2, n_init=3, random_state=0, chunk_size=100).fit(X)
    assert list(loaded.feature_names_in_) == names
    assert_array_equal(loaded.lower_bounds_, expected.lower_bounds_)
    assert_array_equal(loaded.means_, expected.means_)
    assert_array_equal(loaded.covariances_, expected.covariances_)
    # The summary of the array in memory, as the command printed it before it streamed.
    restarts = Restarts(expected.restart_lower_bounds_ * X.shape[0])
    assert out.splitlines()[:-1] == fit_summary(expected, X, names, str(data), restarts)


def _summaries(estimator, source, chunk_size=100):
    """The summary of ``estimator`` scored on the array in memory and on ``source``."""
    X_ = read_table(source.path).values
    restarts = Restarts(np.asarray(estimator.restart_lower_bounds_) * X_.shape[0])
    columns = ("a", "b")
    whole = fit_summary(estimator, X_, columns, "x.csv", restarts)
    streamed = fit_summary(estimator, source, columns, "x.csv", restarts, chunk_size=chunk_size)
    return whole, streamed


def _scores(estimator, values, source, chunk_size=100):
    """The numbers of the summaries before they are printed: of the array, and of one pass
    over ``source``."""
    face = description_of(estimator)
    return (
        summary._scores_of_array(estimator, face, values, ()),
        summary._scores_of_source(estimator, face, source, chunk_size),
    )


@pytest.mark.parametrize(
    ("estimator", "values"),
    [
        (emkit.GaussianMixture(3, random_state=0), X),
        (emkit.StudentMixture(2, random_state=0), X),
        (emkit.PoissonMixture(2, random_state=0), COUNTS),
        (emkit.BayesianGaussianMixture(n_components=3, random_state=0), X),
        (emkit.KMeans(3, n_init=2, random_state=0), X),
    ],
    ids=["gmm", "student", "poisson", "bayesian-gmm", "kmeans"],
)
def test_the_summary_of_one_chunked_pass_is_that_of_the_array(tmp_path, estimator, values):
    data = _csv(tmp_path / "x.csv", values)
    estimator.fit(values)
    whole, streamed = _summaries(estimator, emkit.open_data(data))
    # Six significant digits: round-off apart, the same text.
    assert streamed == whole
    of_array, of_source = _scores(estimator, values, emkit.open_data(data))
    assert of_source.n == of_array.n == values.shape[0]
    assert_array_equal(of_source.counts, of_array.counts)
    for name in ("log_likelihood", "bic", "icl", "aic", "uncertainty"):
        ours, theirs = getattr(of_source, name), getattr(of_array, name)
        assert (ours is None) == (theirs is None), name
        if ours is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, err_msg=name)
    assert (of_source.uncertainty is None) == isinstance(estimator, emkit.KMeans)


def test_the_summary_s_numbers_are_the_face_s(tmp_path):
    data = _csv(tmp_path / "x.csv", X)
    gm = emkit.GaussianMixture(2, random_state=0).fit(X)
    scores = _scores(gm, X, emkit.open_data(data), chunk_size=7)[1]
    proba = gm.predict_proba(X)
    assert scores.log_likelihood == pytest.approx(gm.score(X) * X.shape[0], rel=1e-12)
    assert scores.bic == pytest.approx(-gm.bic(X), rel=1e-12)
    assert scores.aic == pytest.approx(-gm.aic(X), rel=1e-12)
    assert scores.icl == pytest.approx(-gm.bic(X) + 2 * np.log(proba.max(axis=1)).sum(), rel=1e-12)
    uncertainty = 1 - proba.max(axis=1)
    assert scores.uncertainty == pytest.approx((uncertainty.mean(), uncertainty.max()), rel=1e-12)
    assert_array_equal(scores.counts, np.bincount(gm.predict(X), minlength=2))


def test_missing_values_are_counted_over_the_whole_file(tmp_path, capsys, monkeypatch):
    _no_whole_reads(monkeypatch)
    values = X.copy()
    values[[450, 1100], 1] = np.nan
    message = _fail(
        capsys, "fit", _csv(tmp_path / "x.csv", values), "--model", "gmm", "-k", 2,
        "--chunk-size", CHUNK,
    )  # fmt: skip
    assert message == (
        f"{str(tmp_path / 'x.csv')!r}: column 'b' has 2 missing values (first on line 452); "
        "complete rows are required"
    )
    np.save(tmp_path / "x.npy", values)
    message = _fail(capsys, "fit", tmp_path / "x.npy", "--model", "gmm", "-k", 2)
    assert "column 'x1' has 2 missing values (first in row 451)" in message


def test_the_family_s_refusal_names_the_row_of_the_file(tmp_path, capsys, monkeypatch):
    _no_whole_reads(monkeypatch)
    counts = COUNTS.copy()
    counts[1050, 0] = -1.0
    data = _csv(tmp_path / "c.csv", counts)
    message = _fail(capsys, "fit", data, "--model", "poisson", "-k", 2, "--chunk-size", CHUNK)
    assert message == (
        f"{str(data)!r}: Poisson counts must be non-negative; column 'a' holds -1 (data row 1051)"
    )


def test_a_reader_s_error_comes_before_the_family_s(tmp_path, capsys, monkeypatch):
    _no_whole_reads(monkeypatch)
    lines = ["a,b"] + [f"{v:g},1" for v in COUNTS[:, 0]]
    lines[3] = "-1,1"  # refused by the family, in the first chunk
    lines[1000] = "7,x"  # refused by the reader, in a later one
    data = tmp_path / "c.csv"
    data.write_text("\n".join(lines) + "\n")
    message = _fail(capsys, "fit", data, "--model", "poisson", "-k", 2, "--chunk-size", CHUNK)
    assert message == f"{str(data)!r}: column 'b' is not numeric: value 'x' on line 1001"


def test_a_row_index_is_judged_over_every_chunk(tmp_path, capsys, monkeypatch):
    _no_whole_reads(monkeypatch)
    frame = pd.DataFrame(X, columns=["a", "b"])
    indexed = tmp_path / "indexed.csv"
    frame.to_csv(indexed)
    argv = ["--model", "gmm", "-k", 2, "-q", "-o", tmp_path / "m", "--chunk-size", CHUNK]
    code, _, err = _run(capsys, "fit", indexed, *argv)
    assert code == 0
    assert err.startswith(f"emkit: warning: {str(indexed)!r}: the first column has no name and ")
    # Increasing in every chunk but one: no index.
    frame.index = np.r_[np.arange(600), np.arange(600)]
    frame.to_csv(indexed)
    assert _run(capsys, "fit", indexed, *argv)[:3:2] == (0, "")


def test_too_few_rows_are_counted_by_the_pass(tmp_path, capsys, monkeypatch):
    _no_whole_reads(monkeypatch)
    data = _csv(tmp_path / "small.csv", X[:3])
    message = _fail(capsys, "fit", data, "--model", "gmm", "-k", 5, "--chunk-size", 2)
    assert message.endswith("has 3 samples, fewer than the 5 components asked for")


def test_npy_columns_are_chosen_by_their_names(tmp_path, capsys, monkeypatch):
    _no_whole_reads(monkeypatch)
    np.save(tmp_path / "x.npy", X)
    path = tmp_path / "m.emkit"
    argv = ["fit", tmp_path / "x.npy", "--model", "gmm", "-k", 2, "-o", path, "--columns", "x1"]
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    assert "1200 samples x 1 feature (x1)" in out
    assert list(emkit.load(path).feature_names_in_) == ["x1"]
    message = _fail(capsys, *argv[:-1], "x2")
    assert (
        message == f"{str(tmp_path / 'x.npy')!r} has no column 'x2'; available columns: 'x0', 'x1'"
    )


def test_parquet_without_pyarrow_says_so(tmp_path, capsys, monkeypatch):
    data = tmp_path / "x.parquet"
    pd.DataFrame(X, columns=["a", "b"]).to_parquet(data)
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)
    message = _fail(capsys, "fit", data, "--model", "gmm", "-k", 2)
    assert message == "reading Parquet files needs pyarrow: pip install 'emkit[parquet]'"
