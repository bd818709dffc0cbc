"""Missing values (NaN) in the variational Bayesian Gaussian mixture: the structured factor
q(x_m | z) of every row's missing cells, checked against numerical integration over the
missing cells, a closed-form evidence, direct computations of the completed statistics, the
shared conformance checks, and through the estimator face."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.integrate import quad
from scipy.optimize import minimize
from scipy.special import digamma, logsumexp, multigammaln
from sklearn.utils import get_tags

import emkit
from emkit.core.driver import fit_em
from emkit.core.stats import as_dict
from emkit.estimators.bayesian_gaussian_mixture import BayesianGaussianMixture
from emkit.execution.sources import ChunkRows
from emkit.families.checks import EmptyRowWarning
from emkit.families.gaussian_missing import missing_log_prob
from emkit.models.initialization import initializer
from emkit.models.variational_mixture import NormalWishartPrior, VariationalGaussianMixture
from emkit.testing.conformance import check_chunked_statistics, check_monotone_bound, run_all

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
WEIGHT_PRIORS = ("dirichlet_process", "dirichlet_distribution")


# -- helpers ---------------------------------------------------------------------------------
def _blobs(n=240, d=3, seed=0):
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, -1.0], [0.0, 4.0, 3.0]])[:, :d]
    labels = rng.randint(3, size=n)
    A = rng.randn(3, d, d) * 0.4 + np.eye(d)
    return centres[labels] + np.einsum("nij,nj->ni", A[labels], rng.randn(n, d))


def _with_nan(X, fraction, seed=1, empty_rows=()):
    rng = np.random.RandomState(seed)
    Y = X.copy()
    Y[rng.rand(*X.shape) < fraction] = np.nan
    # Rows with nothing observed only where asked for.
    unobserved = np.isnan(Y).all(axis=1)
    Y[unobserved, 0] = X[unobserved, 0]
    for i in empty_rows:
        Y[i] = np.nan
    return Y


def _prior(covariance_type, d):
    full = np.eye(d) + 0.3 * (np.ones((d, d)) - np.eye(d))
    covariance = {
        "full": full,
        "tied": full,
        "diag": np.linspace(0.8, 1.4, d),
        "spherical": np.array(1.1),
    }[covariance_type]
    return NormalWishartPrior(np.linspace(0.5, 1.0, d), 0.5, d + 0.5, covariance)


def _model(covariance_type, weight_prior="dirichlet_distribution", k=3, d=3, init="kmeans"):
    return VariationalGaussianMixture(
        k,
        _prior(covariance_type, d),
        covariance_type,
        weight_prior,
        0.7,
        0.0,
        None if init is None else initializer(init),
    )


def _fitted(covariance_type, X, weight_prior="dirichlet_distribution", k=3, max_iter=3):
    model = _model(covariance_type, weight_prior, k, X.shape[1])
    result = fit_em(model, X, random_state=0, max_iter=max_iter, tol=0.0, warn_unconverged=False)
    return model, result.params


def _expected_precision_factors(model, params):
    """``W_k`` (K, D, D), ``nu_k`` (K,) and ``beta_k`` (K,) as full arrays: ``W_k`` from the
    stored ``(nu_k W_k)^-1``."""
    k, d = params.means.shape
    nu = np.broadcast_to(np.asarray(params.degrees_of_freedom, np.float64), (k,))
    cov = model.covariance.full(params.covariances, k, d)
    W = np.linalg.inv(cov) / nu[:, None, None]
    return W, nu, params.mean_precision


def _expected_log_density(x, mean, W, nu, beta):
    """``E_q[log N(x | mu, Lambda^-1)]`` under ``N(mu | mean, (beta Lambda)^-1)
    Wishart(Lambda | W, nu)``, for points ``x`` (..., D) (Bishop 2006, eqs. 10.64-10.65)."""
    d = mean.size
    e_log_det = digamma(0.5 * (nu - np.arange(d))).sum() + d * np.log(2.0) + np.linalg.slogdet(W)[1]
    diff = x - mean
    quadratic = d / beta + nu * np.einsum("...i,ij,...j->...", diff, W, diff)
    return 0.5 * e_log_det - 0.5 * d * np.log(2 * np.pi) - 0.5 * quadratic


def _gauss_hermite(mean, cov, fn, nodes=6):
    """``int N(t | mean, cov) fn(t) dt`` over ``t`` in R^m by a tensor Gauss-Hermite rule
    (exact for polynomials of degree below ``2 nodes``)."""
    m = mean.size
    xi, wi = np.polynomial.hermite.hermgauss(nodes)
    grid = np.stack(np.meshgrid(*[xi] * m, indexing="ij"), axis=-1).reshape(-1, m)
    weights = np.prod(np.stack(np.meshgrid(*[wi] * m, indexing="ij"), -1).reshape(-1, m), 1)
    points = mean + np.sqrt(2.0) * grid @ np.linalg.cholesky(cov).T
    return float(weights @ fn(points)) / np.pi ** (m / 2)


def _row_term(row, k, model, params, q_mean, q_cov):
    """``E_q[E[log N(x | mu_k, Lambda_k^-1)]] + H[q(x_m | z = k)]`` of one row for a given
    factor ``q(x_m | z = k) = N(q_mean, q_cov)``, integrated numerically over ``x_m``."""
    W, nu, beta = _expected_precision_factors(model, params)
    missing = np.isnan(row)
    m = int(missing.sum())

    def integrand(points):
        x = np.broadcast_to(row, (points.shape[0], row.size)).copy()
        x[:, missing] = points
        dev = points - q_mean
        log_q = (
            -0.5 * np.einsum("ni,ij,nj->n", dev, np.linalg.inv(q_cov), dev)
            - 0.5 * np.linalg.slogdet(2 * np.pi * q_cov)[1]
        )
        return _expected_log_density(x, params.means[k], W[k], nu[k], beta[k]) - log_q

    if m == 0:
        return float(_expected_log_density(row, params.means[k], W[k], nu[k], beta[k]))
    return _gauss_hermite(q_mean, q_cov, integrand)


def _optimal_factor(row, k, model, params):
    """The closed form: precision ``nu_k W_k,mm``, mean ``m_km - (W_mm)^-1 W_mo (x_o -
    m_ko)``, written from the precision blocks."""
    W, nu, _ = _expected_precision_factors(model, params)
    o, m = ~np.isnan(row), np.isnan(row)
    P = nu[k] * W[k]
    mean = params.means[k][m] - np.linalg.solve(
        P[np.ix_(m, m)], P[np.ix_(m, o)] @ (row[o] - params.means[k][o])
    )
    return mean, np.linalg.inv(P[np.ix_(m, m)])


def _expected_log_weights(params):
    conc = params.weight_concentration
    return digamma(conc) - digamma(conc.sum())


# -- 1. no NaN: today's results --------------------------------------------------------------
class _CompleteOnly(VariationalGaussianMixture):
    """The variational mixture as it was before missing values: the compiled pass and the
    complete-data scores called directly."""

    def e_step(self, params, X, sample_weight=None, *, hard=False):
        return self._complete_e_step(params, np.asarray(X), sample_weight, hard=hard)

    def log_joint(self, params, X):
        X = np.asarray(X, dtype=np.float64)
        scores = self.covariance.log_prob(X, params.means, params.precisions_cholesky)
        return scores + self._log_weights(params)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_without_nan_fits_are_unchanged(covariance_type, weight_prior):
    X = _blobs()
    w = np.random.RandomState(2).rand(X.shape[0])
    new = _model(covariance_type, weight_prior)
    old = _CompleteOnly(
        new.n_components,
        new.prior,
        new.covariance,
        new.weight_prior,
        new.weight_concentration_prior,
        0.0,
        new.initializer,
    )
    fits = [
        fit_em(m, X, sample_weight=w, random_state=0, max_iter=15, tol=0.0, n_init=2)
        for m in (new, old)
    ]
    for name, value in as_dict(fits[1].params).items():
        assert_array_equal(as_dict(fits[0].params)[name], value, err_msg=name)
    assert_array_equal(fits[0].lower_bounds, fits[1].lower_bounds)
    params = fits[0].params
    assert_array_equal(new.log_prob(params, X), old.log_prob(params, X))
    for hard in (False, True):
        a, b = new.e_step(params, X, w, hard=hard), old.e_step(params, X, w, hard=hard)
        assert a[1] == b[1]
        for name, value in as_dict(b[0]).items():
            assert_array_equal(as_dict(a[0])[name], value, err_msg=name)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_face_without_nan_is_unchanged(covariance_type):
    # On complete data the face's default priors are the plain moments, as before, and the
    # fit is scikit-learn's.
    X = _blobs(n=150, seed=4)
    em = BayesianGaussianMixture(
        n_components=3,
        covariance_type=covariance_type,
        init_params="random",
        random_state=0,
        max_iter=10,
        tol=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        em.fit(X)
    # Today's moments, as the face accumulates them (one chunk here).
    mean = (np.ones(X.shape[0]) @ X) / X.shape[0]
    assert_array_equal(em.mean_prior_, mean)
    diff = X - mean
    cov = diff.T @ diff / (X.shape[0] - 1.0)
    expected = {"full": cov, "tied": cov, "diag": np.diag(cov), "spherical": np.diag(cov).mean()}
    assert_array_equal(em.covariance_prior_, expected[covariance_type])
    # The whole fit is scikit-learn's from the same start and priors.
    sk = _sk_fit(X, covariance_type, em)
    assert_allclose(em.means_, sk.means_, rtol=1e-10, atol=1e-12)
    assert_allclose(em.covariances_, sk.covariances_, rtol=1e-10, atol=1e-12)


def _sk_fit(X, covariance_type, em):
    from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture

    sk = SkBayesianGaussianMixture(
        n_components=3,
        covariance_type=covariance_type,
        init_params="random",
        random_state=0,
        max_iter=10,
        tol=0.0,
        reg_covar=em.reg_covar,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sk.fit(X)


# -- 2. the observed-coordinate log-responsibility ---------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_observed_log_responsibility_reduces_to_complete_data_one(covariance_type):
    X = _blobs(n=60)
    model, params = _fitted(covariance_type, X)
    observed = missing_log_prob(model.covariance, params.means, params.covariances, X)
    observed = observed + model._log_weights(params)
    assert_allclose(observed, model.log_joint(params, X), rtol=1e-12, atol=1e-12)
    # The numerical row term with nothing to integrate is the complete-data one.
    for i in range(3):
        direct = [_row_term(X[i], k, model, params, None, None) for k in range(3)]
        expected = model.log_joint(params, X[i : i + 1])[0] - _expected_log_weights(params)
        assert_allclose(direct, expected, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_row_bound_equals_numerical_integration_over_the_missing_cells(covariance_type):
    X = _with_nan(_blobs(n=90), 0.3)
    model, params = _fitted(covariance_type, X)
    rows = np.array(
        [
            [0.3, np.nan, -0.2],  # one missing
            [np.nan, 3.5, np.nan],  # two missing
            [np.nan, np.nan, 1.0],
            [4.1, 0.8, np.nan],
        ]
    )
    log_weights = _expected_log_weights(params)
    scores = model.log_prob(params, rows)
    for row, score in zip(rows, scores, strict=True):
        terms = [
            _row_term(row, k, model, params, *_optimal_factor(row, k, model, params))
            for k in range(3)
        ]
        assert_allclose(score, logsumexp(log_weights + np.array(terms)), rtol=1e-11)
        # The Gaussian part is the observed-coordinate density; the Wishart and mean-spread
        # terms keep the full dimension.
        o = ~np.isnan(row)
        W, nu, beta = _expected_precision_factors(model, params)
        for k in range(3):
            S = np.linalg.inv(nu[k] * W[k])[np.ix_(o, o)]
            diff = row[o] - params.means[k][o]
            gauss = -0.5 * (
                o.sum() * np.log(2 * np.pi)
                + np.linalg.slogdet(S)[1]
                + diff @ np.linalg.solve(S, diff)
            )
            d = row.size
            e_log_det = (
                digamma(0.5 * (nu[k] - np.arange(d))).sum()
                + d * np.log(2.0)
                + np.linalg.slogdet(W[k])[1]
            )
            gap = 0.5 * (e_log_det - np.linalg.slogdet(nu[k] * W[k])[1]) - 0.5 * d / beta[k]
            assert_allclose(terms[k], gauss + gap, rtol=1e-11)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_optimal_missing_factor_maximises_the_row_bound(covariance_type):
    """The closed-form q(x_m | z = k) is the maximiser: any other mean or variance lowers
    the numerically integrated bound, and a numerical maximisation returns it."""
    X = _with_nan(_blobs(n=90, d=2), 0.3)
    model, params = _fitted(covariance_type, X)
    row = np.array([0.4, np.nan])
    for k in range(3):
        mean, cov = _optimal_factor(row, k, model, params)
        best = _row_term(row, k, model, params, mean, cov)
        for shift in (-0.3, 0.05, 0.5):
            assert _row_term(row, k, model, params, mean + shift, cov) < best - 1e-4 * shift**2
        for scale in (0.5, 0.9, 1.2, 3.0):
            assert _row_term(row, k, model, params, mean, cov * scale) < best - 1e-6

        def negative(theta, k=k):
            return -_row_term(row, k, model, params, theta[:1], np.exp(theta[1:]).reshape(1, 1))

        found = minimize(negative, [mean[0] + 1.0, np.log(cov[0, 0]) + 0.7], method="BFGS")
        assert_allclose(found.x[0], mean[0], atol=1e-5)
        assert_allclose(np.exp(found.x[1]), cov[0, 0], rtol=1e-4)
        assert_allclose(-found.fun, best, rtol=1e-10)


def _log_evidence_one_component(X, prior):
    """``log p(X)`` of complete data ``X`` (n, D) under one Gaussian with the Normal-Wishart
    prior (full ``W_0^-1``), in closed form."""
    n, d = X.shape
    m0, b0, nu0, c0 = prior.mean, prior.mean_precision, prior.degrees_of_freedom, prior.covariance
    xbar = X.mean(axis=0)
    scatter = (X - xbar).T @ (X - xbar)
    bn, nun = b0 + n, nu0 + n
    cn = c0 + scatter + b0 * n / bn * np.outer(xbar - m0, xbar - m0)
    return (
        -0.5 * n * d * np.log(np.pi)
        + 0.5 * d * np.log(b0 / bn)
        + multigammaln(0.5 * nun, d)
        - multigammaln(0.5 * nu0, d)
        + 0.5 * nu0 * np.linalg.slogdet(c0)[1]
        - 0.5 * nun * np.linalg.slogdet(cn)[1]
    )


def _mean_field_bound(Xm, cell, prior, a, c):
    """The ELBO of one component at ``q(x_cell) = N(a, c)`` and the optimal ``q(mu,
    Lambda)`` given it, in closed form: with ``X_bar`` the data completed by ``a``,
    ``exp E_q(x)[log p(X, mu, Lambda)] = p(X_bar, mu, Lambda) exp(-c Lambda_mm / 2)``,
    whose integral is ``p(X_bar) E[exp(-c Lambda_mm / 2)]`` under the Normal-Wishart
    posterior of ``X_bar``, ``p(X_bar) (1 + c (W_n)_mm)^(-nu_n / 2)`` (the Wishart's
    Laplace transform); plus the entropy of ``q(x_cell)``."""
    Y = Xm.copy()
    Y[cell] = a
    n, _ = Y.shape
    xbar = Y.mean(axis=0)
    b0, nu0 = prior.mean_precision, prior.degrees_of_freedom
    bn = b0 + n
    dev = xbar - prior.mean
    cn = prior.covariance + (Y - xbar).T @ (Y - xbar) + b0 * n / bn * np.outer(dev, dev)
    w_mm = np.linalg.inv(cn)[cell[1], cell[1]]
    return (
        _log_evidence_one_component(Y, prior)
        - 0.5 * (nu0 + n) * np.log1p(c * w_mm)
        + 0.5 * np.log(2 * np.pi * np.e * c)
    )


def test_elbo_is_the_mean_field_optimum_below_the_evidence_of_the_observed_cells():
    """One component, one missing cell. The converged ELBO is the maximum over Gaussian
    q(x_m) of the closed-form bound :func:`_mean_field_bound`; and it lies below ``log
    p(X_o)``, the closed-form evidence of the completed data integrated over the missing
    cell."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(9, 2)) @ np.array([[1.0, 0.6], [0.0, 0.5]]) + 1.0
    Xm = X.copy()
    cell = (4, 1)
    Xm[cell] = np.nan
    model = _model("full", "dirichlet_distribution", k=1, d=2)
    result = check_monotone_bound(model, Xm, max_iter=300)
    elbo = result.lower_bound * Xm.shape[0]
    best = minimize(
        lambda theta: -_mean_field_bound(Xm, cell, model.prior, theta[0], np.exp(theta[1])),
        [0.0, 0.0],
        method="BFGS",
        options={"gtol": 1e-10},
    )
    assert_allclose(elbo, -best.fun, rtol=1e-12)

    def completed(t):
        Y = Xm.copy()
        Y[cell] = t
        return _log_evidence_one_component(Y, model.prior)

    top = max(completed(t) for t in np.linspace(-5, 5, 201))
    mass, error = quad(
        lambda t: np.exp(completed(t) - top), -np.inf, np.inf, epsabs=0.0, epsrel=1e-12, limit=200
    )
    assert error < 1e-10 * mass
    log_evidence = top + np.log(mass)
    # Below the evidence by KL(q || posterior) > 0: q(x_m) ignores how x_m depends on the
    # parameters, and is Gaussian where the posterior of x_m is a Student t.
    assert 0.01 < log_evidence - elbo < 0.5, (elbo, log_evidence)
    # Complete data: the same model's ELBO is the evidence itself.
    full = fit_em(model, X, max_iter=1, tol=0.0, random_state=0).lower_bound * X.shape[0]
    assert_allclose(full, _log_evidence_one_component(X, model.prior), rtol=1e-12)


