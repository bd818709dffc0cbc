"""What ``emkit fit``, ``emkit topics``, ``emkit info`` and ``emkit select`` print: one number
format (six significant digits), label lines and right-aligned tables.

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

from emkit.cli.chunks import rows_from, without_feature_names
from emkit.cli.errors import PROG
from emkit.core.batches import DEFAULT_CHUNK_SIZE
from emkit.core.diagnostics import FitDiagnostics
from emkit.estimators.description import FaceDescription, description_of
from emkit.families.tables import Columns, CovarianceTables, ParameterTable

__all__ = [
    "Interruption",
    "Restarts",
    "count",
    "describe",
    "diagnostics_lines",
    "fit_summary",
    "info_lines",
    "model_columns",
    "names",
    "num",
    "quote",
    "select_summary",
    "topic_proportions",
    "topic_scores",
    "topic_sizes",
    "topic_table",
    "topics_summary",
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
    return int(getattr(estimator, description_of(estimator).components))


def describe(estimator: Any) -> str:
    """``Gaussian mixture, 2 components, full covariance`` and the like, from the face's
    description (:mod:`emkit.estimators.description`)."""
    face = description_of(estimator)
    parts = [f"{face.title_of(estimator)}, {count(n_components(estimator), face.unit)}"]
    emissions = face.emissions_of(estimator)
    if emissions:
        parts.append(" ".join([f"{emissions} emissions", *face.emission_words_of(estimator)]))
    return ", ".join([*parts, *face.words_of(estimator)])


def convergence(estimator: Any) -> str:
    state = "yes" if estimator.converged_ else "no"
    # An hmm's tol applies to the total log-likelihood, not to the mean per sample.
    scale = " on the total log-likelihood" if description_of(estimator).kind == "hmm" else ""
    text = f"{state}, after {count(estimator.n_iter_, 'iteration')} (tol {estimator.tol:g}{scale})"
    if estimator.n_init > 1:
        text += f", best of {estimator.n_init} initialisations"
    return text


def _data_line(data: str, shape: tuple[int, int], columns: Sequence[str]) -> str:
    n, d = shape
    return f"{data}: {count(n, 'sample')} x {count(d, 'feature')} ({names(columns)})"


# --------------------------------------------------------------------------------------- #
# Parameter tables
# --------------------------------------------------------------------------------------- #


def _structure(estimator: Any, covariance: Any) -> Any:
    """A table's covariance structure: itself, or named by the estimator's attribute."""
    from emkit.families.covariance import covariance_structure

    if isinstance(covariance, str):
        covariance = getattr(estimator, covariance)
    return covariance_structure(covariance)


def _column_group(
    estimator: Any, group: Columns, columns: Sequence[str], rows: tuple[int, ...]
) -> tuple[list[str], np.ndarray]:
    """The names and values, shape (*rows, width), of one group of table columns."""
    values = np.asarray(getattr(estimator, group.attribute))
    layout = group.layout
    if layout == "auto":
        if values.ndim == len(rows):
            layout = "value"
        elif values.ndim == len(rows) + 1 and values.shape[-1] == len(columns):
            layout = "features"
        else:
            width = values[(0,) * len(rows)].size
            indices = np.ndindex(values.shape[len(rows) :])
            header = [f"{group.attribute}[{','.join(map(str, i))}]" for i in indices]
            return header, values.reshape(*rows, width)
    if layout == "value":
        return [group.name or group.attribute.rstrip("_")], values[..., np.newaxis]
    if layout == "diagonal":
        return list(columns), np.diagonal(values, axis1=-2, axis2=-1)
    if layout == "symbols":
        return [str(s) for s in range(values.shape[-1])], values
    if layout == "categories":
        counts = [int(n) for n in np.asarray(getattr(estimator, group.counts))]
        header = [
            f"{name}={code}" for name, n in zip(columns, counts, strict=True) for code in range(n)
        ]
        blocks = [values[..., c, :n] for c, n in enumerate(counts)]
        return header, np.concatenate(blocks, axis=-1)
    if layout == "variances":
        # Every row holds the covariances of its inner rows in the structure's layout.
        structure = _structure(estimator, group.covariance)
        m, d = rows[1], len(columns)
        full = [structure.full(np.asarray(block, np.float64), m, d) for block in values]
        return list(columns), np.diagonal(np.stack(full), axis1=-2, axis2=-1)
    return list(columns), values


def _table(
    estimator: Any, face: FaceDescription, spec: ParameterTable, columns: Sequence[str]
) -> list[str]:
    k = n_components(estimator)
    header = [face.unit]
    if spec.inner:
        m = int(getattr(estimator, spec.inner_count))
        rows: tuple[int, ...] = (k, m)
        header.append(spec.inner)
        labels = [[str(i), str(j)] for i in range(k) for j in range(m)]
    else:
        rows = (k,)
        labels = [[str(j)] for j in range(k)]
    blocks = []
    if spec.weights and face.kind in ("mixture", "variational"):
        header.append("weight")
        blocks.append(np.asarray(estimator.weights_).reshape(k, 1))
    for group in spec.columns:
        group_names, values = _column_group(estimator, group, columns, rows)
        header += group_names
        blocks.append(np.asarray(values).reshape(int(np.prod(rows)), -1))
    values = np.concatenate(blocks, axis=1)
    body = [[*label, *map(num, row)] for label, row in zip(labels, values, strict=True)]
    return [spec.title.format(unit=face.unit), *align(header, body)]


def _matrix(title: str, matrix: np.ndarray, columns: Sequence[str]) -> list[str]:
    rows = [[name, *map(num, row)] for name, row in zip(columns, matrix, strict=True)]
    return [title, *align(["", *columns], rows, left=1)]


def _covariance_tables(
    estimator: Any, face: FaceDescription, spec: CovarianceTables, columns: Sequence[str]
) -> list[str]:
    """Variances by component when the covariances are diagonal, else the matrix every
    component shares or one matrix per component."""
    covariances = np.asarray(getattr(estimator, spec.attribute))
    structure = _structure(estimator, spec.covariance)
    k, d, unit = n_components(estimator), len(columns), face.unit
    if not structure.matrices:
        variances = np.broadcast_to(covariances.reshape(k, -1), (k, d))
        rows = [[str(j), *map(num, row)] for j, row in enumerate(variances)]
        return [spec.diagonal.format(unit=unit), *align([unit, *columns], rows)]
    if structure.shared:
        return _matrix(spec.shared.format(unit=unit), covariances, columns)
    lines: list[str] = []
    for j, matrix in enumerate(covariances):
        lines += _matrix(spec.matrix.format(unit=unit, j=j), matrix, columns)
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


def parameter_lines(estimator: Any, columns: Sequence[str]) -> list[str]:
    """The tables of a model's fitted parameters."""
    face = description_of(estimator)
    lines = _hmm_tables(estimator) if face.kind == "hmm" else []
    for spec in face.tables_of(estimator):
        shown = list(columns) if spec.features is None else [columns[i] for i in spec.features]
        if isinstance(spec, CovarianceTables):
            lines += _covariance_tables(estimator, face, spec, shown)
        else:
            lines += _table(estimator, face, spec, shown)
    return lines


