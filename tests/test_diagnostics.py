"""Diagnostics of every fit (emkit.core.diagnostics): the rate of convergence against closed
forms, the verdict against the true remaining gain, distinct optima of restarts, component
health, the faces' ``diagnostics_`` and the command line's summary."""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.exceptions import NotFittedError

import emkit
from cli_support import run_cli
from emkit.core import diagnostics
from emkit.core.stats import Additive
from emkit.families.gaussian import Gaussian
from emkit.models.mixture import Mixture, MixtureParams

FAITHFUL = Path(__file__).resolve().parents[1] / "examples" / "data" / "faithful.csv"


# -- the genetic-linkage example of Dempster, Laird & Rubin (1977) --------------------------------
COUNTS = np.array([125, 18, 20, 34])
# The maximum likelihood estimate: the positive root of 197 t^2 - 15 t - 68 = 0.
THETA_HAT = (15 + math.sqrt(15**2 + 4 * 197 * 68)) / (2 * 197)


@dataclass(frozen=True, eq=False)
class LinkageParams:
    theta: float


@dataclass(frozen=True, eq=False)
class LinkageStats(Additive):
    """Expected count of the hidden ``t / 4`` part of cell 1, the count of cell 4, and the
    counts of cells 2 and 3."""

    hidden: float
    last: float
    middle: float


class Linkage:
    """Cells of probabilities (1/2 + t/4, (1 - t)/4, (1 - t)/4, t/4); a row is one animal,
    its cell 0..3 in the one column. Counts its E-steps."""

    def __init__(self) -> None:
        self.e_steps = 0

    def init(self, X, random_state, sample_weight=None):
        return LinkageParams(0.5)

    @staticmethod
    def _probs(t: float) -> np.ndarray:
        return np.array([0.5 + t / 4, (1 - t) / 4, (1 - t) / 4, t / 4])

    def e_step(self, params, X, sample_weight=None, *, hard=False):
        self.e_steps += 1
        cells = np.asarray(X, dtype=np.intp)[:, 0]
        w = np.ones(cells.size) if sample_weight is None else sample_weight
        n = np.bincount(cells, weights=w, minlength=4)
        t = params.theta
        hidden = n[0] * (t / 4) / (0.5 + t / 4)
        return LinkageStats(hidden, n[3], n[1] + n[2]), float(n @ np.log(self._probs(t)))

    def m_step(self, stats, params):
        top = stats.hidden + stats.last
        return LinkageParams(top / (top + stats.middle))

    def log_prob(self, params, X):
        return np.log(self._probs(params.theta))[np.asarray(X, dtype=np.intp)[:, 0]]

    def to_unconstrained(self, params):
        return np.array([math.log(params.theta / (1 - params.theta))])

    def from_unconstrained(self, vector, like):
        return LinkageParams(1 / (1 + math.exp(-vector[0])))


ANIMALS = np.repeat(np.arange(4), COUNTS)[:, None].astype(np.float64)


def _em_map(t: float) -> float:
    hidden = COUNTS[0] * t / (2 + t)
    return (hidden + COUNTS[3]) / (hidden + COUNTS[3] + COUNTS[1] + COUNTS[2])


def _em_map_derivative(t: float) -> float:
    """d/dt of the EM map, in closed form: the rate of EM at its fixed point."""
    hidden = COUNTS[0] * t / (2 + t)
    d_hidden = COUNTS[0] * 2 / (2 + t) ** 2
    rest = COUNTS[1] + COUNTS[2]
    return d_hidden * rest / (hidden + COUNTS[3] + rest) ** 2


