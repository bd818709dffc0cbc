"""Compiled forward-backward and Viterbi passes for hidden Markov models.

Sequences are stored end to end: ``log_emission`` holds ``log p(x_t | z_t = k)`` for every
row of every sequence, and ``offsets`` marks where each sequence starts, so that a batch of
sequences of any lengths is one C-contiguous array and one kernel call.

Forward-backward runs in probability space with per-step scaling, which costs K exponentials
a step instead of the K^2 of a log-space recursion, and leaves the K^2 work to multiply-adds
that the compiler vectorises. Viterbi runs in log space (max-plus needs no exponentials).
Each public function has a NumPy twin, the ``*_reference`` function, computed in log space
with logsumexp; the tests compare both against each other and against enumeration of every
state path of tiny models.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.special import logsumexp

from emkit.numerics.logspace import exp_nonpositive_inplace

# Predicted state mass below this is treated as zero: the state cannot carry mass at this
# step, its emission is left out of the step's shift and its scaled emission is 0. This is
# what keeps the scaled recursion finite. With every live state's predicted mass at least
# _FLOOR, the scale c_t is at least _FLOOR (the state with the largest shifted emission
# contributes pred * 1), so c_t never underflows, and every scaled emission b/c and every
# backward variable stays below 1 / _FLOOR = 2^1000, a factor 2^24 short of overflow. The
# price is the same as that of exponentials underflowing: paths whose probability relative
# to the rest falls below about e^-693 in one step are dropped, consistently in both passes.
_FLOOR = 2.0**-1000

# The running product of the scales is folded into a log once it drops below this: the next
# scale is at least _FLOOR = 2^-1000, so the product stays a normal number (>= 2^-1020) and
# keeps full relative precision. One log per factor 2^20 (14 nats) of the scales, not one per
# step.
_FOLD = 2.0**-20


# -- forward-backward ------------------------------------------------------------------------
# Per step the work is two K x K products (the prediction and the backward message), each
# written as ``out[k] += sum_j x[j] * M[j, k]`` with k innermost over contiguous rows, several
# rows j per pass so that ``out`` is loaded and stored once per four or eight multiply-adds,
# without reassociation. The expected transitions, a third K x K product per step, are one
# matrix product per sequence instead (BLAS), off the step-to-step chain.

# Emission exponentials are computed this many at a time (the size of the exp's scratch).
_EXP_BLOCK = 4096


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _vecmat(X: np.ndarray, xr: int, M: np.ndarray, Y: np.ndarray, yr: int) -> None:
    """``Y[yr, k] = sum_j X[xr, j] * M[j, k]`` for ``X[xr] >= 0``.

    Rows of ``M`` are taken eight at a time and summed pairwise (short dependency chains) into
    one update of ``Y[yr]``; blocks of zeros in ``X[xr]`` (left-to-right and sparse models) are
    skipped. Rows are addressed by index, not passed as views: a view costs two atomic
    reference-count updates, more than the arithmetic for small K.
    """
    n, m = M.shape
    for k in range(m):
        Y[yr, k] = 0.0
    j = 0
    while j + 8 <= n:
        a0 = X[xr, j]
        a1 = X[xr, j + 1]
        a2 = X[xr, j + 2]
        a3 = X[xr, j + 3]
        a4 = X[xr, j + 4]
        a5 = X[xr, j + 5]
        a6 = X[xr, j + 6]
        a7 = X[xr, j + 7]
        if ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) > 0.0:
            for k in range(m):
                lo = (a0 * M[j, k] + a1 * M[j + 1, k]) + (a2 * M[j + 2, k] + a3 * M[j + 3, k])
                hi = (a4 * M[j + 4, k] + a5 * M[j + 5, k]) + (a6 * M[j + 6, k] + a7 * M[j + 7, k])
                Y[yr, k] += lo + hi
        j += 8
    if j + 4 <= n:
        a0 = X[xr, j]
        a1 = X[xr, j + 1]
        a2 = X[xr, j + 2]
        a3 = X[xr, j + 3]
        if (a0 + a1) + (a2 + a3) > 0.0:
            for k in range(m):
                Y[yr, k] += (a0 * M[j, k] + a1 * M[j + 1, k]) + (
                    a2 * M[j + 2, k] + a3 * M[j + 3, k]
                )
        j += 4
    while j < n:
        a0 = X[xr, j]
        if a0 > 0.0:
            for k in range(m):
                Y[yr, k] += a0 * M[j, k]
        j += 1


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _forward(
    log_emission: np.ndarray,
    start: int,
    length: int,
    startprob: np.ndarray,
    transmat: np.ndarray,
    alpha: np.ndarray,
    flat: np.ndarray,
    top: np.ndarray,
    argtop: np.ndarray,
    pred: np.ndarray,
    s1: np.ndarray,
    s2: np.ndarray,
) -> float:
    """Scaled forward pass over rows ``start:start + length``; returns ``log p(sequence)``.

    Step ``i`` leaves ``p(z_i = k | x_0..x_i)`` in ``alpha[start + i]`` and, in row ``i`` of
    ``flat`` (a flat (max_len * K,) buffer), the scaled emission probabilities
    ``p(x_i | z_i = k) / (e^m_i c_i)`` of the states that can carry mass (0 for the others),
    which the backward pass reuses. Returns ``-inf``, with the rest unfilled, when no state
    that can carry mass can emit some row.
    """
    n_comp = pred.shape[1]
    scaled = flat.reshape((flat.size // n_comp, n_comp))
    # Emission exponentials a block of rows at a time, each row shifted by its maximum over
    # all states: one vectorised pass, off the step-to-step chain. A step whose best state
    # cannot carry mass (left-to-right models) redoes its row with the shift over those that
    # can.
    for i in range(length):
        t = start + i
        m = log_emission[t, 0]
        arg = 0
        for k in range(1, n_comp):
            v = log_emission[t, k]
            arg = k if v > m else arg
            m = max(m, v)
        if m == -np.inf:
            return -np.inf
        top[i] = m
        argtop[i] = arg
        for k in range(n_comp):
            scaled[i, k] = log_emission[t, k] - m
    for a in range(0, length * n_comp, s1.size):
        b = min(a + s1.size, length * n_comp)
        exp_nonpositive_inplace(flat[a:b], s1, s2)

    log_total = 0.0
    prod = 1.0
    for i in range(length):
        t = start + i
        if i == 0:
            for k in range(n_comp):
                pred[0, k] = startprob[k]
        else:
            _vecmat(alpha, t - 1, transmat, pred, 0)
        shift = top[i]
        if pred[0, argtop[i]] < _FLOOR:
            shift = -np.inf
            for k in range(n_comp):
                if pred[0, k] >= _FLOOR:
                    shift = max(shift, log_emission[t, k])
            if shift == -np.inf:
                return -np.inf
            for k in range(n_comp):
                live = pred[0, k] >= _FLOOR
                scaled[i, k] = log_emission[t, k] - shift if live else -np.inf
            exp_nonpositive_inplace(flat[i * n_comp : (i + 1) * n_comp], s1, s2)
        # c >= _FLOOR: the state with the largest shifted emission adds pred * 1.
        c = 0.0
        for k in range(n_comp):
            b = scaled[i, k] if pred[0, k] >= _FLOOR else 0.0
            scaled[i, k] = b
            c += pred[0, k] * b
        inv = 1.0 / c
        for k in range(n_comp):
            e = scaled[i, k] * inv
            scaled[i, k] = e
            alpha[t, k] = pred[0, k] * e
        log_total += shift
        if prod < _FOLD:
            log_total += np.log(prod)
            prod = 1.0
        prod *= c
    return log_total + np.log(prod)


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _posterior_row(post: np.ndarray, t: int, betas: np.ndarray, i: int, weight: float) -> None:
    """``post[t] = weight * post[t] * betas[i] / sum(post[t] * betas[i])``: renormalised so
    that every row sums to the weight to round-off, whatever the rounding of the two passes."""
    n_comp = post.shape[1]
    total = 0.0
    for k in range(n_comp):
        post[t, k] *= betas[i, k]
        total += post[t, k]
    f = weight / total
    for k in range(n_comp):
        post[t, k] *= f


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _backward(
    start: int,
    length: int,
    weight: float,
    trans_t: np.ndarray,
    post: np.ndarray,
    scaled: np.ndarray,
    betas: np.ndarray,
    xi: np.ndarray,
) -> None:
    """Scaled backward pass over rows ``start:start + length``, after :func:`_forward`.

    Turns the filtered distributions ``post[start:start + length]`` into weighted posteriors
    in place, and adds the unweighted ``sum_t alpha_t[j] * scaled_{t+1}[k] * beta_{t+1}[k]``
    to ``xi`` (K, K): multiplied elementwise by the transition matrix, the sequence's expected
    transition counts. Rows ``1:length`` of ``scaled`` are overwritten with ``scaled * beta``;
    ``trans_t`` is the transposed transition matrix.
    """
    n_comp = xi.shape[0]
    for k in range(n_comp):
        betas[length - 1, k] = 1.0
    for i in range(length - 1, 0, -1):
        for k in range(n_comp):
            scaled[i, k] *= betas[i, k]
        _vecmat(scaled, i, trans_t, betas, i - 1)
    # The expected transitions are one product of the filtered rows with the next rows'
    # scaled * beta, taken before the filtered rows become posteriors: a single GEMM per
    # sequence rather than K x K multiply-adds on every step.
    if length > 1:
        xi += np.dot(post[start : start + length - 1].T, scaled[1:length])
    for i in range(length):
        _posterior_row(post, start + i, betas, i, weight)


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _forward_backward(
    log_emission: np.ndarray,
    offsets: np.ndarray,
    startprob: np.ndarray,
    transmat: np.ndarray,
    seq_weights: np.ndarray,
    post: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`forward_backward` on checked, C-contiguous float64 (offsets int64) arrays,
    writing the posteriors into ``post`` (n_samples, n_components)."""
    n_comp = log_emission.shape[1]
    n_seq = offsets.shape[0] - 1
    weighted = seq_weights.shape[0] > 0
    start_counts = np.zeros(n_comp)
    trans_counts = np.zeros((n_comp, n_comp))
    logliks = np.empty(n_seq)
    max_len = 0
    for s in range(n_seq):
        max_len = max(max_len, offsets[s + 1] - offsets[s])
    # Per-sequence scratch, so that a sequence's intermediate rows are still in cache when the
    # backward pass reads them.
    flat = np.empty(max_len * n_comp)
    scaled = flat.reshape((max_len, n_comp))
    betas = np.empty((max_len, n_comp))
    top = np.empty(max_len)
    argtop = np.empty(max_len, dtype=np.int64)
    block = max(_EXP_BLOCK, n_comp)
    s1 = np.empty(block)
    s2 = np.empty(block)
    pred = np.empty((1, n_comp))
    xi = np.empty((n_comp, n_comp))
    trans_t = np.ascontiguousarray(transmat.T)
    for s in range(n_seq):
        start = offsets[s]
        length = offsets[s + 1] - start
        w = seq_weights[s] if weighted else 1.0
        ll = _forward(
            log_emission,
            start,
            length,
            startprob,
            transmat,
            post,
            flat,
            top,
            argtop,
            pred,
            s1,
            s2,
        )
        logliks[s] = ll
        if ll == -np.inf:
            post[start : start + length] = 0.0
            continue
        xi[:] = 0.0
        _backward(start, length, w, trans_t, post, scaled, betas, xi)
        for j in range(n_comp):
            start_counts[j] += post[start, j]
            for k in range(n_comp):
                trans_counts[j, k] += w * (xi[j, k] * transmat[j, k])
    return post, start_counts, trans_counts, logliks