# --------------------------------------------------------------------------------------- #
# emkit fit
# --------------------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Restarts:
    """The final bound of every restart of a fit (the face's ``restart_lower_bounds_``), in
    total over the data (log-likelihoods, or evidence lower bounds), shape (n_init,); fewer
    when the fit was interrupted."""

    finals: np.ndarray
    deterministic: bool = False


@dataclass(frozen=True)
class Interruption:
    """Where Ctrl-C stopped a fit: the last whole point the driver kept, iteration
    ``n_iter`` (M-steps) of restart ``run`` (from 1)."""

    n_iter: int
    run: int


def _restart_line(
    estimator: Any,
    face: FaceDescription,
    restarts: Restarts,
    tol_total: float,
    interrupted: Interruption | None,
) -> str:
    n_init = int(estimator.n_init)
    if n_init == 1:
        if restarts.deterministic:
            return "1 (its start is deterministic)"
        return "1: a single start may end at a local maximum; try more with --n-init 10"
    finals = restarts.finals
    ran = finals.size
    started = f"{n_init}" if interrupted is None else f"{ran} of {n_init} (interrupted)"
    if face.kind == "clustering":
        return f"{started}, the best kept"
    best = float(finals.max())
    # Equal within the convergence tolerance, or within what six digits can show.
    reached = int(np.sum(best - finals <= max(tol_total, 1e-6 * abs(best))))
    # A hidden Markov model's bound is its MAP objective: the priors of its faces are on
    # by default.
    what = {"variational": "ELBOs", "hmm": "objectives (log-likelihood + log prior)"}.get(
        face.kind, "log-likelihoods"
    )
    shown = names([num(v) for v in np.sort(finals)[::-1]])
    return f"{started}: final {what} {shown}; {reached} of {ran} reached the best"


