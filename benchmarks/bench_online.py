"""Online (stepwise) EM against batch EM: passes over the data and seconds to come within
0.01 (and 0.001) of batch EM's converged mean log-likelihood, from the same start.

Method (see benchmarks/README.md, section "bench_online.py"):

* Cases: ``mixture``, ``--rows`` (10,000,000) rows of D = 8 float64 columns from a seeded
  mixture of K = 8 Gaussians with random full covariances whose means are only about one
  standard deviation apart (batch EM needs tens of passes), fitted as a full-covariance
  mixture (``reg_covar=1e-6``); ``hmm``, ``--sequences`` (1000) sequences of ``--length``
  (1000) observations (T = 10^6) of a seeded 4-state chain (stay with probability 0.9),
  D = 3, Gaussian emissions with diagonal covariances, maximum likelihood.
* The same start for every run: emkit's k-means start of a sample (200,000 uniformly drawn
  rows for the mixture, the first 200 sequences for the HMM), computed once.
* Reference: batch EM (``emkit.core.driver.fit_em``) with ``--tol`` (1e-7, change of the mean
  per-sample log-likelihood) until it converges; L* is its final mean log-likelihood.
* Online EM: ``fit_em(..., online=OnlineEM(batch_size, learning_decay, learning_offset))``,
  the estimators' ``learning_method='online'`` path, with the default ``learning_decay``
  (0.7) and ``learning_offset`` (10) and a few batch sizes, ``tol=0`` and ``--passes``
  passes. The faces run the same driver call: a check on a subset fits the face
  (``GaussianMixture`` / ``GaussianHMM`` with ``learning_method='online'``, the start given as
  its initial parameters) and the driver for two passes and reports the largest relative
  difference of their parameters.
* Recording, outside the timed work: the driver's callback runs after every E-step (batch
  EM: every pass; online EM: every mini-batch). For batch EM it keeps the time and the bound
  of the E-step, which is the whole data's mean log-likelihood of the parameters it scored.
  For online EM it keeps the time and the parameters (a reference, no copy) at checkpoints:
  after 1, 2, 3, 4, 6, 8, 11, 16, ... mini-batches (a factor of about sqrt(2)) in the first
  pass, then every quarter pass. After the fit, each kept point's parameters are scored on
  the whole data (``fit_em(..., init=params, max_iter=0)``, ``--eval-jobs`` threads), so the
  scoring takes no time from the fit.
* Work to a target: the first recorded point at or above it. Passes: rows read / rows of
  the data (online), or E-steps before the parameters (batch EM: the parameters after n
  M-steps cost n passes). Seconds from the call of ``fit_em``: online, to the callback of
  the point's mini-batch (its M-step done); batch EM, to the callback of the n-th E-step
  (the one whose statistics give the parameters; their M-step, about a millisecond, is left
  out). Neither counts the scoring of the point itself.
* Timed fits on one thread (``--n-jobs`` 1, threadpoolctl limits of one), after warm-up
  fits on a small part of the data.

Usage::

    PYTHONPATH=src python benchmarks/bench_online.py                       # ~15 min
    PYTHONPATH=src python benchmarks/bench_online.py --rows 1000000 --sequences 200   # smoke
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench_gmm import _jsonable, _row, _sec, _short, machine_facts, source_hash, threads

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
RESULTS = ROOT / "benchmarks" / "results"
SEED = 20240702
GEN_ROWS = 1 << 18
INIT_ROWS = 200_000
TARGETS = (0.01, 0.001)
CHECK_ROWS = 200_000
MIX_D, MIX_K, MIX_SPREAD = 8, 8, 1.0
HMM_D, HMM_K, HMM_STAY = 3, 4, 0.9

if str(SRC) not in sys.path:  # measure this checkout's emkit, not an installed one
    sys.path.insert(0, str(SRC))


# -- cases --------------------------------------------------------------------------------
def mixture_data(rows: int) -> np.ndarray:
    """Rows of a seeded K-component mixture with random full covariances, means spread by
    MIX_SPREAD (overlapping components), drawn in blocks."""
    d, k = MIX_D, MIX_K
    rng = np.random.default_rng([SEED, d, k])
    means = rng.normal(scale=MIX_SPREAD, size=(k, d))
    a = rng.normal(size=(k, d, d)) / np.sqrt(d)
    chol = np.linalg.cholesky(a @ np.swapaxes(a, 1, 2) + 0.3 * np.eye(d))
    weights = rng.dirichlet(np.full(k, 5.0))
    X = np.empty((rows, d))
    for start in range(0, rows, GEN_ROWS):
        stop = min(rows, start + GEN_ROWS)
        labels = rng.choice(k, size=stop - start, p=weights)
        z = rng.standard_normal((stop - start, d))
        block = X[start:stop]
        for j in range(k):
            mine = labels == j
            block[mine] = means[j] + z[mine] @ chol[j].T
    return X


def hmm_data(n_sequences: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Observations (sequence after sequence) and lengths of a seeded sticky chain with
    Gaussian emissions (diagonal covariances)."""
    d, k = HMM_D, HMM_K
    rng = np.random.default_rng([SEED, d, k, 1])
    transmat = np.full((k, k), (1.0 - HMM_STAY) / (k - 1))
    np.fill_diagonal(transmat, HMM_STAY)
    cumulative = np.cumsum(transmat, axis=1)
    means = rng.normal(size=(k, d))
    scales = rng.uniform(0.6, 1.2, size=(k, d))
    states = np.empty((n_sequences, length), dtype=np.int64)
    states[:, 0] = rng.integers(k, size=n_sequences)
    for t in range(1, length):
        u = rng.random(n_sequences)
        states[:, t] = (u[:, None] > cumulative[states[:, t - 1]]).sum(axis=1)
    flat = states.ravel()
    X = means[flat] + scales[flat] * rng.standard_normal((flat.size, d))
    return X, np.full(n_sequences, length)


