"""The Dask executor against the thread executor: seconds per EM iteration of a full-covariance
Gaussian mixture on a local cluster of two worker processes and on two threads of one process,
the agreement of their results, and what killing a worker in the middle of a fit costs.

Method (see benchmarks/README.md, section "bench_dask.py"):

* Data: ``--rows`` (10,000,000) rows of 8 float64 columns drawn from a seeded mixture of
  K = 16 Gaussians with random full covariances. The rows are drawn *on the workers*: a dask
  array of 8 blocks, each block drawn by its own seeded generator, persisted in the workers'
  memory. The thread executor gets the same values, computed once into the client's memory.
* Cluster: ``distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` on
  this machine; the thread executor runs ``ThreadExecutor(n_jobs=2)`` in the client process,
  while the cluster's workers sit idle.
* Equal work: the same model (``Mixture(Gaussian("full"), 16)``), the same start (the k-means
  start of the first 200,000 rows, computed once and given to every fit as ``init``), the
  same chunks (the default 16,384 rows), ``tol=0``, ``--iters`` M-steps.
* Seconds per iteration: the time between the callbacks of successive E-steps (an M-step on
  the client and one pass over the data), median over the iterations after the first and
  over ``--repeats`` fits alternating the executors, after a warm-up fit of each (Numba's
  cached kernels load in every worker).
* Agreement: the largest relative difference between the thread and the cluster fits'
  parameters (every array, relative to its largest entry) and bounds.
* A worker killed: one more cluster fit, whose callback sends SIGKILL to one worker process
  after the E-step of iteration ``--kill-at``; the fit's total time minus that of an
  undisturbed cluster fit is the cost of the kill (the nanny starts a new worker; the lost
  blocks are drawn again from their graph). The same for the data scattered from the client
  (the thread executor's array given to the cluster), whose lost parts are scattered again.
  Both results must equal the undisturbed fit's.

Usage::

    PYTHONPATH=src python benchmarks/bench_dask.py --output benchmarks/results/dask.json
    PYTHONPATH=src python benchmarks/bench_dask.py --rows 1000000 --iters 4   # smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import signal
import statistics
import subprocess
import time
from typing import Any

import numpy as np

D, K, BLOCKS, SEED = 8, 16, 8, 0


def _components() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    weights = rng.dirichlet(np.full(K, 5.0))
    means = rng.normal(scale=3.0, size=(K, D))
    factors = rng.normal(scale=0.5, size=(K, D, D)) + np.eye(D)
    return weights, means, factors


def _block(n: int, index: int) -> np.ndarray:
    """Rows of block ``index``, drawn by its own generator (wherever it is drawn, it is the
    same block)."""
    weights, means, factors = _components()
    rng = np.random.default_rng([SEED, index])
    labels = rng.choice(K, size=n, p=weights)
    z = rng.standard_normal((n, D))
    out = np.empty((n, D))
    for k in range(K):
        rows = labels == k
        out[rows] = means[k] + z[rows] @ factors[k].T
    return out


def drawn_on_workers(rows: int) -> Any:
    import dask.array as da

    sizes = [rows // BLOCKS + (i < rows % BLOCKS) for i in range(BLOCKS)]

    def block(block_info=None):
        i = block_info[None]["chunk-location"][0]
        return _block(sizes[i], i)

    return da.map_blocks(block, chunks=(tuple(sizes), (D,)), dtype=np.float64)


def _leaves(value: Any) -> list[np.ndarray]:
    if dataclasses.is_dataclass(value):
        return [x for f in dataclasses.fields(value) for x in _leaves(getattr(value, f.name))]
    if isinstance(value, (tuple, list)):
        return [x for item in value for x in _leaves(item)]
    return [] if value is None else [np.asarray(value, dtype=np.float64)]


def max_rel_diff(a: Any, b: Any) -> float:
    diffs = [float(np.max(np.abs(a.lower_bounds - b.lower_bounds) / np.abs(b.lower_bounds)))]
    for x, y in zip(_leaves(a.params), _leaves(b.params), strict=True):
        diffs.append(float(np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-300)))
    return max(diffs)


def timed_fit(model: Any, data: Any, executor: Any, init: Any, iters: int, kill=None) -> dict:
    import emkit
    from emkit.core.driver import fit_em

    stamps: list[float] = []

    def callback(info):
        stamps.append(time.perf_counter())
        if kill is not None and info.n_iter == kill[0]:
            os.kill(kill[1], signal.SIGKILL)

    start = time.perf_counter()
    with emkit.config_context(executor=executor):
        result = fit_em(model, data, init=init, max_iter=iters, tol=0.0, callback=callback)
    total = time.perf_counter() - start
    return {
        "result": result,
        "seconds": total,
        "iterations": np.diff(stamps).tolist(),
        "first_e_step": stamps[0] - start,
    }


def _versions() -> dict:
    import dask
    import distributed

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "dask": dask.__version__,
        "distributed": distributed.__version__,
        "commit": commit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--iters", type=int, default=8, help="M-steps of every fit")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--kill-at", type=int, default=3, help="iteration after which to kill")
    parser.add_argument("--output", help="write the results as JSON to this file")
    args = parser.parse_args()

    import distributed

    from emkit.execution.dask import DaskExecutor
    from emkit.execution.executor import ThreadExecutor
    from emkit.families.gaussian import Gaussian
    from emkit.models.initialization import initializer
    from emkit.models.mixture import Mixture

    load = [os.getloadavg()[0]]
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    start = time.perf_counter()
    on_workers = client.persist(drawn_on_workers(args.rows))
    distributed.wait(on_workers)
    drawn = time.perf_counter() - start
    X = on_workers.compute()  # the thread executor's copy, in this process
    model = Mixture(Gaussian("full"), K, initializer("kmeans"))
    init = model.init(X[:200_000], np.random.RandomState(0))
    threads, cluster_executor = ThreadExecutor(2), DaskExecutor(client)
    print(f"{args.rows:,} x {D} rows drawn on the workers in {drawn:.1f} s")

    # Warm-up: every process loads the compiled kernels once.
    for executor in (threads, cluster_executor):
        timed_fit(model, on_workers[:100_000], executor, init, 1)
    runs: dict[str, list[dict]] = {"threads": [], "cluster": []}
    for _ in range(args.repeats):
        runs["threads"].append(timed_fit(model, X, threads, init, args.iters))
        runs["cluster"].append(timed_fit(model, on_workers, cluster_executor, init, args.iters))
        for name in runs:
            print(name, [f"{s:.3f}" for s in runs[name][-1]["iterations"]])
    per_iteration = {
        name: statistics.median(s for r in fits for s in r["iterations"][1:])
        for name, fits in runs.items()
    }
    reference = runs["cluster"][0]["result"]
    agreement = max_rel_diff(reference, runs["threads"][0]["result"])
    bounds = runs["threads"][0]["result"].lower_bounds
    bound_agreement = float(np.max(np.abs(reference.lower_bounds - bounds) / np.abs(bounds)))

    # Scattered from the client: the array the threads fitted, placed on the cluster.
    start = time.perf_counter()
    scattered = timed_fit(model, X, cluster_executor, init, args.iters)
    scattered["place_and_fit"] = time.perf_counter() - start
    killed = {}
    for name, data in (("dask array", on_workers), ("scattered array", X)):
        client.wait_for_workers(2, timeout=120)
        pid = next(iter(client.run(os.getpid).values()))
        killed[name] = timed_fit(
            model, data, cluster_executor, init, args.iters, (args.kill_at, pid)
        )
        print(name, "killed:", [f"{s:.3f}" for s in killed[name]["iterations"]])
    baseline = {"dask array": runs["cluster"][-1], "scattered array": scattered}
    load.append(os.getloadavg()[0])

    summary = {
        "rows": args.rows,
        "features": D,
        "components": K,
        "iterations": args.iters,
        "repeats": args.repeats,
        "seconds_per_iteration": per_iteration,
        "cluster_over_threads": per_iteration["cluster"] / per_iteration["threads"],
        "scattered_seconds_per_iteration": statistics.median(scattered["iterations"][1:]),
        "max_relative_difference_cluster_threads": agreement,
        "max_relative_difference_of_bounds_cluster_threads": bound_agreement,
        "killed": {
            name: {
                "kill_after_iteration": args.kill_at,
                "seconds": fit["seconds"],
                "undisturbed_seconds": baseline[name]["seconds"],
                "extra_seconds": fit["seconds"] - baseline[name]["seconds"],
                "iterations": fit["iterations"],
                "max_relative_difference_to_undisturbed": max_rel_diff(
                    fit["result"], baseline[name]["result"]
                ),
            }
            for name, fit in killed.items()
        },
        "drawn_on_workers_seconds": drawn,
        "runs": {
            name: [{k: v for k, v in r.items() if k != "result"} for r in fits]
            for name, fits in runs.items()
        },
        "scattered": {k: v for k, v in scattered.items() if k != "result"},
        "load_average": load,
        "versions": _versions(),
    }
    client.close()
    cluster.close()
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2)


if __name__ == "__main__":
    main()
