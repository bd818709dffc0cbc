"""Choosing a Gaussian mixture: the number of components and the covariance model, by BIC,
ICL or AIC over a grid of fits, as mclust's ``Mclust`` does.

Sign convention. The criteria here follow mclust (Fraley & Raftery 2002): *larger is better*,

- ``BIC = 2 log L - p log n``,
- ``ICL = BIC + 2 sum_i log z_i,map(i)``: BIC penalised by the entropy of the hard (MAP)
  classification, ``z`` being the posterior probabilities of the components (Biernacki,
  Celeux & Govaert 2000, as mclust computes it),
- ``AIC = 2 log L - 2 p``,

with ``log L`` the maximised log-likelihood, ``n`` the number of samples (the sum of the
sample weights when there are any) and ``p`` the number of free parameters counted as mclust
counts them: ``K - 1`` mixing weights, ``K D`` means and the covariance parameters of the
model. scikit-learn's (and :class:`emkit.GaussianMixture`'s) ``bic(X)`` and ``aic(X)`` have
the opposite sign, lower is better: ``table BIC == -GaussianMixture.bic(X)`` and
``table AIC == -GaussianMixture.aic(X)`` (same fit, no sample weights).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_array, check_random_state

from emkit.config import executor_for
from emkit.core.batches import DEFAULT_CHUNK_SIZE
from emkit.estimators.base import dask_rows
from emkit.estimators.gaussian_mixture import GaussianMixture
from emkit.execution.sources import ArrayRows, RowSource
from emkit.families.checks import check_magnitude
from emkit.families.covariance import covariance_structure
from emkit.families.gaussian import Gaussian
from emkit.models.hierarchical import DEFAULT_MAX_SAMPLES, Agglomeration, agglomerate
from emkit.models.mixture import Mixture

__all__ = [
    "CRITERIA",
    "MCLUST_MODELS",
    "TABLE_COLUMNS",
    "Candidate",
    "ModelSelection",
    "default_covariance_types",
    "select_model",
]

MCLUST_MODELS = (
    "EII",
    "VII",
    "EEI",
    "VEI",
    "EVI",
    "VVI",
    "EEE",
    "VEE",
    "EVE",
    "VVE",
    "EEV",
    "VEV",
    "EVV",
    "VVV",
)
"""mclust's names of the Gaussian covariance models (volume, shape, orientation: Equal,
Variable or Identity), in mclust's order."""

# The covariance types of scikit-learn's names, in mclust's order (VII, VVI, EEE, VVV): the
# grid when none of mclust's names is registered.
_SKLEARN_TYPES = ("spherical", "diag", "tied", "full")

ESTIMABLE_RANK_TOLERANCE = 1e-9
"""A fitted covariance less ``reg_covar`` whose smallest eigenvalue is at most this share of
its largest is singular: the model is not estimable from the data (see
:class:`Candidate`)."""

CRITERIA = ("bic", "icl", "aic")
"""Criteria ``select_model`` can maximise."""

# Tighter than GaussianMixture's defaults (1e-3, 100): the criteria compare log-likelihoods,
# which must be accurate to well under one unit, and n * tol is the last change of the total.
DEFAULT_TOL = 1e-6
DEFAULT_MAX_ITER = 1000

# Options that select_model sets per candidate, or that make no sense across a grid.
_RESERVED = {
    "covariance_type": "pass covariance_types",
    "weights_init": "a starting point fits one grid cell only",
    "means_init": "a starting point fits one grid cell only",
    "precisions_init": "a starting point fits one grid cell only",
    "warm_start": "every candidate is a fresh fit",
}

# Failures of one candidate that are recorded instead of raised: degenerate covariances
# (ValueError, LinAlgError), more components than samples, overflow.
_FIT_ERRORS = (ValueError, ArithmeticError)

TABLE_COLUMNS = (
    "covariance_type",
    "n_components",
    "log_likelihood",
    "n_parameters",
    "bic",
    "icl",
    "aic",
    "converged",
    "n_iter",
    "error",
)


