"""Imputation by fitted mixtures (``impute``, ``sample_missing``) and ``EMImputer``: against
the conditional Gaussian computed by hand, the mixture's moments by hand, draws averaged
over many copies, a plain NumPy EM for the multivariate normal, and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

import emkit
from emkit.estimators.em_imputer import EMImputer
from emkit.exceptions import ImpossibleSampleWarning
from emkit.families.checks import EmptyRowWarning
from emkit.families.gaussian import Gaussian
from emkit.families.multinomial import Multinomial
from emkit.families.poisson import Poisson
from emkit.families.product import Product

RNG = np.random.RandomState(0)
COV = np.array([[1.0, 0.8, 0.3], [0.8, 1.0, 0.5], [0.3, 0.5, 1.0]])
X = np.concatenate(
    [
        RNG.multivariate_normal([0.0, 0.0, 0.0], COV, 150),
        RNG.multivariate_normal([3.0, 3.0, -1.0], 0.5 * COV, 150),
    ]
)
XM = X.copy()
XM[RNG.rand(*X.shape) < 0.2] = np.nan
XM[np.isnan(XM).all(axis=1), 0] = 1.0  # every row with an observed cell
# Rows of every kind for the comparisons: one missing cell, two, none.
ROWS = XM[:40]


def _full_covariances(gm: emkit.GaussianMixture) -> np.ndarray:
    """``covariances_`` of any covariance type as (K, D, D)."""
    k, d = gm.means_.shape
    cov = np.asarray(gm.covariances_)
    if cov.ndim == 3:
        return cov
    if cov.ndim == 2 and cov.shape == (d, d) and gm.covariance_type in ("tied", "EEE"):
        return np.repeat(cov[None], k, axis=0)
    if cov.ndim == 2:
        return np.stack([np.diag(c) for c in cov])
    return np.stack([c * np.eye(d) for c in cov])


def _by_hand(gm: emkit.GaussianMixture, rows: np.ndarray):
    """Posterior-weighted conditional means and mixture standard deviations, row by row,
    with numpy and scipy."""
    covs = _full_covariances(gm)
    means_out = rows.copy()
    std_out = np.zeros_like(rows)
    for i, x in enumerate(rows):
        m = np.isnan(x)
        o = ~m
        if not m.any():
            continue
        log_r = np.log(gm.weights_) + np.array(
            [
                stats.multivariate_normal(mu[o], c[np.ix_(o, o)]).logpdf(x[o])
                for mu, c in zip(gm.means_, covs, strict=True)
            ]
        )
        r = np.exp(log_r - np.logaddexp.reduce(log_r))
        cm, cv = [], []
        for mu, c in zip(gm.means_, covs, strict=True):
            gain = c[np.ix_(m, o)] @ np.linalg.inv(c[np.ix_(o, o)])
            cm.append(mu[m] + gain @ (x[o] - mu[o]))
            cv.append(np.diag(c[np.ix_(m, m)] - gain @ c[np.ix_(o, m)]))
        cm, cv = np.array(cm), np.array(cv)
        mean = r @ cm
        means_out[i, m] = mean
        std_out[i, m] = np.sqrt(r @ (cv + cm**2) - mean**2)
    return means_out, std_out


COVARIANCE_TYPES = ["full", "tied", "diag", "spherical", "VEV", "EEI"]


@pytest.fixture(scope="module", params=COVARIANCE_TYPES)
def fitted(request):
    return emkit.GaussianMixture(2, covariance_type=request.param, random_state=0).fit(XM)


def test_impute_is_the_posterior_weighted_conditional_mean(fitted):
    values, std = fitted.impute(ROWS, return_std=True)
    expected, expected_std = _by_hand(fitted, ROWS)
    np.testing.assert_allclose(values, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(std, expected_std, rtol=1e-8, atol=1e-10)
    observed = ~np.isnan(ROWS)
    assert np.array_equal(values[observed], ROWS[observed])
    assert np.all(std[observed] == 0) and np.all(std[~observed] > 0)
    np.testing.assert_array_equal(fitted.impute(ROWS), values)


def test_one_component_is_the_conditional_gaussian_by_hand():
    gm = emkit.GaussianMixture(1, random_state=0).fit(XM)
    x = np.array([0.5, np.nan, np.nan])
    mu, c = gm.means_[0], gm.covariances_[0]
    gain = c[1:, :1] / c[0, 0]
    expected = mu[1:] + gain[:, 0] * (x[0] - mu[0])
    values, std = gm.impute(x[None], return_std=True)
    np.testing.assert_allclose(values[0, 1:], expected, rtol=1e-12)
    np.testing.assert_allclose(std[0, 1:] ** 2, np.diag(c[1:, 1:] - gain @ c[:1, 1:]), rtol=1e-10)


def test_a_row_with_nothing_observed_gets_the_mixture_mean():
    gm = emkit.GaussianMixture(2, random_state=0).fit(XM)
    with pytest.warns(EmptyRowWarning):
        values = gm.impute(np.full((1, 3), np.nan))
    np.testing.assert_allclose(values[0], gm.weights_ @ gm.means_, rtol=1e-12)


def test_sample_missing_draws_match_impute_and_its_std(fitted):
    rows = ROWS[:12]
    n = 4000
    draws = fitted.sample_missing(rows, n_imputations=n, random_state=0)
    assert draws.shape == (n, *rows.shape)
    observed = ~np.isnan(rows)
    assert np.all(draws[:, observed] == rows[observed])
    values, std = fitted.impute(rows, return_std=True)
    missing = ~observed
    # Means within 5 standard errors; variances within 5 of theirs (normal draws: a
    # variance's standard error is about sqrt(2 / n) of it; mixtures a little more).
    error = np.abs(draws.mean(axis=0) - values)[missing] / (std[missing] / np.sqrt(n))
    assert error.max() < 5
    ratio = draws.var(axis=0)[missing] / std[missing] ** 2
    assert np.abs(ratio - 1).max() < 5 * np.sqrt(2 / n) * 2


def test_sample_missing_draws_the_missing_cells_jointly():
    gm = emkit.GaussianMixture(1, random_state=0).fit(XM)
    row = np.array([[0.5, np.nan, np.nan]])
    draws = gm.sample_missing(row, n_imputations=20000, random_state=1)[:, 0, 1:]
    c = gm.covariances_[0]
    conditional = c[1:, 1:] - np.outer(c[1:, 0], c[0, 1:]) / c[0, 0]
    np.testing.assert_allclose(np.cov(draws.T), conditional, atol=0.03)


def test_sample_missing_is_reproducible():
    gm = emkit.GaussianMixture(2, random_state=0).fit(XM)
    a = gm.sample_missing(ROWS, 3, random_state=7)
    np.testing.assert_array_equal(a, gm.sample_missing(ROWS, 3, random_state=7))
    assert not np.array_equal(a, gm.sample_missing(ROWS, 3, random_state=8))
    assert not np.array_equal(a[0], a[1])


def _posterior(weights: np.ndarray, log_prob: np.ndarray) -> np.ndarray:
    log_r = np.log(weights) + log_prob
    return np.exp(log_r - np.logaddexp.reduce(log_r, axis=1, keepdims=True))


def test_bernoulli_and_poisson_impute_the_posterior_mean():
    B = (X > 1).astype(float)
    B[RNG.rand(*B.shape) < 0.2] = np.nan
    B[np.isnan(B).all(axis=1), 0] = 1.0
    bm = emkit.BernoulliMixture(2, prior=2.0, random_state=0).fit(B)
    o = ~np.isnan(B)
    p = bm.probs_
    log_prob = np.stack(
        [np.where(o, np.where(B == 1, np.log(pk), np.log1p(-pk)), 0).sum(1) for pk in p], 1
    )
    r = _posterior(bm.weights_, log_prob)
    values, std = bm.impute(B, return_std=True)
    expected = np.where(o, B, r @ p)
    np.testing.assert_allclose(values, expected, rtol=1e-10)
    np.testing.assert_allclose(std, np.where(o, 0, np.sqrt(expected * (1 - expected))), atol=1e-10)
    assert set(np.unique(bm.sample_missing(B, 2, random_state=0))) <= {0.0, 1.0}

    C = RNG.poisson(np.where(np.arange(300)[:, None] < 150, 1.0, 6.0), (300, 3)).astype(float)
    C[RNG.rand(*C.shape) < 0.2] = np.nan
    C[np.isnan(C).all(axis=1), 0] = 1.0
    pm = emkit.PoissonMixture(2, random_state=0).fit(C)
    o = ~np.isnan(C)
    lam = pm.lambdas_
    log_prob = np.stack(
        [np.where(o, stats.poisson(lk).logpmf(np.nan_to_num(C)), 0).sum(1) for lk in lam], 1
    )
    r = _posterior(pm.weights_, log_prob)
    values, std = pm.impute(C, return_std=True)
    np.testing.assert_allclose(values, np.where(o, C, r @ lam), rtol=1e-10)
    second = r @ (lam + lam**2)
    np.testing.assert_allclose(std, np.where(o, 0, np.sqrt(second - (r @ lam) ** 2)), atol=1e-9)


def test_categorical_imputes_the_most_probable_category():
    codes = np.concatenate(
        [RNG.choice(3, (150, 2), p=[0.8, 0.1, 0.1]), RNG.choice(3, (150, 2), p=[0.1, 0.1, 0.8])]
    ).astype(float)
    codes[RNG.rand(*codes.shape) < 0.2] = np.nan
    codes[np.isnan(codes).all(axis=1), 0] = 0.0
    cm = emkit.CategoricalMixture(2, prior=2.0, random_state=0).fit(codes)
    o = ~np.isnan(codes)
    safe = np.nan_to_num(codes).astype(int)
    log_prob = np.stack(
        [np.where(o, np.log(pk[np.arange(2), safe]), 0).sum(1) for pk in cm.probs_],
        1,
    )
    r = _posterior(cm.weights_, log_prob)
    predictive = np.einsum("nk,kcl->ncl", r, cm.probs_)
    values, std = cm.impute(codes, return_std=True)
    np.testing.assert_array_equal(values, np.where(o, codes, predictive.argmax(axis=2)))
    assert np.all(np.isnan(std[~o])) and np.all(std[o] == 0)
    draws = cm.sample_missing(codes, 3, random_state=0)
    assert set(np.unique(draws)) <= {0.0, 1.0, 2.0}


def test_product_fills_every_part_from_the_products_posterior():
    counts = RNG.poisson(np.where(np.arange(300) < 150, 1.0, 6.0)).astype(float)[:, None]
    data = np.concatenate([XM, counts], axis=1)
    data[::7, 3] = np.nan
    family = Product([(Gaussian("full"), [0, 1, 2]), (Poisson(), [3])])
    mixture = emkit.Mixture(family, 2, random_state=0, init_params="random", n_init=3).fit(data)
    values, std = mixture.impute(data, return_std=True)
    r = mixture.predict_proba(data)
    o = ~np.isnan(data)
    means, covs = mixture.gaussian_means_, mixture.gaussian_covariances_
    for i in range(40):
        m = ~o[i, :3]
        if m.any():
            cm = [
                mu[m]
                + c[np.ix_(m, ~m)] @ np.linalg.solve(c[np.ix_(~m, ~m)], data[i, :3][~m] - mu[~m])
                for mu, c in zip(means, covs, strict=True)
            ]
            np.testing.assert_allclose(values[i, :3][m], r[i] @ np.array(cm), rtol=1e-9)
        if not o[i, 3]:
            assert values[i, 3] == pytest.approx(r[i] @ mixture.poisson_lambdas_[:, 0], rel=1e-10)
    assert np.array_equal(values[o], data[o])
    assert np.all(std[o] == 0) and np.all(std[~o] > 0)
    draws = mixture.sample_missing(data, 2, random_state=0)
    assert np.array_equal(draws[:, o], np.broadcast_to(data[o], (2, o.sum())))


def test_a_mixture_of_a_gaussian_family_imputes_as_gaussian_mixture():
    gm = emkit.GaussianMixture(2, random_state=0).fit(XM)
    mixture = emkit.Mixture(Gaussian("full"), 2, random_state=0).fit(XM)
    np.testing.assert_allclose(mixture.impute(ROWS), gm.impute(ROWS), rtol=1e-9)


def _classic_em(X: np.ndarray, n_iter: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """Little and Rubin's EM for the multivariate normal, row by row in plain NumPy."""
    mu = np.nanmean(X, axis=0)
    sigma = np.diag(np.nanvar(X, axis=0))
    for _ in range(n_iter):
        filled, extra = [], np.zeros_like(sigma)
        for x in X:
            m = np.isnan(x)
            o = ~m
            x = x.copy()
            if m.any():
                gain = sigma[np.ix_(m, o)] @ np.linalg.inv(sigma[np.ix_(o, o)])
                x[m] = mu[m] + gain @ (x[o] - mu[o])
                extra[np.ix_(m, m)] += sigma[np.ix_(m, m)] - gain @ sigma[np.ix_(o, m)]
            filled.append(x)
        filled = np.array(filled)
        new_mu = filled.mean(axis=0)
        dev = filled - new_mu
        new_sigma = (dev.T @ dev + extra) / X.shape[0]
        done = np.abs(new_mu - mu).max() < 1e-12 and np.abs(new_sigma - sigma).max() < 1e-12
        mu, sigma = new_mu, new_sigma
        if done:
            break
    return mu, sigma


