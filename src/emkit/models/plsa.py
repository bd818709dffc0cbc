"""Probabilistic latent semantic analysis (Hofmann 1999) as a model for the one EM driver.

A document ``d`` draws every word from a mixture of topics with its own proportions
``theta_d`` (``P(z | d)``), and topic ``z`` draws words from ``beta_z`` (``P(w | z)``):

    log L = sum_dw n_dw log sum_z theta_dz beta_zw.

The topic-word distributions ``beta`` are the global parameters (:class:`PLSAParams`). The
proportions are local to their documents and are folded in inside the E-step: with
``beta`` fixed, a document's log-likelihood is concave in ``theta_d``, and the EM fixed
point of :mod:`emkit.models.plsa_kernels` (from uniform proportions) climbs to its maximum.
The E-step returns the expected topic-word counts (:class:`PLSAStats`, additive over
documents, so that chunks, threads, streams and clusters give the statistics of the whole
corpus) and the log-likelihood at the folded-in proportions: the profile likelihood of
``beta``, which EM never lowers once the inner iteration has converged. The M-step
normalises the counts, plus an optional pseudo-count ``smoothing`` on every word (the mode
of a symmetric Dirichlet(1 + smoothing) prior, whose log density, up to a constant, the
driver then adds to the bound through :meth:`PLSAModel.bound_offset`).

Tempered EM (Hofmann's TEM, ``tempering < 1``) raises the posteriors to that power before
normalising them, in the fold-in and in the statistics; its steps no longer maximise the
likelihood, so the model declares itself not monotone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from emkit.core.stats import Additive
from emkit.models.plsa_kernels import FoldIn, csr_documents, fold_in

__all__ = ["PLSAModel", "PLSAParams", "PLSAStats"]


@dataclass(frozen=True, eq=False)
class PLSAParams:
    """The global parameters of pLSA.

    Attributes
    ----------
    topic_word : ndarray of shape (n_components, n_words)
        ``P(w | z)``: every row is a distribution over the vocabulary.
    """

    topic_word: np.ndarray


@dataclass(frozen=True, eq=False)
class PLSAStats(Additive):
    """Statistics of a pLSA E-step.

    Attributes
    ----------
    topic_word : ndarray of shape (n_components, n_words)
        Expected topic-word counts ``sum_d weight_d n_dw q(z | d, w)``, float64.
    n_words : float
        Weighted number of words read, ``sum_d weight_d sum_w n_dw``.
    """

    topic_word: np.ndarray
    n_words: float


def _checked_number(value: Any, name: str, low: float, high: float, low_open: bool) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = np.isfinite(v) and (v > low if low_open else v >= low) and v <= high
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class PLSAModel:
    """pLSA over a vocabulary of ``n_words`` words (the model contract of
    :class:`emkit.core.model.LatentModel`).

    Parameters
    ----------
    n_components : int
        Number of topics K.
    n_words : int
        Size of the vocabulary (columns of the document-term matrix).
    tempering : float, default=1.0
        Exponent of tempered EM's posteriors, in (0, 1]; 1 is plain EM.
    smoothing : float, default=0.0
        Pseudo-count added to every topic-word count in the M-step (>= 0).
    max_doc_update_iter : int, default=100
        Most fixed-point iterations of one document's proportions per E-step.
    mean_change_tol : float, default=1e-3
        A document's fixed point stops once the mean absolute change of its proportions
        in one iteration is below this.
    """

    n_components: int
    n_words: int
    tempering: float = 1.0
    smoothing: float = 0.0
    max_doc_update_iter: int = 100
    mean_change_tol: float = 1e-3

    accepts_sparse = True
    """CSR rows are read as they are, never densified."""

    def __post_init__(self) -> None:
        for name, minimum in (("n_components", 1), ("n_words", 1), ("max_doc_update_iter", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
            if value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        _checked_number(self.tempering, "tempering", 0.0, 1.0, low_open=True)
        _checked_number(self.smoothing, "smoothing", 0.0, np.inf, low_open=False)
        _checked_number(self.mean_change_tol, "mean_change_tol", 0.0, np.inf, low_open=False)

    @property
    def monotone(self) -> bool:
        """Plain EM never lowers the profile likelihood; tempered EM's steps maximise
        another function, so its decreases of the likelihood are no sign of a bug."""
        return self.tempering == 1.0

    # -- the model contract ---------------------------------------------------------------
    def init(
        self,
        X: Any = None,
        random_state: np.random.RandomState | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> PLSAParams:
        """Random topic-word distributions: every row drawn from a flat Dirichlet
        distribution (normalised unit-exponential draws). The rows are not read."""
        rng = np.random.RandomState() if random_state is None else random_state
        draws = rng.standard_exponential((self.n_components, self.n_words))
        # A draw of exactly 0 would make a word impossible under a topic for good.
        draws = np.maximum(draws, np.finfo(np.float64).tiny)
        return PLSAParams(draws / draws.sum(axis=1, keepdims=True))

    # The start draws no rows: a fit from a file reads no sample for it.
    init.reads_rows = False  # type: ignore[attr-defined]

    def e_step(
        self,
        params: PLSAParams,
        X: Any,
        sample_weight: np.ndarray | None = None,
        *,
        hard: bool = False,
    ) -> tuple[PLSAStats, float]:
        """Expected topic-word counts and the (weighted) log-likelihood of a batch of
        documents ``X`` (n_documents, n_words), CSR or dense, their proportions folded in.

        Raises
        ------
        ValueError
            For ``hard=True``: pLSA has no classification EM here.
        """
        if hard:
            raise ValueError(
                "pLSA is fitted by soft EM only: every word of a document has its own "
                "posterior over the topics (hard=True is not supported)"
            )
        X = csr_documents(X)
        found = self.fold_in(params, X, sample_weight)
        lengths = np.asarray(X.sum(axis=1, dtype=np.float64)).reshape(-1)
        if sample_weight is None:
            loglik = float(found.loglik.sum())
            n_words = float(lengths.sum())
        else:
            w = np.asarray(sample_weight, dtype=np.float64)
            # A document of weight zero counts for nothing, even an impossible one.
            used = w != 0
            loglik = float(w[used] @ found.loglik[used])
            n_words = float(w @ lengths)
        return PLSAStats(found.topic_word, n_words), loglik

    def m_step(self, stats: PLSAStats, params: PLSAParams) -> PLSAParams:
        """Every topic's expected word counts, plus ``smoothing``, normalised. A topic with
        no expected count (and no smoothing) keeps its distribution.

        Raises
        ------
        ValueError
            When the documents hold no words at all.
        """
        if not stats.n_words > 0:
            raise ValueError(
                "the documents hold no words (every count is zero, or every document has "
                "weight zero): pLSA needs at least one word to fit its topics"
            )
        counts = stats.topic_word + self.smoothing
        totals = counts.sum(axis=1, keepdims=True)
        empty = totals[:, 0] == 0
        beta = counts / np.where(empty[:, None], 1.0, totals)
        beta[empty] = params.topic_word[empty]
        return PLSAParams(beta)

    def log_prob(self, params: PLSAParams, X: Any) -> np.ndarray:
        """Log-likelihood of every document, its proportions folded in, shape
        (n_documents,)."""
        return self.fold_in(params, csr_documents(X), accumulate=False).loglik

    def bound_offset(self, params: PLSAParams) -> float:
        """``smoothing * sum log beta``: the log density of the Dirichlet prior whose mode
        the M-step is (up to a constant), so that the bound is the log posterior EM never
        lowers; 0 without smoothing."""
        if self.smoothing == 0:
            return 0.0
        return float(self.smoothing * np.log(params.topic_word).sum())

    # -- beyond the contract ----------------------------------------------------------------
    def fold_in(
        self,
        params: PLSAParams,
        X: Any,
        sample_weight: np.ndarray | None = None,
        *,
        accumulate: bool = True,
    ) -> FoldIn:
        """Proportions, log-likelihoods and (with ``accumulate``) expected counts of the
        documents ``X`` (n_documents, n_words) under ``params``
        (:func:`emkit.models.plsa_kernels.fold_in`)."""
        X = csr_documents(X)
        if X.shape[1] != self.n_words:
            raise ValueError(
                f"the documents have {X.shape[1]} words in their vocabulary, the model "
                f"{self.n_words}"
            )
        return fold_in(
            X,
            params.topic_word,
            sample_weight,
            tempering=self.tempering,
            max_iter=self.max_doc_update_iter,
            tol=self.mean_change_tol,
            accumulate=accumulate,
        )
