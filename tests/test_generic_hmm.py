"""``emkit.HMM``: a hidden Markov model over any family, equal to the named faces where they
meet, with model files, frozen emissions and products of families."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import emkit
from emkit.families import Categorical, Gaussian, Poisson, Product
from emkit.families.covariance import covariance_structure

LENGTHS = [300, 200, 250]


def _poisson_sequences(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    states = np.concatenate([rng.integers(0, 2, 1) + np.zeros(n) for n in LENGTHS])
    for start in range(0, states.size, 25):
        states[start : start + 25] = (start // 25) % 2
    return rng.poisson(np.where(states == 0, 2.0, 7.0)[:, None] * [1.0, 1.5]).astype(float)


def _start(face, k: int, emissions: dict[str, np.ndarray]):
    face.startprob_ = np.full(k, 1.0 / k)
    face.transmat_ = np.full((k, k), 0.1 / (k - 1)) + np.eye(k) * (0.9 - 0.1 / (k - 1))
    for name, value in emissions.items():
        setattr(face, name, value)
    return face


def test_a_poisson_hmm_is_the_poisson_face_from_the_same_start():
    X = _poisson_sequences()
    lambdas = np.array([[1.0, 2.0], [5.0, 6.0]])
    common = {"n_iter": 15, "tol": -np.inf, "init_params": ""}
    named = _start(emkit.PoissonHMM(2, **common), 2, {"lambdas_": lambdas}).fit(X, LENGTHS)
    generic = _start(emkit.HMM(Poisson(), 2, **common), 2, {"lambdas_": lambdas}).fit(X, LENGTHS)
    assert_allclose(generic.lambdas_, named.lambdas_, rtol=1e-12)
    assert_allclose(generic.transmat_, named.transmat_, rtol=1e-12)
    assert_allclose(generic.lower_bounds_, named.lower_bounds_, rtol=1e-12)
    assert generic.score(X, LENGTHS) == pytest.approx(named.score(X, LENGTHS), rel=1e-12)
    assert_array_equal(generic.predict(X, LENGTHS), named.predict(X, LENGTHS))


def test_a_gaussian_hmm_is_the_gaussian_face_without_priors():
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(m, 1.0, size=(100, 2)) for m in (0, 4, 0, 4, 0)])
    lengths = [250, 250]
    means = np.array([[0.5, 0.5], [3.5, 3.5]])
    variances = np.ones((2, 2))
    named = emkit.GaussianHMM(
        2, "diag", covars_prior=0.0, covars_weight=0.0, n_iter=10, tol=-np.inf, init_params=""
    )
    named = _start(named, 2, {"means_": means, "covars_": variances}).fit(X, lengths)
    family = Gaussian(covariance_structure("diag"), reg_covar=0.0)
    generic = emkit.HMM(family, 2, n_iter=10, tol=-np.inf, init_params="")
    generic = _start(generic, 2, {"means_": means, "covariances_": variances})
    generic.precisions_cholesky_ = 1.0 / np.sqrt(variances)
    generic.fit(X, lengths)
    assert_allclose(generic.means_, named.means_, rtol=1e-10)
    assert_allclose(generic.covariances_, np.diagonal(named.covars_, axis1=1, axis2=2), rtol=1e-9)
    assert_allclose(generic.lower_bounds_, named.lower_bounds_, rtol=1e-11)


def test_the_bound_never_decreases_and_restarts_keep_the_best():
    X = _poisson_sequences(seed=2)
    model = emkit.HMM(Poisson(), 2, n_iter=40, tol=-np.inf, n_init=3, random_state=0)
    model.fit(X, LENGTHS)
    assert np.all(np.diff(model.lower_bounds_) >= -1e-12 * np.abs(model.lower_bounds_[1:]))


def test_emissions_left_out_of_params_stay_as_set():
    X = _poisson_sequences(seed=3)
    lambdas = np.array([[1.5, 2.5], [6.0, 9.0]])
    model = _start(emkit.HMM(Poisson(), 2, params="st", init_params="", n_iter=5), 2, {})
    model.lambdas_ = lambdas.copy()
    model.fit(X, LENGTHS)
    assert_array_equal(model.lambdas_, lambdas)
    assert not np.allclose(model.transmat_, _start(emkit.HMM(Poisson(), 2), 2, {}).transmat_)


def test_a_product_hmm_with_a_model_file(tmp_path):
    rng = np.random.default_rng(4)
    X = _poisson_sequences(seed=4)
    records = np.column_stack([X[:, 0] + rng.normal(size=X.shape[0]), (X[:, 1] > 5), X[:, 1]])
    family = Product(
        [(Gaussian("diag"), [0]), (Categorical(), [1]), (Poisson(), [2])],
        names=["level", "flag", "count"],
    )
    model = emkit.HMM(family, 2, n_iter=20, random_state=0).fit(records, LENGTHS)
    assert model.level_means_.shape == (2, 1) and model.count_lambdas_.shape == (2, 1)
    assert_array_equal(model.flag_n_categories_, [2])
    loaded = emkit.load(model.save(tmp_path / "records.emkit"))
    assert loaded.family == family
    assert loaded.score(records, LENGTHS) == model.score(records, LENGTHS)
    assert_array_equal(loaded.predict(records, LENGTHS), model.predict(records, LENGTHS))


def test_what_is_not_a_family_is_refused():
    X = _poisson_sequences()
    for family, match in [
        (Poisson, r"such as Poisson\(\), not the class"),
        ("poisson", "family object with log_prob.*; str has no log_prob"),
    ]:
        with pytest.raises(TypeError, match=match):
            emkit.HMM(family, 2).fit(X, LENGTHS)
