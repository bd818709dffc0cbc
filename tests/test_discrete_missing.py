"""Missing values (NaN) in the Bernoulli, Categorical, Poisson and exponential families and in
products of families, at the model level (mixtures and HMMs fitted by emkit.fit_em): the
observed-data likelihood against a direct computation, EM against a brute-force EM in plain
NumPy, an HMM against a sum over every state path, data without NaN as before, recovery of
simulated parameters under values missing completely at random, the conformance checks with
NaN, rows with nothing observed, and the values still refused."""

from __future__ import annotations

import itertools
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats as st
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp

from emkit import fit_em
from emkit.core.batches import Sequences
from emkit.core.stats import as_dict, identical
from emkit.exceptions import DegenerateFitError
from emkit.families.bernoulli import Bernoulli, BernoulliParams
from emkit.families.categorical import (
    Categorical,
    CategoricalParams,
    CategoricalStats,
    ObservedCategoricalStats,
)
from emkit.families.checks import EmptyRowWarning
from emkit.families.exponential import Exponential, ExponentialParams
from emkit.families.gaussian import Gaussian
from emkit.families.missing import ObservedSums
from emkit.families.multinomial import NO_MISSING, Multinomial
from emkit.families.poisson import Poisson, PoissonParams
from emkit.families.product import Product
from emkit.families.sums import WeightedSums
from emkit.models.hmm import HMM, HMMParams
from emkit.models.mixture import Mixture, MixtureParams
from emkit.testing.conformance import (
    check_chunked_statistics,
    check_float32_agrees,
    check_loglik_matches_log_prob,
    check_monotone_bound,
    check_reproducible,
    check_sample_weight_repeats,
)

NAMES = ("bernoulli", "categorical", "poisson", "exponential")
WEIGHTS = np.array([0.4, 0.6])


# -- two well-separated components of every family ------------------------------------------
@dataclass(frozen=True)
class Case:
    family: Any
    truth: Any

    def sample(self, n: int, seed: int, missing: float) -> tuple[np.ndarray, np.ndarray]:
        """``n`` rows of the true mixture, each cell NaN with probability ``missing``, but
        every row with an observed cell (the tests of rows with none make them)."""
        rng = np.random.RandomState(seed)
        X, labels = Mixture(self.family, 2).sample(MixtureParams(WEIGHTS, self.truth), n, rng)
        full = X.copy()
        X[rng.uniform(size=X.shape) < missing] = np.nan
        empty = np.isnan(X).all(axis=1)
        X[empty, 0] = full[empty, 0]
        return X, labels


def _categorical_truth() -> CategoricalParams:
    n_categories = np.array([3, 2, 4, 3])
    probs = np.zeros((2, 4, 4))
    for k in range(2):
        for c, size in enumerate(n_categories):
            alpha = np.full(size, 0.3)
            alpha[(k + c) % size] = 4.0
            probs[k, c, :size] = alpha / alpha.sum()
    return CategoricalParams(probs, n_categories)


CASES = {
    "bernoulli": Case(
        Bernoulli(), BernoulliParams(np.array([[0.9, 0.2, 0.8, 0.1], [0.15, 0.85, 0.3, 0.7]]))
    ),
    "categorical": Case(Categorical(), _categorical_truth()),
    "poisson": Case(Poisson(), PoissonParams(np.array([[1.0, 6.0, 3.0], [5.0, 1.5, 9.0]]))),
    "exponential": Case(
        Exponential(), ExponentialParams(np.array([[0.5, 4.0, 1.0], [3.0, 0.4, 6.0]]))
    ),
}


def _cell_log_pmf(name: str, params: Any, k: int, d: int, x: float) -> float:
    """log p(x_d | k) of one observed cell, by scipy."""
    if name == "bernoulli":
        return float(st.bernoulli.logpmf(x, params.probs[k, d]))
    if name == "categorical":
        return float(np.log(params.probs[k, d, int(x)]))
    if name == "poisson":
        return float(st.poisson.logpmf(x, params.lambdas[k, d]))
    return float(st.expon.logpdf(x, scale=1.0 / params.rates[k, d]))


