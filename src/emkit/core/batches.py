"""Data as a re-iterable sequence of row batches ``(X, sample_weight)``.

The driver sees every data source through :class:`Batches`: an in-memory array is cut into
row chunks (bounding the temporaries of an E-step to O(chunk_size x n_components)), and a
user's iterable of chunks is passed through, checked for shape as it streams.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

Batch = tuple[np.ndarray, "np.ndarray | None"]

DEFAULT_CHUNK_SIZE = 16384
"""Rows per E-step batch for in-memory arrays: large enough for BLAS efficiency, small
enough that (chunk_size, n_components) float64 temporaries stay within a few megabytes."""


@dataclass(frozen=True)
class Batches:
    """A re-iterable source of ``(X, sample_weight)`` batches.

    Use :func:`as_batches` to build one.
    """

    source: object
    sample_weight: np.ndarray | None
    chunk_size: int

    @property
    def in_memory(self) -> bool:
        """True when the data is one array (so initialisation may see all of it)."""
        return isinstance(self.source, np.ndarray)

    def __iter__(self) -> Iterator[Batch]:
        if isinstance(self.source, np.ndarray):
            X, w, step = self.source, self.sample_weight, self.chunk_size
            for start in range(0, X.shape[0], step):
                yield X[start : start + step], None if w is None else w[start : start + step]
            return
        n_features = None
        for i, item in enumerate(self.source):  # type: ignore[attr-defined]
            X, w = _split_item(item, i)
            if n_features is None:
                n_features = X.shape[1]
            elif X.shape[1] != n_features:
                raise ValueError(f"chunk {i} has {X.shape[1]} features, chunk 0 has {n_features}")
            yield X, w

    def init_sample(self, max_rows: int, random_state: np.random.RandomState) -> Batch:
        """Rows for initialisation: all data when it is in memory or has at most
        ``max_rows`` rows (then equal to the concatenated chunks, in order), otherwise a
        uniform random subset of ``max_rows`` rows drawn in two passes."""
        if isinstance(self.source, np.ndarray):
            return self.source, self.sample_weight
        sizes = [X.shape[0] for X, _ in self]
        total = sum(sizes)
        if total == 0:
            raise ValueError("the data holds no rows")
        keep = None
        if total > max_rows:
            keep = _sample_indices(total, max_rows, random_state)
        parts_X, parts_w, offset = [], [], 0
        any_weight = False
        for X, w in self:
            n = X.shape[0]
            if keep is None:
                idx = slice(None)
            else:
                lo, hi = np.searchsorted(keep, [offset, offset + n])
                idx = keep[lo:hi] - offset
            parts_X.append(X[idx])
            any_weight |= w is not None
            parts_w.append(np.ones(n, dtype=np.float64)[idx] if w is None else np.asarray(w)[idx])
            offset += n
        X = np.concatenate(parts_X)
        return X, (np.concatenate(parts_w) if any_weight else None)


def _sample_indices(total: int, size: int, random_state: np.random.RandomState) -> np.ndarray:
    """``size`` distinct sorted indices drawn uniformly from ``range(total)`` in O(size)
    memory (Floyd's algorithm; ``RandomState.choice`` would permute all ``total``)."""
    chosen: set[int] = set()
    for j in range(total - size, total):
        t = int(random_state.randint(0, j + 1))
        chosen.add(j if t in chosen else t)
    return np.sort(np.fromiter(chosen, dtype=np.int64, count=size))


def as_batches(
    data: np.ndarray | Iterable,
    sample_weight: np.ndarray | None = None,
    chunk_size: int | None = None,
) -> Batches:
    """Wrap ``data`` for the EM driver.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_features) or re-iterable of chunks
        Either one array, or an iterable whose every pass yields the same chunks: arrays
        of shape (n_chunk, n_features), or pairs ``(X_chunk, sample_weight_chunk)``.
        A one-shot iterator (a generator) is refused, since EM reads the data once per
        iteration.
    sample_weight : ndarray of shape (n_samples,), optional
        Only with an array ``data``; chunks carry their own weights.
    chunk_size : int, optional
        Rows per batch when ``data`` is an array.
    """
    if chunk_size is None:
        chunk_size = DEFAULT_CHUNK_SIZE
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if isinstance(data, np.ndarray):
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if data.ndim != 2:
            raise ValueError(f"data must be 2-D (n_samples, n_features), got shape {data.shape}")
        if sample_weight is not None and sample_weight.shape != (data.shape[0],):
            raise ValueError(
                f"sample_weight has shape {sample_weight.shape}, expected ({data.shape[0]},)"
            )
        return Batches(data, sample_weight, int(chunk_size))
    if sample_weight is not None:
        raise ValueError("with chunked data, pass each chunk as a pair (X, sample_weight)")
    if not isinstance(data, Iterable):
        raise TypeError(f"data must be an array or a re-iterable of chunks, got {type(data)!r}")
    if iter(data) is data:  # type: ignore[comparison-overlap]
        raise TypeError(
            "chunked data must be re-iterable (a list, or an object whose "
            "__iter__ starts a fresh pass): EM reads the data once per iteration, "
            "and a generator can be read only once"
        )
    return Batches(data, None, int(chunk_size))


def _split_item(item: object, index: int) -> Batch:
    if isinstance(item, tuple):
        if len(item) != 2:
            raise ValueError(
                f"chunk {index} is a tuple of {len(item)} items; expected (X, sample_weight)"
            )
        X, w = item
        w = None if w is None else np.asarray(w, dtype=np.float64)
    else:
        X, w = item, None
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"chunk {index} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if w is not None and w.shape != (X.shape[0],):
        raise ValueError(
            f"chunk {index}: sample_weight has shape {w.shape}, expected ({X.shape[0]},)"
        )
    return X, w


def map_rows(
    fn: Callable[[np.ndarray], np.ndarray], X: np.ndarray, chunk_size: int | None = None
) -> np.ndarray:
    """``fn`` applied to row chunks of ``X`` (n_samples, ...) and stacked, so that per-sample
    results of any size need temporaries of one chunk only."""
    step = DEFAULT_CHUNK_SIZE if chunk_size is None else int(chunk_size)
    if X.shape[0] <= step:
        return fn(X)
    first = fn(X[:step])
    out = np.empty((X.shape[0], *first.shape[1:]), dtype=first.dtype)
    out[:step] = first
    for start in range(step, X.shape[0], step):
        out[start : start + step] = fn(X[start : start + step])
    return out
