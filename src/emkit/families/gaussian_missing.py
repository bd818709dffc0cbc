"""The Gaussian E-step of rows with missing values (NaN), conditioned on what is observed.

Values are assumed missing at random: whether a cell is missing may depend on the observed
cells, not on its own value. The observed-data likelihood then ignores the missingness, and
EM treats the missing cells as latent (the classic EM for the multivariate normal of Little
and Rubin, *Statistical Analysis with Missing Data*, ch. 11, applied per component):

- the log-likelihood of a row is that of its observed coordinates ``o``, the marginal
  ``N(x_o | mu_o, Sigma_oo)``;
- its statistics under component ``k`` are those of the completed row, with the missing
  coordinates ``m`` at their conditional expectation
  ``x_m = mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o)`` and the conditional covariance
  ``Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om`` added to the second moments, all weighted by
  the responsibilities. The M-step reads these expected moments unchanged.

Full and tied covariances (and mclust's models stored as them) work one missingness pattern
at a time: one Cholesky factor of ``Sigma_oo`` per pattern and component, in a compiled pass
over the rows grouped by pattern (:func:`emkit.families.gaussian_kernels.missing_full_pass`;
its NumPy twins, vectorised over a pattern's rows and the components, are the
``*_reference`` functions here). With diagonal and spherical covariances the coordinates are
independent within a component, so a missing one simply drops out (expected value ``mu_m``,
conditional variance ``sigma^2_m``): all rows are handled at once, with no grouping. Rows
with nothing observed have likelihood one whatever the parameters: they are left out here
(no statistics, nothing added to the log-likelihood).

Rows without NaN never come here: the Gaussian family sends them through its compiled
passes, as when no value is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from emkit.families.covariance import LOG_2PI, CovarianceStructure
from emkit.families.gaussian_kernels import missing_full_pass, missing_keys
from emkit.numerics.logspace import responsibilities


def has_missing(X: np.ndarray) -> bool:
    """Whether the floating array ``X`` holds a NaN (one vectorised pass, no mask)."""
    return X.size > 0 and bool(np.isnan(X.min()))


class RowSplit(NamedTuple):
    """The rows of a batch by what is observed.

    Attributes
    ----------
    complete : ndarray of shape (n_complete,)
        Indices of the rows without NaN.
    partial : ndarray of shape (n_partial,)
        Indices of the rows with some, not all, coordinates observed.
    empty : ndarray of shape (n_empty,)
        Indices of the rows with nothing observed.
    """

    complete: np.ndarray
    partial: np.ndarray
    empty: np.ndarray


def split_rows(X: np.ndarray) -> RowSplit:
    """Indices of the complete, partly observed and unobserved rows of ``X`` (n, D)."""
    missing = np.isnan(X).sum(axis=1)
    return RowSplit(
        np.flatnonzero(missing == 0),
        np.flatnonzero((missing > 0) & (missing < X.shape[1])),
        np.flatnonzero(missing == X.shape[1]),
    )


def empty_rows(X: np.ndarray) -> int:
    """Number of rows of ``X`` (n, D) with every coordinate NaN."""
    if X.shape[1] == 0 or not has_missing(X):
        return 0
    return int(np.isnan(X).all(axis=1).sum())


# -- one block of rows: what a structure needs to score it and take its moments ------------
@dataclass(frozen=True)
class _Pattern:
    """Rows sharing one missingness pattern, under K components with full covariances.

    With ``L_k`` the Cholesky factor of ``Sigma_koo``, ``inv_chol`` holds ``L_k^-1``
    (K, o, o), ``gain`` is ``L_k^-1 Sigma_kom`` (K, o, m), so that the conditional
    expectation of ``x_m - mu_km`` is ``z @ gain`` with ``z = L_k^-1 (x_o - mu_ko)`` the
    whitened observed deviations, and ``residual`` the conditional covariances
    ``Sigma_kmm - gain^T gain`` (K, m, m). Moments are taken in the order observed, then
    missing coordinates, and put back in the features' order once per pattern.
    """

    observed: np.ndarray
    missing: np.ndarray
    Xo: np.ndarray
    means: np.ndarray
    inv_chol: np.ndarray
    log_det: np.ndarray
    gain: np.ndarray
    residual: np.ndarray

    @classmethod
    def build(
        cls, Xo: np.ndarray, observed: np.ndarray, means: np.ndarray, full: np.ndarray
    ) -> _Pattern:
        """The pattern of rows whose observed coordinates are ``Xo`` (n_rows, o), the
        indices ``observed``, under components of ``means`` (K, D) and covariances ``full``
        (K, D, D)."""
        o = observed
        m = np.setdiff1d(np.arange(means.shape[1]), o)
        chol = np.linalg.cholesky(full[:, o[:, None], o[None, :]])
        inv_chol = np.linalg.inv(chol)
        gain = inv_chol @ full[:, o[:, None], m[None, :]]
        residual = full[:, m[:, None], m[None, :]] - np.swapaxes(gain, 1, 2) @ gain
        log_det = np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        return cls(o, m, Xo, means, inv_chol, log_det, gain, residual)

    def whitened(self) -> np.ndarray:
        """``L_k^-1 (x_o - mu_ko)`` of every row, shape (K, n_rows, o)."""
        diff = self.Xo[None] - self.means[:, None, self.observed]
        return diff @ np.swapaxes(self.inv_chol, 1, 2)

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        """``log N(x_o | mu_ko, Sigma_koo)``, shape (n_rows, K), from :meth:`whitened`."""
        norm = -self.log_det - 0.5 * self.observed.size * LOG_2PI
        return (norm[:, None] - 0.5 * np.einsum("kni,kni->kn", z, z)).T

    def moments(
        self, z: np.ndarray, weights: np.ndarray, centres: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Expected first moments about ``centres`` (K, D) and full second moments
        (K, D, D) of the rows weighted by ``weights`` (n_rows, K)."""
        o, m = self.observed, self.missing
        dev = np.concatenate(
            [
                self.Xo[None] - centres[:, None, o],
                z @ self.gain + (self.means[:, m] - centres[:, m])[:, None, :],
            ],
            axis=2,
        )
        wt = weights.T
        weighted = dev * wt[:, :, None]
        first = weighted.sum(axis=1)
        second = np.swapaxes(weighted, 1, 2) @ dev
        second[:, o.size :, o.size :] += wt.sum(axis=1)[:, None, None] * self.residual
        back = np.argsort(np.concatenate([o, m]))
        return first[:, back], second[:, back[:, None], back[None, :]]


