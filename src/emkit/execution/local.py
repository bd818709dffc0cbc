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
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from itertools import chain
from typing import Any, TypeVar

T = TypeVar("T")
_END = object()
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

    With ``n_jobs > 1`` the calls run on that many threads, with at most ``2 * n_jobs``
    batches read ahead (so streamed data is never all in memory). Returns None when there
    are no batches.
    """
    acc: Any = None
    batches = iter(batches)
    first = next(batches, _END)
    second = next(batches, _END) if n_jobs > 1 else _END
    if second is _END:  # nothing to run in parallel: no pool to start
        for batch in chain((first,), batches) if first is not _END else ():
            value = fn(batch)
            acc = value if acc is None else reduce(acc, value)
        return acc
    pool = _pool(n_jobs)
    pending: deque[Future[T]] = deque()
    try:
        for batch in chain((first, second), batches):
            # Each task runs in a copy of the caller's context, so that context-local settings
            # such as numpy.errstate hold in the worker threads too.
            pending.append(pool.submit(contextvars.copy_context().run, fn, batch))
            if len(pending) >= 2 * n_jobs:
                value = pending.popleft().result()
                acc = value if acc is None else reduce(acc, value)
        while pending:
            value = pending.popleft().result()
            acc = value if acc is None else reduce(acc, value)
    finally:
        for future in pending:  # after an error: leave no task running on the shared pool
            future.cancel()
        wait(pending)
    return acc


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(n_jobs: int) -> ThreadPoolExecutor:
    # One pool per size for the life of the process: starting threads at every E-step costs
    # more than a small E-step.
    with _POOLS_LOCK:
        pool = _POOLS.get(n_jobs)
        if pool is None:
            pool = _POOLS[n_jobs] = ThreadPoolExecutor(
                max_workers=n_jobs, thread_name_prefix="emkit"
            )
        return pool
