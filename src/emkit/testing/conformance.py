"""Conformance checks that every emkit model passes.

Each check is a plain function that talks to a model only through the model contract
(``init``, ``e_step``, ``m_step``, ``log_prob``; see :class:`emkit.core.model.LatentModel`)
and to :func:`emkit.fit_em`, and raises :class:`AssertionError` with an informative message
when the model breaks a promise of the contract:

- :func:`check_monotone_bound`: EM never lowers the bound.
- :func:`check_chunked_statistics`: statistics are additive, so chunked fits equal whole fits.
- :func:`check_float32_agrees`: float32 data gives float32-accurate results, accumulated in
  float64.
- :func:`check_reproducible`: a seed fixes the fit bit for bit.
- :func:`check_sample_weight_repeats`: integer sample weights are repeated rows.
- :func:`check_loglik_matches_log_prob`: the E-step's log-likelihood is the sum of
  ``log_prob`` (for models whose bound is the exact log-likelihood).
- :func:`check_estimator_contract`: an estimator's ``fit``, ``predict``, ``fit_predict`` and
  ``score`` agree.

:func:`run_all` runs the model-level checks in one call. A new model's test file typically
reads::

    from emkit.testing.conformance import run_all

    def test_my_model_conforms():
        run_all(MyModel(...), X, params)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from emkit.core.batches import Sequences
from emkit.core.driver import EMResult, fit_em
from emkit.core.stats import as_dict
from emkit.exceptions import ConvergenceWarning, MonotonicityWarning

__all__ = [
    "MONOTONE_RTOL",
    "check_chunked_statistics",
    "check_estimator_contract",
    "check_float32_agrees",
    "check_loglik_matches_log_prob",
    "check_monotone_bound",
    "check_reproducible",
    "check_sample_weight_repeats",
    "run_all",
]

MONOTONE_RTOL = 1e-12
"""Relative decrease of the bound between two iterations still attributed to round-off.

