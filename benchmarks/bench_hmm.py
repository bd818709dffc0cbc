"""emkit's hidden Markov models (GaussianHMM, CategoricalHMM) against hmmlearn (both its
implementations, "log" and "scaling") and pomegranate's DenseHMM: time per Baum-Welch
iteration at equal work, the machine's lower bound for that iteration, and the peak memory
of a fit.

Cases: 1000 sequences of length 1000 (T = 1e6 observations, float64 for Gaussian data),
drawn from a seeded K-state chain; Gaussian emissions with diagonal covariances, D = 8,
K = 4, 16, 64; categorical emissions with M = 1000 symbols, K = 16.

Method (see benchmarks/README.md and BENCHMARKING.md):

* Equal work: the same seeded data, the same initial parameters set by hand on every tool
  (``init_params=""``; start probabilities uniform, transitions 0.5 I + 0.5 / K, means K
  distinct data rows and every state at the pooled variances of a 10k-row subsample, or
  emission probabilities half the symbol frequencies and half a seeded Dirichlet draw), no
  convergence test (emkit ``tol=0``, hmmlearn ``tol=-inf``, pomegranate ``tol=-inf``) and a
  fixed number of iterations. Maximum likelihood everywhere (``covars_prior=0`` for emkit and
  hmmlearn: pomegranate has no prior). The final total log-likelihoods must agree with
  emkit's to a relative 1e-6 and every tool must have done ITERS M-steps, else the run fails.
* pomegranate 1.1.2: torch's default dtype is set to float64; ``DenseHMM(distributions,
  edges=transitions, starts=start probabilities, ends=ones)`` (it stores ``edges``, ``starts``
  and ``ends`` as logarithms). Its model has explicit end probabilities: they enter the
  likelihood and its M-step divides each row of expected transitions by the row's count plus
  the expected ends, so its transition rows would not sum to one and its likelihood would
  differ from hmmlearn's by about 1e-3 relative. Here the ends are fixed at probability one
  (the ``ends`` parameter is frozen) and their statistics are zeroed before each M-step, which
  makes its model and M-step those of hmmlearn and emkit. ``tol`` must be non-negative in its
  constructor, so ``-inf`` is set on the object afterwards. Its forward-backward materialises
  a (sequences, L - 1, K, K) tensor (8e6 K^2 bytes for all sequences: 33 GB at K = 64), so it
  is given its own input form for this, a list of 3-D tensors (views of the data) of as many
  sequences as keep that tensor under ``--block-mb`` (512 MB); its fit sums the statistics
  over the list, an exact EM step.
* Seconds per iteration: ``(t(n_iter=ITERS) - t(n_iter=1)) / (ITERS - 1)``, so setup, input
  checks and emkit's final log-likelihood pass cancel. One warm-up fit of each tool on the
  first few sequences (compilation, thread pools), then ``--repeats`` rounds in the order
  emkit, hmmlearn log, hmmlearn scaling, pomegranate (ITERS), the same (1); the median is
  reported. "1 thr": emkit ``n_jobs=1``, threadpoolctl limits of one, Numba and torch set to
  one thread. "2 cores": emkit ``n_jobs=2``, the peers with their libraries' default thread
  counts. hmmlearn's speed is the faster of its two implementations.
* Bound: the work of one iteration divided by rates measured at the start of the run
  (GEMM float64 n=3072 one thread, np.exp, memory copy; ``bench_gmm.measure_rates``).
  Operation counts for T observations, K states:

  - chain (forward, backward, expected transitions): 6 T K^2 flops;
  - Gaussian, diagonal covariances, D features: 3 T K D flops for the log-densities,
    4 T K D for the statistics (posterior-weighted x and x^2), T K exponentials, and the
    data read once, 8 T D bytes;
  - categorical, M symbols: 2 T K flops (look up the emission probabilities of the symbol,
    add the posteriors to its counts), no exponentials, T x itemsize bytes of symbols (the
    K x M table stays in cache).

* Peak memory: every fit runs again in a fresh process (``--child``), one thread,
  ``--memory-iters`` iterations (2: the memory of an iteration does not grow with their
  number); the peak resident set (VmHWM) is reset once the data is resident, and the peak
  added by the fit is reported.

Usage::

    PYTHONPATH=src python benchmarks/bench_hmm.py                    # all cases
    PYTHONPATH=src python benchmarks/bench_hmm.py --cases gaussian-16 categorical-16
    PYTHONPATH=src python benchmarks/bench_hmm.py --quick --out /tmp/bench_hmm   # smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import importlib.metadata
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench_gmm import (
    IDLE_RATES,
    _jsonable,
    _row,
    _sec,
    bound_seconds,
    import_pomegranate,
    machine_facts,
    measure_rates,
    proc_status,
    reset_peak,
    source_hash,
    threads,
)

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
RESULTS = ROOT / "benchmarks" / "results"
CHILD_MARK = "BENCH_CHILD_RESULT "
SEED = 20240611
N_SEQUENCES = 1000
SEQ_LENGTH = 1000
GAUSS_D = 8
N_SYMBOLS = 1000
RTOL_LOGLIK = 1e-6
WARM_SEQUENCES = 8
"""Sequences in the warm-up fits (compilation and thread pools, not the data)."""
BLOCK_MB = 512
"""Default cap (MB) on pomegranate's (sequences, L - 1, K, K) float64 tensor per block."""
MEMORY_ITERS = 2
PEERS = ("hmmlearn-log", "hmmlearn-scaling", "pomegranate")
TOOLS = ("emkit", *PEERS)
MULTI_JOBS = 2
"""emkit's ``n_jobs`` in the "2 cores" columns (the peers keep their default threads)."""

