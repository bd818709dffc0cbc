"""emkit.KMeans against scikit-learn's KMeans: seconds per Lloyd iteration at equal work, and
the peak memory of a fit.

Method (see benchmarks/README.md and BENCHMARKING.md):

* Cases (N, D, K): seeded, heavily overlapping Gaussian blobs, so that neither tool's labels
  settle within the iterations timed; float64.
* Equal work: the same initial centres (K distinct rows, ``init=array``, ``n_init=1``),
  ``tol=0``, a fixed number of iterations; both tools must report that many (``n_iter_``)
  and inertias equal to a relative 1e-9, else the run fails.
* Seconds per iteration: ``(t(max_iter=ITERS) - t(max_iter=1)) / (ITERS - 1)``, so input
  checks and setup cancel. One warm-up fit each, then ``--repeats`` rounds alternating the
  tools; the median is reported. "1 thr": emkit ``n_jobs=1``, threadpoolctl limits of one
  (scikit-learn's OpenMP and BLAS), Numba one thread. "2 cores": both at two threads.
* Peak memory: a fresh process per tool generates the data, fits once to warm up, resets
  its peak resident set (``/proc/self/clear_refs``), and reports how far the peak (VmHWM)
  rises above the resident set (VmRSS) during one more fit.

Usage::

    PYTHONPATH=src python benchmarks/bench_kmeans.py
    PYTHONPATH=src python benchmarks/bench_kmeans.py --cases 100k-8-16 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

CASES = {
    "100k-8-16": (100_000, 8, 16),
    "1M-8-16": (1_000_000, 8, 16),
    "100k-64-32": (100_000, 64, 32),
}
ITERS = 10
RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def data(case: str) -> tuple[np.ndarray, np.ndarray]:
    n, d, k = CASES[case]
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=2.0, size=(k, d))
    X = centres[rng.integers(0, k, n)] + rng.normal(size=(n, d))
    return X, X[rng.choice(n, size=k, replace=False)].copy()


def estimator(tool: str, init: np.ndarray, max_iter: int, threads: int):
    k = init.shape[0]
    if tool == "emkit":
        import emkit

        return emkit.KMeans(k, init=init, n_init=1, tol=0.0, max_iter=max_iter, n_jobs=threads)
    from sklearn.cluster import KMeans

    return KMeans(k, init=init, n_init=1, tol=0.0, max_iter=max_iter)


def timed(tool: str, X: np.ndarray, init: np.ndarray, max_iter: int, threads: int):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads):
        est = estimator(tool, init, max_iter, threads)
        start = time.perf_counter()
        est.fit(X)
        return time.perf_counter() - start, est


def run_case(case: str, repeats: int, threads: int) -> dict:
    import numba

    numba.set_num_threads(threads)
    X, init = data(case)
    for tool in ("emkit", "sklearn"):
        timed(tool, X[:20_000], init, 2, threads)  # warm-up: compilation, thread pools
    times: dict[str, list[float]] = {"emkit": [], "sklearn": []}
    fitted = {}
    for _ in range(repeats):
        for tool in ("emkit", "sklearn"):
            t_many, est = timed(tool, X, init, ITERS, threads)
            t_one, _ = timed(tool, X, init, 1, threads)
            if est.n_iter_ != ITERS:
                raise SystemExit(f"{case}: {tool} did {est.n_iter_} iterations, not {ITERS}")
            times[tool].append((t_many - t_one) / (ITERS - 1))
            fitted[tool] = est
    inertia = {tool: float(est.inertia_) for tool, est in fitted.items()}
    if abs(inertia["emkit"] - inertia["sklearn"]) > 1e-9 * abs(inertia["sklearn"]):
        raise SystemExit(f"{case}: inertias differ: {inertia}")
    median = {tool: statistics.median(values) for tool, values in times.items()}
    return {
        "case": case,
        "threads": threads,
        "seconds_per_iteration": median,
        "ratio_emkit_over_sklearn": median["emkit"] / median["sklearn"],
        "repeats": times,
        "inertia": inertia,
    }


def _status_kb(field: str) -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(case: str, tool: str) -> None:
    X, init = data(case)
    timed(tool, X, init, 2, 1)
    pathlib.Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    resident = _status_kb("VmRSS")
    timed(tool, X, init, ITERS, 1)
    print(json.dumps({"peak_growth_mb": (_status_kb("VmHWM") - resident) * 1024 / 1e6}))


def memory(case: str, tool: str) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--child", case, tool],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["peak_growth_mb"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("CASE", "TOOL"))
    parser.add_argument("--output", type=pathlib.Path, default=RESULTS / "kmeans.json")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    rows = []
    for case in args.cases:
        for threads in (1, 2):
            row = run_case(case, args.repeats, threads)
            rows.append(row)
        mem = {tool: memory(case, tool) for tool in ("emkit", "sklearn")}
        for row in rows[-2:]:
            row["peak_growth_mb"] = mem
    args.output.write_text(json.dumps(rows, indent=1))
    print(
        "| case | threads | emkit ms/iter | scikit-learn ms/iter | emkit / sklearn "
        "| peak MB emkit / sklearn |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        s = row["seconds_per_iteration"]
        m = row["peak_growth_mb"]
        print(
            f"| {row['case']} | {row['threads']} | {1e3 * s['emkit']:.2f} | "
            f"{1e3 * s['sklearn']:.2f} | {row['ratio_emkit_over_sklearn']:.2f} | "
            f"{m['emkit']:.1f} / {m['sklearn']:.1f} |"
        )


if __name__ == "__main__":
    main()
