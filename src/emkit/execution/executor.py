"""Executors: where E-steps run.

An :class:`Executor` knows no model. It places a :class:`~emkit.execution.sources.RowSource`
(:meth:`Executor.place`), and the :class:`Placement` maps a function over the source's
chunks and adds up what comes back in chunk order, so that the sum is the same wherever the
chunks ran; it also draws the sample that initialisation starts from. :meth:`Executor.map`
runs independent tasks (the fits of a model selection), and :meth:`Executor.compute`
sets the compute context of a fit (BLAS threads). The driver, model selection and scoring
all run through this protocol; which executor is chosen per fit, by
:func:`emkit.config_context`, not by estimator parameters.

:class:`ThreadExecutor` runs on this machine's cores; its timing policy (whether a pass is
short enough to run faster on the calling thread alone) lives in its placements.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter
from typing import Any, TypeVar

import numpy as np

from emkit.execution.local import map_reduce, resolve_n_jobs
from emkit.execution.sources import Chunk, RowSource

T = TypeVar("T")
R = TypeVar("R")

TRY_ONE_THREAD_BELOW = 0.02
"""Seconds: a placement whose second pass on threads is shorter runs its third on the
calling thread alone, and keeps the faster of the two ways (waking other cores for so short
a pass can cost more than it saves, on virtual machines most)."""


class Placement(ABC):
    """A row source where an executor runs on it."""

    source: RowSource
    chunk_size: int

    @abstractmethod
    def map_reduce(self, fn: Callable[[Chunk], T], reduce: Callable[[T, T], T]) -> T | None:
        """``reduce`` over ``fn(chunk)`` for every chunk of one pass, left to right in chunk
        order, whatever order they ran in; None when there are no chunks."""

    def sample(self, max_rows: int, random_state: np.random.RandomState) -> Chunk:
        """Rows to initialise from (see :meth:`RowSource.sample`)."""
        return self.source.sample(max_rows, random_state)


class Executor(ABC):
    """Where E-steps run: see the module documentation."""

    @abstractmethod
    def place(self, source: RowSource, chunk_size: int) -> Placement:
        """``source`` made ready to be passed over in chunks of at most ``chunk_size``."""

    @abstractmethod
    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[fn(item) for item in items]``, the items run independently (each a whole fit,
        say); an exception of one is raised here. What the tasks fit runs where this
        executor says (the thread executor: on the task's thread alone)."""

    def compute(self) -> contextlib.AbstractContextManager[Any]:
        """The context a fit runs in (BLAS threads, devices); nothing by default."""
        return contextlib.nullcontext()


class ThreadExecutor(Executor):
    """Chunks on the calling thread and ``n_jobs - 1`` worker threads of this process
    (:func:`emkit.execution.local.map_reduce`): a threaded pass gives exactly, bit for bit,
    the result of a serial one.

    Parameters
    ----------
    n_jobs : int or None, default=None
        Threads: None for every available core, negative to count back from it (-1: all,
        -2: all but one), as in scikit-learn.
    """

    def __init__(self, n_jobs: int | None = None) -> None:
        self.n_jobs = resolve_n_jobs(n_jobs)

    def __repr__(self) -> str:
        return f"ThreadExecutor(n_jobs={self.n_jobs})"

    def place(self, source: RowSource, chunk_size: int) -> Placement:
        return _ThreadPlacement(source, int(chunk_size), self.n_jobs)

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        workers = min(self.n_jobs, len(items))
        if workers <= 1:
            return [fn(item) for item in items]
        from emkit.config import config_context

        def alone(item: T) -> R:
            # The tasks share the cores: each task's own fits run on its thread alone.
            with config_context(executor=ThreadExecutor(1)):
                return fn(item)

        # One BLAS thread per task, set once here: the tasks' own (nested) limits then
        # restore this value whatever order the threads finish in.
        with (
            self.compute(),
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="emkit-task") as pool,
        ):
            return list(pool.map(alone, items))

    def compute(self) -> contextlib.AbstractContextManager[Any]:
        # E-steps multiply thin (chunk x n_features) matrices, where a second BLAS thread
        # costs far more than it gains; parallelism belongs to the level of chunks. Imported
        # here: threadpoolctl reads the loaded libraries when first used.
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=1, user_api="blas")


class _ThreadPlacement(Placement):
    """Passes on threads, timed: the second pass (the first may include warm-up) on
    threads and, when it was shorter than :data:`TRY_ONE_THREAD_BELOW`, the third on the
    calling thread; the faster way is kept for every later pass."""

    def __init__(self, source: RowSource, chunk_size: int, n_jobs: int) -> None:
        self.source, self.chunk_size, self.n_jobs = source, chunk_size, n_jobs
        self.passes = 0
        self._threaded_seconds: float | None = None

    def map_reduce(self, fn: Callable[[Chunk], T], reduce: Callable[[T, T], T]) -> T | None:
        self.passes += 1
        trial = self.n_jobs > 1 and self._threaded_seconds is not None
        start = perf_counter()
        out = map_reduce(fn, self._chunks(), reduce, 1 if trial else self.n_jobs)
        seconds = perf_counter() - start
        if trial:
            if seconds < self._threaded_seconds:  # type: ignore[operator]
                self.n_jobs = 1
            self._threaded_seconds = None
        elif self.n_jobs > 1 and self.passes == 2 and seconds < TRY_ONE_THREAD_BELOW:
            self._threaded_seconds = seconds
        return out

    def _chunks(self) -> Iterator[Chunk]:
        return self.source.chunks(self.chunk_size)
