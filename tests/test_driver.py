"""The EM driver (emkit.core.driver.fit_em), data batches, and additive statistics."""

from __future__ import annotations

import math
import tracemalloc
import warnings
from dataclasses import FrozenInstanceError, dataclass, replace

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from emkit import (
    ConvergenceWarning,
    DegenerateFitError,
    IterationInfo,
    MonotonicityWarning,
    fit_em,
)
from emkit.core import driver
from emkit.core.stats import Additive, as_dict, scale
from emkit.execution import executor as executor_module
from emkit.execution.sources import as_source
from emkit.families.covariance import covariance_structure
from emkit.families.gaussian import Gaussian, GaussianStats
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture, MixtureStats


def _simulate(n: int = 600, seed: int = 0) -> np.ndarray:
    """Three overlapping clusters in 3-D."""
    rng = np.random.RandomState(seed)
    means = np.array([[0.0, 0.0, 0.0], [2.0, 1.0, 0.0], [0.5, 2.0, 1.5]])
    labels = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    return means[labels] + rng.standard_normal((n, 3)) * np.array([1.0, 0.7, 0.8])


X = _simulate()
W = np.random.RandomState(1).uniform(0.2, 3.0, size=X.shape[0])
MODEL = Mixture(Gaussian("full", reg_covar=0.0), 3, initializer("kmeans"))
P0 = MODEL.init(X, np.random.RandomState(0))


def _mean_loglik(params, X, w=None):
    """Mean log-likelihood of a full-covariance Gaussian mixture, computed with scipy."""
    comps = params.components
    log_joint = np.stack(
        [
            np.log(params.weights[k])
            + multivariate_normal(comps.means[k], comps.covariances[k]).logpdf(X)
            for k in range(params.weights.size)
        ],
        axis=1,
    )
    return float(np.average(logsumexp(log_joint, axis=1), weights=w))


def _assert_same_params(a, b, rtol=1e-10):
    da, db = as_dict(a), as_dict(b)
    assert da.keys() == db.keys()
    for name in da:
        np.testing.assert_allclose(da[name], db[name], rtol=rtol, atol=rtol, err_msg=name)


def _assert_identical(a, b):
    da, db = as_dict(a), as_dict(b)
    assert da.keys() == db.keys()
    for name in da:
        np.testing.assert_array_equal(da[name], db[name], err_msg=name)


class _Wrapped:
    """Delegates the model contract to MODEL; subclasses change one part."""

    inner = MODEL

    def init(self, X, random_state, sample_weight=None):
        return self.inner.init(X, random_state, sample_weight)

    def e_step(self, params, X, sample_weight=None, *, hard=False):
        return self.inner.e_step(params, X, sample_weight, hard=hard)

    def m_step(self, stats, params):
        return self.inner.m_step(stats, params)

    def log_prob(self, params, X):
        return self.inner.log_prob(params, X)


class _NoInit(_Wrapped):
    def init(self, X, random_state, sample_weight=None):
        raise AssertionError("a warm start must not call model.init")


class _DropsAtSecondMStep(_Wrapped):
    """The second M-step moves the means away from the maximiser: the bound drops."""

    def __init__(self):
        self.calls = 0

    def m_step(self, stats, params):
        self.calls += 1
        new = self.inner.m_step(stats, params)
        if self.calls == 2:
            comps = new.components
            new = replace(new, components=replace(comps, means=comps.means + 0.5))
        return new


class _InexactDropsAtSecondMStep(_DropsAtSecondMStep):
    monotone = False


class _RecordsHard(_Wrapped):
    def __init__(self):
        self.hard = []

    def e_step(self, params, X, sample_weight=None, *, hard=False):
        self.hard.append(hard)
        return self.inner.e_step(params, X, sample_weight, hard=hard)


class _Chunks:
    """A re-iterable chunked source that counts its passes (like a file read in blocks)."""

    def __init__(self, X, size, w=None):
        self.X, self.size, self.w, self.passes = X, size, w, 0

    def __iter__(self):
        self.passes += 1
        for start in range(0, self.X.shape[0], self.size):
            rows = slice(start, start + self.size)
            yield self.X[rows] if self.w is None else (self.X[rows], self.w[rows])


