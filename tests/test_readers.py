"""Tests for reading and writing data tables (emkit.io.readers)."""

from __future__ import annotations

import json
import pathlib
import re
import sys

import numpy as np
import pytest

from emkit.io.readers import SUPPORTED_SUFFIXES, DataError, Table, read_table, write_table

FAITHFUL = pathlib.Path(__file__).resolve().parents[1] / "examples" / "data" / "faithful.csv"


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def _label(path):
    return re.escape(repr(str(path)))


# --------------------------------------------------------------------------- #
# Text files
# --------------------------------------------------------------------------- #


def test_faithful():
    table = read_table(FAITHFUL)
    assert isinstance(table, Table)
    assert table.columns == ("eruptions", "waiting")
    assert table.values.shape == (272, 2)
    assert table.values.dtype == np.float64
    assert table.values.flags.c_contiguous
    np.testing.assert_array_equal(table.values[0], [3.6, 79.0])
    assert np.isfinite(table.values).all()


def test_faithful_column_selection_reorders():
    full = read_table(FAITHFUL)
    table = read_table(FAITHFUL, columns=["waiting", "eruptions"])
    assert table.columns == ("waiting", "eruptions")
    np.testing.assert_array_equal(table.values, full.values[:, ::-1])
    single = read_table(FAITHFUL, columns=("waiting",))
    assert single.values.shape == (272, 1)


def test_csv_with_header(tmp_path):
    path = _write(tmp_path / "d.csv", ' a , "b c"\n1,2.5\n-3e2, .5\n')
    table = read_table(path)
    assert table.columns == ("a", "b c")
    np.testing.assert_array_equal(table.values, [[1.0, 2.5], [-300.0, 0.5]])


def test_csv_without_header(tmp_path):
    path = _write(tmp_path / "d.csv", "1,2,3\n4,5,6\n")
    table = read_table(path)
    assert table.columns == ("x0", "x1", "x2")
    np.testing.assert_array_equal(table.values, [[1, 2, 3], [4, 5, 6]])


def test_headerless_first_row_with_missing_value_is_data(tmp_path):
    path = _write(tmp_path / "d.csv", "NA,2\n3,4\n")
    table = read_table(path, allow_missing=True)
    assert table.columns == ("x0", "x1")
    assert table.values.shape == (2, 2)
    assert np.isnan(table.values[0, 0])


def test_empty_header_fields_are_named_by_position(tmp_path):
    path = _write(tmp_path / "d.csv", ",a\n0,1.5\n1,2.5\n")
    table = read_table(path)
    assert table.columns == ("x0", "a")


def test_crlf_bom_and_blank_lines(tmp_path):
    path = _write(tmp_path / "d.csv", "\ufeffa,b\r\n\r\n1,2\r\n\r\n3,4\r\n\r\n")
    table = read_table(path)
    assert table.columns == ("a", "b")
    np.testing.assert_array_equal(table.values, [[1, 2], [3, 4]])


def test_uppercase_suffix(tmp_path):
    path = _write(tmp_path / "D.CSV", "a\n1\n")
    assert read_table(path).columns == ("a",)


@pytest.mark.parametrize("suffix", [".tsv", ".tab"])
def test_tab_separated(tmp_path, suffix):
    path = _write(tmp_path / f"d{suffix}", "x,1\ty\n1.5\t2\n3\t4\n")
    table = read_table(path)
    assert table.columns == ("x,1", "y")
    np.testing.assert_array_equal(table.values, [[1.5, 2], [3, 4]])


@pytest.mark.parametrize(
    "text",
    ["a\tb\n1\t2\n3\t4\n", "a,b\n1,2\n3,4\n", "a b\n1  2\n 3\t 4\n"],
    ids=["tab", "comma", "whitespace"],
)
def test_txt_delimiter_is_sniffed(tmp_path, text):
    table = read_table(_write(tmp_path / "d.txt", text))
    assert table.columns == ("a", "b")
    np.testing.assert_array_equal(table.values, [[1, 2], [3, 4]])


def test_txt_written_by_savetxt(tmp_path):
    values = np.random.default_rng(0).normal(size=(5, 3))
    path = tmp_path / "d.txt"
    np.savetxt(path, values)
    table = read_table(path)
    assert table.columns == ("x0", "x1", "x2")
    np.testing.assert_array_equal(table.values, values)


