"""The emkit model file: a zip container of a JSON manifest and ``.npy`` arrays.

A model file is a single zip archive (``ZIP_DEFLATED``) with this layout::

    manifest.json          format name and version, model kind, metadata,
                           and the dtype and shape of every array
    arrays/<name>.npy      one NumPy ``.npy`` entry per array

Nothing in the file is ever unpickled: arrays are bool, integer or real
floating-point ``.npy`` data and the metadata is plain JSON, so opening a model
file from an untrusted source cannot execute code.  Reading treats the file as
hostile: every size the file declares is checked against the others and against
the file's own size before anything is decompressed, arrays are decompressed
straight into their final memory, and every way a damaged file can fail is
reported as a :class:`ModelFileError` naming the file.

Files are written atomically: readers see either the previous file or the
complete new one, never a partial write.  The temporary file beside the target
is named ``.<name>.<pid>-<random>.tmp``; a save removes the temporaries of its
target that killed saves left behind.  :func:`check_writable` tells, before a
long fit, whether a save to a path can succeed.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import os
import pathlib
import re
import stat
import struct
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
from numpy.lib import format as npy_format

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ModelFile",
    "ModelFileError",
    "check_writable",
    "read_model_file",
    "write_model_file",
]

FORMAT_NAME = "emkit-model"
FORMAT_VERSION = 1

_MANIFEST = "manifest.json"
_ARRAY_NAME = re.compile(r"[A-Za-z0-9_]+")
# dtype kinds a model file stores: bool, signed and unsigned integers and real
# floats.  Complex, text, datetime, object and structured dtypes are refused on
# writing and on reading.
_ALLOWED_KINDS = frozenset("biuf")
_ALLOWED_DTYPES = "bool, integer and real floating-point"
# How the writer spells such dtypes (``dtype.str``); matched before numpy parses
# the text, which warns about some other spellings.
_DTYPE_TEXT = re.compile(r"[<>|][biuf][0-9]{1,2}")
# JSON integers beyond 64 bits are no value a model has; refusing them keeps
# every number of the metadata convertible to a float.
_INT_LIMIT = 2**63
# A fixed timestamp makes the bytes of a model file depend on its content only,
# so writing the same model twice gives identical files.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_ZIP_LOCAL_HEADER_MAGIC = b"PK\x03\x04"
_ZIP_ENCRYPTED = 0x1
# Deflate encodes at most 258 bytes in two bits, so no valid stream expands more
# than 1032-fold (zlib's documented limit); a larger declared size is a lie.
_DEFLATE_MAX_RATIO = 1032
# numpy's own limit on the header it parses; the fixed part (magic, version and
# header length) adds at most 12 bytes.
_NPY_MAX_HEADER = 10_000
_NPY_MAX_PREFIX = 12
# Entries are decompressed in blocks of this many bytes: few enough calls, and
# little memory beside the arrays.
_BLOCK = 1 << 18
# Errors that zipfile, zlib and numpy's .npy header parser raise on damaged
# bytes: OSError and ValueError for seeks to offsets outside the file,
# NotImplementedError for zip features a model file never uses, struct.error
# for records too short to unpack (zipfile's checks differ between Python
# versions).  Encryption and compression methods other than deflate are refused
# before zipfile would raise RuntimeError or try another codec.
_DAMAGE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    NotImplementedError,
)
# A temporary whose writer has not touched it for this long belongs to a save
# that died.
_STALE_AFTER_S = 60.0


class ModelFileError(ValueError):
    """A file that cannot be read as an emkit model file.

    Raised for files that are not zip archives, are truncated, damaged or
    crafted to exhaust memory, were written by another program or by a newer
    emkit, hold a different kind of model than expected, or hold values the
    model cannot have.  The message names the file and the problem.
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


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


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
        if not math.isfinite(value):
            raise ValueError(
                f"metadata must be valid JSON, which has no NaN or infinity; {where} is {value!r}"
            )
    elif isinstance(value, int) and not isinstance(value, bool):
        if not -_INT_LIMIT <= value < _INT_LIMIT:
            raise ValueError(f"metadata integers must fit in 64 bits; {where} is {value!r}")
    elif value is None or isinstance(value, (str, bool)):
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
                f"array {name!r} holds {what}; model files store {_ALLOWED_DTYPES} arrays only"
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


