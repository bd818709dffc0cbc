"""``emkit.BayesianGaussianMixture``: a drop-in for ``sklearn.mixture.BayesianGaussianMixture``."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state

from emkit.core.batches import DEFAULT_CHUNK_SIZE
from emkit.estimators.base import EMEstimatorMixin, dask_rows
from emkit.estimators.description import COVARIANCE, FaceDescription, Phrase
from emkit.estimators.gaussian_mixture import REG_COVAR
from emkit.estimators.imputation import MixtureImputation
from emkit.estimators.mixtures import (
    MAX_ITER,
    N_COMPONENTS,
    TOL,
    VERBOSE,
    VERBOSE_INTERVAL,
    WARM_START,
    MixtureScoring,
    init_params,
)
from emkit.estimators.parameters import (
    CHUNK_SIZE,
    N_INIT,
    N_JOBS,
    RANDOM_STATE,
    DeclaredParameters,
    Param,
    anything,
    one_of,
    optional,
    real,
)
from emkit.exceptions import RegularisationWarning, warn
from emkit.execution.sources import ArrayRows, Chunk, RowSource
from emkit.families.checks import checked_array, dominant_regularisation
from emkit.families.covariance import covariance_structure
from emkit.families.gaussian import Gaussian, GaussianParams
from emkit.families.gaussian_missing import has_missing
from emkit.families.tables import Columns, CovarianceTables, ParameterTable
from emkit.models.initialization import initializer
from emkit.models.variational_mixture import (
    WEIGHT_PRIOR_TYPES,
    NormalWishartPrior,
    VariationalGaussianMixture,
    VariationalMixtureParams,
)
from emkit.numerics.linalg import semidefinite_log_det


class BayesianGaussianMixture(
    MixtureImputation,
    DeclaredParameters,
    MixtureScoring,
    EMEstimatorMixin,
    DensityMixin,
    BaseEstimator,
):
    """Variational Bayesian Gaussian mixture fitted by variational EM.

    Same constructor, attributes and methods as ``sklearn.mixture.BayesianGaussianMixture``
    (the same updates, so the same parameters from the same start), plus sample weights,
    chunked E-steps with bounded memory and threads. The bound it tracks is the full
    evidence lower bound (ELBO), constants included, per sample (per unit of sample
    weight); it never decreases when ``reg_covar=0``.

    Every component has a Normal-Wishart prior on its mean and (D x D) precision, and the
    weights a Dirichlet or a truncated stick-breaking (Dirichlet process) prior; see
    :mod:`emkit.models.variational_mixture`. ``covariance_type`` shapes the posterior
    Wishart factors: 'full' free, 'tied' one factor shared by all components, 'diag' a
    diagonal scale matrix, 'spherical' a multiple of the identity.

    Missing values: NaN cells (infinities are refused) are latent variables of the
    variational family, with a factor ``q(x_m | z)`` of every row's missing cells given its
    component, so the bound stays a lower bound on the evidence of the observed cells and
    never decreases (:mod:`emkit.models.variational_missing`; values assumed missing at
    random). A row with nothing observed counts for nothing (an ``EmptyRowWarning`` says
    how many), and its responsibilities are ``weights_``. The default priors then read the
    observed cells (see ``mean_prior`` and ``covariance_prior``). :meth:`impute` fills the
    missing cells with their mean under the variational posterior, ``sum_k q(z = k)
    E_q[x_m | z = k]``, with ``E_q[x_m | z = k]`` the conditional expectation given the
    observed cells under ``N(means_[k], covariances_[k])``; :meth:`sample_missing` draws
    them from ``q``.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Expected weights (with the Dirichlet process, expected stick lengths renormalised).
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        Inverse of every component's expected precision: (K, D, D) full, (D, D) tied,
        (K, D) diag, (K,) spherical.
    precisions_ : ndarray
    precisions_cholesky_ : ndarray
    weight_concentration_prior_ : float
    weight_concentration_ : ndarray of shape (n_components,) or tuple of two such arrays
        Posterior Dirichlet concentrations, or the Beta parameters of the sticks.
    mean_precision_prior_ : float
    mean_precision_ : ndarray of shape (n_components,)
    mean_prior_ : ndarray of shape (n_features,)
    degrees_of_freedom_prior_ : float
    degrees_of_freedom_ : ndarray of shape (n_components,), or float when tied
    covariance_prior_ : float or ndarray
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        ELBO per sample of the returned parameters, with every constant. When the prior's
        covariance is singular (the default, the data's covariance, with fewer samples than
        features or with constant or collinear features), the Wishart prior is improper and
        has no normalising constant: the bound then leaves that term out, so it is the ELBO
        up to a constant of the prior (still monotone, still comparable between fits with the
        same prior).
    lower_bounds_ : ndarray of shape (n_iter_ + 1,)
        ELBO per sample after every M-step of the best initialisation; element 0 belongs to
        the initial parameters.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string feature names.
    """

    description = FaceDescription(
        "variational",
        "component",
        title="variational Bayesian Gaussian mixture",
        tables=(
            ParameterTable("means by {unit}", (Columns("means_"),)),
            CovarianceTables("covariances_", "covariance_type"),
        ),
        words=(
            COVARIANCE,
            Phrase(
                "weight_concentration_prior_type",
                words={
                    "dirichlet_process": "Dirichlet process weight prior",
                    "dirichlet_distribution": "Dirichlet distribution weight prior",
                },
            ),
        ),
    )
    _parameters = (
        N_COMPONENTS.with_doc(
            """
            Number of components K; with the Dirichlet process prior an upper bound that the
            fit may leave partly unused.
            """,
        ),
        Param(
            "covariance_type",
            "full",
            "{'full', 'tied', 'diag', 'spherical'}",
            "",
            one_of("full", "tied", "diag", "spherical"),
        ),
        TOL.with_doc(
            """
            Convergence threshold on the change of the ELBO per sample (scikit-learn applies
            it to its un-normalised bound, which omits constants).
            """,
        ),
        REG_COVAR.with_doc(
            """
            Non-negative value added, times every component's weight, to the diagonal of the
            posterior Wishart's inverse scale matrix at every M-step. With ``reg_covar > 0``
            the M-step is not the exact maximiser of the ELBO, which may then decrease
            slightly.
            """,
        ),
        MAX_ITER,
        N_INIT.with_doc("Number of initialisations; the one with the highest final ELBO is kept."),
        init_params(
            "kmeans",
            "'random' draws the same responsibilities as scikit-learn from the same seed.",
        ),
        Param(
            "weight_concentration_prior_type",
            "dirichlet_process",
            "{'dirichlet_process', 'dirichlet_distribution'}",
            "",
            one_of(*WEIGHT_PRIOR_TYPES),
        ),
        Param(
            "weight_concentration_prior",
            None,
            "float",
            "``gamma > 0``; 1 / n_components when None.",
            optional(real(0.0, strict=True)),
        ),
        Param(
            "mean_precision_prior",
            None,
            "float",
            "``beta_0 > 0``; 1 when None.",
            optional(real(0.0, strict=True)),
        ),
        Param(
            "mean_prior",
            None,
            "array-like of shape (n_features,)",
            "``m_0``; the (weighted) mean of X when None (of every column's observed cells).",
            anything,
        ),
        Param(
            "degrees_of_freedom_prior",
            None,
            "float",
            "``nu_0 > n_features - 1``; n_features when None.",
            optional(real()),
        ),
        Param(
            "covariance_prior",
            None,
            "float or array-like",
            """
            The prior Wishart's inverse scale matrix ``W_0^-1``: (D, D) for 'full' and
            'tied', its diagonal (D,) for 'diag', a number for 'spherical'. When None, the
            (weighted, unbiased) covariance of X, its diagonal, or the mean of its diagonal.
            With missing cells, the covariance of X with every missing cell at its column's
            mean, scaled so that every variance is that of the column's observed cells
            (positive semi-definite, as pairwise-complete covariances need not be).
            """,
            anything,
        ),
        RANDOM_STATE,
        WARM_START.with_doc(
            """
            Start from the previous fit's parameters (``n_init`` is then ignored); the priors
            are computed again from the new data.
            """,
        ),
        VERBOSE,
        VERBOSE_INTERVAL,
        CHUNK_SIZE,
        N_JOBS,
    )

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> BayesianGaussianMixture:
        """Estimate the variational posterior by variational EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or RowSource
            Training data, NaN where a cell is missing; a row source
            (:func:`emkit.open_data`) is read a chunk at a time, the default priors'
            moments in two passes, and carries its own weights.
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights; integer weights give exactly the fit on repeated rows
            (the default priors are weighted too).

        Returns
        -------
        self
        """
        self._check_hyperparameters()
        warm = self._warm()
        X = dask_rows(X)
        if isinstance(X, RowSource):
            return self._fit_source(X, warm, sample_weight)
        X = self._gaussian().check_data(
            self._check_data(X, reset=not warm, min_samples=2, allow_nan=True)
        )
        block = self.chunk_size or DEFAULT_CHUNK_SIZE
        message = dominant_regularisation(X, float(self.reg_covar), "reg_covar", block)
        if message is not None:
            warn(message, RegularisationWarning)
        if X.shape[0] < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got "
                f"n_components = {self.n_components}, n_samples = {X.shape[0]}"
            )
        w = self._check_sample_weight(sample_weight, X.shape[0])
        start = self._params() if warm else None
        self._set_priors(ArrayRows(X, w))
        model = self._model()
        if start is not None:
            model.check_params(start, X.shape[1])
        result = self._run_em(model, X, w, init=start, chunk_size=self.chunk_size)
        self._set_params(result.params)
        return self

    def _fit_source(
        self, source: RowSource, warm: bool, sample_weight: Any
    ) -> BayesianGaussianMixture:
        """:meth:`fit` on a row source, read a chunk at a time: every chunk checked as it is
        read, and the data checks of the whole (the regularisation warning) left out."""
        if sample_weight is not None:
            raise ValueError(
                "with a row source, sample weights go with its rows: chunks of pairs "
                "(X, sample_weight)"
            )
        self._check_source_columns(source, reset=not warm)
        checked = self._checked_rows(source)
        start = self._params() if warm else None
        n_rows = self._set_priors(checked)
        if n_rows < max(2, self.n_components):
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {n_rows}"
            )
        model = self._model()
        if start is not None:
            model.check_params(start, source.n_features)
        result = self._run_em(model, checked, None, init=start, chunk_size=self.chunk_size)
        self._set_params(result.params)
        return self

    def _checked_rows(self, source: RowSource) -> RowSource:
        return source.map(self._gaussian().check_data)

    def _checked(self, X: Any) -> np.ndarray | RowSource:
        X = dask_rows(X)
        self._check_fitted()
        if isinstance(X, RowSource):
            self._check_source_columns(X, reset=False)
            return self._checked_rows(X)
        return self._check_data(X, reset=False, allow_nan=True)

    def _gaussian(self) -> Gaussian:
        """The family that checks the data: real values, NaN a missing cell (rows with
        nothing observed reported)."""
        return Gaussian(covariance_structure(self.covariance_type))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit, then return the component of every sample (equal to ``fit(X).predict(X)``).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.fit(X, sample_weight=sample_weight).predict(X)

    # -- scoring (chunked, from MixtureScoring) -------------------------------------------
    def score_samples(self, X: Any) -> np.ndarray:
        """``log sum_k exp(E[log pi_k] + E[log N(x | mu_k, Lambda_k^-1)])`` for every
        sample, shape (n_samples,): its term of the ELBO, as scikit-learn's
        ``score_samples`` (not the log predictive density)."""
        return super().score_samples(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Variational responsibilities ``q(z = k)``, shape (n_samples, n_components)."""
        return super().predict_proba(X)

    def _fitted_model(self) -> VariationalGaussianMixture:
        return self._model()

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw samples from the mixture with weights ``weights_``, means ``means_`` and
        covariances ``covariances_``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Component of every sample.
        """
        self._check_fitted()
        if int(n_samples) < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples}. The sampling "
                "requires at least one sample."
            )
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(int(n_samples), self.weights_)
        family = Gaussian(covariance_structure(self.covariance_type))
        gaussians = GaussianParams(self.means_, self.covariances_, self.precisions_cholesky_)
        X = family.sample(gaussians, counts, rng)
        return X, np.repeat(np.arange(self.n_components), counts)

    # -- internals ----------------------------------------------------------------------
    def _warm(self) -> bool:
        return bool(self.warm_start) and hasattr(self, "converged_")

    def _check_hyperparameters(self) -> None:
        self._check_parameters()

    def _set_priors(self, rows: RowSource) -> int:
        """The ``*_prior_`` attributes: the given values, checked, or defaults from the data
        ``rows``; returns the number of rows (read by the pass of the mean)."""
        n_features = rows.n_features
        k = self.n_components
        self.weight_concentration_prior_ = float(
            1.0 / k if self.weight_concentration_prior is None else self.weight_concentration_prior
        )
        self.mean_precision_prior_ = float(
            1.0 if self.mean_precision_prior is None else self.mean_precision_prior
        )
        if self.degrees_of_freedom_prior is None:
            self.degrees_of_freedom_prior_ = float(n_features)
        elif self.degrees_of_freedom_prior > n_features - 1.0:
            self.degrees_of_freedom_prior_ = float(self.degrees_of_freedom_prior)
        else:
            raise ValueError(
                f"The parameter 'degrees_of_freedom_prior' should be greater than "
                f"{n_features - 1}, but got {self.degrees_of_freedom_prior:.3f}."
            )
        step = self.chunk_size or DEFAULT_CHUNK_SIZE
        mean, n_rows, total, seen = _weighted_mean(rows.chunks(step), n_features)
        if self.mean_prior is None:
            self.mean_prior_ = mean
        else:
            self.mean_prior_ = np.array(self.mean_prior, dtype=np.float64)
            if self.mean_prior_.shape != (n_features,):
                raise ValueError(
                    f"The parameter 'means' should have the shape ({n_features},), "
                    f"but got {self.mean_prior_.shape}"
                )
            if not np.all(np.isfinite(self.mean_prior_)):
                raise ValueError("'mean_prior' holds NaN or infinite values")
        self.covariance_prior_ = self._covariance_prior(rows, mean, total, seen)
        return n_rows

    def _covariance_prior(
        self, rows: RowSource, mean: np.ndarray, total: float, seen: np.ndarray | None
    ) -> Any:
        if self.covariance_prior is None:
            # The data's covariance, as in scikit-learn (its diagonal, or mean variance, for
            # the narrower types). It is singular with fewer samples than features or with
            # constant or collinear features: the Wishart prior is then improper, and
            # lower_bound_ leaves out its normalising constant.
            step = self.chunk_size or DEFAULT_CHUNK_SIZE
            covariance = _weighted_covariance(rows.chunks(step), mean, total, seen)
            prior = covariance_structure(self.covariance_type).from_matrix(covariance)
            return float(prior) if prior.ndim == 0 else prior
        return self._given_covariance_prior(rows.n_features)

    def _given_covariance_prior(self, n_features: int) -> Any:
        """The given ``covariance_prior``, checked against ``n_features``."""
        kind = self.covariance_type
        structure = covariance_structure(kind)
        try:
            value = np.array(self.covariance_prior, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"covariance_prior must be a number or an array of numbers, got "
                f"{self.covariance_prior!r}"
            ) from None
        expected = structure.component_shape(n_features)
        if value.shape != expected:
            raise ValueError(
                f"The parameter '{kind} covariance_prior' should have the shape {expected}, "
                f"but got {value.shape}"
            )
        if not np.all(np.isfinite(value)):
            raise ValueError("'covariance_prior' holds NaN or infinite values")
        if structure.matrices:
            # Singular is allowed (an improper prior, as the default can be); negative
            # eigenvalues are not.
            semidefinite_log_det(value, f"'{kind} covariance_prior'")
            return value
        if np.any(value < 0.0) or not np.any(value > 0.0):
            raise ValueError(f"'{kind} covariance_prior' should be positive")
        return value if value.ndim else float(value)

    def _model(self) -> VariationalGaussianMixture:
        prior = NormalWishartPrior(
            mean=np.asarray(self.mean_prior_, dtype=np.float64),
            mean_precision=float(self.mean_precision_prior_),
            degrees_of_freedom=float(self.degrees_of_freedom_prior_),
            covariance=np.asarray(self.covariance_prior_, dtype=np.float64),
        )
        return VariationalGaussianMixture(
            int(self.n_components),
            prior,
            covariance_structure(self.covariance_type),
            self.weight_concentration_prior_type,
            float(self.weight_concentration_prior_),
            float(self.reg_covar),
            initializer(self.init_params, self.chunk_size),
            self.chunk_size,
        )

    _fitted_scalars = (
        *EMEstimatorMixin._fitted_scalars,
        "weight_concentration_prior_",
        "mean_precision_prior_",
        "degrees_of_freedom_prior_",
    )
    _fitted_arrays = (
        "weight_concentration_",
        "mean_precision_",
        "means_",
        "degrees_of_freedom_",
        "covariances_",
        "mean_prior_",
        "covariance_prior_",
        "lower_bounds_",
    )

    def _restore(self) -> None:
        # Hyperparameters are checked here too: an edited file must fail when it is read.
        self._check_hyperparameters()
        k, d = int(self.n_components), int(self.n_features_in_)
        if self.mean_prior is not None:
            checked_array(self.mean_prior, (d,), "mean_prior")
        if self.covariance_prior is not None:
            self._given_covariance_prior(d)
        sticks = self.weight_concentration_prior_type == "dirichlet_process"
        conc = checked_array(
            _stacked(self.weight_concentration_),
            (2, k) if sticks else (k,),
            "weight_concentration_",
        )
        self.weight_concentration_ = (conc[0], conc[1]) if sticks else conc
        structure = covariance_structure(self.covariance_type)
        shared = structure.shared
        dof = checked_array(self.degrees_of_freedom_, () if shared else (k,), "degrees_of_freedom_")
        self.degrees_of_freedom_ = float(dof) if shared else dof
        prior_shape = structure.component_shape(d)
        prior = checked_array(self.covariance_prior_, prior_shape, "covariance_prior_")
        self.covariance_prior_ = float(prior) if prior.ndim == 0 else prior
        self.mean_prior_ = checked_array(self.mean_prior_, (d,), "mean_prior_")
        means = checked_array(self.means_, (k, d), "means_")
        covariances = structure.check(self.covariances_, k, d, "covariances_")
        model = self._model()  # checks the priors
        params = VariationalMixtureParams(
            conc,
            checked_array(self.mean_precision_, (k,), "mean_precision_"),
            means,
            dof,
            covariances,
            structure.precisions_cholesky(covariances),
        )
        model.check_params(params, d)
        self._set_params(params)

    def _set_params(self, params: VariationalMixtureParams) -> None:
        conc = params.weight_concentration
        if self.weight_concentration_prior_type == "dirichlet_process":
            self.weight_concentration_ = (conc[0], conc[1])
        else:
            self.weight_concentration_ = conc
        self.mean_precision_ = params.mean_precision
        self.means_ = params.means
        dof = params.degrees_of_freedom
        self.degrees_of_freedom_ = float(dof) if np.ndim(dof) == 0 else dof
        self.covariances_ = params.covariances
        self.precisions_cholesky_ = params.precisions_cholesky
        self.precisions_ = covariance_structure(self.covariance_type).precisions(
            params.precisions_cholesky
        )
        self.weights_ = self._model().mean_weights(params)

    def _params(self) -> VariationalMixtureParams:
        self._check_fitted()
        return VariationalMixtureParams(
            _stacked(self.weight_concentration_),
            np.asarray(self.mean_precision_),
            self.means_,
            np.asarray(self.degrees_of_freedom_, dtype=np.float64),
            self.covariances_,
            self.precisions_cholesky_,
        )


def _stacked(conc: Any) -> np.ndarray:
    """Concentrations as one array: (K,), or (2, K) for the sticks' pair of arrays."""
    if isinstance(conc, tuple):
        return np.stack(conc)
    return np.asarray(conc, dtype=np.float64)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _weighted_mean(
    chunks: Iterable[Chunk], n_features: int
) -> tuple[np.ndarray, int, float, np.ndarray | None]:
    """Weighted mean, shape (n_features,), of the rows of ``chunks`` accumulated in float64,
    with their number and total weight; with NaN cells (missing), the mean of every
    column's observed cells, and the observed weight of every column, shape (n_features,)
    (None when no cell is missing).

    Raises
    ------
    ValueError
        When a column has no observed cell of positive weight.
    """
    n_rows, total, first, seen = 0, 0.0, np.zeros(n_features), np.zeros(n_features)
    missing = False
    for rows, w in chunks:
        x = np.asarray(rows, dtype=np.float64)
        weights = np.ones(x.shape[0]) if w is None else w
        n_rows += x.shape[0]
        total += weights.sum()
        if has_missing(x):
            missing = True
            observed = ~np.isnan(x)
            first += weights @ np.where(observed, x, 0.0)
            seen += weights @ observed
        else:
            first += weights @ x
            seen += weights.sum()
    if not missing:
        return first / total, n_rows, total, None
    if np.any(seen <= 0):
        column = int(np.flatnonzero(seen <= 0)[0])
        raise ValueError(
            f"column {column} of the data has no observed value (every cell NaN, or of zero "
            "weight): a mixture cannot be fitted to it; drop the column"
        )
    return first / seen, n_rows, total, seen


