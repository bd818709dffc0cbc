"""Online variational Bayes over a text corpus on disk at constant memory.

A corpus file is made of the fortune cookies of Debian's ``fortunes`` package
(``corpora.fortunes``), the cookies repeated ``--copies`` times in a shuffled order, one a
line. Two ways to fit LDA (K = 20, ``learning_method='online'``, ``batch_size=2048``, one
pass) run in fresh processes:

- ``stream``: ``emkit.stream_corpus(path)`` (one pass finds the vocabulary, then the fit
  counts a block of lines at a time);
- ``memory``: ``emkit.read_corpus(path)`` (the whole document-term matrix in memory), then
  the same fit.

Each reports its seconds (reading included), its peak resident memory (VmHWM, with the
interpreter and libraries imported beforehand, and its resident size then), and saves its
topics: the two fits must be equal to round-off (the same vocabulary, the same mini-batches).

Usage::

    apt-get install -y fortunes
    PYTHONPATH=src python benchmarks/bench_lda_stream.py --copies 30
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"


def _status(key: str) -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def child(mode: str, path: str, out: str) -> None:
    import emkit

    emkit.LatentDirichletAllocation(2, max_iter=1).fit(np.eye(3))  # compile the kernels
    base = _status("VmRSS")
    start = time.perf_counter()
    data = emkit.stream_corpus(path) if mode == "stream" else emkit.read_corpus(path)
    lda = emkit.LatentDirichletAllocation(
        20, learning_method="online", batch_size=2048, max_iter=1, random_state=0
    ).fit(data)
    seconds = time.perf_counter() - start
    np.save(out, lda.components_)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_bytes": _status("VmHWM"),
                "base_bytes": base,
                "words": int(lda.components_.shape[1]),
            }
        )
    )


def _row(mode: str, run: dict) -> str:
    peak, above = run["peak_bytes"] / 1e6, (run["peak_bytes"] - run["base_bytes"]) / 1e6
    return f"| {mode} | {run['seconds']:.1f} | {peak:.0f} | {above:.0f} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--copies", type=int, default=30)
    parser.add_argument("--child", choices=("stream", "memory"))
    parser.add_argument("--path")
    parser.add_argument("--save")
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.path, args.save)
        return 0
    sys.path.insert(0, str(HERE))
    import corpora

    texts, _ = corpora.fortunes()
    lines = [" ".join(t.split()) for t in texts for _ in range(args.copies)]
    random.Random(0).shuffle(lines)
    results = {"documents": len(lines), "copies": args.copies}
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "fortunes.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        results["file_bytes"] = path.stat().st_size
        topics = {}
        for mode in ("stream", "memory"):
            save = pathlib.Path(folder) / f"{mode}.npy"
            run = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    mode,
                    "--path",
                    str(path),
                    "--save",
                    str(save),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            results[mode] = json.loads(run.stdout.strip().splitlines()[-1])
            topics[mode] = np.load(save)
            print(mode, results[mode], flush=True)
        results["max_relative_difference"] = float(
            np.max(np.abs(topics["stream"] - topics["memory"]) / topics["memory"])
        )
    table = "\n".join(
        [
            f"{results['documents']} documents ({args.copies} copies of the fortunes, "
            f"{results['file_bytes'] / 1e6:.0f} MB of text), K = 20, online VB, batch_size 2048, "
            "one pass (reading included)",
            "",
            "| source | seconds | peak RSS MB | above imports MB |",
            "|---|---:|---:|---:|",
            *(_row(mode, results[mode]) for mode in ("stream", "memory")),
            "",
            f"Largest relative difference of the topics: {results['max_relative_difference']:.1e}.",
        ]
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "lda_stream.json").write_text(json.dumps(results, indent=1))
    (RESULTS / "lda_stream.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