def _clustering_lines(estimator: Any, face: FaceDescription, taken: np.ndarray) -> list[str]:
    how = {
        "clustering": "nearest centre",
        "hmm": "state on the most probable path",
    }.get(face.kind, f"most probable {face.unit}")
    rows = [[str(j), str(int(c))] for j, c in enumerate(taken)]
    return [f"clustering table (rows by {how})", *align([face.unit, "rows"], rows)]


@dataclass(frozen=True)
class _Scores:
    """What a summary says of a fitted model on its data.

    Attributes
    ----------
    n : int
        Rows.
    log_likelihood, bic, icl, aic : float or None
        The total log-likelihood and the criteria in mclust's sign, for the faces that have
        them (ICL: mixtures only).
    counts : ndarray of shape (n_components,)
        Rows by most probable component (nearest centre, state on the best path).
    uncertainty : tuple of (float, float), or None
        Mean and largest of one minus the largest posterior of a row; None for clusterings.
    """

    n: int
    log_likelihood: float | None
    bic: float | None
    icl: float | None
    aic: float | None
    counts: np.ndarray
    uncertainty: tuple[float, float] | None


def _scores_of_array(
    estimator: Any, face: FaceDescription, values: np.ndarray, extra: tuple[Any, ...]
) -> _Scores:
    """The scores of ``estimator`` (without column names) on ``values`` (n_samples,
    n_features) in memory, by the face's methods on all of it (``extra``: the lengths of
    the sequences of an hmm)."""
    n = values.shape[0]
    proba = estimator.predict_proba(values, *extra) if face.kind != "clustering" else None
    total = bic = icl = aic = None
    if face.kind in ("mixture", "hmm"):
        total = float(estimator.score(values, *extra))
        if face.kind == "mixture":
            total *= n  # a mixture's score is the mean per sample
        bic = float(-estimator.bic(values, *extra))
        if face.kind == "mixture":
            assert proba is not None
            icl = bic + 2.0 * float(np.log(proba.max(axis=1)).sum())
        aic = float(-estimator.aic(values, *extra))
    labels = np.asarray(estimator.predict(values, *extra))
    counts = np.bincount(labels, minlength=n_components(estimator))
    uncertainty = None
    if proba is not None:
        spread = 1.0 - proba.max(axis=1)
        uncertainty = (float(spread.mean()), float(spread.max()))
    return _Scores(n, total, bic, icl, aic, counts, uncertainty)


def _scores_of_source(
    estimator: Any, face: FaceDescription, source: Any, chunk_size: int
) -> _Scores:
    """The scores of ``estimator`` (without column names) on the rows of ``source`` (a
    RowSource), in one pass a chunk at a time: sums over the chunks of the face's methods
    on each (in float64), so that memory holds one chunk and its posteriors."""
    k = n_components(estimator)
    n = 0
    total = log_best = spread_sum = 0.0
    spread_max = -np.inf
    counts = np.zeros(k, dtype=np.int64)
    for rows, _ in source.chunks(chunk_size):
        with rows_from(n):
            if face.kind == "mixture":
                total += float(np.sum(estimator.score_samples(rows), dtype=np.float64))
            elif face.kind == "hmm":
                total += float(estimator.score(rows))
            if face.kind != "clustering":
                best = estimator.predict_proba(rows).max(axis=1).astype(np.float64)
                log_best += float(np.log(best).sum())
                spread = 1.0 - best
                spread_sum += float(spread.sum())
                spread_max = max(spread_max, float(spread.max()))
            counts += np.bincount(np.asarray(estimator.predict(rows)), minlength=k)
        n += rows.shape[0]
    log_likelihood = bic = icl = aic = None
    if face.kind in ("mixture", "hmm"):
        df = estimator._n_parameters()
        log_likelihood = total
        bic = 2.0 * total - df * float(np.log(n))
        icl = bic + 2.0 * log_best if face.kind == "mixture" else None
        aic = 2.0 * total - 2.0 * df
    uncertainty = None if face.kind == "clustering" else (spread_sum / n, spread_max)
    return _Scores(n, log_likelihood, bic, icl, aic, counts, uncertainty)


