"""The hidden Markov structure: a chain of K hidden states, each emitting from one family.

The structure supplies the weights of the samples (the state posteriors of forward-backward);
the family turns weighted samples into statistics and parameters, exactly as in a mixture.
Any family that is a mixture component (``log_prob``, ``stats``, ``m_step``,
``from_responsibilities``) is therefore an emission distribution with no extra code.

Data are :class:`emkit.core.batches.Sequences`; the driver cuts them into batches of whole
sequences, so the statistics of a batch (expected start counts, transition counts and the
family's statistics) add up over batches like any other.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from emkit.core.batches import Sequences
from emkit.core.stats import Additive
from emkit.models.hmm_kernels import forward_backward, viterbi
from emkit.models.mixture import Initializer, Mixture
from emkit.numerics.logspace import safe_log
from emkit.numerics.simplex import dirichlet_mode, softmax_rows


@dataclass(frozen=True, eq=False)
class HMMParams:
    """Hidden Markov model parameters.

    Attributes
    ----------
    startprob : ndarray of shape (n_components,)
        Distribution of the first state of every sequence.
    transmat : ndarray of shape (n_components, n_components)
        ``transmat[i, j]`` = p(next state j | state i); rows sum to one.
    emissions : object
        The family's parameters for all K states.
    """

    startprob: np.ndarray
    transmat: np.ndarray
    emissions: Any


@dataclass(frozen=True, eq=False)
class HMMStats(Additive):
    """Expected counts of the hidden chain, and the family's statistics.

    Attributes
    ----------
    start : ndarray of shape (n_components,)
        Expected (weighted) number of sequences that start in every state.
    trans : ndarray of shape (n_components, n_components)
        Expected (weighted) number of transitions from every state to every state.
    emissions : object
        The family's statistics of the samples weighted by their state posteriors.
    """

    start: np.ndarray
    trans: np.ndarray
    emissions: Any


FROZEN_CHOICES = frozenset({"startprob", "transmat", "emissions"})


@dataclass(frozen=True)
class HMM:
    """A hidden Markov model with ``n_components`` states emitting from ``family``.

    Parameters
    ----------
    family : object
        The emission family (e.g. :class:`emkit.families.gaussian.Gaussian`).
    n_components : int
        Number of hidden states K.
    initializer : callable or None
        Initial emission parameters come from the labels or responsibilities it gives for
        the samples (as in :class:`emkit.models.mixture.Mixture`); None when fits always
        start from given parameters.
    startprob_prior, transmat_prior : float or ndarray, default=1.0
        Concentrations of Dirichlet priors on the start distribution (shape (K,)) and on every
        row of the transition matrix (shape (K, K)); the M-step gives the posterior mode
        ``max(prior - 1 + counts, 0)``, normalised. 1.0 is maximum likelihood.
    frozen : frozenset of {'startprob', 'transmat', 'emissions'}
        Parameters the M-step keeps as they are: chain parameters, and the emission
        parameters as a whole (a family may also freeze some of its own).
    chunk_size : int, optional
        Rows per batch when initial emission parameters are computed.
    refuse_underflow : bool, default=False
        Raise ValueError for a sample whose emission probability underflows to zero in
        floating point (its log below about -745) in every state, where forward-backward
        in probability space without a per-step shift, hmmlearn's
        ``implementation='scaling'``, fails. Forward-backward here shifts every step in
        log space and needs no such refusal; it is there to reproduce that behaviour.

    Notes
    -----
    Probabilities that are exactly zero stay zero (structural zeros: a left-to-right
    topology keeps its shape), whatever the priors.

    The bound the driver records is the log-likelihood plus the log prior density of the
    parameters (:meth:`bound_offset`), the objective that EM with priors (MAP-EM) ascends;
    without priors it is the log-likelihood.
    """

    family: Any
    n_components: int
    initializer: Initializer | None = None
    startprob_prior: float | np.ndarray = 1.0
    transmat_prior: float | np.ndarray = 1.0
    frozen: frozenset[str] = frozenset()
    chunk_size: int | None = None
    refuse_underflow: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.frozen) - FROZEN_CHOICES
        if unknown:
            raise ValueError(
                f"unknown frozen HMM parameters {sorted(unknown)}; "
                f"choose from {sorted(FROZEN_CHOICES)} (single emission parameters are frozen "
                "in the family)"
            )
        k = self.n_components
        for name, shape in (("startprob_prior", (k,)), ("transmat_prior", (k, k))):
            prior = np.asarray(getattr(self, name), dtype=np.float64)
            try:
                np.broadcast_to(prior, shape)
            except ValueError:
                raise ValueError(
                    f"{name} must be a number or broadcast to shape {shape}, got {prior.shape}"
                ) from None
            if not np.all(np.isfinite(prior)) or np.any(prior < 0):
                raise ValueError(f"{name} must hold finite non-negative values")

    @property
    def monotone(self) -> bool:
        """Whether every M-step maximises the expected objective exactly (the bound can then
        never decrease): Dirichlet concentrations of at least one on the free chain
        parameters (below one the posterior-mode rule clips probabilities to zero, which
        maximises nothing), and an exact family M-step."""
        exact_start = "startprob" in self.frozen or np.all(np.asarray(self.startprob_prior) >= 1)
        exact_trans = "transmat" in self.frozen or np.all(np.asarray(self.transmat_prior) >= 1)
        exact_emissions = "emissions" in self.frozen or getattr(self.family, "monotone", True)
        return bool(exact_start and exact_trans and exact_emissions)

    def bound_offset(self, params: HMMParams) -> float:
        """Log prior density of ``params`` up to a constant, which the driver adds once to
        the summed log-likelihood of every pass (so that the bound is MAP-EM's objective).

        The Dirichlet priors of the free chain parameters: ``sum_k (startprob_prior_k - 1)
        log startprob_k`` and the same for every row of the transition matrix, over the
        probabilities that are not zero (a zero stays zero at every M-step: a constraint,
        not a value the prior weighs); and the family's ``log_prior(emissions)`` when the
        family has one.
        """
        total = 0.0
        if "startprob" not in self.frozen:
            total += _dirichlet_log_density(params.startprob, self.startprob_prior)
        if "transmat" not in self.frozen:
            total += _dirichlet_log_density(params.transmat, self.transmat_prior)
        # Families declare their prior's density through log_prior; one without it has
        # no prior, or one whose density it does not give.
        if callable(getattr(type(self.family), "log_prior", None)):
            total += float(self.family.log_prior(params.emissions))
        return total

    # -- the model contract -------------------------------------------------------------
    def init(
        self,
        X: Sequences,
        random_state: np.random.RandomState,
        sample_weight: np.ndarray | None = None,
    ) -> HMMParams:
        """Emission parameters as a mixture would start them (from the initializer's labels
        of the samples), uniform start and transition probabilities."""
        if self.initializer is None:
            raise ValueError("this HMM has no initializer: start the fit from parameters")
        data = X.X if isinstance(X, Sequences) else np.asarray(X)
        start = Mixture(
            self.family, self.n_components, self.initializer, chunk_size=self.chunk_size
        )
        emissions = start.init(data, random_state, sample_weight).components
        k = self.n_components
        return HMMParams(np.full(k, 1.0 / k), np.full((k, k), 1.0 / k), emissions)

    def e_step(
        self,
        params: HMMParams,
        X: Sequences,
        sample_weight: np.ndarray | None = None,
        *,
        hard: bool = False,
    ) -> tuple[HMMStats, float]:
        """Forward-backward over a batch of whole sequences: expected counts, the family's
        statistics under the state posteriors, and the summed (weighted) log-likelihood.

        With ``hard=True`` (Viterbi training) every sample goes to its state on the most
        probable path, and the bound is the log-probability of those paths.
        """
        X = _as_sequences(X)
        weights = X.sequence_weights(sample_weight)
        shape = (X.X.shape[0], self.n_components)
        log_emission = self.log_emission(params, X.X, out=_scratch("emission", shape))
        offsets = X.offsets
        if hard:
            states, logliks = viterbi(
                log_emission, offsets, safe_log(params.startprob), safe_log(params.transmat)
            )
            posteriors, start, trans = self._path_counts(states, X, weights)
        else:
            self._check_underflow(log_emission)
            w = np.empty(0) if weights is None else weights
            posteriors, start, trans, logliks = forward_backward(
                log_emission,
                offsets,
                params.startprob,
                params.transmat,
                w,
                out=_scratch("posteriors", shape),
            )
        if weights is None:
            loglik = float(logliks.sum())
        else:  # a sequence of no weight counts for nothing, even an impossible one
            loglik = float(weights @ np.where(weights == 0, 0.0, logliks))
        stats = HMMStats(start, trans, self.family.stats(params.emissions, X.X, posteriors))
        return stats, loglik

    def _path_counts(
        self, states: np.ndarray, X: Sequences, weights: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One-hot posteriors (n_samples, K), start counts (K,) and transition counts (K, K)
        of given state paths, weighted by sequence."""
        k = self.n_components
        row_w = np.ones(states.size) if weights is None else np.repeat(weights, X.lengths)
        posteriors = np.zeros((states.size, k))
        posteriors[np.arange(states.size), states] = row_w
        firsts = X.offsets[:-1]
        start = np.bincount(states[firsts], weights=row_w[firsts], minlength=k)
        # A transition ends at every sample but the first of a sequence.
        ends = np.ones(states.size, dtype=bool)
        ends[firsts] = False
        pairs = states[:-1][ends[1:]] * k + states[1:][ends[1:]]
        trans = np.bincount(pairs, weights=row_w[1:][ends[1:]], minlength=k * k)
        return posteriors, start.astype(np.float64), trans.reshape(k, k).astype(np.float64)

    def m_step(self, stats: HMMStats, params: HMMParams) -> HMMParams:
        """Posterior-mode start and transition probabilities, and the family's M-step."""
        startprob = params.startprob
        if "startprob" not in self.frozen:
            startprob = dirichlet_mode(
                stats.start[None], self.startprob_prior, params.startprob[None], keep_zeros=True
            )[0]
        transmat = params.transmat
        if "transmat" not in self.frozen:
            transmat = dirichlet_mode(
                stats.trans, self.transmat_prior, params.transmat, keep_zeros=True
            )
        emissions = params.emissions
        if "emissions" not in self.frozen:
            emissions = self.family.m_step(stats.emissions, params.emissions)
        return HMMParams(startprob, transmat, emissions)

    def log_prob(self, params: HMMParams, X: Sequences) -> np.ndarray:
        """Log-likelihood of every sequence, shape (n_sequences,)."""
        X = _as_sequences(X)
        log_emission = self._check_underflow(self.log_emission(params, X.X))
        return forward_backward(
            log_emission, X.offsets, params.startprob, params.transmat, np.empty(0)
        )[3]

    # -- beyond the contract ------------------------------------------------------------
    def log_emission(
        self, params: HMMParams, X: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """``log p(x_t | z_t = k)``, shape (n_samples, n_components), C-contiguous float64;
        written into ``out`` (of that shape) when the family's ``log_prob`` takes one."""
        if out is not None and _takes_out(type(self.family)):
            return self.family.log_prob(params.emissions, X, out=out)
        return np.ascontiguousarray(self.family.log_prob(params.emissions, X), dtype=np.float64)

    def _check_underflow(self, log_emission: np.ndarray) -> np.ndarray:
        """``log_emission`` (n_samples, n_components), after the check of
        ``refuse_underflow``."""
        if self.refuse_underflow:
            top = log_emission.max(axis=1)
            with np.errstate(under="ignore"):
                lost = np.isfinite(top) & (np.exp(top) == 0.0)
            if lost.any():
                raise ValueError(
                    f"{int(lost.sum())} sample(s) have an emission probability that underflows "
                    f"to zero in every state (the largest log-probability of one is "
                    f"{top[int(np.argmax(lost))]:.6g}), which implementation='scaling' cannot "
                    "represent; use implementation='log'"
                )
        return log_emission

    def posteriors(self, params: HMMParams, X: Sequences) -> tuple[np.ndarray, np.ndarray]:
        """State posteriors ``p(z_t = k | sequence)``, shape (n_samples, n_components), and the
        log-likelihood of every sequence, shape (n_sequences,)."""
        X = _as_sequences(X)
        posteriors, _, _, logliks = forward_backward(
            self._check_underflow(self.log_emission(params, X.X)),
            X.offsets,
            params.startprob,
            params.transmat,
            np.empty(0),
        )
        return posteriors, logliks

    def viterbi(self, params: HMMParams, X: Sequences) -> tuple[np.ndarray, np.ndarray]:
        """Most probable state path, shape (n_samples,), and the joint log-probability of
        every sequence with its path, shape (n_sequences,)."""
        X = _as_sequences(X)
        return viterbi(
            self.log_emission(params, X.X),
            X.offsets,
            safe_log(params.startprob),
            safe_log(params.transmat),
        )

    def n_parameters(self, n_features: int) -> int:
        """Free parameters: the family's, plus K - 1 start and K (K - 1) transition
        probabilities (less those frozen; structural zeros are not counted as free)."""
        k = self.n_components
        n = 0 if "emissions" in self.frozen else self.family.n_parameters(k, n_features)
        if "startprob" not in self.frozen:
            n += k - 1
        if "transmat" not in self.frozen:
            n += k * (k - 1)
        return n

    def sample(
        self,
        params: HMMParams,
        n_samples: int,
        random_state: np.random.RandomState,
        currstate: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One sequence of ``n_samples`` observations and its hidden states."""
        k = self.n_components
        states = np.empty(n_samples, dtype=np.int64)
        state = random_state.choice(k, p=params.startprob) if currstate is None else int(currstate)
        cdf = np.cumsum(params.transmat, axis=1)
        for t in range(n_samples):
            if t > 0:
                state = min(
                    int(np.searchsorted(cdf[state], random_state.rand(), side="right")), k - 1
                )
            states[t] = state
        counts = np.bincount(states, minlength=k)
        by_state = self.family.sample(params.emissions, counts, random_state)
        # The family returns its samples grouped by state; put them back in time order.
        order = np.argsort(states, kind="stable")
        X = np.empty_like(by_state)
        X[order] = by_state
        return X, states

    # -- unconstrained coordinates (for SQUAREM, emkit.core.acceleration) ------------------
    def to_unconstrained(self, params: HMMParams) -> np.ndarray:
        """Log start probabilities, log transition probabilities (row by row), then the
        family's coordinates; frozen parameters are left out. A zero probability has no
        finite coordinate (structural zeros then make every cycle a plain EM step)."""
        parts = []
        with np.errstate(divide="ignore"):
            if "startprob" not in self.frozen:
                parts.append(np.log(np.asarray(params.startprob, dtype=np.float64)))
            if "transmat" not in self.frozen:
                parts.append(np.log(np.asarray(params.transmat, dtype=np.float64)).ravel())
        if "emissions" not in self.frozen:
            parts.append(np.asarray(self._family_method("to_unconstrained")(params.emissions)))
        return np.concatenate(parts).astype(np.float64, copy=False)

    def from_unconstrained(self, vector: np.ndarray, like: HMMParams) -> HMMParams:
        """Parameters at ``vector`` (see :meth:`to_unconstrained`); probabilities are the
        softmax of their log coordinates."""
        vector = np.asarray(vector, dtype=np.float64)
        k = self.n_components
        taken = 0
        startprob, transmat = like.startprob, like.transmat
        if "startprob" not in self.frozen:
            startprob = softmax_rows(vector[taken : taken + k].reshape(1, k))[0]
            taken += k
        if "transmat" not in self.frozen:
            transmat = softmax_rows(vector[taken : taken + k * k].reshape(k, k))
            taken += k * k
        emissions = like.emissions
        if "emissions" not in self.frozen:
            emissions = self._family_method("from_unconstrained")(vector[taken:], like.emissions)
        return HMMParams(startprob, transmat, emissions)

    def _family_method(self, name: str) -> Callable[..., Any]:
        method = getattr(self.family, name, None)
        if not callable(method):
            raise TypeError(
                f"the emission family {type(self.family).__name__} has no {name}, so its "
                "parameters have no unconstrained coordinates (needed by accelerate='squarem')"
            )
        return method


def _dirichlet_log_density(probs: np.ndarray, concentration: float | np.ndarray) -> float:
    """``sum (concentration - 1) log probs`` over the probabilities that are not zero (a
    Dirichlet log density up to its normalising constant, per row)."""
    probs = np.asarray(probs, dtype=np.float64)
    weight = np.broadcast_to(np.asarray(concentration, dtype=np.float64) - 1.0, probs.shape)
    counted = (probs > 0) & (weight != 0)
    return float(np.sum(weight[counted] * np.log(probs[counted])))


_SCRATCH = threading.local()


def _scratch(name: str, shape: tuple[int, int]) -> np.ndarray:
    """A float64 array of ``shape`` owned by the calling thread and reused by its next call
    for ``name``.

    The log-emissions and posteriors of a batch live only until the family has turned them
    into statistics. Allocating them afresh for every batch makes the allocator hand the
    memory back to the system and fault it in again each time, which cost more than the
    forward-backward pass itself on this machine kind.
    """
    size = shape[0] * shape[1]
    buffers = _SCRATCH.__dict__
    buffer = buffers.get(name)
    if buffer is None or buffer.size < size:
        buffer = buffers[name] = np.empty(size)
    return buffer[:size].reshape(shape)


@functools.cache
def _takes_out(family_type: type) -> bool:
    """Whether the family's ``log_prob`` can write into a given array (keyword ``out``)."""
    return "out" in inspect.signature(family_type.log_prob).parameters


def _as_sequences(X: Any) -> Sequences:
    return X if isinstance(X, Sequences) else Sequences(np.asarray(X))
