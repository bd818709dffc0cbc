"""mclust's fourteen covariance models ``Sigma_k = lambda_k D_k A_k D_k^T`` as covariance
strategies: their M-steps against a general-purpose optimiser, their structure, their
parameter counts, and Gaussian mixtures with each of them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import minimize

import emkit
from emkit.families import mclust_covariance
from emkit.families.covariance import COVARIANCE_STRUCTURES, covariance_structure
from emkit.families.gaussian import Gaussian, GaussianParams
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture
from emkit.testing.conformance import check_estimator_contract, run_all

MODELS = (
    "EII",
    "VII",
    "EEI",
    "VEI",
    "EVI",
    "VVI",
    "EEE",
    "VEE",
    "EVE",
    "VVE",
    "EEV",
    "VEV",
    "EVV",
    "VVV",
)
ALIASES = {"VII": "spherical", "VVI": "diag", "EEE": "tied", "VVV": "full"}
ITERATIVE = ("VEI", "VEE", "VEV", "EVE", "VVE")


# --------------------------------------------------------------------------------------
# The models in their own parameterisation: volume, shape and orientation
# --------------------------------------------------------------------------------------
def _n_free(name: str, K: int, d: int) -> int:
    volume, shape, orientation = name
    n_rot = d * (d - 1) // 2
    return (
        {"E": 1, "V": K}[volume]
        + {"I": 0, "E": d - 1, "V": K * (d - 1)}[shape]
        + {"I": 0, "E": n_rot, "V": K * n_rot}[orientation]
    )


def _rotation(angles: np.ndarray, d: int) -> np.ndarray:
    """A rotation from d(d-1)/2 angles: the product of rotations in every coordinate plane."""
    rotation = np.eye(d)
    planes = [(p, q) for p in range(d - 1) for q in range(p + 1, d)]
    for (p, q), angle in zip(planes, angles, strict=True):
        plane = np.eye(d)
        plane[p, p] = plane[q, q] = np.cos(angle)
        plane[q, p] = np.sin(angle)
        plane[p, q] = -plane[q, p]
        rotation = rotation @ plane
    return rotation


def _covariances(name: str, theta: np.ndarray, K: int, d: int) -> np.ndarray:
    """Sigma_k = lambda_k D_k A_k D_k^T (K, d, d) from the model's free parameters."""
    volume, shape, orientation = name
    taken = 0

    def take(n: int) -> np.ndarray:
        nonlocal taken
        part = theta[taken : taken + n]
        taken += n
        return part

    log_volume = np.broadcast_to(take({"E": 1, "V": K}[volume]), (K,))
    log_shape = np.zeros((K, d))
    if shape != "I":
        free = take((d - 1) * (1 if shape == "E" else K)).reshape(-1, d - 1)
        log_shape[:, :-1] = free
        log_shape[:, -1] = -free.sum(axis=1)
    n_rot = d * (d - 1) // 2
    if orientation == "I":
        rotations = np.broadcast_to(np.eye(d), (K, d, d))
    elif orientation == "E":
        rotations = np.broadcast_to(_rotation(take(n_rot), d), (K, d, d))
    else:
        rotations = np.stack([_rotation(take(n_rot), d) for _ in range(K)])
    assert taken == theta.size
    variances = np.exp(log_volume[:, None] + log_shape)
    return np.einsum("kij,kj,klj->kil", rotations, variances, rotations)


def _objective(cov: np.ndarray, nk: np.ndarray, W: np.ndarray) -> float:
    """sum_k n_k log|Sigma_k| + tr(W_k Sigma_k^-1): minus twice the expected complete-data
    log-likelihood, up to terms free of the covariances."""
    total = 0.0
    for n, w, c in zip(nk, W, cov, strict=True):
        sign, logdet = np.linalg.slogdet(c)
        assert sign > 0
        total += n * logdet + np.trace(np.linalg.solve(c, w))
    return float(total)


