"""Run scikit-learn's and hmmlearn's own test suites against emkit's classes.

The test files come from the installed peer packages (both ship their tests). Each file is
copied into a scratch folder with its import lines changed, once to emkit's classes and once
left on the peer's (the reference run), and both copies run under pytest. A test counts when
it constructs one of the classes under test and neither calls one of the peer's private
methods (``_init``, ``_check``, ``_initialize``, ``_set_parameters``, ``_init_centroids``,
``_check_parameters``, ...) nor patches one of its private functions; a test the peer itself
skips does not count.

Usage::

    python tools/peer_suites.py                      # every suite, emkit and the peer
    python tools/peer_suites.py hmmlearn -k spherical --show-failures
    python tools/peer_suites.py --keep /tmp/peers    # keep the rewritten files to debug

The exit status is 0 when emkit passes every counted test but those in
:data:`DIFFERENCES`, where emkit differs from the peer on purpose (each with its reason);
``tests/test_peer_suites.py`` runs this and holds emkit to it.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# A call of one of the peer's private methods (``h._init(X)``), or a test that patches one
# of its private functions: such a test checks the peer's insides, not its behaviour.
PRIVATE_CALLS = re.compile(r"\b\w+\._[a-z]\w*\(|monkeypatch\.setattr\(\s*[\w.]*\._[a-z]")


DIFFERENCES = {
    "peer_tests/test_gaussian_mixture.py::test_check_weights": (
        "scikit-learn's message for weights outside [0, 1] reports their minimum as 'max value' "
        "and their maximum as 'min value', and the test matches those words; emkit reports "
        "them the right way round"
    ),
}
"""Counted tests emkit fails on purpose, with the reason."""


@dataclass(frozen=True)
class Suite:
    """One peer test suite: where its files are, how its imports change, what it tests."""

    name: str
    package: str  # the peer package whose tests these are
    folder: str  # the tests folder inside it
    files: tuple[str, ...]
    # Files copied beside them (helpers, conftest), relative to the peer package's root.
    support: tuple[str, ...]
    emkit_imports: tuple[tuple[str, str], ...]  # (peer line, emkit line)
    peer_imports: tuple[tuple[str, str], ...] = ()  # rewrites the reference run needs too
    # Classes whose construction makes a test count, as "module:Name" for each run.
    emkit_classes: tuple[str, ...] = ()
    peer_classes: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


# scikit-learn skips its float32 variants unless asked; a drop-in must pass them too.
SKLEARN_ENV = {"SKLEARN_RUN_FLOAT32_TESTS": "1"}
HMM_CLASSES = ("GaussianHMM", "GMMHMM", "CategoricalHMM", "MultinomialHMM", "PoissonHMM")

SUITES = (
    Suite(
        "sklearn-gaussian-mixture",
        "sklearn",
        "mixture/tests",
        ("test_gaussian_mixture.py", "test_mixture.py"),
        ("conftest.py",),
        (
            (
                "from sklearn.mixture import GaussianMixture\n",
                "from emkit import GaussianMixture\n",
            ),
            (
                "from sklearn.mixture import BayesianGaussianMixture, GaussianMixture\n",
                "from emkit import BayesianGaussianMixture, GaussianMixture\n",
            ),
        ),
        emkit_classes=("emkit:GaussianMixture", "emkit:BayesianGaussianMixture"),
        env=SKLEARN_ENV,
        peer_classes=(
            "sklearn.mixture:GaussianMixture",
            "sklearn.mixture:BayesianGaussianMixture",
        ),
    ),
    Suite(
        "sklearn-bayesian-mixture",
        "sklearn",
        "mixture/tests",
        ("test_bayesian_mixture.py",),
        ("conftest.py",),
        (
            (
                "from sklearn.mixture import BayesianGaussianMixture\n",
                "from emkit import BayesianGaussianMixture\n",
            ),
        ),
        emkit_classes=("emkit:BayesianGaussianMixture",),
        env=SKLEARN_ENV,
        peer_classes=("sklearn.mixture:BayesianGaussianMixture",),
    ),
    Suite(
        "sklearn-kmeans",
        "sklearn",
        "cluster/tests",
        ("test_k_means.py",),
        ("conftest.py",),
        (
            (
                "from sklearn.cluster import KMeans, MiniBatchKMeans, k_means, kmeans_plusplus\n",
                "from sklearn.cluster import MiniBatchKMeans, k_means, kmeans_plusplus\n"
                "from emkit import KMeans\n",
            ),
        ),
        emkit_classes=("emkit:KMeans",),
        env=SKLEARN_ENV,
        peer_classes=("sklearn.cluster:KMeans",),
    ),
    Suite(
        "sklearn-lda",
        "sklearn",
        "decomposition/tests",
        ("test_online_lda.py",),
        ("conftest.py",),
        (
            (
                "from sklearn.decomposition import LatentDirichletAllocation\n",
                "from emkit import LatentDirichletAllocation\n",
            ),
        ),
        emkit_classes=("emkit:LatentDirichletAllocation",),
        env=SKLEARN_ENV,
        peer_classes=("sklearn.decomposition:LatentDirichletAllocation",),
    ),
    Suite(
        "sklearn-factor-analysis",
        "sklearn",
        "decomposition/tests",
        ("test_factor_analysis.py",),
        ("conftest.py",),
        (
            (
                "from sklearn.decomposition import FactorAnalysis\n",
                "from emkit import FactorAnalysis\n",
            ),
        ),
        emkit_classes=("emkit:FactorAnalysis",),
        env=SKLEARN_ENV,
        peer_classes=("sklearn.decomposition:FactorAnalysis",),
    ),
    Suite(
        "hmmlearn",
        "hmmlearn",
        "tests",
        (
            "test_gaussian_hmm.py",
            "test_gmm_hmm.py",
            "test_gmm_hmm_new.py",
            "test_gmm_hmm_multisequence.py",
            "test_categorical_hmm.py",
            "test_multinomial_hmm.py",
            "test_poisson_hmm.py",
        ),
        ("tests/__init__.py", "tests/conftest.py"),
        (
            ("from hmmlearn import hmm\n", "from emkit import hmm\n"),
            ("from .. import hmm\n", "from emkit import hmm\n"),
            ("from ..hmm import GMMHMM\n", "from emkit.hmm import GMMHMM\n"),
            (
                "from hmmlearn.base import ConvergenceMonitor\n",
                "from emkit.hmm import ConvergenceMonitor\n",
            ),
        ),
        (
            ("from .. import hmm\n", "from hmmlearn import hmm\n"),
            ("from ..hmm import GMMHMM\n", "from hmmlearn.hmm import GMMHMM\n"),
        ),
        emkit_classes=tuple(f"emkit.hmm:{name}" for name in HMM_CLASSES),
        peer_classes=tuple(f"hmmlearn.hmm:{name}" for name in HMM_CLASSES),
        # hmmlearn's conftest draws its seed at random unless told.
        env={"HMMLEARN_SEED": "0"},
    ),
)

# Installed next to the copied tests: it records, per test, whether a class under test was
# constructed, and writes every test's outcome to a JSON file.
CONFTEST_RECORDER = """
import functools, importlib, json, os
import pytest

