"""The ``emkit`` command line: fit a model to a data file, predict with it, describe it.

::

    emkit fit DATA --model gmm|kmeans|student|bayesian-gmm --components K [-o MODEL] [options]
    emkit fit DATA --model bernoulli|categorical|multinomial|poisson|exponential
              --components K [-o MODEL] [options]
    emkit fit DATA --model hmm --components K [--sequence-column COLUMN]
              [--emission gaussian|gmm|categorical|poisson|multinomial] [-o MODEL] [options]
    emkit select DATA [--components 1-9] [--covariance-types EII,VVV,...]
              [--criterion bic|icl|aic] [--output TABLE.csv] [--save MODEL] [options]
    emkit predict MODEL DATA [--sequence-column COLUMN] [-o OUT.csv] [--proba]
    emkit info MODEL

``emkit select`` fits a Gaussian mixture for every covariance model and number of
components and picks the best by BIC, ICL or AIC, in mclust's sign convention (larger is
better; see :mod:`emkit.selection`).

Hidden Markov models read their sequences from one table: the rows of a sequence are
consecutive rows with the same value in the sequence column, in time order. Without a
sequence column the whole table is one sequence.

Every expected failure (unreadable or invalid data, a corrupt model file, a model that does
not match the data, a fit the data cannot support) is reported as one line,
``emkit: error: <message>``, on standard error with exit status 2, the status argparse uses
for usage errors.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emkit import __version__
from emkit.estimators.base import load
from emkit.estimators.bayesian_gaussian_mixture import BayesianGaussianMixture
from emkit.estimators.gaussian_mixture import GaussianMixture
from emkit.estimators.gmm_hmm import GMMHMM
from emkit.estimators.hmm import BaseHMM, CategoricalHMM, GaussianHMM, MultinomialHMM, PoissonHMM
from emkit.estimators.kmeans import KMeans
from emkit.estimators.mixtures import (
    BaseMixture,
    BernoulliMixture,
    CategoricalMixture,
    ExponentialMixture,
    MultinomialMixture,
    PoissonMixture,
)
from emkit.estimators.student_mixture import StudentMixture
from emkit.families.covariance import COVARIANCE_STRUCTURES, covariance_structure
from emkit.io.readers import DataError, Table, read_table, write_table
from emkit.selection import (
    DEFAULT_MAX_ITER,
    DEFAULT_TOL,
    TABLE_COLUMNS,
    ModelSelection,
    select_model,
)

__all__ = ["main"]

PROG = "emkit"
EXIT_ERROR = 2
MODEL_SUFFIX = ".emkit"

_COVARIANCE_TYPES = tuple(COVARIANCE_STRUCTURES)
# Hidden Markov models and the variational mixture take hmmlearn's and scikit-learn's four
# (their conjugate priors have no other form); the models, as the error names them.
_FOUR_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_FOUR_COVARIANCE_MODELS = {"hmm": "an hmm", "bayesian-gmm": "a bayesian-gmm"}
_COVARIANCE_WORDS = {"full": "full", "tied": "tied", "diag": "diagonal", "spherical": "spherical"}
_INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data", "hc")
_CRITERIA = ("bic", "icl", "aic")
_DEFAULT_COMPONENTS = "1-9"
# The mixture models of --model, and what a summary calls them.
_MIXTURES: dict[str, type[BaseMixture | BayesianGaussianMixture]] = {
    "gmm": GaussianMixture,
    "student": StudentMixture,
    "bayesian-gmm": BayesianGaussianMixture,
    "bernoulli": BernoulliMixture,
    "categorical": CategoricalMixture,
    "multinomial": MultinomialMixture,
    "poisson": PoissonMixture,
    "exponential": ExponentialMixture,
}
_MIXTURE_NAMES: dict[type, str] = {
    GaussianMixture: "Gaussian mixture",
    StudentMixture: "Student-t mixture",
    BayesianGaussianMixture: "variational Bayesian Gaussian mixture",
    BernoulliMixture: "Bernoulli mixture",
    CategoricalMixture: "categorical mixture",
    MultinomialMixture: "multinomial mixture",
    PoissonMixture: "Poisson mixture",
    ExponentialMixture: "exponential mixture",
}
_MODELS = ("gmm", "kmeans", "hmm", *(name for name in _MIXTURES if name != "gmm"))
_COVARIANCE_MODELS = ("gmm", "student", "bayesian-gmm")
_WEIGHT_PRIORS = {
    "dirichlet-process": "dirichlet_process",
    "dirichlet-distribution": "dirichlet_distribution",
}
_WEIGHT_PRIOR_WORDS = {
    "dirichlet_process": "Dirichlet process weight prior",
    "dirichlet_distribution": "Dirichlet distribution weight prior",
}
_HMM_CLASSES: dict[str, type[BaseHMM]] = {
    "gaussian": GaussianHMM,
    "gmm": GMMHMM,
    "categorical": CategoricalHMM,
    "poisson": PoissonHMM,
    "multinomial": MultinomialHMM,
}
_DEFAULT_EMISSION = "gaussian"
# The estimators' n_iter=10 follows hmmlearn, and stops most fits of real data before they
# converge; the command line gives them as many iterations as a gmm.
_HMM_MAX_ITER = 100
# Where an option that only some models take applies: the text of the error, and the test.
_SCOPES: dict[str, tuple[str, Callable[[str, str], bool]]] = {
    "mixture": (
        "the mixtures only (every --model but kmeans and hmm)",
        lambda model, emission: model in _MIXTURES,
    ),
    "covariance": (
        "--model gmm, student or bayesian-gmm only",
        lambda model, emission: model in _COVARIANCE_MODELS,
    ),
    "gaussian": (
        "--model gmm, student or bayesian-gmm only (and to --model hmm with --emission "
        "gaussian or gmm)",
        lambda model, emission: (
            model in _COVARIANCE_MODELS or (model == "hmm" and emission in ("gaussian", "gmm"))
        ),
    ),
    "student": ("--model student only", lambda model, emission: model == "student"),
    "bayesian-gmm": (
        "--model bayesian-gmm only",
        lambda model, emission: model == "bayesian-gmm",
    ),
    "hmm": ("--model hmm only", lambda model, emission: model == "hmm"),
    "hmm-gmm": (
        "--model hmm --emission gmm only",
        lambda model, emission: model == "hmm" and emission == "gmm",
    ),
}
# Options of 'emkit fit' that only some models take: (attribute, option, scope).
_SCOPED_OPTIONS = (
    ("covariance_type", "--covariance-type", "gaussian"),
    ("reg_covar", "--reg-covar", "covariance"),
    ("init_params", "--init-params", "mixture"),
    ("fixed_dof", "--fixed-dof", "student"),
    ("weight_prior", "--weight-prior", "bayesian-gmm"),
    ("emission", "--emission", "hmm"),
    ("sequence_column", "--sequence-column", "hmm"),
    ("n_mix", "--n-mix", "hmm-gmm"),
)
_EMISSION_WORDS: dict[type[BaseHMM], str] = {
    CategoricalHMM: "categorical",
    PoissonHMM: "Poisson",
    MultinomialHMM: "multinomial",
}
# Options passed to the mixtures under their own names.
_MIXTURE_PARAMS = ("covariance_type", "reg_covar", "init_params")
# Longest list of feature names spelled out in a summary line.
_MAX_NAMES_SHOWN = 8
_LABEL_WIDTH = 16


_Estimator = BaseMixture | BayesianGaussianMixture | KMeans | BaseHMM
# The names and values (n_components rows) of the columns of a mixture's parameter table,
# from the estimator and the model's feature names.
_ComponentColumns = Callable[[Any, Sequence[str]], tuple[list[str], Any]]


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


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _n_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("expected a non-zero whole number (-1: every core)")
    return value


def _component_range(text: str) -> list[int]:
    """``'1-9'``, ``'2,4,6'`` or ``'1-3,7'``: the numbers of components, in order."""
    values: list[int] = []
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        try:
            first = int(low)
            last = int(high) if dash else first
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected numbers of components such as '1-9' or '2,3,5', got {text!r}"
            ) from None
        if first < 1 or last < first:
            raise argparse.ArgumentTypeError(
                f"expected ranges of whole numbers >= 1 such as '1-9', got {part.strip()!r}"
            )
        values.extend(k for k in range(first, last + 1) if k not in values)
    return values


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
        ".pq or .npy) and write it to a model file. A hidden Markov model (--model hmm) reads "
        "its sequences from the table: the rows of one sequence are consecutive rows with the "
        "same --sequence-column value, in time order.",
    )
    fit.add_argument("data", metavar="DATA", help="data file, one row per sample")
    fit.add_argument(
        "--model",
        required=True,
        choices=_MODELS,
        help="gmm: Gaussian mixture; kmeans: k-means clustering; hmm: hidden Markov model; "
        "student: mixture of multivariate Student-t distributions; bayesian-gmm: variational "
        "Bayesian Gaussian mixture; bernoulli: mixture of independent binary (0/1) features; "
        "categorical: mixture of independent columns of integer category codes 0, 1, 2, ...; "
        "multinomial: mixture of multinomial count vectors; poisson: mixture of independent "
        "Poisson counts; exponential: mixture of independent exponential waiting times",
    )
    fit.add_argument(
        "--components",
        "-k",
        required=True,
        type=_positive_int,
        metavar="K",
        help="number of mixture components (clusters for kmeans, hidden states for hmm)",
    )
    fit.add_argument(
        "-o",
        "--output",
        metavar="MODEL",
        help=f"model file to write (default: <DATA stem>{MODEL_SUFFIX} in the current directory)",
    )
    fit.add_argument(
        "--emission",
        choices=tuple(_HMM_CLASSES),
        help="what every state of an hmm emits: gaussian; gmm, a mixture of --n-mix Gaussians; "
        "categorical, one column of integer symbol codes 0, 1, 2, ...; poisson or multinomial, "
        f"counts (default: {_DEFAULT_EMISSION})",
    )
    fit.add_argument(
        "--sequence-column",
        metavar="COLUMN",
        help="column of numeric sequence ids of an hmm, not a feature: the rows of one "
        "sequence are consecutive and in time order (default: the whole table is one sequence)",
    )
    fit.add_argument(
        "--covariance-type",
        choices=_COVARIANCE_TYPES,
        help="covariance structure of a gmm or student (scale matrices), of a bayesian-gmm "
        "(full, tied, diag or spherical), or of the Gaussians of an hmm with --emission "
        "gaussian or gmm (full, tied, diag or spherical) (default: full, diag for hmm)",
    )
    fit.add_argument(
        "--n-mix",
        type=_positive_int,
        metavar="M",
        help="Gaussians in the mixture of every state of an hmm with --emission gmm (default: 1)",
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
        help="most EM iterations per initialisation (default: 100, 300 for kmeans)",
    )
    fit.add_argument(
        "--tol",
        type=_non_negative_float,
        metavar="T",
        help="convergence threshold on the change of the mean log-likelihood "
        "per sample (default: 0.001 for the mixtures, 0.0001 for kmeans); for hmm, on the "
        "change of the total log-likelihood (default: 0.01)",
    )
    fit.add_argument(
        "--reg-covar",
        type=_non_negative_float,
        metavar="R",
        help="added to the variances of a gmm, student or bayesian-gmm at every step "
        "(default: 1e-06)",
    )
    fit.add_argument(
        "--init-params",
        choices=_INIT_PARAMS,
        help="initialisation of a mixture (default: kmeans; random for categorical)",
    )
    fit.add_argument(
        "--fixed-dof",
        type=_positive_float,
        metavar="NU",
        help="degrees of freedom of every component of a student, kept fixed (default: "
        "estimated from the data)",
    )
    fit.add_argument(
        "--weight-prior",
        choices=tuple(_WEIGHT_PRIORS),
        help="prior on the weights of a bayesian-gmm (default: dirichlet-process)",
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
        help="comma-separated names of the columns to use (default: all, but the sequence column)",
    )
    fit.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    fit.set_defaults(handler=_fit)

    select = commands.add_parser(
        "select",
        help="choose the covariance model and number of components of a Gaussian mixture",
        description="Fit a Gaussian mixture to the numeric columns of DATA for every "
        "covariance model and number of components, and print every candidate, best first, "
        "and the chosen model. BIC = 2 log-likelihood - parameters * log(samples), ICL = BIC "
        "minus twice the entropy of the most probable classification, AIC = 2 log-likelihood "
        "- 2 parameters: larger is better, as in mclust (emkit fit prints BIC and AIC with "
        "scikit-learn's opposite sign). Parameters are counted as mclust counts them.",
    )
    select.add_argument("data", metavar="DATA", help="data file, one row per sample")
    select.add_argument(
        "--components",
        "-k",
        type=_component_range,
        default=_component_range(_DEFAULT_COMPONENTS),
        metavar="K",
        help=f"numbers of components to try, such as 1-9 or 2,3,5 (default: {_DEFAULT_COMPONENTS})",
    )
    select.add_argument(
        "--covariance-types",
        type=_column_list,
        metavar="A,B,...",
        help="comma-separated covariance models to try, mclust's names (EII, VII, EEI, VEI, "
        "EVI, VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV) or full, tied, diag, spherical "
        "(default: every mclust model)",
    )
    select.add_argument(
        "--criterion",
        choices=_CRITERIA,
        default="bic",
        help="criterion to maximise (default: bic)",
    )
    select.add_argument(
        "--output",
        metavar="TABLE.csv",
        help="also write the table of candidates, best first, to this CSV file",
    )
    select.add_argument(
        "--save",
        metavar="MODEL",
        help=f"write the chosen model to this model file (such as best{MODEL_SUFFIX})",
    )
    select.add_argument(
        "--init-params",
        choices=_INIT_PARAMS,
        default="hc",
        help="initialisation of every fit (default: hc, model-based hierarchical clustering, "
        "computed once and cut at every number of components)",
    )
    select.add_argument(
        "--n-init",
        type=_positive_int,
        metavar="N",
        help="initialisations per candidate, the best kept; not with --init-params hc, a "
        "deterministic start (default: 1)",
    )
    select.add_argument(
        "--max-iter",
        type=_positive_int,
        metavar="N",
        help=f"most EM iterations per candidate (default: {DEFAULT_MAX_ITER})",
    )
    select.add_argument(
        "--tol",
        type=_non_negative_float,
        metavar="T",
        help="convergence threshold on the change of the mean log-likelihood per sample "
        f"(default: {DEFAULT_TOL:g})",
    )
    select.add_argument(
        "--reg-covar",
        type=_non_negative_float,
        metavar="R",
        help="added to the variances at every step (default: 1e-06)",
    )
    select.add_argument(
        "--random-state",
        type=_seed,
        metavar="S",
        help="seed for a reproducible selection (default: a fresh random start)",
    )
    select.add_argument(
        "--n-jobs",
        type=_n_jobs,
        metavar="N",
        help="candidates fitted at once, on threads (default: every core; -1 too)",
    )
    select.add_argument(
        "--columns",
        type=_column_list,
        metavar="A,B,...",
        help="comma-separated names of the columns to use (default: all)",
    )
    select.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    select.set_defaults(handler=_select)

    predict = commands.add_parser(
        "predict",
        help="assign samples to the components of a fitted model",
        description="Print the most probable component of every sample of DATA (and with "
        "--proba the probability of every component) as CSV. For a hidden Markov model: "
        "the state of every sample on the most probable state path of its sequence "
        "(Viterbi), and with --proba the posterior probability of every state.",
    )
    predict.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit'")
    predict.add_argument("data", metavar="DATA", help="data file, one row per sample")
    predict.add_argument(
        "-o", "--output", metavar="OUT.csv", help="CSV file to write (default: standard output)"
    )
    predict.add_argument(
        "--sequence-column",
        metavar="COLUMN",
        help="column of sequence ids, for a hidden Markov model (default: the whole table is "
        "one sequence)",
    )
    predict.add_argument(
        "--proba",
        action="store_true",
        help="add columns p0, p1, ... with the probability of every component (of every "
        "state for an hmm)",
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
    lengths = None
    if isinstance(estimator, BaseHMM):
        table, lengths = _read_sequences(args.data, args.columns, args.sequence_column)
    else:
        table = read_table(args.data, columns=args.columns)
    _check_family_data(estimator, table, args.data)
    X = table.values
    k = args.components
    if X.shape[0] < k:
        unit = {"kmeans": "clusters", "hmm": "states"}.get(args.model, "components")
        raise CommandError(
            f"{_quote(args.data)} has {_count(X.shape[0], 'sample')}, fewer "
            f"than the {k} {unit} asked for"
        )
    if not isinstance(estimator, (KMeans, BaseHMM)) and X.shape[0] < 2:
        name = _MIXTURE_NAMES[type(estimator)]
        article = "an" if name[0] in "aeiou" else "a"
        raise CommandError(f"{_quote(args.data)} has 1 sample; {article} {name} needs at least 2")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if isinstance(estimator, BaseHMM):
            estimator.fit(X, lengths)
        else:
            estimator.fit(X)
        lines = (
            []
            if args.quiet
            else _fit_summary(estimator, table, args.data, lengths, args.sequence_column)
        )
    for warning in caught:
        if not issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            print(f"{PROG}: warning: {warning.message}", file=sys.stderr)

    # Stored so that 'emkit predict' can pick the same columns out of other data files.
    estimator.feature_names_in_ = np.asarray(table.columns, dtype=object)
    written = estimator.save(output)
    if not args.quiet:
        lines.append(f"model written to {_display_path(written, args.output)}")
        print("\n".join(lines))


def _build_estimator(args: argparse.Namespace) -> _Estimator:
    emission = args.emission or _DEFAULT_EMISSION
    _check_scoped_options(args, emission)
    four_only = _FOUR_COVARIANCE_MODELS.get(args.model)
    if four_only and args.covariance_type not in (None, *_FOUR_COVARIANCE_TYPES):
        raise CommandError(
            f"--covariance-type {args.covariance_type} applies to --model gmm or student only; "
            f"{four_only} takes one of {', '.join(_FOUR_COVARIANCE_TYPES)}"
        )
    common: dict[str, Any] = {"random_state": args.random_state}
    for name in ("n_init", "max_iter", "tol"):
        value = getattr(args, name)
        if value is not None:
            common[name] = value
    if args.model == "kmeans":
        return KMeans(n_clusters=args.components, **common)
    if args.model == "hmm":
        # hmmlearn's name for the largest number of iterations.
        common["n_iter"] = common.pop("max_iter", _HMM_MAX_ITER)
        for name in ("covariance_type", "n_mix"):
            if getattr(args, name) is not None:
                common[name] = getattr(args, name)
        return _HMM_CLASSES[emission](n_components=args.components, **common)
    options: dict[str, Any] = {
        name: getattr(args, name) for name in _MIXTURE_PARAMS if getattr(args, name) is not None
    }
    if args.fixed_dof is not None:
        options.update(dof_init=args.fixed_dof, fixed_dof=True)
    if args.weight_prior is not None:
        options["weight_concentration_prior_type"] = _WEIGHT_PRIORS[args.weight_prior]
    return _MIXTURES[args.model](n_components=args.components, **options, **common)


def _check_scoped_options(args: argparse.Namespace, emission: str) -> None:
    """Refuse the options that do not apply to the chosen model (and emission)."""
    refused: dict[str, list[str]] = {}
    for name, option, scope in _SCOPED_OPTIONS:
        text, applies = _SCOPES[scope]
        if getattr(args, name) is not None and not applies(args.model, emission):
            refused.setdefault(text, []).append(option)
    if refused:
        parts = [f"{', '.join(options)} applies to {text}" for text, options in refused.items()]
        raise CommandError("; ".join(parts))


def _fit_summary(
    estimator: _Estimator,
    table: Table,
    data: str,
    lengths: np.ndarray | None = None,
    sequence_column: str | None = None,
) -> list[str]:
    X = table.values
    n, d = X.shape
    shape = f"{data}: {_count(n, 'sample')} x {_count(d, 'feature')} ({_names(table.columns)})"
    if isinstance(estimator, BaseHMM):
        if lengths is None:
            shape += ", 1 sequence (the whole table)"
        else:
            shape += f", {_count(lengths.size, 'sequence')} (column {sequence_column!r})"
    lines = [
        f"{PROG} fit: {_describe_model(estimator)}",
        _field("data", shape),
        _field("converged", _convergence(estimator)),
    ]
    if isinstance(estimator, BaseHMM):
        total = estimator.score(X, lengths)
        lines += [
            _field("log-likelihood", f"{total:.2f} (mean per sample {_num(total / n)})"),
            _field("BIC", f"{estimator.bic(X, lengths):.2f}"),
            _field("AIC", f"{estimator.aic(X, lengths):.2f}"),
            _field("parameters", str(estimator._n_parameters())),
        ]
    elif isinstance(estimator, BaseMixture):
        mean = estimator.score(X)
        lines += [
            _field("log-likelihood", f"{mean * n:.2f} (mean per sample {_num(mean)})"),
            _field("BIC", f"{estimator.bic(X):.2f}"),
            _field("AIC", f"{estimator.aic(X):.2f}"),
            _field("parameters", str(estimator._n_parameters())),
        ]
    elif isinstance(estimator, BayesianGaussianMixture):
        # A variational fit has no maximised likelihood to penalise: its criterion is the
        # evidence lower bound.
        bound = estimator.lower_bound_
        lines.append(_field("ELBO", f"{bound * n:.2f} (mean per sample {_num(bound)})"))
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
# emkit select
# --------------------------------------------------------------------------------------- #


def _select(args: argparse.Namespace) -> None:
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
    table = read_table(args.data, columns=args.columns)
    X = table.values
    if X.shape[0] < 2:
        raise CommandError(f"{_quote(args.data)} has 1 sample; a Gaussian mixture needs at least 2")
    options = {
        name: getattr(args, name)
        for name in ("n_init", "max_iter", "tol", "reg_covar")
        if getattr(args, name) is not None
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
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
        lines = [] if args.quiet else _select_summary(result, table, args.data)
    for warning in caught:
        if not issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            print(f"{PROG}: warning: {warning.message}", file=sys.stderr)
    unconverged = [c for c in result.candidates if not c.failed and not c.converged]
    # With tol=0 every fit runs max_iter iterations by request, as 'emkit fit' keeps quiet.
    if unconverged and result.best_estimator_.tol > 0:
        names = _names([f"{c.covariance_type} K={c.n_components}" for c in unconverged])
        print(
            f"{PROG}: warning: {len(unconverged)} of {len(result.candidates)} candidates did not "
            f"converge within {result.best_estimator_.max_iter} iterations ({names}); their "
            "criteria may be too low: increase --max-iter or --tol",
            file=sys.stderr,
        )
    if args.output:
        _write_selection(args.output, result)
        lines.append(f"table written to {args.output}")
    if args.save:
        best = result.best_estimator_
        # Stored so that 'emkit predict' can pick the same columns out of other data files.
        best.feature_names_in_ = np.asarray(table.columns, dtype=object)
        written = best.save(args.save)
        lines.append(f"model written to {_display_path(written, args.save)}")
    if not args.quiet:
        print("\n".join(lines))


def _select_summary(result: ModelSelection, table: Table, data: str) -> list[str]:
    """The chosen model, then every candidate best first, failures last."""
    best, estimator = result.best_, result.best_estimator_
    n, d = table.values.shape
    name = result.criterion.upper()
    log_lik = f"{best.log_likelihood:.2f} (mean per sample {_num(best.log_likelihood / n)})"
    lines = [
        f"{PROG} select: {_describe_model(estimator)} (best {name} of "
        f"{_count(len(result.candidates), 'candidate')})",
        _field(
            "data",
            f"{data}: {_count(n, 'sample')} x {_count(d, 'feature')} ({_names(table.columns)})",
        ),
        _field("criterion", f"{name}, larger is better (mclust's sign)"),
        _field("converged", _convergence(estimator)),
        _field("log-likelihood", log_lik),
        _field("BIC", f"{best.bic:.2f}"),
        _field("ICL", f"{best.icl:.2f}"),
        _field("AIC", f"{best.aic:.2f}"),
        _field("parameters", str(best.n_parameters)),
        "candidates, best first (BIC, ICL, AIC: larger is better)",
    ]
    header = [
        "rank",
        "covariance",
        "K",
        "log-likelihood",
        "parameters",
        "BIC",
        "ICL",
        "AIC",
        "converged",
    ]
    rows = []
    failures: dict[str, list[str]] = {}
    for rank, c in enumerate(result.ranked(), start=1):
        if c.error is not None:
            failures.setdefault(c.error, []).append(f"{c.covariance_type} K={c.n_components}")
            scores = ["-", str(c.n_parameters), "-", "-", "-", "failed"]
        else:
            scores = [
                f"{c.log_likelihood:.2f}",
                str(c.n_parameters),
                f"{c.bic:.2f}",
                f"{c.icl:.2f}",
                f"{c.aic:.2f}",
                "yes" if c.converged else "no",
            ]
        rows.append([str(rank), c.covariance_type, str(c.n_components), *scores])
    lines += _align(header, rows)
    for error, cells in failures.items():
        lines.append(f"failed: {', '.join(cells)}: {error}")
    lines += _parameter_table(estimator, table.columns)
    return lines


def _write_selection(path: str, result: ModelSelection) -> None:
    """The table of candidates, best first, as CSV: floats exactly, NaN for failed fits."""
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


# --------------------------------------------------------------------------------------- #
# Sequences
# --------------------------------------------------------------------------------------- #


def _read_sequences(
    data: str, columns: Sequence[str] | None, sequence_column: str | None
) -> tuple[Table, np.ndarray | None]:
    """The feature columns of ``data`` and the lengths of its sequences.

    Parameters
    ----------
    data : str
        The data file.
    columns : sequence of str, optional
        The feature columns (default: all but the sequence column).
    sequence_column : str, optional
        The column of sequence ids; None makes the whole table one sequence.

    Returns
    -------
    table : Table
        The feature columns.
    lengths : ndarray of int, or None
        Rows of every sequence, in the order of the table; None without a sequence column.
    """
    if sequence_column is None:
        return read_table(data, columns=columns), None
    if columns is not None and sequence_column in columns:
        raise CommandError(
            f"the sequence column {sequence_column!r} cannot also be a feature (--columns)"
        )
    selection = None if columns is None else [*columns, sequence_column]
    with _explained_sequence_errors(sequence_column):
        table = read_table(data, columns=selection)
    if sequence_column not in table.columns:
        raise CommandError(
            f"--sequence-column: {_quote(data)} has no column {sequence_column!r}; "
            f"available columns: {_names(table.columns, quote=True)}"
        )
    position = table.columns.index(sequence_column)
    keep = [j for j in range(len(table.columns)) if j != position]
    if not keep:
        raise CommandError(
            f"{_quote(data)} has no columns besides the sequence column {sequence_column!r}"
        )
    features = Table(
        values=np.ascontiguousarray(table.values[:, keep]),
        columns=tuple(table.columns[j] for j in keep),
    )
    return features, _sequence_lengths(table.values[:, position], data, sequence_column)


@contextlib.contextmanager
def _explained_sequence_errors(sequence_column: str) -> Iterator[None]:
    """Say which option named the column when the reader refuses the sequence column."""
    try:
        yield
    except DataError as exc:
        message = str(exc)
        if f"has no column {sequence_column!r};" in message:
            raise CommandError(f"--sequence-column: {message}") from None
        if f"column {sequence_column!r} is not numeric" in message:
            raise CommandError(f"{message}; sequence ids must be numbers") from None
        raise


def _read_lengths(data: str, sequence_column: str | None) -> np.ndarray | None:
    """Lengths of the sequences of ``data`` by its column ``sequence_column``; None (one
    sequence) without a column."""
    if sequence_column is None:
        return None
    with _explained_sequence_errors(sequence_column):
        ids = read_table(data, columns=[sequence_column]).values[:, 0]
    return _sequence_lengths(ids, data, sequence_column)


def _sequence_lengths(ids: np.ndarray, data: str, sequence_column: str) -> np.ndarray:
    """Lengths of the runs of equal ids, refusing an id that comes back after another:
    taking its rows for two sequences would silently cut one sequence in two."""
    n = ids.shape[0]
    starts = np.concatenate([[0], np.flatnonzero(ids[1:] != ids[:-1]) + 1])
    ends = np.append(starts[1:], n)
    seen: dict[float, int] = {}
    for run, value in enumerate(ids[starts].tolist()):
        earlier = seen.setdefault(value, run)
        if earlier != run:
            raise CommandError(
                f"{_quote(data)}: sequence {_id_text(value)} of column {sequence_column!r} "
                f"appears again at data row {starts[run] + 1}, after other sequences (its "
                f"earlier rows are {starts[earlier] + 1} to {ends[earlier]}); the rows of one "
                f"sequence must be consecutive: sort the rows by {sequence_column!r}, keeping "
                "their time order"
            )
    return (ends - starts).astype(np.int64)


def _id_text(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _not_counts(X: np.ndarray) -> np.ndarray:
    return (X != np.floor(X)) | (X < 0)


# What the discrete and non-negative families read: the test of a value they cannot read,
# and the words that say what they take.
_DATA_RULES: dict[type, tuple[Callable[[np.ndarray], np.ndarray], str]] = {
    CategoricalHMM: (_not_counts, "categorical emissions take integer symbol codes 0, 1, 2, ..."),
    PoissonHMM: (_not_counts, "Poisson emissions take counts (whole numbers >= 0)"),
    MultinomialHMM: (_not_counts, "multinomial emissions take counts (whole numbers >= 0)"),
    BernoulliMixture: (lambda X: (X != 0) & (X != 1), "a Bernoulli mixture takes 0s and 1s"),
    CategoricalMixture: (
        _not_counts,
        "a categorical mixture takes integer category codes 0, 1, 2, ...",
    ),
    MultinomialMixture: (_not_counts, "a multinomial mixture takes counts (whole numbers >= 0)"),
    PoissonMixture: (_not_counts, "a Poisson mixture takes counts (whole numbers >= 0)"),
    ExponentialMixture: (lambda X: X < 0, "an exponential mixture takes numbers >= 0"),
}


def _check_family_data(estimator: _Estimator, table: Table, data: str) -> None:
    """Refuse data that a discrete or non-negative family cannot read, naming the column and
    the row (the estimators name positions only)."""
    if isinstance(estimator, CategoricalHMM) and len(table.columns) != 1:
        raise CommandError(
            f"categorical emissions take one column of integer symbol codes; {_quote(data)} "
            f"has {len(table.columns)} feature columns ({_names(table.columns)}): choose "
            "one with --columns"
        )
    rule = _DATA_RULES.get(type(estimator))
    if rule is None:
        return
    invalid, what = rule
    X = table.values
    where = _first(invalid(X))
    if where is not None:
        row, col = where
        raise CommandError(
            f"{_quote(data)}: column {table.columns[col]!r} holds {_id_text(X[row, col])} at "
            f"data row {row + 1}; {what}"
        )
    # A fitted model knows the codes of its training data only.
    if isinstance(estimator, CategoricalHMM) and hasattr(estimator, "emissionprob_"):
        known, word, words = np.shape(estimator.emissionprob_)[1:], "symbol", "symbols"
    elif isinstance(estimator, CategoricalMixture) and hasattr(estimator, "n_categories_"):
        known, word, words = estimator.n_categories_, "category", "categories"
    else:
        return
    where = _first(X >= np.asarray(known))
    if where is not None:
        row, col = where
        raise CommandError(
            f"{_quote(data)}: column {table.columns[col]!r} holds {word} "
            f"{_id_text(X[row, col])} at data row {row + 1}, but the model knows {words} "
            f"0 to {int(np.asarray(known)[col]) - 1} only"
        )


def _first(bad: np.ndarray) -> tuple[int, int] | None:
    """Row and column of the first True of ``bad``, row by row; None when there is none."""
    if not bad.any():
        return None
    row, col = np.unravel_index(int(np.argmax(bad)), bad.shape)
    return int(row), int(col)


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
    is_hmm = isinstance(estimator, BaseHMM)
    if args.sequence_column is not None and not is_hmm:
        raise CommandError(
            f"--sequence-column applies to hidden Markov models only; {_quote(args.model)} "
            f"holds a {type(estimator).__name__}"
        )
    if is_hmm and args.sequence_column in _model_columns(estimator):
        raise CommandError(
            f"the sequence column {args.sequence_column!r} is one of the columns the model "
            "was fitted on"
        )
    # Read first: a bad sequence column is reported before any mismatch of the features.
    lengths = _read_lengths(args.data, args.sequence_column) if is_hmm else None
    X = _read_for_model(estimator, args.data, exclude=args.sequence_column)
    _check_family_data(estimator, Table(X, _model_columns(estimator)), args.data)
    # The columns are matched by name above; the estimator then sees a plain array, and
    # scikit-learn would warn that it lacks the names the model was fitted with.
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    extra = (lengths,) if is_hmm else ()
    labels = estimator.predict(X, *extra)
    columns = ["state" if is_hmm else "label"]
    values = labels.astype(np.float64)[:, np.newaxis]
    if args.proba:
        proba = estimator.predict_proba(X, *extra)
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


def _read_for_model(estimator: Any, data: str, exclude: str | None = None) -> np.ndarray:
    """The columns of ``data`` that ``estimator`` was fitted on, in the model's order.

    Columns are picked by name when the data file has a header holding the model's columns.
    Data without a header (columns named x0, x1, ... by the reader), and models fitted
    without column names, are matched by position, and then the number of columns must
    equal the model's number of features. The column ``exclude`` (the sequence column) is
    never a feature.
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
    headerless = table.columns == _default_names(len(table.columns))
    features = [name for name in table.columns if name != exclude]
    m = len(features)
    if by_name and not headerless:
        assert names is not None
        missing = [name for name in names if name not in features]
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
        besides = "" if exclude is None else f" besides the sequence column {exclude!r}"
        raise CommandError(
            f"the model was fitted on {fitted} but {_quote(data)} has "
            f"{_count(m, 'column')}{besides}"
        )
    values = table.values
    if exclude is not None:
        values = np.ascontiguousarray(values[:, [table.columns.index(name) for name in features]])
    if np.isnan(values).any():
        # Raises the reader's message naming the line.
        return read_table(data, columns=features).values
    return values


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
    if isinstance(estimator, (BaseMixture, BaseHMM)):
        lines += [
            _field(
                "log-likelihood", f"mean per sample {_num(estimator.lower_bound_)} (training data)"
            ),
            _field("parameters", str(estimator._n_parameters())),
        ]
    elif isinstance(estimator, BayesianGaussianMixture):
        lines.append(
            _field("ELBO", f"mean per sample {_num(estimator.lower_bound_)} (training data)")
        )
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
    name = _MIXTURE_NAMES.get(type(estimator))
    if name is not None:
        text = f"{name}, {_count(estimator.n_components, 'component')}"
        if hasattr(estimator, "covariance_type"):
            words = _COVARIANCE_WORDS.get(estimator.covariance_type, estimator.covariance_type)
            text += f", {words} covariance"
        if isinstance(estimator, BayesianGaussianMixture):
            text += f", {_WEIGHT_PRIOR_WORDS[estimator.weight_concentration_prior_type]}"
        return text
    if isinstance(estimator, KMeans):
        return f"k-means, {_count(estimator.n_clusters, 'cluster')}"
    if isinstance(estimator, BaseHMM):
        return f"hidden Markov model, {_count(estimator.n_components, 'state')}, " + (
            _describe_emissions(estimator)
        )
    return type(estimator).__name__