if str(SRC) not in sys.path:  # measure this checkout's emkit, not an installed one
    sys.path.insert(0, str(SRC))


def _label(tool: str) -> str:
    return tool.replace("-", " ")


# -- cases --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    emission: str
    """'gaussian' (diagonal covariances) or 'categorical'."""
    k: int
    d: int
    """Features (Gaussian) or symbols (categorical)."""
    n_seq: int = N_SEQUENCES
    length: int = SEQ_LENGTH

    @property
    def name(self) -> str:
        return f"{self.emission}-{self.k}"

    def sequences(self, quick: bool) -> int:
        return self.n_seq // 10 if quick else self.n_seq


CASES = (
    *(Case("gaussian", k, GAUSS_D) for k in (4, 16, 64)),
    Case("categorical", 16, N_SYMBOLS),
)
CASE_BY_NAME = {c.name: c for c in CASES}


def emkit_class(case: Case) -> Any:
    """emkit's estimator class for the case, or None when this checkout lacks it."""
    import emkit

    return getattr(emkit, "GaussianHMM" if case.emission == "gaussian" else "CategoricalHMM", None)


# -- data and start -----------------------------------------------------------------------
def make_data(case: Case, n_seq: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_seq`` sequences of length ``case.length`` from a seeded K-state chain, end to end:
    X of shape (T, D) float64 (Gaussian) or (T, 1) int64 symbols, and the lengths."""
    k, d, length = case.k, case.d, case.length
    rng = np.random.default_rng([SEED, 0 if case.emission == "gaussian" else 1, k, d])
    startprob = rng.dirichlet(np.ones(k))
    transmat = 0.8 * np.eye(k) + 0.2 * rng.dirichlet(np.ones(k), size=k)
    cumulative = np.cumsum(transmat, axis=1)
    states = np.empty((n_seq, length), dtype=np.intp)
    states[:, 0] = rng.choice(k, size=n_seq, p=startprob)
    for t in range(1, length):
        u = rng.random(n_seq)
        nxt = (u[:, None] > cumulative[states[:, t - 1]]).sum(axis=1)
        states[:, t] = np.minimum(nxt, k - 1)
    states = states.reshape(-1)
    if case.emission == "gaussian":
        means = rng.normal(scale=2.0, size=(k, d))
        scales = rng.uniform(0.5, 1.5, size=(k, d))
        X = rng.standard_normal((states.size, d))
        X *= scales[states]
        X += means[states]
    else:
        emissionprob = rng.dirichlet(np.full(d, 0.2), size=k)
        X = np.empty((states.size, 1), dtype=np.int64)
        for j in range(k):
            rows = states == j
            X[rows, 0] = rng.choice(d, size=int(rows.sum()), p=emissionprob[j])
    return X, np.full(n_seq, length, dtype=np.int64)


def make_start(X: np.ndarray, case: Case) -> dict[str, np.ndarray]:
    """Initial parameters given to every tool (see the module docstring)."""
    k = case.k
    rng = np.random.default_rng([SEED, 1, k, case.d])
    start: dict[str, np.ndarray] = {
        "startprob": np.full(k, 1.0 / k),
        "transmat": 0.5 * np.eye(k) + 0.5 / k,
    }
    n = X.shape[0]
    if case.emission == "gaussian":
        sub = X[np.sort(rng.choice(n, size=min(n, 10_000), replace=False))]
        start["means"] = X[np.sort(rng.choice(n, size=k, replace=False))].copy()
        start["covars"] = np.repeat(sub.var(axis=0)[None], k, axis=0)
    else:
        freq = np.bincount(X[:, 0], minlength=case.d) / n
        emissionprob = 0.5 * freq + 0.5 * rng.dirichlet(np.ones(case.d), size=k)
        start["emissionprob"] = emissionprob / emissionprob.sum(axis=1, keepdims=True)
    return start


def block_sequences(case: Case, block_mb: float) -> int:
    """Sequences per pomegranate block: its (S, L - 1, K, K) float64 tensor under block_mb."""
    per_sequence = (case.length - 1) * case.k * case.k * 8
    return max(1, int(block_mb * 1e6 // per_sequence))


def tool_data(
    X: np.ndarray, lengths: np.ndarray, case: Case, tools: Sequence[str], block_mb: float
) -> dict[str, Any]:
    """Each tool's input: (X, lengths) for emkit and hmmlearn; for pomegranate a list of 3-D
    tensors (S, L, D), views of the same memory (``torch.from_numpy``), so it copies
    nothing."""
    data: dict[str, Any] = {t: (X, lengths) for t in tools if t != "pomegranate"}
    if "pomegranate" in tools:
        torch = import_pomegranate()["torch"]
        n_seq = lengths.size
        cube = torch.from_numpy(X).reshape(n_seq, case.length, X.shape[1])
        step = block_sequences(case, block_mb)
        data["pomegranate"] = [cube[i : i + step] for i in range(0, n_seq, step)]
    return data


# -- fitting ------------------------------------------------------------------------------
_POMEGRANATE_HMM: dict[str, Any] = {}


def import_pomegranate_hmm() -> dict[str, Any]:
    """torch (default dtype float64, see bench_gmm.import_pomegranate), pomegranate's
    distributions and a DenseHMM that counts its M-steps and keeps its end probabilities
    at one."""
    if not _POMEGRANATE_HMM:
        torch = import_pomegranate()["torch"]
        from pomegranate.distributions import Categorical, Normal
        from pomegranate.hmm import DenseHMM

        class CountingDenseHMM(DenseHMM):  # type: ignore[misc]
            """DenseHMM without end states: the frozen ends stay at log 1 = 0 and their
            expected counts are dropped before the M-step, so the transition rows are
            normalised as in hmmlearn; counts its M-steps (pomegranate keeps no n_iter_)."""

            def from_summaries(self) -> None:
                self.n_iter_ += 1
                self._xw_ends_sum.zero_()
                super().from_summaries()

        _POMEGRANATE_HMM.update(
            torch=torch, Normal=Normal, Categorical=Categorical, DenseHMM=CountingDenseHMM
        )
    return _POMEGRANATE_HMM


def estimator(
    tool: str, case: Case, start: dict[str, np.ndarray], n_iter: int, n_jobs: int = 1
) -> Any:
    if tool == "pomegranate":
        return pomegranate_estimator(case, start, n_iter)
    if tool == "emkit":
        cls = emkit_class(case)
        extra: dict[str, Any] = {"tol": 0.0, "n_jobs": n_jobs}
    else:
        from hmmlearn import hmm

        cls = hmm.GaussianHMM if case.emission == "gaussian" else hmm.CategoricalHMM
        extra = {"tol": -math.inf, "implementation": tool.split("-")[1]}
    if case.emission == "gaussian":
        est = cls(case.k, "diag", covars_prior=0.0, n_iter=n_iter, init_params="", **extra)
        est.means_ = start["means"].copy()
        est.covars_ = start["covars"].copy()
    else:
        est = cls(case.k, n_features=case.d, n_iter=n_iter, init_params="", **extra)
        est.emissionprob_ = start["emissionprob"].copy()
    est.startprob_ = start["startprob"].copy()
    est.transmat_ = start["transmat"].copy()
    return est


def pomegranate_estimator(case: Case, start: dict[str, np.ndarray], n_iter: int) -> Any:
    """CountingDenseHMM at the shared start with float64 distributions; ``inertia=0``
    applies every M-step in full."""
    pg = import_pomegranate_hmm()
    torch = pg["torch"]
    if case.emission == "gaussian":
        distributions = [
            pg["Normal"](
                means=torch.tensor(start["means"][j]),
                covs=torch.tensor(start["covars"][j]),
                covariance_type="diag",
            )
            for j in range(case.k)
        ]
    else:
        distributions = [
            pg["Categorical"](probs=torch.tensor(start["emissionprob"][j][None, :]))
            for j in range(case.k)
        ]
    model = pg["DenseHMM"](
        distributions,
        edges=torch.tensor(start["transmat"]),
        starts=torch.tensor(start["startprob"]),
        ends=torch.ones(case.k, dtype=torch.float64),
        max_iter=n_iter,
        tol=0.0,
        inertia=0.0,
    )
    model.tol = -math.inf  # the constructor refuses a negative tol; fit compares gain < tol
    model.ends.frozen = True  # pomegranate's _update_parameter skips frozen parameters
    model.n_iter_ = 0
    return model


def fit(tool: str, est: Any, data: Any) -> None:
    if tool == "pomegranate":
        est.fit(data)
    else:
        est.fit(*data)


def total_loglik(tool: str, est: Any, data: Any) -> float:
    """Total log-likelihood of all sequences under the fitted model (``score`` for emkit and
    hmmlearn; pomegranate's ``log_probability`` summed over its blocks)."""
    if tool == "pomegranate":
        return float(sum(float(est.log_probability(block).sum()) for block in data))
    return float(est.score(*data))


def n_iterations(tool: str, est: Any) -> int:
    return int(est.n_iter_ if tool == "pomegranate" else est.monitor_.iter)


def timed_fit(tool: str, est: Any, data: Any, other_warnings: list[str] | None = None) -> float:
    """Seconds of the fit; convergence warnings (expected without a convergence test) are
    swallowed and any other warning is recorded."""
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

    from emkit.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        fit(tool, est, data)
        elapsed = time.perf_counter() - t0
    for w in caught:
        expected = issubclass(w.category, (ConvergenceWarning, SklearnConvergenceWarning))
        if not expected and other_warnings is not None:
            other_warnings.append(f"{w.category.__name__}: {w.message}")
    return elapsed


@contextlib.contextmanager
def quiet_hmmlearn() -> Iterator[None]:
    """Silence hmmlearn's log for the warm-up fits: it notes that a model has more free
    parameters than the warm-up's few sequences have observations, true and irrelevant
    there."""
    log = logging.getLogger("hmmlearn")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def time_per_iteration(
    case: Case,
    tools: Sequence[str],
    data: dict[str, Any],
    warm: dict[str, Any],
    start: dict[str, np.ndarray],
    iters: int,
    repeats: int,
    one_thread: bool,
    notes: list[str],
) -> dict[str, Any]:
    """Warm up on a few sequences, then ``repeats`` rounds of (ITERS: A B C D, 1: A B C D);
    per-iteration medians. One thread: emkit n_jobs=1 and every pool at one thread; else
    emkit n_jobs=MULTI_JOBS and the peers at their default thread counts."""
    n_jobs = 1 if one_thread else MULTI_JOBS
    raw: dict[str, dict[str, list[float]]] = {t: {"t_iters": [], "t_1": []} for t in tools}
    last: dict[str, Any] = {}
    with threads(one_thread):
        with quiet_hmmlearn():
            for tool in tools:
                timed_fit(tool, estimator(tool, case, start, 2, n_jobs), warm[tool], notes)
        for _ in range(repeats):
            for n_iter, key in ((iters, "t_iters"), (1, "t_1")):
                for tool in tools:
                    est = estimator(tool, case, start, n_iter, n_jobs)
                    raw[tool][key].append(timed_fit(tool, est, data[tool], notes))
                    if n_iter == iters:
                        last[tool] = est
                    del est
                    gc.collect()
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


# -- the bound ----------------------------------------------------------------------------
def work(case: Case, n: int, itemsize: int) -> dict[str, float]:
    """Flops, exponentials and bytes of one Baum-Welch iteration (module docstring)."""
    k, d = case.k, case.d
    chain = 6 * n * k * k
    if case.emission == "gaussian":
        emission = 3 * n * k * d + 4 * n * k * d
        exps = n * k
        nbytes = itemsize * n * d
    else:
        emission = 2 * n * k
        exps = 0
        nbytes = itemsize * n
    return {
        "flops": float(chain + emission),
        "chain_flops": float(chain),
        "emission_flops": float(emission),
        "exps": float(exps),
        "bytes": float(nbytes),
    }


# -- peak memory --------------------------------------------------------------------------
def run_child(
    tool: str, case_name: str, iters: int, quick: bool, block_mb: float
) -> dict[str, Any]:
    """Run one fit in a fresh interpreter; one thread, same data and start as the timing."""
    case = CASE_BY_NAME[case_name]
    # imports (and their memory) happen before the measurement
    import hmmlearn.hmm  # noqa: F401

    import emkit  # noqa: F401

    if tool == "pomegranate":
        import_pomegranate_hmm()
    X, lengths = make_data(case, case.sequences(quick))
    start = make_start(X, case)
    n_warm = WARM_SEQUENCES * case.length
    warm_X = np.ascontiguousarray(X[:n_warm])
    warm = tool_data(warm_X, lengths[:WARM_SEQUENCES], case, [tool], block_mb)[tool]
    data = tool_data(X, lengths, case, [tool], block_mb)[tool]
    notes: list[str] = []
    with threads(True):
        with quiet_hmmlearn():
            timed_fit(tool, estimator(tool, case, start, 2), warm, notes)
        del warm, warm_X
        gc.collect()
        was_reset = reset_peak()
        before = proc_status()
        est = estimator(tool, case, start, iters)
        seconds = timed_fit(tool, est, data, notes)
        after = proc_status()
    base = before["VmRSS"] if was_reset else before["VmHWM"]
    return {
        "tool": tool,
        "case": case_name,
        "rows": X.shape[0],
        "data_bytes": X.nbytes,
        "rss_before": before["VmRSS"],
        "hwm_before": before["VmHWM"],
        "hwm_after": after["VmHWM"],
        "peak_reset": was_reset,
        "peak_extra_bytes": after["VmHWM"] - base,
        "fit_seconds": seconds,
        "iters": iters,
        "n_iter_done": n_iterations(tool, est),
        "source_hash": source_hash(),
        "warnings": notes,
    }


def measure_memory(
    tool: str, case: Case, iters: int, quick: bool, block_mb: float
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        tool,
        "--case",
        case.name,
        "--memory-iters",
        str(iters),
        "--block-mb",
        str(block_mb),
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


# -- output -------------------------------------------------------------------------------
def _case_cell(res: dict[str, Any]) -> str:
    what = f"Gaussian diag D={res['d']}" if res["emission"] == "gaussian" else f"M={res['d']}"
    return f"{res['n_seq']} x {res['length']}, K={res['k']}, {what}"


def speed_up(
    mine: float,
    peers: Sequence[str],
    *timings: dict[str, Any],
    labels: Sequence[str] = ("",),
) -> str:
    """The fastest peer run's s/iter (over ``timings``) divided by emkit's ``mine``, the peer
    named; '-' when a difference of times is not positive (noise larger than the work)."""
    runs = [
        (timing[p]["s_per_iter"], f"{_label(p)}{label}")
        for timing, label in zip(timings, labels, strict=True)
        for p in peers
    ]
    if not runs:
        return "-"
    if mine <= 0 or any(value <= 0 for value, _ in runs):
        return "- (noise)"
    best, name = min(runs)
    return f"{best / mine:.2f}x ({name})"


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
    versions = f"numpy {facts['numpy']}, scipy {facts['scipy']}, hmmlearn {facts['hmmlearn']}"
    if "pomegranate" in peers:
        versions += (
            f", pomegranate {facts['pomegranate']} on torch {facts['torch']} "
            f"({facts['torch_blas']}, {facts['torch_default_threads']} default threads)"
        )
    lines = [
        f"## Hidden Markov models: emkit vs {', '.join(_label(p) for p in peers)}",
        "",
        f"{meta['date']}; {facts['cpu']}, {facts['usable_cpus']} cores, "
        f"{facts['memory_bytes'] / 2**30:.0f} GiB; {blas}.",
        f"{versions}; emkit {facts['emkit']} (commit {facts['git_commit']}, sources "
        f"{facts['emkit_source_hash']}). Load average at start {facts['loadavg_start'][0]:.2f}, "
        f"at end {meta['loadavg_end'][0]:.2f}.",
        f"Measured rates (one thread): GEMM float64 {r['gemm_flops_per_s'] / 1e9:.1f} GFLOP/s, "
        f"np.exp {r['exp_per_s'] / 1e9:.2f} G/s, memory copy {r['copy_bytes_per_s'] / 1e9:.1f}"
        " GB/s.",
        f"Seconds per Baum-Welch iteration = (t(n_iter={meta['iters']}) - t(n_iter=1)) / "
        f"{meta['iters'] - 1}, median of {meta['repeats']} alternated repeats after a warm-up; "
        "no convergence test, same data and same initial parameters for every tool.",
        "1 thr: emkit n_jobs=1; BLAS/OpenMP, Numba and torch limited to one thread each. "
        f"{multi}: emkit n_jobs={meta['multi_jobs']}; the peers with their libraries' default "
        "thread counts.",
    ]
    if meta["quick"]:
        lines.append("QUICK RUN: sequences divided by 10; not for quoting.")

    head = (
        ["case (sequences x length, K, emissions)", "emkit s/iter 1 thr"]
        + [f"{_label(p)} s/iter 1 thr" for p in peers]
        + ["speed-up 1 thr (vs faster peer)", "bound s/iter", "emkit/bound"]
        + [f"{_label(p)}/bound" for p in peers]
        + [f"emkit s/iter {multi}"]
        + [f"{_label(p)} s/iter default thr" for p in peers]
        + [
            f"speed-up {multi} (vs faster peer)",
            f"speed-up {multi} (vs fastest peer run, 1 thr or default thr)",
            f"emkit {multi}/bound",
        ]
    )
    lines += [
        "",
        "Time per Baum-Welch iteration:",
        "",
        _row(head),
        "|---|" + "---:|" * (len(head) - 1),
    ]
    for res in results:
        one, b = res["one_thread"], res["bound_s"]
        e = one["emkit"]["s_per_iter"]
        cells = (
            [_case_cell(res), _sec(e)]
            + [_sec(one[p]["s_per_iter"]) for p in peers]
            + [speed_up(e, peers, one), _sec(b), f"{e / b:.1f}"]
            + [f"{one[p]['s_per_iter'] / b:.1f}" for p in peers]
        )
        many = res.get("multi_core")
        if many:
            em = many["emkit"]["s_per_iter"]
            cells += (
                [_sec(em)]
                + [_sec(many[p]["s_per_iter"]) for p in peers]
                + [
                    speed_up(em, peers, many),
                    speed_up(em, peers, one, many, labels=(" 1 thr", " default thr")),
                    f"{em / b:.1f}",
                ]
            )
        else:
            cells += ["-"] * (len(peers) + 4)
        lines.append(_row(cells))

    head = (
        ["case (sequences x length, K, emissions)", "peak extra MB emkit"]
        + [f"peak extra MB {_label(p)}" for p in peers]
        + ["smaller peer / emkit memory", "total log-lik. emkit", "per observation"]
        + [f"rel. diff. {_label(p)}" for p in peers]
    )
    lines += ["", "Memory and agreement:", "", _row(head), "|---|" + "---:|" * (len(head) - 1)]
    for res in results:
        mem = res.get("memory")
        cells = [_case_cell(res)]
        if mem:
            me = mem["emkit"]["peak_extra_bytes"]
            least = min((mem[p]["peak_extra_bytes"] for p in peers), default=0)
            cells += [f"{mem[t]['peak_extra_bytes'] / 1e6:.1f}" for t in ("emkit", *peers)]
            cells.append(f"{least / me:.1f}" if me > 0 and peers else "-")
        else:
            cells += ["-"] * (len(peers) + 2)
        agree = res["agreement"]
        ll = agree["loglik"]["emkit"]
        cells += [f"{ll:.6f}", f"{ll / res['rows']:.8f}"]
        for p in peers:
            rel = agree["rel_diff"][p]
            bad = rel > RTOL_LOGLIK or agree["n_iter"][p] != meta["iters"]
            cells.append(f"{rel:.1e}" + (" **MISMATCH**" if bad else ""))
        lines.append(_row(cells))

    lines += [
        "",
        "speed-up = s/iter of the fastest peer run (named; hmmlearn counts with the faster of "
        "its log and scaling implementations) / emkit s/iter, both measured in the same "
        f"setting (above 1: emkit faster); the second {multi} speed-up takes the fastest of "
        "each peer's one-thread and default-thread runs. bound = flops / GEMM rate + "
        "exponentials / exp rate + data bytes / copy rate for one iteration, at the one-thread "
        "rates measured above: 6 T K^2 flops for forward, backward and expected transitions; "
        "Gaussian diag emissions 7 T K D flops (3 for log-densities, 4 for statistics), T K "
        "exponentials and 8 T D bytes; categorical emissions 2 T K flops, no exponentials and "
        f"T x 8 bytes of symbols. emkit {multi}/bound uses that same one-thread bound. peak "
        "extra = peak resident size of a fresh process during "
        f"fit(n_iter={meta['memory_iters']}, one thread) minus its resident size with the data "
        "loaded (MB = 10^6 bytes). total log-lik. = emkit.score(X, lengths); rel. diff. = "
        "|emkit - peer| / |peer| with the peer's own total log-likelihood (hmmlearn "
        "score(X, lengths), pomegranate log_probability summed), which must be <= "
        f"{RTOL_LOGLIK:g}, with {meta['iters']} M-steps done by every tool.",
    ]
    if "pomegranate" in peers:
        lines.append(
            "pomegranate: DenseHMM with its end probabilities frozen at one and their "
            "statistics dropped before each M-step (otherwise its model has end states, "
            "its transition rows sum to less than one and its likelihood differs by ~1e-3 "
            "relative); fed as blocks of "
            + ", ".join(f"{res['pomegranate_block']} ({res['case']})" for res in results)
            + f" sequences so that its (sequences, L - 1, K, K) tensor stays under "
            f"{meta['block_mb']:g} MB; its Normal log-densities use SQRT_2_PI = "
            "2.50662827463 (12 digits), which shifts each by about D x 4e-13."
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
    p.add_argument("--quick", action="store_true", help="smoke run: sequences divided by 10")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats (median), default 3")
    p.add_argument("--iters", type=int, default=5, help="EM iterations per timed fit, default 5")
    p.add_argument(
        "--peers",
        nargs="+",
        choices=PEERS,
        default=list(PEERS),
        help=f"peers to compare with, default: {' '.join(PEERS)}",
    )
    p.add_argument(
        "--skip-default-threads",
        action="store_true",
        help=f"time only with one thread each (skip the {MULTI_JOBS}-core columns)",
    )
    p.add_argument("--skip-memory", action="store_true", help="skip the peak-memory processes")
    p.add_argument(
        "--memory-iters",
        type=int,
        default=MEMORY_ITERS,
        help=f"iterations of the peak-memory fits, default {MEMORY_ITERS}",
    )
    p.add_argument(
        "--block-mb",
        type=float,
        default=BLOCK_MB,
        help="cap (MB) on pomegranate's (sequences, L - 1, K, K) tensor per block of "
        f"sequences, default {BLOCK_MB}",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        help="folder for hmm*.md and hmm*.json, default benchmarks/results",
    )
    p.add_argument("--child", choices=TOOLS, help=argparse.SUPPRESS)
    p.add_argument("--case", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.iters < 2:
        p.error("--iters must be at least 2")
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    if args.memory_iters < 1:
        p.error("--memory-iters must be at least 1")
    names = [n for item in (args.cases or []) for n in item.split(",") if n]
    unknown = [n for n in names if n not in CASE_BY_NAME]
    if unknown:
        p.error(f"unknown case(s) {unknown}; choose from {list(CASE_BY_NAME)}")
    args.case_list = [CASE_BY_NAME[n] for n in names] if names else list(CASES)
    args.tools = ["emkit"] + [t for t in PEERS if t in args.peers]
    return args


def run_case(
    args: argparse.Namespace, case: Case, rates: dict[str, float], meta: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Time, check and measure one case; returns its results and its failures."""
    tools = args.tools
    peers = tools[1:]
    n_seq = case.sequences(args.quick)
    X, lengths = make_data(case, n_seq)
    n = X.shape[0]
    start = make_start(X, case)
    data = tool_data(X, lengths, case, tools, args.block_mb)
    warm_X = np.ascontiguousarray(X[: WARM_SEQUENCES * case.length])
    warm = tool_data(warm_X, lengths[:WARM_SEQUENCES], case, tools, args.block_mb)
    w = work(case, n, X.dtype.itemsize)
    res: dict[str, Any] = {
        "case": case.name,
        "emission": case.emission,
        "rows": n,
        "n_seq": n_seq,
        "length": case.length,
        "d": case.d,
        "k": case.k,
        "pomegranate_block": min(n_seq, block_sequences(case, args.block_mb)),
        "work": w,
        "bound_s": bound_seconds(w, rates),
        "bound_idle_rates_s": bound_seconds(w, IDLE_RATES),
    }
    notes: list[str] = []
    failures: list[str] = []

    def show(label: str, timing: dict[str, Any]) -> str:
        return f"  {label}: " + ", ".join(
            f"{t} {timing[t]['s_per_iter']:.4g} s/iter" for t in tools
        )

    one = time_per_iteration(case, tools, data, warm, start, args.iters, args.repeats, True, notes)
    res["one_thread"] = one
    print(show("1 thread", one) + f"; bound {res['bound_s']:.3g} s", flush=True)

    est = one["estimators"]
    with threads(True):
        ll = {tool: total_loglik(tool, est[tool], data[tool]) for tool in tools}
    rel = {p: abs(ll["emkit"] - ll[p]) / max(abs(ll[p]), 1e-300) for p in peers}
    n_iter = {tool: n_iterations(tool, est[tool]) for tool in tools}
    ok = all(v <= RTOL_LOGLIK for v in rel.values()) and all(
        v == args.iters for v in n_iter.values()
    )
    res["agreement"] = {"loglik": ll, "rel_diff": rel, "n_iter": n_iter, "ok": ok}
    print(
        "  total log-likelihood "
        + ", ".join(f"{t} {ll[t]:.6f}" for t in tools)
        + "; rel. diff "
        + ", ".join(f"{p} {rel[p]:.2e}" for p in peers)
        + f"; n_iter {n_iter} -> {'OK' if ok else 'MISMATCH'}",
        flush=True,
    )
    if not ok:
        failures.append(
            f"{case.name}: total log-likelihood {ll} (rel. diff {rel}, limit "
            f"{RTOL_LOGLIK:g}) n_iter {n_iter}"
        )

    if not args.skip_default_threads:
        many = time_per_iteration(
            case, tools, data, warm, start, args.iters, args.repeats, False, notes
        )
        res["multi_core"] = many
        print(show(f"emkit n_jobs={MULTI_JOBS}, peers default threads", many), flush=True)
    del X, data, warm, warm_X, est, one
    res["one_thread"].pop("estimators", None)
    res.get("multi_core", {}).pop("estimators", None)
    gc.collect()

    if not args.skip_memory:
        mem = {
            tool: measure_memory(tool, case, args.memory_iters, args.quick, args.block_mb)
            for tool in tools
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
                    "positive (t(n_iter=ITERS) no slower than t(n_iter=1)): noise "
                    "exceeds the work; use more --repeats or a larger case"
                )
    res["loadavg_after"] = os.getloadavg()
    for note in dict.fromkeys(notes):
        meta["notes"].append(f"{case.name}: {note}")
    return res, failures


def run(args: argparse.Namespace) -> int:
    """All cases; writes the tables; 1 on a log-likelihood or iteration mismatch."""
    tools = args.tools
    facts = machine_facts(["emkit", "pomegranate"] if "pomegranate" in tools else ["emkit"])
    facts["hmmlearn"] = importlib.metadata.version("hmmlearn")
    meta: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "iters": args.iters,
        "repeats": args.repeats,
        "memory_iters": args.memory_iters,
        "block_mb": args.block_mb,
        "quick": args.quick,
        "tools": tools,
        "multi_jobs": MULTI_JOBS,
        "cases": [c.name for c in args.case_list],
        "machine": facts,
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
    skipped: list[str] = []
    for case in args.case_list:
        n_seq = case.sequences(args.quick)
        print(
            f"\n[{case.name}] {n_seq} sequences x {case.length}, K={case.k}, "
            + (f"Gaussian diag D={case.d}" if case.emission == "gaussian" else f"M={case.d}"),
            flush=True,
        )
        if emkit_class(case) is None:
            message = (
                f"{case.name} skipped: this checkout's emkit has no CategoricalHMM "
                "(emkit.CategoricalHMM is missing)"
            )
            print(f"  {message}", flush=True)
            skipped.append(case.name)
            meta["notes"].append(message)
            continue
        res, case_failures = run_case(args, case, rates, meta)
        results.append(res)
        failures += case_failures

    meta["loadavg_end"] = os.getloadavg()
    meta["skipped"] = skipped
    if source_hash() != facts["emkit_source_hash"]:
        meta["notes"].append("emkit sources changed while the benchmark ran")
    for failure in failures:
        meta["notes"].append(f"LOG-LIKELIHOOD MISMATCH {failure}")
    table = markdown(meta, results)
    print("\n" + table)
    stem = "hmm"
    if args.quick:
        stem += "_quick"
    if len(args.case_list) != len(CASES) or len(tools) != len(TOOLS) or skipped:
        stem += "_partial"
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.md").write_text(table)
    (out / f"{stem}.json").write_text(
        json.dumps(_jsonable({"meta": meta, "results": results}), indent=1) + "\n"
    )
    print(f"wrote {out / stem}.md and .json")
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
        result = run_child(args.child, args.case, args.memory_iters, args.quick, args.block_mb)
        print(CHILD_MARK + json.dumps(result))
        return 0

    import hmmlearn.hmm  # noqa: F401

    import emkit  # noqa: F401

    if "pomegranate" in args.tools:
        import_pomegranate_hmm()
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