@pytest.mark.parametrize("token", ["", "NA", "na", "NaN", "nan", "N/A", "n/a", "null", "NULL"])
def test_missing_value_tokens(tmp_path, token):
    path = _write(tmp_path / "d.csv", f"a,b\n1,{token}\n3,4\n")
    table = read_table(path, allow_missing=True)
    assert np.isnan(table.values[0, 1])
    np.testing.assert_array_equal(table.values[1], [3, 4])
    with pytest.raises(DataError, match="column 'b' has 1 missing value "):
        read_table(path)


def test_missing_values_refused_by_default(tmp_path):
    text = "eruptions,waiting\n1,2\n\n3,4\n5,\n6,NA\n7,8\n9,nan\n"
    path = _write(tmp_path / "d.csv", text)
    with pytest.raises(
        DataError,
        match=_label(path) + re.escape(": column 'waiting' has 3 missing values (first on line 5)"),
    ):
        read_table(path)
    table = read_table(path, allow_missing=True)
    assert np.isnan(table.values[:, 1]).sum() == 3
    # Missing values in columns that are not selected do not matter.
    assert read_table(path, columns=["eruptions"]).values.shape == (6, 1)


def test_non_numeric_value(tmp_path):
    path = _write(tmp_path / "iris.csv", "length,species\n5.1,setosa\n4.9,setosa\n")
    with pytest.raises(
        DataError,
        match=_label(path)
        + re.escape(": column 'species' is not numeric: value 'setosa' on line 2"),
    ):
        read_table(path)
    # Selecting the numeric columns skips the others.
    table = read_table(path, columns=["length"])
    np.testing.assert_array_equal(table.values, [[5.1], [4.9]])


def test_non_numeric_value_after_missing_value(tmp_path):
    path = _write(tmp_path / "d.csv", "a\n1\nNA\n2\nthree\n")
    with pytest.raises(DataError, match="column 'a' is not numeric: value 'three' on line 5"):
        read_table(path, allow_missing=True)


def test_ragged_row(tmp_path):
    path = _write(tmp_path / "d.csv", "a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n11,12,13\n")
    with pytest.raises(DataError, match=_label(path) + ": line 7 has 3 fields, the header has 2"):
        read_table(path)


def test_ragged_row_without_header(tmp_path):
    path = _write(tmp_path / "d.csv", "\n1,2\n3\n")
    with pytest.raises(DataError, match="line 3 has 1 field, line 2 has 2"):
        read_table(path)


@pytest.mark.parametrize("text", ["a,b\n", "a,b\n\n\n", "", "\n \n"])
def test_no_data_rows(tmp_path, text):
    path = _write(tmp_path / "d.csv", text)
    with pytest.raises(DataError, match=_label(path) + " holds no data rows"):
        read_table(path)


def test_duplicate_column_names(tmp_path):
    path = _write(tmp_path / "d.csv", "a,b,a\n1,2,3\n")
    with pytest.raises(
        DataError, match=_label(path) + " has duplicate column names: 'a' names columns 1, 3"
    ):
        read_table(path)


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "+INF"])
def test_infinite_value(tmp_path, value):
    rows = "".join(f"{i},{i}\n" for i in range(7))
    path = _write(tmp_path / "d.csv", f"w,x\n{rows}7,{value}\n")
    with pytest.raises(
        DataError, match=_label(path) + ": column 'x' holds an infinite value on line 9"
    ):
        read_table(path, allow_missing=True)


def test_unknown_column(tmp_path):
    path = _write(tmp_path / "d.csv", "a,b\n1,2\n")
    with pytest.raises(
        DataError, match=_label(path) + " has no column 'nope'; available columns: 'a', 'b'"
    ):
        read_table(path, columns=["a", "nope"])


def test_unknown_column_with_many_columns(tmp_path):
    header = ",".join(f"c{i}" for i in range(50))
    path = _write(tmp_path / "d.csv", header + "\n" + ",".join(["1"] * 50) + "\n")
    with pytest.raises(DataError, match=r"'c18', \.\.\., 'c49' \(50 columns\)"):
        read_table(path, columns=["nope"])