def _describe_emissions(estimator: BaseHMM) -> str:
    if isinstance(estimator, (GMMHMM, GaussianHMM)):
        words = _COVARIANCE_WORDS.get(estimator.covariance_type, estimator.covariance_type)
        if isinstance(estimator, GMMHMM):
            mix = _count(estimator.n_mix, "Gaussian")
            return f"Gaussian-mixture emissions ({mix} per state), {words} covariance"
        return f"Gaussian emissions, {words} covariance"
    text = f"{_EMISSION_WORDS[type(estimator)]} emissions"
    if isinstance(estimator, CategoricalHMM):
        text += f" ({_count(np.shape(estimator.emissionprob_)[1], 'symbol')})"
    return text


def _convergence(estimator: Any) -> str:
    state = "yes" if estimator.converged_ else "no"
    # An hmm's tol applies to the total log-likelihood, not to the mean per sample.
    scale = " on the total log-likelihood" if isinstance(estimator, BaseHMM) else ""
    text = f"{state}, after {_count(estimator.n_iter_, 'iteration')} (tol {estimator.tol:g}{scale})"
    if estimator.n_init > 1:
        text += f", best of {estimator.n_init} initialisations"
    return text


def _model_columns(estimator: Any) -> tuple[str, ...]:
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return _default_names(int(estimator.n_features_in_))
    return tuple(str(name) for name in names)


