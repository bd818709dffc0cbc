"""emkit.GaussianMixture against sklearn.mixture.GaussianMixture and pomegranate's
GeneralMixtureModel of Normal distributions: time per EM iteration at equal work, the machine's
lower bound for that iteration, and the peak memory of a fit.

Method (see benchmarks/README.md and BENCHMARKING.md):

* Equal work: the same seeded data, the same initial parameters (weights, means and
  precisions, or for pomegranate the covariances they imply), no convergence test (``tol=0``
  for emkit and scikit-learn, ``tol=-inf`` for pomegranate), ``reg_covar=0`` (pomegranate has
  none) and a fixed ``max_iter``; the final mean log-likelihoods must agree with emkit's to a
  relative 1e-6, else the run fails.
  pomegranate runs on float64 tensors with torch's default dtype set to float64 (otherwise
  its emission matrix and mixture weights are float32).
* Seconds per iteration: ``(t(max_iter=ITERS) - t(max_iter=1)) / (ITERS - 1)``, so setup,
  validation and scikit-learn's final E-step cancel. One warm-up fit of each first, then
  ``--repeats`` rounds in the order emkit, sklearn, pomegranate (ITERS), the same (1); the
  median is reported. One-thread columns: emkit ``n_jobs=1``, threadpoolctl limits of one,
  Numba and torch set to one thread. "2 cores" columns: emkit ``n_jobs=2``, the peers with
  their libraries' default thread counts.
* Bound: the work of one E+M iteration (BENCHMARKING.md) divided by rates measured at the
  start of the run: GEMM float64 (n=3072, one thread), np.exp, memory copy.
* Peak memory: every fit runs again in a fresh process (``--child``); the peak resident set
  (VmHWM) is reset once the data is resident, and the peak added by the fit is reported.

Usage::

    PYTHONPATH=src python benchmarks/bench_gmm.py                   # all cases, both dtypes
    PYTHONPATH=src python benchmarks/bench_gmm.py --dtype float64   # one dtype
    PYTHONPATH=src python benchmarks/bench_gmm.py --quick --cases 100k-2-4-full
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
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
REG_COVAR = 0.0
"""reg_covar of emkit and scikit-learn: pomegranate cannot add one, so none does (equal work)."""
PEERS = ("sklearn", "pomegranate")
TOOLS = ("emkit", *PEERS)
DTYPES = ("float64", "float32")
MULTI_JOBS = 2
"""emkit's ``n_jobs`` in the "2 cores" columns (the peers keep their default threads)."""

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


