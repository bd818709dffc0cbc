"""What a report shows of a fitted face: the sections that apply to its kind, the figures
and tables in them, and why a plot that does not apply is left out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emkit.report import plots
from emkit.report.html import Page, Section, image, items, paragraph, table

__all__ = ["SelectionTable", "page_of"]

# Sequences of a hidden Markov model drawn as state strips at most.
MAX_SEQUENCES = 6
# Top words listed per topic.
TOP_WORDS = 10
_CRITERIA = ("bic", "icl")


@dataclass(frozen=True)
class SelectionTable:
    """The candidates of a model selection, for the BIC and ICL plot.

    Attributes
    ----------
    records : sequence of dict
        One per candidate: ``covariance_type``, ``n_components``, ``bic``, ``icl`` (NaN for a
        failed fit), and optionally the other columns of :meth:`ModelSelection.table`.
    best : (str, int) or None
        The covariance type and number of components chosen.
    criterion : str or None
        The criterion that chose it, when known.
    """

    records: Sequence[dict[str, Any]]
    best: tuple[str, int] | None
    criterion: str | None

    @classmethod
    def of(cls, result: Any) -> SelectionTable:
        """The table of an :class:`emkit.ModelSelection`."""
        best = result.best_
        return cls(result.table(), (best.covariance_type, best.n_components), result.criterion)


def page_of(
    estimator: Any,
    X: Any = None,
    *,
    lengths: Any = None,
    title: str | None = None,
    selection: SelectionTable | None = None,
    from_file: bool = False,
) -> Page:
    """The report of ``estimator`` (a fitted face or an :class:`emkit.ModelSelection`, whose
    best model is reported with its candidates), with the plots of the data ``X`` where given.

    ``from_file`` says that the estimator was read from a model file, which keeps neither the
    restarts' bounds nor the diagnostics.
    """
    from emkit.selection import ModelSelection

    if isinstance(estimator, ModelSelection):
        if selection is None:
            selection = SelectionTable.of(estimator)
        estimator = estimator.best_estimator_
    _check_fitted(estimator)
    face = _description(estimator)
    name = type(estimator).__name__
    page = Page(title or f"emkit report: {name}")
    missing = plots.matplotlib_missing()

    def plot(section: Section, what: str, draw: Callable[[], bytes], caption: str) -> None:
        if missing is not None:
            page.skip(what, missing)
        else:
            section.blocks.append(image(draw(), what, caption))

    _summary(page, estimator, face, selection)
    _convergence(page, estimator, plot, from_file)
    if selection is not None:
        _selection(page, selection, plot)
    kind = None if face is None else face.kind
    if kind in ("mixture", "variational", "clustering"):
        _mixture(page, estimator, face, X, plot)
    elif kind == "hmm":
        _hmm(page, estimator, X, lengths, plot)
    else:
        _data_not_used(page, name, kind)
    if face is not None and face.reads_texts:
        _topics(page, estimator, face)
    _diagnostics(page, estimator, from_file)
    return page


def _check_fitted(estimator: Any) -> None:
    from sklearn.base import BaseEstimator
    from sklearn.utils.validation import check_is_fitted

    if not isinstance(estimator, BaseEstimator):
        raise TypeError(
            "estimator must be a fitted emkit estimator or an emkit.ModelSelection, got "
            f"{type(estimator).__name__}"
        )
    check_is_fitted(estimator)


def _description(estimator: Any) -> Any:
    from emkit.estimators.description import description_of

    try:
        return description_of(estimator)
    except TypeError:  # faces without components (factor analysis, PPCA, the imputer)
        return None


def _value(estimator: Any, name: str) -> Any:
    return estimator.__dict__.get(name)


# --------------------------------------------------------------------------------------- #
# Summary, convergence, model selection
# --------------------------------------------------------------------------------------- #


def _summary(page: Page, estimator: Any, face: Any, selection: SelectionTable | None) -> None:
    rows: list[tuple[str, object]] = [("model", type(estimator).__name__)]
    if face is not None:
        rows.append((f"{face.unit}s", int(getattr(estimator, face.components))))
    elif "n_components" in estimator.get_params():
        rows.append(("components", estimator.get_params()["n_components"]))
    for label, attribute in (
        ("features", "n_features_in_"),
        ("converged", "converged_"),
        ("iterations", "n_iter_"),
        ("final bound", "lower_bound_"),
    ):
        value = _value(estimator, attribute)
        if value is not None:
            rows.append((label, value if not isinstance(value, np.generic) else value.item()))
    restarts = _value(estimator, "restart_lower_bounds_")
    if restarts is not None:
        rows.append(("restarts", len(restarts)))
    if selection is not None and selection.best is not None:
        by = f" by {selection.criterion.upper()}" if selection.criterion else ""
        rows.append((f"chosen{by}", f"{selection.best[0]}, {selection.best[1]} components"))
    page.section("summary", "Summary").blocks.append(table(("", "value"), rows))


def _convergence(page: Page, estimator: Any, plot: Callable[..., None], from_file: bool) -> None:
    section = page.section("convergence", "Convergence")
    bounds = _value(estimator, "lower_bounds_")
    if bounds is None or np.size(bounds) == 0:
        page.skip("bound against iterations", f"{type(estimator).__name__} keeps no bounds")
        return
    bounds = np.asarray(bounds, dtype=np.float64)
    restarts = _value(estimator, "restart_lower_bounds_")
    caption = f"The bound at every iteration of the kept fit ({bounds.size - 1} iterations)"
    if restarts is None:
        why = "not kept in model files" if from_file else "not recorded by this fit"
        page.skip("restarts' final bounds", why)
    elif np.size(restarts) < 2:
        page.skip("restarts' final bounds", "one initialisation: no spread of optima to show")
        restarts = None
    else:
        restarts = np.asarray(restarts, dtype=np.float64)
        caption += f"; right, the final bound of each of the {restarts.size} restarts"
    caption += "."
    plot(
        section, "bound against iterations", lambda: plots.bound_history(bounds, restarts), caption
    )


def _selection(page: Page, selection: SelectionTable, plot: Callable[..., None]) -> None:
    section = page.section("selection", "Model selection")
    criteria = [c for c in _CRITERIA if all(c in r for r in selection.records)]
    plot(
        section,
        "BIC and ICL against the number of components",
        lambda: plots.selection_criteria(selection.records, selection.best, criteria),
        "Every covariance model's criteria, larger is better (mclust's sign); the chosen "
        "model circled. A candidate that could not be fitted leaves a gap.",
    )
    ranked = [r for r in selection.records if np.isfinite(float(r.get("bic", np.nan)))]
    failed = len(selection.records) - len(ranked)
    header = ("covariance", "components", *(c.upper() for c in criteria))
    rows = [
        (r["covariance_type"], int(r["n_components"]), *(float(r[c]) for c in criteria))
        for r in ranked[:10]
    ]
    section.blocks.append(
        paragraph(f"The best {len(rows)} of {len(selection.records)} candidates:")
    )
    section.blocks.append(table(header, rows))
    if failed:
        section.blocks.append(
            paragraph(f"{failed} candidates could not be fitted or estimated.", "note")
        )


# --------------------------------------------------------------------------------------- #
# Mixtures and clusterings with data
# --------------------------------------------------------------------------------------- #


def _mixture(page: Page, estimator: Any, face: Any, X: Any, plot: Callable[..., None]) -> None:
    section = page.section("data", f"Data and {face.unit}s")
    unit = face.unit
    k = int(getattr(estimator, face.components))
    weights = _value(estimator, "weights_")
    hard = face.kind == "clustering"
    if X is None:
        page.skip("data projected to 2-D", "no data given")
        page.skip(f"share of rows per {unit}", "no data given")
        if weights is not None:
            plot(
                section,
                f"size of every {unit}",
                lambda: plots.component_sizes(np.asarray(weights), None, unit),
                f"The weight of every {unit}.",
            )
        else:
            page.skip(f"size of every {unit}", "no data given")
        return
    if hard:
        labels = np.asarray(estimator.predict(X))
        uncertainty = None
    else:
        proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        labels = np.argmax(np.nan_to_num(proba, nan=-1.0), axis=1)
        uncertainty = 1.0 - proba.max(axis=1)
    valid = labels >= 0
    shares = np.bincount(labels[valid], minlength=k)[:k] / max(int(valid.sum()), 1)
    n_rows = int(valid.sum())
    if weights is not None:
        sizes = (
            f"The weight of every {unit} in the model and, hatched, its share of the {n_rows} rows."
        )
    else:
        sizes = f"The share of the {n_rows} rows classified to every {unit}."
    plot(
        section,
        f"size of every {unit}",
        lambda: plots.component_sizes(
            None if weights is None else np.asarray(weights), shares, unit
        ),
        sizes,
    )
    dense = _dense(X)
    if dense is None:
        page.skip("data projected to 2-D", "the data is not a numeric array in memory")
        return
    if dense.shape[1] < 2:
        page.skip("data projected to 2-D", "the data has one feature")
        return
    complete = np.isfinite(dense).all(axis=1) & valid
    points, basis, centre, axis_labels = _plane(estimator, dense[complete])
    centres = _centres(estimator)
    covariances = None
    if not hard:
        covariances = _covariances(estimator, k, dense.shape[1])
        if covariances is None:
            page.skip(
                "component ellipses",
                f"the components of a {type(estimator).__name__} have no covariance matrices",
            )
    parts = [f"{points.shape[0]} rows"]
    if points.shape[0] < dense.shape[0]:
        parts.append(f" ({dense.shape[0] - points.shape[0]} with missing cells left out)")
    if basis is not None:
        parts.append(" on the first two principal components")
    if covariances is not None:
        parts.append("; ellipses at one and two standard deviations of every component")
    if uncertainty is not None:
        parts.append("; right, the uncertainty of each row's classification")
    caption = "".join(parts) + "."
    plot(
        section,
        "data projected to 2-D",
        lambda: plots.projection(
            points,
            labels[complete],
            None if uncertainty is None else uncertainty[complete],
            None if centres is None else _project(centres, basis, centre),
            None if covariances is None else _project_covariances(covariances, basis),
            axis_labels,
        ),
        caption,
    )
    if uncertainty is not None:
        section.blocks.append(
            paragraph(
                f"Uncertainty (1 - the largest posterior): mean {np.nanmean(uncertainty):.3g}, "
                f"largest {np.nanmax(uncertainty):.3g}."
            )
        )


def _dense(X: Any) -> np.ndarray | None:
    """``X`` as a 2-D float array, or None for data that is not one in memory (sparse
    counts, a corpus, a row source)."""
    from scipy import sparse

    if sparse.issparse(X):
        return None
    try:
        dense = np.asarray(X)
    except (TypeError, ValueError):
        return None
    if dense.ndim != 2 or dense.dtype.kind not in "biuf":
        return None
    return dense.astype(np.float64, copy=False)


def _plane(
    estimator: Any, X: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, tuple[str, str]]:
    """The rows in two dimensions: the two features themselves when there are two, else the
    first two principal components (the basis, shape (2, n_features), and the centre)."""
    names = _value(estimator, "feature_names_in_")
    if X.shape[1] == 2:
        labels = ("feature 0", "feature 1") if names is None else (str(names[0]), str(names[1]))
        return X, None, None, labels
    centre = X.mean(axis=0)
    _, singular, vt = np.linalg.svd(X - centre, full_matrices=False)
    basis = vt[:2]
    # A sign of its own for every axis, so that the same data gives the same picture.
    basis *= np.where(basis[np.arange(2), np.abs(basis).argmax(axis=1)] < 0, -1.0, 1.0)[:, None]
    explained = singular[:2] ** 2 / max(float((singular**2).sum()), np.finfo(float).tiny)
    labels = (
        f"first principal component ({100 * explained[0]:.3g} % of the variance)",
        f"second principal component ({100 * explained[1]:.3g} %)",
    )
    return (X - centre) @ basis.T, basis, centre, labels


def _project(points: np.ndarray, basis: np.ndarray | None, centre: np.ndarray | None) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    return points if basis is None else (points - centre) @ basis.T


def _project_covariances(covariances: np.ndarray, basis: np.ndarray | None) -> np.ndarray:
    return covariances if basis is None else basis @ covariances @ basis.T


def _centres(estimator: Any) -> np.ndarray | None:
    for name in ("means_", "cluster_centers_"):
        value = _value(estimator, name)
        if value is not None and np.ndim(value) == 2:
            return np.asarray(value, dtype=np.float64)
    return None


def _covariances(estimator: Any, k: int, d: int) -> np.ndarray | None:
    """The components' covariance (or scale) matrices, shape (n_components, d, d), or None
    for components without them."""
    from emkit.families.covariance import covariance_structure

    covariances = _value(estimator, "covariances_")
    if covariances is None or "covariance_type" not in estimator.get_params():
        return None
    structure = covariance_structure(estimator.get_params()["covariance_type"])
    return np.asarray(structure.full(np.asarray(covariances, dtype=np.float64), k, d))


# --------------------------------------------------------------------------------------- #
# Hidden Markov models
# --------------------------------------------------------------------------------------- #


def _hmm(page: Page, estimator: Any, X: Any, lengths: Any, plot: Callable[..., None]) -> None:
    from emkit.core.batches import Sequences

    section = page.section("states", "Hidden states")
    transmat = np.asarray(estimator.transmat_, dtype=np.float64)
    plot(
        section,
        "transition matrix",
        lambda: plots.transition_matrix(transmat),
        "Row i: the probabilities of moving from state i to every state.",
    )
    if X is None:
        page.skip("posterior state strips", "no data given")
        return
    if isinstance(X, Sequences):
        if lengths is not None:
            raise ValueError("lengths must be None when X is a Sequences, which holds them")
        X, lengths = X.X, X.lengths
    proba = np.asarray(estimator.predict_proba(X, lengths), dtype=np.float64)
    sizes = np.array([proba.shape[0]] if lengths is None else np.asarray(lengths), dtype=np.intp)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    shown = range(min(len(sizes), MAX_SEQUENCES))
    strips = [proba[starts[i] : starts[i] + sizes[i]] for i in shown]
    first = [int(starts[i]) for i in shown]
    more = (
        f"the first {len(strips)} of {len(sizes)} sequences"
        if len(sizes) > len(strips)
        else (f"{len(strips)} sequence" + ("s" if len(strips) > 1 else ""))
    )
    plot(
        section,
        "posterior state strips",
        lambda: plots.state_strips(strips, first),
        f"The posterior probability of every state at every time step ({more}).",
    )
    occupancy = proba.mean(axis=0)
    section.blocks.append(
        table(
            ("state", "share of time (posterior)"),
            [(j, float(v)) for j, v in enumerate(occupancy)],
        )
    )


# --------------------------------------------------------------------------------------- #
# Topics, other kinds
# --------------------------------------------------------------------------------------- #


def _topics(page: Page, estimator: Any, face: Any) -> None:
    section = page.section("topics", "Topics")
    words = np.asarray(estimator.top_words(TOP_WORDS))
    named = _value(estimator, "feature_names_in_") is not None
    section.blocks.append(
        paragraph(
            f"The {words.shape[1]} most probable words of every {face.unit}, most probable first"
            + ("." if named else " (column indices: the model was fitted without its words).")
        )
    )
    section.blocks.append(
        table(
            (face.unit, "top words"), [(j, " ".join(map(str, row))) for j, row in enumerate(words)]
        )
    )


def _data_not_used(page: Page, name: str, kind: str | None) -> None:
    if kind == "topics":
        reason = "a topic model's report shows its topics, not its documents"
    else:
        reason = f"a {name} has no components to project"
    page.skip("data projected to 2-D", reason)


# --------------------------------------------------------------------------------------- #
# Diagnostics
# --------------------------------------------------------------------------------------- #


def _diagnostics(page: Page, estimator: Any, from_file: bool) -> None:
    section = page.section("diagnostics", "Diagnostics")
    # A property that raises AttributeError for a model read from a file.
    diagnostics = getattr(estimator, "diagnostics_", None)
    if diagnostics is None:
        section.blocks.append(
            paragraph(
                "No diagnostics in this model file."
                if from_file
                else f"No diagnostics: this {type(estimator).__name__} has no diagnostics_.",
                "note",
            )
        )
        return
    section.blocks.append(paragraph(f"Verdict: {diagnostics.verdict}.", "verdict"))
    health = tuple(diagnostics.health)
    others = [m for m in diagnostics.messages if m not in health]
    if others:
        section.blocks.append(items([m[:1].upper() + m[1:] + "." for m in others]))
    section.blocks.append(paragraph("Component health:"))
    if health:
        section.blocks.append(items(health))
    else:
        section.blocks.append(paragraph("No problem found.", "note"))
    rows = [
        ("rate of convergence", float(diagnostics.rate)),
        ("fraction of missing information", float(diagnostics.missing_information)),
        ("distinct optima of the restarts", int(diagnostics.n_optima)),
        ("restarts at the best optimum", int(diagnostics.n_at_best)),
    ]
    section.blocks.append(table(("", "value"), [r for r in rows if np.isfinite(r[1])]))
