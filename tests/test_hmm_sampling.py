"""Draws of state paths from their posterior (forward filtering, backward sampling) and the
multiple imputation of sequences built on them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

import emkit
from emkit.models.hmm_sampling import sample_paths

START = np.array([0.6, 0.3, 0.1])
TRANS = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
LOG_EMISSION = np.log(
    np.array([[0.5, 0.2, 0.3], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4], [0.9, 0.05, 0.05]])
)


def _path_log_prob(path):
    value = np.log(START[path[0]]) + LOG_EMISSION[0, path[0]]
    for t in range(1, len(path)):
        value += np.log(TRANS[path[t - 1], path[t]]) + LOG_EMISSION[t, path[t]]
    return value


def test_paths_are_drawn_from_their_posterior():
    # Every one of the 81 paths of a 4-step, 3-state chain, drawn as often as its exact
    # posterior probability says (by enumeration), within five standard errors.
    paths = list(itertools.product(range(3), repeat=4))
    log_joint = np.array([_path_log_prob(p) for p in paths])
    exact = np.exp(log_joint - logsumexp(log_joint))
    copies = 100_000
    offsets = np.arange(copies + 1) * 4
    states, logliks = sample_paths(
        np.tile(LOG_EMISSION, (copies, 1)), offsets, START, TRANS, np.random.RandomState(0)
    )
    np.testing.assert_allclose(logliks, logsumexp(log_joint), rtol=1e-13)
    codes = states.reshape(copies, 4) @ np.array([27, 9, 3, 1])
    counts = np.bincount(codes, minlength=81) / copies
    index = [27 * a + 9 * b + 3 * c + d for a, b, c, d in paths]
    sigma = np.sqrt(exact * (1 - exact) / copies)
    assert np.all(np.abs(counts[index] - exact) < 5 * sigma + 1e-12)


def test_a_sequence_of_probability_zero_is_marked():
    log_emission = np.array([[0.0, -np.inf], [-np.inf, 0.0], [np.log(0.5), np.log(0.5)]])
    # The chain cannot leave state 0, and the second sample needs state 1.
    states, logliks = sample_paths(
        log_emission,
        np.array([0, 2, 3]),
        np.array([1.0, 0.0]),
        np.array([[1.0, 0.0], [0.0, 1.0]]),
        np.random.RandomState(1),
    )
    assert logliks[0] == -np.inf and np.isfinite(logliks[1])
    np.testing.assert_array_equal(states[:2], [-1, -1])
    assert states[2] == 0


@pytest.fixture(scope="module")
def gaussian_hmm():
    rng = np.random.RandomState(0)
    truth = emkit.GaussianHMM(2, covariance_type="full", random_state=0)
    truth.startprob_ = np.array([0.5, 0.5])
    truth.transmat_ = np.array([[0.95, 0.05], [0.05, 0.95]])
    truth.means_ = np.array([[0.0, 0.0], [3.0, 3.0]])
    truth.covars_ = np.array([[[1.0, 0.7], [0.7, 1.0]]] * 2)
    X, _ = truth.sample(600, random_state=rng)
    X[rng.rand(*X.shape) < 0.25] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.5
    fitted = emkit.GaussianHMM(2, covariance_type="full", random_state=0).fit(X, [300, 300])
    return fitted, X


def test_imputations_keep_the_observed_cells_and_average_to_impute(gaussian_hmm):
    model, X = gaussian_hmm
    draws = model.sample_missing(X, [300, 300], n_imputations=400, random_state=3)
    assert draws.shape == (400, *X.shape)
    observed = ~np.isnan(X)
    assert np.all(draws[:, observed] == X[observed])
    assert not np.isnan(draws).any()
    values, std = model.impute(X, [300, 300], return_std=True)
    missing = ~observed
    # Means and spreads over many draws are impute's, within their Monte Carlo error.
    error = np.abs(draws.mean(axis=0)[missing] - values[missing])
    assert np.all(error < 5 * std[missing] / np.sqrt(400))
    np.testing.assert_allclose(draws.std(axis=0)[missing], std[missing], rtol=0.25)


def test_imputations_are_reproducible_and_refuse_bad_counts(gaussian_hmm):
    model, X = gaussian_hmm
    a = model.sample_missing(X[:300], n_imputations=2, random_state=7)
    b = model.sample_missing(X[:300], n_imputations=2, random_state=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], a[1])
    with pytest.raises(ValueError, match="n_imputations"):
        model.sample_missing(X, n_imputations=0)


def test_draws_follow_the_chain():
    # Two states far apart, a chain that never switches: a draw gives a whole sequence
    # one state, so the missing cells of a row take the state of its observed neighbours.
    model = emkit.GaussianHMM(2, covariance_type="diag", init_params="", params="")
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.eye(2)
    model.means_ = np.array([[-10.0, -10.0], [10.0, 10.0]])
    model.covars_ = np.ones((2, 2))
    X = np.array([[10.0, 10.0], [np.nan, np.nan], [np.nan, 9.0], [10.5, np.nan]])
    draws = model.sample_missing(X, n_imputations=50, random_state=0)
    assert np.all(draws > 5.0)


def test_an_impossible_sequence_is_refused():
    model = emkit.CategoricalHMM(2, init_params="", params="")
    model.n_features = 2
    model.startprob_ = np.array([1.0, 0.0])
    model.transmat_ = np.eye(2)
    model.emissionprob_ = np.array([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"sequence 0 .* probability zero"):
        model.sample_missing(np.array([[0], [1]]), n_imputations=1, random_state=0)
