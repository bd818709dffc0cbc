"""Latent Dirichlet allocation: the kernel against its twin and scikit-learn's pieces, the
conformance checks, the face against scikit-learn's estimator, online VB, learned priors,
sources, model files and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import digamma, gammaln
from sklearn.decomposition import LatentDirichletAllocation as SkLDA
from sklearn.decomposition._lda import _update_doc_distribution

import emkit
from emkit import LatentDirichletAllocation
from emkit.core.driver import fit_em
from emkit.core.online import OnlineEM
from emkit.execution.sources import ChunkRows
from emkit.models.lda import LDAModel, lda_params
from emkit.models.lda_kernels import digamma_array, document_pass, document_pass_reference
from emkit.numerics.dirichlet import (
    dirichlet_fixed_point,
    expected_log,
    inverse_digamma,
    symmetric_dirichlet_concentration,
)
from emkit.testing.conformance import run_all

TIGHT = {"max_doc_update_iter": 5000, "mean_change_tol": 1e-13}


def planted_corpus(n_documents=300, n_topics=3, words_per_topic=6, seed=0, length=40):
    """Documents mixing a few topics whose words do not overlap."""
    rng = np.random.RandomState(seed)
    n_words = n_topics * words_per_topic
    topics = np.zeros((n_topics, n_words))
    for k in range(n_topics):
        topics[k, k * words_per_topic : (k + 1) * words_per_topic] = 1.0 / words_per_topic
    theta = rng.dirichlet(np.full(n_topics, 0.3), size=n_documents)
    counts = np.array([rng.multinomial(length, t @ topics) for t in theta])
    return sp.csr_array(counts.astype(np.float64)), topics


def small_corpus(seed=0, shape=(60, 25), rate=0.7):
    rng = np.random.RandomState(seed)
    return sp.csr_array(rng.poisson(rate, shape).astype(np.float64))


def exp_elog_beta_t(components):
    return np.ascontiguousarray(np.exp(expected_log(components)).T)


# -- numerics ---------------------------------------------------------------------------------
def test_compiled_digamma_matches_scipy():
    x = np.logspace(-10, 8, 5000)
    np.testing.assert_allclose(digamma_array(x), digamma(x), rtol=2e-15, atol=1e-13)


def test_compiled_digamma_is_exact_across_the_fraction_cutoff():
    # Below 1e8 psi shifts by eight as one fraction, above it does not.
    x = np.array(
        [1e-300, 1e-20, 0.05, 1.4616321449683622, 7.999, 8.0, 1e8 - 1, 1e8, 1e8 + 1, 1e300]
    )
    np.testing.assert_allclose(digamma_array(x), digamma(x), rtol=2e-15, atol=1e-13)


def test_word_factors_of_few_words_equal_the_full_table():
    # A mini-batch that uses few words of the vocabulary takes their factors alone: the
    # same numbers, bit for bit, as from the whole table.
    rng = np.random.RandomState(4)
    components = rng.gamma(2.0, 1.0, (4, 300))
    model = LDAModel(4, 300, 0.3, 0.1, 100, 1e-3)
    X = sp.csr_array(rng.poisson(2.0, (6, 300)) * (rng.rand(1, 300) < 0.05))
    assert 0 < np.unique(X.indices).size < 75
    few = model.documents(lda_params(components, model.alpha, 0.1), X)
    whole_params = lda_params(components, model.alpha, 0.1)
    np.testing.assert_allclose(
        whole_params.exp_elog_beta_t, exp_elog_beta_t(components), rtol=1e-13
    )
    assert whole_params.has_exp_elog_beta_t
    whole = model.documents(whole_params, X)
    for name in ("gamma", "word_topic", "elog_theta", "document_bounds"):
        np.testing.assert_array_equal(getattr(few, name), getattr(whole, name), err_msg=name)
    assert np.all(few.word_topic[np.setdiff1d(np.arange(300), X.indices)] == 0)
    assert few.word_topic.sum() == pytest.approx(X.sum(), rel=1e-12)


def test_inverse_digamma_inverts():
    y = np.linspace(-30, 15, 400)
    np.testing.assert_allclose(digamma(inverse_digamma(y)), y, rtol=1e-13, atol=1e-13)


def test_dirichlet_fixed_point_is_the_maximum():
    rng = np.random.RandomState(0)
    props = rng.dirichlet([0.5, 2.0, 1.0, 4.0], size=500)
    mean_log = np.log(props).mean(axis=0)
    alpha = dirichlet_fixed_point(np.ones(4), mean_log)

    def minus(log_a):
        a = np.exp(log_a)
        return -((a - 1) @ mean_log + gammaln(a.sum()) - gammaln(a).sum())

    best = minimize(minus, np.zeros(4), method="BFGS", options={"gtol": 1e-12})
    np.testing.assert_allclose(alpha, np.exp(best.x), rtol=1e-6)


@pytest.mark.parametrize("eta", [0.01, 0.3, 5.0])
def test_symmetric_concentration_is_the_maximum(eta):
    V = 40
    # The mean log-proportions of Dirichlet(eta) itself: the maximum is eta.
    mean_log = float(digamma(eta) - digamma(V * eta))
    got = symmetric_dirichlet_concentration(mean_log, V)
    assert got == pytest.approx(eta, rel=1e-11)

    def minus(log_eta):
        e = np.exp(log_eta[0])
        return -(gammaln(V * e) - V * gammaln(e) + e * V * mean_log)

    best = minimize(minus, [0.0], method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-14})
    assert got == pytest.approx(np.exp(best.x[0]), rel=1e-6)
    with pytest.raises(ValueError, match="mean log-proportions"):
        symmetric_dirichlet_concentration(0.1, V)


# -- the kernel -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_matches_its_numpy_twin(dtype):
    X = small_corpus().astype(dtype)
    X = sp.vstack([X, sp.csr_array((2, X.shape[1]), dtype=dtype)]).tocsr()  # empty documents
    rng = np.random.RandomState(1)
    eb = exp_elog_beta_t(rng.gamma(100, 0.01, (4, X.shape[1])))
    alpha = np.array([0.1, 0.3, 0.2, 0.5])
    w = rng.rand(X.shape[0])
    got = document_pass(X.indptr, X.indices, X.data, w, eb, alpha, 200, 1e-4)
    ref = document_pass_reference(X.indptr, X.indices, X.data, w, eb, alpha, 200, 1e-4)
    for name in got._fields:
        np.testing.assert_allclose(
            getattr(got, name), getattr(ref, name), rtol=1e-11, atol=1e-12, err_msg=name
        )
    # An empty document keeps its prior and adds nothing.
    np.testing.assert_allclose(got.gamma[-1], alpha, rtol=1e-15)
    assert got.document_bounds[-1] == pytest.approx(0.0, abs=1e-12)


def test_kernel_matches_scikit_learn_document_update():
    X = small_corpus()
    eb = exp_elog_beta_t(np.random.RandomState(2).gamma(100, 0.01, (5, X.shape[1])))
    got = document_pass(
        X.indptr, X.indices, X.data, np.ones(X.shape[0]), eb, np.full(5, 0.2), 500, 1e-12
    )
    gamma, sstats = _update_doc_distribution(
        sp.csr_matrix(X), np.ascontiguousarray(eb.T), 0.2, 500, 1e-12, True, None
    )
    # scikit-learn's digamma is a shorter series (error near 1e-9), the only difference.
    np.testing.assert_allclose(got.gamma, gamma, rtol=1e-8)
    np.testing.assert_allclose(got.word_topic.T, sstats, rtol=1e-8)


# -- the model under the conformance checks ---------------------------------------------------
@pytest.mark.parametrize("auto", [False, True, "both"])
def test_lda_model_conforms(auto):
    # Documents of planted topics: each document's bound has one maximum, which every
    # E-step (started afresh from gamma = 1) finds, so the bound is monotone.
    X, _ = planted_corpus(n_documents=60, words_per_topic=5)
    model = LDAModel(
        3,
        X.shape[1],
        0.3,
        0.2,
        learn_doc_topic_prior=bool(auto),
        learn_topic_word_prior=auto == "both",
        **TIGHT,
    )
    params = model.init(None, np.random.RandomState(0))
    run_all(model, X, params, exact_loglik=False, monotone_max_iter=30)


def test_bound_never_decreases_with_converged_documents():
    X, _ = planted_corpus(n_documents=120)
    model = LDAModel(3, X.shape[1], 0.2, 0.1, learn_doc_topic_prior=True, **TIGHT)
    result = fit_em(model, X, random_state=3, max_iter=40, tol=-np.inf)
    steps = np.diff(result.lower_bounds)
    assert result.decreases == ()
    assert np.all(steps >= -1e-12 * np.abs(result.lower_bounds[1:]))


def test_batch_em_equals_scikit_learn_updates_from_the_same_topics():
    """Twenty iterations of batch VB from the same topics, with every document's E-step
    run to convergence: scikit-learn's own E-step and M-step, one after another."""
    X = small_corpus(shape=(150, 30))
    K, eta, alpha = 4, 0.25, 0.25
    lam0 = np.random.RandomState(5).gamma(100, 0.01, (K, X.shape[1]))
    model = LDAModel(K, X.shape[1], alpha, eta, 1000, 1e-10)
    result = fit_em(model, X, init=lda_params(lam0, model.alpha, eta), max_iter=20, tol=-np.inf)
    lam = lam0.copy()
    for _ in range(20):
        eb = np.exp(expected_log(lam))
        _, sstats = _update_doc_distribution(sp.csr_matrix(X), eb, alpha, 1000, 1e-10, True, None)
        lam = eta + sstats * eb
    np.testing.assert_allclose(result.params.components, lam, rtol=1e-6)


