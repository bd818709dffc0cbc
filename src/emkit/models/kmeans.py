"""k-means as hard EM on a Gaussian mixture.

Classification EM on a mixture of Gaussians with equal, fixed weights and one fixed unit
variance assigns every sample to its nearest mean and moves each mean to the average of its
samples: Lloyd's algorithm. The driver's restarts, monotonicity check, threads and chunked
passes serve k-means as they serve every model; what is particular to k-means lives here:

- **Empty clusters are relocated** in the M-step: a cluster that no row of positive weight
  chose takes the row farthest from its own centre (the farthest rows, for several empty
  clusters), which leaves the cluster it came from. Every such move lowers the inertia, so
  the bound stays monotone. The farthest rows travel with the statistics
  (:class:`FarthestRows`, merged rather than added), so chunked and threaded passes find
  the same ones as a pass over all rows.
- **scikit-learn's tolerance**: a run has converged when the squared centre shift of an
  iteration, summed over clusters, is at most ``tol`` (:meth:`KMeansModel.centre_shift`);
  :func:`tolerance` scales the user's ``tol`` by the mean variance of the data. The driver
  itself stops Lloyd's algorithm at its fixed point, when the labels (hence the centres) no
  longer change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import kmeans_plusplus

from emkit.core.batches import DEFAULT_CHUNK_SIZE
from emkit.core.stats import Additive
from emkit.execution.sources import RowSource, as_source
from emkit.families.gaussian import GaussianParams
from emkit.models.kmeans_kernels import Assignment, cluster_sums, farthest, nearest_centres
from emkit.models.mixture import MixtureParams


@dataclass(frozen=True, eq=False)
class FarthestRows:
    """The rows of positive weight farthest from their nearest centre, at most
    ``n_clusters - 1`` of them (more clusters can never be empty at once).

    Statistics of batches combine with ``+``, which keeps the farthest rows of both, the
    earlier batch's first among equally far ones: combined in batch order, as the driver
    does, they are those of all the rows, whatever the batches.

    Attributes
    ----------
    sq_dist : ndarray of shape (n_slots,)
        Squared distance of every row to its centre, in decreasing order; -1 in unused slots.
    rows : ndarray of shape (n_slots, n_features)
        The rows, float64.
    weight : ndarray of shape (n_slots,)
        Their sample weights.
    label : ndarray of shape (n_slots,)
        Their clusters; -1 in unused slots.
    """

    sq_dist: np.ndarray
    rows: np.ndarray
    weight: np.ndarray
    label: np.ndarray

    def __add__(self, other: FarthestRows) -> FarthestRows:
        if type(other) is not type(self):
            return NotImplemented
        sq_dist = np.concatenate([self.sq_dist, other.sq_dist])
        # A stable sort keeps this batch's rows before the other's among equal distances.
        keep = np.argsort(-sq_dist, kind="stable")[: self.sq_dist.size]
        return FarthestRows(
            sq_dist[keep],
            np.concatenate([self.rows, other.rows])[keep],
            np.concatenate([self.weight, other.weight])[keep],
            np.concatenate([self.label, other.label])[keep],
        )

    @property
    def n_rows(self) -> int:
        """Slots in use (rows at a positive distance from their centre)."""
        return int(np.count_nonzero(self.label >= 0))


@dataclass(frozen=True, eq=False)
class KMeansStats(Additive):
    """Statistics of a k-means E-step.

    Attributes
    ----------
    sum_w : ndarray of shape (n_clusters,)
        Summed sample weights of every cluster.
    sum_dx : ndarray of shape (n_clusters, n_features)
        Weighted sums of ``x - origin`` (:attr:`KMeansModel.origin`).
    n_rows : ndarray of shape (n_clusters,)
        Rows of positive weight in every cluster (float64).
    far : FarthestRows
        Candidates for relocating empty clusters.
    """

    sum_w: np.ndarray
    sum_dx: np.ndarray
    n_rows: np.ndarray
    far: FarthestRows


class DataMoments(NamedTuple):
    """Weighted mean and mean per-feature variance of a data set.

    Attributes
    ----------
    mean : ndarray of shape (n_features,)
    mean_variance : float
        Mean over features of the weighted variances (nan when not computed).
    n_rows : int
        Rows read.
    total_weight : float
        Their summed sample weights (``n_rows`` without weights).
    """

    mean: np.ndarray
    mean_variance: float
    n_rows: int
    total_weight: float


class Assigned(NamedTuple):
    """Every row's nearest centre, and the weight the data gave the row.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,), int
        Index of the nearest centre (the first of equally near ones).
    sq_dist : ndarray of shape (n_samples,), float64
        Squared Euclidean distance to it.
    sample_weight : ndarray of shape (n_samples,) or None
        The weights the chunks carried (one for the rows of a chunk that carried none), or
        None when no chunk carried any.
    """

    labels: np.ndarray
    sq_dist: np.ndarray
    sample_weight: np.ndarray | None


@dataclass(frozen=True)
class KMeansModel:
    """Lloyd's k-means as a model for the driver's classification EM (``hard=True``).

    The parameters are those of a mixture of ``n_clusters`` unit-variance Gaussians with
    equal weights (:class:`~emkit.models.mixture.MixtureParams`): only the means move. The
    bound drops the terms every component shares, so the log-likelihood of a batch is
    ``-0.5 * sum_i w_i |x_i - mu_(i)|^2``, exactly ``-inertia / 2``, and comparisons keep
    every digit at any scale of the data.

    Parameters
    ----------
    n_clusters : int
        Number of clusters K.
    origin : ndarray of shape (n_features,), optional
        The point the sums of the statistics are taken about (default: zero). Near the data
        (its mean) the sums keep their digits however far the data lie from zero; being one
        point for the whole fit, the same labels give bit for bit the same centres, which
        is how the driver recognises Lloyd's fixed point.
    """

    n_clusters: int
    origin: np.ndarray | None = field(default=None)

    monotone = True
    accepts_sparse = True
    """CSR rows are scored and summed as they are, never densified."""

    def __post_init__(self) -> None:
        k = self.n_clusters
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"n_clusters must be an integer >= 1, got {k!r}")

    # -- the model contract ---------------------------------------------------------------
    def init(
        self,
        X: np.ndarray | sp.sparray,
        random_state: np.random.RandomState,
        sample_weight: np.ndarray | None = None,
    ) -> MixtureParams:
        """Centres chosen by greedy k-means++ (weighted by ``sample_weight``)."""
        centres, _ = kmeans_plusplus(
            X, self.n_clusters, sample_weight=sample_weight, random_state=random_state
        )
        return self.from_centers(centres)

    def from_centers(self, centers: np.ndarray) -> MixtureParams:
        """Parameters with the given cluster centres, shape (n_clusters, n_features)."""
        k = self.n_clusters
        ones = np.ones(k)
        return MixtureParams(
            np.full(k, 1.0 / k), GaussianParams(np.array(centers, dtype=np.float64), ones, ones)
        )

    def e_step(
        self,
        params: MixtureParams,
        X: np.ndarray | sp.sparray,
        sample_weight: np.ndarray | None = None,
        *,
        hard: bool = False,
    ) -> tuple[KMeansStats, float]:
        """Statistics and log-likelihood (``-0.5 *`` the weighted inertia) of one batch of
        rows ``X`` (n_samples, n_features), dense (float32 or float64) or CSR.

        Raises
        ------
        ValueError
            Unless ``hard`` is True: k-means is classification EM.
        """
        if not hard:
            raise ValueError(
                "k-means is classification EM: fit KMeansModel with hard=True (a soft fit "
                "of unit-variance Gaussians is a GaussianMixture with frozen covariances)"
            )
        centres = params.components.means
        nearest = nearest_centres(X, centres)
        origin = self._origin(X.shape[1])
        sums = cluster_sums(X, nearest.labels, sample_weight, origin, self.n_clusters)
        d2 = nearest.sq_dist
        inertia = float(d2.sum() if sample_weight is None else sample_weight @ d2)
        far = self._farthest(X, nearest, sample_weight)
        return KMeansStats(sums.weight, sums.first, sums.count, far), -0.5 * inertia

    def m_step(self, stats: KMeansStats, params: MixtureParams) -> MixtureParams:
        """Every centre moved to the weighted mean of its rows, after empty clusters have
        taken the farthest rows (see the module documentation). A cluster that stays empty
        (no row lies at a positive distance from its centre: there are fewer distinct rows
        than clusters) keeps its centre: the bound is the same wherever it lies."""
        old = params.components
        origin = self._origin(old.means.shape[1])
        sum_w, sum_dx, count = stats.sum_w.copy(), stats.sum_dx.copy(), stats.n_rows.copy()
        empty = np.flatnonzero(count == 0)
        far = stats.far
        for slot, new in enumerate(empty[: far.n_rows]):
            w, came_from = far.weight[slot], far.label[slot]
            moved = w * (far.rows[slot] - origin)
            sum_dx[came_from] -= moved
            sum_w[came_from] -= w
            count[came_from] -= 1.0
            sum_dx[new], sum_w[new], count[new] = moved, w, 1.0
        means = np.array(old.means, dtype=np.float64, copy=True)
        filled = count > 0
        means[filled] = origin + sum_dx[filled] / sum_w[filled, None]
        return MixtureParams(
            params.weights, GaussianParams(means, old.covariances, old.precisions_cholesky)
        )

    def log_prob(self, params: MixtureParams, X: np.ndarray | sp.sparray) -> np.ndarray:
        """``-0.5 * |x_i - mu_(i)|^2`` with ``mu_(i)`` the nearest centre, shape (n_samples,):
        every sample's share of the bound."""
        return -0.5 * nearest_centres(X, params.components.means).sq_dist

    # -- beyond the contract ------------------------------------------------------------
    @staticmethod
    def centre_shift(previous: MixtureParams, params: MixtureParams) -> float:
        """Squared Euclidean distance the centres moved, summed over clusters: what
        scikit-learn compares with its (scaled) ``tol``."""
        delta = params.components.means - previous.components.means
        return float(np.sum(delta * delta))

    def _origin(self, n_features: int) -> np.ndarray:
        if self.origin is None:
            return np.zeros(n_features)
        return np.asarray(self.origin, dtype=np.float64)

    def _farthest(
        self,
        X: np.ndarray | sp.sparray,
        nearest: Assignment,
        sample_weight: np.ndarray | None,
    ) -> FarthestRows:
        slots = self.n_clusters - 1
        d2 = nearest.sq_dist
        chosen = farthest(d2, sample_weight, slots)
        used = chosen.size
        sq_dist = np.full(slots, -1.0)
        rows = np.zeros((slots, X.shape[1]))
        weight = np.zeros(slots)
        label = np.full(slots, -1, dtype=np.int64)
        sq_dist[:used] = d2[chosen]
        picked = X[chosen]
        rows[:used] = picked.toarray() if sp.issparse(picked) else picked
        weight[:used] = 1.0 if sample_weight is None else sample_weight[chosen]
        label[:used] = nearest.labels[chosen]
        return FarthestRows(sq_dist, rows, weight, label)


