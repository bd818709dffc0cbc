"""``emkit.KMeans``: scikit-learn's ``KMeans``, run as hard EM on the shared driver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import validate_data

from emkit.core.driver import ROUNDOFF, IterationInfo, fit_em
from emkit.estimators.base import EMEstimatorMixin, dask_rows, output_dtype, refuse_one_pass
from emkit.estimators.description import FaceDescription
from emkit.estimators.parameters import (
    CHUNK_SIZE,
    N_JOBS,
    RANDOM_STATE,
    DeclaredParameters,
    Param,
    boolean,
    integer,
    one_of,
    real,
)
from emkit.exceptions import ConvergenceWarning, warn
from emkit.execution.sources import RowSource, as_source
from emkit.families.checks import check_magnitude
from emkit.families.tables import Columns, ParameterTable
from emkit.models.kmeans import KMeansModel, assign, data_moments, tolerance
from emkit.models.kmeans_kernels import nearest_centres, sq_distances
from emkit.models.mixture import MixtureParams

INITS = ("k-means++", "random")
"""The named initialisations; ``init`` may also be a callable or an array of centres."""

ALGORITHMS = ("lloyd", "elkan")

DEFAULT_N_INIT = 10
"""Restarts that ``n_init='auto'`` makes for ``init='random'`` or a callable ``init``."""


def _init_check(init: Any) -> str | None:
    if (isinstance(init, str) and init in INITS) or callable(init):
        return None
    if not isinstance(init, str) and np.ndim(init) == 2:
        return None
    return "must be 'k-means++', 'random', a callable or an array of shape (n_clusters, n_features)"


def _n_init_check(n_init: Any) -> str | None:
    if (isinstance(n_init, str) and n_init == "auto") or integer(1)(n_init) is None:
        return None
    return "must be 'auto' or an integer >= 1"


class KMeans(
    DeclaredParameters,
    ClassNamePrefixFeaturesOutMixin,
    EMEstimatorMixin,
    ClusterMixin,
    TransformerMixin,
    BaseEstimator,
):
    """k-means clustering: classification EM on a mixture of unit-variance Gaussians with
    equal weights.

    A drop-in for ``sklearn.cluster.KMeans``: the same parameters, defaults, attributes,
    warnings and results. Every restart and every Lloyd iteration runs on emkit's one EM
    driver, with sample weights, chunked passes of bounded memory, and threads whose
    results do not depend on their number. Dense data is read as it is (float32 or
    float64, never copied or altered), CSR data without densifying it; everything
    accumulates in float64. A row source (``emkit.open_data(path)``, or any
    :class:`~emkit.execution.sources.RowSource`) is read a chunk at a time by ``fit``,
    ``predict``, ``transform`` and ``score``, with the results of its array.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres, of the dtype of the training data (float32 or float64).
    labels_ : ndarray of shape (n_samples,), int32
        Nearest centre of every training sample: ``predict`` of the training data.
    inertia_ : float
        Weighted sum of squared distances of the samples to their nearest centre.
    n_iter_ : int
        Lloyd iterations (M-steps) of the best run.
    converged_ : bool
        Whether the best run stopped before ``max_iter`` (fixed labels, or ``tol``).
    lower_bound_ : float
        ``-inertia / (2 * total weight)`` as the driver computed it: the bound of hard EM.
    lower_bounds_ : ndarray of shape (n_iter_ + 1,)
        The bound after every iteration of the best run.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when ``X`` has string feature names.
    """

    description = FaceDescription(
        "clustering",
        "cluster",
        title="k-means",
        components="n_clusters",
        tables=(ParameterTable("cluster centres", (Columns("cluster_centers_"),), weights=False),),
        words=(),
    )
    _parameters = (
        Param("n_clusters", 8, "int", "Number of clusters.", integer(1), positional=True),
        Param(
            "init",
            "k-means++",
            "{'k-means++', 'random'}, callable or array-like of shape (n_clusters, n_features)",
            """
            'k-means++': greedy k-means++ seeds, drawn according to ``sample_weight``;
            'random': ``n_clusters`` distinct rows drawn with probabilities proportional to
            ``sample_weight``; a callable ``init(X, n_clusters, random_state=...)`` returning
            the centres; or the centres themselves (one run).
            """,
            _init_check,
        ),
        Param(
            "n_init",
            "auto",
            "'auto' or int",
            """
            Runs from different starts; the one with the lowest inertia is kept. 'auto': 10
            for ``init='random'`` or a callable, 1 otherwise.
            """,
            _n_init_check,
        ),
        Param("max_iter", 300, "int", "Largest number of Lloyd iterations in one run.", integer(1)),
        Param(
            "tol",
            1e-4,
            "float",
            """
            A run has converged when the squared distance the centres moved in one
            iteration, summed over clusters, is at most ``tol`` times the mean per-feature
            variance of the (weighted) data; it stops anyway once the labels no longer
            change.
            """,
            real(0.0),
        ),
        Param("verbose", 0, "int", "Print scikit-learn's progress lines.", integer(0)),
        RANDOM_STATE,
        Param(
            "copy_x",
            True,
            "bool",
            """
            Accepted for scikit-learn's signature. Where scikit-learn centres a copy of the
            data (or, with False, the data itself) for precise distances, emkit takes its sums
            about the data mean instead: ``X`` is neither copied nor altered, with either
            value.
            """,
            boolean,
            command_line=False,
        ),
        Param(
            "algorithm",
            "lloyd",
            "{'lloyd', 'elkan'}",
            """
            Both run Lloyd's iterations: Elkan's algorithm only skips the distance
            computations that the triangle inequality proves needless, so its results are
            Lloyd's.
            """,
            one_of(*ALGORITHMS),
        ),
        CHUNK_SIZE.with_doc("Rows per E-step batch."),
        N_JOBS,
    )

    _fitted_scalars = (*EMEstimatorMixin._fitted_scalars, "inertia_")
    _fitted_arrays = ("cluster_centers_", "lower_bounds_")

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> KMeans:
        """Compute the clustering.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or RowSource
            Training data; sparse formats other than CSR are converted to it. A row source
            (``emkit.open_data(path)`` for a file) is read a chunk at a time, every chunk
            checked as it is read; its columns are the features (``feature_names_in_`` when
            it names them) and its chunks carry their sample weights. For a source not in
            memory, k-means++, 'random' and a callable ``init`` start every run from a
            uniform sample of at most ``emkit.core.driver.INIT_MAX_ROWS`` of its rows, drawn
            in one pass; a source in memory gives them all its rows, as an array does.
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Weight of every sample; not used by a callable or array ``init``. Not with a
            row source, whose weights go with its rows.

        Returns
        -------
        self : KMeans
        """
        self._check_hyperparameters()
        source = self._fit_source(X, sample_weight)
        k = self.n_clusters
        self._n_init = self._resolve_n_init()
        if self.algorithm == "elkan" and k == 1:
            warn(
                "algorithm='elkan' doesn't make sense for a single cluster. Using 'lloyd' instead.",
                RuntimeWarning,
            )
        moments = data_moments(source, None, self.chunk_size, variance=self.tol > 0)
        _refuse_too_few(moments.n_rows, k)
        # Dense sums are taken about the data mean (see KMeansModel.origin); CSR rows keep
        # their zeros, so theirs are taken about zero.
        model = KMeansModel(k, origin=None if source.sparse else moments.mean)
        monitor = _LloydMonitor(
            model, tolerance(self.tol, moments), self.max_iter, moments.total_weight, self.verbose
        )
        result = fit_em(
            model,
            source,
            n_init=self._n_init,
            max_iter=self.max_iter,
            # scikit-learn's tol is on the centre shift, which the monitor applies.
            tol=0.0,
            init=self._start(model, source.n_features),
            random_state=check_random_state(self.random_state),
            hard=True,
            callback=monitor,
            chunk_size=self.chunk_size,
            n_jobs=self.n_jobs,
            warn_unconverged=False,
        )
        monitor.close_run()
        centres = np.asarray(result.params.components.means, dtype=output_dtype(source))
        found = assign(source, centres, self.chunk_size)
        self.cluster_centers_ = centres
        self.labels_ = found.labels.astype(np.int32)
        self.inertia_ = _weighted_sum(found.sq_dist, found.sample_weight)
        self._record_result(result, result.converged or result.stopped)
        self._n_features_out = k
        distinct = np.unique(self.labels_).size
        if distinct < k:
            warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
                f"({k}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
            )
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest centre for every sample, shape (n_samples,), int32; ``X``
        an array, a sparse matrix or a row source (read a chunk at a time)."""
        X = self._checked(X)
        c = self.cluster_centers_
        return self._map_rows(lambda x: nearest_centres(x, c).labels.astype(np.int32), X)

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distance of every sample to every centre, shape (n_samples,
        n_clusters): float32 when both the data and the centres are, float64 otherwise;
        ``X`` an array, a sparse matrix or a row source (read a chunk at a time)."""
        X = self._checked(X)
        c = self.cluster_centers_

        def distances(x: Any) -> np.ndarray:
            both32 = x.dtype == np.float32 and c.dtype == np.float32
            dtype = np.float32 if both32 else np.float64
            return np.sqrt(sq_distances(x, c)).astype(dtype, copy=False)

        return self._map_rows(distances, X)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Opposite of the (weighted) inertia of ``X``: an array, a sparse matrix or a row
        source, whose rows are weighted by the weights its chunks carry unless
        ``sample_weight`` is given."""
        X = self._checked(X)
        found = assign(X, self.cluster_centers_, self.chunk_size)
        if sample_weight is None:
            sample_weight = found.sample_weight
        w = self._check_sample_weight(sample_weight, found.sq_dist.shape[0])
        return -_weighted_sum(found.sq_dist, w)

    def save(self, path: Any) -> Any:
        """Write the fitted model to ``path`` (see :meth:`EMEstimatorMixin.save`).

        Raises
        ------
        ValueError
            When ``init`` is a callable: model files hold data, never code.
        """
        if callable(self.init):
            raise ValueError(
                "a KMeans whose init is a callable cannot be saved (model files hold data, "
                "never code); give the initial centres as an array instead"
            )
        return super().save(path)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- checks ---------------------------------------------------------------------------
    def _check_data(self, X: Any, *, reset: bool, min_samples: int = 1) -> Any:
        refuse_one_pass(X)
        return validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            reset=reset,
            ensure_min_samples=min_samples,
        )

    def _checked(self, X: Any) -> np.ndarray | RowSource:
        """``X`` validated against the fitted model: an array, or a source checked a chunk
        at a time."""
        self._check_fitted()
        X = dask_rows(X)
        if isinstance(X, RowSource):
            self._check_source_columns(X, reset=False)
            return X.map(_checked_rows)
        return self._check_data(X, reset=False)

    def _fit_source(self, X: Any, sample_weight: Any) -> RowSource:
        """The training data as a row source: a source checked a chunk at a time (its
        columns the face's features), or an array (with its sample weights) checked whole.

        Raises
        ------
        ValueError
            For invalid data or weights, and for fewer rows than clusters when the number
            is known without a pass.
        """
        X = dask_rows(X)
        if isinstance(X, RowSource):
            if sample_weight is not None:
                raise ValueError(
                    "with a row source, sample weights go with its rows: chunks of pairs "
                    "(X, sample_weight), or emkit.execution.sources.ArrayRows(X, sample_weight)"
                )
            self._check_source_columns(X, reset=True)
            if X.n_rows is not None:
                _refuse_too_few(X.n_rows, self.n_clusters)
            return X.map(_checked_rows)
        X = self._check_data(X, reset=True)
        _refuse_too_few(X.shape[0], self.n_clusters)
        w = self._check_sample_weight(sample_weight, X.shape[0])
        if not sp.issparse(X):
            # Squared distances sum the squares of differences over the features.
            check_magnitude(X, "KMeans", squares_per_row=4 * X.shape[1])
        return as_source(X, w)

    def _check_hyperparameters(self) -> None:
        self._check_parameters()

    def _resolve_n_init(self) -> int:
        """Runs to make: ``n_init``, with 'auto' resolved, and 1 for given centres."""
        init = self.init
        named = isinstance(init, str)
        given = not named and not callable(init)
        if isinstance(self.n_init, str):  # 'auto', as checked
            n_init = DEFAULT_N_INIT if (named and init == "random") or callable(init) else 1
        else:
            n_init = int(self.n_init)
        if given and n_init != 1:
            warn(
                "Explicit initial center position passed: performing only one init in "
                f"{type(self).__name__} instead of n_init={n_init}.",
                RuntimeWarning,
            )
            n_init = 1
        return n_init

    def _start(
        self, model: KMeansModel, n_features: int
    ) -> MixtureParams | Callable[..., MixtureParams] | None:
        """Given centres, or the driver's initializer for every run: None for the model's
        own k-means++, else a callable of the rows the driver samples (all rows of data in
        memory), the random state and the rows' weights."""
        init, k = self.init, self.n_clusters
        if isinstance(init, str) and init == "k-means++":
            return None
        if isinstance(init, str):

            def draw(rows: Any, rng: np.random.RandomState, w: Any) -> MixtureParams:
                n = rows.shape[0]
                positive = n if w is None else int(np.count_nonzero(w > 0))
                if positive < k:
                    raise ValueError(
                        f"init='random' draws n_clusters={k} distinct samples of positive "
                        f"weight, but only {positive} of the {n} it draws from have one"
                    )
                p = np.full(n, 1.0 / n) if w is None else w / w.sum()
                return model.from_centers(_dense(rows[rng.choice(n, size=k, replace=False, p=p)]))

            return draw
        if callable(init):

            def call(rows: Any, rng: np.random.RandomState, _w: Any) -> MixtureParams:
                centres = init(rows, k, random_state=rng)
                return model.from_centers(self._checked_centres(centres, n_features))

            return call
        return model.from_centers(self._checked_centres(init, n_features))

    def _checked_centres(self, centres: Any, n_features: int) -> np.ndarray:
        centres = check_array(
            _dense(centres) if sp.issparse(centres) else centres,
            dtype=np.float64,
            copy=True,
            input_name="init",
        )
        if centres.shape[0] != self.n_clusters:
            raise ValueError(
                f"The shape of the initial centers {centres.shape} does not match the number "
                f"of clusters {self.n_clusters}."
            )
        if centres.shape[1] != n_features:
            raise ValueError(
                f"The shape of the initial centers {centres.shape} does not match the number "
                f"of features of the data {n_features}."
            )
        return centres

    def _restore(self) -> None:
        # Hyperparameters are checked here too: an edited file must fail when it is read.
        self._check_hyperparameters()
        centers = np.asarray(self.cluster_centers_)
        if centers.dtype not in (np.float32, np.float64):
            raise ValueError(f"cluster_centers_ has dtype {centers.dtype}, not float32/float64")
        if centers.shape != (self.n_clusters, self.n_features_in_):
            raise ValueError("cluster_centers_ does not match n_clusters and n_features_in_")
        self.cluster_centers_ = centers
        self._n_features_out = self.n_clusters


