"""Gaussian-mixture emissions: the family on the HMM structure, and the GMMHMM face."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import emkit
from emkit.core.batches import Sequences
from emkit.estimators.gmm_hmm import GMMHMM
from emkit.families.covariance import covariance_structure
from emkit.families.gaussian import Gaussian, GaussianPrior
from emkit.families.gaussian_mixture_emission import (
    GaussianMixtureEmission,
    GaussianMixtureEmissionParams,
    GMMHMMPrior,
    GroupTied,
)
from emkit.models.hmm import HMM, HMMParams
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture, MixtureParams
from emkit.testing.conformance import run_all

hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")

COVARIANCE_TYPES = ["diag", "full", "spherical", "tied"]
K, M, D = 3, 2, 2
# Well separated states (and Gaussians within them), for recovery.
SEPARATED_MEANS = np.array(
    [[[0.0, 0.0], [3.0, 0.0]], [[0.0, 6.0], [3.0, 6.0]], [[8.0, 0.0], [8.0, 4.0]]]
)


def _structure(covariance_type, n_mix=M):
    """The face's structure: 'tied' ties the Gaussians of a state."""
    if covariance_type == "tied":
        return GroupTied(n_mix)
    return covariance_structure(covariance_type)


def _simulate(seed=0, lengths=(60, 1, 35, 80, 24), spread=0.7, means=None):
    """Sequences from a K-state HMM whose states emit from mixtures of M Gaussians (random
    means unless given)."""
    rng = np.random.RandomState(seed)
    startprob = rng.dirichlet(np.ones(K))
    transmat = rng.dirichlet(np.ones(K) * 2, size=K) * 0.5 + np.eye(K) * 0.5
    weights = rng.dirichlet(np.ones(M) * 4, size=K)
    if means is None:
        means = rng.randn(K, M, D) * 3
    parts = []
    for n in lengths:
        state = rng.choice(K, p=startprob)
        rows = []
        for _ in range(n):
            mix = rng.choice(M, p=weights[state])
            rows.append(means[state, mix] + rng.randn(D) * spread)
            state = rng.choice(K, p=transmat[state])
        parts.append(np.array(rows))
    return Sequences.from_list(parts), startprob, transmat, weights, means


def _hmmlearn_start(covariance_type, seed=1):
    """Start parameters in hmmlearn's GMMHMM shapes."""
    rng = np.random.RandomState(seed)
    start = {
        "startprob_": rng.dirichlet(np.ones(K)),
        "transmat_": rng.dirichlet(np.ones(K), size=K),
        "weights_": rng.dirichlet(np.ones(M) * 3, size=K),
        "means_": _simulate()[4] + rng.randn(K, M, D) * 0.5,
    }
    a = rng.randn(K, M, D, D) * 0.3
    full = a @ np.swapaxes(a, -1, -2) + np.eye(D)
    start["covars_"] = {
        "full": full,
        "diag": np.diagonal(full, axis1=-2, axis2=-1).copy(),
        "spherical": np.diagonal(full, axis1=-2, axis2=-1).mean(axis=-1),
        "tied": full[:, 0],
    }[covariance_type]
    return start


def _family_params(family, start, covariance_type):
    covars = start["covars_"]
    if covariance_type != "tied":
        covars = covars.reshape(K * M, *covars.shape[2:])
    return family.from_arrays(start["weights_"], start["means_"].reshape(K * M, D), covars)


# -- the family on the HMM structure --------------------------------------------------------
@pytest.mark.parametrize("covariance_type", [*COVARIANCE_TYPES, "tied-all"])
def test_hmm_with_mixture_emissions_conforms(covariance_type):
    """Exact M-step (reg_covar=0, no prior): the shared conformance checks; 'tied-all' shares
    one covariance among all the Gaussians of all states."""
    X, *_ = _simulate(lengths=(60, 1, 35, 80, 24, 50, 70, 45))
    structure = (
        covariance_structure("tied")
        if covariance_type == "tied-all"
        else _structure(covariance_type)
    )
    family = GaussianMixtureEmission(Gaussian(structure, reg_covar=0.0), M)
    assert family.monotone
    model = HMM(family, K, initializer("kmeans"))
    params = HMMParams(
        *(_hmmlearn_start("full")[n] for n in ("startprob_", "transmat_")),
        model.init(X, np.random.RandomState(3)).emissions,
    )
    w = np.repeat(np.arange(1.0, 9.0), X.lengths)
    run_all(model, X, params, sample_weight=w, monotone_max_iter=30)


