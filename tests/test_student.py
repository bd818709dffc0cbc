"""Tests of the Student-t family: scores against scipy.stats, statistics and M-steps against
explicit formulas, the one-component fit against direct numerical maximisation of the
likelihood, recovery of a simulated mixture, robustness to outliers, the shared conformance
checks for mixtures and HMMs, SQUAREM, frozen and shared degrees of freedom, unconstrained
coordinates, sampling and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats as st
from scipy.optimize import linear_sum_assignment, minimize, minimize_scalar
from scipy.special import digamma

from emkit import fit_em
from emkit.core.batches import Sequences
from emkit.core.stats import as_dict
from emkit.families.covariance import covariance_structure
from emkit.families.gaussian import Gaussian
from emkit.families.student import (
    DOF_MAX,
    StudentParams,
    StudentStats,
    StudentT,
    dof_score,
    solve_dof,
)
from emkit.models.hmm import HMM, HMMParams
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture, MixtureParams
from emkit.testing.conformance import check_monotone_bound, run_all

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
K, D = 3, 2
TRUE_MEANS = np.array([[0.0, 0.0], [7.0, 0.0], [0.0, 7.0]])
TRUE_DOF = np.array([3.0, 6.0, 15.0])
TRUE_WEIGHTS = np.array([0.3, 0.3, 0.4])


def _random_scales(covariance_type: str, n_components: int, n_features: int, seed: int):
    """Random positive definite scale parameters in the structure's shape."""
    rng = np.random.RandomState(seed)
    if covariance_type == "full":
        A = rng.normal(size=(n_components, n_features, n_features))
        return A @ A.transpose(0, 2, 1) + 0.5 * np.eye(n_features)
    if covariance_type == "tied":
        A = rng.normal(size=(n_features, n_features))
        return A @ A.T + 0.5 * np.eye(n_features)
    if covariance_type == "diag":
        return rng.uniform(0.3, 2.0, size=(n_components, n_features))
    return rng.uniform(0.3, 2.0, size=n_components)


def _truth(covariance_type: str = "full", dof=TRUE_DOF) -> StudentParams:
    family = StudentT(covariance_type)
    return family.from_covariances(TRUE_MEANS, _random_scales(covariance_type, K, D, 0), dof)


def _mixture(covariance_type: str = "full", **kwargs) -> Mixture:
    kwargs.setdefault("reg_covar", 0.0)
    return Mixture(StudentT(covariance_type, **kwargs), K, initializer("kmeans"))


def _sample(covariance_type: str = "full", n: int = 600, seed: int = 1, dof=TRUE_DOF):
    truth = MixtureParams(TRUE_WEIGHTS, _truth(covariance_type, dof))
    X, labels = _mixture(covariance_type).sample(truth, n, np.random.RandomState(seed))
    return X, labels, truth


def _reduce_full(covariance_type: str, full: np.ndarray, nk: np.ndarray) -> np.ndarray:
    """Full (K, D, D) per-component matrices reduced as a structure stores them; ``tied``
    pools them with weights ``nk``."""
    if covariance_type == "full":
        return full
    if covariance_type == "tied":
        return np.einsum("k,kij->ij", nk, full) / nk.sum()
    diag = np.diagonal(full, axis1=1, axis2=2)
    return diag if covariance_type == "diag" else diag.mean(axis=1)


def _assert_locations_near(fitted, truth: StudentParams, counts, covariance_type="full"):
    """Locations within 5 standard errors of the truth, taking the variance of a location
    estimate as at most twice the scale over the component's number of samples."""
    full = StudentT(covariance_type).covariance.full(truth.covariances, *truth.means.shape)
    variances = np.diagonal(full, axis1=1, axis2=2)
    error = np.abs(fitted - truth.means)
    assert np.all(error < 5 * np.sqrt(2 * variances / np.asarray(counts)[:, None])), error


