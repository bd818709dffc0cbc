"""Sources cut into parts (RowSource.partitions): the parts, read one after another in
another process, give the source's own chunks, and a part of a file names the file, not its
values."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from emkit.core.batches import Labelled, Sequences
from emkit.execution.files import CSVFile, NpyFile, ParquetFiles, open_data
from emkit.execution.sources import ChunkRows, as_source, spans
from emkit.io.readers import DataError, write_table

RNG = np.random.default_rng(3)
X = RNG.normal(size=(1003, 3))
W = RNG.uniform(0.5, 2.0, X.shape[0])
LENGTHS = np.array([5, 100, 3, 400, 20, 475])


def _files(tmp_path) -> dict:
    np.save(tmp_path / "x.npy", X)
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, rows, group in (("p0", slice(0, 500), 77), ("p1", slice(500, None), 130)):
        table = pa.table({c: X[rows, j] for j, c in enumerate("abc")})
        pq.write_table(table, folder / f"{name}.parquet", row_group_size=group)
    return {
        "npy": NpyFile(tmp_path / "x.npy"),
        "npy-columns": NpyFile(tmp_path / "x.npy", columns=[2, 0]),
        "parquet": ParquetFiles(folder),
    }


MEMORY = {
    "array": lambda: as_source(X),
    "weighted": lambda: as_source(X, W),
    "csr": lambda: as_source(sp.csr_matrix(X)),
    "pandas": lambda: as_source(pd.DataFrame(X, columns=list("abc")), W),
    "arrow": lambda: as_source(pa.table({c: X[:, j] for j, c in enumerate("abc")})),
    "labelled": lambda: as_source(Labelled(X, np.arange(X.shape[0]) % 3 - 1)),
    "sequences": lambda: as_source(Sequences(X, LENGTHS), W),
    "mapped": lambda: as_source(X).map(lambda rows: 2.0 * rows[:, :2], n_features=2),
}


def _values(chunk) -> tuple:
    rows, w = chunk
    if sp.issparse(rows):
        return rows.toarray(), w, None
    if isinstance(rows, Labelled):
        return rows.X, w, rows.labels
    if isinstance(rows, Sequences):
        return rows.X, w, rows.lengths
    return np.asarray(rows), w, None


def _assert_same_chunks(whole, parts) -> None:
    assert len(whole) == len(parts)
    for a, b in zip(whole, parts, strict=True):
        for x, y in zip(_values(a), _values(b), strict=True):
            assert (x is None) == (y is None)
            if x is not None:
                assert_array_equal(x, y)


@pytest.mark.parametrize("kind", [*sorted(MEMORY), "npy", "npy-columns", "parquet"])
@pytest.mark.parametrize(("n", "align"), [(1, 100), (3, 100), (8, 64), (50, 7), (4, 2000)])
def test_parts_read_elsewhere_are_the_chunks_of_the_source(kind, n, align, tmp_path):
    source = MEMORY[kind]() if kind in MEMORY else _files(tmp_path)[kind]
    parts = source.partitions(n, align)
    assert 1 <= len(parts) <= n
    # Pickled (mapped rows: by reference to the function, here a lambda, as cloudpickle
    # sends it), as a worker receives them.
    if kind != "mapped":
        parts = [pickle.loads(pickle.dumps(part)) for part in parts]
    chunks = [chunk for part in parts for chunk in part.chunks(align)]
    _assert_same_chunks(list(source.chunks(align)), chunks)
    assert sum(part.n_rows for part in parts) == source.n_rows
    for part in parts:
        assert (part.n_features, part.dtype, part.sparse) == (
            source.n_features,
            source.dtype,
            source.sparse,
        )
        assert part.columns == source.columns


@pytest.mark.parametrize("kind", sorted(set(MEMORY) - {"mapped"}))
def test_a_part_of_data_in_memory_carries_its_rows_alone(kind):
    source = MEMORY[kind]()
    whole = len(pickle.dumps(source))
    parts = source.partitions(8, 100)
    assert len(parts) > 4
    # Each part's own few hundred bytes (a table's index and column names) besides.
    assert sum(len(pickle.dumps(part)) for part in parts) < 1.1 * whole + 1500 * len(parts)


def test_parts_hold_whole_runs_of_align_rows_as_evenly_as_they_can():
    assert spans(1003, 3, 100) == [(0, 400), (400, 800), (800, 1003)]
    assert spans(1000, 4, 100) == [(0, 300), (300, 600), (600, 800), (800, 1000)]
    assert spans(5, 8, 2) == [(0, 2), (2, 4), (4, 5)]
    assert spans(0, 3, 10) == []
    with pytest.raises(ValueError, match="n >= 1 parts"):
        spans(10, 0, 1)


def test_a_part_of_a_file_names_the_file_not_its_values(tmp_path):
    sources = _files(tmp_path)
    for source in sources.values():
        for part in source.partitions(4, 100):
            assert len(pickle.dumps(part)) < 2000 < X.nbytes / 4
    parts = sources["parquet"].partitions(3, 100)
    assert [p.n_rows for p in parts] == [400, 400, 203]
    assert repr(parts[1]).endswith("rows=400:800)")
    assert repr(sources["parquet"]).endswith("columns=['a', 'b', 'c'])")
    # A part of a part reads rows of the files, not of the part.
    inner = parts[1].partitions(2, 50)
    assert_array_equal(next(inner[1].chunks(1000))[0], X[600:800])


def test_a_part_of_a_file_reports_rows_of_the_file(tmp_path):
    values = X.copy()
    values[650, 1] = np.inf
    np.save(tmp_path / "x.npy", values)
    pq.write_table(pa.table({"a": values[:, 0], "b": values[:, 1]}), tmp_path / "x.parquet")
    for source in (open_data(tmp_path / "x.npy"), open_data(tmp_path / "x.parquet")):
        part = source.partitions(3, 100)[1]
        with pytest.raises(DataError, match="in row 651"):
            list(part.chunks(100))


def test_a_text_file_is_one_part_and_a_stream_cannot_be_cut(tmp_path):
    write_table(tmp_path / "x.csv", X, ["a", "b", "c"])
    source = CSVFile(tmp_path / "x.csv")
    assert source.partitions(4, 100) == [source]
    assert ChunkRows([X[:10], X[10:]]).partitions(2, 5) is None
    assert ChunkRows([X[:10]]).map(np.abs).partitions(2, 5) is None
