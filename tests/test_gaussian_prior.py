"""The Gaussian family's conjugate prior (hmmlearn's parameterisation): the posterior-mode
M-step maximises the expected log-likelihood plus :meth:`Gaussian.log_prior`, so the bound EM
reports, the log posterior, never decreases."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from emkit import fit_em
from emkit.families.covariance import covariance_structure
from emkit.families.gaussian import Gaussian, GaussianPrior
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture
from emkit.testing.conformance import check_monotone_bound, run_all

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
K, D = 3, 3


def _data(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [2.5, 1.0, -1.0], [0.5, 3.0, 1.5]])
    labels = rng.choice(K, size=n, p=[0.5, 0.3, 0.2])
    return centres[labels] + rng.standard_normal((n, D)) @ np.diag([1.0, 0.6, 0.8])


def _prior(covariance_type: str) -> GaussianPrior:
    rng = np.random.default_rng(1)
    psi = {
        "full": 0.3 * np.eye(D) + 0.05,  # hmmlearn adds a number to every entry
        "tied": 0.4 * np.eye(D),
        "diag": rng.uniform(0.1, 0.5, size=(K, D)),
        "spherical": rng.uniform(0.1, 0.5, size=K),
    }[covariance_type]
    return GaussianPrior(
        means_prior=rng.normal(size=(K, D)),
        means_weight=np.array([2.0, 0.5, 5.0]),
        covars_prior=psi,
        covars_weight=D + 4.0,
    )


def _family(covariance_type: str) -> Gaussian:
    return Gaussian(
        covariance_structure(covariance_type), reg_covar=0.0, prior=_prior(covariance_type)
    )


def _objective(family, params, X, resp) -> float:
    """Expected complete-data log-likelihood (Gaussian part) plus the log prior."""
    return float((resp * family.log_prob(params, X)).sum()) + family.log_prior(params)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_maximises_the_expected_log_posterior(covariance_type):
    family = _family(covariance_type)
    X = _data()
    resp = np.random.default_rng(2).dirichlet(np.ones(K), size=X.shape[0])
    start = Mixture(family, K, initializer("kmeans")).init(X, np.random.RandomState(0))
    start = start.components
    best = family.m_step(family.stats(start, X, resp), start)
    top = _objective(family, best, X, resp)
    rng = np.random.default_rng(3)
    structure = family.covariance
    for _ in range(20):
        means = best.means + 1e-3 * rng.normal(size=best.means.shape)
        noise = 1e-3 * rng.normal(size=np.shape(best.covariances))
        if covariance_type in ("full", "tied"):
            noise = noise + np.swapaxes(noise, -1, -2)
        covariances = best.covariances + noise * np.abs(best.covariances).mean()
        moved = structure.precisions_cholesky(covariances)
        other = type(best)(means, covariances, moved)
        assert _objective(family, other, X, resp) < top
    # Each direction alone too: the means with the covariances fixed, and the reverse.
    for other in (
        type(best)(best.means + 1e-4, best.covariances, best.precisions_cholesky),
        family.from_covariances(best.means, best.covariances * 1.001),
        family.from_covariances(best.means, best.covariances * 0.999),
    ):
        assert _objective(family, other, X, resp) < top


@pytest.mark.parametrize("accelerate", [None, "squarem"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_bound_is_the_log_posterior_and_never_decreases(covariance_type, accelerate):
    model = Mixture(_family(covariance_type), K, initializer("kmeans"))
    assert model.monotone
    X = _data(seed=4)
    if accelerate is None:
        result = check_monotone_bound(model, X, max_iter=60)
    else:
        result = fit_em(model, X, random_state=0, tol=0.0, max_iter=60, accelerate=accelerate)
        assert np.all(np.diff(result.lower_bounds) >= -1e-12 * np.abs(result.lower_bounds[1:]))
    loglik = model.log_prob(result.params, X).sum()
    log_prior = model.family.log_prior(result.params.components)
    assert log_prior != 0.0
    assert_allclose(result.lower_bound, (loglik + log_prior) / X.shape[0], rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_mixture_with_the_prior_conforms(covariance_type):
    model = Mixture(_family(covariance_type), K, initializer("kmeans"))
    X = _data(seed=5)
    run_all(model, X, model.init(X, np.random.RandomState(0)), monotone_max_iter=30)


def test_without_a_prior_the_log_prior_is_zero():
    family = Gaussian(covariance_structure("full"), reg_covar=0.0)
    params = family.from_covariances(np.zeros((2, 2)), np.stack([np.eye(2)] * 2))
    assert family.log_prior(params) == 0.0
