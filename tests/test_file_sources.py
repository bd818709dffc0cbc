"""File row sources (emkit.execution.files) and emkit.open_data: the rows and errors of
read_table, chunk by chunk; one-pass samples; fits equal to fits on the array; memory."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import chisquare

import emkit
from emkit.core.stats import as_dict
from emkit.execution.files import CSVFile, NpyFile, ParquetFiles, open_data
from emkit.execution.sources import DEFAULT_CHUNK_SIZE
from emkit.families import Gaussian
from emkit.io.readers import DataError, read_table
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture

MAX_ROWS = [1, 7, 10_000]  # one row, chunks that cut blocks and row groups, the whole file


def _label(path) -> str:
    return re.escape(repr(str(path)))


def _values(n: int = 61, d: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)) * 10.0 ** np.arange(d)


def _write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def _csv(path: pathlib.Path, values: np.ndarray, names=("a", "b", "c"), sep=",") -> pathlib.Path:
    lines = [sep.join(names)] + [sep.join(map(repr, row)) for row in values.tolist()]
    return _write(path, "\n".join(lines) + "\n")


def _read(source, max_rows: int) -> np.ndarray:
    """All rows of one pass, checking that chunks are cut every max_rows rows."""
    chunks = list(source.chunks(max_rows))
    sizes = [rows.shape[0] for rows, _ in chunks]
    assert all(w is None for _, w in chunks)
    assert sizes[:-1] == [max_rows] * (len(sizes) - 1) and 0 < sizes[-1] <= max_rows
    for rows, _ in chunks:
        assert rows.dtype == source.dtype and rows.shape[1] == source.n_features
        assert rows.flags.c_contiguous
    return np.concatenate([rows for rows, _ in chunks])


def _assert_same(got: np.ndarray, expected: np.ndarray) -> None:
    """Bit for bit, NaN included."""
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of text and Parquet batches of 7 values, so that chunks are made of many."""
    from emkit.io import readers

    monkeypatch.setattr(readers, "_BLOCK_FIELDS", 7)


# -- .npy ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("max_rows", MAX_ROWS)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int16, np.bool_])
def test_npy_rows_are_read_tables(tmp_path, max_rows, order, dtype):
    path = tmp_path / "d.npy"
    np.save(path, np.asarray(_values() * 100, dtype=dtype, order=order))
    source = NpyFile(path)
    expected = read_table(path).values
    assert source.dtype == expected.dtype
    assert (source.n_rows, source.n_features, source.columns) == (61, 3, None)
    assert not source.in_memory and not source.weighted and not source.sparse
    _assert_same(_read(source, max_rows), expected)
    selected = NpyFile(path, columns=[2, 0])
    assert selected.n_features == 2
    _assert_same(_read(selected, max_rows), read_table(path, columns=["x2", "x0"]).values)


def test_npy_one_dimensional_is_one_column(tmp_path):
    path = tmp_path / "d.npy"
    np.save(path, np.arange(5.0))
    source = open_data(path)
    assert source.n_features == 1
    _assert_same(_read(source, 2), read_table(path).values)


def test_npy_column_positions_are_checked(tmp_path):
    path = tmp_path / "d.npy"
    np.save(path, _values())
    with pytest.raises(TypeError, match="selected by position"):
        NpyFile(path, columns=["x0"])
    with pytest.raises(TypeError, match="selected by position"):
        NpyFile(path, columns=[True])
    with pytest.raises(DataError, match=_label(path) + r" has no column 3; its columns are 0 to 2"):
        NpyFile(path, columns=[0, 3])
    with pytest.raises(DataError, match="has no column -1"):
        NpyFile(path, columns=[-1])
    with pytest.raises(DataError, match="column 1 is selected more than once"):
        NpyFile(path, columns=[1, 0, 1])
    with pytest.raises(DataError, match="the column selection is empty"):
        NpyFile(path, columns=[])
    assert NpyFile(path, columns=[np.int64(1)]).n_features == 1


def test_npy_refused_as_read_table_refuses_it(tmp_path):
    path = tmp_path / "d.npy"
    np.save(path, np.zeros((2, 2), dtype=complex))
    with pytest.raises(DataError, match="holds complex numbers"):
        NpyFile(path)


def test_npy_changed_between_passes(tmp_path):
    path = tmp_path / "d.npy"
    np.save(path, _values())
    source = NpyFile(path)
    _read(source, 10)
    np.save(path, _values(n=62))
    with pytest.raises(DataError, match=_label(path) + " changed while it was read"):
        _read(source, 10)


