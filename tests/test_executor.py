"""The executor seam: fits run through the executor that config_context sets, which places
the data and runs every pass; the thread executor's results do not depend on its threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import emkit
from emkit.core.driver import fit_em
from emkit.execution.executor import Executor, Placement, ThreadExecutor
from emkit.families.gaussian import Gaussian
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture

RNG = np.random.default_rng(1)
X = np.concatenate([RNG.normal(0, 1, (200, 2)), RNG.normal(5, 1, (200, 2))])
MODEL = Mixture(Gaussian("full", reg_covar=0.0), 2, initializer("kmeans"))
P0 = MODEL.init(X, np.random.RandomState(0))


class Recording(Executor):
    """Runs on the calling thread and records what the driver asks of it."""

    def __init__(self) -> None:
        self.placed: list[tuple[object, int]] = []
        self.passes = 0
        self.samples = 0
        self.contexts = 0
        self.tasks: list[object] = []

    def place(self, source, chunk_size):
        self.placed.append((source, chunk_size))
        return _Recorded(self, source, chunk_size)

    def map(self, fn, items):
        self.tasks.extend(items)
        return [fn(item) for item in items]

    def compute(self):
        self.contexts += 1
        return super().compute()


class _Recorded(Placement):
    def __init__(self, owner: Recording, source, chunk_size) -> None:
        self.owner, self.source, self.chunk_size = owner, source, chunk_size

    def map_reduce(self, fn, reduce):
        self.owner.passes += 1
        acc = None
        for chunk in self.source.chunks(self.chunk_size):
            value = fn(chunk)
            acc = value if acc is None else reduce(acc, value)
        return acc

    def sample(self, max_rows, random_state):
        self.owner.samples += 1
        return super().sample(max_rows, random_state)


def test_a_fit_runs_through_the_configured_executor():
    # A random start: the k-means start would run fits (through the executor too) of its own.
    model = Mixture(Gaussian("full", reg_covar=0.0), 2, initializer("random"))
    recording = Recording()
    with emkit.config_context(executor=recording):
        assert emkit.get_config()["executor"] is recording
        result = fit_em(model, X, n_init=2, random_state=0, max_iter=4, tol=0.0, chunk_size=50)
    assert emkit.get_config()["executor"] is None
    assert [size for _, size in recording.placed] == [50]
    # The restarts start from one sample.
    assert recording.samples == 1 and recording.contexts == 1
    # One E-step per iteration and one for each start, all of them through the placement.
    assert recording.passes == 2 * (4 + 1) == result.n_e_steps * 2
    reference = fit_em(model, X, n_init=2, random_state=0, max_iter=4, tol=0.0, chunk_size=50)
    assert_array_equal(result.lower_bounds, reference.lower_bounds)


def test_an_estimator_fit_runs_through_the_configured_executor():
    recording = Recording()
    with emkit.config_context(executor=recording):
        gm = emkit.GaussianMixture(2, init_params="random", random_state=0, n_jobs=2).fit(X)
    assert recording.passes == gm.n_iter_ + 1
    plain = emkit.GaussianMixture(2, init_params="random", random_state=0).fit(X)
    assert_array_equal(gm.means_, plain.means_)


def test_contexts_nest_and_hold_in_threads_started_inside():
    outer, inner = ThreadExecutor(1), ThreadExecutor(2)
    seen = []
    with emkit.config_context(executor=outer):
        with emkit.config_context(executor=inner):
            assert emkit.get_config()["executor"] is inner
        assert emkit.get_config()["executor"] is outer
        # A thread started inside the context sees the settings of the context it copies.
        import contextvars

        context = contextvars.copy_context()
        thread = threading.Thread(
            target=lambda: seen.append(context.run(lambda: emkit.get_config()["executor"]))
        )
        thread.start()
        thread.join()
    assert seen == [outer]
    assert emkit.get_config()["executor"] is None


def test_only_executors_are_configured():
    with pytest.raises(
        TypeError, match=r"executor must be an emkit\.execution\.executor\.Executor or"
    ):
        with emkit.config_context(executor="dask"):
            pass


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_thread_executor_results_do_not_depend_on_its_threads(n_jobs):
    with emkit.config_context(executor=ThreadExecutor(n_jobs)):
        got = fit_em(MODEL, X, init=P0, max_iter=6, tol=0.0, chunk_size=37)
    ref = fit_em(MODEL, X, init=P0, max_iter=6, tol=0.0, chunk_size=37, n_jobs=1)
    assert_array_equal(got.lower_bounds, ref.lower_bounds)
    assert_array_equal(got.params.components.covariances, ref.params.components.covariances)


def test_thread_executor_maps_tasks_in_order_and_raises_their_error():
    executor = ThreadExecutor(2)
    assert executor.map(lambda v: v * v, list(range(7))) == [v * v for v in range(7)]

    def fails(v):
        if v == 3:
            raise ValueError("task 3")
        return v

    with pytest.raises(ValueError, match="task 3"):
        executor.map(fails, list(range(6)))
    assert repr(ThreadExecutor(1)) == "ThreadExecutor(n_jobs=1)"


def test_model_selection_runs_its_candidates_as_tasks_of_the_executor():
    recording = Recording()
    with emkit.config_context(executor=recording):
        result = emkit.select_model(
            X, n_components=[1, 2], covariance_types=["VVV", "EII"], random_state=0
        )
    assert recording.tasks == [("VVV", 1), ("VVV", 2), ("EII", 1), ("EII", 2)]
    assert recording.passes > 0, "the candidates' fits ran through it too"
    plain = emkit.select_model(
        X, n_components=[1, 2], covariance_types=["VVV", "EII"], random_state=0
    )
    assert result.table() == plain.table()
    # The chosen estimator keeps the user's threads, not the grid's.
    assert result.best_estimator_.n_jobs is None


def test_hmm_scoring_runs_through_the_executor():
    hmm = emkit.GaussianHMM(2, random_state=0, n_iter=50).fit(X, [150, 250])
    recording = Recording()
    with emkit.config_context(executor=recording):
        score = hmm.score(X, [150, 250])
    assert recording.passes == 1
    assert score == hmm.score(X, [150, 250])
