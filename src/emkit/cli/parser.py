"""The arguments of ``emkit`` and its commands.

Building the parser imports the standard library, :mod:`emkit.cli.models` and
:mod:`emkit.cli.options` alone (no estimator, NumPy, scikit-learn, SciPy or Numba), so that
``emkit --help`` and a usage error answer at once; each command imports what it needs when it
runs.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import Any

from emkit.cli import models
from emkit.cli.errors import PROG
from emkit.cli.options import DEFAULT_N_INIT, MIN_ITERATIONS, SHORTHANDS

__all__ = [
    "MODEL_SUFFIX",
    "SELECT_INITS",
    "TOPIC_MODELS",
    "build_parser",
    "parse_arguments",
]

MODEL_SUFFIX = ".emkit"
_CRITERIA = ("bic", "icl", "aic")
_DEFAULT_COMPONENTS = "1-9"
# Names of the field separators --delimiter takes besides one character.
_DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "bar": "|"}
# emkit.models.initialization.INITIALIZERS and emkit.selection's DEFAULT_MAX_ITER and
# DEFAULT_TOL (a test keeps them equal), for 'emkit select', which reads no estimator to
# answer --help.
SELECT_INITS = ("kmeans", "k-means++", "random", "random_from_data", "hc")
SELECT_MAX_ITER = 1000
SELECT_TOL = 1e-6
# emkit.core.batches.DEFAULT_CHUNK_SIZE (a test keeps them equal), for 'emkit predict --help'.
DEFAULT_CHUNK_ROWS = 16384
# The models of 'emkit topics --model' (the keys of emkit.cli.topics.FACES, which a test
# keeps equal).
TOPIC_MODELS = ("lda", "plsa", "unigrams")
DEFAULT_TEST_SIZE = 0.1
DEFAULT_TOP_WORDS = 10


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
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _n_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("expected a non-zero whole number (-1: every core)")
    return value


def _prior(text: str) -> float | str:
    if text.lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or auto, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0 or auto, got {text!r}")
    return value


def _whole_or_fraction(text: str) -> int | float:
    """A number of documents (a whole number >= 0) or a fraction of them (in [0, 1])."""
    try:
        value: int | float = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not 0.0 <= value <= 1.0:
            raise argparse.ArgumentTypeError(
                f"expected a fraction in [0, 1] or a whole number of documents, got {text!r}"
            ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"expected a fraction in [0, 1] or a whole number of documents >= 0, got {text!r}"
        )
    return value


def _test_size(text: str) -> int | float:
    value = _whole_or_fraction(text)
    if isinstance(value, float) and value == 1.0:
        raise argparse.ArgumentTypeError(
            f"expected a fraction in [0, 1) or a whole number of documents, got {text!r}: "
            "the fit needs documents too"
        )
    return value


def component_range(text: str) -> list[int]:
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


def _delimiter(text: str) -> str:
    value = _DELIMITER_NAMES.get(text.lower(), text)
    if len(value) != 1 or value in '"\r\n':
        raise argparse.ArgumentTypeError(
            f"expected one character such as ';', or {', '.join(_DELIMITER_NAMES)}; got {text!r}"
        )
    return value


class _Version(argparse.Action):
    """``--version``, which reads emkit's version only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from emkit import __version__

        print(f"{PROG} {__version__}")
        parser.exit()


def _add_delimiter(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--delimiter",
        type=_delimiter,
        metavar="CHAR",
        help="field separator of a text DATA file, such as ';' or tab (default: comma for "
        ".csv, tab for .tsv and .tab, guessed for .txt)",
    )