@dataclass
class Problem:
    """A case ready to fit: the model, the data the driver reads, its weight, the start."""

    name: str
    description: str
    model: Any
    data: Any
    n_rows: int
    start: Any
    subset: Any  # a small part of the data, for warm-ups and the face check
    face_check: Callable[[Any, int], dict[str, Any]]
    batch_sizes: list[int]
    passes: int


def mixture_problem(args: argparse.Namespace) -> Problem:
    from emkit.families.gaussian import Gaussian
    from emkit.models.initialization import initializer
    from emkit.models.mixture import Mixture

    X = mixture_data(args.rows)
    model = Mixture(Gaussian("full", reg_covar=1e-6), MIX_K, initializer("kmeans"))
    rng = np.random.RandomState(SEED)
    sample = X[np.sort(rng.choice(X.shape[0], size=min(INIT_ROWS, X.shape[0]), replace=False))]
    start = model.init(sample, rng)
    subset = X[: min(CHECK_ROWS, X.shape[0])]

    def face_check(online: Any, passes: int) -> dict[str, Any]:
        import emkit

        face = emkit.GaussianMixture(
            MIX_K,
            covariance_type="full",
            reg_covar=1e-6,
            learning_method="online",
            batch_size=online.batch_size,
            learning_decay=online.learning_decay,
            learning_offset=online.learning_offset,
            max_iter=passes,
            tol=0.0,
            n_jobs=1,
            weights_init=start.weights,
            means_init=start.components.means,
            precisions_init=np.linalg.inv(start.components.covariances),
        ).fit(subset)
        driver = driver_fit(model, subset, start, online, passes)
        ours = driver.params
        return _differences(
            {
                "weights": (face.weights_, ours.weights),
                "means": (face.means_, ours.components.means),
                "covariances": (face.covariances_, ours.components.covariances),
            }
        )

    return Problem(
        "mixture",
        f"{_short(args.rows)} x {MIX_D} float64, K = {MIX_K} full-covariance Gaussian mixture "
        f"(means spread {MIX_SPREAD:g}), reg_covar = 1e-6",
        model,
        X,
        X.shape[0],
        start,
        subset,
        face_check,
        args.mixture_batch_sizes,
        args.mixture_passes,
    )