def test_bad_column_selections(tmp_path):
    path = _write(tmp_path / "d.csv", "a,b\n1,2\n")
    with pytest.raises(TypeError, match="not a single string"):
        read_table(path, columns="a")
    with pytest.raises(DataError, match="column selection is empty"):
        read_table(path, columns=[])
    with pytest.raises(DataError, match="column 'a' is selected more than once"):
        read_table(path, columns=["a", "a"])
    with pytest.raises(TypeError, match="column names must be strings"):
        read_table(path, columns=[0])


def test_not_utf8(tmp_path):
    path = _write(tmp_path / "d.csv", "café,b\n1,2\n", encoding="latin-1")
    with pytest.raises(DataError, match=_label(path) + " is not a UTF-8 text file"):
        read_table(path)


def test_binary_file_with_csv_suffix(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b\n1,\x002\n")
    with pytest.raises(DataError, match="is not a text file"):
        read_table(path)


# --------------------------------------------------------------------------- #
# File-level errors
# --------------------------------------------------------------------------- #


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError, match="no such file: " + _label(path)):
        read_table(path)


def test_directory(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        read_table(tmp_path)


@pytest.mark.parametrize("name", ["d.xlsx", "data"])
def test_unsupported_suffix(tmp_path, name):
    path = _write(tmp_path / name, "a\n1\n")
    with pytest.raises(DataError, match="unsupported file type") as info:
        read_table(path)
    for suffix in SUPPORTED_SUFFIXES:
        assert suffix in str(info.value)


# --------------------------------------------------------------------------- #
# Parquet
# --------------------------------------------------------------------------- #


def _write_parquet(path, columns, metadata=None):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(columns)
    if metadata is not None:
        table = table.replace_schema_metadata(metadata)
    pq.write_table(table, path)
    return path


def test_parquet_round_trip(tmp_path):
    pa = pytest.importorskip("pyarrow")
    path = _write_parquet(
        tmp_path / "d.parquet",
        {
            "f64": pa.array([1.5, -2.25, 3.0], pa.float64()),
            "f32": pa.array([0.5, 1.5, 2.5], pa.float32()),
            "i64": pa.array([1, -2, 3], pa.int64()),
            "u8": pa.array([0, 1, 255], pa.uint8()),
            "flag": pa.array([True, False, True]),
        },
    )
    table = read_table(path)
    assert table.columns == ("f64", "f32", "i64", "u8", "flag")
    assert table.values.dtype == np.float64
    np.testing.assert_array_equal(
        table.values,
        [[1.5, 0.5, 1, 0, 1], [-2.25, 1.5, -2, 1, 0], [3.0, 2.5, 3, 255, 1]],
    )
    selected = read_table(path, columns=["i64", "f64"])
    assert selected.columns == ("i64", "f64")
    np.testing.assert_array_equal(selected.values, [[1, 1.5], [-2, -2.25], [3, 3.0]])


def test_pq_suffix_and_pandas_index_skipped(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pandas_metadata = {"index_columns": ["__index_level_0__"], "columns": []}
    path = _write_parquet(
        tmp_path / "d.pq",
        {"__index_level_0__": pa.array([10, 11]), "a": pa.array([1.0, 2.0])},
        metadata={b"pandas": json.dumps(pandas_metadata).encode()},
    )
    table = read_table(path)
    assert table.columns == ("a",)
    np.testing.assert_array_equal(table.values, [[1.0], [2.0]])


def test_parquet_nulls(tmp_path):
    pa = pytest.importorskip("pyarrow")
    path = _write_parquet(
        tmp_path / "d.parquet",
        {"a": pa.array([1.0, 2.0, 3.0]), "b": pa.array([1, None, None], pa.int32())},
    )
    with pytest.raises(
        DataError,
        match=_label(path) + re.escape(": column 'b' has 2 missing values (first in row 2)"),
    ):
        read_table(path)
    table = read_table(path, allow_missing=True)
    np.testing.assert_array_equal(np.isnan(table.values), [[0, 0], [0, 1], [0, 1]])


def test_parquet_nan_counts_as_missing(tmp_path):
    path = _write_parquet(tmp_path / "d.parquet", {"a": [1.0, float("nan")]})
    with pytest.raises(DataError, match=r"column 'a' has 1 missing value \(first in row 2\)"):
        read_table(path)


def test_parquet_infinite_value(tmp_path):
    path = _write_parquet(tmp_path / "d.parquet", {"a": [1.0, 2.0, float("-inf")]})
    with pytest.raises(DataError, match="column 'a' holds an infinite value in row 3"):
        read_table(path)


def test_parquet_non_numeric_column(tmp_path):
    path = _write_parquet(
        tmp_path / "d.parquet", {"length": [5.1, 4.9], "species": ["setosa", "setosa"]}
    )
    with pytest.raises(
        DataError,
        match=_label(path) + re.escape(": column 'species' is not numeric (Parquet type string)"),
    ):
        read_table(path)
    assert read_table(path, columns=["length"]).columns == ("length",)


def test_parquet_no_data_rows(tmp_path):
    pa = pytest.importorskip("pyarrow")
    path = _write_parquet(tmp_path / "d.parquet", {"a": pa.array([], pa.float64())})
    with pytest.raises(DataError, match=_label(path) + " holds no data rows"):
        read_table(path)


def test_parquet_unknown_column(tmp_path):
    path = _write_parquet(tmp_path / "d.parquet", {"a": [1.0], "b": [2.0]})
    with pytest.raises(DataError, match="has no column 'c'; available columns: 'a', 'b'"):
        read_table(path, columns=["c"])


def test_not_a_parquet_file(tmp_path):
    pytest.importorskip("pyarrow")
    path = _write(tmp_path / "d.parquet", "a,b\n1,2\n")
    with pytest.raises(DataError, match=_label(path) + " is not a readable Parquet file"):
        read_table(path)


def test_parquet_without_pyarrow(tmp_path, monkeypatch):
    path = tmp_path / "d.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(
        DataError,
        match=re.escape("reading Parquet files needs pyarrow: pip install 'emkit[parquet]'"),
    ):
        read_table(path)


# --------------------------------------------------------------------------- #
# NumPy .npy
# --------------------------------------------------------------------------- #


def _save(path, array, allow_pickle=False):
    np.save(path, array, allow_pickle=allow_pickle)
    return path


def test_npy_float32_stays_float32(tmp_path):
    array = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    table = read_table(_save(tmp_path / "d.npy", array))
    assert table.values.dtype == np.float32
    assert table.columns == ("x0", "x1", "x2")
    np.testing.assert_array_equal(table.values, array)


@pytest.mark.parametrize(
    ("array", "dtype"),
    [
        (np.arange(6.0).reshape(3, 2), np.float64),
        (np.arange(6, dtype=np.int64).reshape(3, 2), np.float64),
        (np.array([[True, False], [False, True]]), np.float64),
        (np.arange(4, dtype=np.uint16).reshape(2, 2), np.float64),
        (np.ones((2, 2), dtype=np.float16), np.float32),
        (np.arange(4.0).reshape(2, 2).astype(">f8"), np.float64),
        (np.asfortranarray(np.arange(6.0).reshape(3, 2)), np.float64),
    ],
    ids=["float64", "int64", "bool", "uint16", "float16", "big-endian", "fortran"],
)
def test_npy_dtypes(tmp_path, array, dtype):
    table = read_table(_save(tmp_path / "d.npy", array))
    assert table.values.dtype == dtype
    assert table.values.dtype.isnative
    assert table.values.flags.c_contiguous
    np.testing.assert_array_equal(table.values, array.astype(dtype))


def test_npy_one_dimensional(tmp_path):
    table = read_table(_save(tmp_path / "d.npy", np.array([1.0, 2.0, 3.0])))
    assert table.columns == ("x0",)
    assert table.values.shape == (3, 1)


def test_npy_column_selection(tmp_path):
    array = np.arange(12.0).reshape(4, 3)
    table = read_table(_save(tmp_path / "d.npy", array), columns=["x2", "x0"])
    assert table.columns == ("x2", "x0")
    np.testing.assert_array_equal(table.values, array[:, [2, 0]])
    with pytest.raises(DataError, match="has no column 'x3'; available columns: 'x0', 'x1', 'x2'"):
        read_table(tmp_path / "d.npy", columns=["x3"])


def test_npy_object_array_refused(tmp_path):
    path = _save(tmp_path / "d.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
    with pytest.raises(
        DataError,
        match=_label(path) + " holds Python objects; emkit reads numeric arrays only",
    ):
        read_table(path)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([1 + 2j, 3j]), "holds complex numbers"),
        (np.array(["a", "b"]), "holds values of type <U1; emkit reads numeric arrays only"),
        (np.zeros((2, 2, 2)), r"holds a 3-D array of shape \(2, 2, 2\)"),
        (np.array(1.0), r"holds a 0-D array of shape \(\)"),
        (np.empty((0, 3)), "holds no data rows"),
        (np.empty((3, 0)), "holds no columns"),
    ],
    ids=["complex", "text", "3-D", "0-D", "no-rows", "no-columns"],
)
def test_npy_refused_arrays(tmp_path, array, message):
    path = _save(tmp_path / "d.npy", array)
    with pytest.raises(DataError, match=_label(path) + " " + message):
        read_table(path)