def _add_fit(commands: Any) -> argparse.ArgumentParser:
    fit = commands.add_parser(
        "fit",
        help="fit a model to a data file and write a model file",
        description="Fit a model to the numeric columns of DATA (.csv, .tsv, .txt, .parquet, "
        ".pq or .npy; a folder or a pattern of Parquet files) and write it to a model file. "
        "Every model but a hidden Markov model reads DATA a chunk of rows at a time "
        "(--chunk-size, the estimator's chunk_size), so that data larger than memory fits. "
        "A hidden Markov model (--model hmm) reads "
        "its sequences from the table: the rows of one sequence are consecutive rows with the "
        "same --sequence-column value, in time order. The summary prints BIC, ICL and AIC in "
        "mclust's sign, larger is better. Ctrl-C stops the fit at its last whole iteration: "
        "the model file is written with the best parameters so far, the summary says where "
        "the fit stopped, and the exit status is 130.",
        epilog="Every parameter of the model's estimator that takes a number, true or false, "
        "a text or one of some names is an option too, spelled with hyphens: --reg-covar 1e-4, "
        "--covariance-type diag, --init-params random, --n-mix 3, --min-covar 0.01, --hard "
        "true, --chunk-size 100000; a family model's hyperparameters likewise. 'emkit models "
        "MODEL' lists the options of a model, with their values and defaults.",
        # A parameter's option is known once the model is: no prefix may stand for another.
        allow_abbrev=False,
    )
    fit.add_argument("data", metavar="DATA", help="data file, one row per sample")
    names = models.model_names()
    fit.add_argument(
        "--model",
        required=True,
        choices=names,
        metavar="MODEL",
        help=f"the model: {', '.join(names) or 'none registered (install emkit)'}; 'emkit "
        "models' says what each is",
    )
    fit.add_argument(
        "--components",
        "-k",
        required=True,
        type=_positive_int,
        metavar="K",
        help="number of components: mixture components, clusters, or the hidden states of an hmm",
    )
    fit.add_argument(
        "-o",
        "--output",
        metavar="MODEL",
        help=f"model file to write (default: <DATA stem>{MODEL_SUFFIX} in the current directory; "
        f"for a pattern of Parquet files, <its folder>{MODEL_SUFFIX})",
    )
    emissions = models.emission_names()
    fit.add_argument(
        "--emission",
        metavar="EMISSION",
        help=f"what every state of an hmm emits: {', '.join(emissions)}, or a family model "
        f"(default: {emissions[0] if emissions else 'none registered'})",
    )
    fit.add_argument(
        "--sequence-column",
        metavar="COLUMN",
        help="column of numeric sequence ids of an hmm, not a feature: the rows of one "
        "sequence are consecutive and in time order (default: the whole table is one sequence)",
    )
    fit.add_argument(
        "--n-init",
        type=_positive_int,
        metavar="N",
        help="number of initialisations; the best fit is kept (default: "
        f"{DEFAULT_N_INIT}, 1 with --init-params hc)",
    )
    fit.add_argument(
        "--max-iter",
        type=_positive_int,
        metavar="N",
        help="most EM iterations per initialisation (default: the estimator's, at least "
        f"{MIN_ITERATIONS})",
    )
    fit.add_argument(
        "--tol",
        type=_non_negative_float,
        metavar="T",
        help="the estimator's convergence threshold (default: its own; for the mixtures "
        "0.001, on the change of the mean log-likelihood per sample)",
    )
    for shorthand in SHORTHANDS:
        fit.add_argument(shorthand.flag, dest=shorthand.dest, **shorthand.argument)
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
    _add_delimiter(fit)
    fit.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    fit.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="show a progress bar on standard error, updated after every pass over the data: "
        "restart, iteration, the bound and its change, rows read per second, and the time "
        "left at most (default: when standard error is a terminal, never with --quiet)",
    )
    return fit


def _add_models(commands: Any) -> None:
    listing = commands.add_parser(
        "models",
        help="list the models of emkit fit, or the options of one",
        description="Without MODEL, print every model of 'emkit fit --model' (and every "
        "emission of --model hmm), one line each; with MODEL, its options. Models are the "
        "entry points of the group 'emkit.models': a package adds one by naming its estimator "
        "face, or its family (a subclass of emkit.families.Family, fitted as emkit.Mixture and "
        "emkit.HMM), in its pyproject.toml.",
    )
    listing.add_argument("model", metavar="MODEL", nargs="?", help="a model of --model")
    listing.add_argument("--emission", metavar="EMISSION", help="an emission of --model hmm")


