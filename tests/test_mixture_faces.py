"""Tests of the mixture faces: the generic face over any family (emkit.estimators.mixtures.
Mixture) and the named faces (Bernoulli, Categorical, Multinomial, Poisson, Exponential):
recovery of simulated parameters, scores against scipy.stats, scikit-learn conventions, sample
weights, reproducibility, model files and input checks."""

from __future__ import annotations

import copy
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats as st
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator

import emkit
from emkit.estimators.mixtures import (
    BaseMixture,
    BernoulliMixture,
    CategoricalMixture,
    ExponentialMixture,
    Mixture,
    MultinomialMixture,
    PoissonMixture,
)
from emkit.exceptions import ImpossibleSampleWarning
from emkit.families.base import Family
from emkit.families.bernoulli import Bernoulli
from emkit.families.categorical import Categorical
from emkit.families.covariance import covariance_structure
from emkit.families.exponential import Exponential
from emkit.families.gaussian import Gaussian
from emkit.families.multinomial import Multinomial
from emkit.families.poisson import Poisson
from emkit.families.sums import WeightedSums, summed_chunks, weighted_sums
from emkit.io.model_file import ModelFileError, read_model_file, write_model_file
from emkit.testing.conformance import check_estimator_contract

WEIGHTS = np.array([0.2, 0.3, 0.5])


# -- simulated truths, drawn with NumPy alone --------------------------------------------------
def _categorical_probs() -> tuple[np.ndarray, np.ndarray]:
    """Six columns of 2 to 5 categories; every component favours another category."""
    n_categories = np.array([3, 4, 2, 3, 5, 2])
    probs = np.zeros((3, n_categories.size, n_categories.max()))
    for k in range(3):
        for c, size in enumerate(n_categories):
            alpha = np.full(size, 0.1)
            alpha[(k + c) % size] = 3.0
            probs[k, c, :size] = alpha / alpha.sum()
    return probs, n_categories


@dataclass(frozen=True)
class Case:
    """A named face, its family for the generic face, and three well-separated components."""

    face: type
    family: Any
    attribute: str
    truth: np.ndarray
    kwargs: dict

    def build(self, n_components: int = 3, **kwargs: Any) -> Any:
        return self.face(n_components, **{**self.kwargs, **kwargs})


CATEGORICAL_PROBS, N_CATEGORIES = _categorical_probs()
CASES = {
    "bernoulli": Case(
        BernoulliMixture,
        Bernoulli(),
        "probs_",
        np.array([[0.1] * 6 + [0.9] * 6, [0.9] * 6 + [0.1] * 6, [0.1, 0.9] * 6]),
        {},
    ),
    "categorical": Case(CategoricalMixture, Categorical(), "probs_", CATEGORICAL_PROBS, {}),
    "multinomial": Case(
        MultinomialMixture,
        Multinomial(n_trials=30),
        "probs_",
        np.array(
            [
                [0.4, 0.3, 0.1, 0.1, 0.05, 0.05],
                [0.05, 0.05, 0.4, 0.3, 0.1, 0.1],
                [0.1, 0.1, 0.05, 0.05, 0.4, 0.3],
            ]
        ),
        {"n_trials": 30},
    ),
    "poisson": Case(
        PoissonMixture,
        Poisson(),
        "lambdas_",
        np.array([[1.0, 10.0, 3.0], [10.0, 1.0, 3.0], [3.0, 3.0, 20.0]]),
        {},
    ),
    "exponential": Case(
        ExponentialMixture,
        Exponential(),
        "rates_",
        np.array([[10.0, 10.0, 0.1, 0.1], [0.1, 0.1, 10.0, 10.0], [0.1, 10.0, 0.1, 10.0]]),
        {},
    ),
}
NAMES = sorted(CASES)


