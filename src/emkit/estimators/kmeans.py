"""``emkit.KMeans``: Lloyd's k-means, run as hard EM on the shared driver."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin

from emkit.core.batches import map_rows
from emkit.estimators.base import EMEstimatorMixin, check_int
from emkit.families.gaussian_kernels import squared_distances
from emkit.models.initialization import nearest
from emkit.models.kmeans import KMeansModel


class KMeans(EMEstimatorMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """k-means clustering: classification EM on a mixture of unit-variance Gaussians with
    equal weights, seeded by k-means++.

    Follows ``sklearn.cluster.KMeans`` (Lloyd's algorithm); every restart and every iteration
    runs on emkit's one EM driver, with sample weights and chunked passes.

    Parameters
    ----------
    n_clusters : int, default=8
    init : 'k-means++' or array-like of shape (n_clusters, n_features), default='k-means++'
    n_init : int, default=1
        Restarts; the run with the lowest inertia is kept.
    max_iter : int, default=300
    tol : float, default=0.0
        Stop when half the (weighted) mean squared distance to the nearest centre changes by
        less than ``tol`` between iterations. Whatever ``tol``, Lloyd's algorithm stops at its
        fixed point, when that distance no longer changes beyond round-off (the assignments no
        longer change); the default 0 runs to that point.
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
    chunk_size : int, optional
        Rows per E-step batch.
    n_jobs : int or None, default=None
        Threads that run E-steps on chunks in parallel (None: every available core; -1 too;
        1: none). Results do not depend on it, bit for bit.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
    inertia_ : float
        Weighted sum of squared distances of samples to their nearest centre.
    n_iter_ : int
    converged_ : bool
    lower_bound_ : float
    lower_bounds_ : ndarray of shape (n_iter_ + 1,)
    n_features_in_ : int
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        n_init: int = 1,
        max_iter: int = 300,
        tol: float = 0.0,
        random_state: Any = None,
        verbose: int = 0,
        chunk_size: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs

    _fitted_scalars = (*EMEstimatorMixin._fitted_scalars, "inertia_")
    _fitted_arrays = ("cluster_centers_", "lower_bounds_")

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> KMeans:
        """Compute the clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
        """
        check_int(self.n_clusters, "n_clusters", 1)
        check_int(self.n_init, "n_init", 1)
        check_int(self.max_iter, "max_iter", 1)
        if self.chunk_size is not None:
            check_int(self.chunk_size, "chunk_size", 1)
        if not (isinstance(self.tol, (int, float)) and self.tol >= 0):
            raise ValueError(f"tol must be a non-negative number, got {self.tol!r}")
        X = self._check_data(X, reset=True)
        if X.shape[0] < self.n_clusters:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
        w = self._check_sample_weight(sample_weight, X.shape[0])
        model = KMeansModel(int(self.n_clusters))
        start = None
        if isinstance(self.init, str):
            if self.init != "k-means++":
                raise ValueError(
                    f"init must be 'k-means++' or an array of centres, got {self.init!r}"
                )
        else:
            centers = np.asarray(self.init, dtype=np.float64)
            if centers.shape != (self.n_clusters, X.shape[1]):
                raise ValueError(
                    f"init should have the shape {(self.n_clusters, X.shape[1])}, "
                    f"got {centers.shape}"
                )
            start = model.from_centers(centers)
        result = self._run_em(model, X, w, init=start, hard=True, chunk_size=self.chunk_size)
        self.cluster_centers_ = result.params.components.means
        self.inertia_ = model.inertia(result.lower_bound, result.total_weight)
        self.labels_ = self.predict(X)
        return self

    def _restore(self) -> None:
        centers = np.asarray(self.cluster_centers_, dtype=np.float64)
        if centers.shape != (self.n_clusters, self.n_features_in_):
            raise ValueError("cluster_centers_ does not match n_clusters and n_features_in_")
        self.cluster_centers_ = centers

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distance of every sample to every centre, shape (n_samples, n_clusters)."""
        X = self._checked(X)
        c = self.cluster_centers_
        return map_rows(
            lambda x: np.sqrt(np.maximum(squared_distances(x, c), 0.0)), X, self.chunk_size
        )

    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest centre for every sample, shape (n_samples,)."""
        X = self._checked(X)
        return nearest(X, self.cluster_centers_, self.chunk_size)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Opposite of the (weighted) inertia of ``X``."""
        X = self._checked(X)
        w = self._check_sample_weight(sample_weight, X.shape[0])
        d2 = map_rows(
            lambda x: squared_distances(x, self.cluster_centers_).min(axis=1), X, self.chunk_size
        )
        return -float(d2.sum() if w is None else w @ d2)