# -- Parquet ------------------------------------------------------------------------------------
def _parquet(path, columns: dict, row_group_size: int | None = None) -> pathlib.Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path


def _mixed_columns(n: int = 61, seed: int = 0) -> dict:
    pa = pytest.importorskip("pyarrow")
    values = _values(n, seed=seed)
    b = values[:, 1].tolist()
    b[n // 2] = None
    return {
        "a": values[:, 0],
        "b": pa.array(b, pa.float64()),
        "n": np.arange(n, dtype=np.int64) * 3,
        "text": [f"row {i}" for i in range(n)],
        "flag": np.arange(n) % 2 == 0,
        "c": values[:, 2].astype(np.float32),
    }


@pytest.mark.parametrize("max_rows", MAX_ROWS)
@pytest.mark.parametrize("blocks", ["default", "small"])
def test_parquet_rows_are_read_tables(tmp_path, request, max_rows, blocks):
    if blocks == "small":
        request.getfixturevalue("small_blocks")
    path = _parquet(tmp_path / "d.parquet", _mixed_columns(), row_group_size=25)
    names = ["a", "b", "n", "flag", "c"]
    source = ParquetFiles(path, columns=names)
    assert (source.n_rows, source.n_features, source.columns) == (61, 5, tuple(names))
    assert source.dtype == np.float64 and not source.in_memory
    expected = read_table(path, columns=names, allow_missing=True).values
    assert np.isnan(expected).sum() == 1
    _assert_same(_read(source, max_rows), expected)
    reordered = ["c", "a"]
    _assert_same(
        _read(ParquetFiles(path, columns=reordered), max_rows),
        read_table(path, columns=reordered).values,
    )


def test_parquet_float32_stays_float32_only_when_every_column_is(tmp_path):
    values = _values().astype(np.float32)
    path = _parquet(tmp_path / "d.parquet", {"a": values[:, 0], "b": values[:, 1]}, 20)
    source = ParquetFiles(path)
    assert source.dtype == np.float32
    got = _read(source, 7)
    # read_table gives float64; the float32 values are the same numbers.
    np.testing.assert_array_equal(got.astype(np.float64), read_table(path).values)
    _assert_same(got, values[:, :2].copy())
    mixed = _parquet(
        tmp_path / "e.parquet", {"a": values[:, 0], "b": values[:, 1].astype(np.float64)}
    )
    assert ParquetFiles(mixed).dtype == np.float64
    _assert_same(_read(ParquetFiles(mixed), 7), read_table(mixed).values)
    assert ParquetFiles(mixed, columns=["a"]).dtype == np.float32


def test_parquet_pandas_index_is_no_column(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4, 5, 6]}, index=[10, 20, 30])
    path = tmp_path / "d.pq"
    frame.to_parquet(path)
    source = open_data(path)
    assert source.columns == ("a", "b")
    _assert_same(_read(source, 2), read_table(path).values)


def _dataset(folder: pathlib.Path) -> list[pathlib.Path]:
    """Parquet files of 13, 0, 21 and 9 rows, written out of name order, and other files."""
    pa = pytest.importorskip("pyarrow")
    folder.mkdir()
    parts = {}
    for name, n, seed in [("part-2", 21, 2), ("part-0", 13, 0), ("part-3", 9, 3)]:
        parts[name] = _mixed_columns(n, seed)
    schema = pa.table(parts["part-0"]).schema
    empty = {field.name: pa.array([], field.type) for field in schema}
    _parquet(folder / "part-1.parquet", empty)
    for name, columns in parts.items():
        _parquet(folder / f"{name}.parquet", columns, row_group_size=5)
    _write(folder / "_SUCCESS", "")
    _write(folder / "notes.csv", "a\n1\n")
    return [folder / f"part-{i}.parquet" for i in (0, 2, 3)]  # the ones with rows


@pytest.mark.parametrize("max_rows", MAX_ROWS)
def test_parquet_folder_and_glob(tmp_path, max_rows):
    parts = _dataset(tmp_path / "data")
    names = ["n", "a", "b"]
    expected = np.concatenate(
        [read_table(p, columns=names, allow_missing=True).values for p in parts]
    )
    for path in (
        tmp_path / "data",
        tmp_path / "data" / "part-*.parquet",
        str(tmp_path / "d*/*.parquet"),
    ):
        source = open_data(path, columns=names)
        assert isinstance(source, ParquetFiles)
        assert [p.name for p in source.files] == [f"part-{i}.parquet" for i in range(4)]
        assert source.n_rows == 43 and source.columns == tuple(names)
        # Chunks are cut every max_rows rows across row groups and files.
        _assert_same(_read(source, max_rows), expected)


