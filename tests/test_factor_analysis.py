"""FactorAnalysis: EM on the covariance statistic against R's factanal (ability.cov), against
scikit-learn's FactorAnalysis at convergence, against scipy's densities with missing
values, and the model contract's conformance checks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.stats
from numpy.testing import assert_allclose
from scipy.stats import multivariate_normal
from sklearn.decomposition import FactorAnalysis as SklearnFA

import emkit
from emkit.core.driver import fit_em
from emkit.estimators.factor_analysis import FactorAnalysis, HeywoodWarning
from emkit.execution.sources import ChunkRows
from emkit.models.latent_linear import (
    CovarianceBlock,
    CovarianceModel,
    DiagonalNoise,
    MomentRows,
    RowModel,
    data_moments,
    factor_start,
    moments_of,
    noise_floor,
)
from emkit.numerics.rotation import promax, varimax
from emkit.testing.conformance import (
    check_chunked_statistics,
    check_float32_agrees,
    check_loglik_matches_log_prob,
    check_monotone_bound,
    check_reproducible,
)

# R's datasets::ability.cov (Smith and Stanley 1983, via Bartholomew 1987): 6 tests, 112
# subjects. The covariance matrix and factanal's printed output below are R's own, from
# its example check file tests/Examples/datasets-Ex.Rout.save (wch/r-source, example of
# ?ability.cov: factanal(factors = 1, covmat = ability.cov); update(, factors = 2);
# update(, factors = 2, rotation = "promax")).
ABILITY = np.array(
    [
        [24.641, 5.991, 33.520, 6.023, 20.755, 29.701],
        [5.991, 6.700, 18.137, 1.782, 4.936, 7.204],
        [33.520, 18.137, 149.831, 19.424, 31.430, 50.753],
        [6.023, 1.782, 19.424, 12.711, 4.757, 9.075],
        [20.755, 4.936, 31.430, 4.757, 52.604, 66.762],
        [29.701, 7.204, 50.753, 9.075, 66.762, 135.292],
    ]
)
ABILITY_N = 112
R_ONE = {
    "uniquenesses": [0.535, 0.853, 0.748, 0.910, 0.232, 0.280],
    "loadings": [[0.682], [0.384], [0.502], [0.300], [0.877], [0.849]],
    "statistic": 75.18,
    "dof": 9,
    "pvalue": 1.46e-12,
}
R_TWO = {
    "uniquenesses": [0.455, 0.589, 0.218, 0.769, 0.052, 0.334],
    "varimax": [
        [0.499, 0.543],
        [0.156, 0.622],
        [0.206, 0.860],
        [0.109, 0.468],
        [0.956, 0.182],
        [0.785, 0.225],
    ],
    # factanal prints loadings below 0.1 in magnitude as blanks (None here).
    "promax": [
        [0.364, 0.470],
        [None, 0.671],
        [None, 0.932],
        [None, 0.508],
        [1.023, None],
        [0.811, None],
    ],
    "statistic": 6.11,
    "dof": 4,
    "pvalue": 0.191,
}
# The same varimax loadings to 18 digits, as the GPArotation package's tests (cran/GPArotation,
# "test MASS 4th ed. p 322-324") record factanal's output.
R_TWO_VARIMAX_DIGITS = [
    [0.499437829039896530, 0.54344904693111962],
    [0.156070079431279873, 0.62153798991197484],
    [0.205786989958578748, 0.85992588538426895],
    [0.108530754440558652, 0.46776101732283504],
    [0.956242470279811574, 0.18209631992182243],
    [0.784768183877880943, 0.22482213687364205],
]
PRINTED = 5e-4 + 1e-9  # factanal prints three decimals


def _ability(k: int) -> FactorAnalysis:
    return FactorAnalysis(k, tol=1e-10, max_iter=100_000).fit_covariance(ABILITY, ABILITY_N)


def _data(n=1500, d=7, k=2, seed=0, shift=3.0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(d, k))
    noise = rng.uniform(0.2, 1.0, d)
    return rng.normal(size=(n, k)) @ W.T + rng.normal(size=(n, d)) * np.sqrt(noise) + shift


# -- R's factanal ---------------------------------------------------------------------------
def test_one_factor_matches_factanal_on_ability_cov():
    fa = _ability(1)
    assert_allclose(fa.uniquenesses_, R_ONE["uniquenesses"], atol=PRINTED)
    assert_allclose(fa.rotate(None).loadings, R_ONE["loadings"], atol=PRINTED)
    statistic, dof, pvalue = fa.factor_test_
    assert round(statistic, 2) == R_ONE["statistic"] and dof == R_ONE["dof"]
    assert float(f"{pvalue:.3g}") == R_ONE["pvalue"]
    assert not fa.heywood_.any()


def test_two_factors_varimax_and_promax_match_factanal_on_ability_cov():
    fa = _ability(2)
    assert_allclose(fa.uniquenesses_, R_TWO["uniquenesses"], atol=PRINTED)
    rotated = fa.rotate("varimax")
    assert_allclose(rotated.loadings, R_TWO["varimax"], atol=PRINTED)
    # factanal's optimiser and varimax (eps=1e-5) stop short of the exact optimum, which
    # EM run to tol=1e-10 reaches: agreement to a few 1e-5.
    assert_allclose(rotated.loadings, R_TWO_VARIMAX_DIGITS, atol=3e-5)
    # An orthogonal rotation of the standardised loadings, keeping the covariance.
    assert_allclose(rotated.rotation @ rotated.rotation.T, np.eye(2), atol=1e-12)
    standard = fa.components_.T / np.sqrt(np.diag(fa.get_covariance()))[:, None]
    assert_allclose(standard @ rotated.rotation, rotated.loadings, atol=1e-12)
    oblique = fa.rotate("promax")
    for got, want in zip(oblique.loadings.ravel(), np.array(R_TWO["promax"]).ravel(), strict=True):
        if want is None:
            assert abs(got) < 0.1
        else:
            assert abs(got - want) < PRINTED
    assert_allclose(np.diag(oblique.factor_correlation), 1.0, atol=1e-12)
    assert_allclose(standard @ oblique.rotation, oblique.loadings, atol=1e-12)
    statistic, dof, pvalue = fa.factor_test_
    assert round(statistic, 2) == R_TWO["statistic"] and dof == R_TWO["dof"]
    assert float(f"{pvalue:.3g}") == R_TWO["pvalue"]


def test_a_correlation_matrix_gives_the_same_standardised_fit():
    sd = np.sqrt(np.diag(ABILITY))
    corr = ABILITY / np.outer(sd, sd)
    a, b = _ability(2), FactorAnalysis(2, tol=1e-10, max_iter=100_000).fit_covariance(corr, 112)
    # The likelihood is flat along reading's small uniqueness: equal to a few 1e-5.
    assert_allclose(b.uniquenesses_, a.uniquenesses_, atol=5e-5)
    assert_allclose(b.rotate().loadings, a.rotate().loadings, atol=5e-5)
    assert_allclose(b.factor_test_.statistic, a.factor_test_.statistic, rtol=1e-7)


def test_rotations_match_r_conventions_on_a_known_matrix():
    """varimax with Kaiser normalisation keeps communalities and maximises the criterion:
    no small rotation of the result does better (an independent check of the optimum)."""
    L = _ability(2).rotate(None).loadings
    rotated = varimax(L, tol=1e-14)
    assert_allclose(np.sum(rotated.loadings**2, 1), np.sum(L**2, 1), rtol=1e-12)

    def criterion(M):
        h = np.sqrt(np.sum(M**2, 1))[:, None]
        X = M / h
        return np.sum(np.var(X**2, axis=0) * X.shape[0])

    best = criterion(rotated.loadings)
    for angle in (-1e-3, 1e-3):
        c, s = np.cos(angle), np.sin(angle)
        assert criterion(rotated.loadings @ np.array([[c, -s], [s, c]])) <= best + 1e-12
    assert promax(L).loadings.shape == L.shape


def test_heywood_case_is_held_at_the_bound_warned_and_matches_a_bounded_optimiser():
    # One factor of three variables: loading^2 of the first = r12 r13 / r23 = 1.12 > 1.
    R = np.array([[1.0, 0.8, 0.7], [0.8, 1.0, 0.5], [0.7, 0.5, 1.0]])
    with pytest.warns(HeywoodWarning, match=r"features \[0\]"):
        fa = FactorAnalysis(1, tol=1e-12, max_iter=100_000).fit_covariance(R, 200)
    assert fa.heywood_.tolist() == [True, False, False]
    assert np.all(fa.noise_variance_ > 0)
    assert fa.noise_variance_[0] == pytest.approx(0.005, rel=1e-12)

    def discrepancy(psi):  # factanal's objective as a function of the uniquenesses
        root = 1 / np.sqrt(psi)
        e = np.linalg.eigvalsh(R * np.outer(root, root))[:-1]
        return np.sum(e - np.log(e) - 1)

    ref = scipy.optimize.minimize(
        discrepancy, [0.3, 0.5, 0.5], method="L-BFGS-B", bounds=[(0.005, 1.0)] * 3
    )
    assert_allclose(fa.uniquenesses_, ref.x, atol=1e-4)
    assert fa.objective_[0] == pytest.approx(ref.fun, abs=1e-7)


# -- scikit-learn's FactorAnalysis ------------------------------------------------------------
@pytest.mark.parametrize("rotation", [None, "varimax", "quartimax"])
def test_agrees_with_scikit_learn_at_convergence(rotation):
    X = _data(n=600, seed=2)
    ours = FactorAnalysis(2, tol=1e-9, rotation=rotation).fit(X)
    theirs = SklearnFA(2, tol=1e-9, max_iter=100_000, rotation=rotation).fit(X)
    # The same maximum; the parameters to the flatness of the likelihood near it.
    assert_allclose(ours.loglike_[-1], theirs.loglike_[-1], rtol=1e-11)
    assert_allclose(ours.get_covariance(), theirs.get_covariance(), atol=1e-5)
    assert_allclose(ours.get_precision(), theirs.get_precision(), atol=1e-4)
    assert_allclose(ours.noise_variance_, theirs.noise_variance_, atol=1e-4)
    assert_allclose(ours.mean_, theirs.mean_, atol=1e-12)
    assert_allclose(ours.score_samples(X), theirs.score_samples(X), atol=2e-4)
    assert_allclose(ours.score(X), theirs.score(X), atol=1e-8)
    # Loadings and factors up to each factor's sign.
    sign = np.sign(np.sum(ours.components_ * theirs.components_, axis=1))
    assert_allclose(ours.components_, theirs.components_ * sign[:, None], atol=1e-4)
    assert_allclose(ours.transform(X), theirs.transform(X) * sign, atol=1e-4)
    assert list(ours.get_feature_names_out()) == ["factoranalysis0", "factoranalysis1"]


def test_the_bound_is_the_exact_log_likelihood_and_never_decreases():
    X = _data()
    fa = FactorAnalysis(3, tol=0.0, max_iter=60, accelerate=None).fit(X)
    assert fa.n_iter_ == 60
    assert np.all(np.diff(fa.lower_bounds_) >= -1e-12 * np.abs(fa.lower_bounds_[1:]))
    ref = multivariate_normal(fa.mean_, fa.get_covariance()).logpdf(X)
    assert_allclose(fa.loglike_[-1], ref.sum(), rtol=1e-11)
    assert_allclose(fa.score_samples(X), ref, rtol=1e-10)


def test_squarem_and_plain_em_reach_the_same_maximum():
    X = _data(seed=3)
    a = FactorAnalysis(2, tol=1e-9, accelerate=None, max_iter=100_000).fit(X)
    b = FactorAnalysis(2, tol=1e-9).fit(X)
    assert b.n_iter_ < a.n_iter_
    assert_allclose(a.get_covariance(), b.get_covariance(), atol=1e-4)
    assert_allclose(a.lower_bound_, b.lower_bound_, rtol=1e-9)


# -- the covariance statistic: one pass, wherever the rows are ---------------------------------
def test_moments_add_over_chunks_and_equal_numpy():
    X = _data(n=300)
    whole = moments_of(X)
    parts = sum(moments_of(X[i : i + 37]) for i in range(0, 300, 37))
    assert_allclose(parts.mean(), X.mean(0), rtol=1e-13)
    assert_allclose(parts.covariance(), np.cov(X.T, bias=True), rtol=1e-11)
    assert_allclose(whole.covariance(), parts.covariance(), rtol=1e-11)
    Xm = X.copy()
    Xm[::5, 2] = np.nan
    assert_allclose(moments_of(Xm).mean(), np.nanmean(Xm, 0), rtol=1e-13)
    assert moments_of(Xm).n_missing == 60


def test_chunked_threaded_and_file_fits_equal_the_array_fit(tmp_path):
    # A fixed number of plain EM steps: the paths are equal up to the round-off of the
    # moments' sums.
    same = {"tol": 0.0, "max_iter": 50, "accelerate": None}
    X = _data(n=800)
    ref = FactorAnalysis(2, **same).fit(X)
    chunks = ChunkRows([X[i : i + 100] for i in range(0, 800, 100)])
    for data, kwargs in ((X, {"chunk_size": 64, "n_jobs": 2}), (chunks, {})):
        got = FactorAnalysis(2, **same, **kwargs).fit(data)
        assert_allclose(got.get_covariance(), ref.get_covariance(), rtol=1e-9)
    path = tmp_path / "rows.npy"
    np.save(path, X)
    got = FactorAnalysis(2, **same).fit(emkit.open_data(path))
    assert_allclose(got.get_covariance(), ref.get_covariance(), rtol=1e-9)


def test_dask_array_fit_equals_the_array_fit():
    da = pytest.importorskip("dask.array")
    X = _data(n=600)
    same = {"tol": 0.0, "max_iter": 50, "accelerate": None}
    ref = FactorAnalysis(2, **same).fit(X)
    got = FactorAnalysis(2, **same).fit(da.from_array(X, chunks=(150, 7)))
    assert_allclose(got.get_covariance(), ref.get_covariance(), rtol=1e-9)


# -- missing values ---------------------------------------------------------------------------
def _with_missing(X, share=0.15, seed=1):
    Xm = X.copy()
    Xm[np.random.default_rng(seed).random(X.shape) < share] = np.nan
    return Xm


def test_missing_values_bound_is_the_observed_data_likelihood():
    X = _with_missing(_data(n=200))
    fa = FactorAnalysis(2, tol=1e-4).fit(X)
    cov, mean = fa.get_covariance(), fa.mean_
    ref = []
    for row in X:
        o = ~np.isnan(row)
        ref.append(multivariate_normal(mean[o], cov[np.ix_(o, o)]).logpdf(row[o]))
    assert_allclose(fa.score_samples(X), ref, rtol=1e-10)
    assert_allclose(fa.loglike_[-1], np.sum(ref), rtol=1e-10)
    assert fa.objective_.size == 0 and fa.factor_test_ is None


def test_missing_values_fit_is_monotone_and_recovers_the_complete_fit():
    X = _data(n=4000, seed=5)
    complete = FactorAnalysis(2, tol=1e-6).fit(X)
    fa = FactorAnalysis(2, tol=1e-6, accelerate=None).fit(_with_missing(X, 0.05))
    assert np.all(np.diff(fa.lower_bounds_) >= -1e-12 * np.abs(fa.lower_bounds_[1:]))
    # 5% missing at random: the same model up to sampling noise.
    assert_allclose(fa.get_covariance(), complete.get_covariance(), atol=0.1)


def test_row_e_step_without_nan_equals_the_covariance_e_step():
    X = _data(n=500)
    m = moments_of(X)
    S, mu, d, k = m.covariance(), m.mean(), 7, 2
    floor = noise_floor(np.diag(S), 0.005)
    start = factor_start(mu + 0.3, S, k, floor)  # off the sample mean: every term counts
    block = CovarianceBlock(mu, S)
    a, la = CovarianceModel(d, k, DiagonalNoise(), floor).e_step(start, block, np.array([500.0]))
    b, lb = RowModel(d, k, DiagonalNoise(), floor).e_step(start, X)
    for name in ("sum_xz", "sum_zz", "sum_xx"):
        assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-10, atol=1e-9)
    assert_allclose(la, lb, rtol=1e-12)
    rows = fit_em(RowModel(d, k, DiagonalNoise(), floor), X, init=start, tol=0, max_iter=20)
    summary = fit_em(
        CovarianceModel(d, k, DiagonalNoise(), floor),
        MomentRows(block, 500.0),
        init=start,
        tol=0,
        max_iter=20,
    )
    assert_allclose(rows.lower_bounds, summary.lower_bounds, rtol=1e-11)
    assert_allclose(rows.params.loadings, summary.params.loadings, rtol=1e-8, atol=1e-10)


def test_row_model_conforms_with_and_without_missing_values():
    X = _data(n=120, d=5)
    for data in (X, _with_missing(X, 0.2)):
        moments = data_moments(data)
        floor = noise_floor(np.diag(moments.covariance()), 0.005)
        model = RowModel(5, 2, DiagonalNoise(), floor)
        start = factor_start(moments.mean(), moments.covariance(), 2, floor)
        check_monotone_bound(model, data, init=start, max_iter=30)
        check_chunked_statistics(model, start, data, fit_max_iter=5)
        check_loglik_matches_log_prob(model, start, data)
        check_float32_agrees(model, start, data)
        check_reproducible(model, data, max_iter=5)


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda X: FactorAnalysis(2).fit(np.where(X > 4, np.inf, X)), "infinit"),
        (lambda X: FactorAnalysis(2).fit(X[:, 0]), "2D array"),
        (lambda X: FactorAnalysis(2).fit(X[:1]), "minimum of 2"),
        (lambda X: FactorAnalysis(9).fit(X), "n_components=9 must be at most n_features=7"),
        (lambda X: FactorAnalysis(-1).fit(X), "n_components must be"),
        (lambda X: FactorAnalysis(2, rotation="oblimin").fit(X), "rotation must be"),
        (lambda X: FactorAnalysis(2, svd_method="qr").fit(X), "svd_method must be"),
        (lambda X: FactorAnalysis(2, noise_variance_init=[1.0]).fit(X), "noise_variance_init"),
        (lambda X: FactorAnalysis(2, min_uniqueness=1.5).fit(X), "min_uniqueness"),
        (lambda X: FactorAnalysis(2).fit(X).transform(X[:, :3]), "3 features"),
        (lambda X: FactorAnalysis(2).fit_covariance([[1.0, np.nan], [np.nan, 1.0]], 10), "NaN"),
        (lambda X: FactorAnalysis(1).fit_covariance([[1.0, 2.0], [2.0, 1.0]], 10), "semi-def"),
        (lambda X: FactorAnalysis(1).fit_covariance(np.eye(3), 1), "n_samples"),
        (lambda X: FactorAnalysis(1).fit_covariance(np.ones((2, 3)), 10), "square"),
        (lambda X: FactorAnalysis(2).fit(X).rotate("oblimin"), "method must be"),
    ],
)
def test_bad_input_is_refused_clearly(call, match):
    with pytest.raises(ValueError, match=match):
        call(_data(n=50))


def test_unfitted_model_is_refused():
    with pytest.raises(emkit.exceptions.NotFittedError):
        FactorAnalysis(2).transform(_data(n=10))
    with pytest.raises(emkit.exceptions.NotFittedError):
        FactorAnalysis(2).get_covariance()


def test_float32_data_gives_float32_accurate_fits():
    X = _data()
    same = {"tol": 0.0, "max_iter": 50, "accelerate": None}
    a = FactorAnalysis(2, **same).fit(X.astype(np.float32))
    b = FactorAnalysis(2, **same).fit(X.astype(np.float32).astype(np.float64))
    assert_allclose(a.get_covariance(), b.get_covariance(), rtol=1e-9)


def test_fits_are_reproducible_and_saved_models_load_equal(tmp_path):
    X = _data()
    a = FactorAnalysis(2, random_state=3).fit(X)
    b = FactorAnalysis(2, random_state=3).fit(X)
    assert np.array_equal(a.components_, b.components_)
    path = a.save(tmp_path / "fa.emkit")
    loaded = emkit.load(path)
    assert type(loaded) is FactorAnalysis
    for name in ("components_", "noise_variance_", "mean_", "uniquenesses_", "heywood_"):
        assert np.array_equal(getattr(loaded, name), getattr(a, name)), name
    assert loaded.loglike_ == a.loglike_ and loaded.factor_test_ == a.factor_test_
    assert_allclose(loaded.transform(X), a.transform(X), rtol=0, atol=0)


def test_no_factor_is_independent_features():
    X = np.random.RandomState(0).normal(size=(60, 4)) * [1.0, 2.0, 3.0, 4.0]
    fa = FactorAnalysis(0).fit(X)
    assert fa.components_.shape == (0, 4)
    assert_allclose(fa.noise_variance_, X.var(axis=0), rtol=1e-12)
    expected = scipy.stats.norm(X.mean(axis=0), X.std(axis=0)).logpdf(X).sum(axis=1)
    assert_allclose(fa.score_samples(X), expected, rtol=1e-12)
    assert fa.transform(X).shape == (60, 0)
