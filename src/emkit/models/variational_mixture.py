"""The variational Bayesian Gaussian mixture, fitted by variational EM on the one driver.

Generative model (Bishop 2006, sec. 10.2; Blei & Jordan 2006 for the stick-breaking weights),
for K components in D dimensions::

    pi ~ Dirichlet(gamma, ..., gamma)                  or  v_k ~ Beta(1, gamma),
                                                           pi_k = v_k prod_{j<k} (1 - v_j)
    Lambda_k ~ Wishart(W_0, nu_0)                      (D x D precision of every component)
    mu_k | Lambda_k ~ N(m_0, (beta_0 Lambda_k)^-1)
    z_i | pi ~ Categorical(pi),   x_i | z_i = k ~ N(mu_k, Lambda_k^-1)

The variational posterior factorises as ``q(Z) q(pi) prod_k q(mu_k, Lambda_k)`` with
``q(mu_k, Lambda_k) = N(mu_k | m_k, (beta_k Lambda_k)^-1) Wishart(Lambda_k | W_k, nu_k)``.
With stick-breaking weights ``q(Z)`` puts all its mass on the first K components of the
infinite mixture (a truncated variational family; later sticks keep their prior, so they
add nothing to the bound).

The covariance structure shapes the *posterior* Wishart factors, and the prior's scale
matrix ``W_0^-1`` (the ``covariance_prior``) accordingly:

- 'full': every ``W_k`` free.
- 'tied': one ``(W, nu)`` shared by all K factors ``q(Lambda_k)``.
- 'diag': every ``W_k`` diagonal (``W_0^-1`` diagonal).
- 'spherical': every ``W_k`` a multiple of the identity (``W_0^-1`` too).

For each structure the M-step below is the exact maximiser of the bound over that family,
so every iteration raises the evidence lower bound (ELBO): the driver's monotonicity check
holds whenever ``reg_covar == 0``.

Statistics are those of the Gaussian mixture (:class:`emkit.families.gaussian.GaussianStats`:
weighted counts, first moments and scatter about the current means), so chunked, threaded
and weighted fits come for free. The E-step returns the data part of the ELBO, which is
additive over batches; the divergences of ``q(pi)`` and ``q(mu, Lambda)`` from their priors
depend on the parameters alone and reach the driver through :meth:`bound_offset`.

Missing values (NaN cells) are latent variables with a structured factor ``q(x_im | z_i)``
in the variational family (:mod:`emkit.models.variational_missing`): partly observed rows
are scored on their observed coordinates and completed in the statistics, rows with nothing
observed count for nothing. Rows without NaN take the compiled pass as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar

import numpy as np
from scipy.special import betaln, digamma, gammaln

from emkit.families.covariance import (
    CovarianceStructure,
    Diag,
    Full,
    Spherical,
    Tied,
    covariance_structure,
)
from emkit.families.gaussian import Gaussian, GaussianParams, GaussianStats
from emkit.families.gaussian_missing import has_missing
from emkit.models.mixture import Initializer, initial_assignment, mean_imputed, weighted_chunks
from emkit.models.variational_missing import e_step_with_missing, log_joint_with_missing
from emkit.numerics.linalg import semidefinite_log_det
from emkit.numerics.logspace import normalize_log_rows

LOG_2 = float(np.log(2.0))
LOG_PI = float(np.log(np.pi))

WEIGHT_PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")


# -- parameters and prior ---------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class VariationalMixtureParams:
    """Parameters of the variational posterior.

    Attributes
    ----------
    weight_concentration : ndarray
        Dirichlet concentrations ``alpha_k``, shape (n_components,); or, with stick-breaking
        weights, the Beta parameters ``(a_k, b_k)`` of every stick, shape (2, n_components).
    mean_precision : ndarray of shape (n_components,)
        ``beta_k``.
    means : ndarray of shape (n_components, n_features)
        ``m_k``.
    degrees_of_freedom : ndarray of shape (n_components,), or of shape () when tied
        ``nu_k``.
    covariances : ndarray
        ``(nu_k W_k)^-1``, the inverse of the expected precision, shaped by the covariance
        structure: (K, D, D) full, (D, D) tied, (K, D) diag, (K,) spherical.
    precisions_cholesky : ndarray
        Cholesky factors of the expected precisions ``nu_k W_k``, same shape as
        ``covariances``.
    """

    weight_concentration: np.ndarray
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray

    @property
    def components(self) -> GaussianParams:
        """The Gaussians ``N(m_k, (nu_k W_k)^-1)``: given the component, the optimal
        variational factor of a row's missing cells is their conditional Gaussian under
        these (see :mod:`emkit.models.variational_missing`), which is what imputation
        reads."""
        return GaussianParams(self.means, self.covariances, self.precisions_cholesky)


@dataclass(frozen=True, eq=False)
class NormalWishartPrior:
    """The prior on every component's mean and precision.

    Parameters
    ----------
    mean : ndarray of shape (n_features,)
        ``m_0``.
    mean_precision : float
        ``beta_0 > 0``.
    degrees_of_freedom : float
        ``nu_0 > n_features - 1``.
    covariance : ndarray
        The inverse scale matrix ``W_0^-1``, shaped by the covariance structure: (D, D)
        positive definite for 'full' and 'tied', (D,) positive for 'diag' (the diagonal of
        ``W_0^-1``), a positive number of shape () for 'spherical' (``W_0^-1 = c I``).
    """

    mean: np.ndarray
    mean_precision: float
    degrees_of_freedom: float
    covariance: np.ndarray


# -- the weights' prior: Dirichlet or stick-breaking ---------------------------------------------
class _DirichletWeights:
    """``pi ~ Dirichlet(gamma, ..., gamma)``, posterior ``Dirichlet(alpha)``."""

    name: ClassVar[str] = "dirichlet_distribution"

    @staticmethod
    def posterior(nk: np.ndarray, prior: float) -> np.ndarray:
        return prior + nk

    @staticmethod
    def expected_log(conc: np.ndarray) -> np.ndarray:
        return digamma(conc) - digamma(conc.sum())

    @staticmethod
    def mean(conc: np.ndarray) -> np.ndarray:
        return conc / conc.sum()

    @staticmethod
    def kl(conc: np.ndarray, prior: float) -> float:
        k = conc.shape[0]
        total = conc.sum()
        return float(
            gammaln(total)
            - gammaln(conc).sum()
            - gammaln(k * prior)
            + k * gammaln(prior)
            + ((conc - prior) * (digamma(conc) - digamma(total))).sum()
        )

    @staticmethod
    def check(conc: np.ndarray, n_components: int) -> None:
        if conc.shape != (n_components,):
            raise ValueError(
                f"Dirichlet concentrations must have shape ({n_components},), got {conc.shape}"
            )


class _StickBreakingWeights:
    """Truncated stick-breaking weights: ``v_k ~ Beta(1, gamma)``, posterior
    ``Beta(a_k, b_k)`` for the first K sticks."""

    name: ClassVar[str] = "dirichlet_process"

    @staticmethod
    def posterior(nk: np.ndarray, prior: float) -> np.ndarray:
        # Component k's stick is broken off by its own samples and passed over by the
        # samples of every later component.
        at_or_after = np.cumsum(nk[::-1])[::-1]
        after = np.concatenate((at_or_after[1:], [0.0]))
        return np.stack((1.0 + nk, prior + after))

    @staticmethod
    def expected_log(conc: np.ndarray) -> np.ndarray:
        a, b = conc
        log_total = digamma(a + b)
        log_rest = digamma(b) - log_total
        return digamma(a) - log_total + np.concatenate(([0.0], np.cumsum(log_rest)[:-1]))

    @staticmethod
    def mean(conc: np.ndarray) -> np.ndarray:
        # Expected stick lengths, renormalised over the K components that are represented.
        a, b = conc
        rest = b / (a + b)
        weights = a / (a + b) * np.concatenate(([1.0], np.cumprod(rest[:-1])))
        return weights / weights.sum()

    @staticmethod
    def kl(conc: np.ndarray, prior: float) -> float:
        a, b = conc
        return float(
            (
                betaln(1.0, prior)
                - betaln(a, b)
                + (a - 1.0) * digamma(a)
                + (b - prior) * digamma(b)
                + (1.0 + prior - a - b) * digamma(a + b)
            ).sum()
        )

    @staticmethod
    def check(conc: np.ndarray, n_components: int) -> None:
        if conc.shape != (2, n_components):
            raise ValueError(
                f"stick-breaking concentrations must have shape (2, {n_components}), "
                f"got {conc.shape}"
            )


_WEIGHT_PRIORS = {cls.name: cls for cls in (_StickBreakingWeights, _DirichletWeights)}


# -- the posterior Wishart factors of each covariance structure -----------------------------------
class _WishartShape:
    """How one covariance structure shapes the posterior Wishart factors.

    ``scatter`` below is ``sum_i r_ik (x_i - m_k)(x_i - m_k)^T + beta_0 (m_k - m_0)(m_k -
    m_0)^T`` (about the *new* means), reduced as the structure reduces second moments.
    """

    prior_ndim: ClassVar[int]

    def inverse_scale(
        self, prior: np.ndarray, scatter: np.ndarray, nk: np.ndarray, reg_covar: float
    ) -> np.ndarray:
        """``W_k^-1``, shaped as the structure's covariances."""
        raise NotImplementedError

    def degrees_of_freedom(self, prior: float, nk: np.ndarray) -> np.ndarray:
        """``nu_k``: (K,), or () when shared."""
        return prior + nk

    def prior_matrix(self, prior: np.ndarray, n_features: int) -> np.ndarray:
        """``W_0^-1`` as a (D, D) matrix."""
        raise NotImplementedError

    def prior_shape(self, n_features: int) -> tuple[int, ...]:
        return (n_features,) * self.prior_ndim


