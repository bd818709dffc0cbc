"""Tests of emkit.BayesianGaussianMixture and its model, the variational Gaussian mixture:
agreement with scikit-learn from the same start, the ELBO checked against a Monte-Carlo
estimate and a closed-form evidence, the shared conformance checks, pruning by the Dirichlet
process, sample weights, model files and input checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from scipy.special import betaln, multigammaln
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture
from sklearn.utils.estimator_checks import parametrize_with_checks

from emkit.core.driver import fit_em
from emkit.estimators.base import load
from emkit.estimators.bayesian_gaussian_mixture import BayesianGaussianMixture
from emkit.exceptions import MonotonicityWarning
from emkit.io.model_file import ModelFileError, read_model_file, write_model_file
from emkit.models.initialization import initializer
from emkit.models.variational_mixture import (
    NormalWishartPrior,
    VariationalGaussianMixture,
    VariationalMixtureParams,
)
from emkit.testing.conformance import (
    check_estimator_contract,
    check_monotone_bound,
    run_all,
)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
WEIGHT_PRIORS = ("dirichlet_process", "dirichlet_distribution")
FITTED = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
    "mean_precision_",
    "degrees_of_freedom_",
    "weight_concentration_",
)
PRIORS = (
    "weight_concentration_prior_",
    "mean_precision_prior_",
    "mean_prior_",
    "degrees_of_freedom_prior_",
    "covariance_prior_",
)


# -- helpers ---------------------------------------------------------------------------------
def _blobs(n_samples=300, seed=0):
    """Three overlapping 3-D clusters of different shapes."""
    rng = np.random.default_rng(seed)
    sizes = (n_samples // 2, n_samples // 4, n_samples - n_samples // 2 - n_samples // 4)
    centres = np.array([[0.0, 0.0, 0.0], [2.0, 1.0, -0.5], [4.0, -0.5, 1.0]])
    mixing = [
        np.array([[1.0, 0.3, 0.0], [0.0, 0.8, 0.2], [0.0, 0.0, 0.6]]),
        np.array([[0.6, 0.0, 0.0], [0.4, 1.2, 0.0], [0.0, 0.3, 0.9]]),
        np.eye(3) * 0.7,
    ]
    parts = [
        rng.normal(size=(n, 3)) @ a + c for n, a, c in zip(sizes, mixing, centres, strict=True)
    ]
    return rng.permutation(np.vstack(parts))


def _sk_fit(X, **params):
    """scikit-learn's fit, whose ConvergenceWarning (tol=0) is expected here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SkBayesianGaussianMixture(**params).fit(X)


def _values(attribute):
    """A fitted attribute as one array (the sticks' pair of arrays stacked)."""
    return np.asarray(np.stack(attribute) if isinstance(attribute, tuple) else attribute)


def _prior_covariance(covariance_type, d=2):
    full = np.array([[1.5, 0.3], [0.3, 0.8]]) if d == 2 else np.eye(d)
    return {
        "full": full,
        "tied": full,
        "diag": np.diag(full).copy(),
        "spherical": np.array(1.2),
    }[covariance_type]


def _model(covariance_type, weight_prior, *, n_components=2, d=2, reg_covar=0.0, init="random"):
    prior = NormalWishartPrior(
        mean=np.linspace(0.5, 1.0, d),
        mean_precision=0.5,
        degrees_of_freedom=d + 0.5,
        covariance=_prior_covariance(covariance_type, d),
    )
    return VariationalGaussianMixture(
        n_components,
        prior,
        covariance_type,
        weight_prior,
        0.7,
        reg_covar,
        None if init is None else initializer(init),
    )


