"""Sparse count data in the multinomial family and MultinomialMixture: scores against
scipy.stats, sparse fits against dense ones (every sparse format, every start, chunked,
threaded, weighted, online), data checks in the family's words, and no densified copy."""

from __future__ import annotations

import copy
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats as st

from emkit import Mixture, MultinomialMixture, PoissonMixture
from emkit.execution.sources import ChunkRows
from emkit.families.gaussian import Gaussian
from emkit.families.multinomial import NO_MISSING, Multinomial, MultinomialParams
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture as MixtureModel

FORMATS = {
    "csr_matrix": sp.csr_matrix,
    "csr_array": sp.csr_array,
    "csc_matrix": sp.csc_matrix,
    "coo_array": sp.coo_array,
    "lil_matrix": sp.lil_matrix,
}
STARTS = ("kmeans", "k-means++", "random", "random_from_data")


def _documents(n: int = 300, n_words: int = 60, seed: int = 0) -> np.ndarray:
    """Bags of words of three topics, 3 to 40 words a document: mostly zeros."""
    rng = np.random.RandomState(seed)
    topics = rng.dirichlet(np.full(n_words, 0.1), size=3)
    labels = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    return np.stack([rng.multinomial(rng.randint(3, 41), topics[k]) for k in labels])


X = _documents()
W = np.random.RandomState(1).uniform(0.2, 3.0, size=X.shape[0])


def _face(**kwargs) -> MultinomialMixture:
    return MultinomialMixture(3, random_state=0, prior=1.05, **kwargs)


def _assert_same_fit(a: MultinomialMixture, b: MultinomialMixture) -> None:
    assert a.n_iter_ == b.n_iter_
    assert_allclose(a.weights_, b.weights_, rtol=1e-12, atol=1e-14)
    assert_allclose(a.probs_, b.probs_, rtol=1e-10, atol=1e-14)
    assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=1e-12)


# -- the family ----------------------------------------------------------------------------------
def test_sparse_log_prob_is_scipy_logpmf():
    rng = np.random.RandomState(3)
    probs = rng.dirichlet(np.ones(X.shape[1]), size=3)
    expected = np.stack(
        [st.multinomial.logpmf(X, X.sum(axis=1), probs[k]) for k in range(3)], axis=1
    )
    got = Multinomial().log_prob(MultinomialParams(probs), sp.csr_array(X))
    assert_allclose(got, expected, rtol=1e-12)


def test_sparse_log_prob_of_impossible_words_is_minus_inf():
    probs = np.full((2, X.shape[1]), 1.0 / (X.shape[1] - 1))
    probs[0, 0] = 0.0
    probs[1, 1:] *= (X.shape[1] - 1) / X.shape[1]
    probs[1, 0] = 1.0 / X.shape[1]
    dense = Multinomial().log_prob(MultinomialParams(probs), X)
    sparse = Multinomial().log_prob(MultinomialParams(probs), sp.csr_matrix(X))
    assert_array_equal(np.isneginf(sparse[:, 0]), X[:, 0] > 0)
    assert np.isneginf(sparse[:, 0]).any() and np.isfinite(sparse[:, 1]).all()
    assert_allclose(sparse, dense, rtol=1e-12)


def test_sparse_statistics_are_the_dense_ones():
    resp = np.random.RandomState(4).dirichlet(np.ones(3), size=X.shape[0])
    dense = Multinomial().stats(None, X, resp)
    sparse = Multinomial().stats(None, sp.csr_array(X), resp)
    assert_allclose(sparse.sum_x, resp.T @ X, rtol=1e-12)
    assert_allclose(sparse.sum_w, dense.sum_w, rtol=1e-14)
    assert sparse.sum_x.flags.c_contiguous


@pytest.mark.parametrize("fmt", FORMATS)
def test_check_data_gives_canonical_float_csr(fmt):
    checked = Multinomial().check_data(FORMATS[fmt](X))
    assert sp.issparse(checked) and checked.format == "csr"
    assert checked.dtype == np.float64 and checked.has_canonical_format
    assert_array_equal(checked.toarray(), X)


