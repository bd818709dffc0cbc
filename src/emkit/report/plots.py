"""The report's figures, drawn by matplotlib on its Agg canvas.

Every figure is a :class:`matplotlib.figure.Figure` made without :mod:`matplotlib.pyplot`, so
no figure is registered in pyplot's global state (nothing to close, nothing that leaks from one
figure into the next) and the backend is Agg whatever the user's matplotlib settings say. Each
function takes plain arrays (what a fitted face gives) and returns PNG bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "MATPLOTLIB_MISSING",
    "bound_history",
    "component_sizes",
    "matplotlib_missing",
    "projection",
    "selection_criteria",
    "state_strips",
    "transition_matrix",
]

MATPLOTLIB_MISSING = "matplotlib is not installed (pip install 'emkit[report]')"
# Points drawn in a scatter plot at most: more only blacken the plot and swell the file.
MAX_POINTS = 5000
# Time steps drawn per sequence of a state strip at most.
MAX_STEPS = 4000
_DPI = 100
# Enough distinct colours for the components of a plot; beyond ten they repeat.
_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def matplotlib_missing() -> str | None:
    """Why no figure can be drawn (matplotlib is not importable), or None."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError:
        return MATPLOTLIB_MISSING
    return None


def colour(k: int) -> str:
    """The colour of component ``k`` in every figure of a report."""
    return _COLOURS[k % len(_COLOURS)]


def _figure(width: float, height: float, ncols: int = 1, nrows: int = 1) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(nrows, ncols, squeeze=False).ravel()


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    # No software or date in the metadata: the same fit gives the same bytes.
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    figure.clear()
    return buffer.getvalue()


def bound_history(lower_bounds: np.ndarray, restart_bounds: np.ndarray | None) -> bytes:
    """The bound against the iterations of the kept fit, and beside it the final bound of
    every restart (the spread of the optima EM reached).

    Parameters
    ----------
    lower_bounds : ndarray of shape (n_iter + 1,)
        The bound of the initial parameters, then after every iteration.
    restart_bounds : ndarray of shape (n_init,) or None
        The final bound of every restart; None for none to show.
    """
    panels = 1 if restart_bounds is None else 2
    figure, axes = _figure(5.0 * panels, 3.4, panels)
    ax = axes[0]
    iterations = np.arange(lower_bounds.shape[0])
    ax.plot(iterations, lower_bounds, color=colour(0), marker="o" if len(iterations) < 40 else "")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("iteration")
    ax.set_ylabel("bound")
    ax.set_title("bound of the kept fit")
    ax.grid(alpha=0.3)
    if restart_bounds is not None:
        ax = axes[1]
        order = np.argsort(-restart_bounds, kind="stable")
        best = restart_bounds[order[0]]
        ranks = np.arange(1, len(order) + 1)
        at_best = np.isclose(restart_bounds[order], best, rtol=0.0, atol=1e-8 * max(1, abs(best)))
        ax.scatter(ranks[at_best], restart_bounds[order][at_best], color=colour(2), zorder=3)
        ax.scatter(ranks[~at_best], restart_bounds[order][~at_best], color=colour(3), zorder=3)
        ax.axhline(best, color="#555555", linestyle="--", linewidth=1)
        ax.set_xlabel("restart, best first")
        ax.set_ylabel("final bound")
        ax.set_title(f"{int(at_best.sum())} of {len(order)} restarts at the best")
        ax.set_xticks(ranks if len(ranks) <= 20 else ranks[:: max(1, len(ranks) // 10)])
        ax.grid(alpha=0.3)
    return _png(figure)


def selection_criteria(
    records: Sequence[dict[str, Any]], best: tuple[str, int] | None, criteria: Sequence[str]
) -> bytes:
    """BIC and ICL (larger is better) against the number of components, one line per
    covariance model, the chosen model circled, as mclust's BIC plot.

    Parameters
    ----------
    records : sequence of dict
        The candidates: ``covariance_type``, ``n_components`` and the criteria (NaN for a
        candidate that could not be fitted, left out of its line).
    best : (covariance_type, n_components) or None
        The chosen candidate.
    criteria : sequence of str
        The criteria to plot, a panel each ('bic', 'icl', 'aic').
    """
    from matplotlib.ticker import MaxNLocator

    types = list(dict.fromkeys(str(r["covariance_type"]) for r in records))
    markers = "osD^v<>pPX*hH"
    figure, axes = _figure(5.2 * len(criteria), 4.0, len(criteria))
    for ax, criterion in zip(axes, criteria, strict=True):
        for i, name in enumerate(types):
            rows = sorted(
                (r for r in records if str(r["covariance_type"]) == name),
                key=lambda r: int(r["n_components"]),
            )
            ks = np.array([int(r["n_components"]) for r in rows])
            values = np.array([float(r[criterion]) for r in rows])
            ax.plot(
                ks,
                values,
                color=colour(i),
                marker=markers[i % len(markers)],
                markersize=4,
                linewidth=1.2,
                label=name,
            )
            if best is not None and name == best[0] and best[1] in ks:
                value = values[list(ks).index(best[1])]
                ax.scatter([best[1]], [value], s=160, facecolors="none", edgecolors="black")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("number of components")
        ax.set_ylabel(criterion.upper())
        ax.set_title(f"{criterion.upper()} (larger is better)")
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize="small", ncols=2 if len(types) > 7 else 1, loc="best")
    return _png(figure)


def _ellipse(ax: Any, centre: np.ndarray, covariance: np.ndarray, edge: str) -> None:
    """The ellipses of one and two standard deviations of a 2-D Gaussian."""
    from matplotlib.patches import Ellipse

    values, vectors = np.linalg.eigh(covariance)
    values = np.clip(values, 0.0, None)
    angle = float(np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1])))
    for scale in (1.0, 2.0):
        width, height = 2 * scale * np.sqrt(values[::-1])
        ax.add_patch(
            Ellipse(
                (float(centre[0]), float(centre[1])),
                float(width),
                float(height),
                angle=angle,
                fill=False,
                edgecolor=edge,
                linewidth=1.6 if scale == 1.0 else 1.0,
                linestyle="-" if scale == 1.0 else "--",
            )
        )


