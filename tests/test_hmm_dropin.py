"""emkit's hidden Markov models as drop-ins for hmmlearn's: what hmmlearn's tutorial and its
users do with them, checked against hmmlearn itself where both compute the same thing."""

import itertools
import logging
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import emkit
from emkit import hmm
from emkit.exceptions import ImpossibleSampleWarning, RegularisationWarning

hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")
hmmlearn_base = pytest.importorskip("hmmlearn.base")

STARTPROB = np.array([0.6, 0.4])
TRANSMAT = np.array([[0.7, 0.3], [0.4, 0.6]])
EMISSIONPROB = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])


def _by_hand(module, name):
    """A two-state model of every face with its parameters set by hand, no fit."""
    if name == "categorical":
        model = module.CategoricalHMM(2, n_features=3)
        model.emissionprob_ = EMISSIONPROB.copy()
    elif name == "multinomial":
        model = module.MultinomialHMM(2, n_trials=4)
        model.emissionprob_ = np.array([[0.5, 0.3, 0.1, 0.1], [0.1, 0.1, 0.4, 0.4]])
    elif name == "poisson":
        model = module.PoissonHMM(2)
        model.lambdas_ = np.array([[3.1, 1.4, 4.5], [1.6, 5.3, 0.1]])
    elif name == "gaussian":
        model = module.GaussianHMM(2, "full")
        model.means_ = np.array([[0.0, 1.0], [3.0, -1.0]])
        model.covars_ = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.8, -0.2], [-0.2, 1.2]]])
    else:
        model = module.GMMHMM(2, 2, covariance_type="diag")
        model.weights_ = np.array([[0.3, 0.7], [0.5, 0.5]])
        model.means_ = np.array([[[0.0, 1.0], [1.0, 0.0]], [[4.0, 4.0], [5.0, 3.0]]])
        model.covars_ = np.array([[[1.0, 0.5], [0.4, 0.9]], [[0.7, 0.7], [1.1, 0.6]]])
    model.startprob_ = STARTPROB.copy()
    model.transmat_ = TRANSMAT.copy()
    return model


def _data(name, rng, n=40):
    if name == "categorical":
        return rng.randint(3, size=(n, 1))
    if name == "multinomial":
        return rng.multinomial(4, [0.25] * 4, size=n)
    if name == "poisson":
        return rng.poisson(2.0, size=(n, 3))
    return rng.randn(n, 2) * 2 + 1


FACES = ["categorical", "multinomial", "poisson", "gaussian", "gmm"]


# -- parameters set by hand ----------------------------------------------------------------
@pytest.mark.parametrize("name", FACES)
def test_parameters_set_by_hand_score_decode_and_sample(name):
    """hmmlearn's tutorial, step 1: set the parameters, then score, decode and sample
    without fitting; the features come from the parameters set."""
    ours, theirs = _by_hand(hmm, name), _by_hand(hmmlearn_hmm, name)
    X = _data(name, np.random.RandomState(0))
    lengths = [15, 25]
    assert_allclose(ours.score(X, lengths), theirs.score(X, lengths), rtol=1e-12)
    ll, post = ours.score_samples(X, lengths)
    tll, tpost = theirs.score_samples(X, lengths)
    assert_allclose(ll, tll, rtol=1e-12)
    assert_allclose(post, tpost, atol=1e-12)
    for algorithm in ("viterbi", "map"):
        lp, states = ours.decode(X, lengths, algorithm=algorithm)
        tlp, tstates = theirs.decode(X, lengths, algorithm=algorithm)
        assert_allclose(lp, tlp, rtol=1e-12)
        assert_array_equal(states, tstates)
    assert_array_equal(ours.predict(X, lengths), theirs.predict(X, lengths))
    sample, states = ours.sample(50, random_state=0)
    assert sample.shape == (50, X.shape[1]) and states.shape == (50,)
    assert ours.n_features == theirs.n_features


def test_weather_example_of_the_tutorial():
    model = _by_hand(hmm, "categorical")
    log_prob, states = model.decode(np.array([[0], [1], [2]]))
    assert round(math.exp(log_prob), 5) == 0.01344
    assert_array_equal(states, [1, 0, 0])