def _scipy_minimum(name, nk, W, rng, n_starts=3):
    """The covariances minimising the objective over the model's own parameters: the best
    of BFGS runs from the pooled volume with unit shapes and no rotation, and from random
    points around it."""
    K, d = W.shape[:2]
    n = _n_free(name, K, d)
    pooled = np.log(np.trace(W.sum(axis=0)) / (d * nk.sum()))
    n_volumes = 1 if name[0] == "E" else K

    def f(theta):
        return _objective(_covariances(name, theta, K, d), nk, W)

    best = None
    for start in range(n_starts):
        theta0 = np.zeros(n) if start == 0 else rng.normal(scale=0.7, size=n)
        theta0[:n_volumes] += pooled
        res = minimize(f, theta0, method="BFGS", options={"gtol": 1e-9, "maxiter": 5000})
        if best is None or res.fun < best.fun:
            best = res
    return _covariances(name, best.x, K, d), best.fun


def _problem(d: int, seed: int, K: int = 3, n: int = 40):
    """Data, responsibilities, weights and scatters about the weighted means."""
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) + rng.standard_normal(d)
    resp = rng.dirichlet(np.full(K, 0.7), size=n)
    nk = resp.sum(axis=0)
    means = resp.T @ X / nk[:, None]
    diff = X[None] - means[:, None]
    W = np.einsum("nk,kni,knj->kij", resp, diff, diff)
    return X, resp, nk, W


def _m_step(name, X, resp, old_full, reg_covar=0.0, centres=None):
    """The family's M-step from statistics centred on ``centres`` (by default away from the
    new means), started from ``old_full`` (K, d, d) in the strategy's stored shape; returns
    full covariances."""
    K, d = resp.shape[1], X.shape[1]
    structure = covariance_structure(name)
    family = Gaussian(structure, reg_covar=reg_covar)
    old = _stored(structure, old_full)
    if centres is None:
        centres = X[:K] + 0.3
    params = GaussianParams(centres, old, structure.precisions_cholesky(old))
    new = family.m_step(family.stats(params, X, resp), params)
    return structure.full(new.covariances, K, d)


def _stored(structure, full: np.ndarray) -> np.ndarray:
    """Full covariances (K, d, d) of the strategy's structure in its stored shape."""
    # With K != d the stored shapes tell the four layouts apart.
    layout = structure.shape(2, 3)
    if layout == (2,):
        return np.diagonal(full, axis1=1, axis2=2).mean(axis=1)
    if layout == (2, 3):
        return np.diagonal(full, axis1=1, axis2=2).copy()
    if layout == (3, 3):
        return full[0].copy()
    return full.copy()


def _random_structured(name, K, d, rng):
    return _covariances(name, rng.normal(scale=0.5, size=_n_free(name, K, d)), K, d)


# --------------------------------------------------------------------------------------
# M-steps
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("name", MODELS)
def test_m_step_is_the_maximiser(name, d):
    X, resp, nk, W = _problem(d, seed=10 * d + MODELS.index(name))
    rng = np.random.RandomState(0)
    got = _m_step(name, X, resp, _random_structured(name, 3, d, rng))
    expected, best = _scipy_minimum(name, nk, W, rng)
    assert _objective(got, nk, W) <= best + 1e-10 * abs(best)
    assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize("name", MODELS)
def test_reg_covar_is_added_to_the_scatters_variances(name):
    """With reg_covar the M-step maximises the objective of the scatters plus
    n_k reg_covar I."""
    d, reg_covar = 3, 0.05
    X, resp, nk, W = _problem(d, seed=7)
    rng = np.random.RandomState(1)
    got = _m_step(name, X, resp, _random_structured(name, 3, d, rng), reg_covar=reg_covar)
    regularised = W + reg_covar * nk[:, None, None] * np.eye(d)
    expected, best = _scipy_minimum(name, nk, regularised, rng)
    assert _objective(got, nk, regularised) <= best + 1e-10 * abs(best)
    assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("name", MODELS)