def test_viterbi_training_conforms():
    X, *_ = _simulate(seed=2, lengths=(120, 80, 100))
    family = GaussianMixtureEmission(Gaussian(covariance_structure("diag"), reg_covar=0.0), M)
    model = HMM(family, K, initializer("kmeans"))
    params = model.init(X, np.random.RandomState(0))
    run_all(model, X, params, hard=True, monotone_max_iter=20)


def test_log_prob_and_stats_match_brute_force():
    X, *_ = _simulate(seed=4)
    family = GaussianMixtureEmission(Gaussian(covariance_structure("full"), reg_covar=0.0), M)
    start = _hmmlearn_start("full")
    params = _family_params(family, start, "full")
    dens = np.stack(
        [
            multivariate_normal(start["means_"][k, m], start["covars_"][k, m]).logpdf(X.X)
            for k in range(K)
            for m in range(M)
        ],
        axis=1,
    ).reshape(-1, K, M) + np.log(start["weights_"])
    assert_allclose(family.log_prob(params, X.X), logsumexp(dens, axis=2), rtol=1e-12)
    inner = np.exp(dens - logsumexp(dens, axis=2, keepdims=True))
    assert_allclose(family.inner_responsibilities(params, X.X), inner, rtol=1e-10, atol=1e-14)
    resp = np.random.RandomState(0).dirichlet(np.ones(K), size=X.X.shape[0])
    stats = family.stats(params, X.X, resp)
    weights = (resp[:, :, None] * inner).reshape(-1, K * M)
    centred = X.X[:, None, :] - params.gaussian.means[None]
    assert_allclose(stats.sum_w, resp.sum(axis=0), rtol=1e-12)
    assert_allclose(stats.sum_mix, weights.sum(axis=0).reshape(K, M), rtol=1e-12)
    assert_allclose(stats.gaussian.sum_dx, np.einsum("nc,ncd->cd", weights, centred), rtol=1e-10)
    scatter = np.einsum("nc,ncd,nce->cde", weights, centred, centred)
    assert_allclose(stats.gaussian.scatter, scatter, rtol=1e-10)


def test_inner_responsibilities_are_stable_far_from_every_gaussian():
    family = GaussianMixtureEmission(Gaussian(covariance_structure("diag")), M)
    start = _hmmlearn_start("diag")
    params = _family_params(family, start, "diag")
    far = np.array([[1e4, -1e4], [3e3, 5e3]])
    inner = family.inner_responsibilities(params, far)
    assert np.all(np.isfinite(inner))
    assert_allclose(inner.sum(axis=2), 1.0, rtol=1e-14)
    assert np.all(np.isfinite(family.log_prob(params, far)))


@pytest.mark.parametrize("covariance_type", [*COVARIANCE_TYPES, "tied-all"])
def test_one_gaussian_per_state_is_the_gaussian_emission(covariance_type):
    """n_mix=1: the fit is the HMM with plain Gaussian emissions, iteration by iteration."""
    X, *_ = _simulate(seed=5)
    name = "tied" if covariance_type == "tied-all" else covariance_type
    gaussian = Gaussian(covariance_structure(name), reg_covar=0.0)
    family = GaussianMixtureEmission(gaussian, 1)
    start = HMM(gaussian, K, initializer("kmeans")).init(X, np.random.RandomState(0))
    plain = emkit.fit_em(HMM(gaussian, K), X, init=start, max_iter=10, tol=0)
    wrapped_start = HMMParams(
        start.startprob,
        start.transmat,
        GaussianMixtureEmissionParams(np.ones((K, 1)), start.emissions),
    )
    mixed = emkit.fit_em(HMM(family, K), X, init=wrapped_start, max_iter=10, tol=0)
    assert_allclose(mixed.lower_bounds, plain.lower_bounds, rtol=1e-12)
    assert_allclose(mixed.params.transmat, plain.params.transmat, rtol=1e-9, atol=1e-14)
    assert_allclose(mixed.params.emissions.gaussian.means, plain.params.emissions.means, rtol=1e-9)
    assert_allclose(
        mixed.params.emissions.gaussian.covariances, plain.params.emissions.covariances, rtol=1e-9
    )
    assert_array_equal(mixed.params.emissions.weights, 1.0)