# -- 3. the completed statistics ---------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_statistics_are_responsibilities_times_completed_rows(covariance_type):
    X = _with_nan(_blobs(n=40), 0.35, empty_rows=(2,))
    model, params = _fitted(covariance_type, X)
    w = np.random.RandomState(5).rand(X.shape[0])
    stats, bound = model.e_step(params, X, w)
    k, d = params.means.shape
    sum_w, first, second, total = np.zeros(k), np.zeros((k, d)), np.zeros((k, d, d)), 0.0
    log_weights = _expected_log_weights(params)
    for row, weight in zip(X, w, strict=True):
        if np.isnan(row).all():
            continue
        m = np.isnan(row)
        factors = [_optimal_factor(row, j, model, params) for j in range(k)]
        terms = [_row_term(row, j, model, params, *factors[j]) for j in range(k)]
        resp = np.exp(log_weights + terms - logsumexp(log_weights + terms))
        total += weight * logsumexp(log_weights + terms)
        for j in range(k):
            x = row.copy()
            x[m] = factors[j][0]
            dev = x - params.means[j]
            extra = np.zeros((d, d))
            extra[np.ix_(m, m)] = factors[j][1]
            sum_w[j] += weight * resp[j]
            first[j] += weight * resp[j] * dev
            second[j] += weight * resp[j] * (np.outer(dev, dev) + extra)
    assert_allclose(bound, total, rtol=1e-11)
    assert_allclose(stats.sum_w, sum_w, rtol=1e-11)
    assert_allclose(stats.sum_dx, first, rtol=1e-10, atol=1e-10)
    reduced = {
        "full": second,
        "tied": second.sum(axis=0),
        "diag": np.diagonal(second, axis1=1, axis2=2),
        "spherical": np.diagonal(second, axis1=1, axis2=2),
    }[covariance_type]
    assert_allclose(stats.scatter, reduced, rtol=1e-10, atol=1e-10)
    assert stats.centre is params.means