def test_m_steps_never_decrease_the_expected_log_likelihood(name, d, monkeypatch):
    """From old covariances of the model (random ones, the maximiser for slightly different
    responsibilities as in EM, and the maximiser itself), every further inner round lowers
    the objective or keeps it, so even a truncated M-step is an EM step."""
    X, resp, nk, W = _problem(d, seed=3 + d)
    rng = np.random.RandomState(2)
    nearby = resp * rng.uniform(0.8, 1.2, size=resp.shape)
    olds = [_random_structured(name, 3, d, rng) for _ in range(4)]
    olds.append(_m_step(name, X, nearby / nearby.sum(axis=1, keepdims=True), olds[0]))
    olds.append(_m_step(name, X, resp, olds[0]))
    for i, old in enumerate(olds):
        values = [_objective(old, nk, W)]
        for rounds in (1, 2, 3, 5, 8, mclust_covariance.MAX_INNER_ITER):
            monkeypatch.setattr(mclust_covariance, "MAX_INNER_ITER", rounds)
            values.append(_objective(_m_step(name, X, resp, old), nk, W))
            monkeypatch.undo()
        slack = 1e-12 * np.abs(values).max()
        assert np.all(np.diff(values) <= slack), values
        if i == 0 and name in ITERATIVE:
            # From a random start one round does not reach the maximum: the rounds are
            # truncated indeed.
            assert values[1] - values[-1] > 1e-6 * abs(values[-1])


