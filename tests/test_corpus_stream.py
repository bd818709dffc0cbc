"""A text corpus read a block of lines at a time: the same counts and vocabulary as
read_corpus, and the same topic-model fits."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from emkit import LatentDirichletAllocation, read_corpus, stream_corpus

THEMES = (
    "apple banana fruit orchard juice pear",
    "engine wheel road driver fuel brake",
    "river ocean water fish boat harbour",
)


@pytest.fixture
def corpus_file(tmp_path):
    rng = np.random.RandomState(0)
    lines = []
    for i in range(230):
        words = rng.choice(THEMES[i % 3].split(), size=8).tolist()
        words += [*rng.choice(" ".join(THEMES).split(), size=2).tolist(), "the", "and"]
        lines.append(" ".join(words))
        if i % 50 == 7:
            lines.append("   ")  # blank lines are no documents
    path = tmp_path / "docs.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("options", [{}, {"min_df": 5, "max_df": 0.5}, {"stop_words": None}])
def test_stream_counts_equal_read_corpus(corpus_file, options):
    whole = read_corpus(corpus_file, **options)
    stream = stream_corpus(corpus_file, **options)
    assert stream.columns == tuple(whole.vocabulary)
    for size in (1, 17, 10_000):
        got = sp.vstack([rows for rows, _ in stream.chunks(size)])
        assert (got != whole.counts).nnz == 0
    assert stream.n_rows == whole.n_documents
    np.testing.assert_array_equal(stream.names(), whole.names)


def test_online_lda_from_the_stream_equals_the_corpus_fit(corpus_file):
    whole = read_corpus(corpus_file)
    params = {"learning_method": "online", "batch_size": 40, "max_iter": 3, "random_state": 0}
    ref = LatentDirichletAllocation(3, **params).fit(whole)
    got = LatentDirichletAllocation(3, **params).fit(stream_corpus(corpus_file))
    np.testing.assert_allclose(got.components_, ref.components_, rtol=1e-12)
    assert list(got.feature_names_in_) == list(whole.vocabulary)
    fixed = stream_corpus(corpus_file, vocabulary=got.feature_names_in_)
    np.testing.assert_allclose(got.transform(fixed), ref.transform(whole), rtol=1e-12)


def test_bad_streams(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        stream_corpus(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="folder"):
        stream_corpus(tmp_path)
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n")
    with pytest.raises(ValueError, match="no documents"):
        stream_corpus(blank)
    stop = tmp_path / "stop.txt"
    stop.write_text("the and of\nthe of\n")
    with pytest.raises(ValueError, match="left in the vocabulary"):
        stream_corpus(stop)
