"""Watching and stopping ``emkit fit``: a progress bar on standard error, updated after every
E-step through config_context's callback; Ctrl-C stops the fit at its last whole point, and
the command still writes the model, says where the fit stopped and exits with status 130."""

from __future__ import annotations

import io
import math
import os
import pathlib
import re
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import emkit
import emkit.cli.fit
from cli_support import run_cli as _run
from emkit.cli.progress import FitProgress, _postfix, wanted
from emkit.core.driver import IterationInfo
from emkit.io.readers import read_table
from emkit.models.mixture import Mixture

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAITHFUL = ROOT / "examples" / "data" / "faithful.csv"


def _fit_argv(path, *extra):
    return ["fit", FAITHFUL, "--model", "gmm", "-k", 2, "--random-state", 0, "-o", path, *extra]


def _faithful():
    return read_table(FAITHFUL).values


def _bar_states(err):
    """The states the bar showed, one per redraw."""
    return [part.strip() for part in err.replace("\n", "\r").split("\r") if "iteration" in part]


# --------------------------------------------------------------------------------------- #
# The progress bar
# --------------------------------------------------------------------------------------- #


def test_the_bar_shows_iterations_bound_and_rows_per_second(tmp_path, capsys):
    path = tmp_path / "m.emkit"
    code, out, err = _run(capsys, *_fit_argv(path, "--n-init", 1, "--progress"))
    assert code == 0
    est = emkit.load(path)
    states = _bar_states(err)
    assert states, err
    last = states[-1]
    assert last.startswith(f"run 1/1: iteration {est.n_iter_}/100 |")
    assert f"bound {est.lower_bound_:.6g}, change " in last
    assert re.search(r", [0-9.]+[kMG]? rows/s\]$", last), last
    assert "at most " in last and " left" in last
    # The bar is all that goes to standard error, on its own line; the summary is unchanged.
    assert err.endswith("\n") and err.count("\n") == 1
    assert out.splitlines()[0] == "emkit fit: Gaussian mixture, 2 components, full covariance"


def test_every_restart_starts_the_bar_again(tmp_path, capsys):
    code, _, err = _run(capsys, *_fit_argv(tmp_path / "m", "--n-init", 3, "--progress"))
    assert code == 0
    runs = [state.split(":")[0] for state in _bar_states(err)]
    assert runs[0] == "run 1/3" and runs[-1] == "run 3/3"
    assert runs == sorted(runs)
    # The first E-step of a restart follows its initialisation: no rows per second for it.
    firsts = [s for s in _bar_states(err) if re.match(r"run \d/3: iteration 0/", s)]
    assert firsts and all("rows/s" not in s for s in firsts)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_bar_shows_on_a_terminal_unless_told_not_to(tmp_path, capsys, monkeypatch):
    # Not a terminal (as captured): no bar unless asked.
    code, _, err = _run(capsys, *_fit_argv(tmp_path / "m"))
    assert (code, err) == (0, "")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert _run(capsys, *_fit_argv(tmp_path / "m"))[0] == 0
    assert _bar_states(terminal.getvalue())
    for never in (["--no-progress"], ["--quiet"], ["--quiet", "--progress"]):
        terminal.seek(0)
        terminal.truncate()
        assert _run(capsys, *_fit_argv(tmp_path / "m", *never))[0] == 0
        assert terminal.getvalue() == "", never


def test_whether_the_bar_is_wanted():
    assert wanted(None, False, _Terminal()) and not wanted(None, False, io.StringIO())
    assert wanted(True, False, io.StringIO()) and not wanted(False, False, _Terminal())
    assert not wanted(True, True, _Terminal())


def _info(run, n_iter, bound=-2.5, change=0.01, weight=1000.0):
    return IterationInfo(run, n_iter, None, bound, change, n_iter + 1, True, weight)