Tighter than the driver's own threshold (:data:`emkit.core.driver.ROUNDOFF`): a test can
afford to be strict where a user-facing warning must not be noisy."""


# --------------------------------------------------------------------------------------
# Model-level checks
# --------------------------------------------------------------------------------------
def check_monotone_bound(
    model: Any,
    X: np.ndarray,
    *,
    init: Any = None,
    random_state: int = 0,
    max_iter: int = 50,
    sample_weight: np.ndarray | None = None,
    hard: bool = False,
) -> EMResult:
    """Assert that EM never lowers the bound, at any iteration, beyond round-off.

    Runs :func:`emkit.fit_em` with ``tol=0`` for ``max_iter`` iterations and inspects the
    whole history, so a decrease near convergence (where the changes are tiny) is caught as
    well as one in the first steps. Use an exact M-step (for Gaussians ``reg_covar=0``):
    a regularised M-step may legitimately lower the bound.

    Parameters
    ----------
    model : LatentModel
        The model under test.
    X : ndarray of shape (n_samples, n_features), or Sequences
        Data.
    init : params or callable, optional
        Passed to :func:`emkit.fit_em`; by default ``model.init`` is used.
    random_state : int, default=0
        Seed of the initialisation.
    max_iter : int, default=50
        Number of EM iterations to run.
    sample_weight : ndarray of shape (n_samples,), optional
        Sample weights.
    hard : bool, default=False
        Classification EM; its bound (the classification log-likelihood) is monotone too.

    Returns
    -------
    EMResult
        The fit, for further checks by the caller.

    Raises
    ------
    AssertionError
        When the bound decreased at some iteration by more than
        ``MONOTONE_RTOL * max(1, |bound|)``, or the driver recorded a decrease.
    """
    result = _fit(
        model,
        X,
        sample_weight=sample_weight,
        init=init,
        random_state=random_state,
        max_iter=max_iter,
        tol=0.0,
        hard=hard,
    )
    bounds = np.asarray(result.lower_bounds, dtype=np.float64)
    if not np.all(np.isfinite(bounds)):
        raise AssertionError(f"the bound history holds non-finite values: {bounds}")
    change = np.diff(bounds)
    slack = MONOTONE_RTOL * np.maximum(1.0, np.abs(bounds[:-1]))
    bad = np.flatnonzero(change < -slack)
    if bad.size:
        lines = [
            f"  iteration {i + 1}: {float(bounds[i])!r} -> {float(bounds[i + 1])!r} "
            f"(decrease {-change[i]:.3g})"
            for i in bad[:10]
        ]
        raise AssertionError(
            f"the EM bound decreased at {bad.size} of {change.size} iterations "
            f"(hard={hard}); EM must never lower it:\n" + "\n".join(lines)
        )
    if result.decreases:
        raise AssertionError(f"the driver recorded decreases of the bound: {result.decreases}")
    return result


def check_chunked_statistics(
    model: Any,
    params: Any,
    X: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    chunk_sizes: Sequence[int] = (1, 7, 64),
    rtol: float = 1e-12,
    hard: bool = False,
    fit_chunk_size: int = 7,
    fit_max_iter: int = 10,
    fit_rtol: float = 1e-10,
) -> None:
    """Assert that statistics are additive over row chunks, and that a fit over chunks
    equals a fit over the whole array.

    For every chunk size, the E-step on all of ``X`` is compared with the sum of the
    E-steps on consecutive row chunks: every statistics field and the log-likelihood must
    agree to ``rtol``, with an absolute tolerance of ``rtol`` times the summed magnitudes of
    the chunk contributions (which bounds the round-off of the sum, even for fields that
    cancel to nearly zero). Then :func:`emkit.fit_em` from ``params`` on the array and on
    a list of chunks of ``fit_chunk_size`` rows (as pairs ``(X, sample_weight)`` when
    weighted) must give the same parameters and bound history to ``fit_rtol``.

    Parameters
    ----------
    model : LatentModel
        The model under test.
    params : object
        Parameters to evaluate the E-step at (and to start the fits from).
    X : ndarray of shape (n_samples, n_features), or Sequences
        Data.
    sample_weight : ndarray of shape (n_samples,), optional
        Sample weights, cut into chunks with the rows.
    chunk_sizes : sequence of int, default=(1, 7, 64)
        Rows per chunk.
    rtol : float, default=1e-12
        Tolerance of the statistics comparison.
    hard : bool, default=False
        Use classification E-steps.
    fit_chunk_size : int, default=7
        Rows per chunk of the chunked fit.
    fit_max_iter : int, default=10
        Iterations of the two fits compared (0 skips them).
    fit_rtol : float, default=1e-10
        Tolerance of the fit comparison.

    Raises
    ------
    AssertionError
        When a statistic, the log-likelihood, or the fitted parameters differ.
    """
    whole_stats, whole_ll = model.e_step(params, X, sample_weight, hard=hard)
    whole = as_dict(whole_stats)
    for size in chunk_sizes:
        parts = [model.e_step(params, x, w, hard=hard) for x, w in _chunks(X, sample_weight, size)]
        flat = [as_dict(p[0]) for p in parts]
        _assert_fields_close(
            as_dict(sum(p[0] for p in parts)),
            whole,
            rtol=rtol,
            scale={name: sum(np.abs(f[name]) for f in flat) for name in whole},
            what=f"statistics summed over chunks of {size} rows vs the whole data",
        )
        ll_scale = sum(abs(p[1]) for p in parts)
        np.testing.assert_allclose(
            sum(p[1] for p in parts),
            whole_ll,
            rtol=rtol,
            atol=rtol * ll_scale,
            err_msg=f"log-likelihood summed over chunks of {size} rows vs the whole data",
        )

    if fit_max_iter > 0:
        chunks = [x if w is None else (x, w) for x, w in _chunks(X, sample_weight, fit_chunk_size)]
        kwargs = dict(init=params, tol=0.0, max_iter=fit_max_iter, hard=hard)
        ref = _fit(model, X, sample_weight=sample_weight, **kwargs)
        got = _fit(model, chunks, **kwargs)
        _assert_results_close(
            got,
            ref,
            rtol=fit_rtol,
            what=f"fit over chunks of {fit_chunk_size} rows vs fit over the array",
        )


def check_float32_agrees(
    model: Any,
    params: Any,
    X: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    rtol: float = 1e-5,
    hard: bool = False,
) -> None:
    """Assert that float32 data is scored to float32 precision and accumulated in float64.

    The E-step on ``X.astype(float32)`` is compared with the E-step on the same (rounded)
    values in float64, so that only the arithmetic is tested, not the rounding of the data.
    Every floating-point statistics field must be float64, and every field and the
    log-likelihood must agree to ``rtol`` (absolute tolerance ``rtol`` times the largest
    statistic, since fields such as centred sums may cancel to nearly zero).

    Parameters
    ----------
    model : LatentModel
        The model under test.
    params : object
        Parameters to evaluate the E-step at.
    X : ndarray of shape (n_samples, n_features), or Sequences
        Data (any floating dtype).
    sample_weight : ndarray of shape (n_samples,), optional
        Sample weights.
    rtol : float, default=1e-5
        Tolerance; float32 has about 7 significant digits.
    hard : bool, default=False
        Use classification E-steps.

    Raises
    ------
    AssertionError
        When a statistic is not float64, or results differ by more than ``rtol``.
    """
    keeps_kind = isinstance(X, Sequences) or sp.issparse(X)
    X32 = X.astype(np.float32) if keeps_kind else np.asarray(X).astype(np.float32)
    stats32, ll32 = model.e_step(params, X32, sample_weight, hard=hard)
    stats64, ll64 = model.e_step(params, X32.astype(np.float64), sample_weight, hard=hard)
    got, ref = as_dict(stats32), as_dict(stats64)
    for name, value in got.items():
        if np.issubdtype(value.dtype, np.floating) and value.dtype != np.float64:
            raise AssertionError(
                f"statistic {name!r} of float32 data has dtype {value.dtype}; "
                "statistics must accumulate in float64"
            )
    if np.asarray(ll32).dtype != np.float64:
        raise AssertionError(
            f"the log-likelihood of float32 data has dtype "
            f"{np.asarray(ll32).dtype}; it must accumulate in float64"
        )
    magnitude = max((float(np.max(np.abs(v), initial=0.0)) for v in ref.values()), default=0.0)
    _assert_fields_close(
        got,
        ref,
        rtol=rtol,
        scale={name: magnitude for name in ref},
        what="statistics of float32 data vs the same data in float64",
    )
    np.testing.assert_allclose(
        ll32, ll64, rtol=rtol, err_msg="log-likelihood of float32 data vs float64"
    )


def check_reproducible(
    model: Any, X: np.ndarray, *, random_state: int = 0, **fit_kwargs: Any
) -> None:
    """Assert that a fit is fixed bit for bit by its integer seed.

    Two :func:`emkit.fit_em` runs with ``random_state`` and one with
    ``np.random.RandomState(random_state)`` must return bitwise-identical parameters and
    bound histories. (A different seed may give a different fit; that is not checked.)

    Parameters
    ----------
    model : LatentModel
        The model under test.
    X : ndarray of shape (n_samples, n_features), or Sequences
        Data.
    random_state : int, default=0
        The seed.
    **fit_kwargs
        Further arguments of :func:`emkit.fit_em` (``n_init``, ``max_iter``, ``hard``, ...).

    Raises
    ------
    AssertionError
        When two runs with the same seed differ in any bit.
    """
    runs = [
        _fit(model, X, random_state=seed, **fit_kwargs)
        for seed in (random_state, random_state, np.random.RandomState(random_state))
    ]
    labels = (
        "a second run with the same integer seed",
        "a run with RandomState(seed) in place of the integer seed",
    )
    for label, other in zip(labels, runs[1:], strict=True):
        _assert_bitwise(as_dict(other.params), as_dict(runs[0].params), what=f"params of {label}")
        _assert_bitwise(
            {"lower_bounds": other.lower_bounds}, {"lower_bounds": runs[0].lower_bounds}, what=label
        )
        _assert_bitwise(
            {"run_lower_bounds": other.run_lower_bounds},
            {"run_lower_bounds": runs[0].run_lower_bounds},
            what=label,
        )


def check_sample_weight_repeats(
    model: Any,
    X: np.ndarray,
    weights_int: np.ndarray,
    init: Any,
    *,
    hard: bool = False,
    max_iter: int = 20,
    rtol: float = 1e-10,
) -> None:
    """Assert that integer sample weights are the same as repeating rows.

    A fit with ``sample_weight=weights_int`` and a fit on
    ``np.repeat(X, weights_int, axis=0)``, both from the parameters ``init`` with ``tol=0``,
    must give the same parameters, bound history and total weight to ``rtol``.

    Parameters
    ----------
    model : LatentModel
        The model under test.
    X : ndarray of shape (n_samples, n_features), or Sequences
        Data.
    weights_int : ndarray of shape (n_samples,)
        Non-negative integer weights (zeros drop rows).
    init : object
        Parameters both fits start from.
    hard : bool, default=False
        Classification EM.
    max_iter : int, default=20
        Iterations of both fits.
    rtol : float, default=1e-10
        Tolerance.

    Raises
    ------
    AssertionError
        When the two fits differ.
    """
    counts = np.asarray(weights_int)
    units = X.lengths.size if isinstance(X, Sequences) else X.shape[0]
    if counts.shape != (units,) or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError(
            "weights_int must be non-negative integers, one per row of X (per sequence for "
            "Sequences)"
        )
    counts = counts.astype(np.int64)
    kwargs = dict(init=init, tol=0.0, max_iter=max_iter, hard=hard)
    if isinstance(X, Sequences):
        row_weights = np.repeat(counts, X.lengths).astype(np.float64)
        weighted = _fit(model, X, sample_weight=row_weights, **kwargs)
        parts = np.split(X.X, X.offsets[1:-1])
        repeated = _fit(
            model,
            Sequences.from_list([p for p, c in zip(parts, counts, strict=True) for _ in range(c)]),
            **kwargs,
        )
    else:
        weighted = _fit(model, X, sample_weight=counts.astype(np.float64), **kwargs)
        rows = np.repeat(np.arange(X.shape[0]), counts)
        repeated = _fit(
            model, X[rows] if sp.issparse(X) else np.repeat(X, counts, axis=0), **kwargs
        )
    _assert_results_close(
        weighted,
        repeated,
        rtol=rtol,
        what="fit with integer sample weights vs fit on repeated rows",
    )
    np.testing.assert_allclose(
        weighted.total_weight,
        repeated.total_weight,
        rtol=rtol,
        err_msg="total weight vs number of repeated rows",
    )


def check_loglik_matches_log_prob(
    model: Any,
    params: Any,
    X: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    rtol: float = 1e-12,
) -> None:
    """Assert that the E-step's log-likelihood is the (weighted) sum of ``log_prob``.

    Holds for models whose bound is the exact log-likelihood (mixtures, HMMs); skip it for
    models whose E-step returns a lower bound (variational models).

    Raises
    ------
    AssertionError
        When the two differ by more than ``rtol``.
    """
    _, loglik = model.e_step(params, X, sample_weight)
    scores = np.asarray(model.log_prob(params, X), dtype=np.float64)
    units = X.lengths.size if isinstance(X, Sequences) else X.shape[0]
    if isinstance(X, Sequences) and sample_weight is not None:
        sample_weight = X.sequence_weights(sample_weight)
    if scores.shape != (units,):
        raise AssertionError(f"log_prob returned shape {scores.shape}, expected ({units},)")
    expected = scores.sum() if sample_weight is None else float(sample_weight @ scores)
    scale = (
        np.abs(scores).sum() if sample_weight is None else np.abs(sample_weight) @ np.abs(scores)
    )
    np.testing.assert_allclose(
        loglik,
        expected,
        rtol=rtol,
        atol=rtol * scale,
        err_msg="e_step log-likelihood vs the sum of log_prob",
    )


def run_all(
    model: Any,
    X: np.ndarray,
    params: Any,
    *,
    sample_weight: np.ndarray | None = None,
    hard: bool = False,
    random_state: int = 0,
    exact_loglik: bool = True,
    monotone_max_iter: int = 50,
) -> None:
    """Run every model-level check on ``model``.

    Parameters
    ----------
    model : LatentModel
        The model under test (with an exact M-step, e.g. ``reg_covar=0``).
    X : ndarray of shape (n_samples, n_features), or Sequences
        Data.
    params : object
        Parameters at which statistics are compared, and from which fits start.
    sample_weight : ndarray of shape (n_samples,), optional
        Sample weights for the checks that take them.
    hard : bool, default=False
        Classification EM throughout.
    random_state : int, default=0
        Seed of initialisations and of the integer weights of the repeat check.
    exact_loglik : bool, default=True
        Whether the E-step returns the exact log-likelihood (runs
        :func:`check_loglik_matches_log_prob` when not ``hard``).
    monotone_max_iter : int, default=50
        Iterations of the monotonicity check.
    """
    check_monotone_bound(
        model,
        X,
        random_state=random_state,
        max_iter=monotone_max_iter,
        sample_weight=sample_weight,
        hard=hard,
    )
    check_chunked_statistics(model, params, X, sample_weight=sample_weight, hard=hard)
    check_float32_agrees(model, params, X, sample_weight=sample_weight, hard=hard)
    check_reproducible(
        model,
        X,
        random_state=random_state,
        sample_weight=sample_weight,
        hard=hard,
        max_iter=10,
        tol=0.0,
    )
    units = X.lengths.size if isinstance(X, Sequences) else X.shape[0]
    counts = np.random.RandomState(random_state).randint(0, 4, size=units)
    check_sample_weight_repeats(model, X, counts, params, hard=hard)
    if exact_loglik and not hard:
        check_loglik_matches_log_prob(model, params, X, sample_weight=sample_weight)


# --------------------------------------------------------------------------------------
# Estimator-level check
# --------------------------------------------------------------------------------------
def check_estimator_contract(estimator: Any, X: np.ndarray, *, rtol: float = 1e-12) -> None:
    """Assert that an estimator's methods agree with one another.

    On fresh clones (with ``random_state=0`` when it was None): ``fit_predict(X)`` equals
    ``fit(X).predict(X)``; where present, ``predict_proba`` rows sum to one and their argmax
    is ``predict``, ``score(X)`` is the mean of ``score_samples(X)``, and the bound history
    ends at ``lower_bound_`` with ``n_iter_ + 1`` entries.

    Raises
    ------
    AssertionError
        When two methods disagree.
    """
    from sklearn.base import clone

    def fresh() -> Any:
        est = clone(estimator)
        if "random_state" in est.get_params() and est.get_params()["random_state"] is None:
            est.set_params(random_state=0)
        return est

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = fresh().fit(X)
        labels = fresh().fit_predict(X)
    predicted = fitted.predict(X)
    np.testing.assert_array_equal(labels, predicted, err_msg="fit_predict(X) vs fit(X).predict(X)")
    if hasattr(fitted, "predict_proba"):
        proba = fitted.predict_proba(X)
        np.testing.assert_allclose(
            proba.sum(axis=1), 1.0, rtol=0, atol=1e-12, err_msg="predict_proba rows must sum to one"
        )
        np.testing.assert_array_equal(
            np.argmax(proba, axis=1), predicted, err_msg="argmax of predict_proba vs predict"
        )
    if hasattr(fitted, "score_samples"):
        np.testing.assert_allclose(
            fitted.score(X),
            np.mean(fitted.score_samples(X)),
            rtol=rtol,
            err_msg="score(X) vs mean of score_samples(X)",
        )
    if hasattr(fitted, "lower_bounds_"):
        bounds = np.asarray(fitted.lower_bounds_)
        if bounds.shape != (fitted.n_iter_ + 1,):
            raise AssertionError(
                f"lower_bounds_ has shape {bounds.shape}, expected "
                f"(n_iter_ + 1,) = ({fitted.n_iter_ + 1},)"
            )
        if bounds[-1] != fitted.lower_bound_:
            raise AssertionError(
                f"lower_bounds_[-1] = {bounds[-1]!r} differs from "
                f"lower_bound_ = {fitted.lower_bound_!r}"
            )


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------
def _fit(model: Any, data: Any, **kwargs: Any) -> EMResult:
    """``fit_em`` without its warnings: the checks inspect the result themselves."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MonotonicityWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_em(model, data, **kwargs)