@dataclass(frozen=True)
class Candidate:
    """One cell of the grid: a covariance model with a number of components, and its fit.

    Attributes
    ----------
    covariance_type : str
    n_components : int
    n_parameters : int
        Free parameters counted as mclust counts them: K - 1 weights, K D means and the
        covariance parameters.
    log_likelihood : float
        Maximised (weighted) log-likelihood of the data; NaN when the fit failed.
    bic, icl, aic : float
        The criteria in mclust's convention (larger is better, see :mod:`emkit.selection`);
        NaN when the fit failed.
    converged : bool
        Whether EM met ``tol`` within ``max_iter`` iterations.
    n_iter : int
        EM iterations of the fit (0 when it failed).
    error : str or None
        Why the fit failed (e.g. a singular covariance), or why the model is not estimable
        from the data (a covariance that only ``reg_covar`` keeps non-singular, which mclust
        reports as NA); None when it succeeded. The criteria are then NaN and the candidate
        is never chosen.
    estimator : GaussianMixture or None
        The fitted model; None when the fit failed.
    """

    covariance_type: str
    n_components: int
    n_parameters: int
    log_likelihood: float
    bic: float
    icl: float
    aic: float
    converged: bool
    n_iter: int
    error: str | None
    estimator: GaussianMixture | None = field(default=None, repr=False, compare=False)

    @property
    def failed(self) -> bool:
        """Whether the fit failed."""
        return self.error is not None

    def score(self, criterion: str) -> float:
        """The value of ``criterion`` ('bic', 'icl' or 'aic')."""
        return float(getattr(self, _check_criterion(criterion)))

    def record(self) -> dict[str, Any]:
        """The candidate as a plain dict of the table's columns (no estimator)."""
        return {name: getattr(self, name) for name in TABLE_COLUMNS}


@dataclass(frozen=True, eq=False)
class ModelSelection:
    """The result of :func:`select_model`: every candidate, and the best one.

    Attributes
    ----------
    criterion : str
        The criterion maximised: 'bic', 'icl' or 'aic'.
    n_samples : float
        ``n`` of the criteria: the number of samples, or the sum of the sample weights.
    candidates : tuple of Candidate
        Every cell of the grid, by covariance type (in the order given), then by number of
        components (in the order given).
    best_index : int
        Position of the best candidate in ``candidates``: the largest criterion among the
        candidates that were fitted; of equal values, the one with fewer parameters, then
        the first in grid order.
    """

    criterion: str
    n_samples: float
    candidates: tuple[Candidate, ...]
    best_index: int

    @property
    def best_(self) -> Candidate:
        """The best candidate."""
        return self.candidates[self.best_index]

    @property
    def best_estimator_(self) -> GaussianMixture:
        """The best fitted model."""
        estimator = self.best_.estimator
        assert estimator is not None
        return estimator

    @property
    def best_params_(self) -> dict[str, Any]:
        """``covariance_type`` and ``n_components`` of the best model."""
        best = self.best_
        return {"covariance_type": best.covariance_type, "n_components": best.n_components}

    @property
    def best_score_(self) -> float:
        """The best model's value of the criterion."""
        return self.best_.score(self.criterion)

    @property
    def boundary_note(self) -> str | None:
        """Why the search may have stopped short, or None: the best number of components is
        the largest tried, or the smallest when that is above 1, so the best model may lie
        outside the range searched."""
        ks = sorted({c.n_components for c in self.candidates})
        best = self.best_.n_components
        if len(ks) < 2:
            return None
        if best == ks[-1]:
            return (
                f"the best number of components, {best}, is the largest tried: the best "
                "model may have more; widen n_components"
            )
        if best == ks[0] and best > 1:
            return (
                f"the best number of components, {best}, is the smallest tried: the best "
                "model may have fewer; widen n_components"
            )
        return None

    def ranked(self) -> list[Candidate]:
        """Candidates best first by the criterion (ties as for ``best_index``), failed fits
        last in grid order."""
        order = sorted(range(len(self.candidates)), key=self._rank_key)
        return [self.candidates[i] for i in order]

    def table(self, *, sort: bool = True) -> list[dict[str, Any]]:
        """Every candidate as a record (dict) with the keys ``covariance_type``,
        ``n_components``, ``log_likelihood``, ``n_parameters``, ``bic``, ``icl``, ``aic``,
        ``converged``, ``n_iter`` and ``error``: best first when ``sort``, else in grid
        order."""
        return [c.record() for c in (self.ranked() if sort else self.candidates)]

    def columns(self, *, sort: bool = True) -> dict[str, np.ndarray]:
        """The table as columns of shape (n_candidates,): str arrays for ``covariance_type``
        and ``error`` ('' when the fit succeeded), int for ``n_components``,
        ``n_parameters`` and ``n_iter``, bool for ``converged``, float for the rest (NaN
        where the fit failed)."""
        rows = self.ranked() if sort else list(self.candidates)
        out: dict[str, np.ndarray] = {}
        for name in TABLE_COLUMNS:
            values = [getattr(c, name) for c in rows]
            if name == "error":
                out[name] = np.array(["" if v is None else v for v in values], dtype=str)
            elif name == "covariance_type":
                out[name] = np.array(values, dtype=str)
            elif name in ("n_components", "n_parameters", "n_iter"):
                out[name] = np.array(values, dtype=np.int64)
            elif name == "converged":
                out[name] = np.array(values, dtype=bool)
            else:
                out[name] = np.array(values, dtype=np.float64)
        return out

    def _rank_key(self, index: int) -> tuple[int, float, int, int]:
        c = self.candidates[index]
        if c.failed:
            return (1, 0.0, 0, index)
        return (0, -c.score(self.criterion), c.n_parameters, index)


