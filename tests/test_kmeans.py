"""Tests of emkit.KMeans against scikit-learn's Lloyd k-means and against direct computation."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans as SkKMeans
from sklearn.cluster import kmeans_plusplus
from sklearn.exceptions import NotFittedError

import emkit


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


def _lloyd_pair(X, centers, sample_weight=None):
    sk = SkKMeans(
        centers.shape[0], init=centers, n_init=1, algorithm="lloyd", tol=0, max_iter=300
    ).fit(X, sample_weight=sample_weight)
    em = emkit.KMeans(centers.shape[0], init=centers, tol=0, max_iter=300).fit(
        X, sample_weight=sample_weight
    )
    return sk, em


# -- against scikit-learn -------------------------------------------------------------------
@pytest.mark.parametrize("weights", [None, "float", "integer"])
@pytest.mark.parametrize("seed", range(4))
def test_matches_sklearn_lloyd_from_same_centres(seed, weights):
    X = _blobs()
    sw = _weights(weights, X.shape[0], seed)
    init = kmeans_plusplus(X, 4, random_state=seed, sample_weight=sw)[0]
    sk, em = _lloyd_pair(X, init, sw)
    assert_allclose(em.cluster_centers_, sk.cluster_centers_, rtol=0, atol=1e-10)
    assert_array_equal(em.labels_, sk.labels_)
    assert_allclose(em.inertia_, sk.inertia_, rtol=1e-10)
    assert_allclose(em.inertia_, _inertia(X, em.cluster_centers_, sw), rtol=1e-10)
    assert_allclose(em.transform(X), sk.transform(X), rtol=1e-10, atol=1e-12)
    assert_allclose(em.score(X, sample_weight=sw), sk.score(X, sample_weight=sw), rtol=1e-10)


@pytest.mark.parametrize(
    "scale",
    [
        1e3,
        1e-4,
        1e-8,
    ],
)
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
    # Both seed with k-means++ from the same random state.
    X = _blobs(seed=7)
    sw = _weights(weights, X.shape[0])
    sk = SkKMeans(4, n_init=1, algorithm="lloyd", tol=0, random_state=3).fit(X, sample_weight=sw)
    em = emkit.KMeans(4, tol=0, random_state=3).fit(X, sample_weight=sw)
    assert_allclose(em.cluster_centers_, sk.cluster_centers_, rtol=0, atol=1e-10)
    assert_array_equal(em.labels_, sk.labels_)
    assert_allclose(em.inertia_, sk.inertia_, rtol=1e-10)


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
def test_tol_zero_stops_when_assignments_stop_changing():
    X = _blobs()
    init = kmeans_plusplus(X, 4, random_state=0)[0]
    sk, em = _lloyd_pair(X, init)
    assert em.converged_
    assert em.n_iter_ <= sk.n_iter_ + 1 < 300


def test_default_tol_ends_at_a_lloyd_fixed_point():
    X = _blobs()
    init = kmeans_plusplus(X, 4, random_state=1)[0]
    em = emkit.KMeans(4, init=init).fit(X)
    assert em.converged_
    for k in range(4):
        assert_allclose(em.cluster_centers_[k], X[em.labels_ == k].mean(axis=0), rtol=1e-12)


def test_empty_cluster_keeps_its_centre():
    # Any centre maximises the (empty) cluster's part of the objective, so hard EM keeps it
    # where it is; scikit-learn instead moves it to the farthest sample (a different,
    # heuristic step), so only the clusters that own samples are compared with the data.
    X = _blobs(seed=5)
    init = np.array([[0.0, 0.0, 0.0], [4.0, 4.0, 4.0], [100.0, 100.0, 100.0]])
    em = emkit.KMeans(3, init=init).fit(X)
    assert em.converged_
    assert_array_equal(em.cluster_centers_[2], init[2])
    assert not np.any(em.labels_ == 2)
    for k in range(2):
        assert_allclose(em.cluster_centers_[k], X[em.labels_ == k].mean(axis=0), rtol=1e-12)
    assert_allclose(em.inertia_, _inertia(X, em.cluster_centers_), rtol=1e-10)


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
    ("init-name", {"init": "random"}, _X(), {}, "init must be 'k-means\\+\\+'"),
    ("init-shape", {"init": np.zeros((3, 2))}, _X(), {}, "init should have the shape"),
    ("max-iter", {"max_iter": 0}, _X(), {}, "max_iter"),
    ("tol", {"tol": -1.0}, _X(), {}, "tol"),
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
