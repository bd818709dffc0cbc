"""The mixture structure: K components of one family, mixed by weights.

The structure supplies the weights of the samples (the responsibilities); the family turns
weighted samples into statistics and parameters. Any family with ``log_prob``, ``stats``,
``m_step`` and ``from_responsibilities`` is a mixture component with no extra code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from emkit.core.batches import DEFAULT_CHUNK_SIZE
from emkit.core.stats import Additive
from emkit.numerics.logspace import normalize_log_rows, safe_log


@dataclass(frozen=True, eq=False)
class MixtureParams:
    """Mixture parameters.

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
        Mixing proportions, summing to one.
    components : object
        The family's parameters for all K components.
    """

    weights: np.ndarray
    components: Any


@dataclass(frozen=True, eq=False)
class MixtureStats(Additive):
    """Mixture statistics.

    Attributes
    ----------
    sum_w : ndarray of shape (n_components,)
        Summed (weighted) responsibilities.
    components : object
        The family's statistics.
    """

    sum_w: np.ndarray
    components: Any


Initializer = Callable[[np.ndarray, int, np.random.RandomState, "np.ndarray | None"], np.ndarray]


@dataclass(frozen=True)
class Mixture:
    """A finite mixture of ``n_components`` members of ``family``.

    Parameters
    ----------
    family : object
        The component family (e.g. :class:`emkit.families.gaussian.Gaussian`).
    n_components : int
        Number of components K.
    initializer : callable or None
        ``(X, n_components, random_state, sample_weight) -> start``: initial labels of shape
        (n_samples,) or responsibilities of shape (n_samples, n_components);
        :func:`emkit.models.initialization.initializer`
        gives the named ones ('kmeans', 'k-means++', 'random', 'random_from_data'). None when
        the fit always starts from given parameters.
    frozen : frozenset of {'weights'}
        Mixture-level parameters the M-step keeps as they are (the family has its own).
    chunk_size : int, optional
        Rows per batch when initial parameters are computed.
    """

    family: Any
    n_components: int
    initializer: Initializer | None = None
    frozen: frozenset[str] = frozenset()
    chunk_size: int | None = None

    def __post_init__(self) -> None:
        if set(self.frozen) - {"weights"}:
            raise ValueError(f"a mixture can freeze only 'weights', got {sorted(self.frozen)}")

    @property
    def monotone(self) -> bool:
        """Whether every M-step is exact (the bound can then never decrease)."""
        return getattr(self.family, "monotone", True)

    # -- the model contract -------------------------------------------------------------
    def init(
        self,
        X: np.ndarray,
        random_state: np.random.RandomState,
        sample_weight: np.ndarray | None = None,
    ) -> MixtureParams:
        """Parameters from the initializer's labels or responsibilities (one M-step from
        scratch, over row chunks so that ``X`` is never copied whole)."""
        if self.initializer is None:
            raise ValueError("this mixture has no initializer: start the fit from parameters")
        k = self.n_components
        start = np.asarray(self.initializer(X, k, random_state, sample_weight))
        n = X.shape[0]
        if start.shape == (n,):
            if start.dtype.kind not in "iu" or start.min() < 0 or start.max() >= k:
                raise ValueError(f"the initializer returned labels outside 0..{k - 1}")
            nk = np.bincount(start, weights=sample_weight, minlength=k).astype(np.float64)
        elif start.shape == (n, k):
            nk = start.sum(axis=0) if sample_weight is None else sample_weight @ start
        else:
            raise ValueError(
                f"the initializer returned an array of shape {start.shape}; "
                f"expected labels ({n},) or responsibilities ({n}, {k})"
            )

        step = self.chunk_size or DEFAULT_CHUNK_SIZE

        def chunks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for lo in range(0, n, step):
                hi = min(lo + step, n)
                part = start[lo:hi]
                if part.ndim == 1:
                    resp = np.zeros((hi - lo, k))
                    resp[np.arange(hi - lo), part] = 1.0
                else:
                    resp = np.array(part, dtype=np.float64)
                if sample_weight is not None:
                    resp *= sample_weight[lo:hi, None]
                yield np.asarray(X[lo:hi], dtype=np.float64), resp

        return MixtureParams(nk / nk.sum(), self.family.from_responsibilities(chunks))

    def e_step(
        self,
        params: MixtureParams,
        X: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        hard: bool = False,
    ) -> tuple[MixtureStats, float]:
        """Statistics and summed log-likelihood of one batch ``X`` (n_samples, n_features).

        A family that offers ``mixture_e_step`` (a compiled pass doing it all at once, e.g.
        the Gaussian family) is used through it; :meth:`e_step_reference` is the plain path
        it is tested against, and serves every other family.
        """
        fused = getattr(self.family, "mixture_e_step", None)
        if fused is None:
            return self.e_step_reference(params, X, sample_weight, hard=hard)
        components, loglik = fused(
            params.components, safe_log(params.weights), X, sample_weight, hard
        )
        return MixtureStats(components.sum_w, components), loglik

    def e_step_reference(
        self,
        params: MixtureParams,
        X: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        hard: bool = False,
    ) -> tuple[MixtureStats, float]:
        """:meth:`e_step` through the family's ``log_prob`` and ``stats``, one step at a time."""
        X = np.asarray(X, dtype=np.float64)
        log_joint = self.log_joint(params, X)
        if hard:
            labels = np.argmax(log_joint, axis=1)
            log_norm = log_joint[np.arange(X.shape[0]), labels]
            resp = np.zeros_like(log_joint)
            resp[np.arange(X.shape[0]), labels] = 1.0
        else:
            resp, log_norm = normalize_log_rows(log_joint)
        if sample_weight is not None:
            resp *= sample_weight[:, None]
            dropped = sample_weight == 0
            if dropped.any():  # rows of no weight count for nothing, even impossible ones
                resp[dropped] = 0.0
                log_norm = np.where(dropped, 0.0, log_norm)
            loglik = float(sample_weight @ log_norm)
        else:
            loglik = float(log_norm.sum())
        stats = MixtureStats(resp.sum(axis=0), self.family.stats(params.components, X, resp))
        return stats, loglik

    def m_step(self, stats: MixtureStats, params: MixtureParams) -> MixtureParams:
        """New weights and component parameters."""
        if "weights" in self.frozen:
            weights = params.weights
        else:
            weights = stats.sum_w / stats.sum_w.sum()
        return MixtureParams(weights, self.family.m_step(stats.components, params.components))

    def log_prob(self, params: MixtureParams, X: np.ndarray) -> np.ndarray:
        """``log p(x_i)``, shape (n_samples,)."""
        return normalize_log_rows(self.log_joint(params, np.asarray(X, dtype=np.float64)))[1]

    # -- unconstrained coordinates (for SQUAREM, emkit.core.acceleration) ------------------
    def to_unconstrained(self, params: MixtureParams) -> np.ndarray:
        """Coordinates in which every vector gives valid parameters, shape (n,), float64: the
        log-weights (left out when the weights are frozen), then the family's coordinates.

        A weight of zero has no finite coordinate (its log is -inf); the accelerator then
        takes a plain EM step.
        """
        components = self._family_method("to_unconstrained")(params.components)
        if "weights" in self.frozen:
            return np.asarray(components, dtype=np.float64)
        with np.errstate(divide="ignore"):
            log_weights = np.log(np.asarray(params.weights, dtype=np.float64))
        return np.concatenate([log_weights, np.asarray(components, dtype=np.float64)])

    def from_unconstrained(self, vector: np.ndarray, like: MixtureParams) -> MixtureParams:
        """Parameters at unconstrained coordinates ``vector`` (see :meth:`to_unconstrained`),
        shaped like ``like``; the weights are the softmax of the log-weights."""
        vector = np.asarray(vector, dtype=np.float64)
        from_family = self._family_method("from_unconstrained")
        if "weights" in self.frozen:
            return MixtureParams(like.weights, from_family(vector, like.components))
        k = np.shape(like.weights)[0]
        if vector.size < k:
            raise ValueError("the coordinate vector is shorter than the mixture weights")
        weights = np.exp(vector[:k] - np.max(vector[:k]))
        weights /= weights.sum()
        return MixtureParams(weights, from_family(vector[k:], like.components))

    def _family_method(self, name: str) -> Callable[..., Any]:
        method = getattr(self.family, name, None)
        if not callable(method):
            raise TypeError(
                f"the mixture's family {type(self.family).__name__} has no {name}, so its "
                "parameters have no unconstrained coordinates (needed by accelerate='squarem')"
            )
        return method

    # -- beyond the contract ------------------------------------------------------------
    def log_joint(self, params: MixtureParams, X: np.ndarray) -> np.ndarray:
        """``log p(x_i, z_i = k)``, shape (n_samples, n_components)."""
        log_joint = self.family.log_prob(params.components, X)
        log_joint += safe_log(params.weights)
        return log_joint

    def predict_proba(self, params: MixtureParams, X: np.ndarray) -> np.ndarray:
        """Responsibilities ``p(z_i = k | x_i)``, shape (n_samples, n_components)."""
        return normalize_log_rows(self.log_joint(params, np.asarray(X, dtype=np.float64)))[0]

    def n_parameters(self, n_features: int) -> int:
        """Free parameters: component parameters plus K - 1 weights."""
        free_weights = 0 if "weights" in self.frozen else self.n_components - 1
        return self.family.n_parameters(self.n_components, n_features) + free_weights

    def sample(
        self, params: MixtureParams, n_samples: int, random_state: np.random.RandomState
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` samples and their component labels."""
        counts = random_state.multinomial(n_samples, params.weights)
        X = self.family.sample(params.components, counts, random_state)
        return X, np.repeat(np.arange(self.n_components), counts)