def tolerance(tol: float, moments: DataMoments) -> float:
    """scikit-learn's absolute tolerance on the squared centre shift: ``tol`` times the mean
    per-feature variance of the data (0 when ``tol`` is 0)."""
    return 0.0 if tol == 0 else float(tol * moments.mean_variance)


def data_moments(
    X: np.ndarray | sp.sparray | RowSource,
    sample_weight: np.ndarray | None = None,
    chunk_size: int | None = None,
    *,
    variance: bool = True,
) -> DataMoments:
    """Weighted mean and mean per-feature variance of ``X`` (n_samples, n_features): dense,
    CSR, or a row source whose chunks carry their weights, read in one pass of row chunks.

    The mean is the weighted sum of the rows over their total weight. The variance (skipped
    unless ``variance``) is free of cancellation: every chunk's scatter is taken about its
    own mean, and the chunks' scatters are combined with the spread of their means (Chan,
    Golub and LeVeque's pairwise update).

    Raises
    ------
    ValueError
        When the data holds no rows, or sample weights that are negative, not finite, or
        sum to zero.
    """
    source = as_source(X, sample_weight)
    d = source.n_features
    first, total, n_rows = np.zeros(d), 0.0, 0
    # The running weight, mean and scatter of the chunks read so far.
    seen, centre, scatter = 0.0, np.zeros(d), np.zeros(d)
    for x, w in source.chunks(chunk_size or DEFAULT_CHUNK_SIZE):
        m = x.shape[0]
        w = np.ones(m) if w is None else _checked_weights(w, n_rows)
        n_rows += m
        weight = float(w.sum())
        sums = np.asarray(x.T @ w, dtype=np.float64).ravel()
        first += sums
        total += weight
        if not (variance and weight > 0):
            continue
        mean = sums / weight
        own = _scatter(x, w, mean)
        if seen == 0:
            seen, centre, scatter = weight, mean, own
            continue
        delta = mean - centre
        both = seen + weight
        scatter = scatter + own + delta * delta * (seen * weight / both)
        centre = centre + delta * (weight / both)
        seen = both
    if not total > 0:
        raise ValueError(
            f"the data holds {n_rows} rows of total weight {total}: it needs rows of positive "
            "weight"
        )
    spread = float(np.mean(scatter / total)) if variance else float("nan")
    return DataMoments(first / total, spread, n_rows, total)


