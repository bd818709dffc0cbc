"""``partial_fit`` of the HMM faces: online EM on a stream of batches of whole sequences.

A stream given call by call takes the steps of one online pass of ``fit`` over all of it,
the first call starts as ``fit`` does, a fitted model continues from its parameters, a
simulated model is recovered from a stream, and bad batches are refused in words.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import emkit
from emkit.core.batches import Sequences
from emkit.core.driver import online_update
from emkit.core.online import OnlineState
from emkit.estimators.gmm_hmm import GMMHMM
from emkit.estimators.parameters import online_steps
from emkit.exceptions import ConvergenceWarning

K = 3
STARTPROB = np.array([0.5, 0.3, 0.2])
TRANSMAT = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
LENGTHS = np.random.RandomState(0).randint(15, 45, size=24)
N = int(LENGTHS.sum())
BATCH_SIZE = 70


def _data(name: str) -> np.ndarray:
    rng = np.random.RandomState(1)
    if name == "categorical":
        return rng.randint(0, 4, size=(N, 1))
    if name == "poisson":
        return rng.poisson([1.0, 4.0], size=(N, 2))
    if name == "multinomial":
        return rng.multinomial(6, [0.2, 0.3, 0.5], size=N)
    return rng.normal(size=(N, 2)) + np.repeat(rng.normal(size=(LENGTHS.size, 2)), LENGTHS, 0)


# The faces, their data, and a start set by hand (with init_params='' both fits start there).
FACES = {
    "gaussian-full": (
        lambda **kw: emkit.GaussianHMM(K, covariance_type="full", **kw),
        "gaussian",
        {"means_": [[-1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], "covars_": np.tile(np.eye(2), (K, 1, 1))},
    ),
    "gaussian-diag": (
        lambda **kw: emkit.GaussianHMM(K, covariance_type="diag", **kw),
        "gaussian",
        {"means_": [[-1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], "covars_": np.ones((K, 2))},
    ),
    "gmm": (
        lambda **kw: GMMHMM(K, n_mix=2, covariance_type="diag", **kw),
        "gaussian",
        {
            "weights_": np.full((K, 2), 0.5),
            "means_": np.arange(K * 2 * 2, dtype=float).reshape(K, 2, 2) / 6 - 1,
            "covars_": np.ones((K, 2, 2)),
        },
    ),
    "categorical": (
        lambda **kw: emkit.CategoricalHMM(K, **kw),
        "categorical",
        {"emissionprob_": [[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4], [0.25] * 4]},
    ),
    "poisson": (
        lambda **kw: emkit.PoissonHMM(K, **kw),
        "poisson",
        {"lambdas_": [[0.5, 3.0], [1.0, 5.0], [2.0, 2.0]]},
    ),
    "multinomial": (
        lambda **kw: emkit.MultinomialHMM(K, n_trials=6, **kw),
        "multinomial",
        {"emissionprob_": [[0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.3, 0.4, 0.3]]},
    ),
}


def _face(name: str, **kw):
    make, _, start = FACES[name]
    face = make(init_params="", batch_size=BATCH_SIZE, **kw)
    face.startprob_, face.transmat_ = STARTPROB, TRANSMAT
    for attribute, value in start.items():
        setattr(face, attribute, np.asarray(value, dtype=float))
    return face


def _fitted(face, name: str) -> dict[str, np.ndarray]:
    names = ["startprob_", "transmat_", *FACES[name][2]]
    return {attribute: np.asarray(getattr(face, attribute)) for attribute in names}


def _calls(batches_per_call) -> list[slice]:
    """Sequences of every call, cut where the mini-batches of the whole stream end: a call
    of 2 takes the sequences of the stream's next 2 mini-batches."""
    groups = [g.lengths.size for g, _ in Sequences(np.zeros((N, 1)), LENGTHS).groups(BATCH_SIZE)]
    ends = np.concatenate([[0], np.cumsum(groups)])
    taken = np.concatenate([[0], np.cumsum(batches_per_call)])
    assert taken[-1] == len(groups)
    return [slice(int(ends[a]), int(ends[b])) for a, b in itertools.pairwise(taken)]


def _rows(sequences: slice) -> slice:
    offsets = np.concatenate([[0], np.cumsum(LENGTHS)])
    return slice(int(offsets[sequences.start]), int(offsets[sequences.stop]))