def _direct_log_joint(name: str, params: Any, weights: np.ndarray, X: np.ndarray) -> np.ndarray:
    """log w_k + sum over the observed cells of log p(x_d | k), shape (n, K), cell by cell."""
    out = np.empty((X.shape[0], weights.size))
    for i, k in itertools.product(range(X.shape[0]), range(weights.size)):
        cells = [_cell_log_pmf(name, params, k, d, x) for d, x in enumerate(X[i]) if x == x]
        out[i, k] = np.log(weights[k]) + sum(cells)
    return out


def _random_init(family: Any, k: int = 2):
    """A start for fit_em: random responsibilities drawn from the fit's RandomState, then one
    M-step from scratch (the family's from_responsibilities, NaN and all)."""

    def init(X: np.ndarray, rng: np.random.RandomState, w: np.ndarray | None) -> MixtureParams:
        resp = rng.dirichlet(np.ones(k), size=X.shape[0])
        if w is not None:
            resp = resp * w[:, None]
        nk = resp.sum(axis=0)
        with warnings.catch_warnings():
            # Rows with nothing observed are reported; the tests of that are below.
            warnings.simplefilter("ignore", EmptyRowWarning)
            components = family.from_responsibilities(lambda: [(X, resp)])
        return MixtureParams(nk / nk.sum(), components)

    return init


def _start(name: str, X: np.ndarray, seed: int = 0) -> MixtureParams:
    case = CASES[name]
    return _random_init(case.family)(X, np.random.RandomState(seed), None)


# -- the observed-data likelihood --------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_log_likelihood_is_the_product_over_observed_cells(name):
    case = CASES[name]
    X, _ = case.sample(40, seed=1, missing=0.3)
    X[3] = np.nan  # a row with nothing observed scores 0 under every component
    model = Mixture(case.family, 2)
    params = MixtureParams(WEIGHTS, case.truth)
    direct = _direct_log_joint(name, case.truth, WEIGHTS, X)
    assert_allclose(model.log_joint(params, X), direct, rtol=1e-12, atol=1e-12)
    assert_allclose(model.log_prob(params, X), logsumexp(direct, axis=1), rtol=1e-12)
    _, loglik = model.e_step(params, X)
    assert_allclose(loglik, logsumexp(direct, axis=1).sum(), rtol=1e-12)
    assert_allclose(case.family.log_prob(case.truth, X[3:4]), 0.0, atol=0)


# -- EM against a brute-force EM -----------------------------------------------------------------
def _brute_force_em(name: str, X: np.ndarray, start: MixtureParams, n_iter: int) -> Any:
    """Plain NumPy EM over the observed cells: responsibilities from the direct log-joint,
    every parameter from the observed cells of its column."""
    weights, params = start.weights, start.components
    observed = ~np.isnan(X)
    filled = np.where(observed, X, 0.0)
    for _ in range(n_iter):
        log_joint = _direct_log_joint(name, params, weights, X)
        resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
        weights = resp.sum(axis=0) / resp.sum()
        seen = resp.T @ observed  # (K, D): weight of the observed cells
        if name == "bernoulli":
            params = BernoulliParams((resp.T @ filled) / seen)
        elif name == "poisson":
            params = PoissonParams((resp.T @ filled) / seen)
        elif name == "exponential":
            params = ExponentialParams(seen / (resp.T @ filled))
        else:
            probs = np.zeros_like(params.probs)
            for c, size in enumerate(params.n_categories):
                for code in range(size):
                    probs[:, c, code] = resp.T @ (X[:, c] == code) / seen[:, c]
            params = CategoricalParams(probs, params.n_categories)
    return weights, params


@pytest.mark.parametrize("name", NAMES)
def test_em_equals_a_brute_force_em(name):
    case = CASES[name]
    X, _ = case.sample(14, seed=2, missing=0.35)
    start = _start(name, X, seed=3)
    result = fit_em(Mixture(case.family, 2), X, init=start, max_iter=6, tol=0.0)
    assert result.n_iter == 6
    weights, params = _brute_force_em(name, X, start, 6)
    assert_allclose(result.params.weights, weights, rtol=1e-11)
    for key, value in as_dict(params).items():
        assert_allclose(as_dict(result.params.components)[key], value, rtol=1e-11, err_msg=key)