def _chunks(
    X: Any, sample_weight: np.ndarray | None, size: int
) -> list[tuple[Any, np.ndarray | None]]:
    """Consecutive chunks of ``size`` rows with their weights; :class:`Sequences` are cut
    between sequences only (chunks of whole sequences, at most ``size`` rows unless one
    sequence is longer)."""
    if size < 1:
        raise ValueError(f"chunk sizes must be positive, got {size}")
    if isinstance(X, Sequences):
        rows = [(group, r) for group, r in X.groups(size)]
    else:
        rows = [(X[s], s) for s in (slice(a, a + size) for a in range(0, X.shape[0], size))]
    return [(x, None if sample_weight is None else sample_weight[r]) for x, r in rows]


def _assert_fields_close(
    got: dict[str, np.ndarray],
    ref: dict[str, np.ndarray],
    *,
    rtol: float,
    scale: dict[str, Any],
    what: str,
) -> None:
    if got.keys() != ref.keys():
        raise AssertionError(f"{what}: fields {sorted(got)} vs {sorted(ref)}")
    for name, expected in ref.items():
        atol = rtol * float(np.max(np.abs(scale[name]), initial=0.0))
        np.testing.assert_allclose(
            got[name], expected, rtol=rtol, atol=atol, err_msg=f"{what}: field {name!r}"
        )