def _weighted_covariance(
    chunks: Iterable[Chunk], mean: np.ndarray, total: float, seen: np.ndarray | None
) -> np.ndarray:
    """Unbiased covariance (n_features, n_features) of the rows of ``chunks`` about their
    weighted ``mean``, their weights frequency weights summing to ``total`` (so that integer
    weights equal repeated rows), accumulated in float64.

    With missing cells (``seen``, the observed weight of every column, not None), every
    missing cell sits at its column's mean and entry ``(i, j)`` of the scatter is divided by
    ``sqrt((seen_i - 1) (seen_j - 1))``: the variances are those of the observed cells, and
    the matrix, a congruence ``D S D`` of a scatter, stays positive semi-definite.

    Raises
    ------
    ValueError
        When the total weight (of a column's observed cells) is at most one (no unbiased
        covariance).
    """
    if not total > 1.0:
        raise ValueError(
            "the default covariance_prior is the unbiased covariance of X, which needs a "
            f"total sample weight above 1 (got {total:g}); pass covariance_prior"
        )
    if seen is not None and not np.all(seen > 1.0):
        column = int(np.flatnonzero(~(seen > 1.0))[0])
        raise ValueError(
            "the default covariance_prior is the unbiased covariance of X, which needs an "
            f"observed weight above 1 in every column (column {column} has "
            f"{seen[column]:g}); pass covariance_prior"
        )
    d = mean.shape[0]
    scatter = np.zeros((d, d))
    for rows, w in chunks:
        diff = np.asarray(rows, dtype=np.float64) - mean
        if seen is not None:
            diff = np.where(np.isnan(diff), 0.0, diff)
        weighted = diff if w is None else diff * w[:, None]
        scatter += weighted.T @ diff
    if seen is None:
        return scatter / (total - 1.0)
    scale = 1.0 / np.sqrt(seen - 1.0)
    return scatter * scale[:, None] * scale[None, :]