def test_one_component_is_the_classic_em_for_the_multivariate_normal():
    small = XM[:60]
    imputer = EMImputer(reg_covar=0.0, tol=1e-13, max_iter=10_000).fit(small)
    mu, sigma = _classic_em(small)
    np.testing.assert_allclose(imputer.mixture_.means_[0], mu, atol=1e-7)
    np.testing.assert_allclose(imputer.mixture_.covariances_[0], sigma, atol=1e-7)


def test_em_imputer_beats_mean_imputation_on_correlated_data():
    rng = np.random.RandomState(3)
    cov = 0.9 * np.ones((5, 5)) + 0.1 * np.eye(5)
    full = rng.multivariate_normal(np.zeros(5), cov, 500)
    holed = full.copy()
    holed[rng.rand(*full.shape) < 0.2] = np.nan
    holed[np.isnan(holed).all(axis=1), 0] = full[np.isnan(holed).all(axis=1), 0]
    missing = np.isnan(holed)
    em = EMImputer(random_state=0).fit_transform(holed)
    mean = SimpleImputer().fit_transform(holed)
    rmse_em = np.sqrt(np.mean((em - full)[missing] ** 2))
    rmse_mean = np.sqrt(np.mean((mean - full)[missing] ** 2))
    assert rmse_em < 0.5 * rmse_mean


