"""Missing values (NaN) in the Student-t family's E-step: mixtures of every covariance
structure against direct computations with scipy.stats.multivariate_t on the observed
coordinates, the statistics against their definitions, stationarity of the fit, a direct
maximisation with scipy.optimize, the conformance checks with NaN, MCAR recovery, empty
rows, infinities, and imputation against numerical integration of the t density."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats as st
from scipy.integrate import quad
from scipy.optimize import minimize
from scipy.special import digamma, logsumexp
from sklearn.utils import get_tags

import emkit
from emkit.core.batches import Sequences
from emkit.core.stats import as_dict
from emkit.families.checks import EmptyRowWarning
from emkit.families.imputation import imputation_for
from emkit.families.student import StudentStats, StudentT
from emkit.models.hmm import HMM
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture, MixtureParams
from emkit.testing.conformance import check_chunked_statistics, check_monotone_bound, run_all

STRUCTURES = ["full", "tied", "diag", "spherical"]


def _blobs(n=300, d=3, k=3, seed=0, df=4.0):
    """Heavy-tailed clusters: t draws about k centres with random shapes."""
    rng = np.random.RandomState(seed)
    centres = rng.randn(k, d) * 5
    labels = rng.randint(k, size=n)
    A = rng.randn(k, d, d) * 0.4 + np.eye(d)
    z = rng.randn(n, d) / np.sqrt(rng.gamma(df / 2, 2 / df, size=n))[:, None]
    return centres[labels] + np.einsum("nij,nj->ni", A[labels], z)


def _with_nan(X, fraction, seed=1, empty_rows=()):
    rng = np.random.RandomState(seed)
    Y = X.copy()
    Y[rng.rand(*X.shape) < fraction] = np.nan
    for i in empty_rows:
        Y[i] = np.nan
    return Y


def _model(structure="full", k=3, **kwargs):
    kwargs.setdefault("reg_covar", 0.0)
    return Mixture(StudentT(structure, **kwargs), k, initializer("kmeans"))


def _fitted(structure, X, k=3, max_iter=5, **kwargs):
    model = _model(structure, k, **kwargs)
    result = emkit.fit_em(model, X, random_state=0, max_iter=max_iter, warn_unconverged=False)
    return model, result.params


def _scipy_loglik(params, family, X):
    """Observed-data log-likelihood of every row: logsumexp over components of the weights
    times scipy's multivariate t of the observed coordinates (0 for a row with nothing
    observed)."""
    c = params.components
    k, d = c.means.shape
    full = family.covariance.full(c.covariances, k, d)
    out = np.zeros(X.shape[0])
    for i, row in enumerate(X):
        o = ~np.isnan(row)
        if not o.any():
            continue
        terms = [
            np.log(params.weights[j])
            + st.multivariate_t(c.means[j, o], full[j][np.ix_(o, o)], df=c.dof[j]).logpdf(row[o])
            for j in range(c.means.shape[0])
        ]
        out[i] = logsumexp(terms)
    return out


# -- the observed-data log-likelihood ---------------------------------------------------
@pytest.mark.parametrize("structure", STRUCTURES)
def test_log_likelihood_matches_scipy_multivariate_t_on_observed_coordinates(structure):
    X = _with_nan(_blobs(), 0.3, empty_rows=(4,))
    model, params = _fitted(structure, X)
    # Degrees of freedom far apart, so that p_o (not D) in the density matters.
    params = MixtureParams(
        params.weights,
        model.family.from_covariances(
            params.components.means, params.components.covariances, [0.8, 3.0, 40.0]
        ),
    )
    expected = _scipy_loglik(params, model.family, X)
    assert_allclose(model.log_prob(params, X), expected, rtol=1e-12, atol=1e-11)
    _, loglik = model.e_step(params, X)
    assert_allclose(loglik, expected.sum(), rtol=1e-12)
    _, reference = model.e_step_reference(params, X)
    assert_allclose(reference, expected.sum(), rtol=1e-12)
    # The fused path and the plain one (log_prob, responsibilities, stats) agree.
    for hard in (False, True):
        got = as_dict(model.e_step(params, X, hard=hard)[0])
        ref = as_dict(model.e_step_reference(params, X, hard=hard)[0])
        for name in ref:
            assert_allclose(got[name], ref[name], rtol=1e-10, atol=1e-9, err_msg=name)


def _brute_force_stats(family, params, X, resp):
    """The statistics of the module notes, row by row with np.linalg.solve."""
    c = params
    k, d = c.means.shape
    full = family.covariance.full(c.covariances, k, d)
    sum_w, sum_wu, sum_w_log_tau = np.zeros(k), np.zeros(k), np.zeros(k)
    sum_dx, scatter = np.zeros((k, d)), np.zeros((k, d, d))
    for i, row in enumerate(X):
        o = ~np.isnan(row)
        m = ~o
        if not o.any():
            continue
        for j in range(k):
            S, mu, nu = full[j], c.means[j], c.dof[j]
            dev_o = row[o] - mu[o]
            delta = dev_o @ np.linalg.solve(S[np.ix_(o, o)], dev_o)
            p = o.sum()
            u = (nu + p) / (nu + delta)
            log_tau = digamma((nu + p) / 2) - np.log((nu + delta) / 2)
            xhat = row.copy()
            xhat[m] = mu[m] + S[np.ix_(m, o)] @ np.linalg.solve(S[np.ix_(o, o)], dev_o)
            cond = np.zeros((d, d))
            cond[np.ix_(m, m)] = S[np.ix_(m, m)] - S[np.ix_(m, o)] @ np.linalg.solve(
                S[np.ix_(o, o)], S[np.ix_(o, m)]
            )
            w = resp[i, j]
            sum_w[j] += w
            sum_wu[j] += w * u
            sum_w_log_tau[j] += w * log_tau
            sum_dx[j] += w * u * (xhat - mu)
            scatter[j] += w * u * np.outer(xhat - mu, xhat - mu) + w * cond
    return sum_w, sum_wu, sum_dx, scatter, sum_w_log_tau


@pytest.mark.parametrize("structure", STRUCTURES)
def test_statistics_match_their_definitions(structure):
    X = _with_nan(_blobs(n=60), 0.35, seed=3, empty_rows=(2,))
    model, params = _fitted(structure, X)
    family, c = model.family, params.components
    resp = np.random.RandomState(5).rand(X.shape[0], 3)
    got = family.stats(c, X, resp)
    sum_w, sum_wu, sum_dx, scatter, sum_w_log_tau = _brute_force_stats(family, c, X, resp)
    if structure == "tied":
        scatter = scatter.sum(axis=0)
    elif structure in ("diag", "spherical"):
        scatter = np.diagonal(scatter, axis1=1, axis2=2)
    assert isinstance(got, StudentStats) and got.centre is c.means
    for name, value in [
        ("sum_w", sum_w),
        ("sum_wu", sum_wu),
        ("sum_dx", sum_dx),
        ("scatter", scatter),
        ("sum_w_log_tau", sum_w_log_tau),
    ]:
        assert_allclose(getattr(got, name), value, rtol=1e-11, atol=1e-11, err_msg=name)


# -- no NaN: today's results, bit for bit --------------------------------------------------
class _CompleteOnlyStudent(StudentT):
    """The Student-t family as it was before missing values: its complete-data paths called
    directly."""

    def log_prob(self, params, X):
        return self._complete_log_prob(params, np.asarray(X, dtype=np.float64))

    def stats(self, params, X, resp):
        X = np.asarray(X, dtype=np.float64)
        delta, _ = self._sq_mahalanobis(params, X)
        return self._stats(params, X, np.asarray(resp, dtype=np.float64), delta)

    def mixture_e_step(self, params, log_weights, X, sample_weight, hard):
        X = np.asarray(X, dtype=np.float64)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        return self._complete_e_step(params, log_weights, X, w, hard)


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("kwargs", [{}, {"shared_dof": True}], ids=["dof", "shared-dof"])
def test_without_nan_results_are_bit_identical(structure, kwargs):
    X = _blobs()
    w = np.random.RandomState(2).rand(X.shape[0])
    fits = []
    for family in (StudentT(structure, **kwargs), _CompleteOnlyStudent(structure, **kwargs)):
        model = Mixture(family, 3, initializer("kmeans"))
        fits.append(emkit.fit_em(model, X, sample_weight=w, random_state=0, max_iter=20))
    new, old = fits
    for name, value in as_dict(old.params).items():
        assert np.array_equal(as_dict(new.params)[name], value), name
    assert np.array_equal(new.lower_bounds, old.lower_bounds)
    a, b = Mixture(StudentT(structure), 3), Mixture(_CompleteOnlyStudent(structure), 3)
    assert np.array_equal(a.log_prob(new.params, X), b.log_prob(new.params, X))
    resp = np.random.RandomState(3).rand(X.shape[0], 3)
    got = as_dict(a.family.stats(new.params.components, X, resp))
    ref = as_dict(b.family.stats(new.params.components, X, resp))
    for name, value in ref.items():
        assert np.array_equal(got[name], value), name


# -- the fit is the maximum of the observed-data likelihood -------------------------------
def _fit_to_convergence(structure, X, k=2, **kwargs):
    model = _model(structure, k, **kwargs)
    # tol=0: run on to the fixed point in floating point (SQUAREM gets there in well under
    # 200 iterations here).
    result = emkit.fit_em(
        model,
        X,
        random_state=0,
        max_iter=200,
        tol=0.0,
        accelerate="squarem",
        warn_unconverged=False,
    )
    return model, result


@pytest.mark.parametrize("structure", ["full", "diag"])
@pytest.mark.parametrize("kwargs", [{}, {"shared_dof": True}], ids=["dof", "shared-dof"])
def test_fit_is_a_fixed_point_and_a_stationary_point(structure, kwargs):
    X = _with_nan(_blobs(n=150, d=3, k=2, seed=5), 0.25, empty_rows=(0,))
    model, result = _fit_to_convergence(structure, X, **kwargs)
    params = result.params
    # The M-step of the fitted E-step returns the fitted parameters, degrees of freedom
    # included (their score equation reads E[log tau] with p_o, not D).
    again = model.m_step(model.e_step(params, X)[0], params)
    for name, value in as_dict(params).items():
        assert_allclose(as_dict(again)[name], value, rtol=1e-10, atol=1e-12, err_msg=name)
    # scipy's observed-data log-likelihood is flat there in every coordinate of the
    # components (locations, Cholesky factors or log-variances of the scale matrices, log
    # degrees of freedom), each derivative a sum over 150 rows of O(1) terms.
    family, c = model.family, params.components
    theta = family.to_unconstrained(c)

    def loglik_at(vector):
        moved = family.from_unconstrained(vector, c)
        return _scipy_loglik(MixtureParams(params.weights, moved), family, X).sum()

    def derivative(vector, j, h=1e-5):
        step = np.zeros(vector.size)
        step[j] = h
        return (loglik_at(vector + step) - loglik_at(vector - step)) / (2 * h)

    gradient = np.array([derivative(theta, j) for j in range(theta.size)])
    assert np.abs(gradient).max() < 1e-4, gradient
    # Away from the fit the gradient is far from zero: the check can fail.
    moved = theta.copy()
    moved[1] += 0.2
    assert abs(derivative(moved, 1)) > 1.0


def test_fit_equals_direct_maximisation_of_the_observed_likelihood():
    """One component in two dimensions with fixed degrees of freedom: EM against a direct
    maximisation with scipy.optimize of scipy's multivariate t of the observed coordinates."""
    rng = np.random.RandomState(7)
    scale = np.array([[2.0, 0.9], [0.9, 1.0]])
    X = st.multivariate_t([1.0, -2.0], scale, df=3.0).rvs(size=60, random_state=rng)
    X = _with_nan(X, 0.3, seed=8)
    model = _model("full", 1, dof_init=3.0, frozen=frozenset({"dof"}))
    result = emkit.fit_em(model, X, random_state=0, max_iter=20000, tol=1e-15)
    rows = [(row[~np.isnan(row)], ~np.isnan(row)) for row in X if (~np.isnan(row)).any()]

    def negative(theta):
        mu = theta[:2]
        L = np.array([[np.exp(theta[2]), 0.0], [theta[3], np.exp(theta[4])]])
        S = L @ L.T
        return -sum(st.multivariate_t(mu[o], S[np.ix_(o, o)], df=3.0).logpdf(x) for x, o in rows)

    start = np.array([0.0, 0.0, 0.0, 0.0, 0.0])
    direct = minimize(negative, start, method="BFGS", options={"gtol": 1e-8, "maxiter": 5000})
    mu = direct.x[:2]
    L = np.array([[np.exp(direct.x[2]), 0.0], [direct.x[3], np.exp(direct.x[4])]])
    fitted = result.params.components
    assert_allclose(fitted.means[0], mu, atol=1e-5)
    assert_allclose(fitted.covariances[0], L @ L.T, atol=1e-5)
    assert_allclose(-direct.fun, result.lower_bounds[-1] * X.shape[0], rtol=1e-10)