def default_covariance_types() -> tuple[str, ...]:
    """The covariance types of the default grid: mclust's model names that emkit knows, in
    mclust's order, or the four of scikit-learn (spherical, diag, tied, full) when it knows
    none of them."""
    known = tuple(name for name in MCLUST_MODELS if _is_registered(name))
    return known or _SKLEARN_TYPES


def mclust_n_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    """Free parameters of a Gaussian mixture counted as mclust counts them.

    ``K - 1`` mixing weights, ``K D`` means, and the covariance structure's own count.
    """
    family = Gaussian(covariance_structure(covariance_type))
    return int(Mixture(family, int(n_components)).n_parameters(int(n_features)))


def select_model(
    X: Any,
    n_components: int | Iterable[int] = range(1, 10),
    covariance_types: str | Iterable[str] | None = None,
    criterion: str = "bic",
    *,
    random_state: int | np.random.RandomState | None = None,
    n_init: int = 1,
    init_params: str = "hc",
    n_jobs: int | None = None,
    sample_weight: Any = None,
    **gaussian_mixture_options: Any,
) -> ModelSelection:
    """Fit a Gaussian mixture for every covariance type and number of components, and pick
    the best by ``criterion``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or RowSource
        Data, at least two samples; fitted as a float64 (or float32) NumPy array. A row
        source (:func:`emkit.open_data`) is read a chunk at a time, by every fit and by the
        criteria's pass; its hierarchical start agglomerates a uniform sample of
        :data:`~emkit.models.hierarchical.DEFAULT_MAX_SAMPLES` rows drawn in one pass.
    n_components : int or iterable of int, default=range(1, 10)
        Numbers of components K to try (each at least 1, no repeats).
    covariance_types : str or iterable of str, optional
        Covariance types to try, any name :class:`emkit.GaussianMixture` accepts; the same
        model may not appear twice under two names. Default:
        :func:`default_covariance_types` (mclust's 14 models where emkit has them).
    criterion : {'bic', 'icl', 'aic'}, default='bic'
        Maximised, in mclust's sign convention (larger is better; see
        :mod:`emkit.selection` for the definitions and the relation to scikit-learn's).
    random_state : int, RandomState instance or None
        Seeds every fit (and the subset the hierarchical start agglomerates for large data):
        one seed is drawn from it, and every candidate is fitted from it, so a candidate's fit
        does not depend on the rest of the grid or on ``n_jobs``.
    n_init : int, default=1
        Initialisations per candidate; the best is kept. Must be 1 with ``init_params='hc'``,
        a deterministic start.
    init_params : str, default='hc'
        How every fit starts (see :class:`emkit.GaussianMixture`). 'hc', mclust's start:
        model-based agglomerative hierarchical clustering (VVV,
        :mod:`emkit.models.hierarchical`), computed once for all candidates and cut at every
        K, so that all covariance types start from the same partition.
    n_jobs : int or None, default=None
        Candidates fitted at once, on threads (the numeric kernels release the GIL); None
        means every available core, negative values count back from it. When more than one
        runs at a time, each fit runs its E-steps in one thread and BLAS in one thread, so
        the grid does not oversubscribe the cores; with ``n_jobs=1`` the fits run one after
        the other with their own ``n_jobs`` (GaussianMixture's default). Results do not
        depend on it. Inside ``emkit.config_context(executor=...)`` the candidates run as
        tasks of that executor instead.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weights, passed to every fit; the criteria then use weighted
        log-likelihoods and ``n = sum(sample_weight)``.
    **gaussian_mixture_options
        Further :class:`emkit.GaussianMixture` hyperparameters for every fit (``reg_covar``,
        ``tol``, ``max_iter``, ``hard``, ``chunk_size``, ``accelerate``, ...). ``tol``
        defaults to :data:`DEFAULT_TOL` and ``max_iter`` to :data:`DEFAULT_MAX_ITER`,
        tighter than GaussianMixture's own defaults because the criteria compare
        log-likelihoods. ``covariance_type``, the ``*_init`` starting points and
        ``warm_start`` are refused.

    Returns
    -------
    ModelSelection
        ``best_estimator_`` (the best fitted :class:`emkit.GaussianMixture`),
        ``best_params_``, ``best_score_``, ``candidates`` and ``table()`` / ``columns()``.
        A candidate that cannot be fitted (a singular covariance, more components than
        samples) is recorded with its error instead of raising; a non-converged fit is
        recorded with ``converged=False`` and no warning.

    Raises
    ------
    ValueError
        For invalid data or options, or when no candidate could be fitted (the message
        quotes the errors).

    Notes
    -----
    The returned models keep ``init_params='hc'`` and no explicit starting point: refitting
    one (``sklearn.base.clone(model).fit(X)``) recomputes the hierarchical start from the
    same seed and reaches the same parameters.
    """
    criterion = _check_criterion(criterion)
    ks = _check_components(n_components)
    types = _check_covariance_types(covariance_types)
    options = _check_options(gaussian_mixture_options)
    if init_params == "hc" and not (isinstance(n_init, numbers.Integral) and n_init == 1):
        raise ValueError(
            f"n_init must be 1 with init_params='hc', a deterministic start, got {n_init!r}"
        )
    # Checks every remaining hyperparameter once, before any fit.
    GaussianMixture(
        n_components=1, n_init=n_init, init_params=init_params, **options
    )._check_hyperparameters()
    executor = executor_for(n_jobs)
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    X = dask_rows(X)
    if isinstance(X, RowSource):
        Xa, w, n_eff = _checked_source(X, sample_weight)
        # The hierarchical start agglomerates a uniform sample, drawn in one pass.
        start_rows, start_weights = X.sample(DEFAULT_MAX_SAMPLES, np.random.RandomState(seed))
        start_rows = check_array(start_rows, dtype=[np.float64, np.float32])
    else:
        Xa = check_array(X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        # Before the hierarchical start, whose merge costs would overflow less legibly.
        check_magnitude(Xa, "Gaussian")
        w = _check_sample_weight(sample_weight, Xa.shape[0])
        n_eff = float(Xa.shape[0] if w is None else w.sum())
        start_rows, start_weights = Xa, w

    tree = None
    if init_params == "hc":
        try:
            # The same draws as the 'hc' initializer of a GaussianMixture seeded with `seed`.
            tree = agglomerate(
                start_rows,
                start_weights,
                random_state=np.random.RandomState(seed),
                chunk_size=options.get("chunk_size"),
            )
        except ValueError as exc:
            raise ValueError(
                f"the hierarchical start (init_params='hc') cannot be computed: {exc}. Start "
                "the fits otherwise, e.g. init_params='kmeans'"
            ) from None
    cells = [(name, k) for name in types for k in ks]
    fit_options = dict(options, n_init=n_init, init_params=init_params, random_state=seed)

    def fit(cell: tuple[str, int]) -> Candidate:
        name, k = cell
        start = None if tree is None else (start_rows, start_weights, tree)
        return _fit_candidate(Xa, w, n_eff, name, k, fit_options, start)

    candidates = executor.map(fit, cells)

    result = ModelSelection(criterion, n_eff, tuple(candidates), 0)
    ranked = sorted(range(len(candidates)), key=result._rank_key)
    if candidates[ranked[0]].failed:
        errors = sorted({c.error for c in candidates if c.error is not None})
        raise ValueError(
            f"none of the {len(candidates)} candidate models could be fitted: " + "; ".join(errors)
        )
    return ModelSelection(criterion, n_eff, tuple(candidates), ranked[0])


def _fit_candidate(
    X: np.ndarray | RowSource,
    w: np.ndarray | None,
    n_eff: float,
    name: str,
    k: int,
    options: dict[str, Any],
    start: tuple[np.ndarray, np.ndarray | None, Agglomeration] | None,
) -> Candidate:
    n_parameters = mclust_n_parameters(
        name, k, X.shape[1] if isinstance(X, np.ndarray) else X.n_features
    )
    estimator = GaussianMixture(n_components=k, covariance_type=name, **options)
    try:
        if start is not None:
            rows, weights, tree = start
            estimator.set_params(**_start(rows, weights, tree.cut(k), estimator))
        # Convergence is recorded as Candidate.converged instead of warned about; only for
        # this fit: the returned estimator warns as any other when fitted again.
        estimator._warn_unconverged = False
        try:
            estimator.fit(X, sample_weight=w)
        finally:
            del estimator._warn_unconverged
        if start is not None:
            # The fit is that of init_params='hc' from the same seed; keep no arrays.
            estimator.set_params(weights_init=None, means_init=None, precisions_init=None)
        rows = X if isinstance(X, RowSource) else ArrayRows(X, w)
        log_likelihood, entropy = _criteria_sums(estimator, rows)
    except _FIT_ERRORS as exc:
        nan = float("nan")
        return Candidate(name, k, n_parameters, nan, nan, nan, nan, False, 0, str(exc))
    singular = _regularised_only(estimator)
    if singular is not None:
        nan = float("nan")
        return Candidate(
            name,
            k,
            n_parameters,
            log_likelihood,
            nan,
            nan,
            nan,
            bool(estimator.converged_),
            int(estimator.n_iter_),
            f"not estimable: {singular}",
            estimator,
        )
    bic = 2.0 * log_likelihood - n_parameters * np.log(n_eff)
    return Candidate(
        covariance_type=name,
        n_components=k,
        n_parameters=n_parameters,
        log_likelihood=log_likelihood,
        bic=float(bic),
        icl=float(bic + 2.0 * entropy),
        aic=2.0 * log_likelihood - 2.0 * n_parameters,
        converged=bool(estimator.converged_),
        n_iter=int(estimator.n_iter_),
        error=None,
        estimator=estimator,
    )


def _checked_source(source: RowSource, sample_weight: Any) -> tuple[RowSource, None, float]:
    """``source`` checked a chunk at a time as Gaussian data, and its number of samples (the
    sum of the weights its chunks carry)."""
    if sample_weight is not None:
        raise ValueError(
            "sample_weight cannot be given with a row source: its sample weights go with its rows"
        )

    def check(rows: Any) -> np.ndarray:
        rows = check_array(rows, dtype=[np.float64, np.float32])
        check_magnitude(rows, "Gaussian")
        return rows

    checked = source.map(check)
    if source.n_rows is not None and not source.weighted:
        n_rows, n_eff = int(source.n_rows), float(source.n_rows)
    else:
        n_rows, n_eff = 0, 0.0
        for rows, weights in source.chunks(DEFAULT_CHUNK_SIZE):
            n_rows += rows.shape[0]
            n_eff += float(rows.shape[0] if weights is None else np.sum(weights))
    if n_rows < 2:
        raise ValueError(f"the source has {n_rows} rows; model selection needs at least 2")
    return checked, None, n_eff


def _criteria_sums(estimator: GaussianMixture, source: RowSource) -> tuple[float, float]:
    """The (weighted) sums over ``source``'s rows of the log-likelihood and of the log of the
    largest posterior probability, in one pass a chunk at a time."""
    model, params = estimator._fitted_model(), estimator._params()
    log_likelihood = entropy = 0.0
    for rows, weights in source.chunks(estimator.chunk_size or DEFAULT_CHUNK_SIZE):
        joint = model.log_joint(params, np.asarray(rows, dtype=np.float64))
        log_density = logsumexp(joint, axis=1)
        log_map = joint.max(axis=1) - log_density
        if weights is None:
            log_likelihood += float(log_density.sum())
            entropy += float(log_map.sum())
        else:
            log_likelihood += float(weights @ log_density)
            entropy += float(weights @ log_map)
    return log_likelihood, entropy


def _regularised_only(estimator: GaussianMixture) -> str | None:
    """Why the fitted covariances are singular but for ``reg_covar``, or None when they are
    not: a component with fewer distinct samples than features (or collinear ones) has a
    scatter of lower rank, and only the regulariser on its variances keeps the likelihood
    finite; its value then measures ``reg_covar``, not the data, and BIC would reward it."""
    k, d = estimator.means_.shape
    structure = covariance_structure(estimator.covariance_type)
    full = structure.full(np.asarray(estimator.covariances_, dtype=np.float64), k, d)
    eigenvalues = np.linalg.eigvalsh(full) - float(estimator.reg_covar)
    # What the data contribute, relative to each matrix's largest variance; round-off in
    # the subtraction is about eps times that.
    floor = ESTIMABLE_RANK_TOLERANCE * np.maximum(eigenvalues[:, -1], 0.0)
    singular = np.flatnonzero(eigenvalues[:, 0] <= floor)
    if singular.size == 0:
        return None
    return (
        f"the covariance of component {int(singular[0])} is singular but for "
        f"reg_covar={float(estimator.reg_covar):g} (too few distinct samples for {d} "
        "features, or collinear ones)"
    )


def _start(
    X: np.ndarray, w: np.ndarray | None, labels: np.ndarray, estimator: GaussianMixture
) -> dict[str, np.ndarray]:
    """The starting point of ``estimator`` from a partition of ``X``: one M-step of its
    covariance model (as its initializer's labels would give), as ``*_init`` arrays."""
    structure = covariance_structure(estimator.covariance_type)
    k = int(estimator.n_components)
    model = Mixture(
        Gaussian(structure, float(estimator.reg_covar)),
        k,
        lambda *_: labels,
        chunk_size=estimator.chunk_size,
    )
    params = model.init(X, np.random.RandomState(estimator.random_state), w)
    return {
        "weights_init": params.weights,
        "means_init": params.components.means,
        "precisions_init": structure.precisions(params.components.precisions_cholesky),
    }


# -- option checks ----------------------------------------------------------------------
def _check_criterion(criterion: Any) -> str:
    if not isinstance(criterion, str) or criterion.lower() not in CRITERIA:
        raise ValueError(f"criterion must be one of {list(CRITERIA)}, got {criterion!r}")
    return criterion.lower()


def _check_components(n_components: Any) -> list[int]:
    values = [n_components] if isinstance(n_components, numbers.Integral) else n_components
    try:
        ks = list(values)
    except TypeError:
        raise ValueError(
            f"n_components must be an integer or an iterable of integers, got {n_components!r}"
        ) from None
    if not ks:
        raise ValueError("n_components is empty: give at least one number of components")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"every number of components must be an integer >= 1, got {k!r}")
    if len(set(ks)) != len(ks):
        raise ValueError(f"n_components repeats a value: {ks}")
    return [int(k) for k in ks]