# -- data without NaN: what it was ---------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_data_without_nan_keep_todays_statistics_and_results(name):
    """No NaN: observed weights that are the component weights in every column, to the bit,
    and an M-step that is the closed form of the complete data, bit for bit; and rows
    without NaN score the same, to the bit, among rows with NaN."""
    case = CASES[name]
    X, _ = case.sample(60, seed=4, missing=0.0)
    resp = np.random.default_rng(5).dirichlet(np.ones(2), size=60)
    stats = case.family.stats(case.truth, X, resp)
    assert_array_equal(stats.sum_obs, np.repeat(resp.sum(axis=0)[:, None], X.shape[1], axis=1))
    assert_array_equal(stats.sum_w, resp.sum(axis=0))
    # The plain statistics (of the families before missing values) give the same M-step.
    if name == "categorical":
        plain = CategoricalStats(stats.sum_w, stats.counts)
    else:
        plain = WeightedSums(stats.sum_w, stats.sum_x)
    assert identical(case.family.m_step(plain, case.truth), case.family.m_step(stats, case.truth))
    new = case.family.m_step(stats, case.truth)
    if name == "poisson":
        assert_array_equal(new.lambdas, (resp.T @ X) / resp.sum(axis=0)[:, None])
    elif name == "exponential":
        assert_array_equal(new.rates, resp.sum(axis=0)[:, None] / (resp.T @ X))
    elif name == "bernoulli":
        ones = resp.T @ X
        total = resp.sum(axis=0)[:, None]
        assert_array_equal(new.probs, ones / (ones + (total - ones)))
    # The same rows among rows with NaN: their scores do not move.
    Y = np.vstack([X, np.full((5, X.shape[1]), np.nan)])
    Y[-5:, 0] = X[:5, 0]
    assert_array_equal(
        case.family.log_prob(case.truth, Y)[:60], case.family.log_prob(case.truth, X)
    )


# -- recovery under values missing completely at random -----------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_mcar_data_recover_the_simulated_parameters(name):
    case = CASES[name]
    X, _ = case.sample(4000, seed=6, missing=0.25)
    model = Mixture(case.family, 2)
    init = _random_init(case.family)
    best = max(
        (
            fit_em(model, X, init=init, random_state=seed, tol=1e-10, max_iter=3000)
            for seed in range(3)
        ),
        key=lambda r: r.lower_bound,
    )
    truth = as_dict(case.truth)
    key = next(k for k in truth if k != "n_categories")
    got = as_dict(best.params.components)[key]
    cost = [[np.abs(got[i] - truth[key][j]).sum() for j in range(2)] for i in range(2)]
    order = linear_sum_assignment(cost)[1]
    matched = np.empty_like(got)
    matched[order] = got
    assert_allclose(matched, truth[key], rtol=0.15, atol=0.05)
    assert_allclose(best.params.weights[np.argsort(order)], WEIGHTS, atol=0.05)


# -- the conformance checks with NaN ---------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_conformance_with_missing_values(name):
    case = CASES[name]
    X, _ = case.sample(150, seed=7, missing=0.3)
    model = Mixture(case.family, 2)
    init = _random_init(case.family)
    params = _start(name, X)
    result = check_monotone_bound(model, X, init=params, max_iter=40)
    assert result.lower_bounds[-1] > result.lower_bounds[0]
    check_chunked_statistics(model, params, X)
    check_float32_agrees(model, params, X)
    check_reproducible(model, X, init=init, max_iter=8, tol=0.0)
    check_sample_weight_repeats(
        model, X, np.random.RandomState(8).randint(0, 4, size=X.shape[0]), params
    )
    check_loglik_matches_log_prob(model, params, X)
    kwargs = dict(init=params, tol=0.0, max_iter=8, chunk_size=16)
    serial = fit_em(model, X, n_jobs=1, **kwargs)
    threaded = fit_em(model, X, n_jobs=2, **kwargs)
    assert identical(threaded.params, serial.params)
    assert_array_equal(threaded.lower_bounds, serial.lower_bounds)