# --------------------------------------------------------------------------------------
# Warm start and restarts
# --------------------------------------------------------------------------------------
def test_warm_start_is_one_run_from_the_given_params():
    infos = []
    result = fit_em(_NoInit(), X, init=P0, n_init=5, max_iter=3, tol=0.0, callback=infos.append)
    assert infos[0].params is P0
    assert {info.run for info in infos} == {0}
    assert result.run_lower_bounds.shape == (1,)
    assert result.best_run == 0
    assert result.lower_bounds[0] == pytest.approx(_mean_loglik(P0, X), rel=1e-12)


def test_warm_start_with_no_iterations_returns_the_start():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit_em(_NoInit(), X, init=P0, max_iter=0, tol=1e-3)
    assert result.params is P0
    assert result.n_iter == 0
    assert not result.converged
    assert result.lower_bounds.shape == (1,)
    assert result.lower_bound == result.lower_bounds[0]
    assert result.lower_bound == pytest.approx(_mean_loglik(P0, X), rel=1e-12)


def test_n_init_keeps_the_best_run():
    model = Mixture(Gaussian("diag", reg_covar=0.0), 3, initializer("random"))
    finals, last_params = {}, {}

    def record(info):
        finals[info.run] = info.lower_bound
        last_params[info.run] = info.params

    result = fit_em(model, X, n_init=4, max_iter=5, tol=0.0, random_state=0, callback=record)
    assert sorted(finals) == [0, 1, 2, 3]
    np.testing.assert_array_equal(result.run_lower_bounds, [finals[r] for r in range(4)])
    assert np.unique(result.run_lower_bounds).size > 1, "restarts should differ"
    assert result.lower_bound == result.run_lower_bounds.max()
    assert result.best_run == int(np.argmax(result.run_lower_bounds))
    assert result.params is last_params[result.best_run]
    assert result.lower_bounds[-1] == result.lower_bound


def test_restarts_are_reproducible_and_draw_fresh_starts():
    model = Mixture(Gaussian("spherical", reg_covar=0.0), 3, initializer("random"))
    a = fit_em(model, X, n_init=3, max_iter=4, tol=0.0, random_state=7)
    b = fit_em(model, X, n_init=3, max_iter=4, tol=0.0, random_state=np.random.RandomState(7))
    _assert_identical(a.params, b.params)
    np.testing.assert_array_equal(a.run_lower_bounds, b.run_lower_bounds)


# --------------------------------------------------------------------------------------
# Convergence rule, history, final E-step
# --------------------------------------------------------------------------------------
def test_convergence_rule_and_history():
    tol = 1e-4
    result = fit_em(MODEL, X, random_state=0, tol=tol, max_iter=500)
    changes = np.diff(result.lower_bounds)
    assert result.converged
    assert result.n_iter == changes.size >= 2
    assert result.lower_bounds.shape == (result.n_iter + 1,)
    assert abs(changes[-1]) < tol
    assert np.all(np.abs(changes[:-1]) > tol)
    assert result.lower_bounds[-1] == result.lower_bound
    assert result.lower_bound == pytest.approx(np.mean(MODEL.log_prob(result.params, X)), rel=1e-12)
    assert result.lower_bound == pytest.approx(_mean_loglik(result.params, X), rel=1e-12)
    assert result.total_weight == X.shape[0]


def test_final_e_step_belongs_to_the_returned_params():
    result = fit_em(MODEL, X, init=P0, tol=0.0, max_iter=4)
    _assert_identical(result.stats, MODEL.e_step(result.params, X)[0])


def test_looser_tolerance_stops_on_a_prefix_of_the_same_path():
    tight = fit_em(MODEL, X, init=P0, tol=1e-5, max_iter=500)
    loose = fit_em(MODEL, X, init=P0, tol=1e-2, max_iter=500)
    assert loose.n_iter < tight.n_iter
    np.testing.assert_array_equal(loose.lower_bounds, tight.lower_bounds[: loose.n_iter + 1])


def test_bound_is_the_weighted_mean_with_sample_weights():
    result = fit_em(MODEL, X, sample_weight=W, init=P0, tol=1e-6, max_iter=500)
    assert result.total_weight == pytest.approx(W.sum(), rel=1e-14)
    assert result.lower_bound == pytest.approx(
        np.average(MODEL.log_prob(result.params, X), weights=W), rel=1e-12
    )
    assert result.lower_bound == pytest.approx(_mean_loglik(result.params, X, W), rel=1e-12)