def test_parquet_files_that_disagree(tmp_path):
    pa = pytest.importorskip("pyarrow")
    folder = tmp_path / "data"
    folder.mkdir()
    first = _parquet(folder / "a.parquet", {"x": [1.0, 2.0], "y": [3.0, 4.0]})
    second = _parquet(folder / "b.parquet", {"x": [1.0], "z": [2.0]})
    with pytest.raises(
        DataError, match=_label(second) + " has no column 'y', which " + _label(first) + " has"
    ):
        ParquetFiles(folder)
    # With a selection, only the selected columns need be shared.
    np.testing.assert_array_equal(_read(ParquetFiles(folder, columns=["x"]), 5), [[1], [2], [1]])
    with pytest.raises(DataError, match=_label(second) + " has no column 'y'; available columns"):
        ParquetFiles(folder, columns=["y"])
    _parquet(second, {"y": [1.0], "x": [2.0], "w": [0.0]})
    with pytest.raises(
        DataError, match=_label(second) + " has a column 'w', which " + _label(first)
    ):
        ParquetFiles(folder)
    _parquet(second, {"y": pa.array([1], pa.int64()), "x": [2.0]})
    with pytest.raises(
        DataError,
        match=_label(second)
        + ": column 'y' is of Parquet type int64, but of type double in "
        + _label(first),
    ):
        ParquetFiles(folder)
    _parquet(second, {"x": ["one"], "y": [1.0]})
    with pytest.raises(DataError, match=_label(second) + ": column 'x' is of Parquet type string"):
        ParquetFiles(folder)
    _write(second, "not parquet")
    with pytest.raises(DataError, match=_label(second) + " is not a readable Parquet file"):
        ParquetFiles(folder)


def test_parquet_paths_without_files(tmp_path):
    pytest.importorskip("pyarrow")
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        DataError, match=_label(tmp_path / "empty") + " is a folder without Parquet"
    ):
        open_data(tmp_path / "empty")
    with pytest.raises(DataError, match="no files match " + _label(tmp_path / "x*.parquet")):
        open_data(tmp_path / "x*.parquet")
    with pytest.raises(DataError, match="no such file: " + _label(tmp_path / "x.parquet")):
        ParquetFiles(tmp_path / "x.parquet")
    folder = tmp_path / "zero"
    folder.mkdir()
    _parquet(folder / "a.parquet", {"x": np.zeros(0)})
    with pytest.raises(DataError, match=_label(folder) + " holds no data rows"):
        ParquetFiles(folder)