def test_features_of_the_parameters_are_checked_against_the_data():
    model = _by_hand(hmm, "gaussian")
    with pytest.raises(ValueError, match="X has 3 features, but GaussianHMM is expecting 2"):
        model.score(np.zeros((4, 3)))
    model.n_features = 3
    with pytest.raises(ValueError, match="n_features=3, but the emission parameters set"):
        model.score(np.zeros((4, 2)))
    with pytest.raises(emkit.NotFittedError, match="or set startprob_, transmat_, means_"):
        hmm.GaussianHMM(2).score(np.zeros((4, 2)))


# -- what X is ------------------------------------------------------------------------------
def test_a_nested_list_of_rows_is_one_array():
    model = _by_hand(hmm, "categorical")
    X = np.random.RandomState(1).randint(3, size=(30, 1))
    assert model.score(X.tolist()) == model.score(X)
    assert_array_equal(model.predict(X.tolist()), model.predict(X))
    gaussian = _by_hand(hmm, "gaussian")
    Y = np.random.RandomState(2).randn(20, 2)
    assert gaussian.score(Y.tolist(), [5, 15]) == gaussian.score(Y, [5, 15])


def test_a_list_of_two_dimensional_arrays_is_a_list_of_sequences():
    model = _by_hand(hmm, "gaussian")
    Y = np.random.RandomState(3).randn(20, 2)
    assert model.score([Y[:5], Y[5:]]) == model.score(Y, [5, 15])
    with pytest.raises(ValueError, match="carries their lengths"):
        model.score([Y[:5], Y[5:]], [5, 15])
    with pytest.raises(ValueError, match="entries have different shapes"):
        model.score([[0.0, 1.0], [2.0]])


# -- iterations ------------------------------------------------------------------------------
def _categorical_pair(**kwargs):
    X = _by_hand(hmmlearn_hmm, "categorical").sample(300, random_state=4)[0]
    models = []
    for module in (hmm, hmmlearn_hmm):
        model = module.CategoricalHMM(2, init_params="", **kwargs)
        model.startprob_ = np.array([0.5, 0.5])
        model.transmat_ = np.array([[0.6, 0.4], [0.3, 0.7]])
        model.emissionprob_ = np.array([[0.2, 0.3, 0.5], [0.5, 0.3, 0.2]])
        models.append(model)
    return X, models


def test_tol_minus_infinity_runs_exactly_n_iter_iterations():
    X, (ours, theirs) = _categorical_pair(n_iter=12, tol=-np.inf)
    ours.fit(X)
    theirs.fit(X)
    assert ours.n_iter_ == ours.monitor_.iter == theirs.monitor_.iter == 12
    assert_allclose(list(ours.monitor_.history), list(theirs.monitor_.history), rtol=1e-12)
    assert_allclose(ours.emissionprob_, theirs.emissionprob_, rtol=1e-10)
    assert not ours.converged_


def test_a_fit_stops_after_the_iteration_hmmlearn_stops_after():
    X, (ours, theirs) = _categorical_pair(n_iter=500, tol=1e-3)
    ours.fit(X)
    theirs.fit(X)
    assert ours.monitor_.iter == theirs.monitor_.iter < 500
    assert ours.converged_ and ours.monitor_.converged
    assert_allclose(list(ours.monitor_.history), list(theirs.monitor_.history), rtol=1e-12)
    assert_allclose(ours.transmat_, theirs.transmat_, rtol=1e-10)


def test_n_iter_zero_keeps_the_start():
    X, (ours, _) = _categorical_pair(n_iter=0)
    ours.fit(X)
    assert ours.n_iter_ == ours.monitor_.iter == 0
    assert_array_equal(ours.emissionprob_, [[0.2, 0.3, 0.5], [0.5, 0.3, 0.2]])
    assert ours.lower_bounds_.shape == (1,)
    fresh = hmm.GaussianHMM(2, n_iter=0, random_state=0).fit(np.random.RandomState(0).randn(50, 2))
    assert fresh.means_.shape == (2, 2)