def test_em_imputer_in_a_pipeline():
    rng = np.random.RandomState(1)
    features = rng.multivariate_normal(np.zeros(3), COV, 300)
    y = features @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.randn(300)
    holed = features.copy()
    holed[rng.rand(*holed.shape) < 0.15] = np.nan
    empty = np.isnan(holed).all(axis=1)
    holed[empty, 0] = features[empty, 0]
    pipe = make_pipeline(EMImputer(random_state=0), Ridge(alpha=1e-3)).fit(holed, y)
    assert pipe.score(holed, y) > 0.8
    np.testing.assert_allclose(pipe[-1].coef_, [1.0, -2.0, 0.5], atol=0.4)
    names = np.array(["a", "b", "c"], dtype=object)
    imputer = EMImputer(random_state=0)
    import pandas as pd

    frame = pd.DataFrame(holed, columns=names)
    imputer.fit(frame)
    np.testing.assert_array_equal(imputer.feature_names_in_, names)
    np.testing.assert_array_equal(imputer.get_feature_names_out(), names)
    assert imputer.n_features_in_ == 3


def test_em_imputer_sample_posterior_draws_once():
    imputer = EMImputer(sample_posterior=True, random_state=0).fit(XM)
    a = imputer.transform(ROWS)
    np.testing.assert_array_equal(a, imputer.transform(ROWS))
    expected = imputer.mixture_.sample_missing(ROWS, 1, random_state=0)[0]
    np.testing.assert_array_equal(a, expected)
    assert not np.array_equal(a, EMImputer(random_state=0).fit(XM).transform(ROWS))