# -- the conformance checks, with NaN present ----------------------------------------------
@pytest.mark.parametrize("structure", STRUCTURES)
def test_conformance_with_missing_values(structure):
    X = _with_nan(_blobs(n=120), 0.2, empty_rows=(3,))
    model, params = _fitted(structure, X, max_iter=2)
    run_all(model, X, params, monotone_max_iter=30)
    check_monotone_bound(model, X, max_iter=20, hard=True)
    check_chunked_statistics(model, params, X, hard=True, fit_max_iter=0)


@pytest.mark.parametrize(
    "kwargs",
    [{"shared_dof": True}, {"frozen": frozenset({"dof"}), "dof_init": (2.0, 5.0, 30.0)}],
    ids=["shared-dof", "fixed-dof"],
)
def test_conformance_with_missing_values_and_dof_options(kwargs):
    X = _with_nan(_blobs(n=120, seed=4), 0.25, empty_rows=(9,))
    model, params = _fitted("full", X, max_iter=2, **kwargs)
    w = np.random.RandomState(1).uniform(0.0, 3.0, size=X.shape[0])
    run_all(model, X, params, sample_weight=w, monotone_max_iter=30)


def test_threads_equal_one_thread_with_missing_values():
    X = _with_nan(_blobs(n=400), 0.3)
    model = _model("full", reg_covar=1e-6)
    kwargs = dict(random_state=0, max_iter=15, tol=0.0, chunk_size=50)
    one = emkit.fit_em(model, X, n_jobs=1, **kwargs)
    two = emkit.fit_em(model, X, n_jobs=2, **kwargs)
    for name, value in as_dict(one.params).items():
        assert_allclose(as_dict(two.params)[name], value, rtol=1e-10, err_msg=name)
    assert_allclose(two.lower_bounds, one.lower_bounds, rtol=1e-12)


