"""Tests of emkit.KMeans against scikit-learn's Lloyd k-means and against direct computation."""

from __future__ import annotations

import re
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans as SkKMeans
from sklearn.cluster import kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import emkit
from emkit.core.driver import fit_em
from emkit.models.kmeans import KMeansModel, data_moments
from emkit.models.kmeans_kernels import (
    cluster_sums,
    cluster_sums_reference,
    farthest,
    farthest_reference,
    nearest_centres,
    nearest_centres_reference,
)

CSR = [sp.csr_matrix, sp.csr_array]


def _blobs(seed=4, scale=1.0):
    rng = np.random.default_rng(seed)
    parts = [rng.normal(m, 1.2, size=(n, 3)) for m, n in ((0, 200), (2, 150), (4, 150), (1, 100))]
    return np.vstack(parts) * scale


def _weights(kind, n, seed=0):
    rng = np.random.default_rng(seed)
    if kind is None:
        return None
    if kind == "float":
        return rng.uniform(0.1, 3.0, size=n)
    return rng.integers(0, 4, size=n).astype(float)


def _inertia(X, centers, sample_weight=None):
    """Weighted sum of squared distances to the nearest centre, computed directly."""
    d2 = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=-1).min(axis=1)
    return float(d2.sum() if sample_weight is None else sample_weight @ d2)


def _pair(X, sample_weight=None, **params):
    """scikit-learn's KMeans and emkit's with the same parameters, both fitted."""
    sk = SkKMeans(**params).fit(X, sample_weight=sample_weight)
    em = emkit.KMeans(**params).fit(X, sample_weight=sample_weight)
    return sk, em


def _lloyd_pair(X, centers, sample_weight=None, tol=0):
    return _pair(X, sample_weight, n_clusters=centers.shape[0], init=centers, tol=tol)


def _assert_same_fit(em, sk, rtol=1e-10):
    assert_array_equal(em.labels_, sk.labels_)
    scale = max(1.0, float(np.abs(sk.cluster_centers_).max()))
    assert_allclose(em.cluster_centers_, sk.cluster_centers_, rtol=0, atol=rtol * scale)
    assert_allclose(em.inertia_, sk.inertia_, rtol=rtol)
    assert em.n_iter_ == sk.n_iter_


# -- against scikit-learn -------------------------------------------------------------------
@pytest.mark.parametrize("weights", [None, "float", "integer"])
@pytest.mark.parametrize("seed", range(4))
def test_matches_sklearn_lloyd_from_same_centres(seed, weights):
    X = _blobs()
    sw = _weights(weights, X.shape[0], seed)
    init = kmeans_plusplus(X, 4, random_state=seed, sample_weight=sw)[0]
    sk, em = _lloyd_pair(X, init, sw)
    _assert_same_fit(em, sk)
    assert_allclose(em.inertia_, _inertia(X, em.cluster_centers_, sw), rtol=1e-10)
    assert_allclose(em.transform(X), sk.transform(X), rtol=1e-10, atol=1e-12)
    assert_allclose(em.score(X, sample_weight=sw), sk.score(X, sample_weight=sw), rtol=1e-10)


@pytest.mark.parametrize("scale", [1e3, 1e-4, 1e-8])
def test_matches_sklearn_at_other_scales(scale):
    X = _blobs(scale=scale)
    init = kmeans_plusplus(X, 4, random_state=0)[0]
    sk, em = _lloyd_pair(X, init)
    assert_array_equal(em.labels_, sk.labels_)
    assert_allclose(em.cluster_centers_, sk.cluster_centers_, rtol=0, atol=1e-10 * scale)
    assert_allclose(em.inertia_, _inertia(X, em.cluster_centers_), rtol=1e-10)


def test_matches_sklearn_far_from_origin():
    X = _blobs() + 1e6
    init = kmeans_plusplus(X, 4, random_state=1)[0]
    sk, em = _lloyd_pair(X, init)
    assert_array_equal(em.labels_, sk.labels_)
    assert_allclose(em.cluster_centers_, sk.cluster_centers_, rtol=1e-14)
    assert_allclose(em.inertia_, _inertia(X, em.cluster_centers_), rtol=1e-6)


@pytest.mark.parametrize("weights", [None, "float"])
def test_default_start_matches_sklearn(weights):
    # Both seed with k-means++ from the same random state, with the same defaults.
    X = _blobs(seed=7)
    sw = _weights(weights, X.shape[0])
    sk, em = _pair(X, sw, n_clusters=4, random_state=3)
    _assert_same_fit(em, sk)


