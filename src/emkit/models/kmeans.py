"""k-means as hard EM on a Gaussian mixture.

Classification EM on a mixture of Gaussians with equal, fixed weights and one fixed unit
variance assigns every sample to its nearest mean and moves each mean to the average of its
samples: Lloyd's algorithm. The driver's restarts, monotonicity check and chunked passes serve
k-means as they serve every model.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import kmeans_plusplus

from emkit.families.covariance import Spherical
from emkit.families.gaussian import Gaussian, GaussianParams
from emkit.families.gaussian_kernels import squared_distances
from emkit.models.mixture import Mixture, MixtureParams


class KMeansModel(Mixture):
    """Lloyd's k-means as a mixture model fitted with ``hard=True``; seeded by k-means++.

    The joint log-probabilities drop the terms every component shares (equal weights, unit
    variances): ``log_joint = -0.5 * |x - mu_k|^2``. Comparisons between components then
    keep every digit at any scale of the data, and the bound is exactly ``-inertia / (2 *
    total_weight)``.
    """

    def __init__(self, n_clusters: int) -> None:
        super().__init__(
            Gaussian(Spherical(), reg_covar=0.0, frozen=frozenset({"covariances"})),
            n_clusters,
            frozen=frozenset({"weights"}),
        )

    def init(
        self,
        X: np.ndarray,
        random_state: np.random.RandomState,
        sample_weight: np.ndarray | None = None,
    ) -> MixtureParams:
        """Means chosen by k-means++ (weighted by ``sample_weight``)."""
        return self.from_centers(
            kmeans_plusplus(
                X, self.n_components, sample_weight=sample_weight, random_state=random_state
            )[0]
        )

    def from_centers(self, centers: np.ndarray) -> MixtureParams:
        """Parameters with the given cluster centres, shape (n_clusters, n_features)."""
        k = self.n_components
        ones = np.ones(k)
        return MixtureParams(
            np.full(k, 1.0 / k), GaussianParams(np.array(centers, dtype=np.float64), ones, ones)
        )

    # Scored through log_joint, never through the Gaussian family's fused pass, which adds
    # the shared constants before comparing components.
    e_step = Mixture.e_step_reference

    def log_joint(self, params: MixtureParams, X: np.ndarray) -> np.ndarray:
        """``-0.5 * |x_i - mu_k|^2``, shape (n_samples, n_clusters)."""
        return -0.5 * squared_distances(X, params.components.means)

    @staticmethod
    def inertia(bound: float, total_weight: float) -> float:
        """Weighted sum of squared distances to the nearest centre, from the mean bound."""
        return -2.0 * bound * total_weight
