"""What ``emkit fit``, ``emkit info`` and ``emkit select`` print: one number format (six
significant digits), label lines and right-aligned tables.

Criteria are printed in mclust's sign, larger is better: ``BIC = 2 log L - df log n``,
``ICL = BIC + 2 sum_i log max_k z_ik`` and ``AIC = 2 log L - 2 df``, with ``df`` the number of
free parameters; the estimators' ``bic()`` and ``aic()`` keep scikit-learn's opposite sign.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emkit.cli import models
from emkit.cli.errors import PROG
from emkit.cli.models import Face, ParameterTable, face_of

__all__ = [
    "Restarts",
    "count",
    "describe",
    "fit_summary",
    "info_lines",
    "model_columns",
    "names",
    "num",
    "quote",
    "select_summary",
]

# Longest list of feature names spelled out in a summary line.
_MAX_NAMES_SHOWN = 8
_LABEL_WIDTH = 16
# What every summary says of its criteria.
_SIGN = "in mclust's sign: larger is better"


# --------------------------------------------------------------------------------------- #
# Words and numbers
# --------------------------------------------------------------------------------------- #


def num(value: float) -> str:
    """Every number of a summary: six significant digits."""
    return f"{float(value):.6g}"


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def quote(path: str | os.PathLike[str]) -> str:
    return repr(os.fspath(path))


def names(shown_names: Sequence[str] | None, *, quoted: bool = False) -> str:
    if not shown_names:
        return ""
    shown = [repr(name) if quoted else name for name in shown_names]
    if len(shown) > _MAX_NAMES_SHOWN:
        shown = [*shown[: _MAX_NAMES_SHOWN - 1], "...", shown[-1]]
    return ", ".join(shown)


def field(label: str, text: str) -> str:
    return f"{label:<{_LABEL_WIDTH}}{text}"


def align(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 0) -> list[str]:
    """``header`` and ``rows`` in columns, right-aligned but for the first ``left``."""
    widths = [max(len(row[j]) for row in (header, *rows)) for j in range(len(header))]
    return [
        "  ".join(
            cell.ljust(width) if j < left else cell.rjust(width)
            for j, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in (header, *rows)
    ]


def default_names(d: int) -> tuple[str, ...]:
    return tuple(f"x{j}" for j in range(d))


def model_columns(estimator: Any) -> tuple[str, ...]:
    """The feature names a model was fitted on, x0, x1, ... where it has none."""
    stored = getattr(estimator, "feature_names_in_", None)
    if stored is None:
        return default_names(int(estimator.n_features_in_))
    return tuple(str(name) for name in stored)


# --------------------------------------------------------------------------------------- #
# What the model is
# --------------------------------------------------------------------------------------- #


def n_components(estimator: Any) -> int:
    return int(getattr(estimator, face_of(estimator).components))


def describe(estimator: Any) -> str:
    """``Gaussian mixture, 2 components, full covariance`` and the like."""
    face = face_of(estimator)
    text = f"{face.title}, {count(n_components(estimator), face.unit)}"
    if face.emissions:
        text += f", {face.emissions} emissions"
        if hasattr(estimator, "n_mix"):
            text += f" ({count(int(estimator.n_mix), 'Gaussian')} per state)"
        if face.symbols:
            text += f" ({count(np.shape(estimator.emissionprob_)[1], 'symbol')})"
    covariance_type = getattr(estimator, "covariance_type", None)
    if covariance_type is not None:
        text += f", {models.COVARIANCE_WORDS.get(covariance_type, covariance_type)} covariance"
    prior = getattr(estimator, "weight_concentration_prior_type", None)
    if prior is not None:
        text += f", {models.WEIGHT_PRIOR_WORDS[prior]}"
    return text


def convergence(estimator: Any) -> str:
    state = "yes" if estimator.converged_ else "no"
    # An hmm's tol applies to the total log-likelihood, not to the mean per sample.
    scale = " on the total log-likelihood" if face_of(estimator).kind == "hmm" else ""
    text = f"{state}, after {count(estimator.n_iter_, 'iteration')} (tol {estimator.tol:g}{scale})"
    if estimator.n_init > 1:
        text += f", best of {estimator.n_init} initialisations"
    return text


def _data_line(data: str, values: np.ndarray, columns: Sequence[str]) -> str:
    n, d = values.shape
    return f"{data}: {count(n, 'sample')} x {count(d, 'feature')} ({names(columns)})"


# --------------------------------------------------------------------------------------- #
# Parameter tables
# --------------------------------------------------------------------------------------- #


def _column_group(
    estimator: Any, attribute: str, layout: str, columns: Sequence[str]
) -> tuple[list[str], np.ndarray]:
    """The names and values (n_components, width) of one group of table columns."""
    values = np.asarray(getattr(estimator, attribute))
    if layout.startswith("="):
        return [layout[1:]], values[:, np.newaxis]
    if layout == "diagonal":
        return list(columns), np.diagonal(values, axis1=1, axis2=2)
    if layout == "symbols":
        return [str(s) for s in range(values.shape[1])], values
    if layout == "categories":
        counts = [int(n) for n in estimator.n_categories_]
        header = [
            f"{name}={code}" for name, n in zip(columns, counts, strict=True) for code in range(n)
        ]
        return header, np.concatenate([values[:, c, :n] for c, n in enumerate(counts)], axis=1)
    return list(columns), values


def _table(estimator: Any, face: Face, spec: ParameterTable, columns: Sequence[str]) -> list[str]:
    header, blocks = [face.unit], []
    if spec.weights:
        header.append("weight")
        blocks.append(np.asarray(estimator.weights_)[:, np.newaxis])
    for attribute, layout in spec.columns:
        group_names, values = _column_group(estimator, attribute, layout, columns)
        header += group_names
        blocks.append(values)
    values = np.concatenate(blocks, axis=1)
    rows = [[str(j), *map(num, row)] for j, row in enumerate(values)]
    return [spec.title, *align(header, rows)]


def _matrix(title: str, matrix: np.ndarray, columns: Sequence[str]) -> list[str]:
    rows = [[name, *map(num, row)] for name, row in zip(columns, matrix, strict=True)]
    return [title, *align(["", *columns], rows, left=1)]


def _covariance_tables(estimator: Any, face: Face, columns: Sequence[str]) -> list[str]:
    """The covariances of a Gaussian (or scale matrices of a Student-t) mixture: variances by
    component when they are diagonal, else one matrix per component or the shared one."""
    covariances = np.asarray(estimator.covariances_)
    k, d = n_components(estimator), len(columns)
    matrix_title, shared_title, diagonal_title = face.spread
    if estimator.covariance_type in models.DIAGONAL_COVARIANCES:
        variances = np.broadcast_to(covariances.reshape(k, -1), (k, d))
        rows = [[str(j), *map(num, row)] for j, row in enumerate(variances)]
        return [diagonal_title, *align([face.unit, *columns], rows)]
    if estimator.covariance_type in models.SHARED_COVARIANCES:
        return _matrix(shared_title, covariances, columns)
    lines: list[str] = []
    for j, matrix in enumerate(covariances):
        lines += _matrix(matrix_title.format(j=j), matrix, columns)
    return lines


def _hmm_tables(estimator: Any) -> list[str]:
    """Start and transition probabilities by state."""
    k = int(estimator.n_components)
    header = ["state", "start", *(f"->{j}" for j in range(k))]
    rows = [
        [str(i), num(start), *map(num, row)]
        for i, (start, row) in enumerate(
            zip(estimator.startprob_, estimator.transmat_, strict=True)
        )
    ]
    return ["start and transition probabilities (->j: to state j)", *align(header, rows)]


def _mixture_emission_tables(estimator: Any, columns: Sequence[str]) -> list[str]:
    """Weights, means and variances of every Gaussian of every state of a GMMHMM."""
    k, m = int(estimator.n_components), int(estimator.n_mix)
    pairs = [(i, j) for i in range(k) for j in range(m)]
    rows = [
        [str(i), str(j), num(estimator.weights_[i, j]), *map(num, estimator.means_[i, j])]
        for i, j in pairs
    ]
    lines = ["means by state and mixture component"]
    lines += align(["state", "mix", "weight", *columns], rows)
    variances = _mixture_emission_variances(estimator)
    rows = [[str(i), str(j), *map(num, variances[i, j])] for i, j in pairs]
    lines += ["variances by state and mixture component"]
    lines += align(["state", "mix", *columns], rows)
    return lines


def _mixture_emission_variances(estimator: Any) -> np.ndarray:
    """Variances of every Gaussian of a GMMHMM, shape (n_components, n_mix, n_features),
    from hmmlearn's layout of ``covars_`` for each covariance type."""
    _, m, d = np.shape(estimator.means_)
    covars = np.asarray(estimator.covars_)
    if covars.ndim == 2:  # spherical: (n_components, n_mix)
        return np.repeat(covars[:, :, np.newaxis], d, axis=2)
    if covars.ndim == 4:  # full: (n_components, n_mix, d, d)
        return np.diagonal(covars, axis1=2, axis2=3)
    if estimator.covariance_type == "tied":  # (n_components, d, d): shared within a state
        return np.repeat(np.diagonal(covars, axis1=1, axis2=2)[:, np.newaxis, :], m, axis=1)
    return covars  # diag: (n_components, n_mix, d)


