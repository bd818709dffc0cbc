"""Text corpora as document-term matrices for topic models and mixtures of unigrams.

:func:`read_corpus` reads documents from a text file (one document a line), a folder of
text files (one document a file) or a column of a CSV or Parquet table, and counts their
words with scikit-learn's :class:`~sklearn.feature_extraction.text.CountVectorizer`: emkit
writes no tokenizer. The :class:`Corpus` it returns holds the counts (CSR), the vocabulary
(the words of the columns, in order) and the name of every document, splits itself into
training and held-out documents over one vocabulary, and counts new texts with it.
:func:`corpus_from_texts` counts texts already in memory the same way.

Defaults for topic models (:data:`TOPIC_MODEL_DEFAULTS`), any of which a keyword argument
overrides: words lowercased; tokens of two or more letters (numbers, such as verse numbers
or years, are left out: they rarely name a topic); scikit-learn's English stop words;
words in fewer than 2 documents (``min_df=2``: words seen once cannot be shared by a
topic's documents) or in more than 95% of them (``max_df=0.95``: a corpus's own stop words)
left out. These are the options of scikit-learn's topic-extraction example, with the letter
tokens added.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

__all__ = ["TOPIC_MODEL_DEFAULTS", "Corpus", "corpus_from_texts", "read_corpus"]

TOPIC_MODEL_DEFAULTS: dict[str, Any] = {
    "lowercase": True,
    # Two or more letters, no digits or underscores: words, not numbers.
    "token_pattern": r"(?u)\b[^\W\d_]{2,}\b",
    "stop_words": "english",
    "min_df": 2,
    "max_df": 0.95,
}
"""The CountVectorizer options :func:`read_corpus` starts from."""

_TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True, eq=False)
class Corpus:
    """Documents as word counts over one vocabulary.

    Attributes
    ----------
    counts : scipy.sparse.csr_array of shape (n_documents, n_words)
        ``counts[d, w]``: occurrences of word ``w`` in document ``d`` (int64, or float64
        from a vectorizer built with ``dtype=np.float64``). A document none of whose words
        is in the vocabulary is a row of zeros.
    vocabulary : ndarray of str of shape (n_words,)
        The word of every column, in column order (alphabetical, as CountVectorizer orders
        them).
    names : ndarray of shape (n_documents,)
        Where every document came from: its line number (from 1) in a text file, its file
        name in a folder, its row (from 0) in a table.
    vectorizer : CountVectorizer
        The fitted vectorizer that counted the words; :meth:`transform_texts` counts new
        texts with it.
    """

    counts: sp.csr_array
    vocabulary: np.ndarray
    names: np.ndarray
    vectorizer: CountVectorizer = field(repr=False)

    def __post_init__(self) -> None:
        n_documents, n_words = self.counts.shape
        if self.vocabulary.shape != (n_words,) or self.names.shape != (n_documents,):
            raise ValueError(
                f"a corpus of counts {self.counts.shape} needs {n_words} words and "
                f"{n_documents} names, got {self.vocabulary.shape[0]} and {self.names.shape[0]}"
            )

    @property
    def n_documents(self) -> int:
        return int(self.counts.shape[0])

    @property
    def n_words(self) -> int:
        """Words of the vocabulary (not of the documents)."""
        return int(self.counts.shape[1])

    def split(self, test_size: float | int = 0.1, random_state: int = 0) -> tuple[Corpus, Corpus]:
        """Training and held-out documents, drawn at random, over this corpus's vocabulary.

        Parameters
        ----------
        test_size : float or int, default=0.1
            A fraction of the documents in (0, 1) (rounded up to whole documents, as
            scikit-learn's ``train_test_split`` does), or their number.
        random_state : int, default=0
            Seed of the draw: a fixed seed gives the same split every time.

        Returns
        -------
        train, test : Corpus
            The documents of each part in their order in this corpus, with their names.

        Raises
        ------
        ValueError
            When ``test_size`` leaves no document in either part.
        """
        n = self.n_documents
        if isinstance(test_size, (bool, np.bool_)) or not isinstance(
            test_size, (int, float, np.integer, np.floating)
        ):
            raise ValueError(
                f"test_size must be a fraction or a number of documents, got {test_size!r}"
            )
        if isinstance(test_size, (float, np.floating)):
            if not 0.0 < test_size < 1.0:
                raise ValueError(f"test_size as a fraction must lie in (0, 1), got {test_size}")
            n_test = int(np.ceil(test_size * n))
        else:
            n_test = int(test_size)
        if not 0 < n_test < n:
            raise ValueError(
                f"test_size={test_size!r} puts {n_test} of the {n} documents in the test part; "
                "both parts need at least one"
            )
        rng = np.random.RandomState(random_state)
        test = np.zeros(n, dtype=bool)
        test[rng.permutation(n)[:n_test]] = True
        return self._rows(np.flatnonzero(~test)), self._rows(np.flatnonzero(test))

    def transform_texts(self, texts: Iterable[str]) -> sp.csr_array:
        """Word counts of new ``texts`` over this corpus's vocabulary (words outside it are
        left out), shape (n_texts, n_words).

        Raises
        ------
        TypeError
            For a single string (which would be read as texts of one character each).
        """
        if isinstance(texts, (str, bytes)):
            raise TypeError("texts must be a sequence of texts, not one string: give [text]")
        return sp.csr_array(self.vectorizer.transform(list(texts)))

    def _rows(self, rows: np.ndarray) -> Corpus:
        return Corpus(self.counts[rows], self.vocabulary, self.names[rows], self.vectorizer)


def read_corpus(
    source: str | os.PathLike[str],
    *,
    column: str | None = None,
    vectorizer: CountVectorizer | None = None,
    **countvectorizer_options: Any,
) -> Corpus:
    """Read documents and count their words.

    Parameters
    ----------
    source : str or path
        A text file (every non-blank line a document), a folder (every file in it a
        document, in order of name; hidden files and folders in it are skipped), or a
        ``.csv``, ``.tsv``, ``.parquet`` or ``.pq`` table with a column of texts. Blank
        documents (lines, files, cells, missing cells) are skipped; ``names`` says where
        every document kept came from.
    column : str, optional
        The column of texts of a table; it may be left out of a table of one column.
        Only for tables.
    vectorizer : CountVectorizer, optional
        The vectorizer to count with (a copy of it is fitted: the one given is left
        unfitted). Default: ``CountVectorizer(**TOPIC_MODEL_DEFAULTS)`` updated with
        ``countvectorizer_options``.
    **countvectorizer_options
        CountVectorizer options over :data:`TOPIC_MODEL_DEFAULTS`, e.g. ``min_df=1`` or
        ``stop_words=None``; ``encoding`` and ``decode_error`` say how files are decoded
        (default UTF-8, strictly). Not with ``vectorizer``.

    Returns
    -------
    Corpus

    Raises
    ------
    FileNotFoundError
        When ``source`` does not exist.
    ValueError
        For no documents, a column the table does not have (naming those it has), a
        ``column`` for a text file or folder, text that does not decode (naming the file
        and line), or a vocabulary left empty by the options (naming those to relax).
    TypeError
        For a vectorizer that does not count words (not a CountVectorizer, or a
        TfidfVectorizer), or options with ``vectorizer``.
    """
    path = pathlib.Path(source)
    if not path.exists():
        raise FileNotFoundError(f"read_corpus: no such file or folder: {str(source)!r}")
    counter = _vectorizer(vectorizer, countvectorizer_options)
    kind = "folder" if path.is_dir() else _TABLE_SUFFIXES.get(path.suffix.lower(), "lines")
    if column is not None and kind in ("folder", "lines"):
        raise ValueError(
            f"column={column!r} names a column of a table (.csv, .tsv, .parquet); {path} is a "
            f"{'folder of text files' if kind == 'folder' else 'text file of one document a line'}"
        )
    encoding, errors = counter.encoding, counter.decode_error
    if kind == "folder":
        texts, names = _folder_documents(path, encoding, errors)
    elif kind == "lines":
        texts, names = _line_documents(path, encoding, errors)
    else:
        texts, names = _table_documents(path, kind, column)
    if not texts:
        raise ValueError(
            f"read_corpus: {path} holds no documents (every line, file or cell is blank)"
        )
    return _counted(texts, names, counter, f"the {len(texts)} documents of {path}")


def corpus_from_texts(
    texts: Iterable[str],
    names: Any = None,
    *,
    vectorizer: CountVectorizer | None = None,
    **countvectorizer_options: Any,
) -> Corpus:
    """The :class:`Corpus` of texts in memory, counted as :func:`read_corpus` counts the
    documents of a file (the same vectorizer and options).

    Parameters
    ----------
    texts : iterable of str
        The documents, every one kept (blank ones too, as rows of zeros).
    names : array-like of shape (n_documents,), optional
        Their names; default ``0, 1, ...``.
    vectorizer, **countvectorizer_options
        As for :func:`read_corpus`.

    Raises
    ------
    ValueError
        For no texts, names of another length, or a vocabulary left empty by the options.
    TypeError
        For a single string, or a vectorizer :func:`read_corpus` refuses.
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a sequence of texts, not one string: give [text]")
    texts = list(texts)
    if not texts:
        raise ValueError("corpus_from_texts got no texts")
    labels = np.arange(len(texts)) if names is None else np.asarray(names)
    if labels.shape != (len(texts),):
        raise ValueError(f"names has shape {labels.shape}; one name per text ({len(texts)})")
    counter = _vectorizer(vectorizer, countvectorizer_options)
    return _counted(texts, labels, counter, f"the {len(texts)} texts")


