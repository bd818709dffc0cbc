"""Compiled kernels against their NumPy reference twins, and the vectorised exp against NumPy."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from emkit.families import gaussian_kernels as gk
from emkit.families.covariance import Full
from emkit.numerics.logspace import (
    exp_nonpositive_inplace,
    normalize_log_rows,
    normalize_log_rows_reference,
)

SHAPES = [(1, 1, 1), (255, 2, 4), (256, 3, 2), (257, 8, 16), (700, 16, 8), (90, 64, 3)]


def _problem(n, d, k, seed=0, offset=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) + offset
    means = rng.standard_normal((k, d)) + offset
    A = rng.standard_normal((k, d, d))
    cov = A @ A.transpose(0, 2, 1) + np.eye(d)
    return rng, X, means, Full().precisions_cholesky(cov)


@pytest.mark.parametrize(("n", "d", "k"), SHAPES)
def test_distance_kernels_match_reference(n, d, k):
    rng, X, means, prec_chol = _problem(n, d, k, offset=1e4)
    prec = rng.random((k, d)) + 0.1
    assert_allclose(
        gk.weighted_sq_dist(X, means, prec),
        gk.weighted_sq_dist_reference(X, means, prec),
        rtol=1e-13,
    )
    assert_allclose(
        gk.full_scores(X, means, prec_chol, 1.0, np.zeros(k), np.empty((n, k))),
        gk.full_sq_mahalanobis_reference(X, means, prec_chol),
        rtol=1e-12,
    )


@pytest.mark.parametrize(("n", "d", "k"), SHAPES)
def test_score_kernels_write_scaled_shifted_distances_into_out(n, d, k):
    rng, X, means, prec_chol = _problem(n, d, k)
    prec = rng.random((k, d)) + 0.1
    bias = rng.standard_normal(k)
    for fast, slow, arg in [
        (gk.diag_scores, gk.weighted_sq_dist_reference, prec),
        (gk.full_scores, gk.full_sq_mahalanobis_reference, prec_chol),
    ]:
        out = np.full((n, k), np.nan)
        got = fast(X, means, arg, -0.5, bias, out)
        assert got is out
        assert_allclose(out, bias - 0.5 * slow(X, means, arg), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("n", "d", "k"), SHAPES)
def test_moment_kernels_match_reference(n, d, k):
    rng, X, means, _ = _problem(n, d, k, offset=1e3)
    resp = rng.random((n, k))
    for fast, slow in [
        (gk.centred_moments, gk.centred_moments_reference),
        (gk.full_moments, gk.full_moments_reference),
    ]:
        for a, b in zip(fast(X, resp, means), slow(X, resp, means), strict=True):
            assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())


def test_kernels_accept_float32_and_keep_float64_results():
    _, X, means, prec_chol = _problem(300, 4, 3)
    X32 = X.astype(np.float32)
    out = gk.full_scores(X32, means, prec_chol, 1.0, np.zeros(3), np.empty((300, 3)))
    assert out.dtype == np.float64
    assert_allclose(
        out, gk.full_sq_mahalanobis_reference(X32.astype(np.float64), means, prec_chol), rtol=1e-12
    )


def test_exp_matches_numpy_within_two_ulp_over_the_whole_range():
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [
            -rng.random(200_000) * 750,
            -rng.random(10_000) * 1e-6,
            [0.0, -0.0, -1e-300, -708.4, -709.8, -744.4, -745.13, -745.2, -746.0, -1e5, -np.inf],
        ]
    )
    y = x.copy()
    exp_nonpositive_inplace(y, np.empty_like(y), np.empty_like(y))
    ref = np.exp(x)
    normal = ref >= np.finfo(np.float64).tiny
    assert_allclose(y[normal], ref[normal], rtol=2.3e-16, atol=0)
    # Subnormal results: within one unit of the last place of a subnormal number.
    assert np.all(np.abs(y[~normal] - ref[~normal]) <= 5e-324)
    nan = np.array([np.nan])
    exp_nonpositive_inplace(nan, np.empty(1), np.empty(1))
    assert np.isnan(nan[0])


def test_normalize_rows_matches_reference_including_impossible_components():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((1000, 7)) * 30
    a[::3, 2] = -np.inf
    r1, l1 = normalize_log_rows_reference(a)
    r2, l2 = normalize_log_rows(a.copy())
    assert_allclose(r2, r1, rtol=1e-14, atol=1e-300)
    assert_allclose(l2, l1, rtol=1e-14)


@pytest.mark.parametrize(("n", "d", "k"), SHAPES)
@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_fused_e_steps_match_the_unfused_path(n, d, k, hard, weighted):
    rng, X, means, prec_chol = _problem(n, d, k, seed=3, offset=5.0)
    log_w = np.log(rng.dirichlet(np.ones(k)))
    w = rng.random(n) if weighted else np.empty(0)
    prec = rng.random((k, d)) + 0.2
    cases = [
        (
            gk.fused_full,
            prec_chol,
            np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(1),
            lambda: gk.full_sq_mahalanobis_reference(X, means, prec_chol),
            gk.full_moments_reference,
        ),
        (
            gk.fused_diag,
            prec,
            0.5 * np.log(prec).sum(1),
            lambda: gk.weighted_sq_dist_reference(X, means, prec),
            gk.centred_moments_reference,
        ),
    ]
    for fused, metric, log_det, maha, moments in cases:
        bias = log_w + log_det - 0.5 * d * np.log(2 * np.pi)
        sum_w, first, second, top, norm = fused(X, w, means, metric, bias, hard)
        log_joint = bias - 0.5 * maha()
        if hard:
            labels = np.argmax(log_joint, axis=1)
            resp = np.zeros_like(log_joint)
            resp[np.arange(n), labels] = 1.0
            log_norm = log_joint[np.arange(n), labels]
        else:
            resp, log_norm = normalize_log_rows_reference(log_joint)
        if weighted:
            resp = resp * w[:, None]
        ref_first, ref_second = moments(X, resp, means)
        assert_allclose(top + np.log(norm), log_norm, rtol=1e-13)
        assert_allclose(sum_w, resp.sum(axis=0), rtol=1e-12)
        assert_allclose(first, ref_first, rtol=1e-11, atol=1e-11 * np.abs(ref_first).max())
        assert_allclose(second, ref_second, rtol=1e-11, atol=1e-11 * np.abs(ref_second).max())
        if hard:
            assert_array_equal(sum_w > 0, np.bincount(labels, minlength=k) > 0)


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mixture_e_step_equals_its_reference_path(covariance, hard, weighted, dtype):
    from emkit.core.stats import as_dict
    from emkit.families.gaussian import Gaussian
    from emkit.models.initialization import initializer
    from emkit.models.mixture import Mixture

    rng = np.random.default_rng(4)
    X = (rng.standard_normal((600, 5)) + rng.integers(0, 3, size=(600, 1)) * 3.0).astype(dtype)
    w = rng.random(600) if weighted else None
    model = Mixture(Gaussian(covariance), 3, initializer("kmeans"))
    params = model.init(X, np.random.RandomState(0), w)
    fast_stats, fast_ll = model.e_step(params, X, w, hard=hard)
    ref_stats, ref_ll = model.e_step_reference(params, X, w, hard=hard)
    assert_allclose(fast_ll, ref_ll, rtol=1e-13)
    fast, ref = as_dict(fast_stats), as_dict(ref_stats)
    for name in ref:
        assert fast[name].dtype == np.float64
        assert_allclose(
            fast[name], ref[name], rtol=1e-11, atol=1e-11 * np.abs(ref[name]).max(), err_msg=name
        )


def test_a_row_no_component_explains_gets_zero_responsibilities():
    a = np.array([[-np.inf, -np.inf], [0.0, -1.0]])
    for normalise in (normalize_log_rows, normalize_log_rows_reference):
        resp, log_norm = normalise(a.copy())
        assert_array_equal(resp[0], [0.0, 0.0])
        assert log_norm[0] == -np.inf
        assert_allclose(resp[1].sum(), 1.0)


@pytest.mark.parametrize("name", ["full", "tied", "diag", "spherical"])
def test_structures_write_log_densities_into_out(name):
    from scipy.stats import multivariate_normal

    from emkit.families.covariance import covariance_structure

    structure = covariance_structure(name)
    rng = np.random.default_rng(4)
    n, d, k = 50, 3, 4
    X = rng.standard_normal((n, d)).astype(np.float32)
    means = rng.standard_normal((k, d))
    full = {
        "full": np.stack([a @ a.T + np.eye(d) for a in rng.standard_normal((k, d, d))]),
        "tied": np.eye(d) + 0.3,
        "diag": rng.uniform(0.5, 2.0, (k, d)),
        "spherical": rng.uniform(0.5, 2.0, k),
    }[name]
    prec_chol = structure.precisions_cholesky(full)
    covs = structure.full(full, k, d)
    expected = np.stack(
        [multivariate_normal(means[j], covs[j]).logpdf(X.astype(np.float64)) for j in range(k)],
        axis=1,
    )
    out = np.empty((n, k))
    assert structure.log_prob(X, means, prec_chol, out) is out
    assert_allclose(out, expected, rtol=1e-12)
    assert_allclose(structure.log_prob(X, means, prec_chol), expected, rtol=1e-12)
    for bad in (np.empty((n, k + 1)), np.empty((n, k), np.float32), np.empty((k, n)).T):
        with pytest.raises(ValueError, match="C-contiguous float64"):
            structure.log_prob(X, means, prec_chol, bad)
