"""emkit.GaussianMixture against sklearn.mixture.GaussianMixture: time per EM iteration at
equal work, the machine's lower bound for that iteration, and the peak memory of a fit.

Method (see benchmarks/README.md and BENCHMARKING.md):

* Equal work: the same seeded data, the same initial parameters (weights_init, means_init,
  precisions_init given to both), ``tol=0`` and a fixed ``max_iter``; the final mean
  log-likelihoods (``score(X)``) must agree to a relative 1e-6, else the run fails.
* Seconds per iteration: ``(t(max_iter=ITERS) - t(max_iter=1)) / (ITERS - 1)``, so setup,
  validation and scikit-learn's final E-step cancel. One warm-up fit of each first, then
  ``--repeats`` rounds in the order emkit, sklearn, emkit, sklearn; the median is reported.
  The main comparison runs with one thread each (threadpoolctl, plus Numba's pool when loaded);
  a second set of columns uses the libraries' default thread counts.
* Bound: the work of one E+M iteration (BENCHMARKING.md) divided by rates measured at the
  start of the run: GEMM float64 (n=3072, one thread), np.exp, memory copy.
* Peak memory: every fit runs again in a fresh process (``--child``); the peak resident set
  (VmHWM) is reset once the data is resident, and the peak added by the fit is reported.

Usage::

    PYTHONPATH=src python benchmarks/bench_gmm.py                  # all cases, float64
    PYTHONPATH=src python benchmarks/bench_gmm.py --dtype float32  # emkit gets float32 X
    PYTHONPATH=src python benchmarks/bench_gmm.py --quick --cases 100k-2-4-full
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
RESULTS = ROOT / "benchmarks" / "results"
CHILD_MARK = "BENCH_CHILD_RESULT "
SEED = 20240601
GEN_CHUNK = 65_536
RTOL_LOGLIK = 1e-6
TOOLS = ("emkit", "sklearn")

if str(SRC) not in sys.path:  # measure this checkout's emkit, not an installed one
    sys.path.insert(0, str(SRC))


def _short(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


# -- cases --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    n: int
    d: int
    k: int
    covariance: str

    @property
    def name(self) -> str:
        return f"{_short(self.n)}-{self.d}-{self.k}-{self.covariance}"

    def rows(self, quick: bool) -> int:
        return self.n // 10 if quick else self.n


CASES = (
    Case(100_000, 2, 4, "full"),
    Case(100_000, 16, 8, "full"),
    Case(100_000, 16, 8, "diag"),
    Case(1_000_000, 8, 16, "full"),
    Case(1_000_000, 8, 16, "diag"),
)
CASE_BY_NAME = {c.name: c for c in CASES}


# -- data and start -----------------------------------------------------------------------
def make_data(case: Case, n: int, dtype: type) -> np.ndarray:
    """A seeded K-component Gaussian mixture with random full covariances, drawn in chunks so
    that generating it leaves no large temporaries behind."""
    d, k = case.d, case.k
    rng = np.random.default_rng([SEED, d, k])
    centres = rng.normal(scale=3.0, size=(k, d))
    a = rng.normal(size=(k, d, d)) / np.sqrt(d)
    covs = a @ np.swapaxes(a, 1, 2) + 0.3 * np.eye(d)
    chol = np.linalg.cholesky(covs)
    weights = rng.dirichlet(np.full(k, 5.0))
    X = np.empty((n, d), dtype=dtype)
    for start in range(0, n, GEN_CHUNK):
        stop = min(n, start + GEN_CHUNK)
        labels = rng.choice(k, size=stop - start, p=weights)
        z = rng.standard_normal((stop - start, d))
        block = np.empty_like(z)
        for j in range(k):
            rows = labels == j
            block[rows] = centres[j] + z[rows] @ chol[j].T
        X[start:stop] = block
    return X


def make_start(X: np.ndarray, case: Case) -> dict[str, np.ndarray]:
    """Initial parameters given to both tools: K distinct data rows as means, uniform weights,
    every component at the pooled covariance of a 10k-row subsample (its diagonal for 'diag')."""
    rng = np.random.default_rng([SEED, 1, case.d, case.k])
    n = X.shape[0]
    means = X[np.sort(rng.choice(n, size=case.k, replace=False))].astype(np.float64)
    sub = X[np.sort(rng.choice(n, size=min(n, 10_000), replace=False))].astype(np.float64)
    pooled = np.cov(sub, rowvar=False)
    if case.covariance == "full":
        precisions = np.repeat(np.linalg.inv(pooled)[None], case.k, axis=0)
    else:
        precisions = np.repeat((1.0 / np.diag(pooled))[None], case.k, axis=0)
    return {
        "weights_init": np.full(case.k, 1.0 / case.k),
        "means_init": means,
        "precisions_init": precisions,
    }


# -- fitting ------------------------------------------------------------------------------
def estimator(tool: str, case: Case, start: dict[str, np.ndarray], max_iter: int) -> Any:
    if tool == "emkit":
        from emkit import GaussianMixture
    else:
        from sklearn.mixture import GaussianMixture
    return GaussianMixture(
        n_components=case.k,
        covariance_type=case.covariance,
        tol=0.0,
        reg_covar=1e-6,
        max_iter=max_iter,
        n_init=1,
        random_state=0,
        **{key: value.copy() for key, value in start.items()},
    )


def timed_fit(est: Any, X: np.ndarray, other_warnings: list[str] | None = None) -> float:
    """Seconds of ``est.fit(X)``; ConvergenceWarnings (expected at tol=0) are swallowed and any
    other warning is recorded."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        est.fit(X)
        elapsed = time.perf_counter() - t0
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning) and other_warnings is not None:
            other_warnings.append(f"{w.category.__name__}: {w.message}")
    return elapsed


