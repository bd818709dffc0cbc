"""emkit: latent-variable models fitted by Expectation-Maximization.

One EM engine (:func:`emkit.fit_em`), additive sufficient statistics, model families that plug
into mixtures and hidden Markov models, and estimators that follow scikit-learn's conventions.
"""

from emkit.core.batches import Sequences
from emkit.core.driver import EMResult, IterationInfo, fit_em
from emkit.estimators.base import load
from emkit.estimators.bayesian_gaussian_mixture import BayesianGaussianMixture
from emkit.estimators.gaussian_mixture import GaussianMixture
from emkit.estimators.gmm_hmm import GMMHMM
from emkit.estimators.hmm import CategoricalHMM, GaussianHMM, MultinomialHMM, PoissonHMM
from emkit.estimators.kmeans import KMeans
from emkit.estimators.mixtures import (
    BernoulliMixture,
    CategoricalMixture,
    ExponentialMixture,
    Mixture,
    MultinomialMixture,
    PoissonMixture,
)
from emkit.estimators.student_mixture import StudentMixture
from emkit.exceptions import (
    ConvergenceWarning,
    DegenerateFitError,
    MonotonicityWarning,
    NotFittedError,
)
from emkit.selection import ModelSelection, select_model

__version__ = "0.1.0"

__all__ = [
    "GMMHMM",
    "BayesianGaussianMixture",
    "BernoulliMixture",
    "CategoricalHMM",
    "CategoricalMixture",
    "ConvergenceWarning",
    "DegenerateFitError",
    "EMResult",
    "ExponentialMixture",
    "GaussianHMM",
    "GaussianMixture",
    "IterationInfo",
    "KMeans",
    "Mixture",
    "ModelSelection",
    "MonotonicityWarning",
    "MultinomialHMM",
    "MultinomialMixture",
    "NotFittedError",
    "PoissonHMM",
    "PoissonMixture",
    "Sequences",
    "StudentMixture",
    "__version__",
    "fit_em",
    "load",
    "select_model",
]
