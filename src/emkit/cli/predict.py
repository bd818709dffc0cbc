"""``emkit predict``: the component (or state) of every row of a data file, as a table.

Mixtures and k-means read the data file a chunk at a time and write the rows of each chunk
before they read the next (:class:`~emkit.cli.output.PredictionTable`): memory holds one
chunk. A hidden Markov model with a sequence column reads a chunk of whole sequences at a
time, decodes it and writes it before the next; without one, the table is one sequence,
read and decoded whole.

A topic model (and with ``--texts`` a face of another kind that reads texts: a mixture of
unigrams) reads a corpus of texts (:func:`~emkit.cli.data.read_texts`), its words counted
over the model's vocabulary, and writes every document's name and topic proportions
(:class:`~emkit.cli.output.TopicTable`) a chunk of documents at a time.
"""

from __future__ import annotations

import argparse
import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from emkit.cli.chunks import rows_from, without_feature_names
from emkit.cli.data import (
    Opened,
    check_data,
    open_for_model,
    open_sequences_for_model,
    read_for_model,
    read_texts,
    refuse_missing,
    sequence_chunks,
    takes_missing,
    with_ids,
)
from emkit.cli.errors import CommandError, in_file_terms, speaking, warn, with_options
from emkit.cli.models import import_all
from emkit.cli.output import PredictionTable, TopicTable, check_table_path
from emkit.cli.summary import model_columns, n_components, quote, topic_proportions

__all__ = ["run"]


def run(args: argparse.Namespace) -> None:
    from emkit import load
    from emkit.core.batches import DEFAULT_CHUNK_SIZE
    from emkit.estimators.description import description_of

    # The registered models' faces and families, so that their model files can be read.
    import_all()
    estimator = load(args.model)
    face = description_of(estimator)
    if face.kind == "topics" or args.texts or args.column is not None:
        _predict_texts(estimator, args)
        return
    if args.proba and not hasattr(estimator, "predict_proba"):
        raise CommandError(
            f"--proba needs a probabilistic model; {quote(args.model)} holds "
            f"a {type(estimator).__name__}, which assigns each sample to one "
            "cluster"
        )
    is_hmm = face.kind == "hmm"
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
    if args.output:
        check_table_path(args.output)
    table = PredictionTable(
        args.output,
        "state" if is_hmm else "label",
        columns if args.keep_columns else (),
        n_components(estimator) if args.proba else None,
    )
    chunk_size = int(
        args.chunk_size or estimator.get_params().get("chunk_size") or DEFAULT_CHUNK_SIZE
    )
    # Read first: a bad sequence column is reported before any mismatch of the features.
    data: Any
    if is_hmm and args.sequence_column is None:
        data = read_for_model(estimator, args.data, None, args.delimiter, takes_missing(estimator))
    elif is_hmm:
        data = open_sequences_for_model(estimator, args.data, args.sequence_column, args.delimiter)
    else:
        with _texts_hinted(face, args):
            data = open_for_model(estimator, args.data, args.delimiter)
    # The columns are matched by name above; the estimator then sees plain arrays, and
    # scikit-learn would warn that they lack the names it was fitted with.
    with (
        _texts_hinted(face, args),
        without_feature_names(estimator),
        warnings.catch_warnings(record=True) as caught,
        table,
    ):
        warnings.simplefilter("always")
        if isinstance(data, np.ndarray):
            _predict_sequence(estimator, data, args, columns, table, chunk_size)
        elif is_hmm:
            _predict_sequences(estimator, data, args, columns, table, chunk_size)
        else:
            _predict_chunks(estimator, data, args, columns, table, chunk_size)
    for warning in caught:
        if not issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            warn(in_file_terms(with_options(str(warning.message), {}), columns))


@contextlib.contextmanager
def _texts_hinted(face: Any, args: argparse.Namespace) -> Iterator[None]:
    """A model that reads texts as well as rows (a mixture of unigrams) refusing DATA read
    as rows says that texts need --texts."""
    try:
        yield
    except (ValueError, CommandError) as exc:
        if not face.reads_texts:
            raise
        hint = f"; if {quote(args.data)} holds texts, give --texts"
        if isinstance(exc, CommandError):
            raise CommandError(f"{exc}{hint}") from None
        exc.args = (f"{exc}{hint}",)
        raise