_USED = [False]
_RESULTS = {}


def _watch(spec):
    module, name = spec.split(":")
    cls = getattr(importlib.import_module(module), name)
    original = cls.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        _USED[0] = True
        original(self, *args, **kwargs)

    cls.__init__ = __init__


for _spec in json.loads(os.environ["PEER_SUITE_CLASSES"]):
    _watch(_spec)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _USED[0] = False
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    entry = _RESULTS.setdefault(item.nodeid, {"outcome": "passed", "used": False})
    entry["used"] = entry["used"] or _USED[0]
    if report.when == "call" or report.failed or report.skipped:
        if report.skipped:
            entry["outcome"] = "xfailed" if hasattr(report, "wasxfail") else "skipped"
        elif report.failed:
            entry["outcome"] = "failed"
            entry["message"] = str(report.longrepr)[-3000:]
        elif report.when == "call" and entry["outcome"] != "failed":
            entry["outcome"] = "passed"


def pytest_sessionfinish(session, exitstatus):
    with open(os.environ["PEER_SUITE_RESULTS"], "w") as f:
        json.dump(_RESULTS, f)
"""


def private_tests(source: str) -> set[str]:
    """Tests of ``source`` that touch the peer's private methods, as ``name`` for functions
    and ``Class::name`` for methods (also those a class inherits from a mixin in the file)."""
    tree = ast.parse(source)

    def touches(node: ast.AST) -> bool:
        return bool(PRIVATE_CALLS.search(ast.get_source_segment(source, node) or ""))

    names = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test") and touches(node)
    }
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}

    def methods(name: str) -> dict[str, bool]:
        node = classes.get(name)
        if node is None:
            return {}
        found: dict[str, bool] = {}
        for base in node.bases:
            if isinstance(base, ast.Name):
                found.update(methods(base.id))
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                found[item.name] = touches(item)
        return found

    for name in classes:
        names.update(f"{name}::{m}" for m, private in methods(name).items() if private)
    return names


def rewrite(text: str, rules: tuple[tuple[str, str], ...]) -> str:
    for old, new in rules:
        text = text.replace(old, new)
    return text


def prepare(suite: Suite, target: Path, for_emkit: bool) -> dict[str, set[str]]:
    """Copy the suite's files into ``target`` (a package); returns the private tests by
    file name."""
    spec = importlib.util.find_spec(suite.package)
    assert spec is not None and spec.submodule_search_locations, suite.package
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    source_dir = package_dir / suite.folder
    package = target / "peer_tests"
    package.mkdir(parents=True)
    (package / "__init__.py").touch()
    rules = suite.emkit_imports if for_emkit else suite.peer_imports
    private = {}
    for name in suite.support:
        text = (package_dir / name).read_text()
        (package / Path(name).name).write_text(rewrite(text, rules))
    for name in suite.files:
        text = (source_dir / name).read_text()
        new = rewrite(text, rules)
        if for_emkit:
            for old, _ in suite.emkit_imports:
                if old in new:
                    raise SystemExit(f"{name}: import line {old!r} was left unchanged")
        (package / name).write_text(new)
        private[name] = private_tests(text)
    conftest = package / "conftest.py"
    recorder = CONFTEST_RECORDER
    if conftest.exists():
        recorder = conftest.read_text() + "\n" + recorder
    conftest.write_text(recorder)
    return private


def run(suite: Suite, workdir: Path, for_emkit: bool, extra: list[str]) -> dict:
    target = workdir / ("emkit" if for_emkit else "peer") / suite.name
    private = prepare(suite, target, for_emkit)
    results_file = target / "results.json"
    env = dict(os.environ)
    env.update(suite.env)
    env["PEER_SUITE_CLASSES"] = json.dumps(
        list(suite.emkit_classes if for_emkit else suite.peer_classes)
    )
    env["PEER_SUITE_RESULTS"] = str(results_file)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(target),
        "-c",
        str(target / "pytest.ini"),
        "peer_tests",
        *extra,
    ]
    (target / "pytest.ini").write_text("[pytest]\n")
    subprocess.run(command, cwd=target, env=env, stdout=subprocess.DEVNULL, check=False)
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    for nodeid, entry in results.items():
        file_name = nodeid.split("::")[0].split("/")[-1]
        test = "::".join(part.split("[")[0] for part in nodeid.split("::")[1:])
        entry["private"] = test in private.get(file_name, set())
    return results


def counted(peer: dict, nodeid: str) -> bool:
    entry = peer.get(nodeid)
    return (
        entry is not None
        and entry["used"]
        and not entry["private"]
        and entry["outcome"] not in ("skipped", "xfailed")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="*", help="suite names (default: all)")
    parser.add_argument("-k", help="pytest -k expression")
    parser.add_argument("--keep", type=Path, help="folder to keep the rewritten suites in")
    parser.add_argument("--show-failures", action="store_true")
    parser.add_argument("--json", type=Path, help="write the per-test results here")
    args = parser.parse_args(argv)
    chosen = [s for s in SUITES if not args.suites or s.name in args.suites]
    extra = ["-k", args.k] if args.k else []
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="peer-suites-"))
    if args.keep and workdir.exists():
        shutil.rmtree(workdir)
    table, everything = [], {}
    for suite in chosen:
        peer = run(suite, workdir, False, extra)
        ours = run(suite, workdir, True, extra)
        ids = [n for n in peer if counted(peer, n)]
        peer_pass = sum(peer[n]["outcome"] == "passed" for n in ids)
        ours_pass = sum(ours.get(n, {}).get("outcome") == "passed" for n in ids)
        failures = [
            n for n in ids if ours.get(n, {}).get("outcome") != "passed" and n not in DIFFERENCES
        ]
        table.append((suite.name, ours_pass, peer_pass, len(ids), failures))
        everything[suite.name] = {"emkit": ours, "peer": peer, "counted": ids}
        if args.show_failures:
            for n in failures:
                entry = ours.get(n, {"outcome": "missing"})
                print(f"--- {n}: {entry['outcome']}")
                print(entry.get("message", "")[-1500:])
    print(f"\n{'suite':<28} {'emkit':>8} {'peer':>8} {'counted':>8}")
    for name, ours_pass, peer_pass, n, _ in table:
        print(f"{name:<28} {ours_pass:>8} {peer_pass:>8} {n:>8}")
    for *_, failures in table:
        for n in failures:
            print(f"  failed with emkit: {n}")
    for n, reason in DIFFERENCES.items():
        print(f"  differs on purpose: {n}: {reason}")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if not any(failures for *_, failures in table) else 1


if __name__ == "__main__":
    sys.exit(main())
