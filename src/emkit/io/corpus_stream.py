"""A text corpus larger than memory: a file of one document a line, counted a block of
lines at a time over one vocabulary, as a row source that every topic model fits from.

:func:`stream_corpus` finds the vocabulary in one pass when it is not given (the same
options and defaults as :func:`emkit.io.corpus.read_corpus`: scikit-learn's CountVectorizer
tokenises every block, and the document frequencies of the blocks add up to the corpus's),
and returns a :class:`TextLines` source. Memory holds the vocabulary and one block of
documents, whatever the size of the file, so online variational Bayes
(``LatentDirichletAllocation(learning_method='online').fit(stream_corpus(path))``) runs at
constant memory.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer

from emkit.execution.sources import Chunk, RowSource
from emkit.io.corpus import _decoded, _vectorizer

__all__ = ["TextLines", "stream_corpus"]

BLOCK = 4096
"""Documents counted at a time when the vocabulary is found."""


class TextLines(RowSource):
    """The documents of a text file, one a non-blank line, as CSR word counts over a fixed
    vocabulary, counted a chunk of lines at a time.

    Parameters
    ----------
    path : str or path
        The file.
    vectorizer : CountVectorizer
        A vectorizer whose ``vocabulary`` is set: it counts every chunk.

    Attributes
    ----------
    vocabulary : ndarray of str of shape (n_words,)
        The words of the columns, in order (the source's :attr:`columns`).
    """

    dtype = np.dtype(np.float64)

    def __init__(self, path: str | os.PathLike[str], vectorizer: CountVectorizer) -> None:
        self.path = pathlib.Path(path)
        if vectorizer.vocabulary is None:
            raise ValueError("TextLines needs a vectorizer with a fixed vocabulary")
        self.vectorizer = clone(vectorizer)
        self.vectorizer.fit([])  # a fixed vocabulary needs no documents
        self.vocabulary = np.asarray(self.vectorizer.get_feature_names_out(), dtype=str)
        self.n_features = int(self.vocabulary.shape[0])
        self._n_rows: int | None = None

    @property
    def n_rows(self) -> int | None:
        """Documents in the file, once a pass has counted them."""
        return self._n_rows

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.vocabulary.tolist())

    @property
    def sparse(self) -> bool:
        return True

    def chunks(self, max_rows: int) -> Iterator[Chunk]:
        n = 0
        for texts, _ in _blocks(self.path, self.vectorizer, max_rows):
            n += len(texts)
            yield sp.csr_array(self.vectorizer.transform(texts), dtype=np.float64), None
        self._n_rows = n

    def names(self) -> np.ndarray:
        """The line number (from 1) of every document, in order."""
        numbers = [
            line for _, lines in _blocks(self.path, self.vectorizer, BLOCK) for line in lines
        ]
        return np.asarray(numbers, dtype=np.int64)


def stream_corpus(
    source: str | os.PathLike[str],
    *,
    vocabulary: Sequence[str] | None = None,
    **countvectorizer_options: Any,
) -> TextLines:
    """The documents of a text file (one a line) as a source read a block at a time.

    Parameters
    ----------
    source : str or path
        A text file; blank lines are skipped.
    vocabulary : sequence of str, optional
        The words to count (a fitted model's ``feature_names_in_``). Without it, one pass
        over the file finds the vocabulary :func:`emkit.io.corpus.read_corpus` would
        (the same options and defaults; ``min_df``, ``max_df`` and ``max_features``
        applied to the document frequencies and counts of the whole file).
    **countvectorizer_options
        CountVectorizer options over :data:`emkit.io.corpus.TOPIC_MODEL_DEFAULTS`.

    Returns
    -------
    TextLines

    Raises
    ------
    FileNotFoundError
        When ``source`` does not exist.
    ValueError
        For a folder or a table (read them with ``read_corpus``), no documents, or a
        vocabulary left empty by the options.
    """
    path = pathlib.Path(source)
    if not path.is_file():
        if path.is_dir():
            raise ValueError(
                f"stream_corpus reads a text file of one document a line; {path} "
                "is a folder (read_corpus reads folders)"
            )
        raise FileNotFoundError(f"stream_corpus: no such file: {str(source)!r}")
    counter = _vectorizer(None, countvectorizer_options)
    if vocabulary is None:
        vocabulary = _vocabulary(path, counter)
    counter.set_params(vocabulary=list(vocabulary), min_df=1, max_df=1.0, max_features=None)
    return TextLines(path, counter)


def _blocks(
    path: pathlib.Path, counter: CountVectorizer, size: int
) -> Iterator[tuple[list[str], list[int]]]:
    """Non-blank lines of ``path`` in blocks of at most ``size``, with their numbers."""
    texts: list[str] = []
    lines: list[int] = []
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            text = _decoded(
                raw.rstrip(b"\r\n"),
                counter.encoding,
                counter.decode_error,
                f"line {number} of {path}",
            )
            if not text.strip():
                continue
            texts.append(text)
            lines.append(number)
            if len(texts) == size:
                yield texts, lines
                texts, lines = [], []
    if texts:
        yield texts, lines


def _vocabulary(path: pathlib.Path, counter: CountVectorizer) -> list[str]:
    """The words CountVectorizer's options keep over the whole file, from the document
    frequencies and counts of its blocks."""
    block_counter = clone(counter).set_params(min_df=1, max_df=1.0, max_features=None)
    frequency: dict[str, int] = {}
    total: dict[str, int] = {}
    n_documents = 0
    for texts, _ in _blocks(path, counter, BLOCK):
        n_documents += len(texts)
        try:
            counts = sp.csr_array(block_counter.fit_transform(texts))
        except ValueError:  # a block of stop words only
            continue
        words = block_counter.get_feature_names_out()
        df = np.diff(counts.tocsc().indptr)
        tf = np.asarray(counts.sum(axis=0)).ravel()
        for word, d, t in zip(words.tolist(), df.tolist(), tf.tolist(), strict=True):
            frequency[word] = frequency.get(word, 0) + d
            total[word] = total.get(word, 0) + t
    if n_documents == 0:
        raise ValueError(f"stream_corpus: {path} holds no documents (every line is blank)")
    low = counter.min_df if isinstance(counter.min_df, int) else counter.min_df * n_documents
    high = counter.max_df if isinstance(counter.max_df, int) else counter.max_df * n_documents
    kept = [w for w, d in frequency.items() if low <= d <= high]
    if counter.max_features is not None:
        kept = sorted(kept, key=lambda w: (-total[w], w))[: counter.max_features]
    if not kept:
        raise ValueError(
            f"no word of the {n_documents} documents of {path} is left in the vocabulary; "
            "relax the options: stop_words=None, min_df=1, max_df=1.0"
        )
    return sorted(kept)
