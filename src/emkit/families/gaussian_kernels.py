"""Compiled passes for diagonal, spherical and full Gaussians, and for rows with missing
values under full covariances.

With a diagonal covariance every (sample, component) pair costs O(n_features) work, too little
for BLAS to pay off and too much to leave to NumPy temporaries of shape (n_samples,
n_features) per component. These loops read each sample once per pass, keep no temporaries
and subtract the mean before squaring (no ``x^2 - 2 x mu + mu^2`` cancellation). Each has a
NumPy twin, the ``*_reference`` function, that the tests compare against.
"""

from __future__ import annotations

import numba
import numpy as np

from emkit.numerics.logspace import exp_nonpositive_inplace

LOG_2PI_KERNEL = float(np.log(2.0 * np.pi))

# Rows are processed in blocks held transposed (n_features x BLOCK), so that every inner loop
# runs along rows: contiguous, independent, vectorised by the compiler. BLAS on the thin
# (rows x n_features) @ (n_features x n_features) products of small n_features spends more
# time on temporaries and calls than on arithmetic.
BLOCK = 256


# -- per-block computations, shared by the standalone and the fused kernels ----------------
# Each works on a block of m rows held transposed, xt (n_features, BLOCK), for one component.


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _block_diag_sq_dist(xt, m, mu, prec, out):
    """``out[:m] = sum_j prec[j] * (xt[j, :m] - mu[j])**2``."""
    out[:m] = 0.0
    for j in range(xt.shape[0]):
        c = mu[j]
        p = prec[j]
        for i in range(m):
            dv = xt[j, i] - c
            out[i] += dv * dv * p


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _block_full_sq_dist(xt, m, mu, prec_chol, diff, y, out):
    """``out[:m] = |(x_i - mu) @ P|^2`` for upper-triangular ``P`` (n_features, n_features)."""
    d = xt.shape[0]
    if d == 2:
        # Two features (the most common small case): one pass with everything in registers,
        # the same operations in the same order as the general loops below.
        c0, c1 = mu[0], mu[1]
        u00, u01, u11 = prec_chol[0, 0], prec_chol[0, 1], prec_chol[1, 1]
        for i in range(m):
            d0 = xt[0, i] - c0
            d1 = xt[1, i] - c1
            y0 = u00 * d0
            y1 = u01 * d0 + u11 * d1
            out[i] = y0 * y0 + y1 * y1
        return
    for j in range(d):
        c = mu[j]
        for i in range(m):
            diff[j, i] = xt[j, i] - c
    out[:m] = 0.0
    for a in range(d):
        y[:m] = 0.0
        for b in range(a + 1):
            u = prec_chol[b, a]
            for i in range(m):
                y[i] += u * diff[b, i]
        for i in range(m):
            out[i] += y[i] * y[i]


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _block_diag_moments(xt, m, r, mu, first, second):
    """Add ``sum_i r_i (x_i - mu)`` to ``first`` and ``sum_i r_i (x_i - mu)**2`` to
    ``second`` (both (n_features,)); sums are reassociated (vectorised)."""
    for j in range(xt.shape[0]):
        c = mu[j]
        acc1 = 0.0
        acc2 = 0.0
        for i in range(m):
            dv = xt[j, i] - c
            rd = r[i] * dv
            acc1 += rd
            acc2 += rd * dv
        first[j] += acc1
        second[j] += acc2


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _block_full_moments(xt, m, r, mu, diff, rdiff, first, second):
    """Add ``sum_i r_i (x_i - mu)`` to ``first`` (n_features,) and the lower triangle of
    ``sum_i r_i (x_i - mu)(x_i - mu)^T`` to ``second`` (n_features, n_features)."""
    d = xt.shape[0]
    if d == 2:
        # One pass with the five sums in registers (see _block_full_sq_dist).
        c0, c1 = mu[0], mu[1]
        f0 = f1 = s00 = s10 = s11 = 0.0
        for i in range(m):
            d0 = xt[0, i] - c0
            d1 = xt[1, i] - c1
            r0 = r[i] * d0
            r1 = r[i] * d1
            f0 += r0
            f1 += r1
            s00 += r0 * d0
            s10 += r1 * d0
            s11 += r1 * d1
        first[0] += f0
        first[1] += f1
        second[0, 0] += s00
        second[1, 0] += s10
        second[1, 1] += s11
        return
    for j in range(d):
        c = mu[j]
        acc = 0.0
        for i in range(m):
            dv = xt[j, i] - c
            rd = r[i] * dv
            diff[j, i] = dv
            rdiff[j, i] = rd
            acc += rd
        first[j] += acc
    for a in range(d):
        for b in range(a + 1):
            acc = 0.0
            for i in range(m):
                acc += rdiff[a, i] * diff[b, i]
            second[a, b] += acc