# -- 4. the conformance checks with NaN present -------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_conformance_with_missing_values(covariance_type, weight_prior):
    X = _with_nan(_blobs(n=120), 0.25, empty_rows=(3,))
    model, params = _fitted(covariance_type, X, weight_prior, max_iter=2)
    # The E-step's bound is the sum of log_prob (exact_loglik): both are the ELBO's data
    # terms, computed by two separate paths.
    run_all(model, X, params, monotone_max_iter=60)
    check_monotone_bound(model, X, max_iter=30, hard=True)
    check_chunked_statistics(model, params, X, hard=True, fit_max_iter=5)


def test_threads_and_chunks_equal_one_pass_with_missing_values():
    X = _with_nan(_blobs(n=400), 0.3, empty_rows=(10,))
    model = _model("full", "dirichlet_process")
    kwargs = dict(random_state=0, max_iter=15, tol=0.0)
    one = fit_em(model, X, n_jobs=1, **kwargs)
    for other in (
        fit_em(model, X, n_jobs=2, chunk_size=50, **kwargs),
        fit_em(model, X, n_jobs=1, chunk_size=7, **kwargs),
    ):
        for name, value in as_dict(one.params).items():
            assert_allclose(as_dict(other.params)[name], value, rtol=1e-10, err_msg=name)
        assert_allclose(other.lower_bounds, one.lower_bounds, rtol=1e-12)