def _attribute_columns(attribute: str) -> _ComponentColumns:
    """The columns of a mixture's parameter ``attribute`` (n_components, n_features)."""
    return lambda estimator, columns: (list(columns), getattr(estimator, attribute))


def _student_columns(estimator: StudentMixture, columns: Sequence[str]) -> tuple[list[str], Any]:
    return ["dof", *columns], np.column_stack([estimator.dof_, estimator.means_])


def _categorical_columns(
    estimator: CategoricalMixture, columns: Sequence[str]
) -> tuple[list[str], Any]:
    """One column ``feature=code`` for every category of every feature."""
    counts = [int(n) for n in estimator.n_categories_]
    names = [f"{name}={code}" for name, n in zip(columns, counts, strict=True) for code in range(n)]
    probs = [estimator.probs_[:, c, :n] for c, n in enumerate(counts)]
    return names, np.concatenate(probs, axis=1)


# The table of every mixture, one row per component after its weight: its title, and the
# names and values of its columns, from the estimator and the model's feature names.
_COMPONENT_TABLES: dict[type, tuple[str, _ComponentColumns]] = {
    GaussianMixture: ("means by component", _attribute_columns("means_")),
    BayesianGaussianMixture: ("means by component", _attribute_columns("means_")),
    StudentMixture: ("degrees of freedom (dof) and locations by component", _student_columns),
    BernoulliMixture: ("probabilities of 1 by component", _attribute_columns("probs_")),
    CategoricalMixture: (
        "category probabilities by component (feature=code)",
        _categorical_columns,
    ),
    MultinomialMixture: ("category probabilities by component", _attribute_columns("probs_")),
    PoissonMixture: ("rates by component", _attribute_columns("lambdas_")),
    ExponentialMixture: ("rates by component", _attribute_columns("rates_")),
}