@dataclass(frozen=True)
class _Masked:
    """Rows under K components with diagonal covariances ``variances`` (K, D): a missing
    coordinate drops out of the density, and enters the moments at the component's mean
    with the component's variance."""

    X: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    def whitened(self) -> np.ndarray:
        """The observed mask, shape (n_rows, D) (nothing to whiten jointly)."""
        return ~np.isnan(self.X)

    def log_prob(self, observed: np.ndarray) -> np.ndarray:
        k = self.means.shape[0]
        out = np.empty((self.X.shape[0], k))
        log_var = np.log(self.variances) + LOG_2PI
        for c in range(k):
            dev = np.where(observed, self.X - self.means[c], 0.0)
            out[:, c] = -0.5 * (observed @ log_var[c] + (dev * dev) @ (1.0 / self.variances[c]))
        return out

    def moments(
        self, observed: np.ndarray, weights: np.ndarray, centres: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Expected first and second moments about ``centres`` (both (K, D), the second
        elementwise) of the rows weighted by ``weights`` (n_rows, K)."""
        first = np.empty_like(centres)
        second = np.empty_like(centres)
        unobserved = (~observed).astype(np.float64)
        for c in range(centres.shape[0]):
            dev = np.where(observed, self.X - centres[c], self.means[c] - centres[c])
            w = weights[:, c]
            first[c] = w @ dev
            second[c] = w @ (dev * dev) + (w @ unobserved) * self.variances[c]
        return first, second


def _blocks(
    structure: CovarianceStructure, means: np.ndarray, covariances: np.ndarray, X: np.ndarray
) -> Iterator[tuple[np.ndarray, _Pattern | _Masked]]:
    """``(rows, block)`` over the partly observed rows ``X`` (n, D), float64: one block per
    missingness pattern for matrix covariances, one for all rows otherwise."""
    k, d = means.shape
    full = structure.full(np.asarray(covariances, dtype=np.float64), k, d)
    if not structure.matrices:
        yield np.arange(X.shape[0]), _Masked(X, means, np.diagonal(full, axis1=1, axis2=2))
        return
    for rows, observed in patterns(np.isnan(X)):
        yield rows, _Pattern.build(X[np.ix_(rows, observed)], observed, means, full)


def _pattern_keys(missing: np.ndarray) -> np.ndarray:
    """One sortable key per row of a mask ``missing`` (n, D), equal for equal patterns."""
    d = missing.shape[1]
    if d <= 16:
        # Keys of 16 bits or fewer sort by radix, in linear time.
        dtype = np.uint8 if d <= 8 else np.uint16
        return (missing @ (np.int64(1) << np.arange(d, dtype=np.int64))).astype(dtype)
    if d <= 62:
        return missing @ (np.int64(1) << np.arange(d, dtype=np.int64))
    packed = np.packbits(missing, axis=1)
    return packed.view(np.dtype((np.void, packed.shape[1]))).ravel()


def _grouped(missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(order, bounds)``: the rows sorted by pattern (stably), and where a new pattern
    begins in that order."""
    keys = _pattern_keys(missing)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    return order, np.flatnonzero(ordered[1:] != ordered[:-1]) + 1


def patterns(missing: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The missingness patterns of a mask ``missing`` (n, D): ``(rows, observed)`` with the
    row indices of every pattern (ascending) and the indices of its observed coordinates,
    in an order fixed by the patterns alone."""
    if missing.shape[0] == 0:
        return
    order, bounds = _grouped(missing)
    for rows in np.split(order, bounds):
        yield rows, np.flatnonzero(~missing[rows[0]])


def _reduce(structure: CovarianceStructure, second: np.ndarray) -> np.ndarray:
    """Second moments from :meth:`_Pattern.moments` (K, D, D) or :meth:`_Masked.moments`
    (K, D) reduced as ``structure`` reduces its scatter."""
    return structure.reduce_full(second) if structure.matrices else second


# -- what the family calls ----------------------------------------------------------------
# Full and tied covariances go through the compiled pass of
# emkit.families.gaussian_kernels.missing_full_pass; the *_reference functions are its NumPy
# twins (and serve diagonal and spherical covariances, whose masked pass needs no kernel).


def _compiled(
    structure: CovarianceStructure,
    means: np.ndarray,
    covariances: np.ndarray,
    X: np.ndarray,
    log_weights: np.ndarray,
    weights: np.ndarray | None,
    resp: np.ndarray | None,
    scores_only: bool,
    hard: bool,
):
    k, d = means.shape
    full = np.ascontiguousarray(structure.full(np.asarray(covariances, np.float64), k, d))
    order, starts = pattern_order(np.isnan(X))
    result = missing_full_pass(
        X,
        order,
        starts,
        np.ascontiguousarray(means, dtype=np.float64),
        full,
        np.asarray(log_weights, dtype=np.float64),
        np.empty(0) if weights is None else np.asarray(weights, np.float64),
        np.empty((0, 0)) if resp is None else np.ascontiguousarray(resp, dtype=np.float64),
        scores_only,
        hard,
    )
    if not result[-1]:
        raise np.linalg.LinAlgError(
            "a covariance restricted to the observed coordinates of some rows is not "
            "positive definite"
        )
    return result


def pattern_order(missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a mask ``missing`` (n, D) grouped by pattern: ``order`` (n,) and
    ``starts`` (n_patterns + 1,), pattern ``p`` holding ``order[starts[p]:starts[p + 1]]``,
    in the order of :func:`patterns` (vectorised: a batch may hold thousands of patterns)."""
    n = missing.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64), np.zeros(1, dtype=np.int64)
    order, bounds = _grouped(missing)
    starts = np.concatenate([[0], bounds, [n]]).astype(np.int64)
    return order.astype(np.int64), starts


class GroupedRows(NamedTuple):
    """The rows of a batch by what is observed, the partly observed ones grouped by
    pattern.

    Attributes
    ----------
    complete : ndarray of shape (n_complete,)
        Indices of the rows without NaN.
    order : ndarray of shape (n_partial,)
        Indices of the partly observed rows, grouped by missingness pattern: pattern ``p``
        holds ``order[starts[p]:starts[p + 1]]``.
    starts : ndarray of shape (n_patterns + 1,)
    """

    complete: np.ndarray
    order: np.ndarray
    starts: np.ndarray


def grouped_rows(X: np.ndarray) -> GroupedRows:
    """:class:`GroupedRows` of ``X`` (n, D): for up to 62 columns from one compiled pass
    that finds every row's pattern, without a copy of the partly observed rows."""
    d = X.shape[1]
    if d > 62:
        split = split_rows(X)
        order, starts = pattern_order(np.isnan(X[split.partial]))
        return GroupedRows(split.complete, split.partial[order], starts)
    keys, counts = missing_keys(X)
    partial = np.flatnonzero((counts > 0) & (counts < d))
    partial_keys = keys[partial]
    if d <= 16:
        partial_keys = partial_keys.astype(np.uint8 if d <= 8 else np.uint16)
    within = np.argsort(partial_keys, kind="stable")
    ordered = partial_keys[within]
    bounds = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    starts = np.concatenate([[0], bounds, [partial.size]]).astype(np.int64)
    if partial.size == 0:
        starts = np.zeros(1, dtype=np.int64)
    return GroupedRows(np.flatnonzero(counts == 0), partial[within].astype(np.int64), starts)


def grouped_mixture_e_step(
    structure: CovarianceStructure,
    means: np.ndarray,
    covariances: np.ndarray,
    log_weights: np.ndarray,
    X: np.ndarray,
    rows: GroupedRows,
    sample_weight: np.ndarray | None,
    hard: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """:func:`missing_mixture_e_step` of the partly observed rows of ``X`` (n, D), read
    in place through ``rows`` (:func:`grouped_rows`), for matrix covariances;
    ``sample_weight`` (n,) are the weights of all rows of ``X``."""
    k, d = means.shape
    full = np.ascontiguousarray(structure.full(np.asarray(covariances, np.float64), k, d))
    w = np.empty(0) if sample_weight is None else np.asarray(sample_weight, np.float64)
    _, sum_w, first, second, loglik, ok = missing_full_pass(
        np.asarray(X, dtype=np.float64),
        rows.order,
        rows.starts,
        np.ascontiguousarray(means, dtype=np.float64),
        full,
        np.asarray(log_weights, dtype=np.float64),
        w,
        np.empty((0, 0)),
        False,
        hard,
    )
    if not ok:
        raise np.linalg.LinAlgError(
            "a covariance restricted to the observed coordinates of some rows is not "
            "positive definite"
        )
    # loglik is zero outside the partly observed rows.
    total = float(loglik.sum() if sample_weight is None else w @ loglik)
    return sum_w, first, _reduce(structure, second), total


def missing_log_prob(
    structure: CovarianceStructure, means: np.ndarray, covariances: np.ndarray, X: np.ndarray
) -> np.ndarray:
    """``log N(x_io | mu_ko, Sigma_koo)`` of partly observed rows ``X`` (n, D), shape
    (n, K)."""
    if not structure.matrices:
        return missing_log_prob_reference(structure, means, covariances, X)
    zeros = np.zeros(means.shape[0])
    return _compiled(structure, means, covariances, X, zeros, None, None, True, False)[0]


def missing_moments(
    structure: CovarianceStructure,
    means: np.ndarray,
    covariances: np.ndarray,
    X: np.ndarray,
    weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected first moments about ``means`` (K, D) and second moments reduced to the
    structure's scatter shape, of partly observed rows ``X`` (n, D) weighted by ``weights``
    (n, K), the missing coordinates conditioned on the observed ones under every component
    of ``means`` (K, D) and ``covariances``."""
    if not structure.matrices:
        return missing_moments_reference(structure, means, covariances, X, weights)
    zeros = np.zeros(means.shape[0])
    result = _compiled(structure, means, covariances, X, zeros, None, weights, False, False)
    return result[2], _reduce(structure, result[3])


def missing_mixture_e_step(
    structure: CovarianceStructure,
    means: np.ndarray,
    covariances: np.ndarray,
    log_weights: np.ndarray,
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    hard: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The mixture E-step of partly observed rows ``X`` (n, D): one factorisation per
    pattern and component serves both the scores and the moments.

    Returns the component weights ``sum_w`` (K,), the first moments about ``means`` (K, D),
    the second moments reduced to the structure's scatter shape, and the summed (weighted)
    log-likelihood of the rows' observed coordinates.
    """
    if not structure.matrices:
        return missing_mixture_e_step_reference(
            structure, means, covariances, log_weights, X, sample_weight, hard
        )
    _, sum_w, first, second, loglik, _ = _compiled(
        structure, means, covariances, X, log_weights, sample_weight, None, False, hard
    )
    total = float(loglik.sum() if sample_weight is None else sample_weight @ loglik)
    return sum_w, first, _reduce(structure, second), total


def missing_log_prob_reference(
    structure: CovarianceStructure, means: np.ndarray, covariances: np.ndarray, X: np.ndarray
) -> np.ndarray:
    """NumPy twin of :func:`missing_log_prob`."""
    X = np.asarray(X, dtype=np.float64)
    out = np.empty((X.shape[0], means.shape[0]))
    for rows, block in _blocks(structure, means, covariances, X):
        out[rows] = block.log_prob(block.whitened())
    return out


def missing_moments_reference(
    structure: CovarianceStructure,
    means: np.ndarray,
    covariances: np.ndarray,
    X: np.ndarray,
    weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """NumPy twin of :func:`missing_moments`."""
    X = np.asarray(X, dtype=np.float64)
    k, d = means.shape
    first = np.zeros((k, d))
    second = np.zeros((k, d, d) if structure.matrices else (k, d))
    for rows, block in _blocks(structure, means, covariances, X):
        f, s = block.moments(block.whitened(), weights[rows], means)
        first += f
        second += s
    return first, _reduce(structure, second)


def missing_mixture_e_step_reference(
    structure: CovarianceStructure,
    means: np.ndarray,
    covariances: np.ndarray,
    log_weights: np.ndarray,
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    hard: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """NumPy twin of :func:`missing_mixture_e_step`."""
    X = np.asarray(X, dtype=np.float64)
    k, d = means.shape
    sum_w = np.zeros(k)
    first = np.zeros((k, d))
    second = np.zeros((k, d, d) if structure.matrices else (k, d))
    loglik = 0.0
    for rows, block in _blocks(structure, means, covariances, X):
        z = block.whitened()
        log_joint = block.log_prob(z)
        log_joint += log_weights
        w = None if sample_weight is None else sample_weight[rows]
        resp, ll = responsibilities(log_joint, w, hard)
        f, s = block.moments(z, resp, means)
        sum_w += resp.sum(axis=0)
        first += f
        second += s
        loglik += ll
    return sum_w, first, _reduce(structure, second), loglik


# -- imputation: the missing coordinates given the observed ones --------------------------
class Conditional(NamedTuple):
    """The missing coordinates of the rows of one missingness pattern, conditioned on their
    observed coordinates under each of K Gaussian components.

    Attributes
    ----------
    rows : ndarray of shape (n_rows,)
        Indices of the pattern's rows.
    observed : ndarray of shape (o,)
        Indices of the observed coordinates.
    missing : ndarray of shape (m,)
        Indices of the missing coordinates (``m >= 1``).
    means : ndarray of shape (n_components, n_rows, m)
        ``E[x_m | x_o, k] = mu_km + Sigma_kmo Sigma_koo^-1 (x_o - mu_ko)``.
    covariances : ndarray of shape (n_components, m, m)
        ``Cov[x_m | x_o, k] = Sigma_kmm - Sigma_kmo Sigma_koo^-1 Sigma_kom``, the same for
        every row of the pattern.
    """

    rows: np.ndarray
    observed: np.ndarray
    missing: np.ndarray
    means: np.ndarray
    covariances: np.ndarray


def conditional_gaussians(
    structure: CovarianceStructure, means: np.ndarray, covariances: np.ndarray, X: np.ndarray
) -> Iterator[Conditional]:
    """The conditional Gaussians of the missing coordinates of the rows of ``X`` (n, D),
    one :class:`Conditional` per missingness pattern with a missing coordinate (rows
    without NaN are left out; a row with nothing observed gets the components themselves),
    under the components of ``means`` (K, D) and ``covariances`` (of ``structure``'s
    shape).

    One Cholesky factor of ``Sigma_koo`` per pattern and component serves all the rows of
    the pattern (:class:`_Pattern`), as in the E-step."""
    X = np.asarray(X, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    k, d = means.shape
    full = structure.full(np.asarray(covariances, dtype=np.float64), k, d)
    for rows, observed in patterns(np.isnan(X)):
        if observed.size == d:
            continue
        missing = np.setdiff1d(np.arange(d), observed)
        if observed.size == 0:
            cond_means = np.repeat(means[:, None, :], rows.size, axis=1)
            yield Conditional(rows, observed, missing, cond_means, full)
            continue
        block = _Pattern.build(X[np.ix_(rows, observed)], observed, means, full)
        cond_means = block.whitened() @ block.gain + means[:, None, missing]
        yield Conditional(rows, observed, missing, cond_means, block.residual)


def conditional_moments(
    structure: CovarianceStructure, means: np.ndarray, covariances: np.ndarray, X: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every cell of ``X`` (n, D) under every component given the row's observed cells:
    the conditional means (n, K, D), the observed cells themselves where observed, and the
    conditional variances (n, K, D), zero where observed.

    Diagonal and spherical covariances make the coordinates independent within a
    component: a missing cell is then the component's mean with its variance, for all rows
    at once. Matrix covariances go a pattern at a time (:func:`conditional_gaussians`)."""
    X = np.asarray(X, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    k, d = means.shape
    missing = np.isnan(X)[:, None, :]
    if not structure.matrices:
        full = structure.full(np.asarray(covariances, dtype=np.float64), k, d)
        variances = np.diagonal(full, axis1=1, axis2=2)
        return (
            np.where(missing, means[None], X[:, None, :]),
            np.where(missing, variances[None], 0.0),
        )
    cond_means = np.repeat(X[:, None, :], k, axis=1)
    cond_vars = np.zeros_like(cond_means)
    for c in conditional_gaussians(structure, means, covariances, X):
        cells = np.ix_(c.rows, np.arange(k), c.missing)
        cond_means[cells] = np.swapaxes(c.means, 0, 1)
        cond_vars[cells] = np.diagonal(c.covariances, axis1=1, axis2=2)[None]
    return cond_means, cond_vars