def test_the_linkage_rate_is_the_closed_form():
    assert _em_map(THETA_HAT) == pytest.approx(THETA_HAT, abs=1e-15)
    assert _em_map_derivative(THETA_HAT) == pytest.approx(0.1328, abs=5e-5)  # DLR, sec. 3.9
    model = Linkage()
    fit = emkit.fit_em(model, ANIMALS, tol=1e-12, max_iter=100)
    d = fit.diagnostics
    assert d.status == "converged"
    assert d.method == "em"
    assert d.rate == pytest.approx(0.1328, abs=1e-3)
    assert d.rate == pytest.approx(_em_map_derivative(THETA_HAT), abs=1e-3)
    assert d.rate_from_parameters == d.rate
    assert d.rate_from_bound == pytest.approx(0.1328, abs=1e-3)
    assert d.missing_information == d.rate
    assert (
        d.messages[0] == f"converged at a rate of {d.rate:.2g}: 13 % of the information is missing"
    )
    # The diagnostics cost no E-step: the initial one and one per M-step.
    assert model.e_steps == fit.n_e_steps == fit.n_iter + 1


def test_parameter_changes_are_those_of_the_em_map_in_logit_coordinates():
    fit = emkit.fit_em(Linkage(), ANIMALS, tol=0.0, max_iter=8)
    thetas = [0.5]
    for _ in range(8):
        thetas.append(_em_map(thetas[-1]))
    logits = np.log(np.divide(thetas, np.subtract(1, thetas)))
    np.testing.assert_allclose(fit.parameter_changes, np.abs(np.diff(logits)), rtol=1e-9)
    assert fit.em_steps.all() and fit.em_steps.shape == (8,)
    assert fit.coordinate_scale == pytest.approx(abs(logits[-1]), rel=1e-9)
    d = fit.diagnostics
    np.testing.assert_array_equal(d.parameter_changes, fit.parameter_changes)
    np.testing.assert_array_equal(d.lower_bounds, fit.lower_bounds)
    # One restart: its final coordinates are kept, and no restart sentence is made.
    np.testing.assert_allclose(d.restart_parameters, logits[-1:].reshape(1, 1), rtol=1e-9)
    assert (d.n_optima, d.n_at_best) == (1, 1) and len(d.messages) == 1


def test_a_fast_run_cut_by_max_iter_with_little_left_is_stopped_at_max_iter():
    # At rate 0.13 the bound's increments shrink by 0.018 per step: with tol a quarter of the
    # last increment, the rule is not met but what is left is far below tol.
    probe = emkit.fit_em(Linkage(), ANIMALS, tol=0.0, max_iter=4)
    tol = float(np.diff(probe.lower_bounds)[-1]) / 4
    with pytest.warns(emkit.ConvergenceWarning):
        fit = emkit.fit_em(Linkage(), ANIMALS, tol=tol, max_iter=4)
    optimum = emkit.fit_em(Linkage(), ANIMALS, tol=0.0, max_iter=60).lower_bound
    assert 0 < optimum - fit.lower_bound < tol
    d = fit.diagnostics
    assert d.status == "stopped at max_iter"
    assert d.remaining_gain == pytest.approx(optimum - fit.lower_bound, rel=0.1)


# -- a slow problem: the weight of two known, overlapping Gaussians -------------------------------
SHIFT = 0.5


@dataclass(frozen=True, eq=False)
class Weight:
    weight: float


@dataclass(frozen=True, eq=False)
class WeightStats(Additive):
    first: float
    total: float


class KnownPair:
    """A mixture of N(0, 1) and N(SHIFT, 1) whose one unknown is the weight of the first:
    the components overlap, so most of the information is missing and EM is slow."""

    def init(self, X, random_state, sample_weight=None):
        return Weight(0.9)

    def _logs(self, params, X):
        x = np.asarray(X, dtype=np.float64)[:, 0]
        return np.stack(
            [
                math.log(params.weight) + norm.logpdf(x),
                math.log1p(-params.weight) + norm.logpdf(x, SHIFT),
            ],
            axis=1,
        )

    def e_step(self, params, X, sample_weight=None, *, hard=False):
        logs = self._logs(params, X)
        top = np.logaddexp(logs[:, 0], logs[:, 1])
        w = np.ones(top.size) if sample_weight is None else sample_weight
        return WeightStats(float(w @ np.exp(logs[:, 0] - top)), float(w.sum())), float(w @ top)

    def m_step(self, stats, params):
        return Weight(stats.first / stats.total)

    def log_prob(self, params, X):
        logs = self._logs(params, X)
        return np.logaddexp(logs[:, 0], logs[:, 1])

    def to_unconstrained(self, params):
        return np.array([math.log(params.weight / (1 - params.weight))])

    def from_unconstrained(self, vector, like):
        return Weight(1 / (1 + math.exp(-vector[0])))


