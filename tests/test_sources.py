"""Row sources: every adapter yields the same rows, one-pass samples are those of the
one-row-at-a-time algorithms, and fits through any source equal the fit on the array."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from emkit.core.batches import Labelled, Sequences
from emkit.core.driver import fit_em
from emkit.execution.sources import (
    ArrayRows,
    ChunkRows,
    RowSource,
    SequenceRows,
    as_source,
    register_source,
    reservoir_sample,
    sequence_sample,
)
from emkit.families.gaussian import Gaussian
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture

RNG = np.random.default_rng(0)
X = np.concatenate([RNG.normal(0, 1, (150, 3)), RNG.normal(4, 1, (150, 3))])
W = RNG.uniform(0.5, 2.0, X.shape[0])
MODEL = Mixture(Gaussian("diag", reg_covar=0.0), 2, initializer("kmeans"))
P0 = MODEL.init(X, np.random.RandomState(0))


def _rows(source: RowSource, max_rows: int) -> tuple[np.ndarray, list[int]]:
    parts = list(source.chunks(max_rows))
    rows = [p.toarray() if sp.issparse(p) else np.asarray(p) for p, _ in parts]
    return np.concatenate(rows), [len(r) for r in rows]


# -- adapters ----------------------------------------------------------------------------------
def _memmap(tmp_path) -> np.memmap:
    path = tmp_path / "x.dat"
    mm = np.memmap(path, dtype=np.float64, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    return np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)


ADAPTED = {
    "array": lambda tmp: X,
    "memmap": _memmap,
    "csr": lambda tmp: sp.csr_matrix(X),
    "csr-array": lambda tmp: sp.csr_array(X),
    "pandas": lambda tmp: pd.DataFrame(X, columns=["a", "b", "c"]),
    "arrow": lambda tmp: pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2]}),
    "chunks": lambda tmp: np.array_split(X, 7),
}


@pytest.mark.parametrize("kind", sorted(ADAPTED))
@pytest.mark.parametrize("max_rows", [1, 64, 1000])
def test_every_adapter_yields_the_rows_in_chunks_of_at_most_max_rows(kind, max_rows, tmp_path):
    source = as_source(ADAPTED[kind](tmp_path))
    rows, sizes = _rows(source, max_rows)
    assert_array_equal(rows, X)
    assert source.n_features == 3 and source.dtype == np.float64
    assert max(sizes) <= max_rows
    if kind != "chunks":
        assert source.n_rows == X.shape[0]
    assert source.sparse == kind.startswith("csr")
    assert source.columns == (("a", "b", "c") if kind in ("pandas", "arrow") else None)
    # A memory map or a stream is sampled for initialisation; data in memory is seen whole.
    assert source.in_memory == (kind not in ("memmap", "chunks"))


def test_weights_go_with_their_rows():
    _, weights = zip(*ArrayRows(X, W).chunks(70), strict=True)
    assert_array_equal(np.concatenate(weights), W)
    with pytest.raises(ValueError, match=r"sample_weight has shape \(3,\), expected \(300,\)"):
        as_source(X, np.ones(3))
    with pytest.raises(ValueError, match="weights go with the rows"):
        as_source(np.array_split(X, 3), W)


def test_sequences_and_labelled_rows_are_cut_with_what_they_carry():
    seqs = Sequences(X, [100, 50, 150])
    chunks = list(as_source(seqs, W).chunks(120))
    assert [c.lengths.tolist() for c, _ in chunks] == [[100], [50], [150]]
    assert_array_equal(np.concatenate([w for _, w in chunks]), W)
    labels = np.arange(300) % 3 - 1
    parts = list(as_source(Labelled(X, labels)).chunks(128))
    assert all(isinstance(p, Labelled) for p, _ in parts)
    assert_array_equal(np.concatenate([p.labels for p, _ in parts]), labels)


def test_what_no_adapter_takes_is_refused_clearly():
    with pytest.raises(TypeError, match="a generator can be read only once"):
        as_source(chunk for chunk in np.array_split(X, 3))
    with pytest.raises(TypeError, match="got str"):
        as_source("data.csv")
    with pytest.raises(ValueError, match="must be 2-D"):
        as_source(X[:, 0])
    with pytest.raises(ValueError, match=r"chunk 1 has 2 features, chunk 0 has 3"):
        list(as_source([X[:5], X[:5, :2]]).chunks(10))
    table = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    with pytest.raises(ValueError, match="column 'b' is not numeric"):
        list(as_source(table).chunks(10))


def test_a_registered_adapter_is_tried_first():
    class Doubled:
        def __init__(self, X):
            self.X = X

    register_source(lambda d: isinstance(d, Doubled), lambda d, w: ArrayRows(2 * d.X, w))
    rows, _ = _rows(as_source(Doubled(X)), 50)
    assert_array_equal(rows, 2 * X)


def test_a_user_s_chunks_are_read_once_per_pass():
    class Counted:
        passes = 0

        def __iter__(self):
            Counted.passes += 1
            yield from np.array_split(X, 4)

    source = as_source(Counted())
    list(source.chunks(10))
    assert Counted.passes == 1 and source.n_features == 3
    assert Counted.passes == 1, "what the chunks hold is learnt on the first pass"


# -- one-pass samples --------------------------------------------------------------------------
def _algorithm_r(n: int, size: int, random_state: np.random.RandomState) -> np.ndarray:
    """Vitter's algorithm R one row at a time: the positions the reservoir ends with."""
    slots = np.arange(min(n, size))
    for t in range(size, n):
        j = int(random_state.random_sample() * (t + 1))
        if j < size:
            slots[j] = t
    return np.sort(slots)


