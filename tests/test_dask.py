"""The Dask executor: fits on a cluster of two worker processes equal the thread executor's
for every kind of data, files are read by the workers, dask arrays and DataFrames stay on
them, the sample for initialisation is uniform, and a worker killed during a fit costs a
retry, not the fit."""

from __future__ import annotations

import dataclasses
import itertools
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse
from numpy.testing import assert_allclose, assert_array_equal

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")

import emkit  # noqa: E402
from emkit.core.batches import Labelled  # noqa: E402
from emkit.core.driver import INIT_MAX_ROWS, fit_em  # noqa: E402
from emkit.execution.dask import DaskExecutor, DaskRows, _part_sample, merged_sample  # noqa: E402
from emkit.execution.executor import ThreadExecutor  # noqa: E402
from emkit.execution.files import open_data  # noqa: E402
from emkit.execution.sources import as_source  # noqa: E402
from emkit.families.gaussian import Gaussian  # noqa: E402
from emkit.io.readers import write_table  # noqa: E402
from emkit.models.initialization import initializer  # noqa: E402
from emkit.models.mixture import Mixture  # noqa: E402
from emkit.selection import select_model  # noqa: E402

RNG = np.random.default_rng(7)
X = np.concatenate([RNG.normal(m, 1.0, (2000, 3)) for m in (0.0, 3.0, 6.0)])
RNG.shuffle(X)
W = RNG.uniform(0.5, 2.0, X.shape[0])
MODEL = Mixture(Gaussian("full"), 3, initializer("kmeans"))
P0 = MODEL.init(X, np.random.RandomState(0))
CHUNK = 1000  # six chunks: six parts on the cluster's two threads
ITERATIONS = 12


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    np.save(folder / "x.npy", X)
    (folder / "parquet").mkdir()
    for i, rows in enumerate((slice(0, 2500), slice(2500, None))):
        table = pa.table({c: X[rows, j] for j, c in enumerate("abc")})
        pq.write_table(table, folder / "parquet" / f"part-{i}.parquet", row_group_size=700)
    write_table(folder / "x.csv", X, ["a", "b", "c"])
    return folder


def _leaves(value) -> list[np.ndarray]:
    if dataclasses.is_dataclass(value):
        return [x for f in dataclasses.fields(value) for x in _leaves(getattr(value, f.name))]
    if isinstance(value, (tuple, list)):
        return [x for item in value for x in _leaves(item)]
    return [np.asarray(value, dtype=np.float64)] if value is not None else []


def assert_same_fit(a, b) -> None:
    """Parameters and bounds equal to 1e-12, relative to each array's scale."""
    assert_allclose(a.lower_bounds, b.lower_bounds, rtol=1e-12)
    for x, y in zip(_leaves(a.params), _leaves(b.params), strict=True):
        assert_allclose(x, y, rtol=1e-12, atol=1e-12 * max(1.0, float(np.max(np.abs(x)))))


def _fit(data, executor, **options):
    options = {"init": P0, "max_iter": ITERATIONS, "tol": 0.0, "chunk_size": CHUNK} | options
    with emkit.config_context(executor=executor):
        return fit_em(MODEL, data, **options)


DATA = {
    "array": lambda folder: X,
    "weighted": lambda folder: as_source(X, W),
    "labelled": lambda folder: Labelled(X, np.where(np.arange(X.shape[0]) % 7 == 0, 0, -1)),
    "pandas": lambda folder: pd.DataFrame(X, columns=list("abc")),
    "memmap": lambda folder: np.load(folder / "x.npy", mmap_mode="r"),
    "npy": lambda folder: open_data(folder / "x.npy"),
    "parquet": lambda folder: open_data(folder / "parquet"),
    "csv": lambda folder: open_data(folder / "x.csv"),
    "dask-array": lambda folder: da.from_array(X, chunks=(1300, 2)),
    "dask-weighted": lambda folder: as_source(da.from_array(X, chunks=(1300, 3)), W),
    "dask-frame": lambda folder: dd.from_pandas(pd.DataFrame(X, columns=list("abc")), 4),
    "chunks": lambda folder: np.array_split(X, 5),
}