def _check_covariance_types(covariance_types: Any) -> list[str]:
    if covariance_types is None:
        return list(default_covariance_types())
    names = [covariance_types] if isinstance(covariance_types, str) else list(covariance_types)
    if not names:
        raise ValueError("covariance_types is empty: give at least one covariance type")
    seen: dict[type, str] = {}
    for name in names:
        kind = type(covariance_structure(name))  # raises for an unknown name
        if kind in seen:
            same = "twice" if seen[kind] == name else f"twice ({seen[kind]!r} and {name!r})"
            raise ValueError(f"covariance_types names the same model {same}")
        seen[kind] = name
    return [str(name) for name in names]


def _check_options(options: dict[str, Any]) -> dict[str, Any]:
    for name, why in _RESERVED.items():
        if name in options:
            raise ValueError(f"select_model does not take {name!r}: {why}")
    unknown = sorted(set(options) - set(GaussianMixture().get_params()))
    if unknown:
        raise ValueError(
            f"unknown GaussianMixture option(s) {unknown}; known: "
            f"{sorted(set(GaussianMixture().get_params()) - set(_RESERVED))}"
        )
    return {"tol": DEFAULT_TOL, "max_iter": DEFAULT_MAX_ITER, **options}


def _check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight.shape == {w.shape}, expected ({n_samples},)")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError("sample_weight must be finite, non-negative and not all zero")
    return w


def _is_registered(name: str) -> bool:
    try:
        covariance_structure(name)
    except ValueError:
        return False
    return True