def _pair_data(n: int = 2000) -> np.ndarray:
    rng = np.random.RandomState(0)
    first = rng.rand(n) < 0.3
    return np.where(first, rng.randn(n), rng.randn(n) + SHIFT)[:, None]


PAIR = _pair_data()
PAIR_OPTIMUM = emkit.fit_em(KnownPair(), PAIR, tol=0.0, max_iter=20_000)


def test_the_slow_rate_is_the_fraction_of_missing_information():
    # 1 - I_observed / I_complete for the weight, at the optimum.
    w = PAIR_OPTIMUM.params.weight
    x = PAIR[:, 0]
    f0, f1 = norm.pdf(x), norm.pdf(x, SHIFT)
    observed = np.sum(((f0 - f1) / (w * f0 + (1 - w) * f1)) ** 2)
    complete = x.size / (w * (1 - w))
    fraction = 1 - observed / complete
    assert fraction > 0.9
    fit = emkit.fit_em(KnownPair(), PAIR, tol=1e-12, max_iter=1000)
    assert fit.diagnostics.rate == pytest.approx(fraction, abs=1e-3)
    assert fit.diagnostics.missing_information == fit.diagnostics.rate
    # Run to its fixed point, the fit has converged whatever its slowness.
    assert PAIR_OPTIMUM.converged and PAIR_OPTIMUM.n_iter < 20_000
    assert PAIR_OPTIMUM.diagnostics.status == "converged"


def test_a_slow_run_cut_by_max_iter_is_stopped_but_not_converged():
    tol = 1e-6
    with pytest.warns(emkit.ConvergenceWarning):
        fit = emkit.fit_em(KnownPair(), PAIR, tol=tol, max_iter=20)
    left = PAIR_OPTIMUM.lower_bound - fit.lower_bound
    assert left > tol
    d = fit.diagnostics
    assert d.status == d.verdict == "stopped but not converged"
    assert d.remaining_gain > tol
    assert d.remaining_gain == pytest.approx(left, rel=0.3)
    assert d.messages[0].startswith("stopped but not converged: at a rate of 0.94")
    assert f"(more than tol {tol:g}) after 20 iterations" in d.messages[0]


def test_meeting_tol_on_one_step_of_a_slow_run_is_not_convergence():
    tol = 1e-5
    fit = emkit.fit_em(KnownPair(), PAIR, tol=tol, max_iter=10_000)
    assert fit.converged  # the driver's rule: one change below tol
    left = PAIR_OPTIMUM.lower_bound - fit.lower_bound
    assert left > tol  # ... while the bound has more than tol to gain
    d = fit.diagnostics
    assert d.status == "stopped but not converged"
    assert d.remaining_gain == pytest.approx(left, rel=0.1)
    # A face that judges by its own rule is overruled the same way; with no tolerance to hold
    # the gain against, its verdict stands.
    assert diagnostics.diagnose(fit, converged=True).status == "stopped but not converged"
    assert diagnostics.diagnose(fit, converged=True, tol=0.0).status == "converged"
    assert diagnostics.diagnose(fit, tol=1.0).status == "converged"


# -- restarts: distinct optima ---------------------------------------------------------------------
def _three_clusters() -> np.ndarray:
    rng = np.random.RandomState(3)
    centres = np.repeat([-6.0, 0.0, 5.0], [150, 100, 100])
    return (centres + 0.6 * rng.randn(centres.size))[:, None]


CLUSTERS = _three_clusters()
# Two components over three clusters: one optimum puts the left cluster apart, the other the
# right one; the starts below go to the first, the first, the second, the first, the second.
STARTS = [(-6.0, 2.5), (-6.0, 3.0), (-3.0, 5.0), (-6.5, 1.5), (-2.5, 5.0)]


def _start(means) -> MixtureParams:
    family = Gaussian("full")
    components = family.from_covariances(
        np.array(means, dtype=np.float64).reshape(2, 1), np.ones((2, 1, 1))
    )
    return MixtureParams(np.array([0.5, 0.5]), components)


