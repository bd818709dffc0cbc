"""emkit.FactorAnalysis against scikit-learn's on 100k x 50 with 10 factors: seconds per fit,
the log-likelihood each reaches, and peak memory, each fit in a fresh process.

emkit reads the data once for its moments and runs EM on 50 x 50 matrices; scikit-learn
runs an SVD of the data at every iteration. Both get the same ``tol`` (on the total
log-likelihood) and ``max_iter``; the table says how close their log-likelihoods are.

Commands::

    python benchmarks/bench_factor_analysis.py                 # both, default sizes
    python benchmarks/bench_factor_analysis.py --rows 20000    # smaller
    python benchmarks/bench_factor_analysis.py --one emkit     # one fit, this process

Peak memory is the process's maximum resident set size (``resource.getrusage``), the data
included (40 MB for 100k x 50 float64).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def make_data(rows: int, features: int, factors: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(features, factors))
    noise = rng.uniform(0.2, 2.0, features)
    return rng.normal(size=(rows, factors)) @ W.T + rng.normal(size=(rows, features)) * np.sqrt(
        noise
    )


def one(which: str, rows: int, features: int, factors: int, tol: float) -> dict:
    X = make_data(rows, features, factors)
    if which == "emkit":
        from emkit.estimators.factor_analysis import FactorAnalysis
    else:
        from sklearn.decomposition import FactorAnalysis
    model = FactorAnalysis(factors, tol=tol, max_iter=1000, random_state=0)
    start = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - start
    return {
        "which": which,
        "seconds": seconds,
        "loglike": float(model.loglike_[-1]),
        "n_iter": int(model.n_iter_),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--factors", type=int, default=10)
    parser.add_argument("--tol", type=float, default=1e-2)
    parser.add_argument("--one", choices=["emkit", "sklearn"])
    args = parser.parse_args()
    sizes = (args.rows, args.features, args.factors, args.tol)
    if args.one:
        print(json.dumps(one(args.one, *sizes)))
        return
    results = []
    for which in ("emkit", "sklearn"):
        command = [sys.executable, __file__, "--one", which, "--rows", str(args.rows)]
        command += ["--features", str(args.features), "--factors", str(args.factors)]
        command += ["--tol", str(args.tol)]
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = max(r["loglike"] for r in results)
    print(f"{args.rows} x {args.features}, {args.factors} factors, tol={args.tol:g}")
    print(f"{'':8} {'seconds':>9} {'iterations':>10} {'loglike - best':>15} {'peak MB':>8}")
    for r in results:
        print(
            f"{r['which']:8} {r['seconds']:9.3f} {r['n_iter']:10d} "
            f"{r['loglike'] - best:15.4g} {r['peak_mb']:8.0f}"
        )


if __name__ == "__main__":
    main()