def test_parquet_without_pyarrow(tmp_path, monkeypatch):
    path = _write(tmp_path / "d.parquet", "PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=re.escape("pip install 'emkit[parquet]'")):
        open_data(path)


def test_parquet_changed_between_passes(tmp_path):
    path = _parquet(tmp_path / "d.parquet", {"x": [1.0, 2.0]})
    source = ParquetFiles(path)
    _read(source, 1)
    _parquet(path, {"x": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match=_label(path) + " changed while it was read"):
        _read(source, 1)


# -- text ---------------------------------------------------------------------------------------
def _messy_csv(path: pathlib.Path) -> pathlib.Path:
    """A header with a quoted line break, CRLF, blank lines, missing-value tokens."""
    values = _values(n=40)
    lines = ['"first\nname",b,,text', ""]
    tokens = ["NA", "", "nan", "null", "N/A"]
    for i, row in enumerate(values.tolist()):
        fields = list(map(repr, row))
        if i % 9 == 4:
            fields[i % 3] = tokens[i % len(tokens)]
        lines.append(",".join([*fields, f"word {i}"]))
        if i == 20:
            lines.append("")
    return _write(path, "\r\n".join(lines) + "\r\n")


@pytest.mark.parametrize("max_rows", MAX_ROWS)
@pytest.mark.parametrize("blocks", ["default", "small"])
def test_csv_rows_are_read_tables(tmp_path, request, max_rows, blocks):
    if blocks == "small":
        request.getfixturevalue("small_blocks")
    path = _messy_csv(tmp_path / "d.csv")
    names = ["first\nname", "b", "x2"]
    source = CSVFile(path, columns=names)
    expected = read_table(path, columns=names, allow_missing=True).values
    assert np.isnan(expected).sum() == 4
    assert source.columns == tuple(names) and source.dtype == np.float64
    assert source.n_rows is None  # counted by the first pass
    _assert_same(_read(source, max_rows), expected)
    assert source.n_rows == 40
    _assert_same(_read(source, max_rows), expected)
    with pytest.raises(
        DataError, match=_label(path) + ": column 'text' is not numeric: value 'word 0' on line 4"
    ):
        _read(CSVFile(path), max_rows)


@pytest.mark.parametrize(
    ("name", "text", "delimiter"),
    [
        ("d.tsv", "a\tb\n1\t2.5\n3\tNA\n", None),
        ("d.tab", "1\t2\n3\t4\n", None),
        ("d.txt", "1 2\n  3   4\n", None),
        ("d.txt", "1,2\n3,4\n", None),
        ("d.csv", "a;b\n1;2\n3;4\n", ";"),
    ],
)
def test_text_formats_are_read_tables(tmp_path, name, text, delimiter):
    path = _write(tmp_path / name, text)
    source = CSVFile(path, delimiter=delimiter)
    table = read_table(path, allow_missing=True, delimiter=delimiter)
    assert source.columns == table.columns
    _assert_same(_read(source, 1), table.values)


def test_text_of_another_suffix(tmp_path):
    path = _write(tmp_path / "d.dat", "a|b\n1|2\n")
    source = CSVFile(path, delimiter="|")
    assert source.columns == ("a", "b")
    np.testing.assert_array_equal(_read(source, 1), [[1, 2]])
    # Without a delimiter, the first line tells (as for .txt files).
    assert CSVFile(_write(tmp_path / "e.dat", "a\tb\n1\t2\n")).columns == ("a", "b")


def test_text_errors_name_file_column_and_line(tmp_path, small_blocks):
    rows = [[f"{i}", f"{2 * i}"] for i in range(40)]
    rows[30][1] = "x"
    path = _write(tmp_path / "d.csv", "a,b\n" + "".join(",".join(r) + "\n" for r in rows))
    source = CSVFile(path)
    # A later block: the rows before it are chunks already handed out.
    passes = source.chunks(5)
    assert next(passes)[0].shape == (5, 2)
    message = _label(path) + ": column 'b' is not numeric: value 'x' on line 32"
    with pytest.raises(DataError, match=message):
        list(passes)
    with pytest.raises(DataError, match=message):
        read_table(path)
    ragged = _write(tmp_path / "e.csv", "a,b\n1,2\n3\n")
    with pytest.raises(DataError, match=_label(ragged) + ": line 3 has 1 field, the header has 2"):
        _read(CSVFile(ragged), 10)
    header_only = _write(tmp_path / "f.csv", "a,b\n")
    with pytest.raises(DataError, match=_label(header_only) + " holds no data rows"):
        _read(CSVFile(header_only), 10)
    with pytest.raises(DataError, match="holds no data rows"):
        CSVFile(_write(tmp_path / "g.csv", "\n\n"))
    with pytest.raises(DataError, match=_label(path) + " has no column 'c'"):
        CSVFile(path, columns=["c"])
    with pytest.raises(ValueError, match="delimiter must be one character"):
        CSVFile(path, delimiter=";;")


def test_text_hint_of_another_delimiter(tmp_path):
    path = _write(tmp_path / "d.csv", "a;b\n1;2\n")
    source = CSVFile(path)
    assert source.columns == ("a;b",)
    with pytest.raises(DataError, match="may be separated by semicolons") as info:
        _read(source, 10)
    assert info.value.delimiter == ";"
    with pytest.raises(DataError, match=re.escape(str(info.value))):
        read_table(path)


def test_text_not_utf8(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b\n1,2\n3,\xff\n")
    with pytest.raises(
        DataError, match="is not a UTF-8 text file \\(undecodable byte at offset 10\\)"
    ):
        _read(CSVFile(path), 10)


def test_text_changed_between_passes(tmp_path):
    path = _write(tmp_path / "d.csv", "a\n1\n2\n")
    source = CSVFile(path)
    _read(source, 1)
    _write(path, "a\n1\n2\n3\n")
    with pytest.raises(
        DataError, match=_label(path) + r" changed while it was read: it holds 3 rows, not 2"
    ):
        _read(source, 1)
    _write(path, "b\n1\n")
    with pytest.raises(DataError, match="changed while it was read: its first line differs"):
        _read(source, 1)


# -- every kind ---------------------------------------------------------------------------------
def _sources(tmp_path, values: np.ndarray) -> dict:
    """The same rows as a .npy file, a Parquet file of row groups, a folder of Parquet
    files, and a CSV file."""
    np.save(tmp_path / "d.npy", values)
    columns = {f"c{j}": values[:, j] for j in range(values.shape[1])}
    _parquet(tmp_path / "d.parquet", columns, row_group_size=37)
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, (start, stop) in enumerate([(0, 50), (50, 51), (51, values.shape[0])]):
        part = {name: column[start:stop] for name, column in columns.items()}
        _parquet(folder / f"{i}.parquet", part, row_group_size=23)
    _csv(tmp_path / "d.csv", values, names=list(columns))
    return {
        "npy": tmp_path / "d.npy",
        "parquet": tmp_path / "d.parquet",
        "folder": folder,
        "csv": tmp_path / "d.csv",
    }


def test_infinite_values_are_refused_as_read_table_refuses_them(tmp_path):
    values = _values(n=60)
    values[55, 1] = np.inf
    paths = _sources(tmp_path, values)
    messages = {
        "npy": "column 'x1' holds an infinite value in row 56",
        "parquet": "column 'c1' holds an infinite value in row 56",
        "csv": "column 'c1' holds an infinite value on line 57",
    }
    for kind, message in messages.items():
        with pytest.raises(DataError, match=_label(paths[kind]) + ": " + message):
            read_table(paths[kind], allow_missing=True)
        with pytest.raises(DataError, match=_label(paths[kind]) + ": " + message):
            _read(open_data(paths[kind]), 7)
    # In a folder, the file and its own row.
    with pytest.raises(
        DataError,
        match=_label(paths["folder"] / "2.parquet")
        + ": column 'c1' holds an infinite value in row 5",
    ):
        _read(open_data(paths["folder"]), 7)


def test_sample_is_one_uniform_pass_reproducible_by_seed(tmp_path):
    n = 20_000
    values = np.column_stack([np.arange(n, dtype=np.float64), _values(n, 1)[:, 0]])
    paths = _sources(tmp_path, values)
    samples = {}
    for kind, path in paths.items():
        source = open_data(path)
        X, w = source.sample(1000, np.random.RandomState(0))
        assert w is None and X.shape == (1000, 2) and X.dtype == np.float64
        again, _ = source.sample(1000, np.random.RandomState(0))
        _assert_same(again, X)
        samples[kind] = X
    # Chunks are cut alike whatever the file, so every kind draws the same rows.
    for X in samples.values():
        _assert_same(X, samples["npy"])
    rows = samples["npy"][:, 0].astype(np.int64)
    assert np.all(np.diff(rows) > 0)  # distinct, in file order
    _assert_same(samples["npy"], values[rows])
    counts = np.bincount(rows * 10 // n, minlength=10)
    assert chisquare(counts).pvalue > 1e-3, counts
    other, _ = open_data(paths["npy"]).sample(1000, np.random.RandomState(1))
    assert not np.array_equal(other, samples["npy"])
    small, _ = open_data(paths["csv"]).sample(n, np.random.RandomState(0))
    _assert_same(small, values)


MODEL = Mixture(Gaussian("diag", reg_covar=0.0), 2, initializer("kmeans"))


def _fit(data, chunk_size):
    return emkit.fit_em(
        MODEL, data, max_iter=4, tol=0, random_state=0, chunk_size=chunk_size, n_jobs=1
    )


@pytest.mark.parametrize("kind", ["npy", "parquet", "folder", "csv"])
@pytest.mark.parametrize("chunk_size", [16, 64, DEFAULT_CHUNK_SIZE])
def test_fit_on_a_source_is_the_fit_on_the_array(tmp_path, kind, chunk_size):
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(size=(200, 3)), rng.normal(4.0, 1.5, size=(111, 3))])
    path = _sources(tmp_path, values)[kind]
    array = values if kind == "folder" else read_table(path).values
    expected = _fit(array, chunk_size)
    got = _fit(open_data(path), chunk_size)
    assert got.n_iter == expected.n_iter == 4
    assert got.lower_bound == expected.lower_bound
    a, b = as_dict(got.params), as_dict(expected.params)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_fit_on_float32_npy_is_the_float32_fit(tmp_path):
    values = _values(n=150).astype(np.float32)
    path = tmp_path / "d.npy"
    np.save(path, values)
    got, expected = _fit(open_data(path), 32), _fit(values, 32)
    for name, value in as_dict(got.params).items():
        np.testing.assert_array_equal(value, as_dict(expected.params)[name], err_msg=name)


# -- open_data ------------------------------------------------------------------------------------
def test_open_data_chooses_by_suffix(tmp_path):
    values = _values(n=10)
    paths = _sources(tmp_path, values)
    assert emkit.open_data is open_data and "open_data" in emkit.__all__
    assert isinstance(open_data(paths["npy"], [1]), NpyFile)
    assert isinstance(open_data(paths["parquet"]), ParquetFiles)
    assert isinstance(open_data(paths["folder"]), ParquetFiles)
    source = open_data(paths["csv"], ["c2", "c0"])
    assert isinstance(source, CSVFile) and source.columns == ("c2", "c0")
    upper = tmp_path / "D.NPY"
    paths["npy"].rename(upper)
    assert isinstance(open_data(upper), NpyFile)
    semicolons = _write(tmp_path / "s.txt", "a;b\n1;2\n")
    assert open_data(semicolons, delimiter=";").columns == ("a", "b")


def test_open_data_refusals(tmp_path):
    with pytest.raises(DataError, match="no such file: " + _label(tmp_path / "x.csv")):
        open_data(tmp_path / "x.csv")
    with pytest.raises(DataError, match="no such file: " + _label(tmp_path / "x.npy")):
        open_data(tmp_path / "x.npy")
    with pytest.raises(DataError, match="no such file: " + _label(tmp_path / "x.xlsx")):
        open_data(tmp_path / "x.xlsx")
    sheet = _write(tmp_path / "d.xlsx", "")
    with pytest.raises(
        DataError, match=_label(sheet) + r" has an unsupported file type \('.xlsx'\)"
    ):
        open_data(sheet)
    with pytest.raises(DataError, match="a pattern is read as Parquet files"):
        open_data(tmp_path / "*.csv")
    np.save(tmp_path / "d.npy", _values())
    with pytest.raises(DataError, match="not a text file: a delimiter applies to text files only"):
        open_data(tmp_path / "d.npy", delimiter=";")
    with pytest.raises(ValueError, match="delimiter must be one character"):
        open_data(tmp_path / "d.npy", delimiter="\n")
    with pytest.raises(TypeError, match="not a single string"):
        open_data(_csv(tmp_path / "d.csv", _values()), columns="a")


# -- memory ---------------------------------------------------------------------------------------
_MEASURE = r"""
import json, resource, sys
import numpy as np
from emkit.execution.files import NpyFile

def status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

source = NpyFile(sys.argv[1])
before, baseline = peak(), status("VmRSS")
rows_read = 0
for rows, _ in source.chunks(int(sys.argv[2])):
    rows_read += rows.shape[0]
chunked = peak()
whole = np.load(sys.argv[1])  # the control: the file read whole
print(json.dumps({"before": before, "baseline": baseline, "chunked": chunked,
                  "whole": peak(), "rows": rows_read}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_npy_source_holds_a_chunk_not_the_file(tmp_path):
    n, d = 3_125_000, 4  # 100 MB of float64
    path = tmp_path / "big.npy"
    rng = np.random.default_rng(0)
    with open(path, "wb") as fh:
        header = {"descr": "<f8", "fortran_order": False, "shape": (n, d)}
        np.lib.format.write_array_header_1_0(fh, header)
        for start in range(0, n, 250_000):
            rng.standard_normal((min(250_000, n - start), d)).tofile(fh)
    assert np.load(path, mmap_mode="r").shape == (n, d)
    # A child counts the peak of the process it was forked from: the measuring process is
    # started by a small one, so that its peak is its own.
    launcher = (
        "import subprocess, sys; sys.stdout.write(subprocess.run([sys.executable, '-c', "
        f"{_MEASURE!r}, {str(path)!r}, '{DEFAULT_CHUNK_SIZE}'], capture_output=True, "
        "text=True, check=True).stdout)"
    )
    out = subprocess.run(
        [sys.executable, "-c", launcher], capture_output=True, text=True, check=True
    ).stdout
    reading = json.loads(out)
    assert reading["before"] < reading["baseline"] + 10, reading  # not inherited
    assert reading["chunked"] - reading["baseline"] < 40, reading
    assert reading["whole"] - reading["baseline"] > 90, reading  # the measure sees a read
    assert reading["rows"] == n
