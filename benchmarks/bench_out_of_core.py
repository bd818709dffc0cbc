"""Fitting from files: emkit.GaussianMixture on a .npy file and on a Parquet file, read a
chunk at a time through ``emkit.open_data``, against the same fit on the array in memory;
seconds per EM iteration, peak resident memory, and the machine's read and compute bounds.

Method (see benchmarks/README.md, section "bench_out_of_core.py"):

* Data: ``--rows`` (100,000,000) rows of D = 8 float32 columns drawn from a seeded mixture
  of K = 16 Gaussians with random full covariances, block by block (each block of 2^20 rows
  from its own seeded generator), written once to ``--scratch`` as one ``.npy`` file and one
  Parquet file (row groups of 2^20 rows, ``--compression``, snappy by default; eight float32
  columns ``x0`` ... ``x7``). The files are named by their parameters and reused when they
  are there; nothing is deleted.
* Fits: ``GaussianMixture(16, covariance_type='full', tol=0, reg_covar=1e-6)`` from the same
  start (``weights_init``, ``means_init``, ``precisions_init``: K distinct rows and the pooled
  covariance of a 10k-row sample, computed once, ``bench_gmm.make_start``), on
  ``open_data(npy)``, ``open_data(parquet)`` and ``np.load(npy)`` (the array in memory).
* Seconds per iteration: the times between successive E-steps of ``fit(max_iter=ITERS)``
  (4), each an M-step and a pass over the data, taken by a callback of
  ``emkit.config_context``; the median over the iterations of ``--repeats`` rounds (npy,
  Parquet, memory in turn) after a warm-up fit on a small array. ``--n-jobs`` (1 and 2): the
  estimator's ``n_jobs``, with threadpoolctl limits of one.
* The page cache: the machine has 24 GiB, so both files fit in the page cache beside
  everything else, but this machine's kernel also runs a DAMON scheme that pages out memory
  idle for about a minute, the page cache included (recorded from /sys/kernel/mm/damon):
  a file stays cached only while passes come within a minute of each other. The callback
  records the share of the file in the page cache (mincore(2)) at every E-step, that is as
  the next pass begins. A cold first pass is measured apart: the file's pages are written
  back (fsync) and dropped (``posix_fadvise(POSIX_FADV_DONTNEED)``, checked by mincore),
  then ``fit(max_iter=0)`` (an initialisation pass, cold, and one E-step) runs, then the
  same fit warm.
* Hardware bounds: one pass over each file, cold (pages dropped) and from the page cache:
  a raw read (``readinto`` a 16 MiB buffer), emkit's own pass (``NpyFile.chunks``,
  ``ParquetFiles.chunks``, the chunks a fit reads) and, for Parquet, pyarrow alone
  (``read_row_group``, one thread, into a row-major array); the compute bound of one
  iteration, 4 N K D^2 + 7 N K D + 7 N K flops over the GEMM float64 rate measured at the
  start (n = 3072, one thread; ``bench_gmm.measure_rates``), and the full bound of
  ``bench_gmm`` (flops, N K exponentials, data bytes at the measured rates).
* Agreement: the largest relative difference (``max |a - b| / max |b|`` over weights, means
  and covariances) of the file fits' parameters from the in-memory fit's, after ITERS
  iterations.
* Peak memory: each variant's ``fit(max_iter=1)`` runs again in a fresh process
  (``--child``) that imports everything, warms up on a small array, resets VmHWM
  (``/proc/self/clear_refs``), then opens (or, in memory, loads) the data and fits; the peak
  resident set (VmHWM) is reported whole, with the resident set before the data.

Usage::

    PYTHONPATH=src python benchmarks/bench_out_of_core.py                  # ~25 min
    PYTHONPATH=src python benchmarks/bench_out_of_core.py --rows 2000000   # smoke run
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import gc
import json
import math
import mmap
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from bench_gmm import (
    CHILD_MARK,
    IDLE_RATES,
    Case,
    _jsonable,
    _row,
    _sec,
    _short,
    bound_seconds,
    child_result,
    machine_facts,
    make_start,
    measure_rates,
    proc_status,
    reset_peak,
    source_hash,
    threads,
    work,
)

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
RESULTS = ROOT / "benchmarks" / "results"
SEED = 20240701
D, K = 8, 16
ROWS = 100_000_000
BLOCK_ROWS = 1 << 20
"""Rows drawn at a time, and rows per Parquet row group."""
REG_COVAR = 1e-6
VARIANTS = ("npy", "parquet", "memory")
READ_BUFFER = 16 << 20
WARMUP_ROWS = 20_000

if str(SRC) not in sys.path:  # measure this checkout's emkit, not an installed one
    sys.path.insert(0, str(SRC))


# -- data ---------------------------------------------------------------------------------
def mixture() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, means and Cholesky factors of the covariances of the simulated mixture."""
    rng = np.random.default_rng([SEED, D, K])
    means = rng.normal(scale=3.0, size=(K, D))
    a = rng.normal(size=(K, D, D)) / np.sqrt(D)
    chol = np.linalg.cholesky(a @ np.swapaxes(a, 1, 2) + 0.3 * np.eye(D))
    return rng.dirichlet(np.full(K, 5.0)), means, chol