def fit_summary(
    estimator: Any,
    data: Any,
    columns: Sequence[str],
    path: str,
    restarts: Restarts,
    lengths: np.ndarray | None = None,
    sequence_column: str | None = None,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    interrupted: Interruption | None = None,
) -> list[str]:
    """The summary of a fit of ``estimator`` to ``data``, read from the file ``path`` with
    the feature names ``columns``.

    ``data`` is an array (n_samples, n_features) in memory, scored by the face's methods
    on all of it (the sequences of an hmm, with their ``lengths``), or a row source (for an
    hmm, of chunks of whole sequences), scored in one pass of chunks of ``chunk_size``
    rows.
    ``interrupted`` says where Ctrl-C stopped the fit.
    """
    face = description_of(estimator)
    extra: tuple[Any, ...] = (lengths,) if face.kind == "hmm" else ()
    with without_feature_names(estimator):
        if isinstance(data, np.ndarray):
            scores = _scores_of_array(estimator, face, data, extra)
        else:
            scores = _scores_of_source(estimator, face, data, chunk_size)
    n = scores.n
    shape = _data_line(path, (n, len(columns)), columns)
    if face.kind == "hmm":
        if lengths is None:
            shape += ", 1 sequence (the whole table)"
        else:
            shape += f", {count(lengths.size, 'sequence')} (column {sequence_column!r})"
    tol_total = float(estimator.tol) * (1.0 if face.kind == "hmm" else n)
    state = (
        convergence(estimator)
        if interrupted is None
        else f"no: interrupted (Ctrl-C) at iteration {interrupted.n_iter} of run {interrupted.run}"
    )
    lines = [
        f"{PROG} fit: {describe(estimator)}",
        field("data", shape),
        field("converged", state),
        field("restarts", _restart_line(estimator, face, restarts, tol_total, interrupted)),
    ]
    if face.kind in ("mixture", "hmm"):
        total = scores.log_likelihood
        assert total is not None
        lines += [
            field("log-likelihood", f"{num(total)} (mean per sample {num(total / n)})"),
            field("parameters", f"{estimator._n_parameters()} (df)"),
            field(
                "criteria",
                f"{'BIC, ICL and AIC' if face.kind == 'mixture' else 'BIC and AIC'} {_SIGN}",
            ),
            field("BIC", f"{num(scores.bic)} (2 log L - df log n)"),
        ]
        if scores.icl is not None:
            lines.append(field("ICL", f"{num(scores.icl)} (BIC + 2 sum of log largest posterior)"))
        lines.append(field("AIC", f"{num(scores.aic)} (2 log L - 2 df)"))
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
    lines += _clustering_lines(estimator, face, scores.counts)
    if scores.uncertainty is not None:
        mean, largest = scores.uncertainty
        lines.append(
            field(
                "uncertainty",
                f"mean {num(mean)}, max {num(largest)} "
                "(1 - the largest posterior probability of a row)",
            )
        )
    return lines + diagnostics_lines(estimator.diagnostics_)