def test_hard_em_passes_hard_and_reports_the_classification_bound():
    model = _RecordsHard()
    result = fit_em(model, X, init=P0, hard=True, tol=0.0, max_iter=5)
    assert model.hard and all(model.hard)
    classification = np.mean(np.max(MODEL.log_joint(result.params, X), axis=1))
    assert result.lower_bound == pytest.approx(classification, rel=1e-12)
    assert result.lower_bound < np.mean(MODEL.log_prob(result.params, X))


def test_convergence_warning_when_max_iter_is_hit():
    with pytest.warns(ConvergenceWarning, match=r"did not converge.*2 iterations"):
        result = fit_em(MODEL, X, init=P0, tol=1e-12, max_iter=2)
    assert not result.converged
    assert result.n_iter == 2


def test_no_convergence_warning_when_the_caller_reports_it():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit_em(MODEL, X, init=P0, tol=1e-12, max_iter=2, warn_unconverged=False)
    assert not result.converged


def test_no_convergence_warning_with_zero_tolerance():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit_em(MODEL, X, init=P0, tol=0.0, max_iter=3)
    assert not result.converged
    assert result.n_iter == 3


# --------------------------------------------------------------------------------------
# Callback
# --------------------------------------------------------------------------------------
def test_callback_sees_every_iteration_of_every_run():
    infos = []
    result = fit_em(MODEL, X, n_init=2, random_state=0, tol=0.0, max_iter=4, callback=infos.append)
    assert all(isinstance(info, IterationInfo) for info in infos)
    assert [(i.run, i.n_iter) for i in infos] == [(r, n) for r in (0, 1) for n in range(5)]
    best = [i for i in infos if i.run == result.best_run]
    np.testing.assert_array_equal([i.lower_bound for i in best], result.lower_bounds)
    assert math.isnan(best[0].change)
    np.testing.assert_array_equal([i.change for i in best[1:]], np.diff(result.lower_bounds))
    assert best[-1].params is result.params


def test_callback_returning_true_stops_the_run():
    result = fit_em(MODEL, X, init=P0, tol=0.0, max_iter=50, callback=lambda i: i.n_iter == 3)
    assert result.n_iter == 3
    assert result.lower_bounds.shape == (4,)
    assert not result.converged


def test_callback_stop_at_the_start_keeps_the_initial_params():
    result = fit_em(MODEL, X, init=P0, tol=0.0, callback=lambda i: True)
    assert result.n_iter == 0
    assert result.params is P0


def test_callback_stop_is_not_a_convergence_failure():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = fit_em(MODEL, X, init=P0, tol=1e-8, max_iter=100, callback=lambda i: i.n_iter == 2)
    assert result.n_iter == 2


# --------------------------------------------------------------------------------------
# Monotonicity
# --------------------------------------------------------------------------------------
def test_monotonicity_warning_for_a_dropping_bound():
    with pytest.warns(MonotonicityWarning, match="iteration 2"):
        result = fit_em(_DropsAtSecondMStep(), X, init=P0, tol=0.0, max_iter=4)
    drop = result.lower_bounds[1] - result.lower_bounds[2]
    assert drop > 0.01
    assert len(result.decreases) == 1
    assert result.decreases[0][0] == 2
    assert result.decreases[0][1] == pytest.approx(drop, rel=1e-12)


def test_inexact_model_records_decreases_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit_em(_InexactDropsAtSecondMStep(), X, init=P0, tol=0.0, max_iter=4)
    assert [it for it, _ in result.decreases] == [2]


def test_regularised_gaussian_mixture_is_not_monotone():
    assert MODEL.monotone
    assert not Mixture(Gaussian("full", reg_covar=1e-6), 3).monotone
    assert Mixture(Gaussian("full", reg_covar=1e-6, frozen=frozenset({"covariances"})), 3).monotone


def test_exact_em_records_no_decreases():
    result = fit_em(MODEL, X, init=P0, tol=0.0, max_iter=30)
    assert result.decreases == ()


