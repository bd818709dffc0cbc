"""Topic metrics: the held-out log-likelihood against a loop over every word, coherence
against brute-force document counts of a tiny corpus and against gensim's CoherenceModel,
top words, and the errors of bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from emkit.models import topic_metrics
from emkit.models.topic_metrics import (
    coherence,
    heldout_log_likelihood,
    top_word_indices,
    top_words,
)

# A tiny corpus: six documents over the words a..f ("f" in no document).
VOCABULARY = np.array(["a", "b", "c", "d", "e", "f"])
DOCUMENTS = [
    ["a", "b", "c", "a"],
    ["a", "b"],
    ["b", "c", "d", "d", "d"],
    ["a", "d"],
    ["c", "d", "e"],
    ["a", "b", "e", "b"],
]


def _counts(documents: list[list[str]], vocabulary: np.ndarray) -> np.ndarray:
    index = {word: j for j, word in enumerate(vocabulary)}
    X = np.zeros((len(documents), vocabulary.size))
    for i, document in enumerate(documents):
        for word in document:
            X[i, index[word]] += 1
    return X


X = _counts(DOCUMENTS, VOCABULARY)


def _random_model(n_documents: int, n_topics: int, n_words: int, seed: int = 0):
    rng = np.random.RandomState(seed)
    return rng.dirichlet(np.ones(n_topics), n_documents), rng.dirichlet(np.ones(n_words), n_topics)


# -- held-out log-likelihood ----------------------------------------------------------------------
def _heldout_by_loop(theta, phi, counts):
    total, n = 0.0, 0.0
    for d, w in itertools.product(range(counts.shape[0]), range(counts.shape[1])):
        if counts[d, w]:
            p = sum(theta[d, k] * phi[k, w] for k in range(phi.shape[0]))
            total += counts[d, w] * math.log(p)
            n += counts[d, w]
    return total / n


@pytest.mark.parametrize("as_sparse", [False, True], ids=["dense", "csr"])
def test_heldout_log_likelihood_is_the_mean_log_probability_of_every_word(as_sparse):
    theta, phi = _random_model(X.shape[0], 3, X.shape[1])
    data = sp.csr_matrix(X) if as_sparse else X
    got = heldout_log_likelihood(theta, phi, data)
    assert got == pytest.approx(_heldout_by_loop(theta, phi, X), rel=1e-13)


def test_heldout_log_likelihood_in_blocks(monkeypatch):
    rng = np.random.RandomState(1)
    counts = rng.poisson(0.3, size=(40, 25))
    theta, phi = _random_model(40, 4, 25, seed=2)
    whole = heldout_log_likelihood(theta, phi, counts)
    monkeypatch.setattr(topic_metrics, "_BLOCK_ENTRIES", 7)
    assert heldout_log_likelihood(theta, phi, sp.coo_array(counts)) == pytest.approx(
        whole, rel=1e-13
    )
    assert whole == pytest.approx(_heldout_by_loop(theta, phi, counts), rel=1e-13)


def test_heldout_log_likelihood_of_one_topic_is_the_unigram_log_likelihood():
    phi = (X.sum(axis=0) + 1.0) / (X.sum() + X.shape[1])
    got = heldout_log_likelihood(np.ones((X.shape[0], 1)), phi[None], X)
    assert got == pytest.approx(float((X * np.log(phi)).sum() / X.sum()), rel=1e-14)


def test_heldout_word_of_probability_zero_gives_minus_inf():
    theta, phi = _random_model(X.shape[0], 2, X.shape[1])
    phi[:, 0] = 0.0
    phi /= phi.sum(axis=1, keepdims=True)
    assert heldout_log_likelihood(theta, phi, X) == -np.inf


def test_heldout_errors_name_the_problem():
    theta, phi = _random_model(X.shape[0], 2, X.shape[1])
    with pytest.raises(ValueError, match=r"row 1 sums to .*normalise unnormalised components_"):
        heldout_log_likelihood(theta, phi * np.array([[1.0], [2.0]]), X)
    with pytest.raises(ValueError, match=r"every row of doc_topic must sum to one; row 0"):
        heldout_log_likelihood(theta * 2, phi, X)
    with pytest.raises(ValueError, match=r"doc_topic has 5 rows and X 6 documents"):
        heldout_log_likelihood(theta[:5], phi, X)
    with pytest.raises(ValueError, match=r"topic_word has 5 words \(columns\) and X 6"):
        heldout_log_likelihood(theta, phi[:, :5] / phi[:, :5].sum(1, keepdims=True), X)
    with pytest.raises(ValueError, match=r"doc_topic has 2 topics .* topic_word 3"):
        heldout_log_likelihood(theta, _random_model(1, 3, X.shape[1])[1], X)
    with pytest.raises(ValueError, match=r"no held-out words"):
        heldout_log_likelihood(theta, phi, np.zeros_like(X))
    with pytest.raises(ValueError, match=r"Negative values"):
        heldout_log_likelihood(theta, phi, -X)


# -- top words ------------------------------------------------------------------------------------
def test_top_words_in_order_of_weight_ties_by_column():
    weights = np.array([[0.1, 0.4, 0.1, 0.3, 0.0, 0.1], [5.0, 1.0, 1.0, 9.0, 1.0, 0.0]])
    assert_array_equal(top_word_indices(weights, 4), [[1, 3, 0, 2], [3, 0, 1, 2]])
    assert_array_equal(top_words(weights, VOCABULARY, 3), [["b", "d", "a"], ["d", "a", "b"]])


def test_top_words_errors():
    with pytest.raises(ValueError, match=r"vocabulary has shape \(5,\); topic_word has 6"):
        top_words(np.ones((2, 6)), VOCABULARY[:5], 3)
    with pytest.raises(ValueError, match=r"n must lie in 1\.\.6"):
        top_words(np.ones((2, 6)), VOCABULARY, 7)
    with pytest.raises(ValueError, match=r"finite non-negative"):
        top_word_indices(-np.ones((2, 6)), 2)


# -- coherence against brute force -------------------------------------------------------------
def _document_counts(words):
    """D(v) and D(v, v') by sets of the documents' words."""
    sets = [set(document) for document in DOCUMENTS]
    alone = {w: sum(w in s for s in sets) for w in words}
    both = {(v, u): sum(v in s and u in s for s in sets) for v in words for u in words}
    return alone, both


# Topics over a..f, top words in order: b a c e d f, d c e f a b, e a f d c b (f: in no document).
TOPICS = np.array(
    [
        [0.30, 0.35, 0.20, 0.05, 0.06, 0.04],
        [0.05, 0.02, 0.25, 0.40, 0.20, 0.08],
        [0.25, 0.01, 0.02, 0.03, 0.45, 0.24],
    ]
)


def _umass_by_hand(ranked, smoothing=1.0):
    alone, both = _document_counts(ranked)
    return sum(
        math.log((both[ranked[m], ranked[lo]] + smoothing) / alone[ranked[lo]])
        for m in range(1, len(ranked))
        for lo in range(m)
    )


def _npmi_by_hand(ranked):
    alone, both = _document_counts(ranked)
    n = len(DOCUMENTS)
    scores = []
    for v, u in itertools.combinations(ranked, 2):
        joint = both[v, u] / n
        if joint == 0:
            scores.append(-1.0)
        else:
            scores.append(math.log(joint / (alone[v] / n * alone[u] / n)) / -math.log(joint))
    return sum(scores) / len(scores)


@pytest.mark.parametrize("top_n", [2, 3, 4])
def test_umass_is_mimnos_sum_over_ranked_pairs(top_n):
    ranked = [list(row) for row in top_words(TOPICS[:2], VOCABULARY, top_n)]
    got = coherence(TOPICS[:2], sp.csr_array(X), measure="umass", top_n=top_n)
    assert_allclose(got, [_umass_by_hand(r) for r in ranked], rtol=1e-13)


def test_umass_conditions_every_word_on_the_words_ranked_above_it():
    # D(e) = 2, D(b) = 4, D(e, b) = 1: log(2 / 2) ranked e, b; log(2 / 4) ranked b, e.
    e_first = np.array([[0.0, 0.4, 0.0, 0.0, 0.5, 0.1]])
    b_first = np.array([[0.0, 0.5, 0.0, 0.0, 0.4, 0.1]])
    assert coherence(e_first, X, top_n=2)[0] == pytest.approx(0.0, abs=1e-15)
    assert coherence(b_first, X, top_n=2)[0] == pytest.approx(math.log(0.5), rel=1e-14)


@pytest.mark.parametrize("top_n", [2, 3, 5])
def test_npmi_is_the_mean_over_pairs_of_document_npmi(top_n):
    ranked = [list(row) for row in top_words(TOPICS, VOCABULARY, top_n)]
    got = coherence(TOPICS, X, measure="npmi", top_n=top_n)
    assert_allclose(got, [_npmi_by_hand(r) for r in ranked], rtol=1e-13)
    assert np.all((got >= -1) & (got <= 1))


def test_npmi_limits_never_together_and_always_together():
    # Word 0 and 1 never share a document; 2 and 3 are in every one.
    counts = np.array([[1, 0, 1, 1], [0, 2, 1, 1], [3, 0, 1, 1]])
    apart = np.array([[0.5, 0.4, 0.05, 0.05]])
    always = np.array([[0.05, 0.05, 0.5, 0.4]])
    assert coherence(apart, counts, measure="npmi", top_n=2)[0] == -1.0
    assert coherence(always, counts, measure="npmi", top_n=2)[0] == 1.0


def test_umass_refuses_a_top_word_in_no_document():
    with pytest.raises(ValueError, match=r"top word \(column 5\) of topic 2 occurs in no doc"):
        coherence(TOPICS, X, top_n=4)
    # NPMI scores such a word's pairs -1: never seen together.
    assert np.isfinite(coherence(TOPICS, X, measure="npmi", top_n=4)).all()


def test_coherence_errors():
    with pytest.raises(ValueError, match=r"measure must be 'umass' or 'npmi', got 'c_v'"):
        coherence(TOPICS, X, measure="c_v")
    with pytest.raises(ValueError, match=r"top_n must lie in 2\.\.6"):
        coherence(TOPICS, X, top_n=1)
    with pytest.raises(ValueError, match=r"smoothing must be a finite positive number"):
        coherence(TOPICS, X, smoothing=0.0)
    with pytest.raises(ValueError, match=r"measure='npmi' takes none"):
        coherence(TOPICS, X, measure="npmi", smoothing=0.5)
    with pytest.raises(ValueError, match=r"topic_word has 6 words \(columns\) and X 5"):
        coherence(TOPICS, X[:, :5], top_n=3)


# -- coherence against gensim ---------------------------------------------------------------------
def _gensim_corpus(seed: int = 0, n_documents: int = 60, n_words: int = 30):
    """Documents of random words, most from one of three word groups."""
    rng = np.random.RandomState(seed)
    vocabulary = np.array([f"w{j:02d}" for j in range(n_words)])
    documents = []
    for i in range(n_documents):
        group = i % 3
        favoured = np.arange(group * 10, group * 10 + 10)
        words = np.concatenate(
            [rng.choice(favoured, rng.randint(3, 12)), rng.choice(n_words, rng.randint(0, 3))]
        )
        documents.append(list(vocabulary[words]))
    return documents, vocabulary


def test_umass_agrees_with_gensim():
    gensim = pytest.importorskip("gensim")
    documents, vocabulary = _gensim_corpus()
    counts = _counts(documents, vocabulary)
    topics = np.random.RandomState(3).dirichlet(np.full(vocabulary.size, 0.3), size=4)
    top_n = 6
    dictionary = gensim.corpora.Dictionary(documents)
    model = gensim.models.coherencemodel.CoherenceModel(
        topics=[list(row) for row in top_words(topics, vocabulary, top_n)],
        corpus=[dictionary.doc2bow(document) for document in documents],
        dictionary=dictionary,
        coherence="u_mass",
        topn=top_n,
    )
    expected = np.array(model.get_coherence_per_topic())
    # gensim: the mean over pairs of log((D(v, v') / N + 1e-12) / (D(v') / N)).
    got = coherence(topics, counts, top_n=top_n, smoothing=1e-12 * counts.shape[0])
    assert_allclose(got / (top_n * (top_n - 1) / 2), expected, rtol=1e-10)
    # Mimno's +1 gives other values: the comparison above has something to tell.
    assert not np.allclose(coherence(topics, counts, top_n=top_n) / 15, expected, rtol=1e-3)


def test_npmi_agrees_with_gensim_where_every_pair_meets():
    gensim = pytest.importorskip("gensim")
    documents, vocabulary = _gensim_corpus(seed=1)
    counts = _counts(documents, vocabulary)
    present = counts > 0
    # Topics whose top words are the group's most frequent: all pairs share documents.
    topics = np.zeros((3, vocabulary.size))
    for g in range(3):
        frequency = present[g::3].sum(axis=0)
        topics[g] = frequency + 1e-3 * np.arange(vocabulary.size)[::-1]
    top_n = 5
    top = top_word_indices(topics, top_n)
    for row in top:
        assert np.all((present[:, row].T.astype(int) @ present[:, row]) > 0)
    dictionary = gensim.corpora.Dictionary(documents)
    model = gensim.models.coherencemodel.CoherenceModel(
        topics=[list(row) for row in vocabulary[top]],
        texts=documents,
        dictionary=dictionary,
        coherence="c_npmi",
        topn=top_n,
        # A window longer than every document: its windows are the documents.
        window_size=max(len(document) for document in documents) + 1,
    )
    expected = np.array(model.get_coherence_per_topic())
    # gensim adds epsilon = 1e-12 to the joint probabilities, worth about 1e-10 here.
    assert_allclose(coherence(topics, counts, measure="npmi", top_n=top_n), expected, atol=1e-8)
