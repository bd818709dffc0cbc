"""Diagnostics of every EM fit: did it converge or just stop, how fast, how many optima.

EM is a fixed-point iteration ``theta <- F(theta)`` that converges linearly near a maximum:
the distance to the fixed point shrinks by a factor ``r`` per iteration, the largest
eigenvalue of the Jacobian of ``F`` there, which for EM is the largest fraction of the
information about the parameters that the latent variables hide (Dempster, Laird & Rubin
1977, section 3.9). The driver (:func:`emkit.core.driver.fit_em`) records, at no extra
E-step, what estimates ``r``:

- the bound after every M-step: its increments shrink by ``r ** 2`` per iteration (the bound
  is quadratic about its maximum), so ``sqrt`` of the ratio of successive increments
  estimates ``r``;
- the change of the parameters made by every M-step, measured in the model's unconstrained
  coordinates (``to_unconstrained``, see :mod:`emkit.core.acceleration`) as the largest
  absolute change of one coordinate (max-abs): the ratio of successive changes estimates
  ``r`` directly. Max-abs, not RMS, so that the measure does not shrink with the number of
  parameters and follows the slowest coordinate; any norm gives the same limit.

Each estimate is the median of the last :data:`RATE_WINDOW` ratios whose changes are above
round-off, so that neither the first iterations (not yet in the linear regime) nor a stray
ratio at round-off level moves it.

Once ``r`` is known, the bound still to gain is the geometric tail of its increments,
``last_increment * q / (1 - q)`` with ``q = r ** 2`` the ratio of successive increments
(measured, or from the parameter rate). When it exceeds ``tol`` the run stopped (by the
``tol`` rule on one step, by ``max_iter`` or by a callback) while a slow iteration still had
more than ``tol`` to gain: the verdict is "stopped but not converged".

Restarts: final bounds within :attr:`FitDiagnostics.optimum_tol` of each other are one
optimum; the diagnostics say how many distinct optima the restarts found and how many
restarts reached the best one.

Component health (weights near zero, near-singular covariances, states never visited) is a
face's: each face answers from its fitted attributes (``_component_health``), and the face's
``diagnostics_`` adds its sentences (:meth:`FitDiagnostics.with_health`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from emkit.core.driver import EMResult

CONVERGED = "converged"
NOT_CONVERGED = "stopped but not converged"
MAX_ITER = "stopped at max_iter"
STOPPED = "stopped by the callback"
DEGENERATED = "degenerated"
INTERRUPTED = "interrupted"
ONLINE_STEPS = "online steps"
STATUSES = (CONVERGED, NOT_CONVERGED, MAX_ITER, STOPPED, DEGENERATED, INTERRUPTED, ONLINE_STEPS)
"""Values of :attr:`FitDiagnostics.status`."""

RATE_WINDOW = 5
"""Ratios of successive changes (the last ones above round-off) whose median is the rate."""

MIN_RATIOS = 2
"""Fewest ratios an estimate of the rate is made from."""

BOUND_RTOL = 1e-12
"""Increments of the mean bound below ``BOUND_RTOL * max(1, |bound|)`` are round-off: their
ratios are not used."""

PARAMETER_RTOL = 1e-12
"""Parameter changes below ``PARAMETER_RTOL * max(1, max |coordinate|)`` are round-off."""

OPTIMUM_RTOL = 1e-6
"""Final bounds closer than ``max(tol, OPTIMUM_RTOL * |best|)`` are one optimum: a run that
met ``tol`` may stop about ``tol`` short of its optimum, and a millionth is what six
significant digits (the command line's summaries, whose count of restarts that reached the
best uses the same rule) can tell apart."""

METHODS = ("em", "hard", "squarem", "online")
"""Values of :attr:`FitDiagnostics.method`."""


@dataclass(frozen=True, eq=False)
class FitDiagnostics:
    """How one EM fit went, in numbers and in sentences.

    Attributes
    ----------
    status : str
        One of :data:`STATUSES`: "converged"; "stopped but not converged" (the run ended,
        by the ``tol`` rule, ``max_iter`` or a callback, while the estimated remaining gain
        of the bound exceeds ``tol``); "stopped at max_iter" (no estimate says it has more
        than ``tol`` to gain, but the ``tol`` rule was not met); "stopped by the callback";
        "degenerated" (a step failed, the fit kept its last valid point); "interrupted"
        (Ctrl-C); "online steps" (``partial_fit``: steps taken, nothing to judge).
    verdict : str
        The status as a person reads it: equal to ``status`` for batch fits; online fits add
        that the rate of convergence is not meaningful for them.
    method : str
        One of :data:`METHODS`: plain EM, hard (classification) EM, SQUAREM, online EM.
    rate : float
        Estimated linear rate of convergence of the best run, in [0, 1) when it converges:
        :attr:`rate_from_parameters` where it is known, else :attr:`rate_from_bound`; NaN
        when neither is (too few iterations, hard EM, SQUAREM, online EM).
    rate_from_parameters : float
        Median ratio of successive parameter changes (:attr:`parameter_changes`); NaN when
        unknown.
    rate_from_bound : float
        Square root of the median ratio of successive increments of the bound; NaN when
        unknown.
    missing_information : float
        The fraction of missing information the rate implies (for EM near a maximum, the
        rate itself); NaN when the rate is unknown.
    remaining_gain : float
        Estimated gain of the mean bound still to come, ``d q / (1 - q)`` for the last
        increment ``d`` and ``q`` the ratio of successive increments; ``inf`` when ``q >=
        1``; NaN when unknown.
    tol : float
        The tolerance on the mean bound the verdict compares with (the driver's units; <= 0
        when the fit was not judged by the driver's rule, and then never "stopped but not
        converged").
    lower_bounds : ndarray of shape (n_iter + 1,)
        Mean bound of the best run after every M-step (element 0: its start); online: of
        every mini-batch.
    parameter_changes : ndarray of shape (n_iter,)
        Largest absolute change of an unconstrained coordinate made by every M-step of the
        best run (element ``i`` between ``lower_bounds[i]`` and ``lower_bounds[i + 1]``);
        NaN where it is unknown (a model without unconstrained coordinates, a coordinate
        that is not finite); empty for online EM.
    restart_lower_bounds : ndarray of shape (n_init,)
        Final mean bound of every restart (fewer when the fit was interrupted).
    restart_remaining_gains : ndarray of shape (n_init,)
        Estimated remaining gain of every restart (NaN where unknown). Restarts that stopped
        well short of one optimum (a gain above ``optimum_tol``) may count as distinct
        optima; the restart sentence of :attr:`messages` then says so.
    restart_parameters : ndarray of shape (n_init, n_coordinates)
        Final unconstrained coordinates of every restart, for models with few enough
        parameters (:data:`emkit.core.driver.RESTART_COORDINATES`); shape (0, 0) otherwise.
    optimum_tol : float
        Final bounds closer than this are one optimum (:data:`OPTIMUM_RTOL`).
    optimum_of_restart : ndarray of int, shape (n_init,)
        The optimum every restart reached (:func:`optima` of the final bounds): 0 for the
        best, 1 for the next, ...; -1 for a restart whose bound is not finite.
    n_optima : int
        Distinct optima the restarts reached.
    n_at_best : int
        Restarts that reached the best optimum.
    health : tuple of str
        Sentences about components that look unwell (weights near zero, near-singular
        covariances, states never visited); empty when all look well or the face cannot
        tell.
    messages : tuple of str
        Everything above that matters, as sentences: the verdict with the rate, the
        restarts, then :attr:`health`.
    """

    status: str
    verdict: str
    method: str
    rate: float
    rate_from_parameters: float
    rate_from_bound: float
    missing_information: float
    remaining_gain: float
    tol: float
    lower_bounds: np.ndarray
    parameter_changes: np.ndarray
    restart_lower_bounds: np.ndarray
    restart_remaining_gains: np.ndarray = field(default_factory=lambda: np.empty(0))
    restart_parameters: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    optimum_tol: float = math.nan
    optimum_of_restart: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.intp))
    n_optima: int = 0
    n_at_best: int = 0
    health: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()

    def with_health(self, sentences: Sequence[str]) -> FitDiagnostics:
        """The same diagnostics with the component ``sentences`` as :attr:`health`, also
        appended to :attr:`messages` (replacing health sentences given before)."""
        sentences = tuple(sentences)
        kept = self.messages[: len(self.messages) - len(self.health)]
        return replace(self, health=sentences, messages=kept + sentences)


# -- rates ---------------------------------------------------------------------------------------
def median_ratio(changes: np.ndarray, usable: np.ndarray, window: int = RATE_WINDOW) -> float:
    """Median of the last ``window`` ratios ``changes[i] / changes[i - 1]`` of successive
    usable entries; NaN when fewer than :data:`MIN_RATIOS` pairs are usable.

    Parameters
    ----------
    changes : ndarray of shape (n,)
        Positive sizes of successive steps.
    usable : ndarray of bool, shape (n,)
        Whether each entry may enter a ratio (above round-off, from an EM step).
    window : int
        Most ratios, the last ones, that the median is taken over.
    """
    changes = np.asarray(changes, dtype=np.float64)
    usable = np.asarray(usable, dtype=bool)
    pairs = usable[1:] & usable[:-1]
    ratios = changes[1:][pairs] / changes[:-1][pairs]
    if ratios.size < MIN_RATIOS:
        return math.nan
    return float(np.median(ratios[-window:]))


def bound_ratio(lower_bounds: np.ndarray, em_steps: np.ndarray | None = None) -> float:
    """Median ratio of successive increments of the bound (``r ** 2`` for rate ``r``), over
    the increments made by EM steps and above round-off (:data:`BOUND_RTOL`).

    Parameters
    ----------
    lower_bounds : ndarray of shape (n_iter + 1,)
    em_steps : ndarray of bool, shape (n_iter,), optional
        Which increments were made by an EM step (all when None).
    """
    bounds = np.asarray(lower_bounds, dtype=np.float64)
    if bounds.size < 3:
        return math.nan
    increments = np.diff(bounds)
    floor = BOUND_RTOL * max(1.0, abs(float(bounds[-1])))
    usable = np.isfinite(increments) & (increments > floor)
    if em_steps is not None:
        usable &= np.asarray(em_steps, dtype=bool)
    return median_ratio(increments, usable)


def parameter_rate(changes: np.ndarray, scale: float, em_steps: np.ndarray | None = None) -> float:
    """Median ratio of successive parameter changes above round-off
    (:data:`PARAMETER_RTOL` times ``max(1, scale)``, ``scale`` the size of the coordinates).

    Parameters
    ----------
    changes : ndarray of shape (n_iter,)
        Max-abs change of the unconstrained coordinates made by every M-step (NaN unknown).
    scale : float
        Largest absolute coordinate (round-off is relative to it).
    em_steps : ndarray of bool, shape (n_iter,), optional
        Which changes were made by an EM step (all when None).
    """
    changes = np.asarray(changes, dtype=np.float64)
    floor = PARAMETER_RTOL * max(1.0, scale if math.isfinite(scale) else 1.0)
    usable = np.isfinite(changes) & (changes > floor)
    if em_steps is not None:
        usable &= np.asarray(em_steps, dtype=bool)
    return median_ratio(changes, usable)


class Rates(NamedTuple):
    """The rate of convergence of one run of plain EM, as :func:`rates` estimates it.

    Attributes
    ----------
    rate : float
        ``from_parameters`` where it is known and below 1, else ``from_bound``; NaN when
        neither is known.
    from_parameters, from_bound : float
        The estimates from the parameter changes and from the increments of the bound.
    ratio : float
        Ratio of successive increments of the bound (measured, else ``rate ** 2``).
    remaining_gain : float
        :func:`remaining_gain` at ``ratio``.
    drifting : bool
        Whether the parameter changes do not shrink while the bound's increments do: a
        parameter heading for the edge of its space (a probability or weight to zero, whose
        unconstrained coordinate runs off to infinity), so the rate is the bound's.
    """

    rate: float
    from_parameters: float
    from_bound: float
    ratio: float
    remaining_gain: float
    drifting: bool


def rates(
    lower_bounds: np.ndarray, parameter_changes: np.ndarray, em_steps: np.ndarray, scale: float
) -> Rates:
    """The rate of convergence of one run of plain EM from its histories (see the module's
    documentation).

    Parameters
    ----------
    lower_bounds : ndarray of shape (n_iter + 1,)
        The run's mean bound after every M-step.
    parameter_changes : ndarray of shape (n_iter,)
        Max-abs change of the unconstrained coordinates made by every M-step (NaN unknown).
    em_steps : ndarray of bool, shape (n_iter,)
        Which points are one EM step from the one before.
    scale : float
        Largest absolute coordinate of the final parameters.
    """
    q = bound_ratio(lower_bounds, em_steps)
    from_bound = math.sqrt(q) if q >= 0 else math.nan  # NaN compares False
    from_parameters = parameter_rate(parameter_changes, scale, em_steps)
    drifting = from_parameters >= 1.0 and from_bound < 1.0
    rate = from_parameters if math.isfinite(from_parameters) and not drifting else from_bound
    if not math.isfinite(q) and math.isfinite(rate):
        q = rate * rate
    return Rates(
        rate, from_parameters, from_bound, q, remaining_gain(lower_bounds, q), bool(drifting)
    )


def remaining_gain(lower_bounds: np.ndarray, ratio: float) -> float:
    """Geometric tail of the increments of the bound, ``d * q / (1 - q)``, from the last
    increment ``d`` (0 when it is negative: a run at its fixed point) and the ratio ``q`` of
    successive increments; inf when ``q >= 1``, NaN when ``q`` is unknown."""
    bounds = np.asarray(lower_bounds, dtype=np.float64)
    if bounds.size < 2 or not math.isfinite(ratio):
        return math.nan
    last = max(0.0, float(bounds[-1] - bounds[-2]))
    if last == 0.0:
        return 0.0
    if ratio >= 1.0:
        return math.inf
    return last * max(ratio, 0.0) / (1.0 - ratio)


# -- restarts ------------------------------------------------------------------------------------
def optima(finals: np.ndarray, tolerance: float) -> np.ndarray:
    """The optimum every restart reached, from its final bound: restarts are sorted from the
    best down, and one more than ``tolerance`` below the best of the current optimum starts
    the next one. 0 is the best optimum; -1 marks a bound that is not finite.

    Parameters
    ----------
    finals : ndarray of shape (n_init,)
        Final bound of every restart.
    tolerance : float
        Bounds within it of an optimum's best belong to that optimum.

    Returns
    -------
    ndarray of int, shape (n_init,)
    """
    finals = np.asarray(finals, dtype=np.float64)
    labels = np.full(finals.shape, -1, dtype=np.intp)
    order = [i for i in np.argsort(-finals, kind="stable") if math.isfinite(finals[i])]
    label, top = -1, math.inf
    for i in order:
        if top - finals[i] > tolerance or label < 0:
            label, top = label + 1, float(finals[i])
        labels[i] = label
    return labels


def optimum_tolerance(finals: np.ndarray, tol: float) -> float:
    """``max(tol, OPTIMUM_RTOL * |best|)`` (:data:`OPTIMUM_RTOL`)."""
    finite = np.asarray(finals, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    best = float(finite.max()) if finite.size else 0.0
    relative = OPTIMUM_RTOL * abs(best)
    return max(tol, relative) if math.isfinite(tol) else relative


# -- the verdict ---------------------------------------------------------------------------------
def diagnose(
    result: EMResult, *, converged: bool | None = None, tol: float | None = None
) -> FitDiagnostics:
    """The diagnostics of a fit from the driver's result (no health: a face adds it).

    Parameters
    ----------
    result : EMResult
        What :func:`emkit.core.driver.fit_em` returned.
    converged : bool, optional
        The caller's own verdict on convergence (a face that judges it by its own rule, as
        hmmlearn's monitor does); the driver's by default.
    tol : float, optional
        Tolerance on the mean bound to hold the remaining gain against; the one the driver
        was given by default.

    Returns
    -------
    FitDiagnostics
    """
    tol = result.tol if tol is None else float(tol)
    converged = result.converged if converged is None else bool(converged)
    online = result.online_state is not None
    method = "online" if online else result.method
    changes = np.asarray(result.parameter_changes, dtype=np.float64)
    bounds = np.asarray(result.lower_bounds, dtype=np.float64)
    if method == "em":
        estimate = rates(bounds, changes, result.em_steps, result.coordinate_scale)
    else:
        # Classification EM reaches a fixed partition in finitely many steps, SQUAREM's
        # jumps are not EM steps, online steps follow a step-size schedule: none has the
        # linear rate of plain EM to estimate.
        estimate = Rates(math.nan, math.nan, math.nan, math.nan, math.nan, False)
    rate, gain = estimate.rate, estimate.remaining_gain

    if result.interrupted:
        status = INTERRUPTED
    elif result.degenerated:
        status = DEGENERATED
    elif tol > 0 and not online and gain > tol:  # NaN (unknown) compares False
        status = NOT_CONVERGED
    elif converged:
        status = CONVERGED
    elif result.stopped:
        status = STOPPED
    else:
        status = MAX_ITER
    verdict = status
    if online:
        verdict = f"{status} (online EM: its rate of convergence is not meaningful)"

    finals = np.asarray(result.run_lower_bounds, dtype=np.float64)
    optimum_tol = optimum_tolerance(finals, tol)
    labels = optima(finals, optimum_tol)
    n_optima = int(labels.max() + 1) if labels.size else 0
    n_at_best = int(np.sum(labels == 0))

    messages = [_verdict_sentence(status, verdict, rate, gain, tol, result, method)]
    if estimate.drifting:
        messages.append(
            f"the parameter changes do not shrink (ratio {estimate.from_parameters:.2g}) while "
            "the bound converges: a probability or weight is heading to zero, and the rate "
            "is the bound's"
        )
    if finals.size > 1:
        gains = np.asarray(result.run_remaining_gains, dtype=np.float64)
        short = bool(np.any(gains[np.isfinite(gains)] > optimum_tol))
        messages.append(_restart_sentence(finals.size, n_at_best, n_optima, labels, short))
    return FitDiagnostics(
        status=status,
        verdict=verdict,
        method=method,
        rate=rate,
        rate_from_parameters=estimate.from_parameters,
        rate_from_bound=estimate.from_bound,
        missing_information=rate,
        remaining_gain=gain,
        tol=tol,
        lower_bounds=bounds,
        parameter_changes=changes,
        restart_lower_bounds=finals,
        restart_remaining_gains=np.asarray(result.run_remaining_gains, dtype=np.float64),
        restart_parameters=np.asarray(result.run_parameters, dtype=np.float64),
        optimum_tol=optimum_tol,
        optimum_of_restart=labels,
        n_optima=n_optima,
        n_at_best=n_at_best,
        messages=tuple(messages),
    )


def online_steps(lower_bounds: np.ndarray, n_steps: int) -> FitDiagnostics:
    """Diagnostics after ``partial_fit``: ``n_steps`` online steps whose batch bounds are
    ``lower_bounds``; no convergence to judge, no rate, no restarts."""
    bounds = np.asarray(lower_bounds, dtype=np.float64)
    verdict = f"{ONLINE_STEPS} (online EM: its rate of convergence is not meaningful)"
    return FitDiagnostics(
        status=ONLINE_STEPS,
        verdict=verdict,
        method="online",
        rate=math.nan,
        rate_from_parameters=math.nan,
        rate_from_bound=math.nan,
        missing_information=math.nan,
        remaining_gain=math.nan,
        tol=math.nan,
        lower_bounds=bounds,
        parameter_changes=np.empty(0),
        restart_lower_bounds=bounds[-1:],
        optimum_of_restart=np.zeros(min(1, bounds.size), dtype=np.intp),
        n_optima=min(1, bounds.size),
        n_at_best=min(1, bounds.size),
        messages=(
            f"{count(n_steps, 'online step')} taken (partial_fit): online EM follows its step "
            "sizes, so no rate of convergence or verdict on convergence is estimated",
        ),
    )


def _verdict_sentence(
    status: str, verdict: str, rate: float, gain: float, tol: float, result: EMResult, method: str
) -> str:
    iterations = count(int(result.n_iter), "iteration")
    if status == INTERRUPTED:
        return f"interrupted (Ctrl-C) after {iterations}: the fit keeps its last valid point"
    if status == DEGENERATED:
        return f"degenerated after {iterations}: {result.degenerated}"
    if method == "online":
        return f"{verdict}, after {count(int(result.n_iter), 'pass')} over the data"
    if method == "hard":
        why = "classification EM reaches a fixed partition in finitely many steps, at no rate"
        return f"{status} after {iterations} ({why})"
    if method == "squarem":
        return f"{status} after {iterations} (SQUAREM: the rate of plain EM is not estimated)"
    if not math.isfinite(rate):
        return f"{status} after {iterations} (too few iterations to estimate the rate)"
    if rate < 1:
        missing = f"{_below_one(rate, 100)} % of the information is missing"
        at = f"at a rate of {_below_one(rate)}: {missing}"
    else:
        at = f"with changes that do not shrink (ratio {rate:.2g} per iteration)"
    if status == NOT_CONVERGED:
        left = "without end" if gain == math.inf else f"about {gain:.3g}"
        return (
            f"{status}: {at}, the mean log-likelihood would still gain {left} "
            f"(more than tol {tol:g}) after {iterations}"
        )
    if status == CONVERGED:
        return f"converged {at}"
    tail = f"; the remaining gain is estimated at {gain:.3g}" if math.isfinite(gain) else ""
    return f"{status} after {iterations} {at}{tail}"


def _below_one(rate: float, unit: float = 1.0) -> str:
    """``rate * unit`` to two significant digits, or as many more (up to six) as keep a
    rate below 1 from showing as 1 (0.996, not 1)."""
    for digits in range(2, 7):
        text = f"{rate * unit:.{digits}g}"
        if float(text) < unit:
            return text
    return text


def _restart_sentence(
    n_runs: int, n_at_best: int, n_optima: int, labels: np.ndarray, short: bool
) -> str:
    failed = int(np.sum(labels < 0))
    distinct = "1 distinct optimum" if n_optima == 1 else f"{n_optima} distinct optima"
    text = f"{n_at_best} of {n_runs} restarts reached the best optimum; {distinct}"
    if failed:
        text += f"; {failed} ended at a non-finite bound"
    if short and n_optima > 1:
        text += " (some restarts stopped short of their optimum, so some may be one)"
    return text


def count(n: int, noun: str) -> str:
    """``1 iteration``, ``2 iterations``; ``pass`` takes ``es``."""
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {noun}es" if noun.endswith("ss") else f"{n} {noun}s"


# -- component health (pure functions of fitted arrays; the faces call them) ----------------------
WEIGHT_RTOL = 0.01
"""A weight below ``WEIGHT_RTOL / n_components`` (a hundredth of an equal share) is near
zero."""

CONDITION_LIMIT = 1.0 / math.sqrt(np.finfo(np.float64).eps)
"""A covariance matrix whose condition number exceeds this (about 6.7e7: solving with it
loses half of float64's digits) is near singular."""

REG_COVAR_SHARE = 0.1
"""A covariance whose smallest eigenvalue is under ``reg_covar / REG_COVAR_SHARE`` owes at
least that share of it to ``reg_covar``: the floor, not the data, holds it up."""

STATE_FLOOR = 1e-8
"""Start and transition probabilities below this count as zero when asking which states a
chain can reach."""


def small_weights(weights: np.ndarray, unit: str = "component") -> list[str]:
    """Sentences naming the weights near zero (:data:`WEIGHT_RTOL`).

    Parameters
    ----------
    weights : ndarray of shape (n_components,)
    unit : str
        What a component is called ("component", "cluster").
    """
    weights = np.asarray(weights, dtype=np.float64)
    floor = WEIGHT_RTOL / max(1, weights.size)
    return [
        f"{unit} {k} has weight {w:.3g}, near zero (below {floor:.3g}): it explains almost "
        "no data; fewer components may do"
        for k, w in enumerate(weights)
        if w < floor
    ]


def covariance_health(
    matrices: np.ndarray, reg_covar: float, unit: str = "component", what: str = "covariance"
) -> list[str]:
    """Sentences naming near-singular covariance matrices (:data:`CONDITION_LIMIT`) and
    those dominated by ``reg_covar`` (:data:`REG_COVAR_SHARE`).

    Parameters
    ----------
    matrices : ndarray of shape (n_components, n_features, n_features)
        Every component's covariance (or scale) matrix; one shared matrix is given once.
    reg_covar : float
        What the M-step added to the variances.
    unit, what : str
        What a component and its matrix are called, for the sentences.
    """
    matrices = np.asarray(matrices, dtype=np.float64)
    sentences = []
    with np.errstate(all="ignore"):
        eigenvalues = np.linalg.eigvalsh(matrices)
    shared = matrices.shape[0] == 1
    for k, values in enumerate(eigenvalues):
        name = f"the shared {what}" if shared else f"the {what} of {unit} {k}"
        low, high = float(values[0]), float(values[-1])
        if reg_covar > 0 and low < reg_covar / REG_COVAR_SHARE:
            sentences.append(
                f"{name} has smallest eigenvalue {low:.3g}, within {1 / REG_COVAR_SHARE:g} "
                f"times reg_covar = {reg_covar:g}: reg_covar, not the data, holds it up (a "
                f"collapsed {unit}, or a feature of almost no spread)"
            )
        elif not low > 0 or high / low > CONDITION_LIMIT:
            condition = math.inf if not low > 0 else high / low
            sentences.append(
                f"{name} is near singular (condition number {condition:.3g}): its data lie "
                "close to a lower-dimensional subspace"
            )
    return sentences


def unvisited_states(startprob: np.ndarray, transmat: np.ndarray) -> list[str]:
    """Sentences naming the states of a Markov chain that no sequence can visit: not a
    likely start, and reached by no likely transition from a state that is visited
    (probabilities under :data:`STATE_FLOOR` taken as zero).

    Parameters
    ----------
    startprob : ndarray of shape (n_components,)
    transmat : ndarray of shape (n_components, n_components)
    """
    startprob = np.asarray(startprob, dtype=np.float64)
    edges = np.asarray(transmat, dtype=np.float64) > STATE_FLOOR
    reached = startprob > STATE_FLOOR
    while True:
        more = reached | edges[reached].any(axis=0)
        if np.array_equal(more, reached):
            break
        reached = more
    return [
        f"state {j} is never visited: no sequence starts in it and no visited state moves to "
        "it (its expected occupancy is zero); fewer states may do"
        for j in np.flatnonzero(~reached)
    ]