def hmm_problem(args: argparse.Namespace) -> Problem:
    from emkit.core.batches import Sequences
    from emkit.families.gaussian import Gaussian
    from emkit.models.hmm import HMM
    from emkit.models.initialization import initializer

    X, lengths = hmm_data(args.sequences, args.length)
    model = HMM(Gaussian("diag", reg_covar=0.0), HMM_K, initializer("kmeans"))
    first = min(200, args.sequences)
    start = model.init(
        Sequences(X[: first * args.length], lengths[:first]), np.random.RandomState(SEED)
    )
    n_check = max(1, min(args.sequences, CHECK_ROWS // args.length))
    subset_X, subset_lengths = X[: n_check * args.length], lengths[:n_check]

    def face_check(online: Any, passes: int) -> dict[str, Any]:
        import emkit

        face = emkit.GaussianHMM(
            HMM_K,
            covariance_type="diag",
            init_params="",
            covars_prior=0.0,
            n_iter=passes,
            tol=0.0,
            learning_method="online",
            batch_size=online.batch_size,
            learning_decay=online.learning_decay,
            learning_offset=online.learning_offset,
            n_jobs=1,
        )
        face.startprob_ = start.startprob.copy()
        face.transmat_ = start.transmat.copy()
        face.means_ = start.emissions.means.copy()
        face.covars_ = start.emissions.covariances.copy()
        face.fit(subset_X, subset_lengths)
        ours = driver_fit(model, Sequences(subset_X, subset_lengths), start, online, passes)
        p = ours.params
        return _differences(
            {
                "startprob": (face.startprob_, p.startprob),
                "transmat": (face.transmat_, p.transmat),
                "means": (face.means_, p.emissions.means),
                "covariances": (
                    np.diagonal(face.covars_, axis1=1, axis2=2),
                    p.emissions.covariances,
                ),
            }
        )

    return Problem(
        "hmm",
        f"Gaussian HMM, {args.sequences} sequences of {args.length} (T = "
        f"{_short(args.sequences * args.length)}), K = {HMM_K} states (stay {HMM_STAY:g}), "
        f"D = {HMM_D}, diagonal covariances, maximum likelihood",
        model,
        Sequences(X, lengths),
        X.shape[0],
        start,
        Sequences(subset_X, subset_lengths),
        face_check,
        args.hmm_batch_sizes,
        args.hmm_passes,
    )


def _differences(pairs: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    diffs = {
        name: float(np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b)))
        for name, (a, b) in pairs.items()
    }
    return {"max_rel_diff": max(diffs.values()), "by_array": diffs}


# -- fits and their records ---------------------------------------------------------------
def driver_fit(
    model: Any,
    data: Any,
    start: Any,
    online: Any,
    passes: int,
    callback: Callable[[Any], None] | None = None,
    n_jobs: int = 1,
) -> Any:
    from emkit.core.driver import fit_em

    return fit_em(
        model,
        data,
        init=start,
        max_iter=passes,
        tol=0.0,
        online=online,
        callback=callback,
        n_jobs=n_jobs,
        warn_unconverged=False,
    )


def evaluate(problem: Problem, params: Any, n_jobs: int) -> float:
    """Mean log-likelihood of ``params`` on the whole data (one E-step, no M-step)."""
    from emkit.core.driver import fit_em

    return float(
        fit_em(problem.model, problem.data, init=params, max_iter=0, n_jobs=n_jobs).lower_bound
    )


@dataclass
class OnlineRecorder:
    """The driver's callback of an online fit: the parameters and the time at checkpoints."""

    n_rows: int
    marks: set[int]
    t0: float = 0.0
    batches: int = 0
    rows: float = 0.0
    points: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, info: Any) -> None:
        self.batches += 1
        self.rows += info.weight
        if self.batches in self.marks:
            self.points.append(
                {
                    "batches": self.batches,
                    "passes": self.rows / self.n_rows,
                    "seconds": time.perf_counter() - self.t0,
                    "params": info.params,
                }
            )


def checkpoints(batches_per_pass: int, passes: int) -> set[int]:
    """1, 2, 3, 4, 6, 8, 11, 16, ... mini-batches in the first pass, then every quarter."""
    marks = {batches_per_pass}
    x = 1.0
    while x < batches_per_pass:
        marks.add(round(x))
        x *= math.sqrt(2.0)
    for quarter in range(1, 4 * passes + 1):
        marks.add(max(1, round(quarter * batches_per_pass / 4)))
    return marks


def batches_per_pass(problem: Problem, batch_size: int) -> int:
    from emkit.execution.sources import as_source

    return sum(1 for _ in as_source(problem.data).chunks(batch_size))


