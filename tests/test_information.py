"""Standard errors from the observed information and the Jacobian of the EM map
(emkit.core.information), against closed forms and independent numerical references."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats as st
from scipy.special import expit, logit, logsumexp

import emkit
from emkit.core.driver import fit_em
from emkit.core.information import (
    em_map_jacobian,
    em_rate,
    natural_covariance,
    observed_information,
    parameter_errors,
    sem_covariance,
    sem_information,
    wald_intervals,
)
from emkit.core.stats import Additive

# -- the genetic-linkage example of Dempster, Laird & Rubin (1977) ------------------------------

COUNTS = np.array([125.0, 18.0, 20.0, 34.0])
THETA_HAT = (15 + np.sqrt(15**2 + 4 * 197 * 68)) / (2 * 197)  # root of 197 t^2 - 15 t - 68


@dataclass(frozen=True)
class Linkage:
    theta: float


@dataclass(frozen=True, eq=False)
class LinkageStats(Additive):
    latent: float  # expected count of the t/4 half of the first cell
    counts: np.ndarray  # (weighted) counts of the four cells


def _cell_log_probs(t: float) -> np.ndarray:
    return np.log([0.5 + t / 4, (1 - t) / 4, (1 - t) / 4, t / 4])


class LinkageModel:
    """The linkage multinomial; rows hold a category index 0..3; the coordinate is logit(t)."""

    def init(self, X, random_state, sample_weight=None):
        return Linkage(float(random_state.uniform(0.1, 0.9)))

    def e_step(self, params, X, sample_weight=None, *, hard=False):
        cells = np.asarray(X)[:, 0].astype(int)
        counts = np.bincount(cells, weights=sample_weight, minlength=4).astype(float)
        t = params.theta
        latent = counts[0] * (t / 4) / (0.5 + t / 4)
        return LinkageStats(latent, counts), float(counts @ _cell_log_probs(t))

    def m_step(self, stats, params):
        y = stats.counts
        return Linkage(float((stats.latent + y[3]) / (stats.latent + y[1:].sum())))

    def log_prob(self, params, X):
        return _cell_log_probs(params.theta)[np.asarray(X)[:, 0].astype(int)]

    def to_unconstrained(self, params):
        with np.errstate(divide="ignore"):
            return np.array([logit(params.theta)])

    def from_unconstrained(self, vector, like):
        return Linkage(float(expit(vector[0])))


def _animals() -> np.ndarray:
    return np.repeat(np.arange(4), COUNTS.astype(int))[:, None]


def _linkage_fit():
    fit = fit_em(LinkageModel(), _animals(), init=Linkage(0.5), tol=0.0, max_iter=60)
    assert abs(fit.params.theta - THETA_HAT) < 1e-12  # the fixed point of EM
    return fit.params


def _closed_form_information(t: float) -> float:
    # l(t) = 125 log(2 + t) + 38 log(1 - t) + 34 log t + const, so
    # -l''(t) = 125 / (2 + t)^2 + 38 / (1 - t)^2 + 34 / t^2.
    return 125 / (2 + t) ** 2 + 38 / (1 - t) ** 2 + 34 / t**2


def _closed_form_complete_information(t: float) -> float:
    # Complete data: x12 ~ the t/4 half of cell 1, expected 125 t / (2 + t) at t; the
    # complete-data log-likelihood (x12 + 34) log t + 38 log(1 - t) has information
    # (x12 + 34) / t^2 + 38 / (1 - t)^2.
    x12 = 125 * t / (2 + t)
    return (x12 + 34) / t**2 + 38 / (1 - t) ** 2


def test_linkage_rate_matches_dlr_and_the_closed_form():
    params = _linkage_fit()
    t = params.theta
    rate = em_rate(LinkageModel(), _animals(), params)
    assert rate == pytest.approx(0.1328, abs=1e-3)  # DLR (1977), Table 1
    # The fraction of missing information, 1 - I_obs / I_com, in closed form.
    exact = 1 - _closed_form_information(t) / _closed_form_complete_information(t)
    assert rate == pytest.approx(exact, rel=1e-6)
    dm = em_map_jacobian(LinkageModel(), _animals(), params)
    assert dm.shape == (1, 1) and dm[0, 0] == pytest.approx(exact, rel=1e-6)


def test_linkage_standard_error_matches_the_closed_form():
    params = _linkage_fit()
    t = params.theta
    closed = _closed_form_information(t)
    assert closed == pytest.approx(377.52, abs=0.05)  # the published value, to its digits
    errors = parameter_errors(LinkageModel(), _animals(), params)
    # The coordinate is logit(t): I_logit = I_t (dt/dlogit)^2 at the maximum.
    slope = t * (1 - t)
    assert errors.information[0, 0] == pytest.approx(closed * slope**2, rel=1e-6)
    se = errors.standard_errors["theta"]
    assert se.shape == ()
    assert float(se) == pytest.approx(1 / np.sqrt(closed), rel=1e-4)
    assert float(se) == pytest.approx(0.0515, abs=5e-5)
    assert errors.redundant == 0
    lower, upper = errors.confidence_intervals(0.95)["theta"]
    assert float(lower) == pytest.approx(t - 1.959964 * float(se), rel=1e-6)
    assert float(upper) == pytest.approx(t + 1.959964 * float(se), rel=1e-6)
    # Coordinate intervals, mapped back, stay inside (0, 1).
    lo, hi = errors.coordinate_intervals(0.99)
    assert 0 < expit(lo[0]) < t < expit(hi[0]) < 1


def test_linkage_sem_route_agrees_with_the_direct_route():
    params = _linkage_fit()
    t = params.theta
    slope = t * (1 - t)
    dm = em_map_jacobian(LinkageModel(), _animals(), params)
    complete = np.array([[_closed_form_complete_information(t) * slope**2]])
    v_sem = sem_covariance(dm, complete)
    direct = parameter_errors(LinkageModel(), _animals(), params)
    assert v_sem[0, 0] == pytest.approx(direct.covariance[0, 0], rel=1e-6)
    assert sem_information(dm, complete)[0, 0] == pytest.approx(direct.information[0, 0], rel=1e-6)
    se_t = np.sqrt(v_sem[0, 0]) * slope
    assert se_t == pytest.approx(1 / np.sqrt(_closed_form_information(t)), rel=1e-5)


def test_linkage_weighted_rows_and_chunks_give_the_same_answers():
    params = _linkage_fit()
    model = LinkageModel()
    whole = observed_information(model, _animals(), params)
    chunked = observed_information(model, _animals(), params, chunk_size=17, n_jobs=2)
    weighted = observed_information(
        model, np.arange(4)[:, None], params, sample_weight=COUNTS, chunk_size=1
    )
    np.testing.assert_allclose(chunked, whole, rtol=1e-7)
    np.testing.assert_allclose(weighted, whole, rtol=1e-7)
    assert em_rate(model, _animals(), params, chunk_size=10) == pytest.approx(
        em_rate(model, _animals(), params), rel=1e-7
    )


# -- Gaussian mixtures against scipy ------------------------------------------------------------


def _mixture_data(d: int) -> np.ndarray:
    rng = np.random.RandomState(0)
    first = rng.multivariate_normal(np.zeros(d), np.eye(d) * 0.7 + 0.2, size=180)
    second = rng.multivariate_normal(np.full(d, 2.5), np.eye(d) * 1.3 - 0.3 * (d > 1), size=120)
    return np.vstack([first, second])


def _fitted_mixture(X: np.ndarray) -> emkit.GaussianMixture:
    return emkit.GaussianMixture(
        n_components=2, tol=1e-13, max_iter=5000, reg_covar=0.0, random_state=0
    ).fit(X)


def _reference_loglik(theta: np.ndarray, X: np.ndarray) -> float:
    """The observed log-likelihood of a two-component Gaussian mixture with scipy densities;
    theta = (w1, mean 1, mean 2, lower triangle of cov 1, lower triangle of cov 2)."""
    d = X.shape[1]
    rows, cols = np.tril_indices(d)
    m = rows.size
    w1, mu1, mu2 = theta[0], theta[1 : 1 + d], theta[1 + d : 1 + 2 * d]
    covs = []
    for part in (theta[1 + 2 * d : 1 + 2 * d + m], theta[1 + 2 * d + m :]):
        c = np.zeros((d, d))
        c[rows, cols] = part
        covs.append(c + np.tril(c, -1).T)
    joint = np.column_stack(
        [
            np.log(w1) + st.multivariate_normal(mu1, covs[0]).logpdf(X).reshape(-1),
            np.log(1 - w1) + st.multivariate_normal(mu2, covs[1]).logpdf(X).reshape(-1),
        ]
    )
    return float(logsumexp(joint, axis=1).sum())


def _reference_hessian(f, theta: np.ndarray, h: float = 1e-4) -> np.ndarray:
    n = theta.size
    out = np.empty((n, n))
    for j in range(n):
        for k in range(n):
            ej, ek = np.eye(n)[j] * h, np.eye(n)[k] * h
            out[j, k] = (
                f(theta + ej + ek) - f(theta + ej - ek) - f(theta - ej + ek) + f(theta - ej - ek)
            ) / (4 * h * h)
    return (out + out.T) / 2


@pytest.mark.parametrize("d", [1, 2])
def test_mixture_mean_errors_match_a_scipy_hessian(d):
    X = _mixture_data(d)
    gm = _fitted_mixture(X)
    assert gm.converged_
    rows, cols = np.tril_indices(d)
    theta = np.concatenate(
        [
            [gm.weights_[0]],
            gm.means_.ravel(),
            gm.covariances_[0][rows, cols],
            gm.covariances_[1][rows, cols],
        ]
    )
    information = -_reference_hessian(lambda v: _reference_loglik(v, X), theta)
    covariance = np.linalg.inv(information)
    reference = np.sqrt(np.diag(covariance))[1 : 1 + 2 * d].reshape(2, d)
    errors = gm.standard_errors(X)
    assert set(errors.standard_errors) == {
        "weights_",
        "means_",
        "covariances_",
        "precisions_cholesky_",
    }
    np.testing.assert_allclose(errors.standard_errors["means_"], reference, rtol=1e-3)
    # The weights and covariances too, through the delta method.
    np.testing.assert_allclose(
        errors.standard_errors["weights_"], np.sqrt(covariance[0, 0]) * np.ones(2), rtol=1e-3
    )
    cov_errors = np.sqrt(np.diag(covariance))[1 + 2 * d :].reshape(2, -1)
    np.testing.assert_allclose(
        errors.standard_errors["covariances_"][:, rows, cols], cov_errors, rtol=1e-3
    )
    # The log-weights are defined up to a common shift: one redundant direction.
    assert errors.redundant == 1
    np.testing.assert_allclose(errors.estimates["means_"], gm.means_)
    lower, upper = errors.confidence_intervals(0.9)["means_"]
    np.testing.assert_allclose(upper - lower, 2 * 1.6448536 * reference, rtol=1e-3)


def _expected_complete_loglik(model, params_hat, X: np.ndarray):
    """Q(u | u_hat): responsibilities fixed at the fit, densities from scipy."""
    joint_hat = model.log_joint(params_hat, X)
    resp = np.exp(joint_hat - logsumexp(joint_hat, axis=1, keepdims=True))

    def q(u: np.ndarray) -> float:
        p = model.from_unconstrained(u, params_hat)
        comps = p.components
        log_dens = np.column_stack(
            [
                st.multivariate_normal(comps.means[k], comps.covariances[k]).logpdf(X).reshape(-1)
                for k in range(p.weights.size)
            ]
        )
        return float(np.sum(resp * (np.log(p.weights) + log_dens)))

    return q


def test_mixture_sem_route_agrees_with_the_direct_route():
    X = _mixture_data(2)
    gm = _fitted_mixture(X)
    model, params = gm._fitted_model(), gm._params()
    u = model.to_unconstrained(params)
    complete = -_reference_hessian(_expected_complete_loglik(model, params, X), u, h=1e-4)
    dm = em_map_jacobian(model, X, params)
    direct = observed_information(model, X, params)
    sem = sem_information(dm, complete)
    scale = np.max(np.abs(direct))
    np.testing.assert_allclose(sem, direct, atol=1e-4 * scale)
    # The rate: the largest eigenvalue of DM is that of I_com^-1 I_mis on the identified
    # directions, and it governs how fast EM closes in (the driver's iterates).
    rate = em_rate(model, X, params)
    assert 0 < rate < 1
    path: list[np.ndarray] = []
    fit_em(
        model,
        X,
        init=model.from_unconstrained(u + 0.05, params),
        tol=0.0,
        max_iter=31,
        callback=lambda info: path.append(model.to_unconstrained(info.params)),
    )
    steps = np.linalg.norm(np.diff(np.array(path), axis=0), axis=1)
    assert steps[-1] / steps[-2] == pytest.approx(rate, rel=2e-2)


def test_mixture_errors_do_not_depend_on_chunks_or_threads():
    X = _mixture_data(2)
    gm = _fitted_mixture(X)
    model, params = gm._fitted_model(), gm._params()
    whole = parameter_errors(model, X, params)
    chunked = parameter_errors(model, X, params, chunk_size=37, n_jobs=2)
    # Chunks add the log-likelihood in another order: round-off, which second differences
    # magnify (to about 1e-9 of the covariance's scale here), is all that may differ.
    scale = np.max(np.abs(whole.natural_covariance))
    np.testing.assert_allclose(
        chunked.natural_covariance, whole.natural_covariance, rtol=0, atol=1e-6 * scale
    )
    for name, value in whole.standard_errors.items():
        np.testing.assert_allclose(chunked.standard_errors[name], value, rtol=1e-6)


def test_mixture_errors_follow_the_units_of_the_data():
    # Shifted and scaled data: the errors of the means scale with the data, those of the
    # covariances with its square, those of the weights not at all (the steps, redundant
    # directions and definiteness checks must not depend on the units).
    X = _mixture_data(2)
    errors = _fitted_mixture(X).standard_errors(X)
    moved = 1e4 + 1e3 * X
    errors_moved = _fitted_mixture(moved).standard_errors(moved)
    for name, power in [("weights_", 0), ("means_", 1), ("covariances_", 2)]:
        np.testing.assert_allclose(
            errors_moved.standard_errors[name],
            errors.standard_errors[name] * 1e3**power,
            rtol=1e-4,
        )


# -- refusals -----------------------------------------------------------------------------------


def test_refuses_too_many_parameters():
    X = np.random.RandomState(1).normal(size=(300, 5))
    gm = emkit.GaussianMixture(n_components=10, max_iter=5, random_state=0)
    with pytest.warns(emkit.ConvergenceWarning):
        gm.fit(X)
    with pytest.raises(ValueError, match=r"210 free parameters .* max_parameters=200"):
        gm.standard_errors(X)
    # A model with exactly max_parameters coordinates is accepted.
    assert (
        parameter_errors(LinkageModel(), _animals(), _linkage_fit(), max_parameters=1).redundant
        == 0
    )
    with pytest.raises(ValueError, match="max_parameters must be a positive integer, got 0"):
        parameter_errors(LinkageModel(), _animals(), Linkage(0.6), max_parameters=0)


def test_refuses_a_parameter_on_the_boundary():
    with pytest.raises(ValueError, match="boundary of its space"):
        parameter_errors(LinkageModel(), _animals(), Linkage(1.0))


def test_refuses_unidentified_parameters():
    # Two coinciding components are a fixed point of EM, and the data cannot tell how the
    # weight is shared between them: the information is singular there.
    X = np.random.RandomState(2).normal(size=(200, 1))
    gm = emkit.GaussianMixture(
        n_components=2,
        weights_init=[0.5, 0.5],
        means_init=np.full((2, 1), X.mean()),
        precisions_init=np.full((2, 1, 1), 1 / X.var()),
        reg_covar=0.0,
        max_iter=3,
    ).fit(X)
    assert gm.means_[0, 0] == pytest.approx(gm.means_[1, 0])
    with pytest.raises(ValueError, match=r"not positive definite.*not identified"):
        gm.standard_errors(X)


def test_refuses_models_without_coordinates():
    class Plain:
        def init(self, X, random_state, sample_weight=None): ...
        def e_step(self, params, X, sample_weight=None, *, hard=False): ...
        def m_step(self, stats, params): ...
        def log_prob(self, params, X): ...

    with pytest.raises(TypeError, match="Plain has no to_unconstrained and no from_"):
        em_rate(Plain(), _animals(), Linkage(0.6))


def test_refuses_a_family_without_coordinates():
    # mclust's VEV shares an orientation across components, which Cholesky coordinates lose.
    X = _mixture_data(2)
    gm = emkit.GaussianMixture(n_components=2, covariance_type="VEV", random_state=0).fit(X)
    with pytest.raises(TypeError, match="standard errors need unconstrained coordinates"):
        gm.standard_errors(X)


def test_refuses_bad_levels_and_shapes():
    with pytest.raises(ValueError, match="level must be"):
        wald_intervals([1.0], [0.1], level=1.0)
    with pytest.raises(ValueError, match="one shape"):
        wald_intervals([1.0, 2.0], [0.1], level=0.9)
    with pytest.raises(ValueError, match="complete_information is not positive definite"):
        sem_covariance(np.zeros((2, 2)), np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="square matrices"):
        sem_information(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"covariance must have shape \(1, 1\)"):
        natural_covariance(LinkageModel(), Linkage(0.6), np.eye(2))
