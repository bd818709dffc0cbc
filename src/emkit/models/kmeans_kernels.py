"""The passes of k-means over one block of rows: nearest centres and per-cluster sums.

Dense rows (float32 or float64, read as they are) are compared with the centres through
differences, which keep every digit whatever the offset of the data; CSR rows (a
``scipy.sparse`` matrix or array) through ``|x|^2 - 2 x.c + |c|^2``, with ``X @ C.T`` a
sparse-dense product, so that no row is ever densified. Everything accumulates in float64.
The compiled dense passes have NumPy twins (``*_reference``) that the tests compare against.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
import scipy.sparse as sp

from emkit.families.gaussian_kernels import squared_distances

# Rows are compared with the centres in blocks held transposed (n_features x block), so that
# the inner loops run along rows: contiguous, independent, vectorised by the compiler. A
# block holds about BLOCK_VALUES values (it stays in the L1 cache), and 16 to 256 rows.
BLOCK_VALUES = 2048


class Assignment(NamedTuple):
    """Every row's nearest centre.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,), int
        Index of the nearest centre (the first of equally near ones).
    sq_dist : ndarray of shape (n_samples,), float64
        Squared Euclidean distance to it.
    """

    labels: np.ndarray
    sq_dist: np.ndarray


class ClusterSums(NamedTuple):
    """What the rows of every cluster add up to.

    Attributes
    ----------
    weight : ndarray of shape (n_clusters,)
        Summed sample weights.
    first : ndarray of shape (n_clusters, n_features)
        Weighted sums of ``x - origin``.
    count : ndarray of shape (n_clusters,)
        Rows of positive weight, as float64.
    """

    weight: np.ndarray
    first: np.ndarray
    count: np.ndarray


def nearest_centres(X: np.ndarray | sp.sparray, centres: np.ndarray) -> Assignment:
    """The nearest of ``centres`` (n_clusters, n_features) for every row of ``X``
    (n_samples, n_features), dense or CSR."""
    centres = np.asarray(centres, dtype=np.float64)
    if sp.issparse(X):
        # |x|^2 is the same for every centre, so the comparison leaves it out.
        partial = (centres * centres).sum(axis=1) - 2.0 * np.asarray(X @ centres.T)
        labels = np.argmin(partial, axis=1)
        sq_dist = row_sq_norms(X) + partial[np.arange(X.shape[0]), labels]
        # The expansion's round-off can take a distance of zero (a row on its centre) just
        # below it; a squared distance is never negative.
        return Assignment(labels, np.maximum(sq_dist, 0.0))
    n = X.shape[0]
    labels, sq_dist = np.empty(n, dtype=np.intp), np.empty(n)
    _dense_nearest(X, centres, labels, sq_dist)
    return Assignment(labels, sq_dist)


def nearest_centres_reference(X: np.ndarray, centres: np.ndarray) -> Assignment:
    """NumPy twin of :func:`nearest_centres` for dense ``X``: every centre compared through
    differences (summed over features in order), the first of equally near ones taken."""
    d2 = squared_distances(X, np.asarray(centres, dtype=np.float64))
    labels = np.argmin(d2, axis=1)
    return Assignment(labels, d2[np.arange(X.shape[0]), labels])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _dense_nearest(
    X: np.ndarray, centres: np.ndarray, labels: np.ndarray, sq_dist: np.ndarray
) -> None:
    """``labels[i]``, ``sq_dist[i]``: the nearest centre of row ``i`` (the first of equally
    near ones) and its squared distance, summed over features in order."""
    n, d = X.shape
    k = centres.shape[0]
    block = max(16, min(256, BLOCK_VALUES // max(d, 1)))
    xt = np.empty((d, block))
    acc = np.empty(block)
    best = np.empty(block)
    label = np.empty(block, dtype=np.intp)
    for start in range(0, n, block):
        m = min(block, n - start)
        for i in range(m):
            for j in range(d):
                xt[j, i] = X[start + i, j]
        best[:m] = np.inf
        label[:m] = 0
        for c in range(k):
            acc[:m] = 0.0
            for j in range(d):
                cj = centres[c, j]
                for i in range(m):
                    dv = xt[j, i] - cj
                    acc[i] += dv * dv
            # Selects rather than branches, so that the comparisons vectorise too.
            for i in range(m):
                nearer = acc[i] < best[i]
                best[i] = acc[i] if nearer else best[i]
                label[i] = c if nearer else label[i]
        # Element by element: an array copy would compile a shape check with its error
        # message, seconds of compilation on first use.
        for i in range(m):
            labels[start + i] = label[i]
            sq_dist[start + i] = best[i]


def sq_distances(X: np.ndarray | sp.sparray, centres: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances of every row of ``X`` (dense or CSR) to every centre,
    shape (n_samples, n_clusters), float64."""
    centres = np.asarray(centres, dtype=np.float64)
    if not sp.issparse(X):
        return squared_distances(X, centres)
    d2 = row_sq_norms(X)[:, None] - 2.0 * np.asarray(X @ centres.T)
    d2 += (centres * centres).sum(axis=1)
    # As in nearest_centres: the expansion's round-off can only push a zero below zero.
    return np.maximum(d2, 0.0)