def test_restarts_are_told_apart_into_their_optima():
    model = Mixture(Gaussian("full"), 2)
    starts = iter(STARTS)
    fit = emkit.fit_em(
        model,
        CLUSTERS,
        n_init=len(STARTS),
        tol=1e-10,
        max_iter=1000,
        init=lambda X, rng, w: _start(next(starts)),
    )
    # Each start fitted alone: the reference.
    alone = [
        emkit.fit_em(model, CLUSTERS, tol=1e-10, max_iter=1000, init=_start(s)) for s in STARTS
    ]
    finals = np.array([a.lower_bound for a in alone])
    np.testing.assert_allclose(fit.run_lower_bounds, finals, rtol=1e-12)
    left_apart = np.array([a.params.components.means.min() < -5 for a in alone])
    np.testing.assert_array_equal(left_apart, [True, True, False, True, False])
    # Two optima, whose bounds differ by far more than the spread within one.
    best_is_left = finals[left_apart].max() > finals[~left_apart].max()
    at_best = left_apart if best_is_left else ~left_apart
    assert (
        np.ptp(finals[at_best]) < 1e-9 < 1e-3 < abs(finals[left_apart][0] - finals[~left_apart][0])
    )
    d = fit.diagnostics
    assert (d.n_optima, d.n_at_best) == (2, int(at_best.sum()))
    np.testing.assert_array_equal(d.optimum_of_restart, np.where(at_best, 0, 1))
    n_best = int(at_best.sum())
    assert d.messages[1] == (
        f"{n_best} of {len(STARTS)} restarts reached the best optimum; 2 distinct optima"
    )
    # The final coordinates of every restart: those of the run alone.
    expected = np.stack([model.to_unconstrained(a.params) for a in alone])
    np.testing.assert_allclose(d.restart_parameters, expected, rtol=1e-7, atol=1e-9)


def test_optima_cluster_from_the_top_within_the_tolerance():
    labels = diagnostics.optima(np.array([-1.0, -1.0005, -2.0, -np.inf, -1.0009, -2.0004]), 1e-3)
    np.testing.assert_array_equal(labels, [0, 0, 1, -1, 0, 1])
    assert diagnostics.optimum_tolerance(np.array([-2.0, -3.0]), 1e-3) == 1e-3
    assert diagnostics.optimum_tolerance(np.array([-2e4, -3e4]), 0.0) == pytest.approx(2e-2)


def test_a_face_counts_its_restarts_as_the_command_line_does():
    X = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    est = emkit.GaussianMixture(3, n_init=6, init_params="random", random_state=1).fit(X)
    d = est.diagnostics_
    np.testing.assert_array_equal(d.restart_lower_bounds, est.restart_lower_bounds_)
    finals = est.restart_lower_bounds_
    reached = np.sum(finals.max() - finals <= max(est.tol, 1e-6 * abs(finals.max())))
    assert d.n_at_best == reached
    assert d.n_optima == np.unique(d.optimum_of_restart).size


# -- component health ------------------------------------------------------------------------------
def _blobs(seed: int = 0) -> np.ndarray:
    rng = np.random.RandomState(seed)
    return np.r_[rng.randn(200, 2), rng.randn(200, 2) @ [[1.0, 0.3], [0.0, 0.5]] + [6.0, 6.0]]


def test_a_healthy_mixture_has_nothing_to_say():
    est = emkit.GaussianMixture(2, random_state=0).fit(_blobs())
    assert est.diagnostics_.health == ()


def test_a_component_on_a_line_is_held_up_by_reg_covar():
    rng = np.random.RandomState(1)
    t = rng.randn(150)
    X = np.r_[_blobs(), np.c_[t, 2 * t] + [-8.0, 8.0]]
    est = emkit.GaussianMixture(3, reg_covar=1e-6, random_state=0).fit(X)
    on_line = int(np.argmin(np.linalg.eigvalsh(est.covariances_)[:, 0]))
    smallest = np.linalg.eigvalsh(est.covariances_[on_line])[0]
    assert smallest < 1e-5  # the data's variance across the line is zero
    (sentence,) = est.diagnostics_.health
    assert sentence.startswith(
        f"the covariance of component {on_line} has smallest eigenvalue {smallest:.3g}"
    )
    assert "reg_covar, not the data, holds it up" in sentence
    assert est.diagnostics_.messages[-1] == sentence


