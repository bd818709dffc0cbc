"""Gaussian components: K multivariate normals scored and re-estimated together."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike

from emkit.core.stats import Additive
from emkit.families.base import Family, describable
from emkit.families.checks import (
    check_frozen,
    check_prior,
    checked_array,
    real_data_with_missing,
)
from emkit.families.covariance import CovarianceStructure, covariance_structure
from emkit.families.gaussian_missing import (
    grouped_mixture_e_step,
    grouped_rows,
    has_missing,
    missing_log_prob,
    missing_mixture_e_step,
    missing_moments,
    split_rows,
)
from emkit.families.tables import (
    Columns,
    CovarianceTables,
    ParameterTable,
    Table,
    covariance_words,
)


@dataclass(frozen=True, eq=False)
class GaussianParams:
    """Parameters of K Gaussian components in D dimensions.

    Attributes
    ----------
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray
        Shape given by the covariance structure: (K, D, D) full, (D, D) tied, (K, D) diag,
        (K,) spherical.
    precisions_cholesky : ndarray
        Cholesky factors of the precisions, same shape as ``covariances``.
    """

    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray


@dataclass(frozen=True, eq=False)
class GaussianStats(Additive):
    """Weighted moments of the samples about centres ``c`` (the means they were computed
    under), which they carry: statistics about other centres are re-based onto them when
    added (:meth:`rebased`).

    Attributes
    ----------
    sum_w : ndarray of shape (n_components,)
        Total weight (responsibility times sample weight) of every component.
    sum_dx : ndarray of shape (n_components, n_features)
        ``sum_i r_ik (x_i - c_k)``.
    scatter : ndarray
        ``sum_i r_ik (x_i - c_k)(x_i - c_k)^T`` reduced as the covariance structure needs.
    centre : ndarray of shape (n_components, n_features)
        The centres ``c``.
    covariance : CovarianceStructure
        The structure ``scatter`` is reduced to.
    """

    sum_w: np.ndarray
    sum_dx: np.ndarray
    scatter: np.ndarray
    centre: np.ndarray
    covariance: CovarianceStructure

    references = ("centre", "covariance")

    def rebased(self, like: GaussianStats) -> GaussianStats:
        """These moments about ``like.centre``."""
        if like.covariance != self.covariance:
            raise ValueError(
                f"statistics reduced to {self.covariance!r} cannot be added to those reduced "
                f"to {like.covariance!r}"
            )
        return self.about(like.centre)

    def about(self, centre: np.ndarray) -> GaussianStats:
        """These moments about ``centre`` (n_components, n_features)."""
        if centre is self.centre:
            return self
        sum_dx, scatter = self.covariance.rebase(
            self.sum_w, self.sum_dx, self.scatter, self.centre - centre
        )
        return GaussianStats(self.sum_w, sum_dx, scatter, centre, self.covariance)


FROZEN_CHOICES = frozenset({"means", "covariances"})


@describable
@dataclass(frozen=True)
class GaussianPrior:
    """A conjugate prior on means and covariances, in hmmlearn's parameterisation.

    With it the M-step gives the posterior mode (Huang, Acero and Hon, *Spoken Language
    Processing*, 2001, pp. 443-445): means ``(means_weight * means_prior + sum_x) /
    (means_weight + n_k)`` and covariances ``(covars_prior + scatter about the new means +
    means_weight (mu_k - means_prior)(mu_k - means_prior)^T) / (n_k + max(covars_weight - p,
    0))``, with ``p`` = 1 for diagonal and spherical covariances and the dimension for full
    and tied ones (whose denominator pools the states).

    Parameters
    ----------
    means_prior : float or ndarray of shape (n_components, n_features), default=0.0
    means_weight : float or ndarray of shape (n_components,), default=0.0
        Pseudo-count of the means' prior; 0 leaves the means at their maximum likelihood.
    covars_prior : float or ndarray, default=0.0
        Added to the scatter; broadcast to the covariance parameters' shape (so a number is
        added to every entry of a full matrix, as in hmmlearn).
    covars_weight : float, default=0.0
    """

    means_prior: float | np.ndarray = 0.0
    means_weight: float | np.ndarray = 0.0
    covars_prior: float | np.ndarray = 0.0
    covars_weight: float = 0.0

    def __post_init__(self) -> None:
        for name in ("means_prior", "means_weight", "covars_prior", "covars_weight"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if not np.all(np.isfinite(value)):
                raise ValueError(f"the prior's {name} must be finite")
        if np.any(np.asarray(self.means_weight) < 0):
            raise ValueError("the prior's means_weight must be non-negative")
        if np.ndim(self.covars_weight) != 0:
            raise ValueError("the prior's covars_weight must be a number")


@dataclass(frozen=True)
class Gaussian(Family):
    """The Gaussian family with a covariance structure.

    Parameters
    ----------
    covariance : str or CovarianceStructure, default='full'
        'full', 'tied', 'diag', 'spherical', or a strategy object.
    reg_covar : float, default=1e-6
        Added to the variances at every M-step so that covariances stay positive definite.
        With ``reg_covar > 0`` the M-step is no longer the exact maximiser, so the bound may
        (slightly) decrease; the family then reports ``monotone = False``.
    frozen : frozenset of {'means', 'covariances'}
        Parameters the M-step keeps as they are.
    prior : GaussianPrior, optional
        With a prior the M-step gives the posterior mode instead of the maximum likelihood,
        and the bound EM reports is the log posterior (:meth:`log_prior` added).

    Notes
    -----
    Missing values (NaN cells) are allowed (:attr:`allows_missing`), assumed missing at
    random (whether a cell is missing may depend on the observed cells, not on its own
    value). A row is scored by the density of its observed coordinates, and its statistics
    complete the missing ones by their conditional expectation given the observed ones,
    with their conditional covariance added to the second moments, under every component
    (see :mod:`emkit.families.gaussian_missing`). A row with nothing observed counts for
    nothing (its responsibilities are the mixing weights). Rows without NaN take the
    compiled passes as when nothing is missing, with bit-identical results.
    """

    allows_missing: ClassVar[bool] = True
    """NaN cells are missing values that the E-step conditions on (not an error)."""

    covariance: CovarianceStructure = field(default_factory=lambda: covariance_structure("full"))
    reg_covar: float = 1e-6
    frozen: frozenset[str] = frozenset()
    prior: GaussianPrior | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "covariance", covariance_structure(self.covariance))
        object.__setattr__(self, "frozen", check_frozen(self.frozen, FROZEN_CHOICES, "Gaussian"))
        object.__setattr__(
            self, "reg_covar", check_prior(self.reg_covar, "reg_covar", positive=False)
        )

    @property
    def monotone(self) -> bool:
        """Whether the M-step exactly maximises the objective EM reports, the expected
        complete-data log-likelihood plus :meth:`log_prior`: unless ``reg_covar > 0`` moves
        the covariances off the optimum."""
        return self.reg_covar == 0 or "covariances" in self.frozen

    def log_prior(self, params: GaussianParams) -> float:
        """Log density of :attr:`prior` at ``params``, up to a constant (see
        :meth:`~emkit.families.covariance.CovarianceStructure.map_log_prior`); 0 without a
        prior. EM adds it once to the summed log-likelihood of every pass, so the bound it
        reports (and never lowers) is the log posterior."""
        prior = self.prior
        if prior is None:
            return 0.0
        means = np.asarray(params.means, dtype=np.float64)
        k = means.shape[0]
        return self.covariance.map_log_prior(
            params.precisions_cholesky,
            means - np.broadcast_to(np.asarray(prior.means_prior, np.float64), means.shape),
            np.broadcast_to(np.asarray(prior.means_weight, np.float64), (k,)),
            prior.covars_prior,
            float(prior.covars_weight),
        )

    params_class = GaussianParams
    title = "Gaussian"

    def summary_words(self) -> tuple[str, ...]:
        return (covariance_words(self.covariance.name),)

    def summary_tables(self) -> tuple[Table, ...]:
        return (
            ParameterTable("means by {unit}", (Columns("means"),)),
            CovarianceTables("covariances", self.covariance),
        )

    def stored_names(self) -> tuple[str, ...]:
        """Means and covariances; the Cholesky factors of the precisions follow from them."""
        return ("means", "covariances")

    def from_stored(
        self, arrays: dict[str, np.ndarray], n_components: int, n_features: int
    ) -> GaussianParams:
        """Checked means (n_components, n_features) and covariances (the structure's shape,
        positive definite), with the Cholesky factors of their precisions computed."""
        means = checked_array(arrays["means"], (n_components, n_features), "means_")
        covariances = self.covariance.check(
            arrays["covariances"], n_components, n_features, "covariances_"
        )
        return self.from_covariances(means, covariances)

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
            large for float64 arithmetic (their squares overflow).

        Warns
        -----
        EmptyRowWarning
            Once, naming how many rows have no observed value (they count for nothing).
        """
        return real_data_with_missing(X, "Gaussian")

    def log_prob(
        self, params: GaussianParams, X: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """``log N(x_i | mu_k, Sigma_k)``, shape (n_samples, n_components), written into
        ``out`` (C-contiguous float64 of that shape) when given. For a row with NaN cells,
        the density of its observed coordinates (0 when nothing is observed)."""
        if not has_missing(X):
            return self.covariance.log_prob(X, params.means, params.precisions_cholesky, out)
        split = split_rows(X)
        shape = (X.shape[0], params.means.shape[0])
        if out is None:
            out = np.empty(shape)
        elif out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous float64 array of shape {shape}")
        if split.complete.size:
            out[split.complete] = self.covariance.log_prob(
                X[split.complete], params.means, params.precisions_cholesky
            )
        out[split.partial] = missing_log_prob(
            self.covariance, params.means, params.covariances, X[split.partial]
        )
        out[split.empty] = 0.0
        return out

    def stats(self, params: GaussianParams, X: np.ndarray, resp: np.ndarray) -> GaussianStats:
        """Statistics of samples ``X`` (n, D) with weights ``resp`` (n, K), centred on
        ``params.means``; the missing cells (NaN) of a row completed by their conditional
        expectation given its observed cells (see the class notes)."""
        if not has_missing(X):
            return self._stats(X, resp, params.means)
        split = split_rows(X)
        complete = self._stats(X[split.complete], resp[split.complete], params.means)
        first, second = missing_moments(
            self.covariance,
            params.means,
            params.covariances,
            X[split.partial],
            resp[split.partial],
        )
        partial = GaussianStats(
            resp[split.partial].sum(axis=0), first, second, params.means, self.covariance
        )
        return complete + partial

    def _stats(self, X: np.ndarray, resp: np.ndarray, centres: np.ndarray) -> GaussianStats:
        sum_dx, scatter = self.covariance.moments(X, resp, centres)
        return GaussianStats(resp.sum(axis=0), sum_dx, scatter, centres, self.covariance)

    def mixture_e_step(
        self,
        params: GaussianParams,
        log_weights: np.ndarray,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        hard: bool,
    ) -> tuple[GaussianStats, float]:
        """The E-step of a mixture of these components in one compiled pass.

        Parameters
        ----------
        params : GaussianParams
        log_weights : ndarray of shape (n_components,)
            Log mixing proportions (-inf for a component of zero weight).
        X : ndarray of shape (n_samples, n_features)
            float64 or float32: it is read as it is, and everything accumulates in float64.
            NaN cells are missing values: the rows holding them are conditioned on their
            observed cells (see the class notes), the others take the compiled pass.
        sample_weight : ndarray of shape (n_samples,) or None
        hard : bool
            Classification EM: each sample goes wholly to its most probable component.

        Returns
        -------
        stats : GaussianStats
            Centred on ``params.means``; ``stats.sum_w`` are the mixture's component weights.
        loglik : float
            Summed (weighted) log-likelihood of the batch.
        """
        if X.dtype not in (np.float64, np.float32):
            X = np.asarray(X, dtype=np.float64)
        if has_missing(X):
            return self._mixture_e_step_missing(params, log_weights, X, sample_weight, hard)
        return self._fused_e_step(params, log_weights, X, sample_weight, hard)

    def _fused_e_step(
        self,
        params: GaussianParams,
        log_weights: np.ndarray,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        hard: bool,
    ) -> tuple[GaussianStats, float]:
        w = np.empty(0) if sample_weight is None else np.asarray(sample_weight, np.float64)
        sum_w, first, second, top, norm = self.covariance.fused_e_step(
            X, w, params.means, params.precisions_cholesky, log_weights, hard
        )
        with np.errstate(divide="ignore"):
            log_norm = np.log(norm)
        log_norm += top
        loglik = float(log_norm.sum() if sample_weight is None else w @ log_norm)
        return GaussianStats(sum_w, first, second, params.means, self.covariance), loglik

    def _mixture_e_step_missing(
        self,
        params: GaussianParams,
        log_weights: np.ndarray,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        hard: bool,
    ) -> tuple[GaussianStats, float]:
        """:meth:`mixture_e_step` of a batch with NaN cells: its complete rows through the
        compiled pass, its partly observed rows conditioned on what they show, its
        unobserved rows left out."""
        w = None if sample_weight is None else np.asarray(sample_weight, np.float64)
        if self.covariance.matrices:
            rows = grouped_rows(X)
            complete = rows.complete
            sum_w, first, second, partial_loglik = grouped_mixture_e_step(
                self.covariance,
                params.means,
                params.covariances,
                log_weights,
                X,
                rows,
                w,
                hard,
            )
        else:
            split = split_rows(X)
            complete = split.complete
            sum_w, first, second, partial_loglik = missing_mixture_e_step(
                self.covariance,
                params.means,
                params.covariances,
                log_weights,
                X[split.partial],
                None if w is None else w[split.partial],
                hard,
            )
        stats, loglik = self._fused_e_step(
            params, log_weights, X[complete], None if w is None else w[complete], hard
        )
        partial = GaussianStats(sum_w, first, second, params.means, self.covariance)
        return stats + partial, loglik + partial_loglik

    def m_step(self, stats: GaussianStats, params: GaussianParams) -> GaussianParams:
        """Maximum-likelihood means and covariances from statistics about any centres.

        Components with (numerically) no weight keep their parameters: any value maximises
        the expected log-likelihood there.
        """
        if "means" in self.frozen:
            # Frozen means stay where they are: the moments about them give the covariances.
            stats = stats.about(params.means)
        nk = stats.sum_w
        empty = nk <= 10.0 * np.finfo(np.float64).eps * max(nk.sum(), 1.0)
        if self.prior is not None:
            return self._posterior_mode(stats, params, empty)
        safe_nk = np.where(empty, 1.0, nk)
        if "means" in self.frozen:
            shift = np.zeros_like(stats.sum_dx)
        else:
            shift = np.where(empty[:, None], 0.0, stats.sum_dx / safe_nk[:, None])
        means = stats.centre + shift
        means[empty] = params.means[empty]
        if "covariances" in self.frozen:
            return GaussianParams(means, params.covariances, params.precisions_cholesky)
        covariances = self.covariance.estimate(
            nk, shift, stats.scatter, self.reg_covar, params.covariances, empty
        )
        return GaussianParams(means, covariances, self.covariance.precisions_cholesky(covariances))

    def _posterior_mode(
        self, stats: GaussianStats, params: GaussianParams, empty: np.ndarray
    ) -> GaussianParams:
        """The M-step under :attr:`prior` (see :class:`GaussianPrior`); as in the maximum
        likelihood M-step, empty components keep their parameters."""
        prior = self.prior
        assert prior is not None
        nk, centres = stats.sum_w, stats.centre
        n_components = nk.shape[0]
        mean_weight = np.broadcast_to(np.asarray(prior.means_weight, np.float64), (n_components,))
        mean_prior = np.broadcast_to(np.asarray(prior.means_prior, np.float64), centres.shape)
        if "means" in self.frozen:
            shift = np.zeros_like(centres)
        else:
            total = mean_weight + nk
            pulled = mean_weight[:, None] * (mean_prior - centres) + stats.sum_dx
            shift = pulled / np.where(empty, 1.0, total)[:, None]
            shift[empty] = 0.0
        means = centres + shift
        means[empty] = params.means[empty]
        if "covariances" in self.frozen:
            return GaussianParams(means, params.covariances, params.precisions_cholesky)
        outer = self.covariance.outer
        deviation = means - mean_prior
        scatter = (
            stats.scatter
            - outer(shift, stats.sum_dx, np.ones_like(nk))
            - outer(stats.sum_dx, shift, np.ones_like(nk))
            + outer(shift, shift, nk)
            + outer(deviation, deviation, mean_weight)
        )
        covariances = self.covariance.map_estimate(
            scatter, nk, prior.covars_prior, float(prior.covars_weight), self.reg_covar
        )
        if self._per_component_covariances:
            covariances[empty] = params.covariances[empty]
        return GaussianParams(means, covariances, self.covariance.precisions_cholesky(covariances))

    def from_responsibilities(
        self, chunks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
    ) -> GaussianParams:
        """Parameters from initial responsibilities: one M-step from scratch.

        Parameters
        ----------
        chunks : callable
            Returns a fresh iterable of ``(X, resp)`` pairs: float64 samples of shape
            (n, n_features) and their responsibilities (n, n_components), already multiplied
            by the sample weights. Read twice: for the overall mean, then for moments about it.

        Components with no weight start at the overall mean and covariance. A missing cell
        (NaN) counts as its column's mean over the observed cells: there are no parameters
        yet to condition on.

        Raises
        ------
        ValueError
            When a column has no observed cell of positive weight.
        """
        total, first, seen = 0.0, 0.0, 0.0
        for X, resp in chunks():
            w = resp.sum(axis=1)
            total += w.sum()
            observed = ~np.isnan(X)
            first = first + w @ np.where(observed, X, 0.0)
            seen = seen + w @ observed
        if np.any(seen <= 0):
            column = int(np.flatnonzero(seen <= 0)[0])
            raise ValueError(
                f"column {column} of the data has no observed value (every cell NaN, or of "
                "zero weight): a mixture cannot start from it; drop the column"
            )
        centre = first / seen
        stats = None
        for X, resp in chunks():
            n_components = resp.shape[1]
            X = np.where(np.isnan(X), centre, X)
            s = self._stats(X, resp, np.repeat(centre[None], n_components, axis=0))
            stats = s if stats is None else stats + s
        assert stats is not None
        n_components = stats.sum_w.shape[0]
        start = GaussianParams(
            np.repeat(centre[None], n_components, axis=0),
            self.covariance.pooled(stats.scatter, total, n_components, self.reg_covar),
            np.empty(0),
        )
        return Gaussian(self.covariance, self.reg_covar).m_step(stats, start)

    # -- unconstrained coordinates (for SQUAREM, emkit.core.acceleration) ------------------
    def to_unconstrained(self, params: GaussianParams) -> np.ndarray:
        """Coordinates in which every vector gives valid parameters, shape (n,), float64.

        In order: the means as they are; then, for covariance matrices (full (K, D, D), tied
        (D, D)), the strictly lower entries of their Cholesky factors followed by the logs of
        the factors' diagonals, and for variances (diag (K, D), spherical (K,)) their logs.
        Frozen parameters are left out (:meth:`from_unconstrained` takes them from ``like``).

        Raises
        ------
        TypeError
            For covariance structures that these coordinates do not keep (shared
            orientations or shapes of full matrices, e.g. mclust's VEV), unless the
            covariances are frozen.
        """
        if not self.covariance.extrapolates and "covariances" not in self.frozen:
            raise TypeError(unconstrained_refusal(self.covariance.name))
        parts = []
        if "means" not in self.frozen:
            parts.append(np.ravel(params.means))
        if "covariances" not in self.frozen:
            covariances = np.asarray(params.covariances, dtype=np.float64)
            if self._matrix_covariances:
                chol = np.linalg.cholesky(covariances)
                rows, cols = np.tril_indices(chol.shape[-1], -1)
                parts.append(np.ravel(chol[..., rows, cols]))
                parts.append(np.ravel(np.log(np.diagonal(chol, axis1=-2, axis2=-1))))
            else:
                parts.append(np.ravel(np.log(covariances)))
        if not parts:
            return np.empty(0)
        return np.concatenate(parts).astype(np.float64, copy=False)

    def from_unconstrained(self, vector: np.ndarray, like: GaussianParams) -> GaussianParams:
        """Parameters at unconstrained coordinates ``vector`` (see :meth:`to_unconstrained`),
        shaped like ``like``, whose values frozen parameters keep. The Cholesky factors of the
        precisions are recomputed from the covariances.

        Raises
        ------
        ValueError
            When ``vector`` has the wrong length, or gives covariances that are not positive
            definite in floating point.
        """
        vector = np.asarray(vector, dtype=np.float64)
        taken = 0

        def take(shape: tuple[int, ...]) -> np.ndarray:
            nonlocal taken
            size = int(np.prod(shape, dtype=np.int64))
            part = vector[taken : taken + size]
            taken += size
            if part.size != size:
                raise ValueError("the coordinate vector is shorter than the parameters")
            return part.reshape(shape)

        means = like.means if "means" in self.frozen else take(np.shape(like.means)).copy()
        if "covariances" in self.frozen:
            covariances, prec_chol = like.covariances, like.precisions_cholesky
        else:
            shape = np.shape(like.covariances)
            if self._matrix_covariances:
                d = shape[-1]
                rows, cols = np.tril_indices(d, -1)
                chol = np.zeros(shape)
                chol[..., rows, cols] = take((*shape[:-2], rows.size))
                diagonal = np.arange(d)
                chol[..., diagonal, diagonal] = np.exp(take((*shape[:-2], d)))
                covariances = chol @ np.swapaxes(chol, -1, -2)
                # Exactly symmetric, as an M-step's covariances are.
                covariances = 0.5 * (covariances + np.swapaxes(covariances, -1, -2))
            else:
                covariances = np.exp(take(shape))
            prec_chol = self.covariance.precisions_cholesky(covariances)
        if taken != vector.size:
            raise ValueError(
                f"the coordinate vector has {vector.size} entries, the parameters {taken}"
            )
        return GaussianParams(means, covariances, prec_chol)

    @property
    def _per_component_covariances(self) -> bool:
        """Whether every component has its own covariance parameters (all but tied)."""
        return self.covariance.shape(2, 3)[0] == 2

    @property
    def _matrix_covariances(self) -> bool:
        """Whether the covariance parameters are (stacks of) D x D matrices (full, tied),
        rather than variances (diag, spherical); read from the structure's shapes, with
        K != D so that the two cannot be confused."""
        return tuple(self.covariance.shape(2, 3)[-2:]) == (3, 3)

    def from_covariances(self, means: np.ndarray, covariances: np.ndarray) -> GaussianParams:
        """Parameters with their Cholesky precision factors computed."""
        return GaussianParams(means, covariances, self.covariance.precisions_cholesky(covariances))

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of K components (means and covariances)."""
        return n_components * n_features + self.covariance.n_parameters(n_components, n_features)

    def sample(
        self, params: GaussianParams, counts: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """``counts[k]`` samples from every component, stacked in component order,
        shape (counts.sum(), n_features)."""
        n_components, n_features = params.means.shape
        full = self.covariance.full(params.covariances, n_components, n_features)
        out = []
        for k, n in enumerate(counts):
            chol = np.linalg.cholesky(full[k])
            z = random_state.standard_normal((int(n), n_features))
            out.append(params.means[k] + z @ chol.T)
        return np.concatenate(out) if out else np.empty((0, n_features))


def unconstrained_refusal(name: str) -> str:
    """Why covariance structure ``name`` has no unconstrained coordinates for SQUAREM."""
    return (
        f"accelerate='squarem' is not available for covariance_type={name!r}: extrapolated "
        "covariances would leave the model (its shared orientation or shape is not kept in "
        "Cholesky coordinates); fit it without acceleration"
    )