class _FullWishart(_WishartShape):
    prior_ndim = 2

    def inverse_scale(self, prior, scatter, nk, reg_covar):
        inv = prior + scatter
        _add_to_diagonal(inv, reg_covar * nk[:, None])
        return inv

    def prior_matrix(self, prior, n_features):
        return prior


class _TiedWishart(_WishartShape):
    """One posterior factor shared by the K precisions: the optimum over such a family
    averages the K components' data terms (each precision keeps its own prior)."""

    prior_ndim = 2

    def inverse_scale(self, prior, scatter, nk, reg_covar):
        inv = prior + scatter / nk.shape[0]
        _add_to_diagonal(inv, reg_covar * nk.sum() / nk.shape[0])
        return inv

    def degrees_of_freedom(self, prior, nk):
        return np.asarray(prior + nk.sum() / nk.shape[0])

    def prior_matrix(self, prior, n_features):
        return prior


class _DiagWishart(_WishartShape):
    """Diagonal ``W_k``: the optimum keeps the diagonal of the free optimum's ``W_k^-1``."""

    prior_ndim = 1

    def inverse_scale(self, prior, scatter, nk, reg_covar):
        return prior + scatter + reg_covar * nk[:, None]

    def prior_matrix(self, prior, n_features):
        return np.diag(prior)