def run_batch(problem: Problem, args: argparse.Namespace) -> dict[str, Any]:
    from emkit.core.driver import fit_em

    times: list[float] = []
    bounds: list[float] = []

    def record(info: Any) -> None:
        times.append(time.perf_counter() - t0)
        bounds.append(info.lower_bound)

    from emkit.exceptions import ConvergenceWarning

    with threads(True), warnings.catch_warnings():
        warnings.simplefilter("error")  # no MonotonicityWarning, nor any other
        warnings.simplefilter("ignore", ConvergenceWarning)  # result.converged says it
        t0 = time.perf_counter()
        result = fit_em(
            problem.model,
            problem.data,
            init=problem.start,
            max_iter=args.max_iter,
            tol=args.tol,
            callback=record,
            n_jobs=args.n_jobs,
        )
        total = time.perf_counter() - t0
    # The parameters after n M-steps took n E-steps: those of the start and n - 1 more.
    points = [{"passes": 0.0, "seconds": 0.0, "loglik": bounds[0]}] + [
        {"passes": float(n), "seconds": times[n - 1], "loglik": bounds[n]}
        for n in range(1, len(bounds))
    ]
    return {
        "method": "batch",
        "converged": bool(result.converged),
        "n_iter": int(result.n_iter),
        "final_loglik": float(result.lower_bound),
        "last_change": float(np.diff(result.lower_bounds[-2:]).sum()),
        "fit_seconds": total,
        "seconds_per_pass": (times[-1] - times[0]) / max(1, len(times) - 1),
        "points": points,
    }


def run_online(problem: Problem, args: argparse.Namespace, batch_size: int) -> dict[str, Any]:
    from emkit.core.online import OnlineEM

    online = OnlineEM(batch_size, args.learning_decay, args.learning_offset)
    per_pass = batches_per_pass(problem, batch_size)
    recorder = OnlineRecorder(problem.n_rows, checkpoints(per_pass, problem.passes))
    with threads(True), warnings.catch_warnings():
        warnings.simplefilter("error")
        recorder.t0 = time.perf_counter()
        result = driver_fit(
            problem.model,
            problem.data,
            problem.start,
            online,
            problem.passes,
            recorder,
            args.n_jobs,
        )
        total = time.perf_counter() - recorder.t0
    points = []
    for point in recorder.points:
        params = point.pop("params")
        point["loglik"] = evaluate(problem, params, args.eval_jobs)
        points.append(point)
    end = points[-1]
    return {
        "method": "online",
        "batch_size": batch_size,
        "learning_decay": online.learning_decay,
        "learning_offset": online.learning_offset,
        "batches_per_pass": per_pass,
        "passes": int(result.n_iter),
        "fit_seconds": total,
        "seconds_per_pass": end["seconds"] / end["passes"],
        "final_loglik": float(result.lower_bound),
        "final_matches_last_point": bool(
            abs(result.lower_bound - end["loglik"]) <= 1e-12 * abs(end["loglik"])
        ),
        "pass_lower_bounds": [float(b) for b in result.pass_lower_bounds],
        "points": points,
    }


def reach(points: list[dict[str, Any]], target: float) -> dict[str, Any] | None:
    """The first point at or above ``target``, or None."""
    return next((p for p in points if p["loglik"] >= target), None)


