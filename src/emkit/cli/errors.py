"""How the command line reports what went wrong: one line, ``emkit: error: <message>``."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "PROG",
    "CommandError",
    "in_file_terms",
    "report",
    "speaking",
    "warn",
    "with_options",
]

PROG = "emkit"
# argparse's status for usage errors, used for every expected failure.
EXIT_ERROR = 2
# 128 + SIGINT, what a shell reports for a program stopped by Ctrl-C.
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """An expected failure of a command, reported without a traceback."""


def report(message: str) -> int:
    """Print ``message`` as the command's error line; returns the exit status."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def describe_os_error(exc: OSError) -> str:
    """``strerror: 'path'``, or the exception's own words without its errno."""
    if exc.strerror and exc.filename is not None:
        return f"{exc.strerror}: {os.fspath(exc.filename)!r}"
    return exc.strerror or str(exc)


# The estimators' hints to raise reg_covar, for models without the option on the command line.
_REG_COVAR_HINTS = re.compile(
    r" \(try a larger reg_covar\)| increase reg_covar,|,? increase reg_covar"
)


def with_options(message: str, names: Mapping[str, str]) -> str:
    """An estimator's message with every hyperparameter of ``names`` (parameter name to
    option) named as its option; its hints to raise ``reg_covar`` are left out where the
    model has no such option."""
    if "reg_covar" not in names:
        message = _REG_COVAR_HINTS.sub("", message)
    for name, flag in names.items():
        message = re.sub(rf"(?<![\w-]){re.escape(name)}\b", flag, message)
    return message


# Positions in the estimators' messages: columns and features of the data they were given,
# numbered from 0, and rows from 0.
_COLUMN_RANGE = re.compile(r"\bcolumns (\d+)\.\.(\d+)\b")
_COLUMN_LIST = re.compile(r"\bcolumns \[(\d+(?:, \d+)*)\]")
_COLUMN = re.compile(r"\b(column|feature) (\d+)\b")
_ROW = re.compile(r"\brow (\d+)\b")


def in_file_terms(message: str, columns: Sequence[str]) -> str:
    """``message`` with the positions of the data an estimator was given named as in the
    file the command read: a column (or feature) by its name, a row as the file's data row
    (counted from 1, the header left out)."""

    def name(index: str) -> str | None:
        return repr(columns[int(index)]) if int(index) < len(columns) else None

    def span(match: re.Match[str]) -> str:
        first, last = int(match.group(1)), int(match.group(2))
        if last >= len(columns):
            return match.group(0)
        return f"columns {columns[first]!r} to {columns[last]!r}"

    def listed(match: re.Match[str]) -> str:
        named = [name(i) for i in match.group(1).split(", ")]
        return match.group(0) if None in named else f"columns {', '.join(named)}"

    def single(match: re.Match[str]) -> str:
        named = name(match.group(2))
        return match.group(0) if named is None else f"column {named}"

    message = _COLUMN_RANGE.sub(span, message)
    message = _COLUMN_LIST.sub(listed, message)
    message = _COLUMN.sub(single, message)
    return _ROW.sub(lambda match: f"data row {int(match.group(1)) + 1}", message)


@contextlib.contextmanager
def speaking(
    names: Mapping[str, str], columns: Sequence[str] | None = None, data: str | None = None
) -> Iterator[None]:
    """Make the estimators' errors raised within speak the command line's words: their
    hyperparameters as options (``names``, see :func:`with_options`), and the positions of
    the data as the columns and rows of the file ``data`` whose feature names are
    ``columns`` (a message that names a position then names the file too)."""
    try:
        yield
    except (ValueError, ArithmeticError) as exc:
        message = with_options(str(exc), names)
        if columns is not None:
            named = in_file_terms(message, columns)
            if named != message and data is not None:
                named = f"{os.fspath(data)!r}: {named}"
            message = named
        exc.args = (message,)
        raise


def one_line(message: str) -> str:
    """``message`` on one line: an error line has no line breaks."""
    return " ".join(message.split())
