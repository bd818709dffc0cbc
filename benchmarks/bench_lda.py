"""Latent Dirichlet allocation: emkit against scikit-learn and gensim on real corpora.

Every fit runs in a fresh process (``--child``), which loads the counted corpus, warms the
tool up on a few documents, resets its peak resident memory (``/proc/self/clear_refs``),
fits K = 20 topics in 10 passes over the training documents, and reports the seconds of the
fit, its peak memory above the resident size before it, and the held-out quality: the
per-word log-likelihood of the 10 % held-out documents under plug-in estimates, every test
word scored under its document's topic proportions (from the tool's own E-step on the test
documents) and the topics' word distributions (:func:`emkit.models.topic_metrics.
heldout_log_likelihood`), a measure that depends on no tool's bound.

Tools (all with ``alpha = eta = 1 / K`` and their own defaults otherwise):

- ``emkit-batch``, ``emkit-online``: :class:`emkit.LatentDirichletAllocation`,
  ``learning_method`` batch or online (``batch_size=128``, scikit-learn's default).
- ``sklearn-batch``, ``sklearn-online``: :class:`sklearn.decomposition.
  LatentDirichletAllocation`, the same parameters.
- ``gensim``: ``gensim.models.LdaModel`` (``passes=10``, its default online schedule with
  ``chunksize=2000``), and ``gensim-multicore``: ``LdaMulticore(workers=2)`` (two cores
  only).

Settings: "1 thread" (emkit and scikit-learn ``n_jobs=1``, BLAS and Numba limited to one
thread) and "2 cores" (``n_jobs=2``, BLAS at its default, gensim's multicore model).

Usage::

    pip install gensim && apt-get install -y bible-kjv fortunes    # see corpora.py
    PYTHONPATH=src python benchmarks/bench_lda.py                  # every corpus, 3 repeats
    PYTHONPATH=src python benchmarks/bench_lda.py --corpora lee --repeats 1   # smoke run

Results: ``benchmarks/results/lda.md`` and ``lda.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"
K = 20
PASSES = 10
TOOLS = (
    "emkit-batch",
    "emkit-online",
    "sklearn-batch",
    "sklearn-online",
    "gensim",
    "gensim-multicore",
)
SETTINGS = ("1 thread", "2 cores")


# -- one fit, in a child process ----------------------------------------------------------
def _peak_reset() -> int:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status("VmRSS")


def _status(key: str) -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def _bow(X: sp.csr_array) -> list[list[tuple[int, float]]]:
    return [
        list(
            zip(
                X.indices[X.indptr[d] : X.indptr[d + 1]].tolist(),
                X.data[X.indptr[d] : X.indptr[d + 1]].tolist(),
                strict=True,
            )
        )
        for d in range(X.shape[0])
    ]


def _fit(tool: str, train: sp.csr_array, seed: int, threads: int):
    """Fit and return ``(theta_of(test) function, topic-word distributions)``."""
    if tool.startswith(("emkit", "sklearn")):
        if tool.startswith("emkit"):
            from emkit import LatentDirichletAllocation
        else:
            from sklearn.decomposition import LatentDirichletAllocation
        lda = LatentDirichletAllocation(
            K,
            learning_method=tool.split("-")[1],
            max_iter=PASSES,
            random_state=seed,
            n_jobs=threads,
        ).fit(train)
        phi = lda.components_ / lda.components_.sum(axis=1, keepdims=True)
        return lambda X: lda.transform(X), phi
    from gensim.corpora import Dictionary
    from gensim.models import LdaModel, LdaMulticore

    id2word = Dictionary.from_corpus(
        _bow(train), id2word={i: str(i) for i in range(train.shape[1])}
    )
    corpus = _bow(train)
    common = {
        "num_topics": K,
        "id2word": id2word,
        "passes": PASSES,
        "random_state": seed,
        "alpha": "symmetric",
        "eta": 1.0 / K,
    }
    if tool == "gensim-multicore":
        lda = LdaMulticore(corpus, workers=2, **common)
    else:
        lda = LdaModel(corpus, **common)

    def theta(X):
        gamma, _ = lda.inference(_bow(X))
        return gamma / gamma.sum(axis=1, keepdims=True)

    return theta, lda.get_topics()


def child(args: argparse.Namespace) -> None:
    threads = 1 if args.setting == "1 thread" else 2
    if threads == 1:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
        import numba

        numba.set_num_threads(1)
    data = np.load(args.data)
    train = sp.csr_array(
        (data["train_data"], data["train_indices"], data["train_indptr"]),
        shape=tuple(data["train_shape"]),
    )
    test = sp.csr_array(
        (data["test_data"], data["test_indices"], data["test_indptr"]),
        shape=tuple(data["test_shape"]),
    )
    from emkit.models.topic_metrics import heldout_log_likelihood

    _fit(args.tool, train[:50], 0, threads)  # compiles kernels, imports everything
    base = _peak_reset()
    start = time.perf_counter()
    theta_of, phi = _fit(args.tool, train, args.seed, threads)
    seconds = time.perf_counter() - start
    peak = _status("VmHWM") - base
    quality = heldout_log_likelihood(theta_of(test), phi, test)
    print(json.dumps({"seconds": seconds, "peak_bytes": peak, "heldout": quality}))


# -- the run --------------------------------------------------------------------------------
def _cache(name: str, folder: pathlib.Path) -> tuple[pathlib.Path, dict]:
    sys.path.insert(0, str(HERE))
    import corpora

    train, test = corpora.prepared(name)
    path = folder / f"{name}.npz"
    arrays = {}
    for part, corpus in (("train", train), ("test", test)):
        X = sp.csr_array(corpus.counts, dtype=np.float64)
        arrays.update(
            {
                f"{part}_data": X.data,
                f"{part}_indices": X.indices,
                f"{part}_indptr": X.indptr,
                f"{part}_shape": np.array(X.shape),
            }
        )
    np.savez(path, **arrays)
    info = {
        "documents": train.n_documents + test.n_documents,
        "train": train.n_documents,
        "test": test.n_documents,
        "words": train.n_words,
        "tokens": int(train.counts.sum() + test.counts.sum()),
    }
    return path, info


def _run_child(tool: str, setting: str, data: pathlib.Path, seed: int) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            tool,
            "--setting",
            setting,
            "--data",
            str(data),
            "--seed",
            str(seed),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{tool} ({setting}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--corpora", nargs="+", default=["lee", "kjv", "fortunes"])
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=SETTINGS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", choices=TOOLS)
    parser.add_argument("--setting", choices=SETTINGS)
    parser.add_argument("--data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "lda"))
    args = parser.parse_args(argv)
    if args.child:
        args.tool = args.child
        child(args)
        return 0
    results: dict = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "versions": _versions(),
        "load_before": os.getloadavg(),
        "corpora": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        for name in args.corpora:
            data, info = _cache(name, pathlib.Path(folder))
            runs: dict = {}
            for setting in args.settings:
                for tool in args.tools:
                    if tool == "gensim-multicore" and setting == "1 thread":
                        continue
                    # Repeats alternate the tools (one round of every tool at a time).
                    runs.setdefault(setting, {})[tool] = []
                for repeat in range(args.repeats):
                    for tool in runs[setting]:
                        got = _run_child(tool, setting, data, seed=repeat)
                        runs[setting][tool].append(got)
                        print(name, setting, tool, repeat, got, flush=True)
            results["corpora"][name] = {"info": info, "runs": runs}
    results["load_after"] = os.getloadavg()
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    out.with_suffix(".md").write_text(_table(results))
    print(_table(results))
    return 0


def _versions() -> dict:
    import sklearn

    import emkit

    versions = {
        "emkit": emkit.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }
    try:
        import gensim

        versions["gensim"] = gensim.__version__
    except ImportError:
        pass
    return versions


def _table(results: dict) -> str:
    lines = [
        f"K = {K}, {PASSES} passes; median seconds of the fit over the repeats (one seed per "
        "repeat, the same for every tool), held-out per-word log-likelihood (plug-in, mean "
        "over repeats), peak memory of the fit above the resident size before it.",
        "",
    ]
    for name, corpus in results["corpora"].items():
        info = corpus["info"]
        lines += [
            f"### {name}: {info['documents']} documents ({info['train']} train, "
            f"{info['test']} held out), {info['words']} words, {info['tokens']} tokens",
            "",
            "| setting | tool | seconds | vs emkit-batch | held-out LL/word | peak MB |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for setting, tools in corpus["runs"].items():
            ref = (
                statistics.median(r["seconds"] for r in tools["emkit-batch"])
                if ("emkit-batch" in tools)
                else None
            )
            for tool, runs in tools.items():
                seconds = statistics.median(r["seconds"] for r in runs)
                ratio = f"{seconds / ref:.1f}x" if ref else ""
                quality = statistics.mean(r["heldout"] for r in runs)
                peak = max(r["peak_bytes"] for r in runs) / 1e6
                lines.append(
                    f"| {setting} | {tool} | {seconds:.3f} | {ratio} | {quality:.4f} | {peak:.0f} |"
                )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
