"""Helpers shared by the model-file tests: files put together entry by entry, as a damaged,
edited or hostile file would be, without the writer's checks."""

from __future__ import annotations

import dataclasses
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from emkit.io.model_file import FORMAT_NAME, FORMAT_VERSION


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` as a .npy entry; object arrays become pickles, which no reader may load."""
    buffer = io.BytesIO()
    npy_format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def entries_of(path: Path) -> dict[str, bytes]:
    """The entries of the zip archive at ``path``, decompressed, in order."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_zip(path: Path, entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def write_raw_model_file(
    path: Path, kind: str, metadata: Any, arrays: dict[str, np.ndarray]
) -> Path:
    """A model file with the manifest the writer would give these arrays, but metadata and
    arrays the writer would refuse (non-JSON-object metadata, NaN, complex, text, ...)."""
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "emkit_version": "test",
        "kind": kind,
        "metadata": metadata,
        "arrays": {
            name: {"file": f"arrays/{name}.npy", "dtype": a.dtype.str, "shape": list(a.shape)}
            for name, a in arrays.items()
        },
    }
    entries = {"manifest.json": json.dumps(manifest).encode()}
    entries.update({f"arrays/{name}.npy": npy_bytes(a) for name, a in arrays.items()})
    write_zip(path, entries)
    return path


def zip_bytes(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A deflate zip archive of entries already compressed: ``(name, raw deflate stream,
    CRC-32, uncompressed size)``, so that a test can declare sizes no data backs."""
    local, central = bytearray(), bytearray()
    for name, stream, crc, size in entries:
        encoded = name.encode()
        # version needed, flags, method, time, date (1980-01-01), CRC, sizes, name length
        common = (20, 0, zipfile.ZIP_DEFLATED, 0, 0x21, crc, len(stream), size, len(encoded))
        central += struct.pack("<4sH5H3LH", b"PK\x01\x02", 20, *common)
        central += struct.pack("<4HLL", 0, 0, 0, 0, 0o644 << 16, len(local)) + encoded
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", *common, 0) + encoded + stream
    count = len(entries)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), len(local), 0)
    return bytes(local + central + end)


def deflated(data: bytes) -> tuple[bytes, int, int]:
    """``data`` as a raw deflate stream, with its CRC-32 and size, for :func:`zip_bytes`."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data)


def deflated_zeros(prefix: bytes, n_zeros: int) -> tuple[bytes, int, int]:
    """``prefix`` followed by ``n_zeros`` zero bytes (a multiple of 1 MiB, at least 2 MiB)
    as a raw deflate stream with its CRC-32 and size, in time and memory that hardly grow
    with ``n_zeros``: after a full flush the compressor's output for a block of zeros
    repeats, so one block is compressed and its output repeated."""
    block = bytes(1 << 20)
    n_blocks, rest = divmod(n_zeros, len(block))
    assert rest == 0 and n_blocks >= 2
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix + block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    check = compressor.copy()
    assert check.compress(block) + check.flush(zlib.Z_FULL_FLUSH) == repeat
    stream = head + repeat * (n_blocks - 1) + compressor.flush()
    crc = zlib.crc32(prefix)
    for _ in range(n_blocks):
        crc = zlib.crc32(block, crc)
    return stream, crc, len(prefix) + n_zeros


def same(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are equal to the last bit, arrays by dtype, shape and value,
    containers and dataclasses element by element."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return same(dataclasses.asdict(a), dataclasses.asdict(b))
    return bool(a == b)


def same_estimator(a: Any, b: Any) -> bool:
    """Whether two estimators have the same class and every attribute equal."""
    return type(a) is type(b) and same(vars(a), vars(b))
