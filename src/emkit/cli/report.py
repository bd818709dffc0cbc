"""``emkit report``: a model file (and its data) as one self-contained HTML report.

The page is :func:`emkit.report.build_report`'s: figures embedded, no network. DATA is read
as ``emkit predict`` reads it (the model's columns, by name or position; the sequences of a
hidden Markov model by ``--sequence-column``); ``--selection`` adds the BIC and ICL plot of
the table that ``emkit select --output`` wrote for the model ``emkit select --save`` wrote.

Only the standard library is imported with this module, so that the parser can declare the
command (:func:`add_command`) without importing emkit's estimators.
"""

from __future__ import annotations

import argparse
import csv
import math
import pathlib
import warnings
from typing import Any

__all__ = ["add_command", "run"]

REPORT_SUFFIX = ".html"
# The columns of the table of 'emkit select --output' that the plot reads.
_SELECTION_COLUMNS = ("covariance_type", "n_components", "bic", "icl")


def add_command(commands: Any) -> None:
    """Declare ``emkit report`` among the subcommands ``commands``."""
    from emkit.cli.parser import _add_delimiter

    report = commands.add_parser(
        "report",
        help="write an HTML report of a model file, with plots of its data",
        description="Write one self-contained HTML file (figures embedded as PNG images, no "
        "network needed) about the model of MODEL: its summary, the bound against the "
        "iterations, the transition matrix of a hidden Markov model, the top words of a "
        "topic model, its diagnostics when the file holds them; with DATA (read as 'emkit "
        "predict' reads it) the data in two dimensions coloured by component with the "
        "uncertainty of the classification and the components' ellipses, the components' "
        "sizes, or a hidden Markov model's posterior state strips; with --selection, the "
        "BIC and ICL of every candidate of 'emkit select'. The report lists the plots it "
        "could not make and why. Figures need matplotlib (pip install 'emkit[report]').",
    )
    report.add_argument(
        "model", metavar="MODEL", help="model file written by 'emkit fit', 'select' or 'topics'"
    )
    report.add_argument(
        "data",
        metavar="DATA",
        nargs="?",
        help="data file to plot with the model, one row per sample (usually its training data)",
    )
    report.add_argument(
        "-o",
        "--output",
        metavar="REPORT",
        help=f"HTML file to write, whole or not at all (default: <MODEL stem>{REPORT_SUFFIX} "
        "in the current directory)",
    )
    report.add_argument(
        "--sequence-column",
        metavar="COLUMN",
        help="column of sequence ids of DATA, for a hidden Markov model (default: the whole "
        "table is one sequence)",
    )
    report.add_argument(
        "--selection",
        metavar="TABLE.csv",
        help="the table of candidates written by 'emkit select --output', for the BIC and ICL "
        "plot; MODEL must be the model it chose ('emkit select --save')",
    )
    report.add_argument("--title", metavar="TEXT", help="the report's title")
    _add_delimiter(report)
    report.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")


