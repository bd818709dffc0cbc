"""Rows that are more than an array: sequences, and rows with known latent values.

:class:`Sequences` (for hidden Markov models) is cut between sequences, never inside one;
:class:`Labelled` rows (for semi-supervised fits) are cut with their labels beside them.
Both stand where a 2-D array stands; :mod:`emkit.execution.sources` reads them, as it reads
every other kind of data, in chunks of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

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
