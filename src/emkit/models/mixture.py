"""The mixture structure: K components of one family, mixed by weights.

The structure supplies the weights of the samples (the responsibilities); the family turns
weighted samples into statistics and parameters. Any family with ``log_prob``, ``stats``,
``m_step`` and ``from_responsibilities`` is a mixture component with no extra code.

Semi-supervised fits: data given as :class:`emkit.core.batches.Labelled` rows fixes the
responsibilities of every row of known component to the one-hot of its label, in every
E-step and in the initial partition. The bound is then the log-likelihood of the unlabelled
rows plus the complete-data log-likelihood ``log w_k + log p(x | k)`` of the labelled ones,
which EM still never lowers: it is the log-likelihood of the data and the known labels.

Frozen components: ``frozen_components`` names components whose family parameters the
M-step keeps as they are, while the other components (and the weights, unless frozen too)
move.

Missing values: a family that declares ``allows_missing`` (the Gaussian, the Student-t, the
discrete families) takes rows with NaN cells in its E-step. The starting point is then
computed from the rows with every missing cell replaced by the (weighted) mean of its
column's observed values: the initializer (k-means, ...) and the first M-step see completed
rows, since complete rows alone may be few (with 30 % of cells missing at random, 6 % of the
rows of 8 features are complete). EM itself then treats those cells as missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

from emkit.core.batches import DEFAULT_CHUNK_SIZE, Labelled, label_groups, split_labels
from emkit.core.stats import Additive
from emkit.numerics.logspace import normalize_log_rows, responsibilities, safe_log


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
    frozen_components : frozenset of int
        Components whose family parameters the M-step keeps as they are (their weights are
        still re-estimated unless ``frozen`` holds 'weights'). Every field of the family's
        parameters that the M-step changes must have a leading component axis, and the
        family must share no parameter between components (its ``n_parameters`` must be
        additive over components): a tied covariance, for one, cannot be frozen for one
        component alone. The frozen values are those the fit starts from: given
        parameters or a warm start.

    Data may be :class:`emkit.core.batches.Labelled`: rows with a known component (see the
    module documentation).
    """

    family: Any
    n_components: int
    initializer: Initializer | None = None
    frozen: frozenset[str] = frozenset()
    chunk_size: int | None = None
    frozen_components: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if set(self.frozen) - {"weights"}:
            raise ValueError(f"a mixture can freeze only 'weights', got {sorted(self.frozen)}")
        indices = list(self.frozen_components)
        if any(
            isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)) for i in indices
        ) or not all(0 <= i < self.n_components for i in indices):
            raise ValueError(
                f"frozen_components must be component indices in 0..{self.n_components - 1}, "
                f"got {sorted(indices, key=repr)!r}"
            )
        object.__setattr__(self, "frozen_components", frozenset(int(i) for i in indices))

    @property
    def monotone(self) -> bool:
        """Whether every M-step is exact (the bound can then never decrease)."""
        return getattr(self.family, "monotone", True)

    @property
    def allows_missing(self) -> bool:
        """Whether rows may hold NaN cells, missing values: when the family says its E-step
        conditions on the observed cells (``allows_missing``; the Gaussian family does, for one)."""
        return bool(getattr(self.family, "allows_missing", False))

    @property
    def accepts_sparse(self) -> bool:
        """Whether batches may be CSR matrices: when the family says it scores and sums them
        (``accepts_sparse``; the multinomial family does)."""
        return bool(getattr(self.family, "accepts_sparse", False))

    def bound_offset(self, params: MixtureParams) -> float:
        """The family's log prior density at ``params`` (0 for a family without a prior, or
        one written without ``log_prior``). The driver adds it once to the summed
        log-likelihood of every pass, so that with a prior the bound is the log posterior,
        which the family's posterior-mode M-step never lowers."""
        log_prior = getattr(self.family, "log_prior", None)
        return 0.0 if log_prior is None else float(log_prior(params.components))

    # -- the model contract -------------------------------------------------------------
    def init(
        self,
        X: np.ndarray,
        random_state: np.random.RandomState,
        sample_weight: np.ndarray | None = None,
    ) -> MixtureParams:
        """Parameters from the initializer's labels or responsibilities (one M-step from
        scratch, over row chunks so that ``X`` is never copied whole).

        With :class:`~emkit.core.batches.Labelled` data the initializer's components are
        first matched to the labels (the assignment that agrees with most labelled rows),
        then every labelled row is given wholly to its own component.

        When the family allows missing values, NaN cells are first replaced by their
        column's mean (see the module documentation).
        """
        if self.initializer is None:
            raise ValueError("this mixture has no initializer: start the fit from parameters")
        X, labels = self.unpack(X)
        if sp.issparse(X) and not self.accepts_sparse:
            raise TypeError(
                f"the {type(self.family).__name__} family needs dense rows, and the data is a "
                "sparse matrix: give X.toarray(), or a family that takes sparse rows "
                "(accepts_sparse = True)"
            )
        self.check_frozen_components(X.shape[1])
        # The initializer (k-means, ...) reads whole rows: missing cells at their column's
        # mean. The family's first M-step reads the cells as they are, NaN included.
        whole = X
        if self.allows_missing and not sp.issparse(X):
            whole = mean_imputed(X, sample_weight)
        k = self.n_components
        start = initial_assignment(self.initializer, whole, k, random_state, sample_weight)
        if labels is not None:
            start = _respect_labels(start, labels, sample_weight, k)
        if start.ndim == 1:
            nk = np.bincount(start, weights=sample_weight, minlength=k).astype(np.float64)
        else:
            nk = start.sum(axis=0) if sample_weight is None else sample_weight @ start

        chunks = weighted_chunks(X, start, k, sample_weight, self.chunk_size)
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

        ``X`` may be :class:`~emkit.core.batches.Labelled`: a labelled row then has the
        one-hot responsibilities of its label and adds ``log w_k + log p(x | k)`` to the
        log-likelihood.
        """
        fused = getattr(self.family, "mixture_e_step", None)
        if fused is None:
            return self.e_step_reference(params, X, sample_weight, hard=hard)
        X, labels = self.unpack(X)
        log_weights = safe_log(params.weights)
        if labels is None:
            components, loglik = fused(params.components, log_weights, X, sample_weight, hard)
            return MixtureStats(components.sum_w, components), loglik
        # The rows of a known component k form a mixture in which only k is possible (every
        # other log-weight -inf): the same compiled pass then gives them one-hot
        # responsibilities, and with k's log-weight set to 0 their log p(x | k); the weight's
        # share, log w_k per unit of sample weight, is added here.
        total, loglik = None, 0.0
        for label, rows in label_groups(labels):
            w = None if sample_weight is None else sample_weight[rows]
            if label < 0:
                group_log_weights = log_weights
            else:
                group_log_weights = np.full_like(log_weights, -np.inf)
                group_log_weights[label] = 0.0
            components, group_loglik = fused(params.components, group_log_weights, X[rows], w, hard)
            if label >= 0:
                mass = float(rows.size if w is None else w.sum())
                if mass > 0:  # rows of no weight count for nothing, even impossible ones
                    group_loglik += mass * log_weights[label]
            total = components if total is None else total + components
            loglik += group_loglik
        assert total is not None
        return MixtureStats(total.sum_w, total), float(loglik)

    def e_step_reference(
        self,
        params: MixtureParams,
        X: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        hard: bool = False,
    ) -> tuple[MixtureStats, float]:
        """:meth:`e_step` through the family's ``log_prob`` and ``stats``, one step at a time."""
        X, labels = self.unpack(X)
        X = _float_rows(X)
        resp, loglik = responsibilities(self.log_joint(params, X), sample_weight, hard, labels)
        if self.allows_missing and not sp.issparse(X) and X.size and np.isnan(X.min()):
            # A row with nothing observed is no data: no weight, as in the family's own pass
            # (its log-likelihood, 0 in soft EM, is left out below in hard EM too).
            empty = np.isnan(X).all(axis=1)
            if hard and empty.any():
                w = np.ones(X.shape[0]) if sample_weight is None else sample_weight
                loglik -= float(w[empty] @ np.max(self.log_joint(params, X[empty]), axis=1))
            resp[empty] = 0.0
        stats = MixtureStats(resp.sum(axis=0), self.family.stats(params.components, X, resp))
        return stats, loglik

    def m_step(self, stats: MixtureStats, params: MixtureParams) -> MixtureParams:
        """New weights and component parameters; frozen components keep theirs.

        Raises
        ------
        ValueError
            When components are frozen and a parameter the family's M-step changed has no
            leading component axis (it is shared between components).
        """
        if "weights" in self.frozen:
            weights = params.weights
        else:
            weights = stats.sum_w / stats.sum_w.sum()
        components = self.family.m_step(stats.components, params.components)
        return MixtureParams(weights, self._keep_frozen(components, params.components))

    def log_prob(self, params: MixtureParams, X: np.ndarray) -> np.ndarray:
        """``log p(x_i)``, shape (n_samples,)."""
        return normalize_log_rows(self.log_joint(params, _float_rows(X)))[1]

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
        # Frozen components are taken from ``like`` as they are: their coordinates do not
        # move, but the way back through them (exp, Cholesky products) is not exact.
        if "weights" in self.frozen:
            components = from_family(vector, like.components)
            return MixtureParams(like.weights, self._keep_frozen(components, like.components))
        k = np.shape(like.weights)[0]
        if vector.size < k:
            raise ValueError("the coordinate vector is shorter than the mixture weights")
        weights = np.exp(vector[:k] - np.max(vector[:k]))
        weights /= weights.sum()
        components = from_family(vector[k:], like.components)
        return MixtureParams(weights, self._keep_frozen(components, like.components))

    def _family_method(self, name: str) -> Callable[..., Any]:
        method = getattr(self.family, name, None)
        if not callable(method):
            raise TypeError(
                f"the mixture's family {type(self.family).__name__} has no {name}, so its "
                "parameters have no unconstrained coordinates (needed by accelerate='squarem')"
            )
        return method

    # -- labels and frozen components ------------------------------------------------------
    def unpack(self, data: np.ndarray | Labelled) -> tuple[np.ndarray, np.ndarray | None]:
        """The rows of ``data`` and their labels, shape (n_samples,), checked against the
        number of components; None for plain data or when no row is labelled.

        Raises
        ------
        ValueError
            When a label is outside ``-1..n_components - 1``.
        """
        X, labels = split_labels(data)
        if labels is None or labels.size == 0:
            return X, None
        top = int(labels.max())
        if top >= self.n_components:
            raise ValueError(
                f"labels must lie in -1..{self.n_components - 1} (-1 for a row of unknown "
                f"component, else its component among the {self.n_components}), got {top}"
            )
        return X, (labels if top >= 0 else None)

    def check_frozen_components(self, n_features: int) -> None:
        """Raise ValueError when some components are frozen but the family shares parameters
        between components (its ``n_parameters`` over ``n_features`` features is not
        additive over components), so that one cannot be held while the others move.

        For families without ``n_parameters``, or whose count needs what only the data tell,
        only the shapes of the parameters are checked, at every M-step (see :meth:`m_step`).
        """
        k = self.n_components
        count = getattr(self.family, "n_parameters", None)
        if not self.frozen_components or k < 2 or not callable(count):
            return
        try:
            whole, one = int(count(k, n_features)), int(count(1, n_features))
        except ValueError:
            return
        if whole != k * one:
            raise ValueError(
                f"frozen_components: the {type(self.family).__name__} family shares parameters "
                f"between components ({whole} free parameters for {k} components, not "
                f"{k} x {one}), so one component cannot be frozen while the others move; "
                "choose a structure in which every component has its own parameters (e.g. "
                "'full', 'diag' or 'spherical' covariances)"
            )

    def _keep_frozen(self, new: Any, old: Any) -> Any:
        """``new`` family parameters with the frozen components' entries taken from ``old``."""
        if not self.frozen_components:
            return new
        if not is_dataclass(new) or isinstance(new, type):
            raise TypeError(
                "frozen_components needs the family's parameters to be a dataclass of arrays, "
                f"got {type(new).__name__}"
            )
        k = self.n_components
        frozen = np.array(sorted(self.frozen_components))
        kept = {}
        for f in fields(new):
            value, previous = getattr(new, f.name), getattr(old, f.name)
            if value is previous:
                continue
            value, previous = np.asarray(value), np.asarray(previous)
            if value.ndim == 0 or value.shape[0] != k or previous.shape != value.shape:
                if np.array_equal(value, previous):
                    continue  # unchanged, like a family's fixed sizes: nothing to keep
                raise ValueError(
                    f"frozen_components: the family's parameter {f.name!r} of shape "
                    f"{value.shape} has no leading axis of the {k} components, so it is "
                    "shared between them and no component can be frozen alone"
                )
            merged = np.array(value, copy=True)
            merged[frozen] = previous[frozen]
            kept[f.name] = merged
        return replace(new, **kept)

    # -- beyond the contract ------------------------------------------------------------
    def log_joint(self, params: MixtureParams, X: np.ndarray) -> np.ndarray:
        """``log p(x_i, z_i = k)``, shape (n_samples, n_components)."""
        log_joint = self.family.log_prob(params.components, X)
        log_joint += safe_log(params.weights)
        return log_joint

    def predict_proba(self, params: MixtureParams, X: np.ndarray) -> np.ndarray:
        """Responsibilities ``p(z_i = k | x_i)``, shape (n_samples, n_components)."""
        return normalize_log_rows(self.log_joint(params, _float_rows(X)))[0]

    def n_parameters(self, n_features: int) -> int:
        """Free parameters: those of the components that are not frozen plus K - 1 weights."""
        free_weights = 0 if "weights" in self.frozen else self.n_components - 1
        free_components = self.n_components - len(self.frozen_components)
        return self.family.n_parameters(free_components, n_features) + free_weights

    def sample(
        self, params: MixtureParams, n_samples: int, random_state: np.random.RandomState
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` samples and their component labels."""
        counts = random_state.multinomial(n_samples, params.weights)
        X = self.family.sample(params.components, counts, random_state)
        return X, np.repeat(np.arange(self.n_components), counts)


def _respect_labels(
    start: np.ndarray, labels: np.ndarray, sample_weight: np.ndarray | None, k: int
) -> np.ndarray:
    """An initializer's ``start`` (labels (n,) or responsibilities (n, k)) with its
    components renamed to agree with the known ``labels`` (n,) as far as they can (the
    assignment of most labelled weight), and every labelled row given to its label."""
    known = np.flatnonzero(labels >= 0)
    w = np.ones(known.size) if sample_weight is None else sample_weight[known]
    # agreement[c, l]: weight of the rows labelled l that the initializer puts in c.
    agreement = np.zeros((k, k))
    if start.ndim == 1:
        np.add.at(agreement, (start[known], labels[known]), w)
    else:
        np.add.at(agreement.T, labels[known], start[known] * w[:, None])
    clusters, targets = linear_sum_assignment(agreement, maximize=True)
    rename = np.empty(k, dtype=np.int64)
    rename[clusters] = targets
    if start.ndim == 1:
        out = rename[start]
        out[known] = labels[known]
    else:
        out = np.empty(start.shape, dtype=np.float64)
        out[:, rename] = start
        out[known] = 0.0
        out[known, labels[known]] = 1.0
    return out


def mean_imputed(X: np.ndarray, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """``X`` (n_samples, n_features) with every NaN replaced by the (weighted) mean of the
    observed values of its column; ``X`` itself when it holds no NaN.

    Raises
    ------
    ValueError
        When a column has no observed value (of positive weight): nothing tells where it
        starts.
    """
    X = np.asarray(X)
    if X.dtype.kind != "f" or not (X.size and np.isnan(X.min())):
        return X
    missing = np.isnan(X)
    w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, np.float64)
    seen = w @ ~missing
    empty = np.flatnonzero(seen <= 0)
    if empty.size:
        raise ValueError(
            f"column {int(empty[0])} of the data has no observed value (every cell NaN, or of "
            "zero weight): a mixture cannot start from it; drop the column"
        )
    means = (w @ np.where(missing, 0.0, X)) / seen
    return np.where(missing, means.astype(X.dtype), X)


def initial_assignment(
    initializer: Initializer,
    X: np.ndarray,
    n_components: int,
    random_state: np.random.RandomState,
    sample_weight: np.ndarray | None,
) -> np.ndarray:
    """The initializer's start for ``X`` (n_samples, n_features), checked: labels of shape
    (n_samples,) in ``0 .. n_components - 1``, or responsibilities of shape (n_samples,
    n_components)."""
    k, n = n_components, X.shape[0]
    start = np.asarray(initializer(X, k, random_state, sample_weight))
    if start.shape == (n,):
        if start.dtype.kind not in "iu" or start.min() < 0 or start.max() >= k:
            raise ValueError(f"the initializer returned labels outside 0..{k - 1}")
    elif start.shape != (n, k):
        raise ValueError(
            f"the initializer returned an array of shape {start.shape}; "
            f"expected labels ({n},) or responsibilities ({n}, {k})"
        )
    return start


def weighted_chunks(
    X: np.ndarray,
    start: np.ndarray,
    n_components: int,
    sample_weight: np.ndarray | None,
    chunk_size: int | None,
) -> Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]:
    """A re-iterable of ``(rows, weights)`` chunks of ``X`` (float64) with the weights
    (chunk, n_components) of a start (:func:`initial_assignment`) times the sample weights:
    what a family needs to estimate its parameters from scratch without copying ``X``
    whole."""
    n, k = X.shape[0], n_components
    step = chunk_size or DEFAULT_CHUNK_SIZE

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
            yield _float_rows(X[lo:hi]), resp

    return chunks


def _float_rows(X: Any) -> Any:
    """Rows as float64, except CSR rows, which go to the family as they are (only a family
    that accepts sparse rows gets them, and it reads them in its own way)."""
    return X if sp.issparse(X) else np.asarray(X, dtype=np.float64)