def test_without_a_client_the_default_one_is_needed():
    try:
        distributed.get_client()
    except ValueError:
        with pytest.raises(ValueError, match=r"default client of dask\.distributed"):
            DaskExecutor()
    else:  # pragma: no cover - a client of another test module is running
        pytest.skip("a default client exists")


@pytest.mark.parametrize("kind", sorted(DATA))
def test_fit_on_the_cluster_equals_the_fit_on_threads(client, files, kind):
    threads = _fit(DATA[kind](files), ThreadExecutor(2))
    cluster = _fit(DATA[kind](files), DaskExecutor(client))
    assert_same_fit(cluster, threads)
    assert_allclose(cluster.total_weight, threads.total_weight, rtol=1e-12)


def test_the_default_client_and_estimators(client):
    executor = DaskExecutor()
    assert executor.client is client
    gmm = emkit.GaussianMixture(3, covariance_type="full", random_state=0, max_iter=20)
    expected = gmm.fit(X).means_
    with emkit.config_context(executor=executor):
        assert_allclose(gmm.fit(X).means_, expected, rtol=1e-12)


def test_an_hmm_on_sequences(client):
    lengths = np.array([900, 1200, 1500, 700, 1700])
    hmm = emkit.GaussianHMM(3, n_iter=10, tol=0.0, random_state=0, chunk_size=2000)
    hmm.fit(X, lengths)
    expected = (hmm.means_, hmm.transmat_, hmm.monitor_.history, hmm.score(X, lengths))
    with emkit.config_context(executor=DaskExecutor(client)):
        hmm.fit(X, lengths)
        got = (hmm.means_, hmm.transmat_, hmm.monitor_.history, hmm.score(X, lengths))
    for a, b in zip(got, expected, strict=True):
        assert_allclose(a, b, rtol=1e-12)


def test_topic_models_on_a_corpus(client):
    """LDA (batch and online) and pLSA on sparse counts: the cluster's fit equals the
    threads'."""
    counts = scipy.sparse.csr_array(RNG.poisson(0.4, (1500, 60)).astype(np.float64))
    faces = [
        emkit.LatentDirichletAllocation(4, max_iter=5, random_state=0, chunk_size=300),
        emkit.LatentDirichletAllocation(
            4, learning_method="online", batch_size=500, max_iter=2, random_state=0
        ),
        emkit.PLSA(4, max_iter=5, tol=0.0, random_state=0, chunk_size=300),
    ]
    for face in faces:
        expected = face.fit(counts).components_
        with emkit.config_context(executor=DaskExecutor(client)):
            got = face.fit(counts).components_
        assert_allclose(got, expected, rtol=1e-12)


def test_select_model_runs_its_fits_as_tasks(client):
    options = {"n_components": [1, 2, 3], "covariance_types": ["full", "diag"]}
    options |= {"random_state": 0, "init_params": "kmeans"}
    expected = select_model(X[:900], **options)
    with emkit.config_context(executor=DaskExecutor(client)):
        got = select_model(X[:900], **options)
    assert [c.bic for c in got.candidates] == [c.bic for c in expected.candidates]
    assert got.best_index == expected.best_index


def test_map_raises_the_error_of_a_task(client):
    def task(i):
        if i == 2:
            raise KeyError(f"task {i}")
        return i * i

    executor = DaskExecutor(client)
    assert executor.map(task, [0, 1, 3]) == [0, 1, 9]
    assert executor.map(task, []) == []
    with pytest.raises(KeyError, match="task 2"):
        executor.map(task, [0, 1, 2, 3])


class _Written:
    """Bytes this process writes to its connections (the client's, and those of the
    scheduler that a local cluster runs in it)."""

    def __init__(self, monkeypatch) -> None:
        from distributed.comm.tcp import TCP

        self.bytes = 0
        write = TCP.write

        async def counted(comm, msg, *args, **kwargs):
            n = await write(comm, msg, *args, **kwargs)
            self.bytes += n
            return n

        monkeypatch.setattr(TCP, "write", counted)


