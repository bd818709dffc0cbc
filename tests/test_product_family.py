"""Tests of the product family (records of mixed column types): scores against scipy.stats,
equality with a single part and with one diagonal Gaussian, recovery of a simulated mixed-type
mixture, the shared conformance checks as a mixture component and as an HMM emission,
SQUAREM, frozen parts, sampling and the data checks."""

from __future__ import annotations

import copy
import pickle
import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats as st
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score

from emkit import fit_em
from emkit.core.batches import Sequences
from emkit.core.stats import as_dict, identical, scale
from emkit.exceptions import ConvergenceWarning
from emkit.families.bernoulli import Bernoulli, BernoulliParams
from emkit.families.categorical import Categorical, CategoricalParams
from emkit.families.covariance import covariance_structure
from emkit.families.gaussian import Gaussian
from emkit.families.poisson import Poisson, PoissonParams
from emkit.families.product import Product, ProductParams, ProductStats, product_params
from emkit.models.hmm import HMM, HMMParams
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture, MixtureParams
from emkit.testing.conformance import check_monotone_bound, run_all

WEIGHTS = np.array([0.3, 0.3, 0.4])
# Columns interleaved, and out of order, on purpose: the parts must take their blocks and
# put samples back.
GAUSS_COLUMNS, CODE_COLUMNS, COUNT_COLUMNS = [0, 4], [1, 3], [5, 2]


def _diag(reg_covar: float = 1e-6) -> Gaussian:
    return Gaussian(covariance_structure("diag"), reg_covar=reg_covar)


def _mixed(reg_covar: float = 1e-6, **categorical: object) -> Product:
    """Two numeric columns (diagonal Gaussian), two categorical columns, two count columns."""
    return Product(
        [
            (_diag(reg_covar), GAUSS_COLUMNS),
            (Categorical(**categorical), CODE_COLUMNS),
            (Poisson(), COUNT_COLUMNS),
        ]
    )


def _truth(overlap: float = 0.0) -> ProductParams:
    """Three components whose numeric columns overlap heavily: the codes and the counts carry
    most of the information. ``overlap`` moves everything towards the components' average."""
    means = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    variances = np.array([[1.0, 1.5], [1.2, 1.0], [0.8, 1.0]])
    # Category 0 of the first column is likely under components 0 and 2 but not 1, category 3
    # under 1 only: no ordering of the codes separates the components.
    probs = np.zeros((3, 2, 4))
    probs[:, 0, :] = [[0.6, 0.05, 0.3, 0.05], [0.05, 0.3, 0.05, 0.6], [0.5, 0.4, 0.05, 0.05]]
    probs[:, 1, :3] = [[0.1, 0.8, 0.1], [0.7, 0.1, 0.2], [0.1, 0.2, 0.7]]
    lambdas = np.array([[2.0, 9.0], [7.0, 3.0], [4.0, 5.0]])

    def towards_average(a: np.ndarray) -> np.ndarray:
        return overlap * a.mean(axis=0) + (1.0 - overlap) * a

    return product_params(
        ["gaussian", "categorical", "poisson"],
        [
            _diag().from_covariances(towards_average(means), towards_average(variances)),
            CategoricalParams(towards_average(probs), np.array([4, 3])),
            PoissonParams(towards_average(lambdas)),
        ],
    )