def test_npy_missing_and_infinite_values(tmp_path):
    array = np.array([[1.0, 2.0], [3.0, np.nan], [5.0, np.nan]], dtype=np.float32)
    path = _save(tmp_path / "d.npy", array)
    with pytest.raises(
        DataError,
        match=_label(path) + re.escape(": column 'x1' has 2 missing values (first in row 2)"),
    ):
        read_table(path)
    table = read_table(path, allow_missing=True)
    assert table.values.dtype == np.float32
    assert np.isnan(table.values).sum() == 2

    array[0, 0] = np.inf
    _save(path, array)
    with pytest.raises(DataError, match="column 'x0' holds an infinite value in row 1"):
        read_table(path, allow_missing=True)


def test_not_an_npy_file(tmp_path):
    path = _write(tmp_path / "d.npy", "a,b\n1,2\n")
    with pytest.raises(DataError, match=_label(path) + " is not a NumPy .npy file"):
        read_table(path)


def test_truncated_npy_file(tmp_path):
    path = _save(tmp_path / "d.npy", np.arange(100.0))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=_label(path) + " is truncated or corrupt"):
        read_table(path)


# --------------------------------------------------------------------------- #
# write_table
# --------------------------------------------------------------------------- #


def test_write_table_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(3)
    values = np.column_stack([rng.normal(size=20), rng.integers(0, 4, size=20), rng.random(20)])
    path = tmp_path / "out.csv"
    write_table(path, values, ["score", "label", "p"])
    table = read_table(path)
    assert table.columns == ("score", "label", "p")
    np.testing.assert_array_equal(table.values, values)


