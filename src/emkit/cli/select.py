"""``emkit select``: the covariance model and number of components of a Gaussian mixture, by
BIC, ICL or AIC (see :func:`emkit.select_model`)."""

from __future__ import annotations

import argparse
import csv
import warnings
from typing import Any

import numpy as np

from emkit.cli.data import check_data, read_features
from emkit.cli.errors import CommandError, speaking, warn, with_options
from emkit.cli.options import flag_of
from emkit.cli.output import check_table_path
from emkit.cli.summary import names, quote, select_summary

__all__ = ["run"]


# The options of emkit select, by the hyperparameters of select_model they set.
_NAMES = {
    name: flag_of(name)
    for name in ("n_init", "max_iter", "reg_covar", "random_state", "init_params", "n_jobs")
} | {"n_components": "--components", "covariance_types": "--covariance-types"}


def run(args: argparse.Namespace) -> None:
    from emkit import GaussianMixture
    from emkit.families.covariance import covariance_structure
    from emkit.io.model_file import check_writable
    from emkit.selection import select_model

    if args.n_init is not None and args.n_init > 1 and args.init_params == "hc":
        raise CommandError(
            "--n-init applies to --init-params kmeans, k-means++, random or random_from_data: "
            "the hierarchical start (hc, the default) is deterministic"
        )
    for name in args.covariance_types or ():
        try:
            covariance_structure(name)
        except ValueError as exc:
            raise CommandError(f"--covariance-types: {exc}") from None
    # Files that cannot be written are reported now, not after the fits.
    if args.save:
        check_writable(args.save)
    if args.output:
        check_table_path(args.output)
    table = read_features(args.data, args.columns, args.delimiter)
    X = table.values
    if X.shape[0] < 2:
        raise CommandError(f"{quote(args.data)} has 1 sample; a Gaussian mixture needs at least 2")
    options = {
        name: getattr(args, name)
        for name in ("n_init", "max_iter", "tol", "reg_covar")
        if getattr(args, name) is not None
    }
    with warnings.catch_warnings(record=True) as caught, speaking(_NAMES, table.columns, args.data):
        warnings.simplefilter("always")
        # The data the candidates' family cannot read (values too large to square) are
        # refused before any fit; select_model fits Gaussian mixtures.
        check_data(GaussianMixture(), X)
        result = select_model(
            X,
            n_components=args.components,
            covariance_types=args.covariance_types,
            criterion=args.criterion,
            random_state=args.random_state,
            init_params=args.init_params,
            n_jobs=args.n_jobs,
            **options,
        )
        lines = [] if args.quiet else select_summary(result, X, table.columns, args.data)
    for warning in caught:
        if not issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            warn(with_options(str(warning.message), _NAMES))
    if result.boundary_note is not None:
        warn(with_options(result.boundary_note, _NAMES))
    unconverged = [c for c in result.candidates if not c.failed and not c.converged]
    # With tol=0 every fit runs max_iter iterations by request, as 'emkit fit' keeps quiet.
    if unconverged and result.best_estimator_.tol > 0:
        cells = names([f"{c.covariance_type} K={c.n_components}" for c in unconverged])
        warn(
            f"{len(unconverged)} of {len(result.candidates)} candidates did not converge within "
            f"{result.best_estimator_.max_iter} iterations ({cells}); their criteria may be too "
            "low: increase --max-iter or --tol"
        )
    if args.output:
        _write_selection(args.output, result)
        lines.append(f"table written to {args.output}")
    if args.save:
        best = result.best_estimator_
        # Stored so that 'emkit predict' can pick the same columns out of other data files.
        best.feature_names_in_ = np.asarray(table.columns, dtype=object)
        best.save(args.save)
        lines.append(f"model written to {args.save}")
    if not args.quiet:
        print("\n".join(lines))


def _write_selection(path: str, result: Any) -> None:
    """The table of candidates, best first, as CSV: floats exactly, NaN for failed fits."""
    from emkit.selection import TABLE_COLUMNS

    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["rank", *TABLE_COLUMNS])
        for rank, record in enumerate(result.table(), start=1):
            cells = [str(rank)]
            for name in TABLE_COLUMNS:
                value = record[name]
                if name == "converged":
                    cells.append(str(int(value)))
                elif isinstance(value, float):
                    cells.append(repr(value))
                else:
                    cells.append("" if value is None else str(value))
            writer.writerow(cells)