class _SphericalWishart(_WishartShape):
    """``W_k = w_k I``: the optimum keeps the mean diagonal entry of the free optimum's
    ``W_k^-1``."""

    prior_ndim = 0

    def inverse_scale(self, prior, scatter, nk, reg_covar):
        return prior + scatter.mean(axis=1) + reg_covar * nk

    def prior_matrix(self, prior, n_features):
        return prior * np.eye(n_features)


_WISHART_SHAPES: dict[type[CovarianceStructure], type[_WishartShape]] = {
    Full: _FullWishart,
    Tied: _TiedWishart,
    Diag: _DiagWishart,
    Spherical: _SphericalWishart,
}


def _add_to_diagonal(matrices: np.ndarray, values: np.ndarray | float) -> None:
    idx = np.arange(matrices.shape[-1])
    matrices[..., idx, idx] += values


def multivariate_digamma(a: np.ndarray, d: int) -> np.ndarray:
    """``psi_d(a) = sum_{j<d} psi(a - j/2)``, elementwise over ``a`` (any shape)."""
    a = np.asarray(a, dtype=np.float64)
    return digamma(a[..., None] - 0.5 * np.arange(d)).sum(axis=-1)


def multivariate_gammaln(a: np.ndarray, d: int) -> np.ndarray:
    """``log Gamma_d(a)``, elementwise over ``a`` (any shape)."""
    a = np.asarray(a, dtype=np.float64)
    return 0.25 * d * (d - 1) * LOG_PI + gammaln(a[..., None] - 0.5 * np.arange(d)).sum(axis=-1)