def projection(
    points: np.ndarray,
    labels: np.ndarray,
    uncertainty: np.ndarray | None,
    centres: np.ndarray | None,
    covariances: np.ndarray | None,
    axis_labels: tuple[str, str],
) -> bytes:
    """The data in two dimensions coloured by component, with the components' centres and
    ellipses, and beside it the uncertainty of every point's classification.

    Parameters
    ----------
    points : ndarray of shape (n_samples, 2)
    labels : ndarray of int, shape (n_samples,)
        The most probable component of every point.
    uncertainty : ndarray of shape (n_samples,) or None
        One minus the largest posterior probability of every point; None for a hard
        clustering.
    centres : ndarray of shape (n_components, 2) or None
    covariances : ndarray of shape (n_components, 2, 2) or None
        The components' covariances in the plane of ``points``.
    axis_labels : (str, str)
    """
    if points.shape[0] > MAX_POINTS:
        # Evenly spaced rows: a plot that does not depend on any random draw.
        keep = np.linspace(0, points.shape[0] - 1, MAX_POINTS).astype(np.intp)
        points, labels = points[keep], labels[keep]
        uncertainty = None if uncertainty is None else uncertainty[keep]
    panels = 1 if uncertainty is None else 2
    figure, axes = _figure(5.0 * panels, 4.4, panels)
    ax = axes[0]
    size = 14 if points.shape[0] < 1000 else 5
    for k in np.unique(labels):
        mine = labels == k
        ax.scatter(
            points[mine, 0],
            points[mine, 1],
            s=size,
            color=colour(int(k)),
            alpha=0.75,
            label=f"{int(k)}",
            linewidths=0,
        )
    if centres is not None:
        for k, centre in enumerate(centres):
            ax.scatter([centre[0]], [centre[1]], marker="X", s=90, color="black", zorder=4)
            if covariances is not None:
                _ellipse(ax, centre, covariances[k], colour(k))
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title("classification" + (" and components" if covariances is not None else ""))
    ax.legend(title="component", fontsize="small", markerscale=1.5, loc="best")
    if uncertainty is not None:
        ax = axes[1]
        order = np.argsort(uncertainty, kind="stable")  # the uncertain points drawn last
        shown = ax.scatter(
            points[order, 0],
            points[order, 1],
            c=uncertainty[order],
            cmap="Greys",
            vmin=0.0,
            vmax=max(float(uncertainty.max()), 1e-12),
            s=size + 6,
            edgecolors="#999999",
            linewidths=0.2,
        )
        figure.colorbar(shown, ax=ax, label="1 - max posterior")
        ax.set_xlabel(axis_labels[0])
        ax.set_ylabel(axis_labels[1])
        ax.set_title("uncertainty of the classification")
    return _png(figure)


