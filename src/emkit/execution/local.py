"""Where E-steps run on this machine: in the calling thread, or on a pool of threads.

An executor knows no model. It maps a function over batches of data and adds up what comes
back, in batch order whatever order the threads finish in, so a threaded pass gives exactly
(bit for bit) the result of a serial one. Threads pay off because the hot loops release the
GIL (Numba kernels compiled with ``nogil``, BLAS, large NumPy ufuncs); BLAS itself is kept to
one thread per worker by the driver, so two thread pools never fight over the cores.
"""

from __future__ import annotations

import contextvars
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import Any, TypeVar

T = TypeVar("T")
_END = object()
_FULL = object()
B = TypeVar("B")


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Number of threads for ``n_jobs``: None means every available core, negative values
    count back from it (-1: all cores, -2: all but one), as in scikit-learn."""
    cores = available_cores()
    if n_jobs is None:
        return cores
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer or None, got {n_jobs!r}")
    return max(1, n_jobs if n_jobs > 0 else cores + 1 + n_jobs)


def map_reduce(
    fn: Callable[[B], T], batches: Iterable[B], reduce: Callable[[T, T], T], n_jobs: int = 1
) -> T | None:
    """``reduce`` over ``fn(batch)`` for every batch, left to right in batch order.

    With ``n_jobs > 1`` the calling thread and ``n_jobs - 1`` worker threads take batches in
    turn, with at most ``2 * n_jobs`` batches read ahead of the reduction (so streamed data
    is never all in memory); batches are read one at a time, in order. Returns None when
    there are no batches. An exception raised by ``fn`` is re-raised here once no call is
    running any more.
    """
    batches = iter(batches)
    first = next(batches, _END)
    second = next(batches, _END) if n_jobs > 1 else _END
    if second is _END:  # nothing to run in parallel: no worker to wake
        acc: Any = None
        for batch in chain((first,), batches) if first is not _END else ():
            value = fn(batch)
            acc = value if acc is None else reduce(acc, value)
        return acc
    job = _Job(fn, chain((first, second), batches), reduce, 2 * n_jobs)
    _post(job, n_jobs - 1)
    return job.run_in_caller()


class _Job:
    """One ``map_reduce`` call shared by the caller and the workers that join it.

    The caller works like any worker and also reduces finished results in batch order, so
    the threads meet only at a lock per batch: one wake-up of each worker per call instead
    of a hand-off per batch, which matters when batches take well under a millisecond.
    """

    def __init__(
        self,
        fn: Callable[[B], T],
        batches: Iterator[B],
        reduce: Callable[[T, T], T],
        read_ahead: int,
    ) -> None:
        self.fn = fn
        self.batches = batches
        self.reduce = reduce
        self.read_ahead = read_ahead
        self.context = contextvars.copy_context()
        self.state = threading.Condition()
        self.source = threading.Lock()
        self.n_read = 0  # batches taken from the source (their indices are 0..n_read-1)
        self.n_claimed = 0  # batches read or about to be read
        self.n_reduced = 0
        self.running = 0
        self.results: dict[int, Any] = {}
        self.stop = False
        self.error: BaseException | None = None

    def _claim(self, wait_for_room: bool) -> tuple[int, Any] | object | None:
        """The next batch with its index; None when there are none left (or one failed);
        ``_FULL`` when ``2 * n_jobs`` batches are out and ``wait_for_room`` is False."""
        with self.state:
            while not self.stop and self.n_claimed - self.n_reduced >= self.read_ahead:
                if not wait_for_room:
                    return _FULL
                self.state.wait()
            if self.stop:
                return None
            self.n_claimed += 1
            self.running += 1
        # Batches are read under their own lock, so that reading a streamed batch does not
        # hold up the threads that hand in results.
        try:
            with self.source:
                batch = next(self.batches, _END)
                index = self.n_read
                self.n_read += batch is not _END
        except BaseException as exc:  # a reader that fails: stop everyone, report it once
            batch = _END
            with self.state:
                if self.error is None:
                    self.error = exc
        if batch is _END:
            with self.state:
                self.stop = True
                self.running -= 1
                self.state.notify_all()
            return None
        return index, batch

    def _run(self, context: contextvars.Context, task: tuple[int, Any]) -> bool:
        """Run one claimed batch and hand in its result; False when it raised."""
        index, batch = task
        try:
            value = context.run(self.fn, batch)
        except BaseException as exc:
            with self.state:
                if self.error is None:
                    self.error = exc
                self.stop = True
                self.running -= 1
                self.state.notify_all()
            return False
        with self.state:
            self.results[index] = value
            self.running -= 1
            self.state.notify_all()
        return True

    def work(self) -> None:
        """Take and run batches until there are none left (or one failed)."""
        # A context can be entered by one thread at a time: each participant runs in its
        # own copy of the caller's (numpy.errstate and other context-local settings hold).
        context = self.context.copy()
        while (task := self._claim(wait_for_room=True)) is not None and self._run(context, task):
            pass

    def run_in_caller(self) -> Any:
        """The caller's share: run batches, reduce results in order, and return the total.

        Only the caller reduces, so it never waits for room to read ahead: when the
        read-ahead is full it waits for the next result in order instead.
        """
        acc: Any = None
        try:
            while (task := self._claim(wait_for_room=False)) is not None:
                if task is _FULL:
                    acc = self._drain(acc, wait=True)
                elif not self._run(self.context, task):
                    break
                else:
                    acc = self._drain(acc, wait=False)
            while self._pending():
                acc = self._drain(acc, wait=True)
        except BaseException as exc:  # from reduce, or an interrupt while waiting
            with self.state:
                if self.error is None:
                    self.error = exc
                self.stop = True
                self.state.notify_all()
        with self.state:
            while self.running:  # leave no call running on the shared workers
                self.state.wait()
        if self.error is not None:
            raise self.error
        return acc

    def _pending(self) -> bool:
        """Whether results are still to come or to be reduced (and none failed)."""
        with self.state:
            return self.error is None and (self.running > 0 or self.n_reduced < self.n_read)

    def _drain(self, acc: Any, wait: bool) -> Any:
        """Reduce the finished results that come next in batch order; with ``wait``, first
        wait for the next one (unless no more will come)."""
        while True:
            with self.state:
                while (
                    wait
                    and self.n_reduced not in self.results
                    and self.error is None
                    and (self.running > 0 or self.n_reduced < self.n_read)
                ):
                    self.state.wait()
                if self.error is not None or self.n_reduced not in self.results:
                    return acc
                value = self.results.pop(self.n_reduced)
                self.n_reduced += 1
                self.state.notify_all()  # a slot of read-ahead is free again
            acc = value if acc is None else self.reduce(acc, value)


_JOBS: queue.SimpleQueue[_Job] = queue.SimpleQueue()
_WORKERS: list[threading.Thread] = []
_WORKERS_LOCK = threading.Lock()


def _post(job: _Job, n_workers: int) -> None:
    """Offer ``job`` to ``n_workers`` workers (started on first need, kept for the life of
    the process: starting threads at every E-step costs more than a small E-step)."""
    with _WORKERS_LOCK:
        while len(_WORKERS) < n_workers:
            thread = threading.Thread(target=_serve, name=f"emkit-{len(_WORKERS)}", daemon=True)
            thread.start()
            _WORKERS.append(thread)
    for _ in range(n_workers):
        _JOBS.put(job)


def _serve() -> None:
    while True:
        _JOBS.get().work()