def warm_up(problem: Problem, args: argparse.Namespace) -> None:
    """Both kinds of fit on the subset (kernels load, thread pools start)."""
    from emkit.core.online import OnlineEM

    with threads(True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        driver_fit(problem.model, problem.subset, problem.start, None, 2, n_jobs=args.n_jobs)
        for batch_size in problem.batch_sizes:
            driver_fit(
                problem.model,
                problem.subset,
                problem.start,
                OnlineEM(batch_size, args.learning_decay, args.learning_offset),
                1,
                n_jobs=args.n_jobs,
            )
        evaluate(problem, problem.start, args.eval_jobs)


def run_case(problem: Problem, args: argparse.Namespace) -> dict[str, Any]:
    from emkit.core.online import OnlineEM

    print(f"\n[{problem.name}] {problem.description}", flush=True)
    warm_up(problem, args)
    check = problem.face_check(
        OnlineEM(problem.batch_sizes[0], args.learning_decay, args.learning_offset), 2
    )
    print(f"  face vs driver, 2 online passes on a subset: {check['max_rel_diff']:.1e}")
    batch = run_batch(problem, args)
    L = batch["final_loglik"]
    print(
        f"  batch EM: {batch['n_iter']} iterations, converged {batch['converged']}, "
        f"L* = {L:.10f}, {batch['fit_seconds']:.1f} s",
        flush=True,
    )
    runs = [batch]
    for batch_size in problem.batch_sizes:
        run = run_online(problem, args, batch_size)
        runs.append(run)
        print(
            f"  online batch_size={batch_size}: {run['passes']} passes in "
            f"{run['fit_seconds']:.1f} s, final L - L* = {run['final_loglik'] - L:+.2e}",
            flush=True,
        )
    for run in runs:
        run["targets"] = {}
        for gap in TARGETS:
            hit = reach(run["points"], L - gap)
            run["targets"][str(gap)] = (
                None if hit is None else {"passes": hit["passes"], "seconds": hit["seconds"]}
            )
        run["best_loglik"] = max(p["loglik"] for p in run["points"])
    return {
        "case": problem.name,
        "description": problem.description,
        "n_rows": problem.n_rows,
        "L_star": L,
        "start_loglik": batch["points"][0]["loglik"],
        "face_check": check,
        "runs": runs,
    }


# -- output -------------------------------------------------------------------------------
def markdown(meta: dict[str, Any], cases: list[dict[str, Any]]) -> str:
    facts = meta["machine"]
    lines = [
        "## Online EM vs batch EM to batch EM's converged log-likelihood",
        "",
        f"{meta['date']}; {facts['cpu']}, {facts['usable_cpus']} cores, "
        f"{facts['memory_bytes'] / 2**30:.0f} GiB; numpy {facts['numpy']}; emkit "
        f"{facts['emkit']} (commit {facts['git_commit']}, sources {facts['emkit_source_hash']}). "
        f"Load average at start {facts['loadavg_start'][0]:.2f}, at end "
        f"{meta['loadavg_end'][0]:.2f}.",
        f"Timed fits with n_jobs={meta['n_jobs']} and one BLAS thread; points scored after "
        f"the fit with n_jobs={meta['eval_jobs']}. Batch EM tol={meta['tol']:g}; online EM "
        f"learning_decay={meta['learning_decay']:g}, learning_offset={meta['learning_offset']:g}, "
        "tol=0.",
    ]
    for case in cases:
        L = case["L_star"]
        batch = case["runs"][0]
        lines += [
            "",
            f"### {case['description']}",
            "",
            f"L* = {L:.8f} (batch EM, {batch['n_iter']} iterations, converged "
            f"{batch['converged']}, last change {batch['last_change']:.1e}); the start "
            f"{case['start_loglik'] - L:+.4f}. Face vs driver (two online passes on a subset, "
            f"same start): largest relative difference {case['face_check']['max_rel_diff']:.1e}.",
            "",
        ]
        head = ["method", "batch_size", "steps per pass"]
        for gap in TARGETS:
            head += [
                f"passes to L* - {gap:g}",
                "seconds",
                "passes online / batch",
                "s online / batch",
            ]
        head += ["s per pass", "passes run", "final L - L*", "best L - L*"]
        lines += [_row(head), "|---|" + "---:|" * (len(head) - 1)]
        for run in case["runs"]:
            online = run["method"] == "online"
            cells = [
                run["method"],
                str(run["batch_size"]) if online else "all",
                str(run["batches_per_pass"]) if online else "1",
            ]
            for gap in TARGETS:
                hit, ref = run["targets"][str(gap)], batch["targets"][str(gap)]
                if hit is None:
                    cells += ["not reached", "-", "-", "-"]
                    continue
                cells += [f"{hit['passes']:.3g}", _sec(hit["seconds"])]
                if online and ref is not None and ref["passes"] > 0:
                    cells += [
                        f"{hit['passes'] / ref['passes']:.3g}",
                        f"{hit['seconds'] / ref['seconds']:.3g}",
                    ]
                else:
                    cells += ["-", "-"]
            cells += [
                _sec(run["seconds_per_pass"]),
                str(run["passes"] if online else run["n_iter"]),
                f"{run['final_loglik'] - L:+.1e}",
                f"{run['best_loglik'] - L:+.1e}",
            ]
            lines.append(_row(cells))
        lines += ["", "Trajectories (passes: L - L*):", ""]
        for run in case["runs"]:
            label = (
                "batch" if run["method"] == "batch" else f"online, batch_size={run['batch_size']}"
            )
            shown = _trajectory(run["points"], run["method"] == "online")
            lines.append(
                f"- {label}: "
                + ", ".join(f"{p['passes']:.3g}: {p['loglik'] - L:+.1e}" for p in shown)
            )
    lines += [
        "",
        "passes = rows read / rows of the data (batch EM: the parameters after n M-steps cost "
        "n passes); seconds from the call of fit_em to the callback that produced the point "
        "(scoring excluded); a target is reached at the first recorded point at or above it "
        "(online points: after 1, 2, 3, 4, 6, 8, 11, ... mini-batches, about a factor sqrt(2), "
        "then every quarter pass). s per pass: batch EM, the mean time between E-steps; "
        "online, the time of the last recorded point over its passes. final: after the last "
        "pass (the fit's own final E-step); best: the highest recorded point.",
    ]
    if meta["notes"]:
        lines += ["", "Notes:"] + [f"- {note}" for note in meta["notes"]]
    return "\n".join(lines) + "\n"


def _trajectory(points: list[dict[str, Any]], pass_ends: bool) -> list[dict[str, Any]]:
    """A dozen or so points of a run's record: the first, one per doubling of the passes,
    the pass ends (``pass_ends``) and the last."""
    shown, last = [], -1.0
    for i, p in enumerate(points):
        x = p["passes"]
        whole = pass_ends and x >= 1 and abs(x - round(x)) < 1e-9
        if i in (0, len(points) - 1) or whole or x >= 2 * last:
            shown.append(p)
            last = x
    return shown


# -- main ---------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from emkit.core.online import OnlineEM

    default = OnlineEM()
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--cases", nargs="+", choices=("mixture", "hmm"), default=["mixture", "hmm"])
    p.add_argument("--rows", type=int, default=10_000_000, help="mixture rows, default 1e7")
    p.add_argument("--sequences", type=int, default=1000, help="HMM sequences, default 1000")
    p.add_argument("--length", type=int, default=1000, help="HMM sequence length, default 1000")
    p.add_argument("--mixture-batch-sizes", type=int, nargs="+", default=[1024, 16384, 131072])
    p.add_argument("--hmm-batch-sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    p.add_argument("--mixture-passes", type=int, default=3, help="online passes, default 3")
    p.add_argument("--hmm-passes", type=int, default=10, help="online passes, default 10")
    p.add_argument("--learning-decay", type=float, default=default.learning_decay)
    p.add_argument("--learning-offset", type=float, default=default.learning_offset)
    p.add_argument("--tol", type=float, default=1e-7, help="batch EM's tol, default 1e-7")
    p.add_argument("--max-iter", type=int, default=1000, help="batch EM's max_iter")
    p.add_argument("--n-jobs", type=int, default=1, help="n_jobs of the timed fits")
    p.add_argument("--eval-jobs", type=int, default=2, help="n_jobs of the scoring passes")
    p.add_argument("--output", type=Path, default=None, help="results stem")
    args = p.parse_args(argv)
    if args.tol <= 0:
        p.error("--tol must be positive: batch EM must converge to give L*")
    return args


def main(argv: list[str] | None = None) -> int:
    import sklearn  # noqa: F401

    import emkit  # noqa: F401

    args = parse_args(argv)
    meta: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_facts(()),
        "n_jobs": args.n_jobs,
        "eval_jobs": args.eval_jobs,
        "tol": args.tol,
        "learning_decay": args.learning_decay,
        "learning_offset": args.learning_offset,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "notes": [],
    }
    t_start = time.perf_counter()
    builders = {"mixture": mixture_problem, "hmm": hmm_problem}
    cases = []
    for name in args.cases:
        problem = builders[name](args)
        cases.append(run_case(problem, args))
        del problem
    meta["loadavg_end"] = os.getloadavg()
    meta["wall_seconds"] = time.perf_counter() - t_start
    if source_hash() != meta["machine"]["emkit_source_hash"]:
        meta["notes"].append(
            "emkit's sources changed while the benchmark ran (the modules had been imported before)"
        )
    for case in cases:
        for run in case["runs"][1:]:
            if not run["final_matches_last_point"]:
                meta["notes"].append(
                    f"{case['case']} batch_size={run['batch_size']}: the fit's final bound "
                    "differs from the scoring of its last point"
                )
        if not case["runs"][0]["converged"]:
            meta["notes"].append(f"{case['case']}: batch EM did not converge; L* is its last bound")
    table = markdown(meta, cases)
    print("\n" + table)
    default_run = args.rows == 10_000_000 and args.sequences == 1000 and args.length == 1000
    stem = args.output or RESULTS / ("online" if default_run else "online_small")
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".md").write_text(table)
    stem.with_suffix(".json").write_text(
        json.dumps(_jsonable({"meta": meta, "cases": cases}), indent=1) + "\n"
    )
    print(f"wrote {stem}.md and .json ({meta['wall_seconds']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