def test_hmm_with_student_emissions_and_missing_values():
    rng = np.random.RandomState(9)
    states = np.repeat([0, 1, 0, 2, 1], 40)
    means = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    X = _with_nan(means[states] + rng.standard_t(4, (states.size, 2)), 0.2, seed=10)
    X[7] = np.nan
    seqs = Sequences(X, np.array([50, 70, 80]))
    model = HMM(StudentT("full", reg_covar=0.0), 3, initializer("kmeans"))
    result = check_monotone_bound(model, seqs, max_iter=30)
    check_chunked_statistics(model, result.params, seqs, chunk_sizes=(1, 2), fit_chunk_size=1)


# -- missing completely at random: the simulated parameters come back ----------------------
def test_recovers_simulated_parameters_under_mcar():
    rng = np.random.RandomState(11)
    weights = np.array([0.5, 0.3, 0.2])
    means = np.array([[0.0, 0.0, 0.0], [7.0, 7.0, 0.0], [0.0, 7.0, 7.0]])
    scales = np.array(
        [
            [[1.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 1.0]],
            [[1.5, -0.4, 0.2], [-0.4, 1.0, 0.0], [0.2, 0.0, 0.5]],
            [[0.7, 0.0, 0.0], [0.0, 1.2, 0.6], [0.0, 0.6, 1.0]],
        ]
    )
    dof = np.array([3.0, 5.0, 8.0])
    truth = MixtureParams(weights, StudentT().from_covariances(means, scales, dof))
    X, _ = _model().sample(truth, 6000, rng)
    X = _with_nan(X, 0.2, seed=12)
    model = _model("full", reg_covar=1e-6)
    result = emkit.fit_em(model, X, random_state=0, max_iter=500, tol=1e-9, accelerate="squarem")
    fitted = result.params
    order = [int(np.argmin(((fitted.components.means - m) ** 2).sum(axis=1))) for m in means]
    assert sorted(order) == [0, 1, 2]
    assert_allclose(fitted.weights[order], weights, atol=0.02)
    assert_allclose(fitted.components.means[order], means, atol=0.1)
    assert_allclose(fitted.components.covariances[order], scales, atol=0.15)
    assert_allclose(fitted.components.dof[order], dof, rtol=0.35)
    # Counting the rows' observed coordinates as D would bias the degrees of freedom.
    assert fitted.components.dof[order][0] < 4.0