@pytest.mark.parametrize("name", NAMES)
def test_statistics_of_chunks_with_and_without_nan_add_up(name):
    case = CASES[name]
    X, _ = case.sample(50, seed=9, missing=0.0)
    X[30:][np.random.RandomState(10).uniform(size=(20, X.shape[1])) < 0.4] = np.nan
    resp = np.random.default_rng(11).dirichlet(np.ones(2), size=50)
    whole = case.family.stats(case.truth, X, resp)
    observed = ObservedCategoricalStats if name == "categorical" else ObservedSums
    assert type(whole) is observed
    first = case.family.stats(case.truth, X[:30], resp[:30])  # no NaN there
    second = case.family.stats(case.truth, X[30:], resp[30:])
    assert type(first) is observed
    for total in (first + second, second + first, sum([first, second])):
        assert type(total) is observed
        for key, value in as_dict(whole).items():
            assert_allclose(as_dict(total)[key], value, rtol=1e-12, atol=1e-14, err_msg=key)
    assert_allclose(whole.sum_obs, resp.T @ ~np.isnan(X))


# -- an HMM with categorical emissions and NaN cells ----------------------------------------------
def _hmm_brute_force(params: HMMParams, X: np.ndarray) -> tuple[float, np.ndarray]:
    """log p(x) of one sequence and its state posteriors (T, K), by summing over every path."""
    family = Categorical()
    log_emission = family.log_prob(params.emissions, X)
    direct = _direct_log_joint("categorical", params.emissions, np.ones(2), X)
    assert_allclose(log_emission, direct, rtol=1e-12, atol=1e-12)
    T, K = X.shape[0], params.startprob.size
    paths = list(itertools.product(range(K), repeat=T))
    logs = np.array(
        [
            np.log(params.startprob[p[0]])
            + sum(np.log(params.transmat[p[t - 1], p[t]]) for t in range(1, T))
            + sum(direct[t, p[t]] for t in range(T))
            for p in paths
        ]
    )
    total = logsumexp(logs)
    posteriors = np.zeros((T, K))
    for p, value in zip(paths, logs, strict=True):
        posteriors[np.arange(T), list(p)] += np.exp(value - total)
    return float(total), posteriors


def test_hmm_with_categorical_emissions_and_nan_equals_a_sum_over_paths():
    truth = _categorical_truth()
    emissions = CategoricalParams(truth.probs[:, :2, :3].copy(), np.array([3, 2]))
    emissions.probs[:] /= emissions.probs.sum(axis=-1, keepdims=True)
    params = HMMParams(np.array([0.3, 0.7]), np.array([[0.8, 0.2], [0.35, 0.65]]), emissions)
    first = np.array([[0, 1], [np.nan, 0], [2, np.nan], [np.nan, np.nan], [1, 1]])
    second = np.array([[np.nan, 1], [2, 0], [0, np.nan]])
    X = Sequences.from_list([first, second])
    model = HMM(Categorical(), 2)
    stats, loglik = model.e_step(params, X)
    expected_ll, expected_counts = 0.0, np.zeros_like(emissions.probs)
    for seq in (first, second):
        ll, post = _hmm_brute_force(params, seq)
        expected_ll += ll
        for t, c in itertools.product(range(seq.shape[0]), range(2)):
            if seq[t, c] == seq[t, c]:
                expected_counts[:, c, int(seq[t, c])] += post[t]
    assert_allclose(loglik, expected_ll, rtol=1e-12)
    assert_allclose(model.log_prob(params, X).sum(), expected_ll, rtol=1e-12)
    assert_allclose(stats.emissions.counts, expected_counts, rtol=1e-12, atol=1e-15)
    # A fit moves every emission probability from its observed cells, monotonely.
    result = check_monotone_bound(model, X, init=params, max_iter=15)
    assert np.all(np.isfinite(as_dict(result.params)["emissions.probs"]))
    check_chunked_statistics(model, params, X, chunk_sizes=(3, 5))