@pytest.mark.parametrize("cuts", [[300], [1, 299], [7, 50, 3, 240], [10] * 30])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_reservoir_is_algorithm_r_a_chunk_at_a_time(cuts, seed):
    bounds = np.cumsum([0, *cuts])
    chunks = [(X[a:b], W[a:b]) for a, b in itertools.pairwise(bounds)]
    got, w = reservoir_sample(chunks, 40, np.random.RandomState(seed))
    expected = _algorithm_r(300, 40, np.random.RandomState(seed))
    assert_array_equal(got, X[expected])
    assert_array_equal(w, W[expected])


def test_the_reservoir_includes_every_row_with_equal_probability():
    counts = np.zeros(300)
    trials = 3000
    for seed in range(trials):
        rows, _ = reservoir_sample(
            [(np.arange(300.0)[a : a + 64, None], None) for a in range(0, 300, 64)],
            30,
            np.random.RandomState(seed),
        )
        counts[rows[:, 0].astype(int)] += 1
    expected = trials * 30 / 300
    # 300 binomial counts of mean 300 and sd 16.4: all within 5 sd.
    assert np.abs(counts - expected).max() < 5 * np.sqrt(expected * (1 - 30 / 300))


def test_a_small_source_is_sampled_whole_in_order_and_labels_stay_with_rows():
    rows, w = as_source(np.array_split(X, 5)).sample(1000, np.random.RandomState(0))
    assert_array_equal(rows, X) and w is None
    labels = np.arange(300) % 4 - 1
    chunks = [Labelled(X[a : a + 70], labels[a : a + 70]) for a in range(0, 300, 70)]
    chunks[1] = chunks[1].X  # a plain chunk among labelled ones: unlabelled rows
    sample, _ = as_source(chunks).sample(50, np.random.RandomState(0))
    expected = _algorithm_r(300, 50, np.random.RandomState(0))
    assert_array_equal(sample.X, X[expected])
    want = np.where((expected >= 70) & (expected < 140), -1, labels[expected])
    assert_array_equal(sample.labels, want)


def test_csr_rows_are_sampled_as_csr():
    chunks = [sp.csr_matrix(X[a : a + 64]) for a in range(0, 300, 64)]
    rows, _ = as_source(chunks).sample(20, np.random.RandomState(3))
    assert sp.issparse(rows)
    assert_array_equal(rows.toarray(), X[_algorithm_r(300, 20, np.random.RandomState(3))])


def test_sequences_are_sampled_by_whole_chunks_in_random_order():
    lengths = [30, 10, 60, 20, 80, 100]
    seqs = Sequences(X, lengths)
    chunks = list(SequenceRows(seqs).chunks(1))  # one sequence a chunk
    for seed in range(5):
        got, _ = sequence_sample(iter(chunks), 100, np.random.RandomState(seed))
        keys = np.random.RandomState(seed).random_sample(len(chunks))
        taken, rows = [], 0
        for i in np.argsort(keys):
            if rows >= 100:
                break
            taken.append(i)
            rows += lengths[i]
        assert got.lengths.tolist() == [lengths[i] for i in sorted(taken)]
    whole, _ = SequenceRows(seqs).sample(10, np.random.RandomState(0))
    assert whole is seqs, "sequences in memory are seen whole"


# -- fits through sources ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["memmap", "pandas", "arrow"])
def test_a_fit_through_any_source_equals_the_fit_on_the_array(kind, tmp_path):
    ref = fit_em(MODEL, X, init=P0, tol=0.0, max_iter=5, chunk_size=64)
    got = fit_em(MODEL, ADAPTED[kind](tmp_path), init=P0, tol=0.0, max_iter=5, chunk_size=64)
    assert_array_equal(got.lower_bounds, ref.lower_bounds)
    assert_array_equal(got.params.components.means, ref.params.components.means)


def test_a_memory_map_is_sampled_for_initialisation(tmp_path, monkeypatch):
    from emkit.core import driver

    monkeypatch.setattr(driver, "INIT_MAX_ROWS", 40)
    seen = []

    def start(X0, random_state, w):
        seen.append(X0)
        return P0

    fit_em(MODEL, _memmap(tmp_path), init=start, random_state=0, max_iter=0)
    assert seen[0].shape == (40, 3) and not isinstance(seen[0], np.memmap)


def test_a_dense_model_refuses_sparse_rows_naming_the_cure():
    with pytest.raises(TypeError, match=r"needs dense rows.*X\.toarray\(\)"):
        fit_em(MODEL, sp.csr_matrix(X), init=P0, max_iter=1)
    with pytest.raises(TypeError, match="needs dense rows"):
        fit_em(MODEL, [sp.csr_matrix(X[:100]), sp.csr_matrix(X[100:])], init=P0, max_iter=1)


def test_chunk_rows_of_a_re_iterable_are_not_a_copy():
    chunks = np.array_split(X, 3)
    got = [rows for rows, _ in ChunkRows(chunks).chunks(100)]
    assert all(a is b for a, b in zip(got, chunks, strict=True))
    # Longer chunks are cut into views, sequences between sequences.
    cut = [rows for rows, _ in ChunkRows(chunks).chunks(30)]
    assert [len(c) for c in cut] == [30, 30, 30, 10] * 3
    assert all(np.shares_memory(c, X) for c in cut)
    seqs = [(Sequences(X[:100], [40, 40, 20]), W[:100])]
    parts = list(ChunkRows(seqs).chunks(50))
    assert [p.lengths.tolist() for p, _ in parts] == [[40], [40], [20]]
    assert_array_equal(np.concatenate([w for _, w in parts]), W[:100])