def _predict_chunks(
    estimator: Any,
    opened: Opened,
    args: argparse.Namespace,
    columns: tuple[str, ...],
    table: PredictionTable,
    chunk_size: int,
) -> None:
    """The rows of a data file, a chunk at a time, each written before the next is read."""
    offset = 0
    for rows, _ in opened.source.chunks(chunk_size):
        if not takes_missing(estimator) and np.isnan(rows).any():
            refuse_missing(opened)
        with speaking({}, columns, args.data), rows_from(offset):
            check_data(estimator, rows)
            labels = estimator.predict(rows)
            proba = estimator.predict_proba(rows) if args.proba else None
        table.write(offset, rows if args.keep_columns else None, labels, proba)
        offset += rows.shape[0]


def _predict_sequences(
    estimator: Any,
    opened: Opened,
    args: argparse.Namespace,
    columns: tuple[str, ...],
    table: PredictionTable,
    chunk_size: int,
) -> None:
    """The sequences of a data file, a chunk of whole sequences at a time, each decoded and
    written before the next is read."""
    offset = 0
    for seqs, _ in sequence_chunks(opened, chunk_size):
        if not takes_missing(estimator) and np.isnan(seqs.X).any():
            refuse_missing(with_ids(opened))
        with speaking({}, columns, args.data), rows_from(offset):
            check_data(estimator, seqs.X)
            labels = estimator.predict(seqs)
            proba = estimator.predict_proba(seqs) if args.proba else None
        table.write(offset, seqs.X if args.keep_columns else None, labels, proba)
        offset += seqs.shape[0]


def _predict_sequence(
    estimator: Any,
    X: np.ndarray,
    args: argparse.Namespace,
    columns: tuple[str, ...],
    table: PredictionTable,
    chunk_size: int,
) -> None:
    """The rows ``X`` of a hidden Markov model's one sequence, decoded whole, written a
    chunk of rows at a time."""
    with speaking({}, columns, args.data):
        check_data(estimator, X)
        labels = estimator.predict(X)
        proba = estimator.predict_proba(X) if args.proba else None
    for start in range(0, X.shape[0], chunk_size):
        rows = slice(start, start + chunk_size)
        table.write(
            start,
            X[rows] if args.keep_columns else None,
            labels[rows],
            None if proba is None else proba[rows],
        )


# The options of predictions of rows, which the topic proportions of texts do not take.
_ROW_OPTIONS = {
    "proba": "--proba",
    "keep_columns": "--keep-columns",
    "sequence_column": "--sequence-column",
    "delimiter": "--delimiter",
}


def _predict_texts(estimator: Any, args: argparse.Namespace) -> None:
    """The topic proportions of every document of the corpus ``args.data``, counted over
    the model's words, as a table of the documents' names and proportions."""
    from emkit.core.batches import DEFAULT_CHUNK_SIZE
    from emkit.estimators.description import description_of

    face = description_of(estimator)
    held = f"a {type(estimator).__name__}"
    if not face.reads_texts:
        flag = "--texts" if args.texts else "--column"
        raise CommandError(
            f"{flag} needs a model of texts (emkit topics); {quote(args.model)} holds {held}, "
            "which reads rows of numbers"
        )
    given = [flag for name, flag in _ROW_OPTIONS.items() if getattr(args, name)]
    if given:
        raise CommandError(
            f"{given[0]} applies to models of rows; {quote(args.model)} holds {held}, "
            "whose predictions are the topic proportions of texts"
        )
    vocabulary = getattr(estimator, "feature_names_in_", None)
    if vocabulary is None:
        raise CommandError(
            f"{quote(args.model)} holds {held} fitted to counts without their words: no "
            "vocabulary to count texts over (emkit topics keeps the corpus's)"
        )
    if args.output:
        check_table_path(args.output)
    corpus = read_texts(args.data, args.column, vocabulary=[str(word) for word in vocabulary])
    chunk_size = int(args.chunk_size or DEFAULT_CHUNK_SIZE)
    table = TopicTable(args.output, n_components(estimator))
    with warnings.catch_warnings(record=True) as caught, table:
        warnings.simplefilter("always")
        proportions = topic_proportions(estimator, corpus)
        for start in range(0, corpus.n_documents, chunk_size):
            rows = slice(start, start + chunk_size)
            table.write(corpus.names[rows], proportions[rows])
    for warning in caught:
        if not issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            warn(str(warning.message))