# -- rows with nothing observed -------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_rows_with_nothing_observed_count_for_nothing_and_are_reported_once(name):
    case = CASES[name]
    X, _ = case.sample(30, seed=12, missing=0.2)
    X[[2, 7, 19]] = np.nan
    resp = np.random.default_rng(13).dirichlet(np.ones(2), size=30)
    kept = np.setdiff1d(np.arange(30), [2, 7, 19])
    with pytest.warns(EmptyRowWarning, match=r"^3 row\(s\) hold no observed") as record:
        start = case.family.from_responsibilities(
            lambda: [(X[:15], resp[:15]), (X[15:], resp[15:])]
        )
    assert len(record) == 1  # once, for all the chunks
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        alone = case.family.from_responsibilities(lambda: [(X[kept], resp[kept])])
    for key, value in as_dict(alone).items():
        assert_allclose(as_dict(start)[key], value, rtol=1e-12, err_msg=key)
    with_empty = as_dict(case.family.stats(case.truth, X, resp))
    without = as_dict(case.family.stats(case.truth, X[kept], resp[kept]))
    for key in without:
        if key != "sum_w":  # the rows' weight is theirs; none of it is observed anywhere
            assert_allclose(with_empty[key], without[key], rtol=1e-12, atol=1e-15, err_msg=key)
    assert_array_equal(case.family.log_prob(case.truth, X[[2, 7, 19]]), 0.0)
    # Nor to the likelihood of a mixture.
    model, params = Mixture(case.family, 2), MixtureParams(WEIGHTS, case.truth)
    assert_allclose(model.e_step(params, X)[1], model.e_step(params, X[kept])[1], rtol=1e-13)


def test_a_column_with_nothing_observed_is_refused():
    X = np.array([[1.0, np.nan], [0.0, np.nan], [1.0, np.nan]])
    resp = np.full((3, 2), 0.5)
    for family in (Bernoulli(), Poisson(), Exponential(), Categorical(), Categorical(2)):
        with pytest.raises(ValueError, match="column 1 holds no observed"):
            family.from_responsibilities(lambda: [(X + 1.0 * (X == 0), resp)])


# -- what is still refused -------------------------------------------------------------------------
REFUSED = [
    (Bernoulli(), [[0, np.nan], [np.inf, 1]], "Bernoulli data must be finite; column 0 holds inf"),
    (Bernoulli(), [[np.nan, 2]], "Bernoulli data must be 0 or 1; column 1 holds 2"),
    (Poisson(), [[np.nan, 0], [0, -np.inf]], "Poisson data must be finite; column 1 holds -inf"),
    (Poisson(), [[np.nan, -1]], "Poisson counts must be non-negative; column 1 holds -1"),
    (Poisson(), [[np.nan, 1.5]], "Poisson counts must be integers; column 1 holds 1.5"),
    (Exponential(), [[np.nan, -0.5]], "Exponential data must be non-negative; column 1"),
    (Exponential(), [[np.nan, 1], [np.inf, 1]], "Exponential data must be finite; column 0"),
    (Categorical(), [[np.nan, 1.5]], "Categorical data must be integer category codes; column 1"),
    (Categorical(), [[np.nan, -1]], "Categorical data must be non-negative category codes"),
    (Categorical(2), [[np.nan, 2]], "Categorical column 1 has 2 categories (codes 0..1); row 0"),
    (Categorical(), [[np.nan], [np.inf]], "Categorical data must be finite; column 0 holds inf"),
    (Multinomial(), [[1, np.nan]], NO_MISSING + "; column 1 holds nan"),
]