def test_one_gaussian_per_state_scores_like_gaussian_hmm():
    X, *_ = _simulate(seed=6)
    start = _hmmlearn_start("full")
    ours = GMMHMM(K, 1, covariance_type="full")
    plain = emkit.GaussianHMM(K, "full")
    for model in (ours, plain):
        model.startprob_, model.transmat_ = start["startprob_"], start["transmat_"]
        model.n_features_in_ = D
    ours.weights_ = np.ones((K, 1))
    ours.means_, ours.covars_ = start["means_"][:, :1], start["covars_"][:, :1]
    plain.means_, plain.covars_ = start["means_"][:, 0], start["covars_"][:, 0]
    assert_allclose(ours.score(X.X, X.lengths), plain.score(X.X, X.lengths), rtol=1e-12)
    assert_allclose(ours.predict_proba(X.X, X.lengths), plain.predict_proba(X.X, X.lengths))
    assert_array_equal(ours.predict(X.X, X.lengths), plain.predict(X.X, X.lengths))


def test_group_tied_structure():
    """GroupTied(1) is Full; GroupTied(M)'s fused mixture E-step equals the reference path."""
    X, *_ = _simulate(seed=7)
    rng = np.random.RandomState(0)
    full, one = covariance_structure("full"), GroupTied(1)
    means = rng.randn(4, D)
    a = rng.randn(4, D, D)
    cov = a @ np.swapaxes(a, 1, 2) + np.eye(D)
    assert_allclose(
        one.log_prob(X.X, means, one.precisions_cholesky(cov)),
        full.log_prob(X.X, means, full.precisions_cholesky(cov)),
        rtol=1e-13,
    )
    tied = GroupTied(2)
    assert tied.shape(4, D) == (2, D, D)
    assert tied.n_parameters(4, 3) == 12
    assert tied == GroupTied(2) and tied != GroupTied(3)
    family = Gaussian(tied, reg_covar=0.0)
    params = family.from_covariances(means, cov[:2])
    mixture = Mixture(family, 4)
    mp = MixtureParams(np.array([0.1, 0.2, 0.3, 0.4]), params)
    fused, fused_ll = mixture.e_step(mp, X.X)
    ref, ref_ll = mixture.e_step_reference(mp, X.X)
    assert_allclose(fused_ll, ref_ll, rtol=1e-12)
    assert_allclose(fused.components.scatter, ref.components.scatter, rtol=1e-10)
    new = mixture.m_step(fused, mp).components.covariances
    assert_allclose(new, mixture.m_step(ref, mp).components.covariances, rtol=1e-10)
    with pytest.raises(ValueError, match="do not split into groups of 2"):
        tied.check(cov[:2], 3, D, "covars_")


def test_unconstrained_coordinates_round_trip():
    for covariance_type in COVARIANCE_TYPES:
        family = GaussianMixtureEmission(Gaussian(_structure(covariance_type)), M)
        params = _family_params(family, _hmmlearn_start(covariance_type), covariance_type)
        back = family.from_unconstrained(family.to_unconstrained(params), params)
        assert_allclose(back.weights, params.weights, rtol=1e-13)
        assert_allclose(back.gaussian.means, params.gaussian.means, rtol=1e-13)
        assert_allclose(back.gaussian.covariances, params.gaussian.covariances, rtol=1e-12)