def test_rows_per_second_are_the_rows_of_an_e_step_over_its_time():
    assert _postfix(_info(0, 3, change=-1.25e-4), 0.5) == (
        "bound -2.5, change -0.000125, 2.00k rows/s"
    )
    assert _postfix(_info(0, 0, change=math.nan), 0.5) == "bound -2.5, change -"


def test_the_watcher_keeps_the_last_e_step_and_the_callback_of_its_block():
    stream = io.StringIO()
    with FitProgress(2, 10, show=True, stream=stream) as progress:
        assert emkit.get_config()["callback"] is progress
        for info in (_info(0, 0), _info(0, 1), _info(1, 0), _info(1, 4)):
            progress(info)
    assert emkit.get_config()["callback"] is None
    assert progress.interruption() == (4, 2)
    assert _bar_states(stream.getvalue())[-1].startswith("run 2/2: iteration 4/10 |")


# --------------------------------------------------------------------------------------- #
# Ctrl-C
# --------------------------------------------------------------------------------------- #


def _interrupt_at(monkeypatch, call):
    """Ctrl-C in the ``call``-th E-step of a mixture (one chunk: one E-step per pass)."""
    real = Mixture.e_step
    calls = []

    def interrupting(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Mixture, "e_step", interrupting)


def _reference(max_iter, n_init=1):
    return emkit.GaussianMixture(
        2, init_params="random", n_init=n_init, max_iter=max_iter, tol=0, random_state=0
    ).fit(_faithful())


def test_an_interrupted_fit_writes_its_model_and_exits_130(tmp_path, capsys, monkeypatch):
    path = tmp_path / "m.emkit"
    # E-steps: the start's, then iterations 1, 2 and 3; Ctrl-C in the fifth.
    _interrupt_at(monkeypatch, 5)
    argv = _fit_argv(path, "--init-params", "random", "--n-init", 1, "--tol", 0)
    code, out, err = _run(capsys, *argv)
    monkeypatch.undo()
    assert code == 130
    assert "Traceback" not in err
    lines = out.splitlines()
    assert lines[2] == "converged       no: interrupted (Ctrl-C) at iteration 3 of run 1"
    assert lines[-1] == f"model written to {path}"
    assert err.splitlines() == [
        "emkit: warning: EM was interrupted (Ctrl-C) in run 1 of 1: the fit keeps the best "
        "parameters so far, those of run 1 after 3 iterations (mean log-likelihood "
        f"{_reference(3).lower_bound_:.6g}), which have not converged",
        f"emkit: interrupted: the model so far is written to {path}",
    ]
    loaded = emkit.load(path)
    expected = _reference(3)
    assert not loaded.converged_ and loaded.n_iter_ == 3
    assert list(loaded.feature_names_in_) == ["eruptions", "waiting"]
    for name in ("weights_", "means_", "covariances_", "lower_bounds_"):
        assert_array_equal(getattr(loaded, name), getattr(expected, name))
    # The summary is that of the parameters it kept.
    assert f"log-likelihood  {expected.score(_faithful()) * 272:.6g} " in out


def test_an_interrupted_restart_keeps_the_best_of_the_runs_so_far(tmp_path, capsys, monkeypatch):
    path = tmp_path / "m.emkit"
    # The bounds of the first two restarts, watched in a fit that is not interrupted.
    watched = []
    with emkit.config_context(callback=watched.append):
        _reference(4, n_init=2)
    first = watched[4].lower_bound
    second = next(i.lower_bound for i in watched if (i.run, i.n_iter) == (1, 2))
    # Run 1: its start and 4 iterations; run 2: its start, then iterations 1 and 2.
    _interrupt_at(monkeypatch, 5 + 3 + 1)
    argv = _fit_argv(path, "--init-params", "random", "--n-init", 3, "--tol", 0, "--max-iter", 4)
    code, out, _ = _run(capsys, *argv)
    monkeypatch.undo()
    assert code == 130
    assert "converged       no: interrupted (Ctrl-C) at iteration 2 of run 2" in out
    shown = ", ".join(f"{v * 272:.6g}" for v in sorted([first, second], reverse=True))
    assert f"restarts        2 of 3 (interrupted): final log-likelihoods {shown}; " in out
    loaded = emkit.load(path)
    assert loaded.lower_bound_ == max(first, second)
    assert loaded.n_iter_ == (4 if first >= second else 2)


