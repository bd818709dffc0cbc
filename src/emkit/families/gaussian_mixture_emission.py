"""Gaussian-mixture components: K members, each itself a mixture of M Gaussians.

As an HMM emission this is hmmlearn's ``GMMHMM``: every hidden state emits from its own
mixture of ``n_mix`` Gaussians. The family holds the Gaussian family's parameters for all
K * M Gaussians (state ``k``'s mixture component ``m`` is Gaussian ``k * M + m``) and reuses
it whole: the structure's weights of a sample (state posteriors or mixture
responsibilities) are split over the state's Gaussians by their inner responsibilities
``p(m | x, k)``, and the Gaussian family turns those weights into its statistics and
parameters, with its covariance structures, ``reg_covar``, priors and frozen parameters.

:class:`GroupTied` is the covariance structure of hmmlearn's ``covariance_type='tied'`` for
``GMMHMM``: the M Gaussians of a state share one full covariance matrix.
:class:`GMMHMMPrior` is hmmlearn's ``GMMHMM`` prior and update rule, for exact parity with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.special import ndtri

from emkit.core.stats import Additive
from emkit.families.covariance import (
    CovarianceStructure,
    Diag,
    Full,
    Spherical,
    _add_to_diagonal,
    _out,
)
from emkit.families.gaussian import Gaussian, GaussianParams, GaussianStats
from emkit.families.gaussian_kernels import full_moments, full_scores, fused_full
from emkit.families.gaussian_missing import has_missing
from emkit.families.imputation import (
    Imputation,
    imputation_for,
    pick_components,
    register_imputation,
)
from emkit.numerics.linalg import (
    check_positive_definite,
    covariance_from_precision,
    precision_cholesky,
)
from emkit.numerics.logspace import logsumexp_rows, normalize_log_rows, safe_log
from emkit.numerics.simplex import dirichlet_mode, softmax_rows

FROZEN_CHOICES = frozenset({"weights"})


# -- a covariance structure: full matrices shared within groups of components ------------------
class GroupTied(CovarianceStructure):
    """Consecutive groups of ``group_size`` components share one full covariance matrix,
    shape (n_components // group_size, D, D).

    With the components of :class:`GaussianMixtureEmission` (state ``k``'s Gaussians are
    ``k * M .. k * M + M - 1``), ``GroupTied(n_mix)`` ties the covariances within every state:
    hmmlearn's ``covariance_type='tied'`` for ``GMMHMM``. ``GroupTied(1)`` is
    :class:`emkit.families.covariance.Full`.

    Parameters
    ----------
    group_size : int
        Components per group; the number of components must be a multiple of it.
    """

    name = "tied"
    matrices = True

    def __init__(self, group_size: int) -> None:
        if isinstance(group_size, bool) or not isinstance(group_size, (int, np.integer)):
            raise ValueError(f"group_size must be an integer >= 1, got {group_size!r}")
        if group_size < 1:
            raise ValueError(f"group_size must be an integer >= 1, got {group_size!r}")
        self.group_size = int(group_size)

    def __repr__(self) -> str:
        return f"GroupTied({self.group_size})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GroupTied) and other.group_size == self.group_size

    def __hash__(self) -> int:
        return hash((GroupTied, self.group_size))

    def _groups(self, n_components: int) -> int:
        if n_components % self.group_size:
            raise ValueError(
                f"{n_components} components do not split into groups of {self.group_size}"
            )
        return n_components // self.group_size

    def _by_group(self, a: np.ndarray) -> np.ndarray:
        """``a`` of shape (K, ...) as (K // group_size, group_size, ...)."""
        return a.reshape(self._groups(a.shape[0]), self.group_size, *a.shape[1:])

    def _expand(self, per_group: np.ndarray) -> np.ndarray:
        """Per-group arrays repeated for every component of the group."""
        return np.repeat(per_group, self.group_size, axis=0)

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        # No divisibility check here: the Gaussian family probes shapes with n_components=2.
        return (n_components // self.group_size, n_features, n_features)

    scatter_shape = shape

    def reduce_full(self, second: np.ndarray) -> np.ndarray:
        """Full second moments of every component, shape (n_components, D, D), summed
        within the groups: the scatter, shape (n_components // group_size, D, D)."""
        return self._by_group(second).sum(axis=1)

    def moments(self, X, resp, centres):
        first, second = full_moments(X, resp, centres)
        return first, self.reduce_full(second)

    def estimate(self, nk, shift, scatter, reg_covar, old, empty):
        totals = self._by_group(nk).sum(axis=1)
        empty_groups = self._by_group(empty).all(axis=1)
        cov = scatter - self.outer(shift, shift, nk)
        cov /= np.where(empty_groups, 1.0, totals)[:, None, None]
        _add_to_diagonal(cov, reg_covar)
        cov[empty_groups] = old[empty_groups]
        return cov

    def outer(self, a, b, w):
        return np.einsum("gm,gmi,gmj->gij", self._by_group(w), self._by_group(a), self._by_group(b))

    def map_estimate(self, scatter, nk, covars_prior, covars_weight, reg_covar):
        extra = max(covars_weight - scatter.shape[-1], 0.0)
        totals = self._by_group(nk).sum(axis=1)
        cov = (covars_prior + scatter) / (extra + totals)[:, None, None]
        _add_to_diagonal(cov, reg_covar)
        return cov

    def precisions_cholesky(self, covariances):
        return np.stack([precision_cholesky(c, g) for g, c in enumerate(covariances)])

    def covariances_from_precisions(self, precisions):
        return np.stack([covariance_from_precision(p, g) for g, p in enumerate(precisions)])

    def precisions(self, prec_chol):
        return prec_chol @ np.swapaxes(prec_chol, 1, 2)

    def log_det(self, prec_chol, n_components, n_features):
        self._groups(n_components)
        return self._expand(np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1))

    def scores(self, X, means, prec_chol, scale, bias, out=None):
        self._groups(means.shape[0])
        return full_scores(X, means, self._expand(prec_chol), scale, bias, _out(out, X, means))

    def fused_e_step(self, X, weights, means, prec_chol, log_weights, hard):
        bias = log_weights + self._log_norm(prec_chol, means.shape)
        sum_w, first, second, top, norm = fused_full(
            X, weights, means, self._expand(prec_chol), bias, hard
        )
        return sum_w, first, self.reduce_full(second), top, norm

    def n_parameters(self, n_components, n_features):
        return self._groups(n_components) * n_features * (n_features + 1) // 2

    def pooled(self, scatter, total, n_components, reg_covar):
        cov = np.repeat(scatter.sum(axis=0)[None] / total, self._groups(n_components), axis=0)
        _add_to_diagonal(cov, reg_covar)
        return cov

    def full(self, covariances, n_components, n_features):
        self._groups(n_components)
        return self._expand(covariances)

    def check(self, covariances, n_components, n_features, name):
        self._groups(n_components)
        arr = self._check_shape(covariances, n_components, n_features, name)
        for g, c in enumerate(arr):
            check_positive_definite(c, f"'{name}' of group {g}")
        return arr


# -- hmmlearn's GMMHMM prior ---------------------------------------------------------------
@dataclass(frozen=True)
class GMMHMMPrior:
    """hmmlearn's ``GMMHMM`` prior on the Gaussians, and its update rule.

    The means are the posterior mode of a normal prior, ``(means_weight * means_prior +
    sum_x) / (means_weight + n)``. The covariances follow hmmlearn's inverse-gamma
    (diag, spherical) or inverse-Wishart (full, tied) update, with ``d = mu - means_prior``
    for the new means ``mu``, ``S`` the weighted second moments about the means of the
    E-step, ``n`` a Gaussian's weight and ``N`` a state's:

    - full: ``(covars_prior^T + means_weight d d^T + S) / (n + covars_weight + D + 2)``;
    - tied (per state, :class:`GroupTied`): ``(covars_prior^T + sum_m means_weight d d^T +
      sum_m S) / (N + M + covars_weight + D + 1)``;
    - diag: ``(means_weight d^2 + 2 covars_weight + S) / (n + 2 covars_prior + 3)``;
    - spherical: ``(means_weight |d|^2 + 2 covars_weight + tr S) / (D (n + 1) + 2
      (covars_prior + 1))``.

    As in hmmlearn, ``S`` is taken about the means the statistics were computed under, not
    re-centred on the new means: the update is not an exact M-step even with flat priors
    (the family then reports ``monotone = False``), and it reaches EM's fixed points.

    ``variance_floor`` is hmmlearn's ``min_covar`` as its documentation describes it (its
    M-step leaves it out): every variance, and every eigenvalue of a full or tied matrix,
    is raised to at least the floor. For the Gaussian likelihood (and these priors) that is
    the exact maximiser over the covariances whose eigenvalues are at least the floor, so
    the floor keeps the update a maximisation, where adding it to the diagonal would not;
    matrices already above the floor are left as they are.

    Parameters
    ----------
    means_prior : float or ndarray broadcasting to (K, M, D), default=0.0
    means_weight : float or ndarray broadcasting to (K, M), default=0.0
    covars_prior, covars_weight : float, ndarray or None
        Broadcast to hmmlearn's shapes: covars_prior (K, M, D, D) full, (K, D, D) tied,
        (K, M, D) diag, (K, M) spherical; covars_weight (K, M) full, (K,) tied, (K, M, D)
        diag, (K, M) spherical. None gives hmmlearn's defaults: full 0 and ``-(D + 2)``,
        tied 0 and ``-(M + D + 1)``, diag -1.5 and 0, spherical ``-(M + 2) / 2`` and 0,
        which make the denominators the weights ``n`` (``N`` for tied; ``D (n + 1) - M`` for
        spherical, as hmmlearn has it).
    variance_floor : float, default=0.0
        Least variance along any direction of any covariance after the update.
    """

    means_prior: float | np.ndarray = 0.0
    means_weight: float | np.ndarray = 0.0
    covars_prior: float | np.ndarray | None = None
    covars_weight: float | np.ndarray | None = None
    variance_floor: float = 0.0

    def __post_init__(self) -> None:
        for name in ("means_prior", "means_weight", "covars_prior", "covars_weight"):
            value = getattr(self, name)
            if value is None:
                continue
            if not np.all(np.isfinite(np.asarray(value, dtype=np.float64))):
                raise ValueError(f"the prior's {name} must be finite")
        if np.any(np.asarray(self.means_weight, dtype=np.float64) < 0):
            raise ValueError("the prior's means_weight must be non-negative")
        floor = self.variance_floor
        if isinstance(floor, bool) or not (isinstance(floor, (int, float)) and 0 <= floor < np.inf):
            raise ValueError(f"variance_floor must be a finite number >= 0, got {floor!r}")

    def defaults(self, rule: _GMMHMMRule, n_mix: int, n_features: int) -> tuple[Any, Any]:
        """``(covars_prior, covars_weight)`` with hmmlearn's defaults for ``rule``'s
        covariance type in place of None."""
        prior, weight = rule.defaults(n_mix, n_features)
        return (
            prior if self.covars_prior is None else self.covars_prior,
            weight if self.covars_weight is None else self.covars_weight,
        )


def _broadcast(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    try:
        return np.broadcast_to(np.asarray(value, dtype=np.float64), shape)
    except ValueError:
        raise ValueError(
            f"the prior's {name} must broadcast to shape {shape}, got {np.shape(value)}"
        ) from None


def _floored(covariances: np.ndarray, matrices: bool, floor: float) -> np.ndarray:
    """Variances (any shape), or the eigenvalues of (n, D, D) matrices, raised to at least
    ``floor``; matrices whose eigenvalues all reach it are returned untouched."""
    if floor <= 0:
        return covariances
    if not matrices:
        return np.maximum(covariances, floor)
    values, vectors = np.linalg.eigh(covariances)
    low = values.min(axis=-1) < floor
    if not low.any():
        return covariances
    raised = (vectors[low] * np.maximum(values[low], floor)[:, None, :]) @ np.swapaxes(
        vectors[low], -1, -2
    )
    out = covariances.copy()
    out[low] = 0.5 * (raised + np.swapaxes(raised, -1, -2))
    return out


class _GMMHMMRule:
    """hmmlearn's GMMHMM covariance update for one covariance type (see
    :class:`GMMHMMPrior`): the prior's defaults, and the numerator and denominator of the
    update from the second moments about the prior's means."""

    def defaults(self, n_mix: int, n_features: int) -> tuple[float, float]:
        raise NotImplementedError

    def keep(self, empty: np.ndarray, n_mix: int) -> np.ndarray:
        """Which covariance entries keep their value: those of Gaussians with no weight."""
        return empty

    def terms(
        self,
        numerator: np.ndarray,
        nk: np.ndarray,
        covars_prior: Any,
        covars_weight: Any,
        n_mix: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class _FullRule(_GMMHMMRule):
    def defaults(self, n_mix, n_features):
        return 0.0, -(1.0 + n_features + 1.0)

    def terms(self, numerator, nk, covars_prior, covars_weight, n_mix):
        n_gauss, d = numerator.shape[:2]
        shape = (n_gauss // n_mix, n_mix)
        psi = _broadcast(covars_prior, (*shape, d, d), "covars_prior")
        nu = _broadcast(covars_weight, shape, "covars_weight").ravel()
        numerator = numerator + np.swapaxes(psi, -1, -2).reshape(n_gauss, d, d)
        return numerator, (nk + nu + d + 2.0)[:, None, None]


class _TiedRule(_GMMHMMRule):
    def defaults(self, n_mix, n_features):
        return 0.0, -(n_mix + n_features + 1.0)

    def keep(self, empty, n_mix):
        return empty.reshape(-1, n_mix).all(axis=1)

    def terms(self, numerator, nk, covars_prior, covars_weight, n_mix):
        n_states, d = numerator.shape[:2]
        psi = _broadcast(covars_prior, (n_states, d, d), "covars_prior")
        nu = _broadcast(covars_weight, (n_states,), "covars_weight")
        state_nk = nk.reshape(n_states, n_mix).sum(axis=1)
        numerator = numerator + np.swapaxes(psi, -1, -2)
        return numerator, (state_nk + n_mix + nu + d + 1.0)[:, None, None]


class _DiagRule(_GMMHMMRule):
    def defaults(self, n_mix, n_features):
        return -1.5, 0.0

    def terms(self, numerator, nk, covars_prior, covars_weight, n_mix):
        n_gauss, d = numerator.shape
        shape = (n_gauss // n_mix, n_mix, d)
        alpha = _broadcast(covars_prior, shape, "covars_prior").reshape(n_gauss, d)
        beta = _broadcast(covars_weight, shape, "covars_weight").reshape(n_gauss, d)
        return numerator + 2.0 * beta, nk[:, None] + 2.0 * alpha + 3.0


class _SphericalRule(_GMMHMMRule):
    def defaults(self, n_mix, n_features):
        return -(n_mix + 2.0) / 2.0, 0.0

    def terms(self, numerator, nk, covars_prior, covars_weight, n_mix):
        n_gauss, d = numerator.shape
        shape = (n_gauss // n_mix, n_mix)
        alpha = _broadcast(covars_prior, shape, "covars_prior").ravel()
        beta = _broadcast(covars_weight, shape, "covars_weight").ravel()
        return numerator.sum(axis=1) + 2.0 * beta, d * (nk + 1.0) + 2.0 * (alpha + 1.0)


# hmmlearn defines its update for exactly these structures; a structure of another class
# (or another group size) has none.
_GMMHMM_RULES: dict[type[CovarianceStructure], _GMMHMMRule] = {
    Full: _FullRule(),
    GroupTied: _TiedRule(),
    Diag: _DiagRule(),
    Spherical: _SphericalRule(),
}


def _gmmhmm_rule(structure: CovarianceStructure, n_mix: int) -> _GMMHMMRule | None:
    """hmmlearn's GMMHMM update for ``structure``, or None when it has none."""
    if isinstance(structure, GroupTied) and structure.group_size != n_mix:
        return None
    return _GMMHMM_RULES.get(type(structure))


# -- the family ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class GaussianMixtureEmissionParams:
    """Parameters of K Gaussian mixtures of M components each.

    Attributes
    ----------
    weights : ndarray of shape (n_components, n_mix)
        Mixing proportions of every member; rows sum to one.
    gaussian : GaussianParams
        The Gaussian family's parameters for the K * M Gaussians (member ``k``'s component
        ``m`` is Gaussian ``k * n_mix + m``).
    """

    weights: np.ndarray
    gaussian: GaussianParams


@dataclass(frozen=True, eq=False)
class GaussianMixtureEmissionStats(Additive):
    """Statistics of K Gaussian mixtures.

    Attributes
    ----------
    sum_w : ndarray of shape (n_components,)
        Total weight of every member (state posteriors or responsibilities summed).
    gaussian : GaussianStats
        The Gaussian family's statistics of the K * M Gaussians, each sample weighted by
        its member's weight times the inner responsibility ``p(m | x, k)``; its ``sum_w``
        are the counts of the mixture weights (:attr:`sum_mix`).
    """

    sum_w: np.ndarray
    gaussian: GaussianStats

    @property
    def sum_mix(self) -> np.ndarray:
        """Expected counts of every member's mixture components, shape (n_components,
        n_mix)."""
        return self.gaussian.sum_w.reshape(self.sum_w.shape[0], -1)


@dataclass(frozen=True)
class GaussianMixtureEmission:
    """The family of Gaussian mixtures: each of K members mixes ``n_mix`` Gaussians.

    Parameters
    ----------
    gaussian : Gaussian
        The family of the K * n_mix Gaussians, with its covariance structure (applied to all
        of them: ``'tied'`` shares one matrix among all; :class:`GroupTied` ``(n_mix)``
        shares one per member), ``reg_covar``, frozen parameters ('means', 'covariances')
        and prior.
    n_mix : int
        Gaussians per member M.
    weights_prior : float or ndarray broadcasting to (n_components, n_mix), default=1.0
        Concentrations of Dirichlet priors on every member's mixture weights; the M-step
        gives the posterior mode ``max(prior - 1 + counts, 0)``, normalised. 1.0 is
        maximum likelihood.
    frozen : frozenset of {'weights'}
        Mixture weights the M-step keeps as they are (the Gaussian family has its own).
    prior : GMMHMMPrior, optional
        hmmlearn's ``GMMHMM`` update of means and covariances instead of the Gaussian
        family's M-step (the Gaussian family must then have no prior of its own).

    Notes
    -----
    Missing values (NaN cells) are allowed when the Gaussian family allows them
    (:attr:`allows_missing`), assumed missing at random. A row's density under member
    ``k`` is that of its observed coordinates ``o``, ``sum_m w_km N(x_o | mu_kmo,
    Sigma_kmoo)``; the inner responsibilities ``p(m | x_o, k)`` come from those densities,
    and the statistics of Gaussian ``(k, m)`` are the Gaussian family's of the completed row
    (missing coordinates at their conditional expectation given the observed ones under
    that Gaussian, its conditional covariance added to the second moments), weighted by the
    member's weight times ``p(m | x_o, k)``. A row with nothing observed has density one
    and no statistics. Rows without NaN take the same passes as when nothing is missing.
    """

    gaussian: Gaussian = field(default_factory=Gaussian)
    n_mix: int = 1
    weights_prior: float | np.ndarray = 1.0
    frozen: frozenset[str] = frozenset()
    prior: GMMHMMPrior | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.gaussian, Gaussian):
            raise TypeError(f"gaussian must be a Gaussian family, got {self.gaussian!r}")
        n_mix = self.n_mix
        if isinstance(n_mix, bool) or not isinstance(n_mix, (int, np.integer)) or n_mix < 1:
            raise ValueError(f"n_mix must be an integer >= 1, got {n_mix!r}")
        unknown = set(self.frozen) - FROZEN_CHOICES
        if unknown:
            raise ValueError(
                f"unknown frozen mixture-emission parameters {sorted(unknown)}; choose from "
                f"{sorted(FROZEN_CHOICES)} (Gaussian parameters are frozen in the Gaussian family)"
            )
        weights_prior = np.asarray(self.weights_prior, dtype=np.float64)
        if not np.all(np.isfinite(weights_prior)) or np.any(weights_prior < 0):
            raise ValueError("weights_prior must hold finite non-negative values")
        if self.prior is not None:
            if self.gaussian.prior is not None:
                raise ValueError("give either the Gaussian family's prior or a GMMHMMPrior")
            if _gmmhmm_rule(self.gaussian.covariance, int(n_mix)) is None:
                raise ValueError(
                    "a GMMHMMPrior needs a 'full', 'diag' or 'spherical' covariance, or "
                    f"GroupTied({n_mix}); got {self.gaussian.covariance!r}"
                )

    @property
    def allows_missing(self) -> bool:
        """Whether NaN cells are missing values that the E-step conditions on: when the
        Gaussian family's are."""
        return bool(self.gaussian.allows_missing)

    def check_data(self, X: Any) -> np.ndarray:
        """The Gaussian family's check of the data (NaN a missing value where it allows
        them; infinities refused, rows with nothing observed reported), shape (n_samples,
        n_features)."""
        return self.gaussian.check_data(X)

    @property
    def monotone(self) -> bool:
        """Whether the M-step exactly maximises the expected complete-data log-likelihood."""
        if self.prior is not None:
            return False
        flat = "weights" in self.frozen or bool(np.all(np.asarray(self.weights_prior) == 1))
        return flat and self.gaussian.monotone

    # -- scoring -------------------------------------------------------------------------
    def _log_joint(self, params: GaussianMixtureEmissionParams, X: np.ndarray) -> np.ndarray:
        """``log w_km + log N(x_i | k, m)``, shape (n_samples * K, M), C-contiguous."""
        m = np.shape(params.weights)[1]
        log_joint = self.gaussian.log_prob(params.gaussian, X)
        log_joint += safe_log(np.asarray(params.weights, dtype=np.float64)).ravel()
        return np.ascontiguousarray(log_joint, dtype=np.float64).reshape(-1, m)

    def log_prob(self, params: GaussianMixtureEmissionParams, X: np.ndarray) -> np.ndarray:
        """``log sum_m w_km N(x_i | k, m)``, shape (n_samples, n_components); for a row with
        NaN cells, the density of its observed coordinates (0 when nothing is observed)."""
        k = np.shape(params.weights)[0]
        out = logsumexp_rows(self._log_joint(params, X)).reshape(-1, k)
        if has_missing(X):
            # Nothing observed has probability one exactly, not the weights' sum rounded.
            out[np.isnan(X).all(axis=1)] = 0.0
        return out

    def inner_responsibilities(
        self, params: GaussianMixtureEmissionParams, X: np.ndarray
    ) -> np.ndarray:
        """``p(m | x_i, k)``, shape (n_samples, n_components, n_mix); normalised in log
        space, so Gaussians far from a sample underflow to zero, never to NaN."""
        k, m = np.shape(params.weights)
        return normalize_log_rows(self._log_joint(params, X))[0].reshape(-1, k, m)

    def stats(
        self, params: GaussianMixtureEmissionParams, X: np.ndarray, resp: np.ndarray
    ) -> GaussianMixtureEmissionStats:
        """Statistics of samples ``X`` (n, D) with member weights ``resp`` (n, K): the Gaussian
        family's statistics under the weights ``resp[:, k] * p(m | x, k)``, centred on the
        current means. NaN cells are missing values (see the class notes): a row with
        nothing observed adds nothing, not even to the members' weights."""
        k, m = np.shape(params.weights)
        resp = np.asarray(resp, dtype=np.float64)
        weights = self.inner_responsibilities(params, X)
        weights *= resp[:, :, None]
        weights = weights.reshape(-1, k * m)
        if not has_missing(X):
            gaussian = self.gaussian.stats(params.gaussian, X, weights)
            return GaussianMixtureEmissionStats(resp.sum(axis=0), gaussian)
        seen = ~np.isnan(X).all(axis=1)
        gaussian = self._stats_missing(params.gaussian, X, weights)
        return GaussianMixtureEmissionStats(resp[seen].sum(axis=0), gaussian)

    def _stats_missing(
        self, params: GaussianParams, X: np.ndarray, weights: np.ndarray
    ) -> GaussianStats:
        """The Gaussian family's statistics of rows ``X`` (n, D) with NaN cells under the
        weights (n, K * M) of every Gaussian.

        The Gaussian family reduces the moments of partly observed rows for the structures
        it knows; those of :class:`GroupTied` are taken as full moments of every Gaussian
        (the family with 'full' covariances at the expanded matrices) and summed within the
        states, as :meth:`GroupTied.moments` sums those of complete rows.
        """
        structure = self.gaussian.covariance
        if not isinstance(structure, GroupTied):
            return self.gaussian.stats(params, X, weights)
        shape = params.means.shape
        expanded = GaussianParams(
            params.means,
            structure.full(params.covariances, *shape),
            structure.full(params.precisions_cholesky, *shape),
        )
        full = replace(self.gaussian, covariance=Full()).stats(expanded, X, weights)
        scatter = structure.reduce_full(full.scatter)
        return GaussianStats(full.sum_w, full.sum_dx, scatter, full.centre, structure)

    # -- re-estimation -------------------------------------------------------------------
    def m_step(
        self, stats: GaussianMixtureEmissionStats, params: GaussianMixtureEmissionParams
    ) -> GaussianMixtureEmissionParams:
        """Posterior-mode mixture weights, and the Gaussian family's M-step (or hmmlearn's
        update under :attr:`prior`). Members with no weight keep their weights."""
        weights = params.weights
        if "weights" not in self.frozen:
            weights = dirichlet_mode(stats.sum_mix, self.weights_prior, params.weights)
        if self.prior is None:
            gaussian = self.gaussian.m_step(stats.gaussian, params.gaussian)
        else:
            gaussian = self._gmmhmm_update(stats.gaussian, params.gaussian)
        return GaussianMixtureEmissionParams(weights, gaussian)

    def _gmmhmm_update(self, stats: GaussianStats, params: GaussianParams) -> GaussianParams:
        """hmmlearn's GMMHMM update (see :class:`GMMHMMPrior`); as in the Gaussian family's
        M-step, Gaussians (tied: states) with no weight keep their parameters."""
        prior = self.prior
        assert prior is not None
        family, structure = self.gaussian, self.gaussian.covariance
        n_mix = int(self.n_mix)
        rule = _gmmhmm_rule(structure, n_mix)
        assert rule is not None
        # hmmlearn takes the moments about the current means (those of the E-step).
        stats = stats.about(params.means)
        nk, centres = stats.sum_w, params.means
        n_gauss, d = centres.shape
        n_states = n_gauss // n_mix
        empty = nk <= 10.0 * np.finfo(np.float64).eps * max(nk.sum(), 1.0)
        mean_prior = _broadcast(prior.means_prior, (n_states, n_mix, d), "means_prior")
        mean_prior = mean_prior.reshape(n_gauss, d)
        mean_weight = _broadcast(prior.means_weight, (n_states, n_mix), "means_weight").ravel()
        if "means" in family.frozen:
            shift = np.zeros_like(centres)
        else:
            total = np.where(empty, 1.0, mean_weight + nk)
            shift = (mean_weight[:, None] * (mean_prior - centres) + stats.sum_dx) / total[:, None]
            shift[empty] = 0.0
        means = centres + shift
        if "covariances" in family.frozen:
            return GaussianParams(means, params.covariances, params.precisions_cholesky)
        deviation = means - mean_prior
        # Second moments about the E-step's means, as hmmlearn takes them.
        numerator = stats.scatter + structure.outer(deviation, deviation, mean_weight)
        covars_prior, covars_weight = prior.defaults(rule, n_mix, d)
        keep = rule.keep(empty, n_mix)
        numerator, denominator = rule.terms(numerator, nk, covars_prior, covars_weight, n_mix)
        # The defaults make the denominator of an empty Gaussian zero; it keeps its covariance.
        keep_shape = (-1,) + (1,) * (np.ndim(denominator) - 1)
        covariances = numerator / np.where(keep.reshape(keep_shape), 1.0, denominator)
        if structure.matrices:
            _add_to_diagonal(covariances, family.reg_covar)
        else:
            covariances = covariances + family.reg_covar
        covariances = _floored(covariances, structure.matrices, prior.variance_floor)
        covariances[keep] = params.covariances[keep]
        return family.from_covariances(means, covariances)

    def from_responsibilities(
        self, chunks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
    ) -> GaussianMixtureEmissionParams:
        """Parameters from initial member responsibilities, deterministically.

        Every member's samples are split into ``n_mix`` groups of equal probability along
        their principal axis (the first split of the Linde-Buzo-Gray algorithm), and the
        Gaussian family starts the K * n_mix Gaussians from those groups; mixture weights
        start uniform.

        Parameters
        ----------
        chunks : callable
            Returns a fresh iterable of ``(X, resp)`` pairs: float64 samples of shape
            (n, n_features) and their responsibilities (n, n_components), already multiplied
            by the sample weights. Read four times.

        A missing cell (NaN) counts as its column's mean over the observed cells, as in the
        Gaussian family's start: there are no parameters yet to condition on.

        Raises
        ------
        ValueError
            When a column has no observed cell of positive weight.
        """
        n_mix = int(self.n_mix)
        total, first, unseen = None, None, None
        for X, resp in chunks():
            total = resp.sum(axis=0) if total is None else total + resp.sum(axis=0)
            if has_missing(X):
                missing = np.isnan(X)
                X = np.where(missing, 0.0, X)
                part = resp.T @ missing
                unseen = part if unseen is None else unseen + part
            first = resp.T @ X if first is None else first + resp.T @ X
        assert total is not None and first is not None
        fill = None
        if unseen is not None:
            # Weighted sums over the observed cells: the missing cells enter at the mean.
            seen = total.sum() - unseen.sum(axis=0)
            if np.any(seen <= 0):
                column = int(np.flatnonzero(seen <= 0)[0])
                raise ValueError(
                    f"column {column} of the data has no observed value (every cell NaN, or "
                    "of zero weight): a mixture cannot start from it; drop the column"
                )
            fill = first.sum(axis=0) / seen
            first = first + unseen * fill

        def filled() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for X, resp in chunks():
                if fill is not None and has_missing(X):
                    X = np.where(np.isnan(X), fill, X)
                yield X, resp

        n_components = total.shape[0]
        occupied = total > 0
        centres = first / np.where(occupied, total, 1.0)[:, None]
        centres[~occupied] = first.sum(axis=0) / total.sum()
        scatter = None
        for X, resp in filled():
            part = Full().moments(X, np.ascontiguousarray(resp, dtype=np.float64), centres)[1]
            scatter = part if scatter is None else scatter + part
        assert scatter is not None
        variances, axes = np.linalg.eigh(scatter / np.where(occupied, total, 1.0)[:, None, None])
        axis = axes[:, :, -1]  # the principal axis of every member
        scale = np.sqrt(np.where(variances[:, -1] > 0, variances[:, -1], 1.0))
        edges = ndtri(np.arange(1, n_mix) / n_mix)

        def split() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for X, resp in filled():
                z = np.einsum("nkd,kd->nk", X[:, None, :] - centres[None], axis) / scale
                group = np.searchsorted(edges, z)
                weights = np.zeros((X.shape[0], n_components, n_mix))
                np.put_along_axis(weights, group[:, :, None], resp[:, :, None], axis=2)
                yield X, weights.reshape(X.shape[0], n_components * n_mix)

        weights = np.full((n_components, n_mix), 1.0 / n_mix)
        return GaussianMixtureEmissionParams(weights, self.gaussian.from_responsibilities(split))

    def from_arrays(
        self, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray
    ) -> GaussianMixtureEmissionParams:
        """Parameters from mixture weights (K, M), the means (K * M, D) and covariances of
        the Gaussians (in the covariance structure's shape), with the Cholesky factors of
        the precisions computed."""
        weights = np.asarray(weights, dtype=np.float64)
        return GaussianMixtureEmissionParams(
            weights, self.gaussian.from_covariances(np.asarray(means, np.float64), covariances)
        )

    # -- unconstrained coordinates (for SQUAREM, emkit.core.acceleration) ------------------
    def to_unconstrained(self, params: GaussianMixtureEmissionParams) -> np.ndarray:
        """Coordinates in which every vector gives valid parameters, shape (n,), float64: the
        log mixture weights row by row (left out when frozen), then the Gaussian family's
        coordinates. A weight of zero has no finite coordinate (the accelerator then takes a
        plain EM step)."""
        gaussian = np.asarray(self.gaussian.to_unconstrained(params.gaussian), np.float64)
        if "weights" in self.frozen:
            return gaussian
        log_weights = safe_log(np.asarray(params.weights, dtype=np.float64)).ravel()
        return np.concatenate([log_weights, gaussian])

    def from_unconstrained(
        self, vector: np.ndarray, like: GaussianMixtureEmissionParams
    ) -> GaussianMixtureEmissionParams:
        """Parameters at ``vector`` (see :meth:`to_unconstrained`), shaped like ``like``; every
        member's weights are the softmax of its log-weights."""
        vector = np.asarray(vector, dtype=np.float64)
        if "weights" in self.frozen:
            return GaussianMixtureEmissionParams(
                like.weights, self.gaussian.from_unconstrained(vector, like.gaussian)
            )
        k, m = np.shape(like.weights)
        if vector.size < k * m:
            raise ValueError("the coordinate vector is shorter than the mixture weights")
        weights = softmax_rows(vector[: k * m].reshape(k, m))
        gaussian = self.gaussian.from_unconstrained(vector[k * m :], like.gaussian)
        return GaussianMixtureEmissionParams(weights, gaussian)

    # -- beyond the contract ------------------------------------------------------------
    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of K members: the K * M Gaussians' and K (M - 1) mixture weights
        (unless frozen)."""
        n_mix = int(self.n_mix)
        n = self.gaussian.n_parameters(n_components * n_mix, n_features)
        if "weights" not in self.frozen:
            n += n_components * (n_mix - 1)
        return n

    def sample(
        self,
        params: GaussianMixtureEmissionParams,
        counts: np.ndarray,
        random_state: np.random.RandomState,
    ) -> np.ndarray:
        """``counts[k]`` samples from every member, stacked in member order, shape
        (counts.sum(), n_features); within a member the samples are in random order, so
        that the order carries no information about the mixture component."""
        k, m = np.shape(params.weights)
        sub_counts = np.zeros((k, m), dtype=np.int64)
        for state, n in enumerate(np.asarray(counts, dtype=np.int64)):
            if n > 0:
                sub_counts[state] = random_state.multinomial(int(n), params.weights[state])
        X = self.gaussian.sample(params.gaussian, sub_counts.ravel(), random_state)
        start = 0
        for n in sub_counts.sum(axis=1):
            X[start : start + n] = X[start : start + n][random_state.permutation(n)]
            start += n
        return X


# -- imputation: the missing cells given the observed ones --------------------------------
class GaussianMixtureImputation(Imputation):
    """The missing cells of a mixture emission's rows: given member ``k``, a mixture over
    its Gaussians with the inner responsibilities ``p(m | x_o, k)`` of the observed cells,
    each Gaussian's conditional Gaussian of the missing cells given the observed ones. The
    structure's posterior ``r_k`` times ``p(m | x_o, k)`` is then the posterior of Gaussian
    ``(k, m)``, and the Gaussian family's imputation mixes over the K * M Gaussians."""

    def impute(
        self,
        family: GaussianMixtureEmission,
        params: GaussianMixtureEmissionParams,
        X: np.ndarray,
        resp: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        k, m = np.shape(params.weights)
        joint = family.inner_responsibilities(params, X)
        joint *= np.asarray(resp, dtype=np.float64)[:, :, None]
        gaussians = imputation_for(family.gaussian)
        return gaussians.impute(family.gaussian, params.gaussian, X, joint.reshape(-1, k * m))

    def draw(
        self,
        family: GaussianMixtureEmission,
        params: GaussianMixtureEmissionParams,
        X: np.ndarray,
        components: np.ndarray,
        rng: np.random.RandomState,
    ) -> np.ndarray:
        m = np.shape(params.weights)[1]
        members = np.asarray(components, dtype=np.int64)
        inner = family.inner_responsibilities(params, X)[np.arange(X.shape[0]), members]
        gaussians = members * m + pick_components(inner, rng)
        return imputation_for(family.gaussian).draw(
            family.gaussian, params.gaussian, X, gaussians, rng
        )


register_imputation(GaussianMixtureEmission, GaussianMixtureImputation())
