"""Component families: each scores data under K components at once and turns weighted
statistics into parameters, so that it serves as a mixture component
(:class:`emkit.Mixture`) and as a hidden Markov emission alike."""

from emkit.families.base import Family
from emkit.families.bernoulli import Bernoulli
from emkit.families.categorical import Categorical
from emkit.families.covariance import covariance_structure
from emkit.families.exponential import Exponential
from emkit.families.gaussian import Gaussian
from emkit.families.multinomial import Multinomial
from emkit.families.poisson import Poisson
from emkit.families.product import Product
from emkit.families.student import StudentT

__all__ = [
    "Bernoulli",
    "Categorical",
    "Exponential",
    "Family",
    "Gaussian",
    "Multinomial",
    "Poisson",
    "Product",
    "StudentT",
    "covariance_structure",
]
