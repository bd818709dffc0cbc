"""``emkit fit``: fit a model to a data file, print its summary and write a model file.

Mixtures and k-means read their data file a chunk at a time (a row source,
:func:`emkit.open_data`): a pass checks it, the fit reads it once per E-step, and the
summary scores it in one more pass, so that memory holds a chunk and the sample that
initialisation draws, never the file. Hidden Markov models with a sequence column are
fitted the same way, a chunk of whole sequences at a time, and so is their summary scored.
Without a sequence column the table is one sequence, read whole.

Ctrl-C during the fit stops it at its last whole point (:func:`emkit.fit_em`): the model
file is then written with the best parameters so far, the summary says where the fit
stopped, and the command exits with status 130.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emkit.cli import models
from emkit.cli.data import (
    check_data,
    open_sequences,
    open_source,
    read_sequences,
    scan_sequences,
    scan_source,
    takes_missing,
)
from emkit.cli.errors import (
    EXIT_INTERRUPTED,
    PROG,
    CommandError,
    in_file_terms,
    speaking,
    warn,
    with_options,
)
from emkit.cli.options import DETERMINISTIC_STARTS, GENERAL, build_estimator, option_names
from emkit.cli.parser import MODEL_SUFFIX
from emkit.cli.progress import FitProgress, wanted
from emkit.cli.summary import Interruption, Restarts, count, fit_summary, quote

__all__ = ["print_warnings", "run", "says_interrupted"]

# What the driver's warning of a fit that Ctrl-C stopped says (emkit.core.driver.fit_em).
_INTERRUPTED = "interrupted (Ctrl-C)"
# The characters that make DATA a pattern of Parquet files (emkit.open_data).
_PATTERN = "*?["


def run(args: argparse.Namespace) -> int | None:
    """Fit, summarise and save; returns 130 when Ctrl-C stopped the fit (None otherwise)."""
    from emkit.core.batches import DEFAULT_CHUNK_SIZE
    from emkit.estimators.description import description_of
    from emkit.io.model_file import check_writable

    model = models.load(args.model, args.emission)
    estimator = build_estimator(args, model)
    face = description_of(estimator)
    names = option_names(model)
    params = estimator.get_params(deep=False)
    chunk_size = int(params.get("chunk_size") or DEFAULT_CHUNK_SIZE)
    output = args.output or _default_output(args.data)
    # A save that cannot succeed is reported now, not after a long fit.
    check_writable(output)
    lengths = None
    refusal: ValueError | None = None
    data: Any
    if face.kind == "hmm" and args.sequence_column is None:
        table, lengths = read_sequences(
            args.data, args.columns, None, args.delimiter, takes_missing(estimator)
        )
        data, columns, n = table.values, table.columns, table.values.shape[0]
    elif face.kind == "hmm":
        opened = open_sequences(args.data, args.columns, args.sequence_column, args.delimiter)
        sequences = scan_sequences(estimator, opened, chunk_size)
        data, columns, n = opened.source, opened.columns, sequences.n_rows
        lengths, refusal = sequences.lengths, sequences.refusal
    else:
        opened = open_source(args.data, args.columns, args.delimiter)
        scan = scan_source(estimator, opened, chunk_size)
        data, columns, n, refusal = opened.source, opened.columns, scan.n_rows, scan.refusal
    k = args.components
    if n < k:
        raise CommandError(
            f"{quote(args.data)} has {count(n, 'sample')}, fewer "
            f"than the {count(k, face.unit)} asked for"
        )
    if face.kind in ("mixture", "variational") and n < 2:
        title = face.title_of(estimator)
        article = "an" if title[0] in "aeiou" else "a"
        raise CommandError(f"{quote(args.data)} has 1 sample; {article} {title} needs at least 2")

    extra = (lengths,) if face.kind == "hmm" and isinstance(data, np.ndarray) else ()
    progress = FitProgress(
        int(params.get("n_init", 1)),
        _max_iter(params),
        show=wanted(args.progress, args.quiet, sys.stderr),
    )
    with warnings.catch_warnings(record=True) as caught, speaking(names, columns, args.data):
        warnings.simplefilter("always")
        if refusal is not None:
            raise refusal
        if isinstance(data, np.ndarray):
            check_data(estimator, data)
        with progress:
            estimator.fit(data, *extra)
    restarts = Restarts(
        # Totals over the data, as the summary prints them.
        np.asarray(estimator.restart_lower_bounds_) * n,
        deterministic=getattr(estimator, "init_params", None) in DETERMINISTIC_STARTS,
    )
    interrupted = None
    if any(says_interrupted(warning) for warning in caught):
        where = progress.interruption()
        # The driver keeps a point only after the callback has seen it.
        assert where is not None
        interrupted = Interruption(*where)
        # Saved before the summary's pass over the data, which a second Ctrl-C may cut short.
        print_warnings(caught, names, columns)
        _save(estimator, columns, output)
        print(f"{PROG}: interrupted: the model so far is written to {output}", file=sys.stderr)
    with warnings.catch_warnings(record=True) as scoring, speaking(names, columns, args.data):
        warnings.simplefilter("always")
        lines = (
            []
            if args.quiet
            else fit_summary(
                estimator,
                data,
                columns,
                args.data,
                restarts,
                lengths,
                args.sequence_column,
                chunk_size=chunk_size,
                interrupted=interrupted,
            )
        )
    print_warnings([*caught, *scoring], names, columns)
    if interrupted is None:
        _save(estimator, columns, output)
    if not args.quiet:
        lines.append(f"model written to {output}")
        print("\n".join(lines))
    return None if interrupted is None else EXIT_INTERRUPTED


def _default_output(data: str) -> str:
    """The model file of ``data`` without -o: ``<stem>.emkit`` in the current directory; for
    a pattern of Parquet files, named after their folder."""
    path = Path(data)
    if path.exists() or not any(char in path.name for char in _PATTERN):
        return path.stem + MODEL_SUFFIX
    folder = path.parent.resolve().name
    if not folder or any(char in folder for char in _PATTERN):
        raise CommandError(f"{quote(data)} is a pattern of files: name the model file with -o")
    return folder + MODEL_SUFFIX


def _max_iter(params: dict[str, Any]) -> int:
    """The most iterations of one restart, by the parameter that ``--max-iter`` sets."""
    (general,) = [g for g in GENERAL if g.dest == "max_iter"]
    return int(next(params[name] for name in general.names if name in params))


def says_interrupted(warning: warnings.WarningMessage) -> bool:
    """Whether ``warning`` is the driver's of a fit that Ctrl-C stopped."""
    from emkit.exceptions import ConvergenceWarning

    return issubclass(warning.category, ConvergenceWarning) and _INTERRUPTED in str(warning.message)


def print_warnings(
    caught: list[warnings.WarningMessage], names: dict[str, str], columns: Sequence[str]
) -> None:
    """Print the warnings of ``caught`` in the command line's words, and forget them."""
    for warning in caught:
        if not issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            warn(in_file_terms(with_options(str(warning.message), names), columns))
    caught.clear()


def _save(estimator: Any, columns: Sequence[str], output: str) -> None:
    # Stored so that 'emkit predict' can pick the same columns out of other data files.
    estimator.feature_names_in_ = np.asarray(columns, dtype=object)
    estimator.save(output)
