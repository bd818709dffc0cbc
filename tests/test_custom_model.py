"""The worked example of docs/custom_models.md: a user-written model fitted by the EM driver.

The model lives in examples/genetic_linkage.py and is loaded from that file, so the tested code
is exactly the code the tutorial shows.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import emkit
from emkit.testing.conformance import (
    check_chunked_statistics,
    check_loglik_matches_log_prob,
    check_monotone_bound,
    run_all,
)

_EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "genetic_linkage.py"


def _load_example():
    name = "emkit_example_genetic_linkage"
    spec = importlib.util.spec_from_file_location(name, _EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


ex = _load_example()

# Dempster, Laird & Rubin (1977), Table 1: EM iterates from theta = 0.5. The table's ninth
# decimals of rounds 2 and 4 differ from exact arithmetic by up to 6.5e-10.
DLR_TABLE_1 = [
    0.500000000,
    0.608247423,
    0.624321051,
    0.626488879,
    0.626777323,
    0.626815632,
    0.626820719,
    0.626821395,
    0.626821484,
]


def _fit(data, **kwargs):
    options = {"tol": 1e-12, "max_iter": 100, "init": ex.LinkageParams(theta=0.5)}
    options.update(kwargs)
    return emkit.fit_em(ex.GeneticLinkage(), data, **options)


def test_closed_form_mle():
    theta = ex.THETA_HAT
    assert 197 * theta**2 - 15 * theta - 68 == pytest.approx(0.0, abs=1e-12)
    assert theta == pytest.approx(max(np.roots([197, -15, -68])), abs=1e-15)
    assert theta == pytest.approx(0.626821498, abs=5e-10)  # DLR's theta*, to nine decimals


def test_fit_reaches_the_closed_form_mle():
    fit = _fit(ex.per_animal())
    assert fit.converged
    # tol bounds the change of the mean log-likelihood, which is quadratic in the distance to
    # the maximum: tol=1e-12 leaves theta about 1e-7 away.
    assert abs(fit.params.theta - ex.THETA_HAT) < 1e-6
    # Running on with tol=0 (all max_iter iterations) reaches the fixed point of the EM map.
    more = _fit(ex.per_animal(), tol=0.0, max_iter=30, init=fit.params)
    assert abs(more.params.theta - ex.THETA_HAT) < 1e-10
    assert more.decreases == ()


def test_iterates_match_dlr_table_1():
    thetas = []
    _fit(
        ex.per_animal(),
        tol=0.0,
        max_iter=len(DLR_TABLE_1) - 1,
        callback=lambda info: thetas.append(info.params.theta),
    )
    np.testing.assert_allclose(thetas, DLR_TABLE_1, rtol=0, atol=1e-9)


def test_bound_never_decreases():
    model, X = ex.GeneticLinkage(), ex.per_animal()
    # From DLR's start and from random ones, 60 iterations: well past the fixed point, where
    # only round-off may move the bound.
    fit = check_monotone_bound(model, X, init=ex.LinkageParams(theta=0.5), max_iter=60)
    assert np.all(np.diff(fit.lower_bounds[:8]) > 0)
    for seed in range(3):
        check_monotone_bound(model, X, random_state=seed, max_iter=60)
    X4, w4 = ex.per_category()
    check_monotone_bound(model, X4, sample_weight=w4, random_state=0, max_iter=60)
    # The bound is the mean observed-data log-likelihood of the returned parameters.
    check_loglik_matches_log_prob(model, fit.params, X)
    assert fit.lower_bound == pytest.approx(model.log_prob(fit.params, X).mean(), abs=1e-14)


def test_statistics_are_additive():
    model, X = ex.GeneticLinkage(), ex.per_animal()
    # Non-integer weights: unit weights would hide a forgotten sample_weight.
    w = np.random.RandomState(0).uniform(0.5, 2.0, size=X.shape[0])
    for theta in (0.1, 0.5, 0.9):
        check_chunked_statistics(model, ex.LinkageParams(theta=theta), X, sample_weight=w)


@pytest.mark.parametrize("weighted", [False, True], ids=["animals", "categories"])
def test_conformance(weighted):
    if weighted:
        X, w = ex.per_category()
    else:
        X, w = ex.per_animal(), None
    run_all(ex.GeneticLinkage(), X, ex.LinkageParams(theta=0.3), sample_weight=w)


def test_chunked_data_gives_the_same_fit():
    X = ex.per_animal()
    order = np.random.RandomState(1).permutation(X.shape[0])
    whole = _fit(X)
    chunks = [X[order[:70]], X[order[70:71]], X[order[71:]]]
    chunked = _fit(chunks)
    assert chunked.n_iter == whole.n_iter
    assert chunked.params.theta == pytest.approx(whole.params.theta, abs=1e-15)
    np.testing.assert_allclose(chunked.lower_bounds, whole.lower_bounds, rtol=1e-14)
    # Chunks may carry weights: (X, sample_weight) pairs.
    X4, w4 = ex.per_category()
    pairs = _fit([(X4[:2], w4[:2]), (X4[2:], w4[2:])])
    assert pairs.params.theta == pytest.approx(whole.params.theta, abs=1e-15)
    # A small chunk_size cuts an in-memory array into batches, to the same effect.
    small = _fit(X, chunk_size=16)
    np.testing.assert_allclose(small.lower_bounds, whole.lower_bounds, rtol=1e-14)


def test_animal_rows_and_weighted_category_rows_agree():
    animals = _fit(ex.per_animal())
    X4, w4 = ex.per_category()
    categories = _fit(X4, sample_weight=w4)
    assert categories.total_weight == animals.total_weight == 197
    assert categories.n_iter == animals.n_iter
    assert categories.params.theta == pytest.approx(animals.params.theta, abs=1e-15)
    np.testing.assert_allclose(categories.lower_bounds, animals.lower_bounds, rtol=1e-14)


def test_random_restarts_reach_the_same_mle():
    starts = {}

    def record(info):
        if info.n_iter == 0:
            starts[info.run] = info.params.theta

    fit = emkit.fit_em(
        ex.GeneticLinkage(),
        ex.per_animal(),
        n_init=3,
        random_state=0,
        tol=0.0,
        max_iter=60,
        callback=record,
    )
    assert len(set(starts.values())) == 3
    assert all(0 < t < 1 for t in starts.values())
    assert abs(fit.params.theta - ex.THETA_HAT) < 1e-10
    np.testing.assert_allclose(fit.run_lower_bounds, fit.lower_bound, rtol=1e-14)
    # With tol=1e-12 every restart converges, to within about 1e-7 of the same point.
    quick = emkit.fit_em(ex.GeneticLinkage(), ex.per_animal(), n_init=3, random_state=0, tol=1e-12)
    assert quick.converged
    assert abs(quick.params.theta - ex.THETA_HAT) < 1e-6


def test_log_prob_is_the_observed_cell_probability():
    params = ex.LinkageParams(theta=0.4)
    got = ex.GeneticLinkage().log_prob(params, np.array([[0], [1], [2], [3]]))
    np.testing.assert_allclose(np.exp(got), [0.6, 0.15, 0.15, 0.1])


def test_refuses_what_it_does_not_model():
    model, params = ex.GeneticLinkage(), ex.LinkageParams(theta=0.5)
    with pytest.raises(ValueError, match="category indices"):
        model.e_step(params, np.array([[0], [4]]))
    with pytest.raises(ValueError, match="shape"):
        model.e_step(params, np.zeros((3, 2)))
    with pytest.raises(NotImplementedError, match="soft EM"):
        emkit.fit_em(model, ex.per_animal(), hard=True, init=params)


def test_tutorial_shows_the_example_verbatim():
    doc = (_EXAMPLE.parents[1] / "docs" / "custom_models.md").read_text(encoding="utf-8")
    blocks = [b.split("\n", 1)[1] for b in doc.split("```python")[1:]]
    shown = [b.split("```", 1)[0] for b in blocks if "class GeneticLinkage" in b]
    assert shown == [_EXAMPLE.read_text(encoding="utf-8")]