def test_bound_equals_scikit_learn_score():
    X = small_corpus(shape=(80, 20))
    ours = LatentDirichletAllocation(4, random_state=0, max_iter=5).fit(X)
    theirs = SkLDA(4, random_state=0, max_iter=1).fit(X)
    theirs.components_ = ours.components_.copy()
    theirs.exp_dirichlet_component_ = np.exp(expected_log(ours.components_))
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-9)
    assert ours.perplexity(X) == pytest.approx(theirs.perplexity(X), rel=1e-9)
    # The bound of the final E-step is that score.
    assert ours.lower_bound_ * X.shape[0] == pytest.approx(ours.score(X), rel=1e-12)
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=1e-6, atol=1e-9)


# -- the face -------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["batch", "online"])
def test_planted_topics_are_recovered(method):
    X, topics = planted_corpus()
    lda = LatentDirichletAllocation(
        3, learning_method=method, max_iter=30, batch_size=50, random_state=0
    ).fit(X)
    found = lda.components_ / lda.components_.sum(axis=1, keepdims=True)
    # Every fitted topic is one planted topic, each found once.
    match = np.argmax(found @ topics.T, axis=1)
    assert sorted(match) == [0, 1, 2]
    np.testing.assert_allclose(found, topics[match], atol=0.02)


