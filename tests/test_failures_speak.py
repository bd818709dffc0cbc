"""Data a model cannot fit or score gets a clear message, never a made-up answer: values too
large for float64, a regulariser that dominates the data, samples no component can produce,
text columns, and category codes that would ask for huge tables."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import emkit
from emkit.exceptions import ImpossibleSampleWarning, RegularisationWarning


def _two_blobs(scale: float = 1.0, n: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.r_[rng.normal(0.0, 1.0, (n, 2)), rng.normal(6.0, 1.0, (n, 2))] * scale


# -- values too large for float64 -----------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: emkit.GaussianMixture(2),
        lambda: emkit.StudentMixture(2),
        lambda: emkit.BayesianGaussianMixture(n_components=2),
        lambda: emkit.KMeans(2, n_init=1),
        lambda: emkit.GaussianHMM(2),
    ],
    ids=["gmm", "student", "bayesian", "kmeans", "hmm"],
)
def test_values_whose_squares_overflow_are_a_value_error_naming_them(make):
    X = _two_blobs() * 1e300
    with pytest.raises(
        ValueError, match=r"too large for float64.*magnitude is \d\.\d+e\+300.*Rescale"
    ):
        make().fit(X)


@pytest.mark.parametrize("init_params", ["hc", "kmeans"])
def test_model_selection_refuses_values_whose_squares_overflow(init_params):
    X = _two_blobs() * 1e160
    with pytest.raises(ValueError, match=r"too large for float64.*column 0 .*\(row 0\)"):
        emkit.select_model(X, n_components=[1, 2], init_params=init_params)


def test_large_values_that_do_not_overflow_fit():
    X = _two_blobs() * 1e140
    gm = emkit.GaussianMixture(2, random_state=0, reg_covar=0.0).fit(X)
    assert np.all(np.isfinite(gm.means_)) and gm.converged_


# -- a regulariser of the order of the data's variance ---------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: emkit.GaussianMixture(2, random_state=0),
        lambda: emkit.StudentMixture(2, random_state=0),
        lambda: emkit.BayesianGaussianMixture(n_components=2, random_state=0),
    ],
    ids=["gmm", "student", "bayesian"],
)
def test_a_regulariser_that_dominates_tiny_data_warns(make):
    X = _two_blobs(scale=1e-8)
    with pytest.warns(RegularisationWarning, match=r"reg_covar=1e-06 is .* times the variance"):
        make().fit(X)


def test_the_regularisation_warning_points_at_the_fit_and_the_cure_works():
    X = _two_blobs(scale=1e-8)
    with pytest.warns(RegularisationWarning) as caught:
        merged = emkit.GaussianMixture(2, random_state=0).fit(X)
    assert [w.filename for w in caught] == [__file__]
    # The regulariser swamps the clusters: both components sit at the overall mean.
    assert np.allclose(merged.means_[0], merged.means_[1], rtol=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = emkit.GaussianMixture(2, random_state=0, reg_covar=1e-22).fit(X)
    assert abs(found.means_[0, 0] - found.means_[1, 0]) > 4e-8


def test_constant_features_do_not_trigger_the_regularisation_warning():
    X = np.c_[_two_blobs(), np.ones(400)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emkit.GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)


# -- samples no component can produce ----------------------------------------------------------
def _poisson_with_a_zero_rate() -> tuple[emkit.PoissonMixture, np.ndarray]:
    rng = np.random.default_rng(1)
    X = np.c_[rng.poisson(3.0, 300), np.zeros(300)]
    model = emkit.PoissonMixture(2, random_state=0).fit(X)
    assert np.all(model.lambdas_[:, 1] == 0.0)
    return model, np.array([[2.0, 0.0], [1.0, 4.0], [3.0, 0.0]])


def test_an_impossible_sample_scores_minus_infinity_with_a_warning():
    model, X = _poisson_with_a_zero_rate()
    with pytest.warns(ImpossibleSampleWarning, match=r"1 of 3 samples .* row 1"):
        scores = model.score_samples(X)
    assert scores[1] == -np.inf and np.all(np.isfinite(scores[[0, 2]]))


def test_an_impossible_sample_has_no_posterior_and_no_label():
    model, X = _poisson_with_a_zero_rate()
    with pytest.warns(ImpossibleSampleWarning, match="NaN"):
        proba = model.predict_proba(X)
    assert np.all(np.isnan(proba[1])) and np.allclose(proba[[0, 2]].sum(axis=1), 1.0)
    with pytest.warns(ImpossibleSampleWarning, match="label -1"):
        labels = model.predict(X)
    assert labels[1] == -1 and np.all(labels[[0, 2]] >= 0)


def test_an_unseen_category_is_impossible():
    X = np.array([[0, 1], [1, 0], [0, 1], [1, 0]] * 10)
    model = emkit.CategoricalMixture(2, n_categories=3, random_state=0).fit(X)
    with pytest.warns(ImpossibleSampleWarning):
        assert model.predict(np.array([[2, 0]]))[0] == -1


def test_possible_samples_give_no_warning():
    model, X = _poisson_with_a_zero_rate()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict_proba(X[[0, 2]])
        model.predict(X[[0, 2]])
        model.score_samples(X[[0, 2]])


# -- text and categorical columns, and huge category codes -------------------------------------
def test_a_column_of_strings_is_refused_with_the_remedy():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {"color": pd.Categorical(["red", "blue", "red", "green"] * 10), "size": [1, 2] * 20}
    )
    with pytest.raises(ValueError, match=r"column 'color' holds category values.*OrdinalEncoder"):
        emkit.CategoricalMixture(2).fit(df)
    with pytest.raises(ValueError, match=r"column 'name' holds \w+ values, not numbers"):
        emkit.GaussianMixture(2).fit(pd.DataFrame({"name": ["a", "b"] * 10, "x": range(20)}))


def test_the_remedy_works_in_a_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    pd = pytest.importorskip("pandas")

    df = pd.DataFrame({"color": pd.Categorical(["red", "blue"] * 20), "size": ["s", "l"] * 20})
    pipe = make_pipeline(OrdinalEncoder(), emkit.CategoricalMixture(2, random_state=0)).fit(df)
    labels = pipe.predict(df)
    assert set(labels) == {0, 1} and labels[0] != labels[1]


def test_a_huge_category_code_names_the_column_instead_of_allocating():
    X = np.array([[0, 1], [1, 1e12], [0, 0]] * 5)
    with pytest.raises(ValueError, match=r"codes must be below 1048576.*column 1 holds 10{12}"):
        emkit.CategoricalMixture(2).fit(X)
    with pytest.raises(ValueError, match="n_categories must be at most"):
        emkit.CategoricalMixture(2, n_categories=10**9).fit(X[:, :1])


def test_checking_finite_data_needs_no_mask_of_the_whole_array():
    import tracemalloc

    from emkit.families.checks import data_array

    X = np.zeros((1_000_000, 8), dtype=np.float32)  # 32 MB; a boolean mask of it is 8 MB
    tracemalloc.start()
    try:
        assert data_array(X, "Gaussian") is X
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    X[123_456, 5] = np.inf
    with pytest.raises(ValueError, match=r"column 5 holds inf \(row 123456\)"):
        data_array(X, "Gaussian")