# -- 1. scikit-learn from the same start -----------------------------------------------------
@pytest.mark.parametrize("max_iter", [1, 25])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_matches_sklearn_from_same_start(weight_prior, covariance_type, max_iter):
    # 'random' draws the same initial responsibilities from the same seed in both, and both
    # then take one M-step from them and max_iter further iterations.
    X = _blobs()
    params = {
        "n_components": 4,
        "covariance_type": covariance_type,
        "weight_concentration_prior_type": weight_prior,
        "init_params": "random",
        "max_iter": max_iter,
        "tol": 0,
        "random_state": 3,
    }
    sk = _sk_fit(X, **params)
    em = BayesianGaussianMixture(**params).fit(X)
    assert em.n_iter_ == sk.n_iter_ == max_iter
    for name in FITTED + PRIORS:
        assert_allclose(
            _values(getattr(em, name)), _values(getattr(sk, name)), rtol=1e-8, err_msg=name
        )
    assert isinstance(em.weight_concentration_, tuple) == (weight_prior == "dirichlet_process")
    assert_allclose(em.score_samples(X), sk.score_samples(X), rtol=1e-10)
    assert_allclose(em.score(X), sk.score(X), rtol=1e-10)
    assert_allclose(em.predict_proba(X), sk.predict_proba(X), rtol=1e-8, atol=1e-13)
    assert_array_equal(em.predict(X), sk.predict(X))
    assert em.lower_bounds_.shape == (max_iter + 1,)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_matches_sklearn_with_given_priors(weight_prior, covariance_type):
    X = _blobs(seed=1)
    params = {
        "n_components": 3,
        "covariance_type": covariance_type,
        "weight_concentration_prior_type": weight_prior,
        "weight_concentration_prior": 2.5,
        "mean_precision_prior": 0.3,
        "mean_prior": [1.0, -1.0, 0.5],
        "degrees_of_freedom_prior": 4.5,
        "covariance_prior": {
            "full": np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.1], [0.0, 0.1, 0.5]]),
            "tied": np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.1], [0.0, 0.1, 0.5]]),
            "diag": np.array([2.0, 1.0, 0.5]),
            "spherical": 0.8,
        }[covariance_type],
        "reg_covar": 1e-4,
        "init_params": "random",
        "max_iter": 10,
        "tol": 0,
        "random_state": 5,
    }
    sk = _sk_fit(X, **params)
    em = BayesianGaussianMixture(**params).fit(X)
    for name in FITTED + PRIORS:
        assert_allclose(
            _values(getattr(em, name)), _values(getattr(sk, name)), rtol=1e-8, err_msg=name
        )
    assert_allclose(em.score_samples(X), sk.score_samples(X), rtol=1e-10)


# -- 2. the ELBO, verified independently -------------------------------------------------------
def _gauss_logpdf(x, mean, precision):
    """log N(x | mean, precision^-1) for S draws: x (S, N, D) or (S, D), mean (S, D) or
    (D,), precision (S, D, D); written out with slogdet, not emkit's kernels."""
    x = np.asarray(x)
    squeeze = x.ndim == 2
    if squeeze:
        x = x[:, None]
    diff = x - np.asarray(mean)[..., None, :] if np.ndim(mean) == 2 else x - mean
    maha = np.einsum("snd,sde,sne->sn", diff, precision, diff, optimize=True)
    d = x.shape[-1]
    out = 0.5 * np.linalg.slogdet(precision)[1][:, None] - 0.5 * d * np.log(2 * np.pi) - 0.5 * maha
    return out[:, 0] if squeeze else out


def _wishart_logpdf(lam, scale, dof):
    """log Wishart(lam | scale, dof) for S matrices lam (S, D, D), from its density."""
    d = scale.shape[0]
    return (
        0.5 * (dof - d - 1) * np.linalg.slogdet(lam)[1]
        - 0.5 * np.einsum("ij,sji->s", np.linalg.inv(scale), lam)
        - 0.5 * dof * d * np.log(2.0)
        - 0.5 * dof * np.linalg.slogdet(scale)[1]
        - multigammaln(0.5 * dof, d)
    )


