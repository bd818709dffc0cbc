"""hmmlearn's ``hmm`` namespace: ``from emkit import hmm`` in place of ``from hmmlearn import
hmm`` gives emkit's hidden Markov models under the same names."""

from emkit.estimators.gmm_hmm import GMMHMM
from emkit.estimators.hmm import CategoricalHMM, GaussianHMM, MultinomialHMM, PoissonHMM
from emkit.estimators.hmm_monitor import ConvergenceMonitor

__all__ = [
    "GMMHMM",
    "CategoricalHMM",
    "ConvergenceMonitor",
    "GaussianHMM",
    "MultinomialHMM",
    "PoissonHMM",
]
