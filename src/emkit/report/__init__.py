"""Reports of fitted models: one self-contained HTML file of figures, tables and verdicts.

:func:`build_report` gives the page as text, :func:`write_report` writes it to a file; ``emkit
report MODEL [DATA] -o report.html`` does the same for a model file. The figures need
matplotlib (``pip install 'emkit[report]'``); without it the report holds its tables and
verdicts and says which plots it could not make.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

__all__ = ["build_report", "write_report"]


def build_report(
    estimator: Any, X: Any = None, *, lengths: Any = None, title: str | None = None
) -> str:
    """The report of a fitted model as one self-contained HTML document.

    What it shows depends on the model: the bound against the iterations and the restarts'
    final bounds (every model); for an :class:`emkit.ModelSelection`, BIC and ICL against
    the number of components for every covariance model, then its best model; for mixtures
    and clusterings with data, the data in two dimensions (the first two features, or
    principal components) coloured by component, with the uncertainty of the
    classification and the components' ellipses, and the components' sizes; for hidden
    Markov models, the transition matrix and, with data, the posterior state strips; for
    topic models, the top words of every topic; and the fit's diagnostics
    (``diagnostics_``) as verdicts. A last section lists the plots that could not be made,
    and why.

    Parameters
    ----------
    estimator : fitted emkit estimator or emkit.ModelSelection
    X : array-like of shape (n_samples, n_features), optional
        Data to plot with the model (usually the data it was fitted to).
    lengths : array-like of int, shape (n_sequences,), optional
        For a hidden Markov model, the lengths of the sequences of ``X``.
    title : str, optional
        The page's title (default: the estimator's class).

    Returns
    -------
    str
        The HTML document; figures are embedded as base64 PNG images and the style is
        inline, so the page needs no network.

    Raises
    ------
    TypeError
        When ``estimator`` is not an estimator or a model selection.
    sklearn.exceptions.NotFittedError
        When it is not fitted (a ValueError).
    ValueError
        When ``X`` does not fit the model.
    """
    from emkit.report.content import page_of
    from emkit.report.html import render

    return render(page_of(estimator, X, lengths=lengths, title=title))


def write_report(
    estimator: Any,
    path: str | os.PathLike[str],
    X: Any = None,
    *,
    lengths: Any = None,
    title: str | None = None,
) -> pathlib.Path:
    """Write :func:`build_report` of ``estimator`` (and ``X``, ``lengths``, ``title``) to
    ``path``, atomically: a reader sees the old file or the whole new one.

    Returns
    -------
    pathlib.Path
        The resolved path written.

    Raises
    ------
    OSError
        When ``path`` cannot be written (its folder missing, read-only, ...), naming it.
    """
    from emkit.report.html import write_text

    return write_text(build_report(estimator, X, lengths=lengths, title=title), path)
