"""Missing cells filled in from the observed ones: what every family says of a missing cell
given the component, and the mixture of it given the posterior of the components.

A structure (a mixture, an HMM) gives, for every row, the posterior ``r_k`` of each
component given the row's observed cells; the family gives the distribution of the missing
cells given the observed ones *and* the component. Then, for a cell of numbers,

- the imputation is the posterior mean ``E[x_m | x_o] = sum_k r_k E[x_m | x_o, k]``;
- its standard deviation is that of the mixture,
  ``Var[x_m | x_o] = sum_k r_k (Var[x_m | x_o, k] + (E[x_m | x_o, k] - E[x_m | x_o])^2)``
  (written so, as a sum of squares, rather than as ``E[x^2] - E[x]^2``, which cancels);
- a draw (multiple imputation) picks a component from ``r`` and then the missing cells from
  their conditional distribution under it, jointly.

What the families say given the component:

- Gaussian: the conditional Gaussian ``N(mu_km|o, C_kmm)`` of the missing coordinates
  given the observed ones (:func:`emkit.families.gaussian_missing.conditional_gaussians`).
- Bernoulli, Poisson, exponential: the columns are independent given the component, so a
  missing cell has the component's own distribution: the imputation is the probability of
  a 1 (Bernoulli; a number in [0, 1], not a rounded 0 or 1), the rate (Poisson; not
  rounded to a count) or the mean waiting time (exponential), mixed over the posterior;
  draws are zeros and ones, counts, waiting times.
- Categorical: a code's mean is no category, so the imputation is the most probable
  category under the posterior predictive ``p(x_c = l | x_o) = sum_k r_k probs[k, c, l]``
  (ties to the lower code), and its standard deviation is NaN (a category has none); draws
  are categories drawn from ``probs[k, c]`` of the drawn component.
- Product: every part fills its own columns; columns of no part are returned as they are
  (their standard deviation is NaN where missing: nothing models them).

Families declare their imputation here (:func:`register_imputation`); a family without one
cannot be imputed (:func:`imputation_for` says so).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from emkit.families.base import Family
from emkit.families.bernoulli import Bernoulli
from emkit.families.categorical import Categorical
from emkit.families.exponential import Exponential
from emkit.families.gaussian import Gaussian
from emkit.families.gaussian_missing import conditional_gaussians, conditional_moments
from emkit.families.poisson import Poisson
from emkit.families.product import Product

__all__ = ["Imputation", "imputation_for", "pick_components", "register_imputation"]


class Imputation(ABC):
    """How the missing cells of a family's data are filled in (see the module notes).

    Every method takes the family, its parameters for K components and rows ``X`` (n, D)
    of float64 with NaN where a cell is missing.
    """

    @abstractmethod
    def impute(
        self, family: Any, params: Any, X: np.ndarray, resp: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The imputed rows (n, D), observed cells as they are, and the conditional
        standard deviations (n, D), zero for observed cells, given the posterior ``resp``
        (n, K) of the components of every row."""

    @abstractmethod
    def draw(
        self,
        family: Any,
        params: Any,
        X: np.ndarray,
        components: np.ndarray,
        rng: np.random.RandomState,
    ) -> np.ndarray:
        """The rows (n, D) with their missing cells drawn from their conditional
        distribution under the component ``components[i]`` (shape (n,)) of every row, the
        observed cells as they are."""


