"""Tests of the local executor: threaded map-reduce equals the serial one, in batch order,
with bounded read-ahead, and errors surface without leaving work running."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from emkit.execution.local import map_reduce


def _concat(a: list[int], b: list[int]) -> list[int]:
    return a + b


@pytest.mark.parametrize("n_jobs", [1, 2, 3, 5])
@pytest.mark.parametrize("n_batches", [0, 1, 2, 3, 17])
def test_results_reduced_in_batch_order(n_jobs: int, n_batches: int) -> None:
    rng = np.random.default_rng(n_batches)
    delays = rng.uniform(0, 2e-3, n_batches)

    def fn(i: int) -> list[int]:
        time.sleep(delays[i])  # finish out of order
        return [i]

    got = map_reduce(fn, range(n_batches), _concat, n_jobs)
    assert got == (list(range(n_batches)) if n_batches else None)


def test_floating_point_sum_is_bitwise_serial() -> None:
    rng = np.random.default_rng(0)
    parts = [rng.standard_normal(1000) * 10.0 ** rng.integers(-8, 8) for _ in range(40)]
    serial = map_reduce(np.sum, parts, lambda a, b: a + b, 1)
    for n_jobs in (2, 4):
        assert map_reduce(np.sum, parts, lambda a, b: a + b, n_jobs) == serial


def test_read_ahead_is_bounded() -> None:
    n_jobs = 2
    lock = threading.Lock()
    read = reduced = 0
    most_out = 0

    def source():
        nonlocal read, most_out
        for i in range(50):
            with lock:
                read += 1
                most_out = max(most_out, read - reduced)
            yield i

    def add(a: int, b: int) -> int:
        nonlocal reduced
        with lock:
            reduced += 1
        return a + b

    def slow(i: int) -> int:
        time.sleep(1e-3 if i % 7 == 0 else 0.0)
        return i

    assert map_reduce(slow, source(), add, n_jobs) == sum(range(50))
    # the first result is the accumulator (never passed to add), hence the + 1
    assert most_out <= 2 * n_jobs + 1


@pytest.mark.parametrize("failing", [0, 3, 9])
def test_error_in_a_batch_is_raised_and_nothing_keeps_running(failing: int) -> None:
    running = 0
    lock = threading.Lock()
    seen_after: list[int] = []

    def fn(i: int) -> int:
        nonlocal running
        with lock:
            running += 1
        try:
            time.sleep(5e-4)
            if i == failing:
                raise ArithmeticError(f"batch {i} failed")
            return i
        finally:
            with lock:
                running -= 1

    with pytest.raises(ArithmeticError, match=f"batch {failing} failed"):
        map_reduce(fn, range(20), lambda a, b: a + b, 3)
    with lock:
        seen_after.append(running)
    assert seen_after == [0]
    # the shared workers are free for the next call
    assert map_reduce(lambda i: i, range(10), lambda a, b: a + b, 3) == 45


def test_error_in_the_source_is_raised() -> None:
    def source():
        yield from range(5)
        raise OSError("the reader failed")

    with pytest.raises(OSError, match="the reader failed"):
        map_reduce(lambda i: i, source(), lambda a, b: a + b, 2)


def test_context_settings_hold_in_workers() -> None:
    def fn(i: int) -> float:
        return float(np.float64(1.0) / np.float64(0.0))

    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        map_reduce(fn, range(8), lambda a, b: a + b, 2)


def test_concurrent_callers_share_the_workers() -> None:
    out: dict[int, int] = {}

    def call(k: int) -> None:
        out[k] = map_reduce(lambda i: i * k, range(200), lambda a, b: a + b, 3)

    threads = [threading.Thread(target=call, args=(k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert out == {k: k * sum(range(200)) for k in range(1, 5)}