def test_write_table_formats(tmp_path):
    path = tmp_path / "out.csv"
    values = np.array([[0.1, 2.0, 1.0], [1 / 3, -1.0, np.nan]])
    write_table(path, values, ["a", "b, c", "d"])
    assert path.read_text(encoding="utf-8") == (
        'a,"b, c",d\n0.1,2,1.0\n0.3333333333333333,-1,nan\n'
    )
    table = read_table(path, allow_missing=True)
    assert table.columns == ("a", "b, c", "d")
    np.testing.assert_array_equal(table.values, values)


def test_write_table_integer_and_bool_columns(tmp_path):
    path = tmp_path / "out.csv"
    write_table(path, np.array([3, 1, 2]), ["label"])
    assert path.read_text(encoding="utf-8") == "label\n3\n1\n2\n"
    write_table(path, np.array([[True], [False]]), ["flag"])
    assert path.read_text(encoding="utf-8") == "flag\n1\n0\n"


def test_write_table_float32_is_exact(tmp_path):
    values = np.array([[0.1], [2.5]], dtype=np.float32)
    path = tmp_path / "out.csv"
    write_table(path, values, ["x"])
    np.testing.assert_array_equal(read_table(path).values, values.astype(np.float64))


def test_write_table_errors(tmp_path):
    path = tmp_path / "out.csv"
    with pytest.raises(ValueError, match="got 1 column names for 2 columns"):
        write_table(path, np.zeros((2, 2)), ["a"])
    with pytest.raises(ValueError, match="column name 'a' is used more than once"):
        write_table(path, np.zeros((2, 2)), ["a", "a"])
    with pytest.raises(TypeError, match="not complex128"):
        write_table(path, np.zeros((2, 1), dtype=complex), ["a"])
    with pytest.raises(TypeError, match="not a single string"):
        write_table(path, np.zeros(2), "a")
    with pytest.raises(ValueError, match="1-D or 2-D"):
        write_table(path, np.zeros((2, 2, 2)), ["a", "b"])
    assert not path.exists()