def draw_block(index: int, rows: int) -> np.ndarray:
    """Block ``index`` of the data, float32 of shape (rows, D), from its own generator."""
    weights, means, chol = mixture()
    rng = np.random.default_rng([SEED, D, K, index])
    labels = rng.choice(K, size=rows, p=weights)
    z = rng.standard_normal((rows, D))
    out = np.empty((rows, D), dtype=np.float32)
    for j in range(K):
        mine = labels == j
        out[mine] = means[j] + z[mine] @ chol[j].T
    return out


def data_paths(scratch: Path, rows: int, compression: str) -> dict[str, Path]:
    stem = f"mixture-n{rows}-d{D}-k{K}-seed{SEED}-float32"
    return {
        "npy": scratch / f"{stem}.npy",
        "parquet": scratch / f"{stem}-rg{BLOCK_ROWS}-{compression}.parquet",
    }


def _npy_ready(path: Path, rows: int) -> bool:
    if not path.exists():
        return False
    X = np.load(path, mmap_mode="r")
    return X.shape == (rows, D) and X.dtype == np.float32


def _parquet_ready(path: Path, rows: int, compression: str) -> bool:
    import pyarrow.parquet as pq

    if not path.exists():
        return False
    meta = pq.ParquetFile(path).metadata
    codec = meta.row_group(0).column(0).compression.lower()
    return meta.num_rows == rows and meta.num_columns == D and codec == compression


