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
* Restarts: in one process, after a warm-up fit, the median seconds of 21 fits of
  ``emkit.GaussianMixture(2, n_init=N, random_state=seed)`` to Old Faithful for N = 1 and 3
  (seeds 0 to 20), and how many of those fits ended at the best log-likelihood found: what the
  command line's default of three restarts costs and gives.
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
def version(name):  # for a command line that reads emkit.__version__ when it starts
    if name != "__version__":
        raise AttributeError(name)
    from importlib.metadata import version
    return version("emkit")
package.__getattr__ = version
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


_RESTARTS = """
import json, statistics, time
import numpy as np
import emkit
X = np.loadtxt(%r, delimiter=",", skiprows=1)
emkit.GaussianMixture(2, random_state=0).fit(X)
out = {}
for n_init in (1, 3):
    seconds, finals = [], []
    for seed in range(21):
        start = time.perf_counter()
        gm = emkit.GaussianMixture(2, n_init=n_init, random_state=seed).fit(X)
        seconds.append(time.perf_counter() - start)
        finals.append(gm.score(X) * X.shape[0])
    out[n_init] = {"seconds": seconds, "finals": finals}
print(json.dumps(out))
"""


def _restarts(env: dict[str, str]) -> dict[str, dict[str, list[float]]]:
    argv = [sys.executable, "-c", _RESTARTS % str(FAITHFUL)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


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

    restarts = _restarts(base_env)
    best = max(max(r["finals"]) for r in restarts.values())

    print(f"emkit.cli from {where}")
    print(f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    print("| command | median s | fastest s | slowest s | runs |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds in runs.items():
        print(
            f"| {name} | {statistics.median(seconds):.2f} | {min(seconds):.2f} "
            f"| {max(seconds):.2f} | {len(seconds)} |"
        )
    print()
    print(
        "| GaussianMixture(2), Old Faithful | median ms per fit | fits at the best log-likelihood |"
    )
    print("|---|---:|---:|")
    for n_init, r in restarts.items():
        at_best = sum(best - f <= 1e-6 * abs(best) for f in r["finals"])
        print(
            f"| n_init={n_init} | {1e3 * statistics.median(r['seconds']):.1f} "
            f"| {at_best} of {len(r['finals'])} |"
        )
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            json.dump({"runs": runs, "restarts": restarts}, fh, indent=2)


if __name__ == "__main__":
    main()