def _write_error(exc: OSError, label: str) -> OSError:
    """``exc`` reworded to name the model file the user asked for, not the temporary."""
    message = f"cannot write the model file {label}: {exc.strerror or exc}"
    if exc.errno is None:
        return type(exc)(message)
    # OSError(errno, ...) is the subclass of that errno: PermissionError, ...
    return OSError(exc.errno, message)


def _target(path: str | os.PathLike[str]) -> tuple[pathlib.Path, str]:
    """The resolved destination of a save to ``path`` and the label naming ``path``
    in messages; OSError naming ``path`` if no file can be written there."""
    label = repr(os.fspath(path))
    try:
        target = pathlib.Path(path).resolve()
    except RuntimeError as exc:  # a loop of symbolic links (OSError from Python 3.13)
        raise OSError(errno.ELOOP, f"cannot write the model file {label}: {exc}") from exc
    except OSError as exc:
        raise _write_error(exc, label) from exc
    if target.is_dir():
        raise IsADirectoryError(
            errno.EISDIR, f"cannot write the model file {label}: it is a directory"
        )
    directory = target.parent
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(
            errno.ENOTDIR,
            f"cannot write the model file {label}: {str(directory)!r} is not a directory",
        )
    if not directory.is_dir():
        raise FileNotFoundError(
            errno.ENOENT,
            f"cannot write the model file {label}: the directory {str(directory)!r} does not exist",
        )
    return target, label


def _temporary_name(target_name: str) -> re.Pattern[str]:
    """Names of the temporaries of a save to a file called ``target_name``.

    The writer's process id makes temporaries of killed saves recognisable at
    once; names without it were written by emkit before it recorded the writer
    (only their age tells).  The random part never holds a dot or a hyphen, so
    no temporary of another target matches.
    """
    return re.compile(re.escape(f".{target_name}.") + r"(?:(?P<pid>[0-9]+)-)?[a-z0-9_]+\.tmp")


def _create_temporary(target: pathlib.Path) -> IO[bytes]:
    return tempfile.NamedTemporaryFile(
        mode="wb",
        delete=False,
        dir=target.parent,
        prefix=f".{target.name}.{os.getpid()}-",
        suffix=".tmp",
    )