def _online_fit(face, X, **kw):
    """One online pass of fit (a ConvergenceWarning: one pass is judged against no other)."""
    with pytest.warns(ConvergenceWarning):
        return face.set_params(learning_method="online", n_iter=1).fit(X, LENGTHS, **kw)


@pytest.mark.parametrize("name", list(FACES))
def test_a_stream_of_calls_takes_the_steps_of_one_online_pass(name):
    X = _data(FACES[name][1])
    whole = _online_fit(_face(name), X)
    stream = _face(name)
    calls = _calls([3, 1, 4, 2, 2])
    assert len(calls) == 5 and calls[-1].stop == LENGTHS.size
    for sequences in calls:
        stream.partial_fit(X[_rows(sequences)], LENGTHS[sequences])
    for attribute, value in _fitted(whole, name).items():
        assert_allclose(getattr(stream, attribute), value, rtol=1e-12, atol=0, err_msg=attribute)
    # The history is that of the same batches, each scored before its own step.
    assert_allclose(stream.lower_bounds_, whole.lower_bounds_, rtol=1e-12)
    assert stream.n_iter_ == stream.lower_bounds_.size == 12
    assert stream.lower_bound_ == stream.lower_bounds_[-1] and not stream.converged_
    # The monitor holds the total log-likelihood of every batch.
    weights = [g.shape[0] for g, _ in Sequences(X, LENGTHS).groups(BATCH_SIZE)]
    assert_allclose(list(stream.monitor_.history), stream.lower_bounds_ * weights, rtol=1e-14)
    assert stream.monitor_.iter == 12


def test_sequence_weights_and_params_are_those_of_fit():
    X = _data("gaussian")
    weights = np.random.RandomState(2).uniform(0.2, 3.0, size=LENGTHS.size)
    whole = _online_fit(_face("gaussian-diag", params="mc"), X, sample_weight=weights)
    stream = _face("gaussian-diag", params="mc")
    for sequences in _calls([2, 5, 5]):
        rows = _rows(sequences)
        stream.partial_fit(X[rows], LENGTHS[sequences], sample_weight=weights[sequences])
    for attribute, value in _fitted(whole, "gaussian-diag").items():
        assert_allclose(getattr(stream, attribute), value, rtol=1e-12, atol=0, err_msg=attribute)
    assert_allclose(stream.lower_bounds_, whole.lower_bounds_, rtol=1e-12)
    # The chain is left out of params: it keeps its start.
    assert_array_equal(stream.startprob_, STARTPROB)
    assert_array_equal(stream.transmat_, TRANSMAT)
    unweighted = _face("gaussian-diag", params="mc").partial_fit(X, LENGTHS)
    assert not np.allclose(unweighted.means_, stream.means_, rtol=1e-6)


def test_the_first_call_starts_as_fit_does(caplog):
    X = _data("gaussian")
    # Fresh parameters: k-means means, the data's covariance, uniform chain.
    fit = _online_fit(emkit.GaussianHMM(K, random_state=3, batch_size=BATCH_SIZE), X)
    first = emkit.GaussianHMM(K, random_state=3, batch_size=BATCH_SIZE).partial_fit(X, LENGTHS)
    assert_allclose(first.means_, fit.means_, rtol=1e-12)
    assert_allclose(first.covars_, fit.covars_, rtol=1e-12)
    assert_allclose(first.transmat_, fit.transmat_, rtol=1e-12)
    assert_allclose(first.lower_bounds_, fit.lower_bounds_, rtol=1e-12)
    assert first.n_features_in_ == 2
    # A parameter set by hand and left out of init_params is kept, as fit keeps it; one
    # named there is drawn afresh, with fit's notice.
    transmat = np.array([[0.6, 0.2, 0.2], [0.3, 0.4, 0.3], [0.1, 0.1, 0.8]])
    kept = emkit.GaussianHMM(K, random_state=3, init_params="smc", params="smc", batch_size=200)
    kept.transmat_ = transmat
    kept.partial_fit(X, LENGTHS)
    assert_array_equal(kept.transmat_, transmat)
    assert not np.allclose(kept.startprob_, 1.0 / K)
    with caplog.at_level(logging.WARNING):
        redrawn = emkit.GaussianHMM(K, random_state=3, init_params="st", batch_size=200)
        redrawn.transmat_, redrawn.means_, redrawn.covars_ = transmat, fit.means_, fit.covars_
        redrawn.partial_fit(X[: LENGTHS[0]], LENGTHS[:1])
    assert "transmat_ is set, but will be overwritten" in caplog.text


