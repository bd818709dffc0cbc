"""The conformance checks of emkit.testing run on the Gaussian mixtures and k-means, and
bite on deliberately broken models."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from emkit import GaussianMixture, KMeans, fit_em
from emkit.core.driver import ROUNDOFF
from emkit.families.gaussian import Gaussian
from emkit.models.initialization import initializer
from emkit.models.kmeans import KMeansModel
from emkit.models.mixture import Mixture
from emkit.testing.conformance import (
    MONOTONE_RTOL,
    check_chunked_statistics,
    check_estimator_contract,
    check_float32_agrees,
    check_loglik_matches_log_prob,
    check_monotone_bound,
    check_reproducible,
    check_sample_weight_repeats,
    run_all,
)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def _simulate(n: int = 600, seed: int = 0) -> np.ndarray:
    """Three overlapping, differently shaped clusters in 3-D."""
    rng = np.random.RandomState(seed)
    means = np.array([[0.0, 0.0, 0.0], [2.0, 1.0, 0.0], [0.5, 2.0, 1.5]])
    scales = [
        np.diag([1.0, 0.5, 0.8]),
        np.array([[0.7, 0.3, 0.0], [0.0, 0.6, 0.2], [0.1, 0.0, 0.9]]),
        0.6 * np.eye(3),
    ]
    labels = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    return means[labels] + np.einsum(
        "nij,nj->ni", np.stack(scales)[labels], rng.standard_normal((n, 3))
    )


X = _simulate()
WEIGHTS = np.random.RandomState(1).uniform(0.2, 3.0, size=X.shape[0])


def _mixture(covariance: str) -> Mixture:
    return Mixture(Gaussian(covariance, reg_covar=0.0), 3, initializer("kmeans"))


def _params(model, sample_weight=None):
    return model.init(X, np.random.RandomState(0), sample_weight)


# --------------------------------------------------------------------------------------
# The models conform
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_gaussian_mixture_conforms(covariance, weighted):
    model = _mixture(covariance)
    w = WEIGHTS if weighted else None
    run_all(model, X, _params(model, w), sample_weight=w)


@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
def test_gaussian_mixture_hard_em_conforms(covariance):
    model = _mixture(covariance)
    run_all(model, X, _params(model), hard=True)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_kmeans_model_conforms(weighted):
    model = KMeansModel(3)
    w = WEIGHTS if weighted else None
    run_all(model, X, _params(model, w), sample_weight=w, hard=True)


def test_float32_data_is_accumulated_in_float64():
    model = _mixture("full")
    check_float32_agrees(model, _params(model), X.astype(np.float32), rtol=1e-6)


def test_reproducible_with_restarts():
    check_reproducible(_mixture("diag"), X, random_state=3, n_init=3, max_iter=5, tol=0.0)


@pytest.mark.parametrize(
    "estimator",
    [
        GaussianMixture(3),
        GaussianMixture(3, covariance_type="diag", hard=True),
        KMeans(3, n_init=2),
    ],
    ids=["gmm", "gmm-hard", "kmeans"],
)
def test_estimators_keep_their_contract(estimator):
    check_estimator_contract(estimator, X)


# --------------------------------------------------------------------------------------
# The checks bite
# --------------------------------------------------------------------------------------
class _Wrapped:
    """Delegates the model contract to a working model; subclasses break one part."""

    def __init__(self, inner):
        self.inner = inner

    @property
    def monotone(self):
        return self.inner.monotone

    def init(self, X, random_state, sample_weight=None):
        return self.inner.init(X, random_state, sample_weight)

    def e_step(self, params, X, sample_weight=None, *, hard=False):
        return self.inner.e_step(params, X, sample_weight, hard=hard)

    def m_step(self, stats, params):
        return self.inner.m_step(stats, params)

    def log_prob(self, params, X):
        return self.inner.log_prob(params, X)


def _shift_means(params, delta):
    comps = params.components
    return replace(params, components=replace(comps, means=comps.means + delta))


class _ShiftsEveryOtherMStep(_Wrapped):
    """Every second M-step moves the means away from the maximiser by ``delta``."""

    def __init__(self, inner, delta):
        super().__init__(inner)
        self.delta = delta
        self.calls = 0

    def m_step(self, stats, params):
        self.calls += 1
        new = self.inner.m_step(stats, params)
        return _shift_means(new, self.delta) if self.calls % 2 == 0 else new


class _PseudoCountInEStep(_Wrapped):
    """Adds a prior pseudo-count in every E-step instead of once in the M-step."""

    def e_step(self, params, X, sample_weight=None, *, hard=False):
        stats, loglik = self.inner.e_step(params, X, sample_weight, hard=hard)
        return replace(stats, sum_w=stats.sum_w + 1.0), loglik


class _AccumulatesInDataDtype(_Wrapped):
    """Returns statistics in the dtype of the data."""

    def e_step(self, params, X, sample_weight=None, *, hard=False):
        stats, loglik = self.inner.e_step(params, X, sample_weight, hard=hard)
        return replace(stats, sum_w=stats.sum_w.astype(X.dtype)), loglik


class _RoundsFloat32Scores(_Wrapped):
    """Scores float32 data against parameters rounded to float16."""

    def e_step(self, params, X, sample_weight=None, *, hard=False):
        if X.dtype == np.float32:
            comps = params.components
            params = replace(
                params,
                components=replace(comps, means=comps.means.astype(np.float16).astype(np.float64)),
            )
        return self.inner.e_step(params, X, sample_weight, hard=hard)


class _UnseededInit(_Wrapped):
    """Initialises from fresh operating-system entropy instead of the given generator."""

    def init(self, X, random_state, sample_weight=None):
        return self.inner.init(
            X, np.random.RandomState(np.random.SeedSequence().entropy % 2**32), sample_weight
        )


class _IgnoresWeights(_Wrapped):
    """Drops the sample weights in the E-step."""

    def e_step(self, params, X, sample_weight=None, *, hard=False):
        return self.inner.e_step(params, X, None, hard=hard)


class _ShiftedLoglik(_Wrapped):
    """Reports a log-likelihood that is not that of log_prob."""

    def e_step(self, params, X, sample_weight=None, *, hard=False):
        stats, loglik = self.inner.e_step(params, X, sample_weight, hard=hard)
        return stats, loglik + 1e-3 * X.shape[0]


def test_monotone_check_catches_a_dropping_bound():
    model = _ShiftsEveryOtherMStep(_mixture("full"), delta=0.3)
    with pytest.raises(AssertionError, match="bound decreased"):
        check_monotone_bound(model, X, max_iter=10)


def test_monotone_check_is_stricter_than_the_driver():
    """Near convergence, a decrease below the driver's warning threshold (but far above
    round-off) is still caught."""
    inner = _mixture("full")
    converged = fit_em(inner, X, random_state=0, max_iter=300, tol=0.0).params
    result = fit_em(
        _ShiftsEveryOtherMStep(inner, delta=5e-6), X, init=converged, max_iter=6, tol=0.0
    )
    assert result.decreases == ()  # too small for the driver to warn about
    drop = -np.diff(result.lower_bounds).min()
    bound = abs(result.lower_bound)
    assert 10 * MONOTONE_RTOL * bound < drop < ROUNDOFF * bound
    with pytest.raises(AssertionError, match="bound decreased at 3 of 6 iterations"):
        check_monotone_bound(
            _ShiftsEveryOtherMStep(inner, delta=5e-6), X, init=converged, max_iter=6
        )


def test_chunk_check_catches_non_additive_statistics():
    inner = _mixture("diag")
    model = _PseudoCountInEStep(inner)
    with pytest.raises(AssertionError, match="sum_w"):
        check_chunked_statistics(model, _params(inner), X, fit_max_iter=0)


def test_chunk_check_catches_a_fit_that_depends_on_chunking():
    """Statistics compare only at one parameter value: the fits must agree too."""

    class _ChunkDependentMStep(_Wrapped):
        """Counts E-steps and nudges the M-step by that count: a hidden mutable buffer."""

        def __init__(self, inner):
            super().__init__(inner)
            self.e_steps = 0

        def e_step(self, params, X, sample_weight=None, *, hard=False):
            self.e_steps += 1
            return self.inner.e_step(params, X, sample_weight, hard=hard)

        def m_step(self, stats, params):
            new, self.e_steps = (
                _shift_means(self.inner.m_step(stats, params), 1e-6 * self.e_steps),
                0,
            )
            return new

    inner = _mixture("diag")
    with pytest.raises(AssertionError, match="params"):
        check_chunked_statistics(_ChunkDependentMStep(inner), _params(inner), X, chunk_sizes=(64,))


def test_float32_check_catches_float32_statistics():
    inner = _mixture("full")
    with pytest.raises(AssertionError, match="float64"):
        check_float32_agrees(_AccumulatesInDataDtype(inner), _params(inner), X)


def test_float32_check_catches_lost_precision():
    inner = _mixture("full")
    with pytest.raises(AssertionError, match="same data in float64"):
        check_float32_agrees(_RoundsFloat32Scores(inner), _params(inner), X)


def test_reproducibility_check_catches_unseeded_initialisation():
    # Random responsibilities: every seed gives a different start (a k-means start may not).
    inner = Mixture(Gaussian("spherical", reg_covar=0.0), 3, initializer("random"))
    with pytest.raises(AssertionError, match="same integer seed"):
        check_reproducible(_UnseededInit(inner), X, max_iter=3, tol=0.0)


def test_repeat_check_catches_ignored_weights():
    inner = _mixture("tied")
    counts = np.random.RandomState(0).randint(0, 4, size=X.shape[0])
    with pytest.raises(AssertionError, match="repeated rows"):
        check_sample_weight_repeats(_IgnoresWeights(inner), X, counts, _params(inner))


def test_repeat_check_refuses_fractional_weights():
    model = _mixture("tied")
    with pytest.raises(ValueError, match="integers"):
        check_sample_weight_repeats(model, X, WEIGHTS, _params(model))


def test_loglik_check_catches_a_wrong_loglik():
    inner = _mixture("full")
    with pytest.raises(AssertionError, match="log_prob"):
        check_loglik_matches_log_prob(_ShiftedLoglik(inner), _params(inner), X)


class _FitPredictDisagrees(BaseEstimator):
    """A clusterer whose fit_predict labels are not those of fit().predict."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y=None):
        self.center_ = X.mean(axis=0)
        return self

    def predict(self, X):
        return (X[:, 0] > self.center_[0]).astype(np.int64)

    def fit_predict(self, X, y=None):
        return 1 - self.fit(X).predict(X)


def test_estimator_check_catches_inconsistent_methods():
    with pytest.raises(AssertionError, match="fit_predict"):
        check_estimator_contract(_FitPredictDisagrees(), X)