def _add_select(commands: Any) -> None:
    select = commands.add_parser(
        "select",
        help="choose the covariance model and number of components of a Gaussian mixture",
        description="Fit a Gaussian mixture to the numeric columns of DATA for every "
        "covariance model and number of components, and print every candidate, best first, "
        "and the chosen model. BIC = 2 log-likelihood - parameters * log(samples), ICL = BIC "
        "minus twice the entropy of the most probable classification, AIC = 2 log-likelihood "
        "- 2 parameters: larger is better, as in mclust and in the summary of emkit fit. "
        "Parameters are counted as mclust counts them.",
    )
    select.add_argument("data", metavar="DATA", help="data file, one row per sample")
    select.add_argument(
        "--components",
        "-k",
        type=component_range,
        default=component_range(_DEFAULT_COMPONENTS),
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
        choices=SELECT_INITS,
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
        help=f"most EM iterations per candidate (default: {SELECT_MAX_ITER})",
    )
    select.add_argument(
        "--tol",
        type=_non_negative_float,
        metavar="T",
        help="convergence threshold on the change of the mean log-likelihood per sample "
        f"(default: {SELECT_TOL:g})",
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
    _add_delimiter(select)
    select.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")


def _add_predict(commands: Any) -> None:
    predict = commands.add_parser(
        "predict",
        help="assign samples to the components of a fitted model",
        description="Write the most probable component of every sample of DATA (and with "
        "--proba the probability of every component) as a table: the column row (the row of "
        "DATA, from 0), with --keep-columns the model's columns of DATA, then label, then p0, "
        "p1, .... For a hidden Markov model: the state of every sample on the most probable "
        "state path of its sequence (Viterbi), and with --proba the posterior probability of "
        "every state. Every model but a hidden Markov model reads DATA and writes the table a "
        "chunk of rows at a time (--chunk-size), so that data larger than memory is "
        "predicted; a hidden Markov model reads its sequences whole. For a topic model "
        "(and with --texts): the column document (the name of every document of the corpus "
        "DATA: its line in a text file, from 1; its file in a folder; its row in a table, "
        "from 0), then topic0, topic1, ...: its topic proportions.",
    )
    predict.add_argument(
        "model", metavar="MODEL", help="model file written by 'emkit fit' or 'emkit topics'"
    )
    predict.add_argument(
        "data",
        metavar="DATA",
        help="data file, one row per sample; for a topic model a corpus, as 'emkit topics' reads",
    )
    predict.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="file to write: Parquet when its name ends with .parquet or .pq (needs pyarrow), "
        "CSV otherwise; written whole or not at all (default: CSV on standard output, a chunk "
        "at a time)",
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
    predict.add_argument(
        "--keep-columns",
        action="store_true",
        help="add the columns of DATA the model reads, after the column row, as they are read",
    )
    predict.add_argument(
        "--chunk-size",
        type=_positive_int,
        metavar="N",
        help="rows of DATA read, predicted and written at a time (default: the model's "
        f"chunk_size, else {DEFAULT_CHUNK_ROWS})",
    )
    predict.add_argument(
        "--texts",
        action="store_true",
        help="DATA is a corpus of texts, counted over the model's words, and the table its "
        "documents' topic proportions: implied for topic models; give it for the mixture of "
        "unigrams of 'emkit topics --model unigrams'",
    )
    predict.add_argument(
        "--column",
        metavar="NAME",
        help="the column of texts of a table corpus (default: its only column); implies --texts",
    )
    _add_delimiter(predict)


def _add_impute(commands: Any) -> None:
    impute = commands.add_parser(
        "impute",
        help="fill in the missing values of a data file with a fitted mixture",
        description="Write DATA (.csv, .tsv, .txt, .parquet, .pq or .npy) with its missing "
        "cells (empty or NA cells of a text file, Parquet nulls, NaN) filled in: the "
        "columns the model was fitted on, in its order, every missing cell replaced by its "
        "conditional expectation given the observed cells of its row under the mixture "
        "(for a Bernoulli cell the probability of a 1, for a Poisson cell the rate, for a "
        "categorical cell the most probable category); observed cells as they are. DATA "
        "is read and the table written a chunk of rows at a time (--chunk-size). With "
        "--imputations N: N imputed copies, one after another, under a first column "
        "imputation (0 to N-1), every missing cell drawn from its conditional distribution "
        "(multiple imputation; DATA is then read whole).",
    )
    impute.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit'")
    impute.add_argument("data", metavar="DATA", help="data file, one row per sample")
    impute.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="file to write: Parquet when its name ends with .parquet or .pq (needs pyarrow), "
        "CSV otherwise; written whole or not at all (default: CSV on standard output, a chunk "
        "at a time)",
    )
    impute.add_argument(
        "--std",
        action="store_true",
        help="add a column <name>_std per column: the conditional standard deviation of "
        "every missing cell (0 for an observed cell; empty, nan, for a categorical cell)",
    )
    impute.add_argument(
        "--imputations",
        type=_positive_int,
        metavar="N",
        help="write N copies with the missing cells drawn from their conditional "
        "distribution, instead of their conditional expectation",
    )
    impute.add_argument(
        "--random-state",
        type=_seed,
        metavar="S",
        help="seed of the draws of --imputations (default: fresh draws)",
    )
    impute.add_argument(
        "--chunk-size",
        type=_positive_int,
        metavar="N",
        help="rows of DATA read, imputed and written at a time (default: the model's "
        f"chunk_size, else {DEFAULT_CHUNK_ROWS})",
    )
    _add_delimiter(impute)