# -- initialisation ----------------------------------------------------------------------------
def test_parameters_neither_set_nor_in_init_params_are_initialised():
    X = np.random.RandomState(5).randn(60, 2)
    model = hmm.GaussianHMM(2, init_params="mc", n_iter=0, random_state=0).fit(X)
    assert_allclose(model.startprob_, [0.5, 0.5])
    assert_allclose(model.transmat_, np.full((2, 2), 0.5))
    kept = hmm.GaussianHMM(2, init_params="", n_iter=0, random_state=0)
    kept.startprob_ = np.array([0.9, 0.1])
    kept.fit(X)
    assert_array_equal(kept.startprob_, [0.9, 0.1])
    assert kept.means_.shape == (2, 2)


def test_a_parameter_set_and_in_init_params_is_overwritten_with_a_logged_notice(caplog):
    X = np.random.RandomState(6).randn(60, 2)
    model = hmm.GaussianHMM(2, n_iter=1, tol=-np.inf, random_state=0)
    model.startprob_ = np.array([0.9, 0.1])
    with caplog.at_level(logging.WARNING):
        model.fit(X)
    (record,) = caplog.records
    assert "startprob_ is set, but will be overwritten" in record.getMessage()
    assert "init_params contains 's'" in record.getMessage()
    assert record.pathname == __file__
    caplog.clear()
    model.init_params = "tmc"
    with caplog.at_level(logging.WARNING):
        model.fit(X)
    assert "startprob_" not in caplog.text


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied", "spherical"])
def test_initial_covariances_are_those_of_all_the_data(covariance_type):
    """As hmmlearn: numpy.cov of the data plus min_covar on the variances, in every state
    ('spherical': the mean variance)."""
    X = np.random.RandomState(7).randn(80, 3) * [1.0, 2.0, 0.5]
    model = hmm.GaussianHMM(3, covariance_type, n_iter=0, random_state=0).fit(X)
    cov = np.cov(X.T) + 1e-3 * np.eye(3)
    if covariance_type == "spherical":
        cov = np.eye(3) * np.trace(cov) / 3
    elif covariance_type == "diag":
        cov = np.diag(np.diag(cov))
    assert_allclose(model.covars_, np.broadcast_to(cov, (3, 3, 3)), rtol=1e-12)


def test_starts_do_not_depend_on_the_order_of_the_sequences():
    """The k-means start keeps the best of several runs (scikit-learn's n_init=10, which
    hmmlearn starts from), so that one run's seeds, drawn along the rows, do not decide it."""
    rng = np.random.RandomState(9)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0], [6.0, 6.0]])
    points = np.concatenate(
        [rng.randn(n, 2) + c for n, c in zip([60, 10, 10, 40], centres, strict=True)]
    )
    rng.shuffle(points)
    parts = np.split(points, [40, 80])
    means = []
    for order in itertools.permutations(range(3)):
        X = np.concatenate([parts[i] for i in order])
        lengths = [len(parts[i]) for i in order]
        model = hmm.GaussianHMM(4, n_iter=1, tol=-np.inf, random_state=1).fit(X, lengths)
        means.append(np.sort(model.means_.sum(axis=1)))
    assert_allclose(means, np.broadcast_to(means[0], np.shape(means)), atol=1e-10)


# -- covariances ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "covars",
    [
        [4.0, 3.0],
        [[4.0], [3.0]],
        [[[[4.0]]], [[[3.0]]]],
    ],
)
def test_spherical_covariances_in_hmmlearn_shapes(covars):
    model = hmm.GaussianHMM(2, "spherical")
    model.startprob_, model.transmat_ = STARTPROB, TRANSMAT
    model.means_ = np.array([[3.0], [5.0]])
    model.covars_ = covars
    assert_array_equal(model.covars_, [[[4.0]], [[3.0]]])
    X, _ = model.sample(100, random_state=0)
    assert X.shape == (100, 1)