BIG = 1_200_000  # rows of 3 float64: 28.8 MB
BIG_CHUNK = 100_000  # 2.4 MB


def test_workers_read_the_files_and_no_value_passes_through_the_client(
    client, tmp_path, monkeypatch
):
    big = np.concatenate([X] * (BIG // X.shape[0]))
    np.save(tmp_path / "big.npy", big)
    table = pa.table({c: big[:, j] for j, c in enumerate("abc")})
    pq.write_table(table, tmp_path / "big.parquet", row_group_size=150_000)
    executor = DaskExecutor(client)
    written = _Written(monkeypatch)
    for path in ("big.npy", "big.parquet"):
        sent = []
        for passes in (1, 3):
            before = written.bytes
            result = _fit(
                open_data(tmp_path / path), executor, max_iter=passes, chunk_size=BIG_CHUNK
            )
            sent.append(written.bytes - before)
            assert result.total_weight == BIG
        # What a pass sends is its tasks, not a chunk of the data.
        assert (sent[1] - sent[0]) / 2 < big[:BIG_CHUNK].nbytes / 10
        assert sent[0] < big.nbytes / 50
    # The count sees the data sent from here: the same fit on the array ships it once.
    before = written.bytes
    _fit(big, executor, max_iter=1, chunk_size=BIG_CHUNK)
    assert written.bytes - before > big.nbytes


def test_dask_collections_stay_on_the_workers(client, monkeypatch):
    # Drawn on the workers: only the graph leaves the client.
    data = da.random.RandomState(0).normal(size=(BIG, 3), chunks=(BIG_CHUNK, 3))
    written = _Written(monkeypatch)
    result = _fit(data, DaskExecutor(client), max_iter=1, chunk_size=BIG_CHUNK // 2)
    assert written.bytes < data.nbytes / 50
    assert result.total_weight == BIG
    source = as_source(data)
    assert isinstance(source, DaskRows)
    assert (source.n_rows, source.n_features, source.in_memory) == (BIG, 3, False)
    assert source.block_rows == [BIG_CHUNK] * (BIG // BIG_CHUNK)


def test_dask_frames_of_numeric_columns_only():
    frame = dd.from_pandas(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}), 1)
    with pytest.raises(ValueError, match="column 'b' is not numeric"):
        as_source(frame)
    frame = dd.from_pandas(pd.DataFrame({"a": np.ones(4, np.float32)}), 2)
    source = as_source(frame)
    assert (source.dtype, source.columns, source.n_rows) == (np.float32, ("a",), None)
    with pytest.raises(ValueError, match="must be a dask array or Series"):
        as_source(frame, np.ones(4))


# -- the sample for initialisation -------------------------------------------------------------
def test_merged_samples_are_uniform():
    # Parts of different sizes: a merge that took as many rows from each part, or that did
    # not weigh the parts' samples by their counts, would favour the rows of the small one.
    sizes = [5, 20, 35]
    data = np.arange(sum(sizes), dtype=np.float64)[:, None]
    bounds = np.cumsum([0, *sizes])
    rng = np.random.RandomState(0)
    counts = np.zeros(data.shape[0])
    draws = 2000
    for _ in range(draws):
        samples = [
            _part_sample(data[a:b], 10, rng.randint(2**31), 4)
            for a, b in itertools.pairwise(bounds)
        ]
        rows, w = merged_sample(samples, 10, rng)
        assert w is None and rows.shape == (10, 1)
        assert np.all(np.diff(rows[:, 0]) > 0)  # distinct rows, in the data's order
        counts[rows[:, 0].astype(int)] += 1
    p = 10 / data.shape[0]
    assert np.all(np.abs(counts - draws * p) < 5 * np.sqrt(draws * p * (1 - p)))


def test_sample_on_the_workers_is_reproducible_and_keeps_weights(client, files):
    executor = DaskExecutor(client)
    placement = executor.place(as_source(np.load(files / "x.npy", mmap_mode="r"), W), CHUNK)
    first = placement.sample(500, np.random.RandomState(3))
    again = placement.sample(500, np.random.RandomState(3))
    other = placement.sample(500, np.random.RandomState(4))
    assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])
    rows = np.flatnonzero(np.isin(X[:, 0], first[0][:, 0]))
    assert rows.size == 500 and np.all(np.diff(rows) > 0)
    assert_array_equal(first[0], X[rows])
    assert_array_equal(first[1], W[rows])
    # Data that holds no more rows than asked for is given whole, without a draw.
    rng = np.random.RandomState(3)
    assert_array_equal(placement.sample(X.shape[0], rng)[0], X)
    assert rng.randint(1000) == np.random.RandomState(3).randint(1000)
    # Data in memory is seen whole, as a source sees it.
    assert executor.place(as_source(X), CHUNK).sample(10, rng)[0] is X