def _sample(n: int, seed: int, overlap: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    model = Mixture(_mixed(), 3)
    return model.sample(MixtureParams(WEIGHTS, _truth(overlap)), n, np.random.RandomState(seed))


def _fit(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_em(model, X, **kwargs)


# -- 1. scores against scipy.stats ------------------------------------------------------------
def test_log_prob_is_the_sum_of_the_blocks_densities():
    full = Gaussian(covariance_structure("full"))
    family = Product(
        [
            (full, [0, 5]),
            (Categorical(), slice(1, 4, 2)),
            (Poisson(), 2),
            (Bernoulli(), range(4, 5)),
        ]
    )
    rng = np.random.RandomState(0)
    covariances = np.array([[[1.0, 0.3], [0.3, 2.0]], [[0.5, -0.2], [-0.2, 0.7]]])
    params = product_params(
        family.names,
        [
            full.from_covariances(np.array([[0.0, 1.0], [2.0, -1.0]]), covariances),
            CategoricalParams(
                np.array([[[0.2, 0.5, 0.3], [0.6, 0.4, 0.0]], [[0.1, 0.1, 0.8], [0.3, 0.7, 0.0]]]),
                np.array([3, 2]),
            ),
            PoissonParams(np.array([[3.0], [0.5]])),
            BernoulliParams(np.array([[0.2], [0.9]])),
        ],
    )
    n = 200
    X = np.empty((n, 7))
    X[:, [0, 5]] = rng.randn(n, 2)
    X[:, 1], X[:, 3] = rng.randint(0, 3, n), rng.randint(0, 2, n)
    X[:, 2], X[:, 4] = rng.poisson(2.0, n), rng.randint(0, 2, n)
    X[:, 6] = np.nan  # a column of no part is never read
    expected = np.zeros((n, 2))
    for k in range(2):
        expected[:, k] += st.multivariate_normal.logpdf(
            X[:, [0, 5]], params.gaussian.means[k], covariances[k]
        )
        for c, column in enumerate([1, 3]):
            size = int(params.categorical.n_categories[c])
            one_hot = np.eye(size)[X[:, column].astype(int)]
            expected[:, k] += st.multinomial.logpmf(
                one_hot, 1, params.categorical.probs[k, c, :size]
            )
        expected[:, k] += st.poisson.logpmf(X[:, 2], params.poisson.lambdas[k, 0])
        expected[:, k] += st.bernoulli.logpmf(X[:, 4], params.bernoulli.probs[k, 0])
    got = family.log_prob(params, X)
    assert got.shape == (n, 2) and got.dtype == np.float64
    assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert_allclose(family.log_prob(params, X.astype(np.float32)), expected, rtol=1e-5)
    # The ignored column may hold anything, and the parts' columns are as the user gave them.
    family.check_data(X)
    assert family.parts[1][1] == (1, 3) and family.parts[2][1] == (2,)


# -- 2. equalities with simpler families ------------------------------------------------------
@pytest.mark.parametrize(
    "family, init",
    [(Categorical(), "random"), (Poisson(), "kmeans"), (Bernoulli(), "kmeans")],
    ids=["categorical", "poisson", "bernoulli"],
)
def test_a_single_part_is_that_family_bit_for_bit(family, init):
    mixed = _sample(400, seed=1, overlap=0.3)[0]
    if isinstance(family, Categorical):
        X = mixed[:, CODE_COLUMNS]
    elif isinstance(family, Poisson):
        X = mixed[:, COUNT_COLUMNS]
    else:
        X = (mixed[:, CODE_COLUMNS] > 0).astype(np.float64)
    kwargs = dict(random_state=0, tol=0.0, max_iter=25)
    alone = _fit(Mixture(family, 3, initializer(init)), X, **kwargs)
    product = Product([(family, slice(0, X.shape[1]))])
    wrapped = _fit(Mixture(product, 3, initializer(init)), X, **kwargs)
    (part,) = wrapped.params.components.parts
    assert identical(part, alone.params.components)
    assert_array_equal(wrapped.params.weights, alone.params.weights)
    assert_array_equal(wrapped.lower_bounds, alone.lower_bounds)
    # A part on some columns of wider data is that family on those columns.
    wide = np.column_stack([np.full(X.shape[0], -7.5), X])
    shifted = Product([(family, range(1, 1 + X.shape[1]))])
    on_columns = _fit(Mixture(shifted, 3, initializer(init)), wide, **kwargs)
    alone_wide = _fit(Mixture(family, 3, initializer(init)), wide[:, 1:], **kwargs)
    assert_array_equal(on_columns.params.weights, alone_wide.params.weights)
    assert identical(on_columns.params.components.parts[0], alone_wide.params.components)


def test_a_single_gaussian_part_is_the_gaussian():
    """Bit for bit as an HMM emission (both score through log_prob and stats); to round-off
    in a mixture, where the Gaussian alone takes its fused compiled E-step."""
    X = _sample(400, seed=2)[0][:, GAUSS_COLUMNS]
    family = Gaussian(covariance_structure("full"))
    product = Product([(family, [0, 1])])
    seqs = Sequences(X, [150, 100, 150])
    kwargs = dict(random_state=0, tol=0.0, max_iter=20)
    alone = _fit(HMM(family, 3, initializer("kmeans")), seqs, **kwargs)
    wrapped = _fit(HMM(product, 3, initializer("kmeans")), seqs, **kwargs)
    assert identical(wrapped.params.emissions.gaussian, alone.params.emissions)
    assert_array_equal(wrapped.lower_bounds, alone.lower_bounds)
    alone = _fit(Mixture(family, 3, initializer("kmeans")), X, **kwargs)
    wrapped = _fit(Mixture(product, 3, initializer("kmeans")), X, **kwargs)
    assert_allclose(wrapped.lower_bounds, alone.lower_bounds, rtol=1e-12)
    for name, value in as_dict(alone.params.components).items():
        assert_allclose(as_dict(wrapped.params.components.gaussian)[name], value, rtol=1e-9)


def test_diagonal_gaussian_parts_are_one_diagonal_gaussian():
    X = _sample(500, seed=3)[0]
    blocks = [[0, 3], [1], [5, 2, 4]]
    product = Product([(_diag(), columns) for columns in blocks])
    kwargs = dict(random_state=0, tol=0.0, max_iter=40)
    whole = _fit(Mixture(_diag(), 3, initializer("kmeans")), X, **kwargs)
    split = _fit(Mixture(product, 3, initializer("kmeans")), X, **kwargs)
    assert_allclose(split.lower_bounds, whole.lower_bounds, rtol=1e-11)
    assert_allclose(split.params.weights, whole.params.weights, rtol=1e-9)
    for part, columns in zip(split.params.components.parts, blocks, strict=True):
        assert_allclose(part.means, whole.params.components.means[:, columns], rtol=1e-9)
        assert_allclose(
            part.covariances, whole.params.components.covariances[:, columns], rtol=1e-9
        )
    assert_allclose(
        product.log_prob(split.params.components, X),
        _diag().log_prob(whole.params.components, X),
        rtol=1e-9,
    )
    assert product.n_parameters(3, 6) == _diag().n_parameters(3, 6)


# -- 3. recovery ------------------------------------------------------------------------------
def test_mixed_type_mixture_is_recovered_and_beats_a_gaussian_mixture():
    X, labels = _sample(3000, seed=4)
    model = Mixture(_mixed(), 3, initializer("random"))
    fit = _fit(model, X, random_state=0, n_init=4, tol=1e-8, max_iter=500)
    assert fit.converged
    predicted = np.argmax(model.predict_proba(fit.params, X), axis=1)
    confusion = np.zeros((3, 3))
    np.add.at(confusion, (labels, predicted), 1.0)
    rows, order = linear_sum_assignment(-confusion)
    assert_array_equal(rows, np.arange(3))
    got, truth = fit.params.components, _truth()
    assert_allclose(fit.params.weights[order], WEIGHTS, atol=0.04)
    assert_allclose(got.gaussian.means[order], truth.gaussian.means, atol=0.2)
    assert_allclose(got.gaussian.covariances[order], truth.gaussian.covariances, rtol=0.2)
    assert_allclose(got.categorical.probs[order], truth.categorical.probs, atol=0.06)
    assert_array_equal(got.categorical.n_categories, [4, 3])
    assert_allclose(got.poisson.lambdas[order], truth.poisson.lambdas, rtol=0.1)

    gaussian = Mixture(Gaussian(covariance_structure("full")), 3, initializer("kmeans"))
    gmm = _fit(gaussian, X, random_state=0, n_init=4, tol=1e-8, max_iter=500)
    gmm_labels = np.argmax(gaussian.predict_proba(gmm.params, X), axis=1)
    ours, theirs = adjusted_rand_score(labels, predicted), adjusted_rand_score(labels, gmm_labels)
    assert ours > 0.6
    assert ours > theirs + 0.15, (ours, theirs)


# -- 4. conformance as a mixture component and as an HMM emission -----------------------------
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_mixture_conforms(weighted):
    X, _ = _sample(240, seed=5, overlap=0.5)
    w = np.random.RandomState(6).uniform(0.2, 3.0, size=X.shape[0]) if weighted else None
    model = Mixture(_mixed(reg_covar=0.0), 3, initializer("kmeans"))
    assert model.monotone
    run_all(model, X, model.init(X, np.random.RandomState(0), w), sample_weight=w)


def test_mixture_hard_em_conforms():
    X, _ = _sample(240, seed=7, overlap=0.5)
    model = Mixture(_mixed(reg_covar=0.0), 3, initializer("kmeans"))
    run_all(model, X, model.init(X, np.random.RandomState(0)), hard=True)


def _hmm_data(seed: int, lengths: tuple[int, ...]) -> tuple[Sequences, HMMParams]:
    startprob = np.array([0.5, 0.3, 0.2])
    transmat = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    truth = HMMParams(startprob, transmat, _truth(overlap=0.3))
    hmm = HMM(_mixed(), 3)
    rng = np.random.RandomState(seed)
    return Sequences.from_list([hmm.sample(truth, n, rng)[0] for n in lengths]), truth


def test_hmm_with_product_emissions_conforms():
    X, _ = _hmm_data(seed=8, lengths=(70, 1, 45, 90, 34))
    model = HMM(_mixed(reg_covar=0.0), 3, initializer("kmeans"))
    result = check_monotone_bound(model, X, max_iter=40)
    assert np.all(np.diff(result.lower_bounds) > 0)  # it does move: not stuck at the start
    w = np.repeat(np.array([1.0, 2.0, 0.5, 3.0, 1.5]), X.lengths)
    run_all(
        model, X, model.init(X, np.random.RandomState(0)), sample_weight=w, monotone_max_iter=30
    )


def test_hmm_sample_puts_every_part_in_its_columns():
    truth = _hmm_data(seed=9, lengths=(1,))[1]
    X, states = HMM(_mixed(), 3).sample(truth, 400, np.random.RandomState(9))
    assert X.shape == (400, 6)
    codes, counts = X[:, CODE_COLUMNS], X[:, COUNT_COLUMNS]
    assert np.all(codes == np.round(codes)) and codes[:, 0].max() <= 3 and codes[:, 1].max() <= 2
    assert np.all(counts == np.round(counts)) and counts.min() >= 0
    assert np.all(X[:, GAUSS_COLUMNS] != np.round(X[:, GAUSS_COLUMNS]))
    # Count columns have the means of the states that drew them.
    for k in range(3):
        rows = X[states == k]
        assert_allclose(
            rows[:, COUNT_COLUMNS].mean(axis=0), truth.emissions.poisson.lambdas[k], rtol=0.3
        )


# -- 5. SQUAREM and unconstrained coordinates -------------------------------------------------
def test_squarem_reaches_the_em_fixed_point():
    X, _ = _sample(800, seed=10, overlap=0.5)
    model = Mixture(_mixed(), 3, initializer("kmeans"))
    kwargs = dict(random_state=0, tol=1e-10, max_iter=3000)
    plain = _fit(model, X, **kwargs)
    fast = _fit(model, X, accelerate="squarem", **kwargs)
    assert plain.converged and fast.converged
    assert fast.n_e_steps < plain.n_e_steps
    assert_allclose(fast.lower_bound, plain.lower_bound, rtol=1e-9)
    for name, value in as_dict(plain.params).items():
        assert_allclose(as_dict(fast.params)[name], value, atol=1e-3, err_msg=name)


def test_unconstrained_coordinates_concatenate_the_parts():
    family = _mixed()
    params = _truth()
    vector = family.to_unconstrained(params)
    sizes = [
        f.to_unconstrained(p).size for (f, _), p in zip(family.parts, params.parts, strict=True)
    ]
    assert vector.shape == (sum(sizes),) and sizes == [12, 21, 6]
    back = family.from_unconstrained(vector, params)
    for name, value in as_dict(params).items():
        assert_allclose(as_dict(back)[name], value, rtol=1e-12, atol=1e-15, err_msg=name)
    with pytest.raises(ValueError, match="40 entries, the parameters 39"):
        family.from_unconstrained(np.append(vector, 0.0), params)
    # A part with frozen parameters gives no coordinates and keeps its values.
    frozen = Product([(_diag(), GAUSS_COLUMNS), (Poisson(frozen={"lambdas"}), COUNT_COLUMNS)])
    part_params = product_params(frozen.names, [params.gaussian, params.poisson])
    assert frozen.to_unconstrained(part_params).size == 12
    moved = frozen.from_unconstrained(np.zeros(12), part_params)
    assert moved.poisson is params.poisson
    assert_allclose(moved.gaussian.covariances, 1.0)


class _NoCoordinates:
    """A family without unconstrained coordinates (delegates to the Poisson family)."""

    def __init__(self) -> None:
        self._poisson = Poisson()

    def log_prob(self, params, X):
        return self._poisson.log_prob(params, X)

    def stats(self, params, X, resp):
        return self._poisson.stats(params, X, resp)

    def m_step(self, stats, params):
        return self._poisson.m_step(stats, params)

    def from_responsibilities(self, chunks):
        return self._poisson.from_responsibilities(chunks)


class _Recording(_NoCoordinates):
    """The Poisson family, noting the layout of every block it scores."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[bool, tuple[int, ...]]] = []

    def log_prob(self, params, X):
        self.seen.append((X.flags["C_CONTIGUOUS"], X.shape))
        return super().log_prob(params, X)


def test_parts_score_contiguous_blocks_in_their_column_order():
    recording = _Recording()
    family = Product([(recording, [3, 0]), (Poisson(), [1])])
    X = np.asfortranarray(np.arange(24.0).reshape(6, 4))
    params = product_params(
        family.names, [PoissonParams(np.array([[1.0, 10.0]])), PoissonParams(np.ones((1, 1)))]
    )
    got = family.log_prob(params, X)
    assert recording.seen == [(True, (6, 2))]
    expected = st.poisson.logpmf(X[:, 3], 1.0) + st.poisson.logpmf(X[:, 0], 10.0)
    assert_allclose(got[:, 0], expected + st.poisson.logpmf(X[:, 1], 1.0), rtol=1e-12)


def test_squarem_needs_coordinates_of_every_part():
    X, _ = _sample(100, seed=11)
    family = Product([(_diag(), GAUSS_COLUMNS), (_NoCoordinates(), COUNT_COLUMNS)])
    model = Mixture(family, 3, initializer("kmeans"))
    assert _fit(
        model, X, random_state=0, max_iter=5
    ).params.components._nocoordinates.lambdas.shape == (
        3,
        2,
    )
    with pytest.raises(TypeError, match=r"parts\[1\] \(_NoCoordinates, columns \[5, 2\]\)"):
        fit_em(model, X, random_state=0, accelerate="squarem")


# -- 6. statistics, frozen parts, parameters, sampling ----------------------------------------
def test_statistics_add_up_part_by_part():
    X, _ = _sample(301, seed=12)
    resp = np.random.default_rng(13).dirichlet(np.ones(3), size=301)
    family, params = _mixed(), _truth()
    whole = family.stats(params, X, resp)
    assert isinstance(whole, ProductStats) and len(whole.parts) == 3
    halves = family.stats(params, X[:150], resp[:150]) + family.stats(params, X[150:], resp[150:])
    assert type(halves) is type(whole)
    flat = as_dict(whole)
    assert set(flat) == {
        "gaussian.sum_w",
        "gaussian.sum_dx",
        "gaussian.scatter",
        "gaussian.centre",
        "categorical.sum_w",
        "categorical.counts",
        "categorical.sum_obs",
        "poisson.sum_w",
        "poisson.sum_x",
        "poisson.sum_obs",
    }
    for name, value in as_dict(halves).items():
        assert_allclose(value, flat[name], rtol=1e-12, atol=1e-12, err_msg=name)
    assert identical(sum([whole]), whole)
    assert_allclose(
        as_dict(scale(whole, 2.0))["categorical.counts"], 2.0 * flat["categorical.counts"]
    )
    for obj in (whole, params):
        assert identical(pickle.loads(pickle.dumps(obj)), obj)
        assert identical(copy.deepcopy(obj), obj)
    # The M-step is every part's M-step.
    new = family.m_step(whole, params)
    for (part, _), s, p, got in zip(
        family.parts, whole.parts, params.parts, new.parts, strict=True
    ):
        assert identical(got, part.m_step(s, p))


def test_threaded_fit_is_the_serial_fit():
    X, _ = _sample(600, seed=17, overlap=0.5)
    model = Mixture(_mixed(), 3, initializer("kmeans"))
    kwargs = dict(random_state=0, tol=0.0, max_iter=10, chunk_size=50)
    serial = _fit(model, X, n_jobs=1, **kwargs)
    threaded = _fit(model, X, n_jobs=2, **kwargs)
    assert identical(threaded.params, serial.params)
    assert_array_equal(threaded.lower_bounds, serial.lower_bounds)


def test_frozen_parameters_stay_per_part():
    X, _ = _sample(300, seed=14)
    truth = _truth()
    family = Product(
        [
            (_diag(), GAUSS_COLUMNS),
            (Categorical(frozen={"probs"}), CODE_COLUMNS),
            (Poisson(), COUNT_COLUMNS),
        ]
    )
    model = Mixture(family, 3)
    fit = _fit(model, X, init=MixtureParams(np.full(3, 1 / 3), truth), max_iter=20, tol=0.0)
    assert fit.params.components.categorical is truth.categorical
    assert not np.allclose(fit.params.components.poisson.lambdas, truth.poisson.lambdas)
    assert family.n_parameters(3, 6) == 3 * 4 + 0 + 3 * 2
    assert family.to_unconstrained(truth).size == 12 + 6


def test_n_parameters_and_monotone_come_from_the_parts():
    family = _mixed(n_categories=(4, 3))
    assert family.n_parameters(3, 6) == 3 * 2 * 2 + 3 * (3 + 2) + 3 * 2
    assert family.n_parameters(3, 9) == family.n_parameters(3, 6)  # extra columns: no part
    with pytest.raises(ValueError, match=r"column 5 out of range for data with 5 columns"):
        family.n_parameters(3, 5)
    assert _mixed(reg_covar=0.0).monotone
    assert not _mixed().monotone  # reg_covar > 0 in the Gaussian part
    # A prior keeps the M-step exact for the log posterior, the bound then reported.
    assert Product([(Poisson(lambdas_prior=1.0), [0])]).monotone
    assert not Product([(Bernoulli(prior=0.5), [0])]).monotone


def test_sample_assembles_the_columns_in_order():
    model = Mixture(_mixed(), 3)
    X, labels = _sample(2000, seed=15)
    assert X.shape == (2000, 6)
    assert_allclose(np.bincount(labels, minlength=3) / 2000, WEIGHTS, atol=0.04)
    for k in range(3):
        rows = X[labels == k]
        assert_allclose(rows[:, GAUSS_COLUMNS].mean(axis=0), _truth().gaussian.means[k], atol=0.2)
        assert_allclose(rows[:, COUNT_COLUMNS].mean(axis=0), _truth().poisson.lambdas[k], rtol=0.1)
        freq = np.bincount(rows[:, CODE_COLUMNS[0]].astype(int), minlength=4) / rows.shape[0]
        assert_allclose(freq, _truth().categorical.probs[k, 0], atol=0.06)
    again = model.sample(MixtureParams(WEIGHTS, _truth()), 2000, np.random.RandomState(15))[0]
    assert_array_equal(again, X)
    gappy = Product([(Poisson(), [0]), (Poisson(), [2])])
    params = product_params(gappy.names, [PoissonParams(np.ones((1, 1)))] * 2)
    with pytest.raises(ValueError, match=r"columns \[1\] belong to no part"):
        gappy.sample(params, np.array([5]), np.random.RandomState(0))


# -- 7. bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "parts, error, message",
    [
        (
            [(_diag(), [0, 1]), (Poisson(), slice(1, 3))],
            ValueError,
            "column 1 belongs to Product parts[0] and parts[1]",
        ),
        ([(Poisson(), [2, 0, 2])], ValueError, "parts[0]: column 2 is given twice"),
        ([(Poisson(), slice(2, None))], ValueError, "needs a non-negative stop"),
        ([(Poisson(), [0]), (Poisson(), [-1])], ValueError, "parts[1]: column -1 is negative"),
        ([(Poisson(), [])], ValueError, "parts[0]: columns must be an index"),
        ([(Poisson(), [0.5])], ValueError, "parts[0]: columns must be an index"),
        ([], ValueError, "at least one (family, columns) part"),
        ([(Poisson(),)], ValueError, "parts[0] must be a (family, columns) pair"),
        ([("gaussian", [0])], TypeError, "str is not a family"),
    ],
)
def test_bad_parts_are_refused(parts, error, message):
    with pytest.raises(error, match=re.escape(message)):
        Product(parts)


def _bad(row: int, column: int, value: float) -> np.ndarray:
    X = _sample(20, seed=16)[0]
    X[row, column] = value
    return X


@pytest.mark.parametrize(
    "X, message",
    [
        (
            _bad(3, CODE_COLUMNS[1], 1.5),
            "Product parts[1] (Categorical, columns [1, 3]): Categorical data must be integer "
            "category codes; column 3 holds 1.5 (row 3)",
        ),
        (
            _bad(7, CODE_COLUMNS[0], -1.0),
            "parts[1] (Categorical, columns [1, 3]): Categorical data must be non-negative "
            "category codes; column 1 holds -1 (row 7)",
        ),
        (
            _bad(2, COUNT_COLUMNS[1], -2.0),
            "parts[2] (Poisson, columns [5, 2]): Poisson counts must be non-negative; "
            "column 2 holds -2 (row 2)",
        ),
        (
            _bad(5, COUNT_COLUMNS[0], 2.5),
            "parts[2] (Poisson, columns [5, 2]): Poisson counts must be integers; "
            "column 5 holds 2.5 (row 5)",
        ),
        (
            _bad(4, GAUSS_COLUMNS[1], np.inf),
            "parts[0] (Gaussian, columns [0, 4]): Gaussian data must not hold infinite values "
            "(NaN marks a missing value); column 4 holds inf (row 4)",
        ),
        (
            _bad(6, CODE_COLUMNS[1], np.inf),
            "parts[1] (Categorical, columns [1, 3]): Categorical data must be finite; "
            "column 3 holds inf (row 6)",
        ),
        (
            _sample(20, seed=16)[0][:, :5],
            "parts[2] (Poisson, columns [5, 2]): column 5 out of range for data with 5 "
            "columns (0..4)",
        ),
        (np.zeros(6), "Product data must be a 2-D array"),
        (np.array([["a"] * 6]), "Product data must be numeric"),
    ],
    ids=[
        "fractional-code",
        "negative-code",
        "negative-count",
        "fractional-count",
        "nan",
        "inf",
        "out-of-range",
        "1-d",
        "strings",
    ],
)
def test_check_data_names_the_column(X, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _mixed().check_data(X)


def test_codes_beyond_the_categories_name_the_column():
    X = _bad(9, CODE_COLUMNS[1], 3.0)  # the second categorical column has codes 0..2
    family = _mixed(n_categories=(4, 3))
    message = "parts[1] (Categorical, columns [1, 3]): Categorical column 3 has 3 categories"
    with pytest.raises(ValueError, match=re.escape(message)):
        family.check_data(X)
    with pytest.raises(ValueError, match=re.escape(message)):
        family.log_prob(_truth(), X)


def test_fitting_bad_data_names_the_column():
    """The structures do not call check_data: the errors the parts raise on the way name the
    columns of the whole data too."""
    model = Mixture(_mixed(), 3, initializer("random"))
    with pytest.raises(ValueError, match=re.escape("column 3 holds 1.5 (row 3)")):
        fit_em(model, _bad(3, CODE_COLUMNS[1], 1.5), random_state=0)
    with pytest.raises(ValueError, match=re.escape("column 5 out of range for data with 5")):
        fit_em(model, _sample(20, seed=16)[0][:, :5], random_state=0)
    with pytest.raises(ValueError, match=re.escape("column 5 out of range for data with 5")):
        _mixed().log_prob(_truth(), _sample(20, seed=16)[0][:, :5])
    check = _mixed().check_data(_sample(20, seed=16)[0].astype(np.float32))
    assert check.dtype == np.float32
    assert _mixed().check_data(_sample(20, seed=16)[0].astype(np.int64)).dtype == np.float64