@pytest.mark.parametrize(("family", "X", "message"), REFUSED)
def test_infinite_and_invalid_values_are_still_refused(family, X, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        family.check_data(np.asarray(X, dtype=np.float64))


@pytest.mark.parametrize("name", NAMES)
def test_the_families_declare_missing_values(name):
    family = CASES[name].family
    assert type(family).allows_missing is True
    X, _ = CASES[name].sample(10, seed=14, missing=0.3)
    assert family.check_data(X) is X
    assert not getattr(Multinomial(), "allows_missing", False)


def test_an_inf_in_data_with_nan_still_fails_a_fit():
    """The structures do not call check_data: an infinite count still stops a fit (the bound
    is not finite), and an infinite code is refused by name."""
    X, _ = CASES["poisson"].sample(30, seed=15, missing=0.2)
    X[4, 1] = np.inf
    params = MixtureParams(WEIGHTS, CASES["poisson"].truth)
    with np.errstate(all="ignore"), pytest.raises(DegenerateFitError):
        fit_em(Mixture(Poisson(), 2), X, init=params, max_iter=3)
    codes = np.zeros((5, 4))
    codes[0, 0], codes[2, 1] = np.nan, np.inf
    with pytest.raises(ValueError, match="Categorical data must be finite; column 1 holds inf"):
        Categorical().log_prob(CASES["categorical"].truth, codes)


# -- products --------------------------------------------------------------------------------------
def _product_data(n: int, seed: int, missing: float) -> tuple[np.ndarray, Product, Any]:
    parts = [(CASES[name].family, None) for name in NAMES]
    blocks, widths = [], []
    for name in NAMES:
        X, _ = CASES[name].sample(n, seed=seed, missing=missing)
        blocks.append(X)
        widths.append(X.shape[1])
    ends = np.cumsum(widths)
    parts = [
        (family, list(range(end - width, end)))
        for (family, _), width, end in zip(parts, widths, ends, strict=True)
    ]
    family = Product(parts)
    from emkit.families.product import product_params

    truth = product_params(family.names, [CASES[name].truth for name in NAMES])
    return np.hstack(blocks), family, truth


def test_product_passes_nan_to_its_parts():
    X, family, truth = _product_data(80, seed=16, missing=0.3)
    assert family.allows_missing
    assert family.check_data(X) is X
    expected = sum(
        part.log_prob(params, X[:, columns])
        for (part, columns), params in zip(family.parts, truth.parts, strict=True)
    )
    assert_allclose(family.log_prob(truth, X), expected, rtol=1e-12)
    model = Mixture(family, 2)
    params = MixtureParams(WEIGHTS, truth)
    check_chunked_statistics(model, params, X, chunk_sizes=(1, 13))
    check_monotone_bound(model, X, init=params, max_iter=20)
    assert not Product([(Poisson(), [0]), (Multinomial(), [1, 2])]).allows_missing
    with pytest.raises(ValueError, match=re.escape(NO_MISSING + "; column 2")):
        Product([(Poisson(), [0]), (Multinomial(), [1, 2])]).check_data(
            np.array([[1.0, 2.0, 0.0], [np.nan, 1.0, np.nan]])
        )


def test_product_reports_the_rows_with_nothing_observed_in_any_part():
    X, family, _ = _product_data(40, seed=17, missing=0.2)
    X[3] = np.nan  # nothing observed
    X[5, :4] = np.nan  # nothing of the Bernoulli part, the others observed
    X[6, 4:] = np.nan  # only the Bernoulli part observed
    resp = np.random.default_rng(18).dirichlet(np.ones(2), size=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        family.check_data(X)  # the parts check the rows they have values of, silently
    with pytest.warns(EmptyRowWarning, match=r"^1 row\(s\) hold no observed Product") as rec:
        family.from_responsibilities(lambda: [(X, resp)])
    assert len(rec) == 1
    bad = X.copy()
    bad[5, 5] = 1.5  # a fractional code in a row the Bernoulli part does not see
    with pytest.raises(ValueError, match=re.escape("column 5 holds 1.5 (row 5)")):
        family.check_data(bad)
    bad = X.copy()
    bad[8, 2] = 2.0  # a Bernoulli 2 after rows 3 and 5, which the part does not see
    with pytest.raises(ValueError, match=re.escape("column 2 holds 2 (row 8)")):
        family.check_data(bad)


@pytest.mark.skipif(
    not getattr(Gaussian, "allows_missing", False),
    reason="the Gaussian family does not declare allows_missing",
)
def test_product_with_a_gaussian_part_passes_nan_through():
    from emkit.families.covariance import covariance_structure
    from emkit.families.gaussian import GaussianParams

    X, family, truth = _product_data(60, seed=19, missing=0.25)
    rng = np.random.RandomState(20)
    G = rng.normal(size=(60, 2))
    G[rng.uniform(size=G.shape) < 0.25] = np.nan
    gaussian = Gaussian(covariance_structure("diag"), reg_covar=0.0)
    mixed = Product([*family.parts, (gaussian, [X.shape[1], X.shape[1] + 1])])
    assert mixed.allows_missing
    Y = np.hstack([X, G])
    assert mixed.check_data(Y) is Y
    means = np.array([[0.0, 1.0], [1.0, -1.0]])
    g_params = gaussian.from_responsibilities(lambda: [(np.nan_to_num(G), np.full((60, 2), 0.5))])
    g_params = type(g_params)(**{**g_params.__dict__, "means": means})
    assert isinstance(g_params, GaussianParams)
    from emkit.families.product import product_params

    params = product_params(mixed.names, [*truth.parts, g_params])
    expected = family.log_prob(truth, X) + gaussian.log_prob(g_params, G)
    assert_allclose(mixed.log_prob(params, Y), expected, rtol=1e-12)