def test_results_do_not_depend_on_chunks_or_threads():
    X, _ = planted_corpus(n_documents=200)
    ref = LatentDirichletAllocation(3, random_state=1, n_jobs=1).fit(X)
    for kwargs in ({"chunk_size": 17, "n_jobs": 1}, {"chunk_size": 17, "n_jobs": 2}):
        got = LatentDirichletAllocation(3, random_state=1, **kwargs).fit(X)
        np.testing.assert_allclose(got.components_, ref.components_, rtol=1e-12)
    threads = LatentDirichletAllocation(3, random_state=1, chunk_size=17, n_jobs=2).fit(X)
    again = LatentDirichletAllocation(3, random_state=1, chunk_size=17, n_jobs=1).fit(X)
    np.testing.assert_array_equal(threads.components_, again.components_)


def test_a_source_fits_as_the_matrix():
    X, _ = planted_corpus(n_documents=150)
    ref = LatentDirichletAllocation(3, random_state=2, chunk_size=40).fit(X)
    chunks = ChunkRows([X[i : i + 40] for i in range(0, X.shape[0], 40)])
    got = LatentDirichletAllocation(3, random_state=2, chunk_size=40).fit(chunks)
    np.testing.assert_allclose(got.components_, ref.components_, rtol=1e-12)
    np.testing.assert_allclose(got.transform(chunks), ref.transform(X), rtol=1e-12)
    assert got.score(chunks) == pytest.approx(ref.score(X), rel=1e-12)
    assert got.bound_ == pytest.approx(ref.bound_, rel=1e-12)


def test_npy_file_source(tmp_path):
    X, _ = planted_corpus(n_documents=90)
    path = tmp_path / "counts.npy"
    np.save(path, X.toarray())
    ref = LatentDirichletAllocation(3, random_state=0).fit(X)
    got = LatentDirichletAllocation(3, random_state=0).fit(emkit.open_data(path))
    np.testing.assert_allclose(got.components_, ref.components_, rtol=1e-12)


