"""Hidden Markov models fitted from row sources: files of sequences read a chunk of whole
sequences at a time (emkit.open_data with sequence_column), Sequences and SequenceRows.

A fit from a source must equal the fit from the same arrays with their lengths (same
random_state: same start) to round-off; scoring and decoding too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import emkit
from emkit.core.batches import Sequences
from emkit.execution.sequence_files import SequenceFile
from emkit.execution.sources import ChunkRows, SequenceRows
from emkit.io.readers import DataError

# Chunk sizes that cut sequences (the files are read in blocks of this many rows, so that a
# sequence straddles blocks), one row, and more than the data.
CHUNKS = (1, 7, 37, 10_000)


def _lengths(seed: int = 0, n: int = 25) -> np.ndarray:
    return np.random.RandomState(seed).randint(3, 45, size=n)


def _gaussian(lengths: np.ndarray, seed: int = 1) -> np.ndarray:
    """Rows of two well-separated 2-D states, switching at random."""
    rng = np.random.RandomState(seed)
    states = np.cumsum(rng.rand(int(lengths.sum())) < 0.1) % 2
    return np.array([[0.0, 0.0], [4.0, 2.5]])[states] + rng.randn(states.size, 2) * [1.0, 0.7]


def _symbols(lengths: np.ndarray, seed: int = 2) -> np.ndarray:
    """One column of symbols 0..3 from two states (the second prefers 2 and 3)."""
    rng = np.random.RandomState(seed)
    states = np.cumsum(rng.rand(int(lengths.sum())) < 0.1) % 2
    return (rng.randint(0, 2, size=states.size) + 2 * states * (rng.rand(states.size) < 0.8))[
        :, None
    ]


def _ids(lengths: np.ndarray) -> np.ndarray:
    # Ids neither sorted nor consecutive: only their runs say where sequences end.
    order = np.random.RandomState(5).permutation(lengths.size)
    return np.repeat(1000 + 3 * order, lengths)


def _write(tmp_path, kind: str, X: np.ndarray, lengths: np.ndarray, name: str = "data") -> str:
    """``X`` with a sequence column 'id' between its columns, as a Parquet file (in row
    groups that cut sequences), a CSV file or a .npy file (id in column 1)."""
    ids = _ids(lengths)
    columns = {"a": X[:, 0], "id": ids, **{f"c{j}": X[:, j] for j in range(1, X.shape[1])}}
    frame = pd.DataFrame(columns)
    if kind == "parquet":
        path = tmp_path / f"{name}.parquet"
        frame.to_parquet(path, row_group_size=29)
    elif kind == "csv":
        path = tmp_path / f"{name}.csv"
        frame.to_csv(path, index=False, float_format="%.17g")
    else:
        path = tmp_path / f"{name}.npy"
        np.save(path, frame.to_numpy(dtype=np.float64))
    return str(path)


def _open(path: str, **kwargs) -> SequenceFile:
    column = 1 if path.endswith(".npy") else "id"
    return emkit.open_data(path, sequence_column=column, **kwargs)


# --------------------------------------------------------------------------------------- #
# The source
# --------------------------------------------------------------------------------------- #


@pytest.mark.parametrize("kind", ["parquet", "csv", "npy"])
def test_chunks_are_those_of_the_sequences_in_memory(tmp_path, kind):
    lengths = _lengths()
    X = _gaussian(lengths)
    source = _open(_write(tmp_path, kind, X, lengths))
    assert isinstance(source, SequenceFile)
    assert source.n_features == 2
    assert source.columns == (None if kind == "npy" else ("a", "c1"))
    expected_source = SequenceRows(Sequences(X, lengths))
    for max_rows in (*CHUNKS, 44, 45, 46):
        got = list(source.chunks(max_rows))
        expected = list(expected_source.chunks(max_rows))
        assert len(got) == len(expected)
        for (seqs, w), (ref, _) in zip(got, expected, strict=True):
            assert w is None
            assert isinstance(seqs, Sequences)
            assert seqs.X.flags.c_contiguous
            np.testing.assert_array_equal(seqs.lengths, ref.lengths)
            np.testing.assert_array_equal(seqs.X, ref.X)
            # At most max_rows rows, unless one sequence is longer.
            assert seqs.shape[0] <= max_rows or seqs.lengths.size == 1
    assert source.n_sequences == lengths.size


def test_one_sequence_longer_than_many_blocks(tmp_path):
    lengths = np.array([3, 200, 1, 50])
    X = _gaussian(lengths)
    source = _open(_write(tmp_path, "parquet", X, lengths))
    chunks = [seqs for seqs, _ in source.chunks(16)]
    assert [c.lengths.tolist() for c in chunks] == [[3], [200], [1], [50]]
    np.testing.assert_array_equal(np.concatenate([c.X for c in chunks]), X)


def test_sample_is_every_sequence_without_a_draw(tmp_path):
    lengths = _lengths()
    X = _gaussian(lengths)
    source = _open(_write(tmp_path, "csv", X, lengths))
    rng = np.random.RandomState(3)
    before = rng.get_state()[1].copy()
    sample, w = source.sample(10**6, rng)
    assert w is None and isinstance(sample, Sequences)
    np.testing.assert_array_equal(sample.X, X)
    np.testing.assert_array_equal(sample.lengths, lengths)
    # The random state is left as a sample of sequences in memory leaves it.
    np.testing.assert_array_equal(rng.get_state()[1], before)


def test_sample_of_a_large_file_is_whole_chunks_of_sequences(tmp_path, monkeypatch):
    import emkit.execution.sequence_files as sequence_files

    lengths = _lengths(n=60)
    X = _gaussian(lengths)
    source = _open(_write(tmp_path, "parquet", X, lengths))
    monkeypatch.setattr(sequence_files, "DEFAULT_CHUNK_SIZE", 100)
    sample, _ = source.sample(300, np.random.RandomState(0))
    chunks = [seqs for seqs, _ in source.chunks(100)]
    assert 300 <= sample.shape[0] < X.shape[0]
    # Whole chunks, in the file's order: every sequence of the sample is one of the file.
    starts = {tuple(c.X[0]) for c in chunks}
    assert tuple(sample.X[0]) in starts
    kept = [c for c in chunks if any(np.array_equal(c.X[0], row) for row in sample.X)]
    np.testing.assert_array_equal(np.concatenate([c.X for c in kept]), sample.X)


def test_columns_select_the_features(tmp_path):
    lengths = _lengths()
    X = np.column_stack([_gaussian(lengths), np.arange(lengths.sum())])
    path = _write(tmp_path, "parquet", X, lengths)
    source = emkit.open_data(path, columns=["c2", "a"], sequence_column="id")
    assert source.columns == ("c2", "a")
    seqs = next(source.chunks(10**6))[0]
    np.testing.assert_array_equal(seqs.X, X[:, [2, 0]])


# --------------------------------------------------------------------------------------- #
# Fits from files equal fits from arrays
# --------------------------------------------------------------------------------------- #


def _same_fit(est, ref, rtol=1e-9):
    assert est.n_iter_ == ref.n_iter_
    assert est.converged_ == ref.converged_
    np.testing.assert_allclose(est.startprob_, ref.startprob_, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(est.transmat_, ref.transmat_, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(est.lower_bounds_, ref.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(list(est.monitor_.history), list(ref.monitor_.history), rtol=1e-12)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
@pytest.mark.parametrize("chunk_size", [7, 37])
def test_gaussian_hmm_from_a_file_equals_arrays(tmp_path, kind, covariance_type, chunk_size):
    lengths = _lengths()
    X = _gaussian(lengths)
    source = _open(_write(tmp_path, kind, X, lengths))
    params = dict(covariance_type=covariance_type, n_iter=40, tol=1e-6, random_state=4)
    ref = emkit.GaussianHMM(2, **params).fit(X, lengths)
    est = emkit.GaussianHMM(2, chunk_size=chunk_size, **params).fit(source)
    _same_fit(est, ref)
    np.testing.assert_allclose(est.means_, ref.means_, rtol=1e-9)
    np.testing.assert_allclose(est.covars_, ref.covars_, rtol=1e-9)
    assert list(est.feature_names_in_) == ["a", "c1"]
    assert est.n_features_in_ == 2
    # Scoring and decoding from the file equal those of the arrays.
    assert est.score(source) == pytest.approx(ref.score(X, lengths), rel=1e-12)
    np.testing.assert_array_equal(est.predict(source), ref.predict(X, lengths))
    np.testing.assert_allclose(est.predict_proba(source), ref.predict_proba(X, lengths), atol=1e-9)
    total, posteriors = est.score_samples(source)
    ref_total, ref_posteriors = ref.score_samples(X, lengths)
    assert total == pytest.approx(ref_total, rel=1e-12)
    np.testing.assert_allclose(posteriors, ref_posteriors, atol=1e-9)
    for algorithm in ("viterbi", "map"):
        logprob, states = est.decode(source, algorithm=algorithm)
        ref_logprob, ref_states = ref.decode(X, lengths, algorithm=algorithm)
        assert logprob == pytest.approx(ref_logprob, rel=1e-12)
        np.testing.assert_array_equal(states, ref_states)
    assert est.bic(source) == pytest.approx(ref.bic(X, lengths), rel=1e-12)
    assert est.aic(source) == pytest.approx(ref.aic(X, lengths), rel=1e-12)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_categorical_hmm_from_a_file_equals_arrays(tmp_path, kind):
    lengths = _lengths(seed=7)
    X = _symbols(lengths)
    # The largest symbol is in the last sequence only: the symbols of a fit from a file
    # are those of all its rows.
    X[-1, 0] = 4
    source = _open(_write(tmp_path, kind, np.column_stack([X, X]), lengths), columns=["a"])
    params = dict(n_iter=60, tol=0.0, random_state=2)
    ref = emkit.CategoricalHMM(2, **params).fit(X, lengths)
    est = emkit.CategoricalHMM(2, chunk_size=11, **params).fit(source)
    _same_fit(est, ref)
    assert est.n_features == ref.n_features == 5
    np.testing.assert_allclose(est.emissionprob_, ref.emissionprob_, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(est.predict(source), ref.predict(X, lengths))


def test_symbols_of_a_categorical_fit_are_those_of_the_whole_file(tmp_path, monkeypatch):
    import emkit.core.driver as driver
    import emkit.execution.sequence_files as sequence_files

    lengths = _lengths(seed=7, n=40)
    X = _symbols(lengths)
    X[-1, 0] = 4  # beyond the sample the start sees
    source = _open(_write(tmp_path, "parquet", np.column_stack([X, X]), lengths), columns=["a"])
    monkeypatch.setattr(sequence_files, "DEFAULT_CHUNK_SIZE", 30)
    monkeypatch.setattr(driver, "INIT_MAX_ROWS", 60)
    sample = source.sample(60, np.random.RandomState(0))[0]
    assert sample.shape[0] < X.shape[0] and sample.X.max() < 4
    est = emkit.CategoricalHMM(2, n_iter=5, tol=0.0, random_state=0).fit(source)
    assert est.n_features == 5 and est.emissionprob_.shape == (2, 5)
    assert np.all(est.emissionprob_[:, 4] > 0)
    assert np.isfinite(est.score(source))


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_gmm_hmm_from_a_file_equals_arrays(tmp_path, kind):
    lengths = _lengths(seed=3)
    X = _gaussian(lengths, seed=8)
    source = _open(_write(tmp_path, kind, X, lengths))
    params = dict(n_mix=2, covariance_type="diag", n_iter=25, tol=0.0, random_state=1)
    ref = emkit.GMMHMM(2, **params).fit(X, lengths)
    est = emkit.GMMHMM(2, chunk_size=23, **params).fit(source)
    _same_fit(est, ref)
    np.testing.assert_allclose(est.weights_, ref.weights_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.means_, ref.means_, rtol=1e-9)
    np.testing.assert_allclose(est.covars_, ref.covars_, rtol=1e-9)
    assert est.score(source) == pytest.approx(ref.score(X, lengths), rel=1e-12)


@pytest.mark.parametrize("face", ["poisson", "multinomial", "generic"])
def test_count_hmms_from_a_file_equal_arrays(tmp_path, face):
    lengths = _lengths(seed=4)
    rng = np.random.RandomState(0)
    states = np.cumsum(rng.rand(int(lengths.sum())) < 0.1) % 2
    X = rng.poisson(np.array([[1.0, 6.0], [7.0, 2.0]])[states]).astype(np.float64)
    source = _open(_write(tmp_path, "parquet", X, lengths))

    def build(**kw):
        if face == "poisson":
            return emkit.PoissonHMM(2, n_iter=30, random_state=0, **kw)
        if face == "multinomial":
            return emkit.MultinomialHMM(2, n_iter=30, random_state=0, **kw)
        return emkit.HMM(emkit.families.Poisson(), 2, n_iter=30, random_state=0, **kw)

    ref = build().fit(X, lengths)
    est = build(chunk_size=13).fit(source)
    _same_fit(est, ref)


def test_npy_file_of_sequences_equals_arrays(tmp_path):
    lengths = _lengths()
    X = _gaussian(lengths)
    source = _open(_write(tmp_path, "npy", X, lengths))
    ref = emkit.GaussianHMM(2, n_iter=20, random_state=0).fit(X, lengths)
    est = emkit.GaussianHMM(2, n_iter=20, random_state=0, chunk_size=16).fit(source)
    _same_fit(est, ref)
    # A .npy file names no columns: the model is used with arrays as after a fit to them.
    assert not hasattr(est, "feature_names_in_")
    np.testing.assert_array_equal(est.predict(X, lengths), ref.predict(X, lengths))


def test_restarts_share_one_sample_and_equal_arrays(tmp_path):
    lengths = _lengths()
    X = _gaussian(lengths)
    source = _open(_write(tmp_path, "parquet", X, lengths))
    ref = emkit.GaussianHMM(2, n_iter=15, n_init=3, random_state=9).fit(X, lengths)
    est = emkit.GaussianHMM(2, n_iter=15, n_init=3, random_state=9, chunk_size=20).fit(source)
    _same_fit(est, ref)
    np.testing.assert_allclose(est.restart_lower_bounds_, ref.restart_lower_bounds_, rtol=1e-12)


def test_online_fit_and_partial_fit_from_a_file_equal_arrays(tmp_path):
    lengths = _lengths()
    X = _gaussian(lengths)
    path = _write(tmp_path, "csv", X, lengths)  # rows unknown until a pass: counted
    params = dict(learning_method="online", batch_size=60, n_iter=5, tol=0.0, random_state=0)
    ref = emkit.GaussianHMM(2, **params).fit(X, lengths)
    est = emkit.GaussianHMM(2, **params).fit(_open(path))
    _same_fit(est, ref)
    np.testing.assert_allclose(est.means_, ref.means_, rtol=1e-9)

    ref = emkit.GaussianHMM(2, batch_size=60, random_state=0).partial_fit(X, lengths)
    est = emkit.GaussianHMM(2, batch_size=60, random_state=0).partial_fit(_open(path))
    np.testing.assert_allclose(est.means_, ref.means_, rtol=1e-9)
    np.testing.assert_allclose(est.lower_bounds_, ref.lower_bounds_, rtol=1e-12)
    # A second call continues from the first, from a source as from arrays.
    ref.partial_fit(X, lengths)
    del est.feature_names_in_
    est.partial_fit(SequenceRows(Sequences(X, lengths)))
    np.testing.assert_allclose(est.means_, ref.means_, rtol=1e-9)
    np.testing.assert_allclose(est.lower_bounds_, ref.lower_bounds_, rtol=1e-12)


def test_sequences_and_sources_in_memory_are_taken(tmp_path):
    lengths = _lengths()
    X = _gaussian(lengths)
    seqs = Sequences(X, lengths)
    ref = emkit.GaussianHMM(2, n_iter=20, random_state=0).fit(X, lengths)
    for data in (seqs, SequenceRows(seqs)):
        est = emkit.GaussianHMM(2, n_iter=20, random_state=0).fit(data)
        _same_fit(est, ref)
        assert est.score(data) == pytest.approx(ref.score(X, lengths), rel=1e-12)
        np.testing.assert_array_equal(est.predict(data), ref.predict(X, lengths))
    # A stream of chunks of sequences, with the weights of their sequences.
    w = np.repeat(np.arange(1.0, lengths.size + 1), lengths)
    groups = list(SequenceRows(seqs, w).chunks(50))
    ref = emkit.GaussianHMM(2, n_iter=20, random_state=0)
    ref.fit(X, lengths, sample_weight=np.arange(1.0, lengths.size + 1))
    est = emkit.GaussianHMM(2, n_iter=20, random_state=0).fit(ChunkRows(groups))
    _same_fit(est, ref)


def test_impossible_sequence_is_named_by_its_place_in_the_file(tmp_path):
    lengths = np.array([4, 5, 6, 3])
    X = np.zeros((18, 1))
    X[[2, 11]] = 3  # symbols the model never emits, in sequences 0 and 2
    model = emkit.CategoricalHMM(2, n_features=4)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.full((2, 2), 0.5)
    model.emissionprob_ = np.array([[0.5, 0.5, 0.0, 0.0], [0.2, 0.3, 0.5, 0.0]])
    X[12] = 2
    source = _open(_write(tmp_path, "parquet", np.column_stack([X, X]), lengths), columns=["a"])
    with pytest.warns(emkit.exceptions.ImpossibleSampleWarning) as caught:
        array_total = model.score(X, lengths)
    with pytest.warns(emkit.exceptions.ImpossibleSampleWarning) as from_file:
        file_total = model.score(source)
    assert array_total == file_total == -np.inf
    message = str(from_file[0].message)
    assert message == str(caught[0].message)
    assert "sequence 0 (and 1 more sequences)" in message and "sample 2" in message
    with pytest.raises(ValueError, match=r"sequence 0 .* no most probable path"):
        model.decode(source)


# --------------------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------------------- #


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_sequence_id_that_comes_back_is_refused(tmp_path, kind):
    lengths = np.array([3, 4, 2, 5])
    X = _gaussian(lengths)
    path = tmp_path / f"back.{kind}"
    frame = pd.DataFrame({"id": np.repeat([7, 8, 7, 9], lengths), "a": X[:, 0], "b": X[:, 1]})
    if kind == "parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    message = (
        f"{str(path)!r}: sequence 7 of column 'id' appears again at data row 8, after other "
        "sequences (its earlier rows are 1 to 3); the rows of one sequence must be "
        "consecutive: sort the rows by 'id', keeping their time order"
    )
    source = emkit.open_data(path, sequence_column="id")
    for max_rows in (1, 2, 5, 100):  # the id comes back within a block, or in a later one
        with pytest.raises(DataError) as info:
            list(source.chunks(max_rows))
        assert str(info.value) == message
    with pytest.raises(DataError, match="appears again at data row 8"):
        emkit.GaussianHMM(2, n_iter=3).fit(source)


def test_missing_sequence_id_is_refused(tmp_path):
    path = tmp_path / "gap.csv"
    path.write_text("id,a\n1,0.5\n1,0.7\n,0.1\n2,3\n")
    with pytest.raises(DataError, match="sequence column 'id' has no id at data row 3"):
        list(emkit.open_data(path, sequence_column="id").chunks(10))


def test_missing_sequence_column_is_refused(tmp_path):
    lengths = _lengths()
    path = _write(tmp_path, "parquet", _gaussian(lengths), lengths)
    with pytest.raises(DataError, match="has no column 'session'; available columns: 'a', 'id'"):
        emkit.open_data(path, sequence_column="session")
    with pytest.raises(DataError, match="has no column 'session'"):
        emkit.open_data(path, columns=["a"], sequence_column="session")
    with pytest.raises(DataError, match=r"sequence column 'id' .* cannot also be a feature"):
        emkit.open_data(path, columns=["a", "id"], sequence_column="id")
    only = tmp_path / "ids.csv"
    only.write_text("id\n1\n1\n2\n")
    with pytest.raises(DataError, match="no columns besides the sequence column 'id'"):
        emkit.open_data(only, sequence_column="id")
    npy = _write(tmp_path, "npy", _gaussian(lengths), lengths)
    with pytest.raises(TypeError, match="sequence_column must be an int"):
        emkit.open_data(npy, sequence_column="id")
    with pytest.raises(DataError, match="has no column 3"):
        emkit.open_data(npy, sequence_column=3)
    with pytest.raises(TypeError, match="sequence_column names a column"):
        emkit.open_data(path, sequence_column=1)


def test_text_sequence_ids_are_refused(tmp_path):
    path = tmp_path / "names.parquet"
    pd.DataFrame({"id": ["ann", "ann", "bob"], "a": [0.0, 1.0, 2.0]}).to_parquet(path)
    with pytest.raises(DataError, match="column 'id' is not numeric"):
        emkit.open_data(path, sequence_column="id")


def test_lengths_or_weights_with_a_source_are_refused(tmp_path):
    lengths = _lengths()
    X = _gaussian(lengths)
    source = _open(_write(tmp_path, "parquet", X, lengths))
    model = emkit.GaussianHMM(2, n_iter=3, tol=0.0, random_state=0)
    with pytest.raises(ValueError, match="lengths is given with a row source"):
        model.fit(source, lengths)
    with pytest.raises(ValueError, match="sample_weight is given with a row source"):
        model.fit(source, sample_weight=np.ones(lengths.size))
    with pytest.raises(ValueError, match="lengths is given with Sequences"):
        model.fit(Sequences(X, lengths), lengths)
    model.fit(source)
    for method in ("score", "predict", "predict_proba", "score_samples", "decode"):
        with pytest.raises(ValueError, match="lengths is given with a row source"):
            getattr(model, method)(source, lengths)
    with pytest.raises(ValueError, match="lengths is given with a row source"):
        model.partial_fit(source, lengths)


def test_a_source_of_plain_rows_is_refused(tmp_path):
    path = tmp_path / "rows.npy"
    np.save(path, _gaussian(_lengths()))
    with pytest.raises(TypeError, match=r"chunks are whole sequences .*sequence_column"):
        emkit.GaussianHMM(2, n_iter=3).fit(emkit.open_data(path))


def test_a_source_of_other_features_is_refused(tmp_path):
    lengths = _lengths()
    X = _gaussian(lengths)
    path = _write(tmp_path, "parquet", X, lengths)
    model = emkit.GaussianHMM(2, n_iter=5, random_state=0).fit(_open(path))
    with pytest.raises(ValueError, match="X has 1 features, but GaussianHMM is expecting 2"):
        model.predict(emkit.open_data(path, columns=["a"], sequence_column="id"))
    with pytest.raises(ValueError, match=r"columns \['c1', 'a'\] are not those"):
        model.predict(emkit.open_data(path, columns=["c1", "a"], sequence_column="id"))
    with pytest.raises(ValueError, match="CategoricalHMM takes one column of integer symbols"):
        emkit.CategoricalHMM(2).fit(_open(path))


def test_bad_values_in_a_file_are_refused_by_the_family(tmp_path):
    lengths = np.array([3, 3])
    X = np.array([[0.0], [1], [2], [1], [2.5], [0]])
    source = _open(_write(tmp_path, "csv", np.column_stack([X, X]), lengths), columns=["a"])
    with pytest.raises(ValueError, match="integer category codes"):
        emkit.CategoricalHMM(2, n_iter=3).fit(source)
    path = tmp_path / "inf.csv"
    path.write_text("id,a,b\n1,0.5,1\n1,inf,2\n2,3,1\n")
    with pytest.raises(ValueError, match="infinite value on line 3"):
        emkit.GaussianHMM(1, n_iter=3).fit(emkit.open_data(path, sequence_column="id"))
    # A missing cell is no bad value: the Gaussian emissions condition on the others.
    path = tmp_path / "nan.csv"
    path.write_text("id,a,b\n1,0.5,1\n1,NA,2\n2,3,1\n2,1,1.5\n")
    hmm = emkit.GaussianHMM(1, n_iter=3, covariance_type="diag")
    hmm.fit(emkit.open_data(path, sequence_column="id"))
    np.testing.assert_allclose(hmm.means_[0], [1.5, 1.375])
