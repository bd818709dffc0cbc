"""The one EM loop (DESIGN.md, "One EM loop").

Models describe themselves through the :class:`~emkit.core.model.LatentModel` contract; this
module owns everything around the E- and M-steps: restarts, warm start, the convergence rule,
the history of the bound, the monotonicity check, hard (classification) EM, callbacks and the
final E-step.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from emkit.core.batches import Batches, as_batches
from emkit.core.stats import identical
from emkit.exceptions import ConvergenceWarning, MonotonicityWarning
from emkit.execution.local import map_reduce, resolve_n_jobs

ROUNDOFF = 1e-10
"""Relative size of a decrease of the mean bound still attributed to floating-point round-off."""

INIT_MAX_ROWS = 200_000
"""Rows that initialisation sees when data arrives in chunks (all of it when it is smaller)."""


@dataclass(frozen=True)
class IterationInfo:
    """What a callback receives after every E-step.

    Attributes
    ----------
    run : int
        Index of the restart, from 0 to ``n_init - 1``.
    n_iter : int
        M-steps done in this run; 0 for the initial parameters.
    params : object
        Current parameters.
    lower_bound : float
        Mean per-sample bound (log-likelihood) of ``params``.
    change : float
        ``lower_bound`` minus that of the previous iteration (nan at ``n_iter == 0``).
    """

    run: int
    n_iter: int
    params: Any
    lower_bound: float
    change: float


@dataclass(frozen=True)
class EMResult:
    """Outcome of :func:`fit_em`: the best run and how it went.

    Attributes
    ----------
    params : object
        Parameters of the best run (highest final bound).
    stats : object
        Statistics of the final E-step under ``params``.
    lower_bound : float
        Mean per-sample bound of ``params`` (weighted by sample weights).
    lower_bounds : ndarray of shape (n_iter + 1,)
        Bound of the best run after every M-step; element 0 is the bound of the initial
        parameters.
    converged : bool
        Whether the best run met the tolerance before ``max_iter``.
    stopped : bool
        Whether the callback ended the best run.
    n_iter : int
        M-steps done by the best run.
    decreases : tuple of (int, float)
        ``(iteration, amount)`` for every decrease of the bound beyond round-off in the best run.
    best_run : int
        Index of the best restart.
    run_lower_bounds : ndarray of shape (n_init,)
        Final bound of every restart.
    total_weight : float
        Number of samples, or sum of sample weights.
    """

    params: Any
    stats: Any
    lower_bound: float
    lower_bounds: np.ndarray
    converged: bool
    stopped: bool
    n_iter: int
    decreases: tuple[tuple[int, float], ...]
    best_run: int
    run_lower_bounds: np.ndarray
    total_weight: float


Callback = Callable[[IterationInfo], "bool | None"]


def fit_em(
    model: Any,
    data: np.ndarray | Iterable,
    *,
    sample_weight: np.ndarray | None = None,
    n_init: int = 1,
    max_iter: int = 100,
    tol: float = 1e-3,
    init: Any = None,
    random_state: int | np.random.RandomState | None = None,
    hard: bool = False,
    callback: Callback | None = None,
    chunk_size: int | None = None,
    n_jobs: int | None = None,
) -> EMResult:
    """Fit ``model`` to ``data`` by EM.

    Parameters
    ----------
    model : LatentModel
        Anything with ``init``, ``e_step``, ``m_step`` and ``log_prob``
        (:class:`emkit.core.model.LatentModel`).
    data : ndarray of shape (n_samples, n_features) or re-iterable of chunks
        One array, or chunks (arrays, or pairs ``(X, sample_weight)``) that every pass
        yields again; see :func:`emkit.core.batches.as_batches`. A fit over chunks equals a
        fit over their concatenation.
    sample_weight : ndarray of shape (n_samples,), optional
        Weight of every sample (array data only). Integer weights give the fit on repeated rows.
    n_init : int, default=1
        Restarts from fresh initial parameters; the run with the highest final bound is kept.
    max_iter : int, default=100
        Largest number of M-steps in one run.
    tol : float, default=1e-3
        A run has converged when the mean per-sample bound changes by less than ``tol``
        between two iterations, or when an M-step returns exactly the parameters it was given
        (a fixed point). Hard EM has also converged when its bound no longer changes beyond
        round-off, whatever ``tol``: its partition of the data is then fixed. With ``tol=0``
        a soft EM run otherwise goes on for ``max_iter`` iterations.
    init : params or callable, optional
        Parameters to start from (warm start; ``n_init`` is then 1), or a callable
        ``(X, random_state, sample_weight) -> params`` used in place of ``model.init`` for
        every restart.
    random_state : int, RandomState or None
        Seeds initialisation; restarts draw from it one after another.
    hard : bool, default=False
        Classification EM: every E-step assigns each sample wholly to its most probable
        latent value, and the bound is the classification log-likelihood.
    callback : callable, optional
        Called with an :class:`IterationInfo` after every E-step; returning True stops the run.
    chunk_size : int, optional
        Rows per E-step batch for array data.
    n_jobs : int or None, default=None
        Threads that run E-steps on batches in parallel: None for every available core,
        negative to count back from it. Results do not depend on it, bit for bit.

    Returns
    -------
    EMResult
    """
    if n_init < 1:
        raise ValueError(f"n_init must be at least 1, got {n_init}")
    if max_iter < 0:
        raise ValueError(f"max_iter must be non-negative, got {max_iter}")
    if not tol >= 0:
        raise ValueError(f"tol must be non-negative, got {tol}")
    batches = as_batches(data, sample_weight, chunk_size)
    rng = check_random_state(random_state)
    start = init if callable(init) else model.init
    runs = 1 if init is not None and not callable(init) else n_init
    settings = _Settings(
        max_iter, tol, hard, callback, getattr(model, "monotone", True), resolve_n_jobs(n_jobs)
    )

    best: EMResult | None = None
    finals = np.empty(runs)
    # E-steps multiply thin (chunk x n_features) matrices, where a second BLAS thread costs
    # far more than it gains; parallelism belongs to the level of chunks.
    with threadpool_limits(limits=1, user_api="blas"):
        for run in range(runs):
            if init is not None and not callable(init):
                params = init
            else:
                X0, w0 = batches.init_sample(INIT_MAX_ROWS, rng)
                params = start(X0, rng, w0)
            result = _run(model, params, batches, run, settings)
            finals[run] = result.lower_bound
            if best is None or result.lower_bound > best.lower_bound:
                best = result
    assert best is not None
    best = replace(best, run_lower_bounds=finals)
    if not best.converged and not best.stopped and max_iter > 0 and tol > 0:
        warnings.warn(
            f"EM did not converge in {max_iter} iterations (best of {runs} run(s)): the last "
            f"change of the mean log-likelihood was {_last_change(best):.3g}, tol={tol:g}. "
            "Increase max_iter or tol, or check the initialisation.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return best


@dataclass(frozen=True)
class _Settings:
    """How every run of one fit proceeds."""

    max_iter: int
    tol: float
    hard: bool
    callback: Callback | None
    monotone: bool
    n_jobs: int


def _run(model: Any, params: Any, batches: Batches, run: int, settings: _Settings) -> EMResult:
    max_iter, tol, hard, callback = (
        settings.max_iter,
        settings.tol,
        settings.hard,
        settings.callback,
    )
    stats, bound, total = _e_pass(model, params, batches, settings, n_iter=0)
    history = [bound]
    decreases: list[tuple[int, float]] = []
    converged = False
    stop = callback is not None and bool(callback(IterationInfo(run, 0, params, bound, math.nan)))
    n_iter = 0
    while not stop and n_iter < max_iter:
        n_iter += 1
        new_params = model.m_step(stats, params)
        if identical(new_params, params):
            # Every further iteration would repeat this one.
            history.append(bound)
            converged = True
            break
        params = new_params
        # This E-step serves the next M-step and is the final E-step when the run ends here,
        # so the reported bound always belongs to the returned parameters.
        stats, new_bound, _ = _e_pass(model, params, batches, settings, n_iter)
        change = new_bound - bound
        if change < -ROUNDOFF * max(1.0, abs(bound)):
            decreases.append((n_iter, -change))
            if settings.monotone:
                warnings.warn(
                    f"the EM bound decreased by {-change:.3g} at iteration {n_iter} "
                    f"(from {bound:.12g} to {new_bound:.12g}); EM never lowers it, so this "
                    "points to numerical breakdown or an inexact M-step",
                    MonotonicityWarning,
                    stacklevel=3,
                )
        bound = new_bound
        history.append(bound)
        if callback is not None and callback(IterationInfo(run, n_iter, params, bound, change)):
            stop = True
        # Hard EM moves through a finite set of partitions: once the bound is unchanged up
        # to round-off, the partition is, and the run is at its fixed point whatever tol.
        if abs(change) < tol or (hard and abs(change) <= ROUNDOFF * abs(bound)):
            converged = True
            break
    return EMResult(
        params=params,
        stats=stats,
        lower_bound=bound,
        lower_bounds=np.asarray(history),
        converged=converged,
        stopped=stop,
        n_iter=n_iter,
        decreases=tuple(decreases),
        best_run=run,
        run_lower_bounds=np.empty(0),
        total_weight=total,
    )


def _e_pass(
    model: Any, params: Any, batches: Batches, settings: _Settings, n_iter: int
) -> tuple[Any, float, float]:
    hard = settings.hard

    def one(batch: tuple[np.ndarray, np.ndarray | None]) -> tuple[Any, float, float]:
        X, w = batch
        s, ll = model.e_step(params, X, w, hard=True) if hard else model.e_step(params, X, w)
        return s, ll, (X.shape[0] if w is None else float(np.sum(w)))

    summed = map_reduce(one, batches, _add_triples, settings.n_jobs)
    stats, loglik, total = summed if summed is not None else (None, 0.0, 0.0)
    if stats is None or not total > 0:
        raise ValueError("the data holds no rows (or all sample weights are zero)")
    bound = loglik / total
    if not math.isfinite(bound):
        raise FloatingPointError(
            f"the log-likelihood is {bound} at iteration {n_iter}: the data may hold NaN or "
            "infinite values, or the model has degenerated (try a larger reg_covar)"
        )
    return stats, bound, total


def _add_triples(
    a: tuple[Any, float, float], b: tuple[Any, float, float]
) -> tuple[Any, float, float]:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def _last_change(result: EMResult) -> float:
    b = result.lower_bounds
    return float(b[-1] - b[-2]) if b.size > 1 else math.nan
