"""Document-term matrices: the data of topic models, checked once for all of them."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

DOCUMENT_CHUNK_SIZE = 2048
"""Most documents per E-step chunk of a topic model (the default): a document costs far more
than a row of a mixture, so chunks are smaller, and a corpus is cut in a few chunks at
least, for the threads to share."""


def document_chunk_size(n_documents: int | None) -> int:
    """Documents per chunk of a corpus of ``n_documents`` (None: unknown): about an eighth
    of the corpus, between 128 and :data:`DOCUMENT_CHUNK_SIZE`. It depends on the corpus
    alone, never on the threads, so that results do not depend on them."""
    if n_documents is None:
        return DOCUMENT_CHUNK_SIZE
    return int(min(DOCUMENT_CHUNK_SIZE, max(128, -(-n_documents // 8))))


def check_documents(
    X: Any,
    *,
    whom: str,
    integer: bool = False,
    dtype: Any = (np.float64, np.float32),
) -> sp.csr_array:
    """``X`` as a CSR document-term matrix that topic-model kernels read row by row.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_documents, n_words)
        Word counts (or any non-negative weights) of every document.
    whom : str
        Who reads the data, for the messages (``'LatentDirichletAllocation.fit'``).
    integer : bool, default=False
        Whether the counts must be whole numbers (a model whose likelihood counts words).
    dtype : dtype or tuple of dtypes, default=(float64, float32)
        The dtypes kept; other data is converted to the first.

    Returns
    -------
    scipy.sparse.csr_array of shape (n_documents, n_words)
        Canonical (sorted indices, no duplicates), explicit zeros removed. A CSR input that
        is already canonical shares its arrays with ``X``.

    Raises
    ------
    ValueError
        For NaN or infinite values, negative counts, fractional counts where ``integer``,
        no documents or no words in the vocabulary.
    """
    kinds = dtype if isinstance(dtype, tuple) else (dtype,)
    if sp.issparse(X):
        M = sp.csr_array(X)
    else:
        M = sp.csr_array(np.asarray(X) if not hasattr(X, "dtype") else X)
    if M.ndim != 2:
        raise ValueError(f"{whom} expects a 2-D document-term matrix, got {M.ndim} dimensions")
    if M.dtype not in kinds:
        if M.dtype.kind not in "biuf":
            raise ValueError(f"{whom} expects numeric word counts, got dtype {M.dtype}")
        M = M.astype(kinds[0])
    n_documents, n_words = M.shape
    if n_documents == 0:
        raise ValueError(f"{whom} got no documents (0 rows): at least 1 is required")
    if n_words == 0:
        raise ValueError(
            f"{whom} got an empty vocabulary (0 columns): a document-term matrix needs "
            "at least one word"
        )
    if not M.has_canonical_format:
        M = M.copy()
        M.sum_duplicates()
    data = M.data
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{whom}: Input contains NaN or infinity, which no count can be")
    if np.any(data < 0):
        raise ValueError(f"Negative values in data passed to {whom} (word counts are >= 0)")
    if integer and np.any(data != np.round(data)):
        raise ValueError(
            f"{whom} needs whole word counts; the data holds fractional values "
            f"(e.g. {float(data[data != np.round(data)][0])!r})"
        )
    if np.any(data == 0):
        M = M.copy()
        M.eliminate_zeros()
    return M