def write_data(paths: dict[str, Path], rows: int, compression: str) -> dict[str, Any]:
    """Write whichever of the two files is missing (to a temporary name, renamed when
    complete), drawing the blocks once for both."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    need_npy = not _npy_ready(paths["npy"], rows)
    need_pq = not _parquet_ready(paths["parquet"], rows, compression)
    t0 = time.perf_counter()
    if need_npy or need_pq:
        paths["npy"].parent.mkdir(parents=True, exist_ok=True)
        tmp_npy = paths["npy"].with_suffix(".npy.partial")
        tmp_pq = paths["parquet"].with_suffix(".parquet.partial")
        out = (
            np.lib.format.open_memmap(tmp_npy, mode="w+", dtype=np.float32, shape=(rows, D))
            if need_npy
            else None
        )
        schema = pa.schema([(f"x{j}", pa.float32()) for j in range(D)])
        writer = pq.ParquetWriter(tmp_pq, schema, compression=compression) if need_pq else None
        for index, start in enumerate(range(0, rows, BLOCK_ROWS)):
            block = draw_block(index, min(BLOCK_ROWS, rows - start))
            if out is not None:
                out[start : start + block.shape[0]] = block
            if writer is not None:
                columns = [pa.array(np.ascontiguousarray(block[:, j])) for j in range(D)]
                writer.write_table(
                    pa.Table.from_arrays(columns, schema=schema), row_group_size=BLOCK_ROWS
                )
        if out is not None:
            out.flush()
            del out
            os.replace(tmp_npy, paths["npy"])
        if writer is not None:
            writer.close()
            os.replace(tmp_pq, paths["parquet"])
    meta = pq.ParquetFile(paths["parquet"]).metadata
    return {
        "written": {"npy": need_npy, "parquet": need_pq},
        "write_seconds": time.perf_counter() - t0,
        "npy_bytes": paths["npy"].stat().st_size,
        "parquet_bytes": paths["parquet"].stat().st_size,
        "parquet_row_groups": meta.num_row_groups,
        "parquet_compression": compression,
        "data_bytes": rows * D * 4,
    }


# -- the page cache and read rates ------------------------------------------------------
def drop_cache(path: Path) -> dict[str, Any]:
    """Write back and drop ``path``'s pages from the page cache; the share of the file
    cached before and after (mincore)."""
    before = resident_fraction(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return {"resident_before": before, "resident_after": resident_fraction(path)}


def resident_fraction(path: Path) -> float:
    """Fraction of ``path``'s pages in the page cache (mincore(2) over a map of the file)."""
    size = path.stat().st_size
    page = mmap.PAGESIZE
    with open(path, "rb") as f, mmap.mmap(f.fileno(), size, prot=mmap.PROT_READ) as mapped:
        view = np.frombuffer(mapped, dtype=np.uint8)
        vec = np.zeros(-(-size // page), dtype=np.uint8)
        address = ctypes.c_void_p(view.ctypes.data)
        rc = _LIBC.mincore(address, ctypes.c_size_t(size), vec.ctypes.data_as(ctypes.c_void_p))
        del view
    if rc != 0:
        raise OSError(ctypes.get_errno(), "mincore failed")
    return float(np.count_nonzero(vec & 1)) / vec.size


_LIBC = ctypes.CDLL(None, use_errno=True)


def page_reclaim() -> list[dict[str, Any]]:
    """The DAMON schemes of this machine's kernel (/sys/kernel/mm/damon): a 'pageout' scheme
    takes pages out of memory, the page cache included, once they have been idle a while."""
    out = []
    root = Path("/sys/kernel/mm/damon/admin/kdamonds")
    for scheme in sorted(root.glob("*/contexts/*/schemes/*")):
        try:
            context = scheme.parents[1]
            state = (context.parents[1] / "state").read_text().strip()
            aggr_us = int((context / "monitoring_attrs/intervals/aggr_us").read_text())
            age = int((scheme / "access_pattern/age/min").read_text())
            filters = []
            for f in sorted((scheme / "ops_filters").glob("[0-9]*")):
                allow = (f / "allow").read_text().strip() == "Y"
                filters.append(f"{'allow' if allow else 'deny'} {(f / 'type').read_text().strip()}")
            out.append(
                {
                    "state": state,
                    "action": (scheme / "action").read_text().strip(),
                    "min_idle_seconds": age * aggr_us / 1e6,
                    "max_accesses_per_aggregation": int(
                        (scheme / "access_pattern/nr_accesses/max").read_text()
                    ),
                    "filters": filters,
                }
            )
        except (OSError, ValueError):
            continue
    return out


def raw_read(path: Path) -> float:
    """Seconds to read the whole file into one reused buffer."""
    buf = bytearray(READ_BUFFER)
    view = memoryview(buf)
    t0 = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while f.readinto(view):
            pass
    return time.perf_counter() - t0


def source_pass(source: Any) -> float:
    """Seconds of one pass of emkit's reader over a source (the chunks a fit reads)."""
    from emkit.execution.sources import DEFAULT_CHUNK_SIZE

    t0 = time.perf_counter()
    for _ in source.chunks(DEFAULT_CHUNK_SIZE):
        pass
    return time.perf_counter() - t0


def pyarrow_decode(path: Path) -> float:
    """Seconds to decode every row group with pyarrow alone, one thread, into Arrow columns
    and then a row-major float32 array of the group (what a reader must hand on)."""
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    pf = pq.ParquetFile(path)
    for g in range(pf.metadata.num_row_groups):
        table = pf.read_row_group(g, use_threads=False)
        block = np.empty((table.num_rows, table.num_columns), dtype=np.float32)
        for j, column in enumerate(table.columns):
            block[:, j] = column.to_numpy()
    return time.perf_counter() - t0


def read_rates(paths: dict[str, Path], cold: bool) -> dict[str, Any]:
    """One pass over each file by a raw read, by emkit's reader, and for Parquet by pyarrow
    alone: cold (each after dropping the file's pages) and from the page cache (best of
    two, right after a pass that brought the file in)."""
    import emkit

    passes = {
        "npy": {
            "raw": lambda: raw_read(paths["npy"]),
            "emkit": lambda: source_pass(emkit.open_data(paths["npy"])),
        },
        "parquet": {
            "raw": lambda: raw_read(paths["parquet"]),
            "pyarrow": lambda: pyarrow_decode(paths["parquet"]),
            "emkit": lambda: source_pass(emkit.open_data(paths["parquet"])),
        },
    }
    out: dict[str, Any] = {}
    for kind, readers in passes.items():
        for name, read in readers.items():
            if cold:
                out[f"{kind}_{name}_drop"] = drop_cache(paths[kind])
                out[f"{kind}_{name}_cold_s"] = read()
            raw_read(paths[kind])  # the whole file in the cache
            out[f"{kind}_{name}_warm_s"] = min(read() for _ in range(2))
            done = {k: v for k, v in out.items() if k.startswith(f"{kind}_{name}_")}
            shown = ", ".join(f"{k} {v:.2f} s" for k, v in done.items() if k.endswith("_s"))
            print(f"  {kind} {name}: {shown}", flush=True)
    return out


# -- fits ---------------------------------------------------------------------------------
def face(start: dict[str, np.ndarray], max_iter: int, n_jobs: int) -> Any:
    import emkit

    return emkit.GaussianMixture(
        n_components=K,
        covariance_type="full",
        tol=0.0,
        reg_covar=REG_COVAR,
        max_iter=max_iter,
        n_jobs=n_jobs,
        random_state=0,
        **{key: value.copy() for key, value in start.items()},
    )


def fit_seconds(est: Any, data: Any) -> float:
    """Seconds of ``est.fit(data)``; the ConvergenceWarning of ``tol=0`` is expected."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        est.fit(data)
        return time.perf_counter() - t0


def variant_data(variant: str, paths: dict[str, Path], X: np.ndarray | None) -> Any:
    import emkit

    if variant == "memory":
        assert X is not None
        return X
    return emkit.open_data(paths[variant])


def warm_up(start: dict[str, np.ndarray], n_jobs: int) -> None:
    """A small fit of each kind of data (kernels, thread pools, pyarrow) before timing."""
    block = draw_block(0, WARMUP_ROWS)
    fit_seconds(face(start, 1, n_jobs), block)


class PassClock:
    """A callback of ``emkit.config_context``: the time of every E-step, and how much of
    the file (if any) was in the page cache when it ended (that is, as the next pass began)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.times: list[float] = []
        self.resident: list[float] = []

    def __call__(self, info: Any) -> None:
        self.times.append(time.perf_counter())
        self.resident.append(resident_fraction(self.path) if self.path else math.nan)


def time_variants(
    paths: dict[str, Path],
    X: np.ndarray,
    start: dict[str, np.ndarray],
    n_jobs: int,
    iters: int,
    repeats: int,
) -> dict[str, Any]:
    """``repeats`` rounds of fit(max_iter=iters) on each variant; per-iteration seconds are
    the times between successive E-steps (an M-step and a pass over the data)."""
    import emkit

    out: dict[str, Any] = {"n_jobs": n_jobs}
    fitted: dict[str, Any] = {}
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    with threads(True):
        warm_up(start, n_jobs)
        for _ in range(repeats):
            for variant in VARIANTS:
                path = paths.get(variant)
                resident_before = resident_fraction(path) if path else math.nan
                clock = PassClock(path)
                est = face(start, iters, n_jobs)
                with emkit.config_context(callback=clock):
                    t0 = time.perf_counter()
                    seconds = fit_seconds(est, variant_data(variant, paths, X))
                intervals = np.diff(clock.times).tolist()
                runs[variant].append(
                    {
                        "fit_seconds": seconds,
                        "first_e_step_s": clock.times[0] - t0,
                        "intervals_s": intervals,
                        "resident_before_fit": resident_before,
                        "resident_at_e_steps": clock.resident,
                    }
                )
                fitted[variant] = est
                print(
                    f"  n_jobs={n_jobs} {variant}: fit {seconds:.1f} s, iterations "
                    + ", ".join(f"{x:.2f}" for x in intervals)
                    + (
                        f" s; resident before {resident_before:.2f}, at E-steps "
                        + ", ".join(f"{r:.2f}" for r in clock.resident)
                        if path
                        else " s"
                    ),
                    flush=True,
                )
    for variant in VARIANTS:
        every = [x for run in runs[variant] for x in run["intervals_s"]]
        out[variant] = {
            "s_per_iter": statistics.median(every),
            "min_s": min(every),
            "max_s": max(every),
            "runs": runs[variant],
        }
    out["agreement"] = agreement(fitted)
    return out


def agreement(fitted: dict[str, Any]) -> dict[str, Any]:
    """Largest relative difference of each file fit's parameters from the in-memory fit's."""
    ref = fitted["memory"]
    out: dict[str, Any] = {}
    for variant in ("npy", "parquet"):
        est = fitted[variant]
        diffs = {
            name: float(
                np.max(np.abs(getattr(est, name) - getattr(ref, name)))
                / np.max(np.abs(getattr(ref, name)))
            )
            for name in ("weights_", "means_", "covariances_")
        }
        out[variant] = {
            "max_rel_diff": max(diffs.values()),
            "by_array": diffs,
            "n_iter": int(est.n_iter_),
            "lower_bound": float(est.lower_bound_),
        }
    out["memory"] = {"n_iter": int(ref.n_iter_), "lower_bound": float(ref.lower_bound_)}
    return out


def cold_first_pass(
    paths: dict[str, Path], start: dict[str, np.ndarray], n_jobs: int
) -> dict[str, Any]:
    """fit(max_iter=0) (the initialisation pass and one E-step) on each file with its pages
    dropped from the cache, then the same fit again, warm."""
    import emkit

    out: dict[str, Any] = {"n_jobs": n_jobs}
    with threads(True):
        warm_up(start, n_jobs)
        for variant in ("npy", "parquet"):
            drop = drop_cache(paths[variant])
            cold = fit_seconds(face(start, 0, n_jobs), emkit.open_data(paths[variant]))
            warm = fit_seconds(face(start, 0, n_jobs), emkit.open_data(paths[variant]))
            out[variant] = {"drop": drop, "cold_s": cold, "warm_s": warm}
            print(f"  {variant}: cold {cold:.1f} s, warm {warm:.1f} s", flush=True)
    return out


# -- peak memory --------------------------------------------------------------------------
def run_child(args: argparse.Namespace) -> dict[str, Any]:
    import pyarrow.parquet  # noqa: F401
    import sklearn.mixture  # noqa: F401

    paths = data_paths(args.scratch, args.rows, args.compression)
    start = {k: np.asarray(v) for k, v in json.loads(args.start).items()}
    n_jobs = args.n_jobs[0]
    with threads(True):
        warm_up(start, n_jobs)
        gc.collect()
        was_reset = reset_peak()
        before = proc_status()
        X = np.load(paths["npy"]) if args.child == "memory" else None
        seconds = fit_seconds(face(start, 1, n_jobs), variant_data(args.child, paths, X))
        after = proc_status()
    return {
        "variant": args.child,
        "n_jobs": n_jobs,
        "rss_before": before["VmRSS"],
        "hwm_before": before["VmHWM"],
        "peak_rss": after["VmHWM"],
        "peak_reset": was_reset,
        "fit_seconds": seconds,
        "source_hash": source_hash(),
    }


def measure_memory(
    args: argparse.Namespace, variant: str, start: dict[str, np.ndarray], n_jobs: int
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        variant,
        "--rows",
        str(args.rows),
        "--scratch",
        str(args.scratch),
        "--compression",
        args.compression,
        "--n-jobs",
        str(n_jobs),
        "--start",
        json.dumps({k: v.tolist() for k, v in start.items()}),
    ]
    return child_result(cmd, variant)


# -- output -------------------------------------------------------------------------------
def _gb(x: float) -> str:
    return f"{x / 1e9:.2f}"


def markdown(meta: dict[str, Any]) -> str:
    facts, rates, files = meta["machine"], meta["rates"], meta["files"]
    rows, data_bytes = meta["rows"], files["data_bytes"]
    b = meta["bounds"]
    lines = [
        f"## GaussianMixture from files: {_short(rows)} x {D} float32, K = {K}, full",
        "",
        f"{meta['date']}; {facts['cpu']}, {facts['usable_cpus']} cores, "
        f"{facts['memory_bytes'] / 2**30:.0f} GiB; numpy {facts['numpy']}, pyarrow "
        f"{meta['pyarrow']}; emkit {facts['emkit']} (commit {facts['git_commit']}, sources "
        f"{facts['emkit_source_hash']}). Load average at start {facts['loadavg_start'][0]:.2f}, "
        f"at end {meta['loadavg_end'][0]:.2f}.",
        f"Measured rates (one thread): GEMM float64 {rates['gemm_flops_per_s'] / 1e9:.1f} "
        f"GFLOP/s, np.exp {rates['exp_per_s'] / 1e9:.2f} G/s, memory copy "
        f"{rates['copy_bytes_per_s'] / 1e9:.1f} GB/s.",
    ]
    for scheme in meta["page_reclaim"]:
        lines.append(
            f"Page reclaim: a DAMON scheme ({scheme['state']}) applies '{scheme['action']}' to "
            f"memory idle for {scheme['min_idle_seconds']:.0f} s or more (at most "
            f"{scheme['max_accesses_per_aggregation']} access per aggregation interval; filters: "
            f"{', '.join(scheme['filters']) or 'none'}): file pages, the page cache, leave "
            "memory about a minute after they were last read, however much memory is free."
        )
    lines += [
        "",
        f"Files (scratch {meta['scratch']}): .npy {_gb(files['npy_bytes'])} GB; Parquet "
        f"{_gb(files['parquet_bytes'])} GB, {files['parquet_row_groups']} row groups of "
        f"{BLOCK_ROWS} rows, {files['parquet_compression']} compression; data "
        f"{_gb(data_bytes)} GB. "
        + (
            f"Written in this run ({files['write_seconds']:.0f} s)."
            if any(files["written"].values())
            else "Reused from an earlier run."
        ),
        "",
        "Read rates, one pass over the file (GB = 10^9 bytes of file; cold: just after its "
        "pages were dropped; page cache: best of two passes right after a pass that read it "
        "in):",
        "",
        _row(["pass", "cold s", "cold GB/s", "page cache s", "page cache GB/s"]),
        "|---|---:|---:|---:|---:|",
    ]
    r = meta["read"]
    labels = {
        "npy_raw": "`.npy`, raw read (readinto a 16 MiB buffer)",
        "npy_emkit": "`.npy`, emkit `NpyFile.chunks` (a copy per chunk of 16384 rows)",
        "parquet_raw": "Parquet, raw read",
        "parquet_pyarrow": "Parquet, pyarrow alone (read_row_group, one thread, to row-major)",
        "parquet_emkit": "Parquet, emkit `ParquetFiles.chunks`",
    }
    for key, label in labels.items():
        nbytes = files["npy_bytes"] if key.startswith("npy") else files["parquet_bytes"]
        cells = [label]
        for state in ("cold", "warm"):
            seconds = r.get(f"{key}_{state}_s")
            cells += (
                ["-", "-"]
                if seconds is None
                else [f"{seconds:.2f}", f"{nbytes / seconds / 1e9:.2f}"]
            )
        lines.append(_row(cells))
    drops = [v for k, v in r.items() if k.endswith("_drop")]
    if cold := meta.get("cold"):
        drops += [cold[v]["drop"] for v in ("npy", "parquet")]
    if drops:
        lines.append(
            "\nBefore every cold pass, posix_fadvise(DONTNEED) left at most "
            f"{max(d['resident_after'] for d in drops):.1%} of the file in the page cache "
            f"(before it: {min(d['resident_before'] for d in drops):.0%} to "
            f"{max(d['resident_before'] for d in drops):.0%})."
        )
    lines += [
        "",
        f"Bound of one E+M iteration: compute {_sec(b['compute_s'])} s (4 N K D^2 + 7 N K D "
        f"+ 7 N K = {b['work']['flops']:.3g} flops / GEMM rate); with N K exponentials and "
        f"the data bytes at the measured rates {_sec(b['full_s'])} s; at BENCHMARKING.md's "
        f"idle-machine rates {_sec(b['idle_s'])} s.",
        "",
        f"Seconds per iteration: times between successive E-steps of fit(max_iter="
        f"{meta['iters']}) (emkit.config_context's callback), median over "
        f"{meta['repeats']} round(s) alternating the three; 'resident' is the share of the "
        "file in the page cache as each pass began (mincore):",
        "",
    ]
    head = [
        "data",
        "n_jobs",
        "s/iter",
        "fastest, slowest",
        "/ in memory",
        "/ compute bound",
        "/ full bound",
        "resident",
    ]
    lines += [_row(head), "|---|" + "---:|" * (len(head) - 1)]
    names = {"npy": "`.npy` file", "parquet": "Parquet file", "memory": "in memory"}
    for timing in meta["timings"]:
        ref = timing["memory"]["s_per_iter"]
        for variant in VARIANTS:
            t = timing[variant]
            s = t["s_per_iter"]
            resident = [x for run in t["runs"] for x in run["resident_at_e_steps"][:-1]]
            lines.append(
                _row(
                    [
                        names[variant],
                        str(timing["n_jobs"]),
                        _sec(s),
                        f"{_sec(t['min_s'])}, {_sec(t['max_s'])}",
                        f"{s / ref:.2f}",
                        f"{s / b['compute_s']:.2f}",
                        f"{s / b['full_s']:.2f}",
                        "-" if variant == "memory" else ", ".join(f"{x:.0%}" for x in resident),
                    ]
                )
            )
    lines += ["", "Agreement with the in-memory fit after the same iterations:", ""]
    for timing in meta["timings"]:
        agree = timing["agreement"]
        lines.append(
            f"- n_jobs={timing['n_jobs']}: "
            + "; ".join(
                f"{v} largest relative difference {agree[v]['max_rel_diff']:.1e} (mean "
                f"log-likelihood {agree[v]['lower_bound']:.10f})"
                for v in ("npy", "parquet")
            )
            + f"; in memory {agree['memory']['lower_bound']:.10f}."
        )
    cold = meta.get("cold")
    if cold:
        lines += [
            "",
            f"Cold first pass (n_jobs={cold['n_jobs']}), fit(max_iter=0): the initialisation "
            "pass (cold) and one E-step, with the file's pages dropped, then warm: "
            + "; ".join(
                f"{names[v]} {cold[v]['cold_s']:.1f} s cold, {cold[v]['warm_s']:.1f} s warm "
                f"({cold[v]['cold_s'] - cold[v]['warm_s']:+.1f} s)"
                for v in ("npy", "parquet")
            )
            + ".",
        ]
    mem = meta.get("memory")
    if mem:
        lines += [
            "",
            "Peak resident memory of a fresh process, fit(max_iter=1) (MB = 10^6 bytes):",
            "",
            _row(["data", "n_jobs", "resident before the data MB", "peak MB", "peak / data"]),
            "|---|---:|---:|---:|---:|",
        ]
        for variant in VARIANTS:
            m = mem[variant]
            lines.append(
                _row(
                    [
                        names[variant],
                        str(m["n_jobs"]),
                        f"{m['rss_before'] / 1e6:.0f}",
                        f"**{m['peak_rss'] / 1e6:.0f}**",
                        f"{m['peak_rss'] / data_bytes:.2f}",
                    ]
                )
            )
        npy, parquet = (mem[v]["peak_rss"] for v in ("npy", "parquet"))
        ratios = {
            (v, timing["n_jobs"]): timing[v]["s_per_iter"] / timing["memory"]["s_per_iter"]
            for timing in meta["timings"]
            for v in ("npy", "parquet")
        }
        lines += [
            "",
            f"Goals: a file fit under 1 GB of peak resident memory (.npy {npy / 1e9:.2f} GB, "
            f"Parquet {parquet / 1e9:.2f} GB: {'met' if max(npy, parquet) < 1e9 else 'MISSED'}); "
            "seconds per iteration within 1.3x of the in-memory fit's: "
            + "; ".join(
                f"{names[v]} n_jobs={n} {x:.2f} ({'met' if x <= 1.3 else 'MISSED'})"
                for (v, n), x in ratios.items()
            )
            + ".",
        ]
    if meta["notes"]:
        lines += ["", "Notes:"] + [f"- {note}" for note in meta["notes"]]
    return "\n".join(lines) + "\n"


# -- main ---------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--rows", type=int, default=ROWS, help=f"rows of data, default {ROWS}")
    p.add_argument(
        "--scratch",
        type=Path,
        default=Path("/tmp/emkit-bench"),
        help="folder of the data files (kept; reused when there), default /tmp/emkit-bench",
    )
    p.add_argument(
        "--compression",
        choices=("snappy", "none"),
        default="snappy",
        help="Parquet compression, default snappy",
    )
    p.add_argument(
        "--n-jobs", type=int, nargs="+", default=[1, 2], help="n_jobs of the fits, default 1 2"
    )
    p.add_argument(
        "--iters", type=int, default=4, help="max_iter of the timed fits (>= 2), default 4"
    )
    p.add_argument("--repeats", type=int, default=1, help="timed rounds, default 1")
    p.add_argument("--skip-cold", action="store_true", help="no cold-cache measurements")
    p.add_argument("--skip-memory", action="store_true", help="skip the peak-memory processes")
    p.add_argument("--output", type=Path, default=None, help="results stem (default by --rows)")
    p.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument("--start", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.iters < 2:
        p.error("--iters must be at least 2")
    if args.rows < 20_000:
        p.error("--rows must be at least 20000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(CHILD_MARK + json.dumps(run_child(args)))
        return 0
    import pyarrow
    import sklearn.mixture  # noqa: F401

    import emkit  # noqa: F401

    meta: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "rows": args.rows,
        "d": D,
        "k": K,
        "iters": args.iters,
        "repeats": args.repeats,
        "scratch": str(args.scratch),
        "pyarrow": pyarrow.__version__,
        "machine": machine_facts(()),
        "page_reclaim": page_reclaim(),
        "notes": [],
    }
    t_start = time.perf_counter()
    print("measuring machine rates ...", flush=True)
    meta["rates"] = rates = measure_rates()
    w = work(Case(args.rows, D, K, "full"), args.rows, 4)
    meta["bounds"] = {
        "work": w,
        "compute_s": w["flops"] / rates["gemm_flops_per_s"],
        "full_s": bound_seconds(w, rates),
        "idle_s": bound_seconds(w, IDLE_RATES),
    }
    paths = data_paths(args.scratch, args.rows, args.compression)
    print(f"data files {paths['npy']} and {paths['parquet']} ...", flush=True)
    meta["files"] = files = write_data(paths, args.rows, args.compression)
    print(
        f"  .npy {files['npy_bytes'] / 1e9:.2f} GB, Parquet {files['parquet_bytes'] / 1e9:.2f} GB "
        f"({files['parquet_compression']}, {files['parquet_row_groups']} row groups); written "
        f"now: {files['written']} in {files['write_seconds']:.0f} s",
        flush=True,
    )
    start = make_start(np.load(paths["npy"], mmap_mode="r"), Case(args.rows, D, K, "full"))

    print("read rates ...", flush=True)
    meta["read"] = read_rates(paths, cold=not args.skip_cold)
    if not args.skip_cold:
        print("cold first pass ...", flush=True)
        meta["cold"] = cold_first_pass(paths, start, max(args.n_jobs))

    X = np.load(paths["npy"])
    meta["timings"] = []
    for n_jobs in args.n_jobs:
        print(f"timing, n_jobs={n_jobs} ...", flush=True)
        timing = time_variants(paths, X, start, n_jobs, args.iters, args.repeats)
        meta["timings"].append(timing)
        print(
            "  s/iter "
            + ", ".join(f"{v} {timing[v]['s_per_iter']:.3f}" for v in VARIANTS)
            + f"; agreement {timing['agreement']}",
            flush=True,
        )
    del X
    gc.collect()

    if not args.skip_memory:
        n_jobs = max(args.n_jobs)
        meta["memory"] = {}
        for variant in VARIANTS:
            print(f"peak memory, {variant} ...", flush=True)
            meta["memory"][variant] = m = measure_memory(args, variant, start, n_jobs)
            print(f"  peak {m['peak_rss'] / 1e6:.0f} MB", flush=True)
    meta["loadavg_end"] = os.getloadavg()
    meta["wall_seconds"] = time.perf_counter() - t_start
    hashes = {m["source_hash"] for m in meta.get("memory", {}).values()} | {source_hash()}
    if hashes != {meta["machine"]["emkit_source_hash"]}:
        meta["notes"].append(
            "emkit's sources changed while the benchmark ran (digests "
            f"{', '.join(sorted(hashes))} after {meta['machine']['emkit_source_hash']} at the "
            "start; the timed fits ran on the modules imported at the start, the memory "
            "processes on the sources of their own start)"
        )
    table = markdown(meta)
    print("\n" + table)
    stem = args.output or RESULTS / (
        "out_of_core" if args.rows == ROWS else f"out_of_core_{_short(args.rows)}"
    )
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".md").write_text(table)
    stem.with_suffix(".json").write_text(json.dumps(_jsonable(meta), indent=1) + "\n")
    print(f"wrote {stem}.md and .json ({meta['wall_seconds']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