def row_sq_norms(X: sp.sparray) -> np.ndarray:
    """``|x_i|^2`` of every row of a CSR matrix, shape (n_samples,), float64."""
    data = np.asarray(X.data, dtype=np.float64)
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    return np.bincount(rows, weights=data * data, minlength=X.shape[0])


def cluster_sums(
    X: np.ndarray | sp.sparray,
    labels: np.ndarray,
    sample_weight: np.ndarray | None,
    origin: np.ndarray,
    n_clusters: int,
) -> ClusterSums:
    """Per-cluster sums of the rows of ``X`` (n_samples, n_features) labelled ``labels``
    (n_samples,), weighted by ``sample_weight`` (None: ones), about ``origin``
    (n_features,). Rows of zero weight add nothing."""
    n = X.shape[0]
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if not sp.issparse(X):
        return ClusterSums(*_dense_cluster_sums(X, labels, w, origin, n_clusters))
    keep = np.flatnonzero(w > 0)
    # One weighted indicator row per cluster: its product with X sums the cluster's rows.
    indicator = sp.csr_matrix((w[keep], (labels[keep], keep)), shape=(n_clusters, n))
    first = np.asarray((indicator @ X).toarray(), dtype=np.float64)
    first -= np.outer(indicator.sum(axis=1), origin)
    return ClusterSums(
        np.bincount(labels[keep], weights=w[keep], minlength=n_clusters),
        first,
        np.bincount(labels[keep], minlength=n_clusters).astype(np.float64),
    )


@numba.njit(cache=True, nogil=True)
def _dense_cluster_sums(
    X: np.ndarray, labels: np.ndarray, weight: np.ndarray, origin: np.ndarray, n_clusters: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, d = X.shape
    total = np.zeros(n_clusters)
    first = np.zeros((n_clusters, d))
    count = np.zeros(n_clusters)
    for i in range(n):
        w = weight[i]
        if w == 0.0:
            continue
        k = labels[i]
        total[k] += w
        count[k] += 1.0
        for j in range(d):
            first[k, j] += w * (X[i, j] - origin[j])
    return total, first, count


def cluster_sums_reference(
    X: np.ndarray,
    labels: np.ndarray,
    sample_weight: np.ndarray | None,
    origin: np.ndarray,
    n_clusters: int,
) -> ClusterSums:
    """NumPy twin of :func:`cluster_sums` for dense ``X``."""
    n, d = X.shape
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    keep = w > 0
    total, first, count = np.zeros(n_clusters), np.zeros((n_clusters, d)), np.zeros(n_clusters)
    np.add.at(total, labels[keep], w[keep])
    np.add.at(count, labels[keep], 1.0)
    np.add.at(first, labels[keep], w[keep, None] * (np.asarray(X[keep], np.float64) - origin))
    return ClusterSums(total, first, count)


def farthest(sq_dist: np.ndarray, sample_weight: np.ndarray | None, size: int) -> np.ndarray:
    """Indices of the ``size`` rows of positive weight and positive ``sq_dist`` (n_samples,)
    with the largest ``sq_dist``, in decreasing order of it and, among equal ones,
    increasing index; all of them when there are fewer. One pass."""
    w = np.ones(sq_dist.shape[0]) if sample_weight is None else sample_weight
    chosen = np.empty(max(size, 0), dtype=np.intp)
    return chosen[: _farthest(sq_dist, w, chosen)]


@numba.njit(cache=True, nogil=True)
def _farthest(sq_dist: np.ndarray, weight: np.ndarray, chosen: np.ndarray) -> int:
    size = chosen.shape[0]
    used = 0
    if size == 0:
        return 0
    for i in range(sq_dist.shape[0]):
        v = sq_dist[i]
        if not (v > 0.0 and weight[i] > 0.0):
            continue
        # A row enters only when strictly farther than the last one kept, so that an
        # earlier row keeps its place among equally far ones.
        if used == size and not v > sq_dist[chosen[size - 1]]:
            continue
        slot = used if used < size else size - 1
        while slot > 0 and v > sq_dist[chosen[slot - 1]]:
            chosen[slot] = chosen[slot - 1]
            slot -= 1
        chosen[slot] = i
        if used < size:
            used += 1
    return used


def farthest_reference(
    sq_dist: np.ndarray, sample_weight: np.ndarray | None, size: int
) -> np.ndarray:
    """NumPy twin of :func:`farthest`."""
    eligible = sq_dist > 0 if sample_weight is None else (sq_dist > 0) & (sample_weight > 0)
    rows = np.flatnonzero(eligible)
    order = np.argsort(-sq_dist[rows], kind="stable")
    return rows[order][: max(size, 0)]
