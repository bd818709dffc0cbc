"""emkit: latent-variable models fitted by Expectation-Maximization.

One EM engine (:func:`emkit.fit_em`), additive sufficient statistics, model families that plug
into mixtures and hidden Markov models, and estimators that follow scikit-learn's conventions.
"""

from emkit.core.batches import Sequences
from emkit.core.driver import EMResult, IterationInfo, fit_em
from emkit.estimators.base import load
from emkit.estimators.gaussian_mixture import GaussianMixture
from emkit.estimators.gmm_hmm import GMMHMM
from emkit.estimators.hmm import CategoricalHMM, GaussianHMM, MultinomialHMM, PoissonHMM
from emkit.estimators.kmeans import KMeans
from emkit.exceptions import ConvergenceWarning, MonotonicityWarning, NotFittedError

__version__ = "0.1.0"

__all__ = [
    "GMMHMM",
    "CategoricalHMM",
    "ConvergenceWarning",
    "EMResult",
    "GaussianHMM",
    "GaussianMixture",
    "IterationInfo",
    "KMeans",
    "MonotonicityWarning",
    "MultinomialHMM",
    "NotFittedError",
    "PoissonHMM",
    "Sequences",
    "__version__",
    "fit_em",
    "load",
]
