"""``emkit impute``: the rows of a data file with their missing cells filled in by a fitted
mixture, as a table of the model's columns.

Every missing cell (an empty or NA cell of a CSV file, a Parquet null, a NaN) becomes its
conditional expectation given the row's observed cells (``impute`` of the face); ``--std``
adds the conditional standard deviations. The file is read and the table written a chunk of
rows at a time. ``--imputations N`` writes N imputed copies of the data, one after another,
with a column ``imputation``: draws from the conditional distribution of the missing cells
(``sample_missing``), the file then read whole.
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

import numpy as np

from emkit.cli.chunks import rows_from, without_feature_names
from emkit.cli.data import open_for_model
from emkit.cli.errors import CommandError, in_file_terms, speaking, warn, with_options
from emkit.cli.models import import_all
from emkit.cli.output import ImputationTable, check_table_path
from emkit.cli.summary import model_columns, quote

__all__ = ["run"]


def run(args: argparse.Namespace) -> None:
    from emkit import load
    from emkit.core.batches import DEFAULT_CHUNK_SIZE
    from emkit.estimators.imputation import MixtureImputation

    import_all()
    estimator = load(args.model)
    if not isinstance(estimator, MixtureImputation):
        raise CommandError(
            f"{quote(args.model)} holds a {type(estimator).__name__}, which cannot impute "
            "missing values; a mixture can (gmm, and the mixtures of Bernoulli, categorical, "
            "Poisson, exponential or product families)"
        )
    if args.random_state is not None and args.imputations is None:
        raise CommandError("--random-state seeds the draws of --imputations: give both")
    if args.std and args.imputations is not None:
        raise CommandError(
            "--std goes with the conditional means, --imputations with draws: choose one"
        )
    columns = model_columns(estimator)
    if args.output:
        check_table_path(args.output)
    table = ImputationTable(
        args.output, columns, std=args.std, imputations=args.imputations is not None
    )
    chunk_size = int(
        args.chunk_size or estimator.get_params().get("chunk_size") or DEFAULT_CHUNK_SIZE
    )
    opened = open_for_model(estimator, args.data, args.delimiter)
    with (
        without_feature_names(estimator),
        warnings.catch_warnings(record=True) as caught,
        table,
    ):
        warnings.simplefilter("always")
        if args.imputations is None:
            _impute_chunks(estimator, opened, args, columns, table, chunk_size)
        else:
            _draw(estimator, opened, args, columns, table, chunk_size)
    for warning in caught:
        if not issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            warn(in_file_terms(with_options(str(warning.message), {}), columns))


def _refusal(estimator: Any, exc: TypeError) -> CommandError:
    """A family that cannot impute, in the command line's words."""
    return CommandError(f"the {type(estimator).__name__} cannot impute: {exc}")


def _impute_chunks(
    estimator: Any,
    opened: Any,
    args: argparse.Namespace,
    columns: tuple[str, ...],
    table: ImputationTable,
    chunk_size: int,
) -> None:
    """The conditional means (and standard deviations) of the file's rows, a chunk at a
    time, each written before the next is read."""
    offset = 0
    for rows, _ in opened.source.chunks(chunk_size):
        with speaking({}, columns, args.data), rows_from(offset):
            try:
                result = estimator.impute(rows, return_std=args.std)
            except TypeError as exc:
                raise _refusal(estimator, exc) from None
        values, std = result if args.std else (result, None)
        table.write(values, std)
        offset += rows.shape[0]


def _draw(
    estimator: Any,
    opened: Any,
    args: argparse.Namespace,
    columns: tuple[str, ...],
    table: ImputationTable,
    chunk_size: int,
) -> None:
    """``--imputations`` copies of the whole file, drawn at once (the draws of
    ``sample_missing(X, N, random_state=S)``), written a copy at a time."""
    X = np.concatenate([rows for rows, _ in opened.source.chunks(chunk_size)])
    with speaking({}, columns, args.data):
        try:
            copies = estimator.sample_missing(X, args.imputations, random_state=args.random_state)
        except TypeError as exc:
            raise _refusal(estimator, exc) from None
    for j, copy in enumerate(copies):
        for start in range(0, copy.shape[0], chunk_size):
            table.write(copy[start : start + chunk_size], imputation=j)