def test_integer_weights_repeat_documents():
    X = small_corpus(shape=(30, 12))
    counts = np.random.RandomState(0).randint(0, 4, X.shape[0])
    counts[0] = 2
    repeated = sp.csr_array(np.repeat(X.toarray(), counts, axis=0))
    a = LatentDirichletAllocation(3, random_state=0, doc_topic_prior="auto").fit(
        X, sample_weight=counts
    )
    b = LatentDirichletAllocation(3, random_state=0, doc_topic_prior="auto").fit(repeated)
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-10)
    np.testing.assert_allclose(a.doc_topic_prior_, b.doc_topic_prior_, rtol=1e-10)
    assert a.bound_ == pytest.approx(b.bound_, rel=1e-10)


def test_float32_computes_in_float64():
    X = small_corpus(shape=(100, 30))
    a = LatentDirichletAllocation(4, random_state=0).fit(X)
    b = LatentDirichletAllocation(4, random_state=0).fit(X.astype(np.float32))
    assert b.components_.dtype == np.float32 and b.transform(X).dtype == np.float32
    np.testing.assert_allclose(b.components_, a.components_, rtol=1e-5)
    assert b.lower_bound_ == pytest.approx(a.lower_bound_, rel=1e-7)


def test_seeded_fits_are_reproducible_and_seeds_matter():
    X = small_corpus()
    a = LatentDirichletAllocation(3, random_state=4).fit(X).components_
    b = LatentDirichletAllocation(3, random_state=4).fit(X).components_
    c = LatentDirichletAllocation(3, random_state=5).fit(X).components_
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_restarts_keep_the_best_bound():
    X, _ = planted_corpus(n_documents=100)
    lda = LatentDirichletAllocation(3, n_init=4, random_state=0, max_iter=15).fit(X)
    assert lda.restart_lower_bounds_.shape == (4,)
    assert lda.lower_bound_ == pytest.approx(lda.restart_lower_bounds_.max(), rel=1e-12)


def test_learned_prior_recovers_an_asymmetric_alpha():
    rng = np.random.RandomState(0)
    n_topics, words = 3, 8
    topics = np.zeros((n_topics, n_topics * words))
    for k in range(n_topics):
        topics[k, k * words : (k + 1) * words] = 1.0 / words
    alpha = np.array([0.2, 0.5, 1.5])
    theta = rng.dirichlet(alpha, size=2000)
    X = sp.csr_array(np.array([rng.multinomial(200, t @ topics) for t in theta]), dtype=float)
    lda = LatentDirichletAllocation(
        n_topics, doc_topic_prior="auto", max_iter=60, random_state=0
    ).fit(X)
    order = np.argsort(lda.doc_topic_prior_)
    np.testing.assert_allclose(lda.doc_topic_prior_[order], alpha, rtol=0.15)


def test_learned_priors_and_squarem_through_the_face():
    X, _ = planted_corpus(n_documents=150)
    plain = LatentDirichletAllocation(
        3, doc_topic_prior="auto", topic_word_prior="auto", max_iter=40, random_state=0
    ).fit(X)
    assert plain.topic_word_prior_ != pytest.approx(1 / 3)
    assert np.all(np.diff(plain.lower_bounds_) > -1e-9 * np.abs(plain.lower_bounds_[1:]))
    fast = LatentDirichletAllocation(
        3,
        doc_topic_prior="auto",
        topic_word_prior="auto",
        max_iter=40,
        random_state=0,
        accelerate="squarem",
    ).fit(X)
    assert fast.lower_bound_ >= plain.lower_bound_ - 1e-6 * abs(plain.lower_bound_)
    with pytest.raises(ValueError, match="choose one"):
        LatentDirichletAllocation(3, learning_method="online", accelerate="squarem").fit(X)


def test_online_step_is_hoffmans_update():
    """A second partial_fit step: lambda_t = (1 - rho) lambda_(t-1) + rho (eta + D / |B|
    counts), with rho = (tau_0 + 1)^-kappa and the counts of scikit-learn's E-step."""
    X = small_corpus(shape=(40, 20))
    first, second = X[:20], X[20:]
    lda = LatentDirichletAllocation(
        3, total_samples=500, batch_size=20, random_state=0, **TIGHT
    ).partial_fit(first)
    before = lda.components_.copy()
    lda.partial_fit(second)
    eb = np.exp(expected_log(before))
    _, sstats = _update_doc_distribution(
        sp.csr_matrix(second), eb, 1 / 3, TIGHT["max_doc_update_iter"], 1e-13, True, None
    )
    rho = (10.0 + 1) ** -0.7
    expected = (1 - rho) * before + rho * (1 / 3 + 500 / 20 * sstats * eb)
    np.testing.assert_allclose(lda.components_, expected, rtol=1e-7)
    assert lda.n_batch_iter_ == 3 and lda.lower_bounds_.shape == (2,)