def _monte_carlo_elbo(model, params, X, w, n_draws, rng):
    """E_q[log p(X, Z, pi, mu, Lambda) - log q(Z, pi, mu, Lambda)], with ``q(Z)`` summed
    exactly and the global parameters drawn from ``q``: every component draws its own
    precision (a tied posterior shares the distribution, not the draw), from the full
    Wishart whose scale matrix the covariance structure constrains."""
    k, d = params.means.shape
    resp = model.predict_proba(params, X)
    prior = model.prior
    if np.ndim(prior.covariance) == 0:  # spherical: W_0^-1 = c I
        prior_scale = np.eye(d) / prior.covariance
    elif np.ndim(prior.covariance) == 1:  # diag: the diagonal of W_0^-1
        prior_scale = np.diag(1.0 / prior.covariance)
    else:
        prior_scale = np.linalg.inv(prior.covariance)
    covariances = model.covariance.full(params.covariances, k, d)
    nu = np.broadcast_to(params.degrees_of_freedom, (k,))
    total = -np.sum(w[:, None] * resp * np.log(resp)) * np.ones(n_draws)
    conc = params.weight_concentration
    gamma = model.weight_concentration_prior
    if model.weight_prior == "dirichlet_distribution":
        pi = rng.dirichlet(conc, size=n_draws)
        total += stats.dirichlet(np.full(k, gamma)).logpdf(pi.T) - stats.dirichlet(conc).logpdf(
            pi.T
        )
        log_pi = np.log(pi)
    else:
        a, b = conc
        v = rng.beta(a, b, size=(n_draws, k))
        total += (stats.beta(1.0, gamma).logpdf(v) - stats.beta(a, b).logpdf(v)).sum(axis=1)
        log_rest = np.cumsum(np.log1p(-v), axis=1)
        log_pi = np.log(v) + np.hstack([np.zeros((n_draws, 1)), log_rest[:, :-1]])
    total += np.einsum("n,nk,sk->s", w, resp, log_pi)
    for j in range(k):
        scale = np.linalg.inv(nu[j] * covariances[j])
        lam = stats.wishart(df=nu[j], scale=scale).rvs(n_draws, random_state=rng)
        lam = lam.reshape(n_draws, d, d)
        beta = params.mean_precision[j]
        chol = np.linalg.cholesky(np.linalg.inv(beta * lam))
        mu = params.means[j] + np.einsum("sde,se->sd", chol, rng.standard_normal((n_draws, d)))
        total += _gauss_logpdf(np.broadcast_to(X, (n_draws, *X.shape)), mu, lam) @ (w * resp[:, j])
        total += _wishart_logpdf(lam, prior_scale, prior.degrees_of_freedom)
        total -= _wishart_logpdf(lam, scale, nu[j])
        total += _gauss_logpdf(mu, prior.mean, prior.mean_precision * lam)
        total -= _gauss_logpdf(mu, params.means[j], beta * lam)
    return total.mean(), total.std() / np.sqrt(n_draws)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_elbo_matches_monte_carlo(weight_prior, covariance_type):
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(0.0, 1.0, (4, 2)), rng.normal(3.0, 1.0, (4, 2))])
    w = rng.integers(1, 3, size=X.shape[0]).astype(np.float64)
    model = _model(covariance_type, weight_prior)
    result = fit_em(model, X, sample_weight=w, max_iter=3, tol=0, random_state=0)
    elbo = result.lower_bound * w.sum()
    estimate, error = _monte_carlo_elbo(
        model, result.params, X, w, 20_000, np.random.RandomState(1)
    )
    # The standard error is small against any forgotten constant (log 2, log pi, ...).
    assert error < 0.03
    assert abs(elbo - estimate) < 5 * error, (elbo, estimate, error)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_elbo_is_log_evidence_with_one_component(weight_prior, covariance_type):
    # With one component the Normal-Wishart posterior is exact: after one M-step the ELBO
    # is the log evidence (with sticks, the log probability of X and of all z_i = 1).
    rng = np.random.default_rng(7)
    n, d = 9, 2
    X = rng.normal(size=(n, d)) @ np.array([[1.0, 0.3], [0.0, 0.5]]) + 1.0
    model = _model(covariance_type, weight_prior, n_components=1)
    result = fit_em(model, X, max_iter=1, tol=0, random_state=0)
    prior = model.prior
    m0, b0, nu0, c0 = prior.mean, prior.mean_precision, prior.degrees_of_freedom, prior.covariance
    xbar = X.mean(axis=0)
    scatter = (X - xbar).T @ (X - xbar)
    bn, nun = b0 + n, nu0 + n
    cn = c0 + scatter + b0 * n / bn * np.outer(xbar - m0, xbar - m0)
    log_evidence = (
        -0.5 * n * d * np.log(np.pi)
        + 0.5 * d * np.log(b0 / bn)
        + multigammaln(0.5 * nun, d)
        - multigammaln(0.5 * nu0, d)
        + 0.5 * nu0 * np.linalg.slogdet(c0)[1]
        - 0.5 * nun * np.linalg.slogdet(cn)[1]
    )
    if weight_prior == "dirichlet_process":
        gamma = model.weight_concentration_prior
        log_evidence += betaln(1.0 + n, gamma) - betaln(1.0, gamma)
    assert_allclose(result.lower_bounds * n, log_evidence, rtol=1e-12)


