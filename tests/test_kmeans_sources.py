"""emkit.KMeans on row sources: a fit, its predictions, distances and scores on a source read a
chunk at a time equal those on the array in memory, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import kmeans_plusplus

import emkit
import emkit.core.driver
from emkit.execution.sources import ArrayRows, ChunkRows, RowSource, SparseRows, TableRows
from emkit.models.kmeans import data_moments

RNG = np.random.default_rng(11)
MEANS = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 1.0], [0.0, 6.0, -1.0], [5.0, 5.0, 5.0]])
X = MEANS[RNG.choice(4, size=3000)] + RNG.normal(size=(3000, 3))
W = RNG.uniform(0.2, 3.0, size=3000)
CENTRES = X[[0, 1, 2, 3]]


def _km(**params):
    return emkit.KMeans(**{"n_clusters": 4, "random_state": 0, "chunk_size": 500, **params})


def _assert_same_fit(got, want):
    assert_array_equal(got.cluster_centers_, want.cluster_centers_)
    assert got.cluster_centers_.dtype == want.cluster_centers_.dtype
    assert_array_equal(got.labels_, want.labels_)
    assert got.labels_.dtype == np.int32
    assert got.inertia_ == want.inertia_
    assert got.n_iter_ == want.n_iter_
    assert_array_equal(got.lower_bounds_, want.lower_bounds_)


def _files(tmp_path, data):
    np.save(tmp_path / "x.npy", data)
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    frame.to_parquet(tmp_path / "x.parquet")
    frame.to_csv(tmp_path / "x.csv", index=False)
    return {
        "npy": emkit.open_data(tmp_path / "x.npy"),
        "parquet": emkit.open_data(tmp_path / "x.parquet"),
        "csv": emkit.open_data(tmp_path / "x.csv"),
    }


class CountedRows(RowSource):
    """An array's rows, not in memory, counting the passes made over them."""

    def __init__(self, X):
        self.X, self.n_features, self.dtype = X, X.shape[1], X.dtype
        self.passes = 0

    def chunks(self, max_rows):
        self.passes += 1
        for start in range(0, self.X.shape[0], max_rows):
            yield self.X[start : start + max_rows], None


# -- a source in memory is fitted as its array ------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [{}, {"tol": 0.0}, {"init": "random", "n_init": 3}, {"init": CENTRES}, {"chunk_size": 37}],
    ids=["k-means++", "tol-0", "random", "centres", "small-chunks"],
)
def test_a_fit_on_array_rows_equals_the_fit_on_the_array(params):
    _assert_same_fit(_km(**params).fit(ArrayRows(X)), _km(**params).fit(X))


def test_weights_of_a_source_go_with_its_rows():
    want = _km().fit(X, sample_weight=W)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    for source in (
        ArrayRows(X, W),
        # An Arrow table's rows come as C-ordered blocks, as the array's.
        TableRows(pa.Table.from_pandas(frame), W),
        # Not in memory, so sampled; 3000 rows are fewer than the sample's bound.
        ChunkRows([(X[i : i + 500], W[i : i + 500]) for i in range(0, 3000, 500)]),
    ):
        got = _km().fit(source)
        _assert_same_fit(got, want)
        assert got.score(source) == want.score(X, sample_weight=W)
        assert got.score(source, sample_weight=np.ones(3000)) == want.score(X)
    # A pandas frame holds its columns apart: its blocks of rows are laid out as those of a
    # Fortran-ordered array, whose sums round in their own order.
    _assert_same_fit(_km().fit(TableRows(frame, W)), _km().fit(np.asfortranarray(X), None, W))
    random = _km(init="random", n_init=2)
    _assert_same_fit(random.fit(ArrayRows(X, W)), _km(init="random", n_init=2).fit(X, None, W))


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array])
def test_a_csr_source_equals_the_csr_fit(container):
    Xs = container(np.maximum(X - 2.0, 0.0))
    for params in ({}, {"init": "random", "n_init": 2}):
        want = _km(**params).fit(Xs)
        _assert_same_fit(_km(**params).fit(SparseRows(Xs)), want)
        chunks = ChunkRows([Xs[i : i + 500] for i in range(0, 3000, 500)])
        got = _km(**params).fit(chunks)
        _assert_same_fit(got, want)
        assert_array_equal(got.predict(chunks), want.predict(Xs))
        assert_array_equal(got.transform(chunks), want.transform(Xs))
        assert got.score(chunks) == want.score(Xs)


# -- files ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["npy", "parquet", "csv"])
@pytest.mark.parametrize("init", ["centres", "k-means++", "random"])
def test_a_fit_on_a_file_equals_the_fit_on_the_array(kind, init, tmp_path):
    # 3000 rows are fewer than the start's sample bound: the start sees them all.
    params = {"init": CENTRES} if init == "centres" else {"init": init}
    source = _files(tmp_path, X)[kind]
    got, want = _km(**params).fit(source), _km(**params).fit(X)
    _assert_same_fit(got, want)
    assert_array_equal(got.predict(source), want.predict(X))
    assert_array_equal(got.transform(source), want.transform(X))
    assert got.score(source) == want.score(X)
    if kind == "npy":
        assert not hasattr(got, "feature_names_in_")
    else:
        assert list(got.feature_names_in_) == ["a", "b", "c"]
        assert list(got.get_feature_names_out()) == [f"kmeans{i}" for i in range(4)]
        frame = pd.DataFrame(X[:50], columns=["a", "b", "c"])
        assert_array_equal(got.predict(frame), want.predict(X[:50]))