def test_covariances_in_other_shapes_that_keep_their_meaning():
    model = hmm.GaussianHMM(2, "spherical")
    model.means_ = np.zeros((2, 3))
    model.covars_ = [[2.0, 2.0, 2.0], [1.0, 1.0, 1.0]]
    assert_array_equal(model._covars_, [2.0, 1.0])
    model.covars_ = np.stack([2.0 * np.eye(3), np.eye(3)])
    assert_array_equal(model._covars_, [2.0, 1.0])
    diag = hmm.GaussianHMM(2, "diag")
    diag.covars_ = np.stack([np.diag([1.0, 2.0]), np.diag([3.0, 4.0])])
    assert_array_equal(diag._covars_, [[1.0, 2.0], [3.0, 4.0]])
    tied = hmm.GaussianHMM(2, "tied")
    tied.covars_ = np.stack([np.eye(2), np.eye(2)])
    assert_array_equal(tied._covars_, np.eye(2))


@pytest.mark.parametrize(
    ("covariance_type", "covars", "message"),
    [
        ("spherical", [[1.0, 2.0], [1.0, 1.0]], "must repeat one variance per state"),
        ("spherical", [[[1.0, 0.1], [0.1, 1.0]]] * 2, "must be multiples of the identity"),
        ("spherical", [1.0, 2.0, 3.0], "one variance per state"),
        ("diag", [[[1.0, 0.1], [0.1, 1.0]]] * 2, "must be diagonal; these have off-diagonal"),
        ("tied", [np.eye(2), 2 * np.eye(2)], "must repeat one matrix"),
    ],
)
def test_covariances_that_would_lose_information_are_refused(covariance_type, covars, message):
    model = hmm.GaussianHMM(2, covariance_type)
    with pytest.raises(ValueError, match=message):
        model.covars_ = covars


# Constant first column, 9 samples, 4 features: hmmlearn's issue #2.
ZERO_VARIANCE = np.array(
    [
        [715.0, 585.0, 0.0, 0.0],
        [715.0, 520.0, 1.04705811, -60.3696289],
        [715.0, 455.0, 0.72088623, -52.7055664],
        [715.0, 390.0, -0.457946777, -78.0605469],
        [715.0, 325.0, -6.43127441, -55.9954834],
        [715.0, 260.0, -2.90063477, -78.0220947],
        [715.0, 195.0, 8.45532227, -70.3294373],
        [715.0, 130.0, 4.09387207, -58.3621216],
        [715.0, 65.0, -1.21667480, -44.8131409],
    ]
)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_full_covariances_on_a_constant_feature(covariance_type):
    """The default covars_prior (1e-2, times the identity for matrices) keeps every
    covariance positive definite: the posterior mode, an exact M-step."""
    model = hmm.GaussianHMM(3, covariance_type, n_iter=20, tol=-np.inf, random_state=0)
    model.fit(ZERO_VARIANCE)
    assert np.all(np.linalg.eigvalsh(model.covars_) > 0)
    assert np.all(np.diff(model.lower_bounds_) >= -1e-12 * np.abs(model.lower_bounds_[1:]))


def test_a_number_as_the_scale_of_matrix_covariances_is_that_number_times_the_identity():
    X = np.random.RandomState(9).randn(60, 2)
    kwargs = dict(n_iter=5, tol=-np.inf, random_state=0)
    scalar = hmm.GaussianHMM(2, "full", covars_prior=0.3, **kwargs).fit(X)
    matrix = hmm.GaussianHMM(2, "full", covars_prior=0.3 * np.eye(2), **kwargs).fit(X)
    assert_array_equal(scalar.covars_, matrix.covars_)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_gmmhmm_min_covar_floors_every_covariance(covariance_type):
    """Duplicated rows and 0/1 data: min_covar floors every variance (every eigenvalue) at
    every update, so that the fit goes through, and the bound keeps rising where the update
    is a maximisation."""
    rng = np.random.RandomState(10)
    X = np.repeat(rng.randint(2, size=(30, 3)).astype(float), 3, axis=0)
    model = hmm.GMMHMM(
        2, 2, covariance_type=covariance_type, n_iter=15, tol=-np.inf, random_state=0
    )
    model.fit(X)
    if covariance_type in ("full", "tied"):
        lowest = np.linalg.eigvalsh(model.covars_).min()
    else:
        lowest = np.min(model.covars_)
    assert lowest >= 1e-3 * (1 - 1e-12)
    if covariance_type != "spherical":
        # hmmlearn's default spherical prior divides by D (n + 1) - n_mix, not D n: its
        # update is no maximisation, and may lower the bound by round-off-sized amounts.
        bounds = model.lower_bounds_
        assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))