def _fit(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        return fit_em(model, X, **kwargs)


def _assert_close(got, expected, rtol, atol):
    a, b = as_dict(got), as_dict(expected)
    assert a.keys() == b.keys()
    for name in a:
        assert_allclose(a[name], b[name], rtol=rtol, atol=atol, err_msg=name)


# -- 1. scores against scipy.stats -----------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_prob_matches_scipy_multivariate_t(covariance_type):
    family = StudentT(covariance_type)
    n_features = 3
    rng = np.random.RandomState(3)
    means = rng.normal(size=(K, n_features)) * 2
    scales = _random_scales(covariance_type, K, n_features, seed=4)
    params = family.from_covariances(means, scales, [0.7, 4.0, 300.0])
    X = rng.standard_t(2.0, size=(200, n_features)) * 3
    X[0] = means[1]  # a sample at a location: distance zero
    full = family.covariance.full(params.covariances, K, n_features)
    expected = np.column_stack(
        [st.multivariate_t(means[k], full[k], df=params.dof[k]).logpdf(X) for k in range(K)]
    )
    got = family.log_prob(params, X)
    assert got.shape == (200, K) and got.dtype == np.float64
    assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    X32 = X.astype(np.float32)
    assert_allclose(
        family.log_prob(params, X32), family.log_prob(params, X32.astype(np.float64)), rtol=1e-15
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_univariate_log_prob_matches_scipy_t(covariance_type):
    family = StudentT(covariance_type)
    means = np.array([[-1.0], [0.5], [4.0]])
    variances = np.array([0.5, 2.0, 9.0])
    scales = {
        "full": variances[:, None, None],
        "tied": np.array([[2.0]]),
        "diag": variances[:, None],
        "spherical": variances,
    }[covariance_type]
    params = family.from_covariances(means, scales, [1.0, 2.5, 40.0])
    X = np.linspace(-30, 30, 121)[:, None]
    sd = np.sqrt(np.full(K, 2.0) if covariance_type == "tied" else variances)
    expected = np.column_stack(
        [st.t.logpdf(X[:, 0], params.dof[k], loc=means[k, 0], scale=sd[k]) for k in range(K)]
    )
    assert_allclose(family.log_prob(params, X), expected, rtol=1e-12, atol=1e-12)


# -- 2. statistics and M-step ------------------------------------------------------------------
def _explicit_stats(covariance_type, params: StudentParams, X, resp):
    """The statistics written out from the definitions, with explicit matrix inverses."""
    n_features = X.shape[1]
    full = StudentT(covariance_type).covariance.full(params.covariances, K, n_features)
    sum_w, sum_wu, sum_dx, scatter, sum_w_log_tau = [], [], [], [], []
    for k in range(K):
        diff = X - params.means[k]
        delta = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(full[k]), diff)
        nu = params.dof[k]
        u = (nu + n_features) / (nu + delta)
        e_log_tau = np.log(u) + digamma((nu + n_features) / 2) - np.log((nu + n_features) / 2)
        w = resp[:, k]
        sum_w.append(w.sum())
        sum_wu.append(w @ u)
        sum_dx.append((w * u) @ diff)
        scatter.append((diff * (w * u)[:, None]).T @ diff)
        sum_w_log_tau.append(w @ e_log_tau)
    scatter = np.array(scatter)
    if covariance_type == "tied":
        scatter = scatter.sum(axis=0)
    elif covariance_type in ("diag", "spherical"):
        scatter = np.diagonal(scatter, axis1=1, axis2=2)
    return StudentStats(
        np.array(sum_w),
        np.array(sum_wu),
        np.array(sum_dx),
        scatter,
        np.array(sum_w_log_tau),
        params.means,
        covariance_structure(covariance_type),
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_stats_match_their_definitions(covariance_type):
    X, _, truth = _sample(covariance_type, n=300)
    rng = np.random.RandomState(5)
    resp = rng.dirichlet(np.ones(K), size=300) * rng.uniform(0.5, 2.0, size=(300, 1))
    family = StudentT(covariance_type)
    # Evaluate away from the truth, so that no statistic is trivially near zero.
    params = family.from_covariances(
        truth.components.means + 0.3, truth.components.covariances, [0.8, 5.0, 50.0]
    )
    got = family.stats(params, X, resp)
    _assert_close(got, _explicit_stats(covariance_type, params, X, resp), rtol=1e-10, atol=1e-10)
    # E[log tau] - E[tau] + 1 <= 0 (Jensen, then log(t) <= t - 1).
    assert np.all(got.sum_w_log_tau - got.sum_wu + got.sum_w <= 0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_far_samples_and_samples_at_a_location_keep_their_digits(covariance_type):
    family = StudentT(covariance_type)
    params = _truth(covariance_type)
    # A sample at a location (u at its largest), a gross outlier (u ~ 1e-200) and one between.
    X = np.array([TRUE_MEANS[1], [1e100, -3e100], [3.0, 3.0]])
    resp = np.array([[0.2, 0.5, 0.3], [0.3, 0.3, 0.4], [0.6, 0.1, 0.3]])
    got = family.stats(params, X, resp)
    _assert_close(got, _explicit_stats(covariance_type, params, X, resp), rtol=1e-10, atol=0)
    scores = family.log_prob(params, X)
    assert np.all(np.isfinite(scores)) and np.all(scores[1] < -400)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
def test_mixture_e_step_matches_the_plain_path(covariance_type, hard):
    X, _, truth = _sample(covariance_type, n=300)
    model = _mixture(covariance_type)
    w = np.random.RandomState(0).uniform(0.0, 2.0, size=X.shape[0])
    w[::7] = 0.0
    # A component of zero weight: -inf log-weight.
    params = MixtureParams(np.array([0.5, 0.5, 0.0]), truth.components)
    for sample_weight in (None, w):
        for data in (X, X.astype(np.float32)):
            fused = model.e_step(params, data, sample_weight, hard=hard)
            plain = model.e_step_reference(params, data, sample_weight, hard=hard)
            _assert_close(fused[0], plain[0], rtol=1e-13, atol=1e-11)
            assert fused[1] == pytest.approx(plain[1], rel=1e-14)


def _expected_q_dof(nu, stats: StudentStats, k: int):
    """The degrees-of-freedom part of the expected complete-data log-likelihood of component
    ``k``: the Gamma(nu / 2, rate nu / 2) log-density of the hidden scales, summed over the
    samples with their weights, written from scipy's Gamma density."""
    # Linear in E[tau] and E[log tau], so the sums of their expectations suffice:
    # log p(tau) = half log half - lgamma(half) + (half - 1) log tau - half tau.
    half = nu / 2
    at_one = st.gamma.logpdf(1.0, half, scale=1.0 / half)  # = half log half - lgamma - half
    return (
        stats.sum_w[k] * (at_one + half)
        + (half - 1) * stats.sum_w_log_tau[k]
        - half * stats.sum_wu[k]
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_maximises_each_part_of_the_expected_log_likelihood(covariance_type):
    X, _, truth = _sample(covariance_type, n=400)
    rng = np.random.RandomState(6)
    resp = rng.dirichlet(np.ones(K) * 0.5, size=400)
    family = StudentT(covariance_type, reg_covar=0.0)
    params = family.from_covariances(
        truth.components.means - 0.2, truth.components.covariances, [2.0, 2.0, 2.0]
    )
    new = family.m_step(family.stats(params, X, resp), params)
    # Locations and scales: the Gaussian estimates with sample weights w u.
    full = family.covariance.full(params.covariances, K, D)
    means, scatters, nk = [], [], resp.sum(axis=0)
    for k in range(K):
        diff = X - params.means[k]
        delta = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(full[k]), diff)
        wu = resp[:, k] * (params.dof[k] + D) / (params.dof[k] + delta)
        mu = wu @ X / wu.sum()
        means.append(mu)
        scatters.append(((X - mu) * wu[:, None]).T @ (X - mu) / nk[k])
    assert_allclose(new.means, np.array(means), rtol=1e-12, atol=1e-12)
    assert_allclose(
        new.covariances, _reduce_full(covariance_type, np.array(scatters), nk), rtol=1e-10
    )
    # Degrees of freedom: the maximiser of their part, found by a bounded scalar search.
    stats = family.stats(params, X, resp)
    for k in range(K):
        found = minimize_scalar(
            lambda log_nu, k=k: -_expected_q_dof(np.exp(log_nu), stats, k),
            bounds=(-5.0, np.log(DOF_MAX)),
            method="bounded",
            options={"xatol": 1e-10},
        )
        assert new.dof[k] == pytest.approx(np.exp(found.x), rel=1e-6)


def test_dof_root_and_cap():
    # A root: the score vanishes there and changes sign around it.
    for gap in (-1.5, -0.3, -1e-2, -2e-3):
        nu = solve_dof(gap)
        assert 0 < nu < DOF_MAX
        assert abs(dof_score(nu, gap)) < 1e-12
        assert dof_score(nu * 0.99, gap) > 0 > dof_score(nu * 1.01, gap)
    # Very heavy tails: the root is far below 1.
    assert solve_dof(-50.0) < 0.1
    # Light tails: the root is at infinity (gap >= 0) or beyond the cap.
    assert solve_dof(0.0) == DOF_MAX
    assert solve_dof(1e-3) == DOF_MAX
    assert solve_dof(-1e-7) == DOF_MAX
    # A value above the cap widens the interval.
    assert solve_dof(0.0, upper=5e3) == 5e3
    with pytest.raises(ValueError, match="degenerated"):
        solve_dof(-np.inf)


@pytest.mark.parametrize("accelerate", [None, "squarem"])
def test_light_tails_drive_the_dof_to_the_cap(accelerate):
    # Uniform data have lighter tails than any t: the likelihood grows all the way to the
    # Gaussian limit, and the fit stops at the cap, extrapolated or not.
    X = np.random.RandomState(0).uniform(-1.0, 1.0, size=(2000, 2))
    model = Mixture(StudentT(reg_covar=0.0), 1, initializer("kmeans"))
    result = _fit(model, X, random_state=0, tol=1e-12, max_iter=3000, accelerate=accelerate)
    assert result.converged and result.decreases == ()
    assert result.params.components.dof[0] == DOF_MAX
    # Nearly the Gaussian fit.
    assert_allclose(result.params.components.means[0], X.mean(axis=0), atol=1e-3)
    assert_allclose(result.params.components.covariances[0], np.cov(X.T), rtol=1e-2, atol=1e-3)


# -- 3. one component: the maximum-likelihood estimate ---------------------------------------
def test_one_component_fit_is_the_maximum_likelihood_estimate():
    rng = np.random.RandomState(7)
    scale = np.array([[2.0, 0.8], [0.8, 1.0]])
    X = st.multivariate_t([1.0, -2.0], scale, df=4.0).rvs(size=400, random_state=rng)

    def unpack(theta):
        chol = np.array([[np.exp(theta[2]), 0.0], [theta[3], np.exp(theta[4])]])
        return theta[:2], chol @ chol.T, np.exp(theta[5])

    def negative_loglik(theta):
        mu, sigma, nu = unpack(theta)
        return -st.multivariate_t(mu, sigma, df=nu).logpdf(X).sum()

    start = np.concatenate([X.mean(axis=0), [0.0, 0.0, 0.0, np.log(10.0)]])
    # BFGS with finite-difference gradients: about 7 digits of the optimum.
    direct = minimize(negative_loglik, start, method="BFGS", options={"gtol": 1e-6})
    mu, sigma, nu = unpack(direct.x)

    model = Mixture(StudentT(reg_covar=0.0), 1, initializer("kmeans"))
    result = _fit(model, X, random_state=0, tol=1e-13, max_iter=5000, accelerate="squarem")
    assert result.converged and result.decreases == ()
    fitted = result.params.components
    assert_allclose(fitted.means[0], mu, rtol=0, atol=1e-5)
    assert_allclose(fitted.covariances[0], sigma, rtol=1e-5)
    assert fitted.dof[0] == pytest.approx(nu, rel=1e-5)
    assert 2.5 < nu < 7  # the data are heavy-tailed, so this is an interior optimum
    # EM reaches at least the height of the direct maximisation.
    assert result.lower_bound * X.shape[0] >= -direct.fun - 1e-8


# -- 4. recovery of a simulated mixture ------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_recovers_a_simulated_three_component_mixture(covariance_type):
    X, _, truth = _sample(covariance_type, n=9000, seed=2)
    result = _fit(
        _mixture(covariance_type), X, random_state=0, tol=1e-8, max_iter=2000, accelerate="squarem"
    )
    assert result.converged and result.decreases == ()
    fitted = result.params
    cost = ((fitted.components.means[:, None] - truth.components.means[None]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    order = rows[np.argsort(cols)]
    assert_allclose(fitted.weights[order], truth.weights, atol=0.02)
    counts = X.shape[0] * truth.weights
    _assert_locations_near(
        fitted.components.means[order], truth.components, counts, covariance_type
    )
    if covariance_type == "tied":
        assert_allclose(fitted.components.covariances, truth.components.covariances, atol=0.1)
    else:
        assert_allclose(
            fitted.components.covariances[order], truth.components.covariances, rtol=0.15
        )
    # dof: the heavier the tails, the better they are determined.
    error = np.abs(np.log(fitted.components.dof[order] / TRUE_DOF))
    assert np.all(error < [0.2, 0.25, 0.5])


# -- 5. robustness -----------------------------------------------------------------------------
def test_means_resist_gross_outliers_where_gaussian_means_do_not():
    rng = np.random.RandomState(8)
    centres = np.array([[0.0, 0.0], [6.0, 0.0]])
    clean = np.concatenate([rng.normal(size=(475, 2)) + c for c in centres])
    # 5% gross outliers, anywhere in a wide box.
    outliers = rng.uniform(-50.0, 50.0, size=(50, 2))
    X = np.concatenate([clean, outliers])

    def matched_error(means):
        cost = ((means[:, None] - centres[None]) ** 2).sum(axis=2)
        rows, cols = linear_sum_assignment(cost)
        return np.sqrt(cost[rows, cols]).max()

    # Both start from the true clusters: the question is where each likelihood takes them.
    eye = np.stack([np.eye(2)] * 2)
    gaussian, student = Gaussian(reg_covar=1e-6), StudentT(reg_covar=1e-6)
    g_start = MixtureParams(np.full(2, 0.5), gaussian.from_covariances(centres, eye))
    t_start = MixtureParams(np.full(2, 0.5), student.from_covariances(centres, eye, 10.0))
    kwargs = dict(tol=1e-10, max_iter=3000, accelerate="squarem")
    g_fit = _fit(Mixture(gaussian, 2), X, init=g_start, **kwargs)
    t_fit = _fit(Mixture(student, 2), X, init=t_start, **kwargs)
    assert g_fit.converged and t_fit.converged
    assert matched_error(t_fit.params.components.means) < 0.1
    assert matched_error(g_fit.params.components.means) > 1.0
    # The outliers are explained by heavy tails, not by moving the components.
    assert t_fit.params.components.dof.min() < 2
    # And this is the t likelihood's better optimum: k-means starts (which give the
    # outliers a cluster of their own) end no higher.
    t_kmeans = _fit(
        Mixture(student, 2, initializer("kmeans")), X, random_state=0, n_init=3, **kwargs
    )
    assert t_fit.lower_bound >= t_kmeans.lower_bound - 1e-9


# -- 6. the shared conformance checks ----------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_mixture_conforms(covariance_type):
    X, _, _ = _sample(covariance_type, n=240, seed=3)
    model = _mixture(covariance_type)
    start = model.init(X, np.random.RandomState(0))
    run_all(model, X, start)


@pytest.mark.parametrize(
    "kwargs",
    [{"shared_dof": True}, {"frozen": frozenset({"dof"}), "dof_init": (2.0, 5.0, 30.0)}],
    ids=["shared-dof", "frozen-dof"],
)
def test_mixture_conforms_with_weights_and_dof_options(kwargs):
    X, _, _ = _sample("full", n=200, seed=4)
    model = _mixture("full", **kwargs)
    start = model.init(X, np.random.RandomState(0))
    w = np.random.RandomState(1).uniform(0.0, 3.0, size=X.shape[0])
    run_all(model, X, start, sample_weight=w, monotone_max_iter=30)


def test_hard_mixture_conforms():
    X, _, _ = _sample("diag", n=200, seed=5)
    model = _mixture("diag")
    run_all(model, X, model.init(X, np.random.RandomState(0)), hard=True, monotone_max_iter=20)


# -- 7. as an HMM emission ---------------------------------------------------------------------
def _hmm_truth() -> HMMParams:
    startprob = np.array([0.6, 0.3, 0.1])
    transmat = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])
    return HMMParams(startprob, transmat, _truth("full", dof=[2.5, 5.0, 20.0]))


def _hmm_data(seed: int, lengths=(300, 250, 200, 1, 150)) -> tuple[Sequences, np.ndarray]:
    """Sequences from the true HMM, and how many samples every state emitted."""
    truth = _hmm_truth()
    model = HMM(StudentT(), K)
    rng = np.random.RandomState(seed)
    draws = [model.sample(truth, n, rng) for n in lengths]
    states = np.concatenate([s for _, s in draws])
    return Sequences.from_list([x for x, _ in draws]), np.bincount(states, minlength=K)


def test_hmm_with_student_emissions_fits_and_its_bound_is_monotone():
    X, counts = _hmm_data(0)
    model = HMM(StudentT(reg_covar=0.0), K, initializer("kmeans"))
    result = check_monotone_bound(model, X, max_iter=200)
    truth = _hmm_truth()
    fitted = result.params
    cost = ((fitted.emissions.means[:, None] - truth.emissions.means[None]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    order = rows[np.argsort(cols)]
    _assert_locations_near(fitted.emissions.means[order], truth.emissions, counts)
    assert_allclose(fitted.transmat[np.ix_(order, order)], truth.transmat, atol=0.05)
    assert fitted.emissions.dof[order][0] < 5  # the heaviest-tailed state stays heavy


def test_hmm_with_student_emissions_conforms():
    lengths = (120, 1, 70, 160, 50)
    X, _ = _hmm_data(1, lengths=lengths)
    model = HMM(StudentT("diag", reg_covar=0.0), K, initializer("kmeans"))
    start = model.init(X, np.random.RandomState(0))
    # Sample weights of an HMM weigh whole sequences.
    w = np.repeat(np.random.RandomState(2).uniform(0.5, 2.0, size=len(lengths)), lengths)
    run_all(model, X, start, sample_weight=w, monotone_max_iter=30)


# -- 8. SQUAREM ------------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_squarem_reaches_the_same_optimum(covariance_type):
    X, _, _ = _sample(covariance_type, n=800, seed=6)
    model = _mixture(covariance_type)
    start = model.init(X, np.random.RandomState(0))
    plain = _fit(model, X, init=start, tol=1e-10, max_iter=20_000)
    fast = _fit(model, X, init=start, tol=1e-10, max_iter=20_000, accelerate="squarem")
    assert plain.converged and fast.converged
    assert plain.decreases == () and fast.decreases == ()
    # Plain EM crawls (the likelihood is flat in large degrees of freedom), so tol stops it
    # a little short of the maximum; SQUAREM stops no shorter.
    assert fast.lower_bound == pytest.approx(plain.lower_bound, abs=1e-7)
    assert fast.lower_bound > plain.lower_bound - 1e-10
    f, p = fast.params, plain.params
    assert_allclose(f.weights, p.weights, atol=1e-4)
    assert_allclose(f.components.means, p.components.means, atol=1e-3)
    assert_allclose(f.components.covariances, p.components.covariances, rtol=1e-3, atol=1e-3)
    # The flattest direction of all: a few 1e-3 in log dof move the bound by far below tol.
    assert_allclose(np.log(f.components.dof), np.log(p.components.dof), atol=1e-2)
    assert fast.n_e_steps < plain.n_e_steps / 2
    # SQUAREM's end point is (up to tol) a fixed point of EM.
    again = model.m_step(model.e_step(f, X)[0], f)
    assert_allclose(again.components.means, f.components.means, atol=1e-5)
    assert_allclose(again.components.dof, f.components.dof, rtol=1e-3)


# -- 9. frozen and shared degrees of freedom -----------------------------------------------
def test_frozen_parameters_stay_put():
    X, _, _ = _sample("full", n=300, seed=7)
    for frozen in ({"dof"}, {"means"}, {"covariances"}, {"means", "dof"}):
        model = _mixture("full", frozen=frozenset(frozen), dof_init=(2.0, 3.0, 4.0))
        start = model.init(X, np.random.RandomState(0))
        assert_array_equal(start.components.dof, [2.0, 3.0, 4.0])
        result = _fit(model, X, init=start, tol=0.0, max_iter=15)
        assert result.decreases == ()
        for name in ("means", "covariances", "dof"):
            same = np.array_equal(
                getattr(result.params.components, name), getattr(start.components, name)
            )
            assert same == (name in frozen), name


def test_shared_dof_maximises_the_pooled_expected_log_likelihood():
    X, _, truth = _sample("diag", n=500, seed=8)
    family = StudentT("diag", reg_covar=0.0, shared_dof=True)
    rng = np.random.RandomState(9)
    resp = rng.dirichlet(np.ones(K), size=X.shape[0])
    params = family.from_covariances(truth.components.means, truth.components.covariances, 4.0)
    stats = family.stats(params, X, resp)
    new = family.m_step(stats, params)
    assert np.ptp(new.dof) == 0
    found = minimize_scalar(
        lambda log_nu: -sum(_expected_q_dof(np.exp(log_nu), stats, k) for k in range(K)),
        bounds=(-5.0, np.log(DOF_MAX)),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert new.dof[0] == pytest.approx(np.exp(found.x), rel=1e-6)
    assert family.n_parameters(K, D) == K * D + K * D + 1


def test_empty_component_keeps_its_parameters():
    X, _, truth = _sample("full", n=200, seed=9)
    family = StudentT("full", reg_covar=0.0)
    resp = np.random.RandomState(0).dirichlet(np.ones(K), size=X.shape[0])
    resp[:, 1] = 0.0
    new = family.m_step(family.stats(truth.components, X, resp), truth.components)
    assert_array_equal(new.means[1], truth.components.means[1])
    assert_array_equal(new.covariances[1], truth.components.covariances[1])
    assert new.dof[1] == truth.components.dof[1]
    assert np.all(np.isfinite(new.means)) and np.all(np.isfinite(new.dof))


# -- 10. unconstrained coordinates, parameter counts, sampling -----------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"shared_dof": True}, {"frozen": frozenset({"dof", "means"})}],
    ids=["free", "shared", "frozen"],
)
def test_unconstrained_coordinates_round_trip(covariance_type, kwargs):
    family = StudentT(covariance_type, **kwargs)
    dof = 4.0 if kwargs.get("shared_dof") else TRUE_DOF
    params = family.from_covariances(TRUE_MEANS, _random_scales(covariance_type, K, D, 1), dof)
    vector = family.to_unconstrained(params)
    n_scale = family.covariance.n_parameters(K, D)
    n_dof = {"free": K, "shared": 1, "frozen": 0}
    expected_size = n_scale + (0 if "frozen" in kwargs else K * D)
    expected_size += n_dof["shared" if "shared_dof" in kwargs else "frozen" if kwargs else "free"]
    assert vector.shape == (expected_size,) and vector.dtype == np.float64
    assert expected_size == family.n_parameters(K, D)
    back = family.from_unconstrained(vector, params)
    _assert_close(back, params, rtol=1e-12, atol=1e-12)
    # Any vector gives valid parameters.
    other = family.from_unconstrained(vector + 0.3, params)
    assert np.all(other.dof > 0)
    assert np.all(np.isfinite(family.log_prob(other, np.zeros((1, D)))))
    with pytest.raises(ValueError, match="coordinate vector"):
        family.from_unconstrained(np.append(vector, 0.0), params)


def test_sample_follows_the_t_distribution():
    family = StudentT("diag")
    params = family.from_covariances(
        np.array([[1.0, -1.0], [0.0, 5.0]]), np.array([[4.0, 1.0], [0.25, 9.0]]), [3.0, 8.0]
    )
    X = family.sample(params, np.array([3000, 2000]), np.random.RandomState(0))
    assert X.shape == (5000, 2)
    for k, rows in enumerate((slice(0, 3000), slice(3000, 5000))):
        for d in range(2):
            scale = np.sqrt(params.covariances[k, d])
            dist = st.t(params.dof[k], loc=params.means[k, d], scale=scale)
            assert st.kstest(X[rows, d], dist.cdf).pvalue > 1e-3
    again = family.sample(params, np.array([3000, 2000]), np.random.RandomState(0))
    assert_array_equal(again, X)


def test_n_parameters():
    assert StudentT("full").n_parameters(3, 2) == 6 + 9 + 3
    assert StudentT("tied").n_parameters(3, 2) == 6 + 3 + 3
    assert StudentT("diag", frozen=frozenset({"dof"})).n_parameters(3, 2) == 6 + 6
    assert StudentT("spherical", frozen=frozenset({"means"})).n_parameters(3, 2) == 3 + 3


# -- 11. bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("X", "message"),
    [
        (
            np.array([[0.0, 1.0], [np.inf, 2.0]]),
            "must not hold infinite values .*column 0 holds inf .row 1",
        ),
        (np.array([[0.0, -np.inf]]), "must not hold infinite values .*column 1 holds -inf"),
        (np.zeros(3), "must be a 2-D array"),
        (np.array([["a", "b"]]), "must be numeric"),
    ],
)
def test_check_data_rejects_bad_data(X, message):
    with pytest.raises(ValueError, match=message):
        StudentT().check_data(X)


def test_check_data_keeps_float32_and_converts_integers():
    assert StudentT().check_data(np.zeros((2, 2), dtype=np.float32)).dtype == np.float32
    assert StudentT().check_data(np.zeros((2, 2), dtype=np.int64)).dtype == np.float64


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dof_init": 0.0}, "dof_init must be finite and positive"),
        ({"dof_init": np.inf}, "dof_init must be finite and positive"),
        ({"dof_init": ((1.0, 2.0),)}, "dof_init must be a number or one number per component"),
        ({"dof_init": (2.0, 3.0), "shared_dof": True}, "single value"),
        ({"reg_covar": -1.0}, "reg_covar must be finite and non-negative"),
        ({"frozen": frozenset({"df"})}, "unknown frozen Student-t parameters"),
        ({"frozen": "dof"}, "not the string"),
        ({"covariance": "banded"}, "covariance_type must be one of"),
    ],
)
def test_bad_hyperparameters_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StudentT(**kwargs)


def test_bad_parameters_are_refused():
    family = StudentT("full")
    eye = np.stack([np.eye(D)] * K)
    with pytest.raises(ValueError, match="dof must be finite and positive"):
        family.from_covariances(TRUE_MEANS, eye, [1.0, -1.0, 2.0])
    with pytest.raises(ValueError, match=r"dof must be a number or have shape \(3,\)"):
        family.from_covariances(TRUE_MEANS, eye, [1.0, 2.0])
    with pytest.raises(ValueError, match="positive-definite"):
        family.from_covariances(TRUE_MEANS, -eye, 3.0)
    with pytest.raises(ValueError, match="should have the shape"):
        family.from_covariances(TRUE_MEANS, eye[:2], 3.0)
    with pytest.raises(ValueError, match="means must be a finite array"):
        family.from_covariances(np.full((K, D), np.nan), eye, 3.0)
    with pytest.raises(ValueError, match="same dof"):
        StudentT(shared_dof=True).from_covariances(TRUE_MEANS, eye, [1.0, 2.0, 3.0])
    params = family.from_covariances(TRUE_MEANS, eye, 3.0)
    with pytest.raises(ValueError, match="dof must be finite and positive"):
        family.from_unconstrained(np.append(family.to_unconstrained(params)[:-1], -1e4), params)
    with pytest.raises(ValueError, match="dof must be finite and positive"):
        family.from_unconstrained(np.append(family.to_unconstrained(params)[:-1], np.nan), params)
    # One dof per component, but not as many as the components.
    X = np.random.RandomState(0).normal(size=(50, D))
    with pytest.raises(ValueError, match="dof_init holds 2 values for 3 components"):
        Mixture(StudentT(dof_init=(2.0, 3.0)), K, initializer("kmeans")).init(
            X, np.random.RandomState(0)
        )
