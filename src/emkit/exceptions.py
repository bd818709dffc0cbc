"""Warnings and errors that emkit raises."""

from __future__ import annotations

import os
import sys
import warnings

from sklearn.exceptions import ConvergenceWarning, NotFittedError

__all__ = [
    "ConvergenceWarning",
    "DegenerateFitError",
    "ImpossibleSampleWarning",
    "MonotonicityWarning",
    "NotFittedError",
    "RegularisationWarning",
    "warn",
]


class MonotonicityWarning(UserWarning):
    """The EM bound decreased between two iterations by more than round-off.

    An exact EM iteration never lowers the bound, so a decrease points to a bug in a model's
    E- or M-step, or to numerical breakdown; the driver records every decrease in
    :attr:`emkit.core.driver.EMResult.decreases`.
    """


class RegularisationWarning(UserWarning):
    """The covariance regulariser (``reg_covar``, ``min_covar``) is of the order of the data's
    variances, so it, not the data, shapes the fitted covariances (data on a tiny scale)."""


class ImpossibleSampleWarning(UserWarning):
    """Some samples have probability zero under every component (or state) of a fitted model:
    they hold values it cannot produce, so their posterior is undefined."""


class DegenerateFitError(ValueError, FloatingPointError):
    """The bound of a fit became NaN or infinite: the data hold values the model cannot score
    in floating point, or the model degenerated (a component collapsed onto a point).

    A ValueError, since scikit-learn's conventions (and code written against them) catch
    ValueError for data a model cannot fit; a FloatingPointError too, since that is what
    went wrong in the arithmetic.
    """


def warn(message: str, category: type[Warning]) -> None:
    """Issue a warning attributed to the first caller outside emkit: the user's line, however
    deep inside emkit the cause was found (a fit, a fit_predict, a model selection grid)."""
    package = os.path.dirname(__file__) + os.sep
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
