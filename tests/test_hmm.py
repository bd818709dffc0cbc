"""Hidden Markov models: the structure on the shared driver, and the hmmlearn faces."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import emkit
from emkit.core.batches import Sequences
from emkit.families.categorical import Categorical, CategoricalParams
from emkit.families.covariance import covariance_structure
from emkit.families.gaussian import Gaussian
from emkit.models.hmm import HMM, HMMParams
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture, MixtureParams
from emkit.testing.conformance import run_all

hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")

COVARIANCE_TYPES = ["full", "diag", "spherical", "tied"]


def _gaussian_problem(seed=0, k=3, d=2, lengths=(60, 1, 35, 80, 24)):
    rng = np.random.RandomState(seed)
    startprob = rng.dirichlet(np.ones(k))
    transmat = rng.dirichlet(np.ones(k) * 2, size=k) * 0.5 + np.eye(k) * 0.5
    means = rng.randn(k, d) * 3
    covs = np.stack([np.eye(d) * (0.5 + rng.rand()) for _ in range(k)])
    parts = []
    for n in lengths:
        state = rng.choice(k, p=startprob)
        rows = []
        for _ in range(n):
            rows.append(rng.multivariate_normal(means[state], covs[state]))
            state = rng.choice(k, p=transmat[state])
        parts.append(np.array(rows))
    return Sequences.from_list(parts), startprob, transmat, means, covs


def _start_params(family, k, d, seed=1):
    rng = np.random.RandomState(seed)
    startprob = rng.dirichlet(np.ones(k))
    transmat = rng.dirichlet(np.ones(k), size=k)
    means = rng.randn(k, d)
    structure = family.covariance
    full = np.stack([np.eye(d) * (1.0 + k_) for k_ in range(k)])
    if structure.name == "full":
        cov = full
    elif structure.name == "tied":
        cov = np.eye(d) * 1.5
    elif structure.name == "diag":
        cov = np.diagonal(full, axis1=1, axis2=2).copy()
    else:
        cov = np.diagonal(full, axis1=1, axis2=2).mean(axis=1)
    return HMMParams(startprob, transmat, family.from_covariances(means, cov))


# -- the structure ------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_hmm_conforms(covariance_type):
    X, *_ = _gaussian_problem()
    family = Gaussian(covariance_structure(covariance_type), reg_covar=0.0)
    model = HMM(family, 3, initializer("kmeans"))
    params = _start_params(family, 3, 2)
    w = np.repeat(np.arange(1.0, 6.0), X.lengths)
    run_all(model, X, params, sample_weight=w, monotone_max_iter=30)


def test_viterbi_training_conforms():
    X, *_ = _gaussian_problem(seed=3, lengths=(120, 80, 100))
    family = Gaussian(covariance_structure("diag"), reg_covar=0.0)
    model = HMM(family, 3, initializer("kmeans"))
    params = model.init(X, np.random.RandomState(0))
    run_all(model, X, params, hard=True, monotone_max_iter=20)


def test_hmm_with_iid_states_is_the_mixture():
    """Start and every row of the transition matrix equal to the mixing weights: the HMM is
    the mixture, for its log-likelihood, posteriors and emission M-step."""
    X, *_ = _gaussian_problem(seed=5)
    family = Gaussian(covariance_structure("full"), reg_covar=0.0)
    k = 3
    weights = np.array([0.2, 0.5, 0.3])
    components = _start_params(family, k, 2).emissions
    hmm = HMM(family, k, frozen=frozenset({"startprob", "transmat"}))
    hp = HMMParams(weights, np.tile(weights, (k, 1)), components)
    mixture = Mixture(family, k)
    mp = MixtureParams(weights, components)
    hs, hll = hmm.e_step(hp, X)
    ms, mll = mixture.e_step_reference(mp, X.X)
    assert_allclose(hll, mll, rtol=1e-12)
    assert_allclose(hmm.posteriors(hp, X)[0], mixture.predict_proba(mp, X.X), atol=1e-12)
    assert_allclose(hmm.log_prob(hp, X).sum(), mixture.log_prob(mp, X.X).sum(), rtol=1e-12)
    hm, mm = hmm.m_step(hs, hp), mixture.m_step(ms, mp)
    assert_allclose(hm.emissions.means, mm.components.means, rtol=1e-10)
    assert_allclose(hm.emissions.covariances, mm.components.covariances, rtol=1e-10)


def test_structural_zeros_stay_zero():
    X, *_ = _gaussian_problem(seed=2, lengths=(50, 40))
    family = Gaussian(covariance_structure("diag"), reg_covar=0.0)
    left_right = np.array([[0.6, 0.4, 0.0], [0.0, 0.7, 0.3], [0.0, 0.0, 1.0]])
    start = _start_params(family, 3, 2)
    params = HMMParams(np.array([1.0, 0.0, 0.0]), left_right, start.emissions)
    model = HMM(family, 3, transmat_prior=2.0, startprob_prior=3.0)
    result = emkit.fit_em(model, X, init=params, max_iter=15, tol=0)
    assert_array_equal(result.params.transmat == 0, left_right == 0)
    assert_array_equal(result.params.startprob == 0, params.startprob == 0)
    assert_allclose(result.params.transmat.sum(axis=1), 1.0)


def test_dirichlet_prior_is_the_posterior_mode():
    family = Gaussian(
        covariance_structure("diag"), reg_covar=0.0, frozen=frozenset({"means", "covariances"})
    )
    X, *_ = _gaussian_problem(seed=4)
    params = _start_params(family, 3, 2)
    prior = np.array([[1.0, 3.0, 0.5], [2.0, 2.0, 2.0], [1.5, 1.0, 4.0]])
    model = HMM(family, 3, transmat_prior=prior, startprob_prior=2.5)
    stats, _ = model.e_step(params, X)
    new = model.m_step(stats, params)
    expected = np.maximum(prior - 1 + stats.trans, 0)
    assert_allclose(new.transmat, expected / expected.sum(axis=1, keepdims=True), rtol=1e-13)
    start = stats.start + 1.5
    assert_allclose(new.startprob, start / start.sum(), rtol=1e-13)


def test_sequences_are_never_cut_into_batches():
    X, *_ = _gaussian_problem(lengths=(30, 50, 10, 70))
    groups = list(X.groups(60))
    assert [g.lengths.tolist() for g, _ in groups] == [[30], [50, 10], [70]]
    assert all(g.X.shape[0] == r.stop - r.start for g, r in groups)


@pytest.mark.parametrize(
    ("lengths", "message"),
    [
        ([10, 10], "sum to 20 but X has 25"),
        ([25, 0], "each of length >= 1"),
        ([[25]], "1-D array of integers"),
        ([12.5, 12.5], "1-D array of integers"),
    ],
)
def test_bad_lengths_are_refused(lengths, message):
    with pytest.raises(ValueError, match=message):
        Sequences(np.zeros((25, 2)), lengths)


def test_sequence_weights_must_be_constant_within_a_sequence():
    X = Sequences(np.zeros((5, 1)), [2, 3])
    with pytest.raises(ValueError, match="same for every row of a sequence"):
        X.sequence_weights(np.array([1.0, 2.0, 1.0, 1.0, 1.0]))


# -- the faces against hmmlearn -----------------------------------------------------------
def _matrix_prior(covariance_type, d, kwargs):
    """``kwargs`` with a number as the covars_prior of full or tied covariances (hmmlearn's
    default 1e-2 when absent) given as that number times the identity, the scale both read
    alike (hmmlearn adds a number to every entry of the matrix, emkit to the diagonal)."""
    if covariance_type not in ("full", "tied"):
        return kwargs
    c = kwargs.get("covars_prior", 1e-2)
    return {**kwargs, "covars_prior": c * np.eye(d) if np.ndim(c) == 0 else c}


def _both_from(covariance_type, X, params, n_iter, **kwargs):
    """emkit's and hmmlearn's GaussianHMM from the same start (emkit's M-step is hmmlearn's,
    which adds min_covar only to initial covariances)."""
    k = params.startprob.size
    kwargs = _matrix_prior(covariance_type, params.emissions.means.shape[1], kwargs)
    ours = emkit.GaussianHMM(
        k, covariance_type, n_iter=n_iter, tol=-np.inf, init_params="", **kwargs
    )
    theirs = hmmlearn_hmm.GaussianHMM(
        k, covariance_type, n_iter=n_iter, tol=-np.inf, init_params="", **kwargs
    )
    for model in (ours, theirs):
        model.startprob_ = params.startprob.copy()
        model.transmat_ = params.transmat.copy()
        model.means_ = params.emissions.means.copy()
        model.covars_ = np.array(params.emissions.covariances, copy=True)
    return ours, theirs


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize(
    "priors",
    [
        {"covars_prior": 0.0, "covars_weight": 0.0},
        {},
        {"means_prior": 0.5, "means_weight": 2.0, "covars_prior": 0.3, "covars_weight": 4.0},
        {"startprob_prior": 2.0, "transmat_prior": 1.5},
    ],
    ids=["maximum-likelihood", "default", "gaussian-priors", "chain-priors"],
)
def test_gaussian_hmm_matches_hmmlearn(covariance_type, priors):
    X, *_ = _gaussian_problem(seed=7)
    family = Gaussian(covariance_structure(covariance_type), reg_covar=0.0)
    params = _start_params(family, 3, 2)
    ours, theirs = _both_from(covariance_type, X, params, 8, **priors)
    ours.fit(X.X, X.lengths)
    theirs.fit(X.X, X.lengths)
    assert_allclose(ours.startprob_, theirs.startprob_, rtol=1e-6, atol=1e-10)
    assert_allclose(ours.transmat_, theirs.transmat_, rtol=1e-6, atol=1e-10)
    assert_allclose(ours.means_, theirs.means_, rtol=1e-6)
    if covariance_type == "spherical":
        # hmmlearn's spherical M-step stores the variance once per feature, (K, D), and its
        # covars_ then mis-shapes them: compare the variances themselves.
        assert_allclose(ours._covars_, theirs._covars_[:, 0], rtol=1e-6)
    else:
        assert_allclose(ours.covars_, theirs.covars_, rtol=1e-6, atol=1e-12)
    assert_allclose(ours.score(X.X, X.lengths), theirs.score(X.X, X.lengths), rtol=1e-10)
    if priors == {"covars_prior": 0.0, "covars_weight": 0.0}:
        # Without priors both monitors hold the log-likelihood before every M-step (with
        # priors emkit's adds the log prior density, the objective of MAP-EM).
        assert ours.monitor_.iter == theirs.monitor_.iter == 8
        assert_allclose(list(ours.monitor_.history), list(theirs.monitor_.history), rtol=1e-10)
    _, post = ours.score_samples(X.X, X.lengths)
    assert_allclose(post, theirs.predict_proba(X.X, X.lengths), atol=1e-9)
    for algorithm in ("viterbi", "map"):
        lp, states = ours.decode(X.X, X.lengths, algorithm=algorithm)
        tlp, tstates = theirs.decode(X.X, X.lengths, algorithm=algorithm)
        assert_array_equal(states, tstates)
        assert_allclose(lp, tlp, rtol=1e-9)
    assert_allclose(ours.bic(X.X, X.lengths), theirs.bic(X.X, X.lengths), rtol=1e-10)
    assert_allclose(ours.aic(X.X, X.lengths), theirs.aic(X.X, X.lengths), rtol=1e-10)
    assert_allclose(
        ours.get_stationary_distribution(), theirs.get_stationary_distribution(), rtol=1e-8
    )


def test_gaussian_hmm_recovers_a_simulated_model():
    X, _, transmat, means, _ = _gaussian_problem(seed=11, lengths=(500,) * 8)
    model = emkit.GaussianHMM(3, "full", n_iter=100, random_state=0, n_init=3).fit(X.X, X.lengths)
    order = np.argsort(model.means_[:, 0])
    truth = np.argsort(means[:, 0])
    assert_allclose(model.means_[order], means[truth], atol=0.15)
    assert_allclose(
        model.transmat_[np.ix_(order, order)], transmat[np.ix_(truth, truth)], atol=0.05
    )
    assert model.monitor_.converged


def test_list_of_sequences_equals_lengths():
    X, *_ = _gaussian_problem(seed=8)
    parts = np.split(X.X, X.offsets[1:-1])
    a = emkit.GaussianHMM(3, random_state=0, n_iter=5, tol=0).fit(X.X, X.lengths)
    b = emkit.GaussianHMM(3, random_state=0, n_iter=5, tol=0).fit(parts)
    assert_array_equal(a.means_, b.means_)
    assert_array_equal(a.transmat_, b.transmat_)


def test_sequence_weights_equal_repeated_sequences():
    X, *_ = _gaussian_problem(seed=9, lengths=(40, 30, 20))
    parts = np.split(X.X, X.offsets[1:-1])
    kwargs = dict(n_iter=6, tol=0, random_state=0, init_params="")
    fam = Gaussian(covariance_structure("diag"), reg_covar=0.0)
    params = _start_params(fam, 3, 2)

    def fitted(data, **fit_kwargs):
        m = emkit.GaussianHMM(3, "diag", **kwargs)
        m.startprob_, m.transmat_ = params.startprob, params.transmat
        m.means_, m.covars_ = params.emissions.means, params.emissions.covariances
        return m.fit(data, **fit_kwargs)

    weighted = fitted(parts, sample_weight=[2, 1, 3])
    repeated = fitted([parts[0]] * 2 + [parts[1]] + [parts[2]] * 3)
    assert_allclose(weighted.means_, repeated.means_, rtol=1e-10)
    assert_allclose(weighted.transmat_, repeated.transmat_, rtol=1e-10)
    assert_allclose(weighted.covars_, repeated.covars_, rtol=1e-10)


def test_threads_do_not_change_the_fit():
    X, *_ = _gaussian_problem(seed=10, lengths=(40,) * 12)
    kwargs = dict(random_state=0, chunk_size=50, tol=0)
    a = emkit.GaussianHMM(3, n_jobs=1, **kwargs).fit(X.X, X.lengths)
    b = emkit.GaussianHMM(3, n_jobs=2, **kwargs).fit(X.X, X.lengths)
    assert_array_equal(a.means_, b.means_)
    assert_array_equal(a.monitor_.history, b.monitor_.history)


def test_letters_and_names_are_the_same_settings():
    X, *_ = _gaussian_problem(seed=12)
    kwargs = dict(random_state=0, n_iter=4, tol=0)
    a = emkit.GaussianHMM(3, params="stm", **kwargs).fit(X.X, X.lengths)
    b = emkit.GaussianHMM(3, params={"startprob", "transmat", "means"}, **kwargs).fit(
        X.X, X.lengths
    )
    assert_array_equal(a.means_, b.means_)
    # covariances were not fitted: they stay at their initial values
    c = emkit.GaussianHMM(3, random_state=0, n_iter=1, tol=0, params="stm").fit(X.X, X.lengths)
    assert_array_equal(a.covars_, c.covars_)


def test_sample_and_decode_round_trip():
    X, *_ = _gaussian_problem(seed=13, lengths=(300,) * 4)
    model = emkit.GaussianHMM(3, "full", random_state=0, n_iter=50).fit(X.X, X.lengths)
    Y, states = model.sample(400, random_state=1)
    assert Y.shape == (400, 2) and states.shape == (400,)
    accuracy = np.mean(model.predict(Y) == states)
    assert accuracy > 0.9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"params": "sx"}, "unknown letters"),
        ({"init_params": {"startprob", "weights"}}, "unknown parameter names"),
        ({"algorithm": "beam"}, "algorithm must be one of"),
        ({"implementation": "fast"}, "implementation must be one of"),
        ({"n_iter": -1}, "n_iter must be an integer >= 0"),
        ({"tol": np.nan}, "tol must be a number"),
        ({"covariance_type": "banded"}, "covariance_type must be one of"),
    ],
)
def test_bad_hyperparameters(kwargs, message):
    X, *_ = _gaussian_problem()
    with pytest.raises(ValueError, match=message):
        emkit.GaussianHMM(2, **kwargs).fit(X.X, X.lengths)


def test_bad_inputs():
    X, *_ = _gaussian_problem()
    with pytest.raises(ValueError, match="sum to"):
        emkit.GaussianHMM(2).fit(X.X, [3, 4])
    bad = X.X.copy()
    bad[3, 1] = np.inf  # NaN is a missing cell, an infinity no value at all
    with pytest.raises(ValueError, match="infinity"):
        emkit.GaussianHMM(2).fit(bad, X.lengths)
    with pytest.raises(emkit.NotFittedError):
        emkit.GaussianHMM(2).predict(X.X)
    model = emkit.GaussianHMM(2, random_state=0, n_iter=2, tol=0).fit(X.X, X.lengths)
    with pytest.raises(ValueError, match="features"):
        model.predict(np.zeros((5, 3)))


def test_save_and_load(tmp_path):
    X, *_ = _gaussian_problem()
    for cov in COVARIANCE_TYPES:
        model = emkit.GaussianHMM(3, cov, random_state=0, n_iter=5, tol=0).fit(X.X, X.lengths)
        path = model.save(tmp_path / f"{cov}.emkit")
        back = emkit.load(path)
        assert type(back) is emkit.GaussianHMM
        assert_array_equal(back.covars_, model.covars_)
        assert_array_equal(back.predict(X.X, X.lengths), model.predict(X.X, X.lengths))
        assert back.score(X.X, X.lengths) == model.score(X.X, X.lengths)


# -- discrete emissions -------------------------------------------------------------------
def _chain(seed, k):
    rng = np.random.RandomState(seed)
    return rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k) * 2, size=k)


def _simulate(startprob, transmat, emit, lengths, rng):
    parts = []
    for n in lengths:
        state = rng.choice(startprob.size, p=startprob)
        rows = []
        for _ in range(n):
            rows.append(emit(state))
            state = rng.choice(startprob.size, p=transmat[state])
        parts.append(np.array(rows, dtype=np.float64).reshape(n, -1))
    return Sequences.from_list(parts)


def _discrete_case(name, seed=0):
    rng = np.random.RandomState(seed)
    k = 3
    startprob, transmat = _chain(seed, k)
    lengths = (50, 1, 70, 30)
    if name == "categorical":
        probs = rng.dirichlet(np.ones(6), size=k)
        X = _simulate(startprob, transmat, lambda s: rng.choice(6, p=probs[s]), lengths, rng)
        return X, "emissionprob_", rng.dirichlet(np.ones(6), size=k)
    if name == "multinomial":
        probs = rng.dirichlet(np.ones(5), size=k)
        X = _simulate(startprob, transmat, lambda s: rng.multinomial(8, probs[s]), lengths, rng)
        return X, "emissionprob_", rng.dirichlet(np.ones(5), size=k)
    lambdas = rng.gamma(3.0, 2.0, size=(k, 4))
    X = _simulate(startprob, transmat, lambda s: rng.poisson(lambdas[s]), lengths, rng)
    return X, "lambdas_", rng.gamma(3.0, 2.0, size=(k, 4))


FACES = {
    "categorical": ("CategoricalHMM", {"emissionprob_prior": 1.7}),
    "multinomial": ("MultinomialHMM", {"n_trials": 8}),
    "poisson": ("PoissonHMM", {}),
}


@pytest.mark.parametrize("name", sorted(FACES))
def test_discrete_hmms_match_hmmlearn(name):
    X, attribute, start = _discrete_case(name)
    face, kwargs = FACES[name]
    startprob, transmat = _chain(99, 3)
    data = X.X if name == "poisson" else X.X.astype(np.int64)
    ours = getattr(emkit, face)(3, n_iter=7, tol=0, init_params="", **kwargs)
    theirs = getattr(hmmlearn_hmm, face)(3, n_iter=7, tol=-np.inf, init_params="", **kwargs)
    for model in (ours, theirs):
        model.startprob_, model.transmat_ = startprob.copy(), transmat.copy()
        setattr(model, attribute, start.copy())
        model.fit(data, X.lengths)
    assert_allclose(ours.startprob_, theirs.startprob_, rtol=1e-6, atol=1e-12)
    assert_allclose(ours.transmat_, theirs.transmat_, rtol=1e-6, atol=1e-12)
    assert_allclose(getattr(ours, attribute), getattr(theirs, attribute), rtol=1e-6)
    assert_allclose(ours.score(data, X.lengths), theirs.score(data, X.lengths), rtol=1e-10)
    # Discrete emissions make exactly tied paths likely: compare the best path's probability.
    assert_allclose(ours.decode(data, X.lengths)[0], theirs.decode(data, X.lengths)[0], rtol=1e-12)
    assert_allclose(ours.bic(data, X.lengths), theirs.bic(data, X.lengths), rtol=1e-10)


@pytest.mark.parametrize("name", sorted(FACES))
def test_discrete_hmms_conform(name):
    X, attribute, start = _discrete_case(name, seed=1)
    face, kwargs = FACES[name]
    estimator = getattr(emkit, face)(3, **{k: v for k, v in kwargs.items() if k == "n_trials"})
    startprob, transmat = _chain(5, 3)
    estimator.startprob_, estimator.transmat_ = startprob, transmat
    setattr(estimator, attribute, start)
    estimator.n_features_in_ = X.X.shape[1]
    model = estimator._model(X.X.shape[1])
    params = estimator._params()
    w = np.repeat(np.array([1.0, 2.0, 0.5, 3.0]), X.lengths)
    run_all(model, X, params, sample_weight=w, monotone_max_iter=30)


def test_dishonest_casino_is_recovered():
    """Durbin et al.'s occasionally dishonest casino: a fair die and a loaded one that shows
    a six half the time, switching with probabilities 0.05 and 0.10."""
    rng = np.random.RandomState(0)
    transmat = np.array([[0.95, 0.05], [0.10, 0.90]])
    emission = np.array([[1 / 6] * 6, [0.1] * 5 + [0.5]])
    X = _simulate(
        np.array([0.5, 0.5]), transmat, lambda s: rng.choice(6, p=emission[s]), (2000,) * 10, rng
    )
    model = emkit.CategoricalHMM(2, n_iter=500, tol=1e-6, random_state=1, n_init=4)
    model.fit(X.X.astype(int), X.lengths)
    loaded = int(np.argmax(model.emissionprob_[:, 5]))
    order = [1 - loaded, loaded]
    assert_allclose(model.emissionprob_[order], emission, atol=0.02)
    assert_allclose(model.transmat_[np.ix_(order, order)], transmat, atol=0.02)
    states = model.predict(X.X.astype(int), X.lengths)
    assert model.monitor_.converged and states.shape == (20000,)


def test_discrete_bad_inputs():
    with pytest.raises(ValueError, match="one column of integer symbols"):
        emkit.CategoricalHMM(2).fit(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="negative"):
        emkit.PoissonHMM(2).fit(-np.ones((10, 2)))
    with pytest.raises(ValueError, match="n_trials=3"):
        emkit.MultinomialHMM(2, n_trials=3).fit(np.ones((10, 2)))
    model = emkit.CategoricalHMM(2, n_features=3, init_params="st")
    model.emissionprob_ = np.array([[0.5, 0.5, 0.0], [0.2, 0.2, 0.5]])
    with pytest.raises(ValueError, match="must sum to 1"):
        model.fit(np.zeros((10, 1), dtype=int))


@pytest.mark.parametrize("name", sorted(FACES))
def test_discrete_save_and_load(tmp_path, name):
    X, attribute, _ = _discrete_case(name, seed=2)
    face, kwargs = FACES[name]
    data = X.X.astype(np.int64) if name == "categorical" else X.X
    model = getattr(emkit, face)(3, random_state=0, n_iter=5, tol=0, **kwargs).fit(data, X.lengths)
    back = emkit.load(model.save(tmp_path / "model.emkit"))
    assert_array_equal(getattr(back, attribute), getattr(model, attribute))
    assert back.score(data, X.lengths) == model.score(data, X.lengths)


def test_a_sequence_of_no_weight_counts_for_nothing_even_when_impossible():
    family = Categorical(3)
    params = HMMParams(
        np.array([0.5, 0.5]),
        np.array([[0.9, 0.1], [0.2, 0.8]]),
        CategoricalParams(
            np.array([[[0.5, 0.5, 0.0]], [[0.3, 0.7, 0.0]]]), np.array([3], dtype=np.int64)
        ),
    )
    model = HMM(family, 2)
    X = Sequences(np.array([[0.0], [1.0], [2.0], [0.0], [1.0]]), [2, 1, 2])
    w = np.repeat([1.0, 0.0, 2.0], X.lengths)
    stats, loglik = model.e_step(params, X, w)
    kept = Sequences(np.array([[0.0], [1.0], [0.0], [1.0]]), [2, 2])
    ref_stats, ref_loglik = model.e_step(params, kept, np.repeat([1.0, 2.0], [2, 2]))
    assert_allclose(loglik, ref_loglik, rtol=1e-14)
    assert_allclose(stats.trans, ref_stats.trans, rtol=1e-14)
    assert_allclose(stats.emissions.counts, ref_stats.emissions.counts, rtol=1e-14)


def test_squarem_on_a_gaussian_hmm_keeps_the_bound_monotone_and_the_optimum():
    X, *_ = _gaussian_problem(seed=14, lengths=(200,) * 6)
    kwargs = dict(n_iter=400, tol=1e-6, random_state=0)
    plain = emkit.GaussianHMM(3, "full", **kwargs).fit(X.X, X.lengths)
    fast = emkit.GaussianHMM(3, "full", accelerate="squarem", **kwargs).fit(X.X, X.lengths)
    history = np.asarray(fast.monitor_.history)
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:]))
    assert fast.monitor_.converged and plain.monitor_.converged
    assert fast.score(X.X, X.lengths) >= plain.score(X.X, X.lengths) - 1e-3
