"""Data as a re-iterable sequence of row batches ``(X, sample_weight)``.

The driver sees every data source through :class:`Batches`: an in-memory array is cut into
row chunks (bounding the temporaries of an E-step to O(chunk_size x n_components)), and a
user's iterable of chunks is passed through, checked for shape as it streams. Sequence data
(:class:`Sequences`, for hidden Markov models) is cut between sequences, never inside one, and
rows whose latent value is known (:class:`Labelled`, for semi-supervised fits) are cut with
their labels beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

Batch = tuple["np.ndarray | Sequences | Labelled", "np.ndarray | None"]

DEFAULT_CHUNK_SIZE = 16384
"""Rows per E-step batch for in-memory arrays: large enough for BLAS efficiency, small
enough that (chunk_size, n_components) float64 temporaries stay within a few megabytes."""


class _RowsOfX:
    """A container that stands where a 2-D data array ``X`` stands: its shape, dtype,
    number of dimensions and length are those of ``X``."""

    X: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.X.shape

    @property
    def ndim(self) -> int:
        return 2

    @property
    def dtype(self) -> np.dtype:
        return self.X.dtype

    def __len__(self) -> int:
        return self.X.shape[0]


@dataclass(frozen=True, eq=False)
class Sequences(_RowsOfX):
    """Observation sequences stored end to end, as hmmlearn takes them (``X`` with ``lengths``).

    It stands where a 2-D data array stands (``shape``, ``dtype``, ``ndim``, ``len``), so
    the driver counts its rows; models over sequences read the boundaries from it.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        All observations, sequence after sequence.
    lengths : array-like of int, shape (n_sequences,), optional
        Length of every sequence (each at least 1), summing to ``n_samples``; None for one
        sequence.
    """

    X: np.ndarray
    lengths: np.ndarray

    def __init__(self, X: np.ndarray, lengths: object = None) -> None:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"sequence data must be 2-D (n_samples, n_features), got {X.shape}")
        n = X.shape[0]
        if lengths is None:
            lengths = np.array([n], dtype=np.int64)
        raw = np.asarray(lengths)
        if raw.ndim != 1 or raw.dtype.kind not in "iuf" or not np.all(raw == np.round(raw)):
            raise ValueError(f"lengths must be a 1-D array of integers, got {lengths!r}")
        lengths = raw.astype(np.int64)
        if lengths.size == 0 or lengths.min() < 1:
            raise ValueError("lengths must hold at least one sequence, each of length >= 1")
        if int(lengths.sum()) != n:
            raise ValueError(
                f"the lengths sum to {int(lengths.sum())} but X has {n} samples; they must agree"
            )
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "lengths", lengths)

    @classmethod
    def from_list(cls, sequences: Iterable[np.ndarray]) -> Sequences:
        """Sequences from a list of arrays of shape (length, n_features) (1-D: one feature)."""
        parts = [np.asarray(s) for s in sequences]
        if not parts:
            raise ValueError("the list of sequences is empty")
        parts = [p[:, None] if p.ndim == 1 else p for p in parts]
        return cls(np.concatenate(parts), [p.shape[0] for p in parts])

    @property
    def offsets(self) -> np.ndarray:
        """Row where every sequence starts, then ``n_samples``: shape (n_sequences + 1,)."""
        out = np.zeros(self.lengths.size + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=out[1:])
        return out

    def astype(self, dtype: object) -> Sequences:
        """The same sequences with ``X`` converted to ``dtype``."""
        return Sequences(self.X.astype(dtype), self.lengths)

    def groups(self, max_rows: int) -> Iterator[tuple[Sequences, slice]]:
        """Consecutive runs of whole sequences of at most ``max_rows`` rows each (a longer
        sequence alone), with the rows they cover."""
        offsets = self.offsets
        first = 0
        while first < self.lengths.size:
            start = offsets[first]
            last = int(np.searchsorted(offsets, start + max_rows, side="right")) - 1
            last = max(last, first + 1)
            rows = slice(int(start), int(offsets[last]))
            yield Sequences(self.X[rows], self.lengths[first:last]), rows
            first = last

    def sequence_weights(self, sample_weight: np.ndarray | None) -> np.ndarray | None:
        """Weight of every sequence from per-row ``sample_weight`` (n_samples,), which must be
        constant within each sequence; None stays None."""
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight, dtype=np.float64)
        per_sequence = w[self.offsets[:-1]]
        if not np.array_equal(np.repeat(per_sequence, self.lengths), w):
            raise ValueError("sample weights must be the same for every row of a sequence")
        return per_sequence


@dataclass(frozen=True, eq=False)
class Labelled(_RowsOfX):
    """Rows of data of which some have a known latent value (a known mixture component).

    It stands where a 2-D data array stands (``shape``, ``dtype``, ``ndim``, ``len``), so
    the driver counts its rows, and every batch cut from it (row chunks of an array, chunks
    of a stream, the rows initialisation sees) carries the labels of its own rows: the
    statistics of a fit over batches stay those of the whole data. Models that know what a
    label means (:class:`emkit.models.mixture.Mixture`) read the labels from it; an array
    chunk among labelled chunks of a stream is a chunk of unlabelled rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The rows.
    labels : array-like of int, shape (n_samples,)
        Known latent value of every row (``0, 1, ...``), or -1 where it is unknown
        (scikit-learn's convention for semi-supervised targets).
    """

    X: np.ndarray
    labels: np.ndarray

    def __init__(self, X: np.ndarray, labels: object) -> None:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"labelled data must be 2-D (n_samples, n_features), got {X.shape}")
        raw = np.asarray(labels)
        if raw.shape != (X.shape[0],):
            raise ValueError(
                f"labels must have shape ({X.shape[0]},), one per row of X, got {raw.shape}"
            )
        # Booleans and floats are refused rather than converted: a float label is most
        # likely a regression target or a NaN-coded gap, not a component.
        if raw.dtype.kind not in "iu":
            raise ValueError(
                f"labels must be integers (-1 for a row of unknown component), got dtype "
                f"{raw.dtype}"
            )
        labels = raw.astype(np.int64, copy=False)
        if labels.size and labels.min() < -1:
            raise ValueError(
                f"labels must be -1 (unknown) or a component index >= 0, got {labels.min()}"
            )
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "labels", labels)

    @classmethod
    def unlabelled(cls, X: np.ndarray) -> Labelled:
        """Rows ``X`` (n_samples, n_features) with no label known."""
        X = np.asarray(X)
        return cls(X, np.full(X.shape[0], -1, dtype=np.int64))

    @classmethod
    def concatenate(cls, parts: Iterable[Labelled | np.ndarray]) -> Labelled:
        """The rows of ``parts`` one after another; a plain array is a part of unlabelled
        rows."""
        items = [p if isinstance(p, Labelled) else cls.unlabelled(p) for p in parts]
        if not items:
            raise ValueError("no labelled parts to concatenate")
        return cls(np.concatenate([p.X for p in items]), np.concatenate([p.labels for p in items]))

    def __getitem__(self, rows: slice | np.ndarray) -> Labelled:
        """The rows selected by ``rows`` (a slice, integer indices or a boolean mask), with
        their labels."""
        return Labelled(self.X[rows], self.labels[rows])

    def astype(self, dtype: object) -> Labelled:
        """The same rows with ``X`` converted to ``dtype``."""
        return Labelled(self.X.astype(dtype), self.labels)


def split_labels(data: np.ndarray | Labelled) -> tuple[np.ndarray, np.ndarray | None]:
    """The rows of ``data`` and their labels, shape (n_samples,), or None for plain data."""
    if isinstance(data, Labelled):
        return data.X, data.labels
    return data, None


def label_groups(labels: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """``(label, rows)`` for every value in ``labels`` (n_samples,), in increasing order of
    the value (-1, the unlabelled rows, first), with the indices of its rows in order."""
    order = np.argsort(labels, kind="stable")
    values, starts = np.unique(labels[order], return_index=True)
    for value, rows in zip(values, np.split(order, starts[1:]), strict=True):
        yield int(value), rows


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
        return isinstance(self.source, (np.ndarray, Sequences, Labelled))

    def __iter__(self) -> Iterator[Batch]:
        if isinstance(self.source, Sequences):
            w = self.sample_weight
            for group, rows in self.source.groups(self.chunk_size):
                yield group, None if w is None else w[rows]
            return
        if isinstance(self.source, (np.ndarray, Labelled)):
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
        if isinstance(self.source, (np.ndarray, Sequences, Labelled)):
            return self.source, self.sample_weight
        sizes = [X.shape[0] for X, _ in self]
        total = sum(sizes)
        if total == 0:
            raise ValueError("the data holds no rows")
        if any(isinstance(X, Sequences) for X, _ in self):
            return self._sequence_sample(sizes, max_rows, random_state)
        keep = None
        if total > max_rows:
            keep = _sample_indices(total, max_rows, random_state)
        parts_X, parts_w, offset = [], [], 0
        any_weight = any_labels = False
        for X, w in self:
            n = X.shape[0]
            if keep is None:
                idx = slice(None)
            else:
                lo, hi = np.searchsorted(keep, [offset, offset + n])
                idx = keep[lo:hi] - offset
            parts_X.append(X[idx])
            any_labels |= isinstance(X, Labelled)
            any_weight |= w is not None
            parts_w.append(np.ones(n, dtype=np.float64)[idx] if w is None else np.asarray(w)[idx])
            offset += n
        X = Labelled.concatenate(parts_X) if any_labels else np.concatenate(parts_X)
        return X, (np.concatenate(parts_w) if any_weight else None)

    def _sequence_sample(
        self, sizes: list[int], max_rows: int, random_state: np.random.RandomState
    ) -> Batch:
        """Whole chunks of sequences (a sequence is never cut): all of them when they hold at
        most ``max_rows`` rows, otherwise chunks in random order until ``max_rows`` is reached."""
        chosen = set(range(len(sizes)))
        if sum(sizes) > max_rows:
            chosen, rows = set(), 0
            for i in random_state.permutation(len(sizes)):
                if rows >= max_rows:
                    break
                chosen.add(int(i))
                rows += sizes[i]
        parts = [(X, w) for i, (X, w) in enumerate(self) if i in chosen]
        if not all(isinstance(X, Sequences) for X, _ in parts):
            raise ValueError("chunks must be all Sequences or all arrays, not a mix")
        X = Sequences(
            np.concatenate([s.X for s, _ in parts]), np.concatenate([s.lengths for s, _ in parts])
        )
        if all(w is None for _, w in parts):
            return X, None
        return X, np.concatenate(
            [np.ones(s.shape[0]) if w is None else np.asarray(w, np.float64) for s, w in parts]
        )


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
    data : ndarray of shape (n_samples, n_features), Sequences, Labelled, or re-iterable of chunks
        Either one array (or :class:`Sequences`, or :class:`Labelled`), or an iterable whose
        every pass yields the same chunks: arrays of shape (n_chunk, n_features) (or
        Sequences, or Labelled), or pairs ``(X_chunk, sample_weight_chunk)``.
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
    if isinstance(data, (np.ndarray, Sequences, Labelled)):
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
    if not isinstance(X, (Sequences, Labelled)):
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
