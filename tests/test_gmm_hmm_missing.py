"""Missing values (NaN) in Gaussian-mixture emissions and the GMMHMM face, against direct
computations with SciPy, brute force over state paths, and the Gaussian emissions (one
Gaussian per state)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.utils import get_tags

import emkit
from emkit.core.batches import Sequences
from emkit.core.stats import as_dict
from emkit.estimators.gmm_hmm import GMMHMM
from emkit.families.checks import EmptyRowWarning
from emkit.families.covariance import covariance_structure
from emkit.families.gaussian import Gaussian
from emkit.families.gaussian_mixture_emission import (
    GaussianMixtureEmission,
    GaussianMixtureEmissionParams,
    GaussianMixtureEmissionStats,
    GroupTied,
)
from emkit.families.imputation import imputation_for
from emkit.models.hmm import HMM, HMMParams
from emkit.models.initialization import initializer
from emkit.testing.conformance import (
    check_chunked_statistics,
    check_monotone_bound,
    run_all,
)

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
# 'tied-all' shares one covariance among all the Gaussians of all states (the Gaussian
# family's 'tied'); 'tied' is the face's, one per state (GroupTied).
STRUCTURES = [*COVARIANCE_TYPES, "tied-all"]
K, M, D = 2, 2, 3
SEPARATED_MEANS = np.array(
    [[[0.0, 0.0], [3.0, 0.0]], [[0.0, 6.0], [3.0, 6.0]], [[8.0, 0.0], [8.0, 4.0]]]
)


def _structure(name, n_mix=M):
    if name == "tied":
        return GroupTied(n_mix)
    if name == "tied-all":
        return covariance_structure("tied")
    return covariance_structure(name)


def _family(name, n_mix=M, reg_covar=0.0):
    return GaussianMixtureEmission(Gaussian(_structure(name, n_mix), reg_covar=reg_covar), n_mix)


def _random_params(family, name, k=K, d=D, seed=0):
    """Mixture-emission parameters of every structure, with correlated full matrices."""
    rng = np.random.RandomState(seed)
    m = family.n_mix
    weights = rng.dirichlet(np.ones(m) * 3, size=k)
    means = rng.randn(k * m, d) * 1.5
    a = rng.randn(k * m, d, d) * 0.5
    full = a @ np.swapaxes(a, 1, 2) + np.eye(d)
    covariances = {
        "full": full,
        "tied": full[::m],
        "tied-all": full[0],
        "diag": np.diagonal(full, axis1=1, axis2=2).copy(),
        "spherical": np.diagonal(full, axis1=1, axis2=2).mean(axis=1),
    }[name]
    return family.from_arrays(weights, means, covariances)


def _with_nan(X, fraction, seed=1, empty_rows=()):
    rng = np.random.RandomState(seed)
    Y = X.copy()
    Y[rng.rand(*X.shape) < fraction] = np.nan
    for i in empty_rows:
        Y[i] = np.nan
    return Y


def _simulate(seed=0, lengths=(60, 1, 35, 80, 24), spread=0.7, means=None, k=K, m=M, d=D):
    """Sequences from a k-state HMM whose states emit from mixtures of m Gaussians."""
    rng = np.random.RandomState(seed)
    startprob = rng.dirichlet(np.ones(k))
    transmat = rng.dirichlet(np.ones(k) * 2, size=k) * 0.5 + np.eye(k) * 0.5
    weights = rng.dirichlet(np.ones(m) * 4, size=k)
    if means is None:
        means = rng.randn(k, m, d) * 3
    parts = []
    for n in lengths:
        state = rng.choice(k, p=startprob)
        rows = []
        for _ in range(n):
            mix = rng.choice(m, p=weights[state])
            rows.append(means[state, mix] + rng.randn(d) * spread)
            state = rng.choice(k, p=transmat[state])
        parts.append(np.array(rows))
    return Sequences.from_list(parts), startprob, transmat, weights, means


def _full_covariances(family, params):
    g = params.gaussian
    return family.gaussian.covariance.full(g.covariances, *g.means.shape)


def _scipy_emission(family, params, X):
    """``log sum_m w_km N(x_o | mu_kmo, Sigma_kmoo)`` row by row (0 with nothing observed),
    shape (n, K), and the inner responsibilities (n, K, M)."""
    k, m = params.weights.shape
    full = _full_covariances(family, params)
    means = params.gaussian.means
    joint = np.zeros((X.shape[0], k, m))
    for i, row in enumerate(X):
        o = ~np.isnan(row)
        for s, j in itertools.product(range(k), range(m)):
            c = s * m + j
            joint[i, s, j] = np.log(params.weights[s, j])
            if o.any():
                dist = multivariate_normal(means[c, o], full[c][np.ix_(o, o)])
                joint[i, s, j] += dist.logpdf(row[o])
    log_prob = logsumexp(joint, axis=2)
    return log_prob, np.exp(joint - log_prob[:, :, None])


# -- the emission density of rows with NaN -------------------------------------------------
@pytest.mark.parametrize("name", STRUCTURES)
def test_emission_log_likelihood_matches_scipy_on_observed_coordinates(name):
    family = _family(name)
    params = _random_params(family, name)
    X = _with_nan(np.random.RandomState(2).randn(40, D) * 2, 0.35, empty_rows=(5,))
    expected, inner = _scipy_emission(family, params, X)
    assert_allclose(family.log_prob(params, X), expected, rtol=1e-12, atol=1e-12)
    assert_array_equal(family.log_prob(params, X)[5], 0.0)
    assert_allclose(family.inner_responsibilities(params, X), inner, rtol=1e-10, atol=1e-14)
    # A row with nothing observed keeps the prior mixture weights within every state.
    assert_allclose(family.inner_responsibilities(params, X)[5], params.weights, rtol=1e-14)


def _completed_moments(family, params, X, weights):
    """Brute force, row by row and Gaussian by Gaussian: the first moments (K * M, D) and
    full second moments (K * M, D, D) about the means of the completed rows (missing
    coordinates at their conditional expectation), with the conditional covariance added."""
    full = _full_covariances(family, params)
    means = params.gaussian.means
    n_gauss, d = means.shape
    first = np.zeros((n_gauss, d))
    second = np.zeros((n_gauss, d, d))
    for i, row in enumerate(X):
        o = ~np.isnan(row)
        if not o.any():
            continue
        mis = ~o
        for c in range(n_gauss):
            S = full[c]
            x = row.copy()
            cond = np.zeros((d, d))
            if mis.any():
                gain = S[np.ix_(mis, o)] @ np.linalg.inv(S[np.ix_(o, o)])
                x[mis] = means[c, mis] + gain @ (row[o] - means[c, o])
                cond[np.ix_(mis, mis)] = S[np.ix_(mis, mis)] - gain @ S[np.ix_(o, mis)]
            dev = x - means[c]
            first[c] += weights[i, c] * dev
            second[c] += weights[i, c] * (np.outer(dev, dev) + cond)
    return first, second


def _reduced(name, second, n_mix=M):
    """Full second moments (K * M, D, D) as the structure reduces its scatter."""
    if name == "full":
        return second
    if name == "tied":
        return second.reshape(-1, n_mix, *second.shape[1:]).sum(axis=1)
    if name == "tied-all":
        return second.sum(axis=0)
    return np.diagonal(second, axis1=1, axis2=2)


@pytest.mark.parametrize("name", STRUCTURES)
def test_statistics_complete_the_rows_under_every_gaussian(name):
    family = _family(name)
    params = _random_params(family, name, seed=3)
    X = _with_nan(np.random.RandomState(4).randn(50, D) * 2, 0.3, empty_rows=(0, 17))
    seen = ~np.isnan(X).all(axis=1)
    resp = np.random.RandomState(5).dirichlet(np.ones(K), size=X.shape[0])
    _, inner = _scipy_emission(family, params, X)
    weights = (resp[:, :, None] * inner).reshape(-1, K * M)
    weights[~seen] = 0.0  # rows with nothing observed carry no statistics
    first, second = _completed_moments(family, params, X, weights)
    stats = family.stats(params, X, resp)
    assert isinstance(stats, GaussianMixtureEmissionStats)
    assert_allclose(stats.sum_w, resp[seen].sum(axis=0), rtol=1e-12)
    assert_allclose(stats.sum_mix, weights.sum(axis=0).reshape(K, M), rtol=1e-10)
    g = stats.gaussian
    assert g.covariance == family.gaussian.covariance
    assert g.centre is params.gaussian.means
    assert_allclose(g.sum_dx, first, rtol=1e-9, atol=1e-11)
    assert_allclose(g.scatter, _reduced(name, second), rtol=1e-9, atol=1e-11)
    # The M-step reads them: means and covariances from the completed moments.
    new = family.m_step(stats, params)
    nk = weights.sum(axis=0)
    assert_allclose(new.gaussian.means, params.gaussian.means + first / nk[:, None], rtol=1e-9)


# -- no NaN: the fits of the complete-data passes ------------------------------------------
class _CompleteOnlyGaussian(Gaussian):
    """The Gaussian family's compiled passes for complete rows, called directly."""

    def log_prob(self, params, X, out=None):
        return self.covariance.log_prob(X, params.means, params.precisions_cholesky, out)

    def stats(self, params, X, resp):
        return self._stats(X, resp, params.means)