@numba.njit(cache=True, nogil=True)
def _mirror_lower(second):
    for k in range(second.shape[0]):
        for a in range(second.shape[1]):
            for b in range(a):
                second[k, b, a] = second[k, a, b]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def diag_scores(
    X: np.ndarray,
    means: np.ndarray,
    prec: np.ndarray,
    scale: float,
    bias: np.ndarray,
    out: np.ndarray,
) -> np.ndarray:
    """``out[i, k] = bias[k] + scale * sum_d prec[k, d] * (X[i, d] - means[k, d])**2``.

    With ``scale = -0.5`` and ``bias`` the log normalising constants, these are Gaussian
    log-densities written straight into ``out`` (n_samples, n_components): no second pass
    over an (n_samples, n_components) temporary, and no fresh array when ``out`` is reused.
    """
    n, d = X.shape
    n_comp = means.shape[0]
    xt = np.empty((d, BLOCK))
    acc = np.empty((n_comp, BLOCK))
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        _transpose_block(X, start, m, xt)
        for k in range(n_comp):
            _block_diag_sq_dist(xt, m, means[k], prec[k], acc[k])
        _store_scores(acc, m, scale, bias, out, start)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _store_scores(acc, m, scale, bias, out, start):
    for i in range(m):
        for k in range(acc.shape[0]):
            out[start + i, k] = bias[k] + scale * acc[k, i]


def weighted_sq_dist(X: np.ndarray, means: np.ndarray, prec: np.ndarray) -> np.ndarray:
    """``sum_d prec[k, d] * (X[i, d] - means[k, d])**2``, shape (n_samples, n_components)."""
    k = means.shape[0]
    return diag_scores(X, means, prec, 1.0, np.zeros(k), np.empty((X.shape[0], k)))


