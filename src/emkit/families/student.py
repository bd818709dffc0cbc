"""Student-t components: K multivariate t distributions scored and re-estimated together.

A multivariate t is a Gaussian scale mixture: ``x | tau ~ N(mu, Sigma / tau)`` with a hidden
precision scale ``tau ~ Gamma(nu / 2, rate nu / 2)``. Treating ``tau`` as one more latent
variable gives an EM algorithm whose M-step is a sequence of conditional maximisations (ECM;
McLachlan and Peel, *Finite Mixture Models*, 2000, ch. 7; Liu and Rubin, Biometrika 81,
1994). For weights ``w_ik`` (mixture responsibilities or HMM state posteriors, times sample
weights) the E-step needs

- ``u_ik = E[tau_ik | x_i, k] = (nu_k + D) / (nu_k + delta_ik)``, with ``delta_ik`` the squared
  Mahalanobis distance of ``x_i`` from ``mu_k`` under ``Sigma_k``;
- ``E[log tau_ik | x_i, k] = log u_ik + psi((nu_k + D) / 2) - log((nu_k + D) / 2)``.

The expected complete-data log-likelihood then separates into a Gaussian part in
``(mu_k, Sigma_k)`` with sample weights ``w_ik u_ik`` and a Gamma part in ``nu_k``, so the
conditional maximisations are

- ``mu_k = sum_i w_ik u_ik x_i / sum_i w_ik u_ik`` and
  ``Sigma_k = sum_i w_ik u_ik (x_i - mu_k)(x_i - mu_k)^T / sum_i w_ik`` (reduced as the
  covariance structure needs, exactly as for Gaussian components);
- ``nu_k``: the root of the one-dimensional score equation
  ``log(nu / 2) - psi(nu / 2) + g_k = 0``, with
  ``g_k = sum_i w_ik (E[log tau_ik] - E[tau_ik] + 1) / sum_i w_ik <= 0``.

Each step maximises the expected complete-data log-likelihood, so the observed
log-likelihood never decreases (with ``reg_covar=0``).

Missing values (NaN cells): a row is scored by the t density of its observed coordinates and
its statistics condition the missing ones and ``tau`` on them
(:mod:`emkit.families.student_missing`); rows without NaN take the paths above unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq
from scipy.special import digamma, gammaln

from emkit.core.stats import Additive
from emkit.families.base import Family
from emkit.families.checks import (
    check_frozen,
    check_prior,
    checked_array,
    empty_components,
    real_data_with_missing,
)
from emkit.families.covariance import LOG_2PI, CovarianceStructure, covariance_structure
from emkit.families.gaussian import Gaussian, GaussianParams
from emkit.families.gaussian_missing import has_missing, split_rows
from emkit.families.imputation import register_imputation
from emkit.families.student_missing import (
    MissingMoments,
    StudentImputation,
    missing_log_prob,
    missing_mixture_e_step,
    missing_stats,
)
from emkit.families.tables import Columns, CovarianceTables, ParameterTable, Table, covariance_words
from emkit.numerics.logspace import responsibilities

DOF_MAX = 1000.0
"""Largest degrees of freedom the M-step chooses.

