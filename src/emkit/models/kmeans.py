"""k-means as hard EM on a Gaussian mixture.

Classification EM on a mixture of Gaussians with equal, fixed weights and one fixed unit
variance assigns every sample to its nearest mean and moves each mean to the average of its
samples: Lloyd's algorithm. The bound is the classification log-likelihood, an affine
function of the inertia, so the driver's monotonicity check and restarts serve k-means as
they serve every model.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import kmeans_plusplus

from emkit.families.covariance import LOG_2PI, Spherical
from emkit.families.gaussian import Gaussian, GaussianParams
from emkit.models.mixture import Mixture, MixtureParams


class KMeansModel(Mixture):
    """Lloyd's k-means as a mixture model fitted with ``hard=True``; seeded by k-means++."""

    def __init__(self, n_clusters: int) -> None:
        super().__init__(Gaussian(Spherical(), reg_covar=0.0,
                                  frozen=frozenset({"covariances"})),
                         n_clusters, frozen=frozenset({"weights"}))

    def init(self, X: np.ndarray, random_state: np.random.RandomState,
             sample_weight: np.ndarray | None = None) -> MixtureParams:
        """Means chosen by k-means++ (weighted by ``sample_weight``)."""
        return self.from_centers(kmeans_plusplus(np.asarray(X, dtype=np.float64),
                                                 self.n_components, sample_weight=sample_weight,
                                                 random_state=random_state)[0])

    def from_centers(self, centers: np.ndarray) -> MixtureParams:
        """Parameters with the given cluster centres, shape (n_clusters, n_features)."""
        k = self.n_components
        ones = np.ones(k)
        return MixtureParams(np.full(k, 1.0 / k),
                             GaussianParams(np.array(centers, dtype=np.float64), ones, ones))

    def inertia(self, bound: float, total_weight: float, n_features: int) -> float:
        """Weighted sum of squared distances to the nearest centre, from the mean
        classification log-likelihood ``bound``."""
        const = -np.log(self.n_components) - 0.5 * n_features * LOG_2PI
        return max(0.0, -2.0 * total_weight * (bound - const))