# -- rows with nothing observed, infinities ------------------------------------------------
def test_rows_with_nothing_observed_count_for_nothing():
    X = _with_nan(_blobs(), 0.2)
    model, params = _fitted("full", X)
    empty = np.full((4, 3), np.nan)
    with_empty = np.concatenate([X[:50], empty, X[50:]])
    for hard in (False, True):
        a, la = model.e_step(params, with_empty, hard=hard)
        b, lb = model.e_step(params, X, hard=hard)
        assert la == pytest.approx(lb, rel=1e-13)
        for name, value in as_dict(b).items():
            assert_allclose(as_dict(a)[name], value, rtol=1e-12, err_msg=name)
        _, lr = model.e_step_reference(params, with_empty, hard=hard)
        assert lr == pytest.approx(lb, rel=1e-12)
    resp = model.predict_proba(params, empty)
    assert_allclose(resp, np.broadcast_to(params.weights, resp.shape), rtol=1e-14)
    count = 4 + int(np.isnan(X).all(axis=1).sum())
    with pytest.warns(EmptyRowWarning, match=f"^{count} of 304 rows of the Student-t data"):
        model.family.check_data(with_empty)


def test_infinite_values_still_raise():
    X = _with_nan(_blobs(), 0.2)
    X[7, 1] = -np.inf
    with pytest.raises(ValueError, match=r"must not hold infinite values.*column 1 holds -inf"):
        StudentT().check_data(X)
    with pytest.raises(ValueError, match="infinity"):
        emkit.StudentMixture(3, random_state=0).fit(X)


