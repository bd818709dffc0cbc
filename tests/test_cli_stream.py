"""The command line reads a mixture's data file a chunk at a time: ``emkit fit`` fits, checks
and summarises a row source, and ``emkit predict`` writes its table a chunk at a time; both
say what they did in the words of the whole file."""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone

import emkit
import emkit.cli.data
from cli_support import run_cli as _run
from emkit.cli import summary
from emkit.cli.summary import Restarts, fit_summary
from emkit.estimators.description import description_of
from emkit.io.readers import read_table

CASINO = pathlib.Path(__file__).resolve().parents[1] / "examples" / "data" / "casino.csv"
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


# The command line's estimators (three restarts) of the data above, chunks of 100 rows, and
# the attribute that holds their components.
STREAMED = {
    "gmm": (emkit.GaussianMixture(2, n_init=3, random_state=0, chunk_size=100), "means_"),
    "bayesian-gmm": (
        emkit.BayesianGaussianMixture(n_components=2, n_init=3, random_state=0, chunk_size=100),
        "means_",
    ),
    "kmeans": (emkit.KMeans(2, n_init=3, random_state=0, chunk_size=100), "cluster_centers_"),
}


@pytest.mark.parametrize("model", sorted(STREAMED))
@pytest.mark.parametrize("kind", ["csv", "parquet", "npy"])
def test_a_streamed_fit_is_the_fit_of_the_array(tmp_path, capsys, monkeypatch, kind, model):
    data = tmp_path / f"x.{kind}"
    if kind == "npy":
        np.save(data, X)
    elif kind == "parquet":
        pd.DataFrame(X, columns=["a", "b"]).to_parquet(data)
    else:
        _csv(data, X)
    _no_whole_reads(monkeypatch)
    path = tmp_path / "m.emkit"
    argv = ["fit", data, "--model", model, "-k", 2, "--random-state", 0, "-o", path]
    code, out, err = _run(capsys, *argv, "--chunk-size", CHUNK)
    assert (code, err) == (0, "")
    names = ["x0", "x1"] if kind == "npy" else ["a", "b"]
    assert f"{data}: 1200 samples x 2 features ({', '.join(names)})" in out
    loaded = emkit.load(path)
    estimator, components = STREAMED[model]
    expected = clone(estimator).fit(X)
    assert list(loaded.feature_names_in_) == names
    assert_array_equal(loaded.lower_bounds_, expected.lower_bounds_)
    assert_array_equal(getattr(loaded, components), getattr(expected, components))
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
        capsys, "fit", _csv(tmp_path / "x.csv", values), "--model", "kmeans", "-k", 2,
        "--chunk-size", CHUNK,
    )  # fmt: skip
    assert message == (
        f"{str(tmp_path / 'x.csv')!r}: column 'b' has 2 missing values (first on line 452); "
        "complete rows are required"
    )
    np.save(tmp_path / "x.npy", values)
    message = _fail(capsys, "fit", tmp_path / "x.npy", "--model", "kmeans", "-k", 2)
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


# --------------------------------------------------------------------------------------- #
# emkit predict
# --------------------------------------------------------------------------------------- #


@pytest.fixture
def model(tmp_path, capsys):
    """A Gaussian mixture fitted by the command line to the columns a, b; its file and the
    estimator read back without column names."""
    path = tmp_path / "m.emkit"
    data = _csv(tmp_path / "train.csv", X)
    assert _run(capsys, "fit", data, "--model", "gmm", "-k", 2, "-q", "-o", path)[0] == 0
    estimator = emkit.load(path)
    del estimator.feature_names_in_
    return path, estimator