# -- helpers --------------------------------------------------------------------------------------
def _counted(texts: list[str], names: np.ndarray, counter: CountVectorizer, what: str) -> Corpus:
    """The corpus of ``texts`` counted by the unfitted ``counter`` (fitted here); ``what``
    names the documents in the message of an empty vocabulary."""
    try:
        counts = counter.fit_transform(texts)
    except ValueError as error:
        known = ("empty vocabulary", "no terms remain", "max_df corresponds to")
        if not any(words in str(error) for words in known):
            raise
        raise ValueError(
            f"no word of {what} is left in the vocabulary ({error}); relax the options: "
            "stop_words=None keeps stop words, min_df=1 keeps words of one document, "
            "max_df=1.0 words of every document, and token_pattern=r'(?u)\\b\\w\\w+\\b' "
            "numbers too"
        ) from None
    return Corpus(
        sp.csr_array(counts), np.asarray(counter.get_feature_names_out(), dtype=str), names, counter
    )


def _vectorizer(given: CountVectorizer | None, options: dict[str, Any]) -> CountVectorizer:
    """A fresh unfitted vectorizer: a copy of ``given``, or the defaults with ``options``."""
    if given is None:
        counter = CountVectorizer(**TOPIC_MODEL_DEFAULTS)
        try:
            counter.set_params(**options)
        except ValueError as error:
            raise TypeError(f"read_corpus: {error}") from None
    else:
        if options:
            raise TypeError(
                f"read_corpus takes a vectorizer or CountVectorizer options, not both; got "
                f"{sorted(options)} with vectorizer"
            )
        if not isinstance(given, CountVectorizer) or isinstance(given, TfidfVectorizer):
            raise TypeError(
                "vectorizer must be a CountVectorizer (topic models read word counts), got "
                f"{type(given).__name__}"
            )
        counter = clone(given)
    if counter.input != "content":
        raise ValueError(
            f"read_corpus reads the documents itself: the vectorizer's input must stay "
            f"'content', got input={counter.input!r}"
        )
    return counter