def diagnostics_lines(diagnostics: FitDiagnostics) -> list[str]:
    """The sentences of a fit's diagnostics (:class:`emkit.core.diagnostics.FitDiagnostics`):
    the verdict with the rate of convergence, the optima of the restarts, the components'
    health; the first under the label ``diagnostics``, the others aligned under it."""
    return [
        field("diagnostics" if i == 0 else "", sentence)
        for i, sentence in enumerate(diagnostics.messages)
    ]


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
    face = description_of(estimator)
    columns = model_columns(estimator)
    lines = [
        f"{PROG} info: {path}",
        field("model", f"{type(estimator).__name__}: {describe(estimator)}"),
    ]
    if face.kind == "topics":
        lines += [
            field("vocabulary", f"{count(len(columns), 'word')} ({names(columns)})"),
            field("iterations", _iterations(estimator)),
            "hyperparameters",
            *_hyperparameter_lines(estimator),
            *_topic_info_lines(estimator),
        ]
        return lines
    lines += [
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
    lines += _hyperparameter_lines(estimator)
    lines += parameter_lines(estimator, columns)
    if face.reads_texts:
        lines += _topic_info_lines(estimator)
    return lines


def _hyperparameter_lines(estimator: Any) -> list[str]:
    params = estimator.get_params(deep=False)
    width = max(len(name) for name in params) + 2
    return [f"  {name:<{width}}{_param(value)}" for name, value in params.items()]


# --------------------------------------------------------------------------------------- #
# emkit topics, and emkit info of models of texts
# --------------------------------------------------------------------------------------- #

# How a summary says what a topic's size is: the share of the words its documents' proportions
# give it, or (one topic per document) of the documents.
_SIZE_OF = {True: "share of the {part} words", False: "share of the {part} documents"}


def topic_proportions(estimator: Any, documents: Any) -> np.ndarray:
    """Every document's topic proportions, shape (n_documents, n_topics), in float64: a
    topic model's ``transform``, or the posterior probabilities of the topics of a face of
    another kind that reads texts (one topic per document)."""
    if description_of(estimator).kind == "topics":
        return np.asarray(estimator.transform(documents), dtype=np.float64)
    return np.asarray(estimator.predict_proba(documents), dtype=np.float64)


def topic_sizes(estimator: Any, documents: Any) -> np.ndarray:
    """Every topic's size on the documents (a Corpus), shape (n_topics,), summing to one:
    for a topic model ``sum_d theta_dk n_d / sum_d n_d``, the share of the words that the
    documents' proportions ``theta_d`` give it (``n_d``: the words of document ``d``); for
    one topic per document, its share of the documents (the mean posterior probability)."""
    theta = topic_proportions(estimator, documents)
    if description_of(estimator).kind != "topics":
        return theta.mean(axis=0)
    words = np.asarray(documents.counts.sum(axis=1), dtype=np.float64).ravel()
    total = float(words.sum())
    if not total > 0:
        return np.full(theta.shape[1], np.nan)
    return (theta.T @ words) / total


def _iterations(estimator: Any) -> str:
    params = estimator.get_params(deep=False)
    if "tol" in params:
        return convergence(estimator)
    # A face without a convergence rule (lda's passes) runs max_iter passes.
    text = f"{count(estimator.n_iter_, 'iteration')} of at most {params['max_iter']}"
    if estimator.n_init > 1:
        text += f", best of {estimator.n_init} initialisations"
    return text


def topic_table(
    estimator: Any,
    n_words: int,
    *,
    sizes: np.ndarray | None = None,
    umass: np.ndarray | None = None,
    npmi: np.ndarray | None = None,
) -> list[str]:
    """Every topic's line: its number, its size and coherences where given, then its
    ``n_words`` top words (at most the vocabulary), most probable first."""
    n = min(n_words, int(estimator.n_features_in_))
    top = estimator.top_words(n)
    header = ["topic"]
    columns = []
    for name, values in (("size", sizes), ("UMass", umass), ("NPMI", npmi)):
        if values is not None:
            header.append(name)
            columns.append(values)
    rows = [[str(k), *(num(values[k]) for values in columns)] for k in range(top.shape[0])]
    lines = align(header, rows)
    words = ["top words", *(" ".join(map(str, row)) for row in top)]
    return [f"{line}  {text}" for line, text in zip(lines, words, strict=True)]


@dataclass(frozen=True)
class TopicScores:
    """What ``emkit topics`` says of a fitted model on its documents.

    Attributes
    ----------
    sizes : ndarray of shape (n_topics,)
        :func:`topic_sizes` of the training documents.
    top_n : int or None
        The top words of the coherences (None: the vocabulary has fewer than 2 words).
    umass, npmi : ndarray of shape (n_topics,) or None
        The coherences of every topic on the training documents; None where undefined.
    undefined : str
        Why UMass is undefined ('' when it is defined).
    heldout : float or None
        The held-out per-word log-likelihood (plug-in); None without held-out documents.
    """

    sizes: np.ndarray
    top_n: int | None
    umass: np.ndarray | None
    npmi: np.ndarray | None
    undefined: str
    heldout: float | None


def topic_scores(estimator: Any, train: Any, test: Any, top_words: int) -> TopicScores:
    """The sizes and coherences of the topics of ``estimator`` on the training documents
    ``train`` and the held-out log-likelihood of ``test`` (Corpora; ``test`` None for none),
    by the face's methods; the coherences of the ``top_words`` top words (at least 2, at
    most the vocabulary)."""
    sizes = topic_sizes(estimator, train)
    n_words = int(estimator.n_features_in_)
    top_n = min(max(top_words, 2), n_words) if n_words >= 2 else None
    umass = npmi = None
    undefined = ""
    if top_n is not None:
        npmi = estimator.coherence(train, measure="npmi", top_n=top_n)
        try:
            umass = estimator.coherence(train, measure="umass", top_n=top_n)
        except ValueError as exc:
            # A top word that no training document holds (of the vocabulary of the held-out
            # documents) has no conditional probability.
            undefined = str(exc).removeprefix("coherence: ")
    heldout = None if test is None else float(estimator.heldout_log_likelihood(test))
    return TopicScores(sizes, top_n, umass, npmi, undefined, heldout)


def _words_of(corpus: Any) -> int:
    return round(float(corpus.counts.sum()))


def topics_summary(
    estimator: Any,
    path: str,
    corpus: Any,
    train: Any,
    test: Any,
    split: str,
    scores: TopicScores,
    top_words: int,
) -> list[str]:
    """The summary of ``emkit topics``: the corpus and its split (``split``: how it was
    drawn), the fit, every topic's top words, size and coherences, and the held-out
    log-likelihood."""
    face = description_of(estimator)
    V = int(estimator.n_features_in_)
    held = (
        "none"
        if test is None
        else f"{count(test.n_documents, 'document')} ({count(_words_of(test), 'word')})"
    )
    lines = [
        f"{PROG} topics: {describe(estimator)}",
        field(
            "corpus",
            f"{quote(path)}: {count(corpus.n_documents, 'document')}, "
            f"{count(_words_of(corpus), 'word')}, a vocabulary of {count(V, 'word')}",
        ),
        field(
            "split",
            f"{count(train.n_documents, 'document')} for training "
            f"({count(_words_of(train), 'word')}), {held} held out ({split})",
        ),
        field("iterations", _iterations(estimator)),
    ]
    size = _SIZE_OF[face.kind == "topics"].format(part="training")
    coherence = (
        "UMass and NPMI of the top "
        f"{scores.top_n} words on the training documents, larger is more coherent"
        if scores.top_n is not None
        else "none (a vocabulary of 1 word)"
    )
    lines += [
        field("topic sizes", size),
        field("coherence", coherence),
        *topic_table(
            estimator, top_words, sizes=scores.sizes, umass=scores.umass, npmi=scores.npmi
        ),
    ]
    if scores.top_n is not None:
        means = []
        if scores.umass is not None:
            means.append(f"UMass {num(float(np.mean(scores.umass)))}")
        if scores.npmi is not None:
            means.append(f"NPMI {num(float(np.mean(scores.npmi)))}")
        lines.append(field("mean coherence", ", ".join(means)))
        if scores.undefined:
            lines.append(field("UMass", f"undefined: {scores.undefined}"))
    if scores.heldout is None:
        lines.append(field("held-out", "no documents held out (--test-size 0)"))
    else:
        value = scores.heldout
        perplexity = float(np.exp(-value)) if np.isfinite(value) else np.inf
        text = (
            f"log-likelihood per word {num(value)}, perplexity {num(perplexity)} (every "
            "word under its document's topic proportions, folded in, and the topics)"
        )
        if not np.isfinite(value):
            text += (
                "; a held-out word is impossible under its document's topics: a "
                "--topic-word-prior > 0 keeps every word possible"
            )
        lines.append(field("held-out", text))
    return lines


def _topic_info_lines(estimator: Any) -> list[str]:
    """``emkit info``'s words of a model of texts: its vocabulary's size and its topics."""
    face = description_of(estimator)
    if face.kind == "topics":
        sizes = None
        note = "sizes: the share of the training words, printed by emkit topics"
    else:
        # One topic per document: the mixture's weights are its share of the documents.
        sizes = np.asarray(estimator.weights_, dtype=np.float64)
        note = "size: the mixture's weight, its " + _SIZE_OF[False].format(part="training")
    return [
        f"topics (top {min(_TOP_WORDS, int(estimator.n_features_in_))} words, most probable "
        f"first; {note})",
        *topic_table(estimator, _TOP_WORDS, sizes=sizes),
    ]


# Top words emkit info prints of every topic (emkit topics --top-words's default).
_TOP_WORDS = 10


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
        field("data", _data_line(data, values.shape, columns)),
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
