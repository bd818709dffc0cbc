"""Warnings and errors that emkit raises."""

from __future__ import annotations

from sklearn.exceptions import ConvergenceWarning, NotFittedError

__all__ = ["ConvergenceWarning", "MonotonicityWarning", "NotFittedError"]


class MonotonicityWarning(UserWarning):
    """The EM bound decreased between two iterations by more than round-off.

    An exact EM iteration never lowers the bound, so a decrease points to a bug in a model's
    E- or M-step, or to numerical breakdown; the driver records every decrease in
    :attr:`emkit.core.driver.EMResult.decreases`.
    """
