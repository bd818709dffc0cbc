"""CSR matrices for the EM driver, whose batches are cut from dense arrays.

The driver is given the positions of the rows, an (n_samples, 1) integer array that it cuts
into chunks like any array (and counts, weights and threads as usual); :class:`OnCSRRows`
hands the model the CSR rows at the positions of each chunk. The matrix is never densified
nor copied whole: a chunk of consecutive positions is a slice of consecutive rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True, eq=False)
class OnCSRRows:
    """``model`` fitted to the rows of the CSR matrix ``rows``, with the driver's data the
    row positions :meth:`positions`.

    Parameters
    ----------
    model : LatentModel
        A model whose ``init``, ``e_step`` and ``log_prob`` take CSR rows.
    rows : scipy.sparse CSR matrix or array of shape (n_samples, n_features)
    """

    model: Any
    rows: Any

    def __post_init__(self) -> None:
        if not (sp.issparse(self.rows) and self.rows.format == "csr"):
            raise ValueError(f"OnCSRRows needs a CSR matrix, got {type(self.rows).__name__}")

    @property
    def monotone(self) -> bool:
        return self.model.monotone

    def positions(self) -> np.ndarray:
        """What the driver is given in place of the rows: shape (n_samples, 1)."""
        return np.arange(self.rows.shape[0], dtype=np.intp)[:, None]

    def rows_at(self, positions: np.ndarray) -> Any:
        """The CSR rows at ``positions`` (m, 1)."""
        p = np.asarray(positions).ravel()
        if p.size and np.array_equal(p, np.arange(p[0], p[0] + p.size)):
            return self.rows[int(p[0]) : int(p[0]) + p.size]
        return self.rows[p]

    def init(
        self,
        positions: np.ndarray,
        random_state: np.random.RandomState,
        sample_weight: np.ndarray | None = None,
    ) -> Any:
        return self.model.init(self.rows_at(positions), random_state, sample_weight)

    def e_step(
        self,
        params: Any,
        positions: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        hard: bool = False,
    ) -> tuple[Any, float]:
        return self.model.e_step(params, self.rows_at(positions), sample_weight, hard=hard)

    def m_step(self, stats: Any, params: Any) -> Any:
        return self.model.m_step(stats, params)

    def log_prob(self, params: Any, positions: np.ndarray) -> np.ndarray:
        return self.model.log_prob(params, self.rows_at(positions))
