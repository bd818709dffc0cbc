"""``emkit predict``: the component (or state) of every row of a data file, as CSV."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from emkit.cli.data import check_data, read_for_model, read_lengths
from emkit.cli.errors import CommandError, speaking
from emkit.cli.models import import_all
from emkit.cli.summary import model_columns, quote

__all__ = ["run"]


def run(args: argparse.Namespace) -> None:
    from emkit import load
    from emkit.estimators.description import description_of

    # The registered models' faces and families, so that their model files can be read.
    import_all()
    estimator = load(args.model)
    if args.proba and not hasattr(estimator, "predict_proba"):
        raise CommandError(
            f"--proba needs a probabilistic model; {quote(args.model)} holds "
            f"a {type(estimator).__name__}, which assigns each sample to one "
            "cluster"
        )
    is_hmm = description_of(estimator).kind == "hmm"
    if args.sequence_column is not None and not is_hmm:
        raise CommandError(
            f"--sequence-column applies to hidden Markov models only; {quote(args.model)} "
            f"holds a {type(estimator).__name__}"
        )
    columns = model_columns(estimator)
    if is_hmm and args.sequence_column in columns:
        raise CommandError(
            f"the sequence column {args.sequence_column!r} is one of the columns the model "
            "was fitted on"
        )
    # Read first: a bad sequence column is reported before any mismatch of the features.
    lengths = read_lengths(args.data, args.sequence_column, args.delimiter) if is_hmm else None
    X = read_for_model(estimator, args.data, args.sequence_column, args.delimiter)
    # The columns are matched by name above; the estimator then sees a plain array, and
    # scikit-learn would warn that it lacks the names the model was fitted with.
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    extra = (lengths,) if is_hmm else ()
    with speaking({}, columns, args.data):
        check_data(estimator, X)
        labels = estimator.predict(X, *extra)
        proba = estimator.predict_proba(X, *extra) if args.proba else None
    header = ["state" if is_hmm else "label"]
    values = labels.astype(np.float64)[:, np.newaxis]
    if proba is not None:
        header += [f"p{j}" for j in range(proba.shape[1])]
        values = np.column_stack([values, proba])
    if args.output:
        from emkit.io.readers import write_table

        write_table(args.output, values, header)
    else:
        _write_csv(sys.stdout, labels, values[:, 1:], header)


def _write_csv(stream: Any, labels: np.ndarray, proba: np.ndarray, header: Sequence[str]) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    for label, row in zip(labels.tolist(), proba.tolist(), strict=True):
        writer.writerow([str(int(label)), *(repr(p) for p in row)])
    stream.flush()