def parameter_lines(estimator: Any, columns: Sequence[str]) -> list[str]:
    """The tables of a model's fitted parameters."""
    face = face_of(estimator)
    lines: list[str] = []
    if face.kind == "hmm":
        lines += _hmm_tables(estimator)
        if hasattr(estimator, "n_mix"):
            lines += _mixture_emission_tables(estimator, columns)
    for spec in face.tables:
        lines += _table(estimator, face, spec, columns)
    if face.kind != "hmm" and hasattr(estimator, "covariances_"):
        lines += _covariance_tables(estimator, face, columns)
    return lines


# --------------------------------------------------------------------------------------- #
# emkit fit
# --------------------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Restarts:
    """The final bound of every restart of a fit, in total over the data (log-likelihoods,
    or evidence lower bounds), shape (n_init,); empty where the fit does not record them."""

    finals: np.ndarray
    deterministic: bool = False


def _restart_line(estimator: Any, face: Face, restarts: Restarts, tol_total: float) -> str:
    n_init = int(estimator.n_init)
    if n_init == 1:
        if restarts.deterministic:
            return "1 (its start is deterministic)"
        return "1: a single start may end at a local maximum; try more with --n-init 10"
    finals = restarts.finals
    if face.kind == "clustering" or finals.size == 0:
        return f"{n_init}, the best kept"
    best = float(finals.max())
    # Equal within the convergence tolerance, or within what six digits can show.
    reached = int(np.sum(best - finals <= max(tol_total, 1e-6 * abs(best))))
    what = "ELBOs" if face.kind == "variational" else "log-likelihoods"
    shown = names([num(v) for v in np.sort(finals)[::-1]])
    return f"{n_init}: final {what} {shown}; {reached} of {n_init} reached the best"