def test_bad_input():
    holed = XM.copy()
    holed[:, 1] = np.nan
    with pytest.raises(ValueError, match="column 1 of X has no observed value"):
        EMImputer().fit(holed)
    with pytest.raises(NotFittedError):
        EMImputer().transform(XM)
    with pytest.raises(NotFittedError):
        emkit.GaussianMixture(2).impute(XM)
    gm = emkit.GaussianMixture(2, random_state=0).fit(XM)
    with pytest.raises(ValueError, match="3 features"):
        gm.impute(XM[:, :2])
    with pytest.raises(ValueError, match="3 features"):
        EMImputer().fit(XM).transform(XM[:, :2])
    with pytest.raises(ValueError, match="n_imputations must be an integer >= 1"):
        gm.sample_missing(XM, 0)
    with pytest.raises(TypeError, match="return_std"):
        gm.impute(XM, return_std="yes")
    with pytest.raises(ValueError, match="sample_posterior"):
        EMImputer(sample_posterior="yes").fit(XM)
    counts = RNG.poisson(3.0, (50, 4)).astype(float)
    multinomial = emkit.Mixture(Multinomial(), 2, random_state=0).fit(counts)
    with pytest.raises(TypeError, match=r"Multinomial family .* cannot be imputed"):
        multinomial.impute(counts)


