"""The emkit model file: a zip container of a JSON manifest and ``.npy`` arrays.

A model file is a single zip archive (``ZIP_DEFLATED``) with this layout::

    manifest.json          format name and version, model kind, metadata,
                           and the dtype and shape of every array
    arrays/<name>.npy      one NumPy ``.npy`` entry per array

Nothing in the file is ever unpickled: arrays are written and read with
``allow_pickle=False`` and the metadata is plain JSON, so opening a model file
from an untrusted source cannot execute code.  Files are written atomically:
readers see either the previous file or the complete new one, never a partial
write.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import re
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ModelFile",
    "ModelFileError",
    "read_model_file",
    "write_model_file",
]

FORMAT_NAME = "emkit-model"
FORMAT_VERSION = 1

_MANIFEST = "manifest.json"
_ARRAY_NAME = re.compile(r"[A-Za-z0-9_]+")
# dtype kinds that round-trip through ``.npy`` without pickling: bool, signed and
# unsigned integers, floats, complex, fixed-width text and bytes, datetimes and
# timedeltas.  Object ("O") and structured/void ("V") dtypes are refused.
_ALLOWED_KINDS = frozenset("biufcUSMm")
# A fixed timestamp makes the bytes of a model file depend on its content only,
# so writing the same model twice gives identical files.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_ZIP_LOCAL_HEADER_MAGIC = b"PK\x03\x04"


class ModelFileError(ValueError):
    """A file that cannot be read as an emkit model file.

    Raised for files that are not zip archives, are truncated or corrupt, were
    written by another program or by a newer emkit, or hold a different kind of
    model than expected.  The message names the file and the problem.
    """


@dataclass(frozen=True)
class ModelFile:
    """The content of an emkit model file.

    Attributes
    ----------
    kind : str
        Kind of model stored in the file, e.g. ``"gaussian-mixture"``.
    metadata : dict
        JSON metadata (hyperparameters, fit diagnostics, ...) exactly as
        decoded from the manifest; tuples written by
        :func:`write_model_file` come back as lists.
    arrays : dict of str to numpy.ndarray
        The stored arrays by name, with the dtype and shape they were written
        with.
    format_version : int
        Version of the container format the file was written in.
    emkit_version : str
        Version of emkit that wrote the file, or ``"unknown"``.
    """

    kind: str
    metadata: dict[str, Any]
    arrays: dict[str, np.ndarray]
    format_version: int
    emkit_version: str


def _emkit_version() -> str:
    # Imported lazily: emkit's top-level package may itself import emkit.io.
    try:
        from emkit import __version__

        return str(__version__)
    except ImportError:
        pass
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("emkit")
    except PackageNotFoundError:
        return "unknown"


def _check_metadata(value: Any, where: str) -> None:
    """Refuse metadata that would not survive a JSON round trip unchanged."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"metadata keys must be strings; {where} has the key {key!r} "
                    f"of type {type(key).__name__}"
                )
            _check_metadata(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_metadata(item, f"{where}[{i}]")
    elif isinstance(value, float):
        if not np.isfinite(value):
            raise ValueError(
                f"metadata must be valid JSON, which has no NaN or infinity; {where} is {value!r}"
            )
    elif value is None or isinstance(value, (str, bool, int)):
        pass
    else:
        raise TypeError(
            f"metadata must be JSON-serialisable (dict, list, str, int, float, bool, None); "
            f"{where} is of type {type(value).__name__}"
        )


def _prepare_arrays(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    prepared: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or _ARRAY_NAME.fullmatch(name) is None:
            raise ValueError(
                f"array names must be non-empty and use only letters, digits and "
                f"underscores; got {name!r}"
            )
        array = np.asarray(value)
        if array.dtype.kind not in _ALLOWED_KINDS:
            what = "Python objects" if array.dtype.hasobject else f"dtype {array.dtype}"
            raise TypeError(
                f"array {name!r} holds {what}; model files store numeric, text and "
                f"datetime arrays only"
            )
        prepared[name] = array
    return prepared


def _array_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    npy_format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _zip_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _new_file_mode() -> int:
    # NamedTemporaryFile creates files readable by the owner only; a model file
    # should get the permissions of any other newly created file.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_model_file(
    path: str | os.PathLike[str],
    kind: str,
    metadata: dict[str, Any],
    arrays: Mapping[str, np.ndarray],
) -> pathlib.Path:
    """Write a model to an emkit model file, atomically.

    The file is first written to a temporary file in the target directory,
    flushed to disk and then renamed onto `path`, so an existing file at `path`
    is either replaced completely or, if anything fails, left untouched.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.  Its directory must exist.  By convention the name
        ends in ``.emkit``.
    kind : str
        Kind of model, e.g. ``"gaussian-mixture"``; checked on reading with
        ``read_model_file(..., expected_kind=...)``.
    metadata : dict
        JSON-serialisable metadata: nested dicts with string keys, lists,
        tuples, strings, ints, finite floats, bools and None.  Tuples are read
        back as lists.
    arrays : Mapping of str to numpy.ndarray
        Arrays to store, of any shape (0-d and empty arrays included).  Names
        may use letters, digits and underscores only.  Object and structured
        dtypes are refused.

    Returns
    -------
    pathlib.Path
        The resolved path of the written file.

    Raises
    ------
    TypeError
        If `kind` is not a string, `metadata` is not JSON-serialisable or an
        array has an object or structured dtype.
    ValueError
        If `kind` is empty, an array name is invalid or `metadata` holds NaN
        or infinity.
    OSError
        If the file cannot be written; an existing file at `path` is then left
        unchanged.
    """
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a string, not {type(kind).__name__}")
    if not kind:
        raise ValueError("kind must be a non-empty string")
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, not {type(metadata).__name__}")
    _check_metadata(metadata, "metadata")
    prepared = _prepare_arrays(arrays)

    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "emkit_version": _emkit_version(),
        "kind": kind,
        "metadata": metadata,
        "arrays": {
            name: {
                "file": f"arrays/{name}.npy",
                "dtype": array.dtype.str,
                "shape": list(array.shape),
            }
            for name, array in prepared.items()
        },
    }
    manifest_bytes = json.dumps(manifest, indent=2, allow_nan=False).encode("utf-8")

    target = pathlib.Path(path).resolve()
    tmp = tempfile.NamedTemporaryFile(
        mode="wb", delete=False, dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with zipfile.ZipFile(tmp, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_zip_entry(_MANIFEST), manifest_bytes)
            for name, array in prepared.items():
                archive.writestr(_zip_entry(f"arrays/{name}.npy"), _array_bytes(array))
        tmp.flush()
        os.fsync(tmp.fileno())
        tmp.close()
        os.chmod(tmp.name, _new_file_mode())
        os.replace(tmp.name, target)
    except BaseException:
        tmp.close()
        try:
            os.unlink(tmp.name)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(target.parent)
    return target


def _fsync_directory(directory: pathlib.Path) -> None:
    # Makes the rename itself durable on POSIX; not possible (nor needed) on
    # Windows, where opening a directory fails.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _describe_zip_error(exc: BaseException, entry: str) -> str:
    text = str(exc)
    if isinstance(exc, zipfile.BadZipFile) and text.startswith("Bad CRC-32"):
        return f"CRC check failed on {entry!r}"
    if isinstance(exc, zlib.error):
        return f"cannot decompress {entry!r}: {text}"
    if isinstance(exc, EOFError):
        return f"unexpected end of data in {entry!r}"
    return f"cannot read {entry!r}: {text}"


def _read_entry(archive: zipfile.ZipFile, entry: str, label: str) -> bytes:
    try:
        return archive.read(entry)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        raise ModelFileError(
            f"{label} is truncated or corrupt ({_describe_zip_error(exc, entry)})"
        ) from exc


def _parse_manifest(raw: bytes, label: str) -> dict[str, Any]:
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except ValueError as exc:  # covers UnicodeDecodeError and JSONDecodeError
        raise ModelFileError(
            f"{label} is not an emkit model file (manifest.json is not valid JSON: {exc})"
        ) from exc
    if not isinstance(manifest, dict):
        raise ModelFileError(
            f"{label} is not an emkit model file (manifest.json is not a JSON object)"
        )

    file_format = manifest.get("format")
    if file_format != FORMAT_NAME:
        raise ModelFileError(
            f"{label} is not an emkit model file (its manifest declares the format "
            f"{file_format!r}, expected {FORMAT_NAME!r})"
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{label} is corrupt (invalid format version {version!r})")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{label} was written by a newer emkit (format version {version}; this emkit "
            f"reads up to {FORMAT_VERSION}); upgrade emkit"
        )

    if not isinstance(manifest.get("kind"), str):
        raise ModelFileError(f"{label} is corrupt (the manifest has no model kind)")
    if not isinstance(manifest.get("metadata"), dict):
        raise ModelFileError(f"{label} is corrupt (the manifest metadata is not a JSON object)")
    entries = manifest.get("arrays")
    if not isinstance(entries, dict):
        raise ModelFileError(f"{label} is corrupt (the manifest has no array list)")
    for name, entry in entries.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("file"), str)
            or not isinstance(entry.get("dtype"), str)
            or not isinstance(entry.get("shape"), list)
            or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in entry["shape"]
            )
        ):
            raise ModelFileError(
                f"{label} is corrupt (the manifest entry for array {name!r} is malformed)"
            )
    return manifest