def test_check_data_sums_duplicate_entries_and_keeps_float32():
    duplicated = sp.coo_array(([1.0, 2.0, 4.0], ([0, 0, 1], [2, 2, 0])), shape=(2, 3))
    checked = Multinomial().check_data(duplicated.astype(np.float32))
    assert checked.dtype == np.float32
    assert_array_equal(checked.toarray(), [[0, 0, 3], [4, 0, 0]])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1.0, "Multinomial counts must be non-negative; column 5 holds -1 (row 3)"),
        (0.5, "Multinomial counts must be integers; column 5 holds 0.5 (row 3)"),
        (np.nan, NO_MISSING + "; column 5 holds nan (row 3)"),
    ],
    ids=["negative", "fractional", "nan"],
)
def test_bad_counts_are_named_as_for_dense_data(value, message):
    bad = X.astype(np.float64)
    bad[3, 5] = value
    bad[7, 1] = value  # a later one is not the one named
    for data in (bad, sp.csr_array(bad), sp.csc_matrix(bad)):
        with pytest.raises(ValueError) as caught:
            Multinomial().check_data(data)
        assert str(caught.value) == message


def test_sparse_rows_must_sum_to_n_trials():
    rows = sp.csr_array(np.array([[5, 5, 0], [4, 0, 5]]))
    with pytest.raises(ValueError, match=r"rows must sum to n_trials=10; row 1 sums to 9$"):
        Multinomial(n_trials=10).check_data(rows)


# -- the face: sparse equals dense ----------------------------------------------------------------
@pytest.mark.parametrize("init_params", STARTS)
def test_sparse_fit_equals_dense_fit(init_params):
    dense = _face(init_params=init_params).fit(X)
    sparse = _face(init_params=init_params).fit(sp.csr_matrix(X))
    _assert_same_fit(dense, sparse)
    assert_allclose(sparse.predict_proba(sp.csr_array(X)), dense.predict_proba(X), atol=1e-12)
    assert_allclose(sparse.score_samples(sp.csr_array(X)), dense.score_samples(X), rtol=1e-12)
    assert sparse.score(sp.csr_array(X)) == pytest.approx(dense.score(X), rel=1e-13)
    assert_array_equal(sparse.predict(sp.csr_array(X)), dense.predict(X))
    assert sparse.bic(sp.csr_array(X)) == pytest.approx(dense.bic(X), rel=1e-13)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_sparse_format_is_read_as_csr(fmt):
    dense = _face().fit(X)
    sparse = _face().fit(FORMATS[fmt](X))
    _assert_same_fit(dense, sparse)
    assert_allclose(sparse.predict_proba(FORMATS[fmt](X)), dense.predict_proba(X), atol=1e-12)


def test_integer_counts_of_any_dtype():
    dense = _face().fit(X.astype(np.int32))
    sparse = _face().fit(sp.csr_array(X.astype(np.int64)))
    _assert_same_fit(dense, sparse)


def test_float32_sparse_data_gives_float32_attributes():
    sparse = _face().fit(sp.csr_array(X.astype(np.float32)))
    dense = _face().fit(X.astype(np.float32))
    assert sparse.probs_.dtype == np.float32 and sparse.weights_.dtype == np.float32
    assert sparse.predict_proba(sp.csr_array(X.astype(np.float32))).dtype == np.float32
    assert_allclose(sparse.probs_, dense.probs_, rtol=1e-6)


def test_sparse_and_dense_models_score_each_others_data():
    fitted = _face().fit(sp.csr_array(X))
    assert_allclose(fitted.score_samples(X), fitted.score_samples(sp.csc_array(X)), rtol=1e-12)


# -- chunks, threads, row sources -----------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [{"chunk_size": 37}, {"chunk_size": 50, "n_jobs": 2}],
    ids=["chunked", "threads"],
)
def test_chunked_sparse_fit_equals_whole_dense_fit(options):
    whole = _face().fit(X, sample_weight=W)
    chunked = _face(**options).fit(sp.csr_array(X), sample_weight=W)
    _assert_same_fit(whole, chunked)
    assert_allclose(chunked.predict_proba(sp.csr_array(X)), whole.predict_proba(X), atol=1e-12)
    assert chunked.score(sp.csr_array(X), sample_weight=W) == pytest.approx(
        whole.score(X, sample_weight=W), rel=1e-13
    )


@pytest.mark.parametrize("init_params", ["kmeans", "random"])
def test_a_stream_of_csr_chunks_equals_the_whole_matrix(init_params):
    S = sp.csr_array(X)
    chunks = ChunkRows([(S[i : i + 70], W[i : i + 70]) for i in range(0, X.shape[0], 70)])
    whole = _face(init_params=init_params).fit(X, sample_weight=W)
    streamed = _face(init_params=init_params).fit(chunks)
    _assert_same_fit(whole, streamed)
    assert streamed.score(chunks) == pytest.approx(whole.score(X, sample_weight=W), rel=1e-13)
    assert_allclose(streamed.predict_proba(chunks), whole.predict_proba(X), atol=1e-12)