def test_a_fitted_model_continues_from_its_parameters():
    X = _data("gaussian")
    head, more = _rows(slice(0, 10)), _rows(slice(10, 12))
    face = emkit.GaussianHMM(K, covariance_type="diag", random_state=0, n_iter=5, tol=-np.inf)
    face.set_params(batch_size=BATCH_SIZE).fit(X, LENGTHS)
    fitted_bounds = face.lower_bounds_.copy()
    fitted_history = list(face.monitor_.history)
    # The steps written out: from the fitted parameters, with a fresh running average.
    model, params, state, bounds = face._model(2), face._params(), OnlineState(), []
    batches = list(Sequences(X[head], LENGTHS[:10]).groups(BATCH_SIZE))
    for batch, _ in batches:
        params, state, bound = online_update(model, params, state, batch, online_steps(face))
        bounds.append(bound)
    face.partial_fit(X[head], LENGTHS[:10])
    assert_allclose(face.means_, params.emissions.means, rtol=1e-13)
    assert_allclose(face.transmat_, params.transmat, rtol=1e-13)
    assert face.n_iter_ == len(batches)
    assert_allclose(face.lower_bounds_, np.concatenate([fitted_bounds, bounds]), rtol=1e-13)
    totals = [b * g.shape[0] for b, (g, _) in zip(bounds, batches, strict=True)]
    assert_allclose(list(face.monitor_.history), fitted_history + totals, rtol=1e-13)
    # The next call goes on with the running average...
    before = face.__dict__["_online_state"]
    face.partial_fit(X[more], LENGTHS[10:12])
    assert face.n_iter_ == len(batches) + 1
    assert face.__dict__["_online_state"].n_batches == before.n_batches + 1
    # ...and a fit replaces it: the call after a fit starts a fresh one.
    face.fit(X, LENGTHS)
    refit = face._params()
    face.partial_fit(X[head], LENGTHS[:10])
    params, state = refit, OnlineState()
    for batch, _ in batches:
        params, state, _ = online_update(model, params, state, batch, online_steps(face))
    assert face.n_iter_ == len(batches)
    assert_allclose(face.means_, params.emissions.means, rtol=1e-13)


def _simulate(truth, n_sequences: int, length: int, rng: np.random.RandomState):
    parts = [truth.sample(length, random_state=rng)[0] for _ in range(n_sequences)]
    return np.concatenate(parts), [length] * n_sequences


def test_a_stream_recovers_a_simulated_gaussian_hmm():
    truth = emkit.GaussianHMM(3, covariance_type="diag", init_params="")
    truth.startprob_ = np.array([0.6, 0.3, 0.1])
    truth.transmat_ = np.array([[0.9, 0.05, 0.05], [0.1, 0.85, 0.05], [0.05, 0.1, 0.85]])
    truth.means_ = np.array([[-3.0, 0.0], [0.0, 3.0], [3.0, 0.0]])
    truth.covars_ = np.array([[1.0, 0.5], [0.5, 1.0], [0.8, 0.8]])
    rng = np.random.RandomState(5)
    face = emkit.GaussianHMM(3, covariance_type="diag", random_state=0, batch_size=600)
    for _ in range(8):
        face.partial_fit(*_simulate(truth, 50, 60, rng))
    assert face.n_iter_ == 40
    order = np.argsort(face.means_[:, 0])  # the true states are in order of their first mean
    assert_allclose(face.means_[order], truth.means_, atol=0.05)
    assert_allclose(face.transmat_[np.ix_(order, order)], truth.transmat_, atol=0.02)
    variances = np.diagonal(face.covars_, axis1=1, axis2=2)[order]
    assert_allclose(variances, np.diagonal(truth.covars_, axis1=1, axis2=2), atol=0.12)
    assert_allclose(face.startprob_[order], truth.startprob_, atol=0.07)