def _mixed(
    X: np.ndarray, resp: np.ndarray, means: np.ndarray, variances: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean (n, D) and standard deviation (n, D) of every cell from the
    per-component conditional ``means`` and ``variances`` (n, K, D) and ``resp`` (n, K)."""
    mean = np.einsum("nk,nkd->nd", resp, means)
    spread = variances + (means - mean[:, None, :]) ** 2
    std = np.sqrt(np.einsum("nk,nkd->nd", resp, spread))
    observed = ~np.isnan(X)
    mean[observed] = X[observed]
    std[observed] = 0.0
    return mean, std


class GaussianImputation(Imputation):
    """The conditional Gaussian of the missing coordinates given the observed ones."""

    def impute(
        self, family: Gaussian, params: Any, X: np.ndarray, resp: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        means, variances = conditional_moments(
            family.covariance, params.means, params.covariances, X
        )
        return _mixed(X, resp, means, variances)

    def draw(
        self,
        family: Gaussian,
        params: Any,
        X: np.ndarray,
        components: np.ndarray,
        rng: np.random.RandomState,
    ) -> np.ndarray:
        out = X.copy()
        structure = family.covariance
        if not structure.matrices:
            # Independent coordinates within a component: one normal draw per missing cell.
            means, variances = conditional_moments(structure, params.means, params.covariances, X)
            rows = np.arange(X.shape[0])
            missing = np.isnan(X)
            noise = rng.standard_normal(X.shape)
            drawn = means[rows, components] + np.sqrt(variances[rows, components]) * noise
            out[missing] = drawn[missing]
            return out
        for c in conditional_gaussians(structure, params.means, params.covariances, X):
            chol = np.linalg.cholesky(c.covariances)
            picked = components[c.rows]
            noise = rng.standard_normal((c.rows.size, c.missing.size))
            drawn = c.means[picked, np.arange(c.rows.size)]
            drawn += np.einsum("nij,nj->ni", chol[picked], noise)
            out[np.ix_(c.rows, c.missing)] = drawn
        return out


class IndependentImputation(Imputation):
    """Families whose columns are independent given the component: a missing cell has the
    component's own distribution, whatever is observed."""

    @abstractmethod
    def moments(self, params: Any) -> tuple[np.ndarray, np.ndarray]:
        """The mean and variance of every column under every component, both (K, D)."""

    @abstractmethod
    def sample(self, params: Any, components: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
        """One draw of every column (n, D) under the component ``components[i]`` of every
        row."""

    def impute(
        self, family: Any, params: Any, X: np.ndarray, resp: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        mean, variance = self.moments(params)
        n = X.shape[0]
        means = np.broadcast_to(mean[None], (n, *mean.shape))
        variances = np.broadcast_to(variance[None], (n, *variance.shape))
        return _mixed(X, resp, means, variances)

    def draw(
        self,
        family: Any,
        params: Any,
        X: np.ndarray,
        components: np.ndarray,
        rng: np.random.RandomState,
    ) -> np.ndarray:
        out = X.copy()
        missing = np.isnan(X)
        drawn = self.sample(params, components, rng)
        out[missing] = drawn[missing]
        return out


class BernoulliImputation(IndependentImputation):
    """The probability of a 1; draws of zeros and ones."""

    def moments(self, params: Any) -> tuple[np.ndarray, np.ndarray]:
        p = np.asarray(params.probs, dtype=np.float64)
        return p, p * (1.0 - p)

    def sample(self, params: Any, components: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
        p = np.asarray(params.probs, dtype=np.float64)[components]
        return (rng.random_sample(p.shape) < p).astype(np.float64)


class PoissonImputation(IndependentImputation):
    """The rate; draws of counts."""

    def moments(self, params: Any) -> tuple[np.ndarray, np.ndarray]:
        rates = np.asarray(params.lambdas, dtype=np.float64)
        return rates, rates

    def sample(self, params: Any, components: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
        return rng.poisson(np.asarray(params.lambdas, dtype=np.float64)[components]).astype(
            np.float64
        )


class ExponentialImputation(IndependentImputation):
    """The mean waiting time ``1 / rate``; draws of waiting times."""

    def moments(self, params: Any) -> tuple[np.ndarray, np.ndarray]:
        scale = 1.0 / np.asarray(params.rates, dtype=np.float64)
        return scale, scale**2

    def sample(self, params: Any, components: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
        scale = 1.0 / np.asarray(params.rates, dtype=np.float64)[components]
        return rng.standard_exponential(scale.shape) * scale


class CategoricalImputation(Imputation):
    """The most probable category under the posterior predictive; draws of categories."""

    def impute(
        self, family: Categorical, params: Any, X: np.ndarray, resp: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        probs = np.asarray(params.probs, dtype=np.float64)
        predictive = np.einsum("nk,kcl->ncl", resp, probs)
        missing = np.isnan(X)
        out = X.copy()
        out[missing] = np.argmax(predictive, axis=2)[missing]
        # A row no component can produce has no posterior, and no most probable category.
        out[missing & np.isnan(resp[:, :1])] = np.nan
        std = np.where(missing, np.nan, 0.0)
        return out, std

    def draw(
        self,
        family: Categorical,
        params: Any,
        X: np.ndarray,
        components: np.ndarray,
        rng: np.random.RandomState,
    ) -> np.ndarray:
        probs = np.asarray(params.probs, dtype=np.float64)[components]
        cumulative = np.cumsum(probs, axis=2)
        u = rng.random_sample(X.shape)
        codes = (cumulative < u[:, :, None] * cumulative[:, :, -1:]).sum(axis=2)
        out = X.copy()
        missing = np.isnan(X)
        out[missing] = codes[missing]
        return out


class ProductImputation(Imputation):
    """Every part fills its own columns; columns of no part stay as they are."""

    def impute(
        self, family: Product, params: Any, X: np.ndarray, resp: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        out = X.copy()
        std = np.where(np.isnan(X), np.nan, 0.0)
        for part, columns, block, imputation in _parts(family, params, X):
            out[:, columns], std[:, columns] = imputation.impute(
                family.parts[part][0], params.parts[part], block, resp
            )
        return out, std

    def draw(
        self,
        family: Product,
        params: Any,
        X: np.ndarray,
        components: np.ndarray,
        rng: np.random.RandomState,
    ) -> np.ndarray:
        out = X.copy()
        for part, columns, block, imputation in _parts(family, params, X):
            out[:, columns] = imputation.draw(
                family.parts[part][0], params.parts[part], block, components, rng
            )
        return out


def _parts(family: Product, params: Any, X: np.ndarray) -> list[tuple[int, list, np.ndarray, Any]]:
    """``(index, columns, block, imputation)`` of every part of ``family`` with a missing
    cell in ``X``.

    Raises
    ------
    TypeError
        For a part with a missing cell whose family has no imputation.
    """
    parts = []
    for index, (part, columns) in enumerate(family.parts):
        block = X[:, list(columns)]
        if not np.isnan(block).any():
            continue
        parts.append((index, list(columns), block, imputation_for(part)))
    return parts


_IMPUTATIONS: dict[type, Imputation] = {}


def register_imputation(family_class: type, imputation: Imputation) -> None:
    """Declare how the missing cells of ``family_class``'s data (and its subclasses') are
    filled in."""
    if not (isinstance(family_class, type) and isinstance(imputation, Imputation)):
        raise TypeError(
            "register_imputation takes a family class and an Imputation, got "
            f"{family_class!r} and {imputation!r}"
        )
    _IMPUTATIONS[family_class] = imputation


def imputation_for(family: Any) -> Imputation:
    """The imputation ``family`` declares (through its class or a base class).

    Raises
    ------
    TypeError
        When it declares none.
    """
    for cls in type(family).__mro__:
        if cls in _IMPUTATIONS:
            return _IMPUTATIONS[cls]
    known = ", ".join(sorted(cls.__name__ for cls in _IMPUTATIONS))
    name = type(family).__name__ if isinstance(family, Family) else repr(family)
    raise TypeError(
        f"the {name} family says nothing of a missing cell given the observed ones, so its "
        f"missing cells cannot be imputed; families that can: {known} (and products of them)"
    )


def pick_components(resp: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """One component per row (n,) drawn from the posterior ``resp`` (n, K); a row of NaN
    (no posterior) gets component 0, its draws to be discarded by the caller."""
    cumulative = np.cumsum(np.nan_to_num(resp, nan=0.0), axis=1)
    u = rng.random_sample(resp.shape[0]) * cumulative[:, -1]
    picked = (cumulative <= u[:, None]).sum(axis=1)
    # u below the total makes picked < K; u equal to it (round-off) would not.
    return np.minimum(picked, resp.shape[1] - 1)


register_imputation(Gaussian, GaussianImputation())
register_imputation(Bernoulli, BernoulliImputation())
register_imputation(Poisson, PoissonImputation())
register_imputation(Exponential, ExponentialImputation())
register_imputation(Categorical, CategoricalImputation())
register_imputation(Product, ProductImputation())
