"""SQUAREM against plain EM (and scikit-learn) on overlapping Gaussian mixtures: passes over
the data (E-steps) and seconds to reach the same log-likelihood from the same start.

Method (see benchmarks/README.md, section "SQUAREM"):

* Data: a seeded mixture of K Gaussians in D dimensions with means ``spacing * N(0, I)`` and
  random full covariances (eigenvalues about 0.5 to 2.5); a small ``spacing`` makes the
  components overlap, which is where EM is slow.
* Start: emkit's k-means initialisation of the data, computed once per seed and given to all
  three fits (emkit as ``init=params``; scikit-learn as ``weights_init``, ``means_init`` and
  ``precisions_init``). ``reg_covar=1e-6`` everywhere.
* Runs: plain EM and SQUAREM (``fit_em(..., accelerate="squarem")``) with ``tol=1e-8`` until
  they converge; a callback records the time and the number of E-steps at every recorded
  point. Target = min(plain EM's final bound, best final bound of the two - 1e-6): a bound
  plain EM reaches by construction, and that SQUAREM reaches unless it ends at a lower
  optimum (then it is reported as not reached).
* Work to the target: E-steps (passes over the data; SQUAREM's rejected trial points
  included) and seconds from the call of ``fit_em`` to the first recorded point whose bound
  reaches the target. scikit-learn, for context: ``tol=0`` and ``max_iter`` just enough to
  reach the target along its (identical) path; its seconds are the whole ``fit`` (input
  checks, one extra M-step for the start and a final E-step included).
* One thread everywhere (emkit ``n_jobs=1``, threadpoolctl limits of one, Numba one thread),
  after a warm-up fit. Medians over seeds; the JSON keeps every seed.

Usage::

    PYTHONPATH=src python benchmarks/bench_squarem.py               # all cases, 5 seeds
    PYTHONPATH=src python benchmarks/bench_squarem.py --quick       # N / 10, 2 seeds
    PYTHONPATH=src python benchmarks/bench_squarem.py --cases 20k-2-5-full --seeds 3
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
RESULTS = ROOT / "benchmarks" / "results"
TOL = 1e-8
MAX_ITER = 20_000
REG_COVAR = 1e-6
TARGET_SLACK = 1e-6

if str(SRC) not in sys.path:  # measure this checkout's emkit, not an installed one
    sys.path.insert(0, str(SRC))


@dataclass(frozen=True)
class Case:
    n: int
    d: int
    k: int
    covariance_type: str
    spacing: float

    @property
    def name(self) -> str:
        return f"{self.n // 1000}k-{self.d}-{self.k}-{self.covariance_type}-s{self.spacing:g}"

    def rows(self, quick: bool) -> int:
        return self.n // 10 if quick else self.n


CASES = (
    Case(20_000, 2, 5, "full", 1.0),
    Case(50_000, 8, 8, "full", 0.5),
    Case(50_000, 8, 8, "diag", 0.5),
    Case(50_000, 8, 8, "full", 1.5),  # well separated: EM is fast, little to gain
)


def make_data(case: Case, n: int, seed: int) -> np.ndarray:
    rng = np.random.RandomState(seed)
    d, k = case.d, case.k
    means = case.spacing * rng.standard_normal((k, d))
    a = rng.standard_normal((k, d, d)) / np.sqrt(d)
    covariances = a @ np.swapaxes(a, 1, 2) + 0.5 * np.eye(d)
    weights = rng.dirichlet(np.full(k, 5.0))
    labels = rng.choice(k, size=n, p=weights)
    chol = np.linalg.cholesky(covariances)
    return means[labels] + np.einsum("nij,nj->ni", chol[labels], rng.standard_normal((n, d)))


def emkit_model(case: Case) -> Any:
    from emkit.families.gaussian import Gaussian
    from emkit.models.initialization import initializer
    from emkit.models.mixture import Mixture

    return Mixture(
        Gaussian(case.covariance_type, reg_covar=REG_COVAR), case.k, initializer("kmeans")
    )


def run_emkit(model: Any, X: np.ndarray, start: Any, accelerate: str | None) -> dict[str, Any]:
    """Fit to convergence, recording (seconds, E-steps, bound) at every recorded point."""
    from emkit import fit_em

    trace: list[tuple[float, int, float]] = []
    t0 = time.perf_counter()

    def record(info: Any) -> None:
        trace.append((time.perf_counter() - t0, info.n_e_steps, info.lower_bound))

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a MonotonicityWarning or ConvergenceWarning fails
        result = fit_em(
            model,
            X,
            init=start,
            tol=TOL,
            max_iter=MAX_ITER,
            n_jobs=1,
            accelerate=accelerate,
            callback=record,
        )
    seconds = time.perf_counter() - t0
    return {
        "result": result,
        "trace": trace,
        "seconds": seconds,
        "n_iter": int(result.n_iter),
        "n_e_steps": int(result.n_e_steps),
        "converged": bool(result.converged),
        "final_bound": float(result.lower_bound),
        "monotone": bool(np.all(np.diff(result.lower_bounds) >= -1e-12)),
    }


def to_target(run: dict[str, Any], target: float) -> dict[str, Any] | None:
    for seconds, e_steps, bound in run["trace"]:
        if bound >= target:
            return {"e_steps": e_steps, "seconds": seconds}
    return None


def run_sklearn(case: Case, X: np.ndarray, start: Any, target: float, guess: int) -> dict[str, Any]:
    """scikit-learn from the same start with ``tol=0``: E-steps and seconds to the target.

    Its ``lower_bounds_[i]`` is the bound after ``i`` M-steps, found by E-step ``i + 1``; the
    path is emkit's plain EM path, so ``guess`` (plain EM's E-steps to the target) usually
    suffices; otherwise ``max_iter`` doubles until the target is reached.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    from emkit.families.covariance import covariance_structure

    precisions = covariance_structure(case.covariance_type).precisions(
        start.components.precisions_cholesky
    )
    max_iter = max(1, guess)
    while True:
        est = GaussianMixture(
            case.k,
            covariance_type=case.covariance_type,
            tol=0.0,
            reg_covar=REG_COVAR,
            max_iter=max_iter,
            weights_init=start.weights,
            means_init=start.components.means,
            precisions_init=precisions,
            init_params="random_from_data",
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            est.fit(X)
            seconds = time.perf_counter() - t0
        reached = np.flatnonzero(np.asarray(est.lower_bounds_) >= target)
        if reached.size:
            e_steps = int(reached[0]) + 1
            if e_steps == max_iter:
                return {"e_steps": e_steps, "seconds": seconds, "max_iter": max_iter}
            max_iter = e_steps  # time exactly the iterations needed
            continue
        if max_iter >= MAX_ITER:
            return {"e_steps": None, "seconds": None, "max_iter": max_iter}
        max_iter = min(MAX_ITER, 2 * max_iter)


def param_difference(a: Any, b: Any) -> float:
    from emkit.core.stats import as_dict

    da, db = as_dict(a), as_dict(b)
    return max(float(np.max(np.abs(da[k] - db[k]))) for k in da)


def run_case(case: Case, seeds: list[int], quick: bool, sklearn: bool) -> dict[str, Any]:
    model = emkit_model(case)
    per_seed = []
    for seed in seeds:
        X = make_data(case, case.rows(quick), seed)
        start = model.init(X, np.random.RandomState(seed))
        plain = run_emkit(model, X, start, None)
        fast = run_emkit(model, X, start, "squarem")
        best = max(plain["final_bound"], fast["final_bound"])
        target = min(plain["final_bound"], best - TARGET_SLACK)
        p, s = to_target(plain, target), to_target(fast, target)
        assert p is not None  # plain EM reaches its own final bound
        row: dict[str, Any] = {
            "seed": seed,
            "target": target,
            "plain": {k: v for k, v in plain.items() if k not in ("result", "trace")},
            "squarem": {k: v for k, v in fast.items() if k not in ("result", "trace")},
            "plain_to_target": p,
            "squarem_to_target": s,
            "final_bound_difference": fast["final_bound"] - plain["final_bound"],
            "max_param_difference": param_difference(fast["result"].params, plain["result"].params),
        }
        if sklearn:
            row["sklearn_to_target"] = run_sklearn(case, X, start, target, p["e_steps"])
        per_seed.append(row)
        sk = row.get("sklearn_to_target") or {}
        print(
            f"  seed {seed}: plain {p['e_steps']} E-steps {p['seconds']:.2f}s | squarem "
            + (f"{s['e_steps']} E-steps {s['seconds']:.2f}s" if s else "not reached")
            + (
                f" | sklearn {sk.get('e_steps')} E-steps {sk.get('seconds') or 0:.2f}s"
                if sk
                else ""
            )
            + f" | final bound diff {row['final_bound_difference']:+.1e}",
            flush=True,
        )
    return {
        "case": case.__dict__ | {"name": case.name, "rows": case.rows(quick)},
        "seeds": per_seed,
    }


def summary(res: dict[str, Any]) -> dict[str, Any]:
    rows = res["seeds"]
    reached = [r for r in rows if r["squarem_to_target"] is not None]

    def med(values: list[float]) -> float:
        return float(statistics.median(values)) if values else float("nan")

    out = {
        "reached": f"{len(reached)}/{len(rows)}",
        "plain_e": med([r["plain_to_target"]["e_steps"] for r in rows]),
        "plain_s": med([r["plain_to_target"]["seconds"] for r in rows]),
        "sq_e": med([r["squarem_to_target"]["e_steps"] for r in reached]),
        "sq_s": med([r["squarem_to_target"]["seconds"] for r in reached]),
        "e_ratio": med(
            [r["plain_to_target"]["e_steps"] / r["squarem_to_target"]["e_steps"] for r in reached]
        ),
        "s_ratio": med(
            [r["plain_to_target"]["seconds"] / r["squarem_to_target"]["seconds"] for r in reached]
        ),
        "plain_total_e": med([r["plain"]["n_e_steps"] for r in rows]),
        "sq_total_e": med([r["squarem"]["n_e_steps"] for r in rows]),
        "bound_diff": med([r["final_bound_difference"] for r in rows]),
        "param_diff": med([r["max_param_difference"] for r in rows]),
        "monotone": all(r["squarem"]["monotone"] for r in rows),
    }
    sk = [r["sklearn_to_target"] for r in rows if r.get("sklearn_to_target", {}).get("e_steps")]
    out["sk_e"] = med([x["e_steps"] for x in sk])
    out["sk_s"] = med([x["seconds"] for x in sk])
    return out


def source_hash() -> str:
    """Digest of emkit's sources, to notice edits made while the benchmark runs."""
    h = hashlib.sha1()
    for path in sorted((SRC / "emkit").rglob("*.py")):
        h.update(str(path.relative_to(SRC)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def facts() -> dict[str, Any]:
    import scipy
    import sklearn

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "git_commit": commit,
        "emkit_source_hash": source_hash(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "loadavg_start": os.getloadavg(),
        "tol": TOL,
        "reg_covar": REG_COVAR,
        "target_slack": TARGET_SLACK,
    }


def markdown(meta: dict[str, Any], results: list[dict[str, Any]]) -> str:
    f = meta["facts"]
    lines = [
        "# SQUAREM vs plain EM: work to reach the same log-likelihood",
        "",
        f"Commit {f['git_commit']}, sources {f['emkit_source_hash']}; Python {f['python']}, "
        f"NumPy {f['numpy']}, scikit-learn {f['sklearn']}; one thread; load average at start "
        f"{', '.join(f'{x:.1f}' for x in f['loadavg_start'])}; seeds {meta['seeds']}"
        + (" (quick: N / 10)" if meta["quick"] else "")
        + ".",
        "",
    ]
    if f.get("emkit_source_hash_end", f["emkit_source_hash"]) != f["emkit_source_hash"]:
        lines += [
            f"emkit's sources changed while the benchmark ran (digest "
            f"{f['emkit_source_hash_end']} at the end); the fits ran the code imported at the "
            "start.",
            "",
        ]
    lines += [
        "Medians over seeds. E-steps = passes over the data to the first recorded point at the "
        "target (SQUAREM's rejected trial points included); seconds from the call of the fit. "
        "Target = min(plain EM's final bound at tol=1e-8, best final bound - 1e-6). "
        "scikit-learn: the same start, tol=0, just enough iterations (seconds of its whole fit).",
        "",
        "| case (N, D, K, cov, spacing) | plain E-steps | SQUAREM E-steps | E-step ratio "
        "| plain s | SQUAREM s | speed-up | sklearn E-steps | sklearn s | reached | "
        "E-steps to converge plain / SQUAREM | final bound SQUAREM - plain | max param diff |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for res in results:
        c, s = res["case"], res["summary"]
        lines.append(
            f"| {c['rows'] // 1000}k, {c['d']}, {c['k']}, {c['covariance_type']}, "
            f"{c['spacing']:g} | {s['plain_e']:.0f} | {s['sq_e']:.0f} | {s['e_ratio']:.1f}x | "
            f"{s['plain_s']:.2f} | {s['sq_s']:.2f} | {s['s_ratio']:.1f}x | {s['sk_e']:.0f} | "
            f"{s['sk_s']:.2f} | {s['reached']} | {s['plain_total_e']:.0f} / "
            f"{s['sq_total_e']:.0f} | {s['bound_diff']:+.1e} | {s['param_diff']:.1e} |"
        )
    lines += [
        "",
        "Ratios are medians of the per-seed ratios (not ratios of the medians). "
        "Every SQUAREM bound history was monotone: "
        + ("yes." if all(r["summary"]["monotone"] for r in results) else "NO (see JSON)."),
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="*", help="case names (default: all)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per case (default 5)")
    parser.add_argument("--quick", action="store_true", help="N / 10 and 2 seeds")
    parser.add_argument("--skip-sklearn", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cases = [c for c in CASES if not args.cases or c.name in args.cases]
    if not cases:
        print(f"no such case; known: {[c.name for c in CASES]}", file=sys.stderr)
        return 2
    seeds = list(range(2 if args.quick else args.seeds))
    try:
        import numba

        numba.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    meta = {"facts": facts(), "seeds": seeds, "quick": args.quick}
    results = []
    with threadpool_limits(limits=1):
        warm = Case(2000, 2, 3, "full", 1.0)
        for cov in ("full", "diag"):  # compile the Numba kernels before any timing
            c = Case(warm.n, warm.d, warm.k, cov, warm.spacing)
            run_case(c, [0], quick=False, sklearn=False)
        for case in cases:
            print(f"{case.name} ({case.rows(args.quick)} rows)", flush=True)
            res = run_case(case, seeds, args.quick, not args.skip_sklearn)
            res["summary"] = summary(res)
            results.append(res)
    meta["facts"]["loadavg_end"] = os.getloadavg()
    meta["facts"]["emkit_source_hash_end"] = source_hash()
    suffix = "_quick" if args.quick else ("_partial" if args.cases else "")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"squarem{suffix}.json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=1, default=float) + "\n"
    )
    text = markdown(meta, results)
    (RESULTS / f"squarem{suffix}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