def test_gmmhmm_warns_when_min_covar_dominates_the_data():
    X = np.random.RandomState(16).randn(100, 2) * [1.0, 0.01]
    with pytest.warns(
        RegularisationWarning, match=r"min_covar=0.001 is 9.49 times the variance of feature 1"
    ):
        hmm.GMMHMM(2, 2, n_iter=2, tol=-np.inf, random_state=0).fit(X)
    hmm.GMMHMM(2, 2, n_iter=2, tol=-np.inf, random_state=0, min_covar=1e-6).fit(X)


def test_gmmhmm_floor_leaves_covariances_above_it_alone():
    X = np.random.RandomState(11).randn(200, 2) * 3
    kwargs = dict(covariance_type="full", n_iter=4, tol=-np.inf, random_state=0)
    floored = hmm.GMMHMM(2, 2, **kwargs).fit(X)
    start = {n: getattr(floored, n) for n in ("startprob_", "transmat_", "weights_")}
    plain = hmm.GMMHMM(2, 2, min_covar=0.0, **kwargs)
    again = hmm.GMMHMM(2, 2, **kwargs)
    for model in (plain, again):
        model.init_params = ""
        for name, value in start.items():
            setattr(model, name, value.copy())
        model.means_, model.covars_ = floored.means_.copy(), floored.covars_.copy()
        model.fit(X)
    assert np.linalg.eigvalsh(plain.covars_).min() > 1e-3
    assert_array_equal(again.covars_, plain.covars_)


# -- the monitor --------------------------------------------------------------------------------
def test_monitor_exists_before_fit_and_its_converged_decides_when_fit_stops():
    class StopAfterThree(hmm.ConvergenceMonitor):
        @property
        def converged(self):
            return self.iter >= 3

    X, (model, _) = _categorical_pair(n_iter=100, tol=-np.inf)
    assert isinstance(model.monitor_, hmm.ConvergenceMonitor)
    assert (model.monitor_.tol, model.monitor_.n_iter) == (-np.inf, 100)
    model.monitor_ = StopAfterThree(model.monitor_.tol, model.monitor_.n_iter, False)
    model.fit(X)
    assert model.n_iter_ == model.monitor_.iter == 3
    assert isinstance(model.monitor_, StopAfterThree)
    model.fit(X)  # an installed monitor is reset and used again
    assert model.monitor_.iter == 3 and len(model.monitor_.history) == 3


def test_convergence_monitor_behaves_as_hmmlearns(capsys, caplog):
    values = [-10.0, -5.0, -4.995, -4.994]
    ours = hmm.ConvergenceMonitor(1e-2, 10, True)
    theirs = hmmlearn_base.ConvergenceMonitor(1e-2, 10, True)
    verdicts = []
    for value in values:
        for monitor in (ours, theirs):
            monitor.report(value)
        verdicts.append((ours.converged, theirs.converged))
        assert list(ours.history) == list(theirs.history) and ours.iter == theirs.iter
    assert verdicts == [(False, False), (False, False), (True, True), (True, True)]
    lines = capsys.readouterr().err.splitlines()
    assert lines[0::2] == lines[1::2] and len(lines) == 8
    ours._reset()
    assert ours.iter == 0 and len(ours.history) == 0
    full = hmm.ConvergenceMonitor(-np.inf, 2, False)
    full.report(0.0)
    full.report(1.0)
    assert full.converged  # n_iter iterations
    with caplog.at_level(logging.WARNING):
        for monitor in (full, hmmlearn_base.ConvergenceMonitor(-np.inf, 5, False)):
            monitor.report(1.0)
            monitor.report(1.0 - 1e-12)  # round-off
            monitor.report(0.5)
    assert [r.getMessage().startswith("Model is not converging") for r in caplog.records] == [
        True,
        True,
    ]


