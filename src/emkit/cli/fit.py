"""``emkit fit``: fit a model to a data file, print its summary and write a model file."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

from emkit.cli import models
from emkit.cli.data import check_data, read_features, read_sequences
from emkit.cli.errors import CommandError, in_file_terms, speaking, warn, with_options
from emkit.cli.options import DETERMINISTIC_STARTS, build_estimator, option_names
from emkit.cli.parser import MODEL_SUFFIX
from emkit.cli.summary import Restarts, count, fit_summary, quote

__all__ = ["run"]


def run(args: argparse.Namespace) -> None:
    from emkit.estimators.description import description_of
    from emkit.io.model_file import check_writable

    model = models.load(args.model, args.emission)
    estimator = build_estimator(args, model)
    face = description_of(estimator)
    names = option_names(model)
    output = args.output or Path(args.data).stem + MODEL_SUFFIX
    # A save that cannot succeed is reported now, not after a long fit.
    check_writable(output)
    lengths = None
    if face.kind == "hmm":
        table, lengths = read_sequences(
            args.data, args.columns, args.sequence_column, args.delimiter
        )
    else:
        table = read_features(args.data, args.columns, args.delimiter)
    X = table.values
    k = args.components
    if X.shape[0] < k:
        raise CommandError(
            f"{quote(args.data)} has {count(X.shape[0], 'sample')}, fewer "
            f"than the {count(k, face.unit)} asked for"
        )
    if face.kind in ("mixture", "variational") and X.shape[0] < 2:
        title = face.title_of(estimator)
        article = "an" if title[0] in "aeiou" else "a"
        raise CommandError(f"{quote(args.data)} has 1 sample; {article} {title} needs at least 2")

    extra = (lengths,) if face.kind == "hmm" else ()
    with warnings.catch_warnings(record=True) as caught, speaking(names, table.columns, args.data):
        warnings.simplefilter("always")
        check_data(estimator, X)
        estimator.fit(X, *extra)
        restarts = Restarts(
            # Totals over the data, as the summary prints them.
            np.asarray(estimator.restart_lower_bounds_) * X.shape[0],
            deterministic=getattr(estimator, "init_params", None) in DETERMINISTIC_STARTS,
        )
        lines = (
            []
            if args.quiet
            else fit_summary(
                estimator, X, table.columns, args.data, restarts, lengths, args.sequence_column
            )
        )
    for warning in caught:
        if not issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            warn(in_file_terms(with_options(str(warning.message), names), table.columns))

    # Stored so that 'emkit predict' can pick the same columns out of other data files.
    estimator.feature_names_in_ = np.asarray(table.columns, dtype=object)
    estimator.save(output)
    if not args.quiet:
        lines.append(f"model written to {output}")
        print("\n".join(lines))
