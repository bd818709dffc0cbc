"""The one EM loop (DESIGN.md, "One EM loop").

Models describe themselves through the :class:`~emkit.core.model.LatentModel` contract; this
module owns everything around the E- and M-steps: restarts, warm start, the convergence rule,
the history of the bound, the monotonicity check, hard (classification) EM, callbacks,
acceleration (SQUAREM, :mod:`emkit.core.acceleration`), the final E-step, and what the
diagnostics of the fit (:mod:`emkit.core.diagnostics`) are made of: the change of the parameters
made by every M-step and every restart's final bound and coordinates.

One loop serves plain and accelerated EM: a run is a :class:`_Path` of accepted points, and a
step (one plain EM iteration, or one SQUAREM cycle) only proposes the points to record. The
path applies the rules every point obeys: the fixed-point and ``tol`` convergence rules,
``max_iter``, the monotonicity check, the bound history and the callback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from emkit.config import config_context, executor_for, observer
from emkit.core.acceleration import Squarem, require_unconstrained
from emkit.core.diagnostics import FitDiagnostics, diagnose, rates
from emkit.core.online import OnlineEM, OnlineState
from emkit.core.stats import identical
from emkit.exceptions import ConvergenceWarning, DegenerateFitError, MonotonicityWarning, warn
from emkit.execution.executor import Executor, Placement
from emkit.execution.sources import DEFAULT_CHUNK_SIZE, as_source

ROUNDOFF = 1e-10
"""Relative size of a decrease of the mean bound still attributed to floating-point round-off."""

INIT_MAX_ROWS = 200_000
"""Rows that initialisation sees of data that is not in memory (all of them when there are
fewer): a uniform sample drawn in one pass, which every restart starts from."""

ACCELERATIONS = ("squarem",)
"""Values of ``fit_em(accelerate=...)`` besides None."""

RESTART_COORDINATES = 1_000
"""Most unconstrained coordinates of a model for which every restart's final coordinates are
kept (:attr:`EMResult.run_parameters`)."""

CHANGE_COORDINATES = 1_000_000
"""Most unconstrained coordinates of a model for which the change of the parameters is
recorded at every M-step (two vectors of this size are held during a run; a larger model,
a big topic model say, has its rate of convergence estimated from the bound alone)."""


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
    n_e_steps : int
        E-steps (passes over the data) done so far in this run, this one included; under
        acceleration it also counts those of rejected trial points, which the callback does
        not see.
    em_step : bool
        Whether ``params`` are one EM step from the previous point; False for an accepted
        SQUAREM extrapolation, whose ``change`` says nothing of the distance to a fixed point,
        and for the steps of online EM.
    weight : float
        The weight (rows, or summed sample weights) the E-step read: all the data, or one
        mini-batch of online EM. With the time between calls it gives rows per second.
    """

    run: int
    n_iter: int
    params: Any
    lower_bound: float
    change: float
    n_e_steps: int = 0
    em_step: bool = True
    weight: float = math.nan


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
        parameters. With ``accelerate='squarem'`` the entries are the bounds of the points the
        run accepted, two per cycle (one EM step, then the accepted extrapolation or a second
        EM step), never those of rejected trial points.
    converged : bool
        Whether the best run met the tolerance before ``max_iter``.
    stopped : bool
        Whether the callback ended the best run.
    n_iter : int
        M-steps done by the best run along its path of accepted points (two per SQUAREM
        cycle; an accepted extrapolation counts as the second).
    decreases : tuple of (int, float)
        ``(iteration, amount)`` for every decrease of the bound beyond round-off in the best run.
    best_run : int
        Index of the best restart.
    run_lower_bounds : ndarray of shape (n_init,)
        Final bound of every restart.
    total_weight : float
        Number of samples, or sum of sample weights.
    n_e_steps : int
        E-steps (passes over the data) done by the best run, the initial and final ones
        included: ``n_iter + 1`` for plain EM (``n_iter`` when it stops at a fixed point), and
        under acceleration also the E-steps of rejected trial points. The measure of work to
        compare plain and accelerated fits by.
    degenerated : str
        Empty, or why the best run ended early at its last valid point: a step after the
        start raised :class:`~emkit.exceptions.DegenerateFitError` (a covariance became
        singular, or the bound non-finite). A ConvergenceWarning says so.
    interrupted : bool
        Whether a keyboard interrupt (Ctrl-C) ended the fit: its run stopped at its last
        valid point, no later restart ran, and the best of the runs so far is returned.
    pass_lower_bounds : ndarray of shape (n_iter,)
        Online EM only (empty otherwise): the mean bound of every pass over the data, its
        batches scored under the parameters before their own steps. ``tol`` applies to its
        changes; ``lower_bounds`` then holds the bound of every batch, and ``lower_bound``
        is that of a final E-step over all the data.
    online_state : OnlineState or None
        Online EM only: the running average of the best run's last step, from which more
        steps (:func:`online_update`, ``partial_fit``) continue that run.
    parameter_changes : ndarray of shape (n_iter,)
        The change every M-step of the best run made to the parameters, as the largest
        absolute change of one of the model's unconstrained coordinates (``to_unconstrained``,
        :mod:`emkit.core.acceleration`; coordinates that are not finite at either point left
        out); NaN where unknown: the model has no such coordinates (or more than
        :data:`CHANGE_COORDINATES`). Empty for online EM. Element ``i`` goes with
        ``lower_bounds[i + 1] - lower_bounds[i]``; 0 at a fixed point.
    em_steps : ndarray of bool, shape (n_iter,)
        Whether every point of the best run's path is one EM step from the one before
        (False for accepted SQUAREM extrapolations); empty for online EM.
    coordinate_scale : float
        Largest absolute finite coordinate of the final parameters (what round-off of
        ``parameter_changes`` is relative to); NaN when unknown.
    run_parameters : ndarray of shape (n_init, n_coordinates)
        Final unconstrained coordinates of every restart, for models with at most
        :data:`RESTART_COORDINATES` of them; shape (0, 0) otherwise (and for online EM).
    run_remaining_gains : ndarray of shape (n_init,)
        What every restart's mean bound was still estimated to gain when it ended
        (:func:`emkit.core.diagnostics.rates`), NaN where unknown (hard EM, SQUAREM, online
        EM, too few iterations).
    tol, max_iter : float, int
        The tolerance and iteration limit the fit was given.
    method : {'em', 'hard', 'squarem', 'online'}
        How the runs stepped.
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
    n_e_steps: int = 0
    degenerated: str = ""
    pass_lower_bounds: np.ndarray = field(default_factory=lambda: np.empty(0))
    interrupted: bool = False
    online_state: OnlineState | None = None
    parameter_changes: np.ndarray = field(default_factory=lambda: np.empty(0))
    em_steps: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    coordinate_scale: float = math.nan
    run_parameters: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    run_remaining_gains: np.ndarray = field(default_factory=lambda: np.empty(0))
    tol: float = math.nan
    max_iter: int = 0
    method: str = "em"

    @property
    def diagnostics(self) -> FitDiagnostics:
        """The diagnostics of this fit judged by the driver's own rule
        (:func:`emkit.core.diagnostics.diagnose`): verdict, rate of convergence, optima of
        the restarts."""
        return diagnose(self)


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
    accelerate: str | None = None,
    online: OnlineEM | None = None,
    warn_unconverged: bool = True,
) -> EMResult:
    """Fit ``model`` to ``data`` by EM.

    Parameters
    ----------
    model : LatentModel
        Anything with ``init``, ``e_step``, ``m_step`` and ``log_prob``
        (:class:`emkit.core.model.LatentModel`). A model may also have
        ``bound_offset(params) -> float``: the part of the summed bound that depends on the
        parameters only (e.g. KL divergences from priors), added once to the summed batch
        bounds before the division by the total weight.
    data : ndarray of shape (n_samples, n_features), RowSource, or anything one adapts
        The rows (:func:`emkit.execution.sources.as_source`): an array, a CSR matrix, a
        table, Sequences, Labelled, a source (a file: :func:`emkit.open_data`), or chunks
        (arrays, or pairs ``(X, sample_weight)``) that every pass yields again. A fit over
        chunks equals a fit over their concatenation.
    sample_weight : ndarray of shape (n_samples,), optional
        Weight of every sample (data in one piece only). Integer weights give the fit on
        repeated rows.
    n_init : int, default=1
        Restarts from fresh initial parameters; the run with the highest final bound is kept.
    max_iter : int, default=100
        Largest number of M-steps in one run; 0 returns the initial parameters (with their
        E-step).
    tol : float, default=1e-3
        A run has converged when the mean per-sample bound changes by less than ``tol``
        between two iterations, or when an M-step returns exactly the parameters it was given
        (a fixed point). Hard EM has also converged when its bound no longer changes beyond
        round-off, whatever ``tol``: its partition of the data is then fixed. With ``tol <= 0``
        (``-inf`` included) a soft EM run otherwise goes on for ``max_iter`` iterations.
    init : params or callable, optional
        Parameters to start from (warm start; ``n_init`` is then 1), or a callable
        ``(X, random_state, sample_weight) -> params`` used in place of ``model.init`` for
        every restart, given a sample of the rows (:data:`INIT_MAX_ROWS`, one sample for all
        restarts); one whose attribute ``reads_rows`` is False is given None for both, and
        no sample is drawn.
    random_state : int, RandomState or None
        Seeds initialisation; restarts draw from it one after another.
    hard : bool, default=False
        Classification EM: every E-step assigns each sample wholly to its most probable
        latent value, and the bound is the classification log-likelihood.
    callback : callable, optional
        Called with an :class:`IterationInfo` after every E-step; returning True stops the run.
        The callback of :func:`emkit.config_context`, if one is set, is called after it.
    chunk_size : int, optional
        Most rows per E-step chunk of sources that cut their rows (default
        :data:`~emkit.execution.sources.DEFAULT_CHUNK_SIZE`).
    n_jobs : int or None, default=None
        Most threads that run E-steps on chunks in parallel: None for every available core,
        negative to count back from it (:class:`~emkit.execution.executor.ThreadExecutor`).
        Results do not depend on it, bit for bit. Inside
        ``emkit.config_context(executor=...)`` the executor set there runs the E-steps
        instead.
    accelerate : {'squarem'} or None, default=None
        'squarem' runs SQUAREM cycles (:mod:`emkit.core.acceleration`): two EM steps, then an
        extrapolation along them, accepted only when its bound is at least that of the first
        step, and otherwise replaced by the second EM step. The bound history stays monotone
        and the run converges to the same fixed points as EM, usually in far fewer passes
        over the data. ``tol`` then applies to the changes made by EM steps (the first of
        every cycle, and the second when it is taken), not to the jump of an accepted
        extrapolation, which can land at about the same height far from the fixed point;
        ``max_iter`` bounds the M-steps along the path (a cycle makes two; when one is left,
        it is a plain EM step). The model needs ``to_unconstrained`` and ``from_unconstrained``;
        soft EM only.
    online : OnlineEM, optional
        Online (stepwise) EM (:mod:`emkit.core.online`): an M-step after every mini-batch
        of ``online.batch_size`` rows, from a running average of the statistics. ``max_iter``
        then counts passes over the data and ``tol`` applies to the change of the mean bound
        of a pass; the bound is not monotone, so it is not checked (see
        :attr:`EMResult.pass_lower_bounds`). Not with ``accelerate``.
    warn_unconverged : bool, default=True
        Warn (:class:`~emkit.exceptions.ConvergenceWarning`) when the best run ends at
        ``max_iter`` without meeting ``tol > 0``; False for callers that say it in their own
        terms (``EMResult.converged`` tells them).

    Returns
    -------
    EMResult
    """
    if n_init < 1:
        raise ValueError(f"n_init must be at least 1, got {n_init}")
    if max_iter < 0:
        raise ValueError(f"max_iter must be non-negative, got {max_iter}")
    if math.isnan(tol):
        raise ValueError("tol must be a number, got nan")
    if accelerate is not None and not (isinstance(accelerate, str) and accelerate in ACCELERATIONS):
        raise ValueError(f"accelerate must be 'squarem' or None, got {accelerate!r}")
    if online is not None and not isinstance(online, OnlineEM):
        raise TypeError(f"online must be an emkit.core.online.OnlineEM or None, got {online!r}")
    if online is not None and accelerate is not None:
        raise ValueError(
            f"accelerate={accelerate!r} extrapolates along full EM steps; online EM takes a "
            "step per mini-batch: choose one"
        )
    if accelerate is not None:
        if hard:
            raise ValueError(
                f"accelerate={accelerate!r} works with soft EM only: classification EM "
                "(hard=True) moves between discrete partitions of the data, which no "
                "extrapolation can take a step along"
            )
        require_unconstrained(model)
    if chunk_size is None:
        chunk_size = DEFAULT_CHUNK_SIZE
    if isinstance(chunk_size, bool) or int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    source = as_source(data, sample_weight)
    executor = executor_for(n_jobs, source)
    placement = executor.place(source, int(chunk_size))
    rng = check_random_state(random_state)
    start = init if callable(init) else model.init
    runs = 1 if init is not None and not callable(init) else n_init
    settings = _Settings(
        max_iter,
        tol,
        hard,
        callback,
        # Online EM's bound is not monotone by nature: it is not checked.
        getattr(model, "monotone", True) and online is None,
        accelerate,
        online,
    )

    best: EMResult | None = None
    finals = np.empty(runs)
    coordinates: list[np.ndarray] = []
    gains = np.full(runs, math.nan)
    sample: tuple[Any, Any] | None = None
    with executor.compute():
        for run in range(runs):
            if init is not None and not callable(init):
                params = init
            else:
                # Of a file, the sample is a pass of its own: the restarts share one, and a
                # start that reads no rows (``reads_rows = False``) draws none.
                if not getattr(start, "reads_rows", True):
                    X0 = w0 = None
                else:
                    if sample is None:
                        sample = placement.sample(INIT_MAX_ROWS, rng)
                    X0, w0 = sample
                # The callback of config_context watches this fit, not the fits a start
                # may run (k-means), whose iterations it could not tell from this fit's.
                with config_context(callback=None):
                    params = start(X0, rng, w0)
            if online is None:
                result = _run(model, params, placement, run, settings)
            else:
                result = _run_online(model, params, placement, executor, run, settings)
            finals[run] = result.lower_bound
            coordinates.append(result.run_parameters)
            if online is None and accelerate is None and not hard:
                gains[run] = rates(
                    result.lower_bounds,
                    result.parameter_changes,
                    result.em_steps,
                    result.coordinate_scale,
                ).remaining_gain
            if best is None or result.lower_bound > best.lower_bound:
                best = result
            if result.interrupted:
                finals, gains = finals[: run + 1], gains[: run + 1]
                break
    assert best is not None
    best = replace(
        best,
        run_lower_bounds=finals,
        interrupted=result.interrupted,
        run_parameters=_stacked(coordinates),
        run_remaining_gains=gains,
        tol=float(tol),
        max_iter=int(max_iter),
        method="online" if online is not None else accelerate or ("hard" if hard else "em"),
    )
    if best.interrupted:
        warn(
            f"EM was interrupted (Ctrl-C) in run {run + 1} of {runs}: the fit keeps the "
            f"best parameters so far, those of run {best.best_run + 1} after {best.n_iter} "
            f"iterations (mean log-likelihood {best.lower_bound:.6g}), which have not "
            "converged",
            ConvergenceWarning,
        )
    elif best.degenerated:
        warn(
            f"EM stopped at iteration {best.n_iter + 1} of the best run: {best.degenerated} "
            f"The fit returns the parameters of iteration {best.n_iter}, the last valid ones.",
            ConvergenceWarning,
        )
    elif warn_unconverged and not best.converged and not best.stopped and max_iter > 0 and tol > 0:
        # The first sentence is scikit-learn's, which code written for it looks for.
        warn(
            "Best performing initialization did not converge. Try different init "
            "parameters, or increase max_iter, tol, or check for degenerate data. "
            f"(best of {runs} run(s), {max_iter} iterations; the last change of the mean "
            f"log-likelihood was {_last_change(best):.3g}, tol={tol:g})",
            ConvergenceWarning,
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
    accelerate: str | None = None
    online: OnlineEM | None = None


def _run(model: Any, params: Any, placement: Placement, run: int, settings: _Settings) -> EMResult:
    path = _Path(model, placement, run, settings, params)
    step = Squarem(model, params).cycle if settings.accelerate == "squarem" else _plain_step
    interrupted = False
    while path.running:
        try:
            step(path)
        except DegenerateFitError as exc:
            # The start was valid and a later step is not (a component collapsed onto a point,
            # so its covariance is singular): the run ends at its last valid point, which the
            # path still holds, and says why.
            path.degenerated = str(exc)
        except KeyboardInterrupt:
            # The path records a point and its statistics and bound together, after its
            # E-step: whatever the interrupt cut short, it holds a whole valid point.
            interrupted = True
            break
    return replace(path.result(), interrupted=interrupted)


def _run_online(
    model: Any,
    params: Any,
    placement: Placement,
    executor: Executor,
    run: int,
    settings: _Settings,
) -> EMResult:
    """One run of online EM (:mod:`emkit.core.online`): passes over the data in
    mini-batches, an M-step after each, until the mean bound of a pass changes by less than
    ``tol`` or ``max_iter`` passes are done; then one E-step over all the data for the
    final statistics and bound."""
    schedule = settings.online
    assert schedule is not None
    callback = settings.callback
    state = OnlineState()
    history: list[float] = []
    pass_bounds: list[float] = []
    n_iter = n_e_steps = 0
    converged = stopped = False
    degenerated = ""
    pass_weight: float | None = None  # the weight of the data, once one pass has read it
    interrupted = False
    try:
        while n_iter < settings.max_iter and not (converged or stopped or degenerated):
            summed = weight_read = 0.0
            for rows, w in placement.source.chunks(schedule.batch_size):
                batch = executor.place(as_source(rows, w), placement.chunk_size)
                try:
                    stats, loglik, weight = _summed(model, params, batch, settings.hard)
                    bound = loglik / weight
                    if not math.isfinite(bound):
                        raise _degenerate(bound, n_iter)
                    state = state.updated(schedule, stats, weight)
                    params_next = model.m_step(
                        state.statistics(pass_weight or state.weight_seen), params
                    )
                except DegenerateFitError as exc:
                    degenerated = str(exc)
                    break
                n_e_steps += 1
                change = bound - history[-1] if history else math.nan
                history.append(bound)
                summed += loglik
                weight_read += weight
                params = params_next
                if _notify(
                    callback,
                    IterationInfo(run, n_iter, params, bound, change, n_e_steps, False, weight),
                ):
                    stopped = True
                    break
            if degenerated or weight_read == 0.0:
                break
            n_iter += 1
            pass_weight = weight_read
            pass_bounds.append(summed / weight_read)
            if len(pass_bounds) > 1 and abs(pass_bounds[-1] - pass_bounds[-2]) < settings.tol:
                converged = True
    except KeyboardInterrupt:
        # params are always the last whole step's (they are replaced after the M-step).
        interrupted = True
    if interrupted:
        # No final pass over data that may be large: the bound is the last batch's.
        final_stats = state.statistics(state.weight_seen) if state.average is not None else None
        final_bound, total = (history[-1] if history else -math.inf), state.weight_seen
    else:
        final_stats, final_bound, total = _e_pass(model, params, placement, settings, n_iter)
    return EMResult(
        params=params,
        stats=final_stats,
        lower_bound=final_bound,
        lower_bounds=np.asarray(history),
        converged=converged,
        stopped=stopped,
        n_iter=n_iter,
        decreases=(),
        best_run=run,
        run_lower_bounds=np.empty(0),
        total_weight=total,
        n_e_steps=n_e_steps + (not interrupted),
        degenerated=degenerated,
        pass_lower_bounds=np.asarray(pass_bounds),
        interrupted=interrupted,
        online_state=state,
    )


def online_update(
    model: Any,
    params: Any,
    state: OnlineState,
    data: Any,
    schedule: OnlineEM,
    *,
    sample_weight: np.ndarray | None = None,
    hard: bool = False,
    chunk_size: int | None = None,
    n_jobs: int | None = None,
    total_weight: float | None = None,
) -> tuple[Any, OnlineState, float]:
    """One step of online EM on one batch (:mod:`emkit.core.online`): the batch's E-step
    under ``params`` (on the executor of the fit, as any pass), the running average
    updated, and the M-step of the average scaled to the weight of the data: the weight
    seen so far, or ``total_weight`` when the caller knows it (the number of documents
    of online variational Bayes, scikit-learn's ``total_samples``). What ``partial_fit``
    does with each batch it is given.

    Returns
    -------
    params : object
        The new parameters.
    state : OnlineState
        The new state.
    bound : float
        The batch's mean bound under the parameters it was given.

    Raises
    ------
    DegenerateFitError
        When the batch's bound is not finite, or the M-step finds a degenerate component.
    """
    source = as_source(data, sample_weight)
    executor = executor_for(n_jobs, source)
    placement = executor.place(source, chunk_size or DEFAULT_CHUNK_SIZE)
    with executor.compute():
        stats, loglik, weight = _summed(model, params, placement, hard)
        bound = loglik / weight
        if not math.isfinite(bound):
            raise _degenerate(bound, state.n_batches)
        state = state.updated(schedule, stats, weight)
        scale_to = state.weight_seen if total_weight is None else total_weight
        return model.m_step(state.statistics(scale_to), params), state, bound


def _stacked(coordinates: list[np.ndarray]) -> np.ndarray:
    """Every run's final coordinates (each of shape (1, n)) as rows, or shape (0, 0) unless
    every run kept some of one size."""
    if coordinates and all(c.shape == (1, coordinates[0].shape[1]) for c in coordinates):
        return np.concatenate(coordinates)
    return np.empty((0, 0))


class _Coordinates:
    """The model's unconstrained coordinates at the run's current point, to measure how far
    every M-step moves the parameters: one ``to_unconstrained`` per point, no E-step.

    A model declares its coordinates as SQUAREM needs them
    (:func:`~emkit.core.acceleration.require_unconstrained`); a structure whose family has
    none says so by raising TypeError for the start, as it does to SQUAREM. Either way, or
    with more than :data:`CHANGE_COORDINATES` of them, changes are NaN.
    """

    def __init__(self, model: Any, start: Any) -> None:
        self.model: Any = model
        try:
            require_unconstrained(model)
            self.current = self._vector(start)
        except TypeError:
            self.model, self.current = None, None
        if self.current is not None and self.current.size > CHANGE_COORDINATES:
            self.model, self.current = None, None

    def move_to(self, params: Any) -> float:
        """Make ``params`` the current point; the max-abs change of the coordinates that are
        finite at both points, NaN when there are none."""
        previous, self.current = self.current, self._vector(params)
        if previous is None or self.current is None or previous.shape != self.current.shape:
            return math.nan
        both = np.isfinite(previous) & np.isfinite(self.current)
        if not np.any(both):
            return math.nan
        return float(np.max(np.abs(self.current[both] - previous[both])))

    def scale(self) -> float:
        """Largest absolute finite coordinate of the current point (NaN when unknown)."""
        u = self.current
        finite = u[np.isfinite(u)] if u is not None else np.empty(0)
        return float(np.max(np.abs(finite))) if finite.size else math.nan

    def kept(self) -> np.ndarray:
        """The current coordinates as one row, shape (1, n), for a model of at most
        :data:`RESTART_COORDINATES`; shape (0, 0) otherwise."""
        u = self.current
        if u is None or u.size > RESTART_COORDINATES:
            return np.empty((0, 0))
        return u.reshape(1, -1).copy()

    def _vector(self, params: Any) -> np.ndarray | None:
        if self.model is None:
            return None
        try:
            # A weight of zero has the coordinate -inf: left out of the change, not warned of.
            with np.errstate(all="ignore"):
                u = self.model.to_unconstrained(params)
        except (ValueError, np.linalg.LinAlgError):
            return None
        return np.asarray(u, dtype=np.float64).ravel()


def _plain_step(path: _Path) -> None:
    """One EM iteration: the M-step of the current statistics, recorded with its E-step."""
    path.advance(path.m_step())


class _Path:
    """One run of EM: the points it has accepted, their bounds, and the rules every new point
    obeys (convergence, ``max_iter``, monotonicity check, history, callback).

    ``params``, ``stats`` and ``bound`` always belong together: the statistics and mean bound
    of the E-step of ``params``, so that whenever the run ends, its last E-step is the final
    one.
    """

    def __init__(
        self, model: Any, placement: Placement, run: int, settings: _Settings, params: Any
    ) -> None:
        self.model, self.placement, self.run, self.settings = model, placement, run, settings
        self.n_e_steps = 0
        self.n_iter = 0
        self.converged = False
        self.degenerated = ""
        self.decreases: list[tuple[int, float]] = []
        self.params = params
        self.stats, self.bound, self.total = self._e_pass(params)
        self.history = [self.bound]
        self.coordinates = _Coordinates(model, params)
        self.changes: list[float] = []
        self.em_steps: list[bool] = []
        self.stopped = self._call_back(math.nan)

    @property
    def running(self) -> bool:
        return (
            not (self.stopped or self.converged or self.degenerated)
            and self.n_iter < self.settings.max_iter
        )

    @property
    def remaining(self) -> int:
        """M-steps left before ``max_iter``."""
        return self.settings.max_iter - self.n_iter

    def m_step(self) -> Any:
        """New parameters from the statistics of the current point."""
        return self.model.m_step(self.stats, self.params)

    def evaluate(self, params: Any) -> tuple[Any, float]:
        """E-step of a trial point that may be rejected: its statistics and mean bound, which
        is non-finite (never an exception or a floating-point warning) when the parameters
        are numerically unusable."""
        try:
            with np.errstate(all="ignore"):
                stats, bound, _ = self._e_pass(params, strict=False)
        except (ArithmeticError, ValueError, np.linalg.LinAlgError):
            return None, math.nan
        return stats, bound

    def advance(
        self, params: Any, evaluated: tuple[Any, float] | None = None, *, em_step: bool = True
    ) -> bool:
        """Record ``params`` as the run's next point, after one more M-step; its E-step is
        done here unless ``evaluated`` gives its statistics and bound. Returns whether the run
        goes on.

        ``em_step=False`` marks a point that is not one EM step from the previous one (an
        accepted extrapolation): its change of the bound is recorded and checked for
        monotonicity, but is not held against ``tol``, since a jump that lands at about the
        same height says nothing about the distance to a fixed point."""
        if identical(params, self.params):
            # A fixed point: every further iteration would repeat this one.
            self.n_iter += 1
            self.history.append(self.bound)
            self.changes.append(0.0)
            self.em_steps.append(True)
            self.converged = True
            return False
        if evaluated is None:
            # This E-step serves the next M-step and is the final E-step when the run ends
            # here, so the reported bound always belongs to the returned parameters.
            stats, bound, _ = self._e_pass(params, n_iter=self.n_iter + 1)
        else:
            stats, bound = evaluated
        self.n_iter += 1
        change = bound - self.bound
        if change < -ROUNDOFF * max(1.0, abs(self.bound)):
            self.decreases.append((self.n_iter, -change))
            if self.settings.monotone:
                warn(
                    f"the EM bound decreased by {-change:.3g} at iteration {self.n_iter} "
                    f"(from {self.bound:.12g} to {bound:.12g}); EM never lowers it, so this "
                    "points to numerical breakdown or an inexact M-step",
                    MonotonicityWarning,
                )
        self.params, self.stats, self.bound = params, stats, bound
        self.history.append(bound)
        self.changes.append(self.coordinates.move_to(params))
        self.em_steps.append(em_step)
        if self._call_back(change, em_step):
            self.stopped = True
        # Hard EM moves through a finite set of partitions: once the bound is unchanged up
        # to round-off, the partition is, and the run is at its fixed point whatever tol.
        if em_step and (
            abs(change) < self.settings.tol
            or (self.settings.hard and abs(change) <= ROUNDOFF * abs(bound))
        ):
            self.converged = True
        return self.running

    def result(self) -> EMResult:
        return EMResult(
            params=self.params,
            stats=self.stats,
            lower_bound=self.bound,
            lower_bounds=np.asarray(self.history),
            converged=self.converged,
            stopped=self.stopped,
            n_iter=self.n_iter,
            degenerated=self.degenerated,
            decreases=tuple(self.decreases),
            best_run=self.run,
            run_lower_bounds=np.empty(0),
            total_weight=self.total,
            n_e_steps=self.n_e_steps,
            parameter_changes=np.asarray(self.changes, dtype=np.float64),
            em_steps=np.asarray(self.em_steps, dtype=bool),
            coordinate_scale=self.coordinates.scale(),
            run_parameters=self.coordinates.kept(),
        )

    def _call_back(self, change: float, em_step: bool = True) -> bool:
        info = IterationInfo(
            self.run,
            self.n_iter,
            self.params,
            self.bound,
            change,
            self.n_e_steps,
            em_step,
            self.total,
        )
        return _notify(self.settings.callback, info)

    def _e_pass(
        self, params: Any, strict: bool = True, n_iter: int | None = None
    ) -> tuple[Any, float, float]:
        self.n_e_steps += 1
        n_iter = self.n_iter if n_iter is None else n_iter
        return _e_pass(self.model, params, self.placement, self.settings, n_iter, strict)


def _notify(callback: Callback | None, info: IterationInfo) -> bool:
    """Give ``info`` to the fit's callback, then to the callback of
    :func:`emkit.config_context`, which only watches; returns whether the fit's callback
    stops the run."""
    stop = callback is not None and bool(callback(info))
    watching = observer()
    if watching is not None:
        watching(info)
    return stop


def _e_pass(
    model: Any,
    params: Any,
    placement: Placement,
    settings: _Settings,
    n_iter: int,
    strict: bool = True,
) -> tuple[Any, float, float]:
    stats, loglik, total = _summed(model, params, placement, settings.hard)
    offset = getattr(model, "bound_offset", None)
    if offset is not None:
        # Terms of the bound that depend on the parameters alone (a variational model's
        # divergences from its priors) count once per pass, not once per batch.
        loglik += offset(params)
    bound = loglik / total
    if strict and not math.isfinite(bound):
        raise _degenerate(bound, n_iter)
    return stats, bound, total


def _degenerate(bound: float, n_iter: int) -> DegenerateFitError:
    return DegenerateFitError(
        f"the log-likelihood is {bound} at iteration {n_iter}: the data may hold NaN or "
        "infinite values, or values too large for floating-point arithmetic (rescale "
        "them), or the model has degenerated (try a larger reg_covar)"
    )


def _summed(model: Any, params: Any, placement: Placement, hard: bool) -> tuple[Any, float, float]:
    """The statistics, log-likelihood and weight of one pass over ``placement``.

    Raises
    ------
    ValueError
        When the data holds no rows, or no weight.
    """
    sparse_ok = getattr(model, "accepts_sparse", False)

    def one(batch: tuple[np.ndarray, np.ndarray | None]) -> tuple[Any, float, float]:
        X, w = batch
        if not sparse_ok and sp.issparse(X):
            raise TypeError(
                f"{type(model).__name__} needs dense rows, and the data is a sparse matrix: "
                "give X.toarray(), or a model that takes sparse rows (accepts_sparse = True)"
            )
        s, ll = model.e_step(params, X, w, hard=True) if hard else model.e_step(params, X, w)
        return s, ll, (X.shape[0] if w is None else float(np.sum(w)))

    summed = placement.map_reduce(one, _add_triples)
    stats, loglik, total = summed if summed is not None else (None, 0.0, 0.0)
    if stats is None or not total > 0:
        raise ValueError("the data holds no rows (or all sample weights are zero)")
    return stats, loglik, total


def _add_triples(
    a: tuple[Any, float, float], b: tuple[Any, float, float]
) -> tuple[Any, float, float]:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def _last_change(result: EMResult) -> float:
    b = result.pass_lower_bounds if result.pass_lower_bounds.size else result.lower_bounds
    return float(b[-1] - b[-2]) if b.size > 1 else math.nan