# -- the model -------------------------------------------------------------------------------
@dataclass(frozen=True)
class VariationalGaussianMixture:
    """A Bayesian Gaussian mixture fitted by variational EM (see the module docstring).

    Parameters
    ----------
    n_components : int
        Number of components K (the truncation level with stick-breaking weights).
    prior : NormalWishartPrior
        Prior of every component's mean and precision.
    covariance : str or CovarianceStructure, default='full'
        'full', 'tied', 'diag' or 'spherical': the shape of the posterior Wishart factors.
    weight_prior : {'dirichlet_process', 'dirichlet_distribution'}, default='dirichlet_process'
        Stick-breaking (truncated Dirichlet process) or symmetric Dirichlet weights.
    weight_concentration_prior : float, default=1.0
        ``gamma > 0``: the Beta(1, gamma) sticks' or the Dirichlet's concentration.
    reg_covar : float, default=0.0
        Added, times the component's weight, to the diagonal of every ``W_k^-1`` at every
        M-step (scikit-learn's regularisation). With ``reg_covar > 0`` the M-step is no
        longer the exact maximiser, so ``monotone`` is False.
    initializer : callable or None
        ``(X, n_components, random_state, sample_weight) -> start``: initial labels (n,) or
        responsibilities (n, K), as for :class:`emkit.models.mixture.Mixture`; one M-step
        from them gives the starting parameters. None when fits start from given parameters.
    chunk_size : int, optional
        Rows per batch when initial parameters are computed.
    """

    n_components: int
    prior: NormalWishartPrior
    covariance: CovarianceStructure = field(default_factory=lambda: covariance_structure("full"))
    weight_prior: str = "dirichlet_process"
    weight_concentration_prior: float = 1.0
    reg_covar: float = 0.0
    initializer: Initializer | None = None
    chunk_size: int | None = None
    prior_log_det: float | None = field(init=False, repr=False, compare=False)
    """``log|W_0^-1|``, or None when ``W_0^-1`` is singular (an improper prior)."""

    allows_missing: ClassVar[bool] = True
    """NaN cells are missing values, latent in the variational family (not an error)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "covariance", covariance_structure(self.covariance))
        if type(self.covariance) not in _WISHART_SHAPES:
            raise ValueError(
                "the variational mixture has Wishart updates for the 'full', 'tied', 'diag' "
                f"and 'spherical' covariances, not {self.covariance!r}"
            )
        if self.weight_prior not in _WEIGHT_PRIORS:
            raise ValueError(
                f"weight_concentration_prior_type must be one of {list(WEIGHT_PRIOR_TYPES)}, "
                f"got {self.weight_prior!r}"
            )
        if int(self.n_components) < 1:
            raise ValueError(f"n_components must be at least 1, got {self.n_components}")
        if not self.weight_concentration_prior > 0:
            raise ValueError(
                "the weight concentration prior must be positive, got "
                f"{self.weight_concentration_prior}"
            )
        if not self.reg_covar >= 0:
            raise ValueError(f"reg_covar must be non-negative, got {self.reg_covar}")
        self._check_prior()

    def _check_prior(self) -> None:
        prior = self.prior
        mean = np.asarray(prior.mean)
        if mean.ndim != 1 or not np.all(np.isfinite(mean)):
            raise ValueError("the prior mean must be a finite vector of shape (n_features,)")
        d = mean.shape[0]
        if not prior.mean_precision > 0:
            raise ValueError(
                f"the prior mean precision must be positive, got {prior.mean_precision}"
            )
        if not prior.degrees_of_freedom > d - 1:
            raise ValueError(
                f"the prior degrees of freedom must exceed n_features - 1 = {d - 1}, "
                f"got {prior.degrees_of_freedom}"
            )
        cov = np.asarray(prior.covariance)
        expected = self._shape.prior_shape(d)
        if cov.shape != expected:
            raise ValueError(
                f"the prior covariance must have shape {expected} for "
                f"covariance_type='{self.covariance.name}', got {cov.shape}"
            )
        if not np.all(np.isfinite(cov)):
            raise ValueError("the prior covariance holds NaN or infinite values")
        log_det = semidefinite_log_det(self._shape.prior_matrix(cov, d), "the prior covariance")
        object.__setattr__(self, "prior_log_det", log_det)

    @property
    def _shape(self) -> _WishartShape:
        return _WISHART_SHAPES[type(self.covariance)]()

    @property
    def _weights(self) -> type[_DirichletWeights] | type[_StickBreakingWeights]:
        return _WEIGHT_PRIORS[self.weight_prior]

    @property
    def monotone(self) -> bool:
        """Whether every M-step exactly maximises the ELBO (no ``reg_covar``)."""
        return self.reg_covar == 0

    @property
    def family(self) -> Gaussian:
        """The Gaussian family of :attr:`VariationalMixtureParams.components` (for
        imputation: the missing cells given the observed ones and the component)."""
        return Gaussian(self.covariance, self.reg_covar)

    # -- the model contract -------------------------------------------------------------
    def init(
        self,
        X: np.ndarray,
        random_state: np.random.RandomState,
        sample_weight: np.ndarray | None = None,
    ) -> VariationalMixtureParams:
        """Parameters from the initializer's labels or responsibilities: one M-step from
        statistics accumulated about the weighted mean of ``X`` (n_samples, n_features),
        over row chunks so that ``X`` is never copied whole.

        A missing cell (NaN) counts as its column's (weighted) mean over the observed cells,
        for the initializer and for that first M-step: there are no parameters yet to
        condition on (``X`` is then copied once).
        """
        if self.initializer is None:
            raise ValueError("this mixture has no initializer: start the fit from parameters")
        X = mean_imputed(X, sample_weight)
        k = self.n_components
        start = initial_assignment(self.initializer, X, k, random_state, sample_weight)
        chunks = weighted_chunks(X, start, k, sample_weight, self.chunk_size)
        total, first = 0.0, np.zeros(X.shape[1])
        for x, resp in chunks():
            w = resp.sum(axis=1)
            total += w.sum()
            first += w @ x
        centres = np.repeat((first / total)[None], k, axis=0)
        stats = sum(
            GaussianStats(
                resp.sum(axis=0),
                *self.covariance.moments(x, resp, centres),
                centres,
                self.covariance,
            )
            for x, resp in chunks()
        )
        return self._update(stats)

    def e_step(
        self,
        params: VariationalMixtureParams,
        X: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        hard: bool = False,
    ) -> tuple[GaussianStats, float]:
        """Statistics of one batch ``X`` (n_samples, n_features) and its part of the ELBO.

        Returns
        -------
        stats : GaussianStats
            Counts, first moments and scatter about ``params.means``, weighted by the
            responsibilities ``r_ik`` (times the sample weights).
        bound : float
            ``sum_i w_i log sum_k exp(log rho_ik)``, with ``log rho_ik = E[log pi_k] +
            E[log N(x_i | mu_k, Lambda_k^-1)]``: the data part of the ELBO at the optimal
            ``q(z_i)`` (``E[log p(x_i, z_i)] + H[q(z_i)]``). With ``hard=True``,
            ``q(z_i)`` is a point mass on the largest ``log rho_ik`` and the term is that
            maximum (a lower bound too).

        NaN cells are missing values (see :mod:`emkit.models.variational_missing`): a
        partly observed row is scored on its observed coordinates and completed in the
        statistics; a row with nothing observed adds nothing.
        """
        if X.dtype not in (np.float64, np.float32):
            X = np.asarray(X, dtype=np.float64)
        if has_missing(X):
            return e_step_with_missing(
                self.covariance,
                params.means,
                params.covariances,
                self._log_weights(params),
                X,
                sample_weight,
                hard,
                partial(self._complete_e_step, params, hard=hard),
            )
        return self._complete_e_step(params, X, sample_weight, hard=hard)

    def _complete_e_step(
        self,
        params: VariationalMixtureParams,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        *,
        hard: bool,
    ) -> tuple[GaussianStats, float]:
        """:meth:`e_step` of rows without NaN: one compiled pass."""
        w = np.empty(0) if sample_weight is None else np.asarray(sample_weight, np.float64)
        sum_w, first, second, top, norm = self.covariance.fused_e_step(
            X, w, params.means, params.precisions_cholesky, self._log_weights(params), hard
        )
        with np.errstate(divide="ignore"):
            log_norm = np.log(norm)
        log_norm += top
        bound = float(log_norm.sum() if sample_weight is None else w @ log_norm)
        return GaussianStats(sum_w, first, second, params.means, self.covariance), bound

    def m_step(
        self, stats: GaussianStats, params: VariationalMixtureParams
    ) -> VariationalMixtureParams:
        """The conjugate posterior updates, from statistics about any centres."""
        return self._update(stats)

    def log_prob(self, params: VariationalMixtureParams, X: np.ndarray) -> np.ndarray:
        """``log sum_k exp(log rho_ik)``, every sample's part of the ELBO, shape
        (n_samples,)."""
        return normalize_log_rows(self.log_joint(params, X))[1]

    def bound_offset(self, params: VariationalMixtureParams) -> float:
        """The part of the ELBO that depends on the parameters alone:
        ``-KL(q(pi) || p(pi)) - sum_k KL(q(mu_k, Lambda_k) || p(mu_k, Lambda_k))``."""
        return -(
            self._weights.kl(params.weight_concentration, self.weight_concentration_prior)
            + float(self.component_kl(params).sum())
        )

    # -- beyond the contract ------------------------------------------------------------
    def log_joint(self, params: VariationalMixtureParams, X: np.ndarray) -> np.ndarray:
        """``log rho_ik = E[log pi_k] + E[log N(x_i | mu_k, Lambda_k^-1)]``, shape
        (n_samples, n_components).

        For a row with NaN cells, the term of the row's optimal structured factor
        ``q(z_i) q(x_im | z_i)`` (its observed coordinates; see
        :mod:`emkit.models.variational_missing`); for a row with nothing observed, the log
        of the expected mixing weights (no data: its posterior is the weights, and its
        ``log_prob`` zero).
        """
        X = np.asarray(X, dtype=np.float64)
        if has_missing(X):
            with np.errstate(divide="ignore"):
                unobserved = np.log(self.mean_weights(params))
            return log_joint_with_missing(
                self.covariance,
                params.means,
                params.covariances,
                self._log_weights(params),
                X,
                partial(self.log_joint, params),
                unobserved,
            )
        log_joint = self.covariance.log_prob(X, params.means, params.precisions_cholesky)
        log_joint += self._log_weights(params)
        return log_joint

    def predict_proba(self, params: VariationalMixtureParams, X: np.ndarray) -> np.ndarray:
        """Responsibilities ``q(z_i = k)``, shape (n_samples, n_components)."""
        return normalize_log_rows(self.log_joint(params, X))[0]

    def mean_weights(self, params: VariationalMixtureParams) -> np.ndarray:
        """Expected mixing weights, shape (n_components,); with stick-breaking weights the
        expected stick lengths renormalised over the K components."""
        return self._weights.mean(params.weight_concentration)

    def expected_log_weights(self, params: VariationalMixtureParams) -> np.ndarray:
        """``E[log pi_k]``, shape (n_components,)."""
        return self._weights.expected_log(params.weight_concentration)

    def component_kl(self, params: VariationalMixtureParams) -> np.ndarray:
        """``KL(q(mu_k, Lambda_k) || p(mu_k, Lambda_k))`` of every component, shape
        (n_components,) (with a tied posterior, every component's precision has its own
        prior, so the shared factor's divergence counts K times)."""
        prior = self.prior
        k, d = params.means.shape
        nu = np.broadcast_to(params.degrees_of_freedom, (k,))
        beta, beta0, nu0 = params.mean_precision, prior.mean_precision, prior.degrees_of_freedom
        # Expected precisions nu_k W_k = P_k P_k^T, written out as (D, D) matrices.
        chol = self.covariance.full(params.precisions_cholesky, k, d)
        log_det_w = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1) - d * np.log(nu)
        expected_log_det = multivariate_digamma(0.5 * nu, d) + d * LOG_2 + log_det_w
        prior_matrix = self._shape.prior_matrix(np.asarray(prior.covariance, np.float64), d)
        # An improper prior (singular W_0^-1) has no normalising constant: the bound then
        # leaves out that term, a constant of the prior, so it is the ELBO up to a constant.
        prior_log_det = 0.0 if self.prior_log_det is None else self.prior_log_det
        trace = np.einsum("ij,kia,kja->k", prior_matrix, chol, chol) / nu
        log_norm = -0.5 * nu * log_det_w - 0.5 * nu * d * LOG_2 - multivariate_gammaln(0.5 * nu, d)
        prior_log_norm = (
            0.5 * nu0 * prior_log_det
            - 0.5 * nu0 * d * LOG_2
            - multivariate_gammaln(np.asarray(0.5 * nu0), d)
        )
        wishart = (
            log_norm - prior_log_norm + 0.5 * (nu - nu0) * expected_log_det + 0.5 * nu * (trace - d)
        )
        offset = np.einsum("kd,kde->ke", params.means - prior.mean, chol)
        ratio = beta0 / beta
        normal = 0.5 * (d * (ratio - 1.0 - np.log(ratio)) + beta0 * (offset**2).sum(axis=1))
        return wishart + normal

    def _log_weights(self, params: VariationalMixtureParams) -> np.ndarray:
        """What ``log rho_ik`` adds to the Gaussian log-density at the expected precision:
        ``E[log pi_k] + (E[log|Lambda_k|] - log|nu_k W_k|) / 2 - D / (2 beta_k)``, shape
        (n_components,)."""
        d = params.means.shape[1]
        nu = params.degrees_of_freedom
        log_det_gap = multivariate_digamma(0.5 * nu, d) + d * LOG_2 - d * np.log(nu)
        return (
            self.expected_log_weights(params) + 0.5 * log_det_gap - 0.5 * d / params.mean_precision
        )

    def _update(self, stats: GaussianStats) -> VariationalMixtureParams:
        """Posterior parameters from statistics accumulated about ``stats.centre``."""
        prior = self.prior
        nk, centres = stats.sum_w, stats.centre
        beta0 = prior.mean_precision
        beta = beta0 + nk
        # New means relative to the centres: no cancellation of large absolute positions,
        # and components without samples fall back to the prior mean.
        shift = (beta0 * (prior.mean - centres) + stats.sum_dx) / beta[:, None]
        means = centres + shift
        deviation = means - prior.mean
        outer = self.covariance.outer
        ones = np.ones_like(nk)
        scatter = (
            stats.scatter
            - outer(shift, stats.sum_dx, ones)
            - outer(stats.sum_dx, shift, ones)
            + outer(shift, shift, nk)
            + outer(deviation, deviation, np.full_like(nk, beta0))
        )
        shape = self._shape
        inverse_scale = shape.inverse_scale(
            np.asarray(prior.covariance, np.float64), scatter, nk, self.reg_covar
        )
        dof = shape.degrees_of_freedom(prior.degrees_of_freedom, nk)
        covariances = inverse_scale / np.reshape(
            dof, dof.shape + (1,) * (inverse_scale.ndim - dof.ndim)
        )
        return VariationalMixtureParams(
            weight_concentration=self._weights.posterior(nk, self.weight_concentration_prior),
            mean_precision=beta,
            means=means,
            degrees_of_freedom=dof,
            covariances=covariances,
            precisions_cholesky=self.covariance.precisions_cholesky(covariances),
        )

    def check_params(self, params: VariationalMixtureParams, n_features: int) -> None:
        """Raise ValueError unless ``params`` fit this model in ``n_features`` dimensions."""
        k = self.n_components
        self._weights.check(np.asarray(params.weight_concentration), k)
        if np.any(~(np.asarray(params.weight_concentration) > 0)):
            raise ValueError("the weight concentrations must be positive")
        if np.shape(params.means) != (k, n_features) or not np.all(np.isfinite(params.means)):
            raise ValueError(f"the means must be finite, of shape ({k}, {n_features})")
        beta = np.asarray(params.mean_precision)
        if beta.shape != (k,) or np.any(~(beta > 0)):
            raise ValueError(f"the mean precisions must be positive, of shape ({k},)")
        shape = self.covariance.shape(k, n_features)
        if np.shape(params.covariances) != shape or np.shape(params.precisions_cholesky) != shape:
            raise ValueError(
                f"the covariances and their Cholesky factors must have shape {shape} for "
                f"covariance_type='{self.covariance.name}'"
            )
        nu = np.asarray(params.degrees_of_freedom)
        expected = np.shape(self._shape.degrees_of_freedom(n_features, np.zeros(k)))
        if nu.shape != expected or np.any(~(nu > n_features - 1)):
            raise ValueError(
                f"the degrees of freedom must exceed n_features - 1, of shape {expected}"
            )