def _clustering_lines(estimator: Any, face: Face, labels: np.ndarray) -> list[str]:
    k = n_components(estimator)
    taken = np.bincount(labels, minlength=k)
    how = {
        "clustering": "nearest centre",
        "hmm": "state on the most probable path",
    }.get(face.kind, f"most probable {face.unit}")
    rows = [[str(j), str(int(c))] for j, c in enumerate(taken)]
    return [f"clustering table (rows by {how})", *align([face.unit, "rows"], rows)]


def fit_summary(
    estimator: Any,
    values: np.ndarray,
    columns: Sequence[str],
    data: str,
    restarts: Restarts,
    lengths: np.ndarray | None = None,
    sequence_column: str | None = None,
) -> list[str]:
    """The summary of a fit of ``estimator`` to ``values`` (n_samples, n_features), read
    from the file ``data`` with the feature names ``columns``."""
    face = face_of(estimator)
    n = values.shape[0]
    shape = _data_line(data, values, columns)
    extra: tuple[Any, ...] = ()
    if face.kind == "hmm":
        extra = (lengths,)
        if lengths is None:
            shape += ", 1 sequence (the whole table)"
        else:
            shape += f", {count(lengths.size, 'sequence')} (column {sequence_column!r})"
    tol_total = float(estimator.tol) * (1.0 if face.kind == "hmm" else n)
    lines = [
        f"{PROG} fit: {describe(estimator)}",
        field("data", shape),
        field("converged", convergence(estimator)),
        field("restarts", _restart_line(estimator, face, restarts, tol_total)),
    ]
    proba = estimator.predict_proba(values, *extra) if face.kind != "clustering" else None
    if face.kind in ("mixture", "hmm"):
        total = float(estimator.score(values, *extra))
        if face.kind == "mixture":
            total *= n  # a mixture's score is the mean per sample
        lines += [
            field("log-likelihood", f"{num(total)} (mean per sample {num(total / n)})"),
            field("parameters", f"{estimator._n_parameters()} (df)"),
            field(
                "criteria",
                f"{'BIC, ICL and AIC' if face.kind == 'mixture' else 'BIC and AIC'} {_SIGN}",
            ),
            field("BIC", f"{num(-estimator.bic(values, *extra))} (2 log L - df log n)"),
        ]
        if face.kind == "mixture":
            assert proba is not None
            icl = -estimator.bic(values) + 2.0 * float(np.log(proba.max(axis=1)).sum())
            lines.append(field("ICL", f"{num(icl)} (BIC + 2 sum of log largest posterior)"))
        lines.append(field("AIC", f"{num(-estimator.aic(values, *extra))} (2 log L - 2 df)"))
    elif face.kind == "variational":
        # A variational fit has no maximised likelihood to penalise: its criterion is the
        # evidence lower bound.
        bound = float(estimator.lower_bound_)
        lines.append(field("ELBO", f"{num(bound * n)} (mean per sample {num(bound)})"))
    else:
        inertia = float(estimator.inertia_)
        lines.append(
            field(
                "inertia",
                f"{num(inertia)} (mean squared distance to the nearest centre {num(inertia / n)})",
            )
        )
    lines += parameter_lines(estimator, columns)
    labels = estimator.predict(values, *extra)
    lines += _clustering_lines(estimator, face, np.asarray(labels))
    if proba is not None:
        uncertainty = 1.0 - proba.max(axis=1)
        lines.append(
            field(
                "uncertainty",
                f"mean {num(uncertainty.mean())}, max {num(uncertainty.max())} "
                "(1 - the largest posterior probability of a row)",
            )
        )
    return lines


