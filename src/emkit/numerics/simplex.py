"""Probability vectors: the Dirichlet posterior-mode rule and the softmax."""

from __future__ import annotations

import numpy as np


def dirichlet_mode(
    counts: np.ndarray,
    prior: float | np.ndarray,
    previous: np.ndarray,
    empty: np.ndarray | None = None,
    *,
    keep_zeros: bool = False,
) -> np.ndarray:
    """Probabilities ``max(prior - 1 + counts, 0)`` normalised over the last axis.

    The posterior mode under a Dirichlet(``prior``) prior where it is interior (``prior =
    1``: maximum likelihood), the rule of hmmlearn's M-steps.

    Parameters
    ----------
    counts : ndarray of shape (n_components, ..., n_categories)
        Weighted counts; entries that are no category must be masked out by the caller.
    prior : float or ndarray broadcasting to ``counts``
        Dirichlet concentrations.
    previous : ndarray, same shape as ``counts``
        Probabilities kept where the rule has nothing to normalise (all entries clipped to
        zero, which ``prior < 1`` allows) and for empty components.
    empty : ndarray of shape (n_components,) of bool, optional
        Components with no weight.
    keep_zeros : bool, default=False
        Whether probabilities that are exactly zero in ``previous`` stay zero (structural
        zeros, such as the forbidden transitions of a left-to-right chain), whatever the prior.
    """
    clipped = np.maximum(counts + (np.asarray(prior, dtype=np.float64) - 1.0), 0.0)
    if keep_zeros:
        clipped = np.where(previous == 0, 0.0, clipped)
    total = clipped.sum(axis=-1, keepdims=True)
    keep = total <= 0.0
    if empty is not None:
        keep = keep | empty.reshape((-1,) + (1,) * (counts.ndim - 1))
    return np.where(keep, previous, clipped / np.where(keep, 1.0, total))


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """``exp(logits)`` normalised over the last axis; ``-inf`` entries give zeros."""
    top = logits.max(axis=-1, keepdims=True)
    weights = np.exp(logits - np.where(np.isfinite(top), top, 0.0))
    return weights / weights.sum(axis=-1, keepdims=True)
