"""Peak memory of ``emkit.io.readers.read_table`` on a CSV, a Parquet and a ``.npy`` file of
about 130 MB each.

Method (see benchmarks/README.md, section "Readers"):

* Data: seeded normal values in 4 float64 columns (a, b, c, d), scaled by 1, 10, 100, 1000;
  the CSV holds the shortest exact text of every value (``repr``), the Parquet file is
  written by pyarrow with its default row groups and compression, the ``.npy`` file by
  ``numpy.save``. Each file is about ``--mb`` MB (10^6 bytes).
* Every read runs in a fresh process (``--child``) that imports NumPy, the reader module from
  its file (not the emkit package, which imports the estimators) and pyarrow for Parquet,
  reads its resident memory (VmRSS), calls ``read_table`` once, and reports its peak resident
  memory from ``resource.getrusage`` (``ru_maxrss``), the resident memory after the imports,
  and the size of the array read.
* ``--module FILE`` measures another version of ``readers.py`` (say, one from ``git show``)
  the same way.

Usage::

    PYTHONPATH=src python benchmarks/bench_readers.py               # 130 MB files
    PYTHONPATH=src python benchmarks/bench_readers.py --mb 20       # smaller files
    git show REV:src/emkit/io/readers.py > /tmp/readers_rev.py
    PYTHONPATH=src python benchmarks/bench_readers.py --module /tmp/readers_rev.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

FORMATS = ("csv", "parquet", "npy")
COLUMNS = ("a", "b", "c", "d")
MB = 1e6
READERS = pathlib.Path(__file__).resolve().parents[1] / "src" / "emkit" / "io" / "readers.py"


def _values(n: int, seed: int) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, len(COLUMNS))) * 10.0 ** np.arange(len(COLUMNS))


def write_csv(path: pathlib.Path, target_bytes: float) -> None:
    block = 100_000
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(",".join(COLUMNS) + "\n")
        seed = 0
        while fh.tell() < target_bytes:
            rows = _values(block, seed).tolist()
            fh.write("".join(",".join(map(repr, row)) + "\n" for row in rows))
            seed += 1


def write_parquet(path: pathlib.Path, target_bytes: float) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = int(target_bytes / (8 * len(COLUMNS)))
    values = _values(n, 0)
    table = pa.table({name: values[:, j] for j, name in enumerate(COLUMNS)})
    pq.write_table(table, path)


def write_npy(path: pathlib.Path, target_bytes: float) -> None:
    import numpy as np

    n = int(target_bytes / (8 * len(COLUMNS)))
    np.save(path, _values(n, 0))


def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024 / MB
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(path: str, module: str | None) -> None:
    """Read ``path`` once and print the memory readings as JSON."""
    # Loaded from its file, so that the baseline holds NumPy and the reader alone, not the
    # estimators that importing the emkit package brings.
    spec = importlib.util.spec_from_file_location("readers_under_test", module or READERS)
    readers = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = readers
    spec.loader.exec_module(readers)
    if path.endswith(".parquet"):
        import pyarrow.parquet  # noqa: F401  (imported before the baseline, as a read would)
    baseline = _status_mb("VmRSS")
    start = time.perf_counter()
    table = readers.read_table(path)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB  # KiB on Linux
    print(
        json.dumps(
            {
                "peak_mb": peak,
                "vmhwm_mb": _status_mb("VmHWM"),
                "baseline_mb": baseline,
                "array_mb": table.values.nbytes / MB,
                "shape": list(table.values.shape),
                "seconds": seconds,
            }
        )
    )


def _run_child(*argv: str) -> str:
    # The data are written in a child too: ru_maxrss counts the memory a process had when
    # it was forked, so the parent holds no data.
    proc = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return proc.stdout


def measure(path: pathlib.Path, module: str | None) -> dict:
    argv = ["--child", str(path)]
    if module is not None:
        argv += ["--module", module]
    return json.loads(_run_child(*argv))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=130.0, help="size of every file in MB")
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--module", help="readers.py to measure (default: src/emkit/io/readers.py)")
    parser.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--write", nargs=2, metavar=("FORMAT", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--output", help="also write the results as JSON to this file")
    args = parser.parse_args()
    writers = {"csv": write_csv, "parquet": write_parquet, "npy": write_npy}
    if args.child:
        child(args.child, args.module)
        return
    if args.write:
        fmt, path = args.write
        writers[fmt](pathlib.Path(path), args.mb * MB)
        return

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats:
            path = pathlib.Path(tmp) / f"data.{fmt}"
            _run_child("--write", fmt, str(path), "--mb", str(args.mb))
            reading = measure(path, args.module)
            reading.update(format=fmt, file_mb=path.stat().st_size / MB)
            results.append(reading)
            path.unlink()

    print(f"reader: {args.module or READERS}; Python {platform.python_version()}")
    print(
        "| file | file MB | rows x columns | float64 array MB | peak RSS MB | RSS after imports MB "
        "| peak - imports, x array | VmHWM MB | seconds |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        grown = (r["peak_mb"] - r["baseline_mb"]) / r["array_mb"]
        rows, cols = r["shape"]
        print(
            f"| {r['format']} | {r['file_mb']:.0f} | {rows:,} x {cols} | {r['array_mb']:.0f} "
            f"| {r['peak_mb']:.0f} | {r['baseline_mb']:.0f} | {grown:.2f} | {r['vmhwm_mb']:.0f} "
            f"| {r['seconds']:.1f} |"
        )
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            json.dump({"module": args.module, "mb": args.mb, "results": results}, fh, indent=2)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