# --------------------------------------------------------------------------------------
# Bad data and bad arguments
# --------------------------------------------------------------------------------------
def test_nan_cells_are_missing_values_of_a_gaussian():
    # The Gaussian family conditions on the observed cells (tests/test_gaussian_missing.py):
    # a NaN is a missing value, not a numerical breakdown.
    bad = X.copy()
    bad[5, 1] = np.nan
    result = fit_em(MODEL, bad, init=P0)
    assert np.all(np.isfinite(result.lower_bounds))


def test_infinite_data_raises_floating_point_error():
    bad = X.copy()
    bad[5, 1] = np.inf
    with np.errstate(invalid="ignore"), pytest.raises(FloatingPointError, match="infinite"):
        fit_em(MODEL, bad, init=P0)


def test_a_column_never_observed_is_refused_by_the_initialisation():
    bad = X.copy()
    bad[:, 1] = np.nan
    with pytest.raises(ValueError, match="no observed value"):
        fit_em(MODEL, bad, random_state=0)


def test_zero_total_weight_is_refused():
    with pytest.raises(ValueError, match="sample weights are zero"):
        fit_em(MODEL, X, sample_weight=np.zeros(X.shape[0]), init=P0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_init": 0},
        {"max_iter": -1},
        {"tol": float("nan")},
        {"chunk_size": 0},
        {"sample_weight": np.ones(5)},
    ],
    ids=lambda kw: next(iter(kw)),
)
def test_bad_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        fit_em(MODEL, X, init=P0, **kwargs)


def test_one_dimensional_data_is_refused():
    with pytest.raises(ValueError, match="2-D"):
        fit_em(MODEL, X[:, 0], init=P0)


# --------------------------------------------------------------------------------------
# Chunked data
# --------------------------------------------------------------------------------------
def test_list_of_arrays_equals_the_array():
    ref = fit_em(MODEL, X, init=P0, tol=0.0, max_iter=8)
    got = fit_em(MODEL, np.array_split(X, 7), init=P0, tol=0.0, max_iter=8)
    _assert_same_params(got.params, ref.params)
    np.testing.assert_allclose(got.lower_bounds, ref.lower_bounds, rtol=1e-12)
    assert got.total_weight == ref.total_weight


def test_list_of_weighted_pairs_equals_the_weighted_array():
    ref = fit_em(MODEL, X, sample_weight=W, init=P0, tol=0.0, max_iter=8)
    cuts = np.array_split(np.arange(X.shape[0]), 5)
    got = fit_em(MODEL, [(X[c], W[c]) for c in cuts], init=P0, tol=0.0, max_iter=8)
    _assert_same_params(got.params, ref.params)
    np.testing.assert_allclose(got.lower_bounds, ref.lower_bounds, rtol=1e-12)
    assert got.total_weight == pytest.approx(ref.total_weight, rel=1e-14)


def test_pairs_without_weights_count_as_weight_one():
    ref = fit_em(MODEL, X, init=P0, tol=0.0, max_iter=5)
    got = fit_em(MODEL, [(X[:250], None), (X[250:], np.ones(350))], init=P0, tol=0.0, max_iter=5)
    _assert_same_params(got.params, ref.params)


def test_empty_chunks_are_harmless():
    ref = fit_em(MODEL, [X[:300], X[300:]], init=P0, tol=0.0, max_iter=3)
    got = fit_em(MODEL, [X[:300], X[:0], X[300:]], init=P0, tol=0.0, max_iter=3)
    np.testing.assert_array_equal(got.lower_bounds, ref.lower_bounds)


def test_chunks_equal_array_chunking_bit_for_bit():
    source = _Chunks(X, 64)
    got = fit_em(MODEL, source, init=P0, tol=0.0, max_iter=6)
    ref = fit_em(MODEL, X, init=P0, tol=0.0, max_iter=6, chunk_size=64)
    _assert_identical(got.params, ref.params)
    np.testing.assert_array_equal(got.lower_bounds, ref.lower_bounds)
    assert source.passes == 7, "one pass over the data per E-step"


def test_custom_reiterable_source_with_weights_and_initialisation():
    source = _Chunks(X, 100, W)
    got = fit_em(MODEL, source, random_state=0, tol=0.0, max_iter=5)
    ref = fit_em(MODEL, X, sample_weight=W, random_state=0, tol=0.0, max_iter=5)
    _assert_same_params(got.params, ref.params)
    np.testing.assert_allclose(got.lower_bounds, ref.lower_bounds, rtol=1e-12)