@pytest.mark.parametrize("chunk_size", [None, 7])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_bound_is_data_terms_plus_offset_once(covariance_type, chunk_size):
    # The driver adds the parameters-only part of the ELBO once per pass, however the data
    # is cut into batches.
    X = _blobs(n_samples=100, seed=2)
    em = BayesianGaussianMixture(
        3, covariance_type=covariance_type, chunk_size=chunk_size, random_state=0, max_iter=5
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        em.fit(X)
    offset = em._model().bound_offset(em._params())
    assert offset < 0  # minus divergences
    expected = (em.score_samples(X).sum() + offset) / X.shape[0]
    assert_allclose(em.lower_bound_, expected, rtol=1e-12)


# -- 3. the shared conformance checks ---------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_conformance(weight_prior, covariance_type):
    X = _blobs(n_samples=120, seed=3)
    model = _model(covariance_type, weight_prior, n_components=3, d=3)
    params = model.init(X, np.random.RandomState(0))
    # exact_loglik: the E-step's term is the sum of log_prob (both are the ELBO's data
    # terms), which the check confirms through two separate code paths.
    run_all(model, X, params)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_conformance_with_sample_weights(covariance_type):
    X = _blobs(n_samples=90, seed=4)
    w = np.random.default_rng(0).uniform(0.2, 2.0, size=X.shape[0])
    model = _model(covariance_type, "dirichlet_process", n_components=3, d=3)
    params = model.init(X, np.random.RandomState(1), w)
    run_all(model, X, params, sample_weight=w)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_classification_variant_is_monotone(covariance_type):
    # Point-mass q(z_i) is a smaller variational family: its bound never decreases either.
    X = _blobs(n_samples=120, seed=5)
    model = _model(covariance_type, "dirichlet_distribution", n_components=3, d=3)
    result = check_monotone_bound(model, X, hard=True)
    soft = fit_em(model, X, init=result.params, max_iter=1, tol=0)
    assert soft.lower_bounds[0] >= result.lower_bound


def test_monotone_flag_follows_reg_covar():
    assert _model("full", "dirichlet_process").monotone
    assert not _model("full", "dirichlet_process", reg_covar=1e-6).monotone


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_estimator_bound_never_decreases(covariance_type):
    X = _blobs(seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MonotonicityWarning)
        em = BayesianGaussianMixture(
            5, covariance_type=covariance_type, reg_covar=0.0, tol=0, max_iter=60, random_state=0
        ).fit(X)
    change = np.diff(em.lower_bounds_)
    assert np.all(change >= -1e-12 * np.abs(em.lower_bounds_[1:]))
    assert change[0] > 0


# -- 4. the Dirichlet process leaves superfluous components out -------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dirichlet_process_prunes_superfluous_components(covariance_type):
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [6.0, 6.0], [0.0, 6.0]])
    X = np.vstack([rng.normal(c, 0.5, size=(400, 2)) for c in centres])
    em = BayesianGaussianMixture(
        10,
        covariance_type=covariance_type,
        weight_concentration_prior=1e-2,
        max_iter=500,
        tol=1e-8,
        random_state=0,
    ).fit(X)
    assert em.converged_
    used = em.weights_ > 0.05
    assert used.sum() == 3
    assert_allclose(em.weights_[used], 1 / 3, atol=0.02)
    # An unused component keeps about one pseudo-sample of weight (its stick's prior).
    assert np.all(em.weights_[~used] < 2.0 / X.shape[0])
    assert set(em.predict(X)) == set(np.flatnonzero(used))
    found = em.means_[used][np.argsort(em.means_[used] @ [1.0, 10.0])]
    assert_allclose(found, centres[np.argsort(centres @ [1.0, 10.0])], atol=0.1)