@contextlib.contextmanager
def threads(one: bool) -> Iterator[None]:
    """One thread for BLAS/OpenMP (and Numba, when loaded), or the defaults."""
    if not one:
        yield
        return
    numba = sys.modules.get("numba")
    before = numba.get_num_threads() if numba is not None else None
    with threadpool_limits(limits=1):
        if numba is not None:
            numba.set_num_threads(1)
        try:
            yield
        finally:
            if numba is not None:
                numba.set_num_threads(before)


def time_per_iteration(
    case: Case,
    data: dict[str, np.ndarray],
    start: dict[str, np.ndarray],
    iters: int,
    repeats: int,
    one_thread: bool,
    notes: list[str],
) -> dict[str, Any]:
    """Warm up, then ``repeats`` rounds of (ITERS: A B, 1: A B); per-iteration medians."""
    raw: dict[str, dict[str, list[float]]] = {t: {"t_iters": [], "t_1": []} for t in TOOLS}
    last: dict[str, Any] = {}
    with threads(one_thread):
        for tool in TOOLS:
            timed_fit(estimator(tool, case, start, 1), data[tool], notes)
        for _ in range(repeats):
            for max_iter, key in ((iters, "t_iters"), (1, "t_1")):
                for tool in TOOLS:
                    est = estimator(tool, case, start, max_iter)
                    raw[tool][key].append(timed_fit(est, data[tool], notes))
                    if max_iter == iters:
                        last[tool] = est
    out: dict[str, Any] = {"raw": raw, "estimators": last}
    for tool in TOOLS:
        per = [
            (a - b) / (iters - 1)
            for a, b in zip(raw[tool]["t_iters"], raw[tool]["t_1"], strict=True)
        ]
        out[tool] = {
            "s_per_iter": statistics.median(per),
            "s_per_iter_each": per,
            "t_iters_median": statistics.median(raw[tool]["t_iters"]),
            "t_1_median": statistics.median(raw[tool]["t_1"]),
        }
    return out


# -- machine rates and the bound ----------------------------------------------------------
def measure_rates() -> dict[str, float]:
    """GEMM float64 (n=3072, one thread), np.exp and memory copy rates; about two seconds."""
    rng = np.random.default_rng(0)
    with threads(True):
        n = 3072
        a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
        c = np.empty((n, n))
        np.matmul(a[:512, :512], b[:512, :512])
        gemm = min(_clock(np.matmul, a, b, out=c) for _ in range(2))
        x = rng.uniform(-20.0, 0.0, size=1 << 22)
        y = np.empty_like(x)
        np.exp(x, out=y)
        exp = min(_clock(np.exp, x, out=y) for _ in range(5))
        src = np.ones(1 << 24)
        dst = np.empty_like(src)
        np.copyto(dst, src)
        copy = min(_clock(np.copyto, dst, src) for _ in range(3))
    return {
        "gemm_flops_per_s": 2.0 * n**3 / gemm,
        "exp_per_s": x.size / exp,
        "copy_bytes_per_s": 2.0 * src.nbytes / copy,
    }