def forward_backward(
    log_emission: np.ndarray,
    offsets: np.ndarray,
    startprob: np.ndarray,
    transmat: np.ndarray,
    seq_weights: np.ndarray,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Posteriors, expected counts and log-likelihoods of a batch of sequences.

    Parameters
    ----------
    log_emission : ndarray of shape (n_samples, n_components)
        ``log p(x_t | z_t = k)`` for the rows of all sequences, end to end; entries are finite
        or ``-inf``. Read as C-contiguous float64 (other layouts and dtypes are copied).
    offsets : ndarray of shape (n_sequences + 1,)
        Sequence ``s`` is rows ``offsets[s]:offsets[s + 1]``; ``offsets[0] == 0``,
        ``offsets[-1] == n_samples`` and every sequence has at least one row.
    startprob : ndarray of shape (n_components,)
        Initial state probabilities (zeros allowed).
    transmat : ndarray of shape (n_components, n_components)
        Row-stochastic transition probabilities (structural zeros allowed).
    seq_weights : ndarray of shape (n_sequences,) or (0,)
        Sequence weights; an empty array means all ones.
    out : ndarray of shape (n_samples, n_components), optional
        C-contiguous float64 array the posteriors are written to (and returned); reusing one
        across calls spares the allocation and first-touch of a fresh array every batch.

    Returns
    -------
    posteriors : ndarray of shape (n_samples, n_components)
        ``w_s * p(z_t = k | sequence s)``. Rows of a sequence of zero likelihood are 0.
    start_counts : ndarray of shape (n_components,)
        ``sum_s w_s p(z_0 = k | sequence s)``.
    trans_counts : ndarray of shape (n_components, n_components)
        ``sum_s w_s sum_t p(z_t = j, z_{t+1} = k | sequence s)``.
    logliks : ndarray of shape (n_sequences,)
        ``log p(sequence s)``, unweighted; ``-inf`` for a sequence of zero likelihood, which
        then contributes nothing to the counts.

    Notes
    -----
    Scaled forward-backward in probability space: at each step the emission row is shifted by
    its maximum over the states that can carry predicted mass, exponentiated, and the filtered
    distribution is normalised by the scale ``c_t``; the log-likelihood is the sum of the
    shifts and of ``log c_t``. Paths whose probability relative to the others drops below
    about ``e^-693`` within one step are dropped (predicted mass under ``2^-1000`` counts as
    zero, as do shifted emissions that underflow), so the results agree with exact log-space
    computation to round-off except where such paths would have mattered.
    """
    log_emission = np.ascontiguousarray(log_emission, dtype=np.float64)
    _, n_comp = _check_batch(log_emission, offsets)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    startprob = np.ascontiguousarray(startprob, dtype=np.float64)
    transmat = np.ascontiguousarray(transmat, dtype=np.float64)
    seq_weights = np.ascontiguousarray(seq_weights, dtype=np.float64)
    _check_params(startprob, transmat, n_comp)
    if seq_weights.shape not in ((0,), (offsets.size - 1,)):
        raise ValueError(
            f"seq_weights has shape {seq_weights.shape}; expected ({offsets.size - 1},) or (0,)"
        )
    if out is None:
        out = np.empty(log_emission.shape)
    elif out.shape != log_emission.shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float64 array of shape {log_emission.shape}")
    return _forward_backward(log_emission, offsets, startprob, transmat, seq_weights, out)


# -- Viterbi ---------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _max_plus(
    delta: np.ndarray, log_transmat: np.ndarray, best: np.ndarray, backptr: np.ndarray, i: int
) -> None:
    """``best[k] = max_j delta[j] + log_transmat[j, k]`` and ``backptr[i, k]`` its argmax.

    Predecessors are taken in increasing order with a strict comparison, so ties go to the
    lowest index, as argmax does; four rows of ``log_transmat`` per pass over ``best``, with
    branch-free selects so that the k loop vectorises. Rows of ``-inf`` are skipped.
    """
    n = delta.shape[0]
    for k in range(n):
        best[k] = -np.inf
        backptr[i, k] = 0
    j = 0
    while j + 4 <= n:
        d0 = delta[j]
        d1 = delta[j + 1]
        d2 = delta[j + 2]
        d3 = delta[j + 3]
        if max(max(d0, d1), max(d2, d3)) > -np.inf:
            for k in range(n):
                b = best[k]
                p = backptr[i, k]
                v = d0 + log_transmat[j, k]
                up = v > b
                b = v if up else b
                p = j if up else p
                v = d1 + log_transmat[j + 1, k]
                up = v > b
                b = v if up else b
                p = j + 1 if up else p
                v = d2 + log_transmat[j + 2, k]
                up = v > b
                b = v if up else b
                p = j + 2 if up else p
                v = d3 + log_transmat[j + 3, k]
                up = v > b
                best[k] = v if up else b
                backptr[i, k] = j + 3 if up else p
        j += 4
    while j < n:
        d0 = delta[j]
        if d0 > -np.inf:
            for k in range(n):
                v = d0 + log_transmat[j, k]
                up = v > best[k]
                best[k] = v if up else best[k]
                backptr[i, k] = j if up else backptr[i, k]
        j += 1


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _viterbi(
    log_emission: np.ndarray,
    offsets: np.ndarray,
    log_startprob: np.ndarray,
    log_transmat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`viterbi` on checked, C-contiguous float64 (offsets int64) arrays."""
    n_samples, n_comp = log_emission.shape
    n_seq = offsets.shape[0] - 1
    states = np.empty(n_samples, dtype=np.int64)
    logprobs = np.empty(n_seq)
    max_len = 0
    for s in range(n_seq):
        max_len = max(max_len, offsets[s + 1] - offsets[s])
    # Backpointers of one sequence at a time: int32 halves the memory the backtrace reads.
    backptr = np.empty((max_len, n_comp), dtype=np.int32)
    delta = np.empty(n_comp)
    best = np.empty(n_comp)
    for s in range(n_seq):
        start = offsets[s]
        length = offsets[s + 1] - start
        for k in range(n_comp):
            delta[k] = log_startprob[k] + log_emission[start, k]
        for i in range(1, length):
            _max_plus(delta, log_transmat, best, backptr, i)
            for k in range(n_comp):
                delta[k] = best[k] + log_emission[start + i, k]
        last = 0
        for k in range(1, n_comp):
            if delta[k] > delta[last]:
                last = k
        logprobs[s] = delta[last]
        states[start + length - 1] = last
        for i in range(length - 1, 0, -1):
            last = backptr[i, last]
            states[start + i - 1] = last
    return states, logprobs


def viterbi(
    log_emission: np.ndarray,
    offsets: np.ndarray,
    log_startprob: np.ndarray,
    log_transmat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Most probable state path of every sequence of a batch.

    Parameters
    ----------
    log_emission : ndarray of shape (n_samples, n_components)
        As in :func:`forward_backward`.
    offsets : ndarray of shape (n_sequences + 1,)
        As in :func:`forward_backward`.
    log_startprob : ndarray of shape (n_components,)
        Log initial state probabilities (``-inf`` allowed).
    log_transmat : ndarray of shape (n_components, n_components)
        Log transition probabilities (``-inf`` allowed).

    Returns
    -------
    states : ndarray of shape (n_samples,), int64
        The most probable path of each sequence. Ties go to the lowest state index: the last
        state is the lowest maximiser, and each earlier one the lowest maximising predecessor
        of the next. For a sequence of zero likelihood the path is meaningless.
    logprobs : ndarray of shape (n_sequences,)
        ``log p(sequence, path)``; ``-inf`` for a sequence of zero likelihood.
    """
    log_emission = np.ascontiguousarray(log_emission, dtype=np.float64)
    _, n_comp = _check_batch(log_emission, offsets)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    log_startprob = np.ascontiguousarray(log_startprob, dtype=np.float64)
    log_transmat = np.ascontiguousarray(log_transmat, dtype=np.float64)
    _check_params(log_startprob, log_transmat, n_comp)
    return _viterbi(log_emission, offsets, log_startprob, log_transmat)


# -- argument checks ---------------------------------------------------------------------------
# The kernels index without bounds checks; a bad offset would read or write out of bounds.


def _check_batch(log_emission: np.ndarray, offsets: np.ndarray) -> tuple[int, int]:
    if log_emission.ndim != 2:
        raise ValueError(f"log_emission must be 2-D; got shape {log_emission.shape}")
    offsets = np.asarray(offsets)
    n_samples = log_emission.shape[0]
    if (
        offsets.ndim != 1
        or offsets.size == 0
        or offsets[0] != 0
        or offsets[-1] != n_samples
        or np.any(np.diff(offsets) < 1)
    ):
        raise ValueError(
            "offsets must start at 0, end at n_samples and increase strictly (every sequence "
            f"at least one row); got {offsets!r} for {n_samples} rows"
        )
    return log_emission.shape


def _check_params(start: np.ndarray, trans: np.ndarray, n_comp: int) -> None:
    if start.shape != (n_comp,) or trans.shape != (n_comp, n_comp):
        raise ValueError(
            f"start and transition parameters have shapes {start.shape} and {trans.shape}; "
            f"expected ({n_comp},) and ({n_comp}, {n_comp})"
        )


# -- reference twins ---------------------------------------------------------------------------


def _logsumexp_axis(a: np.ndarray, axis: int) -> np.ndarray:
    """Exact log-space sum along ``axis`` of a small array.

    Used inside the per-step recursions, where scipy.special.logsumexp's per-call overhead
    (about 0.1 ms) would dominate; ``-inf`` everywhere gives ``-inf``.
    """
    top = a.max(axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - top).sum(axis=axis)) + np.squeeze(top, axis=axis)


def _log_forward_reference(
    log_emission: np.ndarray, log_startprob: np.ndarray, log_transmat: np.ndarray
) -> np.ndarray:
    """``log p(x_0..x_t, z_t = k)`` of one sequence, shape (T, n_components)."""
    log_alpha = np.empty_like(log_emission)
    log_alpha[0] = log_startprob + log_emission[0]
    for t in range(1, log_emission.shape[0]):
        log_alpha[t] = (
            _logsumexp_axis(log_alpha[t - 1][:, None] + log_transmat, axis=0) + log_emission[t]
        )
    return log_alpha


def _log_backward_reference(log_emission: np.ndarray, log_transmat: np.ndarray) -> np.ndarray:
    """``log p(x_{t+1}..x_{T-1} | z_t = k)`` of one sequence, shape (T, n_components)."""
    log_beta = np.zeros_like(log_emission)
    for t in range(log_emission.shape[0] - 2, -1, -1):
        log_beta[t] = _logsumexp_axis(
            log_transmat + (log_emission[t + 1] + log_beta[t + 1])[None, :], axis=1
        )
    return log_beta


def forward_backward_reference(
    log_emission: np.ndarray,
    offsets: np.ndarray,
    startprob: np.ndarray,
    transmat: np.ndarray,
    seq_weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """NumPy twin of :func:`forward_backward`, in log space: log-alpha and log-beta by exact
    logsumexp recursions, the log-likelihood and the transition counts by
    scipy.special.logsumexp (over states, and over time)."""
    log_emission = np.asarray(log_emission, dtype=np.float64)
    offsets = np.asarray(offsets)
    n_samples, n_comp = log_emission.shape
    n_seq = offsets.size - 1
    weights = np.ones(n_seq) if np.size(seq_weights) == 0 else np.asarray(seq_weights, float)
    with np.errstate(divide="ignore"):
        log_start = np.log(np.asarray(startprob, dtype=np.float64))
        log_trans = np.log(np.asarray(transmat, dtype=np.float64))
    post = np.zeros((n_samples, n_comp))
    start_counts = np.zeros(n_comp)
    trans_counts = np.zeros((n_comp, n_comp))
    logliks = np.empty(n_seq)
    for s in range(n_seq):
        a, b = offsets[s], offsets[s + 1]
        x = log_emission[a:b]
        log_alpha = _log_forward_reference(x, log_start, log_trans)
        ll = logsumexp(log_alpha[-1])
        logliks[s] = ll
        if ll == -np.inf:
            continue
        log_beta = _log_backward_reference(x, log_trans)
        gamma = np.exp(log_alpha + log_beta - ll)
        gamma /= gamma.sum(axis=1, keepdims=True)
        post[a:b] = weights[s] * gamma
        start_counts += post[a]
        # log sum_t alpha_t[j] p(x_{t+1} | k) beta_{t+1}[k], in chunks of time steps so that
        # the (chunk, K, K) terms stay small.
        earlier = log_alpha[:-1]
        later = x[1:] + log_beta[1:]
        chunk = max(1, 2**20 // n_comp**2)
        parts = [
            logsumexp(earlier[c : c + chunk, :, None] + later[c : c + chunk, None, :], axis=0)
            for c in range(0, b - a - 1, chunk)
        ]
        if parts:
            log_xi = logsumexp(np.stack(parts), axis=0) + log_trans - ll
            trans_counts += weights[s] * np.exp(log_xi)
    return post, start_counts, trans_counts, logliks


def viterbi_reference(
    log_emission: np.ndarray,
    offsets: np.ndarray,
    log_startprob: np.ndarray,
    log_transmat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """NumPy twin of :func:`viterbi` (same tie-breaking: argmax takes the first maximum)."""
    log_emission = np.asarray(log_emission, dtype=np.float64)
    offsets = np.asarray(offsets)
    log_startprob = np.asarray(log_startprob, dtype=np.float64)
    log_transmat = np.asarray(log_transmat, dtype=np.float64)
    n_comp = log_emission.shape[1]
    states = np.empty(log_emission.shape[0], dtype=np.int64)
    logprobs = np.empty(offsets.size - 1)
    cols = np.arange(n_comp)
    for s in range(offsets.size - 1):
        x = log_emission[offsets[s] : offsets[s + 1]]
        delta = log_startprob + x[0]
        backptr = np.zeros(x.shape, dtype=np.int64)
        for t in range(1, x.shape[0]):
            scores = delta[:, None] + log_transmat
            backptr[t] = np.argmax(scores, axis=0)
            delta = scores[backptr[t], cols] + x[t]
        path = np.empty(x.shape[0], dtype=np.int64)
        path[-1] = np.argmax(delta)
        logprobs[s] = delta[path[-1]]
        for t in range(x.shape[0] - 1, 0, -1):
            path[t - 1] = backptr[t, path[t]]
        states[offsets[s] : offsets[s + 1]] = path
    return states, logprobs