class _CompleteOnly(GaussianMixtureEmission):
    """The mixture emission as it reads complete rows: no test for NaN anywhere."""

    def stats(self, params, X, resp):
        k, m = np.shape(params.weights)
        weights = self.inner_responsibilities(params, X) * resp[:, :, None]
        gaussian = self.gaussian.stats(params.gaussian, X, weights.reshape(-1, k * m))
        return GaussianMixtureEmissionStats(resp.sum(axis=0), gaussian)


@pytest.mark.parametrize("name", STRUCTURES)
def test_without_nan_fits_are_those_of_the_complete_data_passes(name):
    X, *_ = _simulate(seed=6, lengths=(80, 40, 60))
    w = np.repeat([1.0, 2.0, 0.5], X.lengths)
    structure = _structure(name)
    fits = []
    for family in (
        GaussianMixtureEmission(Gaussian(structure, reg_covar=1e-6), M),
        _CompleteOnly(_CompleteOnlyGaussian(structure, reg_covar=1e-6), M),
    ):
        model = HMM(family, K, initializer("kmeans"))
        fits.append(emkit.fit_em(model, X, sample_weight=w, random_state=0, max_iter=10, tol=0))
    new, old = fits
    assert_allclose(new.lower_bounds, old.lower_bounds, rtol=1e-12, atol=0)
    for field, value in as_dict(old.params).items():
        assert_allclose(as_dict(new.params)[field], value, rtol=1e-12, atol=1e-14, err_msg=field)