def _clock(fn: Callable[..., object], *args: Any, **kwargs: Any) -> float:
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t0


def work(case: Case, n: int, itemsize: int) -> dict[str, float]:
    """Flops, exponentials and bytes of one E+M iteration with the data read once."""
    d, k = case.d, case.k
    if case.covariance == "full":
        flops = 4 * n * k * d * d + 7 * n * k * d + 7 * n * k
    else:
        flops = 8 * n * k * d + 8 * n * k
    return {"flops": float(flops), "exps": float(n * k), "bytes": float(itemsize * n * d)}


IDLE_RATES = {"gemm_flops_per_s": 94e9, "exp_per_s": 1.5e9, "copy_bytes_per_s": 23e9}
"""BENCHMARKING.md's one-thread rates of an idle machine of this kind, for a second bound."""


def bound_seconds(w: dict[str, float], rates: dict[str, float]) -> float:
    return (
        w["flops"] / rates["gemm_flops_per_s"]
        + w["exps"] / rates["exp_per_s"]
        + w["bytes"] / rates["copy_bytes_per_s"]
    )


# -- peak memory --------------------------------------------------------------------------
def proc_status() -> dict[str, int]:
    """VmRSS, VmHWM and friends from /proc/self/status, in bytes."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.startswith("Vm") and value.strip().endswith("kB"):
                out[key] = int(value.split()[0]) * 1024
    return out


def reset_peak() -> bool:
    """Reset VmHWM to the current resident size (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def run_child(tool: str, case_name: str, dtype: str, iters: int, quick: bool) -> dict[str, Any]:
    """Run one fit in a fresh interpreter; one thread, same data and start as the timing."""
    case = CASE_BY_NAME[case_name]
    np_dtype = np.dtype(dtype).type
    # imports (and their memory) happen before the measurement
    import sklearn.mixture  # noqa: F401

    import emkit  # noqa: F401

    X = make_data(case, case.rows(quick), np_dtype)
    start = make_start(X, case)
    if tool == "sklearn" and X.dtype != np.float64:
        X = X.astype(np.float64)
    notes: list[str] = []
    with threads(True):
        timed_fit(estimator(tool, case, start, 1), np.ascontiguousarray(X[:2000]), notes)
        gc.collect()
        was_reset = reset_peak()
        before = proc_status()
        seconds = timed_fit(estimator(tool, case, start, iters), X, notes)
        after = proc_status()
    base = before["VmRSS"] if was_reset else before["VmHWM"]
    return {
        "tool": tool,
        "case": case_name,
        "dtype": str(X.dtype),
        "rows": X.shape[0],
        "data_bytes": X.nbytes,
        "rss_before": before["VmRSS"],
        "hwm_before": before["VmHWM"],
        "hwm_after": after["VmHWM"],
        "peak_reset": was_reset,
        "peak_extra_bytes": after["VmHWM"] - base,
        "fit_seconds": seconds,
        "iters": iters,
        "source_hash": source_hash(),
        "warnings": notes,
    }


def measure_memory(tool: str, case: Case, dtype: str, iters: int, quick: bool) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        tool,
        "--case",
        case.name,
        "--dtype",
        dtype,
        "--iters",
        str(iters),
    ] + (["--quick"] if quick else [])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith(CHILD_MARK):
            return json.loads(line[len(CHILD_MARK) :])
    raise RuntimeError(
        f"memory child {tool} {case.name} failed (rc={proc.returncode}):\n"
        f"{proc.stdout}\n{proc.stderr}"
    )


