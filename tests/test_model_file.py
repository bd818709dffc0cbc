"""Tests for the emkit model file container (emkit.io.model_file)."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import sys
import zipfile

import numpy as np
import pytest
from numpy.lib import format as npy_format

from emkit.io import model_file
from emkit.io.model_file import (
    FORMAT_NAME,
    FORMAT_VERSION,
    ModelFile,
    ModelFileError,
    read_model_file,
    write_model_file,
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
    "labels": np.array(["a", "bc"]),
}


def _entries(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_zip(path, entries):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def _rewrite_manifest(path, change):
    """Rewrite the model file at `path` with `change` applied to its manifest."""
    entries = _entries(path)
    manifest = json.loads(entries["manifest.json"])
    change(manifest)
    entries["manifest.json"] = json.dumps(manifest).encode()
    _write_zip(path, entries)


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
    path = write_model_file(tmp_path / "m.emkit", "k", {}, {"a": array})
    got = read_model_file(path).arrays["a"]
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
    _write_zip(path, {"readme.txt": b"hello"})
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
    _write_zip(path, {"manifest.json": manifest})
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
    entries = _entries(saved)
    del entries["arrays/means.npy"]
    _write_zip(saved, entries)
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
    entries = _entries(saved)
    entries["arrays/means.npy"] = b"definitely not an npy file"
    _write_zip(saved, entries)
    with pytest.raises(ModelFileError, match=r"'arrays/means\.npy' is not a valid \.npy array"):
        read_model_file(saved)


def test_pickled_array_entry_is_never_unpickled(saved):
    buffer = io.BytesIO()
    npy_format.write_array(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    entries = _entries(saved)
    entries["arrays/means.npy"] = buffer.getvalue()
    _write_zip(saved, entries)
    with pytest.raises(ModelFileError, match=r"'arrays/means\.npy' is not a valid \.npy array"):
        read_model_file(saved)


def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)
    assert model_file.FORMAT_NAME == "emkit-model"