def _process_exists(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (True when it cannot be told)."""
    if sys.platform == "win32":
        return True  # os.kill would terminate the process: only the age of a file tells
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):
        return True  # e.g. PermissionError: the process exists and belongs to another user
    return True


def _remove_stale_temporaries(target: pathlib.Path) -> None:
    """Remove the temporaries of ``target`` that saves killed before their rename
    left behind: those whose writer process is gone, and those untouched for a
    minute (a live save keeps writing to its temporary)."""
    pattern = _temporary_name(target.name)
    now = time.time()
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        pid = match["pid"]
        if now - info.st_mtime > _STALE_AFTER_S or (
            pid is not None and not _process_exists(int(pid))
        ):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def check_writable(path: str | os.PathLike[str]) -> pathlib.Path:
    """Check that :func:`write_model_file` can write a model file at `path`.

    Meant for callers that fit a model for a long time before saving it (the
    command line's ``--save``): they call this first, so that a mistyped or
    read-only destination is reported before the fit, not after it.  The check
    creates and removes a temporary file in the destination directory, exactly
    as a save does, so it answers for permissions, access control lists,
    read-only file systems and a full inode table alike; nothing is written at
    `path` itself, and an existing file there is left untouched.

    A save can still fail later if the situation changes in between (the
    directory is removed, the disk fills up); the error then names `path` too.

    Parameters
    ----------
    path : str or os.PathLike
        Destination of the future save.  Its directory must exist.

    Returns
    -------
    pathlib.Path
        The resolved destination, as :func:`write_model_file` will return it.

    Raises
    ------
    IsADirectoryError
        If `path` is a directory.
    FileNotFoundError
        If the directory of `path` does not exist.
    NotADirectoryError
        If the directory of `path` is a file.
    OSError
        If no file can be created in the directory of `path`
        (``PermissionError`` for missing permissions, ``OSError`` with
        ``errno.EROFS`` for a read-only file system, ...).  The message names
        `path`, never the temporary file.

    Examples
    --------
    A command line checks its destination before it fits; every error is an
    ``OSError`` whose message can be shown as it is::

        try:
            check_writable(args.save)
        except OSError as exc:
            # e.g. "[Errno 2] cannot write the model file 'out/m.emkit': the
            # directory '/home/me/out' does not exist"
            raise SystemExit(f"emkit: {exc}") from None
        estimator.fit(X)
        estimator.save(args.save)
    """
    target, label = _target(path)
    try:
        tmp = _create_temporary(target)
    except OSError as exc:
        raise _write_error(exc, label) from exc
    tmp.close()
    with contextlib.suppress(OSError):
        os.unlink(tmp.name)
    return target


def write_model_file(
    path: str | os.PathLike[str],
    kind: str,
    metadata: dict[str, Any],
    arrays: Mapping[str, np.ndarray],
) -> pathlib.Path:
    """Write a model to an emkit model file, atomically.

    The file is first written to a temporary file in the target directory,
    ``.<name>.<pid>-<random>.tmp``, flushed to disk and then renamed onto
    `path`, so an existing file at `path` is either replaced completely or, if
    anything fails, left untouched.  Temporaries of the same target left by
    saves that were killed (their process is gone, or they were not touched for
    a minute) are removed first.

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
        tuples, strings, 64-bit ints, finite floats, bools and None.  Tuples
        are read back as lists.
    arrays : Mapping of str to numpy.ndarray
        Arrays to store, of any shape (0-d and empty arrays included), of bool,
        integer or real floating-point dtype.  Names may use letters, digits
        and underscores only.  NaN and infinity are stored, but
        :func:`read_model_file` refuses them unless its caller allows them.

    Returns
    -------
    pathlib.Path
        The resolved path of the written file.

    Raises
    ------
    TypeError
        If `kind` is not a string, `metadata` is not JSON-serialisable or an
        array has a dtype other than bool, integer or real float.
    ValueError
        If `kind` is empty, an array name is invalid or `metadata` holds NaN,
        infinity or an integer beyond 64 bits.
    OSError
        If the file cannot be written (see :func:`check_writable`); the
        message names `path`, and an existing file at `path` is left unchanged.
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

    target, label = _target(path)
    _remove_stale_temporaries(target)
    try:
        tmp = _create_temporary(target)
    except OSError as exc:
        raise _write_error(exc, label) from exc
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
    except BaseException as exc:
        tmp.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp.name)
        if isinstance(exc, OSError):
            raise _write_error(exc, label) from exc
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


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #


def _describe_damage(exc: BaseException, where: str) -> str:
    text = str(exc)
    if isinstance(exc, zipfile.BadZipFile) and text.startswith("Bad CRC-32"):
        return f"CRC check failed on {where}"
    if isinstance(exc, zlib.error):
        return f"cannot decompress {where}: {text}"
    if isinstance(exc, EOFError):
        return f"unexpected end of data in {where}"
    if isinstance(exc, NotImplementedError):
        return f"{where} uses a zip feature model files never use: {text}"
    return f"cannot read {where}: {text or type(exc).__name__}"


@contextlib.contextmanager
def _damage_reported(label: str, where: str) -> Iterator[None]:
    """Report the errors of damaged zip, deflate or .npy bytes as ModelFileError."""
    try:
        yield
    except ModelFileError:
        raise
    except _DAMAGE as exc:
        raise ModelFileError(
            f"{label} is truncated or corrupt ({_describe_damage(exc, where)})"
        ) from exc


def _entry_info(
    archive: zipfile.ZipFile, member: str, label: str, file_size: int
) -> zipfile.ZipInfo:
    """The zip entry ``member``, with the sizes it declares checked before any of it
    is decompressed."""
    info = archive.getinfo(member)
    where = repr(member)
    if info.flag_bits & _ZIP_ENCRYPTED:
        raise ModelFileError(f"{label} is corrupt ({where} is marked as encrypted)")
    if info.compress_type == zipfile.ZIP_STORED:
        expands_to = info.compress_size
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        expands_to = _DEFLATE_MAX_RATIO * info.compress_size
    else:
        raise ModelFileError(
            f"{label} is corrupt ({where} uses the compression method "
            f"{info.compress_type}; model files use deflate)"
        )
    if info.compress_size > file_size:
        raise ModelFileError(
            f"{label} is truncated or corrupt ({where} declares {info.compress_size} "
            f"compressed bytes, but the file has {file_size} bytes)"
        )
    if info.file_size > expands_to:
        raise ModelFileError(
            f"{label} is corrupt ({where} declares {info.file_size} bytes, more than "
            f"its {info.compress_size} compressed bytes can hold)"
        )
    return info


def _read_block(stream: IO[bytes], size: int, label: str, where: str) -> np.ndarray:
    """The next ``size`` bytes of ``stream`` as a uint8 array.

    The array grows as the data arrives (at most doubling), so a declared size
    that the data does not back costs no more memory than the data itself; the
    result is exactly ``size`` bytes, the only copy of the data.
    """
    buffer = np.empty(min(size, _BLOCK), dtype=np.uint8)
    filled = 0
    while filled < size:
        block = stream.read(min(size - filled, _BLOCK))
        if not block:
            raise ModelFileError(
                f"{label} is truncated or corrupt ({where} ends after {filled} of its {size} bytes)"
            )
        end = filled + len(block)
        if end > buffer.size:
            # No view of buffer is alive here, so resizing it in place is safe.
            buffer.resize(min(size, max(end, 2 * buffer.size)), refcheck=False)
        buffer[filled:end] = np.frombuffer(block, dtype=np.uint8)
        filled = end
    if stream.read(1):
        raise ModelFileError(
            f"{label} is truncated or corrupt ({where} holds more than its {size} bytes)"
        )
    return buffer


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is out of range")
    return value


def _json_int(text: str) -> int:
    value = int(text)
    if not -_INT_LIMIT <= value < _INT_LIMIT:
        shown = text if len(text) <= 30 else f"{text[:30]}..."
        raise ValueError(f"the integer {shown} does not fit in 64 bits")
    return value


def _json_constant(text: str) -> Any:
    raise ValueError(f"{text} is not valid JSON")


def _parse_manifest(raw: bytes, label: str) -> dict[str, Any]:
    try:
        manifest = json.loads(
            raw.decode("utf-8"),
            parse_float=_json_float,
            parse_int=_json_int,
            parse_constant=_json_constant,
        )
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError, ...
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
            _ARRAY_NAME.fullmatch(name) is None
            or not isinstance(entry, dict)
            or entry.get("file") != f"arrays/{name}.npy"
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


def _allowed_dtype(text: str) -> np.dtype | None:
    """The dtype the manifest names by ``text`` if a model file may hold it."""
    if _DTYPE_TEXT.fullmatch(text) is None:
        return None
    try:
        dtype = np.dtype(text)
    except TypeError:  # no such dtype, e.g. '<i3'
        return None
    if dtype.kind not in _ALLOWED_KINDS or dtype.str != text:
        return None
    return dtype


def _declared_data_size(name: str, entry: dict[str, Any], label: str) -> int:
    """Bytes of data the manifest declares for array ``name``."""
    dtype = _allowed_dtype(entry["dtype"])
    if dtype is None:
        raise ModelFileError(
            f"{label} is corrupt (the manifest declares array {name!r} of dtype "
            f"{entry['dtype']!r}; model files hold {_ALLOWED_DTYPES} arrays only)"
        )
    return math.prod(entry["shape"]) * dtype.itemsize


def _read_npy_header(stream: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = npy_format.read_magic(stream)
    if version == (1, 0):
        return npy_format.read_array_header_1_0(stream, max_header_size=_NPY_MAX_HEADER)
    if version == (2, 0):
        return npy_format.read_array_header_2_0(stream, max_header_size=_NPY_MAX_HEADER)
    raise ValueError(f".npy format version {version[0]}.{version[1]} is not one emkit writes")


def _read_array(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    name: str,
    entry: dict[str, Any],
    label: str,
) -> np.ndarray:
    member = info.filename
    where = repr(member)
    manifest_shape = tuple(entry["shape"])
    with archive.open(info) as stream:
        try:
            shape, fortran_order, dtype = _read_npy_header(stream)
        except (ValueError, TypeError, EOFError) as exc:
            raise ModelFileError(
                f"{label} is truncated or corrupt ({where} is not a valid .npy array: {exc})"
            ) from exc
        if dtype.kind not in _ALLOWED_KINDS:
            raise ModelFileError(
                f"{label} is corrupt ({where} is not a valid .npy array for a model file: "
                f"it holds dtype {dtype}; model files hold {_ALLOWED_DTYPES} arrays only)"
            )
        if dtype.str != entry["dtype"] or shape != manifest_shape:
            raise ModelFileError(
                f"{label} is corrupt (array {name!r} has dtype {dtype.str} and shape "
                f"{shape}, but the manifest says dtype {entry['dtype']} and shape "
                f"{manifest_shape})"
            )
        n_items = math.prod(shape)
        size = n_items * dtype.itemsize
        if info.file_size != stream.tell() + size:
            raise ModelFileError(
                f"{label} is corrupt ({where} declares {info.file_size} bytes, but its "
                f"header and {shape} array of {dtype} need {stream.tell() + size})"
            )
        data = _read_block(stream, size, label, where)
    if dtype.kind == "b" and np.any(data > 1):
        raise ModelFileError(f"{label} is corrupt (the booleans of array {name!r} are not 0 or 1)")
    flat = data.view(dtype)
    return flat.reshape(shape[::-1]).transpose() if fortran_order else flat.reshape(shape)


def _finite(array: np.ndarray) -> bool:
    """Whether a float array read by :func:`_read_array` holds no NaN or infinity,
    checked block by block on its flat buffer so that a large array needs no boolean
    array of its size."""
    flat = array.reshape(-1, order="A")  # a view: the array is C or F contiguous
    step = _BLOCK // array.dtype.itemsize
    return all(np.isfinite(flat[i : i + step]).all() for i in range(0, flat.size, step))


def _open_archive(fh: IO[bytes], label: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(fh)
    except _DAMAGE as exc:
        fh.seek(0)
        if fh.read(4) == _ZIP_LOCAL_HEADER_MAGIC:
            raise ModelFileError(
                f"{label} is truncated or corrupt (the zip directory at the end of the "
                f"file is missing or damaged: {exc})"
            ) from exc
        raise ModelFileError(f"{label} is not an emkit model file (not a zip archive)") from exc


def read_model_file(
    path: str | os.PathLike[str],
    expected_kind: str | None = None,
    *,
    allow_nonfinite: Collection[str] = (),
) -> ModelFile:
    """Read an emkit model file.

    The file may be damaged or hostile: before anything is decompressed, the
    sizes each entry declares are checked against the manifest, against the
    ``.npy`` header and against what its compressed bytes can hold, so reading
    needs at most about one copy of the arrays the file really contains.

    Parameters
    ----------
    path : str or os.PathLike
        File written by :func:`write_model_file`.
    expected_kind : str, optional
        If given, the kind of model the file must hold.
    allow_nonfinite : collection of str, optional
        Names of the float arrays that may hold NaN or infinity; in the others
        they are refused.

    Returns
    -------
    ModelFile
        Kind, metadata, arrays and version information of the stored model.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    OSError
        If `path` exists but cannot be opened (permissions).
    ModelFileError
        If the file is not an emkit model file, is truncated, damaged or
        declares sizes its data cannot back, holds an array of a dtype other
        than bool, integer or real float or with NaN or infinity (unless
        allowed), was written by a newer emkit, or holds a kind of model other
        than `expected_kind`.
    """
    path_str = os.fspath(path)
    label = repr(str(path_str))
    file_path = pathlib.Path(path_str)
    if not file_path.exists():
        raise FileNotFoundError(f"no such model file: {label}")
    if file_path.is_dir():
        raise ModelFileError(f"{label} is a directory, not an emkit model file")
    # A FIFO or a device would block or never end.
    if not file_path.is_file():
        raise ModelFileError(f"{label} is not a regular file, not an emkit model file")

    with open(file_path, "rb") as fh:
        file_size = os.fstat(fh.fileno()).st_size
        with _damage_reported(label, "the zip directory"):
            archive = _open_archive(fh, label)
        with archive:
            return _read_archive(archive, label, file_size, expected_kind, allow_nonfinite)


def _read_archive(
    archive: zipfile.ZipFile,
    label: str,
    file_size: int,
    expected_kind: str | None,
    allow_nonfinite: Collection[str],
) -> ModelFile:
    try:
        info = _entry_info(archive, _MANIFEST, label, file_size)
    except KeyError:
        raise ModelFileError(
            f"{label} is not an emkit model file (the archive has no manifest.json)"
        ) from None
    where = repr(_MANIFEST)
    with _damage_reported(label, where), archive.open(info) as stream:
        raw = _read_block(stream, info.file_size, label, where).tobytes()
    manifest = _parse_manifest(raw, label)

    kind = manifest["kind"]
    if expected_kind is not None and kind != expected_kind:
        raise ModelFileError(f"{label} holds a {kind!r} model, expected {expected_kind!r}")

    # Every size is checked before any array is decompressed.
    infos = {}
    compressed = info.compress_size
    for name, entry in manifest["arrays"].items():
        member = entry["file"]
        try:
            infos[name] = _entry_info(archive, member, label, file_size)
        except KeyError:
            raise ModelFileError(
                f"{label} is truncated or corrupt (array {name!r} is listed in the manifest "
                f"but {member!r} is missing)"
            ) from None
        data_size = _declared_data_size(name, entry, label)
        if not data_size <= infos[name].file_size <= data_size + _NPY_MAX_PREFIX + _NPY_MAX_HEADER:
            raise ModelFileError(
                f"{label} is corrupt (the manifest declares {data_size} bytes of data for "
                f"array {name!r}, but {member!r} declares {infos[name].file_size} bytes)"
            )
        compressed += infos[name].compress_size
    # Entries that share compressed bytes (overlapping entries) would multiply the
    # memory a small file can claim.
    if compressed > file_size:
        raise ModelFileError(
            f"{label} is corrupt (its entries declare {compressed} compressed bytes, but "
            f"the file has {file_size} bytes)"
        )

    arrays = {}
    for name, entry in manifest["arrays"].items():
        with _damage_reported(label, repr(entry["file"])):
            array = _read_array(archive, infos[name], name, entry, label)
        # Not damage: a value the model cannot have.
        if array.dtype.kind == "f" and name not in allow_nonfinite and not _finite(array):
            raise ModelFileError(
                f"{label} holds an inconsistent {kind}: array {name!r} holds NaN or infinite values"
            )
        arrays[name] = array

    emkit_version = manifest.get("emkit_version")
    return ModelFile(
        kind=kind,
        metadata=manifest["metadata"],
        arrays=arrays,
        format_version=manifest["format_version"],
        emkit_version=emkit_version if isinstance(emkit_version, str) else "unknown",
    )
