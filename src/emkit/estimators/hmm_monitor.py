"""How a hidden Markov model fit decides that it has converged: hmmlearn's
``ConvergenceMonitor``, fed by the shared EM driver.

The EM loop stays the driver's (:func:`emkit.core.driver.fit_em`); :class:`MonitorFeed` is the
callback that reports every iteration to the monitor the estimator holds in ``monitor_`` and
ends the run when the monitor says so. A subclass of :class:`ConvergenceMonitor` that
redefines ``converged`` therefore changes when a fit stops, as it does in hmmlearn.
"""

from __future__ import annotations

import logging
import math
import sys
from collections import deque
from typing import Any

import numpy as np

from emkit.core.driver import ROUNDOFF, EMResult, IterationInfo

# hmmlearn's monitor gives its notice of a falling objective through the logging system.
_log = logging.getLogger(__name__)


class ConvergenceMonitor:
    """Records the objective of every EM iteration, decides when EM has converged, and prints
    one line per iteration to :data:`sys.stderr` when ``verbose``; hmmlearn's
    ``ConvergenceMonitor``.

    The objective is the total (weighted) log-likelihood of the data, plus the log density
    of the priors (up to a constant) for a model with priors: what EM ascends.

    Parameters
    ----------
    tol : float
        EM has converged when the objective gains less than ``tol`` between two iterations
        (``-inf``: never, so that a fit runs exactly ``n_iter`` iterations).
    n_iter : int
        Iterations after which EM counts as converged in any case.
    verbose : bool
        Whether :meth:`report` prints the iteration, the objective and its change.

    Attributes
    ----------
    history : collections.deque of float
        The objective of the parameters before every iteration so far, oldest first.
    iter : int
        Iterations reported so far.

    Examples
    --------
    A subclass that stops once the objective reaches a threshold, installed before ``fit``:

    >>> from emkit import hmm
    >>> class ThresholdMonitor(hmm.ConvergenceMonitor):
    ...     @property
    ...     def converged(self):
    ...         return self.iter == self.n_iter or self.history[-1] >= self.tol
    >>> model = hmm.GaussianHMM(n_components=2, tol=5)
    >>> model.monitor_ = ThresholdMonitor(model.monitor_.tol, model.monitor_.n_iter,
    ...                                   model.monitor_.verbose)
    """

    _line = "{:>10d} {:>16.8f} {:>+16.8f}"

    def __init__(self, tol: float, n_iter: int, verbose: bool) -> None:
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history: deque[float] = deque()
        self.iter = 0

    def __repr__(self) -> str:
        fields = {
            "history": list(self.history),
            "iter": self.iter,
            "n_iter": self.n_iter,
            "tol": self.tol,
            "verbose": self.verbose,
        }
        inner = ", ".join(f"{name}={value!r}" for name, value in fields.items())
        return f"{type(self).__name__}({inner})"

    def _reset(self) -> None:
        """Forget the iterations of an earlier fit (called when a fit starts)."""
        self.iter = 0
        self.history.clear()

    def report(self, log_prob: float) -> None:
        """Record the objective of one more iteration, and print it when ``verbose``.

        An objective below the previous one by more than round-off (EM never lowers it) is
        logged as a warning, as hmmlearn does.

        Parameters
        ----------
        log_prob : float
            The objective of the parameters the iteration started from.
        """
        change = log_prob - self.history[-1] if self.history else math.nan
        if self.verbose:
            print(self._line.format(self.iter + 1, log_prob, change), file=sys.stderr)
        if change < -ROUNDOFF * max(1.0, abs(log_prob)):
            _log.warning(
                "Model is not converging: the objective %r of iteration %d is below the "
                "previous one, %r, by %.3g",
                log_prob,
                self.iter + 1,
                self.history[-1],
                -change,
            )
        self.history.append(log_prob)
        self.iter += 1

    @property
    def converged(self) -> bool:
        """Whether EM should stop: ``n_iter`` iterations done, or the last one gained less
        than ``tol``."""
        if self.iter == self.n_iter:
            return True
        return len(self.history) >= 2 and self.history[-1] - self.history[-2] < self.tol


class MonitorFeed:
    """The driver's callback that reports a fit's iterations to a monitor, as hmmlearn's EM
    loop does, and ends a run when the monitor's ``converged`` says so.

    After its M-step ``i`` hmmlearn reports the objective of the parameters the step
    started from (the E-step that fed it), then asks the monitor. The driver's callback
    after M-step ``i`` holds the objective of the new parameters, so the feed reports the
    one it kept from the call before: the same history, and the same number of iterations,
    as hmmlearn from the same start.

    Parameters
    ----------
    monitor : ConvergenceMonitor
        The monitor the estimator holds (any object with ``_reset``, ``report`` and
        ``converged``).
    total : float or None
        Number of samples (or sum of their weights): the driver's bounds are per sample.
        None when it is not known before the fit (the rows of a file are counted by its
        first pass): the weight the first E-step read is taken.

    Under SQUAREM the driver also records accepted extrapolations, whose change says
    nothing about the distance to a fixed point: the monitor is asked only after the
    changes made by EM steps (``IterationInfo.em_step``).
    """

    def __init__(self, monitor: Any, total: float | None) -> None:
        self.monitor = monitor
        self.total = total
        self.histories: list[list[float]] = []
        self._before = math.nan
        self._before_em_step = True

    def __call__(self, info: IterationInfo) -> bool:
        if self.total is None:
            self.total = float(info.weight)
        objective = info.lower_bound * self.total
        if info.n_iter == 0:
            # A run (one restart) begins.
            self.monitor._reset()
            self.histories.append([])
            self._before, self._before_em_step = objective, True
            return False
        reported, self._before = self._before, objective
        self.monitor.report(reported)
        self.histories[-1].append(reported)
        # The change just reported is the one the previous point made.
        made_by_em_step, self._before_em_step = self._before_em_step, info.em_step
        return made_by_em_step and bool(self.monitor.converged)

    def finish(self, result: EMResult) -> list[float]:
        """Bring the monitor to the best run's history and return that history.

        A run that ends at a fixed point (an M-step returned its input) ends without the
        callback of that step; its report is made here, so that the monitor holds one
        entry per iteration. With several restarts the monitor is left with the best one's.
        """
        history = self.histories[result.best_run]
        last_run = result.best_run == len(self.histories) - 1
        assert self.total is not None, "the feed has seen no E-step"
        bounds = np.asarray(result.lower_bounds) * self.total
        while len(history) < result.n_iter:
            value = float(bounds[len(history)])
            history.append(value)
            if last_run:
                self.monitor.report(value)
        if not last_run:
            self.monitor._reset()
            self.monitor.history.extend(history)
            self.monitor.iter = len(history)
        return history