def test_fit_with_initialisation_from_the_workers(client, files):
    # The start is drawn from the sample on the workers: a fit from it is reproducible.
    source = open_data(files / "x.npy")
    executor = DaskExecutor(client)
    a = _fit(source, executor, init=None, random_state=0)
    b = _fit(source, executor, init=None, random_state=0)
    assert_array_equal(a.lower_bounds, b.lower_bounds)


# -- a worker killed during a fit --------------------------------------------------------------
@pytest.mark.parametrize("kind", ["array", "npy", "dask-array"])
def test_a_worker_killed_during_a_fit_costs_a_retry_not_the_fit(client, files, kind):
    executor = DaskExecutor(client)
    expected = _fit(DATA[kind](files), executor)
    pids = list(client.run(os.getpid).values())
    killed = threading.Event()

    def kill_after_the_first_step(info):
        if info.n_iter == 1 and not killed.is_set():
            os.kill(pids[0], signal.SIGKILL)
            killed.set()

    with ThreadPoolExecutor(1) as pool:
        fit = pool.submit(_fit, DATA[kind](files), executor, callback=kill_after_the_first_step)
        got = fit.result(timeout=120)
    assert killed.is_set()
    assert_same_fit(got, expected)
    client.wait_for_workers(2, timeout=60)


def test_faces_fit_dask_collections_on_the_active_client_s_cluster(client, monkeypatch):
    from emkit.config import executor_for

    data = da.from_array(X, chunks=(1300, 3))
    home = executor_for(None, as_source(data))
    assert isinstance(home, DaskExecutor) and home.client is client
    with emkit.config_context(executor=ThreadExecutor(1)):  # a chosen executor holds
        assert isinstance(executor_for(None, as_source(data)), ThreadExecutor)
    start = {"means_init": P0.components.means, "weights_init": P0.weights, "max_iter": 5}
    start |= {"random_state": 0}
    on_array = emkit.GaussianMixture(3, tol=0.0, chunk_size=CHUNK, **start).fit(X)
    # Only the graph and the start's sample leave the workers: the blocks stay there.
    drawn = da.random.RandomState(0).normal(size=(BIG, 3), chunks=(BIG_CHUNK, 3))
    written = _Written(monkeypatch)
    face = emkit.GaussianMixture(3, max_iter=1, tol=0.0, chunk_size=BIG_CHUNK, random_state=0)
    face.fit(drawn)
    sample = INIT_MAX_ROWS * 3 * 8
    assert sample < drawn.nbytes / 5
    assert written.bytes < sample + drawn.nbytes / 50
    for kind in ("dask-array", "dask-frame"):
        face = emkit.GaussianMixture(3, tol=0.0, chunk_size=CHUNK, **start)
        face.fit(DATA[kind](None))
        assert_allclose(face.means_, on_array.means_, rtol=1e-12)
        assert_array_equal(face.predict(DATA[kind](None)), on_array.predict(X))
    assert list(face.feature_names_in_) == list("abc")
    kmeans = emkit.KMeans(3, init=P0.components.means, n_init=1, chunk_size=CHUNK)
    assert_allclose(kmeans.fit(data).cluster_centers_, kmeans.fit(X).cluster_centers_, rtol=1e-12)