def _inputs(tmp_path):
    """The data to predict, with a column the model does not read and its columns in
    another order, as CSV and as Parquet."""
    frame = pd.DataFrame({"id": np.arange(X.shape[0]) * 3, "b": X[:, 1], "a": X[:, 0]})
    frame.to_csv(tmp_path / "new.csv", index=False)
    frame.to_parquet(tmp_path / "new.parquet")
    return tmp_path / "new.csv", tmp_path / "new.parquet"


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("output", ["stdout", "out.csv", "out.parquet", "out.pq"])
def test_a_streamed_prediction_is_that_of_the_array(
    model, tmp_path, capsys, monkeypatch, kind, output
):
    path, estimator = model
    data = dict(zip(("csv", "parquet"), _inputs(tmp_path), strict=True))[kind]
    _no_whole_reads(monkeypatch)
    argv = ["predict", path, data, "--proba", "--keep-columns", "--chunk-size", CHUNK]
    if output != "stdout":
        argv += ["-o", tmp_path / output]
    code, out, err = _run(capsys, *argv)
    assert (code, err) == (0, "")
    if output == "stdout":
        text = tmp_path / "printed.csv"
        text.write_text(out)
        table = pd.read_csv(text)
    elif output.endswith(".csv"):
        assert out == ""
        table = pd.read_csv(tmp_path / output)
    else:
        table = pd.read_parquet(tmp_path / output)
    assert list(table.columns) == ["row", "a", "b", "label", "p0", "p1"]
    assert_array_equal(table["row"], np.arange(X.shape[0]))
    # The kept columns are the model's, in its order, as the data holds them.
    assert_array_equal(table[["a", "b"]].to_numpy(), X)
    assert_array_equal(table["label"], estimator.predict(X))
    assert_array_equal(table[["p0", "p1"]].to_numpy(), estimator.predict_proba(X))
    if output.endswith((".parquet", ".pq")):
        assert table["row"].dtype == np.int64 and table["label"].dtype == np.int64


def test_predictions_without_options_are_rows_and_labels(model, tmp_path, capsys):
    path, estimator = model
    code, out, _ = _run(capsys, "predict", path, _inputs(tmp_path)[0], "--chunk-size", 7)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "row,label"
    assert lines[1:] == [f"{i},{label}" for i, label in enumerate(estimator.predict(X))]


def test_an_error_part_way_names_the_row_and_writes_no_file(tmp_path, capsys):
    path = tmp_path / "p.emkit"
    data = _csv(tmp_path / "c.csv", COUNTS)
    assert _run(capsys, "fit", data, "--model", "poisson", "-k", 2, "-q", "-o", path)[0] == 0
    bad = COUNTS.copy()
    bad[1050, 1] = -4.0
    bad_data = _csv(tmp_path / "bad.csv", bad)
    out_path = tmp_path / "out.csv"
    argv = ["predict", path, bad_data, "--chunk-size", CHUNK]
    message = _fail(capsys, *argv, "-o", out_path)
    assert message == (
        f"{str(bad_data)!r}: Poisson counts must be non-negative; column 'b' holds -4 "
        "(data row 1051)"
    )
    assert not out_path.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.csv")] == []
    # An existing file is left as it was.
    out_path.write_text("earlier\n")
    _fail(capsys, *argv, "-o", out_path)
    assert out_path.read_text() == "earlier\n"


def test_missing_values_in_predicted_data_are_counted_over_the_file(tmp_path, capsys):
    # k-means cannot take missing cells (a Gaussian mixture conditions on the observed ones).
    path = tmp_path / "k.emkit"
    train = _csv(tmp_path / "train.csv", X)
    assert _run(capsys, "fit", train, "--model", "kmeans", "-k", 2, "-q", "-o", path)[0] == 0
    values = X.copy()
    values[[20, 900, 1000], 0] = np.nan
    data = _csv(tmp_path / "nan.csv", values)
    message = _fail(capsys, "predict", path, data, "--chunk-size", CHUNK, "-o", tmp_path / "o.csv")
    assert message == (
        f"{str(data)!r}: column 'a' has 3 missing values (first on line 22); complete rows "
        "are required"
    )
    assert not (tmp_path / "o.csv").exists()


def test_a_file_lacking_a_column_is_refused_before_it_is_read(model, tmp_path, capsys):
    path, _ = model
    data = _csv(tmp_path / "other.csv", X, columns=("a", "c"))
    message = _fail(capsys, "predict", path, data)
    assert message == (
        f"{str(data)!r} lacks column 'b' that the model was fitted on; its columns are 'a', 'c'"
    )
    # When another column holds text, the error is the reader's, as when it read the file.
    (tmp_path / "text.csv").write_text("a,c\n1,x\n2,y\n")
    message = _fail(capsys, "predict", path, tmp_path / "text.csv")
    assert "has no column 'b'; available columns: 'a', 'c'" in message


