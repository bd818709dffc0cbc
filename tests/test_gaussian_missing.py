"""Missing values (NaN) in the Gaussian family's E-step, at the model level: mixtures of every
covariance structure, the multivariate normal (one component), and HMMs with Gaussian
emissions, against direct computations with SciPy and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import emkit
from emkit.core.batches import Sequences
from emkit.core.stats import as_dict
from emkit.families import gaussian_missing as gm
from emkit.families.checks import EmptyRowWarning
from emkit.families.gaussian import Gaussian, GaussianStats
from emkit.families.multinomial import Multinomial
from emkit.families.student import StudentT
from emkit.models.hmm import HMM
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture, mean_imputed
from emkit.testing.conformance import check_chunked_statistics, check_monotone_bound, run_all

STRUCTURES = ["full", "tied", "diag", "spherical", "VVV", "EEE", "VEI", "EVE"]


def _blobs(n=300, d=3, k=3, seed=0):
    rng = np.random.RandomState(seed)
    centres = rng.randn(k, d) * 4
    labels = rng.randint(k, size=n)
    A = rng.randn(k, d, d) * 0.5
    X = centres[labels] + np.einsum("nij,nj->ni", A[labels] + np.eye(d), rng.randn(n, d))
    return X


def _with_nan(X, fraction, seed=1, empty_rows=()):
    rng = np.random.RandomState(seed)
    Y = X.copy()
    Y[rng.rand(*X.shape) < fraction] = np.nan
    for i in empty_rows:
        Y[i] = np.nan
    return Y


def _fitted(structure, X, k=3, max_iter=5):
    model = Mixture(Gaussian(structure, reg_covar=0.0), k, initializer("kmeans"))
    result = emkit.fit_em(model, X, random_state=0, max_iter=max_iter, warn_unconverged=False)
    return model, result.params


def _scipy_loglik(params, family, X):
    """Observed-data log-likelihood of every row: logsumexp over components of the weights
    times the marginal densities of the observed coordinates."""
    k, d = params.components.means.shape
    full = family.covariance.full(params.components.covariances, k, d)
    out = np.zeros(X.shape[0])
    for i, row in enumerate(X):
        o = ~np.isnan(row)
        if not o.any():
            continue
        terms = [
            np.log(params.weights[j])
            + multivariate_normal(params.components.means[j, o], full[j][np.ix_(o, o)]).logpdf(
                row[o]
            )
            for j in range(k)
        ]
        out[i] = logsumexp(terms)
    return out


# -- the observed-data log-likelihood ---------------------------------------------------
@pytest.mark.parametrize("structure", STRUCTURES)
def test_log_likelihood_matches_scipy_on_observed_coordinates(structure):
    X = _with_nan(_blobs(), 0.3, empty_rows=(4,))
    model, params = _fitted(structure, X)
    expected = _scipy_loglik(params, model.family, X)
    np.testing.assert_allclose(model.log_prob(params, X), expected, rtol=1e-12, atol=1e-11)
    _, loglik = model.e_step(params, X)
    np.testing.assert_allclose(loglik, expected.sum(), rtol=1e-12)
    _, reference = model.e_step_reference(params, X)
    np.testing.assert_allclose(reference, expected.sum(), rtol=1e-12)
    # The reference path (log_prob, responsibilities, stats) gives the same statistics.
    got = as_dict(model.e_step(params, X)[0])
    ref = as_dict(model.e_step_reference(params, X)[0])
    for name in ref:
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-10, atol=1e-9, err_msg=name)


def test_compiled_pass_matches_its_numpy_twin():
    X = _with_nan(_blobs(n=400, d=5), 0.3)
    X = X[np.isnan(X).any(axis=1) & ~np.isnan(X).all(axis=1)]
    rng = np.random.RandomState(3)
    means = rng.randn(3, 5)
    A = rng.randn(3, 5, 5)
    covariances = A @ A.transpose(0, 2, 1) + np.eye(5)
    log_weights = np.log([0.2, 0.3, 0.5])
    w = rng.rand(X.shape[0])
    resp = rng.rand(X.shape[0], 3)
    for structure, cov in (("full", covariances), ("tied", covariances[0])):
        s = Gaussian(structure).covariance
        np.testing.assert_allclose(
            gm.missing_log_prob(s, means, cov, X),
            gm.missing_log_prob_reference(s, means, cov, X),
            rtol=1e-13,
        )
        for got, ref in zip(
            gm.missing_moments(s, means, cov, X, resp),
            gm.missing_moments_reference(s, means, cov, X, resp),
            strict=True,
        ):
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
        for hard in (False, True):
            got = gm.missing_mixture_e_step(s, means, cov, log_weights, X, w, hard)
            ref = gm.missing_mixture_e_step_reference(s, means, cov, log_weights, X, w, hard)
            for a, b in zip(got, ref, strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())


# -- the fit is the maximum of the observed-data likelihood -------------------------------
def _observed_loglik(model, vector, like, X):
    return float(model.log_prob(model.from_unconstrained(vector, like), X).sum())


@pytest.mark.parametrize("structure", ["full", "diag", "spherical"])
def test_fit_is_a_stationary_point_of_the_observed_likelihood(structure):
    X = _with_nan(_blobs(n=200, d=3, k=2, seed=5), 0.2, empty_rows=(0,))
    model = Mixture(Gaussian(structure, reg_covar=0.0), 2, initializer("kmeans"))
    result = emkit.fit_em(model, X, random_state=0, max_iter=5000, tol=1e-13)
    theta = model.to_unconstrained(result.params)
    h = 1e-5
    gradient = np.empty(theta.size)
    for j in range(theta.size):
        step = np.zeros(theta.size)
        step[j] = h
        up = _observed_loglik(model, theta + step, result.params, X)
        down = _observed_loglik(model, theta - step, result.params, X)
        gradient[j] = (up - down) / (2 * h)
    # Each coordinate's derivative is a sum over 200 rows of O(1) terms.
    assert np.abs(gradient).max() < 1e-4, gradient
    # Away from the fit the gradient is far from zero: the check can fail.
    moved = theta.copy()
    moved[2] += 0.2
    up = _observed_loglik(model, moved + h * np.eye(theta.size)[2], result.params, X)
    down = _observed_loglik(model, moved - h * np.eye(theta.size)[2], result.params, X)
    assert abs(up - down) / (2 * h) > 1.0


def test_multivariate_normal_fit_equals_direct_maximisation():
    """One component: Little and Rubin's EM for the multivariate normal, against a direct
    maximisation of the observed-data likelihood with scipy.optimize."""
    rng = np.random.RandomState(7)
    cov = np.array([[2.0, 0.8, 0.3], [0.8, 1.0, -0.4], [0.3, -0.4, 1.5]])
    X = rng.multivariate_normal([1.0, -2.0, 0.5], cov, size=80)
    X = _with_nan(X, 0.25, seed=8)
    model = Mixture(Gaussian("full", reg_covar=0.0), 1, initializer("kmeans"))
    result = emkit.fit_em(model, X, random_state=0, max_iter=10000, tol=1e-14)
    like = result.params

    def negative(vector):
        return -_observed_loglik(model, np.concatenate([[0.0], vector]), like, X)

    start = model.to_unconstrained(model.init(mean_imputed(X), np.random.RandomState(0)))[1:]
    direct = minimize(negative, start, method="BFGS", options={"gtol": 1e-9, "maxiter": 5000})
    best = model.from_unconstrained(np.concatenate([[0.0], direct.x]), like)
    np.testing.assert_allclose(like.components.means, best.components.means, atol=1e-5)
    np.testing.assert_allclose(like.components.covariances, best.components.covariances, atol=1e-5)
    assert -direct.fun <= result.lower_bounds[-1] * X.shape[0] + 1e-8


# -- no NaN: today's results, bit for bit --------------------------------------------------
class _CompleteOnly(Gaussian):
    """The Gaussian family as it was before missing values: its compiled passes called
    directly."""

    def log_prob(self, params, X, out=None):
        return self.covariance.log_prob(X, params.means, params.precisions_cholesky, out)

    def stats(self, params, X, resp):
        return self._stats(X, resp, params.means)

    def mixture_e_step(self, params, log_weights, X, sample_weight, hard):
        return self._fused_e_step(params, log_weights, X, sample_weight, hard)


@pytest.mark.parametrize("structure", ["full", "tied", "diag", "spherical", "VEI"])
def test_without_nan_results_are_bit_identical(structure):
    X = _blobs()
    w = np.random.RandomState(2).rand(X.shape[0])
    fits = []
    for family in (Gaussian(structure), _CompleteOnly(structure)):
        model = Mixture(family, 3, initializer("kmeans"))
        fits.append(emkit.fit_em(model, X, sample_weight=w, random_state=0, max_iter=20))
    new, old = fits
    for name, value in as_dict(old.params).items():
        assert np.array_equal(as_dict(new.params)[name], value), name
    assert np.array_equal(new.lower_bounds, old.lower_bounds)
    model = Mixture(Gaussian(structure), 3)
    expected = Mixture(_CompleteOnly(structure), 3)
    assert np.array_equal(model.log_prob(new.params, X), expected.log_prob(new.params, X))
    hmm, hmm_old = HMM(Gaussian(structure), 3), HMM(_CompleteOnly(structure), 3)
    start = _hmm_params(new.params)
    seqs = Sequences(X, np.array([100, 200]))
    a, b = hmm.e_step(start, seqs), hmm_old.e_step(start, seqs)
    assert a[1] == b[1]
    for name, value in as_dict(b[0]).items():
        assert np.array_equal(as_dict(a[0])[name], value), name


def _hmm_params(mixture_params):
    from emkit.models.hmm import HMMParams

    k = mixture_params.weights.size
    trans = np.full((k, k), 0.1 / (k - 1))
    np.fill_diagonal(trans, 0.9)
    return HMMParams(mixture_params.weights, trans, mixture_params.components)


# -- missing completely at random: the simulated parameters come back ----------------------
@pytest.mark.parametrize("fraction", [0.1, 0.3])
def test_recovers_simulated_parameters_under_mcar(fraction):
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
    n = 6000
    labels = rng.choice(3, size=n, p=weights)
    X = np.stack([rng.multivariate_normal(means[c], covs[c]) for c in labels])
    X = _with_nan(X, fraction, seed=12)
    model = Mixture(Gaussian("full"), 3, initializer("kmeans"))
    result = emkit.fit_em(model, X, random_state=0, max_iter=500, tol=1e-8, n_init=2)
    fitted = result.params
    order = [int(np.argmin(((fitted.components.means - m) ** 2).sum(axis=1))) for m in means]
    assert sorted(order) == [0, 1, 2]
    np.testing.assert_allclose(fitted.weights[order], weights, atol=0.02)
    np.testing.assert_allclose(fitted.components.means[order], means, atol=0.1)
    np.testing.assert_allclose(fitted.components.covariances[order], covs, atol=0.15)
    # Mean imputation alone (what the start sees) would shrink the variances.
    naive = Mixture(Gaussian("full"), 3, initializer("kmeans"))
    imputed = emkit.fit_em(naive, mean_imputed(X), random_state=0, max_iter=500, tol=1e-8)
    gap = np.abs(imputed.params.components.covariances[order] - covs).max()
    assert gap > 0.15


# -- the conformance checks, with NaN present ----------------------------------------------
@pytest.mark.parametrize("structure", ["full", "tied", "diag", "spherical", "EVE"])
def test_conformance_with_missing_values(structure):
    X = _with_nan(_blobs(n=120), 0.2, empty_rows=(3,))
    model, params = _fitted(structure, X, max_iter=2)
    run_all(model, X, params, monotone_max_iter=30)
    check_monotone_bound(model, X, max_iter=20, hard=True)
    check_chunked_statistics(model, params, X, hard=True, fit_max_iter=0)


def test_threads_equal_one_thread_with_missing_values():
    X = _with_nan(_blobs(n=400), 0.3)
    model = Mixture(Gaussian("full"), 3, initializer("kmeans"))
    kwargs = dict(random_state=0, max_iter=15, tol=0.0, chunk_size=50)
    one = emkit.fit_em(model, X, n_jobs=1, **kwargs)
    two = emkit.fit_em(model, X, n_jobs=2, **kwargs)
    for name, value in as_dict(one.params).items():
        np.testing.assert_allclose(as_dict(two.params)[name], value, rtol=1e-10, err_msg=name)
    np.testing.assert_allclose(two.lower_bounds, one.lower_bounds, rtol=1e-12)


def test_statistics_keep_their_reference_point_with_missing_values():
    """Statistics of two halves taken under different parameters, re-based and added, give
    the M-step of the moments about one centre, as they do without NaN."""
    X = _with_nan(_blobs(n=200), 0.3)
    model, params = _fitted("full", X, max_iter=2)
    later = model.m_step(model.e_step(params, X)[0], params)
    first, _ = model.e_step(params, X[:100])
    second, _ = model.e_step(later, X[100:])
    summed = (first + second).components
    assert summed.centre is params.components.means
    moved = second.components.about(params.components.means)
    direct = first.components + moved
    for name in ("sum_w", "sum_dx", "scatter"):
        np.testing.assert_allclose(getattr(summed, name), getattr(direct, name), rtol=1e-12)
    # The M-step does not depend on the centre the moments are taken about.
    fam = model.family
    a = fam.m_step(summed, params.components)
    b = fam.m_step(summed.about(later.components.means), params.components)
    np.testing.assert_allclose(a.means, b.means, rtol=1e-10)
    np.testing.assert_allclose(a.covariances, b.covariances, rtol=1e-9)
    assert isinstance(summed, GaussianStats)


# -- hidden Markov models with Gaussian emissions ------------------------------------------
def _brute_force_hmm(params, family, X):
    k = params.startprob.size
    n = X.shape[0]
    d = X.shape[1]
    full = family.covariance.full(params.emissions.covariances, k, d)
    emissions = np.zeros((n, k))
    for t, row in enumerate(X):
        o = ~np.isnan(row)
        if o.any():
            for j in range(k):
                emissions[t, j] = multivariate_normal(
                    params.emissions.means[j, o], full[j][np.ix_(o, o)]
                ).logpdf(row[o])
    total = []
    for path in itertools.product(range(k), repeat=n):
        lp = np.log(params.startprob[path[0]]) + emissions[0, path[0]]
        for t in range(1, n):
            lp += np.log(params.transmat[path[t - 1], path[t]]) + emissions[t, path[t]]
        total.append(lp)
    return logsumexp(total)


@pytest.mark.parametrize("structure", ["full", "diag"])
def test_hmm_forward_backward_matches_brute_force(structure):
    from emkit.models.hmm import HMMParams

    rng = np.random.RandomState(4)
    X = rng.randn(5, 3)
    X[0, 1] = X[2, 0] = X[2, 2] = X[4, 1] = np.nan
    X[3] = np.nan
    family = Gaussian(structure)
    means = np.array([[0.0, 1.0, -1.0], [1.0, -1.0, 0.5]])
    if structure == "full":
        covariances = np.array([[[1.0, 0.3, 0.1], [0.3, 2.0, -0.2], [0.1, -0.2, 1.5]]] * 2)
        covariances[1] *= 0.7
    else:
        covariances = np.array([[1.0, 2.0, 0.5], [0.8, 1.1, 1.6]])
    params = HMMParams(
        np.array([0.6, 0.4]),
        np.array([[0.7, 0.3], [0.2, 0.8]]),
        family.from_covariances(means, covariances),
    )
    model = HMM(family, 2)
    expected = _brute_force_hmm(params, family, X)
    np.testing.assert_allclose(model.log_prob(params, Sequences(X)), [expected], rtol=1e-12)
    _, loglik = model.e_step(params, Sequences(X))
    np.testing.assert_allclose(loglik, expected, rtol=1e-12)


def test_hmm_fit_with_missing_values_is_monotone_and_chunks_add_up():
    rng = np.random.RandomState(9)
    states = np.repeat([0, 1, 0, 2, 1], 40)
    means = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    X = _with_nan(means[states] + rng.randn(states.size, 2), 0.2, seed=10, empty_rows=(7,))
    seqs = Sequences(X, np.array([50, 70, 80]))
    model = HMM(Gaussian("full", reg_covar=0.0), 3, initializer("kmeans"))
    result = check_monotone_bound(model, seqs, max_iter=30)
    check_chunked_statistics(model, result.params, seqs, chunk_sizes=(1, 2), fit_chunk_size=1)


# -- rows with nothing observed, infinities, families without missing values ---------------
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
            np.testing.assert_allclose(as_dict(a)[name], value, rtol=1e-12, err_msg=name)
    resp = model.predict_proba(params, empty)
    np.testing.assert_allclose(resp, np.broadcast_to(params.weights, resp.shape), rtol=1e-14)
    count = 4 + int(np.isnan(X).all(axis=1).sum())
    with pytest.warns(EmptyRowWarning, match=f"^{count} of 304 rows"):
        model.family.check_data(with_empty)


def test_infinite_values_still_raise():
    X = _with_nan(_blobs(), 0.2)
    X[7, 1] = -np.inf
    with pytest.raises(ValueError, match=r"must not hold infinite values.*column 1 holds -inf"):
        Gaussian().check_data(X)
    with pytest.raises(ValueError):
        emkit.fit_em(Mixture(Gaussian(), 3, initializer("kmeans")), X, random_state=0)


def test_families_without_missing_values_still_refuse_nan():
    X = np.abs(np.round(_blobs(n=20)))
    X[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"column 1 holds nan \(row 4\)"):
        Multinomial().check_data(X)
    assert Gaussian.allows_missing and Mixture(Gaussian(), 2).allows_missing
    assert StudentT.allows_missing and Mixture(StudentT(), 2).allows_missing
    assert not Multinomial.allows_missing
    assert not Mixture(Multinomial(), 2).allows_missing


def test_start_from_a_column_with_nothing_observed_is_refused():
    X = _blobs()
    X[:, 2] = np.nan
    with pytest.raises(ValueError, match="column 2 of the data has no observed value"):
        Mixture(Gaussian(), 3, initializer("kmeans")).init(X, np.random.RandomState(0))


def test_mean_imputed_start():
    X = np.array([[1.0, np.nan], [3.0, 4.0], [np.nan, 8.0]])
    np.testing.assert_array_equal(
        mean_imputed(X, np.array([1.0, 3.0, 1.0])), [[1.0, 5.0], [3.0, 4.0], [2.5, 8.0]]
    )
    complete = np.ones((2, 2))
    assert mean_imputed(complete) is complete


@pytest.mark.parametrize("d", [5, 12, 40, 70])
def test_pattern_order_groups_rows_by_pattern(d):
    # Every key kind: bit masks of 8, 16 and 64 bits, and packed bytes.
    rng = np.random.RandomState(3)
    missing = rng.rand(300, d) < 0.3
    missing[:40] = missing[0]  # one pattern of many rows
    order, starts = gm.pattern_order(missing)
    groups = list(gm.patterns(missing))
    assert starts.size == len(groups) + 1 and starts[-1] == 300
    assert sorted(order) == list(range(300))
    for p, (rows, observed) in enumerate(groups):
        block = order[starts[p] : starts[p + 1]]
        np.testing.assert_array_equal(block, rows)
        assert (missing[block] == missing[block[0]]).all()
        np.testing.assert_array_equal(np.flatnonzero(~missing[block[0]]), observed)
    heads = [tuple(missing[order[s]]) for s in starts[:-1]]
    assert len(set(heads)) == len(heads)


@pytest.mark.parametrize("d", [6, 12, 40, 70])
def test_grouped_rows_read_in_place_equal_the_copied_partial_rows(d):
    rng = np.random.RandomState(5)
    X = rng.normal(size=(400, d))
    X[rng.rand(*X.shape) < 0.15] = np.nan
    X[:5] = np.nan  # rows with nothing observed belong to neither group
    rows = gm.grouped_rows(X)
    split = gm.split_rows(X)
    np.testing.assert_array_equal(rows.complete, split.complete)
    np.testing.assert_array_equal(np.sort(rows.order), split.partial)
    missing = np.isnan(X)
    heads = []
    for p in range(rows.starts.size - 1):
        block = rows.order[rows.starts[p] : rows.starts[p + 1]]
        assert (missing[block] == missing[block[0]]).all()
        heads.append(tuple(missing[block[0]]))
    assert len(set(heads)) == len(heads)
    # The E-step of the rows read in place is that of their copy.
    means = rng.normal(size=(3, d))
    A = rng.normal(size=(3, d, d))
    covariances = A @ np.swapaxes(A, 1, 2) / d + np.eye(d)
    structure = Gaussian("full").covariance
    log_weights = np.log([0.2, 0.3, 0.5])
    w = rng.rand(400)
    got = gm.grouped_mixture_e_step(structure, means, covariances, log_weights, X, rows, w, False)
    ref = gm.missing_mixture_e_step(
        structure, means, covariances, log_weights, X[split.partial], w[split.partial], False
    )
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-10)