def component_sizes(weights: np.ndarray | None, shares: np.ndarray | None, unit: str) -> bytes:
    """Every component's size: its weight in the model and its share of the data's rows
    classified to it, as bars side by side.

    Parameters
    ----------
    weights : ndarray of shape (n_components,) or None
    shares : ndarray of shape (n_components,) or None
        Fraction of the rows whose most probable component it is.
    unit : str
        What the components are called ('component', 'cluster').
    """
    figure, axes = _figure(5.5, 3.2)
    ax = axes[0]
    bars = [
        (name, v) for name, v in (("weight", weights), ("share of rows", shares)) if v is not None
    ]
    n = len(bars[0][1])
    width = 0.8 / len(bars)
    for i, (name, values) in enumerate(bars):
        x = np.arange(n) + (i - (len(bars) - 1) / 2) * width
        ax.bar(
            x,
            values,
            width,
            color=[colour(k) for k in range(n)],
            alpha=1.0 if i == 0 else 0.5,
            hatch="" if i == 0 else "//",
            edgecolor="black",
            linewidth=0.5,
            label=name,
        )
    ax.set_xticks(np.arange(n))
    ax.set_xlabel(unit)
    ax.set_ylabel("fraction")
    ax.set_title(f"size of every {unit}")
    if len(bars) > 1:
        ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    return _png(figure)


def state_strips(posteriors: Sequence[np.ndarray], first_rows: Sequence[int]) -> bytes:
    """The posterior probability of every state over time, one strip per sequence, stacked
    so that each time step's column sums to one.

    Parameters
    ----------
    posteriors : sequence of ndarray of shape (n_steps, n_states)
        ``predict_proba`` of every sequence shown.
    first_rows : sequence of int
        The row of the data at which each sequence starts.
    """
    figure, axes = _figure(10.0, 0.6 + 1.3 * len(posteriors), nrows=len(posteriors))
    for ax, proba, start in zip(axes, posteriors, first_rows, strict=True):
        step = max(1, -(-proba.shape[0] // MAX_STEPS))
        t = np.arange(proba.shape[0])[::step]
        ax.stackplot(
            t,
            proba[::step].T,
            colors=[colour(k) for k in range(proba.shape[1])],
            labels=[f"{k}" for k in range(proba.shape[1])],
            linewidth=0,
        )
        ax.set_xlim(0, max(proba.shape[0] - 1, 1))
        ax.set_ylim(0, 1)
        ax.set_yticks([0, 1])
        ax.set_ylabel(f"rows {start}-", fontsize="small")
    axes[0].legend(title="state", fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes[0].set_title("posterior probability of every state")
    axes[-1].set_xlabel("time step within the sequence")
    return _png(figure)


def transition_matrix(transmat: np.ndarray) -> bytes:
    """The transition probabilities as a heat map, every cell labelled with its value.

    Parameters
    ----------
    transmat : ndarray of shape (n_states, n_states)
        Row ``i`` holds the probabilities of moving from state ``i`` to every state.
    """
    n = transmat.shape[0]
    side = min(2.0 + 0.6 * n, 9.0)
    figure, axes = _figure(side + 1.0, side)
    ax = axes[0]
    shown = ax.imshow(transmat, cmap="Blues", vmin=0.0, vmax=1.0)
    if n <= 12:
        for i in range(n):
            for j in range(n):
                value = float(transmat[i, j])
                ax.text(
                    j,
                    i,
                    f"{value:.2f}",
                    ha="center",
                    va="center",
                    fontsize="small",
                    color="white" if value > 0.6 else "black",
                )
    ax.set_xticks(np.arange(n))
    ax.set_yticks(np.arange(n))
    ax.set_xlabel("to state")
    ax.set_ylabel("from state")
    ax.set_title("transition probabilities")
    figure.colorbar(shown, ax=ax)
    return _png(figure)
