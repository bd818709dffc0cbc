"""Probabilistic latent semantic analysis: the fold-in kernel against its NumPy twin, the model
against a brute-force pLSA EM, the shared conformance checks, and the PLSA face."""

from __future__ import annotations

import warnings
from itertools import permutations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.estimator_checks import parametrize_with_checks

import emkit
from emkit.core.driver import fit_em
from emkit.estimators.plsa import PLSA
from emkit.exceptions import (
    ConvergenceWarning,
    ImpossibleSampleWarning,
    MonotonicityWarning,
    NotFittedError,
)
from emkit.execution.sources import ChunkRows
from emkit.models.plsa import PLSAModel, PLSAParams
from emkit.models.plsa_kernels import fold_in, fold_in_reference
from emkit.testing.conformance import (
    check_chunked_statistics,
    check_float32_agrees,
    check_monotone_bound,
    check_reproducible,
    run_all,
)


def _corpus(
    n_docs: int = 200, n_words: int = 40, k: int = 3, length: int = 60, seed: int = 0
) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    """Documents drawn from planted topics: counts, topics (k, n_words), proportions."""
    rng = np.random.default_rng(seed)
    beta = rng.dirichlet(np.full(n_words, 0.1), size=k)
    theta = rng.dirichlet(np.full(k, 0.3), size=n_docs)
    lengths = rng.integers(length // 2, 2 * length, size=n_docs)
    X = np.stack([rng.multinomial(n, t @ beta) for n, t in zip(lengths, theta, strict=True)])
    return sp.csr_array(X.astype(np.float64)), beta, theta


X, BETA, THETA = _corpus()
WEIGHTS = np.random.default_rng(3).uniform(0.2, 3.0, size=X.shape[0])


def _model(**kwargs) -> PLSAModel:
    """A model whose fold-in converges to round-off, so that EM is monotone."""
    settings = dict(max_doc_update_iter=2000, mean_change_tol=1e-14)
    settings.update(kwargs)
    return PLSAModel(3, X.shape[1], **settings)


def _start(model: PLSAModel, seed: int = 0) -> PLSAParams:
    return model.init(None, np.random.RandomState(seed))


def _loglik(X, theta, beta) -> float:
    """sum_dw n_dw log (theta beta)_dw, computed directly."""
    dense = np.asarray(sp.csr_array(X).toarray(), dtype=np.float64)
    probs = np.asarray(theta, np.float64) @ np.asarray(beta, np.float64)
    used = dense > 0
    return float((dense[used] * np.log(probs[used])).sum())


# -- the kernel ----------------------------------------------------------------------------------
def _kernel_cases():
    rng = np.random.default_rng(5)
    counts = sp.random_array((30, 25), density=0.3, rng=rng, format="csr")
    counts.data = np.ceil(counts.data * 6)
    counts = counts.tolil()
    counts[4, :] = 0  # an empty document
    counts = sp.csr_array(counts)
    counts.eliminate_zeros()
    beta = rng.dirichlet(np.ones(25), size=4)
    impossible = beta.copy()
    impossible[:, 3] = 0.0  # a word no topic can produce
    impossible /= impossible.sum(axis=1, keepdims=True)
    weights = rng.uniform(0, 2, size=30)
    weights[7] = 0.0
    return counts, beta, impossible, weights


@pytest.mark.parametrize("tempering", [1.0, 0.6])
@pytest.mark.parametrize("tol", [0.0, 1e-4])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("impossible", [False, True], ids=["possible", "impossible-word"])
def test_kernel_equals_its_numpy_twin(tempering, tol, dtype, impossible):
    counts, beta, zeroed, weights = _kernel_cases()
    topics = zeroed if impossible else beta
    X_ = counts.astype(dtype)
    kwargs = dict(tempering=tempering, max_iter=60, tol=tol)
    got = fold_in(X_, topics, weights, **kwargs)
    ref = fold_in_reference(X_, topics, weights, **kwargs)
    np.testing.assert_array_equal(got.n_iter, ref.n_iter)
    np.testing.assert_allclose(got.doc_topic, ref.doc_topic, rtol=0, atol=1e-13)
    np.testing.assert_allclose(got.topic_word, ref.topic_word, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.loglik, ref.loglik, rtol=1e-12)
    assert got.topic_word.dtype == np.float64 and got.loglik.dtype == np.float64
    np.testing.assert_allclose(got.doc_topic.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    # The empty document: uniform proportions, no iteration, nothing to its log-likelihood.
    np.testing.assert_array_equal(got.doc_topic[4], np.full(4, 0.25))
    assert got.n_iter[4] == 0 and got.loglik[4] == 0.0
    has_word = counts[:, [3]].toarray().ravel() > 0
    assert np.all(np.isneginf(got.loglik[has_word])) == impossible
    if impossible:
        assert np.all(got.topic_word[:, 3] == 0) and np.all(np.isfinite(got.doc_topic))
    # The weights scale the counts only, and the counts of a document sum to its words.
    plain = fold_in(X_, topics, None, **kwargs)
    np.testing.assert_array_equal(plain.doc_topic, got.doc_topic)
    possible = counts.toarray() * (topics.sum(axis=0) > 0)
    np.testing.assert_allclose(plain.topic_word.sum(), possible.sum(), rtol=1e-12)
    bare = fold_in(X_, topics, weights, accumulate=False, **kwargs)
    assert bare.topic_word.shape == (4, 0)
    np.testing.assert_array_equal(bare.loglik, got.loglik)


def test_the_fold_in_reaches_the_documents_maximum():
    """The per-document log-likelihood is concave in theta: the fixed point is its maximum,
    which scipy's optimiser over the simplex finds too."""
    from scipy.optimize import minimize

    counts, beta, _, _ = _kernel_cases()
    found = fold_in(counts, beta, max_iter=5000, tol=1e-15)
    for d in (0, 1, 2):
        x = counts[[d], :].toarray().ravel()

        def negative(z, x=x):
            theta = np.exp(z - z.max())
            theta /= theta.sum()
            return -(x @ np.log(theta @ beta))

        best = minimize(negative, np.zeros(4), method="Nelder-Mead", options=dict(xatol=1e-10))
        assert found.loglik[d] >= -best.fun - 1e-9
        np.testing.assert_allclose(found.loglik[d], -best.fun, rtol=1e-8)


# -- the model -----------------------------------------------------------------------------------
def test_statistics_of_chunks_add_up_to_those_of_the_corpus():
    model = _model(mean_change_tol=1e-6, max_doc_update_iter=200)
    params = _start(model)
    whole, ll = model.e_step(params, X, WEIGHTS)
    for size in (1, 7, 64):
        parts = [
            model.e_step(params, X[a : a + size], WEIGHTS[a : a + size])
            for a in range(0, X.shape[0], size)
        ]
        summed = sum(p[0] for p in parts)
        np.testing.assert_allclose(summed.topic_word, whole.topic_word, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(summed.n_words, whole.n_words, rtol=1e-13)
        np.testing.assert_allclose(sum(p[1] for p in parts), ll, rtol=1e-12)
    np.testing.assert_allclose(whole.n_words, WEIGHTS @ X.sum(axis=1), rtol=1e-13)
    # Dense rows are the same documents.
    dense, ll_dense = model.e_step(params, X.toarray(), WEIGHTS)
    np.testing.assert_allclose(dense.topic_word, whole.topic_word, rtol=1e-13)
    np.testing.assert_allclose(ll_dense, ll, rtol=1e-13)


def _brute_force_plsa(N: np.ndarray, beta: np.ndarray, n_iter: int) -> tuple[np.ndarray, list]:
    """Plain pLSA EM on a dense corpus: every iteration folds every document in from uniform
    proportions until they no longer change, then takes q(z|d,w) for all (d, w) at once and
    normalises the expected counts. Returns the topics and the log-likelihood history."""
    n_docs, _ = N.shape
    k = beta.shape[0]
    history = []
    for it in range(n_iter + 1):
        theta = np.full((n_docs, k), 1.0 / k)
        for _ in range(100_000):
            joint = theta[:, :, None] * beta[None, :, :]  # (d, z, w)
            q = joint / joint.sum(axis=1, keepdims=True)
            new = np.einsum("dw,dzw->dz", N, q) / N.sum(axis=1, keepdims=True)
            done = np.abs(new - theta).max() < 1e-16
            theta = new
            if done:
                break
        history.append(float((N * np.log(theta @ beta)).sum()))
        if it == n_iter:
            break
        joint = theta[:, :, None] * beta[None, :, :]
        q = joint / joint.sum(axis=1, keepdims=True)
        counts = np.einsum("dw,dzw->zw", N, q)
        beta = counts / counts.sum(axis=1, keepdims=True)
    return beta, history


def test_em_equals_a_brute_force_plsa_on_a_tiny_corpus():
    rng = np.random.default_rng(11)
    N = rng.poisson(2.0, size=(6, 8)).astype(np.float64)
    N[0, 0] += 1  # no empty document: the brute force divides by document lengths
    model = PLSAModel(2, 8, max_doc_update_iter=100_000, mean_change_tol=1e-16)
    start = model.init(None, np.random.RandomState(4))
    expected, history = _brute_force_plsa(N, start.topic_word, n_iter=15)
    result = fit_em(model, sp.csr_array(N), init=start, max_iter=15, tol=-np.inf)
    assert result.n_iter == 15
    np.testing.assert_allclose(result.params.topic_word, expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(result.lower_bounds * 6, history, rtol=1e-11)
    assert np.all(np.diff(history) >= -1e-12)


def test_the_bound_never_decreases_with_enough_inner_iterations():
    for weights in (None, WEIGHTS):
        check_monotone_bound(_model(), X, sample_weight=weights, max_iter=60)
    # With smoothing the bound is the log posterior, which EM never lowers either.
    result = check_monotone_bound(_model(smoothing=0.5), X, max_iter=60)
    beta = result.params.topic_word
    assert np.all(beta > 0)
    model = _model(smoothing=0.5)
    theta = model.fold_in(result.params, X).doc_topic
    scores = model.log_prob(result.params, X)
    np.testing.assert_allclose(
        result.lower_bound * X.shape[0], scores.sum() + 0.5 * np.log(beta).sum(), rtol=1e-12
    )
    np.testing.assert_allclose(scores.sum(), _loglik(X, theta, beta), rtol=1e-9)


def test_tempered_em_is_declared_not_monotone():
    model = _model(tempering=0.5)
    assert not model.monotone and _model().monotone
    with warnings.catch_warnings():
        warnings.simplefilter("error", MonotonicityWarning)
        result = fit_em(model, X, init=_start(model), max_iter=30, tol=0.0)
    # The tempered fixed point is not the maximum-likelihood one: plain EM from it climbs.
    plain = fit_em(_model(), X, init=result.params, max_iter=5, tol=0.0)
    assert plain.lower_bounds[-1] > plain.lower_bounds[0] + 1e-3


def test_the_model_conforms():
    model = _model(mean_change_tol=1e-12, max_doc_update_iter=1000)
    dense = X.toarray()[:80]
    run_all(model, dense, _start(model), monotone_max_iter=30)
    run_all(model, dense, _start(model), sample_weight=WEIGHTS[:80], monotone_max_iter=30)


def test_chunked_fits_of_sparse_rows_equal_whole_fits():
    model = _model(mean_change_tol=1e-10, max_doc_update_iter=500)
    check_chunked_statistics(model, _start(model), X, chunk_sizes=(1, 13))


def test_float32_counts_agree_with_float64():
    model = _model(mean_change_tol=1e-10, max_doc_update_iter=500)
    check_float32_agrees(model, _start(model), X.toarray(), rtol=1e-10)
    stats32, ll32 = model.e_step(_start(model), X.astype(np.float32))
    stats64, ll64 = model.e_step(_start(model), X)
    assert stats32.topic_word.dtype == np.float64
    np.testing.assert_allclose(stats32.topic_word, stats64.topic_word, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ll32, ll64, rtol=1e-12)


def test_seeded_fits_are_reproducible():
    check_reproducible(_model(), X, random_state=3, n_init=3, max_iter=5, tol=0.0)
    a = PLSA(3, random_state=7, n_init=2, max_iter=10, tol=0.0).fit(X)
    b = PLSA(3, random_state=7, n_init=2, max_iter=10, tol=0.0).fit(X)
    c = PLSA(3, random_state=8, n_init=2, max_iter=10, tol=0.0).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.lower_bounds_, b.lower_bounds_)
    assert not np.array_equal(a.components_, c.components_)


def test_model_parameters_are_checked():
    with pytest.raises(ValueError, match="tempering must be a number in"):
        PLSAModel(2, 5, tempering=0.0)
    with pytest.raises(ValueError, match="n_words must be an integer >= 1"):
        PLSAModel(2, 0)
    with pytest.raises(ValueError, match="soft EM only"):
        _model().e_step(_start(_model()), X, hard=True)
    with pytest.raises(ValueError, match="no words"):
        fit_em(_model(), sp.csr_array((4, X.shape[1])), max_iter=3)


# -- the face ------------------------------------------------------------------------------------
def _matched(found: np.ndarray, planted: np.ndarray) -> list[int]:
    """The order of the rows of ``found`` that best matches ``planted``'s."""
    k = planted.shape[0]
    return list(min(permutations(range(k)), key=lambda p: np.abs(found[list(p)] - planted).sum()))


def test_planted_topics_are_recovered():
    Xbig, beta, theta = _corpus(n_docs=1500, n_words=50, length=150, seed=2)
    model = PLSA(3, random_state=0, n_init=3, max_iter=300, tol=1e-6).fit(Xbig)
    order = _matched(model.components_, beta)
    # Total variation distance of every topic to its planted one.
    tv = 0.5 * np.abs(model.components_[order] - beta).sum(axis=1)
    assert np.all(tv < 0.05), tv
    proportions = model.transform(Xbig)[:, order]
    assert np.abs(proportions - theta).mean() < 0.04
    np.testing.assert_allclose(model.components_.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_the_bound_is_the_log_likelihood_of_transform_and_components():
    model = PLSA(3, random_state=0, max_iter=40, tol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theta = model.fit_transform(X)
    direct = _loglik(X, theta, model.components_)
    np.testing.assert_allclose(model.lower_bound_ * X.shape[0], direct, rtol=1e-12)
    np.testing.assert_allclose(model.score(X), direct, rtol=1e-12)
    np.testing.assert_allclose(model.perplexity(X), np.exp(-direct / X.sum()), rtol=1e-12)
    assert model.lower_bounds_.shape == (model.n_iter_ + 1,)
    assert model.lower_bounds_[-1] == model.lower_bound_
    np.testing.assert_array_equal(theta, model.transform(X))
    assert theta.shape == (X.shape[0], 3)
    assert list(model.get_feature_names_out()) == ["plsa0", "plsa1", "plsa2"]


def test_document_weights_are_repeated_documents():
    counts = np.random.default_rng(0).integers(0, 3, size=X.shape[0])
    kwargs = dict(random_state=0, max_iter=15, tol=0.0, mean_change_tol=1e-12)
    weighted = PLSA(3, **kwargs).fit(X, sample_weight=counts.astype(float))
    repeated = PLSA(3, **kwargs).fit(X[np.repeat(np.arange(X.shape[0]), counts)])
    np.testing.assert_allclose(weighted.components_, repeated.components_, rtol=1e-10)
    np.testing.assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-10)


def test_an_empty_document_contributes_nothing():
    kwargs = dict(random_state=0, max_iter=10, tol=0.0)
    with_empty = sp.csr_array(sp.vstack([X, sp.csr_array((1, X.shape[1]))]))
    a = PLSA(3, **kwargs).fit(X)
    b = PLSA(3, **kwargs).fit(with_empty)
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_allclose(a.lower_bounds_ * X.shape[0], b.lower_bounds_ * (X.shape[0] + 1))
    np.testing.assert_array_equal(b.transform(with_empty)[-1], np.full(3, 1 / 3))


def test_threads_and_chunks_give_the_fit_of_the_whole_matrix():
    kwargs = dict(random_state=0, max_iter=12, tol=0.0)
    whole = PLSA(3, **kwargs).fit(X)
    one = PLSA(3, chunk_size=17, n_jobs=1, **kwargs).fit(X)
    two = PLSA(3, chunk_size=17, n_jobs=2, **kwargs).fit(X)
    np.testing.assert_array_equal(one.components_, two.components_)
    np.testing.assert_array_equal(one.lower_bounds_, two.lower_bounds_)
    np.testing.assert_allclose(one.components_, whole.components_, rtol=1e-12, atol=1e-15)
    # A re-iterable of CSR chunks is a row source, read a chunk at a time.
    chunks = ChunkRows([X[a : a + 31] for a in range(0, X.shape[0], 31)])
    streamed = PLSA(3, **kwargs).fit(chunks)
    np.testing.assert_allclose(streamed.components_, whole.components_, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(streamed.lower_bounds_, whole.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(streamed.transform(chunks), whole.transform(X), atol=1e-12)
    np.testing.assert_allclose(streamed.score(chunks), whole.score(X), rtol=1e-12)


def test_float32_data_gives_float32_topics_close_to_float64():
    kwargs = dict(random_state=0, max_iter=20, tol=0.0)
    a = PLSA(3, **kwargs).fit(X)
    b = PLSA(3, **kwargs).fit(X.astype(np.float32))
    assert b.components_.dtype == np.float32 and a.components_.dtype == np.float64
    np.testing.assert_allclose(b.components_, a.components_, rtol=1e-5, atol=1e-7)
    assert b.transform(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-9)


def test_dense_counts_and_tables_are_documents_too():
    import pandas as pd

    kwargs = dict(random_state=0, max_iter=5, tol=0.0)
    sparse = PLSA(3, **kwargs).fit(X)
    frame = pd.DataFrame(X.toarray().astype(int), columns=[f"w{i}" for i in range(X.shape[1])])
    dense = PLSA(3, **kwargs).fit(frame)
    np.testing.assert_array_equal(dense.components_, sparse.components_)
    assert list(dense.feature_names_in_) == list(frame.columns)


def test_warm_start_continues_the_fit():
    kwargs = dict(random_state=0, tol=0.0)
    straight = PLSA(3, max_iter=10, **kwargs).fit(X)
    warm = PLSA(3, max_iter=4, warm_start=True, **kwargs).fit(X)
    warm.set_params(max_iter=6).fit(X)
    np.testing.assert_allclose(warm.components_, straight.components_, rtol=1e-12, atol=1e-15)


def test_an_unseen_word_is_impossible_without_smoothing():
    train = X[:, :-1]
    train = sp.hstack([train, sp.csr_array((X.shape[0], 1))], format="csr")
    kwargs = dict(random_state=0, max_iter=10, tol=0.0)
    plain = PLSA(3, **kwargs).fit(train)
    assert np.all(plain.components_[:, -1] == 0)
    with pytest.warns(ImpossibleSampleWarning, match="no topic can produce"):
        assert plain.score(X) == -np.inf
    np.testing.assert_allclose(plain.transform(X).sum(axis=1), 1.0)
    smoothed = PLSA(3, smoothing=0.1, **kwargs).fit(train)
    assert np.all(smoothed.components_ > 0) and np.isfinite(smoothed.score(X))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (-X, "Negative values in data passed to PLSA.fit"),
        (np.full((3, 4), np.nan), "Input contains NaN"),
        (np.zeros((3, 0)), r"0 feature\(s\)"),
        (np.zeros((3, 4)), "the documents hold no words"),
    ],
    ids=["negative", "nan", "no-vocabulary", "no-words"],
)
def test_bad_documents_are_refused(data, match):
    with pytest.raises(ValueError, match=match):
        PLSA(2).fit(data)


@pytest.mark.parametrize("value", [0.0, 1.5, -1.0, "x", np.nan])
def test_bad_tempering_is_refused(value):
    with pytest.raises(ValueError, match=r"tempering must be a number in \(0, 1\]"):
        PLSA(2, tempering=value).fit(X)


def test_unfitted_and_mismatched_uses_are_refused():
    with pytest.raises(NotFittedError):
        PLSA(2).transform(X)
    model = PLSA(2, random_state=0, max_iter=3, tol=0.0).fit(X)
    with pytest.raises(ValueError, match=f"expecting {X.shape[1]} features"):
        model.transform(X[:, :-1])
    with pytest.raises(ValueError, match="Negative values"):
        model.transform(-X)
    with pytest.raises(ValueError, match="smoothing must be a finite number >= 0"):
        PLSA(2, smoothing=-1.0).fit(X)
    with pytest.raises(ValueError, match="mean_change_tol must be"):
        PLSA(2, mean_change_tol=-1.0).fit(X)


def test_the_model_file_round_trip(tmp_path):
    model = PLSA(3, random_state=0, max_iter=8, tol=0.0, smoothing=0.01).fit(X)
    loaded = emkit.load(model.save(tmp_path / "plsa.emkit"))
    assert type(loaded) is PLSA
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.components_, model.components_)
    np.testing.assert_array_equal(loaded.lower_bounds_, model.lower_bounds_)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    assert loaded.score(X) == model.score(X)
    assert list(loaded.get_feature_names_out()) == list(model.get_feature_names_out())


def test_edited_model_files_raise_model_file_error_naming_the_field(tmp_path):
    from test_model_file_faces import _outcomes

    path = PLSA(2, random_state=0, max_iter=5, tol=0.0).fit(X).save(tmp_path / "plsa.emkit")
    let_through, unnamed = _outcomes("PLSA", path, tmp_path)
    assert sorted(let_through) == []
    assert sorted(unnamed) == []


@parametrize_with_checks([PLSA(3, random_state=0, tol=1e-2), PLSA(2, chunk_size=7, smoothing=0.1)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