class _LloydMonitor:
    """The driver's callback for a KMeans fit: applies the model's centre-shift rule
    (:meth:`KMeansModel.centre_shift` against ``tol``) and prints scikit-learn's progress
    lines when ``verbose``.

    scikit-learn numbers its iterations from 0, each an assignment and an update: its
    iteration ``i`` is the driver's M-step ``i + 1``, and prints the inertia of the centres
    that step started from.
    """

    def __init__(
        self, model: KMeansModel, tol: float, max_iter: int, total_weight: float, verbose: int
    ) -> None:
        self.model, self.tol, self.max_iter = model, tol, max_iter
        self.total_weight, self.verbose = total_weight, verbose
        self._last: IterationInfo | None = None  # the latest point of the running run

    def __call__(self, info: IterationInfo) -> bool:
        if info.n_iter == 0:
            self.close_run()
            self._say("Initialization complete")
            self._last = info
            return False
        last = self._last
        assert last is not None
        i = info.n_iter - 1
        self._say(f"Iteration {i}, inertia {self._inertia(last)}.")
        shift = self.model.centre_shift(last.params, info.params)
        self._last = info
        if shift <= self.tol:
            self._say(
                f"Converged at iteration {i}: center shift {shift} within tolerance {self.tol}."
            )
            self._last = None
            return True
        return False

    def close_run(self) -> None:
        """Report how the run that has just ended stopped, when the driver stopped it: at
        the fixed point (labels, hence centres, unchanged) found by the M-step after the
        last point, or by its rule that a hard-EM bound unchanged up to round-off means an
        unchanged partition."""
        last, self._last = self._last, None
        if last is None or not self.verbose:
            return
        if abs(last.change) <= ROUNDOFF * abs(last.lower_bound):
            self._say(f"Converged at iteration {last.n_iter - 1}: strict convergence.")
        elif last.n_iter < self.max_iter:
            i = last.n_iter
            self._say(f"Iteration {i}, inertia {self._inertia(last)}.")
            # At the first iteration there are no earlier labels to compare with: the
            # centres did not move.
            if i == 0:
                self._say(
                    f"Converged at iteration 0: center shift 0.0 within tolerance {self.tol}."
                )
            else:
                self._say(f"Converged at iteration {i}: strict convergence.")

    def _inertia(self, info: IterationInfo) -> float:
        return -2.0 * info.lower_bound * self.total_weight

    def _say(self, line: str) -> None:
        if self.verbose:
            print(line)


def _checked_rows(rows: Any) -> np.ndarray | sp.csr_matrix:
    """One chunk of a source checked as k-means data: finite numbers (float32 kept, other
    numbers as float64), dense or CSR, whose squared distances cannot overflow."""
    rows = check_array(rows, accept_sparse="csr", dtype=[np.float64, np.float32], input_name="X")
    if not sp.issparse(rows):
        check_magnitude(rows, "KMeans", squares_per_row=4 * rows.shape[1])
    return rows


def _refuse_too_few(n_rows: int, n_clusters: int) -> None:
    if n_rows < n_clusters:
        raise ValueError(f"n_samples={n_rows} should be >= n_clusters={n_clusters}.")


def _weighted_sum(values: np.ndarray, w: np.ndarray | None) -> float:
    return float(values.sum() if w is None else w @ values)


def _dense(rows: Any) -> np.ndarray:
    return rows.toarray() if sp.issparse(rows) else np.asarray(rows)