def test_partial_fit_continues_an_online_fit():
    X, _ = planted_corpus(n_documents=120)
    lda = LatentDirichletAllocation(
        3, learning_method="online", batch_size=40, max_iter=2, random_state=0
    ).fit(X)
    steps = lda.n_batch_iter_
    lda.partial_fit(X[:40])
    assert lda.n_batch_iter_ == steps + 1


def test_perp_tol_stops_the_fit():
    X, _ = planted_corpus(n_documents=100)
    lda = LatentDirichletAllocation(
        3, max_iter=500, evaluate_every=1, perp_tol=1e-3, random_state=0
    ).fit(X)
    assert lda.converged_ and lda.n_iter_ < 500
    words = X.sum()
    perplexities = np.exp(-lda.lower_bounds_ * X.shape[0] / words)
    assert abs(perplexities[-1] - perplexities[-2]) < 1e-3
    assert lda.bound_ == pytest.approx(perplexities[-1], rel=1e-12)


def test_transform_and_fit_transform():
    X = small_corpus()
    lda = LatentDirichletAllocation(3, random_state=0)
    theta = lda.fit_transform(X)
    np.testing.assert_allclose(theta.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(theta, lda.transform(X), rtol=1e-12)
    gamma = lda.transform(X, normalize=False)
    np.testing.assert_allclose(gamma / gamma.sum(axis=1, keepdims=True), theta, rtol=1e-12)
    assert list(lda.get_feature_names_out()) == [f"latentdirichletallocation{k}" for k in range(3)]


def test_model_file_round_trip(tmp_path):
    X = small_corpus()
    for prior in (None, "auto"):
        lda = LatentDirichletAllocation(3, doc_topic_prior=prior, random_state=0).fit(X)
        path = lda.save(tmp_path / "lda.emkit")
        back = emkit.load(path)
        assert type(back) is LatentDirichletAllocation
        np.testing.assert_array_equal(back.components_, lda.components_)
        np.testing.assert_array_equal(back.doc_topic_prior_, lda.doc_topic_prior_)
        np.testing.assert_array_equal(back.transform(X), lda.transform(X))
        assert back.bound_ == lda.bound_ and back.n_batch_iter_ == lda.n_batch_iter_


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.array([[1.0, -1.0], [0.0, 2.0]]), "Negative values in data passed to"),
        (np.array([[1.0, np.nan], [0.0, 2.0]]), "NaN"),
        (np.array([[1.0, np.inf], [0.0, 2.0]]), "infinity"),
        (np.zeros((0, 3)), "0 sample"),
        (np.zeros((3, 0)), "0 feature"),
    ],
)
def test_bad_counts_are_refused(X, message):
    with pytest.raises(ValueError, match=message):
        LatentDirichletAllocation(2).fit(X)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"doc_topic_prior": -1.0}, "doc_topic_prior"),
        ({"doc_topic_prior": "automatic"}, "doc_topic_prior"),
        ({"doc_topic_prior": [0.1, 0.2, 0.3]}, "one per topic"),
        ({"topic_word_prior": 0.0}, "topic_word_prior"),
        ({"topic_word_prior": "learn"}, "topic_word_prior"),
        ({"accelerate": "anderson"}, "accelerate"),
        ({"learning_method": "stochastic"}, "learning_method"),
        ({"learning_decay": 0.3}, "learning_decay"),
        ({"max_doc_update_iter": 0}, "max_doc_update_iter"),
        ({"n_components": 0}, "n_components"),
    ],
)
def test_bad_parameters_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        LatentDirichletAllocation(**{"n_components": 2, **params}).fit(small_corpus())