def test_sparse_online_fit_and_partial_fit_equal_dense_ones():
    online = {"learning_method": "online", "batch_size": 64}
    _assert_same_fit(_face(**online).fit(X), _face(**online).fit(sp.csr_array(X)))
    dense = _face(batch_size=64).partial_fit(X[:150]).partial_fit(X[150:])
    S = sp.csr_array(X)
    sparse = _face(batch_size=64).partial_fit(S[:150]).partial_fit(S[150:])
    assert_allclose(sparse.probs_, dense.probs_, rtol=1e-10, atol=1e-14)
    assert_allclose(sparse.lower_bounds_, dense.lower_bounds_, rtol=1e-12)


def test_squarem_on_sparse_data():
    _assert_same_fit(
        _face(accelerate="squarem").fit(X), _face(accelerate="squarem").fit(sp.csr_array(X))
    )


# -- sample weights -------------------------------------------------------------------------------
def test_sparse_sample_weights_equal_dense_ones():
    _assert_same_fit(_face().fit(X, sample_weight=W), _face().fit(sp.csr_array(X), sample_weight=W))


def test_integer_weights_of_sparse_rows_equal_repeated_rows():
    counts = np.random.RandomState(2).randint(0, 4, size=X.shape[0])
    repeated = sp.csr_array(np.repeat(X, counts, axis=0))
    model = MixtureModel(Multinomial(prior=1.05), 3, initializer("random"))
    params = model.init(X, np.random.RandomState(0))
    weighted_stats, weighted_loglik = model.e_step(params, sp.csr_array(X), counts * 1.0)
    repeated_stats, repeated_loglik = model.e_step(params, repeated)
    assert weighted_loglik == pytest.approx(repeated_loglik, rel=1e-13)
    assert_allclose(weighted_stats.sum_w, repeated_stats.sum_w, rtol=1e-13)
    assert_allclose(weighted_stats.components.sum_x, repeated_stats.components.sum_x, rtol=1e-12)
    # The faces too, continuing from one start (the starts themselves draw per row).
    start = _face(max_iter=2).fit(X)
    weighted = copy.deepcopy(start).set_params(warm_start=True, max_iter=20)
    weighted.fit(sp.csr_array(X), sample_weight=counts)
    again = copy.deepcopy(start).set_params(warm_start=True, max_iter=20).fit(repeated)
    _assert_same_fit(weighted, again)


# -- what sparse input does not do ----------------------------------------------------------------
def test_sparse_data_is_never_densified():
    # 400 documents over 50,000 words: densified, 160 MB of float64.
    rng = np.random.RandomState(5)
    n, n_words = 400, 50_000
    rows = np.repeat(np.arange(n), 30)
    words = np.concatenate(
        [rng.choice(n_words // 3, 30) + (i % 3) * (n_words // 3) for i in range(n)]
    )
    S = sp.csr_array((np.ones(rows.size), (rows, words)), shape=(n, n_words))
    S.sum_duplicates()
    dense_bytes = n * n_words * 8
    # Imports and compilations of a first fit are not the data's.
    MultinomialMixture(3, random_state=0, max_iter=1).fit(S[:30]).predict_proba(S[:30])
    tracemalloc.start()
    try:
        fitted = MultinomialMixture(3, random_state=0, prior=1.01, max_iter=5).fit(S)
        fitted.predict_proba(S)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < dense_bytes / 8
    assert fitted.probs_.shape == (3, n_words)


def test_hierarchical_start_and_labels_need_dense_rows():
    with pytest.raises(ValueError, match=r"init_params='hc' .* dense rows.*X\.toarray\(\)"):
        _face(init_params="hc").fit(sp.csr_array(X))
    with pytest.raises(ValueError, match=r"labels go with dense rows.*X\.toarray\(\)"):
        _face().fit(sp.csr_array(X), labels=np.full(X.shape[0], -1))


def test_faces_of_dense_families_still_refuse_sparse_data():
    for face in (PoissonMixture(2), Mixture(Gaussian("diag"), 2)):
        with pytest.raises(TypeError, match="Sparse data was passed"):
            face.fit(sp.csr_array(X))


def test_a_mixture_of_a_dense_family_refuses_sparse_rows_at_its_start():
    model = MixtureModel(Gaussian("diag"), 2, initializer("random"))
    assert not model.accepts_sparse
    assert MixtureModel(Multinomial(), 2).accepts_sparse
    with pytest.raises(TypeError, match=r"Gaussian family needs dense rows.*X\.toarray\(\)"):
        model.init(sp.csr_array(X.astype(float)), np.random.RandomState(0))


def test_sparse_tag():
    assert MultinomialMixture().__sklearn_tags__().input_tags.sparse
    assert not PoissonMixture().__sklearn_tags__().input_tags.sparse
