"""emkit: latent-variable models fitted by Expectation-Maximization.

One EM engine (:func:`emkit.fit_em`), additive sufficient statistics, model families that plug
into mixtures and hidden Markov models, and estimators that follow scikit-learn's conventions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Where every public name lives. `import emkit` imports none of them (nor scikit-learn, SciPy
# or Numba): a name's module is imported when the name is first used.
_LOCATIONS = {
    "Sequences": "emkit.core.batches",
    "EMResult": "emkit.core.driver",
    "IterationInfo": "emkit.core.driver",
    "fit_em": "emkit.core.driver",
    "config_context": "emkit.config",
    "get_config": "emkit.config",
    "load": "emkit.estimators.base",
    "BayesianGaussianMixture": "emkit.estimators.bayesian_gaussian_mixture",
    "EMImputer": "emkit.estimators.em_imputer",
    "FactorAnalysis": "emkit.estimators.factor_analysis",
    "PPCA": "emkit.estimators.ppca",
    "GaussianMixture": "emkit.estimators.gaussian_mixture",
    "GMMHMM": "emkit.estimators.gmm_hmm",
    "HMM": "emkit.estimators.generic_hmm",
    "CategoricalHMM": "emkit.estimators.hmm",
    "GaussianHMM": "emkit.estimators.hmm",
    "MultinomialHMM": "emkit.estimators.hmm",
    "PoissonHMM": "emkit.estimators.hmm",
    "KMeans": "emkit.estimators.kmeans",
    "LatentDirichletAllocation": "emkit.estimators.lda",
    "PLSA": "emkit.estimators.plsa",
    "BernoulliMixture": "emkit.estimators.mixtures",
    "CategoricalMixture": "emkit.estimators.mixtures",
    "ExponentialMixture": "emkit.estimators.mixtures",
    "Mixture": "emkit.estimators.mixtures",
    "MultinomialMixture": "emkit.estimators.mixtures",
    "PoissonMixture": "emkit.estimators.mixtures",
    "StudentMixture": "emkit.estimators.student_mixture",
    "open_data": "emkit.execution.files",
    "Corpus": "emkit.io.corpus",
    "corpus_from_texts": "emkit.io.corpus",
    "read_corpus": "emkit.io.corpus",
    "stream_corpus": "emkit.io.corpus_stream",
    "ConvergenceWarning": "emkit.exceptions",
    "DegenerateFitError": "emkit.exceptions",
    "MonotonicityWarning": "emkit.exceptions",
    "NotFittedError": "emkit.exceptions",
    "ModelSelection": "emkit.selection",
    "select_model": "emkit.selection",
}
_SUBMODULES = ("hmm",)

if TYPE_CHECKING:
    from emkit.config import config_context, get_config
    from emkit.core.batches import Sequences
    from emkit.core.driver import EMResult, IterationInfo, fit_em
    from emkit.estimators.base import load
    from emkit.estimators.bayesian_gaussian_mixture import BayesianGaussianMixture
    from emkit.estimators.em_imputer import EMImputer
    from emkit.estimators.factor_analysis import FactorAnalysis
    from emkit.estimators.gaussian_mixture import GaussianMixture
    from emkit.estimators.generic_hmm import HMM
    from emkit.estimators.gmm_hmm import GMMHMM
    from emkit.estimators.hmm import CategoricalHMM, GaussianHMM, MultinomialHMM, PoissonHMM
    from emkit.estimators.kmeans import KMeans
    from emkit.estimators.lda import LatentDirichletAllocation
    from emkit.estimators.mixtures import (
        BernoulliMixture,
        CategoricalMixture,
        ExponentialMixture,
        Mixture,
        MultinomialMixture,
        PoissonMixture,
    )
    from emkit.estimators.plsa import PLSA
    from emkit.estimators.ppca import PPCA
    from emkit.estimators.student_mixture import StudentMixture
    from emkit.exceptions import (
        ConvergenceWarning,
        DegenerateFitError,
        MonotonicityWarning,
        NotFittedError,
    )
    from emkit.execution.files import open_data
    from emkit.io.corpus import Corpus, corpus_from_texts, read_corpus
    from emkit.io.corpus_stream import stream_corpus
    from emkit.selection import ModelSelection, select_model


def __getattr__(name: str) -> Any:
    if name in _LOCATIONS:
        value = getattr(importlib.import_module(_LOCATIONS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"emkit.{name}")
    else:
        raise AttributeError(f"module 'emkit' has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LOCATIONS, *_SUBMODULES})


__version__ = "0.1.0"

__all__ = [
    "GMMHMM",
    "HMM",
    "PLSA",
    "PPCA",
    "BayesianGaussianMixture",
    "BernoulliMixture",
    "CategoricalHMM",
    "CategoricalMixture",
    "ConvergenceWarning",
    "Corpus",
    "DegenerateFitError",
    "EMImputer",
    "EMResult",
    "ExponentialMixture",
    "FactorAnalysis",
    "GaussianHMM",
    "GaussianMixture",
    "IterationInfo",
    "KMeans",
    "LatentDirichletAllocation",
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
    "config_context",
    "corpus_from_texts",
    "fit_em",
    "get_config",
    "load",
    "open_data",
    "read_corpus",
    "select_model",
    "stream_corpus",
]
