"""Ctrl-C during a fit: the run stops at its last whole point, no later restart runs, and the
best parameters so far are returned with a warning that says so."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import emkit
from emkit.core.driver import fit_em
from emkit.core.online import OnlineEM
from emkit.exceptions import ConvergenceWarning
from emkit.families.gaussian import Gaussian
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture

RNG = np.random.default_rng(2)
X = np.concatenate([RNG.normal(0, 1, (300, 2)), RNG.normal(3, 1, (300, 2))])


class Interrupting(Mixture):
    """A mixture whose E-step is interrupted at its ``at``-th call."""

    def __init__(self, at: int) -> None:
        super().__init__(Gaussian("full", reg_covar=0.0), 2, initializer("random"))
        object.__setattr__(self, "calls", 0)
        object.__setattr__(self, "at", at)

    def e_step(self, params, X, sample_weight=None, *, hard=False):
        object.__setattr__(self, "calls", self.calls + 1)
        if self.calls == self.at:
            raise KeyboardInterrupt
        return super().e_step(params, X, sample_weight, hard=hard)


def test_an_interrupted_fit_keeps_its_last_whole_point_and_runs_no_more_restarts():
    reference = fit_em(
        Interrupting(10**9),
        X,
        n_init=3,
        random_state=0,
        max_iter=3,
        tol=0.0,
        warn_unconverged=False,
    )
    # One chunk per pass: the 6th E-step is the 2nd iteration of the second run.
    with pytest.warns(ConvergenceWarning, match=r"interrupted \(Ctrl-C\) in run 2 of 3"):
        got = fit_em(Interrupting(6), X, n_init=3, random_state=0, max_iter=3, tol=0.0)
    assert got.interrupted and got.run_lower_bounds.size == 2
    # The first run had finished: it is the best, its bound that of the uninterrupted fit.
    assert got.run_lower_bounds[0] == reference.run_lower_bounds[0]
    best = int(np.argmax(got.run_lower_bounds))
    assert got.best_run == best
    assert got.lower_bounds.size == got.n_iter + 1


def test_an_interrupted_run_returns_the_point_it_had_reached():
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        got = fit_em(Interrupting(4), X, random_state=0, max_iter=10, tol=0.0)
    assert got.n_iter == 2 and got.lower_bounds.size == 3
    again = fit_em(
        Interrupting(10**9), X, random_state=0, max_iter=2, tol=0.0, warn_unconverged=False
    )
    assert_array_equal(got.params.components.means, again.params.components.means)
    assert got.lower_bound == again.lower_bound


def test_an_interrupted_online_fit_keeps_its_last_step():
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        got = fit_em(
            Interrupting(5), X, random_state=0, max_iter=3, online=OnlineEM(batch_size=100)
        )
    assert got.interrupted and got.lower_bounds.size == 4
    assert got.lower_bound == got.lower_bounds[-1]


def test_an_interrupted_face_is_fitted_and_unconverged(monkeypatch):
    gm = emkit.GaussianMixture(2, random_state=0, max_iter=50, tol=0.0)
    calls = []
    real = Mixture.e_step

    def interrupting(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Mixture, "e_step", interrupting)
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        gm.fit(X)
    assert not gm.converged_ and gm.n_iter_ == 1
    monkeypatch.undo()
    assert np.isfinite(gm.score(X))