def run(args: argparse.Namespace) -> None:
    from emkit import load
    from emkit.cli.errors import CommandError, warn
    from emkit.cli.models import import_all
    from emkit.cli.summary import quote
    from emkit.estimators.description import description_of
    from emkit.report import plots
    from emkit.report.content import page_of
    from emkit.report.html import render, write_text

    output = args.output or pathlib.Path(args.model).stem + REPORT_SUFFIX
    _check_output(output, [args.model] + ([args.data] if args.data else []))
    # The registered models' faces and families, so that their model files can be read.
    import_all()
    estimator = load(args.model)
    try:
        kind = description_of(estimator).kind
    except TypeError:
        kind = None
    name = type(estimator).__name__
    if args.sequence_column is not None and kind != "hmm":
        raise CommandError(
            f"--sequence-column applies to hidden Markov models only; {quote(args.model)} "
            f"holds a {name}"
        )
    if args.data is not None and kind not in ("mixture", "variational", "clustering", "hmm"):
        raise CommandError(
            f"DATA applies to mixtures, clusterings and hidden Markov models; "
            f"{quote(args.model)} holds a {name}, whose report needs no data"
        )
    if args.data is None and args.delimiter is not None:
        raise CommandError("--delimiter applies to DATA, which is not given")
    selection = (
        None if args.selection is None else _selection(args.selection, estimator, args.model)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # DATA's columns are matched to the model's by name here, and the model is then
        # given plain arrays; the model keeps its names for the axes of the report.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        X, lengths = (None, None) if args.data is None else _data(estimator, kind, args)
        page = page_of(
            estimator, X, lengths=lengths, title=args.title, selection=selection, from_file=True
        )
    for warning in caught:
        if not issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            warn(str(warning.message))
    missing = plots.matplotlib_missing()
    if missing is not None:
        warn(f"the report has no figures: {missing}")
    write_text(render(page), output)
    if not args.quiet:
        print(f"report written to {output}")


def _check_output(output: str, inputs: list[str]) -> None:
    """Refuse a report that would overwrite its own input, or go to a folder that does not
    exist, before anything is read."""
    from emkit.cli.errors import CommandError
    from emkit.cli.summary import quote

    target = pathlib.Path(output).resolve()
    for given in inputs:
        if pathlib.Path(given).resolve() == target:
            raise CommandError(f"-o {quote(output)} would overwrite the input {quote(given)}")
    if target.is_dir():
        raise CommandError(f"-o {quote(output)} is a folder; name the HTML file to write")
    if not target.parent.is_dir():
        raise CommandError(
            f"-o {quote(output)}: the folder {quote(str(target.parent))} does not exist"
        )


def _data(estimator: Any, kind: str | None, args: argparse.Namespace) -> tuple[Any, Any]:
    """The rows of DATA the model reads (and for a hidden Markov model the lengths of its
    sequences), checked as the model's data, with errors in the file's terms."""
    import numpy as np

    from emkit.cli.data import (
        check_data,
        open_sequences_for_model,
        read_for_model,
        refuse_missing,
        sequence_chunks,
        takes_missing,
        with_ids,
    )
    from emkit.cli.errors import speaking
    from emkit.cli.summary import model_columns

    columns = model_columns(estimator)
    lengths = None
    if kind == "hmm" and args.sequence_column is not None:
        opened = open_sequences_for_model(
            estimator, args.data, args.sequence_column, args.delimiter
        )
        chunks = list(sequence_chunks(opened, 1 << 16))
        X = np.concatenate([seqs.X for seqs, _ in chunks])
        lengths = np.concatenate([seqs.lengths for seqs, _ in chunks])
        if not takes_missing(estimator) and np.isnan(X).any():
            refuse_missing(with_ids(opened))
    else:
        X = read_for_model(estimator, args.data, None, args.delimiter, takes_missing(estimator))
    with speaking({}, columns, args.data):
        check_data(estimator, X)
    return X, lengths


def _selection(path: str, estimator: Any, model: str) -> Any:
    """The candidates of the table ``path`` of 'emkit select --output', whose first row
    (the best) must be the model of MODEL."""
    from emkit.cli.errors import CommandError
    from emkit.cli.summary import quote
    from emkit.report.content import SelectionTable

    try:
        with open(path, newline="", encoding="utf-8") as stream:
            rows = list(csv.DictReader(stream))
    except UnicodeDecodeError:
        raise CommandError(f"--selection {quote(path)} is not a text table") from None
    if not rows:
        raise CommandError(f"--selection {quote(path)} holds no candidates")
    absent = [c for c in _SELECTION_COLUMNS if c not in rows[0]]
    if absent:
        raise CommandError(
            f"--selection {quote(path)} has no column {absent[0]!r}: expected the table "
            "written by 'emkit select --output'"
        )
    records = []
    for line, row in enumerate(rows, start=2):
        try:
            records.append(
                {
                    "covariance_type": row["covariance_type"],
                    "n_components": int(row["n_components"]),
                    "bic": float(row["bic"] or math.nan),
                    "icl": float(row["icl"] or math.nan),
                }
            )
        except (TypeError, ValueError):
            raise CommandError(
                f"--selection {quote(path)}, line {line}: expected a number of components and "
                "BIC and ICL values"
            ) from None
    best = (records[0]["covariance_type"], records[0]["n_components"])
    params = estimator.get_params()
    held = (params.get("covariance_type"), params.get("n_components"))
    if held != best:
        raise CommandError(
            f"--selection {quote(path)} chose {best[0]} with {best[1]} components, but "
            f"{quote(model)} holds {_held(estimator, held)}: give the model that 'emkit "
            "select --save' wrote with this table"
        )
    return SelectionTable(records, best, None)


def _held(estimator: Any, held: tuple[Any, Any]) -> str:
    if held[0] is None:
        return f"a {type(estimator).__name__}"
    return f"{held[0]} with {held[1]} components"