# --------------------------------------------------------------------------- #
# Reading in blocks
# --------------------------------------------------------------------------- #

# Values per block, small enough that the files below take many blocks.
_SMALL_BLOCK = 7


@pytest.fixture
def small_blocks(monkeypatch):
    import emkit.io.readers as readers

    monkeypatch.setattr(readers, "_BLOCK_FIELDS", _SMALL_BLOCK)


def _values(n=101, d=3, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)) * 10.0 ** np.arange(d)


def test_text_read_in_blocks_is_exact(tmp_path, small_blocks):
    values = _values()
    lines = ["a,b,c", ""] + [",".join(map(repr, row)) for row in values.tolist()]
    path = _write(tmp_path / "d.csv", "\r\n".join(lines) + "\r\n")
    table = read_table(path)
    assert table.values.shape == values.shape
    assert table.values.flags.c_contiguous and table.values.flags.owndata
    np.testing.assert_array_equal(table.values, values)
    selected = read_table(path, columns=["c", "a"])
    np.testing.assert_array_equal(selected.values, values[:, [2, 0]])


def test_text_errors_in_later_blocks_name_their_line(tmp_path, small_blocks):
    rows = [[f"{i}", f"{2 * i}"] for i in range(40)]
    rows[30][1] = "NA"
    rows[33][1] = ""
    rows[35][0] = "NA"
    path = _write(tmp_path / "d.csv", "a,b\n" + "".join(",".join(r) + "\n" for r in rows))
    # The first column holding a missing value, its first line, and its count over every block.
    with pytest.raises(
        DataError, match=re.escape("column 'a' has 1 missing value (first on line 37)")
    ):
        read_table(path)
    with pytest.raises(
        DataError, match=re.escape("column 'b' has 2 missing values (first on line 32)")
    ):
        read_table(path, columns=["b"])
    table = read_table(path, allow_missing=True)
    assert np.isnan(table.values).sum() == 3
    rows[38][0] = "inf"
    path = _write(tmp_path / "e.csv", "a,b\n" + "".join(",".join(r) + "\n" for r in rows))
    with pytest.raises(DataError, match="column 'a' holds an infinite value on line 40"):
        read_table(path)
    rows[39][1] = "x"
    path = _write(tmp_path / "f.csv", "a,b\n" + "".join(",".join(r) + "\n" for r in rows))
    with pytest.raises(DataError, match="column 'b' is not numeric: value 'x' on line 41"):
        read_table(path)


def test_text_with_quoted_line_breaks_and_lone_carriage_returns(tmp_path, small_blocks):
    text = '"first\nname",b\n' + "".join(f"{i},{i + 0.5}\n" for i in range(20))
    table = read_table(_write(tmp_path / "q.csv", text))
    assert table.columns == ("first\nname", "b")
    assert table.values.shape == (20, 2)
    old_mac = "a,b\r" + "".join(f"{i},{i}\r" for i in range(20))
    np.testing.assert_array_equal(
        read_table(_write(tmp_path / "r.csv", old_mac)).values,
        np.repeat(np.arange(20.0), 2).reshape(20, 2),
    )


def test_whitespace_separated_text_in_blocks(tmp_path, small_blocks):
    values = _values(n=50, d=2)
    path = tmp_path / "d.txt"
    np.savetxt(path, values)
    np.testing.assert_array_equal(read_table(path).values, values)


def test_parquet_read_in_batches(tmp_path, small_blocks):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    values = _values(n=60)
    b = values[:, 1].tolist()
    b[47] = None
    table = pa.table({"a": values[:, 0], "b": pa.array(b, pa.float64()), "c": values[:, 2]})
    path = tmp_path / "d.parquet"
    pq.write_table(table, path, row_group_size=25)
    got = read_table(path, allow_missing=True).values
    np.testing.assert_array_equal(
        np.isnan(got), np.isnan(np.array(b, dtype=float))[:, None] & [False, True, False]
    )
    np.testing.assert_array_equal(got[:, [0, 2]], values[:, [0, 2]])
    with pytest.raises(
        DataError, match=re.escape("column 'b' has 1 missing value (first in row 48)")
    ):
        read_table(path)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16])
