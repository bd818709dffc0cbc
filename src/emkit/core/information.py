"""Standard errors from the observed information, and the Jacobian of the EM map.

Model-agnostic: everything here uses the driver's model contract
(:class:`emkit.core.model.LatentModel`) and the unconstrained coordinates that SQUAREM uses
(``to_unconstrained`` / ``from_unconstrained``, see :mod:`emkit.core.acceleration`), and every
pass over the data goes through the executor the driver uses, so chunked sources, threads and
a Dask cluster all work and give the same numbers.

The EM map and its rate
-----------------------
EM is a fixed-point iteration ``u <- M(u)`` in the coordinates ``u``. :func:`em_map_jacobian`
differentiates it at (near) the fitted point ``u*`` by central differences, one coordinate
at a time: ``DM[:, j] = (M(u* + h_j e_j) - M(u* - h_j e_j)) / (2 h_j)``, one E-step and one
M-step per evaluation (Meng & Rubin 1991, "Using EM to obtain asymptotic variance-covariance
matrices: the SEM algorithm", JASA 86, with their ratios replaced by central differences).
Central differences, not the SEM iteration: the SEM ratios ``(M(u* + h e_j) - u*) / h``
subtract ``u*`` itself and so need it to be the fixed point to far better than ``h``, which a
fit stopped by ``tol`` is not; differences of ``M`` need no fixed point, and a point
``delta`` away from it only moves the Jacobian by ``O(delta)``. ``DM[i, j]`` is
``dM_i / du_j`` (the Jacobian as NumPy lays it out, the transpose of Meng and Rubin's ``DM``).
Its spectral radius, :func:`em_rate`, is the linear rate of convergence of EM: the largest
fraction of the information about the parameters that the latent variables hide. The
eigenvalues of ``DM`` at a fixed point do not depend on the coordinates.

The observed information
------------------------
:func:`observed_information` is the negative Hessian of the observed-data log-likelihood
``sum_i w_i log p(x_i | u)`` (the models' ``log_prob``) in the coordinates ``u``, by central
second differences: ``2 n ** 2 + 1`` passes over the data for ``n`` coordinates, which is why
:data:`MAX_PARAMETERS` bounds ``n``. This is the direct route, and the exact one whatever the
model: the observed information is what the standard errors need, and the log-likelihood is
all it takes. The SEM route (:func:`sem_covariance`, :func:`sem_information`) needs in
addition the expected complete-data information ``I_com``, which the model contract does not
give (a caller that knows it, in closed form say, can cross-check the two routes: at a fixed
point ``I_obs = I_com (I - DM)``).

Steps. Differences are taken with a step per coordinate set by its statistical scale
``s_j = sqrt(W / H_jj)`` (``W`` the total weight of the data, ``H_jj`` the information of the
coordinate, from a first pilot pass of second differences with steps ``eps ** (1/4) *
max(1, |u_j|)``): the spread of that coordinate that one sample carries, so that a mean is
stepped by a fraction of the component's standard deviation, not of its distance from the
origin. Second differences take ``h_j = eps ** (1/4) s_j``, the EM map ``h_j = eps ** (1/3)
s_j`` (the steps that balance truncation against round-off, ``eps`` the float64 machine
epsilon).

Redundant coordinates. Some coordinates describe the parameters redundantly: the mixture's
log-weights are defined up to a common shift (the weights are their softmax), and frozen
parameters keep their values whatever their coordinates. Along such a direction nothing
changes, so the information is singular there, which says nothing about how well the data
determine the parameters. Such directions are found as the null space of the Jacobian of
``from_unconstrained`` (the natural parameters, every numeric field of ``params``, against
``u``), and the information is inverted on the complement: the covariance of the coordinates
is ``B (B^T I_obs B)^-1 B^T`` for an orthonormal basis ``B`` of the complement (in the scaled
coordinates ``u / s``), and that of the natural parameters ``J V J^T`` by the delta method,
which does not depend on the choice of complement. Any other direction along which the
information is not positive definite is refused (ValueError): a parameter is on the boundary
of its space (a weight near zero, a variance held up by ``reg_covar``), or the data do not
identify it (two components that coincide), or the point is not a maximum.

Everything assumes ``params`` is a maximum of the likelihood (fit with a tight ``tol``):
at any other point the negative Hessian is not the information, and its transformation
between coordinates picks up the gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.special import ndtri

from emkit.config import executor_for
from emkit.core.driver import _summed
from emkit.core.stats import as_dict
from emkit.execution.executor import Executor, Placement
from emkit.execution.sources import DEFAULT_CHUNK_SIZE, as_source

MAX_PARAMETERS = 200
"""Default largest number of unconstrained coordinates: the Hessian takes ``2 n ** 2 + 1``
passes over the data (80 001 for 200 coordinates)."""

DEFINITE_RTOL = 1e-6
"""The information is positive definite when the smallest eigenvalue of its scaled form
(``s_i s_j I_ij / W``, unit diagonal up to the step's error) exceeds this: a direction whose
information is a millionth of one coordinate's cannot be told from zero at the accuracy of
second differences."""

REDUNDANT_RTOL = 1e-6
"""A direction is redundant when the natural parameters change along it by at most this
fraction of what a unit direction changes (the Jacobian's rows scaled to unit length, for the
units of the parameters, then its columns); true redundancies are zero up to the round-off of
the differences, about 1e-10."""

_EPS = float(np.finfo(np.float64).eps)
_HESSIAN_STEP = _EPS**0.25
_JACOBIAN_STEP = _EPS ** (1.0 / 3.0)
_REQUIRED = ("to_unconstrained", "from_unconstrained")


@dataclass(frozen=True)
class StandardErrors:
    """Standard errors of fitted parameters from the observed information.

    ``n`` is the number of unconstrained coordinates, ``m`` the number of natural parameters
    (every entry of every numeric field of ``params``, in the order of
    :func:`emkit.core.stats.as_dict`).

    Attributes
    ----------
    coordinates : ndarray of shape (n,)
        The unconstrained coordinates of the parameters (``to_unconstrained``).
    information : ndarray of shape (n, n)
        Observed information in those coordinates (negative Hessian of the summed
        log-likelihood).
    covariance : ndarray of shape (n, n)
        Asymptotic covariance of the coordinates: the inverse of the information on the
        directions that change the parameters (see the module documentation); directions that
        change nothing (a common shift of log-weights, frozen parameters) have no variance.
    coordinate_errors : ndarray of shape (n,)
        Square roots of the diagonal of ``covariance``.
    redundant : int
        Number of independent directions of the coordinates along which no parameter changes.
    estimates : dict of str to ndarray
        The natural parameters, by field name, in their own shapes.
    standard_errors : dict of str to ndarray
        Their standard errors by the delta method, same names and shapes as ``estimates``.
    natural_covariance : ndarray of shape (m, m)
        Covariance of all natural parameters, flattened field after field.
    """

    coordinates: np.ndarray
    information: np.ndarray
    covariance: np.ndarray
    coordinate_errors: np.ndarray
    redundant: int
    estimates: dict[str, np.ndarray]
    standard_errors: dict[str, np.ndarray]
    natural_covariance: np.ndarray

    def confidence_intervals(self, level: float = 0.95) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Wald intervals of the natural parameters: ``name -> (lower, upper)``, arrays of
        the parameters' shapes (:func:`wald_intervals`)."""
        return {
            name: wald_intervals(value, self.standard_errors[name], level)
            for name, value in self.estimates.items()
        }

    def coordinate_intervals(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Wald intervals of the unconstrained coordinates, each of shape (n,); mapped back
        through ``from_unconstrained`` they respect the parameters' constraints."""
        return wald_intervals(self.coordinates, self.coordinate_errors, level)

    def renamed(self, names: dict[str, str]) -> StandardErrors:
        """The same errors with the natural parameters' names replaced by ``names``."""
        return replace(
            self,
            estimates={names.get(k, k): v for k, v in self.estimates.items()},
            standard_errors={names.get(k, k): v for k, v in self.standard_errors.items()},
        )


def wald_intervals(
    estimates: Any, standard_errors: Any, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wald confidence intervals ``estimate -/+ z * standard_error``, ``z`` the standard
    normal quantile of ``(1 + level) / 2``.

    Parameters
    ----------
    estimates, standard_errors : array-like of one shape
    level : float, default=0.95
        Coverage, strictly between 0 and 1.

    Returns
    -------
    lower, upper : ndarray of the shape of ``estimates``
    """
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level must be a number strictly between 0 and 1, got {level!r}")
    estimates = np.asarray(estimates, dtype=np.float64)
    standard_errors = np.asarray(standard_errors, dtype=np.float64)
    if estimates.shape != standard_errors.shape:
        raise ValueError(
            f"estimates and standard_errors must have one shape, got {estimates.shape} and "
            f"{standard_errors.shape}"
        )
    half = float(ndtri(0.5 + level / 2.0)) * standard_errors
    return estimates - half, estimates + half


# -- passes over the data ----------------------------------------------------------------------


class _Passes:
    """The model, its data placed on the driver's executor, and the coordinates of one point:
    the two functions of the coordinates that everything here differentiates."""

    def __init__(
        self,
        model: Any,
        X: Any,
        params: Any,
        sample_weight: Any,
        chunk_size: int | None,
        n_jobs: int | None,
        max_parameters: int,
    ) -> None:
        missing = [name for name in _REQUIRED if not callable(getattr(model, name, None))]
        if missing:
            raise TypeError(
                f"standard errors and the EM map's Jacobian need a model with "
                f"{' and '.join(_REQUIRED)} (unconstrained coordinates of its parameters); "
                f"{type(model).__name__} has no {' and no '.join(missing)}"
            )
        if (
            isinstance(max_parameters, bool)
            or not isinstance(max_parameters, (int, np.integer))
            or max_parameters < 1
        ):
            raise ValueError(f"max_parameters must be a positive integer, got {max_parameters!r}")
        if chunk_size is None:
            chunk_size = DEFAULT_CHUNK_SIZE
        if isinstance(chunk_size, bool) or int(chunk_size) != chunk_size or chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        self.model, self.params = model, params
        try:
            with np.errstate(all="ignore"):
                u = np.asarray(model.to_unconstrained(params), dtype=np.float64).ravel()
        except TypeError as exc:
            # A structure whose family has no coordinates says so here (as it does to SQUAREM).
            raise TypeError(f"standard errors need unconstrained coordinates: {exc}") from exc
        bad = np.flatnonzero(~np.isfinite(u))
        if bad.size:
            raise ValueError(
                f"coordinate {int(bad[0])} of the parameters is {u[bad[0]]}: a parameter is on "
                "the boundary of its space (e.g. a mixture weight of zero), where it has no "
                "standard error"
            )
        if u.size > max_parameters:
            raise ValueError(
                f"the model has {u.size} free parameters (unconstrained coordinates), more "
                f"than max_parameters={max_parameters}: the numerical Hessian takes "
                f"2 n^2 + 1 = {2 * u.size**2 + 1} passes over the data; pass a larger "
                "max_parameters to compute it anyway"
            )
        self.u = u
        source = as_source(X, sample_weight)
        self.executor: Executor = executor_for(n_jobs, source)
        self.placement: Placement = self.executor.place(source, int(chunk_size))
        self._weight: float | None = None

    def at(self, u: np.ndarray) -> Any:
        """The parameters at coordinates ``u``."""
        try:
            with np.errstate(all="ignore"):
                return self.model.from_unconstrained(u, self.params)
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise ValueError(
                f"a step of the numerical differences left the parameter space ({exc}); the "
                "parameters are too close to its boundary for standard errors"
            ) from exc

    def log_likelihood(self, u: np.ndarray) -> float:
        """The (weighted) summed log-likelihood at ``u``, one pass."""
        params, model = self.at(u), self.model

        def one(batch: tuple[np.ndarray, np.ndarray | None]) -> tuple[float, float]:
            rows, w = batch
            scores = np.asarray(model.log_prob(params, rows), dtype=np.float64)
            if w is None:
                return float(scores.sum()), float(scores.shape[0])
            return float(np.dot(w, scores)), float(np.sum(w))

        summed = self.placement.map_reduce(one, _add_pairs)
        if summed is None or not summed[1] > 0:
            raise ValueError("the data holds no rows (or all sample weights are zero)")
        self._weight = summed[1]
        return summed[0]

    def em_step(self, u: np.ndarray) -> np.ndarray:
        """The coordinates of one EM step from ``u``: the driver's E-step pass, the M-step."""
        params = self.at(u)
        stats, _, self._weight = _summed(self.model, params, self.placement, False)
        new = self.model.m_step(stats, params)
        return np.asarray(self.model.to_unconstrained(new), dtype=np.float64).ravel()

    @property
    def weight(self) -> float:
        """The total weight of the data (after at least one pass)."""
        assert self._weight is not None
        return self._weight


def _add_pairs(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return a[0] + b[0], a[1] + b[1]


def _hessian(f: Callable[[np.ndarray], float], u: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Central second differences of ``f`` at ``u`` with per-coordinate ``steps``."""
    n = u.size
    f0 = f(u)
    hessian = np.empty((n, n))
    basis = np.diag(steps)
    for j in range(n):
        hessian[j, j] = (f(u + basis[j]) - 2.0 * f0 + f(u - basis[j])) / steps[j] ** 2
        for k in range(j):
            plus, minus = basis[j] + basis[k], basis[j] - basis[k]
            value = (f(u + plus) - f(u + minus) - f(u - minus) + f(u - plus)) / (
                4.0 * steps[j] * steps[k]
            )
            hessian[j, k] = hessian[k, j] = value
    return hessian


def _scales(passes: _Passes) -> np.ndarray:
    """Every coordinate's statistical scale ``sqrt(W / H_jj)`` from pilot second differences
    (``max(1, |u_j|)`` where the pilot finds no curvature: a coordinate nothing depends on)."""
    u = passes.u
    pilot = _HESSIAN_STEP * np.maximum(1.0, np.abs(u))
    f0 = passes.log_likelihood(u)
    scales = np.maximum(1.0, np.abs(u))
    for j in range(u.size):
        e = np.zeros_like(u)
        e[j] = pilot[j]
        curvature = -(passes.log_likelihood(u + e) - 2.0 * f0 + passes.log_likelihood(u - e))
        curvature /= pilot[j] ** 2
        if math.isfinite(curvature) and curvature > 0:
            scales[j] = math.sqrt(passes.weight / curvature)
    return scales


def _jacobian(
    f: Callable[[np.ndarray], np.ndarray], u: np.ndarray, steps: np.ndarray
) -> np.ndarray:
    """Central differences of the vector function ``f`` at ``u``, shape (m, n)."""
    columns = []
    for j in range(u.size):
        e = np.zeros_like(u)
        e[j] = steps[j]
        columns.append((f(u + e) - f(u - e)) / (2.0 * steps[j]))
    return np.column_stack(columns) if columns else np.empty((0, 0))


# -- the EM map ----------------------------------------------------------------------------------


def em_map_jacobian(
    model: Any,
    X: Any,
    params: Any,
    *,
    sample_weight: Any = None,
    chunk_size: int | None = None,
    n_jobs: int | None = None,
    max_parameters: int = MAX_PARAMETERS,
) -> np.ndarray:
    """The Jacobian of the EM map ``u -> to_unconstrained(M(E(from_unconstrained(u))))`` at
    the coordinates of ``params``, by central differences (see the module documentation).

    Parameters
    ----------
    model : LatentModel
        With ``to_unconstrained`` and ``from_unconstrained``.
    X : ndarray of shape (n_samples, n_features), RowSource, or anything the driver takes
        The data the model was fitted to.
    params : object
        The fitted parameters (a maximum of the likelihood).
    sample_weight : ndarray of shape (n_samples,), optional
    chunk_size : int, optional
        Most rows per E-step chunk (as :func:`emkit.core.driver.fit_em`).
    n_jobs : int or None
        Threads for the E-steps (as :func:`emkit.core.driver.fit_em`).
    max_parameters : int, default=MAX_PARAMETERS
        Largest number of coordinates accepted.

    Returns
    -------
    ndarray of shape (n, n)
        ``DM[i, j] = dM_i / du_j``.

    Raises
    ------
    TypeError
        When the model has no unconstrained coordinates.
    ValueError
        When it has more than ``max_parameters`` of them, or one is not finite (a parameter
        on the boundary).
    """
    passes = _Passes(model, X, params, sample_weight, chunk_size, n_jobs, max_parameters)
    with passes.executor.compute():
        return _em_jacobian(passes, _scales(passes))


def _em_jacobian(passes: _Passes, scales: np.ndarray) -> np.ndarray:
    return _jacobian(passes.em_step, passes.u, _JACOBIAN_STEP * scales)


def em_rate(
    model: Any,
    X: Any,
    params: Any,
    *,
    sample_weight: Any = None,
    chunk_size: int | None = None,
    n_jobs: int | None = None,
    max_parameters: int = MAX_PARAMETERS,
) -> float:
    """The linear rate of convergence of EM at ``params``: the spectral radius (largest
    absolute eigenvalue) of :func:`em_map_jacobian`, the largest fraction of missing
    information. Parameters as for :func:`em_map_jacobian`."""
    dm = em_map_jacobian(
        model,
        X,
        params,
        sample_weight=sample_weight,
        chunk_size=chunk_size,
        n_jobs=n_jobs,
        max_parameters=max_parameters,
    )
    return float(np.max(np.abs(np.linalg.eigvals(dm)))) if dm.size else 0.0


# -- the information -------------------------------------------------------------------------


def observed_information(
    model: Any,
    X: Any,
    params: Any,
    *,
    sample_weight: Any = None,
    chunk_size: int | None = None,
    n_jobs: int | None = None,
    max_parameters: int = MAX_PARAMETERS,
) -> np.ndarray:
    """The observed information in unconstrained coordinates: the negative Hessian of the
    summed (weighted) log-likelihood ``sum_i w_i model.log_prob(params, X)_i`` against the
    coordinates of ``params``, by central second differences (``2 n ** 2 + 1`` passes plus
    ``2 n`` for the steps). Parameters, returns and errors as for :func:`em_map_jacobian`."""
    passes = _Passes(model, X, params, sample_weight, chunk_size, n_jobs, max_parameters)
    with passes.executor.compute():
        return _information(passes, _scales(passes))


def _information(passes: _Passes, scales: np.ndarray) -> np.ndarray:
    hessian = _hessian(passes.log_likelihood, passes.u, _HESSIAN_STEP * scales)
    return -(hessian + hessian.T) / 2.0


def sem_information(jacobian: Any, complete_information: Any) -> np.ndarray:
    """The observed information of the SEM route, ``I_com (I - DM)`` (symmetrised).

    At a fixed point of EM, ``DM = I_com^-1 I_mis`` with ``I_mis = I_com - I_obs``
    (Dempster, Laird & Rubin 1977), whatever the coordinates, and even where ``I_com`` is
    singular along redundant directions (the identity comes from differentiating the
    stationarity of the M-step).

    Parameters
    ----------
    jacobian : array-like of shape (n, n)
        ``DM`` from :func:`em_map_jacobian`.
    complete_information : array-like of shape (n, n)
        The expected complete-data information ``-d^2 Q(u | u*) / du^2`` at ``u = u*`` in
        the same coordinates.

    Returns
    -------
    ndarray of shape (n, n)
    """
    dm, complete = _square_pair(jacobian, complete_information)
    information = complete @ (np.eye(dm.shape[0]) - dm)
    return (information + information.T) / 2.0


def sem_covariance(jacobian: Any, complete_information: Any) -> np.ndarray:
    """The asymptotic covariance of the SEM algorithm (Meng & Rubin 1991):
    ``V_obs = V_com + DM (I - DM)^-1 V_com`` with ``V_com = I_com^-1`` (Meng and Rubin write
    ``V_com + V_com DM' (I - DM')^-1`` with their ``DM'``, the transpose of ``DM``; the two
    are one matrix).

    Parameters
    ----------
    jacobian : array-like of shape (n, n)
        ``DM`` from :func:`em_map_jacobian`.
    complete_information : array-like of shape (n, n)
        The expected complete-data information in the same coordinates; positive definite
        (coordinates without redundant directions: see :func:`sem_information` otherwise).

    Returns
    -------
    ndarray of shape (n, n)

    Raises
    ------
    ValueError
        When ``complete_information`` is not positive definite, or ``I - DM`` is singular
        (a rate of convergence of 1: some parameter is not identified).
    """
    dm, complete = _square_pair(jacobian, complete_information)
    try:
        factor = np.linalg.cholesky((complete + complete.T) / 2.0)
    except np.linalg.LinAlgError:
        raise ValueError(
            "complete_information is not positive definite: the SEM formula needs its "
            "inverse (use sem_information for coordinates with redundant directions)"
        ) from None
    eye = np.eye(dm.shape[0])
    v_com = np.linalg.inv(factor.T) @ np.linalg.inv(factor)
    try:
        v_obs = v_com + dm @ np.linalg.solve(eye - dm, v_com)
    except np.linalg.LinAlgError:
        raise ValueError(
            "I - DM is singular: EM does not contract along some direction (a rate of "
            "convergence of 1), so the data do not identify some parameter"
        ) from None
    return (v_obs + v_obs.T) / 2.0


def _square_pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or b.shape != a.shape:
        raise ValueError(
            "jacobian and complete_information must be square matrices of one shape, got "
            f"{a.shape} and {b.shape}"
        )
    return a, b


# -- standard errors -----------------------------------------------------------------------------


def natural_jacobian(model: Any, params: Any, *, steps: Any = None) -> np.ndarray:
    """The Jacobian of the natural parameters (every numeric field of ``params``, flattened
    in the order of :func:`emkit.core.stats.as_dict`) against the unconstrained coordinates,
    by central differences of ``from_unconstrained``: the map of the delta method.

    Parameters
    ----------
    model : LatentModel
        With ``to_unconstrained`` and ``from_unconstrained``.
    params : object
        The point to differentiate at.
    steps : array-like of shape (n,), optional
        Step per coordinate; by default ``eps ** (1/3) * max(1, |u_j|)``.

    Returns
    -------
    ndarray of shape (m, n)
    """
    u = np.asarray(model.to_unconstrained(params), dtype=np.float64).ravel()
    if steps is None:
        steps = _JACOBIAN_STEP * np.maximum(1.0, np.abs(u))
    steps = np.asarray(steps, dtype=np.float64)
    if steps.shape != u.shape or not np.all(steps > 0):
        raise ValueError(f"steps must be {u.size} positive numbers, got {steps!r}")

    def natural(v: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return _flat(model.from_unconstrained(v, params))

    return _jacobian(natural, u, steps)


def _natural_arrays(params: Any) -> dict[str, np.ndarray]:
    """The numeric fields of ``params`` (a dataclass of arrays), by name."""
    if not hasattr(params, "__dataclass_fields__"):
        raise TypeError(f"params must be a dataclass of arrays, got {type(params).__name__}")
    return {
        name: np.asarray(value, dtype=np.float64)
        for name, value in as_dict(params).items()
        if np.issubdtype(np.asarray(value).dtype, np.number)
    }


def _flat(params: Any) -> np.ndarray:
    arrays = _natural_arrays(params).values()
    return np.concatenate([a.ravel() for a in arrays]) if arrays else np.empty(0)


def natural_covariance(
    model: Any, params: Any, covariance: Any, *, jacobian: Any = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The delta method: the standard errors and covariance of the natural parameters from
    the ``covariance`` of the unconstrained coordinates, ``J V J^T`` with ``J`` the
    :func:`natural_jacobian` (given, or computed here).

    Returns
    -------
    standard_errors : dict of str to ndarray
        By field name (as :func:`emkit.core.stats.as_dict` names them), in the fields' shapes.
    covariance : ndarray of shape (m, m)
    """
    j = natural_jacobian(model, params) if jacobian is None else np.asarray(jacobian)
    covariance = np.asarray(covariance, dtype=np.float64)
    if covariance.shape != (j.shape[1], j.shape[1]):
        raise ValueError(
            f"covariance must have shape {(j.shape[1], j.shape[1])} (one row per "
            f"coordinate), got {covariance.shape}"
        )
    natural = j @ covariance @ j.T
    natural = (natural + natural.T) / 2.0
    errors = np.sqrt(np.clip(np.diag(natural), 0.0, None))
    out, taken = {}, 0
    for name, value in _natural_arrays(params).items():
        out[name] = errors[taken : taken + value.size].reshape(value.shape)
        taken += value.size
    return out, natural


def _identified_basis(jacobian: np.ndarray) -> tuple[np.ndarray, int]:
    """An orthonormal basis (columns) of the directions that change the natural parameters,
    against coordinates in which ``jacobian`` is taken, and the number of those that do not."""
    n = jacobian.shape[1]
    # Natural parameters come in units of their own (a covariance of 1e6 next to a weight):
    # every row is scaled to unit length, then every column, which changes the null space's
    # directions only by the column scaling undone below, and lets one threshold serve all.
    row_norms = np.linalg.norm(jacobian, axis=1)
    rows = jacobian[row_norms > 0] / row_norms[row_norms > 0, None]
    norms = np.linalg.norm(rows, axis=0)
    moving = norms > REDUNDANT_RTOL
    unit = np.where(moving, rows / np.where(moving, norms, 1.0), 0.0)
    _, singular, vt = np.linalg.svd(unit, full_matrices=True)
    rank = int(np.sum(singular > REDUNDANT_RTOL * max(float(np.max(singular, initial=0.0)), 1.0)))
    # Null vectors of the unit-column matrix, back in the coordinates of ``jacobian``.
    null = vt[rank:].T / np.where(moving, norms, 1.0)[:, None]
    if null.shape[1] == 0:
        return np.eye(n), 0
    null, _ = np.linalg.qr(null)
    # The complement: the left singular vectors of the null basis beyond its rank.
    u_full, _, _ = np.linalg.svd(null, full_matrices=True)
    return u_full[:, null.shape[1] :], null.shape[1]


def covariance_from_information(
    information: Any, natural: Any, scales: Any
) -> tuple[np.ndarray, int]:
    """The covariance of the coordinates: the inverse of ``information`` on the directions
    that change the natural parameters (see the module documentation).

    Parameters
    ----------
    information : array-like of shape (n, n)
        Observed information in the coordinates.
    natural : array-like of shape (m, n)
        :func:`natural_jacobian` at the same point.
    scales : array-like of shape (n,)
        Each coordinate's statistical scale (its spread in one sample; any positive scale
        makes the result correct, this one makes the check of definiteness meaningful).

    Returns
    -------
    covariance : ndarray of shape (n, n)
    redundant : int
        Number of directions left out.

    Raises
    ------
    ValueError
        When the information is not positive definite on the remaining directions.
    """
    information = np.asarray(information, dtype=np.float64)
    s = np.asarray(scales, dtype=np.float64)
    natural = np.asarray(natural, dtype=np.float64)
    scaled = information * s[:, None] * s[None, :]
    basis, redundant = _identified_basis(natural * s[None, :])
    if basis.shape[1] == 0:
        return np.zeros_like(information), redundant
    reduced = basis.T @ scaled @ basis
    values, vectors = np.linalg.eigh((reduced + reduced.T) / 2.0)
    size = max(float(np.max(np.abs(np.diag(scaled)))), np.finfo(float).tiny)
    if not values[0] > DEFINITE_RTOL * size:
        direction = basis @ vectors[:, 0] * s
        worst = int(np.argmax(np.abs(direction)))
        raise ValueError(
            "the observed information is not positive definite (smallest eigenvalue "
            f"{values[0] / size:.3g} relative to a coordinate's, mostly along coordinate "
            f"{worst}): a parameter is on the boundary of its space (a weight near zero, a "
            "variance held up by reg_covar) or not identified by the data (components that "
            "coincide), or the parameters are not a maximum of the likelihood; there are no "
            "standard errors there"
        )
    reduced_covariance = (vectors / values) @ vectors.T
    covariance = s[:, None] * (basis @ reduced_covariance @ basis.T) * s[None, :]
    return (covariance + covariance.T) / 2.0, redundant


def parameter_errors(
    model: Any,
    X: Any,
    params: Any,
    *,
    sample_weight: Any = None,
    chunk_size: int | None = None,
    n_jobs: int | None = None,
    max_parameters: int = MAX_PARAMETERS,
) -> StandardErrors:
    """Standard errors of fitted parameters from the observed information (the direct
    route: :func:`observed_information`), in unconstrained coordinates and, by the delta
    method, for the natural parameters. Parameters as for :func:`em_map_jacobian`.

    Returns
    -------
    StandardErrors

    Raises
    ------
    TypeError
        When the model has no unconstrained coordinates.
    ValueError
        When it has more than ``max_parameters`` of them, a parameter is on the boundary of
        its space, or the information is not positive definite (a parameter on the
        boundary, or not identified by the data).
    """
    passes = _Passes(model, X, params, sample_weight, chunk_size, n_jobs, max_parameters)
    with passes.executor.compute():
        scales = _scales(passes)
        information = _information(passes, scales)
    natural = natural_jacobian(model, params, steps=_JACOBIAN_STEP * scales)
    covariance, redundant = covariance_from_information(information, natural, scales)
    errors, natural_cov = natural_covariance(model, params, covariance, jacobian=natural)
    return StandardErrors(
        coordinates=passes.u,
        information=information,
        covariance=covariance,
        coordinate_errors=np.sqrt(np.clip(np.diag(covariance), 0.0, None)),
        redundant=redundant,
        estimates=_natural_arrays(params),
        standard_errors=errors,
        natural_covariance=natural_cov,
    )


__all__ = [
    "MAX_PARAMETERS",
    "StandardErrors",
    "covariance_from_information",
    "em_map_jacobian",
    "em_rate",
    "natural_covariance",
    "natural_jacobian",
    "observed_information",
    "parameter_errors",
    "sem_covariance",
    "sem_information",
    "wald_intervals",
]