def test_verbose_prints_hmmlearns_lines_to_stderr(capsys):
    X, (ours, theirs) = _categorical_pair(n_iter=5, tol=-np.inf, verbose=True)
    ours.fit(X)
    captured = capsys.readouterr()
    assert captured.out == ""
    theirs.fit(X)
    lines, reference = captured.err.splitlines(), capsys.readouterr().err.splitlines()
    assert len(lines) == len(reference) == 5
    for line, expected in zip(lines, reference, strict=True):
        number, value, change = line.split()
        ref_number, ref_value, ref_change = expected.split()
        assert number == ref_number and len(line) == len(expected)
        # Printed with 8 decimals: equal up to the rounding of the last one.
        assert_allclose(float(value), float(ref_value), rtol=0, atol=2e-8)
        if change == "+nan":
            assert ref_change == "+nan"
        else:
            assert_allclose(float(change), float(ref_change), rtol=0, atol=2e-8)


def test_squarem_asks_the_monitor_after_em_steps_only():
    """Under SQUAREM the driver records an EM step, then an extrapolation, per cycle: the
    monitor hears of every point, and is asked for its verdict on the start (after point 1,
    as in plain EM) and on the changes made by the EM steps (points 1, 3, 5, ...), which it
    has just been told of after points 2, 4, 6; never on an extrapolation's."""
    from emkit.core.driver import IterationInfo
    from emkit.estimators.hmm_monitor import MonitorFeed

    class Recording(hmm.ConvergenceMonitor):
        def __init__(self, *args):
            super().__init__(*args)
            self.asked = []

        @property
        def converged(self):
            self.asked.append(self.iter)
            return False

    monitor = Recording(0.0, 100, False)
    feed = MonitorFeed(monitor, 10.0)
    for n_iter in range(7):
        # SQUAREM's points: an EM step, then an extrapolation, in every cycle.
        em_step = n_iter % 2 == 1
        info = IterationInfo(0, n_iter, None, -1.0 / (n_iter + 1), math.nan, em_step=em_step)
        assert feed(info) is False
    assert monitor.asked == [1, 2, 4, 6]
    assert_allclose(list(monitor.history), [-10.0 / (i + 1) for i in range(6)])
    # A rejected extrapolation makes the second point of a cycle an EM step: asked too.
    rejected = Recording(0.0, 100, False)
    feed = MonitorFeed(rejected, 10.0)
    for n_iter, em_step in enumerate([True, True, True, False, True]):
        feed(IterationInfo(0, n_iter, None, -1.0, math.nan, em_step=em_step))
    assert rejected.asked == [1, 2, 3]
    plain = Recording(0.0, 100, False)
    feed = MonitorFeed(plain, 10.0)
    for n_iter in range(4):
        feed(IterationInfo(0, n_iter, None, -1.0, math.nan))
    assert plain.asked == [1, 2, 3]


# -- symbols and trials -----------------------------------------------------------------------
def test_categorical_n_features_is_set_by_fit_as_in_hmmlearn():
    X = _by_hand(hmmlearn_hmm, "categorical").sample(200, random_state=13)[0]
    model = hmm.CategoricalHMM(2, n_iter=3, tol=-np.inf, random_state=0).fit(X)
    assert model.n_features == 3
    wider = hmm.CategoricalHMM(2, n_features=5, n_iter=3, tol=-np.inf, random_state=0).fit(X)
    assert wider.n_features == 5 and wider.emissionprob_.shape == (2, 5)


@pytest.mark.parametrize("n_trials", [[1, 2, 3], None, 2.5])
def test_multinomial_sampling_needs_one_number_of_trials(n_trials):
    model = _by_hand(hmm, "multinomial")
    model.n_trials = n_trials
    with pytest.raises(ValueError, match="n_trials"):
        model.sample(10)