def _read_array(
    archive: zipfile.ZipFile, name: str, entry: dict[str, Any], label: str
) -> np.ndarray:
    member = entry["file"]
    try:
        archive.getinfo(member)
    except KeyError:
        raise ModelFileError(
            f"{label} is truncated or corrupt (array {name!r} is listed in the manifest "
            f"but {member!r} is missing)"
        ) from None
    data = _read_entry(archive, member, label)
    try:
        array = npy_format.read_array(io.BytesIO(data), allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise ModelFileError(
            f"{label} is truncated or corrupt ({member!r} is not a valid .npy array: {exc})"
        ) from exc

    shape = tuple(entry["shape"])
    if array.dtype.str != entry["dtype"] or array.shape != shape:
        raise ModelFileError(
            f"{label} is corrupt (array {name!r} has dtype {array.dtype.str} and shape "
            f"{array.shape}, but the manifest says dtype {entry['dtype']} and shape {shape})"
        )
    return array


def read_model_file(path: str | os.PathLike[str], expected_kind: str | None = None) -> ModelFile:
    """Read an emkit model file.

    Parameters
    ----------
    path : str or os.PathLike
        File written by :func:`write_model_file`.
    expected_kind : str, optional
        If given, the kind of model the file must hold.

    Returns
    -------
    ModelFile
        Kind, metadata, arrays and version information of the stored model.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ModelFileError
        If the file is not an emkit model file, is truncated or corrupt, was
        written by a newer emkit, or holds a kind of model other than
        `expected_kind`.
    """
    path_str = os.fspath(path)
    label = repr(str(path_str))
    file_path = pathlib.Path(path_str)
    if not file_path.exists():
        raise FileNotFoundError(f"no such model file: {label}")
    if file_path.is_dir():
        raise ModelFileError(f"{label} is a directory, not an emkit model file")

    try:
        archive = zipfile.ZipFile(file_path)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        with open(file_path, "rb") as fh:
            starts_like_zip = fh.read(4) == _ZIP_LOCAL_HEADER_MAGIC
        if starts_like_zip:
            raise ModelFileError(
                f"{label} is truncated or corrupt (the zip directory at the end of the "
                f"file is missing or damaged)"
            ) from exc
        raise ModelFileError(f"{label} is not an emkit model file (not a zip archive)") from exc

    with archive:
        try:
            archive.getinfo(_MANIFEST)
        except KeyError:
            raise ModelFileError(
                f"{label} is not an emkit model file (the archive has no manifest.json)"
            ) from None
        manifest = _parse_manifest(_read_entry(archive, _MANIFEST, label), label)

        kind = manifest["kind"]
        if expected_kind is not None and kind != expected_kind:
            raise ModelFileError(f"{label} holds a {kind!r} model, expected {expected_kind!r}")

        arrays = {
            name: _read_array(archive, name, entry, label)
            for name, entry in manifest["arrays"].items()
        }

    emkit_version = manifest.get("emkit_version")
    return ModelFile(
        kind=kind,
        metadata=manifest["metadata"],
        arrays=arrays,
        format_version=manifest["format_version"],
        emkit_version=emkit_version if isinstance(emkit_version, str) else "unknown",
    )
