"""Tests for the emkit model file container (emkit.io.model_file)."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import signal
import stat
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile
from collections import Counter

import numpy as np
import pytest
from numpy.lib import format as npy_format

import emkit
from emkit.io import model_file
from emkit.io.model_file import (
    FORMAT_NAME,
    FORMAT_VERSION,
    ModelFile,
    ModelFileError,
    check_writable,
    read_model_file,
    write_model_file,
)
from model_file_support import (
    deflated,
    deflated_zeros,
    entries_of,
    npy_bytes,
    same_estimator,
    write_raw_model_file,
    write_zip,
    zip_bytes,
)

ARRAYS = {
    "means": np.arange(6, dtype=np.float64).reshape(2, 3) / 7.0,
    "weights32": np.array([0.25, 0.75], dtype=np.float32),
    "counts": np.arange(9, dtype=np.int64).reshape(3, 3) - 4,
    "scalar": np.array(2.5),
    "empty": np.empty((0, 3)),
    "flags": np.array([True, False, True]),
    "covariances": np.asfortranarray(np.random.default_rng(0).normal(size=(2, 3, 3))),
    "big_endian": np.array([1.5, -2.0], dtype=">f8"),
    "bytes": np.array([0, 7, 255], dtype=np.uint8),
    "half": np.array([0.5, -1.0], dtype=np.float16),
}


def _rewrite_manifest(path, change):
    """Rewrite the model file at `path` with `change` applied to its manifest."""
    entries = entries_of(path)
    manifest = json.loads(entries["manifest.json"])
    change(manifest)
    entries["manifest.json"] = json.dumps(manifest).encode()
    write_zip(path, entries)


@pytest.fixture
def saved(tmp_path):
    return write_model_file(
        tmp_path / "model.emkit", "gaussian-mixture", {"n_components": 2}, ARRAYS
    )


# --------------------------------------------------------------------------- #
# Round trips
# --------------------------------------------------------------------------- #


def test_round_trip_keeps_dtypes_shapes_and_values(saved):
    loaded = read_model_file(saved)
    assert isinstance(loaded, ModelFile)
    assert loaded.kind == "gaussian-mixture"
    assert loaded.format_version == FORMAT_VERSION
    assert isinstance(loaded.emkit_version, str) and loaded.emkit_version
    assert set(loaded.arrays) == set(ARRAYS)
    for name, expected in ARRAYS.items():
        got = loaded.arrays[name]
        assert got.dtype == expected.dtype, name
        assert got.shape == expected.shape, name
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "array",
    [
        np.float32(1.25) * np.ones((4, 2), dtype=np.float32),
        np.linspace(0, 1, 5),
        np.array([-(2**62), 0, 2**62], dtype=np.int64),
        np.array(-3.5),
        np.empty((0, 3)),
        np.array([np.nan, np.inf, -np.inf]),
    ],
    ids=["float32", "float64", "int64", "0-d", "empty-0x3", "non-finite"],
)
def test_round_trip_single_array(tmp_path, array):
    # Non-finite values are stored, and read by callers that allow them.
    path = write_model_file(tmp_path / "m.emkit", "k", {}, {"a": array})
    got = read_model_file(path, allow_nonfinite={"a"}).arrays["a"]
    assert got.dtype == array.dtype
    assert got.shape == array.shape
    np.testing.assert_array_equal(got, array)


def test_model_without_arrays(tmp_path):
    path = write_model_file(tmp_path / "m.emkit", "k", {"x": 1}, {})
    loaded = read_model_file(path)
    assert loaded.arrays == {}
    assert loaded.metadata == {"x": 1}


def test_metadata_round_trip(tmp_path):
    metadata = {
        "n_components": 3,
        "tol": 1e-3,
        "converged": True,
        "random_state": None,
        "covariance_type": "full",
        "log_likelihood_history": [-10.5, -9.25, -9.125],
        "nested": {"name": "Gaußian ✓", "levels": [[1, 2], [3]]},
        "shape": (2, 3),
    }
    path = write_model_file(tmp_path / "m.emkit", "k", metadata, {})
    loaded = read_model_file(path).metadata
    assert loaded == {**metadata, "shape": [2, 3]}  # tuples come back as lists


def test_manifest_layout(saved):
    with zipfile.ZipFile(saved) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
    assert names[0] == "manifest.json"
    assert sorted(names[1:]) == sorted(f"arrays/{name}.npy" for name in ARRAYS)
    assert manifest["format"] == FORMAT_NAME == "emkit-model"
    assert manifest["format_version"] == FORMAT_VERSION == 1
    assert manifest["kind"] == "gaussian-mixture"
    assert manifest["metadata"] == {"n_components": 2}
    assert manifest["arrays"]["means"] == {
        "file": "arrays/means.npy",
        "dtype": "<f8",
        "shape": [2, 3],
    }
    assert manifest["arrays"]["scalar"]["shape"] == []


def test_write_returns_resolved_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_model_file("relative.emkit", "k", {}, {})
    assert path == (tmp_path / "relative.emkit").resolve()
    assert path.is_absolute()
    assert read_model_file("relative.emkit").kind == "k"


def test_same_model_gives_identical_bytes(tmp_path):
    first = write_model_file(tmp_path / "a.emkit", "k", {"x": [1, 2]}, ARRAYS)
    second = write_model_file(tmp_path / "b.emkit", "k", {"x": [1, 2]}, ARRAYS)
    assert first.read_bytes() == second.read_bytes()


def test_overwrites_existing_file(tmp_path):
    path = tmp_path / "m.emkit"
    write_model_file(path, "old", {}, {"a": np.zeros(2)})
    write_model_file(path, "new", {}, {"b": np.ones(3)})
    loaded = read_model_file(path)
    assert loaded.kind == "new"
    assert list(loaded.arrays) == ["b"]
    assert os.listdir(tmp_path) == ["m.emkit"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_written_file_gets_default_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = write_model_file(tmp_path / "m.emkit", "k", {}, {})
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


# --------------------------------------------------------------------------- #
# Atomic writing
# --------------------------------------------------------------------------- #


def test_failed_replace_leaves_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "m.emkit"
    write_model_file(path, "old", {"version": 1}, {"a": np.zeros(3)})
    before = path.read_bytes()

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_model_file(path, "new", {"version": 2}, {"a": np.ones(3)})

    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.emkit"]
    monkeypatch.undo()
    assert read_model_file(path).metadata == {"version": 1}


def test_failure_while_writing_arrays_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.emkit"
    write_model_file(path, "old", {}, {"a": np.zeros(3)})
    before = path.read_bytes()

    real_write_array = npy_format.write_array
    calls = []

    def write_array_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("interrupted mid-write")
        return real_write_array(*args, **kwargs)

    monkeypatch.setattr(npy_format, "write_array", write_array_then_fail)
    with pytest.raises(RuntimeError, match="interrupted mid-write"):
        write_model_file(path, "new", {}, {"a": np.ones(3), "b": np.ones(4), "c": np.ones(5)})

    assert len(calls) == 2
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.emkit"]


def test_failed_first_write_creates_nothing(tmp_path, monkeypatch):
    def failing_replace(src, dst):
        raise OSError("no space")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="no space"):
        write_model_file(tmp_path / "m.emkit", "k", {}, {"a": np.ones(2)})
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- #
# Refused input (nothing is written)
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "arrays",
    [
        {"a": np.array([1, "x", None], dtype=object)},
        {"a": np.zeros(2, dtype=[("f", object)])},
    ],
    ids=["object", "structured-with-object"],
)
def test_object_arrays_refused(tmp_path, arrays):
    with pytest.raises(TypeError, match="array 'a' holds Python objects"):
        write_model_file(tmp_path / "m.emkit", "k", {}, arrays)
    assert os.listdir(tmp_path) == []


def test_structured_arrays_refused(tmp_path):
    with pytest.raises(TypeError, match="array 'rec' holds dtype"):
        write_model_file(tmp_path / "m.emkit", "k", {}, {"rec": np.zeros(2, dtype="f8,i4")})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["", "a-b", "a.b", "../evil", "arrays/x", "with space", 3])
def test_bad_array_names_refused(tmp_path, name):
    with pytest.raises(ValueError, match="array names must be non-empty"):
        write_model_file(tmp_path / "m.emkit", "k", {}, {name: np.zeros(2)})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("metadata", "error", "message"),
    [
        ({"a": {1, 2}}, TypeError, r"metadata\['a'\] is of type set"),
        ({"a": [np.int64(3)]}, TypeError, r"metadata\['a'\]\[0\] is of type int64"),
        ({"a": np.zeros(2)}, TypeError, "is of type ndarray"),
        ({1: "x"}, TypeError, "metadata keys must be strings"),
        ({"a": {"b": float("nan")}}, ValueError, "no NaN or infinity"),
        ({"a": float("inf")}, ValueError, "no NaN or infinity"),
        (["not", "a", "dict"], TypeError, "metadata must be a dict"),
    ],
)
def test_non_json_metadata_refused(tmp_path, metadata, error, message):
    with pytest.raises(error, match=message):
        write_model_file(tmp_path / "m.emkit", "k", metadata, {})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("kind", "error"), [("", ValueError), (None, TypeError)])
def test_bad_kind_refused(tmp_path, kind, error):
    with pytest.raises(error, match="kind must be"):
        write_model_file(tmp_path / "m.emkit", kind, {}, {})
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- #
# Unreadable, corrupt and foreign files
# --------------------------------------------------------------------------- #


def _label(path):
    return re.escape(repr(str(path)))


def test_missing_file(tmp_path):
    path = tmp_path / "nope.emkit"
    with pytest.raises(FileNotFoundError, match=_label(path)):
        read_model_file(path)


def test_directory(tmp_path):
    with pytest.raises(ModelFileError, match="is a directory"):
        read_model_file(tmp_path)


def test_truncated_file(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=_label(saved) + " is truncated or corrupt"):
        read_model_file(saved)


def test_flipped_byte_in_array_entry(tmp_path):
    rng = np.random.default_rng(1)
    path = write_model_file(tmp_path / "m.emkit", "k", {}, {"means": rng.normal(size=4000)})
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("arrays/means.npy")
    data = bytearray(path.read_bytes())
    # Local file header: 30 fixed bytes, then the file name and extra field.
    name_length = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_length = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_length + extra_length
    data[start + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    with pytest.raises(
        ModelFileError,
        match=_label(path) + r" is truncated or corrupt \(.*'arrays/means\.npy'",
    ):
        read_model_file(path)


def test_random_bytes_are_not_a_model_file(tmp_path):
    path = tmp_path / "m.emkit"
    path.write_bytes(np.random.default_rng(2).bytes(1000))
    with pytest.raises(
        ModelFileError, match=_label(path) + r" is not an emkit model file \(not a zip archive\)"
    ):
        read_model_file(path)


def test_empty_file(tmp_path):
    path = tmp_path / "m.emkit"
    path.write_bytes(b"")
    with pytest.raises(ModelFileError, match="not a zip archive"):
        read_model_file(path)


def test_zip_without_manifest(tmp_path):
    path = tmp_path / "m.emkit"
    write_zip(path, {"readme.txt": b"hello"})
    with pytest.raises(ModelFileError, match=r"not an emkit model file .*no manifest\.json"):
        read_model_file(path)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (b"{not json", "manifest.json is not valid JSON"),
        (b"\xff\xfe", "manifest.json is not valid JSON"),
        (b"[1, 2]", "manifest.json is not a JSON object"),
    ],
)
def test_unparsable_manifest(tmp_path, manifest, message):
    path = tmp_path / "m.emkit"
    write_zip(path, {"manifest.json": manifest})
    with pytest.raises(ModelFileError, match=message):
        read_model_file(path)


def test_foreign_format_name(saved):
    _rewrite_manifest(saved, lambda m: m.update(format="other-tool"))
    with pytest.raises(
        ModelFileError,
        match=_label(saved) + r" is not an emkit model file .*'other-tool'",
    ):
        read_model_file(saved)


def test_newer_format_version(saved):
    _rewrite_manifest(saved, lambda m: m.update(format_version=3))
    with pytest.raises(
        ModelFileError,
        match=_label(saved)
        + re.escape(
            " was written by a newer emkit (format version 3; this emkit reads up to 1);"
            " upgrade emkit"
        ),
    ):
        read_model_file(saved)


@pytest.mark.parametrize("version", ["1", 0, True, None, 1.0])
def test_invalid_format_version(saved, version):
    _rewrite_manifest(saved, lambda m: m.update(format_version=version))
    with pytest.raises(ModelFileError, match="invalid format version"):
        read_model_file(saved)


def test_expected_kind(saved):
    assert read_model_file(saved, expected_kind="gaussian-mixture").kind == "gaussian-mixture"
    with pytest.raises(
        ModelFileError,
        match=_label(saved) + " holds a 'gaussian-mixture' model, expected 'hidden-markov'",
    ):
        read_model_file(saved, expected_kind="hidden-markov")


def test_array_listed_but_missing(saved):
    entries = entries_of(saved)
    del entries["arrays/means.npy"]
    write_zip(saved, entries)
    with pytest.raises(ModelFileError, match=r"array 'means' is listed .* is missing"):
        read_model_file(saved)


@pytest.mark.parametrize(
    ("field", "value"),
    [("dtype", "<f4"), ("shape", [3, 2])],
)
def test_array_not_matching_manifest(saved, field, value):
    _rewrite_manifest(saved, lambda m: m["arrays"]["means"].update({field: value}))
    with pytest.raises(ModelFileError, match=r"is corrupt \(array 'means' has dtype"):
        read_model_file(saved)


def test_malformed_array_entry(saved):
    _rewrite_manifest(saved, lambda m: m["arrays"].update(means={"file": 3}))
    with pytest.raises(ModelFileError, match="manifest entry for array 'means' is malformed"):
        read_model_file(saved)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("kind", None, "no model kind"),
        ("metadata", [1], "metadata is not a JSON object"),
        ("arrays", None, "no array list"),
    ],
)
def test_malformed_manifest_fields(saved, key, value, message):
    _rewrite_manifest(saved, lambda m: m.update({key: value}))
    with pytest.raises(ModelFileError, match=message):
        read_model_file(saved)


def test_array_entry_that_is_not_npy(saved):
    entries = entries_of(saved)
    entries["arrays/means.npy"] = b"definitely not an npy file " * 4
    write_zip(saved, entries)
    with pytest.raises(ModelFileError, match=r"'arrays/means\.npy' is not a valid \.npy array"):
        read_model_file(saved)


def test_pickled_array_entry_is_never_unpickled(saved):
    buffer = io.BytesIO()
    npy_format.write_array(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    entries = entries_of(saved)
    entries["arrays/means.npy"] = buffer.getvalue()
    write_zip(saved, entries)
    with pytest.raises(ModelFileError, match=r"'arrays/means\.npy' is not a valid \.npy array"):
        read_model_file(saved)


def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)
    assert model_file.FORMAT_NAME == "emkit-model"


# --------------------------------------------------------------------------- #
# Dtypes and values a model file does not hold
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "array",
    [
        np.array([1 + 2j, 3j]),
        np.array(["a", "bc"]),
        np.array([b"ab"]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
        np.array([1], dtype="timedelta64[s]"),
    ],
    ids=["complex", "text", "bytes", "datetime", "timedelta"],
)
def test_writing_refuses_dtypes_other_than_bool_integer_and_real(tmp_path, array):
    with pytest.raises(TypeError, match="bool, integer and real floating-point arrays only"):
        write_model_file(tmp_path / "m.emkit", "k", {}, {"a": array})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
def test_writing_refuses_integers_beyond_64_bits(tmp_path, value):
    with pytest.raises(ValueError, match=r"metadata\['n'\]\[0\] is"):
        write_model_file(tmp_path / "m.emkit", "k", {"n": [value]}, {})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "array",
    [
        np.array([1 + 2j, 3j]),
        np.array(["a", "bc"]),
        np.zeros(2, dtype="f8,i4"),
        np.array([None, 1], dtype=object),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
    ],
    ids=["complex", "text", "structured", "object", "datetime"],
)
def test_reading_refuses_dtypes_other_than_bool_integer_and_real(tmp_path, array):
    path = write_raw_model_file(tmp_path / "m.emkit", "k", {}, {"a": array})
    with pytest.raises(
        ModelFileError,
        match=_label(path) + r" is corrupt \(the manifest declares array 'a' of dtype .*"
        "bool, integer and real floating-point arrays only",
    ):
        read_model_file(path)


@pytest.mark.parametrize(
    "array",
    [np.array([1 + 2j, 3j]), np.zeros(2, dtype="f8,f8"), np.array([None, 1], dtype=object)],
    ids=["complex", "structured", "object"],
)
def test_reading_refuses_an_npy_entry_of_another_dtype_than_the_manifest_says(tmp_path, array):
    path = write_raw_model_file(tmp_path / "m.emkit", "k", {}, {"a": np.zeros(2)})
    entries = entries_of(path)
    entries["arrays/a.npy"] = npy_bytes(array)
    write_zip(path, entries)
    with pytest.raises(
        ModelFileError,
        match=_label(path) + r" is corrupt \('arrays/a\.npy' is not a valid \.npy array for a "
        "model file: it holds dtype",
    ):
        read_model_file(path)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("order", ["C", "F"])
def test_reading_refuses_non_finite_values_unless_allowed(tmp_path, value, order):
    array = np.array([[0.5, 1.0], [value, 2.0]], order=order)
    path = write_model_file(tmp_path / "m.emkit", "k", {}, {"a": np.ones(2), "b": array})
    with pytest.raises(
        ModelFileError,
        match=_label(path) + r" holds an inconsistent k: array 'b' holds NaN or infinite",
    ):
        read_model_file(path)
    with pytest.raises(ModelFileError, match="array 'b' holds NaN"):
        read_model_file(path, allow_nonfinite={"a"})
    got = read_model_file(path, allow_nonfinite={"b"}).arrays["b"]
    np.testing.assert_array_equal(got, array)


def test_non_finite_values_are_found_in_every_block(tmp_path, monkeypatch):
    monkeypatch.setattr(model_file, "_BLOCK", 64)  # eight float64 per block
    array = np.zeros(100)
    array[-1] = np.nan
    path = write_model_file(tmp_path / "m.emkit", "k", {}, {"a": array})
    with pytest.raises(ModelFileError, match="array 'a' holds NaN"):
        read_model_file(path)


def test_reading_refuses_booleans_other_than_0_and_1(tmp_path):
    path = write_raw_model_file(tmp_path / "m.emkit", "k", {}, {"flags": np.zeros(3, bool)})
    entries = entries_of(path)
    data = bytearray(entries["arrays/flags.npy"])
    data[-2] = 2
    entries["arrays/flags.npy"] = bytes(data)
    write_zip(path, entries)
    with pytest.raises(ModelFileError, match="the booleans of array 'flags' are not 0 or 1"):
        read_model_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"n": NaN}', "NaN is not valid JSON"),
        ('{"n": -Infinity}', "-Infinity is not valid JSON"),
        ('{"n": 1e400}', "the number 1e400 is out of range"),
        ('{"n": 9223372036854775808}', "does not fit in 64 bits"),
        ('{"n": ' + "[" * 100_000 + "]" * 100_000 + "}", "maximum recursion depth"),
    ],
    ids=["nan", "infinity", "overflowing-float", "big-int", "deep-nesting"],
)
def test_manifest_numbers_and_nesting_json_cannot_hold(saved, text, message):
    entries = entries_of(saved)
    manifest = json.loads(entries["manifest.json"])
    entries["manifest.json"] = (
        json.dumps(manifest)[:-1].encode() + b', "extra": ' + text.encode() + b"}"
    )
    write_zip(saved, entries)
    with pytest.raises(
        ModelFileError,
        match=_label(saved) + r" is not an emkit model file \(manifest\.json "
        "is not valid JSON: .*" + re.escape(message),
    ):
        read_model_file(saved)


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m["arrays"].update({"../x": m["arrays"]["means"]}),
        lambda m: m["arrays"]["means"].update(file="arrays/counts.npy"),
        lambda m: m["arrays"]["means"].update(file="manifest.json"),
    ],
    ids=["bad-name", "other-array-file", "manifest-file"],
)
def test_manifest_array_entries_name_their_own_file(saved, change):
    _rewrite_manifest(saved, change)
    with pytest.raises(ModelFileError, match=r"the manifest entry for array '.*' is malformed"):
        read_model_file(saved)


@pytest.mark.parametrize("dtype", ["float64", "|f8", "a8", "<i3", "<c16", "|O"])
def test_manifest_dtypes_are_spelled_as_the_writer_spells_them(saved, dtype):
    _rewrite_manifest(saved, lambda m: m["arrays"]["means"].update(dtype=dtype))
    with pytest.raises(
        ModelFileError,
        match=_label(saved)
        + re.escape(f" is corrupt (the manifest declares array 'means' of dtype {dtype!r};"),
    ):
        read_model_file(saved)


def test_array_entry_of_another_size_than_the_manifest_says(saved):
    entries = entries_of(saved)
    entries["arrays/means.npy"] = npy_bytes(np.zeros(7000))
    write_zip(saved, entries)
    with pytest.raises(
        ModelFileError,
        match=r"the manifest declares 48 bytes of data for array 'means', but "
        r"'arrays/means\.npy' declares \d+ bytes",
    ):
        read_model_file(saved)


def test_stored_entries_are_read_like_deflated_ones(saved):
    # A model file re-zipped without compression by another tool.
    write_zip(saved, entries_of(saved), compression=zipfile.ZIP_STORED)
    loaded = read_model_file(saved)
    for name, expected in ARRAYS.items():
        assert loaded.arrays[name].dtype == expected.dtype
        np.testing.assert_array_equal(loaded.arrays[name], expected)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX named pipes")
def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    path = tmp_path / "m.emkit"
    os.mkfifo(path)
    with pytest.raises(ModelFileError, match=_label(path) + " is not a regular file"):
        read_model_file(path)


# --------------------------------------------------------------------------- #
# Damaged files: every failure is a ModelFileError
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 2))
    X[30:] += 4
    estimator = emkit.GaussianMixture(2, random_state=0, max_iter=5).fit(X)
    return estimator.save(tmp_path_factory.mktemp("model") / "gm.emkit")


def _layout(data: bytes) -> tuple[list[int], list[int], int]:
    """Offsets of the bytes of the zip structure (local headers, central directory, end
    record), offsets of the compressed data, and where the central directory starts."""
    assert data[-22:-18] == b"PK\x05\x06"  # an end record without comment
    (central,) = struct.unpack_from("<L", data, len(data) - 6)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    structure, payload = [], []
    for info in infos:
        name_length, extra_length = struct.unpack_from("<2H", data, info.header_offset + 26)
        start = info.header_offset + 30 + name_length + extra_length
        structure.extend(range(info.header_offset, start))
        payload.extend(range(start, start + info.compress_size))
    structure.extend(range(central, len(data)))
    return structure, payload, central


def _load_or_refuse(path, reference, what):
    """'loaded' if ``emkit.load`` gives a model equal to ``reference``, 'refused' if it
    raises ModelFileError naming the file; a test failure otherwise."""
    try:
        loaded = emkit.load(path)
    except ModelFileError as exc:
        assert repr(str(path)) in str(exc), (what, str(exc))
        return "refused"
    except Exception as exc:  # the failure the test exists for: report which damage
        pytest.fail(f"{what}: {type(exc).__name__}: {exc}")
    assert same_estimator(loaded, reference), what
    return "loaded"


def test_every_damaged_byte_loads_the_model_or_raises_model_file_error(model_path, tmp_path):
    data = model_path.read_bytes()
    reference = emkit.load(model_path)
    structure, payload, _ = _layout(data)
    damaged = tmp_path / "damaged.emkit"
    damaged.write_bytes(data)
    outcomes = Counter()
    # Every byte of the headers and the directory, a sample of the compressed data; all
    # bits flipped, and the lowest one alone (the encrypted flag, deflate64 for deflate,
    # one more for the version needed). The byte is patched in place: rewriting the
    # whole file each time would take most of the test's time.
    with open(damaged, "r+b") as fh:
        for position in structure + payload[::5]:
            for mask in (0xFF, 0x01):
                for value in (data[position] ^ mask, data[position]):
                    fh.seek(position)
                    fh.write(bytes([value]))
                    fh.flush()
                    if value != data[position]:
                        what = f"byte {position} ^ {mask:#x}"
                        outcomes[_load_or_refuse(damaged, reference, what)] += 1
    assert outcomes["refused"] > outcomes["loaded"] > 0


def test_bytes_inserted_or_removed_in_the_zip_directory(model_path, tmp_path):
    data = model_path.read_bytes()
    reference = emkit.load(model_path)
    _, _, central = _layout(data)
    outcomes = Counter()
    for position in [*range(0, central, 97), *range(central, len(data))]:
        for i, copy in enumerate([data[:position], data[:position] + b"\0" + data[position:]]):
            damaged = tmp_path / f"{position}-{i}.emkit"  # new files: faster than truncating
            damaged.write_bytes(copy)
            what = f"{'truncated' if i == 0 else 'byte inserted'} at {position}"
            outcomes[_load_or_refuse(damaged, reference, what)] += 1
    assert outcomes["refused"] > outcomes["loaded"] > 0


def _central_entry(data: bytes, name: str) -> int:
    _, _, offset = _layout(data)
    while data[offset : offset + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack_from("<3H", data, offset + 28)
        if data[offset + 46 : offset + 46 + name_length] == name.encode():
            return offset
        offset += 46 + name_length + extra_length + comment_length
    raise AssertionError(f"no entry {name}")


@pytest.mark.parametrize(
    ("offset", "fmt", "value", "message"),
    [
        (8, "<H", 0x1, r"'arrays/means_\.npy' is marked as encrypted"),
        (8, "<H", 0x20, r"'arrays/means_\.npy' uses a zip feature model files never use"),
        (8, "<H", 0x40, r"'arrays/means_\.npy' uses a zip feature model files never use"),
        (10, "<H", zipfile.ZIP_BZIP2, "uses the compression method 12; model files use deflate"),
        (10, "<H", zipfile.ZIP_LZMA, "uses the compression method 14; model files use deflate"),
        (10, "<H", 99, "uses the compression method 99"),
        (6, "<H", 0xFF, "zip directory .* damaged: zip file version 25.5"),
        (24, "<L", 0xFFFFFFF0, r"'arrays/means_\.npy' declares 4294967280 bytes, more than"),
        (20, "<L", 0xFFFFFFF0, r"'arrays/means_\.npy' declares 4294967280 compressed bytes"),
    ],
    ids=[
        "encrypted",
        "patched",
        "strong-encryption",
        "bzip2",
        "lzma",
        "unknown-method",
        "version-needed",
        "size",
        "compressed-size",
    ],
)
def test_zip_features_model_files_never_use(model_path, tmp_path, offset, fmt, value, message):
    data = bytearray(model_path.read_bytes())
    struct.pack_into(fmt, data, _central_entry(data, "arrays/means_.npy") + offset, value)
    path = tmp_path / "damaged.emkit"
    path.write_bytes(data)
    with pytest.raises(ModelFileError, match=_label(path) + ".*" + message):
        emkit.load(path)


def test_an_end_record_that_moves_the_entries_before_the_file_start(model_path, tmp_path):
    # The end record's offset of the central directory, larger than it is, makes zipfile
    # place the entries at negative offsets.
    data = bytearray(model_path.read_bytes())
    (central,) = struct.unpack_from("<L", data, len(data) - 6)
    struct.pack_into("<L", data, len(data) - 6, central + 1000)
    path = tmp_path / "damaged.emkit"
    path.write_bytes(data)
    with pytest.raises(
        ModelFileError,
        match=_label(path) + r" is truncated or corrupt \(cannot read 'manifest\.json'",
    ):
        emkit.load(path)


# --------------------------------------------------------------------------- #
# Hostile files: sizes are checked before anything is decompressed
# --------------------------------------------------------------------------- #

GIB = 1 << 30
MIB = 1 << 20


def _peak_memory(function):
    """Peak of the memory Python and numpy allocate while ``function`` runs, in bytes,
    and the ModelFileError it raises (None if it returns)."""
    tracemalloc.start()
    error = None
    try:
        function()
    except ModelFileError as exc:
        error = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, error


def _npy_header(shape, dtype="<f8"):
    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(
        buffer, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def _manifest_entry(shape):
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kind": "k",
        "metadata": {},
        "arrays": {"means": {"file": "arrays/means.npy", "dtype": "<f8", "shape": shape}},
    }
    return ("manifest.json", *deflated(json.dumps(manifest).encode()))


@pytest.fixture(scope="module")
def gib_of_zeros():
    """The .npy entry of 2**27 float64 zeros (1 GiB) as a 1 MiB deflate stream."""
    return deflated_zeros(_npy_header((2**27,)), GIB)


def test_an_entry_larger_than_the_manifest_says_is_refused_before_decompression(
    tmp_path, gib_of_zeros
):
    # A 1 MiB file whose manifest declares 2 floats but whose entry holds 1 GiB.
    path = tmp_path / "bomb.emkit"
    path.write_bytes(zip_bytes([_manifest_entry([2]), ("arrays/means.npy", *gib_of_zeros)]))
    assert path.stat().st_size < 1.1 * MIB
    peak, error = _peak_memory(lambda: read_model_file(path))
    assert re.search(
        "the manifest declares 16 bytes of data for array 'means', but 'arrays/means.npy' "
        f"declares {GIB + 128} bytes",
        str(error),
    ), error
    assert peak < 1 * MIB


def test_an_array_the_data_cannot_back_is_refused_before_decompression(tmp_path, gib_of_zeros):
    # The manifest, the entry and its .npy header all declare 1 GiB; 64 KiB of deflate
    # data cannot expand to that.
    stream, crc, size = gib_of_zeros
    path = tmp_path / "bomb.emkit"
    entries = [_manifest_entry([2**27]), ("arrays/means.npy", stream[: 64 << 10], crc, size)]
    path.write_bytes(zip_bytes(entries))
    peak, error = _peak_memory(lambda: read_model_file(path))
    assert re.search(
        f"'arrays/means.npy' declares {GIB + 128} bytes, more than its 65536 compressed "
        "bytes can hold",
        str(error),
    ), error
    assert peak < 1 * MIB


def test_compressed_sizes_beyond_the_file_are_refused(tmp_path):
    entry = ("arrays/means.npy", *deflated(npy_bytes(np.zeros(2))))
    data = bytearray(zip_bytes([_manifest_entry([2]), entry]))
    path = tmp_path / "m.emkit"
    path.write_bytes(data)
    assert read_model_file(path).arrays["means"].shape == (2,)
    # Both entries claim most of the file: entries that share their compressed bytes
    # would let a small file declare many times what deflate expands it to.
    for name in ("manifest.json", "arrays/means.npy"):
        struct.pack_into("<L", data, _central_entry(data, name) + 20, len(data) - 100)
    path.write_bytes(data)
    with pytest.raises(
        ModelFileError,
        match=rf"its entries declare \d+ compressed bytes, but the file has "
        rf"{len(data)} bytes",
    ):
        read_model_file(path)


def test_arrays_are_read_into_one_copy(tmp_path):
    array = np.zeros(4 * MIB)  # 32 MiB
    path = write_model_file(tmp_path / "m.emkit", "k", {}, {"a": array})
    result = {}
    peak, error = _peak_memory(lambda: result.update(read_model_file(path).arrays))
    assert error is None
    assert result["a"].nbytes == array.nbytes
    assert peak < 1.1 * array.nbytes


# --------------------------------------------------------------------------- #
# Temporaries of killed saves
# --------------------------------------------------------------------------- #

_KILLED_SAVE = """
import importlib.util, os, signal, sys
import numpy as np
spec = importlib.util.spec_from_file_location("model_file_copy", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
module._emkit_version = lambda: "test"
# Killed at the worst moment: the temporary is complete, the rename not yet done.
os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)
module.write_model_file(sys.argv[2], "k", {}, {"a": np.zeros(3)})
"""


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_the_next_save_removes_the_temporary_of_a_killed_save(tmp_path):
    path = tmp_path / "m.emkit"
    write_model_file(path, "old", {}, {})
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_SAVE, model_file.__file__, str(path)], check=False
    )
    assert killed.returncode == -signal.SIGKILL
    left = sorted(set(os.listdir(tmp_path)) - {"m.emkit"})
    assert len(left) == 1 and re.fullmatch(r"\.m\.emkit\.\d+-\w+\.tmp", left[0]), left
    assert read_model_file(path).kind == "old"

    write_model_file(path, "new", {}, {})
    assert os.listdir(tmp_path) == ["m.emkit"]
    assert read_model_file(path).kind == "new"


def test_stale_temporaries_are_recognised_by_writer_and_age(tmp_path):
    path = tmp_path / "model.emkit"
    mine, dead = os.getpid(), _dead_pid()
    old = time.time() - 120

    def temporary(name, age=None):
        (tmp_path / name).write_bytes(b"partial")
        if age is not None:
            os.utime(tmp_path / name, (age, age))
        return name

    removed = {
        temporary(f".model.emkit.{dead}-abc123_x.tmp"),  # its writer is gone
        temporary(f".model.emkit.{mine}-old00000.tmp", age=old),  # untouched for long
        temporary(".model.emkit.k2j4_9xa.tmp", age=old),  # written before the pid was named
    }
    kept = {
        temporary(f".model.emkit.{mine}-live0000.tmp"),  # a save in progress
        temporary(".model.emkit.fresh000.tmp"),  # unknown writer, recent
        temporary(f".model.emkit.7.{dead}-abc.tmp", age=old),  # a save to model.emkit.7
        temporary(".model.emkit.7.abcdefgh.tmp", age=old),  # ... and an older one
        temporary(".model.emkit.bak", age=old),
        temporary("model.emkit.tmp", age=old),
    }
    (tmp_path / f".model.emkit.{dead}-dir.tmp").mkdir()
    kept.add(f".model.emkit.{dead}-dir.tmp")

    write_model_file(path, "k", {}, {})
    assert set(os.listdir(tmp_path)) == kept | {"model.emkit"}
    assert not removed & set(os.listdir(tmp_path))


def test_temporaries_are_named_after_their_target_and_writer(tmp_path, monkeypatch):
    names = []

    def recording_replace(src, dst):
        names.append(os.path.basename(src))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", recording_replace)
    with pytest.raises(OSError):
        write_model_file(tmp_path / "m.emkit", "k", {}, {})
    assert re.fullmatch(rf"\.m\.emkit\.{os.getpid()}-[a-z0-9_]+\.tmp", names[0])
    assert model_file._temporary_name("m.emkit").fullmatch(names[0])


# --------------------------------------------------------------------------- #
# Errors of saves name the user's path
# --------------------------------------------------------------------------- #


def _destinations(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    return {
        "missing-directory": (
            tmp_path / "nope" / "m.emkit",
            FileNotFoundError,
            f"the directory {str(tmp_path / 'nope')!r} does not exist",
        ),
        "directory": (tmp_path, IsADirectoryError, "it is a directory"),
        "below-a-file": (
            tmp_path / "file" / "m.emkit",
            NotADirectoryError,
            f"{str(tmp_path / 'file')!r} is not a directory",
        ),
    }


@pytest.mark.parametrize("case", ["missing-directory", "directory", "below-a-file"])
@pytest.mark.parametrize("function", ["write_model_file", "check_writable"])
def test_save_errors_name_the_path(tmp_path, case, function):
    path, error, reason = _destinations(tmp_path)[case]
    before = sorted(os.listdir(tmp_path))
    call = {
        "write_model_file": lambda: write_model_file(path, "k", {}, {"a": np.ones(2)}),
        "check_writable": lambda: check_writable(path),
    }[function]
    with pytest.raises(error) as info:
        call()
    assert str(info.value).endswith(f"cannot write the model file {str(path)!r}: {reason}"), str(
        info.value
    )
    assert ".tmp" not in str(info.value)
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("function", ["write_model_file", "check_writable"])
def test_permission_errors_name_the_path_not_the_temporary(tmp_path, monkeypatch, function):
    def refusing(*args, dir=None, prefix="", suffix="", **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/{prefix}x{suffix}")

    monkeypatch.setattr(model_file.tempfile, "NamedTemporaryFile", refusing)
    path = tmp_path / "m.emkit"
    with pytest.raises(PermissionError) as info:
        if function == "check_writable":
            check_writable(path)
        else:
            write_model_file(path, "k", {}, {})
    assert info.value.errno == errno.EACCES
    assert str(info.value) == (
        f"[Errno 13] cannot write the model file {str(path)!r}: Permission denied"
    )


def test_errors_while_writing_name_the_path_and_keep_their_errno(tmp_path, monkeypatch):
    path = tmp_path / "m.emkit"

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError) as info:
        write_model_file(path, "k", {}, {"a": np.ones(2)})
    assert info.value.errno == errno.ENOSPC
    assert f"cannot write the model file {str(path)!r}: No space left on device" in str(info.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="POSIX permissions, which bind root"
)
@pytest.mark.parametrize("function", ["write_model_file", "check_writable"])
def test_read_only_directory(tmp_path, function):
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o555)
    path = directory / "m.emkit"
    try:
        with pytest.raises(PermissionError, match=re.escape(repr(str(path)))) as info:
            if function == "check_writable":
                check_writable(path)
            else:
                write_model_file(path, "k", {}, {})
        assert ".tmp" not in str(info.value)
    finally:
        directory.chmod(0o755)
    assert os.listdir(directory) == []


def test_check_writable_creates_nothing_and_keeps_an_existing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert check_writable("new.emkit") == tmp_path.resolve() / "new.emkit"
    assert os.listdir(tmp_path) == []
    path = write_model_file(tmp_path / "m.emkit", "k", {"x": 1}, {})
    before = path.read_bytes()
    assert check_writable(path) == path
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.emkit"]