# -- 5. missing completely at random: the simulated parameters come back ---------------------
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_recovers_simulated_parameters_under_mcar(covariance_type):
    rng = np.random.RandomState(11)
    weights = np.array([0.5, 0.3, 0.2])
    means = np.array([[0.0, 0.0, 0.0], [6.0, 6.0, 0.0], [0.0, 6.0, 6.0]])
    covs = np.array(
        [
            [[1.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 1.0]],
            [[1.5, -0.4, 0.2], [-0.4, 1.0, 0.0], [0.2, 0.0, 0.5]],
            [[0.7, 0.0, 0.0], [0.0, 1.2, 0.6], [0.0, 0.6, 1.0]],
        ]
    )
    if covariance_type == "diag":
        covs = covs * np.eye(3)
    n = 5000
    labels = rng.choice(3, size=n, p=weights)
    X = np.stack([rng.multivariate_normal(means[c], covs[c]) for c in labels])
    X = _with_nan(X, 0.25, seed=12)
    em = BayesianGaussianMixture(
        n_components=3,
        covariance_type=covariance_type,
        weight_concentration_prior_type="dirichlet_distribution",
        reg_covar=0.0,
        max_iter=500,
        tol=1e-8,
        random_state=0,
    ).fit(X)
    order = [int(np.argmin(((em.means_ - m) ** 2).sum(axis=1))) for m in means]
    assert sorted(order) == [0, 1, 2]
    assert_allclose(em.weights_[order], weights, atol=0.02)
    assert_allclose(em.means_[order], means, atol=0.1)
    fitted = em.covariances_[order]
    expected = covs if covariance_type == "full" else np.diagonal(covs, axis1=1, axis2=2)
    assert_allclose(fitted, expected, atol=0.15)
    # Mean imputation before the fit shrinks the variances of the missing coordinates.
    col_means = np.nanmean(X, axis=0)
    naive = BayesianGaussianMixture(
        n_components=3,
        covariance_type=covariance_type,
        weight_concentration_prior_type="dirichlet_distribution",
        reg_covar=0.0,
        max_iter=500,
        tol=1e-8,
        random_state=0,
    ).fit(np.where(np.isnan(X), col_means, X))
    naive_order = [int(np.argmin(((naive.means_ - m) ** 2).sum(axis=1))) for m in means]
    assert np.abs(naive.covariances_[naive_order] - expected).max() > 0.3


