"""Start-up time of the command line: ``emkit --help``, ``import emkit``, and the README's
first command, in fresh processes.

Method (see benchmarks/README.md, section "Start-up"):

* Every measurement is the wall-clock time of one fresh process, started with
  ``subprocess.run`` from this script; the median of ``--repeats`` runs is reported (and the
  fastest and slowest), after one unrecorded run of each command to warm the file cache.
* ``emkit --help`` runs the installed console script; ``emkit --help, CLI alone`` runs the
  same entry point with the emkit package's ``__init__`` left out (a stand-in package module
  whose path is the package's), which is what ``emkit --help`` costs once ``import emkit`` is
  lazy; ``import emkit`` is ``python -c "import emkit"``.
* The README's first command, ``emkit fit examples/data/faithful.csv --model gmm
  --components 2``, runs in a temporary working directory (it writes ``faithful.emkit``
  there) twice: cold, with ``NUMBA_CACHE_DIR`` pointing to a new empty folder for every run,
  so that the run compiles every kernel it calls; and warm, with a folder that a first run
  filled.

Usage::

    python benchmarks/bench_startup.py                 # 5 runs each, 3 cold fits
    python benchmarks/bench_startup.py --repeats 9 --cold-repeats 5
    mkdir /tmp/before && git archive REV src | tar -x -C /tmp/before
    python benchmarks/bench_startup.py --src /tmp/before/src       # another version
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAITHFUL = ROOT / "examples" / "data" / "faithful.csv"
FIT = ["fit", str(FAITHFUL), "--model", "gmm", "--components", "2"]

# The entry point with the package's own __init__ left out.
_CLI_ALONE = """
import importlib.util, sys, types
spec = importlib.util.find_spec("emkit")
package = types.ModuleType("emkit")
package.__path__ = list(spec.submodule_search_locations)
sys.modules["emkit"] = package
from emkit.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _emkit() -> str:
    script = shutil.which("emkit") or str(pathlib.Path(sys.executable).with_name("emkit"))
    if not os.path.exists(script):
        raise SystemExit("the emkit console script is not installed: pip install -e .")
    return script


def _time(argv: list[str], cwd: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed:\n{proc.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of every command")
    parser.add_argument("--cold-repeats", type=int, default=3, help="runs of the cold fit")
    parser.add_argument("--output", help="also write every run as JSON to this file")
    parser.add_argument(
        "--src",
        help="measure the emkit package in this folder instead (put first on PYTHONPATH), "
        "such as the src/ of 'git archive REV src | tar -x -C DIR'",
    )
    args = parser.parse_args()

    emkit = _emkit()
    python = sys.executable
    base_env = dict(os.environ)
    if args.src:
        base_env["PYTHONPATH"] = os.pathsep.join(
            [args.src, *filter(None, [base_env.get("PYTHONPATH")])]
        )
    where = subprocess.run(
        [python, "-c", "import emkit.cli, os; print(os.path.dirname(emkit.cli.__file__))"],
        env=base_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    cases = {
        "emkit --help": [emkit, "--help"],
        "emkit --help, CLI alone (package __init__ left out)": [python, "-c", _CLI_ALONE, "--help"],
        'python -c "import emkit"': [python, "-c", "import emkit"],
    }
    runs: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as work:
        warm_cache = os.path.join(work, "numba-warm")
        os.mkdir(warm_cache)
        warm_env = {**base_env, "NUMBA_CACHE_DIR": warm_cache}
        for name, argv in cases.items():
            _time(argv, work, base_env)
            runs[name] = [_time(argv, work, base_env) for _ in range(args.repeats)]

        cold = []
        for i in range(args.cold_repeats):
            cache = os.path.join(work, f"numba-cold-{i}")
            os.mkdir(cache)
            cold.append(_time([emkit, *FIT], work, {**base_env, "NUMBA_CACHE_DIR": cache}))
        runs["emkit fit faithful.csv --model gmm --components 2, Numba cache empty"] = cold

        _time([emkit, *FIT], work, warm_env)  # fills the warm cache
        runs["emkit fit faithful.csv --model gmm --components 2, Numba cache filled"] = [
            _time([emkit, *FIT], work, warm_env) for _ in range(args.repeats)
        ]

    print(f"emkit.cli from {where}")
    print(f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    print("| command | median s | fastest s | slowest s | runs |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds in runs.items():
        print(
            f"| {name} | {statistics.median(seconds):.2f} | {min(seconds):.2f} "
            f"| {max(seconds):.2f} | {len(seconds)} |"
        )
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            json.dump(runs, fh, indent=2)


if __name__ == "__main__":
    main()