# -- priors: the bound is MAP-EM's objective ------------------------------------------------------
@pytest.mark.parametrize(("seed", "accelerate"), [(1, None), (5, "squarem")])
def test_with_chain_priors_the_bound_never_decreases(seed, accelerate):
    """EM with Dirichlet priors ascends the log-likelihood plus the log prior density; the
    bound is that objective, so it never decreases (the log-likelihood alone does here)."""
    X = np.random.RandomState(0).randint(0, 4, size=(300, 1))
    lengths = [100, 100, 100]
    model = hmm.CategoricalHMM(
        3,
        startprob_prior=5.0,
        transmat_prior=20.0,
        n_iter=60,
        tol=-np.inf,
        random_state=seed,
        accelerate=accelerate,
    ).fit(X, lengths)
    bounds = model.lower_bounds_
    assert np.all(np.diff(bounds) >= -1e-13 * np.abs(bounds[1:]))
    log_prior = 4.0 * np.log(model.startprob_).sum() + 19.0 * np.log(model.transmat_).sum()
    assert_allclose(bounds[-1] * 300, model.score(X, lengths) + log_prior, rtol=1e-12)
    assert_allclose(model.monitor_.history[-1], bounds[-2] * 300, rtol=1e-12)


def _with_priors(name):
    """A face with priors on its emissions and on the chain, and data for it."""
    rng = np.random.RandomState(0)
    chain = {"startprob_prior": 3.0, "transmat_prior": 2.5}
    if name == "poisson":
        model = hmm.PoissonHMM(3, lambdas_prior=2.0, lambdas_weight=1.0, **chain)
        return model, rng.poisson([1.0, 5.0], size=(300, 2))
    if name == "categorical":
        return hmm.CategoricalHMM(3, emissionprob_prior=3.0, **chain), rng.randint(4, size=(300, 1))
    if name == "multinomial":
        model = hmm.MultinomialHMM(3, emissionprob_prior=2.0, **chain)
        return model, rng.multinomial(6, [0.1, 0.2, 0.3, 0.4], size=300)
    model = hmm.GaussianHMM(
        3, name, means_prior=0.5, means_weight=2.0, covars_prior=0.4, covars_weight=5.0, **chain
    )
    centres = np.repeat([[0.0, 0.0], [3.0, 3.0], [-2.0, -2.0]], 100, axis=0)
    return model, centres + rng.randn(300, 2) * np.repeat([1.0, 1.0, 0.5], 100)[:, None]


@pytest.mark.parametrize("accelerate", [None, "squarem"])
@pytest.mark.parametrize(
    "name", ["full", "diag", "tied", "spherical", "poisson", "categorical", "multinomial"]
)
def test_with_emission_priors_the_bound_never_decreases(name, accelerate):
    """The bound adds the emission family's log prior density too: MAP-EM's objective, which
    neither plain EM nor SQUAREM ever lowers."""
    model, X = _with_priors(name)
    model.set_params(n_iter=80, tol=-np.inf, random_state=0, accelerate=accelerate)
    model.fit(X, [100, 100, 100])
    bounds = model.lower_bounds_
    assert np.all(np.diff(bounds) >= -1e-13 * np.abs(bounds[1:]))
    fitted = model._model(X.shape[1])
    params = model._params()
    objective = model.score(X, [100, 100, 100]) + fitted.bound_offset(params)
    assert_allclose(bounds[-1] * 300, objective, rtol=1e-12)
    assert fitted.family.log_prior(params.emissions) != 0.0


