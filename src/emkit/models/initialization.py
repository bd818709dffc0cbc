"""Starting points for mixtures: the named initialisation strategies.

Each initializer maps ``(X, n_components, random_state, sample_weight)`` to initial labels of
shape (n_samples,) or responsibilities of shape (n_samples, n_components); one M-step from
them gives the starting parameters. Seeding strategies assign every sample to its nearest
seed, so that every component starts with the samples around it (and a sensible covariance),
not with a single point. All of them read ``X`` in row chunks and keep its dtype.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import kmeans_plusplus

from emkit.core.batches import map_rows
from emkit.core.driver import fit_em
from emkit.exceptions import ConvergenceWarning
from emkit.families.gaussian_kernels import squared_distances
from emkit.models.hierarchical import agglomerate
from emkit.models.kmeans import KMeansModel
from emkit.models.kmeans_kernels import nearest_centres
from emkit.models.mixture import Initializer

KMEANS_MAX_ITER = 300


def kmeans(
    X: np.ndarray,
    n_components: int,
    random_state: np.random.RandomState,
    sample_weight: np.ndarray | None = None,
    chunk_size: int | None = None,
) -> np.ndarray:
    """Labels of one k-means run: k-means++ seeds, then Lloyd iterations to a fixed point."""
    model = KMeansModel(n_components)
    with warnings.catch_warnings():
        # A start needs good clusters, not necessarily a converged Lloyd run.
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = fit_em(
            model,
            X,
            sample_weight=sample_weight,
            hard=True,
            tol=0.0,
            max_iter=KMEANS_MAX_ITER,
            random_state=random_state,
            chunk_size=chunk_size,
        )
    return nearest(X, result.params.components.means, chunk_size)


def kmeans_plus_plus(
    X: np.ndarray,
    n_components: int,
    random_state: np.random.RandomState,
    sample_weight: np.ndarray | None = None,
    chunk_size: int | None = None,
) -> np.ndarray:
    """Every sample labelled with its nearest k-means++ seed."""
    seeds = kmeans_plusplus(
        X, n_components, sample_weight=sample_weight, random_state=random_state
    )[0]
    return nearest(X, seeds, chunk_size)


def random_from_data(
    X: np.ndarray,
    n_components: int,
    random_state: np.random.RandomState,
    sample_weight: np.ndarray | None = None,
    chunk_size: int | None = None,
) -> np.ndarray:
    """Every sample labelled with its nearest of ``n_components`` distinct random samples."""
    seeds = X[random_state.choice(X.shape[0], size=n_components, replace=False)]
    if sp.issparse(seeds):
        seeds = seeds.toarray()  # the seeds alone, never the data
    return nearest(X, seeds, chunk_size)


def random(
    X: np.ndarray,
    n_components: int,
    random_state: np.random.RandomState,
    sample_weight: np.ndarray | None = None,
    chunk_size: int | None = None,
) -> np.ndarray:
    """Uniformly random responsibilities, normalised per sample."""
    resp = random_state.uniform(size=(X.shape[0], n_components))
    return resp / resp.sum(axis=1, keepdims=True)


def hierarchical(
    X: np.ndarray,
    n_components: int,
    random_state: np.random.RandomState,
    sample_weight: np.ndarray | None = None,
    chunk_size: int | None = None,
) -> np.ndarray:
    """Labels from model-based agglomerative hierarchical clustering (VVV), cut at
    ``n_components`` clusters: the start mclust uses.

    Deterministic up to the random subset of
    :data:`~emkit.models.hierarchical.DEFAULT_MAX_SAMPLES` rows that a larger data set is
    agglomerated through (the other rows join the cluster under whose Gaussian they are most
    probable). O(n^2) memory and time; see :mod:`emkit.models.hierarchical`. To cut one tree
    at several K, call :func:`~emkit.models.hierarchical.agglomerate` once and its ``cut``.
    """
    if sp.issparse(X):
        raise ValueError(
            "init_params='hc' agglomerates Gaussian clusters of dense rows; for sparse data "
            "choose 'kmeans', 'k-means++', 'random' or 'random_from_data', or give X.toarray()"
        )
    tree = agglomerate(X, sample_weight, random_state=random_state, chunk_size=chunk_size)
    return tree.cut(n_components)


INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {
    "kmeans": kmeans,
    "k-means++": kmeans_plus_plus,
    "random": random,
    "random_from_data": random_from_data,
    "hc": hierarchical,
}


def initializer(name: str, chunk_size: int | None = None) -> Initializer:
    """The initializer called ``name`` ('kmeans', 'k-means++', 'random',
    'random_from_data' or 'hc'), reading the data ``chunk_size`` rows at a time."""
    try:
        fn = INITIALIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"init_params must be one of {sorted(INITIALIZERS)}, got {name!r}"
        ) from None
    return partial(fn, chunk_size=chunk_size)


def nearest(X: np.ndarray, centers: np.ndarray, chunk_size: int | None = None) -> np.ndarray:
    """Index of the nearest centre for every sample, shape (n_samples,); CSR rows through
    sparse-dense products, never densified."""
    if sp.issparse(X):
        return map_rows(lambda x: nearest_centres(x, centers).labels, X, chunk_size)
    return map_rows(lambda x: np.argmin(squared_distances(x, centers), axis=1), X, chunk_size)