def _parameter_table(estimator: Any, columns: Sequence[str]) -> list[str]:
    if type(estimator) in _COMPONENT_TABLES:
        title, component_columns = _COMPONENT_TABLES[type(estimator)]
        names, values = component_columns(estimator, columns)
        header = ["component", "weight", *names]
        rows = [
            [str(j), _num(w), *(_num(v) for v in row)]
            for j, (w, row) in enumerate(zip(estimator.weights_, values, strict=True))
        ]
        return [title, *_align(header, rows)]
    if isinstance(estimator, KMeans):
        header = ["cluster", *columns]
        rows = [
            [str(j), *(_num(v) for v in centre)]
            for j, centre in enumerate(estimator.cluster_centers_)
        ]
        return ["cluster centres", *_align(header, rows)]
    if isinstance(estimator, BaseHMM):
        return _hmm_tables(estimator, columns)
    return []


def _hmm_tables(estimator: BaseHMM, columns: Sequence[str]) -> list[str]:
    """Start and transition probabilities, then the emission parameters, by state."""
    k = int(estimator.n_components)
    header = ["state", "start", *(f"->{j}" for j in range(k))]
    rows = [
        [str(i), _num(start), *(_num(p) for p in row)]
        for i, (start, row) in enumerate(
            zip(estimator.startprob_, estimator.transmat_, strict=True)
        )
    ]
    lines = ["start and transition probabilities (->j: to state j)", *_align(header, rows)]
    if isinstance(estimator, GMMHMM):
        m = int(estimator.n_mix)
        pairs = [(i, j) for i in range(k) for j in range(m)]
        rows = [
            [str(i), str(j), _num(estimator.weights_[i, j]), *map(_num, estimator.means_[i, j])]
            for i, j in pairs
        ]
        lines += ["means by state and mixture component"]
        lines += _align(["state", "mix", "weight", *columns], rows)
        variances = _gmm_hmm_variances(estimator)
        rows = [[str(i), str(j), *map(_num, variances[i, j])] for i, j in pairs]
        lines += ["variances by state and mixture component"]
        lines += _align(["state", "mix", *columns], rows)
        return lines
    if isinstance(estimator, GaussianHMM):
        variances = np.diagonal(estimator.covars_, axis1=1, axis2=2)
        tables = [
            ("means by state", columns, estimator.means_),
            ("variances by state", columns, variances),
        ]
    elif isinstance(estimator, CategoricalHMM):
        symbols = [str(s) for s in range(np.shape(estimator.emissionprob_)[1])]
        tables = [("symbol probabilities by state", symbols, estimator.emissionprob_)]
    elif isinstance(estimator, PoissonHMM):
        tables = [("rates by state", columns, estimator.lambdas_)]
    else:
        tables = [("emission probabilities by state", columns, estimator.emissionprob_)]
    for title, names, values in tables:
        rows = [[str(i), *(_num(v) for v in values[i])] for i in range(k)]
        lines += [title, *_align(["state", *names], rows)]
    return lines


def _gmm_hmm_variances(estimator: GMMHMM) -> np.ndarray:
    """Variances of every Gaussian of a GMMHMM, shape (n_components, n_mix, n_features),
    whatever its covariance type."""
    _, m, d = np.shape(estimator.means_)
    covars = np.asarray(estimator.covars_)
    kind = estimator.covariance_type
    if kind == "spherical":
        return np.repeat(covars[:, :, np.newaxis], d, axis=2)
    if kind == "diag":
        return covars
    if kind == "full":
        return np.diagonal(covars, axis1=2, axis2=3)
    # tied: the Gaussians of a state share one matrix.
    return np.repeat(np.diagonal(covars, axis1=1, axis2=2)[:, np.newaxis, :], m, axis=1)


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
