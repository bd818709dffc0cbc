"""How the command line reports what went wrong: one line, ``emkit: error: <message>``."""

from __future__ import annotations

import os
import re
import sys

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "PROG", "CommandError", "report", "warn"]

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


_REG_COVAR = re.compile(r"\breg_covar\b")
# The estimators' hints to raise reg_covar, for models without the option on the command line.
_REG_COVAR_HINTS = re.compile(
    r" \(try a larger reg_covar\)| increase reg_covar,|,? increase reg_covar"
)


def with_options(message: str, option: str | None) -> str:
    """An estimator's message with its hyperparameter ``reg_covar`` named as the command line's
    ``option``, or its hints to raise it left out where the model has no such option."""
    if option is None:
        return _REG_COVAR_HINTS.sub("", message)
    return _REG_COVAR.sub(option, message)


def one_line(message: str) -> str:
    """``message`` on one line: an error line has no line breaks."""
    return " ".join(message.split())
