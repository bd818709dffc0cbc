"""Model-based agglomerative hierarchical clustering (Banfield & Raftery 1993; Fraley 1998).

Every sample starts as a cluster of its own; at every stage the two clusters whose merger
least decreases the *classification likelihood* of a Gaussian model are merged, until one
cluster is left. Cutting the tree after ``n - K`` merges gives K clusters: a deterministic
start for EM at every K from one computation.

The classification likelihood of a partition, maximised over the Gaussian parameters, depends
on every cluster only through its weight ``n_k`` and its scatter ``W_k`` about its mean; up
to constants, ``-2 log L`` is the sum over clusters of a term that depends on the model:

=====  ===========================================================  =========================
model  term of cluster k                                            covariance
=====  ===========================================================  =========================
VVV    ``n_k log det((W_k + R) / n_k)``, ``R = alpha * S``          own full matrix
VII    ``n_k D log((tr W_k + alpha tr S) / (n_k D))``               own single variance
EII    ``tr W_k``  (Ward's criterion)                               one shared variance
=====  ===========================================================  =========================

``S`` is the (weighted) covariance matrix of the agglomerated data and D the number of
features. The ridge ``R`` makes the terms finite for clusters of fewer than D + 1 samples,
whose scatter is singular (a single sample has none); it weighs as ``alpha`` pseudo-samples
spread like the whole data, so that it matters for small clusters only. Because ``R`` is a
multiple of ``S``, the VVV criterion is affine invariant: rescaling or rotating the features
changes no merge (a ridge proportional to the identity would make features of small spread
count for little). Merging clusters ``a`` and ``b`` gives
``W_ab = W_a + W_b + (n_a n_b / n_ab) (mu_a - mu_b)(mu_a - mu_b)^T``, so every stage needs
only the costs of merging the new cluster with each other one.

Cost: the merge costs of all pairs are kept in an (n, n) table, O(n^2) memory and time to
build (plus the clusters' scatters, O(n D^2) for VVV); every stage then costs O(n D^3) for
VVV (one small determinant per other cluster), O(n D) for VII and EII, plus a scan of the
rows whose best partner changed. A few thousand
samples take seconds. :func:`agglomerate` agglomerates at most ``max_samples`` rows
(default :data:`DEFAULT_MAX_SAMPLES`, a uniform random subset drawn from ``random_state``
beyond that) and never more than :data:`MAX_AGGLOMERATED`; the other rows are then assigned,
at every cut, to the cluster under whose (regularised) Gaussian they are most probable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from scipy import linalg
from scipy.spatial.distance import cdist
from sklearn.utils import check_random_state

from emkit.core.batches import map_rows

HC_MODELS = ("VVV", "VII", "EII")
"""Models whose classification likelihood the agglomeration can follow."""

DEFAULT_MAX_SAMPLES = 2000
"""Rows agglomerated by default; a larger data set is represented by a random subset."""

MAX_AGGLOMERATED = 5000
"""The most rows ever agglomerated: the table of pairwise merge costs takes 8 n^2 bytes."""

# Rows of the initial table of pair costs computed at once (bounds the temporaries).
_BLOCK = 512


@dataclass(frozen=True, eq=False)
class Agglomeration:
    """The merge tree of the rows of ``X``, and what is needed to cut it at any K.

    Attributes
    ----------
    model : str
        The model whose classification likelihood was followed ('VVV', 'VII' or 'EII').
    rows : ndarray of shape (m,)
        Indices (increasing) of the rows of ``X`` that were agglomerated, the leaves.
    merges : ndarray of shape (m - 1, 2)
        Stage s merged the cluster whose smallest leaf is ``merges[s, 0]`` with the one whose
        smallest leaf is ``merges[s, 1]`` (leaves numbered 0..m-1 as in ``rows``;
        ``merges[s, 0] < merges[s, 1]``).
    costs : ndarray of shape (m - 1,)
        Increase of ``-2 log`` classification likelihood (up to constants) at every stage;
        for EII, the increase of the total within-cluster sum of squares.
    X : ndarray of shape (n_samples, n_features)
        The data (not copied), for assigning the rows left out at a cut.
    sample_weight : ndarray of shape (n_samples,) or None
    centre : ndarray of shape (n_features,)
    transform : ndarray of shape (n_features, n_features)
        The criterion's coordinates are ``(x - centre) @ transform``: whitened for VVV (the
        ridge is the identity there), only centred for VII and EII.
    ridge : float
        The VII ridge ``alpha * tr S`` (1.0 for VVV, 0.0 for EII).
    chunk_size : int or None
        Rows per batch when the rows left out are assigned.
    """

    model: str
    rows: np.ndarray
    merges: np.ndarray
    costs: np.ndarray
    X: np.ndarray
    sample_weight: np.ndarray | None
    centre: np.ndarray
    transform: np.ndarray
    ridge: float
    chunk_size: int | None = None

    @property
    def n_leaves(self) -> int:
        """Number of agglomerated rows m."""
        return int(self.rows.shape[0])

    def leaf_labels(self, n_clusters: int) -> np.ndarray:
        """Cluster of every leaf after ``m - n_clusters`` merges, shape (m,).

        Clusters are numbered 0..n_clusters-1 in the order of their smallest leaf.
        """
        m = self.n_leaves
        if not 1 <= n_clusters <= m:
            raise ValueError(
                f"cannot cut the agglomeration of {m} samples into {n_clusters} clusters "
                f"(between 1 and {m})"
            )
        root = np.arange(m)
        parent = np.arange(m)
        steps = self.merges[: m - n_clusters]
        parent[steps[:, 1]] = steps[:, 0]
        # A cluster is named by its smallest leaf, so a parent always precedes its child.
        for i in np.flatnonzero(parent != root):
            root[i] = root[parent[i]]
        return np.unique(root, return_inverse=True)[1].astype(np.intp)

    def cut(self, n_clusters: int) -> np.ndarray:
        """Cluster of every row of ``X`` at ``n_clusters`` clusters, shape (n_samples,).

        Agglomerated rows take their cluster in the tree; the others (left out of a subset,
        or of zero weight) the cluster under whose Gaussian they are most probable, with the
        cluster's regularised covariance of the criterion (for EII: the nearest mean).
        """
        leaf = self.leaf_labels(n_clusters)
        n = self.X.shape[0]
        if self.n_leaves == n:
            return leaf
        labels = np.empty(n, dtype=np.intp)
        labels[self.rows] = leaf
        rest = np.ones(n, dtype=bool)
        rest[self.rows] = False
        scorer = self._cluster_scorer(leaf, n_clusters)
        labels[rest] = map_rows(
            lambda x: np.argmax(scorer(self._coordinates(x)), axis=1),
            self.X[rest],
            self.chunk_size,
        )
        return labels

    # -- internals ----------------------------------------------------------------------
    def _coordinates(self, X: np.ndarray) -> np.ndarray:
        """Rows in the coordinates of the criterion: centred, and whitened for VVV."""
        return (np.asarray(X, dtype=np.float64) - self.centre) @ self.transform

    def _cluster_scorer(self, leaf: np.ndarray, k: int):
        """``score(Y) -> (n, k)`` log-density (up to a constant) of every cluster."""
        Y = self._coordinates(self.X[self.rows])
        w = np.ones(self.n_leaves) if self.sample_weight is None else self.sample_weight[self.rows]
        n_k = np.bincount(leaf, weights=w, minlength=k)
        means = np.zeros((k, Y.shape[1]))
        np.add.at(means, leaf, w[:, None] * Y)
        means /= n_k[:, None]
        centred = Y - means[leaf]
        d = Y.shape[1]
        if self.model == "EII":
            return lambda y: -cdist(y, means, "sqeuclidean")
        if self.model == "VII":
            trace = np.bincount(
                leaf, weights=w * np.einsum("ij,ij->i", centred, centred), minlength=k
            )
            var = (trace + self.ridge) / (n_k * d)
            return lambda y: -0.5 * (d * np.log(var) + cdist(y, means, "sqeuclidean") / var)
        scatter = np.zeros((k, d, d))
        np.add.at(scatter, leaf, w[:, None, None] * centred[:, :, None] * centred[:, None, :])
        # R is the identity in whitened coordinates.
        chols = [
            linalg.cholesky((s + np.eye(d)) / nk, lower=True)
            for s, nk in zip(scatter, n_k, strict=True)
        ]
        log_dets = np.array([2.0 * np.log(np.diag(c)).sum() for c in chols])

        def score(y: np.ndarray) -> np.ndarray:
            out = np.empty((y.shape[0], k))
            for j, c in enumerate(chols):
                z = linalg.solve_triangular(c, (y - means[j]).T, lower=True)
                out[:, j] = -0.5 * (log_dets[j] + np.einsum("ij,ij->j", z, z))
            return out

        return score


def agglomerate(
    X: np.ndarray,
    sample_weight: np.ndarray | None = None,
    *,
    model: str = "VVV",
    alpha: float = 1.0,
    max_samples: int | None = DEFAULT_MAX_SAMPLES,
    random_state: int | np.random.RandomState | None = None,
    chunk_size: int | None = None,
) -> Agglomeration:
    """Agglomerate the rows of ``X`` by the classification likelihood of ``model``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,), optional
        Non-negative weights: a row of weight w counts as w coincident samples (an integer
        weight gives the tree of the repeated rows, up to the order of merges of equal
        cost). Rows of zero weight are not agglomerated, only assigned at every cut.
    model : {'VVV', 'VII', 'EII'}, default='VVV'
        Covariance model of the clusters (see the module's description).
    alpha : float, default=1.0
        Weight of the ridge in pseudo-samples (VVV and VII); positive.
    max_samples : int or None, default=DEFAULT_MAX_SAMPLES
        Most rows agglomerated; beyond it a uniform random subset of the rows of positive
        weight is drawn from ``random_state`` (at most :data:`MAX_AGGLOMERATED`). None
        agglomerates every row, and refuses more than :data:`MAX_AGGLOMERATED`.
    random_state : int, RandomState instance or None
        Draws the subset; unused when every row is agglomerated.
    chunk_size : int, optional
        Rows per batch when the rows left out are assigned at a cut.

    Returns
    -------
    Agglomeration

    Raises
    ------
    ValueError
        For an unknown model, bad ``alpha`` or ``max_samples``, too many rows with
        ``max_samples=None``, or data whose covariance is singular (VVV: linearly dependent
        or constant features; VII: all rows equal), for which the criterion is undefined.
    """
    if model not in HC_MODELS:
        raise ValueError(f"model must be one of {list(HC_MODELS)}, got {model!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
        raise ValueError(f"alpha must be a positive number, got {alpha!r}")
    if max_samples is not None and (
        isinstance(max_samples, bool)
        or not isinstance(max_samples, (int, np.integer))
        or not 1 <= max_samples <= MAX_AGGLOMERATED
    ):
        raise ValueError(
            f"max_samples must be an integer from 1 to {MAX_AGGLOMERATED} or None, "
            f"got {max_samples!r}"
        )
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] < 1:
        raise ValueError(f"X must be a non-empty 2-d array, got shape {X.shape}")
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    rows = np.arange(X.shape[0]) if w is None else np.flatnonzero(w > 0)
    if rows.size == 0:
        raise ValueError("no row of X has a positive weight")
    if max_samples is None:
        if rows.size > MAX_AGGLOMERATED:
            raise ValueError(
                f"model-based agglomeration keeps a table of the merge costs of all pairs: "
                f"{rows.size} rows would take {8 * rows.size**2 / 2**30:.1f} GiB; at most "
                f"{MAX_AGGLOMERATED} rows are agglomerated (pass max_samples to agglomerate "
                "a random subset)"
            )
    elif rows.size > max_samples:
        rng = check_random_state(random_state)
        rows = np.sort(rng.choice(rows, size=max_samples, replace=False))
    leaves = np.asarray(X[rows], dtype=np.float64)
    weights = np.ones(rows.size) if w is None else w[rows]
    centre, transform, ridge = _coordinates(leaves, weights, model, float(alpha))
    merges, costs = merge_tree((leaves - centre) @ transform, weights, model, ridge)
    return Agglomeration(
        model, rows, merges, costs, X, w, centre, transform, ridge, chunk_size=chunk_size
    )


def _coordinates(
    X: np.ndarray, w: np.ndarray, model: str, alpha: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Centre, linear map (D, D) and scalar ridge of the criterion's coordinates.

    VVV works in coordinates where the ridge ``alpha * S`` is the identity (``S`` the
    weighted covariance of ``X``), VII and EII in the data's own (centred) coordinates.
    """
    total = w.sum()
    centre = (w @ X) / total
    centred = X - centre
    d = X.shape[1]
    if model == "EII":
        return centre, np.eye(d), 0.0
    cov = (centred * w[:, None]).T @ centred / total
    if model == "VII":
        ridge = alpha * float(np.trace(cov))
        if not ridge > 0:
            raise ValueError("model-based agglomeration (VII) needs rows that are not all equal")
        return centre, np.eye(d), ridge
    try:
        chol = linalg.cholesky(alpha * cov, lower=True)
    except linalg.LinAlgError:
        raise ValueError(
            "model-based agglomeration (VVV) needs data whose covariance matrix is "
            "positive definite; some features are constant or linear combinations of others "
            "(drop them, or agglomerate with model='VII' or 'EII')"
        ) from None
    # y = (x - centre) @ inv(L).T has covariance I / alpha.
    return centre, linalg.solve_triangular(chol, np.eye(d), lower=True).T, 1.0


def merge_tree(
    Y: np.ndarray, weights: np.ndarray, model: str, ridge: float
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy agglomeration of the rows of ``Y`` by the criterion of ``model``.

    Parameters
    ----------
    Y : ndarray of shape (m, n_features)
        Rows in the coordinates of the criterion (for VVV, where the ridge is the identity).
    weights : ndarray of shape (m,)
        Positive weights.
    model : {'VVV', 'VII', 'EII'}
    ridge : float
        ``alpha * tr S`` for VII (unused by VVV, whose ridge is the identity, and EII).

    Returns
    -------
    merges : ndarray of shape (m - 1, 2)
        Smallest leaves of the two clusters merged at every stage (see :class:`Agglomeration`).
    costs : ndarray of shape (m - 1,)
        Increase of the criterion at every stage.

    Notes
    -----
    ``cost`` holds the merge cost of every pair of live clusters (+inf elsewhere), ``best``
    and ``best_cost`` every row's cheapest partner. After a merge only the row of the new
    cluster is computed afresh; a row whose cheapest partner was one of the merged clusters
    is rescanned, every other row can only have found a cheaper partner in the new cluster.
    The cluster of the merged pair lives on in the slot of its smallest leaf, so slots name
    clusters as ``merges`` does. Ties go to the smallest index.
    """
    m, d = Y.shape
    merges = np.empty((max(m - 1, 0), 2), dtype=np.intp)
    costs = np.empty(max(m - 1, 0))
    if m == 1:
        return merges, costs
    n = np.array(weights, dtype=np.float64)
    mu = np.array(Y, dtype=np.float64)
    trace = np.zeros(m)  # tr W_k
    scatter = np.zeros((m, d, d)) if model == "VVV" else None
    term = _singleton_terms(n, d, model, ridge)
    cost = _initial_costs(mu, n, term, model, ridge)
    best = np.argmin(cost, axis=1)
    best_cost = cost[np.arange(m), best]
    live = np.ones(m, dtype=bool)
    for step in range(m - 1):
        a = int(np.argmin(best_cost))
        b = int(best[a])
        a, b = min(a, b), max(a, b)
        merges[step] = a, b
        costs[step] = cost[a, b]
        # Merge b into a.
        n_ab = n[a] + n[b]
        delta = mu[a] - mu[b]
        c = n[a] * n[b] / n_ab
        trace[a] += trace[b] + c * (delta @ delta)
        if scatter is not None:
            scatter[a] += scatter[b] + c * np.outer(delta, delta)
        mu[a] -= (n[b] / n_ab) * delta
        n[a] = n_ab
        term[a] = _term(n_ab, trace[a], None if scatter is None else scatter[a], d, model, ridge)
        live[b] = False
        cost[b, :] = np.inf
        cost[:, b] = np.inf
        best_cost[b] = np.inf
        others = np.flatnonzero(live)
        others = others[others != a]
        if others.size == 0:
            break
        row = _costs_to(a, others, mu, n, trace, scatter, term, model, ridge)
        cost[a, others] = row
        cost[others, a] = row
        j = int(np.argmin(cost[a]))
        best[a], best_cost[a] = j, cost[a, j]
        partner = best[others]
        stale = others[(partner == a) | (partner == b)]
        fresh = others[(partner != a) & (partner != b)]
        cheaper = fresh[cost[fresh, a] < best_cost[fresh]]
        best[cheaper] = a
        best_cost[cheaper] = cost[cheaper, a]
        if stale.size:
            best[stale] = np.argmin(cost[stale], axis=1)
            best_cost[stale] = cost[stale, best[stale]]
    return merges, costs


def _singleton_terms(n: np.ndarray, d: int, model: str, ridge: float) -> np.ndarray:
    """The criterion's term of every single-sample cluster (no scatter), shape (m,)."""
    if model == "EII":
        return np.zeros_like(n)
    if model == "VII":
        return n * d * np.log(ridge / (n * d))
    return -d * n * np.log(n)  # n log det(I / n)


def _term(
    n: float, trace: float, scatter: np.ndarray | None, d: int, model: str, ridge: float
) -> float:
    """The criterion's term of one cluster of weight ``n``."""
    if model == "EII":
        return trace
    if model == "VII":
        return n * d * np.log((trace + ridge) / (n * d))
    assert scatter is not None
    return n * (np.linalg.slogdet(scatter + np.eye(d))[1] - d * np.log(n))


def _initial_costs(
    mu: np.ndarray, n: np.ndarray, term: np.ndarray, model: str, ridge: float
) -> np.ndarray:
    """Merge costs of all pairs of single-sample clusters, shape (m, m), +inf on the diagonal.

    Merging samples a and b gives the scatter ``c (y_a - y_b)(y_a - y_b)^T`` with
    ``c = n_a n_b / (n_a + n_b)``, whose determinant with the identity added is
    ``1 + c |y_a - y_b|^2``.
    """
    m, d = mu.shape
    cost = np.empty((m, m))
    for lo in range(0, m, _BLOCK):
        hi = min(lo + _BLOCK, m)
        block = cost[lo:hi]
        cdist(mu[lo:hi], mu, "sqeuclidean", out=block)
        n_ab = n[lo:hi, None] + n[None, :]
        block *= n[lo:hi, None] * n[None, :] / n_ab  # c |delta|^2, the growth of tr W
        if model == "VII":
            block += ridge
            block /= n_ab * d
            np.log(block, out=block)
            block *= n_ab * d
        elif model == "VVV":
            np.log1p(block, out=block)
            block -= d * np.log(n_ab)
            block *= n_ab
        if model != "EII":
            block -= term[lo:hi, None] + term[None, :]
        block[np.arange(hi - lo), np.arange(lo, hi)] = np.inf
    return cost


def _costs_to(
    a: int,
    others: np.ndarray,
    mu: np.ndarray,
    n: np.ndarray,
    trace: np.ndarray,
    scatter: np.ndarray | None,
    term: np.ndarray,
    model: str,
    ridge: float,
) -> np.ndarray:
    """Costs of merging cluster ``a`` with each cluster of ``others``, shape (len(others),)."""
    delta = mu[others] - mu[a]
    n_ab = n[a] + n[others]
    c = n[a] * n[others] / n_ab
    growth = c * np.einsum("ij,ij->i", delta, delta)
    if model == "EII":
        return growth
    d = mu.shape[1]
    if model == "VII":
        merged = n_ab * d * np.log((trace[a] + trace[others] + growth + ridge) / (n_ab * d))
    else:
        assert scatter is not None
        log_dets = np.empty(others.size)
        merged_log_dets(scatter[a], mu[a], n[a], scatter, mu, n, others, log_dets)
        merged = n_ab * (log_dets - d * np.log(n_ab))
    return merged - term[a] - term[others]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def merged_log_dets(scatter_a, mu_a, n_a, scatter, mu, n, others, out):
    """``out[i] = log det(W_a + W_l + c (mu_a - mu_l)(mu_a - mu_l)^T + I)`` for every
    ``l = others[i]``, ``c = n_a n_l / (n_a + n_l)``: the VVV merge of cluster a with l.

    The matrix is symmetric positive definite (a sum of scatters and the identity); its
    log-determinant is twice the sum of the logs of its Cholesky factor's diagonal.
    :func:`merged_log_dets_reference` is the NumPy twin.
    """
    d = mu_a.shape[0]
    m = np.empty((d, d))
    delta = np.empty(d)
    for i in range(others.shape[0]):
        l = others[i]
        c = n_a * n[l] / (n_a + n[l])
        for p in range(d):
            delta[p] = mu_a[p] - mu[l, p]
        for p in range(d):
            for q in range(p + 1):
                m[p, q] = scatter_a[p, q] + scatter[l, p, q] + c * delta[p] * delta[q]
            m[p, p] += 1.0
        total = 0.0
        for p in range(d):  # Cholesky, lower triangle, in place
            s = m[p, p]
            for r in range(p):
                s -= m[p, r] * m[p, r]
            s = np.sqrt(s)
            m[p, p] = s
            total += np.log(s)
            for q in range(p + 1, d):
                t = m[q, p]
                for r in range(p):
                    t -= m[q, r] * m[p, r]
                m[q, p] = t / s
        out[i] = 2.0 * total


def merged_log_dets_reference(
    scatter_a: np.ndarray,
    mu_a: np.ndarray,
    n_a: float,
    scatter: np.ndarray,
    mu: np.ndarray,
    n: np.ndarray,
    others: np.ndarray,
) -> np.ndarray:
    """NumPy twin of :func:`merged_log_dets`, returning the array, shape (len(others),)."""
    delta = mu_a - mu[others]
    c = n_a * n[others] / (n_a + n[others])
    merged = scatter_a + scatter[others] + c[:, None, None] * delta[:, :, None] * delta[:, None, :]
    merged += np.eye(mu_a.shape[0])
    return np.linalg.slogdet(merged)[1]