def test_without_nan_the_face_fits_as_before():
    """The face's start and fit of complete data are untouched by the missing-value paths:
    the same fit with the model's families of complete rows, from the face's start."""
    X, *_ = _simulate(seed=7, lengths=(100, 60))
    for covariance_type in COVARIANCE_TYPES:
        face = GMMHMM(K, M, covariance_type=covariance_type, random_state=0, n_iter=8, tol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", emkit.ConvergenceWarning)
            face.fit(X.X, X.lengths)
        start = GMMHMM(K, M, covariance_type=covariance_type, random_state=0, n_iter=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", emkit.ConvergenceWarning)
            start.fit(X.X, X.lengths)
        family = face._model(D).family
        old = _CompleteOnly(
            _CompleteOnlyGaussian(family.gaussian.covariance, 0.0, family.gaussian.frozen),
            M,
            family.weights_prior,
            family.frozen,
            family.prior,
        )
        params = start._params()
        fit = emkit.fit_em(HMM(old, K), X, init=params, max_iter=8, tol=0)
        assert_allclose(face.means_.reshape(K * M, D), fit.params.emissions.gaussian.means, 1e-12)
        assert_allclose(face.transmat_, fit.params.transmat, rtol=1e-12, atol=1e-15)
        assert_allclose(face.lower_bounds_, fit.lower_bounds, rtol=1e-12)


# -- the observed-data likelihood of an HMM, by brute force --------------------------------
def _brute_force(params, family, X):
    emission, _ = _scipy_emission(family, params.emissions, X)
    n, k = emission.shape
    total = []
    for path in itertools.product(range(k), repeat=n):
        lp = np.log(params.startprob[path[0]]) + emission[0, path[0]]
        for t in range(1, n):
            lp += np.log(params.transmat[path[t - 1], path[t]]) + emission[t, path[t]]
        total.append(lp)
    return logsumexp(total)


def _tiny_sequence():
    X = np.random.RandomState(8).randn(6, D) * 1.5
    X[0, 1] = X[2, 0] = X[2, 2] = X[4, 1] = X[5, 0] = np.nan
    X[3] = np.nan
    return X


@pytest.mark.parametrize("name", STRUCTURES)
def test_hmm_log_likelihood_matches_brute_force_over_state_paths(name):
    family = _family(name)
    params = HMMParams(
        np.array([0.6, 0.4]),
        np.array([[0.7, 0.3], [0.2, 0.8]]),
        _random_params(family, name, seed=9),
    )
    X = _tiny_sequence()
    expected = _brute_force(params, family, X)
    model = HMM(family, K)
    assert_allclose(model.log_prob(params, Sequences(X)), [expected], rtol=1e-12)
    _, loglik = model.e_step(params, Sequences(X))
    assert_allclose(loglik, expected, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_face_scores_rows_with_nan_as_brute_force(covariance_type):
    family = _family(covariance_type)
    emissions = _random_params(family, covariance_type, seed=10)
    face = GMMHMM(K, M, covariance_type=covariance_type)
    face.startprob_ = np.array([0.3, 0.7])
    face.transmat_ = np.array([[0.9, 0.1], [0.4, 0.6]])
    face.weights_ = emissions.weights
    face.means_ = emissions.gaussian.means.reshape(K, M, D)
    face.covars_ = np.reshape(emissions.gaussian.covariances, face._covars_shape(D))
    face.n_features_in_ = D
    X = _tiny_sequence()
    params = HMMParams(face.startprob_, face.transmat_, emissions)
    assert_allclose(face.score(X), _brute_force(params, family, X), rtol=1e-12)
    assert get_tags(face).input_tags.allow_nan


# -- n_mix=1 with NaN is the Gaussian emission with NaN ------------------------------------
@pytest.mark.parametrize("name", ["full", "diag", "spherical", "tied-all"])
def test_one_gaussian_per_state_with_nan_is_the_gaussian_emission(name):
    X, *_ = _simulate(seed=11, lengths=(70, 50, 30))
    X = Sequences(_with_nan(X.X, 0.25, seed=12, empty_rows=(3, 71)), X.lengths)
    gaussian = Gaussian(covariance_structure("tied" if name == "tied-all" else name), 0.0)
    start = HMM(gaussian, K, initializer("kmeans")).init(X, np.random.RandomState(0))
    plain = emkit.fit_em(HMM(gaussian, K), X, init=start, max_iter=10, tol=0)
    wrapped = HMMParams(
        start.startprob,
        start.transmat,
        GaussianMixtureEmissionParams(np.ones((K, 1)), start.emissions),
    )
    mixed = emkit.fit_em(HMM(_family(name, 1), K), X, init=wrapped, max_iter=10, tol=0)
    assert_allclose(mixed.lower_bounds, plain.lower_bounds, rtol=1e-12)
    assert_allclose(mixed.params.emissions.gaussian.means, plain.params.emissions.means, 1e-9)
    assert_allclose(
        mixed.params.emissions.gaussian.covariances, plain.params.emissions.covariances, 1e-9
    )


def test_group_tied_of_one_with_nan_is_full():
    X, *_ = _simulate(seed=13, lengths=(60, 40))
    X = Sequences(_with_nan(X.X, 0.3, seed=14), X.lengths)
    full, tied = _family("full", 1), _family("tied", 1)
    params = _random_params(full, "full", seed=15)
    tied_params = tied.from_arrays(
        params.weights, params.gaussian.means, params.gaussian.covariances
    )
    resp = np.random.RandomState(16).dirichlet(np.ones(K), size=X.X.shape[0])
    a, b = full.stats(params, X.X, resp), tied.stats(tied_params, X.X, resp)
    assert b.gaussian.covariance == GroupTied(1)
    assert_allclose(b.gaussian.scatter, a.gaussian.scatter, rtol=1e-12)
    assert_allclose(b.gaussian.sum_dx, a.gaussian.sum_dx, rtol=1e-12)


# -- the conformance checks, with NaN present ----------------------------------------------
@pytest.mark.parametrize("name", STRUCTURES)
def test_conformance_with_missing_values(name):
    X, *_ = _simulate(seed=17, lengths=(50, 1, 30, 45, 24, 40))
    X = Sequences(_with_nan(X.X, 0.2, seed=18, empty_rows=(4, 60)), X.lengths)
    family = _family(name)
    assert family.monotone and family.allows_missing
    model = HMM(family, K, initializer("kmeans"))
    params = model.init(X, np.random.RandomState(3))
    w = np.repeat(np.arange(1.0, 7.0), X.lengths)
    run_all(model, X, params, sample_weight=w, monotone_max_iter=30)


def test_viterbi_training_with_missing_values_conforms():
    X, *_ = _simulate(seed=19, lengths=(80, 60, 70))
    X = Sequences(_with_nan(X.X, 0.2, seed=20, empty_rows=(9,)), X.lengths)
    model = HMM(_family("full"), K, initializer("kmeans"))
    params = model.init(X, np.random.RandomState(0))
    check_monotone_bound(model, X, max_iter=20, hard=True)
    check_chunked_statistics(model, params, X, hard=True, chunk_sizes=(1, 2), fit_chunk_size=1)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_threads_equal_one_thread_with_missing_values(covariance_type):
    X, *_ = _simulate(seed=21, lengths=(60,) * 6)
    XM = _with_nan(X.X, 0.2, seed=22, empty_rows=(5,))
    kwargs = dict(covariance_type=covariance_type, n_iter=10, tol=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        one = GMMHMM(K, M, n_jobs=1, chunk_size=90, **kwargs).fit(XM, X.lengths)
        two = GMMHMM(K, M, n_jobs=2, chunk_size=90, **kwargs).fit(XM, X.lengths)
        whole = GMMHMM(K, M, **kwargs).fit(XM, X.lengths)
    for attribute in ("means_", "covars_", "weights_", "transmat_", "lower_bounds_"):
        assert_allclose(getattr(two, attribute), getattr(one, attribute), rtol=1e-10)
        assert_allclose(getattr(whole, attribute), getattr(one, attribute), rtol=1e-10)
    assert np.all(np.diff(one.lower_bounds_) >= -1e-12 * np.abs(one.lower_bounds_[:-1]))


# -- the fit is a stationary point -----------------------------------------------------------
def _observed_loglik(model, vector, like, X):
    return float(model.log_prob(model.from_unconstrained(vector, like), X).sum())


@pytest.mark.parametrize("name", ["full", "tied", "diag", "spherical"])
def test_fit_is_a_stationary_point_of_the_observed_likelihood(name):
    X, *_ = _simulate(
        seed=23, lengths=(150, 150), spread=0.5, means=SEPARATED_MEANS[:K], k=K, m=M, d=2
    )
    X = Sequences(_with_nan(X.X, 0.2, seed=24, empty_rows=(10,)), X.lengths)
    model = HMM(_family(name), K, initializer("kmeans"))
    # tol=0: the bound's change is quadratic in the distance to the fixed point, so any
    # positive tol stops short of it.
    result = emkit.fit_em(model, X, random_state=0, max_iter=1000, tol=0.0, warn_unconverged=False)
    params = result.params
    # One more EM step changes nothing.
    step = model.m_step(model.e_step(params, X)[0], params)
    for field, value in as_dict(params).items():
        assert_allclose(as_dict(step)[field], value, rtol=0, atol=1e-8, err_msg=field)
    # The observed-data likelihood has a zero gradient there: EM's moments are the right
    # ones (a wrong completion, such as one without the conditional covariance, would have
    # its fixed points elsewhere).
    theta = model.to_unconstrained(params)
    h = 1e-5
    gradient = np.empty(theta.size)
    for j in range(theta.size):
        e = np.zeros(theta.size)
        e[j] = h
        up = _observed_loglik(model, theta + e, params, X)
        down = _observed_loglik(model, theta - e, params, X)
        gradient[j] = (up - down) / (2 * h)
    assert np.abs(gradient).max() < 1e-4, gradient
    # Away from the fit the gradient is far from zero: the check can fail.
    moved = theta.copy()
    moved[-1] += 0.3
    e = np.zeros(theta.size)
    e[-1] = h
    slope = (
        _observed_loglik(model, moved + e, params, X)
        - _observed_loglik(model, moved - e, params, X)
    ) / (2 * h)
    assert abs(slope) > 1.0, slope


# -- missing completely at random: the simulated parameters come back ----------------------
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_recovers_simulated_parameters_under_mcar(covariance_type):
    """With 15% of the cells missing completely at random, the fit is that of the complete
    data to within its sampling error, and both are near the simulated parameters."""
    X, _, transmat, weights, means = _simulate(
        seed=25, lengths=(400,) * 5, spread=0.5, means=SEPARATED_MEANS, k=3, m=M, d=2
    )
    XM = _with_nan(X.X, 0.15, seed=26)
    kwargs = dict(covariance_type=covariance_type, n_iter=300, tol=1e-6, random_state=0)
    fits = [GMMHMM(3, M, n_init=2, min_covar=0, **kwargs).fit(Y, X.lengths) for Y in (XM, X.X)]
    for fit in fits:
        assert fit.monitor_.converged
    ours, complete = fits
    # States matched by the sum of their mixture's means, Gaussians by the sum of theirs.
    order = [np.argsort(fit.means_.sum(axis=(1, 2))) for fit in fits]
    truth = np.argsort(means.sum(axis=(1, 2)))
    for a, b, t in zip(*order, truth, strict=True):
        ia, ib = (
            np.argsort(fit.means_[s].sum(axis=1)) for fit, s in zip(fits, (a, b), strict=True)
        )
        it = np.argsort(means[t].sum(axis=1))
        assert_allclose(ours.means_[a, ia], complete.means_[b, ib], atol=0.05)
        assert_allclose(ours.means_[a, ia], means[t, it], atol=0.1)
        assert_allclose(ours.weights_[a, ia], complete.weights_[b, ib], atol=0.03)
        assert_allclose(ours.weights_[a, ia], weights[t, it], atol=0.1)
        assert_allclose(ours.covars_[a, ia], complete.covars_[b, ib], atol=0.03)
        simulated = 0.25 * np.eye(2) if covariance_type == "full" else 0.25
        simulated = np.broadcast_to(simulated, ours.covars_[a, ia].shape)
        assert_allclose(ours.covars_[a, ia], simulated, atol=0.1)
    assert_allclose(
        ours.transmat_[np.ix_(order[0], order[0])], transmat[np.ix_(truth, truth)], atol=0.1
    )
    assert_allclose(
        ours.transmat_[np.ix_(order[0], order[0])],
        complete.transmat_[np.ix_(order[1], order[1])],
        atol=0.02,
    )


# -- imputation given the whole sequence ---------------------------------------------------
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag"])
def test_impute_mixes_every_gaussians_conditional_expectation(covariance_type):
    X, *_ = _simulate(seed=27, lengths=(80, 60))
    XM = _with_nan(X.X, 0.25, seed=28, empty_rows=(7,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        face = GMMHMM(K, M, covariance_type=covariance_type, random_state=0, n_iter=5)
        face.fit(XM, X.lengths)
    family = face._model(D).family
    params = face._params().emissions
    gamma = face.predict_proba(XM, X.lengths)
    _, inner = _scipy_emission(family, params, XM)
    joint = (gamma[:, :, None] * inner).reshape(-1, K * M)
    full = _full_covariances(family, params)
    means = params.gaussian.means
    expected = XM.copy()
    std = np.zeros_like(XM)
    for i, row in enumerate(XM):
        mis = np.isnan(row)
        if not mis.any():
            continue
        o = ~mis
        cond_means, cond_vars = [], []
        for c in range(K * M):
            S = full[c]
            if o.any():
                gain = S[np.ix_(mis, o)] @ np.linalg.inv(S[np.ix_(o, o)])
                cond_means.append(means[c, mis] + gain @ (row[o] - means[c, o]))
                cond_vars.append(np.diag(S[np.ix_(mis, mis)] - gain @ S[np.ix_(o, mis)]))
            else:
                cond_means.append(means[c])
                cond_vars.append(np.diag(S))
        cond_means, cond_vars = np.array(cond_means), np.array(cond_vars)
        mean = joint[i] @ cond_means
        expected[i, mis] = mean
        std[i, mis] = np.sqrt(joint[i] @ (cond_vars + (cond_means - mean) ** 2))
    values, spread = face.impute(XM, X.lengths, return_std=True)
    assert_allclose(values, expected, rtol=1e-9, atol=1e-10)
    assert_allclose(spread, std, rtol=1e-9, atol=1e-10)
    assert_array_equal(values[~np.isnan(XM)], XM[~np.isnan(XM)])


def test_multiple_imputation_draws_have_the_conditional_mean():
    """The family's draws (the multiple imputation of an HMM path) average to the imputed
    values of the rows' known states."""
    family = _family("full")
    params = _random_params(family, "full", seed=29)
    row = np.array([[0.5, np.nan, np.nan]])
    X = np.repeat(row, 20000, axis=0)
    states = np.ones(X.shape[0], dtype=np.int64)
    imputation = imputation_for(family)
    drawn = imputation.draw(family, params, X, states, np.random.RandomState(30))
    onehot = np.zeros((1, K))
    onehot[0, 1] = 1.0
    mean, std = imputation.impute(family, params, row, onehot)
    assert_array_equal(drawn[:, 0], 0.5)
    standard_error = std[0, 1:] / np.sqrt(X.shape[0])
    assert np.all(np.abs(drawn[:, 1:].mean(axis=0) - mean[0, 1:]) < 5 * standard_error)
    assert_allclose(drawn[:, 1:].std(axis=0), std[0, 1:], rtol=0.03)


# -- rows with nothing observed, infinities, columns never observed --------------------------
def test_rows_with_nothing_observed_are_reported_as_gaussian_hmm_reports_them():
    X, *_ = _simulate(seed=31, lengths=(80, 70))
    XM = _with_nan(X.X, 0.15, seed=32, empty_rows=(10, 11, 100))
    kwargs = dict(random_state=0, n_iter=5)
    # Both faces fit them without a word (warnings are errors here): they count for nothing.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        ours = GMMHMM(K, 1, covariance_type="full", **kwargs).fit(XM, X.lengths)
        plain = emkit.GaussianHMM(K, "full", **kwargs).fit(XM, X.lengths)
    assert np.all(np.isfinite(ours.lower_bounds_))
    # One Gaussian per state at the Gaussian face's parameters: the same scores,
    # posteriors (an unobserved row's from its neighbours) and imputations.
    ours.startprob_, ours.transmat_ = plain.startprob_, plain.transmat_
    ours.weights_ = np.ones((K, 1))
    ours.means_, ours.covars_ = plain.means_[:, None], plain.covars_[:, None]
    assert_allclose(ours.score(XM, X.lengths), plain.score(XM, X.lengths), rtol=1e-12)
    resp = ours.predict_proba(XM, X.lengths)
    assert_allclose(resp, plain.predict_proba(XM, X.lengths), rtol=1e-10, atol=1e-14)
    assert np.all(np.isfinite(resp[[10, 11, 100]]))
    assert_allclose(ours.impute(XM, X.lengths), plain.impute(XM, X.lengths), rtol=1e-10)
    # An unobserved row emits with probability one, exactly, under every state.
    family = ours._model(D).family
    assert_array_equal(family.log_prob(ours._params().emissions, XM[[10, 11, 100]]), 0.0)
    # The family's own data check names them, as the Gaussian family's does.
    with pytest.warns(EmptyRowWarning, match=r"^3 of 150 rows"):
        family.check_data(XM)


def test_rows_with_nothing_observed_add_no_statistics():
    family = _family("tied")
    params = _random_params(family, "tied", seed=33)
    X = _with_nan(np.random.RandomState(34).randn(30, D), 0.3)
    X = X[~np.isnan(X).all(axis=1)]
    resp = np.random.RandomState(35).dirichlet(np.ones(K), size=X.shape[0] + 2)
    empty = np.full((2, D), np.nan)
    with_empty = family.stats(params, np.concatenate([X[:5], empty, X[5:]]), resp)
    rest = np.concatenate([resp[:5], resp[7:]])
    without = family.stats(params, X, rest)
    for field, value in as_dict(without).items():
        assert_allclose(as_dict(with_empty)[field], value, rtol=1e-12, err_msg=field)


def test_infinite_values_still_raise():
    X, *_ = _simulate(seed=36, lengths=(40,))
    XM = _with_nan(X.X, 0.2, seed=37)
    XM[3, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GMMHMM(K, M, random_state=0).fit(XM)
    with pytest.raises(ValueError, match=r"must not hold infinite values.*column 1 holds inf"):
        _family("full").check_data(XM)


def test_a_column_never_observed_is_refused():
    X, *_ = _simulate(seed=38, lengths=(40,))
    XM = _with_nan(X.X, 0.2, seed=39)
    XM[:, 2] = np.nan
    with pytest.raises(ValueError, match="column 2 of the data has no observed value"):
        GMMHMM(K, M, random_state=0).fit(XM)
    model = HMM(_family("diag"), K, initializer("kmeans"))
    with pytest.raises(ValueError, match="column 2 of the data has no observed value"):
        model.init(Sequences(XM), np.random.RandomState(0))