@pytest.mark.parametrize("tol", [1e-1, 1e-2, 1e-4, 0.0])
@pytest.mark.parametrize("weights", [None, "float"])
def test_tol_stops_where_sklearn_stops(tol, weights):
    # tol is on the squared centre shift, relative to the mean variance of the data; the
    # larger ones stop before the labels settle, with labels_ from a last assignment.
    X = _blobs(seed=11)
    sw = _weights(weights, X.shape[0], seed=2)
    init = kmeans_plusplus(X, 6, random_state=5)[0]
    sk, em = _lloyd_pair(X, init, sw, tol=tol)
    _assert_same_fit(em, sk)
    assert em.converged_


def _lloyd_reference(X, centres, tol, max_iter=300, sample_weight=None):
    """scikit-learn's Lloyd loop written out (no cluster may go empty): iteration i assigns
    the rows to the centres and moves the centres; it stops when the labels repeat those of
    iteration i - 1, or when the squared shift of the centres is at most tol."""
    w = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    previous, n_iter = None, 0
    while n_iter < max_iter:
        n_iter += 1
        labels = ((X[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        new = np.stack(
            [
                np.average(X[labels == k], axis=0, weights=w[labels == k])
                for k in range(len(centres))
            ]
        )
        shift, centres = ((new - centres) ** 2).sum(), new
        if (previous is not None and np.array_equal(labels, previous)) or shift <= tol:
            break
        previous = labels
    return centres, n_iter


@pytest.mark.parametrize("tol", [3e-1, 1e-1, 3e-2, 1e-2, 1e-3])
@pytest.mark.parametrize("weights", [None, "float"])
def test_tol_is_on_the_centre_shift_relative_to_the_variance(tol, weights):
    X = _blobs(seed=11)
    sw = _weights(weights, X.shape[0], seed=2)
    init = kmeans_plusplus(X, 6, random_state=5)[0]
    w = np.ones(X.shape[0]) if sw is None else sw
    variance = (w @ (X - np.average(X, axis=0, weights=w)) ** 2 / w.sum()).mean()
    centres, n_iter = _lloyd_reference(X, init, tol * variance, sample_weight=sw)
    em = emkit.KMeans(6, init=init, tol=tol).fit(X, sample_weight=sw)
    assert em.n_iter_ == n_iter
    assert_allclose(em.cluster_centers_, centres, rtol=0, atol=1e-12)
    assert_array_equal(em.labels_, em.predict(X))


@pytest.mark.parametrize("n_init", [1, 3])
def test_random_init_matches_sklearn(n_init):
    # init='random' draws the same rows as scikit-learn from the same random state, so
    # every restart starts where scikit-learn's does.
    X = _blobs(seed=12)
    sw = _weights("float", X.shape[0], seed=3)
    sk, em = _pair(X, sw, n_clusters=5, init="random", n_init=n_init, random_state=4)
    _assert_same_fit(em, sk)


def test_relocation_matches_sklearn():
    # Two centres far from every row start empty: each takes one of the rows farthest
    # from their centres, as in scikit-learn.
    X = _blobs(seed=5)
    init = np.array([[0.0, 0.0, 0.0], [4.0, 4.0, 4.0], [100.0, 100.0, 100.0], [-90.0] * 3])
    for sw in (None, _weights("float", X.shape[0], seed=6)):
        sk, em = _lloyd_pair(X, init, sw, tol=1e-4)
        _assert_same_fit(em, sk)
        assert np.unique(em.labels_).size == 4


@pytest.mark.parametrize("container", [np.asarray, *CSR])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kmeans_results_by_hand(container, dtype):
    # scikit-learn's toy case: two iterations, the second finds the same labels.
    X = container(np.array([[0, 0], [0.5, 0], [0.5, 1], [1, 1]], dtype=dtype))
    init = np.array([[0.0, 0], [1, 1]], dtype=dtype)
    em = emkit.KMeans(2, init=init).fit(X, sample_weight=[3, 1, 1, 3])
    assert_array_equal(em.labels_, [0, 0, 1, 1])
    assert_allclose(em.cluster_centers_, [[0.125, 0], [0.875, 1]])
    assert em.cluster_centers_.dtype == dtype
    assert em.inertia_ == pytest.approx(0.375)
    assert em.n_iter_ == 2
    assert em.converged_


def test_inertia_is_weighted_sum_of_squared_distances():
    X = _blobs(seed=9)
    sw = _weights("float", X.shape[0], seed=9)
    em = emkit.KMeans(5, random_state=0).fit(X, sample_weight=sw)
    centers = em.cluster_centers_
    d2 = ((X[:, None, :] - centers[None]) ** 2).sum(axis=-1)
    assert_array_equal(em.labels_, np.argmin(d2, axis=1))
    assert_allclose(em.inertia_, sw @ d2.min(axis=1), rtol=1e-10)
    assert_allclose(em.score(X, sample_weight=sw), -em.inertia_, rtol=1e-10)
    assert_allclose(em.score(X), -d2.min(axis=1).sum(), rtol=1e-10)


# -- Lloyd's convergence -------------------------------------------------------------------
def test_tol_zero_ends_at_a_lloyd_fixed_point():
    X = _blobs()
    init = kmeans_plusplus(X, 4, random_state=1)[0]
    em = emkit.KMeans(4, init=init, tol=0).fit(X)
    assert em.converged_
    for k in range(4):
        assert_allclose(em.cluster_centers_[k], X[em.labels_ == k].mean(axis=0), rtol=1e-12)


@pytest.mark.parametrize("container", [np.asarray, *CSR])
def test_max_iter_counts_lloyd_iterations(container):
    # One iteration: assign to the start, move to the means, assign again.
    X = np.random.RandomState(0).uniform(size=(100, 5))
    init = X[:5]
    em = emkit.KMeans(5, init=init, max_iter=1).fit(container(X))
    d0 = ((X[:, None] - init[None]) ** 2).sum(-1).argmin(1)
    means = np.stack([X[d0 == k].mean(axis=0) for k in range(5)])
    assert em.n_iter_ == 1
    assert_allclose(em.cluster_centers_, means, rtol=1e-12)
    assert_array_equal(em.labels_, ((X[:, None] - means[None]) ** 2).sum(-1).argmin(1))


# -- empty clusters ------------------------------------------------------------------------
def test_empty_cluster_takes_the_farthest_row():
    X = np.array([[-1.0], [1.0]])
    em = emkit.KMeans(2, init=np.array([[-1.0], [10.0]])).fit(X, sample_weight=[1.9, 0.1])
    assert_array_equal(em.labels_, [0, 1])
    assert_allclose(em.cluster_centers_, [[-1.0], [1.0]])


def test_relocation_takes_rows_in_order_of_distance():
    # All rows start in cluster 0; the two empty clusters take the two farthest rows, the
    # lower index the farther one.
    X = np.array([-10.0, -9.5, -9, -8.5, -8, -1, 1, 9, 9.5, 10]).reshape(-1, 1)
    model = KMeansModel(3)
    start = model.from_centers(np.full((3, 1), -10.0))
    stats, _ = model.e_step(start, X, hard=True)
    new = model.m_step(stats, start).components.means
    assert_allclose(new, [[-36.0 / 8], [10.0], [9.5]])


def test_zero_weight_rows_never_become_centres():
    X = np.array([[0.0], [0.1], [50.0], [5.0]])
    sw = np.array([1.0, 1.0, 0.0, 1.0])
    em = emkit.KMeans(2, init=np.array([[0.0], [-100.0]])).fit(X, sample_weight=sw)
    assert_allclose(np.sort(em.cluster_centers_.ravel()), [0.05, 5.0])


def test_cluster_without_distinct_rows_keeps_its_centre():
    # Fewer distinct rows than clusters: nothing can be relocated, the empty cluster keeps
    # its centre, the run stops at once, and scikit-learn's warning says why.
    X = np.array([[0.0, 0], [1, 1], [1, 1], [1, 0], [0, 1]])
    with pytest.warns(ConvergenceWarning, match=r"distinct clusters \(4\).*n_clusters \(5\)"):
        em = emkit.KMeans(5, init=X).fit(X)
    assert em.n_iter_ == 1
    assert_array_equal(em.cluster_centers_, X)
    assert set(em.labels_) == {0, 1, 3, 4}


@pytest.mark.parametrize("chunk_size", [1, 3, 50])
def test_relocation_does_not_depend_on_chunks_or_threads(chunk_size):
    # Equally far rows: the earliest wins, whatever the chunks and the threads. Chunks
    # change the order of the sums (the last bits of the centres); threads change nothing.
    X = np.vstack([np.round(_blobs(seed=13)), [[30.0, 30, 30]] * 3, [[-30.0, -30, -30]] * 2])
    init = np.vstack([X[:3], [[200.0, 0, 0]], [[0, 200.0, 0]], [[0, 0, 200.0]]])
    whole = emkit.KMeans(6, init=init, tol=0, n_jobs=1).fit(X)
    assert np.unique(whole.labels_).size == 6  # the far centres took rows
    one = emkit.KMeans(6, init=init, tol=0, chunk_size=chunk_size, n_jobs=1).fit(X)
    two = emkit.KMeans(6, init=init, tol=0, chunk_size=chunk_size, n_jobs=2).fit(X)
    assert_array_equal(one.labels_, whole.labels_)
    assert_allclose(one.cluster_centers_, whole.cluster_centers_, rtol=0, atol=1e-12)
    assert one.n_iter_ == whole.n_iter_
    assert_array_equal(two.cluster_centers_, one.cluster_centers_)
    assert_array_equal(two.labels_, one.labels_)


def test_farthest_rows_merge_in_batch_order():
    X = np.array([[0.0], [3.0], [-3.0], [2.0], [3.0]])
    model = KMeansModel(3)
    params = model.from_centers([[0.0], [100.0], [200.0]])
    whole, _ = model.e_step(params, X, hard=True)
    parts = [model.e_step(params, X[i : i + 2], hard=True)[0] for i in range(0, 5, 2)]
    merged = parts[0] + parts[1] + parts[2]
    for got in (whole.far, merged.far):
        assert_array_equal(got.rows.ravel(), [3.0, -3.0])
        assert_array_equal(got.sq_dist, [9.0, 9.0])


# -- sparse data ---------------------------------------------------------------------------
@pytest.mark.parametrize("container", CSR)
@pytest.mark.parametrize("init", ["k-means++", "random", "array"])
def test_sparse_fit_equals_dense_fit(container, init):
    X = np.maximum(_blobs(seed=14) - 1.0, 0.0)
    sw = _weights("float", X.shape[0], seed=4)
    start = X[[0, 300, 450, 550]] if init == "array" else init
    n_init = 1 if init == "array" else 2
    params = {"n_clusters": 4, "init": start, "n_init": n_init, "random_state": 1}
    dense = emkit.KMeans(**params).fit(X, sample_weight=sw)
    sparse = emkit.KMeans(**params, chunk_size=64).fit(container(X), sample_weight=sw)
    assert_array_equal(sparse.labels_, dense.labels_)
    assert_allclose(sparse.cluster_centers_, dense.cluster_centers_, rtol=1e-12, atol=1e-12)
    assert_allclose(sparse.inertia_, dense.inertia_, rtol=1e-10)
    assert sparse.n_iter_ == dense.n_iter_
    Xs = container(X)
    assert_array_equal(dense.predict(Xs), dense.labels_)
    assert_array_equal(sparse.predict(X), dense.labels_)
    assert_allclose(sparse.transform(Xs), dense.transform(X), rtol=1e-9, atol=1e-9)
    assert_allclose(sparse.score(Xs), dense.score(X), rtol=1e-10)


def test_sparse_matches_sklearn():
    X = sp.csr_matrix(np.maximum(_blobs(seed=15) - 1.5, 0.0))
    sk, em = _pair(X, n_clusters=5, random_state=2)
    _assert_same_fit(em, sk, rtol=1e-9)


def test_sparse_data_is_never_densified():
    # 20 000 rows of 200 000 features: 32 GB dense, a few megabytes as CSR.
    rng = np.random.default_rng(0)
    n, d = 20_000, 200_000
    rows = np.repeat(np.arange(n), 3)
    cols = rng.integers(0, d, size=3 * n)
    cols[::3] = rng.integers(0, 3, size=n)  # a shared part, so that clusters form
    X = sp.csr_matrix((rng.uniform(1, 2, size=3 * n), (rows, cols)), shape=(n, d))
    km = emkit.KMeans(3, max_iter=3, random_state=0, n_jobs=1)
    km.fit(X[:1000])  # compile first: only the fit's own memory counts
    tracemalloc.start()
    km.fit(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100 * 2**20
    assert km.cluster_centers_.shape == (3, d)
    assert_array_equal(km.predict(X[:50]), km.labels_[:50])


def test_other_sparse_formats_are_read_as_csr():
    X = np.maximum(_blobs(seed=16) - 1.0, 0.0)
    ref = emkit.KMeans(3, random_state=0).fit(sp.csr_matrix(X))
    for fmt in ("csc", "coo", "lil"):
        got = emkit.KMeans(3, random_state=0).fit(sp.csr_matrix(X).asformat(fmt))
        assert_array_equal(got.labels_, ref.labels_)


# -- data types ----------------------------------------------------------------------------
@pytest.mark.parametrize("container", [np.asarray, *CSR])
def test_float32_data_gives_float32_results(container):
    X = _blobs(seed=17)
    X32 = container(X.astype(np.float32))
    em32 = emkit.KMeans(4, random_state=0).fit(X32)
    em64 = emkit.KMeans(4, random_state=0).fit(container(X.astype(np.float32).astype(np.float64)))
    assert em32.cluster_centers_.dtype == np.float32
    assert em32.transform(X32).dtype == np.float32
    # Accumulated in float64: the fit is that of the same values in float64, rounded.
    assert_array_equal(em32.labels_, em64.labels_)
    assert_array_equal(em32.cluster_centers_, em64.cluster_centers_.astype(np.float32))
    assert_array_equal(em32.predict(X32), em32.labels_)
    assert_array_equal(em32.predict(em32.cluster_centers_), np.arange(4))
    # Data and centres of different dtypes give float64 distances, as scikit-learn's.
    assert em64.transform(X32).dtype == np.float64
    assert em32.transform(container(X)).dtype == np.float64


@pytest.mark.parametrize("container", [np.asarray, *CSR])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_data_is_read_as_float64(container, dtype):
    X = container(np.array([[0, 0], [10, 10], [12, 9], [-1, 1], [2, 0], [8, 10]], dtype=dtype))
    em = emkit.KMeans(2, init=np.array([[0, 0], [10, 10]]), n_init=1).fit(X)
    assert em.cluster_centers_.dtype == np.float64
    assert_array_equal(em.labels_, [0, 1, 1, 0, 0, 1])


# -- initialisation ------------------------------------------------------------------------
def test_callable_init_receives_data_clusters_and_random_state():
    X = _blobs(seed=18)
    calls = []

    def init(data, n_clusters, random_state):
        calls.append((data, n_clusters, random_state))
        return data[random_state.choice(data.shape[0], n_clusters, replace=False)]

    em = emkit.KMeans(3, init=init, random_state=0).fit(X)
    assert em._n_init == 10 and len(calls) == 10
    assert all(c[0] is X and c[1] == 3 for c in calls)
    assert all(isinstance(c[2], np.random.RandomState) for c in calls)
    sk = SkKMeans(3, init="random", random_state=0).fit(X)
    assert em.inertia_ <= sk.inertia_ * (1 + 1e-10)


@pytest.mark.parametrize(
    ("init", "n_init", "expected"),
    [
        ("k-means++", "auto", 1),
        ("random", "auto", 10),
        ("callable", "auto", 10),
        ("array", "auto", 1),
        ("random", 3, 3),
    ],
)
def test_n_init_auto(init, n_init, expected):
    X = _blobs(seed=19)
    if init == "callable":
        init = lambda data, k, random_state: data[:k]  # noqa: E731
    elif init == "array":
        init = X[:4]
    em = emkit.KMeans(4, init=init, n_init=n_init, random_state=0).fit(X)
    assert em._n_init == expected


def test_given_centres_make_one_run_and_say_so():
    X = _blobs(seed=20)
    with pytest.warns(
        RuntimeWarning, match="performing only one init in KMeans instead of n_init=5"
    ):
        em = emkit.KMeans(4, init=X[:4], n_init=5).fit(X)
    assert em._n_init == 1


def test_init_random_weights_the_draws():
    # Rows of zero weight are never drawn.
    X = _blobs(seed=22)
    sw = np.zeros(X.shape[0])
    sw[:4] = 1.0
    em = emkit.KMeans(4, init="random", n_init=1, max_iter=1, random_state=0)
    em.fit(X, sample_weight=sw)
    assert_allclose(np.sort(em.cluster_centers_, axis=0), np.sort(X[:4], axis=0))


# -- sample weights and restarts ------------------------------------------------------------
def test_integer_weights_equal_repeated_rows():
    X = _blobs(seed=2)
    sw = _weights("integer", X.shape[0], seed=2)
    weighted = emkit.KMeans(4, random_state=0, tol=0).fit(X, sample_weight=sw)
    repeated = emkit.KMeans(4, random_state=0, tol=0).fit(np.repeat(X, sw.astype(int), axis=0))
    assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=0, atol=1e-12)
    assert_allclose(weighted.inertia_, repeated.inertia_, rtol=1e-10)
    dropped = emkit.KMeans(4, random_state=0, tol=0).fit(X[sw > 0], sample_weight=sw[sw > 0])
    assert_allclose(weighted.cluster_centers_, dropped.cluster_centers_, rtol=0, atol=1e-12)


def test_n_init_keeps_lowest_inertia():
    X = _blobs(seed=3)
    best = emkit.KMeans(6, n_init=4, random_state=1).fit(X)
    stream = np.random.RandomState(1)
    singles = [emkit.KMeans(6, random_state=stream).fit(X) for _ in range(4)]
    inertias = [s.inertia_ for s in singles]
    assert len(set(inertias)) > 1
    assert all(best.inertia_ <= i for i in inertias)
    assert_array_equal(best.cluster_centers_, singles[int(np.argmin(inertias))].cluster_centers_)


def test_chunked_fit_equals_whole_fit():
    X = _blobs(seed=6)
    whole = emkit.KMeans(4, random_state=0).fit(X)
    chunked = emkit.KMeans(4, random_state=0, chunk_size=37).fit(X)
    assert_allclose(chunked.cluster_centers_, whole.cluster_centers_, rtol=0, atol=1e-12)
    assert_array_equal(chunked.labels_, whole.labels_)
    assert_allclose(chunked.transform(X), whole.transform(X), rtol=1e-12)


def test_tolerance_uses_the_weighted_variance():
    # Weights are repeated rows for the tolerance too.
    X = _blobs(seed=23)
    sw = _weights("integer", X.shape[0], seed=5)
    weighted = data_moments(X, sw, chunk_size=17)
    repeated = data_moments(np.repeat(X, sw.astype(int), axis=0), None)
    assert_allclose(weighted.mean, repeated.mean, rtol=1e-12)
    assert_allclose(weighted.mean_variance, repeated.mean_variance, rtol=1e-12)
    assert_allclose(repeated.mean_variance, np.var(np.repeat(X, sw.astype(int), axis=0), 0).mean())
    Xs = sp.csr_matrix(np.maximum(X - 1, 0))
    got = data_moments(Xs, sw, chunk_size=17)
    assert_allclose(got.mean_variance, data_moments(Xs.toarray(), sw).mean_variance, rtol=1e-12)


# -- transform, predict, score -------------------------------------------------------------
def test_transform_predict_score_on_new_data():
    X = _blobs(seed=8)
    new = np.random.default_rng(1).normal(2.0, 2.0, size=(40, 3))
    em = emkit.KMeans(4, random_state=0).fit(X)
    d = np.sqrt(((new[:, None, :] - em.cluster_centers_[None]) ** 2).sum(axis=-1))
    assert_allclose(em.transform(new), d, rtol=1e-12)
    assert_array_equal(em.predict(new), np.argmin(d, axis=1))
    assert_allclose(em.score(new), -(d.min(axis=1) ** 2).sum(), rtol=1e-12)
    assert_array_equal(em.fit_predict(X), em.labels_)
    assert_allclose(emkit.KMeans(4, random_state=0).fit_transform(X), em.transform(X))
    assert em.transform(new.astype(np.float32)).dtype == np.float64
    assert em.labels_.dtype == np.int32 and em.predict(new).dtype == np.int32


def test_feature_names_out():
    em = emkit.KMeans(3, random_state=0).fit(_blobs(seed=24))
    assert_array_equal(em.get_feature_names_out(), ["kmeans0", "kmeans1", "kmeans2"])


# -- compatibility parameters and progress ---------------------------------------------------
@pytest.mark.parametrize("copy_x", [True, False])
def test_copy_x_leaves_data_alone(copy_x):
    X = _blobs(seed=25)
    before = X.copy()
    em = emkit.KMeans(4, copy_x=copy_x, random_state=0).fit(X)
    assert_array_equal(X, before)
    assert_array_equal(em.labels_, emkit.KMeans(4, random_state=0).fit(X).labels_)


def test_elkan_gives_lloyd_results():
    X = _blobs(seed=26)
    lloyd = emkit.KMeans(4, random_state=0).fit(X)
    elkan = emkit.KMeans(4, random_state=0, algorithm="elkan").fit(X)
    assert_array_equal(elkan.cluster_centers_, lloyd.cluster_centers_)
    assert elkan.n_iter_ == lloyd.n_iter_
    with pytest.warns(RuntimeWarning, match="algorithm='elkan' doesn't make sense"):
        emkit.KMeans(1, algorithm="elkan").fit(X)


def _lines(text):
    """Progress lines with their numbers replaced, and the numbers."""
    numbers = [float(m) for m in re.findall(r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?", text)]
    return re.sub(r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?", "#", text).splitlines(), numbers


@pytest.mark.parametrize("tol", [1e-2, 0.0])
def test_verbose_prints_sklearn_progress(tol, capsys):
    X = np.random.RandomState(0).normal(size=(2000, 4))
    params = {"n_clusters": 3, "init": "random", "n_init": 2, "random_state": 42, "tol": tol}
    SkKMeans(**params, verbose=1).fit(X)
    sk_lines, sk_numbers = _lines(capsys.readouterr().out)
    emkit.KMeans(**params, verbose=1).fit(X)
    em_lines, em_numbers = _lines(capsys.readouterr().out)
    assert em_lines == sk_lines
    assert_allclose(em_numbers, sk_numbers, rtol=1e-6)
    assert any(("strict convergence" if tol == 0 else "within tolerance") in s for s in em_lines)


# -- kernels and their reference twins -------------------------------------------------------
def test_nearest_centres_equals_reference_bit_for_bit():
    rng = np.random.RandomState(0)
    for _ in range(60):
        d, k, n = rng.randint(1, 40), rng.randint(1, 12), rng.randint(1, 600)
        offset = rng.choice([0.0, 1e6])
        centres = rng.normal(size=(k, d)) * 10.0 ** rng.uniform(-6, 6) + offset
        if k > 1:
            centres[1] = centres[0]  # exact ties go to the first
        X = np.vstack([rng.normal(size=(n, d)) + offset, centres, (centres[:1] + centres[-1:]) / 2])
        for data in (X, X.astype(np.float32), np.asfortranarray(X)):
            got, ref = nearest_centres(data, centres), nearest_centres_reference(data, centres)
            assert_array_equal(got.labels, ref.labels)
            assert_array_equal(got.sq_dist, ref.sq_dist)


@pytest.mark.parametrize("container", CSR)
def test_sparse_nearest_centres_agree_with_dense(container):
    rng = np.random.RandomState(1)
    X = np.maximum(rng.normal(size=(300, 20)), 0.0)
    centres = rng.normal(size=(5, 20))
    got, ref = nearest_centres(container(X), centres), nearest_centres_reference(X, centres)
    assert_array_equal(got.labels, ref.labels)
    assert_allclose(got.sq_dist, ref.sq_dist, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cluster_sums_equal_reference(dtype):
    rng = np.random.RandomState(2)
    X = rng.normal(size=(500, 6)).astype(dtype)
    labels = rng.randint(0, 4, size=500)
    w = rng.randint(0, 3, size=500).astype(float)
    origin = rng.normal(size=6)
    for weights in (None, w):
        got = cluster_sums(X, labels, weights, origin, 5)
        ref = cluster_sums_reference(X, labels, weights, origin, 5)
        for a, b in zip(got, ref, strict=True):
            assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        sparse = cluster_sums(sp.csr_matrix(X), labels, weights, origin, 5)
        for a, b in zip(sparse, ref, strict=True):
            assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    assert got.count[4] == 0 and got.weight[4] == 0


def test_farthest_equals_reference():
    rng = np.random.RandomState(3)
    for trial in range(300):
        n = rng.randint(0, 50)
        values = rng.randint(0, 4, size=n).astype(float)  # many ties and zeros
        w = rng.randint(0, 3, size=n).astype(float) if trial % 2 else None
        for size in (0, 1, 3, 60):
            assert_array_equal(farthest(values, w, size), farthest_reference(values, w, size))


def test_csr_rows_fit_equals_dense_fit_through_the_driver():
    X = np.maximum(_blobs(seed=27) - 1.0, 0.0)
    model = KMeansModel(4)
    start = model.from_centers(X[[0, 250, 400, 520]])
    dense = fit_em(model, X, init=start, hard=True, tol=0, chunk_size=50)
    sparse = fit_em(model, sp.csr_matrix(X), init=start, hard=True, tol=0, chunk_size=50)
    assert_allclose(sparse.params.components.means, dense.params.components.means, rtol=1e-12)
    assert sparse.n_iter == dense.n_iter


# -- bad input -----------------------------------------------------------------------------
def _X():
    return np.random.default_rng(0).normal(size=(30, 2))


def _nan():
    X = _X()
    X[2, 0] = np.nan
    return X


BAD_FIT = [
    ("nan", {}, _nan(), {}, "Input X contains NaN"),
    ("1-d", {}, _X()[:, 0], {}, "Expected 2D array"),
    ("empty", {}, np.empty((0, 2)), {}, "0 sample"),
    ("few", {"n_clusters": 5}, _X()[:3], {}, "n_samples=3 should be >= n_clusters=5"),
    ("n-clusters", {"n_clusters": 0}, _X(), {}, "n_clusters"),
    ("init-name", {"init": "kmeans"}, _X(), {}, "init must be 'k-means\\+\\+', 'random'"),
    ("init-scalar", {"init": 3.0}, _X(), {}, "init must be"),
    (
        "init-clusters",
        {"init": np.zeros((3, 2))},
        _X(),
        {},
        r"initial centers \(3, 2\) does not match the number of clusters 2",
    ),
    (
        "init-features",
        {"init": np.zeros((2, 3))},
        _X(),
        {},
        r"initial centers \(2, 3\) does not match the number of features of the data 2",
    ),
    (
        "init-callable",
        {"init": lambda X, k, random_state: X[:3]},
        _X(),
        {},
        "does not match the number of clusters 2",
    ),
    (
        "init-random-weights",
        {"init": "random"},
        _X(),
        {"sample_weight": np.r_[1.0, np.zeros(29)]},
        "positive weight",
    ),
    ("n-init", {"n_init": 0}, _X(), {}, "n_init"),
    ("n-init-name", {"n_init": "many"}, _X(), {}, "n_init must be 'auto'"),
    ("max-iter", {"max_iter": 0}, _X(), {}, "max_iter"),
    ("tol", {"tol": -1.0}, _X(), {}, "tol"),
    (
        "algorithm",
        {"algorithm": "full"},
        _X(),
        {},
        r"algorithm must be one of \['lloyd', 'elkan'\]",
    ),
    ("copy-x", {"copy_x": "yes"}, _X(), {}, "copy_x"),
    ("sw-negative", {}, _X(), {"sample_weight": -np.ones(30)}, "non-negative"),
    ("sw-length", {}, _X(), {"sample_weight": np.ones(29)}, "sample_weight.shape"),
    ("sw-zero", {}, _X(), {"sample_weight": np.zeros(30)}, "sum to zero"),
]


@pytest.mark.parametrize(
    ("params", "X", "fit_kwargs", "match"),
    [case[1:] for case in BAD_FIT],
    ids=[case[0] for case in BAD_FIT],
)
def test_bad_fit_input(params, X, fit_kwargs, match):
    params = {"n_clusters": 2, "random_state": 0, **params}
    with pytest.raises(ValueError, match=match):
        emkit.KMeans(**params).fit(X, **fit_kwargs)


def test_wrong_n_features_and_unfitted():
    for method in ("predict", "transform", "score"):
        with pytest.raises(NotFittedError, match="KMeans instance is not fitted"):
            getattr(emkit.KMeans(2), method)(_X())
    em = emkit.KMeans(2, random_state=0).fit(_X())
    for method in ("predict", "transform", "score"):
        with pytest.raises(ValueError, match="X has 3 features, but KMeans is expecting 2"):
            getattr(em, method)(np.ones((4, 3)))


def test_soft_e_step_is_refused():
    model = KMeansModel(2)
    with pytest.raises(ValueError, match="classification EM"):
        model.e_step(model.from_centers(_X()[:2]), _X())


# -- model files ---------------------------------------------------------------------------
def test_float32_model_file_round_trip(tmp_path):
    X = _blobs(seed=28).astype(np.float32)
    em = emkit.KMeans(3, random_state=0).fit(X)
    loaded = emkit.load(em.save(tmp_path / "km.emkit"))
    assert loaded.cluster_centers_.dtype == np.float32
    assert_array_equal(loaded.transform(X), em.transform(X))
    assert_array_equal(loaded.get_feature_names_out(), em.get_feature_names_out())


def test_callable_init_cannot_be_saved(tmp_path):
    em = emkit.KMeans(2, init=lambda X, k, random_state: X[:k]).fit(_X())
    with pytest.raises(ValueError, match="callable cannot be saved"):
        em.save(tmp_path / "km.emkit")
    assert not (tmp_path / "km.emkit").exists()


def test_no_warning_on_a_plain_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emkit.KMeans(4, random_state=0).fit(_blobs(seed=29))
