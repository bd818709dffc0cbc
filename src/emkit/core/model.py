"""The contract every latent-variable model keeps (DESIGN.md, "The contract")."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class LatentModel(Protocol):
    """A small, pure description of a latent-variable model.

    ``params`` and ``stats`` are frozen dataclasses of named arrays; ``stats`` support ``+``
    (see :class:`emkit.core.stats.Additive`), which is what lets one driver fit in memory,
    over chunks or on a cluster with identical results.

    Optional attribute ``monotone`` (default True): False when the M-step is not an exact
    maximiser (e.g. a covariance floor), so that the driver records decreases of the bound
    without warning about them.

    Optional method ``bound_offset(params) -> float``: the part of the summed bound that
    depends on the parameters alone (a variational model's divergences from its priors); the
    driver adds it once per pass to the batches' summed bounds.
    """

    def init(
        self,
        X: np.ndarray,
        random_state: np.random.RandomState,
        sample_weight: np.ndarray | None = None,
    ) -> Any:
        """Starting parameters from data ``X`` of shape (n_samples, n_features)."""

    def e_step(
        self,
        params: Any,
        X: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        hard: bool = False,
    ) -> tuple[Any, float]:
        """Expected sufficient statistics of one batch and its (weighted) summed
        log-likelihood. With ``hard=True`` the latent variables are set to their most
        probable values (classification EM) and the classification log-likelihood is
        returned."""

    def m_step(self, stats: Any, params: Any) -> Any:
        """New parameters from summed statistics; ``params`` are those the statistics
        were computed under."""

    def log_prob(self, params: Any, X: np.ndarray) -> np.ndarray:
        """Per-sample log-likelihood, shape (n_samples,)."""
