"""Everything the command line knows about particular models, as data.

The commands, the parser and the summaries hold no model names: they read the tables of this
module. :data:`FACES` describes every estimator class the command line builds or reads from a
model file (what it is called, what its rows are, which parameter tables a summary shows, what
data its family reads); :data:`MODELS` maps the names of ``--model`` (and of ``--emission`` for
hidden Markov models) to those classes; :data:`OPTIONS` says which options of ``emkit fit``
apply to which models and how they become the estimator's hyperparameters.

Estimator classes are named by module and class name and imported only when a command builds
one, so that reading this module (as the parser does) imports neither the estimators nor
scikit-learn.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "COVARIANCE_TYPES",
    "DIAGONAL_COVARIANCES",
    "FACES",
    "FOUR_COVARIANCE_TYPES",
    "MODELS",
    "OPTIONS",
    "DataRule",
    "Face",
    "Model",
    "Option",
    "ParameterTable",
    "estimator_class",
    "face_of",
    "model_key",
]

# emkit.families.covariance.COVARIANCE_STRUCTURES, by name (a test keeps them equal): the
# parser offers them without importing the families.
COVARIANCE_TYPES = (
    "full",
    "tied",
    "diag",
    "spherical",
    "EII",
    "VII",
    "EEI",
    "VEI",
    "EVI",
    "VVI",
    "EEE",
    "VEE",
    "EVE",
    "VVE",
    "EEV",
    "VEV",
    "EVV",
    "VVV",
)
# Hidden Markov models and the variational mixture take hmmlearn's and scikit-learn's four
# (their conjugate priors have no other form).
FOUR_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
# Covariance models whose matrices are diagonal (mclust's orientation 'I'): a summary shows
# their variances, not matrices.
DIAGONAL_COVARIANCES = frozenset({"spherical", "diag", "EII", "VII", "EEI", "VEI", "EVI", "VVI"})
# Shared by every component: a summary shows one matrix.
SHARED_COVARIANCES = frozenset({"tied", "EEE"})
COVARIANCE_WORDS = {"full": "full", "tied": "tied", "diag": "diagonal", "spherical": "spherical"}
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data", "hc")
# Starts that give the same parameters whatever the seed: restarts repeat the same fit.
DETERMINISTIC_INITS = frozenset({"hc"})
WEIGHT_PRIORS = {
    "dirichlet-process": "dirichlet_process",
    "dirichlet-distribution": "dirichlet_distribution",
}
WEIGHT_PRIOR_WORDS = {
    "dirichlet_process": "Dirichlet process weight prior",
    "dirichlet_distribution": "Dirichlet distribution weight prior",
}
# emkit.selection's DEFAULT_MAX_ITER and DEFAULT_TOL (a test keeps them equal), for the help
# of 'emkit select'.
SELECT_MAX_ITER = 1000
SELECT_TOL = 1e-6
# Restarts when --n-init is not given: on the bundled Old Faithful data three cost a few
# milliseconds more than one (benchmarks/README.md) and find the best maximum far more often.
DEFAULT_N_INIT = 3


# --------------------------------------------------------------------------------------- #
# What a family reads
# --------------------------------------------------------------------------------------- #


def _not_counts(X: np.ndarray) -> np.ndarray:
    return (X != np.floor(X)) | (X < 0)


def _not_binary(X: np.ndarray) -> np.ndarray:
    return (X != 0) & (X != 1)


def _negative(X: np.ndarray) -> np.ndarray:
    return X < 0


@dataclass(frozen=True)
class DataRule:
    """The values a discrete or non-negative family reads.

    Attributes
    ----------
    invalid : callable
        ``invalid(X)``, bool of the shape of ``X`` (n_samples, n_features): True where a value
        cannot be read.
    words : str
        What the family takes, as the error message says it.
    """

    invalid: Callable[[np.ndarray], np.ndarray]
    words: str


@dataclass(frozen=True)
class KnownCodes:
    """The codes a fitted categorical model knows: ``codes(estimator)`` gives, for every
    feature, how many (codes 0 to that number - 1)."""

    codes: Callable[[Any], Any]
    word: str
    words: str


# --------------------------------------------------------------------------------------- #
# Estimator classes
# --------------------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ParameterTable:
    """One table of fitted parameters, one row per component (or state, or cluster).

    Attributes
    ----------
    title : str
        The line above the table.
    columns : tuple of (str, str)
        ``(attribute, layout)`` for each group of columns, in order. Layouts: ``'features'``,
        an array (n_components, n_features) shown under the feature names; ``'diagonal'``, the
        diagonals of (n_components, n_features, n_features) matrices, under the feature names;
        ``'symbols'``, an array (n_components, n_symbols) under the symbol codes;
        ``'categories'``, probabilities (n_components, n_features, n_categories) under
        ``feature=code``; ``'=NAME'``, an array (n_components,) as one column ``NAME``.
    weights : bool
        Whether a column ``weight`` (the attribute ``weights_``) follows the row number.
    """

    title: str
    columns: tuple[tuple[str, str], ...]
    weights: bool = True


@dataclass(frozen=True)
class Face:
    """What the command line knows of one estimator class.

    Attributes
    ----------
    name : str
        The class name, as model files store it.
    module : str
        The module that defines the class.
    kind : {'mixture', 'variational', 'clustering', 'hmm'}
        How it is scored: a likelihood with information criteria, an evidence lower bound,
        an inertia, or a likelihood of sequences.
    title : str
        What a summary calls it.
    unit : str
        What its components are called: component, cluster or state.
    tables : tuple of ParameterTable
        The tables of fitted parameters a summary shows.
    components : str
        The hyperparameter holding the number of components.
    emissions : str
        For hidden Markov models, what the states emit (a summary's words).
    symbols : bool
        Whether the emissions are symbols, counted in the description.
    spread : tuple of str
        The titles of its covariance tables, if it has ``covariances_``: a matrix of component
        ``{j}``, the matrix every component shares, and the variances by component of
        diagonal covariances.
    data_rule : DataRule or None
        The values its family reads; None for any real number.
    known_codes : KnownCodes or None
        The codes a fitted model knows, for categorical families.
    one_column : str
        Non-empty when the family reads one column only: what that column holds.
    squares : bool
        Whether fitting squares the data (Gaussian families, k-means): values beyond the
        square root of the largest float overflow.
    """

    name: str
    module: str
    kind: str
    title: str
    unit: str
    tables: tuple[ParameterTable, ...]
    components: str = "n_components"
    emissions: str = ""
    symbols: bool = False
    spread: tuple[str, str, str] = (
        "covariance of component {j}",
        "covariance of every component",
        "variances by component",
    )
    data_rule: DataRule | None = None
    known_codes: KnownCodes | None = None
    one_column: str = ""
    squares: bool = False


_MEANS = ParameterTable("means by component", (("means_", "features"),))
_CATEGORIES = KnownCodes(lambda est: est.n_categories_, "category", "categories")
_SYMBOLS = KnownCodes(lambda est: np.shape(est.emissionprob_)[1:], "symbol", "symbols")
_COUNTS = "counts (whole numbers >= 0)"
_HMM = "emkit.estimators.hmm"

FACES: dict[str, Face] = {
    face.name: face
    for face in (
        Face(
            "GaussianMixture",
            "emkit.estimators.gaussian_mixture",
            "mixture",
            "Gaussian mixture",
            "component",
            (_MEANS,),
            squares=True,
        ),
        Face(
            "StudentMixture",
            "emkit.estimators.student_mixture",
            "mixture",
            "Student-t mixture",
            "component",
            (
                ParameterTable(
                    "degrees of freedom (dof) and locations by component",
                    (("dof_", "=dof"), ("means_", "features")),
                ),
            ),
            spread=(
                "scale matrix of component {j}",
                "scale matrix of every component",
                "scale matrix diagonals by component",
            ),
            squares=True,
        ),
        Face(
            "BayesianGaussianMixture",
            "emkit.estimators.bayesian_gaussian_mixture",
            "variational",
            "variational Bayesian Gaussian mixture",
            "component",
            (_MEANS,),
            squares=True,
        ),
        Face(
            "BernoulliMixture",
            "emkit.estimators.mixtures",
            "mixture",
            "Bernoulli mixture",
            "component",
            (ParameterTable("probabilities of 1 by component", (("probs_", "features"),)),),
            data_rule=DataRule(_not_binary, "a Bernoulli mixture takes 0s and 1s"),
        ),
        Face(
            "CategoricalMixture",
            "emkit.estimators.mixtures",
            "mixture",
            "categorical mixture",
            "component",
            (
                ParameterTable(
                    "category probabilities by component (feature=code)",
                    (("probs_", "categories"),),
                ),
            ),
            data_rule=DataRule(
                _not_counts, "a categorical mixture takes integer category codes 0, 1, 2, ..."
            ),
            known_codes=_CATEGORIES,
        ),
        Face(
            "MultinomialMixture",
            "emkit.estimators.mixtures",
            "mixture",
            "multinomial mixture",
            "component",
            (ParameterTable("category probabilities by component", (("probs_", "features"),)),),
            data_rule=DataRule(_not_counts, f"a multinomial mixture takes {_COUNTS}"),
        ),
        Face(
            "PoissonMixture",
            "emkit.estimators.mixtures",
            "mixture",
            "Poisson mixture",
            "component",
            (ParameterTable("rates by component", (("lambdas_", "features"),)),),
            data_rule=DataRule(_not_counts, f"a Poisson mixture takes {_COUNTS}"),
        ),
        Face(
            "ExponentialMixture",
            "emkit.estimators.mixtures",
            "mixture",
            "exponential mixture",
            "component",
            (ParameterTable("rates by component", (("rates_", "features"),)),),
            data_rule=DataRule(_negative, "an exponential mixture takes numbers >= 0"),
        ),
        Face(
            "KMeans",
            "emkit.estimators.kmeans",
            "clustering",
            "k-means",
            "cluster",
            (ParameterTable("cluster centres", (("cluster_centers_", "features"),), False),),
            components="n_clusters",
            squares=True,
        ),
        Face(
            "GaussianHMM",
            _HMM,
            "hmm",
            "hidden Markov model",
            "state",
            (
                ParameterTable("means by state", (("means_", "features"),), False),
                ParameterTable("variances by state", (("covars_", "diagonal"),), False),
            ),
            emissions="Gaussian",
            squares=True,
        ),
        Face(
            "GMMHMM",
            "emkit.estimators.gmm_hmm",
            "hmm",
            "hidden Markov model",
            "state",
            # Shown by state and mixture component (emkit.cli.summary).
            (),
            emissions="Gaussian-mixture",
            squares=True,
        ),
        Face(
            "CategoricalHMM",
            _HMM,
            "hmm",
            "hidden Markov model",
            "state",
            (
                ParameterTable(
                    "symbol probabilities by state", (("emissionprob_", "symbols"),), False
                ),
            ),
            emissions="categorical",
            symbols=True,
            data_rule=DataRule(
                _not_counts, "categorical emissions take integer symbol codes 0, 1, 2, ..."
            ),
            known_codes=_SYMBOLS,
            one_column="integer symbol codes",
        ),
        Face(
            "PoissonHMM",
            _HMM,
            "hmm",
            "hidden Markov model",
            "state",
            (ParameterTable("rates by state", (("lambdas_", "features"),), False),),
            emissions="Poisson",
            data_rule=DataRule(_not_counts, f"Poisson emissions take {_COUNTS}"),
        ),
        Face(
            "MultinomialHMM",
            _HMM,
            "hmm",
            "hidden Markov model",
            "state",
            (
                ParameterTable(
                    "emission probabilities by state", (("emissionprob_", "features"),), False
                ),
            ),
            emissions="multinomial",
            data_rule=DataRule(_not_counts, f"multinomial emissions take {_COUNTS}"),
        ),
    )
}


def face_of(estimator: Any) -> Face:
    """The face of a fitted or loaded ``estimator``."""
    return FACES[type(estimator).__name__]


def estimator_class(face: Face) -> type:
    """The class of ``face``, imported now."""
    return getattr(importlib.import_module(face.module), face.name)


# --------------------------------------------------------------------------------------- #
# The names of --model and --emission
# --------------------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Model:
    """One name of ``--model``.

    Attributes
    ----------
    help : str
        Its words in ``emkit fit --help``.
    faces : dict of str to str
        The class it builds: under the key ``''``, or by ``--emission`` for hidden Markov
        models, the first being the default.
    max_iter : int or None
        ``--max-iter`` when not given; None for the estimator's own default.
    iterations : str
        The hyperparameter ``--max-iter`` sets.
    article : str
        'a' or 'an', before the model's name in messages.
    """

    help: str
    faces: dict[str, str]
    max_iter: int | None = None
    iterations: str = "max_iter"
    article: str = "a"


MODELS: dict[str, Model] = {
    "gmm": Model("Gaussian mixture", {"": "GaussianMixture"}),
    "kmeans": Model("k-means clustering", {"": "KMeans"}),
    # The estimators' n_iter=10 follows hmmlearn, and stops most fits of real data before they
    # converge; the command line gives them as many iterations as a gmm.
    "hmm": Model(
        "hidden Markov model",
        {
            "gaussian": "GaussianHMM",
            "gmm": "GMMHMM",
            "categorical": "CategoricalHMM",
            "poisson": "PoissonHMM",
            "multinomial": "MultinomialHMM",
        },
        max_iter=100,
        iterations="n_iter",
        article="an",
    ),
    "student": Model("mixture of multivariate Student-t distributions", {"": "StudentMixture"}),
    "bayesian-gmm": Model("variational Bayesian Gaussian mixture", {"": "BayesianGaussianMixture"}),
    "bernoulli": Model("mixture of independent binary (0/1) features", {"": "BernoulliMixture"}),
    "categorical": Model(
        "mixture of independent columns of integer category codes 0, 1, 2, ...",
        {"": "CategoricalMixture"},
    ),
    "multinomial": Model("mixture of multinomial count vectors", {"": "MultinomialMixture"}),
    "poisson": Model("mixture of independent Poisson counts", {"": "PoissonMixture"}),
    "exponential": Model(
        "mixture of independent exponential waiting times", {"": "ExponentialMixture"}
    ),
}
EMISSIONS = tuple(MODELS["hmm"].faces)
DEFAULT_EMISSION = EMISSIONS[0]


def model_key(model: str, emission: str | None) -> str:
    """The face key of ``--model`` and ``--emission``: ``''``, or the emission (default
    first)."""
    faces = MODELS[model].faces
    if "" in faces:
        return ""
    return emission or next(iter(faces))


def model_face(model: str, emission: str | None) -> Face:
    """The face that ``--model model --emission emission`` builds."""
    return FACES[MODELS[model].faces[model_key(model, emission)]]


# --------------------------------------------------------------------------------------- #
# Options that only some models take
# --------------------------------------------------------------------------------------- #

_MIXTURES = frozenset(
    name for name, model in MODELS.items() if model.faces.get("") not in (None, "KMeans")
)
_COVARIANCE_MODELS = frozenset({"gmm", "student", "bayesian-gmm"})


@dataclass(frozen=True)
class Scope:
    """The models an option applies to: names of ``--model``, or ``'hmm:EMISSION'``."""

    text: str
    models: frozenset[str]

    def applies(self, model: str, emission: str) -> bool:
        return model in self.models or f"{model}:{emission}" in self.models


_SCOPES = {
    "mixture": Scope("the mixtures only (every --model but kmeans and hmm)", _MIXTURES),
    "covariance": Scope("--model gmm, student or bayesian-gmm only", _COVARIANCE_MODELS),
    "gaussian": Scope(
        "--model gmm, student or bayesian-gmm only (and to --model hmm with --emission "
        "gaussian or gmm)",
        _COVARIANCE_MODELS | {"hmm:gaussian", "hmm:gmm"},
    ),
    "student": Scope("--model student only", frozenset({"student"})),
    "bayesian-gmm": Scope("--model bayesian-gmm only", frozenset({"bayesian-gmm"})),
    "hmm": Scope("--model hmm only", frozenset({"hmm"})),
    "hmm-gmm": Scope("--model hmm --emission gmm only", frozenset({"hmm:gmm"})),
}


def _same(name: str) -> Callable[[Any], dict[str, Any]]:
    return lambda value: {name: value}


def _none(value: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Option:
    """An option of ``emkit fit`` that only some models take.

    Attributes
    ----------
    dest : str
        Its attribute in the parsed arguments.
    flag : str
        The option, as the user writes it.
    scope : Scope
        The models it applies to.
    params : callable
        Its value to the estimator's hyperparameters (empty: it does not reach them).
    """

    dest: str
    flag: str
    scope: Scope
    params: Callable[[Any], dict[str, Any]] = field(default=_none)


OPTIONS = (
    Option("covariance_type", "--covariance-type", _SCOPES["gaussian"], _same("covariance_type")),
    Option("reg_covar", "--reg-covar", _SCOPES["covariance"], _same("reg_covar")),
    Option("init_params", "--init-params", _SCOPES["mixture"], _same("init_params")),
    Option(
        "fixed_dof",
        "--fixed-dof",
        _SCOPES["student"],
        lambda nu: {"dof_init": nu, "fixed_dof": True},
    ),
    Option(
        "weight_prior",
        "--weight-prior",
        _SCOPES["bayesian-gmm"],
        lambda prior: {"weight_concentration_prior_type": WEIGHT_PRIORS[prior]},
    ),
    Option("emission", "--emission", _SCOPES["hmm"]),
    Option("sequence_column", "--sequence-column", _SCOPES["hmm"]),
    Option("n_mix", "--n-mix", _SCOPES["hmm-gmm"], _same("n_mix")),
)
# The models that take four covariance types only, as an error names them.
FOUR_COVARIANCE_MODELS = {"hmm": "an hmm", "bayesian-gmm": "a bayesian-gmm"}
# The option that regularises covariances, for the hints of error messages; hidden Markov
# models have none on the command line.
REGULARISATION_OPTION = {name: "--reg-covar" for name in _COVARIANCE_MODELS}
