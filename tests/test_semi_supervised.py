"""Semi-supervised mixture fits (rows of known component) and frozen components.

References are computed here independently: responsibilities and log-likelihoods with
scipy.stats, per-class estimates with NumPy and scikit-learn's discriminant analyses.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, poisson
from sklearn.discriminant_analysis import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from sklearn.metrics import adjusted_rand_score

import emkit
from emkit.core.batches import Labelled
from emkit.core.driver import fit_em
from emkit.estimators.mixtures import PoissonMixture
from emkit.execution.sources import as_source
from emkit.families.gaussian import Gaussian
from emkit.families.poisson import Poisson, PoissonParams
from emkit.models.mixture import Mixture, MixtureParams

MONOTONE_RTOL = 1e-12


def _blobs(seed: int, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Three overlapping Gaussian classes in 2-D and their labels."""
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0, 0.0], [2.5, 0.5], [0.5, 2.5]])
    scales = [np.array([[1.0, 0.3], [0.3, 0.6]]), np.eye(2) * 0.8, np.array([[0.5, 0], [0, 1.4]])]
    X = np.vstack([rng.multivariate_normal(c, s, n) for c, s in zip(centres, scales, strict=True)])
    return X, np.repeat(np.arange(3), n)


def _some_labels(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    rng = np.random.RandomState(seed)
    labels = np.full(y.size, -1)
    chosen = rng.choice(y.size, int(fraction * y.size), replace=False)
    labels[chosen] = y[chosen]
    return labels


def _gaussian_params(seed: int) -> MixtureParams:
    rng = np.random.RandomState(seed)
    means = rng.normal(size=(3, 2)) * 1.5
    covariances = np.stack([a @ a.T + 0.5 * np.eye(2) for a in rng.normal(size=(3, 2, 2))])
    return MixtureParams(
        np.array([0.5, 0.3, 0.2]), Gaussian("full", 0.0).from_covariances(means, covariances)
    )


def _log_joint(params: MixtureParams, X: np.ndarray) -> np.ndarray:
    """``log w_k + log N(x_i | mu_k, Sigma_k)`` by scipy, shape (n_samples, n_components)."""
    c = params.components
    return np.stack(
        [
            np.log(w) + multivariate_normal(m, s).logpdf(X)
            for w, m, s in zip(params.weights, c.means, c.covariances, strict=True)
        ],
        axis=1,
    )


def _semi_supervised_bound(log_joint: np.ndarray, labels: np.ndarray, w: np.ndarray) -> float:
    """Summed log-likelihood of unlabelled rows plus complete-data one of labelled rows."""
    known = labels >= 0
    per_row = logsumexp(log_joint, axis=1)
    per_row[known] = log_joint[known, labels[known]]
    return float(w @ per_row)


# -- 1. the E-step: one-hot responsibilities and the bound ------------------------------------
@pytest.mark.parametrize("path", ["e_step", "e_step_reference"])
@pytest.mark.parametrize("hard", [False, True])
def test_labelled_rows_keep_one_hot_responsibilities(path, hard):
    X, y = _blobs(0, 40)
    labels = _some_labels(y, 0.3, 1)
    w = np.random.RandomState(2).uniform(0.0, 2.0, y.size)
    w[:5] = 0.0
    params = _gaussian_params(3)
    model = Mixture(Gaussian("full", 0.0), 3)
    stats, loglik = getattr(model, path)(params, Labelled(X, labels), w, hard=hard)

    log_joint = _log_joint(params, X)
    if hard:
        resp = np.eye(3)[np.argmax(log_joint, axis=1)]
        per_row = log_joint.max(axis=1)
    else:
        resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
        per_row = logsumexp(log_joint, axis=1)
    known = labels >= 0
    resp[known] = np.eye(3)[labels[known]]
    per_row[known] = log_joint[known, labels[known]]
    resp *= w[:, None]
    assert_allclose(stats.sum_w, resp.sum(axis=0), rtol=1e-12)
    centred = [resp[:, k] @ (X - params.components.means[k]) for k in range(3)]
    assert_allclose(stats.components.sum_dx, np.stack(centred), rtol=1e-10, atol=1e-12)
    assert_allclose(loglik, w @ per_row, rtol=1e-12)


def test_fused_e_step_equals_reference_with_labels():
    X, y = _blobs(4, 300)  # more rows than one block of the compiled pass
    labels = _some_labels(y, 0.5, 5)
    params = _gaussian_params(6)
    for covariance in ("full", "tied", "diag", "spherical"):
        family = Gaussian(covariance, 0.0)
        fitted = emkit.GaussianMixture(3, covariance_type=covariance, random_state=0).fit(X)
        p = MixtureParams(params.weights, fitted._params().components)
        model = Mixture(family, 3)
        for data in (Labelled(X, labels), Labelled(X.astype(np.float32), labels)):
            fused, ll = model.e_step(p, data)
            ref, ll_ref = model.e_step_reference(p, data)
            assert_allclose(ll, ll_ref, rtol=1e-6 if data.dtype == np.float32 else 1e-12)
            for name in ("sum_w", "sum_dx", "scatter"):
                assert_allclose(
                    getattr(fused.components, name),
                    getattr(ref.components, name),
                    rtol=1e-5 if data.dtype == np.float32 else 1e-10,
                    atol=1e-8,
                )


def test_labelled_rows_with_unlabelled_batch_equal_plain_e_step():
    X, _ = _blobs(7, 30)
    params, model = _gaussian_params(8), Mixture(Gaussian("full", 0.0), 3)
    plain, ll = model.e_step(params, X)
    unlabelled, ll_unlabelled = model.e_step(params, Labelled.unlabelled(X))
    assert ll == ll_unlabelled
    assert_array_equal(plain.components.scatter, unlabelled.components.scatter)


def test_fit_predict_returns_the_given_labels():
    X, y = _blobs(9, 60)
    labels = _some_labels(y, 0.2, 10)
    # A row of class 0 near the centre of class 0, said to be of component 1.
    central = int(np.flatnonzero(y == 0)[np.argmin(np.abs(X[y == 0]).sum(axis=1))])
    labels[central] = 1
    est = emkit.GaussianMixture(3, random_state=0)
    predicted = est.fit_predict(X, labels=labels)
    known = labels >= 0
    assert_array_equal(predicted[known], labels[known])
    assert (
        est.predict(X[central : central + 1])[0] != 1
    )  # the model itself disagrees with that label
    assert_array_equal(predicted[~known], est.predict(X)[~known])


def test_y_is_ignored_as_scikit_learn_requires():
    """scikit-learn's checks pass class labels of no meaning as ``y`` to a density
    estimator; known components go in ``labels``."""
    X, y = _blobs(11, 40)
    plain = emkit.GaussianMixture(3, random_state=0).fit(X)
    with_y = emkit.GaussianMixture(3, random_state=0).fit(X, y)
    assert_array_equal(plain.means_, with_y.means_)
    labelled = emkit.GaussianMixture(3, random_state=0).fit(X, labels=y)
    assert not np.allclose(np.sort(plain.means_, axis=0), np.sort(labelled.means_, axis=0))


# -- 2. every row labelled: the per-class estimates ------------------------------------------
def _class_estimates(X: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    proportions = np.bincount(y, minlength=k) / y.size
    means = np.stack([X[y == c].mean(axis=0) for c in range(k)])
    covariances = np.stack([np.cov(X[y == c].T, bias=True) for c in range(k)])
    return proportions, means, covariances


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_all_rows_labelled_gives_class_estimates(covariance_type):
    X, y = _blobs(12, 50)
    y = np.roll(y, 7)  # classes of unequal sizes
    proportions, means, class_cov = _class_estimates(X, y, 3)
    expected = {
        "full": class_cov,
        "tied": np.tensordot(proportions, class_cov, axes=1),
        "diag": np.stack([np.diag(c) for c in class_cov]),
        "spherical": np.stack([np.diag(c).mean() for c in class_cov]),
    }[covariance_type]

    # From the labels alone (the initial partition) ...
    est = emkit.GaussianMixture(3, covariance_type=covariance_type, reg_covar=0.0)
    est.fit(X, labels=y)
    assert est.converged_
    assert_allclose(est.weights_, proportions, rtol=1e-12)
    assert_allclose(est.means_, means, rtol=1e-12, atol=1e-14)
    assert_allclose(est.covariances_, expected, rtol=1e-10)

    # ... and by one M-step from parameters that know nothing of the classes.
    model = Mixture(Gaussian(covariance_type, 0.0), 3)
    start = emkit.GaussianMixture(3, covariance_type=covariance_type, random_state=1).fit(X[::-1])
    result = fit_em(model, Labelled(X, y), init=start._params(), max_iter=1, warn_unconverged=False)
    assert_allclose(result.params.weights, proportions, rtol=1e-12)
    assert_allclose(result.params.components.means, means, rtol=1e-12, atol=1e-14)
    assert_allclose(result.params.components.covariances, expected, rtol=1e-10)


def test_all_rows_labelled_agrees_with_discriminant_analysis():
    X, y = _blobs(13, 40)
    full = emkit.GaussianMixture(3, reg_covar=0.0).fit(X, labels=y)
    qda = QuadraticDiscriminantAnalysis(store_covariance=True).fit(X, y)
    assert_allclose(full.weights_, qda.priors_, rtol=1e-12)
    assert_allclose(full.means_, qda.means_, rtol=1e-12, atol=1e-14)
    assert_allclose(full.covariances_, np.stack(qda.covariance_), rtol=1e-10)

    tied = emkit.GaussianMixture(3, covariance_type="tied", reg_covar=0.0).fit(X, labels=y)
    lda = LinearDiscriminantAnalysis(solver="lsqr", store_covariance=True).fit(X, y)
    assert_allclose(tied.means_, lda.means_, rtol=1e-12, atol=1e-14)
    assert_allclose(tied.covariances_, lda.covariance_, rtol=1e-10)


def test_all_rows_labelled_through_the_reference_path():
    rng = np.random.RandomState(14)
    y = rng.randint(0, 3, 200)
    X = rng.poisson(np.array([[1.0, 4.0], [6.0, 2.0], [3.0, 9.0]])[y])
    est = PoissonMixture(3).fit(X, labels=y)
    _, means, _ = _class_estimates(X.astype(float), y, 3)
    assert_allclose(est.weights_, np.bincount(y) / y.size, rtol=1e-12)
    assert_allclose(est.lambdas_, means, rtol=1e-12)


def test_a_component_without_labelled_rows_keeps_its_start():
    X, y = _blobs(15, 40)
    y = np.where(y == 2, 1, y)  # nothing is labelled 2
    est = emkit.GaussianMixture(3, reg_covar=0.0).fit(X, labels=y)
    assert est.weights_[2] == 0.0
    _, means, _ = _class_estimates(X, y, 2)
    assert_allclose(est.means_[:2], means, rtol=1e-12, atol=1e-14)
    # It starts, and stays, at the overall mean (the family's rule for empty components).
    assert_allclose(est.means_[2], X.mean(axis=0), rtol=1e-12)


# -- 3. a few labels ----------------------------------------------------------------------------
def _parallel_streaks(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Two long, thin, overlapping classes side by side: unsupervised EM prefers to split
    them across (left against right) rather than along."""
    rng = np.random.RandomState(seed)
    cov = np.array([[9.0, 0.0], [0.0, 0.25]])
    X = np.vstack(
        [rng.multivariate_normal([0, 0], cov, n), rng.multivariate_normal([0, 1.6], cov, n)]
    )
    return X, np.repeat([0, 1], n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_few_labels_improve_accuracy_and_fix_the_component_order(seed):
    X, y = _parallel_streaks(seed)
    labels = _some_labels(y, 0.05, 100 + seed)
    unsupervised = emkit.GaussianMixture(2, random_state=seed, max_iter=500).fit_predict(X)
    est = emkit.GaussianMixture(2, random_state=seed, max_iter=500)
    semi = est.fit_predict(X, labels=labels)
    assert adjusted_rand_score(y, unsupervised) < 0.2
    assert adjusted_rand_score(y, semi) > 0.7
    # No label switching: component k is class k, so accuracy needs no matching.
    unlabelled = labels < 0
    assert np.mean(semi[unlabelled] == y[unlabelled]) > 0.9


def test_initial_partition_is_matched_to_the_labels():
    X, y = _blobs(16, 50)
    labels = _some_labels(y, 0.1, 17)
    # An initializer that finds the classes but names them differently.
    model = Mixture(Gaussian("full", 0.0), 3, initializer=lambda X, k, rng, w: (y + 1) % 3)
    params = model.init(Labelled(X, labels), np.random.RandomState(0))
    _, means, _ = _class_estimates(X, y, 3)
    assert_allclose(params.components.means, means, rtol=1e-12, atol=1e-14)
    # An initializer that puts everything in component 0: that component takes the name
    # of the class most of its labelled rows have, and every labelled row its own label.
    start = np.zeros(y.size, dtype=np.int64)
    model = Mixture(Gaussian("full", 0.0), 3, initializer=lambda X, k, rng, w: start)
    params = model.init(Labelled(X, labels), np.random.RandomState(0))
    votes = np.bincount(labels[labels >= 0], minlength=3)
    assert np.sum(votes == votes.max()) == 1
    partition = np.where(labels >= 0, labels, np.argmax(votes))
    _, means, _ = _class_estimates(X, partition, 3)
    assert_allclose(params.components.means, means, rtol=1e-12, atol=1e-14)


# -- 4. the bound -------------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_bound_is_monotone_and_is_the_semi_supervised_log_likelihood(covariance_type):
    X, y = _blobs(18, 80)
    labels = _some_labels(y, 0.1, 19)
    w = np.random.RandomState(20).uniform(0.5, 2.0, y.size)
    est = emkit.GaussianMixture(
        3, covariance_type=covariance_type, reg_covar=0.0, tol=1e-10, max_iter=500, random_state=3
    )
    est.fit(X, sample_weight=w, labels=labels)
    bounds = est.lower_bounds_
    assert est.converged_ and bounds.size > 5
    assert np.all(np.diff(bounds) >= -MONOTONE_RTOL * np.abs(bounds[1:]))
    covariances = _full_covariances(est.covariances_, covariance_type, 3, 2)
    params = MixtureParams(
        est.weights_, Gaussian("full", 0.0).from_covariances(est.means_, covariances)
    )
    expected = _semi_supervised_bound(_log_joint(params, X), labels, w) / w.sum()
    assert_allclose(est.lower_bound_, expected, rtol=1e-10)


def _full_covariances(covariances: np.ndarray, kind: str, k: int, d: int) -> np.ndarray:
    if kind == "tied":
        return np.repeat(covariances[None], k, axis=0)
    if kind == "diag":
        return np.stack([np.diag(c) for c in covariances])
    if kind == "spherical":
        return covariances[:, None, None] * np.eye(d)
    return covariances


def test_bound_is_monotone_through_the_reference_path():
    rng = np.random.RandomState(21)
    truth = rng.randint(0, 3, 400)
    X = rng.poisson(np.array([[1.0, 3.0], [3.0, 1.5], [2.0, 2.0]])[truth])
    labels = _some_labels(truth, 0.1, 22)
    est = PoissonMixture(3, tol=1e-10, max_iter=500, random_state=0).fit(X, labels=labels)
    bounds = est.lower_bounds_
    assert est.converged_ and bounds.size > 5
    assert np.all(np.diff(bounds) >= -MONOTONE_RTOL * np.abs(bounds[1:]))
    log_joint = np.log(est.weights_) + np.stack(
        [poisson(lam).logpmf(X).sum(axis=1) for lam in est.lambdas_], axis=1
    )
    expected = _semi_supervised_bound(log_joint, labels, np.ones(truth.size)) / truth.size
    assert_allclose(est.lower_bound_, expected, rtol=1e-10)


# -- 5. labels travel with their rows ---------------------------------------------------------
def test_chunked_fit_equals_whole_and_threads_equal_serial():
    X, y = _blobs(23, 70)
    labels = _some_labels(y, 0.15, 24)
    w = np.random.RandomState(25).uniform(0.5, 2.0, y.size)
    common = dict(random_state=0, tol=1e-8, max_iter=300)
    whole = emkit.GaussianMixture(3, **common).fit(X, sample_weight=w, labels=labels)
    chunked = emkit.GaussianMixture(3, chunk_size=13, n_jobs=1, **common)
    chunked.fit(X, sample_weight=w, labels=labels)
    threaded = emkit.GaussianMixture(3, chunk_size=13, n_jobs=2, **common)
    threaded.fit(X, sample_weight=w, labels=labels)
    assert chunked.n_iter_ == whole.n_iter_
    assert_allclose(chunked.lower_bounds_, whole.lower_bounds_, rtol=1e-12)
    assert_allclose(chunked.means_, whole.means_, rtol=1e-10, atol=1e-12)
    assert_allclose(chunked.covariances_, whole.covariances_, rtol=1e-10, atol=1e-12)
    assert_array_equal(threaded.lower_bounds_, chunked.lower_bounds_)
    assert_array_equal(threaded.means_, chunked.means_)
    assert_array_equal(threaded.covariances_, chunked.covariances_)


def test_e_step_statistics_are_additive_over_labelled_batches():
    X, y = _blobs(26, 40)
    labels = _some_labels(y, 0.4, 27)
    params, model = _gaussian_params(28), Mixture(Gaussian("full", 0.0), 3)
    data = Labelled(X, labels)
    whole, ll = model.e_step(params, data)
    a, ll_a = model.e_step(params, data[:50])
    b, ll_b = model.e_step(params, data[50:])
    assert_allclose(ll_a + ll_b, ll, rtol=1e-12)
    for name in ("sum_w", "sum_dx", "scatter"):
        got = getattr((a + b).components, name)
        assert_allclose(got, getattr(whole.components, name), rtol=1e-10, atol=1e-12)


def test_streamed_labelled_chunks_equal_the_whole_data():
    X, y = _blobs(29, 50)
    labels = _some_labels(y, 0.2, 30)
    w = np.random.RandomState(31).uniform(0.5, 2.0, y.size)
    labels[100:120] = -1  # the chunk streamed as a plain array holds no label
    model = Mixture(
        Gaussian("full", 0.0), 3, initializer=lambda X, k, rng, w: np.arange(len(X)) % k
    )
    cuts = [0, 40, 100, 120, y.size]
    chunks = []
    for lo, hi in itertools.pairwise(cuts):
        part = X[lo:hi] if lo == 100 else Labelled(X[lo:hi], labels[lo:hi])
        chunks.append((part, w[lo:hi]))
    settings = dict(max_iter=20, tol=0.0, random_state=0)
    streamed = fit_em(model, chunks, **settings)
    whole = fit_em(model, Labelled(X, labels), sample_weight=w, **settings)
    assert_allclose(streamed.lower_bounds, whole.lower_bounds, rtol=1e-12)
    assert_allclose(streamed.params.components.means, whole.params.components.means, rtol=1e-10)


def test_initialisation_sample_keeps_labels_with_their_rows():
    n = 500
    X = np.arange(n, dtype=np.float64)[:, None] * np.ones((1, 2))
    labels = np.arange(n) % 4 - 1
    chunks = [Labelled(X[lo : lo + 70], labels[lo : lo + 70]) for lo in range(0, n, 70)]
    sample, _ = as_source(chunks).sample(60, np.random.RandomState(0))
    assert isinstance(sample, Labelled) and len(sample) == 60
    assert_array_equal(sample.labels, sample.X[:, 0].astype(np.int64) % 4 - 1)


def test_integer_weights_equal_repeated_rows():
    X, y = _blobs(32, 40)
    labels = _some_labels(y, 0.3, 33)
    counts = np.random.RandomState(34).randint(0, 4, y.size)
    start = dict(
        weights_init=[0.4, 0.3, 0.3],
        means_init=[[0.0, 0.0], [2.0, 1.0], [1.0, 2.0]],
        precisions_init=np.stack([np.eye(2)] * 3),
    )
    common = dict(tol=1e-10, max_iter=500, **start)
    weighted = emkit.GaussianMixture(3, **common).fit(X, sample_weight=counts, labels=labels)
    repeated = emkit.GaussianMixture(3, **common)
    repeated.fit(np.repeat(X, counts, axis=0), labels=np.repeat(labels, counts))
    assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-10)
    assert_allclose(weighted.means_, repeated.means_, rtol=1e-9)
    assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-9)

    # The same through the reference path (Poisson components).
    rng = np.random.RandomState(35)
    truth = rng.randint(0, 2, 150)
    counts_x = rng.poisson(np.array([[1.0, 5.0], [4.0, 1.0]])[truth])
    lab = _some_labels(truth, 0.3, 36)
    params = MixtureParams(np.array([0.5, 0.5]), PoissonParams(np.array([[2.0, 2.0], [3.0, 1.0]])))
    model = Mixture(Poisson(), 2)
    reps = rng.randint(0, 3, truth.size)
    settings = dict(init=params, tol=1e-10, max_iter=1000)
    a = fit_em(model, Labelled(counts_x, lab), sample_weight=reps, **settings)
    b = fit_em(model, Labelled(np.repeat(counts_x, reps, axis=0), np.repeat(lab, reps)), **settings)
    assert_allclose(a.lower_bounds, b.lower_bounds, rtol=1e-10)
    assert_allclose(a.params.components.lambdas, b.params.components.lambdas, rtol=1e-10)


# -- 6. frozen components -----------------------------------------------------------------------
def _frozen_start() -> dict:
    return dict(
        means_init=[[0.0, 0.0], [4.0, 4.0], [0.5, 2.5]],
        precisions_init=np.stack([np.eye(2), np.diag([2.0, 0.5]), np.eye(2)]),
    )


@pytest.mark.parametrize("accelerate", [None, "squarem"])
def test_frozen_components_keep_their_parameters_exactly(accelerate):
    X, _ = _blobs(37, 80)
    fitted = emkit.GaussianMixture(3, random_state=0).fit(X[::3])
    family = Gaussian("full", 1e-6)
    before = MixtureParams(
        fitted.weights_, family.from_covariances(fitted.means_ + 0.5, fitted.covariances_)
    )
    model = Mixture(family, 3, frozen_components={1})
    result = fit_em(model, X, init=before, tol=1e-8, max_iter=1000, accelerate=accelerate)
    after = result.params
    for name in ("means", "covariances", "precisions_cholesky"):
        assert_array_equal(getattr(after.components, name)[1], getattr(before.components, name)[1])
        moved = getattr(after.components, name)[[0, 2]] - getattr(before.components, name)[[0, 2]]
        assert np.abs(moved).max() > 1e-3
    assert np.abs(after.weights - before.weights).max() > 1e-3
    assert result.converged


def test_frozen_components_on_the_face():
    X, y = _blobs(38, 80)
    start = _frozen_start()
    est = emkit.GaussianMixture(3, frozen_components=[1], tol=1e-8, max_iter=500, **start)
    est.fit(X)
    assert_array_equal(est.means_[1], start["means_init"][1])
    assert_allclose(est.covariances_[1], np.linalg.inv(start["precisions_init"][1]), rtol=1e-12)
    assert_allclose(est.precisions_[1], start["precisions_init"][1], rtol=1e-12)
    free = emkit.GaussianMixture(3, tol=1e-8, max_iter=500, **start).fit(X)
    assert np.abs(free.means_[1] - est.means_[1]).max() > 0.5
    # Frozen parameters are not free parameters of the criteria: 3 x (2 + 3) + 2 weights in
    # 2-D, less the 2 + 3 of the frozen component.
    n = X.shape[0]
    assert free._n_parameters() == 17 and est._n_parameters() == 12
    assert_allclose(est.bic(X), -2 * est.score(X) * n + 12 * np.log(n), rtol=1e-12)
    # The frozen component keeps its weight free: it is re-estimated.
    assert est.weights_[1] != pytest.approx(1 / 3)
    # Frozen components and labels together.
    labels = _some_labels(y, 0.1, 39)
    both = emkit.GaussianMixture(3, frozen_components=[0], **start)
    predicted = both.fit_predict(X, labels=labels)
    assert_array_equal(both.means_[0], start["means_init"][0])
    assert_array_equal(predicted[labels >= 0], labels[labels >= 0])


def test_frozen_components_start_from_a_warm_start():
    X, _ = _blobs(40, 60)
    est = emkit.GaussianMixture(3, random_state=0).fit(X)
    means, covariances = est.means_.copy(), est.covariances_.copy()
    shifted = X + np.array([1.0, -0.5])
    est.set_params(warm_start=True, frozen_components=[2])
    est.fit(shifted)
    assert_array_equal(est.means_[2], means[2])
    assert_array_equal(est.covariances_[2], covariances[2])
    assert np.abs(est.means_[:2] - means[:2]).max() > 0.3


@pytest.mark.parametrize("covariance_type", ["tied", "EEE", "EII", "VEV"])
def test_shared_covariances_cannot_be_frozen_per_component(covariance_type):
    X, _ = _blobs(41, 30)
    start = _frozen_start()
    if covariance_type == "tied":
        start["precisions_init"] = np.eye(2)
    elif covariance_type == "EII":
        start["precisions_init"] = np.ones(3)
    est = emkit.GaussianMixture(3, covariance_type=covariance_type, frozen_components=[0], **start)
    with pytest.raises(ValueError, match="shares parameters between components"):
        est.fit(X)


def test_structure_refuses_a_parameter_without_a_component_axis():
    X, _ = _blobs(42, 30)
    model = Mixture(Gaussian("tied", 0.0), 3, frozen_components={0})
    params = emkit.GaussianMixture(3, covariance_type="tied", random_state=0).fit(X)._params()
    with pytest.raises(ValueError, match="shares parameters between components"):
        model.check_frozen_components(2)
    stats, _ = model.e_step(params, X)
    with pytest.raises(ValueError, match="no leading axis of the 3 components"):
        model.m_step(stats, params)


@pytest.mark.parametrize(
    "frozen, match",
    [
        ([3], "distinct component indices in 0..2"),
        ([-1], "distinct component indices in 0..2"),
        ([0, 0], "distinct component indices in 0..2"),
        ([0.0], "distinct component indices in 0..2"),
        ([[0]], "distinct component indices in 0..2"),
    ],
)
def test_bad_frozen_components(frozen, match):
    X, _ = _blobs(43, 30)
    est = emkit.GaussianMixture(3, frozen_components=frozen, **_frozen_start())
    with pytest.raises(ValueError, match=match):
        est.fit(X)


def test_frozen_components_need_starting_values():
    X, _ = _blobs(44, 30)
    with pytest.raises(ValueError, match="pass means_init and precisions_init"):
        emkit.GaussianMixture(
            3, frozen_components=[0], means_init=_frozen_start()["means_init"]
        ).fit(X)
    with pytest.raises(ValueError, match=r"component indices in 0\.\.2"):
        Mixture(Gaussian(), 3, frozen_components={5})
    with pytest.raises(ValueError, match=r"component indices in 0\.\.2"):
        Mixture(Gaussian(), 3, frozen_components={True})


# -- 7. bad labels ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make_labels, match",
    [
        (lambda y: np.where(y == 2, 3, y), r"labels must lie in -1..2"),
        (lambda y: np.where(y == 2, -2, y), r"-1 \(unknown\) or a component index"),
        (lambda y: y.astype(np.float64), "labels must be integers"),
        (lambda y: y.astype(bool), "labels must be integers"),
        (lambda y: y[:-1], r"labels must have shape \(90,\)"),
        (lambda y: y[:, None], r"labels must have shape \(90,\)"),
    ],
)
def test_bad_labels(make_labels, match):
    X, y = _blobs(45, 30)
    for est in (emkit.GaussianMixture(3), PoissonMixture(3)):
        data = X if isinstance(est, emkit.GaussianMixture) else np.abs(np.round(X)).astype(int)
        with pytest.raises(ValueError, match=match):
            est.fit(data, labels=make_labels(y))
        with pytest.raises(ValueError, match=match):
            est.fit_predict(data, labels=make_labels(y))