The score equation of ``nu_k`` has a finite root only when the weighted samples of component
``k`` have heavier tails than a Gaussian (``g_k < 0``); otherwise the expected log-likelihood
increases all the way to ``nu = inf``, the Gaussian limit. The M-step then returns
:data:`DOF_MAX`, the maximiser of the expected log-likelihood over ``(0, DOF_MAX]``, so EM
stays monotone. The log-density of a t differs from the Gaussian's by about
``(delta^2 - 2 D delta + D (D - 2)) / (4 nu)``: about 0.01 at three scale units from the
location in two dimensions when ``nu = DOF_MAX``. Degrees of freedom already above the cap
(given by the user) widen the interval to ``(0, nu_k]``.
"""

_LOG_TINY = float(np.log(np.finfo(np.float64).tiny))

DOF_XTOL = 1e-13
"""Absolute tolerance of the root of the score equation in ``log(nu)``, i.e. a relative
tolerance on ``nu``."""


@dataclass(frozen=True, eq=False)
class StudentParams:
    """Parameters of K multivariate t components in D dimensions.

    Attributes
    ----------
    means : ndarray of shape (n_components, n_features)
        Locations ``mu_k`` (the means when ``dof > 1``).
    covariances : ndarray
        Scale matrices ``Sigma_k`` (the covariance is ``nu / (nu - 2) Sigma`` when ``dof > 2``),
        in the shape given by the covariance structure: (K, D, D) full, (D, D) tied, (K, D)
        diag, (K,) spherical.
    precisions_cholesky : ndarray
        Cholesky factors of the inverse scale matrices, same shape as ``covariances``.
    dof : ndarray of shape (n_components,)
        Degrees of freedom ``nu_k > 0`` (all equal when they are shared).
    """

    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray
    dof: np.ndarray


@dataclass(frozen=True, eq=False)
class StudentStats(Additive):
    """Weighted moments of the samples under the hidden scales, centred on the locations
    they were computed under.

    With ``w_ik`` the weights of the samples and ``u_ik = E[tau_ik]``:

    Attributes
    ----------
    sum_w : ndarray of shape (n_components,)
        ``sum_i w_ik``.
    sum_wu : ndarray of shape (n_components,)
        ``sum_i w_ik u_ik``.
    sum_dx : ndarray of shape (n_components, n_features)
        ``sum_i w_ik u_ik (x_i - c_k)`` with ``c_k`` the current location.
    scatter : ndarray
        ``sum_i w_ik u_ik (x_i - c_k)(x_i - c_k)^T`` reduced as the covariance structure
        needs.
    sum_w_log_tau : ndarray of shape (n_components,)
        ``sum_i w_ik E[log tau_ik]``.
    """

    sum_w: np.ndarray
    sum_wu: np.ndarray
    sum_dx: np.ndarray
    scatter: np.ndarray
    sum_w_log_tau: np.ndarray
    centre: np.ndarray
    covariance: CovarianceStructure

    references = ("centre", "covariance")

    def rebased(self, like: StudentStats) -> StudentStats:
        """These moments about ``like.centre``."""
        if like.covariance != self.covariance:
            raise ValueError(
                f"statistics reduced to {self.covariance!r} cannot be added to those reduced "
                f"to {like.covariance!r}"
            )
        return self.about(like.centre)

    def about(self, centre: np.ndarray) -> StudentStats:
        """These moments about ``centre`` (n_components, n_features): the first and second
        moments weighted by ``w u`` move as Gaussian moments of weights ``sum_wu`` do."""
        if centre is self.centre:
            return self
        sum_dx, scatter = self.covariance.rebase(
            self.sum_wu, self.sum_dx, self.scatter, self.centre - centre
        )
        return replace(self, sum_dx=sum_dx, scatter=scatter, centre=centre)


FROZEN_CHOICES = frozenset({"means", "covariances", "dof"})


@dataclass(frozen=True)
class StudentT(Family):
    """The multivariate Student-t family with a covariance structure for the scale matrices.

    ``log p(x | k) = log Gamma((nu + D) / 2) - log Gamma(nu / 2) - (D / 2) log(nu pi)
    - (1 / 2) log|Sigma| - ((nu + D) / 2) log(1 + delta / nu)`` with
    ``delta = (x - mu)^T Sigma^{-1} (x - mu)``.

    Parameters
    ----------
    covariance : str or CovarianceStructure, default='full'
        Structure of the scale matrices: 'full', 'tied', 'diag', 'spherical', or a strategy
        object (:mod:`emkit.families.covariance`).
    reg_covar : float, default=1e-6
        Added to the variances of the scale matrices at every M-step, as for Gaussian
        components. With ``reg_covar > 0`` the M-step is no longer the exact maximiser, so
        the bound may (slightly) decrease; the family then reports ``monotone = False``.
    dof_init : float or tuple of float, default=10.0
        Degrees of freedom the components start from (:meth:`from_responsibilities`): one
        value for all, or one per component. With 'dof' frozen they keep these values (or
        those of the parameters a fit starts from).
    shared_dof : bool, default=False
        One number of degrees of freedom for all components, estimated from all the data.
    frozen : frozenset of {'means', 'covariances', 'dof'}
        Parameters the M-step keeps as they are.

    Notes
    -----
    The degrees of freedom are kept at most :data:`DOF_MAX` (see there): a component whose
    samples are no heavier-tailed than a Gaussian reaches that cap.

    Missing values (NaN cells) are allowed (:attr:`allows_missing`), assumed missing at
    random. A row is scored by the t density of its observed coordinates (the same degrees
    of freedom), and its statistics complete the missing ones by their conditional
    expectation given the observed ones, with the hidden scale's posterior given what is
    observed (see :mod:`emkit.families.student_missing`). A row with nothing observed counts
    for nothing. Rows without NaN take the same passes as when nothing is missing, with
    bit-identical results.
    """

    allows_missing: ClassVar[bool] = True
    """NaN cells are missing values that the E-step conditions on (not an error)."""

    covariance: CovarianceStructure = field(default_factory=lambda: covariance_structure("full"))
    reg_covar: float = 1e-6
    dof_init: float | tuple[float, ...] = 10.0
    shared_dof: bool = False
    frozen: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "covariance", covariance_structure(self.covariance))
        object.__setattr__(self, "frozen", check_frozen(self.frozen, FROZEN_CHOICES, "Student-t"))
        object.__setattr__(
            self, "reg_covar", check_prior(self.reg_covar, "reg_covar", positive=False)
        )
        given = np.asarray(self.dof_init)
        if given.dtype.kind not in "iuf":
            raise ValueError(f"dof_init must be a positive number, got {self.dof_init!r}")
        dof = given.astype(np.float64)
        if dof.ndim > 1 or dof.size == 0:
            raise ValueError(
                f"dof_init must be a number or one number per component, got shape {dof.shape}"
            )
        _check_dof(dof, "dof_init")
        if self.shared_dof and np.ptp(dof) > 0:
            raise ValueError("with shared_dof=True, dof_init must hold a single value")
        # A tuple, not an array: the family is a hashable, comparable value.
        value = float(dof) if dof.ndim == 0 else tuple(float(v) for v in dof)
        object.__setattr__(self, "dof_init", value)

    @property
    def monotone(self) -> bool:
        """Whether the M-step exactly maximises the expected complete-data log-likelihood."""
        return self.reg_covar == 0 or "covariances" in self.frozen

    params_class = StudentParams
    title = "Student-t"

    def summary_words(self) -> tuple[str, ...]:
        return (covariance_words(self.covariance.name),)

    def summary_tables(self) -> tuple[Table, ...]:
        return (
            ParameterTable(
                "degrees of freedom (dof) and locations by {unit}",
                (Columns("dof", "value", "dof"), Columns("means")),
            ),
            CovarianceTables(
                "covariances",
                self.covariance,
                matrix="scale matrix of {unit} {j}",
                shared="scale matrix of every {unit}",
                diagonal="scale matrix diagonals by {unit}",
            ),
        )

    def stored_names(self) -> tuple[str, ...]:
        """Locations, scale matrices and degrees of freedom; the Cholesky factors of the
        precisions follow from them."""
        return ("means", "covariances", "dof")

    def from_stored(
        self, arrays: dict[str, np.ndarray], n_components: int, n_features: int
    ) -> StudentParams:
        """Checked parameters (see :meth:`from_covariances`), with the Cholesky factors of
        the precisions computed."""
        means = checked_array(arrays["means"], (n_components, n_features), "means_")
        dof = checked_array(arrays["dof"], (n_components,), "dof_")
        return self.from_covariances(means, arrays["covariances"], dof)

    def check_data(self, X: ArrayLike) -> np.ndarray:
        """Validate real-valued data, NaN marking missing values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Finite numbers, or NaN for a missing value.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The data as a floating array (float32 kept, otherwise float64).

        Raises
        ------
        ValueError
            Naming the first problem: not numeric, not 2-D, infinite values, or values too
            large for float64 arithmetic.

        Warns
        -----
        EmptyRowWarning
            Once, naming how many rows have no observed value (they count for nothing).
        """
        return real_data_with_missing(X, "Student-t")

    # -- scores ---------------------------------------------------------------------------
    def log_prob(self, params: StudentParams, X: ArrayLike) -> np.ndarray:
        """``log t(x_i | mu_k, Sigma_k, nu_k)``, shape (n_samples, n_components). For a row
        with NaN cells, the t density of its observed coordinates (0 when nothing is
        observed)."""
        X = np.asarray(X, dtype=np.float64)
        if not has_missing(X):
            return self._complete_log_prob(params, X)
        split = split_rows(X)
        out = np.zeros((X.shape[0], params.means.shape[0]))
        if split.complete.size:
            out[split.complete] = self._complete_log_prob(params, X[split.complete])
        out[split.partial] = missing_log_prob(self.covariance, params, X[split.partial])
        return out

    def _complete_log_prob(self, params: StudentParams, X: np.ndarray) -> np.ndarray:
        delta, log_mode = self._sq_mahalanobis(params, X)
        return self._log_density(delta, log_mode, params.dof, X.shape[1])

    def _sq_mahalanobis(
        self, params: StudentParams, X: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Squared Mahalanobis distances ``delta`` (n_samples, n_components) and the Gaussian
        log-densities at the modes, ``log N(mu_k | mu_k, Sigma_k)`` (n_components,)."""
        means, prec_chol = params.means, params.precisions_cholesky
        k, d = means.shape
        delta = self.covariance.sq_mahalanobis(X, means, prec_chol)
        log_mode = self.covariance.log_det(prec_chol, k, d) - 0.5 * d * LOG_2PI
        return delta, log_mode

    @staticmethod
    def _log_density(
        delta: np.ndarray, log_mode: np.ndarray, dof: np.ndarray, n_features: int
    ) -> np.ndarray:
        """t log-densities from distances ``delta`` (n, K), computed in place on ``delta``.

        With ``log_mode = log|Sigma|^{-1/2} - (D / 2) log(2 pi)``, the t normaliser is
        ``log_mode + (D / 2) log(2 / nu) + log Gamma((nu + D) / 2) - log Gamma(nu / 2)``.
        """
        half = 0.5 * (dof + n_features)
        bias = log_mode + 0.5 * n_features * np.log(2.0 / dof) + gammaln(half) - gammaln(0.5 * dof)
        delta /= dof
        np.log1p(delta, out=delta)
        delta *= -half
        delta += bias
        return delta

    # -- statistics and M-step ------------------------------------------------------------
    def stats(self, params: StudentParams, X: ArrayLike, resp: np.ndarray) -> StudentStats:
        """Statistics of samples ``X`` (n, D) with weights ``resp`` (n, K), centred on
        ``params.means``; the missing cells (NaN) of a row and its hidden scale conditioned
        on its observed cells, a row with nothing observed left out (see the class notes)."""
        X = np.asarray(X, dtype=np.float64)
        resp = np.asarray(resp, dtype=np.float64)
        if not has_missing(X):
            delta, _ = self._sq_mahalanobis(params, X)
            return self._stats(params, X, resp, delta)
        split = split_rows(X)
        complete = X[split.complete]
        delta, _ = self._sq_mahalanobis(params, complete)
        stats = self._stats(params, complete, resp[split.complete], delta)
        partial = missing_stats(self.covariance, params, X[split.partial], resp[split.partial])
        return stats + self._from_moments(params, partial)

    def _from_moments(self, params: StudentParams, moments: MissingMoments) -> StudentStats:
        return StudentStats(
            moments.sum_w,
            moments.sum_wu,
            moments.sum_dx,
            moments.scatter,
            moments.sum_w_log_tau,
            params.means,
            self.covariance,
        )

    def _stats(
        self, params: StudentParams, X: np.ndarray, resp: np.ndarray, delta: np.ndarray
    ) -> StudentStats:
        """:meth:`stats` from the distances ``delta`` (n, K), which it overwrites."""
        n_features = X.shape[1]
        dof = params.dof
        shifted = np.add(delta, dof, out=delta)
        # E[log tau] = log(nu + D) - log(nu + delta) + psi(a) - log(a), a = (nu + D) / 2.
        half = 0.5 * (dof + n_features)
        # einsum sums the columns of a C-ordered (n, K) array several times faster than
        # sum(axis=0) does.
        sum_w = np.einsum("nk->k", resp)
        sum_w_log_tau = sum_w * (np.log(dof + n_features) + digamma(half) - np.log(half))
        sum_w_log_tau -= np.einsum("nk,nk->k", resp, np.log(shifted))
        wu = np.divide(dof + n_features, shifted, out=shifted)
        wu *= resp
        sum_dx, scatter = self.covariance.moments(X, wu, params.means)
        return StudentStats(
            sum_w,
            np.einsum("nk->k", wu),
            sum_dx,
            scatter,
            sum_w_log_tau,
            params.means,
            self.covariance,
        )

    def mixture_e_step(
        self,
        params: StudentParams,
        log_weights: np.ndarray,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        hard: bool,
    ) -> tuple[StudentStats, float]:
        """The E-step of a mixture of these components, with the distances computed once
        for the scores and the statistics.

        The plain path of the mixture structure
        (:meth:`emkit.models.mixture.Mixture.e_step_reference`, through :meth:`log_prob` and
        :meth:`stats`) is its reference.

        Parameters
        ----------
        params : StudentParams
        log_weights : ndarray of shape (n_components,)
            Log mixing proportions (-inf for a component of zero weight).
        X : ndarray of shape (n_samples, n_features)
            NaN cells are missing values: the rows holding them are conditioned on their
            observed cells (see the class notes), the others take the plain pass.
        sample_weight : ndarray of shape (n_samples,) or None
        hard : bool
            Classification EM: each sample goes wholly to its most probable component.

        Returns
        -------
        stats : StudentStats
            Centred on ``params.means``; ``stats.sum_w`` are the mixture's component weights.
        loglik : float
            Summed (weighted) log-likelihood of the batch.
        """
        X = np.asarray(X, dtype=np.float64)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if not has_missing(X):
            return self._complete_e_step(params, log_weights, X, weights, hard)
        split = split_rows(X)
        stats, loglik = self._complete_e_step(
            params,
            log_weights,
            X[split.complete],
            None if weights is None else weights[split.complete],
            hard,
        )
        partial = missing_mixture_e_step(
            self.covariance,
            params,
            log_weights,
            X[split.partial],
            None if weights is None else weights[split.partial],
            hard,
        )
        return stats + self._from_moments(params, partial), loglik + partial.loglik

    def _complete_e_step(
        self,
        params: StudentParams,
        log_weights: np.ndarray,
        X: np.ndarray,
        weights: np.ndarray | None,
        hard: bool,
    ) -> tuple[StudentStats, float]:
        """:meth:`mixture_e_step` of rows without NaN (float64)."""
        delta, log_mode = self._sq_mahalanobis(params, X)
        log_joint = self._log_density(delta.copy(), log_mode, params.dof, X.shape[1])
        log_joint += log_weights
        resp, loglik = responsibilities(log_joint, weights, hard)
        return self._stats(params, X, resp, delta), loglik

    def m_step(self, stats: StudentStats, params: StudentParams) -> StudentParams:
        """Conditional maximisations: locations and scale matrices with weights ``w u``,
        then the degrees of freedom from the score equation (see the module docstring).

        Components with (numerically) no weight keep their parameters: any value maximises
        the expected log-likelihood there.
        """
        if "means" in self.frozen:
            # Frozen locations stay where they are: the moments about them give the scales.
            stats = stats.about(params.means)
        nk = stats.sum_w
        empty = empty_components(nk)
        safe_nk = np.where(empty, 1.0, nk)
        if "means" in self.frozen:
            shift = np.zeros_like(stats.sum_dx)
        else:
            safe_wu = np.where(empty, 1.0, stats.sum_wu)
            shift = np.where(empty[:, None], 0.0, stats.sum_dx / safe_wu[:, None])
        means = stats.centre + shift
        means[empty] = params.means[empty]
        if "covariances" in self.frozen:
            covariances, prec_chol = params.covariances, params.precisions_cholesky
        else:
            # The scatter about the new locations is ``scatter - sum_wu shift shift^T``, and
            # the scale divides it by ``sum_w``; the structure's estimate divides its scatter
            # by its weights and subtracts ``shift' shift'^T``, so ``shift' = shift *
            # sqrt(sum_wu / sum_w)`` makes it compute exactly the scale, ``reg_covar`` and
            # empty components included, for every structure.
            scaled = shift * np.sqrt(np.where(empty, 0.0, stats.sum_wu) / safe_nk)[:, None]
            covariances = self.covariance.estimate(
                nk, scaled, stats.scatter, self.reg_covar, params.covariances, empty
            )
            prec_chol = self.covariance.precisions_cholesky(covariances)
        dof = params.dof if "dof" in self.frozen else self._dof_step(stats, params.dof, empty)
        return StudentParams(means, covariances, prec_chol, dof)

    def _dof_step(self, stats: StudentStats, dof: np.ndarray, empty: np.ndarray) -> np.ndarray:
        """Degrees of freedom maximising the expected log-likelihood, shape (n_components,)."""
        dof = np.asarray(dof, dtype=np.float64)
        # sum_i w_i (E[log tau_i] - E[tau_i] + 1): the data term of the score equation.
        gap = stats.sum_w_log_tau - stats.sum_wu + stats.sum_w
        if self.shared_dof:
            full = ~empty
            pooled = gap[full].sum() / stats.sum_w[full].sum()
            return np.full(dof.shape, solve_dof(pooled, max(DOF_MAX, float(dof.max()))))
        new = dof.copy()
        for k in np.flatnonzero(~empty):
            new[k] = solve_dof(gap[k] / stats.sum_w[k], max(DOF_MAX, dof[k]))
        return new

    def from_responsibilities(
        self, chunks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
    ) -> StudentParams:
        """Parameters from initial responsibilities: the weighted Gaussian estimates of the
        locations and scale matrices (every ``u = 1``), and ``dof_init``.

        Parameters
        ----------
        chunks : callable
            Returns a fresh iterable of ``(X, resp)`` pairs: float64 samples of shape
            (n, n_features) and their responsibilities (n, n_components), already multiplied
            by the sample weights. Read twice.

        Components with no weight start at the overall mean and covariance.

        Raises
        ------
        ValueError
            When ``dof_init`` holds one value per component and their number is not
            ``n_components``.
        """
        gaussian = Gaussian(self.covariance, self.reg_covar).from_responsibilities(chunks)
        n_components = gaussian.means.shape[0]
        dof = np.asarray(self.dof_init, dtype=np.float64)
        if dof.ndim == 1 and dof.shape != (n_components,):
            raise ValueError(
                f"dof_init holds {dof.size} values for {n_components} components; give one "
                "number, or one per component"
            )
        return StudentParams(
            gaussian.means,
            gaussian.covariances,
            gaussian.precisions_cholesky,
            np.broadcast_to(dof, (n_components,)).copy(),
        )

    def from_covariances(
        self, means: ArrayLike, covariances: ArrayLike, dof: ArrayLike
    ) -> StudentParams:
        """Validated parameters with their Cholesky precision factors computed.

        Parameters
        ----------
        means : array-like of shape (n_components, n_features)
        covariances : array-like
            Scale matrices in the covariance structure's shape.
        dof : float or array-like of shape (n_components,)
            Positive degrees of freedom (all equal when they are shared).

        Raises
        ------
        ValueError
            For wrong shapes, non-finite values, scale matrices that are not positive
            definite, or degrees of freedom that are not positive (or differ while shared).
        """
        means = np.asarray(means, dtype=np.float64)
        if means.ndim != 2 or not np.all(np.isfinite(means)):
            raise ValueError("means must be a finite array of shape (n_components, n_features)")
        n_components, n_features = means.shape
        covariances = self.covariance.check(covariances, n_components, n_features, "covariances")
        dof = np.asarray(dof, dtype=np.float64)
        try:
            dof = np.broadcast_to(dof, (n_components,)).copy()
        except ValueError:
            raise ValueError(
                f"dof must be a number or have shape ({n_components},), got {dof.shape}"
            ) from None
        _check_dof(dof, "dof")
        if self.shared_dof and np.ptp(dof) > 0:
            raise ValueError("with shared_dof=True, all components must have the same dof")
        return StudentParams(
            means, covariances, self.covariance.precisions_cholesky(covariances), dof
        )

    # -- unconstrained coordinates (for SQUAREM, emkit.core.acceleration) ------------------
    def to_unconstrained(self, params: StudentParams) -> np.ndarray:
        """Coordinates in which every vector gives valid parameters, shape (n,), float64.

        The Gaussian family's coordinates of the locations and scale matrices
        (:meth:`emkit.families.gaussian.Gaussian.to_unconstrained`), then ``log(dof)``: one
        per component, or one in all when they are shared. Frozen parameters are left out.
        """
        parts = [self._gaussian.to_unconstrained(_gaussian_params(params))]
        if "dof" not in self.frozen:
            dof = np.asarray(params.dof, dtype=np.float64)
            parts.append(np.log(dof[:1] if self.shared_dof else dof))
        return np.concatenate(parts).astype(np.float64, copy=False)

    def from_unconstrained(self, vector: ArrayLike, like: StudentParams) -> StudentParams:
        """Parameters at unconstrained coordinates ``vector`` (see :meth:`to_unconstrained`),
        shaped like ``like``, whose values frozen parameters keep.

        Degrees of freedom are those of the M-step's interval ``(0, max(DOF_MAX, nu_k)]``
        with ``nu_k`` those of ``like``: coordinates beyond its end give the end, so that an
        extrapolation keeps to the parameters EM itself can reach, and to its fixed points.

        Raises
        ------
        ValueError
            When ``vector`` has the wrong length, or gives scale matrices that are not
            positive definite or degrees of freedom that underflow to zero.
        """
        vector = np.asarray(vector, dtype=np.float64)
        n_components = np.shape(like.dof)[0]
        n_dof = 0 if "dof" in self.frozen else (1 if self.shared_dof else n_components)
        if vector.size < n_dof:
            raise ValueError("the coordinate vector is shorter than the parameters")
        split = vector.size - n_dof
        gaussian = self._gaussian.from_unconstrained(vector[:split], _gaussian_params(like))
        if n_dof == 0:
            dof = like.dof
        else:
            with np.errstate(over="ignore", under="ignore"):
                dof = np.broadcast_to(np.exp(vector[split:]), (n_components,)).copy()
            # An extrapolation past the cap would hold the degrees of freedom where no EM
            # step from this point can take them.
            np.minimum(dof, np.maximum(DOF_MAX, like.dof), out=dof)
            _check_dof(dof, "dof")
        return StudentParams(
            gaussian.means, gaussian.covariances, gaussian.precisions_cholesky, dof
        )

    @property
    def _gaussian(self) -> Gaussian:
        """The Gaussian family that shares the locations' and scales' coordinates."""
        return Gaussian(self.covariance, self.reg_covar, self.frozen - {"dof"})

    # -- model size and simulation ----------------------------------------------------------
    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of K components: locations, scale matrices and degrees of
        freedom (one in all when shared), less those frozen."""
        n = 0
        if "means" not in self.frozen:
            n += n_components * n_features
        if "covariances" not in self.frozen:
            n += self.covariance.n_parameters(n_components, n_features)
        if "dof" not in self.frozen:
            n += 1 if self.shared_dof else n_components
        return n

    def sample(
        self, params: StudentParams, counts: ArrayLike, random_state: np.random.RandomState
    ) -> np.ndarray:
        """``counts[k]`` samples from every component, stacked in component order,
        shape (counts.sum(), n_features): Gaussian draws about zero with the scale matrices,
        divided by the square roots of Gamma(nu / 2, rate nu / 2) draws, plus the locations.
        """
        counts = np.asarray(counts, dtype=np.int64)
        means = np.asarray(params.means, dtype=np.float64)
        centred = GaussianParams(
            np.zeros_like(means), params.covariances, params.precisions_cholesky
        )
        z = self._gaussian.sample(centred, counts, random_state)
        dof = np.repeat(np.asarray(params.dof, dtype=np.float64), counts)
        tau = random_state.gamma(shape=0.5 * dof, scale=2.0 / dof)
        return z / np.sqrt(tau)[:, None] + np.repeat(means, counts, axis=0)


def dof_score(nu: float, gap: float) -> float:
    """The score equation of the degrees of freedom, divided by the component's weight:
    ``log(nu / 2) - psi(nu / 2) + gap``, decreasing in ``nu`` from ``+inf`` to ``gap``."""
    half = 0.5 * nu
    return float(np.log(half) - digamma(half) + gap)


def solve_dof(gap: float, upper: float = DOF_MAX) -> float:
    """The degrees of freedom that maximise the expected log-likelihood over ``(0, upper]``.

    Parameters
    ----------
    gap : float
        ``sum_i w_i (E[log tau_i] - E[tau_i] + 1) / sum_i w_i`` of one component, at most 0.
    upper : float, default=DOF_MAX
        Largest value allowed.

    Returns
    -------
    float
        The root of :func:`dof_score` (found by Brent's method in ``log(nu)``), or ``upper``
        when the score is still positive there (the root lies beyond it, or at infinity when
        ``gap >= 0``).

    Raises
    ------
    ValueError
        When ``gap`` is not finite.
    """
    gap = float(gap)
    if not np.isfinite(gap):
        raise ValueError(
            f"the degrees-of-freedom statistic is {gap}: a component's scale matrix has "
            "degenerated (try a larger reg_covar)"
        )

    def score(log_nu: float) -> float:
        return dof_score(np.exp(log_nu), gap)

    high = float(np.log(upper))
    if score(high) >= 0.0:
        return float(upper)
    # The score grows like 2 / nu as nu -> 0, so stepping down finds a positive value
    # (before nu underflows, unless gap is beyond any sample's reach).
    low = min(0.0, high)
    while score(low) <= 0.0:
        low -= 2.0
        if low < _LOG_TINY:
            raise ValueError(
                f"the degrees-of-freedom statistic is {gap}: no positive degrees of freedom "
                "solve the score equation in floating point"
            )
    return float(np.exp(brentq(score, low, high, xtol=DOF_XTOL)))


def _check_dof(dof: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(dof) & (dof > 0)):
        raise ValueError(f"{name} must be finite and positive, got {np.asarray(dof).tolist()}")


def _gaussian_params(params: StudentParams) -> GaussianParams:
    return GaussianParams(params.means, params.covariances, params.precisions_cholesky)


register_imputation(StudentT, StudentImputation())
