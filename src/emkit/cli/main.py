"""The ``emkit`` command line: fit a model to a data file, predict with it, describe it.

::

    emkit fit DATA --model MODEL --components K [-o MODEL] [options] [--PARAMETER VALUE ...]
    emkit fit DATA --model hmm --components K [--sequence-column COLUMN]
              [--emission EMISSION] [-o MODEL] [options] [--PARAMETER VALUE ...]
    emkit select DATA [--components 1-9] [--covariance-types EII,VVV,...]
              [--criterion bic|icl|aic] [--output TABLE.csv] [--save MODEL] [options]
    emkit predict MODEL DATA [--sequence-column COLUMN] [-o OUT.csv|OUT.parquet] [--proba]
              [--keep-columns] [--chunk-size N]
    emkit impute MODEL DATA [-o OUT.csv|OUT.parquet] [--std] [--imputations N
              --random-state S] [--chunk-size N]
    emkit topics CORPUS --topics K [--model lda|plsa|unigrams] [-o MODEL] [--column NAME]
              [--test-size T] [--top-words N] [vocabulary and model options]
    emkit predict MODEL CORPUS [--texts] [--column NAME] [-o OUT.csv|OUT.parquet]
    emkit report MODEL [DATA] [-o REPORT.html] [--sequence-column COLUMN]
              [--selection TABLE.csv] [--title TEXT]
    emkit info MODEL
    emkit models [MODEL] [--emission EMISSION]

Each command is a module of :mod:`emkit.cli` (:mod:`~emkit.cli.fit`,
:mod:`~emkit.cli.select`, :mod:`~emkit.cli.predict`, :mod:`~emkit.cli.impute`,
:mod:`~emkit.cli.topics`, :mod:`~emkit.cli.report`, :mod:`~emkit.cli.info`,
:mod:`~emkit.cli.models`) with a function ``run(args)``, imported when the command runs;
:mod:`~emkit.cli.parser` reads the arguments. The command line knows no model by name (but
``emkit select``, which fits Gaussian mixtures, and ``emkit topics``, which names its topic
models): the models are entry points (:mod:`~emkit.cli.models`), their options the
parameters their faces declare (:mod:`~emkit.cli.options`), their summaries what the faces
and families describe (:mod:`emkit.estimators.description`); :mod:`~emkit.cli.data` reads
data, :mod:`~emkit.cli.summary` prints, :mod:`~emkit.cli.output` writes tables and
:mod:`~emkit.cli.progress` shows the progress of a fit.

Every failure a user can cause (unreadable or invalid data, bad options, a corrupt model file,
a model that does not match the data, a fit the data cannot support, a file that cannot be
written) is reported as one line, ``emkit: error: <message>``, on standard error with exit
status 2, the status argparse uses for usage errors; Ctrl-C gives ``emkit: error:
interrupted`` and status 130, but for a fit that it stops: ``emkit fit`` then writes the model
so far, prints its summary and exits with status 130 too.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from emkit.cli.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    CommandError,
    describe_os_error,
    one_line,
    report,
    with_options,
)
from emkit.cli.parser import build_parser, parse_arguments

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the ``emkit`` command line with ``argv`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 for a usage error or an expected failure, 130 when
        interrupted.
    """
    try:
        parser = build_parser()
        try:
            args = parse_arguments(parser, sys.argv[1:] if argv is None else argv)
        except SystemExit as exc:  # --help, --version and usage errors
            return exc.code if isinstance(exc.code, int) else EXIT_ERROR
        return _run(args)
    except KeyboardInterrupt:
        report("interrupted")
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    command = importlib.import_module(f"emkit.cli.{args.command}")
    try:
        # A command returns a status of its own when it ends otherwise than in success: 130
        # for a fit that Ctrl-C stopped, whose model it still wrote.
        status = command.run(args)
    except CommandError as exc:
        return report(one_line(str(exc)))
    except (ValueError, ArithmeticError) as exc:
        # Data the reader refuses, model files, and fits the data cannot support (singular
        # covariances, overflow): ValueError, numpy's LinAlgError, FloatingPointError.
        return report(_message(exc))
    except BrokenPipeError:
        # The reader of our output went away (``emkit predict ... | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:
        return report(one_line(describe_os_error(exc)))
    except MemoryError:
        return report("not enough memory for this data and model")
    return 0 if status is None else int(status)


def _message(exc: Exception) -> str:
    from numpy.linalg import LinAlgError

    # The commands name the options of the hyperparameters they set (emkit.cli.errors.speaking);
    # hints to raise reg_covar that remain refer to no option.
    message = with_options(one_line(str(exc)), {})
    delimiter = getattr(exc, "delimiter", None)
    if delimiter is not None:
        message += f": use --delimiter {delimiter!r}"
    if isinstance(exc, (ArithmeticError, LinAlgError)):
        message = f"the fit failed: {message}"
    return message


if __name__ == "__main__":
    sys.exit(main())
