"""read_corpus: text files, folders and tables against CountVectorizer run on the same
texts, the defaults for topic models, held-out splits, new texts, and the errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from emkit import MultinomialMixture
from emkit.io.corpus import TOPIC_MODEL_DEFAULTS, Corpus, corpus_from_texts, read_corpus

TEXTS = [
    "The cat sat on the mat in 1999.",
    "A dog sat on the log; the dog barked.",
    "Cats and dogs: the cat chased the dog.",
    "Stock markets fell as the bank raised rates.",
    "The bank cut rates and markets rose.",
    "Markets, banks and rates: the bank again.",
    "The cat and the dog slept on the mat.",
]


def _reference(texts: list[str], **options) -> tuple[np.ndarray, np.ndarray]:
    vectorizer = CountVectorizer(**{**TOPIC_MODEL_DEFAULTS, **options})
    return vectorizer.fit_transform(texts).toarray(), vectorizer.get_feature_names_out()


def _assert_counts(corpus: Corpus, texts: list[str], **options) -> None:
    counts, vocabulary = _reference(texts, **options)
    assert isinstance(corpus.counts, sp.csr_array) and corpus.counts.dtype == np.int64
    assert_array_equal(corpus.counts.toarray(), counts)
    assert_array_equal(corpus.vocabulary, vocabulary)
    assert corpus.vocabulary.dtype.kind == "U"


# -- sources -------------------------------------------------------------------------------------
def test_text_file_one_document_a_line(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXTS[0] + "\n\n   \n" + "\r\n".join(TEXTS[1:]) + "\n", encoding="utf-8")
    corpus = read_corpus(path)
    _assert_counts(corpus, TEXTS)
    # Blank lines are no documents; the names are the lines of the file.
    assert_array_equal(corpus.names, [1, 4, 5, 6, 7, 8, 9])
    assert corpus.n_documents == len(TEXTS) and corpus.n_words == corpus.vocabulary.size


def test_defaults_suit_topic_models(tmp_path):
    path = tmp_path / "corpus.cor"
    path.write_text("\n".join(TEXTS), encoding="utf-8")
    words = set(read_corpus(path).vocabulary)
    assert {"cat", "dog", "bank", "markets", "rates", "sat", "mat"} <= words
    assert "1999" not in words  # numbers
    assert "the" not in words and "and" not in words  # stop words
    assert "barked" not in words  # in one document only
    assert all(w == w.lower() for w in words)
    relaxed = read_corpus(path, min_df=1, stop_words=None, max_df=1.0)
    _assert_counts(relaxed, TEXTS, min_df=1, stop_words=None, max_df=1.0)
    assert {"the", "barked"} <= set(relaxed.vocabulary)


def test_folder_one_document_a_file_in_order_of_name(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    order = ["b.txt", "a.txt", "c", "e.md", "d.txt", "f.txt", "g.txt"]
    for name, text in zip(order, TEXTS, strict=True):
        (folder / name).write_text(text + "\nmore of it\n", encoding="utf-8")
    (folder / ".hidden").write_text("cat cat cat dog", encoding="utf-8")
    (folder / "empty.txt").write_text("  \n", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "x.txt").write_text("cat dog", encoding="utf-8")
    corpus = read_corpus(folder)
    names = sorted(order)
    assert_array_equal(corpus.names, names)
    by_name = dict(zip(order, TEXTS, strict=True))
    _assert_counts(corpus, [by_name[n] + "\nmore of it\n" for n in names])


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_table_column(tmp_path, suffix):
    texts = list(TEXTS)
    texts[2] = None
    texts.insert(4, "   ")
    table = pd.DataFrame({"id": range(len(texts)), "text": texts, "n": 1.5})
    path = tmp_path / f"corpus{suffix}"
    if suffix == ".parquet":
        table.to_parquet(path)
    else:
        table.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    corpus = read_corpus(path, column="text")
    kept = [i for i, t in enumerate(texts) if t is not None and t.strip()]
    assert_array_equal(corpus.names, kept)
    _assert_counts(corpus, [texts[i] for i in kept])
    with pytest.raises(
        ValueError, match=r"has no column 'body'; its columns are 'id', 'text', 'n'"
    ):
        read_corpus(path, column="body")
    with pytest.raises(ValueError, match=r"has 3 columns \('id', 'text', 'n'\); say which"):
        read_corpus(path)
    if suffix == ".parquet":  # a text table's cells are all text
        with pytest.raises(ValueError, match=r"column 'n' of .* holds float values, not texts"):
            read_corpus(path, column="n")


def test_table_of_one_column_needs_no_column(tmp_path):
    path = tmp_path / "corpus.csv"
    pd.DataFrame({"body": TEXTS}).to_csv(path, index=False)
    _assert_counts(read_corpus(path), TEXTS)


def test_vectorizer_and_options(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(TEXTS), encoding="utf-8")
    given = CountVectorizer(min_df=1, ngram_range=(1, 2))
    corpus = read_corpus(path, vectorizer=given)
    expected = CountVectorizer(min_df=1, ngram_range=(1, 2)).fit_transform(TEXTS).toarray()
    assert_array_equal(corpus.counts.toarray(), expected)
    assert not hasattr(given, "vocabulary_")  # a copy was fitted
    with pytest.raises(TypeError, match=r"a vectorizer or CountVectorizer options, not both"):
        read_corpus(path, vectorizer=given, min_df=1)
    with pytest.raises(TypeError, match=r"must be a CountVectorizer .* got TfidfVectorizer"):
        read_corpus(path, vectorizer=TfidfVectorizer())
    with pytest.raises(ValueError, match=r"input must stay 'content', got input='filename'"):
        read_corpus(path, input="filename")
    with pytest.raises(TypeError, match=r"Invalid parameter 'min_count'"):
        read_corpus(path, min_count=2)


def test_float_counts_on_request(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(TEXTS), encoding="utf-8")
    assert read_corpus(path, dtype=np.float64).counts.dtype == np.float64


def test_encodings(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("café crème\ncafé noir\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"line 1 of .*latin\.txt is not utf-8 text.*encoding="):
        read_corpus(path)
    corpus = read_corpus(path, encoding="latin-1", stop_words=None, max_df=1.0)
    assert_array_equal(corpus.vocabulary, ["café"])
    replaced = read_corpus(path, decode_error="replace", stop_words=None, max_df=1.0)
    assert replaced.n_documents == 2


# -- errors --------------------------------------------------------------------------------------
def test_missing_source(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no such file or folder: '.*nowhere\.txt'"):
        read_corpus(tmp_path / "nowhere.txt")


def test_empty_corpus(tmp_path):
    (tmp_path / "blank.txt").write_text("\n  \n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"holds no documents"):
        read_corpus(tmp_path / "blank.txt")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match=r"holds no documents"):
        read_corpus(tmp_path / "folder")


def test_column_for_a_text_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(TEXTS), encoding="utf-8")
    with pytest.raises(ValueError, match=r"column='text' names a column of a table"):
        read_corpus(path, column="text")


@pytest.mark.parametrize(
    "lines",
    [["the and of", "it is the", "and so on"], ["cat dog", "bird fish"], ["cat dog"]],
    ids=["stop-words", "no-shared-word", "one-document"],
)
def test_empty_vocabulary_says_what_to_relax(tmp_path, lines):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"no word .* relax the options: stop_words=None .*min_df=1"
    ):
        read_corpus(path)


# -- splits and new texts ------------------------------------------------------------------------
def _corpus(tmp_path, n: int = 50) -> Corpus:
    rng = np.random.RandomState(0)
    words = np.array(["cat", "dog", "bank", "rates", "mat", "log", "market", "stock"])
    lines = [" ".join(rng.choice(words, 6)) for _ in range(n)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return read_corpus(path, max_df=1.0)


def test_split_ninety_ten_with_a_fixed_seed(tmp_path):
    corpus = _corpus(tmp_path)
    train, test = corpus.split(0.1, random_state=0)
    assert (train.n_documents, test.n_documents) == (45, 5)
    assert_array_equal(np.sort(np.concatenate([train.names, test.names])), corpus.names)
    assert np.all(np.diff(train.names) > 0) and np.all(np.diff(test.names) > 0)
    for part in (train, test):
        assert_array_equal(part.vocabulary, corpus.vocabulary)
        rows = np.searchsorted(corpus.names, part.names)
        assert_array_equal(part.counts.toarray(), corpus.counts.toarray()[rows])
    again = corpus.split(0.1, random_state=0)[1]
    assert_array_equal(again.names, test.names)
    assert not np.array_equal(corpus.split(0.1, random_state=1)[1].names, test.names)
    assert corpus.split(7)[1].n_documents == 7
    assert corpus.split(0.11)[1].n_documents == 6  # rounded up


@pytest.mark.parametrize("test_size", [0.0, 1.0, 0, 50, "10%", True])
def test_split_needs_two_parts(tmp_path, test_size):
    with pytest.raises(ValueError, match="test_size"):
        _corpus(tmp_path).split(test_size)


def test_transform_texts_uses_the_corpus_vocabulary(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(TEXTS), encoding="utf-8")
    corpus = read_corpus(path)
    assert_array_equal(corpus.transform_texts(TEXTS).toarray(), corpus.counts.toarray())
    new = corpus.transform_texts(["A cat, a dog and a zebra at the bank."])
    assert isinstance(new, sp.csr_array) and new.shape == (1, corpus.n_words)
    expected = np.isin(corpus.vocabulary, ["cat", "dog", "bank"]).astype(int)
    assert_array_equal(new.toarray()[0], expected)
    with pytest.raises(TypeError, match=r"not one string: give \[text\]"):
        corpus.transform_texts("a cat")


def test_a_corpus_clusters_with_the_mixture_of_unigrams(tmp_path):
    rng = np.random.RandomState(1)
    animals, money = ["cat", "dog", "mat", "log"], ["bank", "rates", "market", "stock"]
    lines = [" ".join(rng.choice(animals if i % 2 else money, 8)) for i in range(40)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    corpus = read_corpus(path, max_df=1.0)
    labels = MultinomialMixture(2, random_state=0, prior=1.01).fit_predict(corpus.counts)
    truth = np.arange(40) % 2
    assert np.array_equal(labels, truth) or np.array_equal(labels, 1 - truth)


def test_texts_in_memory_are_counted_as_a_file_is(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(TEXTS), encoding="utf-8")
    from_file = read_corpus(path, min_df=1)
    in_memory = corpus_from_texts(TEXTS, names=[f"t{i}" for i in range(len(TEXTS))], min_df=1)
    assert_array_equal(in_memory.counts.toarray(), from_file.counts.toarray())
    assert_array_equal(in_memory.vocabulary, from_file.vocabulary)
    assert_array_equal(in_memory.names, [f"t{i}" for i in range(len(TEXTS))])
    assert_array_equal(corpus_from_texts(TEXTS).names, np.arange(len(TEXTS)))
    with pytest.raises(ValueError, match=r"names has shape \(2,\); one name per text \(7\)"):
        corpus_from_texts(TEXTS, names=["a", "b"])
    with pytest.raises(ValueError, match="got no texts"):
        corpus_from_texts([])
    with pytest.raises(TypeError, match="not one string"):
        corpus_from_texts("the cat sat")
    with pytest.raises(ValueError, match=r"no word of the 2 texts .* stop_words=None"):
        corpus_from_texts(["the and", "of it"])