def test_nan_is_a_missing_value_by_default():
    X = _with_nan(_blobs(), 0.15)
    X[np.isnan(X).all(axis=1), 0] = 1.0  # every row shows something
    assert StudentT.allows_missing and Mixture(StudentT(), 2).allows_missing
    face = emkit.StudentMixture(3, random_state=0, max_iter=50, tol=1e-6)
    assert get_tags(face).input_tags.allow_nan
    face.fit(X)
    model = Mixture(StudentT(reg_covar=face.reg_covar), 3)
    assert_allclose(face.score_samples(X), model.log_prob(face._params(), X), rtol=1e-12)
    expected = _scipy_loglik(face._params(), model.family, X)
    assert_allclose(face.score_samples(X), expected, rtol=1e-10)
    assert face.predict(X).shape == (X.shape[0],)


# -- imputation: against numerical integration of scipy's t density -----------------------
@pytest.mark.parametrize("dof", [1.5, 4.0])
def test_impute_is_the_conditional_mean_and_std_of_the_t(dof):
    """One component in 2-D, the second coordinate missing: the mean and standard deviation
    of ``x_2 | x_1`` from quadrature of the joint density over the marginal."""
    family = StudentT("full")
    c = family.from_covariances([[1.0, -1.0]], [[[2.0, 0.9], [0.9, 1.0]]], [dof])
    X = np.array([[2.5, np.nan], [-1.0, np.nan], [np.nan, np.nan]])
    joint = st.multivariate_t(c.means[0], c.covariances[0], df=dof)
    imputed, std = imputation_for(family).impute(family, c, X, np.ones((3, 1)))
    for i, x1 in enumerate(X[:2, 0]):
        marginal = quad(lambda t, x1=x1: joint.pdf([x1, t]), -np.inf, np.inf)[0]
        mean = quad(lambda t, x1=x1: t * joint.pdf([x1, t]), -np.inf, np.inf)[0] / marginal
        second = quad(lambda t, x1=x1, m=mean: (t - m) ** 2 * joint.pdf([x1, t]), -np.inf, np.inf)
        assert imputed[i, 0] == x1
        assert_allclose(imputed[i, 1], mean, rtol=1e-7)
        assert_allclose(std[i, 1], np.sqrt(second[0] / marginal), rtol=1e-6)
        assert std[i, 0] == 0.0
    # Nothing observed: the component's mean, and its covariance nu / (nu - 2) Sigma where
    # that is finite.
    assert_allclose(imputed[2], c.means[0], rtol=1e-14)
    expected = np.sqrt(dof / (dof - 2) * np.diag(c.covariances[0])) if dof > 2 else np.inf
    assert_allclose(std[2], expected, rtol=1e-12)


