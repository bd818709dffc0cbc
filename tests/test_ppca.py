"""PPCA: EM on the covariance statistic against the closed-form maximum (the
eigendecomposition of the covariance, Tipping and Bishop 1999), scikit-learn's PCA, scipy's
densities with missing values, and the model contract's conformance checks."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import multivariate_normal
from sklearn.decomposition import PCA

import emkit
from emkit.estimators.ppca import PPCA
from emkit.models.latent_linear import (
    IsotropicNoise,
    RowModel,
    data_moments,
    noise_floor,
    random_start,
)
from emkit.testing.conformance import (
    check_chunked_statistics,
    check_float32_agrees,
    check_loglik_matches_log_prob,
    check_monotone_bound,
    check_reproducible,
)


def _data(n=1000, d=6, k=2, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(d, k)) * [3.0, 1.5]
    return rng.normal(size=(n, k)) @ W.T + 0.5 * rng.normal(size=(n, d)) + 2.0


def test_em_reaches_the_closed_form_maximum():
    X = _data()
    d, k = X.shape[1], 2
    fit = PPCA(k, tol=1e-10, random_state=0).fit(X)
    S = np.cov(X.T, bias=True)
    values, vectors = np.linalg.eigh(S)
    values, vectors = values[::-1], vectors[:, ::-1]
    sigma2 = values[k:].mean()
    # The likelihood is flat near its maximum: parameters to ~1e-5, the likelihood to 1e-11.
    assert_allclose(fit.noise_variance_, sigma2, rtol=1e-5)
    assert_allclose(fit.explained_variance_, values[:k], rtol=1e-5)
    assert_allclose(np.abs(fit.components_ @ vectors[:, :k]), np.eye(k), atol=1e-5)
    W = vectors[:, :k] * np.sqrt(values[:k] - sigma2)
    closed = W @ W.T + sigma2 * np.eye(d)
    assert_allclose(fit.get_covariance(), closed, atol=1e-4)
    best = multivariate_normal(X.mean(0), closed).logpdf(X).sum()
    assert_allclose(fit.loglike_[-1], best, rtol=1e-11)
    assert fit.loglike_[-1] <= best + 1e-8 * abs(best)  # the maximum: never above it


def test_agrees_with_scikit_learn_pca():
    X = _data()
    n = X.shape[0]
    fit = PPCA(2, tol=1e-10, random_state=1).fit(X)
    pca = PCA(2).fit(X)
    # scikit-learn's PCA divides by n - 1, the maximum likelihood by n.
    assert_allclose(fit.explained_variance_, pca.explained_variance_ * (n - 1) / n, rtol=1e-5)
    assert_allclose(fit.noise_variance_, pca.noise_variance_ * (n - 1) / n, rtol=1e-5)
    sign = np.sign(np.sum(fit.components_ * pca.components_, axis=1))
    assert_allclose(fit.components_, pca.components_ * sign[:, None], atol=1e-6)
    # Reconstruction is the projection on the principal subspace, as PCA's.
    recon = fit.inverse_transform(fit.transform(X))
    assert_allclose(recon, pca.inverse_transform(pca.transform(X)), atol=1e-5)
    assert_allclose(fit.get_precision(), np.linalg.inv(fit.get_covariance()), rtol=1e-9)
    ref = multivariate_normal(fit.mean_, fit.get_covariance()).logpdf(X)
    assert_allclose(fit.score_samples(X), ref, rtol=1e-11)
    assert_allclose(fit.score(X), ref.mean(), rtol=1e-11)


def test_transform_is_the_posterior_mean():
    X = _data(n=50)
    fit = PPCA(2, tol=1e-8, random_state=0).fit(X)
    W = fit.components_.T * np.sqrt(fit.explained_variance_ - fit.noise_variance_)
    M = W.T @ W + fit.noise_variance_ * np.eye(2)
    assert_allclose(fit.transform(X), np.linalg.solve(M, W.T @ (X - fit.mean_).T).T, rtol=1e-10)


def test_the_bound_never_decreases_with_and_without_missing_values():
    X = _data()
    Xm = X.copy()
    Xm[np.random.default_rng(2).random(X.shape) < 0.1] = np.nan
    for data in (X, Xm):
        fit = PPCA(2, tol=0.0, max_iter=40, accelerate=None, random_state=0).fit(data)
        b = fit.lower_bounds_
        assert np.all(np.diff(b) >= -1e-12 * np.abs(b[1:]))
    # The observed-data log-likelihood of the missing-value fit, against scipy.
    cov, mean = fit.get_covariance(), fit.mean_
    ref = [
        multivariate_normal(mean[o], cov[np.ix_(o, o)]).logpdf(row[o])
        for row, o in ((row, ~np.isnan(row)) for row in Xm)
    ]
    assert_allclose(fit.score_samples(Xm), ref, rtol=1e-10)
    assert_allclose(fit.loglike_[-1], np.sum(ref), rtol=1e-10)


def test_missing_values_recover_the_complete_fit():
    X = _data(n=3000, seed=4)
    Xm = X.copy()
    Xm[np.random.default_rng(3).random(X.shape) < 0.05] = np.nan
    a = PPCA(2, tol=1e-6, random_state=0).fit(X)
    b = PPCA(2, tol=1e-6, random_state=0).fit(Xm)
    assert_allclose(b.get_covariance(), a.get_covariance(), atol=0.15)


def test_row_model_conforms():
    X = _data(n=120, d=5)
    Xm = X.copy()
    Xm[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    for data in (X, Xm):
        moments = data_moments(data)
        cov = moments.covariance()
        floor = noise_floor(np.full(5, np.diag(cov).mean()), 1e-12)
        model = RowModel(5, 2, IsotropicNoise(), floor)
        start = random_start(moments.mean(), cov, 2, floor, np.random.RandomState(0))
        check_monotone_bound(model, data, init=start, max_iter=30)
        check_chunked_statistics(model, start, data, fit_max_iter=5)
        check_loglik_matches_log_prob(model, start, data)
        check_float32_agrees(model, start, data)
        check_reproducible(model, data, max_iter=5)


def test_reproducible_and_saved_models_load_equal(tmp_path):
    X = _data()
    a = PPCA(2, random_state=5).fit(X)
    assert np.array_equal(a.components_, PPCA(2, random_state=5).fit(X).components_)
    loaded = emkit.load(a.save(tmp_path / "ppca.emkit"))
    assert type(loaded) is PPCA
    for name in ("components_", "explained_variance_", "mean_"):
        assert np.array_equal(getattr(loaded, name), getattr(a, name)), name
    assert loaded.noise_variance_ == a.noise_variance_
    assert np.array_equal(loaded.transform(X), a.transform(X))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda X: PPCA(2).fit(np.where(X > 4, np.inf, X)), "infinit"),
        (lambda X: PPCA(2).fit(X[:, 0]), "2D array"),
        (lambda X: PPCA(2).fit(X[:1]), "minimum of 2"),
        (lambda X: PPCA(7).fit(X), "n_components=7 must be at most n_features=6"),
        (lambda X: PPCA(2, tol=-1.0).fit(X), "tol must be"),
        (lambda X: PPCA(2).fit(X).transform(X[:, :2]), "2 features"),
        (lambda X: PPCA(2).fit(X).inverse_transform(np.full((3, 2), np.nan)), "NaN"),
        (lambda X: PPCA(2).fit(X).inverse_transform(np.ones((3, 3))), "shape"),
    ],
)
def test_bad_input_is_refused_clearly(call, match):
    with pytest.raises(ValueError, match=match):
        call(_data(n=40))


def test_unfitted_model_is_refused():
    with pytest.raises(emkit.exceptions.NotFittedError):
        PPCA(2).transform(_data(n=10))