def squared_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances from differences (no ``|x|^2 - 2 x.c + |c|^2``
    cancellation), shape (n_samples, n_centers)."""
    centers = np.asarray(centers, dtype=np.float64)
    return weighted_sq_dist(X, centers, np.ones_like(centers))


def weighted_sq_dist_reference(X: np.ndarray, means: np.ndarray, prec: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`weighted_sq_dist`."""
    return np.stack(
        [((X - m) ** 2 * p).sum(axis=1) for m, p in zip(means, prec, strict=True)], axis=1
    )


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def centred_moments(
    X: np.ndarray, resp: np.ndarray, centres: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First and second moments about ``centres`` weighted by ``resp``.

    Returns ``sum_i r_ik (x_i - c_k)`` and ``sum_i r_ik (x_i - c_k)**2`` (elementwise), both
    of shape (n_components, n_features). Sums are reassociated (vectorised).
    """
    n, d = X.shape
    n_comp = centres.shape[0]
    first = np.zeros((n_comp, d))
    second = np.zeros((n_comp, d))
    xt = np.empty((d, BLOCK))
    rt = np.empty((n_comp, BLOCK))
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        _transpose_block(X, start, m, xt)
        _transpose_block(resp, start, m, rt)
        for k in range(n_comp):
            _block_diag_moments(xt, m, rt[k], centres[k], first[k], second[k])
    return first, second


@numba.njit(cache=True, nogil=True, inline="always")
def _transpose_block(A: np.ndarray, start: int, m: int, out: np.ndarray) -> None:
    for i in range(m):
        for j in range(A.shape[1]):
            out[j, i] = A[start + i, j]


def centred_moments_reference(
    X: np.ndarray, resp: np.ndarray, centres: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """NumPy twin of :func:`centred_moments`."""
    first = np.stack([r @ (X - c) for r, c in zip(resp.T, centres, strict=True)])
    second = np.stack([r @ (X - c) ** 2 for r, c in zip(resp.T, centres, strict=True)])
    return first, second


# -- full covariance ----------------------------------------------------------------------
@numba.njit(cache=True, nogil=True, error_model="numpy")
def full_scores(
    X: np.ndarray,
    means: np.ndarray,
    prec_chol: np.ndarray,
    scale: float,
    bias: np.ndarray,
    out: np.ndarray,
) -> np.ndarray:
    """``out[i, k] = bias[k] + scale * |(x_i - mu_k) @ P_k|^2`` for upper-triangular ``P_k``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    means : ndarray of shape (n_components, n_features)
    prec_chol : ndarray of shape (n_components, n_features, n_features)
        Upper-triangular Cholesky factors of the precisions (may be a broadcast view).
    scale : float
    bias : ndarray of shape (n_components,)
    out : ndarray of shape (n_samples, n_components)
        Written and returned (see :func:`diag_scores`).
    """
    n, d = X.shape
    n_comp = means.shape[0]
    xt = np.empty((d, BLOCK))
    diff = np.empty((d, BLOCK))
    y = np.empty(BLOCK)
    acc = np.empty((n_comp, BLOCK))
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        _transpose_block(X, start, m, xt)
        for k in range(n_comp):
            _block_full_sq_dist(xt, m, means[k], prec_chol[k], diff, y, acc[k])
        _store_scores(acc, m, scale, bias, out, start)
    return out


def full_sq_mahalanobis_reference(
    X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray
) -> np.ndarray:
    """NumPy twin of :func:`full_scores` with ``scale = 1`` and ``bias = 0``: squared
    Mahalanobis distances, shape (n_samples, n_components)."""
    return np.stack(
        [(((X - m) @ p) ** 2).sum(axis=1) for m, p in zip(means, prec_chol, strict=True)], axis=1
    )


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def full_moments(
    X: np.ndarray, resp: np.ndarray, centres: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted moments about ``centres``: ``sum_i r_ik (x_i - c_k)``, shape
    (n_components, n_features), and ``sum_i r_ik (x_i - c_k)(x_i - c_k)^T``, shape
    (n_components, n_features, n_features).

    Sums are reassociated (vectorised), so they agree with the reference to round-off, and
    are the same from run to run.
    """
    n, d = X.shape
    n_comp = centres.shape[0]
    first = np.zeros((n_comp, d))
    second = np.zeros((n_comp, d, d))
    xt = np.empty((d, BLOCK))
    rt = np.empty((n_comp, BLOCK))
    diff = np.empty((d, BLOCK))
    rdiff = np.empty((d, BLOCK))
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        _transpose_block(X, start, m, xt)
        _transpose_block(resp, start, m, rt)
        for k in range(n_comp):
            _block_full_moments(xt, m, rt[k], centres[k], diff, rdiff, first[k], second[k])
    _mirror_lower(second)
    return first, second


def full_moments_reference(
    X: np.ndarray, resp: np.ndarray, centres: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """NumPy twin of :func:`full_moments`."""
    first = np.stack([r @ (X - c) for r, c in zip(resp.T, centres, strict=True)])
    second = np.stack(
        [((X - c) * r[:, None]).T @ (X - c) for r, c in zip(resp.T, centres, strict=True)]
    )
    return first, second


# -- fused mixture E-steps -----------------------------------------------------------------
# One pass over a block of rows does the whole E-step of a Gaussian mixture: log-densities,
# log-normalisation across components, responsibilities and the weighted moments, with the
# block (n_features x BLOCK) and its (n_components x BLOCK) responsibilities resident in
# cache. The unfused path (family.log_prob, normalize_log_rows, family.stats) is the
# reference these are tested against.


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _normalise_block(
    lj: np.ndarray,
    m: int,
    hard: bool,
    top: np.ndarray,
    norm: np.ndarray,
    s1: np.ndarray,
    s2: np.ndarray,
) -> None:
    """Turn joint log-probabilities ``lj[:, :m]`` (K, m) into responsibilities in place;
    ``top + log(norm)`` is then the log-likelihood of every row."""
    n_comp = lj.shape[0]
    # Element by element: an array copy would compile a shape check with its error message,
    # seconds of compilation on first use.
    for i in range(m):
        top[i] = lj[0, i]
    for k in range(1, n_comp):
        for i in range(m):
            top[i] = max(top[i], lj[k, i])
    for i in range(m):
        if top[i] == -np.inf:  # no component can explain the row: let the bound say so
            top[i] = 0.0
    if hard:
        # One-hot at the first maximum (as argmax), the classification log-likelihood.
        for i in range(m):
            chosen = False
            for k in range(n_comp):
                hit = (not chosen) and lj[k, i] == top[i]
                chosen = chosen or hit
                lj[k, i] = 1.0 if hit else 0.0
            norm[i] = 1.0
        return
    for k in range(n_comp):
        row = lj[k, :m]
        for i in range(m):
            row[i] -= top[i]
        exp_nonpositive_inplace(row, s1, s2)
    norm[:m] = 0.0
    for k in range(n_comp):
        for i in range(m):
            norm[i] += lj[k, i]
    for i in range(m):
        s1[i] = 1.0 / norm[i]
    for k in range(n_comp):
        for i in range(m):
            lj[k, i] *= s1[i]


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _weigh(r, m, weights, start, weighted):
    """Multiply responsibilities ``r[:m]`` by the block's sample weights; return their sum."""
    if weighted:
        for i in range(m):
            r[i] *= weights[start + i]
    acc = 0.0
    for i in range(m):
        acc += r[i]
    return acc


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def fused_full(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    prec_chol: np.ndarray,
    bias: np.ndarray,
    hard: bool,
):
    """Fused E-step of a mixture of full-covariance Gaussians.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    weights : ndarray of shape (n_samples,) or (0,)
        Sample weights; an empty array means all ones.
    means : ndarray of shape (n_components, n_features)
        Component means, also the centres of the returned moments.
    prec_chol : ndarray of shape (n_components, n_features, n_features)
        Upper-triangular Cholesky factors of the precisions (may be a broadcast view).
    bias : ndarray of shape (n_components,)
        ``log(weight_k) + log|P_k| - n_features / 2 * log(2 pi)``.
    hard : bool
        Responsibilities one-hot at the most probable component.

    Returns
    -------
    sum_w : ndarray of shape (n_components,)
    first : ndarray of shape (n_components, n_features)
    second : ndarray of shape (n_components, n_features, n_features)
    top, norm : ndarray of shape (n_samples,)
        ``top + log(norm)`` is the log-likelihood of every sample.
    """
    n, d = X.shape
    n_comp = means.shape[0]
    weighted = weights.size > 0
    sum_w = np.zeros(n_comp)
    first = np.zeros((n_comp, d))
    second = np.zeros((n_comp, d, d))
    top = np.empty(n)
    norm = np.empty(n)
    xt = np.empty((d, BLOCK))
    diff = np.empty((d, BLOCK))
    rdiff = np.empty((d, BLOCK))
    lj = np.empty((n_comp, BLOCK))
    y = np.empty(BLOCK)
    s1 = np.empty(BLOCK)
    s2 = np.empty(BLOCK)
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        _transpose_block(X, start, m, xt)
        for k in range(n_comp):
            out = lj[k]
            _block_full_sq_dist(xt, m, means[k], prec_chol[k], diff, y, out)
            c = bias[k]
            for i in range(m):
                out[i] = c - 0.5 * out[i]
        _normalise_block(lj, m, hard, top[start : start + m], norm[start : start + m], s1, s2)
        for k in range(n_comp):
            r = lj[k]
            sum_w[k] += _weigh(r, m, weights, start, weighted)
            _block_full_moments(xt, m, r, means[k], diff, rdiff, first[k], second[k])
    _mirror_lower(second)
    return sum_w, first, second, top, norm


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def fused_diag(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    prec: np.ndarray,
    bias: np.ndarray,
    hard: bool,
):
    """Fused E-step of a mixture of diagonal-covariance Gaussians.

    As :func:`fused_full`, with ``prec`` (n_components, n_features) the precisions (inverse
    variances) and ``second`` of shape (n_components, n_features): the weighted squared
    deviations from the means.
    """
    n, d = X.shape
    n_comp = means.shape[0]
    weighted = weights.size > 0
    sum_w = np.zeros(n_comp)
    first = np.zeros((n_comp, d))
    second = np.zeros((n_comp, d))
    top = np.empty(n)
    norm = np.empty(n)
    xt = np.empty((d, BLOCK))
    lj = np.empty((n_comp, BLOCK))
    s1 = np.empty(BLOCK)
    s2 = np.empty(BLOCK)
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        _transpose_block(X, start, m, xt)
        for k in range(n_comp):
            out = lj[k]
            _block_diag_sq_dist(xt, m, means[k], prec[k], out)
            c = bias[k]
            for i in range(m):
                out[i] = c - 0.5 * out[i]
        _normalise_block(lj, m, hard, top[start : start + m], norm[start : start + m], s1, s2)
        for k in range(n_comp):
            r = lj[k]
            sum_w[k] += _weigh(r, m, weights, start, weighted)
            _block_diag_moments(xt, m, r, means[k], first[k], second[k])
    return sum_w, first, second, top, norm


# -- rows with missing values, full covariances --------------------------------------------
# Rows come grouped by missingness pattern (observed coordinates o, missing m). For every
# pattern and component the kernel factors Sigma_oo once (L L^T), and keeps L^-1, the gain
# L^-1 Sigma_om and the conditional covariance Sigma_mm - gain^T gain; every row then costs
# O(K D^2), as in the complete-data pass. The NumPy twins are the ``*_reference`` functions
# of emkit.families.gaussian_missing.


@numba.njit(cache=True, nogil=True, error_model="numpy")
def missing_keys(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every row's missingness pattern as a bit mask (bit ``j`` set when column ``j`` is
    NaN; at most 62 columns) and its number of missing cells, both shape (n_samples,), in
    one pass over ``X`` (n_samples, n_features)."""
    n, d = X.shape
    keys = np.zeros(n, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    for i in range(n):
        key = 0
        count = 0
        for j in range(d):
            if np.isnan(X[i, j]):
                key |= np.int64(1) << j
                count += 1
        keys[i] = key
        counts[i] = count
    return keys, counts


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _conditional_factors(cov, o, m, chol, inv_chol, gain, resid):
    """Factors of one component's covariance ``cov`` (D, D) for observed indices ``o`` and
    missing ``m``: ``inv_chol[:a, :a] = L^-1`` (lower) with ``L L^T = Sigma_oo`` (``L``
    into the scratch ``chol``), ``gain[:a, :b] = L^-1 Sigma_om``, ``resid[:b, :b] =
    Sigma_mm - gain^T gain``; returns ``log|L|`` (NaN when ``Sigma_oo`` is not positive
    definite)."""
    a, b = o.size, m.size
    log_det = 0.0
    for i in range(a):
        for j in range(i + 1):
            s = cov[o[i], o[j]]
            for t in range(j):
                s -= chol[i, t] * chol[j, t]
            if i == j:
                if not s > 0.0:
                    return np.nan
                chol[i, i] = np.sqrt(s)
                log_det += np.log(chol[i, i])
            else:
                chol[i, j] = s / chol[j, j]
    for i in range(a):
        for j in range(a):
            inv_chol[i, j] = 0.0
    for j in range(a):
        inv_chol[j, j] = 1.0 / chol[j, j]
        for i in range(j + 1, a):
            s = 0.0
            for t in range(j, i):
                s -= chol[i, t] * inv_chol[t, j]
            inv_chol[i, j] = s / chol[i, i]
    for i in range(a):
        for c in range(b):
            s = 0.0
            for t in range(i + 1):
                s += inv_chol[i, t] * cov[o[t], m[c]]
            gain[i, c] = s
    for c in range(b):
        for e in range(b):
            s = cov[m[c], m[e]]
            for t in range(a):
                s -= gain[t, c] * gain[t, e]
            resid[c, e] = s
    return log_det


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _block_whiten(xo, a, m, mu, inv_chol, diff, z, quad):
    """``z[:a, :m] = L^-1 (xo - mu)`` for lower-triangular ``inv_chol`` (its leading a x a
    block), ``diff`` the deviations, and ``quad[:m]`` the squared norms of ``z``'s
    columns."""
    for t in range(a):
        c = mu[t]
        for i in range(m):
            diff[t, i] = xo[t, i] - c
    for i in range(m):
        quad[i] = 0.0
    for t in range(a):
        for i in range(m):
            z[t, i] = 0.0
        for u in range(t + 1):
            lu = inv_chol[t, u]
            for i in range(m):
                z[t, i] += lu * diff[u, i]
        for i in range(m):
            quad[i] += z[t, i] * z[t, i]


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def missing_full_pass(
    X: np.ndarray,
    order: np.ndarray,
    starts: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    log_weights: np.ndarray,
    weights: np.ndarray,
    resp: np.ndarray,
    scores_only: bool,
    hard: bool,
):
    """Scores, or the mixture E-step, of partly observed rows under full covariances.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows with NaN for missing values (each with at least one value observed).
    order : ndarray of shape (n_samples,)
        Row indices grouped by missingness pattern; pattern ``p`` holds
        ``order[starts[p]:starts[p + 1]]``.
    starts : ndarray of shape (n_patterns + 1,)
    means : ndarray of shape (n_components, n_features)
        Component means, also the centres of the returned moments.
    covariances : ndarray of shape (n_components, n_features, n_features)
    log_weights : ndarray of shape (n_components,)
        Log mixing proportions, added to the scores.
    weights : ndarray of shape (n_samples,) or (0,)
        Sample weights (empty: all ones) multiplying the responsibilities.
    resp : ndarray of shape (n_samples, n_components) or (0, 0)
        Given weights of the rows (HMM posteriors); empty: the mixture's responsibilities.
    scores_only : bool
        Only ``log N(x_o | mu_ko, Sigma_koo) + log_weights[k]`` into ``scores``.
    hard : bool
        Responsibilities one-hot at the most probable component.

    Returns
    -------
    scores : ndarray of shape (n_samples, n_components)
        The scores when ``scores_only`` (else not written).
    sum_w : ndarray of shape (n_components,)
    first : ndarray of shape (n_components, n_features)
    second : ndarray of shape (n_components, n_features, n_features)
        Expected moments about ``means``, the conditional covariances included.
    loglik : ndarray of shape (n_samples,)
        Log-likelihood of every row's observed coordinates (mixture E-step only).
    ok : bool
        False when some ``Sigma_oo`` is not positive definite.
    """
    n, d = X.shape
    n_comp = means.shape[0]
    weighted = weights.size > 0
    given = resp.shape[0] > 0
    scores = np.empty((n if scores_only else 0, n_comp))
    sum_w = np.zeros(n_comp)
    first = np.zeros((n_comp, d))
    second = np.zeros((n_comp, d, d))
    loglik = np.zeros(n)
    chol = np.empty((d, d))
    inv_chol = np.empty((n_comp, d, d))
    gain = np.empty((n_comp, d, d))
    resid = np.empty((n_comp, d, d))
    bias = np.empty(n_comp)
    mu_o = np.empty((n_comp, d))
    # A pattern's moments are taken over its observed coordinates only, ``f_o = sum r d``
    # and ``S_oo = sum r d d^T`` of the deviations ``d = x_o - mu_o``; the missing
    # coordinates' expected deviations are ``H d`` with ``H = Sigma_mo Sigma_oo^-1 =
    # gain^T L^-1``, so their moments ``H f_o``, ``H S_oo`` and ``H S_oo H^T`` (plus the
    # conditional covariance) follow once per pattern and component: a row costs its
    # observed coordinates' moments, not the completed row's.
    f_o = np.zeros((n_comp, d))
    s_oo = np.zeros((n_comp, d, d))
    h = np.empty((d, d))
    hs = np.empty((d, d))
    full = np.empty((d, d))
    # A block of a pattern's rows, transposed as in the complete-data kernels: the loops
    # run along the rows and vectorise.
    xo = np.empty((d, BLOCK))
    diff = np.empty((d, BLOCK))
    z = np.empty((d, BLOCK))
    rdiff = np.empty((d, BLOCK))
    lj = np.empty((n_comp, BLOCK))
    top = np.empty(BLOCK)
    norm = np.empty(BLOCK)
    s1 = np.empty(BLOCK)
    s2 = np.empty(BLOCK)
    wsum = np.empty(n_comp)
    idx = np.empty(d, dtype=np.int64)
    for p in range(starts.size - 1):
        head = order[starts[p]]
        a = 0
        for j in range(d):
            if not np.isnan(X[head, j]):
                idx[a] = j
                a += 1
        b = 0
        for j in range(d):
            if np.isnan(X[head, j]):
                idx[a + b] = j
                b += 1
        o = idx[:a]
        mi = idx[a : a + b]
        for k in range(n_comp):
            log_det = _conditional_factors(
                covariances[k], o, mi, chol, inv_chol[k], gain[k], resid[k]
            )
            if np.isnan(log_det):
                return scores, sum_w, first, second, loglik, False
            bias[k] = log_weights[k] - log_det - 0.5 * a * LOG_2PI_KERNEL
            for t in range(a):
                mu_o[k, t] = means[k, o[t]]
        for k in range(n_comp):
            wsum[k] = 0.0
            for t in range(a):
                f_o[k, t] = 0.0
                for u in range(t + 1):
                    s_oo[k, t, u] = 0.0
        for start in range(starts[p], starts[p + 1], BLOCK):
            m = min(BLOCK, starts[p + 1] - start)
            for t in range(a):
                column = o[t]
                for i in range(m):
                    xo[t, i] = X[order[start + i], column]
            for k in range(n_comp):
                out = lj[k]
                _block_whiten(xo, a, m, mu_o[k], inv_chol[k], diff, z, out)
                c = bias[k]
                for i in range(m):
                    out[i] = c - 0.5 * out[i]
            if scores_only:
                for i in range(m):
                    row = order[start + i]
                    for k in range(n_comp):
                        scores[row, k] = lj[k, i]
                continue
            if given:
                for i in range(m):
                    row = order[start + i]
                    for k in range(n_comp):
                        lj[k, i] = resp[row, k]
            else:
                _normalise_block(lj, m, hard, top, norm, s1, s2)
                for i in range(m):
                    loglik[order[start + i]] = top[i] + np.log(norm[i])
            if weighted:
                for k in range(n_comp):
                    for i in range(m):
                        lj[k, i] *= weights[order[start + i]]
            for k in range(n_comp):
                r = lj[k]
                acc = 0.0
                for i in range(m):
                    acc += r[i]
                wsum[k] += acc
                for t in range(a):
                    c = mu_o[k, t]
                    acc = 0.0
                    for i in range(m):
                        dv = xo[t, i] - c
                        diff[t, i] = dv
                        rd = r[i] * dv
                        rdiff[t, i] = rd
                        acc += rd
                    f_o[k, t] += acc
                for t in range(a):
                    for u in range(t + 1):
                        acc = 0.0
                        for i in range(m):
                            acc += rdiff[t, i] * diff[u, i]
                        s_oo[k, t, u] += acc
        if scores_only:
            continue
        for k in range(n_comp):
            sum_w[k] += wsum[k]
            _pattern_moments(
                o,
                mi,
                inv_chol[k],
                gain[k],
                resid[k],
                wsum[k],
                f_o[k],
                s_oo[k],
                h,
                hs,
                full,
                first[k],
                second[k],
            )
    _mirror_lower(second)
    return scores, sum_w, first, second, loglik, True


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _pattern_moments(o, mi, inv_chol, gain, resid, wsum, f_o, s_oo, h, hs, full, first, second):
    """Add one pattern's moments under one component to ``first`` (D,) and the lower
    triangle of ``second`` (D, D), from those of its observed coordinates: ``f_o`` (a,)
    and the lower triangle of ``s_oo`` (a, a); ``h`` (b, a), ``hs`` (b, a) and ``full``
    (D, D) are scratch."""
    a, b = o.size, mi.size
    for t in range(a):
        for u in range(t):
            s_oo[u, t] = s_oo[t, u]
    # h = gain^T L^-1 (L^-1 lower triangular), so the missing deviations are h @ d.
    for c in range(b):
        for u in range(a):
            acc = 0.0
            for t in range(u, a):
                acc += gain[t, c] * inv_chol[t, u]
            h[c, u] = acc
    for c in range(b):
        for u in range(a):
            acc = 0.0
            for t in range(a):
                acc += h[c, t] * s_oo[t, u]
            hs[c, u] = acc
    for t in range(a):
        first[o[t]] += f_o[t]
        for u in range(a):
            full[o[t], o[u]] = s_oo[t, u]
    for c in range(b):
        acc = 0.0
        for t in range(a):
            acc += h[c, t] * f_o[t]
        first[mi[c]] += acc
        for u in range(a):
            full[mi[c], o[u]] = hs[c, u]
            full[o[u], mi[c]] = hs[c, u]
        for e in range(b):
            acc = wsum * resid[c, e]
            for t in range(a):
                acc += hs[c, t] * h[e, t]
            full[mi[c], mi[e]] = acc
    for j in range(o.size + mi.size):
        for jj in range(j + 1):
            second[j, jj] += full[j, jj]
