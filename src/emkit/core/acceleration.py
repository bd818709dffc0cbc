"""SQUAREM: squared extrapolation of the EM map, with a monotonicity safeguard.

Varadhan & Roland (2008), "Simple and globally convergent methods for accelerating the
convergence of any EM algorithm", Scand. J. Statist. 35, scheme S3, with the step-length
adaptation of their R package ``SQUAREM``.

EM is a fixed-point iteration ``theta <- F(theta)`` (F: an E-step, then an M-step) that
converges linearly, slowly where the latent variables carry much of the information (e.g.
overlapping mixture components). SQUAREM looks at two EM steps and jumps further along the
path they trace. One cycle, from the current point ``theta0`` with bound ``L0``:

1. ``theta1 = F(theta0)``; the E-step of ``theta1`` gives its bound ``L1``.
2. ``theta2 = F(theta1)``.
3. In unconstrained coordinates ``u`` (below): ``r = u(theta1) - u(theta0)``,
   ``v = u(theta2) - u(theta1) - r``, step length ``alpha = -|r| / |v|``, clipped to
   ``[-step_max, -1]``, and the trial point ``u0 - 2 alpha r + alpha^2 v``.
4. Safeguard: the trial point is accepted only if its bound ``L'`` is finite and at least
   ``L1`` (up to a few units of round-off). Otherwise ``alpha`` moves halfway towards -1
   (``alpha <- (alpha - 1) / 2``) and the trial is repeated, at most :data:`MAX_TRIALS`
   times in all; then the cycle takes ``theta2`` itself, which is exactly the point that
   ``alpha = -1`` describes, i.e. two plain EM steps. A trial point whose parameters cannot
   be formed (``from_unconstrained`` raises ``ValueError`` or ``LinAlgError``, or returns
   non-finite values) or whose E-step fails counts as rejected.
5. ``step_max`` starts at 1 (the first cycle is plain EM) and is multiplied by
   :data:`STEP_FACTOR` whenever a cycle whose step was clipped at ``-step_max`` succeeds at
   its first trial, and divided by it (not below 1) when such a first trial is rejected.

So every accepted point has a bound at least that of one EM step from the cycle's start, the
recorded bound never decreases (beyond round-off), and the iteration converges to the same
fixed points as EM, usually in far fewer passes over the data.

What the driver records (see :class:`emkit.core.driver.EMResult`): every cycle adds two points
to the path of the run, ``theta1`` and the accepted point (the extrapolation or ``theta2``),
and counts two M-steps in ``n_iter``; ``lower_bounds`` therefore keeps ``n_iter + 1`` entries
and holds the bounds of accepted points only. Rejected trial points appear nowhere but in
``n_e_steps``, the count of every pass over the data. When fewer than two M-steps remain
before ``max_iter``, the last one is a plain EM step. The convergence rule (``tol``) looks at
the changes made by EM steps only (``L1 - L0``, and ``L2 - L1`` when the cycle falls back):
the change of an accepted extrapolation is no measure of the distance to a fixed point, since
a long jump can land at about the height it left from, on the far side of the maximum.

The model side: unconstrained coordinates
-----------------------------------------
A model opts in by providing two methods beyond the contract of
:class:`emkit.core.model.LatentModel`:

- ``to_unconstrained(params) -> ndarray`` of shape (n,), float64: coordinates in which every
  vector is a valid parameter (no positivity, simplex or definiteness constraints), so that
  extrapolation cannot leave the parameter space;
- ``from_unconstrained(vector, like) -> params``: the inverse; ``like`` holds parameters of
  the same shapes (and the values of anything the coordinates leave out, such as frozen
  parameters). It may raise ``ValueError`` or ``numpy.linalg.LinAlgError`` for a vector that
  gives no usable parameters; the cycle then falls back to plain EM.

``from_unconstrained(to_unconstrained(p), p)`` must give back ``p`` (up to round-off). The
built-in mixture uses log-weights (normalised back by a softmax) followed by its family's
coordinates; the Gaussian family uses the means as they are, the Cholesky factor of every
covariance matrix (full and tied) with its diagonal in logs, and the logs of variances
(diag and spherical).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from emkit.core.stats import as_dict

STEP_FACTOR = 4.0
"""Factor by which the largest step length grows or shrinks (``mstep`` of the R package)."""

MAX_TRIALS = 3
"""Trial points (extra E-steps) per cycle before the cycle settles for plain EM."""

ACCEPT_RTOL = 1e-13
"""A trial point is accepted when its mean bound is at least ``L1 - ACCEPT_RTOL * max(1,
|L1|)``: a few units of the round-off of a mean over many samples, far below the driver's
monotonicity threshold."""

REQUIRED_METHODS = ("to_unconstrained", "from_unconstrained")


class Path(Protocol):
    """What a cycle needs from the driver's run: the current point and its statistics, the
    M-step, and the ways to evaluate and record new points."""

    params: Any
    stats: Any
    bound: float

    @property
    def remaining(self) -> int:
        """M-steps left before ``max_iter``."""

    def m_step(self) -> Any:
        """The M-step of the current statistics: ``F`` of the current point."""

    def evaluate(self, params: Any) -> tuple[Any, float]:
        """E-step of a trial point: its statistics and mean bound (non-finite when the
        E-step fails); never raises for bad parameters."""

    def advance(
        self, params: Any, evaluated: tuple[Any, float] | None = None, *, em_step: bool = True
    ) -> bool:
        """Record ``params`` as the next point of the run (one M-step), with its E-step
        (done here unless ``evaluated`` gives it); False when the run has ended. Only the
        change made by an EM step (``em_step``) is held against ``tol``."""


def require_unconstrained(model: Any) -> None:
    """Raise TypeError unless ``model`` has both methods SQUAREM needs."""
    missing = [name for name in REQUIRED_METHODS if not callable(getattr(model, name, None))]
    if missing:
        raise TypeError(
            f"accelerate='squarem' needs a model with {' and '.join(REQUIRED_METHODS)} "
            f"(unconstrained coordinates of its parameters); {type(model).__name__} has no "
            f"{' and no '.join(missing)}"
        )


class Squarem:
    """SQUAREM cycles for one run of EM (the step-length bound adapts within the run)."""

    def __init__(self, model: Any, start: Any) -> None:
        require_unconstrained(model)
        self.model = model
        self.step_max = 1.0
        # Fail now rather than after the first EM step when the model cannot give
        # coordinates at all (e.g. a mixture whose family has none: TypeError).
        self._coordinates(start, start, start)

    def cycle(self, path: Path) -> None:
        """Advance ``path`` by one cycle: two recorded points (one when the run ends after
        the first, or when a single M-step is left)."""
        if path.remaining < 2:
            path.advance(path.m_step())
            return
        theta0 = path.params
        if not path.advance(path.m_step()):
            return
        theta1, bound1 = path.params, path.bound
        theta2 = path.m_step()
        accepted = self._extrapolate(theta0, theta1, theta2, bound1, path)
        if accepted is None:
            path.advance(theta2)
        else:
            point, evaluated = accepted
            path.advance(point, evaluated, em_step=False)

    def _extrapolate(
        self, theta0: Any, theta1: Any, theta2: Any, bound1: float, path: Path
    ) -> tuple[Any, tuple[Any, float]] | None:
        """The accepted trial point and its E-step, or None for plain EM (``theta2``)."""
        coordinates = self._coordinates(theta0, theta1, theta2)
        if coordinates is None:
            return None
        u0, r, v = coordinates
        first = alpha = self._step_length(r, v)
        capped = first <= -self.step_max
        floor = bound1 - ACCEPT_RTOL * max(1.0, abs(bound1))
        accepted, trials = None, 0
        while alpha < -1.0 and trials < MAX_TRIALS:  # at alpha = -1 the point is theta2
            trials += 1
            point = self._params(u0 - 2.0 * alpha * r + alpha * alpha * v, theta2)
            if point is not None:
                stats, bound = path.evaluate(point)
                if math.isfinite(bound) and bound >= floor:
                    accepted = (point, (stats, bound))
                    break
            alpha = (alpha - 1.0) / 2.0
        if capped:
            # theta2 (first = -1) is always acceptable: plain EM succeeds at step_max = 1.
            if first >= -1.0 or (accepted is not None and trials == 1):
                self.step_max *= STEP_FACTOR
            else:
                self.step_max = max(1.0, self.step_max / STEP_FACTOR)
        return accepted

    def _coordinates(
        self, theta0: Any, theta1: Any, theta2: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``u0``, ``r`` and ``v`` of the cycle, or None when some coordinate is not finite
        (e.g. the log of a mixture weight that has become zero)."""
        try:
            with np.errstate(all="ignore"):
                u0, u1, u2 = (
                    np.asarray(self.model.to_unconstrained(t), dtype=np.float64).ravel()
                    for t in (theta0, theta1, theta2)
                )
        except (ValueError, np.linalg.LinAlgError):
            return None
        if not (u0.shape == u1.shape == u2.shape) or not all(
            np.all(np.isfinite(u)) for u in (u0, u1, u2)
        ):
            return None
        r = u1 - u0
        return u0, r, (u2 - u1) - r

    def _step_length(self, r: np.ndarray, v: np.ndarray) -> float:
        """``-|r| / |v|`` clipped to ``[-step_max, -1]``."""
        norm_r, norm_v = float(np.linalg.norm(r)), float(np.linalg.norm(v))
        if norm_r == 0.0 or not math.isfinite(norm_r) or not math.isfinite(norm_v):
            return -1.0
        if norm_v == 0.0:  # a straight path at constant speed: go as far as allowed
            return -self.step_max
        return min(-1.0, max(-self.step_max, -norm_r / norm_v))

    def _params(self, vector: np.ndarray, like: Any) -> Any:
        """Parameters at ``vector``, or None when they cannot be formed."""
        try:
            with np.errstate(all="ignore"):
                params = self.model.from_unconstrained(vector, like)
        except (ValueError, np.linalg.LinAlgError):
            return None
        return params if _all_finite(params) else None


def _all_finite(params: Any) -> bool:
    if hasattr(params, "__dataclass_fields__"):
        values = as_dict(params).values()
    else:
        values = [np.asarray(params)]
    return all(
        np.all(np.isfinite(v)) for v in values if np.issubdtype(np.asarray(v).dtype, np.number)
    )
