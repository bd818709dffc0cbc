"""Online (stepwise) EM: an M-step after every mini-batch.

Stepwise EM (Sato and Ishii 2000; Cappé and Moulines 2009; Liang and Klein 2009) keeps a
running average of the statistics per unit of weight: after batch ``t`` of weight ``n_t``
with statistics ``s_t`` (its E-step under the current parameters),

    S_t = (1 - rho_t) S_(t-1) + rho_t s_t / n_t,    rho_t = (learning_offset + t)^-learning_decay

(``S_1 = s_1 / n_1``), and the parameters are the M-step of ``N S_t``, ``N`` the weight of
the data (that seen so far during the first pass). With ``0.5 < learning_decay <= 1`` the
steps satisfy Robbins and Monro's conditions and the parameters converge to a fixed point of
EM. Statistics computed under different parameters are added through their reference points
(:class:`emkit.core.stats.Additive`), so centred moments stay exact. The bound is not
monotone: each batch is scored under the parameters before its own step.

The names and defaults are those of scikit-learn's ``LatentDirichletAllocation``
(``batch_size``, ``learning_decay``, ``learning_offset``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

from emkit.core.stats import scale


@dataclass(frozen=True)
class OnlineEM:
    """The schedule of online EM.

    Parameters
    ----------
    batch_size : int, default=1024
        Rows per mini-batch (sequence data: at most that many rows of whole sequences).
    learning_decay : float, default=0.7
        ``kappa`` in ``rho_t = (tau_0 + t)^-kappa``; in (0.5, 1] for convergence.
    learning_offset : float, default=10.0
        ``tau_0 >= 0``: larger values weight the first batches less.
    """

    batch_size: int = 1024
    learning_decay: float = 0.7
    learning_offset: float = 10.0

    def __post_init__(self) -> None:
        size = self.batch_size
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {size!r}")
        decay = self.learning_decay
        if isinstance(decay, bool) or not (isinstance(decay, numbers.Real) and 0.5 < decay <= 1):
            raise ValueError(f"learning_decay must be in (0.5, 1], got {decay!r}")
        offset = self.learning_offset
        if isinstance(offset, bool) or not (isinstance(offset, numbers.Real) and offset >= 0):
            raise ValueError(f"learning_offset must be a number >= 0, got {offset!r}")

    def rate(self, t: int) -> float:
        """``rho_t`` of batch ``t`` (the first is 0: its statistics are taken whole)."""
        if t == 0:
            return 1.0
        return float((self.learning_offset + t) ** -self.learning_decay)


@dataclass(frozen=True)
class OnlineState:
    """Where online EM stands: the running average of the statistics per unit of weight,
    the batches taken, and the weight seen.

    Attributes
    ----------
    average : object
        ``S_t``, statistics per unit of weight (None before the first batch).
    n_batches : int
        Batches taken, ``t``.
    weight_seen : float
        Total weight of the batches taken.
    """

    average: Any = None
    n_batches: int = 0
    weight_seen: float = 0.0

    def updated(self, schedule: OnlineEM, stats: Any, weight: float) -> OnlineState:
        """The state after one more batch of ``weight`` with statistics ``stats``."""
        rho = schedule.rate(self.n_batches)
        step = scale(stats, rho / weight)
        # The newest statistics on the left: the sum is taken about their centres, the
        # current parameters', which stay near the data however far the first ones were.
        average = step if self.average is None else step + scale(self.average, 1.0 - rho)
        return OnlineState(average, self.n_batches + 1, self.weight_seen + weight)

    def statistics(self, total_weight: float) -> Any:
        """``N S_t``: the statistics the M-step takes, for data of weight ``total_weight``."""
        return scale(self.average, total_weight)