def _decoded(raw: bytes, encoding: str, errors: str, where: str) -> str:
    try:
        return raw.decode(encoding, errors)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"read_corpus: {where} is not {encoding} text ({error.reason} at byte "
            f"{error.start}); give encoding='...' (such as 'latin-1') or "
            "decode_error='replace'"
        ) from None


def _line_documents(path: pathlib.Path, encoding: str, errors: str) -> tuple[list[str], np.ndarray]:
    texts, lines = [], []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        text = _decoded(raw, encoding, errors, f"line {number} of {path}")
        if text.strip():
            texts.append(text)
            lines.append(number)
    return texts, np.asarray(lines, dtype=np.int64)


def _folder_documents(
    path: pathlib.Path, encoding: str, errors: str
) -> tuple[list[str], np.ndarray]:
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    texts, names = [], []
    for file in files:
        text = _decoded(file.read_bytes(), encoding, errors, str(file))
        if text.strip():
            texts.append(text)
            names.append(file.name)
    return texts, np.asarray(names, dtype=str)


def _table_documents(
    path: pathlib.Path, kind: str, column: str | None
) -> tuple[list[str], np.ndarray]:
    import pandas as pd

    if kind == "parquet":
        import pyarrow.parquet as pq

        columns = list(pq.read_schema(path).names)
    else:
        columns = [
            str(c) for c in pd.read_csv(path, nrows=0, sep="\t" if kind == "tsv" else ",").columns
        ]
    if column is None:
        if len(columns) != 1:
            raise ValueError(
                f"read_corpus: {path} has {len(columns)} columns ({_names(columns)}); say which "
                "holds the texts with column='...'"
            )
        column = columns[0]
    if column not in columns:
        raise ValueError(
            f"read_corpus: {path} has no column {column!r}; its columns are {_names(columns)}"
        )
    if kind == "parquet":
        cells = pd.read_parquet(path, columns=[column])[column]
    else:
        cells = pd.read_csv(
            path, usecols=[column], dtype={column: str}, sep="\t" if kind == "tsv" else ","
        )[column]
    values = cells.to_numpy(dtype=object)
    kept = [i for i, v in enumerate(values) if isinstance(v, str) and v.strip()]
    wrong = [i for i, v in enumerate(values) if not (isinstance(v, str) or pd.isna(v))]
    if wrong:
        raise ValueError(
            f"read_corpus: column {column!r} of {path} holds {type(values[wrong[0]]).__name__} "
            f"values, not texts (row {wrong[0]})"
        )
    return [values[i] for i in kept], np.asarray(kept, dtype=np.int64)


def _names(columns: list[str], shown: int = 20) -> str:
    listed = ", ".join(repr(c) for c in columns[:shown])
    return listed + (f", ... ({len(columns)} in all)" if len(columns) > shown else "")