def test_weights_near_zero_and_near_singular_covariances_are_named():
    est = emkit.GaussianMixture(3, random_state=0).fit(_blobs())
    healthy = est.covariances_.copy()
    est.weights_ = np.array([0.6, 0.3999, 1e-4])
    # Component 1 nearly singular (condition 1e9), well above reg_covar.
    est.covariances_ = healthy.copy()
    est.covariances_[1] = np.diag([1.0, 1e-9]) * 10
    est.reg_covar = 1e-12
    health = est.diagnostics_.health
    assert len(health) == 2
    assert health[0].startswith("component 2 has weight 0.0001, near zero (below 0.00333)")
    condition = np.linalg.cond(est.covariances_[1])
    assert health[1].startswith(
        f"the covariance of component 1 is near singular (condition number {condition:.3g})"
    )
    # A condition number below the limit is not named.
    est.covariances_[1] = np.diag([1.0, 1e-7]) * 10
    assert len(est.diagnostics_.health) == 1


def test_diagonal_and_tied_covariances_are_checked_too():
    est = emkit.GaussianMixture(2, covariance_type="diag", random_state=0).fit(_blobs())
    est.covariances_ = est.covariances_.copy()
    est.covariances_[0, 1] = 5e-6
    (sentence,) = est.diagnostics_.health
    assert sentence.startswith("the covariance of component 0 has smallest eigenvalue 5e-06")
    tied = emkit.GaussianMixture(2, covariance_type="tied", random_state=0).fit(_blobs())
    tied.covariances_ = np.array([[1.0, 1.0], [1.0, 1.0 + 1e-10]])
    tied.reg_covar = 0.0
    (sentence,) = tied.diagnostics_.health
    assert sentence.startswith("the shared covariance is near singular")


def test_unvisited_hmm_states_are_named():
    rng = np.random.RandomState(0)
    X = np.r_[rng.randn(100, 1), rng.randn(100, 1) + 5, rng.randn(100, 1) - 5]
    est = emkit.GaussianHMM(3, random_state=0).fit(X)
    assert est.diagnostics_.health == ()
    # A left-to-right chain reaches every state from the first: all are visited.
    est.startprob_ = np.array([1.0, 0.0, 0.0])
    est.transmat_ = np.array([[0.9, 0.1, 0.0], [0.0, 0.9, 0.1], [0.0, 0.0, 1.0]])
    assert est.diagnostics_.health == ()
    # Nothing starts in state 2 and no visited state moves to it (state 2's own row, which
    # leads elsewhere, does not matter).
    est.transmat_ = np.array([[0.9, 0.1, 0.0], [0.5, 0.5, 0.0], [0.3, 0.3, 0.4]])
    assert est.diagnostics_.health == (
        "state 2 is never visited: no sequence starts in it and no visited state moves to it "
        "(its expected occupancy is zero); fewer states may do",
    )


# -- faces -----------------------------------------------------------------------------------------
def test_every_face_fitted_by_the_driver_has_diagnostics():
    X = _blobs()
    counts = np.random.RandomState(0).poisson(2.0, size=(60, 8))
    faces = [
        (emkit.GaussianMixture(2, random_state=0), X, "em"),
        (emkit.GaussianMixture(2, accelerate="squarem", random_state=0), X, "squarem"),
        (emkit.KMeans(2, n_init=2, random_state=0), X, "hard"),
        (emkit.GaussianHMM(2, random_state=0), X, "em"),
        (emkit.BayesianGaussianMixture(n_components=2, random_state=0), X, "em"),
        (emkit.LatentDirichletAllocation(2, random_state=0, max_iter=5), counts, "em"),
        (emkit.FactorAnalysis(1, random_state=0), X, "squarem"),  # its default
    ]
    for est, data, method in faces:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", emkit.ConvergenceWarning)
            est.fit(data)
        d = est.diagnostics_
        assert isinstance(d, diagnostics.FitDiagnostics)
        assert d.method == method, type(est).__name__
        assert d.status in diagnostics.STATUSES
        np.testing.assert_array_equal(d.lower_bounds, est.lower_bounds_)
        assert d.parameter_changes.shape == (est.n_iter_,)
        assert d.messages and d.messages[0].startswith(d.status)
        if method != "em":
            assert math.isnan(d.rate)


