"""The ``emkit`` command line: fit a model to a data file, predict with it, describe it.

::

    emkit fit DATA --model gmm --components K [-o MODEL] [options]
    emkit predict MODEL DATA [-o OUT.csv] [--proba]
    emkit info MODEL

Every expected failure (unreadable or invalid data, a corrupt model file, a model that does
not match the data, a fit the data cannot support) is reported as one line,
``emkit: error: <message>``, on standard error with exit status 2, the status argparse uses
for usage errors.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emkit import __version__
from emkit.estimators.base import load
from emkit.estimators.gaussian_mixture import GaussianMixture
from emkit.estimators.kmeans import KMeans
from emkit.io.readers import DataError, Table, read_table, write_table

__all__ = ["main"]

PROG = "emkit"
EXIT_ERROR = 2
MODEL_SUFFIX = ".emkit"

_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_COVARIANCE_WORDS = {"full": "full", "tied": "tied", "diag": "diagonal", "spherical": "spherical"}
_INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
_MODELS = ("gmm", "kmeans")
# Options that only the Gaussian mixture has.
_GMM_ONLY = (
    ("covariance_type", "--covariance-type"),
    ("reg_covar", "--reg-covar"),
    ("init_params", "--init-params"),
)
# Longest list of feature names spelled out in a summary line.
_MAX_NAMES_SHOWN = 8
_LABEL_WIDTH = 16


class CommandError(Exception):
    """An expected failure of a command, reported without a traceback."""


# --------------------------------------------------------------------------------------- #
# Argument parsing
# --------------------------------------------------------------------------------------- #


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to 2**32 - 1, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (np.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _column_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated column names such as 'a,b', got {text!r}"
        )
    return names


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Fit latent-variable models by Expectation-Maximization.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    fit = commands.add_parser(
        "fit",
        help="fit a model to a data file and write a model file",
        description="Fit a model to the numeric columns of DATA (.csv, .tsv, .txt, .parquet, "
        ".pq or .npy) and write it to a model file.",
    )
    fit.add_argument("data", metavar="DATA", help="data file, one row per sample")
    fit.add_argument(
        "--model",
        required=True,
        choices=_MODELS,
        help="gmm: Gaussian mixture; kmeans: k-means clustering",
    )
    fit.add_argument(
        "--components",
        "-k",
        required=True,
        type=_positive_int,
        metavar="K",
        help="number of mixture components (clusters for kmeans)",
    )
    fit.add_argument(
        "-o",
        "--output",
        metavar="MODEL",
        help=f"model file to write (default: <DATA stem>{MODEL_SUFFIX} in the current directory)",
    )
    fit.add_argument(
        "--covariance-type",
        choices=_COVARIANCE_TYPES,
        help="covariance structure of a gmm (default: full)",
    )
    fit.add_argument(
        "--n-init",
        type=_positive_int,
        metavar="N",
        help="number of initialisations; the best fit is kept (default: 1)",
    )
    fit.add_argument(
        "--max-iter",
        type=_positive_int,
        metavar="N",
        help="most EM iterations per initialisation (default: 100 for gmm, 300 for kmeans)",
    )
    fit.add_argument(
        "--tol",
        type=_non_negative_float,
        metavar="T",
        help="convergence threshold on the change of the mean log-likelihood "
        "per sample (default: 0.001 for gmm, 0.0001 for kmeans)",
    )
    fit.add_argument(
        "--reg-covar",
        type=_non_negative_float,
        metavar="R",
        help="added to the variances of a gmm at every step (default: 1e-06)",
    )
    fit.add_argument(
        "--init-params", choices=_INIT_PARAMS, help="initialisation of a gmm (default: kmeans)"
    )
    fit.add_argument(
        "--random-state",
        type=_seed,
        metavar="S",
        help="seed for a reproducible fit (default: a fresh random start)",
    )
    fit.add_argument(
        "--columns",
        type=_column_list,
        metavar="A,B,...",
        help="comma-separated names of the columns to use (default: all)",
    )
    fit.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    fit.set_defaults(handler=_fit)

    predict = commands.add_parser(
        "predict",
        help="assign samples to the components of a fitted model",
        description="Print the most probable component of every sample of DATA (and with "
        "--proba the probability of every component) as CSV.",
    )
    predict.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit'")
    predict.add_argument("data", metavar="DATA", help="data file, one row per sample")
    predict.add_argument(
        "-o", "--output", metavar="OUT.csv", help="CSV file to write (default: standard output)"
    )
    predict.add_argument(
        "--proba",
        action="store_true",
        help="add columns p0, p1, ... with the probability of every component",
    )
    predict.set_defaults(handler=_predict)

    info = commands.add_parser(
        "info",
        help="describe a model file",
        description="Print the kind, hyperparameters, fitted state and parameters of a model file.",
    )
    info.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit'")
    info.set_defaults(handler=_info)
    return parser


# --------------------------------------------------------------------------------------- #
# Entry point
# --------------------------------------------------------------------------------------- #


def main(argv: list[str] | None = None) -> int:
    """Run the ``emkit`` command line with ``argv`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 for a usage error or an expected failure.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    try:
        args.handler(args)
    except (CommandError, ValueError) as exc:
        return _error(str(exc))
    except BrokenPipeError:
        # The reader of our output went away (``emkit predict ... | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:
        return _error(_describe_os_error(exc))
    return 0


def _error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _describe_os_error(exc: OSError) -> str:
    if exc.strerror and exc.filename is not None:
        return f"{exc.strerror}: {os.fspath(exc.filename)!r}"
    return str(exc)


# --------------------------------------------------------------------------------------- #
# emkit fit
# --------------------------------------------------------------------------------------- #


def _fit(args: argparse.Namespace) -> None:
    estimator = _build_estimator(args)
    output = Path(args.output) if args.output else Path(Path(args.data).stem + MODEL_SUFFIX)
    table = read_table(args.data, columns=args.columns)
    X = table.values
    k = args.components
    if X.shape[0] < k:
        unit = "clusters" if args.model == "kmeans" else "components"
        raise CommandError(
            f"{_quote(args.data)} has {_count(X.shape[0], 'sample')}, fewer "
            f"than the {k} {unit} asked for"
        )
    if isinstance(estimator, GaussianMixture) and X.shape[0] < 2:
        raise CommandError(f"{_quote(args.data)} has 1 sample; a Gaussian mixture needs at least 2")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(X)
        lines = [] if args.quiet else _fit_summary(estimator, X, table, args.data)
    for warning in caught:
        if not issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            print(f"{PROG}: warning: {warning.message}", file=sys.stderr)

    # Stored so that 'emkit predict' can pick the same columns out of other data files.
    estimator.feature_names_in_ = np.asarray(table.columns, dtype=object)
    written = estimator.save(output)
    if not args.quiet:
        lines.append(f"model written to {_display_path(written, args.output)}")
        print("\n".join(lines))


def _build_estimator(args: argparse.Namespace) -> GaussianMixture | KMeans:
    common: dict[str, Any] = {"random_state": args.random_state}
    for name in ("n_init", "max_iter", "tol"):
        value = getattr(args, name)
        if value is not None:
            common[name] = value
    if args.model == "kmeans":
        given = [option for name, option in _GMM_ONLY if getattr(args, name) is not None]
        if given:
            raise CommandError(f"{', '.join(given)} applies to --model gmm only")
        return KMeans(n_clusters=args.components, **common)
    gmm: dict[str, Any] = {
        name: getattr(args, name) for name, _ in _GMM_ONLY if getattr(args, name) is not None
    }
    return GaussianMixture(n_components=args.components, **gmm, **common)


def _fit_summary(
    estimator: GaussianMixture | KMeans, X: np.ndarray, table: Table, data: str
) -> list[str]:
    n, d = X.shape
    lines = [
        f"{PROG} fit: {_describe_model(estimator)}",
        _field(
            "data",
            f"{data}: {_count(n, 'sample')} x {_count(d, 'feature')} ({_names(table.columns)})",
        ),
        _field("converged", _convergence(estimator)),
    ]
    if isinstance(estimator, GaussianMixture):
        mean = estimator.score(X)
        lines += [
            _field("log-likelihood", f"{mean * n:.2f} (mean per sample {_num(mean)})"),
            _field("BIC", f"{estimator.bic(X):.2f}"),
            _field("AIC", f"{estimator.aic(X):.2f}"),
            _field("parameters", str(estimator._n_parameters())),
        ]
    else:
        lines.append(
            _field(
                "inertia",
                f"{_num(estimator.inertia_)} (mean squared distance "
                f"to the nearest centre {_num(estimator.inertia_ / n)})",
            )
        )
    lines += _parameter_table(estimator, table.columns)
    return lines


# --------------------------------------------------------------------------------------- #
# emkit predict
# --------------------------------------------------------------------------------------- #


def _predict(args: argparse.Namespace) -> None:
    estimator = load(args.model)
    if args.proba and not hasattr(estimator, "predict_proba"):
        raise CommandError(
            f"--proba needs a probabilistic model; {_quote(args.model)} holds "
            f"a {type(estimator).__name__}, which assigns each sample to one "
            "cluster"
        )
    X = _read_for_model(estimator, args.data)
    # The columns are matched by name above; the estimator then sees a plain array, and
    # scikit-learn would warn that it lacks the names the model was fitted with.
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    labels = estimator.predict(X)
    columns = ["label"]
    values = labels.astype(np.float64)[:, np.newaxis]
    if args.proba:
        proba = estimator.predict_proba(X)
        columns += [f"p{j}" for j in range(proba.shape[1])]
        values = np.column_stack([values, proba])
    if args.output:
        write_table(args.output, values, columns)
    else:
        _write_csv(sys.stdout, labels, values[:, 1:], columns)


def _write_csv(stream: Any, labels: np.ndarray, proba: np.ndarray, columns: Sequence[str]) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    for label, row in zip(labels.tolist(), proba.tolist(), strict=True):
        writer.writerow([str(int(label)), *(repr(p) for p in row)])
    stream.flush()


def _default_names(d: int) -> tuple[str, ...]:
    return tuple(f"x{j}" for j in range(d))


def _read_for_model(estimator: Any, data: str) -> np.ndarray:
    """The columns of ``data`` that ``estimator`` was fitted on, in the model's order.

    Columns are picked by name when the data file has a header holding the model's columns.
    Data without a header (columns named x0, x1, ... by the reader), and models fitted
    without column names, are matched by position, and then the number of columns must
    equal the model's number of features.
    """
    d = int(estimator.n_features_in_)
    stored = getattr(estimator, "feature_names_in_", None)
    names = None if stored is None else tuple(str(name) for name in stored)
    if names is not None and len(names) != d:
        raise CommandError(
            f"{_quote(data)}: the model's column names do not match its {_count(d, 'feature')}"
        )
    by_name = names is not None and names != _default_names(d)

    selection_error: DataError | None = None
    if by_name:
        try:
            return read_table(data, columns=names).values
        except DataError as exc:
            selection_error = exc
    try:
        # Learns the layout; missing values are reported by the strict read below.
        table = read_table(data, allow_missing=True)
    except DataError:
        if selection_error is not None:
            raise selection_error from None
        raise
    m = len(table.columns)
    headerless = table.columns == _default_names(m)
    if by_name and not headerless:
        assert names is not None
        missing = [name for name in names if name not in table.columns]
        if not missing:  # every column is there: the selected read failed on their values
            assert selection_error is not None
            raise selection_error
        word = "column" if len(missing) == 1 else "columns"
        raise CommandError(
            f"{_quote(data)} lacks {word} {', '.join(map(repr, missing))} that "
            f"the model was fitted on; its columns are "
            f"{_names(table.columns, quote=True)}"
        )
    if m != d:
        fitted = f"{_count(d, 'feature')}" + (f" ({_names(names)})" if by_name else "")
        raise CommandError(
            f"the model was fitted on {fitted} but {_quote(data)} has {_count(m, 'column')}"
        )
    if np.isnan(table.values).any():
        return read_table(data).values  # raises the reader's message naming the line
    return table.values


# --------------------------------------------------------------------------------------- #
# emkit info
# --------------------------------------------------------------------------------------- #


def _info(args: argparse.Namespace) -> None:
    estimator = load(args.model)
    d = int(estimator.n_features_in_)
    columns = _model_columns(estimator)
    lines = [
        f"{PROG} info: {args.model}",
        _field("model", f"{type(estimator).__name__}: {_describe_model(estimator)}"),
        _field("features", f"{d} ({_names(columns)})"),
        _field("converged", _convergence(estimator)),
    ]
    if isinstance(estimator, GaussianMixture):
        lines += [
            _field(
                "log-likelihood", f"mean per sample {_num(estimator.lower_bound_)} (training data)"
            ),
            _field("parameters", str(estimator._n_parameters())),
        ]
    elif isinstance(estimator, KMeans):
        lines.append(_field("inertia", f"{_num(estimator.inertia_)} (training data)"))
    lines.append("hyperparameters")
    params = estimator.get_params(deep=False)
    width = max(len(name) for name in params) + 2
    lines += [f"  {name:<{width}}{_param(value)}" for name, value in params.items()]
    lines += _parameter_table(estimator, columns)
    print("\n".join(lines))


def _param(value: Any) -> str:
    if isinstance(value, (np.ndarray, list, tuple)):
        return f"array of shape {np.shape(value)}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# --------------------------------------------------------------------------------------- #
# Shared formatting
# --------------------------------------------------------------------------------------- #


def _describe_model(estimator: Any) -> str:
    if isinstance(estimator, GaussianMixture):
        words = _COVARIANCE_WORDS.get(estimator.covariance_type, estimator.covariance_type)
        return (
            f"Gaussian mixture, {_count(estimator.n_components, 'component')}, {words} covariance"
        )
    if isinstance(estimator, KMeans):
        return f"k-means, {_count(estimator.n_clusters, 'cluster')}"
    return type(estimator).__name__


def _convergence(estimator: Any) -> str:
    state = "yes" if estimator.converged_ else "no"
    text = f"{state}, after {_count(estimator.n_iter_, 'iteration')} (tol {estimator.tol:g})"
    if estimator.n_init > 1:
        text += f", best of {estimator.n_init} initialisations"
    return text


def _model_columns(estimator: Any) -> tuple[str, ...]:
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return _default_names(int(estimator.n_features_in_))
    return tuple(str(name) for name in names)


def _parameter_table(estimator: Any, columns: Sequence[str]) -> list[str]:
    if isinstance(estimator, GaussianMixture):
        header = ["component", "weight", *columns]
        rows = [
            [str(j), _num(w), *(_num(v) for v in mean)]
            for j, (w, mean) in enumerate(zip(estimator.weights_, estimator.means_, strict=True))
        ]
        return ["means by component", *_align(header, rows)]
    if isinstance(estimator, KMeans):
        header = ["cluster", *columns]
        rows = [
            [str(j), *(_num(v) for v in centre)]
            for j, centre in enumerate(estimator.cluster_centers_)
        ]
        return ["cluster centres", *_align(header, rows)]
    return []


def _align(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[j]) for row in (header, *rows)) for j in range(len(header))]
    return [
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in (header, *rows)
    ]


def _field(label: str, text: str) -> str:
    return f"{label:<{_LABEL_WIDTH}}{text}"


def _num(value: float) -> str:
    return f"{float(value):.5g}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _quote(path: str) -> str:
    return repr(os.fspath(path))


def _names(names: Sequence[str] | None, *, quote: bool = False) -> str:
    if not names:
        return ""
    shown = [repr(name) if quote else name for name in names]
    if len(shown) > _MAX_NAMES_SHOWN:
        shown = [*shown[: _MAX_NAMES_SHOWN - 1], "...", shown[-1]]
    return ", ".join(shown)


def _display_path(written: Path, given: str | None) -> str:
    return given if given else str(written.name)


if __name__ == "__main__":
    sys.exit(main())
