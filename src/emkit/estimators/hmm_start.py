"""Starting points of the Gaussian hidden Markov models: k-means centres for the means, and
for the covariances the covariance of all the data or the pooled covariance about the
nearest centre, plus ``min_covar`` on the variances."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from emkit.core.batches import DEFAULT_CHUNK_SIZE
from emkit.families.covariance import Tied
from emkit.models.initialization import initializer, nearest

KMEANS_RUNS = 10
"""k-means runs of which a start keeps the best (scikit-learn's ``KMeans(n_init=10)``, which
hmmlearn starts from): one run's clusters depend on its seeds, and so on the order of the
rows."""

KMEANS_ROWS = 20_000
"""Rows the k-means runs of a start see at most (a uniform sample of larger data); every row
then joins the cluster of its nearest centre. Ten runs over all of a large data set would
cost more than the fit."""


def _chunks(
    X: np.ndarray, w: np.ndarray | None, chunk_size: int | None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(X, w)`` in float64 row chunks, ``w`` ones when the samples are unweighted."""
    step = chunk_size or DEFAULT_CHUNK_SIZE
    for lo in range(0, X.shape[0], step):
        part = np.asarray(X[lo : lo + step], dtype=np.float64)
        yield part, np.ones(part.shape[0]) if w is None else w[lo : lo + step]


def data_covariance(
    X: np.ndarray, sample_weight: np.ndarray | None, min_covar: float, chunk_size: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of all the samples, the covariance plus ``min_covar`` on the
    variances.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,) or None
        Frequency weights: an integer weight counts as the row repeated.
    min_covar : float
    chunk_size : int or None
        Rows read at a time.

    Returns
    -------
    mean : ndarray of shape (n_features,)
    covariance : ndarray of shape (n_features, n_features)
        The scatter about the mean divided by the total weight less one, as
        :func:`numpy.cov` (by the total weight itself when that is at most one, where the
        scatter of a single sample is zero anyway).
    """
    total, first = 0.0, np.zeros(X.shape[1])
    for part, w in _chunks(X, sample_weight, chunk_size):
        total += float(w.sum())
        first += w @ part
    mean = first / total
    scatter = np.zeros((X.shape[1], X.shape[1]))
    for part, w in _chunks(X, sample_weight, chunk_size):
        centred = part - mean
        scatter += (centred * w[:, None]).T @ centred
    cov = scatter / (total - 1.0 if total > 1.0 else total)
    cov[np.diag_indices_from(cov)] += min_covar
    return mean, cov


def within_covariance(
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    centres: np.ndarray,
    min_covar: float,
    chunk_size: int | None,
) -> np.ndarray:
    """Pooled covariance of the samples about their nearest centre (of ``centres``, shape
    (n_centres, n_features)), plus ``min_covar`` on the variances, shape (D, D): the spread
    of one cluster, without the spread between them."""
    scatter, total = 0.0, 0.0
    for part, w in _chunks(X, sample_weight, chunk_size):
        resp = np.zeros((part.shape[0], centres.shape[0]))
        resp[np.arange(part.shape[0]), nearest(part, centres)] = w
        scatter = scatter + Tied().moments(part, resp, centres)[1]
        total += float(w.sum())
    cov = scatter / total
    cov[np.diag_indices_from(cov)] += min_covar
    return cov


def kmeans_labels(
    X: np.ndarray,
    n_clusters: int,
    random_state: np.random.RandomState,
    sample_weight: np.ndarray | None,
    chunk_size: int | None,
) -> np.ndarray:
    """Cluster of every sample, shape (n_samples,): the nearest centre of the best of
    :data:`KMEANS_RUNS` k-means runs (least weighted sum of squared distances to the cluster
    means) over at most :data:`KMEANS_ROWS` of the samples."""
    rows = None
    if X.shape[0] > KMEANS_ROWS:
        rows = np.sort(random_state.choice(X.shape[0], KMEANS_ROWS, replace=False))
    part = X if rows is None else np.asarray(X[rows])
    w = sample_weight if sample_weight is None or rows is None else sample_weight[rows]
    run = initializer("kmeans", chunk_size)
    step = chunk_size or DEFAULT_CHUNK_SIZE
    best, best_inertia = None, np.inf
    for _ in range(KMEANS_RUNS):
        labels = run(part, n_clusters, random_state, w)
        means = cluster_means(part, labels, n_clusters, w)
        inertia = 0.0
        for lo in range(0, part.shape[0], step):
            chunk = np.asarray(part[lo : lo + step], dtype=np.float64)
            gap = chunk - means[labels[lo : lo + chunk.shape[0]]]
            distances = np.einsum("ij,ij->i", gap, gap)
            inertia += float(distances.sum() if w is None else w[lo : lo + step] @ distances)
        if inertia < best_inertia:
            best, best_inertia = (labels, means), inertia
    assert best is not None
    labels, means = best
    return labels if rows is None else nearest(X, means, chunk_size)


def cluster_means(
    X: np.ndarray, labels: np.ndarray, n_clusters: int, sample_weight: np.ndarray | None
) -> np.ndarray:
    """Weighted mean of every cluster's samples, shape (n_clusters, n_features); a cluster
    with no weight gets the mean of all the samples."""
    w = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    X = np.asarray(X, dtype=np.float64)
    totals = np.bincount(labels, weights=w, minlength=n_clusters)
    sums = np.stack(
        [np.bincount(labels, weights=w * X[:, j], minlength=n_clusters) for j in range(X.shape[1])],
        axis=1,
    )
    means = np.repeat(sums.sum(axis=0, keepdims=True) / totals.sum(), n_clusters, axis=0)
    filled = totals > 0
    means[filled] = sums[filled] / totals[filled, None]
    return means