def test_a_row_no_component_can_produce_stays_missing():
    binary = np.stack([np.zeros(60), RNG.choice(2, 60)], axis=1)
    bm = emkit.BernoulliMixture(1, random_state=0).fit(binary)
    row = np.array([[1.0, np.nan]])
    with pytest.warns(ImpossibleSampleWarning, match="stay NaN"):
        values = bm.impute(row)
    np.testing.assert_array_equal(values, row)
    with pytest.warns(ImpossibleSampleWarning):
        np.testing.assert_array_equal(bm.sample_missing(row, 2, random_state=0)[1], row)


@parametrize_with_checks(
    [
        EMImputer(),
        EMImputer(2, covariance_type="diag"),
        EMImputer(sample_posterior=True, random_state=0),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_gaussian_hmm_imputes_with_the_state_posteriors():
    rng = np.random.RandomState(0)
    states = np.repeat([0, 1, 0, 1], 100)
    X = rng.normal(size=(400, 2)) @ np.array([[1.0, 0.8], [0.0, 0.6]])
    X += np.array([[0.0, 0.0], [5.0, 5.0]])[states]
    Xm = X.copy()
    gone = rng.rand(400) < 0.2
    Xm[gone, 1] = np.nan
    hmm = emkit.GaussianHMM(2, covariance_type="full", random_state=0, n_iter=20, tol=0.0)
    hmm.fit(Xm, [200, 200])
    values, std = hmm.impute(Xm, [200, 200], return_std=True)
    gamma = hmm.predict_proba(Xm, [200, 200])
    mu, cov = hmm.means_, hmm.covars_
    # By hand: each state's conditional Gaussian of the second cell given the first.
    cond_mean = mu[:, 1][None] + cov[:, 1, 0][None] / cov[:, 0, 0][None] * (
        Xm[:, [0]] - mu[:, 0][None]
    )
    cond_var = cov[:, 1, 1] - cov[:, 1, 0] ** 2 / cov[:, 0, 0]
    expected = (gamma * cond_mean).sum(axis=1)
    second = (gamma * (cond_var[None] + cond_mean**2)).sum(axis=1) - expected**2
    np.testing.assert_allclose(values[gone, 1], expected[gone], rtol=1e-10)
    np.testing.assert_allclose(std[gone, 1], np.sqrt(second[gone]), rtol=1e-8)
    np.testing.assert_array_equal(values[~gone], X[~gone])
    assert np.all(std[~gone] == 0.0)
    assert np.sqrt(np.mean((values[gone, 1] - X[gone, 1]) ** 2)) < 0.8
