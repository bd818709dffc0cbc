"""The constructor parameters of the hidden Markov model faces, declared once.

hmmlearn takes its parameters by position too, in an order of its own for every class: the
faces list them in that order (``positional=True``), and emkit's own additions (restarts,
threads, chunks, acceleration) after them, by keyword only.
"""

from __future__ import annotations

from dataclasses import replace

from emkit.estimators.parameters import (
    BATCH_SIZE,
    CHUNK_SIZE,
    LEARNING_DECAY,
    LEARNING_METHOD,
    LEARNING_OFFSET,
    N_INIT,
    N_JOBS,
    RANDOM_STATE,
    Param,
    anything,
    integer,
    one_of,
    real,
    reals,
)

DECODERS = ("viterbi", "map")
IMPLEMENTATIONS = ("log", "scaling")


def positional(*params: Param) -> tuple[Param, ...]:
    """``params`` as parameters hmmlearn also takes by position."""
    return tuple(replace(p, positional=True) for p in params)


def _verbosity(value: object) -> str | None:
    # hmmlearn documents a bool; an integer level is what scikit-learn's faces take.
    if isinstance(value, bool) or (isinstance(value, int) and value >= 0):
        return None
    return "must be True, False or a non-negative integer"


N_STATES = Param("n_components", 1, "int", "Number of hidden states.", integer(1))
STARTPROB_PRIOR = Param(
    "startprob_prior",
    1.0,
    "float or array-like of shape (n_components,)",
    "Dirichlet concentrations of the start probabilities; 1.0 is maximum likelihood.",
    reals(),
)
TRANSMAT_PRIOR = Param(
    "transmat_prior",
    1.0,
    "float or array-like of shape (n_components, n_components)",
    "Dirichlet concentrations of the rows of the transition matrix; 1.0 is maximum likelihood.",
    reals(),
)
ALGORITHM = Param(
    "algorithm",
    "viterbi",
    "{'viterbi', 'map'}",
    "Decoder used by :meth:`predict`.",
    one_of(*DECODERS),
)
N_ITER = Param(
    "n_iter",
    10,
    "int",
    "Largest number of EM iterations (0: the initial parameters alone).",
    integer(0),
)
TOL = Param(
    "tol",
    1e-2,
    "float",
    """
    Convergence threshold on the gain of the total log-likelihood (plus log prior) between
    two iterations; ``-inf`` runs exactly ``n_iter`` iterations.
    """,
    real(finite=False),
)
VERBOSE = Param(
    "verbose",
    False,
    "bool",
    "Print one line per iteration to stderr (hmmlearn's ``ConvergenceMonitor.report``).",
    _verbosity,
)
IMPLEMENTATION = Param(
    "implementation",
    "log",
    "{'log', 'scaling'}",
    """
    emkit has one numerically stable forward-backward (scaled, with per-step log shifts),
    used by both. 'scaling' refuses, as hmmlearn's does, samples whose emission probability
    underflows to zero in every state; 'log' scores them.
    """,
    one_of(*IMPLEMENTATIONS),
)
MIN_COVAR = Param(
    "min_covar",
    1e-3,
    "float",
    "Added to the variances of the initial covariances, as hmmlearn does.",
    real(0.0),
)
COVARIANCE_TYPE = Param(
    "covariance_type",
    "diag",
    "{'diag', 'full', 'tied', 'spherical'}",
    "",
    one_of("diag", "full", "tied", "spherical"),
)


def letters(name: str, default: str, doc: str) -> Param:
    """``params`` or ``init_params``: hmmlearn's letters, or parameter names (the face
    checks them against its own letters)."""
    return Param(name, default, "str or collection of str", doc, anything)


def parameter_letters(default: str, letters_doc: str) -> tuple[Param, Param]:
    """The ``params`` and ``init_params`` of a face whose letters are ``default``."""
    return (
        letters(
            "params",
            default,
            f"Parameters to update in fitting: {letters_doc}, or their names.",
        ),
        letters(
            "init_params",
            default,
            """
            Parameters to initialise before fitting (same letters or names). A parameter left
            out starts from the attribute set on the estimator, and is initialised when it
            is not set.
            """,
        ),
    )


ACCELERATE = Param(
    "accelerate",
    None,
    "{'squarem'} or None",
    "SQUAREM acceleration of EM (the bound stays monotone).",
    one_of(None, "squarem"),
)
EXTRAS = (
    N_INIT.with_doc("Fits from fresh initialisations; the one with the highest objective is kept."),
    N_JOBS.with_doc(
        "Threads over batches of sequences (None: all cores); results do not depend on it.",
    ),
    CHUNK_SIZE.with_doc("Observations per batch of whole sequences."),
    ACCELERATE,
    LEARNING_METHOD.with_doc(
        """
        'batch': Baum-Welch, every M-step from all the sequences. 'online': stepwise EM,
        an M-step after every mini-batch of whole sequences (of at most ``batch_size``
        observations), which converges in one or a few passes over many sequences;
        ``n_iter`` then counts passes, ``tol`` applies to the change of a pass's total
        log-likelihood, and ``lower_bounds_`` holds the mean log-likelihood of every batch
        (not monotone: each batch is scored before its own step).
        """
    ),
    BATCH_SIZE.with_doc("Observations per mini-batch of whole sequences of online EM."),
    LEARNING_DECAY,
    LEARNING_OFFSET,
)
"""emkit's parameters beyond hmmlearn's, keyword-only after them."""


def chain_tail(default_letters: str, letters_doc: str) -> tuple[Param, ...]:
    """The parameters every face ends with, in hmmlearn's order (``algorithm`` left out:
    GMMHMM puts ``covariance_type`` before ``random_state``)."""
    return (RANDOM_STATE, N_ITER, TOL, VERBOSE, *parameter_letters(default_letters, letters_doc))