# -- 6. rows with nothing observed, infinities ----------------------------------------------
def test_rows_with_nothing_observed_count_for_nothing():
    X = _with_nan(_blobs(), 0.2)
    X = X[~np.isnan(X).all(axis=1)]
    model, params = _fitted("full", X)
    empty = np.full((4, 3), np.nan)
    with_empty = np.concatenate([X[:50], empty, X[50:]])
    for hard in (False, True):
        a, la = model.e_step(params, with_empty, hard=hard)
        b, lb = model.e_step(params, X, hard=hard)
        assert la == pytest.approx(lb, rel=1e-13)
        for name, value in as_dict(b).items():
            assert_allclose(as_dict(a)[name], value, rtol=1e-12, err_msg=name)
    a = fit_em(model, with_empty, init=params, max_iter=10, tol=0.0)
    b = fit_em(model, X, init=params, max_iter=10, tol=0.0)
    # Per-sample bounds: the empty rows count in the number of rows, not in the sum.
    assert_allclose(a.lower_bounds * with_empty.shape[0], b.lower_bounds * X.shape[0], rtol=1e-12)
    assert_allclose(model.log_prob(params, empty), 0.0, atol=1e-15)
    resp = model.predict_proba(params, empty)
    assert_allclose(resp, np.broadcast_to(model.mean_weights(params), resp.shape), rtol=1e-14)
    em = BayesianGaussianMixture(n_components=3, random_state=0, max_iter=5)
    with pytest.warns(EmptyRowWarning, match=f"^4 of {with_empty.shape[0]} rows"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", emkit.ConvergenceWarning)
            em.fit(with_empty)
    assert_allclose(em.predict_proba(empty), np.broadcast_to(em.weights_, (4, 3)), rtol=1e-12)
    assert_allclose(em.score_samples(empty), 0.0, atol=1e-15)


def test_infinite_values_still_raise():
    X = _with_nan(_blobs(), 0.2)
    X[7, 1] = -np.inf
    with pytest.raises(ValueError, match="infinity"):
        BayesianGaussianMixture(n_components=2).fit(X)
    good = _with_nan(_blobs(), 0.2)
    em = BayesianGaussianMixture(n_components=2, random_state=0, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        em.fit(good)
    with pytest.raises(ValueError, match="infinity"):
        em.predict(X)
    with pytest.raises(ValueError, match="must not hold infinite values"):
        BayesianGaussianMixture(n_components=2).fit(ChunkRows([X[:100], X[100:]]))


def test_a_column_with_nothing_observed_is_refused():
    X = _blobs()
    X[:, 2] = np.nan
    with pytest.raises(ValueError, match="column 2 of the data has no observed value"):
        BayesianGaussianMixture(n_components=2).fit(X)
    with pytest.raises(ValueError, match="column 2 of the data has no observed value"):
        _model("full").init(X, np.random.RandomState(0))


# -- 7. the face -----------------------------------------------------------------------------
def _face_fit(X, **params):
    em = BayesianGaussianMixture(n_components=3, random_state=0, max_iter=20, tol=0.0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        return em.fit(X)


def test_face_takes_missing_cells_and_reports_the_models_bound():
    X = _with_nan(_blobs(), 0.2)
    em = _face_fit(X)
    assert get_tags(em).input_tags.allow_nan
    model, params = em._model(), em._params()
    assert_allclose(em.score_samples(X), model.log_prob(params, X), rtol=1e-12)
    again = fit_em(model, X, init=params, max_iter=0).lower_bound
    assert em.lower_bound_ == pytest.approx(again, rel=1e-12)
    assert np.all(np.diff(em.lower_bounds_) >= -1e-12 * np.abs(em.lower_bounds_[1:]))
    assert_array_equal(em.predict(X), np.argmax(em.predict_proba(X), axis=1))
    # Chunks of a row source give the fit on the array.
    chunked = _face_fit(ChunkRows([X[:90], X[90:]]))
    for name in ("means_", "covariances_", "weights_", "lower_bounds_"):
        assert_allclose(getattr(chunked, name), getattr(em, name), rtol=1e-10, err_msg=name)


def test_default_priors_read_the_observed_cells():
    X = _with_nan(_blobs(), 0.25)
    em = _face_fit(X)
    assert_allclose(em.mean_prior_, np.nanmean(X, axis=0), rtol=1e-12)
    cov = em.covariance_prior_
    assert_allclose(np.diag(cov), np.nanvar(X, axis=0, ddof=1), rtol=1e-12)
    assert np.linalg.eigvalsh(cov).min() > 0
    # Off the diagonal: the scatter with the missing cells at the column means.
    observed = ~np.isnan(X)
    dev = np.where(observed, X - np.nanmean(X, axis=0), 0.0)
    seen = observed.sum(axis=0) - 1.0
    assert_allclose(cov, dev.T @ dev / np.sqrt(np.outer(seen, seen)), rtol=1e-12)
    diag = _face_fit(X, covariance_type="spherical")
    assert diag.covariance_prior_ == pytest.approx(np.nanvar(X, axis=0, ddof=1).mean())


def test_impute_is_the_variational_posterior_mean_of_the_missing_cells():
    X = _with_nan(_blobs(n=150), 0.3, empty_rows=(5,))
    with pytest.warns(EmptyRowWarning):
        em = _face_fit(X)
    filled, std = em.impute(X, return_std=True)
    resp = em.predict_proba(X)
    precisions = em.precisions_
    for i, row in enumerate(X):
        m = np.isnan(row)
        if not m.any():
            assert_array_equal(filled[i], row)
            continue
        o = ~m
        means, variances = [], []
        for k in range(3):
            P = precisions[k]
            cond = em.means_[k][m] - np.linalg.solve(
                P[np.ix_(m, m)], P[np.ix_(m, o)] @ (row[o] - em.means_[k][o])
            )
            means.append(cond)
            variances.append(np.diag(np.linalg.inv(P[np.ix_(m, m)])))
        means, variances = np.array(means), np.array(variances)
        expected = resp[i] @ means
        spread = resp[i] @ (variances + (means - expected) ** 2)
        assert_allclose(filled[i][m], expected, rtol=1e-10)
        assert_allclose(filled[i][o], row[o])
        assert_allclose(std[i][m], np.sqrt(spread), rtol=1e-10)
        assert_array_equal(std[i][o], 0.0)
    draws = em.sample_missing(X, n_imputations=400, random_state=0)
    observed = ~np.isnan(X)
    assert_array_equal(draws[:, observed], np.broadcast_to(X[observed], (400, observed.sum())))
    assert not np.isnan(draws).any()
    # The draws' mean approaches the imputation (within a few standard errors).
    gap = np.abs(draws.mean(axis=0) - filled)[~observed]
    assert np.all(gap <= 5 * std[~observed] / np.sqrt(400) + 1e-12)