def _add_topics(commands: Any) -> None:
    topics = commands.add_parser(
        "topics",
        help="find the topics of a corpus of texts and write a model file",
        description="Count the words of the documents of CORPUS (a text file of one document "
        "a line, a folder of text files of one document each, or a column of texts of a "
        ".csv, .tsv, .parquet or .pq table, --column), fit a topic model to a training part "
        "of them, print every topic's top words, its size, its coherence (UMass and NPMI, on "
        "the training documents) and the held-out per-word log-likelihood and perplexity of "
        "the other documents, and write the model, with its vocabulary, to a model file. "
        "Words: runs of two or more letters, lowercased; English stop words, words of fewer "
        "than 2 documents and words of more than 95%% of them left out (--stop-words, "
        "--min-df, --max-df). 'emkit predict MODEL CORPUS' writes the topic proportions of "
        "the documents of a corpus, counted over the model's words.",
        epilog="Models: lda, latent Dirichlet allocation (variational Bayes, every document a "
        "mixture of topics); plsa, probabilistic latent semantic analysis (every training "
        "document's proportions fitted, new ones folded in); unigrams, a mixture of unigrams "
        "(one topic per document, its proportions the posterior probabilities of the "
        "topics), to compare with the mixed membership of the others.",
    )
    topics.add_argument(
        "corpus",
        metavar="CORPUS",
        help="a text file (one document a line), a folder of text files, or a table (--column)",
    )
    topics.add_argument(
        "--topics",
        "-k",
        required=True,
        type=_positive_int,
        metavar="K",
        help="number of topics",
    )
    topics.add_argument(
        "-o",
        "--output",
        metavar="MODEL",
        help=f"model file to write (default: <CORPUS stem>{MODEL_SUFFIX} in the current directory)",
    )
    topics.add_argument(
        "--model",
        choices=TOPIC_MODELS,
        default=TOPIC_MODELS[0],
        help=f"the topic model (default: {TOPIC_MODELS[0]})",
    )
    topics.add_argument(
        "--column",
        metavar="NAME",
        help="the column of texts of a table CORPUS (default: its only column)",
    )
    topics.add_argument(
        "--learning-method",
        choices=("batch", "online"),
        help="lda and unigrams: an M-step after every pass over the documents (batch, the "
        "default) or after every mini-batch of --batch-size documents (online)",
    )
    topics.add_argument(
        "--max-iter",
        type=_positive_int,
        metavar="N",
        help="most passes over the documents (default: the model's: 10 for lda, 100 for the "
        "others)",
    )
    topics.add_argument(
        "--doc-topic-prior",
        type=_prior,
        metavar="ALPHA",
        help="lda: the Dirichlet prior of every document's topic proportions, a number > 0 "
        "or auto (learnt from the documents; default: 1/K)",
    )
    topics.add_argument(
        "--topic-word-prior",
        type=_prior,
        metavar="ETA",
        help="pseudo-count of every word in every topic, which keeps every word possible: "
        "lda's topic_word_prior (a number > 0, or auto), plsa's smoothing, and the Dirichlet "
        "prior 1 + ETA of the unigrams' topics; 0 for plain plsa or maximum-likelihood "
        "unigrams (default: 1/K for every model)",
    )
    topics.add_argument(
        "--batch-size",
        type=_positive_int,
        metavar="N",
        help="lda and unigrams: documents per mini-batch of online learning",
    )
    topics.add_argument(
        "--n-init",
        type=_positive_int,
        metavar="N",
        help="number of initialisations; the best fit is kept (default: 1)",
    )
    topics.add_argument(
        "--random-state",
        type=_seed,
        metavar="S",
        help="seed for a reproducible fit (default: a fresh random start)",
    )
    topics.add_argument(
        "--n-jobs",
        type=_n_jobs,
        metavar="N",
        help="threads of the E-steps (default: the model's; -1: every core)",
    )
    topics.add_argument(
        "--min-df",
        type=_whole_or_fraction,
        metavar="N",
        help="leave out words of fewer documents than this number, or fraction, of them "
        "(default: 2)",
    )
    topics.add_argument(
        "--max-df",
        type=_whole_or_fraction,
        metavar="N",
        help="leave out words of more documents than this fraction, or number, of them "
        "(default: 0.95)",
    )
    topics.add_argument(
        "--max-features",
        type=_positive_int,
        metavar="N",
        help="keep the N words of most occurrences (default: every word)",
    )
    topics.add_argument(
        "--stop-words",
        choices=("english", "none"),
        help="leave out scikit-learn's English stop words (english, the default) or none",
    )
    topics.add_argument(
        "--test-size",
        type=_test_size,
        default=DEFAULT_TEST_SIZE,
        metavar="T",
        help="documents held out of the fit and scored by it: a fraction in (0, 1) or a "
        f"number of them; 0 for none (default: {DEFAULT_TEST_SIZE})",
    )
    topics.add_argument(
        "--split-seed",
        type=_seed,
        default=0,
        metavar="S",
        help="seed of the draw of the held-out documents (default: 0)",
    )
    topics.add_argument(
        "--top-words",
        type=_positive_int,
        default=DEFAULT_TOP_WORDS,
        metavar="N",
        help="words printed per topic, and the top words of the coherence (at least 2) "
        f"(default: {DEFAULT_TOP_WORDS})",
    )
    topics.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    topics.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="show a progress bar on standard error, updated after every pass over the "
        "documents (default: when standard error is a terminal, never with --quiet)",
    )


