"""Tests of the StudentMixture face: densities against scipy, recovery of simulated
parameters (degrees of freedom included), robustness to outliers against a Gaussian
mixture, scikit-learn conventions, model files and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats as st
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone

import emkit
from emkit.estimators.student_mixture import StudentMixture
from emkit.testing.conformance import check_estimator_contract

MEANS = np.array([[0.0, 0.0], [8.0, 8.0], [-8.0, 8.0]])
SCALES = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.6, 0.0], [0.0, 1.2]], [[1.0, -0.4], [-0.4, 1.0]]])
DOF = np.array([3.0, 6.0, 15.0])
WEIGHTS = np.array([0.3, 0.3, 0.4])


def _sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=WEIGHTS)
    X = np.empty((n, 2))
    for k in range(3):
        rows = labels == k
        X[rows] = st.multivariate_t(MEANS[k], SCALES[k], df=DOF[k]).rvs(
            rows.sum(), random_state=rng
        )
    return X, labels


def _matched(model: StudentMixture) -> np.ndarray:
    cost = ((model.means_[:, None] - MEANS[None]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    return rows[np.argsort(cols)]


def test_recovers_simulated_parameters_with_degrees_of_freedom():
    X, _ = _sample(12_000, 0)
    model = StudentMixture(3, random_state=0, max_iter=500, tol=1e-8).fit(X)
    order = _matched(model)
    assert_allclose(model.weights_[order], WEIGHTS, atol=0.02)
    assert_allclose(model.means_[order], MEANS, atol=0.06)
    assert_allclose(model.covariances_[order], SCALES, atol=0.08)
    assert_allclose(np.log(model.dof_[order]), np.log(DOF), atol=0.35)
    assert model.dof_[order][0] < model.dof_[order][2]


def test_scores_match_scipy():
    X, _ = _sample(400, 1)
    model = StudentMixture(3, covariance_type="diag", random_state=0).fit(X)
    dens = np.stack(
        [
            st.multivariate_t(m, np.diag(c), df=v).logpdf(X)
            for m, c, v in zip(model.means_, model.covariances_, model.dof_, strict=True)
        ],
        axis=1,
    )
    joint = dens + np.log(model.weights_)
    expected = np.logaddexp.reduce(joint, axis=1)
    assert_allclose(model.score_samples(X), expected, rtol=1e-10)
    assert_allclose(model.predict_proba(X), np.exp(joint - expected[:, None]), atol=1e-10)
    assert_allclose(model.precisions_, 1.0 / model.covariances_, rtol=1e-12)


def test_outliers_move_gaussian_means_but_not_student_means():
    rng = np.random.default_rng(2)
    shift = np.array([6.0, 0.0])
    core = np.concatenate([rng.normal(0, 1, (500, 2)), rng.normal(0, 1, (500, 2)) + shift])
    outliers = rng.uniform(-60, 60, (50, 2))
    X = np.concatenate([core, outliers])
    start = np.array([[0.0, 0.0], [6.0, 0.0]])
    t = StudentMixture(2, n_init=5, init_params="k-means++", random_state=0, max_iter=300).fit(X)
    g = emkit.GaussianMixture(2, means_init=start, random_state=0, max_iter=300).fit(X)
    t_means = t.means_[np.argsort(t.means_[:, 0])]
    g_means = g.means_[np.argsort(g.means_[:, 0])]
    assert np.abs(t_means - start).max() < 0.2
    assert np.abs(g_means - start).max() > 0.5


def test_fixed_dof_stay_and_shared_dof_are_equal():
    X, _ = _sample(1500, 3)
    fixed = StudentMixture(3, fixed_dof=True, dof_init=4.0, random_state=0).fit(X)
    assert_allclose(fixed.dof_, 4.0)
    shared = StudentMixture(3, shared_dof=True, random_state=0).fit(X)
    assert np.ptp(shared.dof_) == 0 and shared.dof_[0] != 10.0


def test_sklearn_conventions_and_model_file(tmp_path):
    X, _ = _sample(300, 4)
    check_estimator_contract(StudentMixture(2, random_state=0), X)
    model = StudentMixture(2, covariance_type="spherical", random_state=0).fit(X)
    assert clone(model).get_params() == model.get_params()
    loaded = emkit.load(model.save(tmp_path / "t.emkit"))
    assert isinstance(loaded, StudentMixture)
    for name in ("weights_", "means_", "covariances_", "dof_", "precisions_cholesky_"):
        assert_allclose(getattr(loaded, name), getattr(model, name), rtol=0, atol=0)
    assert_allclose(loaded.score_samples(X), model.score_samples(X), rtol=0, atol=0)


def test_bad_input_and_options():
    X, _ = _sample(100, 5)
    with pytest.raises(ValueError, match="dof_init"):
        StudentMixture(2, dof_init=0.0).fit(X)
    with pytest.raises(ValueError, match="dof_init"):
        StudentMixture(2, dof_init="ten").fit(X)
    with pytest.raises(ValueError, match="fixed_dof"):
        StudentMixture(2, fixed_dof="yes").fit(X)
    with pytest.raises(ValueError, match="covariance_type"):
        StudentMixture(2, covariance_type="round").fit(X)
    bad = X.copy()
    bad[3, 1] = np.inf  # NaN is a missing cell; infinities are refused
    with pytest.raises(ValueError, match="infinity"):
        StudentMixture(2).fit(bad)
    with pytest.raises(emkit.NotFittedError):
        StudentMixture(2).predict(X)
