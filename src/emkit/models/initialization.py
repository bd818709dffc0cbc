"""Initial responsibilities for mixtures: the named starting strategies.

Each initializer maps ``(X, n_components, random_state, sample_weight)`` to responsibilities
of shape (n_samples, n_components); one M-step from them gives the starting parameters.
Seeding strategies assign every sample to its nearest seed, so that every component starts
with the samples around it (and a sensible covariance), not with a single point.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from sklearn.cluster import kmeans_plusplus

from emkit.core.driver import fit_em
from emkit.exceptions import ConvergenceWarning
from emkit.models.kmeans import KMeansModel

Initializer = Callable[[np.ndarray, int, np.random.RandomState, "np.ndarray | None"], np.ndarray]

KMEANS_MAX_ITER = 300


def kmeans(X: np.ndarray, n_components: int, random_state: np.random.RandomState,
           sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Labels of one k-means run (k-means++ seeds, then Lloyd iterations) as one-hot rows."""
    model = KMeansModel(n_components)
    with warnings.catch_warnings():
        # A start needs good clusters, not exactly converged ones.
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = fit_em(model, X, sample_weight=sample_weight, hard=True, tol=1e-12,
                        max_iter=KMEANS_MAX_ITER, random_state=random_state)
    return _one_hot(np.argmax(model.log_joint(result.params, X), axis=1), n_components)


def kmeans_plus_plus(X: np.ndarray, n_components: int, random_state: np.random.RandomState,
                     sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Every sample assigned to its nearest k-means++ seed."""
    seeds = kmeans_plusplus(X, n_components, sample_weight=sample_weight,
                            random_state=random_state)[0]
    return _nearest(X, seeds)


def random_from_data(X: np.ndarray, n_components: int, random_state: np.random.RandomState,
                     sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Every sample assigned to its nearest of ``n_components`` distinct random samples."""
    seeds = X[random_state.choice(X.shape[0], size=n_components, replace=False)]
    return _nearest(X, seeds)


def random(X: np.ndarray, n_components: int, random_state: np.random.RandomState,
           sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Uniformly random responsibilities, normalised per sample."""
    resp = random_state.uniform(size=(X.shape[0], n_components))
    return resp / resp.sum(axis=1, keepdims=True)


INITIALIZERS: dict[str, Initializer] = {
    "kmeans": kmeans,
    "k-means++": kmeans_plus_plus,
    "random": random,
    "random_from_data": random_from_data,
}


def initializer(name: str) -> Initializer:
    """The initializer called ``name``: 'kmeans', 'k-means++', 'random' or 'random_from_data'."""
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"init_params must be one of {sorted(INITIALIZERS)}, "
                         f"got {name!r}") from None


def _nearest(X: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    d2 = (X**2).sum(axis=1)[:, None] - 2.0 * X @ seeds.T + (seeds**2).sum(axis=1)[None]
    return _one_hot(np.argmin(d2, axis=1), seeds.shape[0])


def _one_hot(labels: np.ndarray, n_components: int) -> np.ndarray:
    resp = np.zeros((labels.shape[0], n_components))
    resp[np.arange(labels.shape[0]), labels] = 1.0
    return resp