CASES = tuple(
    Case(n, d, k, covariance)
    for n, d, k in ((100_000, 2, 4), (100_000, 16, 8), (1_000_000, 8, 16), (200_000, 64, 16))
    for covariance in ("full", "diag")
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
    """Initial parameters given to every tool: K distinct data rows as means, uniform weights,
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


def peer_data(X: np.ndarray, tools: Sequence[str]) -> dict[str, Any]:
    """Each tool's input: emkit gets X as it is; the peers get the same values in float64
    (pomegranate as a torch tensor sharing that memory, so its fits copy nothing)."""
    X64 = X if X.dtype == np.float64 else X.astype(np.float64)
    data: dict[str, Any] = {"emkit": X}
    if "sklearn" in tools:
        data["sklearn"] = X64
    if "pomegranate" in tools:
        import torch

        data["pomegranate"] = torch.from_numpy(X64)
    return data


# -- fitting ------------------------------------------------------------------------------
_POMEGRANATE: dict[str, Any] = {}


def import_pomegranate() -> dict[str, Any]:
    """torch and pomegranate, with torch's default dtype set to float64.

    pomegranate 1.x takes the dtype of a mixture's emission matrix and of its accumulated
    component weights from torch's default dtype, not from the distributions' parameters;
    left at float32, those round every log-density to single precision."""
    if not _POMEGRANATE:
        import torch
        from pomegranate.distributions import Normal
        from pomegranate.gmm import GeneralMixtureModel

        torch.set_default_dtype(torch.float64)

        class CountingMixture(GeneralMixtureModel):  # type: ignore[misc]
            """GeneralMixtureModel that counts its M-steps (pomegranate keeps no n_iter_)."""

            def from_summaries(self) -> None:
                self.n_iter_ += 1
                super().from_summaries()

        _POMEGRANATE.update(torch=torch, Normal=Normal, Mixture=CountingMixture)
    return _POMEGRANATE


def estimator(
    tool: str, case: Case, start: dict[str, np.ndarray], max_iter: int, n_jobs: int = 1
) -> Any:
    if tool == "pomegranate":
        return pomegranate_estimator(case, start, max_iter)
    if tool == "emkit":
        from emkit import GaussianMixture

        extra: dict[str, Any] = {"n_jobs": n_jobs}
    else:
        from sklearn.mixture import GaussianMixture

        extra = {}
    return GaussianMixture(
        n_components=case.k,
        covariance_type=case.covariance,
        tol=0.0,
        reg_covar=REG_COVAR,
        max_iter=max_iter,
        n_init=1,
        random_state=0,
        **extra,
        **{key: value.copy() for key, value in start.items()},
    )


def pomegranate_estimator(case: Case, start: dict[str, np.ndarray], max_iter: int) -> Any:
    """GeneralMixtureModel of float64 Normal components at the shared start: the covariances
    are the inverses of the start precisions, the priors the start weights. ``tol=-inf``
    disables the stopping test (pomegranate stops when the log-likelihood gain is below tol)
    and ``inertia=0`` applies every M-step in full."""
    pg = import_pomegranate()
    torch = pg["torch"]
    components = []
    for j in range(case.k):
        precision = start["precisions_init"][j]
        if case.covariance == "full":
            cov = np.linalg.inv(precision)
            cov = 0.5 * (cov + cov.T)
        else:
            cov = 1.0 / precision
        components.append(
            pg["Normal"](
                means=torch.tensor(start["means_init"][j], dtype=torch.float64),
                covs=torch.tensor(cov, dtype=torch.float64),
                covariance_type=case.covariance,
            )
        )
    model = pg["Mixture"](
        components,
        priors=torch.tensor(start["weights_init"], dtype=torch.float64),
        max_iter=max_iter,
        tol=-math.inf,
        inertia=0.0,
    )
    model.n_iter_ = 0
    return model


def mean_loglik(tool: str, est: Any, X: Any) -> float:
    """Mean per-sample log-likelihood of the fitted model (``score`` for the scikit-learn
    API; pomegranate's ``log_probability`` averaged)."""
    if tool == "pomegranate":
        return float(est.log_probability(X).mean())
    return float(est.score(X))


def timed_fit(est: Any, X: Any, other_warnings: list[str] | None = None) -> float:
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
    """One thread for BLAS/OpenMP (and Numba and torch, when loaded), or the defaults."""
    if not one:
        yield
        return
    numba = sys.modules.get("numba")
    torch = sys.modules.get("torch")
    numba_before = numba.get_num_threads() if numba is not None else None
    torch_before = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=1):
        if numba is not None:
            numba.set_num_threads(1)
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if numba is not None:
                numba.set_num_threads(numba_before)
            if torch is not None:
                torch.set_num_threads(torch_before)


def time_per_iteration(
    case: Case,
    tools: Sequence[str],
    data: dict[str, Any],
    start: dict[str, np.ndarray],
    iters: int,
    repeats: int,
    one_thread: bool,
    notes: list[str],
) -> dict[str, Any]:
    """Warm up, then ``repeats`` rounds of (ITERS: A B C, 1: A B C); per-iteration medians.
    One thread: emkit n_jobs=1 and every pool at one thread; else emkit n_jobs=MULTI_JOBS
    and the peers at their default thread counts."""
    n_jobs = 1 if one_thread else MULTI_JOBS
    raw: dict[str, dict[str, list[float]]] = {t: {"t_iters": [], "t_1": []} for t in tools}
    last: dict[str, Any] = {}
    with threads(one_thread):
        for tool in tools:
            timed_fit(estimator(tool, case, start, 1, n_jobs), data[tool], notes)
        for _ in range(repeats):
            for max_iter, key in ((iters, "t_iters"), (1, "t_1")):
                for tool in tools:
                    est = estimator(tool, case, start, max_iter, n_jobs)
                    raw[tool][key].append(timed_fit(est, data[tool], notes))
                    if max_iter == iters:
                        last[tool] = est
    out: dict[str, Any] = {"raw": raw, "estimators": last, "emkit_n_jobs": n_jobs}
    for tool in tools:
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

    if tool == "pomegranate":
        import_pomegranate()

    X = make_data(case, case.rows(quick), np_dtype)
    start = make_start(X, case)
    warm = peer_data(np.ascontiguousarray(X[:2000]), [tool])[tool]
    X = peer_data(X, [tool])[tool]  # only the tool's own input stays resident
    notes: list[str] = []
    with threads(True):
        timed_fit(estimator(tool, case, start, 1), warm, notes)
        del warm
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
    return child_result(cmd, f"{tool} {case.name}")


def child_result(cmd: list[str], what: str) -> dict[str, Any]:
    """The result a child process of the benchmark prints after ``CHILD_MARK``, run with
    emkit's sources first on its path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith(CHILD_MARK):
            return json.loads(line[len(CHILD_MARK) :])
    raise RuntimeError(
        f"memory child {what} failed (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )


# -- facts about the run ------------------------------------------------------------------
def source_hash() -> str:
    """Digest of emkit's sources, to notice edits made while the benchmark runs."""
    h = hashlib.sha1()
    for path in sorted((SRC / "emkit").rglob("*.py")):
        h.update(str(path.relative_to(SRC)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def machine_facts(tools: Sequence[str]) -> dict[str, Any]:
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
    facts: dict[str, Any] = {
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
    if "pomegranate" in tools:
        torch = import_pomegranate()["torch"]
        facts.update(
            torch=torch.__version__,
            pomegranate=importlib.metadata.version("pomegranate"),
            torch_default_threads=torch.get_num_threads(),
            torch_blas="MKL" if torch.backends.mkl.is_available() else "other",
            torch_default_dtype=str(torch.get_default_dtype()),
        )
    return facts


# -- output -------------------------------------------------------------------------------
def markdown(meta: dict[str, Any], results: list[dict[str, Any]]) -> str:
    r = meta["rates"]
    facts = meta["machine"]
    peers = [t for t in meta["tools"] if t != "emkit"]
    multi = f"{meta['multi_jobs']} cores"
    blas = ", ".join(
        sorted(
            {
                f"{p['internal_api']} {p['version']} ({p['prefix']}, "
                f"{p['threading_layer'] or '-'}, {p['num_threads']} threads)"
                for p in facts["threadpools"]
            }
        )
    )
    versions = f"numpy {facts['numpy']}, scipy {facts['scipy']}, scikit-learn {facts['sklearn']}"
    if "pomegranate" in peers:
        versions += (
            f", pomegranate {facts['pomegranate']} on torch {facts['torch']} "
            f"({facts['torch_blas']}, {facts['torch_default_threads']} default threads)"
        )
    lines = [
        f"## GaussianMixture: emkit vs {', '.join(peers)}, emkit input {meta['dtype']}",
        "",
        f"{meta['date']}; {facts['cpu']}, {facts['usable_cpus']} cores, "
        f"{facts['memory_bytes'] / 2**30:.0f} GiB; {blas}.",
        f"{versions}; emkit {facts['emkit']} (commit {facts['git_commit']}, sources "
        f"{facts['emkit_source_hash']}). Load average at start {facts['loadavg_start'][0]:.2f}, "
        f"at end {meta['loadavg_end'][0]:.2f}.",
        f"Measured rates (one thread): GEMM float64 {r['gemm_flops_per_s'] / 1e9:.1f} GFLOP/s, "
        f"np.exp {r['exp_per_s'] / 1e9:.2f} G/s, memory copy {r['copy_bytes_per_s'] / 1e9:.1f}"
        " GB/s.",
        f"Seconds per EM iteration = (t(max_iter={meta['iters']}) - t(max_iter=1)) / "
        f"{meta['iters'] - 1}, median of {meta['repeats']} alternated repeats after a warm-up; "
        "no convergence test, same data and same initial parameters for every tool.",
        "1 thr: emkit n_jobs=1; BLAS/OpenMP, Numba and torch limited to one thread each. "
        f"{multi}: emkit n_jobs={meta['multi_jobs']}; the peers with their libraries' default "
        "thread counts.",
    ]
    if meta["dtype"] != "float64":
        lines.append(
            f"emkit is given {meta['dtype']} data; the peers are given the same "
            "values converted to float64 (the bound counts "
            f"{np.dtype(meta['dtype']).itemsize}-byte data)."
        )
    if meta["quick"]:
        lines.append("QUICK RUN: N divided by 10; not for quoting.")

    def speed_up(mine: float, *timings: dict[str, Any], labels: Sequence[str] = ("",)) -> str:
        """The fastest peer run's s/iter (over ``timings``) divided by emkit's ``mine``; '-'
        when a difference of times is not positive (noise larger than the work)."""
        runs = [
            (timing[p]["s_per_iter"], f"{p}{label}")
            for timing, label in zip(timings, labels, strict=True)
            for p in peers
        ]
        if mine <= 0 or any(value <= 0 for value, _ in runs):
            return "- (noise)"
        best, name = min(runs)
        return f"{best / mine:.2f}x ({name})"

    head = (
        ["case (N, D, K, cov)", "emkit s/iter 1 thr"]
        + [f"{p} s/iter 1 thr" for p in peers]
        + ["speed-up 1 thr (vs faster peer)", "bound s/iter", "emkit/bound"]
        + [f"{p}/bound" for p in peers]
        + [f"emkit s/iter {multi}"]
        + [f"{p} s/iter default thr" for p in peers]
        + [
            f"speed-up {multi} (vs faster peer)",
            f"speed-up {multi} (vs fastest peer run, 1 thr or default thr)",
            f"emkit {multi}/bound",
        ]
    )
    lines += ["", "Time per EM iteration:", "", _row(head), "|---|" + "---:|" * (len(head) - 1)]
    for res in results:
        one, b = res["one_thread"], res["bound_s"]
        e = one["emkit"]["s_per_iter"]
        cells = (
            [_case_cell(res), _sec(e)]
            + [_sec(one[p]["s_per_iter"]) for p in peers]
            + [speed_up(e, one), _sec(b), f"{e / b:.1f}"]
            + [f"{one[p]['s_per_iter'] / b:.1f}" for p in peers]
        )
        many = res.get("multi_core")
        if many:
            em = many["emkit"]["s_per_iter"]
            cells += (
                [_sec(em)]
                + [_sec(many[p]["s_per_iter"]) for p in peers]
                + [
                    speed_up(em, many),
                    speed_up(em, one, many, labels=(" 1 thr", " default thr")),
                    f"{em / b:.1f}",
                ]
            )
        else:
            cells += ["-"] * (len(peers) + 4)
        lines.append(_row(cells))

    head = (
        ["case (N, D, K, cov)", "peak extra MB emkit"]
        + [f"peak extra MB {p}" for p in peers]
        + ["smaller peer / emkit memory", "mean log-lik. emkit"]
        + [f"rel. diff. {p}" for p in peers]
    )
    lines += ["", "Memory and agreement:", "", _row(head), "|---|" + "---:|" * (len(head) - 1)]
    for res in results:
        mem = res.get("memory")
        cells = [_case_cell(res)]
        if mem:
            me = mem["emkit"]["peak_extra_bytes"]
            least = min(mem[p]["peak_extra_bytes"] for p in peers)
            cells += [f"{mem[t]['peak_extra_bytes'] / 1e6:.1f}" for t in ("emkit", *peers)]
            cells.append(f"{least / me:.1f}" if me > 0 else "-")
        else:
            cells += ["-"] * (len(peers) + 2)
        agree = res["agreement"]
        cells.append(f"{agree['loglik']['emkit']:.8f}")
        for p in peers:
            rel = agree["rel_diff"][p]
            bad = rel > RTOL_LOGLIK or agree["n_iter"][p] != meta["iters"]
            cells.append(f"{rel:.1e}" + (" **MISMATCH**" if bad else ""))
        lines.append(_row(cells))

    lines += [
        "",
        "speed-up = s/iter of the faster peer (named) / emkit s/iter, both measured in the same "
        f"setting (above 1: emkit faster); the second {multi} speed-up takes the fastest of "
        "each peer's one-thread and default-thread runs, since the peers' default threads can "
        "be slower than one thread on this machine. bound = flops / GEMM rate + exponentials / "
        "exp rate + "
        "data bytes / copy rate for one E+M iteration, at the one-thread rates measured above; "
        f"emkit {multi}/bound uses that same one-thread bound. peak extra = peak resident size of "
        f"a fresh process during fit(max_iter={meta['iters']}, one thread) minus its resident "
        "size with the data loaded (MB = 10^6 bytes). mean log-lik. = emkit.score(X); rel. "
        "diff. = |emkit - peer| / |peer| with the peer's own mean log-likelihood (sklearn "
        "score(X), pomegranate log_probability(X).mean()), which must be <= "
        f"{RTOL_LOGLIK:g}, with {meta['iters']} M-steps done by every tool.",
    ]
    if "pomegranate" in peers:
        lines.append(
            "pomegranate has no reg_covar (Normal's min_cov is accepted but unused in 1.1.2), "
            f"so every tool runs with reg_covar={REG_COVAR:g}. pomegranate's rel. diff. of "
            "about 2e-13 comes from its constants LOG_2_PI = 1.83787706641 (full) and "
            "SQRT_2_PI = 2.50662827463 (diag), rounded to 12 digits: they shift every "
            "log-density by about D x 3e-13 (full) or D x 4e-13 (diag)."
        )
    lines += [
        "",
        "The bound at BENCHMARKING.md's idle-machine rates (94 GFLOP/s, 1.5 G exp/s, 23 GB/s), "
        f"and emkit's ratio to it (1 thr; {multi}): "
        + "; ".join(
            f"{res['case']} {_sec(res['bound_idle_rates_s'])} s "
            f"({res['one_thread']['emkit']['s_per_iter'] / res['bound_idle_rates_s']:.1f}x"
            + (
                f"; {res['multi_core']['emkit']['s_per_iter'] / res['bound_idle_rates_s']:.1f}x"
                if res.get("multi_core")
                else ""
            )
            + ")"
            for res in results
        )
        + ".",
    ]
    if meta.get("notes"):
        lines += ["", "Notes:"] + [f"- {note}" for note in meta["notes"]]
    return "\n".join(lines) + "\n"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _case_cell(res: dict[str, Any]) -> str:
    return f"{_short(res['rows'])}, {res['d']}, {res['k']}, {res['covariance']}"


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
        nargs="+",
        choices=DTYPES,
        default=list(DTYPES),
        help="dtype(s) of emkit's input, one table each (the peers always get float64); "
        "default: float64 float32",
    )
    p.add_argument(
        "--peers",
        nargs="+",
        choices=PEERS,
        default=list(PEERS),
        help="peers to compare with, default: sklearn pomegranate",
    )
    p.add_argument(
        "--skip-default-threads",
        action="store_true",
        help=f"time only with one thread each (skip the {MULTI_JOBS}-core columns)",
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
    args.dtypes = list(dict.fromkeys(args.dtype))
    args.tools = ["emkit"] + [t for t in PEERS if t in args.peers]
    return args


def run_dtype(args: argparse.Namespace, dtype: str) -> int:
    """All cases for one dtype of emkit's input; writes the tables; 1 on a mismatch."""
    tools = args.tools
    peers = tools[1:]
    np_dtype = np.dtype(dtype).type
    meta: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "dtype": dtype,
        "iters": args.iters,
        "repeats": args.repeats,
        "quick": args.quick,
        "tools": tools,
        "multi_jobs": MULTI_JOBS,
        "cases": [c.name for c in args.case_list],
        "machine": machine_facts(tools),
        "notes": [],
    }
    print(f"\n=== emkit input {dtype} ===\nmeasuring machine rates ... ", end="", flush=True)
    meta["rates"] = rates = measure_rates()
    print(
        f"GEMM {rates['gemm_flops_per_s'] / 1e9:.1f} GFLOP/s, exp "
        f"{rates['exp_per_s'] / 1e9:.2f} G/s, copy {rates['copy_bytes_per_s'] / 1e9:.1f} GB/s",
        flush=True,
    )

    def show(label: str, timing: dict[str, Any]) -> str:
        return f"  {label}: " + ", ".join(
            f"{t} {timing[t]['s_per_iter']:.4g} s/iter" for t in tools
        )

    results: list[dict[str, Any]] = []
    failures: list[str] = []
    for case in args.case_list:
        n = case.rows(args.quick)
        print(f"\n[{case.name}] N={n} D={case.d} K={case.k} {case.covariance}", flush=True)
        X = make_data(case, n, np_dtype)
        start = make_start(X, case)
        data = peer_data(X, tools)
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
        one = time_per_iteration(case, tools, data, start, args.iters, args.repeats, True, notes)
        res["one_thread"] = one
        print(show("1 thread", one) + f"; bound {res['bound_s']:.3g} s", flush=True)

        est = one["estimators"]
        with threads(True):
            ll = {tool: mean_loglik(tool, est[tool], data[tool]) for tool in tools}
        rel = {p: abs(ll["emkit"] - ll[p]) / max(abs(ll[p]), 1e-300) for p in peers}
        n_iter = {tool: int(est[tool].n_iter_) for tool in tools}
        ok = all(v <= RTOL_LOGLIK for v in rel.values()) and all(
            v == args.iters for v in n_iter.values()
        )
        res["agreement"] = {"loglik": ll, "rel_diff": rel, "n_iter": n_iter, "ok": ok}
        print(
            "  mean log-likelihood "
            + ", ".join(f"{t} {ll[t]:.10f}" for t in tools)
            + "; rel. diff "
            + ", ".join(f"{p} {rel[p]:.2e}" for p in peers)
            + f"; n_iter {n_iter} -> {'OK' if ok else 'MISMATCH'}",
            flush=True,
        )
        if not ok:
            failures.append(
                f"{case.name}: mean log-likelihood {ll} (rel. diff {rel}, limit "
                f"{RTOL_LOGLIK:g}) n_iter {n_iter}"
            )

        if not args.skip_default_threads:
            many = time_per_iteration(
                case, tools, data, start, args.iters, args.repeats, False, notes
            )
            res["multi_core"] = many
            print(show(f"emkit n_jobs={MULTI_JOBS}, peers default threads", many), flush=True)
        del X, data, est, one
        res["one_thread"].pop("estimators", None)
        res.get("multi_core", {}).pop("estimators", None)
        gc.collect()

        if not args.skip_memory:
            mem = {
                tool: measure_memory(tool, case, dtype, args.iters, args.quick) for tool in tools
            }
            res["memory"] = mem
            print(
                "  peak extra: "
                + ", ".join(f"{t} {mem[t]['peak_extra_bytes'] / 1e6:.1f} MB" for t in tools),
                flush=True,
            )
            for tool in tools:
                notes += [f"{tool} (memory run): {m}" for m in mem[tool]["warnings"]]
                if mem[tool]["source_hash"] != meta["machine"]["emkit_source_hash"]:
                    notes.append(
                        "emkit's sources changed during the run (memory process saw "
                        f"{mem[tool]['source_hash']})"
                    )
        settings = (("1 thr", res["one_thread"]), (f"{MULTI_JOBS} cores", res.get("multi_core")))
        for label, timing in settings:
            for tool in tools if timing else ():
                if timing[tool]["s_per_iter"] <= 0:
                    notes.append(
                        f"{tool} {label}: s/iter {timing[tool]['s_per_iter']:.3g} is not "
                        "positive (t(max_iter=ITERS) no slower than t(max_iter=1)): noise "
                        "exceeds the work; use more --repeats or a larger case"
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
    stem = f"gmm_{dtype}"
    if args.quick:
        stem += "_quick"
    if len(args.case_list) != len(CASES) or len(tools) != len(TOOLS):
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        result = run_child(args.child, args.case, args.dtypes[0], args.iters, args.quick)
        print(CHILD_MARK + json.dumps(result))
        return 0

    import sklearn.mixture  # noqa: F401

    import emkit  # noqa: F401

    if "pomegranate" in args.tools:
        import_pomegranate()
    status = 0
    for dtype in args.dtypes:
        status = max(status, run_dtype(args, dtype))
    return status


if __name__ == "__main__":
    sys.exit(main())