@pytest.mark.parametrize("structure", ["full", "diag"])
def test_sample_missing_follows_the_conditional_t(structure):
    X = _with_nan(_blobs(n=200, d=3, k=2, seed=6), 0.2, seed=2)
    face = emkit.StudentMixture(2, covariance_type=structure, random_state=0, max_iter=100)
    face.fit(X)
    params = face._params().components
    k, d = params.means.shape
    full = face._family().covariance.full(params.covariances, k, d)
    # A row far out from the first component (a large delta_o, so a wide conditional t),
    # its last coordinate missing: its draws follow the posterior mixture of the
    # components' conditional t's.
    row = np.array([[*params.means[0, :2] + 3.0 * np.sqrt(np.diag(full[0])[:2]), np.nan]])
    proba = face.predict_proba(row)[0]
    draws = face.sample_missing(np.repeat(row, 4000, axis=0), 1, random_state=0)[0, :, 2]
    laws, gaussians = [], []
    for j in range(k):
        S, mu, nu = full[j], params.means[j], params.dof[j]
        dev = row[0, :2] - mu[:2]
        delta = dev @ np.linalg.solve(S[:2, :2], dev)
        loc = mu[2] + S[2, :2] @ np.linalg.solve(S[:2, :2], dev)
        cond = S[2, 2] - S[2, :2] @ np.linalg.solve(S[:2, :2], S[:2, 2])
        laws.append(st.t(df=nu + 2, loc=loc, scale=np.sqrt((nu + delta) / (nu + 2) * cond)))
        gaussians.append(st.norm(loc, np.sqrt(cond)))

    def mixed(parts):
        return lambda x: sum(p * law.cdf(x) for p, law in zip(proba, parts, strict=True))

    assert st.kstest(draws, mixed(laws)).pvalue > 1e-3
    # The Gaussians of the conditional covariances alone, without the hidden scale's
    # posterior, are told apart (the check can fail).
    assert st.kstest(draws, mixed(gaussians)).pvalue < 1e-3
    # Observed cells stay as they are; the imputation is the mean of many draws.
    many = face.sample_missing(X, 300, random_state=1)
    seen = ~np.isnan(X)
    assert np.array_equal(many[:, seen], np.broadcast_to(X[seen], (300, seen.sum())))
    imputed, std = face.impute(X, return_std=True)
    missing = ~seen
    err = np.abs(many.mean(axis=0) - imputed)[missing]
    assert np.all(err < 6 * std[missing] / np.sqrt(300)), err.max()