def _simulate(name: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples of the true mixture of ``name`` and their components."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=WEIGHTS)
    truth = CASES[name].truth[labels]
    if name == "bernoulli":
        X = (rng.random(truth.shape) < truth).astype(np.float64)
    elif name == "categorical":
        X = np.empty((n, N_CATEGORIES.size))
        for c, size in enumerate(N_CATEGORIES):
            edges = np.cumsum(truth[:, c, :size], axis=1)[:, :-1]
            X[:, c] = (rng.random(n)[:, None] > edges).sum(axis=1)
    elif name == "multinomial":
        X = rng.multinomial(30, truth).astype(np.float64)
    elif name == "poisson":
        X = rng.poisson(truth).astype(np.float64)
    else:
        X = rng.exponential(1.0 / truth)
    return X, labels


def _component_log_prob(name: str, est: Any, X: np.ndarray) -> np.ndarray:
    """``log p(x_i | k)`` (n_samples, n_components) from scipy.stats and the fitted
    attributes."""
    columns = []
    for k in range(est.weights_.shape[0]):
        if name == "bernoulli":
            columns.append(st.bernoulli.logpmf(X, est.probs_[k]).sum(axis=1))
        elif name == "categorical":
            total = np.zeros(X.shape[0])
            for c, size in enumerate(est.n_categories_):
                one_hot = np.eye(size)[X[:, c].astype(int)]
                total += st.multinomial.logpmf(one_hot, n=1, p=est.probs_[k, c, :size])
            columns.append(total)
        elif name == "multinomial":
            columns.append(st.multinomial.logpmf(X, n=X.sum(axis=1), p=est.probs_[k]))
        elif name == "poisson":
            columns.append(st.poisson.logpmf(X, est.lambdas_[k]).sum(axis=1))
        else:
            columns.append(st.expon.logpdf(X, scale=1.0 / est.rates_[k]).sum(axis=1))
    return np.column_stack(columns)


def _n_parameters(name: str, est: Any) -> int:
    """Free parameters counted by hand: the family's, then K - 1 weights."""
    k, d = est.weights_.shape[0], est.n_features_in_
    if name == "categorical":
        family = k * int((est.n_categories_ - 1).sum())
    elif name == "multinomial":
        family = k * (d - 1)
    else:
        family = k * d
    return family + k - 1


def _standard_errors(name: str, truth: np.ndarray, n_k: np.ndarray) -> np.ndarray:
    """Asymptotic standard errors of maximum-likelihood estimates from labelled samples."""
    n_k = n_k.reshape((-1,) + (1,) * (truth.ndim - 1))
    if name in ("bernoulli", "categorical"):
        return np.sqrt(truth * (1 - truth) / n_k)
    if name == "multinomial":
        return np.sqrt(truth * (1 - truth) / (30 * n_k))
    if name == "poisson":
        return np.sqrt(truth / n_k)
    return truth / np.sqrt(n_k)


def _fitted(name: str, n: int = 300, seed: int = 1, **kwargs: Any) -> tuple[Any, np.ndarray]:
    """A named face fitted by a few EM steps on simulated data."""
    X, _ = _simulate(name, n, seed)
    params = {"random_state": 0, "max_iter": 10, "tol": 0, **kwargs}
    return CASES[name].build(**params).fit(X), X


def _fitted_attributes(est: Any) -> list[str]:
    names = ["weights_", "lower_bounds_", "converged_", "n_iter_", "lower_bound_"]
    return [*names, "n_features_in_", *est._component_attributes()]


def _assert_same_fit(a: Any, b: Any, rtol: float = 0.0, atol: float = 0.0) -> None:
    assert a._component_attributes() == b._component_attributes()
    for name in ("weights_", *a._component_attributes()):
        assert_allclose(getattr(a, name), getattr(b, name), rtol=rtol, atol=atol, err_msg=name)


# -- 1. recovery -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_recovers_simulated_parameters(name):
    case = CASES[name]
    n = 3000
    X, labels = _simulate(name, n, seed=10)
    est = case.build(random_state=0, n_init=3, tol=1e-9, max_iter=1000).fit(X)
    assert est.converged_
    fitted = getattr(est, case.attribute)
    assert fitted.shape == case.truth.shape
    cost = ((fitted[:, None] - case.truth[None]) ** 2).reshape(3, 3, -1).sum(axis=-1)
    rows, cols = linear_sum_assignment(cost)
    order = rows[np.argsort(cols)]  # order[j]: fitted component matching true component j
    assert np.all(np.abs(est.weights_[order] - WEIGHTS) < 5 * np.sqrt(0.25 / n))
    se = _standard_errors(name, case.truth, np.bincount(labels, minlength=3))
    error = np.abs(fitted[order] - case.truth)
    assert np.all(error <= 5 * se + 1e-12), error.max()
    if name == "categorical":
        assert_array_equal(est.n_categories_, N_CATEGORIES)


# -- 2. scores against scipy.stats -------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_methods_match_scipy(name):
    est, X = _fitted(name)
    with np.errstate(divide="ignore"):
        log_joint = _component_log_prob(name, est, X) + np.log(est.weights_)
    log_norm = logsumexp(log_joint, axis=1)
    assert_allclose(est.score_samples(X), log_norm, rtol=1e-12, atol=1e-12)
    assert_allclose(est.predict_proba(X), np.exp(log_joint - log_norm[:, None]), atol=1e-12)
    assert_array_equal(est.predict(X), np.argmax(log_joint, axis=1))
    assert_allclose(est.score(X), log_norm.mean(), rtol=1e-12)
    w = np.random.default_rng(2).uniform(0.1, 2.0, size=X.shape[0])
    assert_allclose(est.score(X, sample_weight=w), np.average(log_norm, weights=w), rtol=1e-12)
    n, p = X.shape[0], _n_parameters(name, est)
    assert_allclose(est.bic(X), -2 * log_norm.sum() + p * np.log(n), rtol=1e-12)
    assert_allclose(est.aic(X), -2 * log_norm.sum() + 2 * p, rtol=1e-12)
    # The bound of the last iteration belongs to the returned parameters.
    assert_allclose(est.lower_bound_, log_norm.mean(), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_hard_em_bound_is_the_classification_log_likelihood(name):
    est, X = _fitted(name, hard=True, tol=1e-12, max_iter=200)
    with np.errstate(divide="ignore"):
        log_joint = _component_log_prob(name, est, X) + np.log(est.weights_)
    assert est.converged_
    assert_allclose(est.lower_bound_, log_joint.max(axis=1).mean(), rtol=1e-12)
    assert np.all(np.diff(est.lower_bounds_) >= -1e-12 * np.abs(est.lower_bounds_[1:]))


@pytest.mark.parametrize("name", NAMES)
def test_sample_draws_from_the_fitted_mixture(name):
    est, _ = _fitted(name)
    Xs, ys = est.sample(20_000)
    assert Xs.shape == (20_000, est.n_features_in_) and ys.shape == (20_000,)
    counts = np.bincount(ys, minlength=3)
    assert np.all(np.abs(counts / 20_000 - est.weights_) < 5 * np.sqrt(0.25 / 20_000))
    # Samples are valid data of the face, and a refit from the fitted parameters stays.
    assert est.score_samples(Xs).shape == (20_000,)
    assert_array_equal(est.sample(5)[0], est.sample(5)[0])  # seeded by random_state


def test_multinomial_sample_needs_n_trials():
    est, _ = _fitted("multinomial", n_trials=None)
    with pytest.raises(ValueError, match="needs the number of trials"):
        est.sample(3)


# -- 3. agreement between methods, weights, seeds ------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_fit_predict_equals_fit_then_predict(name):
    X, _ = _simulate(name, 400, seed=3)
    est = CASES[name].build(random_state=1)
    assert_array_equal(est.fit_predict(X), clone(est).fit(X).predict(X))
    check_estimator_contract(CASES[name].build(), X)
    check_estimator_contract(CASES[name].build(2, hard=True, chunk_size=64), X)


@pytest.mark.parametrize("name", NAMES)
def test_integer_weights_equal_repeated_rows(name):
    # Both fits start from the same parameters (a start's discrete choices, such as k-means
    # assignments, may tie differently on weighted and repeated rows at round-off), then run
    # 20 EM iterations: the sums differ only in their order, which EM does not amplify.
    # (Later, a fast family can reach an exact fixed point, which ends a run, one iteration
    # sooner on one side than on the other: round-off decides the last bit.)
    X, _ = _simulate(name, 150, seed=4)
    w = np.random.default_rng(5).integers(0, 4, size=X.shape[0])
    repeated_X = np.repeat(X, w, axis=0)
    start = CASES[name].build(init_params="kmeans", random_state=0, max_iter=0).fit(repeated_X)
    weighted, repeated = copy.deepcopy(start), copy.deepcopy(start)
    for est in (weighted, repeated):
        est.set_params(warm_start=True, max_iter=20, tol=0)
    weighted.fit(X, sample_weight=w)
    repeated.fit(repeated_X)
    assert weighted.n_iter_ == repeated.n_iter_
    _assert_same_fit(weighted, repeated, rtol=1e-10, atol=1e-12)
    assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-11)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_identical_fits(name):
    X, _ = _simulate(name, 300, seed=6)
    params = {"init_params": "random", "n_init": 2, "max_iter": 15, "tol": 0}
    a = CASES[name].build(random_state=7, **params).fit(X)
    b = CASES[name].build(random_state=7, **params).fit(X)
    c = CASES[name].build(random_state=8, **params).fit(X)
    for attribute in ("weights_", "lower_bounds_", *a._component_attributes()):
        assert_array_equal(getattr(a, attribute), getattr(b, attribute))
    assert not np.array_equal(a.lower_bounds_, c.lower_bounds_)


@pytest.mark.parametrize("name", NAMES)
def test_chunks_and_threads_do_not_change_the_fit(name):
    X, _ = _simulate(name, 500, seed=8)
    params = {"random_state": 0, "max_iter": 20, "tol": 0}
    whole = CASES[name].build(n_jobs=1, **params).fit(X)
    chunked = CASES[name].build(chunk_size=64, n_jobs=2, **params).fit(X)
    _assert_same_fit(whole, chunked, rtol=1e-10, atol=1e-12)
    assert_allclose(whole.predict_proba(X), chunked.predict_proba(X), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["poisson", "categorical"])
def test_warm_start_continues_previous_fit(name):
    X, _ = _simulate(name, 400, seed=9)
    est = CASES[name].build(warm_start=True, random_state=0, max_iter=3, tol=0).fit(X)
    first = est.lower_bound_
    est.fit(X)
    assert est.lower_bounds_[0] == first
    straight = CASES[name].build(random_state=0, max_iter=6, tol=0).fit(X)
    _assert_same_fit(est, straight, rtol=1e-12, atol=1e-14)


def test_squarem_reaches_the_em_fixed_point():
    X, _ = _simulate("poisson", 1000, seed=11)
    params = {"random_state": 0, "tol": 1e-10, "max_iter": 5000}
    plain = PoissonMixture(3, **params).fit(X)
    fast = PoissonMixture(3, accelerate="squarem", **params).fit(X)
    assert plain.converged_ and fast.converged_
    assert_allclose(fast.lower_bound_, plain.lower_bound_, rtol=1e-9)
    assert_allclose(fast.lambdas_, plain.lambdas_, rtol=1e-4)


def test_float32_data_agrees_with_float64():
    X, _ = _simulate("exponential", 400, seed=12)
    X = X.astype(np.float32)
    a = ExponentialMixture(3, random_state=0, max_iter=20, tol=0).fit(X)
    b = ExponentialMixture(3, random_state=0, max_iter=20, tol=0).fit(X.astype(np.float64))
    # Fitted in float64, stored in the data's dtype (as scikit-learn does).
    assert a.rates_.dtype == np.float32 and b.rates_.dtype == np.float64
    _assert_same_fit(a, b, rtol=1e-6)


def test_integer_and_boolean_data_are_accepted():
    X, _ = _simulate("bernoulli", 200, seed=13)
    params = {"random_state": 0, "max_iter": 10, "tol": 0}
    floats = BernoulliMixture(3, **params).fit(X)
    _assert_same_fit(BernoulliMixture(3, **params).fit(X.astype(bool)), floats, rtol=1e-13)
    _assert_same_fit(BernoulliMixture(3, **params).fit(X.astype(np.int64)), floats, rtol=1e-13)


def test_categorical_takes_given_numbers_of_categories():
    X, _ = _simulate("categorical", 300, seed=14)
    given = (4, 4, 3, 3, 6, 2)  # more categories than the data shows
    est = CategoricalMixture(3, n_categories=given, random_state=0, max_iter=10, tol=0).fit(X)
    assert_array_equal(est.n_categories_, given)
    assert est.probs_.shape == (3, 6, 6)
    assert est._n_parameters() == 3 * (3 + 3 + 2 + 2 + 5 + 1) + 2
    codes = X.copy()
    codes[0, 0] = 3  # unseen in training, but within the given categories
    # Maximum likelihood gives it probability zero; a Dirichlet prior keeps it possible.
    with pytest.warns(ImpossibleSampleWarning, match="1 of 300 samples"):
        scores = est.score_samples(codes)
    assert np.isneginf(scores[0]) and np.isfinite(scores[1:]).all()
    smoothed = clone(est).set_params(prior=2.0).fit(X)
    assert np.all(smoothed.probs_[:, 0, 3] > 0)
    assert np.isfinite(smoothed.score_samples(codes)).all()


# -- 4. the generic face ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_generic_face_equals_named_face(name):
    case = CASES[name]
    X, _ = _simulate(name, 400, seed=15)
    params = {"random_state": 0, "n_init": 2, "tol": 1e-8, "max_iter": 200}
    init = "random" if name == "categorical" else "kmeans"
    named = case.build(**params).fit(X)
    generic = Mixture(case.family, 3, init_params=init, **params).fit(X)
    assert generic._component_attributes() == named._component_attributes()
    _assert_same_fit(generic, named)
    assert_array_equal(generic.lower_bounds_, named.lower_bounds_)
    assert generic.n_iter_ == named.n_iter_
    assert_array_equal(generic.predict_proba(X), named.predict_proba(X))
    assert generic.bic(X) == named.bic(X)


def test_generic_face_with_gaussian_family_equals_gaussian_mixture():
    X = np.random.default_rng(16).normal(size=(300, 2)) + np.repeat([[0, 0], [4, 4]], 150, 0)
    params = {"random_state": 0, "tol": 1e-8, "max_iter": 200}
    generic = Mixture(Gaussian("diag", reg_covar=1e-6), 2, **params).fit(X)
    gm = emkit.GaussianMixture(2, covariance_type="diag", **params).fit(X)
    assert isinstance(gm, BaseMixture)
    for attribute in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert_array_equal(getattr(generic, attribute), getattr(gm, attribute))
    assert_array_equal(generic.score_samples(X), gm.score_samples(X))
    assert generic.bic(X) == gm.bic(X)


def test_generic_face_with_frozen_parameters_learns_the_weights_only():
    X, _ = _simulate("poisson", 600, seed=17)
    truth = CASES["poisson"].truth
    frozen = Mixture(Poisson(frozen=frozenset({"lambdas"})), 3, warm_start=True, tol=1e-10)
    # A fitted start with the true rates: set as a warm start.
    frozen.fit(X[:10])
    frozen.lambdas_ = truth.copy()
    frozen.weights_ = np.full(3, 1 / 3)
    frozen.fit(X)
    assert_array_equal(frozen.lambdas_, truth)
    assert np.all(np.abs(frozen.weights_ - WEIGHTS) < 5 * np.sqrt(0.25 / 600))
    assert frozen._n_parameters() == 2  # the weights only


@dataclass(frozen=True, eq=False)
class GeometricParams:
    """Success probabilities (n_components, n_features)."""

    success: np.ndarray


@dataclass(frozen=True)
class Geometric(Family):
    """A family written outside emkit: counts of failures before the first success,
    ``p(x | k) = prod_d (1 - s_kd)^x_d s_kd``."""

    params_class = GeometricParams

    def log_prob(self, params: GeometricParams, X: np.ndarray) -> np.ndarray:
        s = params.success
        return np.asarray(X, dtype=np.float64) @ np.log1p(-s).T + np.log(s).sum(axis=1)

    def stats(self, params: GeometricParams, X: np.ndarray, resp: np.ndarray) -> WeightedSums:
        return weighted_sums(X, resp)

    def m_step(self, stats: WeightedSums, params: Any) -> GeometricParams:
        return GeometricParams(stats.sum_w[:, None] / (stats.sum_w[:, None] + stats.sum_x))

    def from_responsibilities(self, chunks: Any) -> GeometricParams:
        return self.m_step(summed_chunks(chunks), None)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features


def test_generic_face_fits_a_family_written_outside_emkit(tmp_path):
    rng = np.random.default_rng(18)
    success = np.array([[0.5, 0.05], [0.05, 0.5]])
    labels = rng.choice(2, size=2000, p=[0.4, 0.6])
    X = (rng.geometric(success[labels]) - 1).astype(np.float64)
    est = Mixture(Geometric(), 2, random_state=0, tol=1e-9, max_iter=500).fit(X)
    assert est.converged_ and est.success_.shape == (2, 2)
    order = np.argsort(est.success_[:, 0])[::-1]
    assert_allclose(est.success_[order], success, atol=0.05)
    assert_allclose(est.weights_[order], [0.4, 0.6], atol=0.04)
    log_joint = np.column_stack(
        [st.geom.logpmf(X + 1, est.success_[k]).sum(axis=1) for k in range(2)]
    ) + np.log(est.weights_)
    assert_allclose(est.score_samples(X), logsumexp(log_joint, axis=1), rtol=1e-12)
    assert est._n_parameters() == 2 * 2 + 1
    # Deriving from Family is all a family needs to be saved and read back.
    loaded = emkit.load(est.save(tmp_path / "geometric.emkit"))
    assert loaded.family == Geometric()
    assert_array_equal(loaded.success_, est.success_)
    # Without check_data the data must be finite numbers.
    with pytest.raises(ValueError, match="Input X contains NaN"):
        Mixture(Geometric(), 2).fit(np.where(X == 0, np.nan, X))


@dataclass(frozen=True, eq=False)
class ShadowingParams:
    weights: np.ndarray


class ShadowingFamily(Geometric):
    params_class = ShadowingParams

    def m_step(self, stats: WeightedSums, params: Any) -> ShadowingParams:  # type: ignore[override]
        return ShadowingParams(super().m_step(stats, params).success)

    def log_prob(self, params: Any, X: np.ndarray) -> np.ndarray:
        return super().log_prob(GeometricParams(params.weights), X)


@pytest.mark.parametrize(
    ("family", "error", "match"),
    [
        (Poisson, TypeError, r"such as Poisson\(\), not the class Poisson"),
        (object(), TypeError, "object has no log_prob, stats, m_step, from_responsibilities"),
        (None, TypeError, "NoneType has no log_prob"),
        ("poisson", TypeError, "str has no log_prob"),
        (ShadowingFamily(), ValueError, r"parameters \['weights'\] would shadow"),
    ],
    ids=["class-not-instance", "object", "none", "name", "shadowing"],
)
def test_generic_face_refuses_what_is_not_a_family(family, error, match):
    X = np.random.default_rng(19).geometric(0.3, size=(50, 2)).astype(np.float64)
    with pytest.raises(error, match=match):
        Mixture(family, 2, random_state=0).fit(X)


# -- 5. scikit-learn conventions -------------------------------------------------------------------
COMMON = [
    "accelerate",
    "batch_size",
    "chunk_size",
    "hard",
    "init_params",
    "learning_decay",
    "learning_method",
    "learning_offset",
    "max_iter",
    "n_components",
    "n_init",
    "n_jobs",
    "random_state",
    "tol",
    "verbose",
    "verbose_interval",
    "warm_start",
]
OWN = {
    "bernoulli": ["prior"],
    "categorical": ["n_categories", "prior"],
    "multinomial": ["n_trials", "prior"],
    "poisson": ["lambdas_prior", "lambdas_weight"],
    "exponential": [],
}
DEFAULT_INIT = {
    "bernoulli": "kmeans",
    "categorical": "random",
    "multinomial": "kmeans",
    "poisson": "kmeans",
    "exponential": "kmeans",
}


@pytest.mark.parametrize("name", NAMES)
def test_get_params_set_params_and_clone(name):
    est = CASES[name].face()
    params = est.get_params()
    assert sorted(params) == sorted(COMMON + OWN[name])
    assert params["n_components"] == 1 and params["init_params"] == DEFAULT_INIT[name]
    est.set_params(n_components=2, tol=1e-5)
    copy = clone(est)
    assert copy.get_params() == est.get_params() and copy is not est
    X, _ = _simulate(name, 100, seed=20)
    est.fit(X)
    assert not hasattr(clone(est), "weights_")
    with pytest.raises(ValueError, match="Invalid parameter 'covariance_type'"):
        est.set_params(covariance_type="full")


def test_generic_face_params():
    est = Mixture(Poisson(), 2)
    assert sorted(est.get_params()) == sorted([*COMMON, "family"])
    copy = clone(est)
    assert copy.family == est.family and copy.family is not est.family


def _sklearn_checks(build: Any, expected: dict[str, str]) -> None:
    results = check_estimator(build(), expected_failed_checks=expected, on_skip=None, on_fail=None)
    failed = {r["check_name"]: str(r["exception"]) for r in results if r["status"] == "failed"}
    assert not failed, failed
    assert {r["check_name"] for r in results if r["status"] == "xfail"} == set(expected)


ROW_ORDER = (
    "the check shuffles the weighted rows but not the repeated ones, and the k-means start "
    "depends on row order (see test_gaussian_mixture.py)"
)
NOT_CODES = "the check's data are not category codes (it ignores the categorical input tag)"
SKLEARN_CHECKED = {
    "generic-gaussian": (lambda: Mixture(Gaussian()), {}),
    "generic-gaussian-2": (
        lambda: Mixture(Gaussian("diag"), 2, chunk_size=7),
        {"check_sample_weight_equivalence_on_dense_data": ROW_ORDER},
    ),
    # Positive data (the positive_only tag) are waiting times.
    "exponential": (ExponentialMixture, {}),
    # Category codes (the categorical tag); one check draws non-integer data regardless.
    "categorical": (
        CategoricalMixture,
        {"check_sample_weight_equivalence_on_dense_data": NOT_CODES},
    ),
    "categorical-2": (
        lambda: CategoricalMixture(2),
        {"check_sample_weight_equivalence_on_dense_data": NOT_CODES},
    ),
}


@pytest.mark.parametrize("name", SKLEARN_CHECKED)
def test_sklearn_estimator_checks(name):
    """scikit-learn's own checks, for the faces whose data its checks can draw."""
    _sklearn_checks(*SKLEARN_CHECKED[name])


def test_positive_only_tag():
    for name in NAMES:
        assert CASES[name].face().__sklearn_tags__().input_tags.positive_only
    assert not Mixture(Poisson()).__sklearn_tags__().input_tags.positive_only
    assert not emkit.GaussianMixture().__sklearn_tags__().input_tags.positive_only


# -- 6. model files --------------------------------------------------------------------------------
def _assert_round_trip(est: Any, loaded: Any, X: np.ndarray) -> None:
    assert type(loaded) is type(est)
    original = est.get_params()
    for name, value in loaded.get_params().items():
        if isinstance(original[name], (list, tuple, np.ndarray)):
            assert_array_equal(value, original[name], name)
        else:
            assert value == original[name], name
    for attribute in _fitted_attributes(est):
        assert_array_equal(getattr(loaded, attribute), getattr(est, attribute), attribute)
    assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert_array_equal(loaded.score_samples(X), est.score_samples(X))
    assert loaded.bic(X) == est.bic(X)


HYPER = {
    "bernoulli": {"prior": 1.5},
    "categorical": {"prior": 2.0, "n_categories": [3, 4, 2, 3, 5, 2]},
    "multinomial": {"prior": 1.2, "n_trials": 30},
    "poisson": {"lambdas_prior": 0.5, "lambdas_weight": 0.1},
    "exponential": {},
}


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip(name, tmp_path):
    est, X = _fitted(name, **HYPER[name])
    loaded = emkit.load(est.save(tmp_path / f"{name}.emkit"))
    _assert_round_trip(est, loaded, X)
    # A loaded model fits again like the original.
    assert_array_equal(clone(loaded).fit(X).lower_bounds_, clone(est).fit(X).lower_bounds_)


@pytest.mark.parametrize("name", NAMES)
def test_generic_face_save_load_round_trip(name, tmp_path):
    X, _ = _simulate(name, 300, seed=21)
    family = CASES[name].family
    kinds = [family]
    if name in ("bernoulli", "categorical", "multinomial"):
        kinds.append(type(family)(prior=1.5))
    for i, fam in enumerate(kinds):
        est = Mixture(fam, 3, random_state=0, max_iter=5, tol=0).fit(X)
        loaded = emkit.load(est.save(tmp_path / f"{name}-{i}.emkit"))
        assert loaded.family == fam
        _assert_round_trip(est, loaded, X)
    # Frozen parameters are hyperparameters of the family, and stored as such.
    field = {"poisson": "lambdas", "exponential": "rates"}.get(name, "probs")
    fam = type(family)(frozen=frozenset({field}))
    est = Mixture(fam, 3, random_state=0, max_iter=1, tol=0).fit(X)
    loaded = emkit.load(est.save(tmp_path / f"{name}-frozen.emkit"))
    assert loaded.family.frozen == frozenset({field})
    _assert_round_trip(est, loaded, X)


def test_generic_face_saves_a_gaussian_mixture(tmp_path):
    X = np.random.default_rng(22).normal(size=(40, 2))
    est = Mixture(Gaussian(covariance_structure("diag")), 2, random_state=0).fit(X)
    loaded = emkit.load(est.save(tmp_path / "g.emkit"))
    assert loaded.family == est.family
    _assert_round_trip(est, loaded, X)


def _rewrite(path, arrays=None, fitted=None, hyper=None):
    model = read_model_file(path)
    meta = model.metadata
    meta["fitted"].update(fitted or {})
    meta["hyperparameters"].update(hyper or {})
    write_model_file(path, model.kind, meta, {**model.arrays, **(arrays or {})})


BAD_FILES = [
    ("poisson", {"arrays": {"lambdas_": -np.ones((3, 3))}}, "non-negative rates"),
    ("poisson", {"arrays": {"lambdas_": np.ones((2, 3))}}, r"lambdas_ must have shape \(3, 3\)"),
    ("poisson", {"fitted": {"n_features_in_": 4}}, "lambdas_ must have shape"),
    ("poisson", {"hyper": {"n_components": 2}}, r"weights_ must have shape \(2,\)"),
    ("poisson", {"arrays": {"weights_": np.array([0.5, 0.6, -0.1])}}, "sum to one"),
    ("poisson", {"hyper": {"init_params": "kmeans+"}}, "init_params must be one of"),
    ("exponential", {"arrays": {"rates_": np.zeros((3, 4))}}, "positive rates"),
    ("bernoulli", {"arrays": {"probs_": np.full((3, 12), 1.5)}}, r"probabilities in \[0, 1\]"),
    ("multinomial", {"arrays": {"probs_": np.full((3, 6), 0.5)}}, "must sum to one"),
    ("categorical", {"arrays": {"n_categories_": np.array([3, 4])}}, "n_categories_ must hold"),
    ("categorical", {"arrays": {"probs_": np.full((3, 6, 5), 0.2)}}, "zero beyond every"),
    ("categorical", {"arrays": {"probs_": np.full((3, 6, 5), -0.2)}}, "non-negative probab"),
    ("categorical", {"arrays": {"probs_": np.full((3, 6, 5), np.nan)}}, "NaN or infinite"),
    ("categorical", {"hyper": {"prior": -1.0}}, "prior must be finite and positive"),
]


@pytest.mark.parametrize(
    ("name", "change", "match"), BAD_FILES, ids=[f"{c[0]}-{c[2][:20]}" for c in BAD_FILES]
)
def test_load_inconsistent_file_raises(name, change, match, tmp_path):
    est, _ = _fitted(name)
    path = est.save(tmp_path / "model.emkit")
    _rewrite(path, **change)
    with pytest.raises(ModelFileError, match=f"inconsistent {type(est).__name__}: .*{match}"):
        emkit.load(path)


@pytest.mark.parametrize(
    ("family", "match"),
    [
        ({"family": {"family": "Gaussiann"}}, "unknown family 'Gaussiann'"),
        ({"family": {"family": "Poisson", "rate": 1.0}}, "unexpected keyword argument 'rate'"),
        ({"family": {"lambdas_prior": 0.0}}, "'family'"),
        ("Poisson", "str has no log_prob"),
    ],
    ids=["unknown", "bad-field", "no-name", "not-a-mapping"],
)
def test_load_generic_face_with_a_bad_family_description_raises(family, match, tmp_path):
    X, _ = _simulate("poisson", 100, seed=23)
    path = Mixture(Poisson(), 2, random_state=0).fit(X).save(tmp_path / "m.emkit")
    _rewrite(path, hyper={"family": family})
    with pytest.raises(ModelFileError, match=f"inconsistent Mixture: .*{match}"):
        emkit.load(path)


def test_load_generic_face_with_bad_arrays_raises(tmp_path):
    X, _ = _simulate("poisson", 100, seed=24)
    path = Mixture(Poisson(), 2, random_state=0).fit(X).save(tmp_path / "m.emkit")
    _rewrite(path, arrays={"lambdas_": -np.ones((2, 3))})
    with pytest.raises(ModelFileError, match="inconsistent Mixture: lambdas_ must hold"):
        emkit.load(path)


# -- 7. bad input ----------------------------------------------------------------------------------
def _counts(n: int = 20) -> np.ndarray:
    return np.random.default_rng(25).poisson(3.0, size=(n, 2)).astype(np.float64)


def _with(value: float, index: tuple[int, int] = (3, 1)) -> np.ndarray:
    X = _counts()
    X[index] = value
    return X


BAD_FIT = [
    (
        "poisson-negative",
        PoissonMixture,
        {},
        _with(-1),
        {},
        "Negative values in data passed to X in PoissonMixture",
    ),
    (
        "poisson-fraction",
        PoissonMixture,
        {},
        _with(2.5),
        {},
        "Poisson counts must be integers; column 1 holds 2.5 (row 3)",
    ),
    # NaN is a missing cell; a column with none observed has nothing to start from.
    (
        "poisson-nan-column",
        PoissonMixture,
        {},
        _with(np.nan, (slice(None), 1)),
        {},
        "no observed value",
    ),
    ("poisson-inf", PoissonMixture, {}, _with(np.inf), {}, "Input X contains infinity"),
    ("poisson-1d", PoissonMixture, {}, _counts()[:, 0], {}, "Expected 2D array, got 1D array"),
    ("poisson-3d", PoissonMixture, {}, _counts()[None], {}, "Found array with dim 3"),
    ("poisson-text", PoissonMixture, {}, [["1", "a"]] * 5, {}, "dtype='numeric' is not"),
    ("poisson-one-row", PoissonMixture, {}, _counts()[:1], {}, "a minimum of 2 is required"),
    (
        "poisson-few",
        PoissonMixture,
        {"n_components": 5},
        _counts()[:3],
        {},
        "n_samples >= n_components",
    ),
    (
        "poisson-prior",
        PoissonMixture,
        {"lambdas_prior": -1.0},
        _counts(),
        {},
        "lambdas_prior must be finite and non-negative",
    ),
    (
        "bernoulli-two",
        BernoulliMixture,
        {},
        np.array([[0, 1], [2, 0], [1, 1]]),
        {},
        "Bernoulli data must be 0 or 1; column 0 holds 2 (row 1)",
    ),
    ("bernoulli-prior", BernoulliMixture, {"prior": 0.0}, np.eye(3), {}, "prior must be finite"),
    (
        "categorical-fraction",
        CategoricalMixture,
        {},
        np.array([[0, 1], [1, 1.5]]),
        {},
        "Categorical data must be integer category codes; column 1 holds 1.5 (row 1)",
    ),
    (
        "categorical-range",
        CategoricalMixture,
        {"n_categories": (3, 2)},
        np.array([[0, 1], [2, 2]]),
        {},
        "Categorical column 1 has 2 categories (codes 0..1); row 1 holds 2",
    ),
    (
        "categorical-columns",
        CategoricalMixture,
        {"n_categories": (3, 2)},
        np.array([[0, 1, 0], [1, 0, 0]]),
        {},
        "Categorical data must have 2 columns (one per entry of n_categories), got 3",
    ),
    (
        "categorical-n-categories",
        CategoricalMixture,
        {"n_categories": (3, 0)},
        np.array([[0, 1], [1, 0]]),
        {},
        "n_categories must be a positive integer",
    ),
    (
        "multinomial-trials",
        MultinomialMixture,
        {"n_trials": 10},
        np.array([[5, 5], [4, 5]]),
        {},
        "Multinomial rows must sum to n_trials=10; row 1 sums to 9",
    ),
    (
        "multinomial-n-trials",
        MultinomialMixture,
        {"n_trials": -1},
        np.array([[5, 5], [4, 5]]),
        {},
        "n_trials must be a non-negative integer",
    ),
    (
        "exponential-negative",
        ExponentialMixture,
        {},
        np.array([[1.5, -0.5], [1.0, 2.0]]),
        {},
        "Negative values in data passed to X in ExponentialMixture",
    ),
    (
        "exponential-unbounded",
        ExponentialMixture,
        {"n_components": 2, "init_params": "kmeans"},
        np.array([[0.0, 1.0], [0.0, 2.0], [3.0, 1.0], [3.5, 2.0]]),
        {},
        "puts all its weight on samples that are 0 in feature 0",
    ),
    ("init", PoissonMixture, {"init_params": "kmeans+"}, _counts(), {}, "init_params must be"),
    (
        "accelerate",
        PoissonMixture,
        {"accelerate": "fast"},
        _counts(),
        {},
        "accelerate must be one of [None, 'squarem']",
    ),
    (
        "accelerate-hard",
        PoissonMixture,
        {"accelerate": "squarem", "hard": True},
        _counts(),
        {},
        "not with hard=True",
    ),
    ("n-components", PoissonMixture, {"n_components": 0}, _counts(), {}, "n_components must"),
    ("tol", PoissonMixture, {"tol": -1.0}, _counts(), {}, "tol must be a number >= 0"),
    ("max-iter", PoissonMixture, {"max_iter": 1.5}, _counts(), {}, "max_iter must be an integer"),
    ("chunk-size", PoissonMixture, {"chunk_size": 0}, _counts(), {}, "chunk_size must be"),
    (
        "sw-negative",
        PoissonMixture,
        {},
        _counts(),
        {"sample_weight": -np.ones(20)},
        "sample_weight must be non-negative",
    ),
    (
        "sw-length",
        PoissonMixture,
        {},
        _counts(),
        {"sample_weight": np.ones(19)},
        "sample_weight.shape == (19,), expected (20,)",
    ),
    ("sw-zero", PoissonMixture, {}, _counts(), {"sample_weight": np.zeros(20)}, "sum to zero"),
]


@pytest.mark.parametrize(
    ("face", "params", "X", "fit_kwargs", "match"),
    [case[1:] for case in BAD_FIT],
    ids=[case[0] for case in BAD_FIT],
)
def test_bad_fit_input(face, params, X, fit_kwargs, match):
    params = {"n_components": 2, "random_state": 0, **params}
    with pytest.raises(ValueError, match=re.escape(match)):
        face(**params).fit(X, **fit_kwargs)


def test_generic_face_leaves_negative_values_to_its_family():
    with pytest.raises(ValueError, match=re.escape("Poisson counts must be non-negative")):
        Mixture(Poisson(), 2, random_state=0).fit(_with(-1))


def test_bad_input_after_fitting():
    est = PoissonMixture(2, random_state=0).fit(_counts())
    for method in ("predict", "predict_proba", "score_samples", "score", "bic", "aic"):
        with pytest.raises(ValueError, match="X has 3 features, but PoissonMixture is expecting 2"):
            getattr(est, method)(np.ones((4, 3)))
        with pytest.raises(ValueError, match="Poisson counts must be integers"):
            getattr(est, method)(_with(0.5))
    with pytest.raises(ValueError, match="n_samples"):
        est.sample(0)
    with pytest.raises(ValueError, match=r"sample_weight\.shape"):
        est.score(_counts(), sample_weight=np.ones(3))
    X, _ = _simulate("categorical", 100, seed=26)
    cm = CategoricalMixture(2, random_state=0).fit(X)
    size = int(cm.n_categories_[1])
    codes = X.copy()
    codes[4, 1] = size  # one code beyond the categories seen in training
    message = (
        f"Categorical column 1 has {size} categories (codes 0..{size - 1}); row 4 holds {size}"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        cm.predict(codes)


UNFITTED_CALLS = {
    "predict": lambda est: est.predict(_counts()),
    "predict_proba": lambda est: est.predict_proba(_counts()),
    "score": lambda est: est.score(_counts()),
    "score_samples": lambda est: est.score_samples(_counts()),
    "sample": lambda est: est.sample(3),
    "bic": lambda est: est.bic(_counts()),
    "aic": lambda est: est.aic(_counts()),
    "save": lambda est: est.save("never-written.emkit"),
}


@pytest.mark.parametrize("call", UNFITTED_CALLS)
@pytest.mark.parametrize("name", [*NAMES, "generic"])
def test_unfitted_raises(name, call, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    est = Mixture(Poisson(), 2) if name == "generic" else CASES[name].face(2)
    with pytest.raises(NotFittedError, match=f"This {type(est).__name__} instance is not fitted"):
        UNFITTED_CALLS[call](est)
    assert not (tmp_path / "never-written.emkit").exists()


def test_no_warnings_on_a_plain_fit():
    X, _ = _simulate("poisson", 300, seed=27)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PoissonMixture(3, random_state=0, tol=1e-6, max_iter=500).fit(X)