def _assert_results_close(got: EMResult, ref: EMResult, *, rtol: float, what: str) -> None:
    ref_params = as_dict(ref.params)
    scale = {
        name: max(1.0, float(np.max(np.abs(v), initial=0.0))) for name, v in ref_params.items()
    }
    _assert_fields_close(
        as_dict(got.params), ref_params, rtol=rtol, scale=scale, what=f"{what}: params"
    )
    if got.lower_bounds.shape != ref.lower_bounds.shape:
        raise AssertionError(
            f"{what}: {got.lower_bounds.size - 1} vs {ref.lower_bounds.size - 1} iterations"
        )
    np.testing.assert_allclose(
        got.lower_bounds, ref.lower_bounds, rtol=rtol, err_msg=f"{what}: bound history"
    )


def _assert_bitwise(got: dict[str, np.ndarray], ref: dict[str, np.ndarray], *, what: str) -> None:
    if got.keys() != ref.keys():
        raise AssertionError(f"{what}: fields {sorted(got)} vs {sorted(ref)}")
    for name, expected in ref.items():
        actual = got[name]
        same = (
            actual.dtype == expected.dtype
            and actual.shape == expected.shape
            and actual.tobytes() == expected.tobytes()
        )
        if not same:
            np.testing.assert_array_equal(
                actual, expected, err_msg=f"{what}: field {name!r} differs"
            )
            raise AssertionError(
                f"{what}: field {name!r} differs in its bits (dtype "
                f"{actual.dtype} vs {expected.dtype}, or signed zeros)"
            )