def test_generators_and_iterators_are_refused():
    with pytest.raises(TypeError, match="re-iterable"):
        fit_em(MODEL, (X[i : i + 100] for i in range(0, 600, 100)), init=P0)
    with pytest.raises(TypeError, match="re-iterable"):
        fit_em(MODEL, iter([X[:300], X[300:]]), init=P0)
    with pytest.raises(TypeError):
        fit_em(MODEL, 3.0, init=P0)


def test_inconsistent_chunks_are_refused():
    with pytest.raises(ValueError, match="features"):
        fit_em(MODEL, [X[:300], X[300:, :2]], init=P0)
    with pytest.raises(ValueError, match="features"):
        fit_em(MODEL, [X[:300], X[300:, :2]], random_state=0)
    with pytest.raises(ValueError, match="2-D"):
        fit_em(MODEL, [X[:300], X[300:, 0]], init=P0)
    with pytest.raises(ValueError, match="sample_weight"):
        fit_em(MODEL, [(X[:300], W[:299])], init=P0)
    with pytest.raises(ValueError, match="tuple of 3"):
        fit_em(MODEL, [(X[:300], W[:300], None)], init=P0)
    with pytest.raises(ValueError, match="pair"):
        fit_em(MODEL, [X[:300], X[300:]], sample_weight=W, init=P0)


def test_empty_chunked_source_is_refused():
    with pytest.raises(ValueError, match="no rows"):
        fit_em(MODEL, [np.empty((0, 3))], random_state=0)


# --------------------------------------------------------------------------------------
# Initialisation: callables and the initialisation sample
# --------------------------------------------------------------------------------------
def test_init_callable_is_called_for_every_restart():
    calls = []

    def start(X0, random_state, sample_weight):
        calls.append((X0, random_state, sample_weight))
        return MODEL.init(X0, random_state, sample_weight)

    result = fit_em(
        _NoInit(), X, sample_weight=W, init=start, n_init=3, random_state=0, tol=0.0, max_iter=2
    )
    assert len(calls) == 3
    assert all(X0 is X and w0 is W for X0, _, w0 in calls)
    assert all(isinstance(rng, np.random.RandomState) for _, rng, _ in calls)
    assert calls[0][1] is calls[1][1], "restarts draw from one generator"
    assert result.run_lower_bounds.shape == (3,)


def _init_rows(data, monkeypatch, max_rows, **kwargs):
    """The rows (and weights) the initialisation sees when ``INIT_MAX_ROWS = max_rows``."""
    monkeypatch.setattr(driver, "INIT_MAX_ROWS", max_rows)
    seen = []

    def start(X0, random_state, sample_weight):
        seen.append((X0, sample_weight))
        return P0

    fit_em(MODEL, data, init=start, random_state=0, max_iter=0, **kwargs)
    return seen[0]


def test_init_sample_of_small_chunked_data_is_the_concatenation(monkeypatch):
    chunks = np.array_split(X, 4)
    X0, w0 = _init_rows(chunks, monkeypatch, 600)
    np.testing.assert_array_equal(X0, X)
    assert w0 is None
    cuts = np.array_split(np.arange(600), 3)
    X0, w0 = _init_rows(
        [(X[cuts[0]], W[cuts[0]]), X[cuts[1]], (X[cuts[2]], None)], monkeypatch, 10_000
    )
    np.testing.assert_array_equal(X0, X)
    np.testing.assert_array_equal(w0, np.concatenate([W[cuts[0]], np.ones(400)]))


def test_init_sample_of_large_chunked_data_is_a_uniform_subset(monkeypatch):
    source = _Chunks(X, 70, W)
    X0, w0 = _init_rows(source, monkeypatch, 50)
    assert X0.shape == (50, 3)
    # Every sampled row is a distinct row of X, in data order, with its own weight.
    index = {row.tobytes(): i for i, row in enumerate(X)}
    rows = np.array([index[row.tobytes()] for row in X0])
    assert np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(w0, W[rows])
    assert rows.max() - rows.min() > 300, "the subset should span the data"