def test_fit_predict_and_fit_transform_on_a_file(tmp_path):
    source = _files(tmp_path, X)["npy"]
    want = _km().fit(X)
    assert_array_equal(_km().fit_predict(source), want.labels_)
    assert_array_equal(_km().fit_transform(source), want.transform(X))


def test_a_float32_file_is_fitted_as_float32_data(tmp_path):
    X32 = X.astype(np.float32)
    source = _files(tmp_path, X32)["npy"]
    got, want = _km().fit(source), _km().fit(X32)
    _assert_same_fit(got, want)
    assert got.cluster_centers_.dtype == np.float32
    assert got.transform(source).dtype == np.float32


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_the_start_of_a_large_file_is_drawn_from_a_uniform_sample(init, tmp_path, monkeypatch):
    # A bound below the rows makes the sample a strict subset of them; the start drawn from
    # it is the fit's, which then runs Lloyd's iterations on all the rows.
    monkeypatch.setattr(emkit.core.driver, "INIT_MAX_ROWS", 400)
    source = _files(tmp_path, X)["npy"]
    got = _km(init=init, n_init=1).fit(source)
    rng = np.random.RandomState(0)
    sample, _ = source.sample(400, rng)
    assert sample.shape[0] == 400
    if init == "k-means++":
        start = kmeans_plusplus(sample, 4, random_state=rng)[0]
    else:
        start = sample[rng.choice(400, size=4, replace=False, p=np.full(400, 1 / 400))]
    _assert_same_fit(got, _km(init=start).fit(X))


def test_a_callable_init_gets_the_sample(tmp_path, monkeypatch):
    monkeypatch.setattr(emkit.core.driver, "INIT_MAX_ROWS", 400)
    seen = []

    def init(rows, n_clusters, random_state):
        seen.append(rows.shape)
        return rows[:n_clusters]

    _km(init=init, n_init=2).fit(_files(tmp_path, X)["npy"])
    _km(init=init, n_init=1).fit(ArrayRows(X))
    assert seen == [(400, 3), (400, 3), (3000, 3)]


# -- one pass for the tolerance -----------------------------------------------------------------
def test_the_data_moments_take_one_pass():
    source = CountedRows(X)
    moments = data_moments(source, None, 256)
    assert source.passes == 1
    assert (moments.n_rows, moments.total_weight) == (3000, 3000.0)
    assert_allclose(moments.mean, X.mean(axis=0), rtol=1e-13)
    assert_allclose(moments.mean_variance, X.var(axis=0).mean(), rtol=1e-13)
    weighted = data_moments(
        ChunkRows([(X[i : i + 256], W[i : i + 256]) for i in range(0, 3000, 256)])
    )
    mean = np.average(X, axis=0, weights=W)
    assert_allclose(weighted.mean, mean, rtol=1e-13)
    assert_allclose(weighted.mean_variance, (W @ (X - mean) ** 2 / W.sum()).mean(), rtol=1e-12)
    Xs = sp.csr_matrix(np.maximum(X - 2.0, 0.0))
    chunked = data_moments(
        ChunkRows([(Xs[i : i + 256], W[i : i + 256]) for i in range(0, 3000, 256)])
    )
    dense = data_moments(Xs.toarray(), W)
    assert_allclose(chunked.mean, dense.mean, rtol=1e-13)
    assert_allclose(chunked.mean_variance, dense.mean_variance, rtol=1e-12)


def test_a_source_of_unknown_length_is_counted():
    source = CountedRows(X)
    fitted = _km().fit(source)
    _assert_same_fit(fitted, _km().fit(X))
    assert fitted.labels_.shape == (3000,)


# -- bad input ----------------------------------------------------------------------------------
def test_bad_sources_are_refused(tmp_path):
    fitted = _km().fit(X)
    np.save(tmp_path / "two.npy", X[:, :2])
    two = emkit.open_data(tmp_path / "two.npy")
    for method in ("predict", "transform", "score"):
        with pytest.raises(ValueError, match="X has 2 features, but KMeans is expecting 3"):
            getattr(fitted, method)(two)
    named = _km().fit(pd.DataFrame(X, columns=["a", "b", "c"]))
    pd.DataFrame(X, columns=["a", "c", "b"]).to_parquet(tmp_path / "swapped.parquet")
    with pytest.raises(ValueError, match="not those the model was fitted to"):
        named.predict(emkit.open_data(tmp_path / "swapped.parquet"))
    with pytest.raises(ValueError, match="sample weights go with its rows"):
        _km().fit(ArrayRows(X), sample_weight=W)
    np.save(tmp_path / "three.npy", X[:3])
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=4"):
        _km().fit(emkit.open_data(tmp_path / "three.npy"))
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=4"):
        _km().fit(CountedRows(X[:3]))
    bad = X.copy()
    bad[2100, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        _km().fit(ArrayRows(bad))
    negative = W.copy()
    negative[1234] = -1.0
    with pytest.raises(ValueError, match=r"row 1234 has weight -1\.0"):
        _km().fit(ArrayRows(X, negative))
    with pytest.raises(ValueError, match="rows of positive weight"):
        _km().fit(ArrayRows(X, np.zeros(3000)))
    generator = (X[i : i + 500] for i in range(0, 3000, 500))
    with pytest.raises(TypeError, match="generator, which can be read only once"):
        fitted.transform(generator)