# -- samples no state can produce ---------------------------------------------------------------
def test_a_sample_no_state_emits_has_log_likelihood_minus_infinity_and_no_posteriors():
    model = _by_hand(hmm, "categorical")
    model.emissionprob_ = np.array([[0.5, 0.5, 0.0], [0.2, 0.8, 0.0]])
    X = np.array([[0], [1], [2], [1]])
    with pytest.warns(ImpossibleSampleWarning, match="no state can emit sample 2") as caught:
        assert model.score(X) == -np.inf
    assert caught[0].filename == __file__
    for call in (model.predict_proba, model.score_samples, model.predict):
        with pytest.raises(ValueError, match="probability zero under the model"):
            call(X)
    with pytest.raises(ValueError, match="no most probable path"):
        model.decode(X, algorithm="viterbi")
    with pytest.raises(ValueError, match="no state posteriors"):
        model.decode(X, algorithm="map")
    # The other sequences of the data are scored as they are.
    with pytest.warns(ImpossibleSampleWarning, match="sequence 1 has probability zero"):
        model.score(X, [2, 2])


def test_a_count_no_rate_explains_has_no_posteriors():
    model = _by_hand(hmm, "poisson")
    model.lambdas_ = np.array([[3.1, 1.4, 0.0], [1.6, 5.3, 0.0]])
    with pytest.raises(ValueError, match="no state can emit sample 1"):
        model.predict_proba(np.array([[1, 2, 0], [0, 1, 3]]))


def test_a_path_no_transition_allows_is_named():
    model = _by_hand(hmm, "categorical")
    model.startprob_ = np.array([1.0, 0.0])
    model.transmat_ = np.array([[1.0, 0.0], [0.0, 1.0]])
    model.emissionprob_ = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    with pytest.raises(ValueError, match="no path of states can emit samples 0 to 1"):
        model.predict(np.array([[1], [0]]))


def test_warnings_point_at_the_callers_line():
    X, (model, _) = _categorical_pair(n_iter=1, tol=1e-9)
    with pytest.warns(emkit.ConvergenceWarning) as caught:
        model.fit(X)
    assert caught[0].filename == __file__
    model.emissionprob_ = np.array([[0.5, 0.5, 0.0], [0.2, 0.8, 0.0]])
    for method in (model.score, model.aic, model.bic):
        with pytest.warns(ImpossibleSampleWarning) as caught:
            method(np.array([[2]]))
        assert caught[0].filename == __file__


# -- implementation='scaling' ------------------------------------------------------------------
def test_scaling_refuses_samples_whose_emission_underflows_as_hmmlearns_does():
    """hmmlearn's scaled forward pass cannot represent a sample that every state emits with
    a probability below the smallest double; emkit's forward pass shifts each step in log
    space, and scores it under implementation='log'."""
    data = np.concatenate([np.random.RandomState(15).randn(50), [1e4]])[:, None]
    results = {}
    for implementation in ("log", "scaling"):
        model = hmm.GaussianHMM(2, "spherical", implementation=implementation, init_params="")
        model.startprob_, model.transmat_ = STARTPROB, TRANSMAT
        model.means_, model.covars_ = np.array([[0.0], [5.0]]), np.array([1.0, 1.0])
        results[implementation] = model
    assert np.isfinite(results["log"].score(data))
    with pytest.raises(
        ValueError, match=r"1 sample\(s\) have an emission probability that underflows to zero"
    ):
        results["scaling"].score(data)
    # Viterbi runs in log space in both.
    assert_array_equal(results["scaling"].decode(data)[1], results["log"].decode(data)[1])
    assert_allclose(results["scaling"].score(data[:50]), results["log"].score(data[:50]))
    with pytest.raises(ValueError, match="use implementation='log'"):
        results["scaling"].fit(data)
    assert np.isfinite(results["log"].fit(data).score(data))


def test_large_data_starts_from_k_means_runs_on_a_sample(monkeypatch):
    """The k-means runs of a start see a sample of large data; every row then joins its
    nearest centre."""
    from emkit.estimators import hmm_start

    monkeypatch.setattr(hmm_start, "KMEANS_ROWS", 60)
    rng = np.random.RandomState(17)
    truth = np.repeat([0, 1, 2], 100)
    X = rng.randn(300, 2) * 0.3 + np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])[truth]
    labels = hmm_start.kmeans_labels(X, 3, np.random.RandomState(0), None, None)
    assert labels.shape == (300,)
    assert all(np.unique(labels[truth == t]).size == 1 for t in range(3))
    assert np.unique(labels).size == 3
