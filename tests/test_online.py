"""Online (stepwise) EM: the schedule, the running average, recovery of the parameters from a
stream in a few passes, and the bookkeeping of a bound that is not monotone."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from emkit.core.batches import Sequences
from emkit.core.driver import fit_em
from emkit.core.online import OnlineEM, OnlineState
from emkit.core.stats import scale
from emkit.estimators.parameters import online_steps
from emkit.families.gaussian import Gaussian
from emkit.models.hmm import HMM
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture

RNG = np.random.default_rng(11)
MEANS = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
Z = RNG.choice(3, size=60_000, p=[0.5, 0.3, 0.2])
X = MEANS[Z] + RNG.normal(size=(60_000, 2))
MODEL = Mixture(Gaussian("full", reg_covar=0.0), 3, initializer("kmeans"))


def _sorted_means(params) -> np.ndarray:
    means = params.components.means
    return means[np.lexsort(means.T[::-1])]


def test_the_schedule_is_robbins_monro_and_checked():
    online = OnlineEM(batch_size=10, learning_decay=0.7, learning_offset=10.0)
    assert online.rate(0) == 1.0
    assert online.rate(1) == pytest.approx(11**-0.7)
    assert online.rate(5) == pytest.approx(15**-0.7)
    for bad, match in [
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=2.0), "batch_size"),
        (dict(learning_decay=0.5), r"learning_decay must be in \(0.5, 1\]"),
        (dict(learning_decay=1.2), "learning_decay"),
        (dict(learning_offset=-1.0), "learning_offset"),
    ]:
        with pytest.raises(ValueError, match=match):
            OnlineEM(**bad)


def test_the_running_average_is_the_weighted_recursion():
    online = OnlineEM(batch_size=100, learning_decay=0.9, learning_offset=2.0)
    params = MODEL.init(X[:3000], np.random.RandomState(0))
    parts = [X[:1000], X[1000:1500], X[1500:3000]]
    state = OnlineState()
    expected = None
    for t, part in enumerate(parts):
        stats, _ = MODEL.e_step(params, part)
        state = state.updated(online, stats, float(len(part)))
        rho = online.rate(t)
        step = scale(stats, rho / len(part))
        expected = step if expected is None else step + scale(expected, 1.0 - rho)
    assert state.n_batches == 3 and state.weight_seen == 3000.0
    assert_allclose(state.average.components.scatter, expected.components.scatter, rtol=1e-14)
    got = state.statistics(3000.0)
    assert_allclose(got.sum_w, 3000.0 * expected.sum_w, rtol=1e-14)


def test_one_batch_per_pass_is_one_em_step():
    start = MODEL.init(X, np.random.RandomState(0))
    online = fit_em(
        MODEL, X, init=start, max_iter=1, online=OnlineEM(batch_size=len(X)), warn_unconverged=False
    )
    batch = fit_em(MODEL, X, init=start, max_iter=1, tol=0.0, warn_unconverged=False)
    assert_allclose(online.params.components.means, batch.params.components.means, rtol=1e-13)
    assert_allclose(
        online.params.components.covariances, batch.params.components.covariances, rtol=1e-12
    )
    assert online.lower_bound == pytest.approx(batch.lower_bound, rel=1e-13)


def test_a_stream_is_fitted_in_a_few_passes_to_the_batch_optimum():
    chunks = np.array_split(X, 12)  # a re-iterable stream of chunks
    batch = fit_em(MODEL, X, random_state=0, max_iter=500, tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no MonotonicityWarning, whatever the batches do
        online = fit_em(
            MODEL, chunks, random_state=0, max_iter=3, tol=1e-3, online=OnlineEM(batch_size=500)
        )
    assert online.n_iter <= 3
    assert online.lower_bound > batch.lower_bound - 0.01
    assert_allclose(_sorted_means(online.params), _sorted_means(batch.params), atol=0.05)
    assert_allclose(np.sort(online.params.weights), [0.2, 0.3, 0.5], atol=0.01)
    # The history has the bound of every batch; tol applies to the means of whole passes.
    batches_per_pass = sum(-(-len(c) // 500) for c in chunks)
    assert online.lower_bounds.size == online.n_iter * batches_per_pass
    assert online.pass_lower_bounds.size == online.n_iter
    # The final bound is that of an E-step over all the data at the final parameters.
    final = fit_em(MODEL, X, init=online.params, max_iter=0)
    assert online.lower_bound == pytest.approx(final.lower_bound, rel=1e-13)


def test_online_em_recovers_an_hmm_from_batches_of_sequences():
    rng = np.random.default_rng(3)
    transmat = np.array([[0.95, 0.05], [0.1, 0.9]])
    lengths, rows = [], []
    for _ in range(300):
        state, seq = rng.integers(2), []
        for _ in range(50):
            seq.append(state)
            state = rng.choice(2, p=transmat[state])
        lengths.append(50)
        rows.extend(seq)
    states = np.array(rows)
    seqs = Sequences(np.array([[-2.0], [2.0]])[states] + rng.normal(size=(len(states), 1)), lengths)
    model = HMM(Gaussian("diag", reg_covar=1e-6), 2, initializer("kmeans"))
    online = fit_em(model, seqs, random_state=0, max_iter=3, online=OnlineEM(batch_size=1000))
    learnt = online.params.transmat
    order = np.argsort(online.params.emissions.means[:, 0])
    assert_allclose(learnt[np.ix_(order, order)], transmat, atol=0.02)


def test_online_em_is_refused_with_acceleration_and_checked():
    with pytest.raises(ValueError, match="online EM takes a step per mini-batch"):
        fit_em(MODEL, X, online=OnlineEM(), accelerate="squarem")
    with pytest.raises(TypeError, match=r"online must be an emkit\.core\.online\.OnlineEM"):
        fit_em(MODEL, X, online=512)


# -- the faces -----------------------------------------------------------------------------------
def test_a_face_fits_online_in_a_few_passes():
    import emkit

    batch = emkit.GaussianMixture(3, random_state=0, tol=1e-8, max_iter=500).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        online = emkit.GaussianMixture(
            3, random_state=0, learning_method="online", batch_size=500, max_iter=3, tol=1e-3
        ).fit(X)
    assert online.n_iter_ <= 3 and online.converged_
    assert online.lower_bound_ > batch.lower_bound_ - 0.01
    assert online.lower_bounds_.size == online.n_iter_ * 120
    assert online.lower_bound_ == pytest.approx(online.score(X), rel=1e-12)
    assert_allclose(np.sort(online.weights_), np.sort(batch.weights_), atol=0.01)


def test_partial_fit_steps_as_online_update_does():
    import emkit
    from emkit.core.driver import online_update

    face = emkit.PoissonMixture(2, random_state=0, batch_size=100)
    counts = np.random.default_rng(4).poisson([[1.0, 8.0]], size=(600, 2))
    parts = np.array_split(counts, 3)
    for part in parts:
        face.partial_fit(part)
    assert face.n_iter_ == 6 and face.lower_bounds_.size == 6
    # The same steps written out: the first batch starts the components as fit does.
    model = face._model(face._family())
    params = model.init(parts[0].astype(float), np.random.RandomState(0))
    state = OnlineState()
    for part in parts:
        for rows in np.array_split(part.astype(float), 2):
            params, state, _ = online_update(model, params, state, rows, online_steps(face))
    assert_allclose(face.lambdas_, params.components.lambdas, rtol=1e-13)
    # A fitted model continues from its parameters with a fresh average.
    fitted = emkit.PoissonMixture(2, random_state=0).fit(counts)
    before = fitted.lambdas_.copy()
    fitted.partial_fit(counts[:50])
    assert fitted.n_iter_ == 1 and not np.array_equal(fitted.lambdas_, before)
    # A fit ends the stream before it: the next partial_fit averages afresh.
    fresh = emkit.PoissonMixture(2, random_state=0).fit(counts)
    face.fit(counts).partial_fit(counts[:50])
    fresh.partial_fit(counts[:50])
    assert_array_equal(face.lambdas_, fresh.lambdas_)


def test_online_parameters_are_checked_in_the_face_s_words():
    import emkit

    for params, match in [
        (dict(learning_method="stochastic"), "learning_method must be one of"),
        (dict(learning_decay=0.3), r"learning_decay must be a number in \(0.5, 1\]"),
        (dict(batch_size=0), "batch_size must be"),
        (dict(learning_method="online", accelerate="squarem"), "choose one"),
    ]:
        with pytest.raises(ValueError, match=match):
            emkit.GaussianMixture(2, **params).fit(X[:100])
    with pytest.raises(ValueError, match="needs n_samples >= n_components = 3"):
        emkit.GaussianMixture(3).partial_fit(X[:2])


def test_an_hmm_face_fits_online_and_its_monitor_holds_the_passes():
    import emkit

    rng = np.random.default_rng(3)
    transmat = np.array([[0.95, 0.05], [0.1, 0.9]])
    sequences = []
    for _ in range(300):
        state, states = rng.integers(2), []
        for _ in range(50):
            states.append(state)
            state = rng.choice(2, p=transmat[state])
        sequences.append(np.array([[-2.0], [2.0]])[states] + rng.normal(size=(50, 1)))
    X, lengths = np.concatenate(sequences), [50] * 300
    batch = emkit.GaussianHMM(2, random_state=0, n_iter=100).fit(X, lengths)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        online = emkit.GaussianHMM(
            2, random_state=0, n_iter=3, tol=500.0, learning_method="online", batch_size=1000
        ).fit(X, lengths)
    assert online.converged_ and online.n_iter_ <= 3
    assert online.score(X, lengths) / len(X) > batch.score(X, lengths) / len(X) - 0.01
    assert len(online.monitor_.history) == online.n_iter_
    order = np.argsort(online.means_[:, 0])
    assert_allclose(online.transmat_[np.ix_(order, order)], transmat, atol=0.02)
    with pytest.raises(ValueError, match="choose one"):
        emkit.GaussianHMM(2, learning_method="online", accelerate="squarem").fit(X, lengths)


def test_partial_fit_continues_an_online_fit_as_more_of_its_batches():
    import emkit

    rng = np.random.default_rng(6)
    X = np.vstack([rng.normal(size=(2048, 2)), rng.normal(4.0, 1.0, size=(2048, 2))])
    rng.shuffle(X)
    more = X[:1024] + 0.1
    fitted = emkit.GaussianMixture(2, random_state=0).fit(X)
    start = dict(
        weights_init=fitted.weights_, means_init=fitted.means_, precisions_init=fitted.precisions_
    )

    def online():
        return emkit.GaussianMixture(
            2, learning_method="online", batch_size=256, max_iter=1, tol=0.0, **start
        )

    continued = online().fit(X).partial_fit(more)
    whole = online().fit(np.vstack([X, more]))
    assert_array_equal(continued.means_, whole.means_)
    assert_array_equal(continued.covariances_, whole.covariances_)
    assert continued.n_iter_ == (X.shape[0] + more.shape[0]) // 256
    # A batch fit leaves no average: its partial_fit starts one.
    batch = emkit.GaussianMixture(2, batch_size=256, max_iter=1, tol=0.0, **start).fit(X)
    assert "_online_state" not in batch.__dict__
    assert batch.partial_fit(more).n_iter_ == more.shape[0] // 256


def test_online_fits_and_partial_fits_survive_model_files(tmp_path):
    """An online history holds a bound per mini-batch, not n_iter_ + 1 of them; the file
    says so, and it loads with the same fitted attributes."""
    import emkit

    X = np.random.RandomState(0).normal(size=(3000, 2))
    counts = np.random.RandomState(1).poisson(1.0, (300, 20))
    fitted = [
        emkit.GaussianMixture(
            2, learning_method="online", batch_size=500, max_iter=3, random_state=0, tol=0.0
        ).fit(X),
        emkit.GaussianMixture(2, random_state=0).fit(X).partial_fit(X[:1000]),
        emkit.LatentDirichletAllocation(
            3, learning_method="online", batch_size=50, max_iter=2, random_state=0
        ).fit(counts),
        emkit.GaussianHMM(
            2, learning_method="online", batch_size=500, n_iter=2, random_state=0, tol=-np.inf
        ).fit(X, [1500, 1500]),
    ]
    for i, est in enumerate(fitted):
        assert est.lower_bounds_.shape != (est.n_iter_ + 1,)
        back = emkit.load(est.save(tmp_path / f"{i}.emkit"))
        np.testing.assert_array_equal(back.lower_bounds_, est.lower_bounds_)
        assert back.n_iter_ == est.n_iter_