def test_unfitted_wrong_width_and_generators():
    X = small_corpus()
    with pytest.raises(emkit.NotFittedError):
        LatentDirichletAllocation(2).transform(X)
    lda = LatentDirichletAllocation(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        lda.transform(X[:, :5])
    with pytest.raises(TypeError, match="read only once"):
        LatentDirichletAllocation(2).fit(row for row in X.toarray())


def test_online_evaluation_needs_a_known_length():
    X, _ = planted_corpus(n_documents=60)

    class Unknown(ChunkRows):
        @property
        def n_rows(self):
            return None

    with pytest.raises(ValueError, match="number of documents"):
        LatentDirichletAllocation(
            3, learning_method="online", evaluate_every=1, random_state=0
        ).fit(Unknown([X[:30], X[30:]]))


def test_online_fit_of_the_driver_is_online_vb():
    """The driver's online EM on this model: after the first pass, each step is Hoffman's
    update with the number of documents seen in a pass."""
    X, _ = planted_corpus(n_documents=80)
    model = LDAModel(3, X.shape[1], 1 / 3, 1 / 3, **TIGHT)
    result = fit_em(
        model, X, online=OnlineEM(batch_size=40), max_iter=3, random_state=0, tol=-np.inf
    )
    assert result.online_state.n_batches == 6
    assert result.pass_lower_bounds.shape == (3,)


def test_a_corpus_gives_its_vocabulary(tmp_path):
    from emkit.io.corpus import corpus_from_texts

    texts = [
        "apple banana apple fruit",
        "banana fruit salad apple",
        "engine wheel car engine",
        "car wheel road engine",
    ] * 5
    corpus = corpus_from_texts(texts, min_df=1, max_df=1.0)
    train, test = corpus.split(0.25, random_state=0)
    lda = LatentDirichletAllocation(2, random_state=0).fit(train)
    assert list(lda.feature_names_in_) == list(corpus.vocabulary)
    np.testing.assert_allclose(lda.transform(test), lda.transform(test.counts), rtol=1e-12)
    back = emkit.load(lda.save(tmp_path / "lda.emkit"))
    assert list(back.feature_names_in_) == list(corpus.vocabulary)
    other = corpus_from_texts(["apple road", "wheel banana"], min_df=1, max_df=1.0)
    with pytest.raises(ValueError, match="vocabulary"):
        lda.transform(other)


def test_topic_methods():
    from emkit.models.topic_metrics import coherence, heldout_log_likelihood

    X, _ = planted_corpus(n_documents=200)
    train, test = X[:150], X[150:]
    lda = LatentDirichletAllocation(3, random_state=0, max_iter=20).fit(train)
    phi = lda.components_ / lda.components_.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(lda.topic_word_distribution(), phi, rtol=1e-12)
    top = lda.top_words(6)
    assert top.shape == (3, 6)
    assert sorted(sorted(row) for row in (top // 6).tolist()) == [[0] * 6, [1] * 6, [2] * 6]
    for measure in ("umass", "npmi"):
        np.testing.assert_array_equal(
            lda.coherence(train, measure=measure, top_n=5),
            coherence(phi, train, measure=measure, top_n=5),
        )
    expected = heldout_log_likelihood(lda.transform(test), phi, test)
    assert lda.heldout_log_likelihood(test) == pytest.approx(expected, rel=1e-12)
    # Far better than words drawn uniformly from the vocabulary of 18.
    assert lda.heldout_log_likelihood(test) > np.log(1 / 18) + 0.4


@pytest.mark.parametrize("auto", [False, True])
def test_squarem_coordinates_and_monotone_accelerated_fit(auto):
    X, _ = planted_corpus(n_documents=100)
    model = LDAModel(
        3, X.shape[1], 0.3, 0.2, learn_doc_topic_prior=auto, learn_topic_word_prior=auto, **TIGHT
    )
    start = model.init(None, np.random.RandomState(0))
    params = model.m_step(model.e_step(start, X)[0], start)
    back = model.from_unconstrained(model.to_unconstrained(params), params)
    np.testing.assert_allclose(back.components, params.components, rtol=1e-13)
    np.testing.assert_allclose(back.doc_topic_prior, params.doc_topic_prior, rtol=1e-13)
    assert back.topic_word_prior == pytest.approx(params.topic_word_prior, rel=1e-13)
    result = fit_em(model, X, random_state=0, max_iter=30, tol=-np.inf, accelerate="squarem")
    assert result.decreases == ()


def test_tiny_priors_and_many_topics_stay_finite_in_float32():
    """Topics whose pseudo-counts are tiny have E[log beta] far below float32's range
    (gensim's float32 underflow); the E-step runs in float64, so the fit stays finite and
    equals the float64 fit."""
    X, _ = planted_corpus(n_documents=200, length=200)
    params = {"topic_word_prior": 1e-4, "doc_topic_prior": 1e-3, "random_state": 0}
    a = LatentDirichletAllocation(40, **params).fit(X)
    b = LatentDirichletAllocation(40, **params).fit(X.astype(np.float32))
    assert np.isfinite(a.lower_bounds_).all() and np.isfinite(b.lower_bounds_).all()
    assert np.isfinite(b.transform(X)).all()
    np.testing.assert_allclose(b.components_, a.components_, rtol=1e-4, atol=1e-6)