def _three_clusters(d: int, n: int = 300, seed: int = 0) -> np.ndarray:
    """Three clusters with different volumes, shapes and orientations."""
    rng = np.random.RandomState(seed)
    centres = 6.0 * np.eye(3, d) if d > 1 else np.array([[0.0], [6.0], [12.0]])
    labels = rng.choice(3, size=n, p=[0.4, 0.35, 0.25])
    factors = [
        np.diag(np.linspace(1.5, 0.5, d))
        @ _rotation(rng.uniform(-1, 1, d * (d - 1) // 2), d)
        * scale
        for scale in (1.0, 0.6, 1.3)
    ]
    noise = rng.standard_normal((n, d))
    return centres[labels] + np.einsum("nij,nj->ni", np.stack(factors)[labels], noise)


X3 = _three_clusters(3)


def _fit(name: str, X: np.ndarray, **kwargs) -> emkit.GaussianMixture:
    params = dict(random_state=0, reg_covar=0.0, tol=1e-10, max_iter=500) | kwargs
    return emkit.GaussianMixture(3, covariance_type=name, **params).fit(X)


def _decompose(cov: np.ndarray):
    """Volumes (K,), shapes (K, d) in decreasing order, orientations (K, d, d)."""
    values, vectors = np.linalg.eigh(cov)
    values, vectors = values[:, ::-1], vectors[:, :, ::-1]
    volumes = np.exp(np.log(values).mean(axis=1))
    return volumes, values / volumes[:, None], vectors


def _equal(a: np.ndarray) -> bool:
    return bool(np.allclose(a, a[:1], rtol=1e-8, atol=1e-8 * np.abs(a).max()))


@pytest.mark.parametrize("name", MODELS)
def test_fitted_covariances_have_the_structure(name):
    gm = _fit(name, X3)
    cov = covariance_structure(name).full(gm.covariances_, 3, 3)
    volumes, shapes, vectors = _decompose(cov)
    volume, shape, orientation = name
    assert _equal(volumes) == (volume == "E")
    if shape == "I":
        assert_allclose(shapes, 1.0, rtol=1e-12)
    else:
        assert _equal(shapes) == (shape == "E")
    off_diagonal = ~np.eye(3, dtype=bool)
    if orientation == "I":
        assert_array_equal(cov[:, off_diagonal], 0.0)
    else:
        # In the eigenvectors of one component the others are diagonal when they share
        # their orientation (the shapes here have distinct eigenvalues).
        turned = np.einsum("ji,kjl,lm->kim", vectors[0], cov, vectors[0])
        largest = np.abs(turned[:, off_diagonal]).max() / np.abs(cov).max()
        assert (largest < 1e-8) == (orientation == "E"), largest


@pytest.mark.parametrize("name", [m for m in MODELS if m not in ALIASES])
def test_components_without_weight_keep_their_own_parameters(name):
    """A component with no weight keeps its own (V) volume, shape and orientation, takes
    the shared (E) ones, and so keeps the model's structure."""
    d = 3
    X, resp, *_ = _problem(d, seed=1)
    resp[:, 2] = 0.0
    resp /= resp.sum(axis=1, keepdims=True)
    old = _random_structured(name, 3, d, np.random.RandomState(4))
    structure = covariance_structure(name)
    new = _m_step(name, X, resp, old)
    structure.check(_stored(structure, new), 3, d, "covariances")
    (old_volume, old_shape, old_axes), (volume, shape, axes) = (
        tuple(part[2] for part in _decompose(c)) for c in (old, new)
    )
    assert not np.allclose(new[2], old[2])
    if name[0] == "V":
        assert_allclose(volume, old_volume, rtol=1e-10)
    if name[1] == "V":
        assert_allclose(shape, old_shape, rtol=1e-10)
    if name[2] == "V":
        assert_allclose(np.abs(np.sum(axes * old_axes, axis=0)), 1.0, rtol=1e-10)


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_aliases_are_the_same_strategies(alias):
    name = ALIASES[alias]
    assert COVARIANCE_STRUCTURES[alias] is COVARIANCE_STRUCTURES[name]
    assert type(covariance_structure(alias)) is type(covariance_structure(name))
    got, expected = _fit(alias, X3, max_iter=20), _fit(name, X3, max_iter=20)
    assert got.covariances_.shape == expected.covariances_.shape
    for attr in ("weights_", "means_", "covariances_", "precisions_", "lower_bounds_"):
        assert_array_equal(getattr(got, attr), getattr(expected, attr), err_msg=attr)


NVAR = {
    "EII": lambda K, d: 1,
    "VII": lambda K, d: K,
    "EEI": lambda K, d: d,
    "VEI": lambda K, d: K + d - 1,
    "EVI": lambda K, d: 1 + K * (d - 1),
    "VVI": lambda K, d: K * d,
    "EEE": lambda K, d: d * (d + 1) // 2,
    "VEE": lambda K, d: K - 1 + d * (d + 1) // 2,
    "EVE": lambda K, d: 1 + K * (d - 1) + d * (d - 1) // 2,
    "VVE": lambda K, d: K * d + d * (d - 1) // 2,
    "EEV": lambda K, d: 1 + (d - 1) + K * d * (d - 1) // 2,
    "VEV": lambda K, d: K + (d - 1) + K * d * (d - 1) // 2,
    "EVV": lambda K, d: 1 + K * (d * (d + 1) // 2 - 1),
    "VVV": lambda K, d: K * d * (d + 1) // 2,
}


@pytest.mark.parametrize("K, d", [(1, 1), (3, 1), (3, 2), (4, 5), (7, 3)])
def test_number_of_parameters(K, d):
    for name in MODELS:
        expected = NVAR[name](K, d)
        assert covariance_structure(name).n_parameters(K, d) == expected, name
        if d > 1 or name[1:] == "II":
            assert _n_free(name, K, d) == expected, name
    assert {name: NVAR[name](3, 2) for name in MODELS} == {
        "EII": 1, "VII": 3, "EEI": 2, "VEI": 4, "EVI": 4, "VVI": 6, "EEE": 3,
        "VEE": 5, "EVE": 5, "VVE": 7, "EEV": 5, "VEV": 7, "EVV": 7, "VVV": 9,
    }  # fmt: skip


def test_bic_counts_the_models_parameters():
    n, d = X3.shape
    for name in ("VEV", "EVE", "EEI"):
        gm = _fit(name, X3, max_iter=5)
        expected = -2.0 * gm.score(X3) * n + (3 * d + 2 + NVAR[name](3, d)) * np.log(n)
        assert_allclose(gm.bic(X3), expected, rtol=1e-12)


# --------------------------------------------------------------------------------------
# Gaussian mixtures with every model
# --------------------------------------------------------------------------------------
X_SMALL = _three_clusters(2, n=120, seed=3)
X_SMALL_3D = _three_clusters(3, n=150, seed=4) * 0.5
WEIGHTS_3D = np.random.RandomState(5).uniform(0.2, 3.0, size=X_SMALL_3D.shape[0])


@pytest.mark.parametrize("weighted", [False, True], ids=["2d", "3d-weighted"])
@pytest.mark.parametrize("name", MODELS)
def test_gaussian_mixture_conforms(name, weighted):
    X, w = (X_SMALL_3D, WEIGHTS_3D) if weighted else (X_SMALL, None)
    model = Mixture(Gaussian(name, reg_covar=0.0), 3, initializer("kmeans"))
    run_all(model, X, model.init(X, np.random.RandomState(0), w), sample_weight=w)


@pytest.mark.parametrize("name", MODELS)
def test_estimator_fits_predicts_saves_and_loads(name, tmp_path):
    gm = emkit.GaussianMixture(3, covariance_type=name, random_state=0).fit(X3)
    check_estimator_contract(emkit.GaussianMixture(3, covariance_type=name), X_SMALL)
    loaded = emkit.load(gm.save(tmp_path / "gm.emkit"))
    assert loaded.covariance_type == name
    for attr in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert_array_equal(getattr(loaded, attr), getattr(gm, attr), err_msg=attr)
    assert_array_equal(loaded.predict(X3), gm.predict(X3))
    assert_array_equal(loaded.score_samples(X3), gm.score_samples(X3))
    # Its own precisions are a valid start that the model's structure accepts.
    again = emkit.GaussianMixture(
        3, covariance_type=name, precisions_init=gm.precisions_, means_init=gm.means_,
        weights_init=gm.weights_, max_iter=2, tol=0.0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        again.fit(X3)
    assert_allclose(again.means_, gm.means_, rtol=1e-3, atol=1e-3)


def _parts(name: str, K: int, d: int, rng):
    """Volumes (K,), shapes (K, d) and orientations (K, d, d) with the model's structure."""
    volume, shape, orientation = name
    volumes = np.exp(rng.normal(size=1 if volume == "E" else K)) * np.ones(K)
    log_shapes = rng.normal(size=(1 if shape == "E" else K, d)) * (shape != "I")
    shapes = np.exp(log_shapes - log_shapes.mean(axis=1, keepdims=True)) * np.ones((K, 1))
    n_rot = d * (d - 1) // 2
    if orientation == "I":
        rotations = np.repeat(np.eye(d)[None], K, axis=0)
    elif orientation == "E":
        rotations = np.repeat(_rotation(rng.uniform(-3, 3, n_rot), d)[None], K, axis=0)
    else:
        rotations = np.stack([_rotation(rng.uniform(-3, 3, n_rot), d) for _ in range(K)])
    return volumes, shapes, rotations


def _assemble(volumes, shapes, rotations) -> np.ndarray:
    return np.einsum("kij,kj,klj->kil", rotations, volumes[:, None] * shapes, rotations)


@pytest.mark.parametrize("name", [m for m in MODELS if m not in ALIASES])
def test_covariances_without_the_structure_are_refused(name):
    """Covariances (or precisions) that break one E letter of the model are refused; those
    with the structure are accepted, as covariances and as precisions."""
    K, d = 3, 3
    structure = covariance_structure(name)
    volumes, shapes, rotations = _parts(name, K, d, np.random.RandomState(5))
    good = _assemble(volumes, shapes, rotations)
    structure.check(_stored(structure, good), K, d, "covariances")
    structure.check(_stored(structure, np.linalg.inv(good)), K, d, "precisions_init")
    broken = []
    if name[0] == "E":
        broken.append(_assemble(volumes * [1.2, 1, 1], shapes, rotations))
    if name[1] == "E":
        stretched = shapes.copy()
        stretched[0, :2] *= [1.3, 1 / 1.3]
        broken.append(_assemble(volumes, stretched, rotations))
        if name[2] != "V":
            # The same eigenvalues on other axes.
            swapped = shapes.copy()
            swapped[0, :2] = swapped[0, 1::-1]
            broken.append(_assemble(volumes, swapped, rotations))
    if name[2] == "E":
        turned = rotations.copy()
        turned[0] = _rotation([0.1, 0.0, 0.0], d) @ turned[0]
        broken.append(_assemble(volumes, shapes, turned))
    assert broken
    for covariances in broken:
        with pytest.raises(ValueError, match=f"structure of covariance_type='{name}'"):
            structure.check(_stored(structure, covariances), K, d, "precisions_init")
    unstructured = _assemble(*_parts("VVV", K, d, np.random.RandomState(6)))
    estimator = emkit.GaussianMixture(
        K, covariance_type=name, precisions_init=_stored(structure, unstructured)
    )
    with pytest.raises(ValueError, match=r"precisions_init.*does not have the structure"):
        estimator.fit(X3)


def test_one_dimensional_data():
    """In one dimension only the volume letter matters: the E models fit as EII, the V
    models as VII."""
    X = _three_clusters(1, n=200, seed=2)
    reference = {letter: _fit(letter + "II", X, max_iter=50) for letter in "EV"}
    for name in MODELS:
        gm = _fit(name, X, max_iter=50)
        ref = reference[name[0]]
        assert_allclose(gm.lower_bounds_, ref.lower_bounds_, rtol=1e-9, err_msg=name)
        assert_allclose(gm.means_, ref.means_, rtol=1e-7, atol=1e-9, err_msg=name)
        full = covariance_structure(name).full(gm.covariances_, 3, 1)
        assert_allclose(full[:, 0, 0], ref.covariances_, rtol=1e-7, err_msg=name)


def test_unknown_names_are_refused_with_the_valid_ones():
    for bad in ("VVX", "vvv", "", None):
        with pytest.raises(ValueError, match="covariance_type must be one of") as info:
            covariance_structure(bad)
        for name in (*MODELS, "full", "tied", "diag", "spherical"):
            assert repr(name) in str(info.value)
    with pytest.raises(ValueError, match="'EVE'"):
        emkit.GaussianMixture(2, covariance_type="EEX").fit(X3)


@pytest.mark.parametrize("name", [m for m in MODELS if m not in ALIASES])
def test_no_posterior_mode_for_the_constrained_models(name):
    structure = covariance_structure(name)
    K, d = 3, 2
    with pytest.raises(NotImplementedError, match=f"covariance_type='{name}' has no posterior"):
        structure.map_estimate(np.ones(structure.scatter_shape(K, d)), np.ones(K), 0.01, 0.0, 0.0)


@pytest.mark.parametrize("name", ["EVI", "EVV"])
def test_degenerate_scatter_is_reported(name):
    """A component whose scatter is singular has no volume of its own to share."""
    # Component 0 holds three points on a line; statistics centred on its mean make its
    # scatter exactly singular.
    X = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [5.0, 5.0], [6.0, 7.0], [5.5, 4.0]])
    resp = np.repeat(np.eye(2), 3, axis=0)
    old = np.repeat(np.eye(2)[None], 2, axis=0)
    centres = np.array([[1.0, 0.0], [5.5, 5.0]])
    with pytest.raises(ValueError, match=r"ill-defined.*\(component 0:"):
        _m_step(name, X, resp, old, centres=centres)
    # reg_covar makes it well defined.
    _m_step(name, X, resp, old, reg_covar=1e-6, centres=centres)


@pytest.mark.parametrize("name", MODELS)
def test_squarem_is_refused_where_extrapolation_leaves_the_model(name):
    from emkit.models.initialization import initializer
    from emkit.models.mixture import Mixture

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (60, 2)), rng.normal(4, 1.5, (60, 2))])
    keeps = name not in {"VEE", "EVE", "VVE", "EEV", "VEV", "EVV"}
    assert covariance_structure(name).extrapolates is keeps
    estimator = emkit.GaussianMixture(2, covariance_type=name, accelerate="squarem", random_state=0)
    model = Mixture(Gaussian(covariance_structure(name)), 2, initializer("kmeans"))
    if keeps:
        estimator.fit(X)
        emkit.fit_em(model, X, accelerate="squarem", max_iter=20, random_state=0)
    else:
        with pytest.raises(ValueError, match="squarem' is not available for covariance_type"):
            estimator.fit(X)
        with pytest.raises(TypeError, match="squarem' is not available for covariance_type"):
            emkit.fit_em(model, X, accelerate="squarem", max_iter=20, random_state=0)