# -- 5. estimator-level invariances -------------------------------------------------------------
def _assert_same_fit(a, b, rtol=1e-10, atol=1e-12):
    for name in (*FITTED, "lower_bounds_"):
        assert_allclose(
            _values(getattr(a, name)), _values(getattr(b, name)), rtol=rtol, atol=atol, err_msg=name
        )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_chunks_and_threads_do_not_change_the_fit(covariance_type):
    X = _blobs(seed=7)
    params = {"covariance_type": covariance_type, "max_iter": 20, "tol": 0, "random_state": 0}
    whole = BayesianGaussianMixture(4, **params).fit(X)
    chunked = BayesianGaussianMixture(4, chunk_size=13, n_jobs=2, **params).fit(X)
    _assert_same_fit(chunked, whole)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type, init_params):
    # The default priors (weighted mean and unbiased covariance) see the weights as counts.
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(m, 1.0, size=(n, 2)) for m, n in ((0, 60), (3, 50), (6, 40))])
    w = rng.integers(0, 4, size=X.shape[0])
    params = {
        "covariance_type": covariance_type,
        "init_params": init_params,
        "random_state": 0,
        "max_iter": 25,
        "tol": 0,
    }
    weighted = BayesianGaussianMixture(3, **params).fit(X, sample_weight=w)
    repeated = BayesianGaussianMixture(3, **params).fit(np.repeat(X, w, axis=0))
    _assert_same_fit(weighted, repeated)
    for name in PRIORS:
        assert_allclose(_values(getattr(weighted, name)), _values(getattr(repeated, name)))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_data(covariance_type):
    X = _blobs(seed=8)
    params = {"covariance_type": covariance_type, "max_iter": 10, "tol": 0, "random_state": 0}
    em32 = BayesianGaussianMixture(3, **params).fit(X.astype(np.float32))
    em64 = BayesianGaussianMixture(3, **params).fit(X.astype(np.float32).astype(np.float64))
    assert em32.means_.dtype == np.float64
    _assert_same_fit(em32, em64, rtol=1e-4, atol=1e-5)


def test_reproducible_and_seed_dependent():
    X = _blobs(seed=9)
    fits = [
        BayesianGaussianMixture(4, init_params=init, random_state=seed, max_iter=5, tol=0).fit(X)
        for init, seed in (("random", 1), ("random", 1), ("random", 2))
    ]
    for name in (*FITTED, "lower_bounds_"):
        assert (
            _values(getattr(fits[0], name)).tobytes() == _values(getattr(fits[1], name)).tobytes()
        )
    assert not np.allclose(fits[0].means_, fits[2].means_)


def test_n_init_keeps_the_highest_elbo():
    X = _blobs(seed=10)
    params = {"init_params": "random", "max_iter": 8, "tol": 0}
    best = BayesianGaussianMixture(4, n_init=3, random_state=0, **params).fit(X)
    rng = np.random.RandomState(0)
    singles = [BayesianGaussianMixture(4, random_state=rng, **params).fit(X) for _ in range(3)]
    bounds = [s.lower_bound_ for s in singles]
    assert best.lower_bound_ == max(bounds)
    _assert_same_fit(best, singles[int(np.argmax(bounds))], rtol=1e-13)


def test_warm_start_continues_previous_fit():
    X = _blobs(seed=11)
    params = {"init_params": "random", "random_state": 0, "max_iter": 3, "tol": 0}
    em = BayesianGaussianMixture(3, warm_start=True, **params).fit(X)
    first = em.lower_bound_
    em.fit(X)
    assert em.lower_bounds_[0] == first
    straight = BayesianGaussianMixture(3, **{**params, "max_iter": 6}).fit(X)
    for name in FITTED:
        assert_allclose(_values(getattr(em, name)), _values(getattr(straight, name)), rtol=1e-12)
    assert_allclose(em.lower_bounds_, straight.lower_bounds_[3:], rtol=1e-13)
    with pytest.raises(ValueError, match="X has 2 features"):
        em.fit(X[:, :2])


@pytest.mark.parametrize("verbose", [1, 2])
def test_verbose_prints_progress(verbose, capsys):
    X = _blobs(seed=12)
    BayesianGaussianMixture(
        2, verbose=verbose, verbose_interval=1, max_iter=3, tol=0, random_state=0
    ).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Initialization 0"
    iterations = [ln for ln in lines if ln.strip().startswith("Iteration")]
    assert len(iterations) == 3
    assert all(("ll change" in ln) == (verbose == 2) for ln in iterations)
    assert "lower bound" in lines[-1]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample(covariance_type):
    X = _blobs(seed=13)
    em = BayesianGaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    Xs, ys = em.sample(7)
    assert Xs.shape == (7, 3) and ys.shape == (7,)
    n = 100_000
    Xs, ys = em.sample(n)
    counts = np.bincount(ys, minlength=3)
    assert np.all(np.abs(counts / n - em.weights_) < 5 * np.sqrt(em.weights_ / n) + 1e-12)
    full = em._model().covariance.full(em.covariances_, 3, 3)
    for k in np.flatnonzero(counts > 1000):
        part = Xs[ys == k]
        var = np.diag(full[k])
        assert np.all(np.abs(part.mean(axis=0) - em.means_[k]) < 5 * np.sqrt(var / len(part)))
        se = np.sqrt((np.outer(var, var) + full[k] ** 2) / len(part))
        assert np.all(np.abs(np.cov(part.T) - full[k]) < 5 * se)
    with pytest.raises(ValueError, match="n_samples"):
        em.sample(0)