# -- facts about the run ------------------------------------------------------------------
def source_hash() -> str:
    """Digest of emkit's sources, to notice edits made while the benchmark runs."""
    h = hashlib.sha1()
    for path in sorted((SRC / "emkit").rglob("*.py")):
        h.update(str(path.relative_to(SRC)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def machine_facts() -> dict[str, Any]:
    import scipy
    import sklearn

    import emkit

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        (
            int(line.split()[1]) * 1024
            for line in open("/proc/meminfo")
            if line.startswith("MemTotal")
        ),
        0,
    )
    pools = [
        {
            key: info.get(key)
            for key in (
                "internal_api",
                "prefix",
                "version",
                "num_threads",
                "threading_layer",
                "architecture",
            )
        }
        for info in threadpool_info()
    ]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "memory_bytes": mem,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "emkit": emkit.__version__,
        "git_commit": commit,
        "emkit_source_hash": source_hash(),
        "threadpools": pools,
        "loadavg_start": os.getloadavg(),
    }


# -- output -------------------------------------------------------------------------------
def markdown(meta: dict[str, Any], results: list[dict[str, Any]]) -> str:
    r = meta["rates"]
    facts = meta["machine"]
    blas = ", ".join(
        sorted(
            {
                f"{p['internal_api']} {p['version']} ({p['prefix']}, "
                f"{p['threading_layer'] or '-'}, {p['num_threads']} threads)"
                for p in facts["threadpools"]
            }
        )
    )
    lines = [
        f"## GaussianMixture: emkit vs scikit-learn, emkit input {meta['dtype']}",
        "",
        f"{meta['date']}; {facts['cpu']}, {facts['usable_cpus']} cores, "
        f"{facts['memory_bytes'] / 2**30:.0f} GiB; {blas}.",
        f"numpy {facts['numpy']}, scipy {facts['scipy']}, scikit-learn {facts['sklearn']}, "
        f"emkit {facts['emkit']} (commit {facts['git_commit']}, sources "
        f"{facts['emkit_source_hash']}). Load average at start {facts['loadavg_start'][0]:.2f}, "
        f"at end {meta['loadavg_end'][0]:.2f}.",
        f"Measured rates (one thread): GEMM float64 {r['gemm_flops_per_s'] / 1e9:.1f} GFLOP/s, "
        f"np.exp {r['exp_per_s'] / 1e9:.2f} G/s, memory copy {r['copy_bytes_per_s'] / 1e9:.1f}"
        " GB/s.",
        f"Seconds per EM iteration = (t(max_iter={meta['iters']}) - t(max_iter=1)) / "
        f"{meta['iters'] - 1}, median of {meta['repeats']} alternated repeats after a warm-up; "
        "tol=0, same data and same initial parameters for both.",
        "1 thr: BLAS/OpenMP (and Numba) limited to one thread each; default: the libraries' "
        "own thread counts.",
    ]
    if meta["dtype"] != "float64":
        lines.append(
            f"emkit is given {meta['dtype']} data; scikit-learn is given the same "
            "values converted to float64 (the bound counts "
            f"{np.dtype(meta['dtype']).itemsize}-byte data)."
        )
    if meta["quick"]:
        lines.append("QUICK RUN: N divided by 10; not for quoting.")
    lines += [
        "",
        "| case (N, D, K, cov) | emkit s/iter 1 thr | sklearn s/iter 1 thr | speed-up 1 thr "
        "| bound s/iter | emkit/bound | sklearn/bound | emkit s/iter default "
        "| sklearn s/iter default | speed-up default | peak extra MB emkit "
        "| peak extra MB sklearn | sklearn/emkit memory | mean log-lik. | rel. diff. |",
        "|---|" + "---:|" * 14,
    ]
    for res in results:
        one = res["one_thread"]
        dflt = res.get("default_threads")
        mem = res.get("memory")
        e, s, b = one["emkit"]["s_per_iter"], one["sklearn"]["s_per_iter"], res["bound_s"]
        cells = [
            f"{_short(res['rows'])}, {res['d']}, {res['k']}, {res['covariance']}",
            _sec(e),
            _sec(s),
            f"{s / e:.2f}x",
            _sec(b),
            f"{e / b:.1f}",
            f"{s / b:.1f}",
        ]
        if dflt:
            de, ds = dflt["emkit"]["s_per_iter"], dflt["sklearn"]["s_per_iter"]
            cells += [_sec(de), _sec(ds), f"{ds / de:.2f}x"]
        else:
            cells += ["-"] * 3
        if mem:
            me, ms = mem["emkit"]["peak_extra_bytes"], mem["sklearn"]["peak_extra_bytes"]
            cells += [f"{me / 1e6:.1f}", f"{ms / 1e6:.1f}", f"{ms / me:.1f}" if me > 0 else "-"]
        else:
            cells += ["-"] * 3
        agree = res["agreement"]
        flag = "" if agree["ok"] else " **MISMATCH**"
        cells += [f"{agree['emkit']:.8f}", f"{agree['rel_diff']:.1e}{flag}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "speed-up = sklearn s/iter / emkit s/iter (above 1: emkit faster). bound = flops / GEMM "
        "rate + exponentials / exp rate + data bytes / copy rate for one E+M iteration. peak "
        "extra = peak resident size of a fresh process during fit(max_iter="
        f"{meta['iters']}, one thread) minus its resident size with the data loaded "
        "(MB = 10^6 bytes). mean log-lik. = emkit.score(X); rel. diff. = |emkit - sklearn| / "
        f"|sklearn| (must be <= {RTOL_LOGLIK:g}).",
        "",
        "The bound at BENCHMARKING.md's idle-machine rates (94 GFLOP/s, 1.5 G exp/s, 23 GB/s), "
        "and emkit's ratio to it: "
        + "; ".join(
            f"{res['case']} {_sec(res['bound_idle_rates_s'])} s "
            f"({res['one_thread']['emkit']['s_per_iter'] / res['bound_idle_rates_s']:.1f}x)"
            for res in results
        )
        + ".",
    ]
    if meta.get("notes"):
        lines += ["", "Notes:"] + [f"- {note}" for note in meta["notes"]]
    return "\n".join(lines) + "\n"