def test_sampled_states_emit_from_their_mixtures():
    family = GaussianMixtureEmission(Gaussian(covariance_structure("diag")), M)
    start = _hmmlearn_start("diag")
    start["covars_"] = np.full((K, M, D), 1e-4)
    params = _family_params(family, start, "diag")
    counts = np.array([3000, 0, 2000])
    X = family.sample(params, counts, np.random.RandomState(0))
    assert X.shape == (5000, D)
    first = X[:3000]
    nearest = np.argmin(((first[:, None] - start["means_"][0][None]) ** 2).sum(axis=2), axis=1)
    assert_allclose(np.bincount(nearest) / 3000, start["weights_"][0], atol=0.03)
    # Within a state the order of samples carries no information on the Gaussian.
    assert abs(nearest[:1500].mean() - nearest[1500:].mean()) < 0.06


# -- the face against hmmlearn ---------------------------------------------------------------
class _UnusedKMeans:
    """Stands in for scikit-learn's KMeans in hmmlearn's GMMHMM start, which runs it even
    with init_params='' (its result is then discarded): ten k-means runs per state cost
    most of a parity test's time."""

    def __init__(self, n_clusters, **kwargs):
        self.n_clusters = n_clusters

    def fit(self, X):
        self.cluster_centers_ = X[: self.n_clusters]
        return self

    def fit_predict(self, X):
        self.fit(X)
        return np.arange(X.shape[0]) % self.n_clusters


def _both_from(covariance_type, n_iter, **kwargs):
    """emkit's and hmmlearn's GMMHMM from the same start; emkit's with min_covar=0, its
    update then being hmmlearn's (which adds min_covar only to the initial covariances)."""
    start = _hmmlearn_start(covariance_type)
    ours = GMMHMM(
        K,
        M,
        covariance_type=covariance_type,
        n_iter=n_iter,
        tol=-np.inf,
        init_params="",
        min_covar=0.0,
        **kwargs,
    )
    theirs = hmmlearn_hmm.GMMHMM(
        K,
        M,
        covariance_type=covariance_type,
        n_iter=n_iter,
        tol=-np.inf,
        init_params="",
        **kwargs,
    )
    for model in (ours, theirs):
        for name, value in start.items():
            setattr(model, name, np.array(value, copy=True))
    return ours, theirs


PRIORS = [
    {},
    {
        "weights_prior": 2.0,
        "means_prior": 0.3,
        "means_weight": 1.5,
        "covars_prior": 0.4,
        "covars_weight": 2.0,
    },
    {"startprob_prior": 2.0, "transmat_prior": 1.5, "weights_prior": 1.3, "params": "stwc"},
]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("priors", PRIORS, ids=["default", "priors", "chain-priors-frozen-means"])
def test_gmmhmm_matches_hmmlearn(covariance_type, priors, monkeypatch):
    monkeypatch.setattr(hmmlearn_hmm.cluster, "KMeans", _UnusedKMeans)
    X, *_ = _simulate()
    if covariance_type in ("full", "tied") and "covars_prior" in priors:
        # The scale both read alike: hmmlearn adds a number to every entry of the matrix.
        priors = {**priors, "covars_prior": priors["covars_prior"] * np.eye(D)}
    ours, theirs = _both_from(covariance_type, 8, **priors)
    ours.fit(X.X, X.lengths)
    theirs.fit(X.X, X.lengths)
    for name in ("startprob_", "transmat_", "weights_", "means_", "covars_"):
        assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-6, err_msg=name)
    assert_allclose(ours.score(X.X, X.lengths), theirs.score(X.X, X.lengths), rtol=1e-6)
    if "startprob_prior" not in priors:
        # Both monitors hold the log-likelihood before every M-step (with priors on the
        # chain emkit's adds their log density, the objective of MAP-EM).
        assert ours.monitor_.iter == theirs.monitor_.iter == 8
        assert_allclose(list(ours.monitor_.history), list(theirs.monitor_.history), rtol=1e-10)
    assert_allclose(
        ours.predict_proba(X.X, X.lengths), theirs.predict_proba(X.X, X.lengths), atol=1e-9
    )
    for algorithm in ("viterbi", "map"):
        lp, states = ours.decode(X.X, X.lengths, algorithm=algorithm)
        tlp, tstates = theirs.decode(X.X, X.lengths, algorithm=algorithm)
        assert_array_equal(states, tstates)
        assert_allclose(lp, tlp, rtol=1e-9)
    # emkit counts K (M - 1) free mixture weights, hmmlearn M - 1.
    assert_allclose(
        ours.aic(X.X, X.lengths) - theirs.aic(X.X, X.lengths), 2 * (K - 1) * (M - 1), atol=1e-6
    )