def _add_info(commands: Any) -> None:
    info = commands.add_parser(
        "info",
        help="describe a model file",
        description="Print the kind, hyperparameters, fitted state and parameters of a model file.",
    )
    info.add_argument(
        "model", metavar="MODEL", help="model file written by 'emkit fit' or 'emkit topics'"
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``emkit``: every command sets ``command``, the name of its module in
    :mod:`emkit.cli`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Fit latent-variable models by Expectation-Maximization.",
    )
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parser.set_defaults(fit_flags=_flags(_add_fit(commands)))
    _add_select(commands)
    _add_predict(commands)
    _add_impute(commands)
    _add_topics(commands)
    # Declared by its own module, which imports the standard library alone.
    from emkit.cli.report import add_command as add_report

    add_report(commands)
    _add_info(commands)
    _add_models(commands)
    return parser


def _flags(command: argparse.ArgumentParser) -> frozenset[str]:
    return frozenset(flag for action in command._actions for flag in action.option_strings)


def parse_arguments(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """The arguments of ``argv``. For ``emkit fit``, options the parser does not know are
    the model's parameters (:mod:`emkit.cli.options`), known once the model is: they are set
    aside as ``parameters``, ``(flag, text)`` pairs (text None for an option given without a
    value), and the rest parsed."""
    argv = list(argv)
    command = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), None)
    if command is None or argv[command] != "fit":
        args = parser.parse_args(argv)
        args.parameters = []
        return args
    known = parser.get_default("fit_flags")
    rest, parameters = argv[: command + 1], []
    i = command + 1
    while i < len(argv):
        token = argv[i]
        i += 1
        if token == "--":
            rest += argv[i - 1 :]
            break
        flag, equals, text = token.partition("=")
        if not flag.startswith("--") or flag in known:
            rest.append(token)
            continue
        if not equals:
            # The next argument is the value, unless it is an option.
            given = i < len(argv) and not argv[i].startswith("--")
            text = argv[i] if given else None
            i += given
        parameters.append((flag, text))
    args = parser.parse_args(rest)
    args.parameters = parameters
    return args