def test_ctrl_c_while_reading_exits_130_in_one_line(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(emkit.cli.fit, "scan_source", interrupted)
    code, out, err = _run(capsys, *_fit_argv(tmp_path / "m.emkit"))
    assert (code, out, err) == (130, "", "emkit: error: interrupted\n")
    assert not (tmp_path / "m.emkit").exists()


def test_a_second_ctrl_c_during_the_summary_keeps_the_model(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    path = tmp_path / "m.emkit"
    _interrupt_at(monkeypatch, 4)
    monkeypatch.setattr(emkit.cli.fit, "fit_summary", interrupted)
    argv = _fit_argv(path, "--init-params", "random", "--n-init", 1, "--tol", 0)
    code, out, err = _run(capsys, *argv)
    assert (code, out) == (130, "")
    assert err.splitlines()[-2:] == [
        f"emkit: interrupted: the model so far is written to {path}",
        "emkit: error: interrupted",
    ]
    monkeypatch.undo()
    assert emkit.load(path).n_iter_ == 2


def test_an_interrupted_quiet_fit_says_only_where_the_model_is(tmp_path, capsys, monkeypatch):
    path = tmp_path / "m.emkit"
    _interrupt_at(monkeypatch, 3)
    argv = _fit_argv(path, "--init-params", "random", "--n-init", 1, "--tol", 0, "-q")
    code, out, err = _run(capsys, *argv)
    assert (code, out) == (130, "")
    assert err.splitlines()[-1] == f"emkit: interrupted: the model so far is written to {path}"


def _read_until(stream, pattern, timeout):
    """What ``stream`` (a pipe) gives until ``pattern`` matches it, or the timeout."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.1)
        if ready:
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                break
            seen += chunk
            if re.search(pattern, seen):
                break
    return seen.decode()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT is a POSIX signal")
def test_sigint_stops_a_fit_of_a_file_and_keeps_its_point(tmp_path):
    rng = np.random.default_rng(3)
    # Overlapping clusters in ten dimensions: many slow iterations, far from a fixed point.
    X = rng.normal(size=(60_000, 10)) + rng.integers(0, 2, (60_000, 1)) * 0.5
    np.save(tmp_path / "x.npy", X)
    model = tmp_path / "m.emkit"
    argv = [sys.executable, "-m", "emkit", "fit", str(tmp_path / "x.npy"), "--model", "gmm"]
    argv += ["-k", "4", "--init-params", "random", "--n-init", "1", "--tol", "0"]
    argv += ["--max-iter", "100000", "--random-state", "0", "--progress", "-o", str(model)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        # A test run in the background inherits SIGINT ignored, and Python keeps an ignored
        # SIGINT ignored: the child gets the default, so that Ctrl-C reaches it as a user's.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        seen = _read_until(proc.stderr, rb"iteration ([2-9]|\d\d+)/100000", timeout=240)
        assert re.search(r"iteration ([2-9]|\d\d+)/100000", seen), seen
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=240)
    finally:
        proc.kill()
    assert proc.returncode == 130, (out, err)
    assert b"Traceback" not in err
    (stopped,) = re.findall(rb"no: interrupted \(Ctrl-C\) at iteration (\d+) of run 1", out)
    n_iter = int(stopped)
    expected = emkit.GaussianMixture(
        4, init_params="random", n_init=1, max_iter=n_iter, tol=0, random_state=0
    ).fit(X)
    loaded = emkit.load(model)
    assert loaded.n_iter_ == n_iter and not loaded.converged_
    assert_array_equal(loaded.means_, expected.means_)
    assert_array_equal(loaded.covariances_, expected.covariances_)