def test_init_sample_is_reproducible_and_depends_on_the_seed():
    source = as_source(np.array_split(X, 6))
    a = source.sample(40, np.random.RandomState(3))[0]
    b = source.sample(40, np.random.RandomState(3))[0]
    c = source.sample(40, np.random.RandomState(4))[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_init_sample_boundary_and_in_memory_data(monkeypatch):
    X0, _ = _init_rows(np.array_split(X, 3), monkeypatch, 600)
    assert X0.shape == (600, 3)
    X0, _ = _init_rows(np.array_split(X, 3), monkeypatch, 599)
    assert X0.shape == (599, 3)
    X0, w0 = _init_rows(X, monkeypatch, 50, sample_weight=W)
    assert X0 is X and w0 is W, "in-memory data is seen whole"


class _Repeated:
    """A long chunked source that takes no memory: chunks of one repeated row each."""

    def __init__(self, n_chunks, chunk_rows):
        self.n_chunks, self.chunk_rows = n_chunks, chunk_rows

    def __iter__(self):
        for i in range(self.n_chunks):
            yield np.broadcast_to(np.full((1, 3), float(i)), (self.chunk_rows, 3))


def test_init_sample_memory_does_not_grow_with_the_data():
    source = as_source(_Repeated(n_chunks=100, chunk_rows=20_000))  # 2e6 rows
    tracemalloc.start()
    try:
        X0, _ = source.sample(1000, np.random.RandomState(0))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert X0.shape == (1000, 3)
    assert peak < 2_000_000, f"peak memory {peak / 1e6:.1f} MB for a 1000-row sample"


# --------------------------------------------------------------------------------------
# Additive statistics
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Inner(Additive):
    count: float
    total: np.ndarray


@dataclass(frozen=True, eq=False)
class _Outer(Additive):
    n: np.ndarray
    inner: _Inner


def test_additive_dataclasses_add_field_by_field():
    a = _Outer(np.array([1.0, 2.0]), _Inner(3.0, np.array([[1.0, 2.0]])))
    b = _Outer(np.array([10.0, 20.0]), _Inner(0.5, np.array([[3.0, 4.0]])))
    c = a + b
    assert type(c) is _Outer and type(c.inner) is _Inner
    np.testing.assert_array_equal(c.n, [11.0, 22.0])
    assert c.inner.count == 3.5
    np.testing.assert_array_equal(c.inner.total, [[4.0, 6.0]])
    np.testing.assert_array_equal(a.n, [1.0, 2.0]), "operands are left as they were"
    assert 0 + a is a
    d = sum([a, b, a])
    np.testing.assert_array_equal(d.n, [12.0, 24.0])
    assert d.inner.count == 6.5
    s = scale(a, 0.5)
    assert type(s) is _Outer and type(s.inner) is _Inner
    np.testing.assert_array_equal(s.n, [0.5, 1.0])
    assert s.inner.count == 1.5
    np.testing.assert_array_equal(s.inner.total, [[0.5, 1.0]])
    assert set(as_dict(a)) == {"n", "inner.count", "inner.total"}


def test_additive_refuses_other_types():
    a = _Inner(1.0, np.zeros(2))
    with pytest.raises(TypeError):
        a + _Outer(np.zeros(2), a)
    with pytest.raises(TypeError):
        1 + a
    with pytest.raises(FrozenInstanceError):
        a.count = 2.0


def test_mixture_statistics_are_additive():
    parts = [
        MODEL.e_step(P0, X[rows], W[rows])
        for rows in (slice(0, 200), slice(200, 451), slice(451, None))
    ]
    whole, whole_ll = MODEL.e_step(P0, X, W)
    summed = parts[0][0] + parts[1][0] + parts[2][0]
    assert type(summed) is MixtureStats and type(summed.components) is GaussianStats
    _assert_identical(sum(p[0] for p in parts), summed)
    _assert_same_params(summed, whole, rtol=1e-12)
    assert sum(p[1] for p in parts) == pytest.approx(whole_ll, rel=1e-13)
    assert set(as_dict(whole)) == {
        "sum_w",
        "components.sum_w",
        "components.sum_dx",
        "components.scatter",
        "components.centre",
    }


def test_scale_of_statistics():
    stats = MODEL.e_step(P0, X)[0]
    _assert_identical(scale(stats, 2.0), stats + stats)
    _assert_same_params(scale(scale(stats, 0.25), 4.0), stats, rtol=1e-15)
    doubled_weights = MODEL.e_step(P0, X, np.full(X.shape[0], 2.0))[0]
    _assert_same_params(doubled_weights, scale(stats, 2.0), rtol=1e-13)


@pytest.mark.parametrize(
    ("threaded", "serial", "second", "expected"),
    [
        # a short pass that one thread does faster: one thread from the third pass on
        (0.004, 0.002, 0.004, [2, 2, 1, 1, 1, 1]),
        # a short pass that threads do faster: back to threads after the one trial
        (0.002, 0.004, 0.002, [2, 2, 1, 2, 2, 2]),
        # a long second pass: no trial at all
        (0.5, 0.9, 0.5, [2, 2, 2, 2, 2, 2]),
    ],
)
def test_short_passes_try_one_thread_and_keep_the_faster(
    monkeypatch, threaded, serial, second, expected
):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (400, 2)), rng.normal(5, 1, (400, 2))])
    model = Mixture(Gaussian(covariance_structure("diag")), 2, initializer("kmeans"))
    start = model.init(X, np.random.RandomState(0))
    used: list[int] = []
    clock = [0.0]
    real_map_reduce = executor_module.map_reduce

    def recording_map_reduce(fn, batches, reduce, n_jobs):
        used.append(n_jobs)
        # the second pass sets the reference; the others take their scripted time
        clock[0] += second if len(used) == 2 else (threaded if n_jobs > 1 else serial)
        return real_map_reduce(fn, batches, reduce, n_jobs)

    # The timing policy is the thread executor's (its placement of the data).
    monkeypatch.setattr(executor_module, "map_reduce", recording_map_reduce)
    monkeypatch.setattr(executor_module, "perf_counter", lambda: clock[0])
    result = fit_em(model, X, init=start, n_jobs=2, chunk_size=100, max_iter=5, tol=0.0)
    assert used == expected
    monkeypatch.undo()
    reference = fit_em(model, X, init=start, n_jobs=1, chunk_size=100, max_iter=5, tol=0.0)
    assert result.lower_bounds.tolist() == reference.lower_bounds.tolist()