def test_hmmlearn_covariances_are_second_moments_about_the_previous_means():
    """hmmlearn's update (reproduced for parity) is not the exact M-step; with the
    exact one, the same start gives the maximum-likelihood variance."""
    X = np.random.RandomState(0).randn(500, 1) * 2 + 3
    model = GMMHMM(1, 1, n_iter=1, tol=0, init_params="", params="mcw", min_covar=0.0)
    model.startprob_, model.transmat_ = np.ones(1), np.ones((1, 1))
    model.weights_, model.means_, model.covars_ = (
        np.ones((1, 1)),
        np.zeros((1, 1, 1)),
        np.ones((1, 1, 1)),
    )
    model.fit(X)
    assert_allclose(model.covars_[0, 0, 0], np.mean(X**2), rtol=1e-12)
    family = GaussianMixtureEmission(Gaussian(covariance_structure("diag"), reg_covar=0.0), 1)
    params = family.from_arrays(np.ones((1, 1)), np.zeros((1, 1)), np.ones((1, 1)))
    new = family.m_step(family.stats(params, X, np.ones((500, 1))), params)
    assert_allclose(new.gaussian.covariances[0, 0], X.var(), rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gmmhmm_recovers_a_simulated_model(covariance_type):
    X, _, transmat, weights, means = _simulate(
        seed=11, lengths=(400,) * 5, spread=0.5, means=SEPARATED_MEANS
    )
    model = GMMHMM(K, M, covariance_type=covariance_type, n_iter=100, random_state=0, n_init=2).fit(
        X.X, X.lengths
    )
    assert model.monitor_.converged
    # Match states by the sum of their mixture's mean, Gaussians by the sum of theirs.
    order = np.argsort(model.means_.sum(axis=(1, 2)))
    truth = np.argsort(means.sum(axis=(1, 2)))
    for ours, theirs in zip(order, truth, strict=True):
        inner = np.argsort(model.means_[ours].sum(axis=1))
        expected = np.argsort(means[theirs].sum(axis=1))
        assert_allclose(model.means_[ours, inner], means[theirs, expected], atol=0.15)
        assert_allclose(model.weights_[ours, inner], weights[theirs, expected], atol=0.06)
    assert_allclose(
        model.transmat_[np.ix_(order, order)], transmat[np.ix_(truth, truth)], atol=0.06
    )


def test_sample_and_decode_round_trip():
    X, *_ = _simulate(seed=13, lengths=(300,) * 4, spread=0.5, means=SEPARATED_MEANS)
    model = GMMHMM(K, M, covariance_type="full", random_state=0, n_iter=50).fit(X.X, X.lengths)
    Y, states = model.sample(400, random_state=1)
    assert Y.shape == (400, D) and states.shape == (400,)
    assert np.mean(model.predict(Y) == states) > 0.9


def test_squarem_and_threads_fit():
    X, *_ = _simulate(seed=14, lengths=(100,) * 6)
    kwargs = dict(n_iter=15, tol=0, random_state=0, chunk_size=150)
    a = GMMHMM(K, M, n_jobs=1, **kwargs).fit(X.X, X.lengths)
    b = GMMHMM(K, M, n_jobs=2, **kwargs).fit(X.X, X.lengths)
    assert_array_equal(a.means_, b.means_)
    c = GMMHMM(K, M, accelerate="squarem", **kwargs).fit(X.X, X.lengths)
    assert np.isfinite(c.score(X.X, X.lengths))


def test_save_and_load(tmp_path):
    X, *_ = _simulate()
    for covariance_type in COVARIANCE_TYPES:
        model = GMMHMM(K, M, covariance_type=covariance_type, random_state=0, n_iter=5, tol=0).fit(
            X.X, X.lengths
        )
        path = model.save(tmp_path / f"{covariance_type}.emkit")
        back = emkit.load(path)
        assert type(back) is GMMHMM
        for name in ("weights_", "means_", "covars_"):
            assert_array_equal(getattr(back, name), getattr(model, name))
        assert_array_equal(back.predict(X.X, X.lengths), model.predict(X.X, X.lengths))
        assert back.score(X.X, X.lengths) == model.score(X.X, X.lengths)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_mix": 0}, "n_mix must be an integer >= 1"),
        ({"covariance_type": "banded"}, "covariance_type must be one of"),
        ({"params": "stmx"}, "unknown letters"),
        ({"weights_prior": np.ones(5)}, "weights_prior must be a number or broadcast"),
        ({"means_weight": -1.0}, "means_weight must be a finite number >= 0"),
        ({"covars_prior": np.ones(7)}, "covars_prior must broadcast"),
    ],
)
def test_bad_hyperparameters(kwargs, message):
    X, *_ = _simulate()
    with pytest.raises(ValueError, match=message):
        GMMHMM(K, **{"n_mix": M, **kwargs}).fit(X.X, X.lengths)