def _sec(x: float) -> str:
    return f"{x:.3g}" if x >= 0.01 else f"{x:.2e}"


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items() if k != "estimators"}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


# -- main ---------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--cases",
        nargs="+",
        default=None,
        help=f"subset of cases (names or comma lists): {', '.join(CASE_BY_NAME)}",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: N divided by 10")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats (median), default 3")
    p.add_argument("--iters", type=int, default=5, help="EM iterations per timed fit, default 5")
    p.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="dtype of emkit's input (scikit-learn always gets float64)",
    )
    p.add_argument(
        "--skip-default-threads", action="store_true", help="time only with one thread each"
    )
    p.add_argument("--skip-memory", action="store_true", help="skip the peak-memory processes")
    p.add_argument("--child", choices=TOOLS, help=argparse.SUPPRESS)
    p.add_argument("--case", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.iters < 2:
        p.error("--iters must be at least 2")
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    names = [n for item in (args.cases or []) for n in item.split(",") if n]
    unknown = [n for n in names if n not in CASE_BY_NAME]
    if unknown:
        p.error(f"unknown case(s) {unknown}; choose from {list(CASE_BY_NAME)}")
    args.case_list = [CASE_BY_NAME[n] for n in names] if names else list(CASES)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        result = run_child(args.child, args.case, args.dtype, args.iters, args.quick)
        print(CHILD_MARK + json.dumps(result))
        return 0

    import sklearn.mixture  # noqa: F401

    import emkit  # noqa: F401

    np_dtype = np.dtype(args.dtype).type
    meta: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "dtype": args.dtype,
        "iters": args.iters,
        "repeats": args.repeats,
        "quick": args.quick,
        "cases": [c.name for c in args.case_list],
        "machine": machine_facts(),
        "notes": [],
    }
    print("measuring machine rates ... ", end="", flush=True)
    meta["rates"] = rates = measure_rates()
    print(
        f"GEMM {rates['gemm_flops_per_s'] / 1e9:.1f} GFLOP/s, exp "
        f"{rates['exp_per_s'] / 1e9:.2f} G/s, copy {rates['copy_bytes_per_s'] / 1e9:.1f} GB/s",
        flush=True,
    )

    results: list[dict[str, Any]] = []
    failures: list[str] = []
    for case in args.case_list:
        n = case.rows(args.quick)
        print(f"\n[{case.name}] N={n} D={case.d} K={case.k} {case.covariance}", flush=True)
        X = make_data(case, n, np_dtype)
        start = make_start(X, case)
        data = {"emkit": X, "sklearn": X if X.dtype == np.float64 else X.astype(np.float64)}
        w = work(case, n, X.dtype.itemsize)
        res: dict[str, Any] = {
            "case": case.name,
            "rows": n,
            "d": case.d,
            "k": case.k,
            "covariance": case.covariance,
            "work": w,
            "bound_s": bound_seconds(w, rates),
            "bound_idle_rates_s": bound_seconds(w, IDLE_RATES),
        }
        notes: list[str] = []
        one = time_per_iteration(case, data, start, args.iters, args.repeats, True, notes)
        res["one_thread"] = one
        print(
            f"  1 thread: emkit {one['emkit']['s_per_iter']:.4g} s/iter, sklearn "
            f"{one['sklearn']['s_per_iter']:.4g} s/iter, bound {res['bound_s']:.3g} s",
            flush=True,
        )

        est = one["estimators"]
        with threads(True):
            ll = {tool: float(est[tool].score(data[tool])) for tool in TOOLS}
        rel = abs(ll["emkit"] - ll["sklearn"]) / max(abs(ll["sklearn"]), 1e-300)
        n_iter = {tool: int(est[tool].n_iter_) for tool in TOOLS}
        ok = bool(rel <= RTOL_LOGLIK) and all(v == args.iters for v in n_iter.values())
        res["agreement"] = {**ll, "rel_diff": rel, "n_iter": n_iter, "ok": ok}
        print(
            f"  mean log-likelihood emkit {ll['emkit']:.10f} sklearn {ll['sklearn']:.10f} "
            f"rel. diff {rel:.2e} n_iter {n_iter} -> {'OK' if ok else 'MISMATCH'}",
            flush=True,
        )
        if not ok:
            failures.append(
                f"{case.name}: emkit {ll['emkit']!r} vs sklearn {ll['sklearn']!r} "
                f"(rel. diff {rel:.3e} > {RTOL_LOGLIK:g}) n_iter {n_iter}"
            )

        if not args.skip_default_threads:
            dflt = time_per_iteration(case, data, start, args.iters, args.repeats, False, notes)
            res["default_threads"] = dflt
            print(
                f"  default threads: emkit {dflt['emkit']['s_per_iter']:.4g} s/iter, sklearn "
                f"{dflt['sklearn']['s_per_iter']:.4g} s/iter",
                flush=True,
            )
        del X, data, est, one
        res["one_thread"].pop("estimators", None)
        res.get("default_threads", {}).pop("estimators", None)
        gc.collect()

        if not args.skip_memory:
            mem = {
                tool: measure_memory(tool, case, args.dtype, args.iters, args.quick)
                for tool in TOOLS
            }
            res["memory"] = mem
            print(
                f"  peak extra: emkit {mem['emkit']['peak_extra_bytes'] / 1e6:.1f} MB, sklearn "
                f"{mem['sklearn']['peak_extra_bytes'] / 1e6:.1f} MB",
                flush=True,
            )
            for tool in TOOLS:
                notes += [f"{tool} (memory run): {m}" for m in mem[tool]["warnings"]]
                if mem[tool]["source_hash"] != meta["machine"]["emkit_source_hash"]:
                    notes.append(
                        "emkit's sources changed during the run (memory process saw "
                        f"{mem[tool]['source_hash']})"
                    )
        res["loadavg_after"] = os.getloadavg()
        for note in dict.fromkeys(notes):
            meta["notes"].append(f"{case.name}: {note}")
        results.append(res)

    meta["loadavg_end"] = os.getloadavg()
    if source_hash() != meta["machine"]["emkit_source_hash"]:
        meta["notes"].append("emkit sources changed while the benchmark ran")
    for failure in failures:
        meta["notes"].append(f"LOG-LIKELIHOOD MISMATCH {failure}")
    table = markdown(meta, results)
    print("\n" + table)
    stem = f"gmm_{args.dtype}"
    if args.quick:
        stem += "_quick"
    if len(args.case_list) != len(CASES):
        stem += "_partial"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.md").write_text(table)
    (RESULTS / f"{stem}.json").write_text(
        json.dumps(_jsonable({"meta": meta, "results": results}), indent=1) + "\n"
    )
    print(f"wrote {RESULTS / stem}.md and .json")
    if failures:
        print(
            "\nFAILED: the final log-likelihoods disagree, so the work was not equal:",
            file=sys.stderr,
        )
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
