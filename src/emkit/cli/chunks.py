"""Data read a chunk at a time, in the words of the whole file: the rows that the estimators'
errors and warnings name in a chunk are counted from the chunk's first row, and the commands
report them counted from the file's first row."""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["rows_from", "without_feature_names"]

# Rows as the estimators name them, from 0 (emkit.cli.errors.in_file_terms reads them so).
_ROW = re.compile(r"\brow (\d+)\b")


def _shifted(message: str, offset: int) -> str:
    return _ROW.sub(lambda match: f"row {int(match.group(1)) + offset}", message)


@contextlib.contextmanager
def rows_from(offset: int) -> Iterator[None]:
    """The errors (ValueError) and warnings raised within, about a chunk whose first row is
    row ``offset`` of the data, with their rows counted from the data's first row.

    Only the calls of an estimator on a chunk belong within: a reader's message names its
    file's rows and lines already.
    """
    with warnings.catch_warnings(record=True) as caught:
        try:
            yield
        except ValueError as exc:
            exc.args = (_shifted(str(exc), offset),)
            raise
    for warning in caught:
        warnings.warn_explicit(
            _shifted(str(warning.message), offset),
            warning.category,
            warning.filename,
            warning.lineno,
        )


@contextlib.contextmanager
def without_feature_names(estimator: Any) -> Iterator[None]:
    """``estimator`` without the column names it was fitted with, within: the command
    matches the columns by name itself and gives it plain arrays, of which scikit-learn
    would warn that they lack the names."""
    names = estimator.__dict__.pop("feature_names_in_", None)
    try:
        yield
    finally:
        if names is not None:
            estimator.feature_names_in_ = names