# --------------------------------------------------------------------------------------
# Forced iterations, no iterations, and runs that degenerate part way
# --------------------------------------------------------------------------------------
def test_minus_infinite_tol_runs_exactly_max_iter_iterations():
    result = fit_em(MODEL, X, init=P0, tol=-np.inf, max_iter=7, warn_unconverged=False)
    assert result.n_iter == 7 and not result.converged
    assert result.lower_bounds.size == 8


def test_max_iter_zero_returns_the_start_with_its_bound():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit_em(MODEL, X, init=P0, max_iter=0)
    _assert_identical(result.params, P0)
    assert result.n_iter == 0 and not result.converged
    assert result.lower_bound == pytest.approx(_mean_loglik(P0, X), rel=1e-12)


class _CollapsesAtThirdMStep(_Wrapped):
    """An M-step that finds a singular covariance at the third iteration."""

    def __init__(self):
        self.calls = 0

    def m_step(self, stats, params):
        self.calls += 1
        if self.calls == 3:
            raise DegenerateFitError("component 1 collapsed")
        return super().m_step(stats, params)


def test_a_run_that_degenerates_keeps_its_last_valid_point_and_warns():
    reference = fit_em(MODEL, X, init=P0, tol=0.0, max_iter=2)
    with pytest.warns(ConvergenceWarning, match=r"stopped at iteration 3.*component 1 collapsed"):
        result = fit_em(_CollapsesAtThirdMStep(), X, init=P0, tol=0.0, max_iter=10)
    assert result.n_iter == 2 and not result.converged
    assert result.degenerated == "component 1 collapsed"
    _assert_identical(result.params, reference.params)
    np.testing.assert_array_equal(result.lower_bounds, reference.lower_bounds)


def test_a_start_that_is_degenerate_raises():
    class Degenerate(_Wrapped):
        def e_step(self, params, X, sample_weight=None, *, hard=False):
            raise DegenerateFitError("no valid start")

    with pytest.raises(DegenerateFitError, match="no valid start"):
        fit_em(Degenerate(), X, init=P0)


def test_warnings_point_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_em(MODEL, X, init=P0, tol=1e-12, max_iter=2)
    (warning,) = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert warning.filename == __file__