def test_bad_given_parameters():
    X, *_ = _simulate()
    start = _hmmlearn_start("diag")
    model = GMMHMM(K, M, init_params="")
    for name, value in start.items():
        setattr(model, name, value)
    model.covars_ = start["covars_"][:, 0]
    with pytest.raises(ValueError, match=r"covars_ must have shape \(3, 2, 2\)"):
        model.fit(X.X, X.lengths)
    model.covars_ = start["covars_"]
    model.weights_ = np.full((K, M), 0.4)
    with pytest.raises(ValueError, match="every row of weights_ must sum to 1"):
        model.fit(X.X, X.lengths)


def test_bad_family_settings():
    with pytest.raises(ValueError, match="n_mix must be an integer >= 1"):
        GaussianMixtureEmission(Gaussian(), 0)
    with pytest.raises(ValueError, match="unknown frozen mixture-emission parameters"):
        GaussianMixtureEmission(Gaussian(), 2, frozen=frozenset({"means"}))
    with pytest.raises(ValueError, match="GroupTied"):
        GaussianMixtureEmission(Gaussian(covariance_structure("tied")), 2, prior=GMMHMMPrior())
    with pytest.raises(ValueError, match="either the Gaussian family's prior"):
        GaussianMixtureEmission(Gaussian(prior=GaussianPrior()), 2, prior=GMMHMMPrior())
    with pytest.raises(ValueError, match="group_size must be an integer >= 1"):
        GroupTied(0)


def test_variance_floor_is_the_constrained_maximiser():
    """Raising the eigenvalues of the scatter to the floor maximises the Gaussian
    log-likelihood ``-log|C| - tr(C^-1 S)`` over covariances whose eigenvalues reach the
    floor: no nearby admissible matrix does better."""
    from emkit.families.gaussian_mixture_emission import _floored

    rng = np.random.RandomState(0)
    values, vectors = np.linalg.eigh(np.cov(rng.randn(3, 20)))
    values[0] = 1e-5
    scatter = (vectors * values) @ vectors.T
    floor = 1e-2
    best = _floored(scatter[None], True, floor)[0]
    assert np.linalg.eigvalsh(best).min() >= floor * (1 - 1e-12)

    def objective(c):
        return -np.linalg.slogdet(c)[1] - np.trace(np.linalg.solve(c, scatter))

    for _ in range(200):
        a = rng.randn(3, 3) * 1e-2
        lam, vec = np.linalg.eigh(best + a + a.T)
        candidate = (vec * np.maximum(lam, floor)) @ vec.T
        assert objective(candidate) <= objective(best) + 1e-12
    untouched = scatter[None] + np.eye(3)
    assert_array_equal(_floored(untouched, True, floor), untouched)
    assert_array_equal(_floored(np.array([1e-5, 0.5]), False, floor), [floor, 0.5])
    with pytest.raises(ValueError, match="variance_floor must be a finite number >= 0"):
        GMMHMMPrior(variance_floor=-1.0)