def test_a_stream_recovers_a_simulated_categorical_hmm():
    truth = emkit.CategoricalHMM(2, init_params="")
    truth.startprob_ = np.array([0.7, 0.3])
    truth.transmat_ = np.array([[0.9, 0.1], [0.15, 0.85]])
    truth.emissionprob_ = np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]])
    rng = np.random.RandomState(7)
    # Random symbol probabilities, a chain set by hand, and long steps early on: from a
    # uniform chain the two states separate only slowly.
    face = emkit.CategoricalHMM(
        2, random_state=0, init_params="e", batch_size=400, learning_decay=0.51
    ).set_params(learning_offset=0.0)
    face.startprob_ = np.array([0.5, 0.5])
    face.transmat_ = np.array([[0.8, 0.2], [0.2, 0.8]])
    for _ in range(8):
        face.partial_fit(*_simulate(truth, 50, 80, rng))
    assert face.n_features == 3 and face.n_iter_ == 80
    order = np.argsort(-face.emissionprob_[:, 0])
    assert_allclose(face.emissionprob_[order], truth.emissionprob_, atol=0.03)
    assert_allclose(face.transmat_[np.ix_(order, order)], truth.transmat_, atol=0.03)
    assert_allclose(face.startprob_[order], truth.startprob_, atol=0.06)


def test_bad_batches_are_refused_in_words():
    X = _data("gaussian")
    face = emkit.GaussianHMM(2, random_state=0).partial_fit(X[:200], [100, 100])
    state = face.__dict__["_online_state"]
    with pytest.raises(ValueError, match="X has 3 features, but GaussianHMM is expecting 2"):
        face.partial_fit(np.hstack([X[:50], X[:50, :1]]))
    with pytest.raises(ValueError, match="the lengths sum to 60 but X has 50 samples"):
        face.partial_fit(X[:50], [30, 30])
    with pytest.raises(ValueError, match="lengths only with one array X"):
        face.partial_fit([X[:20], X[20:50]], [20, 30])
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(3,\), expected \(2,\)"):
        face.partial_fit(X[:50], [20, 30], sample_weight=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="values too large for float64 arithmetic"):
        face.partial_fit(X[:50] * 1e160, [20, 30])
    # A refused batch leaves the model as it was.
    assert face.__dict__["_online_state"] is state and face.n_iter_ == 1
    fitted = emkit.GaussianHMM(2, random_state=0, n_iter=2, tol=-np.inf).fit(X, LENGTHS)
    with pytest.raises(ValueError, match="X has 1 features, but GaussianHMM is expecting 2"):
        fitted.partial_fit(X[:50, :1])
    symbols = emkit.CategoricalHMM(2, random_state=0).partial_fit(np.array([[0], [1], [2], [1]]))
    with pytest.raises(ValueError, match="has 3 categories"):
        symbols.partial_fit(np.array([[0], [3]]))
    with pytest.raises(ValueError, match="one column of integer symbols"):
        symbols.partial_fit(np.array([[0, 1], [1, 0]]))


@pytest.mark.parametrize("face", [emkit.GaussianHMM, emkit.CategoricalHMM, emkit.PoissonHMM])
def test_a_generator_is_refused_with_what_an_hmm_takes_instead(face):
    X = np.random.default_rng(0).integers(0, 3, size=(60, 1))
    for call in (face(2).fit, face(2).partial_fit):
        with pytest.raises(TypeError, match=r"read only once.*or a list of sequences$"):
            call(row for row in X)


@pytest.mark.parametrize("name", ["gaussian-diag", "categorical"])
def test_partial_fit_continues_an_online_fit_as_more_of_its_mini_batches(name):
    X = _data(FACES[name][1])
    whole = _online_fit(_face(name), X)
    head, tail = _calls([9, sum(1 for _ in Sequences(X, LENGTHS).groups(BATCH_SIZE)) - 9])
    with pytest.warns(ConvergenceWarning):
        continued = (
            _face(name)
            .set_params(learning_method="online", n_iter=1)
            .fit(X[_rows(head)], LENGTHS[head])
        )
    continued.partial_fit(X[_rows(tail)], LENGTHS[tail])
    for attribute, value in _fitted(whole, name).items():
        assert_allclose(getattr(continued, attribute), value, rtol=1e-12, atol=0, err_msg=attribute)