def test_kept_columns_must_not_take_an_output_column_s_name(tmp_path, capsys):
    data = _csv(tmp_path / "x.csv", X, columns=("label", "b"))
    path = tmp_path / "m.emkit"
    assert _run(capsys, "fit", data, "--model", "gmm", "-k", 2, "-q", "-o", path)[0] == 0
    message = _fail(capsys, "predict", path, data, "--keep-columns")
    assert message == (
        "--keep-columns: the model's column 'label' has the name of a column of the "
        "predictions (row, label)"
    )
    assert _run(capsys, "predict", path, data)[0] == 0


def test_writing_parquet_needs_pyarrow(model, tmp_path, capsys, monkeypatch):
    path, _ = model
    data = _inputs(tmp_path)[0]
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)
    message = _fail(capsys, "predict", path, data, "-o", tmp_path / "o.parquet")
    assert message == "writing Parquet files needs pyarrow: pip install 'emkit[parquet]'"
    assert not (tmp_path / "o.parquet").exists()


def test_an_hmm_writes_rows_and_kept_columns(tmp_path, capsys):
    rolls = read_table(CASINO)
    path = tmp_path / "h.emkit"
    argv = ["fit", CASINO, "--model", "hmm", "--emission", "categorical", "-k", 2, "-q"]
    assert _run(capsys, *argv, "--sequence-column", "sequence", "-o", path)[0] == 0
    out_path = tmp_path / "states.parquet"
    argv = ["predict", path, CASINO, "--sequence-column", "sequence", "--keep-columns"]
    assert _run(capsys, *argv, "--chunk-size", 1000, "-o", out_path)[0] == 0
    table = pd.read_parquet(out_path)
    assert list(table.columns) == ["row", "roll", "state"]
    n = rolls.values.shape[0]
    assert_array_equal(table["row"], np.arange(n))
    assert_array_equal(table["roll"], rolls.values[:, 1])
    ids = rolls.values[:, 0]
    lengths = np.diff(np.flatnonzero(np.r_[True, ids[1:] != ids[:-1], True]))
    estimator = emkit.load(path)
    del estimator.feature_names_in_
    assert_array_equal(table["state"], estimator.predict(rolls.values[:, 1:], lengths))


def test_the_help_says_what_streams():
    from emkit.cli.parser import DEFAULT_CHUNK_ROWS, build_parser
    from emkit.core.batches import DEFAULT_CHUNK_SIZE

    assert DEFAULT_CHUNK_ROWS == DEFAULT_CHUNK_SIZE
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    predict = commands["predict"].format_help()
    for words in ("--keep-columns", "--chunk-size N", ".parquet", "row"):
        assert words in predict
    fit = commands["fit"].format_help()
    for words in ("--progress, --no-progress", "a chunk of rows at a time", "130"):
        assert words in fit


def test_a_folder_or_pattern_of_parquet_files_is_one_table(tmp_path, capsys, monkeypatch):
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, rows in enumerate(np.array_split(X, 3)):
        pd.DataFrame(rows, columns=["a", "b"]).to_parquet(parts / f"p{i}.parquet")
    monkeypatch.chdir(tmp_path)
    expected = emkit.GaussianMixture(2, n_init=3, random_state=0).fit(X)
    for data in ("parts", "parts/p*.parquet"):
        (tmp_path / "parts.emkit").unlink(missing_ok=True)
        code, out, err = _run(capsys, "fit", data, "--model", "gmm", "-k", 2, "--random-state", 0)
        assert (code, err) == (0, ""), err
        assert f"{data}: 1200 samples x 2 features (a, b)" in out
        assert out.splitlines()[-1] == "model written to parts.emkit"
        assert_array_equal(emkit.load(tmp_path / "parts.emkit").means_, expected.means_)
    message = _fail(capsys, "fit", "p*/p*.parquet", "--model", "gmm", "-k", 2)
    assert message == "'p*/p*.parquet' is a pattern of files: name the model file with -o"