def test_npy_read_in_blocks_through_a_map(tmp_path, small_blocks, order, dtype):
    values = np.asarray(_values(n=45) * 100, dtype=dtype, order=order)
    path = tmp_path / "d.npy"
    np.save(path, values)
    table = read_table(path)
    assert table.values.dtype == (np.float32 if dtype == np.float32 else np.float64)
    assert table.values.flags.c_contiguous
    np.testing.assert_array_equal(table.values, values)
    np.testing.assert_array_equal(read_table(path, columns=["x2", "x0"]).values, values[:, [2, 0]])
    assert table.unnamed == ("x0", "x1", "x2")


def test_npy_errors_in_later_blocks_name_their_row(tmp_path, small_blocks):
    values = _values(n=30)
    values[25, 1] = np.nan
    values[20, 2] = np.inf
    path = tmp_path / "d.npy"
    np.save(path, values)
    with pytest.raises(DataError, match="column 'x2' holds an infinite value in row 21"):
        read_table(path)
    with pytest.raises(
        DataError, match=re.escape("column 'x1' has 1 missing value (first in row 26)")
    ):
        read_table(path, columns=["x1"])


# --------------------------------------------------------------------------- #
# Delimiters and unnamed columns
# --------------------------------------------------------------------------- #


def test_delimiter_option(tmp_path):
    path = _write(tmp_path / "d.csv", "a;b\n1.5;2\n3;4\n")
    table = read_table(path, delimiter=";")
    assert table.columns == ("a", "b")
    np.testing.assert_array_equal(table.values, [[1.5, 2], [3, 4]])
    # A decimal comma is no number: nothing is read differently from what it says.
    decimal_comma = _write(tmp_path / "e.csv", "a;b\n1,5;2\n")
    with pytest.raises(DataError, match="column 'a' is not numeric: value '1,5' on line 2"):
        read_table(decimal_comma, delimiter=";")


def test_delimiter_option_values(tmp_path):
    path = _write(tmp_path / "d.txt", "a|b\n1|2\n")
    np.testing.assert_array_equal(read_table(path, delimiter="|").values, [[1, 2]])
    for bad in ("", ";;", '"', "\n"):
        with pytest.raises(ValueError, match="delimiter must be one character"):
            read_table(path, delimiter=bad)
    npy = tmp_path / "d.npy"
    np.save(npy, np.ones((2, 2)))
    with pytest.raises(DataError, match="a delimiter applies to text files only"):
        read_table(npy, delimiter=";")


@pytest.mark.parametrize(
    ("text", "hint", "words"),
    [
        (
            "a;b\n1;2\n",
            ";",
            "its first line holds ';' but no comma: its fields may be separated by semicolons",
        ),
        ("a;b\n1,5;2\n", ";", "its first line holds ';' but no comma"),
        (
            "a\tb\n1\t2\n",
            "\t",
            "its first line holds '\\t' but no comma: its fields may be separated by tabs",
        ),
    ],
)
def test_other_delimiter_is_hinted(tmp_path, text, hint, words):
    path = _write(tmp_path / "d.csv", text)
    with pytest.raises(DataError, match=re.escape(words)) as info:
        read_table(path)
    assert info.value.delimiter == hint


def test_one_column_without_other_delimiters_has_no_hint(tmp_path):
    path = _write(tmp_path / "d.csv", "a\n1\nx\n")
    with pytest.raises(DataError) as info:
        read_table(path)
    assert info.value.delimiter is None
    assert "separated" not in str(info.value)


def test_unnamed_columns(tmp_path):
    assert read_table(_write(tmp_path / "a.csv", ",a,\n0,1,2\n")).unnamed == ("x0", "x2")
    assert read_table(_write(tmp_path / "b.csv", "p,q\n0,1\n")).unnamed == ()
    assert read_table(_write(tmp_path / "c.csv", "0,1\n2,3\n")).unnamed == ("x0", "x1")


def test_undecodable_byte_offset(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 3000 + b"3,\xff\n")
    with pytest.raises(
        DataError, match=re.escape(f"undecodable byte at offset {4 + 4 * 3000 + 2}")
    ):
        read_table(path)