def assign(
    X: np.ndarray | sp.sparray | RowSource, centres: np.ndarray, chunk_size: int | None = None
) -> Assigned:
    """:func:`~emkit.models.kmeans_kernels.nearest_centres` over row chunks of ``X`` (dense,
    CSR, or a row source read a chunk at a time), so that the temporaries stay of one
    chunk; with the weights the chunks carry."""
    labels, sq_dist, weights = [], [], []
    for x, w in as_source(X).chunks(chunk_size or DEFAULT_CHUNK_SIZE):
        found = nearest_centres(x, centres)
        labels.append(found.labels)
        sq_dist.append(found.sq_dist)
        weights.append(w)
    if not labels:
        return Assigned(np.empty(0, dtype=np.intp), np.empty(0), None)
    carried = None
    if any(w is not None for w in weights):
        carried = np.concatenate(
            [np.ones(d.size) if w is None else w for w, d in zip(weights, sq_dist, strict=True)]
        )
    return Assigned(np.concatenate(labels), np.concatenate(sq_dist), carried)


def _scatter(x: np.ndarray | sp.sparray, w: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Weighted sums of squares of the rows ``x`` (n, n_features), dense or CSR, about
    ``mean``, shape (n_features,)."""
    if sp.issparse(x):
        # Stored entries about the mean, then the weight of the implicit zeros times mean^2.
        x = sp.csr_matrix(x, dtype=np.float64)
        d = mean.size
        rw = np.repeat(w, np.diff(x.indptr))
        delta = x.data - mean[x.indices]
        stored = np.bincount(x.indices, weights=rw, minlength=d)
        return (
            np.bincount(x.indices, weights=rw * delta * delta, minlength=d)
            + (w.sum() - stored) * mean**2
        )
    delta = np.asarray(x, dtype=np.float64) - mean
    return w @ (delta * delta)


def _checked_weights(w: np.ndarray, first_row: int) -> np.ndarray:
    """The sample weights of a chunk whose first row is row ``first_row`` of the data."""
    w = np.asarray(w, dtype=np.float64)
    bad = ~(np.isfinite(w) & (w >= 0))
    if np.any(bad):
        row = int(np.argmax(bad))
        raise ValueError(
            f"sample weights must be finite and non-negative; row {first_row + row} has "
            f"weight {w[row]}"
        )
    return w