# --------------------------------------------------------------------------------------- #
# emkit info
# --------------------------------------------------------------------------------------- #


def _param(value: Any) -> str:
    if isinstance(value, (np.ndarray, list, tuple)):
        return f"array of shape {np.shape(value)}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def info_lines(estimator: Any, path: str) -> list[str]:
    """What ``emkit info`` prints of the model read from ``path``."""
    face = face_of(estimator)
    columns = model_columns(estimator)
    lines = [
        f"{PROG} info: {path}",
        field("model", f"{type(estimator).__name__}: {describe(estimator)}"),
        field("features", f"{len(columns)} ({names(columns)})"),
        field("converged", convergence(estimator)),
    ]
    if face.kind in ("mixture", "hmm"):
        lines += [
            field(
                "log-likelihood",
                f"mean per sample {num(estimator.lower_bound_)} (training data)",
            ),
            field("parameters", str(estimator._n_parameters())),
        ]
    elif face.kind == "variational":
        lines.append(
            field("ELBO", f"mean per sample {num(estimator.lower_bound_)} (training data)")
        )
    else:
        lines.append(field("inertia", f"{num(estimator.inertia_)} (training data)"))
    lines.append("hyperparameters")
    params = estimator.get_params(deep=False)
    width = max(len(name) for name in params) + 2
    lines += [f"  {name:<{width}}{_param(value)}" for name, value in params.items()]
    lines += parameter_lines(estimator, columns)
    return lines


# --------------------------------------------------------------------------------------- #
# emkit select
# --------------------------------------------------------------------------------------- #


def select_summary(result: Any, values: np.ndarray, columns: Sequence[str], data: str) -> list[str]:
    """The chosen model, then every candidate best first, failures last."""
    best, estimator = result.best_, result.best_estimator_
    n = values.shape[0]
    criterion = result.criterion.upper()
    log_lik = f"{num(best.log_likelihood)} (mean per sample {num(best.log_likelihood / n)})"
    lines = [
        f"{PROG} select: {describe(estimator)} (best {criterion} of "
        f"{count(len(result.candidates), 'candidate')})",
        field("data", _data_line(data, values, columns)),
        field("criterion", f"{criterion}, larger is better (mclust's sign)"),
        field("converged", convergence(estimator)),
        field("log-likelihood", log_lik),
        field("parameters", f"{best.n_parameters} (df)"),
        field("BIC", f"{num(best.bic)} (2 log L - df log n)"),
        field("ICL", f"{num(best.icl)} (BIC + 2 sum of log largest posterior)"),
        field("AIC", f"{num(best.aic)} (2 log L - 2 df)"),
        "candidates, best first (BIC, ICL, AIC: larger is better)",
    ]
    header = [
        "rank",
        "covariance",
        "K",
        "log-likelihood",
        "parameters",
        "BIC",
        "ICL",
        "AIC",
        "converged",
    ]
    rows = []
    failures: dict[str, list[str]] = {}
    for rank, c in enumerate(result.ranked(), start=1):
        if c.error is not None:
            failures.setdefault(c.error, []).append(f"{c.covariance_type} K={c.n_components}")
            scores = ["-", str(c.n_parameters), "-", "-", "-", "failed"]
        else:
            scores = [
                num(c.log_likelihood),
                str(c.n_parameters),
                num(c.bic),
                num(c.icl),
                num(c.aic),
                "yes" if c.converged else "no",
            ]
        rows.append([str(rank), c.covariance_type, str(c.n_components), *scores])
    lines += align(header, rows)
    for error, cells in failures.items():
        lines.append(f"failed: {', '.join(cells)}: {error}")
    lines += parameter_lines(estimator, columns)
    return lines