# -- 6. scikit-learn's estimator checks ---------------------------------------------------------
SHUFFLED_WEIGHTS = (
    "the check shuffles weighted rows but not repeated ones, and the k-means start depends "
    "on row order; weights equal repeats in row order (tested separately)"
)


def _expected_failed_checks(estimator):
    if estimator.n_components > 1:
        return {"check_sample_weight_equivalence_on_dense_data": SHUFFLED_WEIGHTS}
    return {}


@parametrize_with_checks(
    [
        BayesianGaussianMixture(),
        BayesianGaussianMixture(covariance_type="spherical", covariance_prior=1.0),
        BayesianGaussianMixture(
            n_components=2,
            covariance_type="diag",
            weight_concentration_prior_type="dirichlet_distribution",
            chunk_size=7,
        ),
    ],
    expected_failed_checks=_expected_failed_checks,
    xfail_strict=True,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_estimator_contract(weight_prior):
    check_estimator_contract(
        BayesianGaussianMixture(3, weight_concentration_prior_type=weight_prior), _blobs(seed=14)
    )


# -- 7. model files -----------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_save_load_round_trip(weight_prior, covariance_type, tmp_path):
    X = _blobs(seed=15)
    em = BayesianGaussianMixture(
        3,
        covariance_type=covariance_type,
        weight_concentration_prior_type=weight_prior,
        mean_prior=[0.0, 1.0, 0.0],
        random_state=0,
    ).fit(X)
    loaded = load(em.save(tmp_path / "bgm.emkit"))
    assert type(loaded) is BayesianGaussianMixture
    assert loaded.get_params()["covariance_type"] == covariance_type
    assert_array_equal(loaded.mean_prior, [0.0, 1.0, 0.0])
    for name in (*FITTED, *PRIORS, "lower_bounds_"):
        assert type(getattr(loaded, name)) is type(getattr(em, name)), name
        assert_array_equal(_values(getattr(loaded, name)), _values(getattr(em, name)), name)
    for name in ("converged_", "n_iter_", "lower_bound_", "n_features_in_"):
        assert getattr(loaded, name) == getattr(em, name)
    assert_array_equal(loaded.score_samples(X), em.score_samples(X))
    assert_array_equal(loaded.predict_proba(X), em.predict_proba(X))


def _rewrite(path, arrays=None, fitted=None, hyper=None):
    model = read_model_file(path)
    meta = model.metadata
    meta["fitted"].update(fitted or {})
    meta["hyperparameters"].update(hyper or {})
    write_model_file(path, model.kind, meta, {**model.arrays, **(arrays or {})})


@pytest.mark.parametrize(
    "change",
    [
        {"arrays": {"weight_concentration_": np.ones(2)}},
        {"arrays": {"weight_concentration_": -np.ones((2, 2))}},
        {"arrays": {"means_": np.zeros((3, 2))}},
        {"arrays": {"mean_precision_": np.array([1.0, -1.0])}},
        {"arrays": {"degrees_of_freedom_": np.array([0.5, 3.0])}},
        {"arrays": {"covariances_": np.stack([np.eye(2), -np.eye(2)])}},
        {"arrays": {"covariance_prior_": np.array([[1.0, 2.0], [2.0, 1.0]])}},
        {"fitted": {"degrees_of_freedom_prior_": 0.5}},
        {"hyper": {"covariance_type": "diag"}},
        {"hyper": {"weight_concentration_prior_type": "dirichlet_distribution"}},
    ],
    ids=lambda c: next(iter(next(iter(c.values())))),
)
def test_load_inconsistent_file_raises(change, tmp_path):
    X = _blobs(seed=16)[:, :2]
    path = BayesianGaussianMixture(2, random_state=0).fit(X).save(tmp_path / "bgm.emkit")
    _rewrite(path, **change)
    with pytest.raises(ModelFileError, match="inconsistent BayesianGaussianMixture"):
        load(path)


def test_save_unfitted_raises(tmp_path):
    with pytest.raises(NotFittedError, match="not fitted"):
        BayesianGaussianMixture().save(tmp_path / "bgm.emkit")


# -- 8. bad input and options -------------------------------------------------------------------
def _X():
    return np.random.default_rng(0).normal(size=(50, 2))


def _with_inf():
    # NaN marks a missing cell; infinities are refused.
    X = _X()
    X[3, 1] = np.inf
    return X


BAD_FIT = [
    ("inf", {}, _with_inf(), {}, "infinity"),
    ("1-d", {}, _X()[:, 0], {}, "Expected 2D array"),
    ("one-row", {}, _X()[:1], {}, "minimum of 2"),
    ("few", {"n_components": 5}, _X()[:3], {}, "n_samples >= n_components"),
    ("cov-type", {"covariance_type": "banded"}, _X(), {}, "covariance_type"),
    ("init", {"init_params": "kmeans+"}, _X(), {}, "init_params"),
    ("prior-type", {"weight_concentration_prior_type": "dp"}, _X(), {}, "prior_type"),
    ("reg-covar", {"reg_covar": -1e-3}, _X(), {}, "reg_covar"),
    ("tol", {"tol": -1.0}, _X(), {}, "tol"),
    ("max-iter", {"max_iter": -1}, _X(), {}, "max_iter"),
    ("n-components", {"n_components": 0}, _X(), {}, "n_components"),
    ("weight-prior", {"weight_concentration_prior": 0.0}, _X(), {}, "weight_concentration"),
    ("mean-precision", {"mean_precision_prior": -1.0}, _X(), {}, "mean_precision_prior"),
    ("mean-prior-shape", {"mean_prior": [0.0, 0.0, 0.0]}, _X(), {}, "shape"),
    ("mean-prior-nan", {"mean_prior": [0.0, np.nan]}, _X(), {}, "NaN"),
    ("dof", {"degrees_of_freedom_prior": 0.5}, _X(), {}, "greater than 1"),
    ("dof-type", {"degrees_of_freedom_prior": "3"}, _X(), {}, "degrees_of_freedom_prior"),
    ("cov-prior-shape", {"covariance_prior": np.eye(3)}, _X(), {}, "shape"),
    (
        "cov-prior-not-pd",
        {"covariance_prior": np.array([[1.0, 2.0], [2.0, 1.0]])},
        _X(),
        {},
        "positive-definite",
    ),
    (
        "cov-prior-diag",
        {"covariance_type": "diag", "covariance_prior": [1.0, -1.0]},
        _X(),
        {},
        "positive",
    ),
    (
        "cov-prior-spherical",
        {"covariance_type": "spherical", "covariance_prior": 0.0},
        _X(),
        {},
        "positive",
    ),
    ("sw-negative", {}, _X(), {"sample_weight": -np.ones(50)}, "non-negative"),
    ("sw-length", {}, _X(), {"sample_weight": np.ones(49)}, r"sample_weight\.shape"),
    ("sw-light", {}, _X(), {"sample_weight": np.full(50, 0.01)}, "total sample weight"),
]


@pytest.mark.parametrize(
    ("params", "X", "fit_kwargs", "match"),
    [case[1:] for case in BAD_FIT],
    ids=[case[0] for case in BAD_FIT],
)
def test_bad_fit_input(params, X, fit_kwargs, match):
    with pytest.raises(ValueError, match=match):
        BayesianGaussianMixture(**{"n_components": 2, "random_state": 0, **params}).fit(
            X, **fit_kwargs
        )


def test_light_weights_with_given_covariance_prior():
    # Only the default covariance prior needs a total weight above one.
    em = BayesianGaussianMixture(2, covariance_prior=np.eye(2), random_state=0)
    em.fit(_X(), sample_weight=np.full(50, 0.01))
    assert np.all(np.isfinite(em.means_))


def test_model_rejects_bad_prior():
    good = _model("full", "dirichlet_process")
    with pytest.raises(ValueError, match="shape"):
        VariationalGaussianMixture(2, good.prior, "diag")
    with pytest.raises(ValueError, match="degrees of freedom"):
        VariationalGaussianMixture(
            2,
            NormalWishartPrior(good.prior.mean, 1.0, 0.5, good.prior.covariance),
        )
    with pytest.raises(ValueError, match="weight_concentration_prior_type"):
        VariationalGaussianMixture(2, good.prior, weight_prior="pitman-yor")
    with pytest.raises(ValueError, match="no initializer"):
        _model("full", "dirichlet_process", init=None).init(_X(), np.random.RandomState(0))


def test_warm_start_with_other_structure_raises():
    em = BayesianGaussianMixture(2, warm_start=True, random_state=0).fit(_X())
    with pytest.raises(ValueError, match="shape"):
        em.set_params(covariance_type="diag").fit(_X())


@pytest.mark.parametrize(
    "method", ["predict", "predict_proba", "score", "score_samples", "sample", "save"]
)
def test_unfitted_raises(method, tmp_path):
    arg = {"sample": 3, "save": tmp_path / "x.emkit"}.get(method, _X())
    with pytest.raises(NotFittedError, match="BayesianGaussianMixture instance is not fitted"):
        getattr(BayesianGaussianMixture(2), method)(arg)


def test_wrong_n_features_at_predict():
    em = BayesianGaussianMixture(2, random_state=0).fit(_X())
    for method in ("predict", "predict_proba", "score_samples", "score"):
        with pytest.raises(ValueError, match="X has 3 features"):
            getattr(em, method)(np.ones((4, 3)))


def test_params_check_detects_bad_shapes():
    model = _model("tied", "dirichlet_distribution")
    params = model.init(_X(), np.random.RandomState(0))
    model.check_params(params, 2)
    bad = VariationalMixtureParams(
        params.weight_concentration,
        params.mean_precision,
        params.means,
        np.full(2, float(params.degrees_of_freedom)),
        params.covariances,
        params.precisions_cholesky,
    )
    with pytest.raises(ValueError, match="degrees of freedom"):
        model.check_params(bad, 2)


# -- improper default priors ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("covariance_type", "X"),
    [
        ("full", np.random.RandomState(0).rand(15, 30)),  # fewer samples than features
        ("tied", np.random.RandomState(0).rand(15, 30)),
        ("full", np.c_[_X(), _X()[:, :1]]),  # a duplicated column
        ("diag", np.c_[_X(), np.ones(50)]),  # a constant column
        ("spherical", np.c_[_X(), _X()[:, :1]]),
    ],
    ids=["wide-full", "wide-tied", "duplicated-column", "constant-column", "spherical"],
)
def test_a_singular_default_prior_fits_like_scikit_learn(covariance_type, X):
    """The default covariance prior is the data's covariance; when it is singular the
    Wishart prior is improper, scikit-learn still fits, and so does emkit, with the same
    parameters from the same start and a bound that leaves out the prior's (infinite)
    normalising constant: monotone, and independent of round-off in the singular
    directions."""
    params = {
        "n_components": 2,
        "covariance_type": covariance_type,
        "init_params": "random",
        "random_state": 0,
        "max_iter": 30,
        "tol": 0,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        em = BayesianGaussianMixture(**params).fit(X)
        sk = SkBayesianGaussianMixture(**params).fit(X)
    assert_allclose(em.means_, sk.means_, rtol=1e-8, atol=1e-10)
    assert_allclose(em.covariances_, sk.covariances_, rtol=1e-8, atol=1e-12)
    assert np.isfinite(em.lower_bound_)


def test_an_improper_prior_bound_does_not_depend_on_round_off():
    # A duplicated column gives the default prior a zero eigenvalue that round-off makes a
    # tiny positive or negative number: the bound must not depend on which (a log of 1e-16
    # would move it by about 18 nats).
    X = np.c_[_X(), _X()[:, :1]]
    bounds = []
    for factor in (1.0, 1.0 + 2**-52, 1.0 - 2**-53, 1.0 + 2**-50):
        Xf = X.copy()
        Xf[:, 2] *= factor
        bounds.append(BayesianGaussianMixture(2, random_state=0, max_iter=5, tol=0).fit(Xf))
    assert_allclose([b.lower_bound_ for b in bounds], bounds[0].lower_bound_, rtol=1e-9)


def test_a_singular_covariance_prior_given_by_the_user_is_an_improper_prior():
    X = np.c_[_X(), _X()[:, :1]]
    default = BayesianGaussianMixture(2, random_state=0, max_iter=5, tol=0).fit(X)
    given = BayesianGaussianMixture(
        2, random_state=0, max_iter=5, tol=0, covariance_prior=default.covariance_prior_
    ).fit(X)
    assert given.lower_bound_ == default.lower_bound_
    with pytest.raises(ValueError, match="positive-definite"):
        BayesianGaussianMixture(2, covariance_prior=-np.cov(X.T)).fit(X)


def test_structure_without_wishart_update_is_refused():
    from emkit.families.gaussian_mixture_emission import GroupTied

    prior = NormalWishartPrior(np.zeros(2), 1.0, 3.0, np.eye(2))
    with pytest.raises(ValueError, match=r"Wishart updates .* not GroupTied\(2\)"):
        VariationalGaussianMixture(2, prior, covariance=GroupTied(2))