def test_online_fits_say_their_rate_is_not_meaningful():
    X = _blobs()
    est = emkit.GaussianMixture(
        2, learning_method="online", batch_size=50, random_state=0, max_iter=20
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        est.fit(X)
    d = est.diagnostics_
    assert d.method == "online" and math.isnan(d.rate)
    assert d.verdict == f"{d.status} (online EM: its rate of convergence is not meaningful)"
    steps = est._online_state.n_batches
    est.partial_fit(X[:120])
    d = est.diagnostics_
    assert d.status == "online steps" and d.method == "online"
    assert est.n_iter_ == steps + 3
    assert d.messages[0].startswith(f"{steps + 3} online steps taken (partial_fit)")
    np.testing.assert_array_equal(d.lower_bounds, est.lower_bounds_)


def test_model_files_keep_no_diagnostics_and_say_so(tmp_path):
    est = emkit.GaussianMixture(2, random_state=0).fit(_blobs())
    path = est.save(tmp_path / "m.emkit")
    loaded = emkit.load(path)
    np.testing.assert_array_equal(loaded.means_, est.means_)
    assert not hasattr(loaded, "diagnostics_")
    with pytest.raises(AttributeError, match="read from a model file"):
        loaded.diagnostics_  # noqa: B018
    with pytest.raises(NotFittedError):
        emkit.GaussianMixture(2).diagnostics_  # noqa: B018
    # A fit of the loaded model has them again.
    assert loaded.fit(_blobs()).diagnostics_.status == "converged"


def test_a_degenerate_run_and_an_interrupted_one_say_so():
    fit = emkit.fit_em(Linkage(), ANIMALS, tol=1e-12, max_iter=100)
    from dataclasses import replace

    assert diagnostics.diagnose(
        replace(fit, degenerated="a covariance became singular")
    ).status == ("degenerated")
    interrupted = diagnostics.diagnose(replace(fit, interrupted=True))
    assert interrupted.status == "interrupted"
    assert interrupted.messages[0].startswith("interrupted (Ctrl-C) after")


def test_a_drifting_parameter_leaves_the_rate_to_the_bound():
    # Changes that grow (a log-probability running off to -inf) while the bound's increments
    # shrink by 0.04 per step: the rate is the bound's, 0.2.
    bounds = -1.0 + np.cumsum([0.0, 1e-2, 4e-4, 1.6e-5, 6.4e-7, 2.56e-8])
    changes = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    estimate = diagnostics.rates(bounds, changes, np.ones(5, dtype=bool), 20.0)
    assert estimate.drifting
    assert estimate.rate == pytest.approx(0.2, rel=1e-6)
    assert estimate.remaining_gain == pytest.approx(2.56e-8 * 0.04 / 0.96, rel=1e-6)


# -- the command line ------------------------------------------------------------------------------
def test_the_fit_summary_prints_the_verdict(tmp_path, capsys):
    path = tmp_path / "f.emkit"
    argv = ["fit", FAITHFUL, "--model", "gmm", "-k", 2, "--random-state", 0, "-o", path]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("diagnostics "))
    X = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    est = emkit.GaussianMixture(2, n_init=3, random_state=0).fit(X)
    messages = est.diagnostics_.messages
    assert re.match(
        r"converged at a rate of 0\.\d+: \d+ % of the information is missing", messages[0]
    )
    assert lines[first] == f"diagnostics     {messages[0]}"
    assert lines[first + 1 : first + len(messages)] == [f"{'':16}{m}" for m in messages[1:]]
    assert lines[first + len(messages)] == f"model written to {path}"
