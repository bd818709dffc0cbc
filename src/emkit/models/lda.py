"""Latent Dirichlet allocation (Blei, Ng and Jordan 2003) by variational EM, as a model of
the one EM driver.

The topics ``beta_k`` have the variational posterior ``Dirichlet(lambda_k)`` (the
parameters the driver iterates on), every document ``d`` has ``Dirichlet(gamma_d)`` over
its topic proportions and a distribution ``phi_dw`` over the topic of each of its words.
The E-step fits ``gamma_d`` and ``phi_dw`` document by document
(:mod:`emkit.models.lda_kernels`), and its statistics are the expected topic-word counts
``sum_d w_d n_dw phi_dwk`` and ``sum_d w_d E[log theta_d]``, which add up over documents;
the M-step is ``lambda = eta + counts`` and, when the prior of the topic proportions is
learned, Minka's fixed point for ``alpha``. The bound is the evidence lower bound; batch
variational EM is coordinate ascent on it, so it never decreases when every document's
iteration has converged. Online variational Bayes (Hoffman, Blei and Bach 2010) is the
driver's online EM on these statistics: ``lambda_t = eta + N S_t`` with ``S_t`` the
running average of the statistics per document, which is Hoffman's update
``lambda_t = (1 - rho_t) lambda_(t-1) + rho_t (eta + N / |B_t| counts_t)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import gammaln

from emkit.core.stats import Additive
from emkit.models.lda_kernels import DocumentPass, digamma_array, document_pass, word_factors
from emkit.numerics.dirichlet import (
    dirichlet_fixed_point,
    expected_log,
    symmetric_dirichlet_concentration,
)

INIT_SHAPE = 100.0
"""Shape of the Gamma(100, 1/100) draws the topics start from (mean 1, as scikit-learn)."""


@dataclass(frozen=True)
class LDAParams:
    """Parameters of latent Dirichlet allocation.

    What the E-step needs of the topics, ``exp(E[log beta])``, is derived on demand and
    kept: a mini-batch of online VB needs it for its own words only, a tenth of the
    vocabulary or less, and the digamma of every topic-word pair would cost several times
    the mini-batch's E-step.

    Attributes
    ----------
    components : ndarray of shape (n_components, n_words)
        ``lambda``: the variational Dirichlet parameters of the topics.
    doc_topic_prior : ndarray of shape (n_components,)
        ``alpha``: the Dirichlet prior of every document's topic proportions.
    topic_word_prior : float
        ``eta``: the symmetric Dirichlet prior of the topics.
    """

    components: np.ndarray
    doc_topic_prior: np.ndarray
    topic_word_prior: float

    def __post_init__(self) -> None:
        # Not a field: the derived arrays are a cache, not parameters.
        object.__setattr__(self, "_derived", {})

    def _cached(self, name: str, make: Callable[[], np.ndarray]) -> np.ndarray:
        # Threads may race to fill an entry; both compute the same array.
        value = self._derived.get(name)  # type: ignore[attr-defined]
        if value is None:
            value = self._derived[name] = make()  # type: ignore[attr-defined]
        return value

    @property
    def components_t(self) -> np.ndarray:
        """``lambda`` transposed, shape (n_words, n_components), C-contiguous."""
        return self._cached("components_t", lambda: np.ascontiguousarray(self.components.T))

    @property
    def psi_sums(self) -> np.ndarray:
        """``psi(sum_w lambda_kw)``, shape (n_components,)."""
        return self._cached("psi_sums", lambda: digamma_array(self.components.sum(axis=1)))

    @property
    def elog_beta(self) -> np.ndarray:
        """``E[log beta]``, shape (n_components, n_words)."""
        return self._cached("elog_beta", lambda: expected_log(self.components))

    @property
    def has_exp_elog_beta_t(self) -> bool:
        """Whether :attr:`exp_elog_beta_t` is already computed."""
        return "exp_elog_beta_t" in self._derived  # type: ignore[attr-defined]

    @property
    def exp_elog_beta_t(self) -> np.ndarray:
        """``exp(E[log beta])`` transposed, shape (n_words, n_components), so that a
        word's topics lie together."""
        return self._cached(
            "exp_elog_beta_t",
            lambda: self.word_factors(np.arange(self.components.shape[1])),
        )

    def word_factors(self, ids: np.ndarray) -> np.ndarray:
        """Rows ``ids`` of :attr:`exp_elog_beta_t` (the same numbers), shape
        (n_ids, n_components)."""
        return word_factors(self.components_t, self.psi_sums, ids)


def lda_params(
    components: np.ndarray, doc_topic_prior: np.ndarray, topic_word_prior: float
) -> LDAParams:
    """:class:`LDAParams` of float64 arrays."""
    components = np.asarray(components, dtype=np.float64)
    alpha = np.asarray(doc_topic_prior, dtype=np.float64)
    return LDAParams(components, alpha, float(topic_word_prior))


@dataclass(frozen=True)
class LDAStats(Additive):
    """Expected sufficient statistics of documents.

    Attributes
    ----------
    word_topic : ndarray of shape (n_words, n_components)
        ``sum_d w_d n_dw phi_dwk``, the expected topic-word counts (words first, as the
        kernel gathers them).
    elog_theta : ndarray of shape (n_components,)
        ``sum_d w_d E[log theta_dk]``.
    weight : float
        ``sum_d w_d``.
    """

    word_topic: np.ndarray
    elog_theta: np.ndarray
    weight: float


class LDAModel:
    """Latent Dirichlet allocation for the EM driver (:mod:`emkit.core.driver`).

    Parameters
    ----------
    n_components : int
        Topics.
    n_words : int
        Size of the vocabulary.
    doc_topic_prior : float or ndarray of shape (n_components,)
        ``alpha`` (its starting value when ``learn_doc_topic_prior``).
    topic_word_prior : float
        ``eta``.
    max_doc_update_iter : int
        Most iterations of every document's E-step.
    mean_change_tol : float
        A document's iteration stops when the mean absolute change of ``gamma_d`` is below.
    learn_doc_topic_prior : bool, default=False
        Whether the M-step also maximises the bound over ``alpha`` (an asymmetric prior).
    learn_topic_word_prior : bool, default=False
        Whether the M-step also maximises the bound over ``eta`` (symmetric), after the
        topics.
    """

    accepts_sparse = True
    # Every document's iteration stops at mean_change_tol, short of its optimum, and starts
    # afresh from gamma = 1, so where a document's bound has several maxima it may reach a
    # lower one than the last E-step did: the bound can dip. The conformance tests hold it
    # to monotone with a tight tolerance on documents of one maximum each.
    monotone = False

    def __init__(
        self,
        n_components: int,
        n_words: int,
        doc_topic_prior: float | np.ndarray,
        topic_word_prior: float,
        max_doc_update_iter: int,
        mean_change_tol: float,
        learn_doc_topic_prior: bool = False,
        learn_topic_word_prior: bool = False,
    ) -> None:
        self.n_components = int(n_components)
        self.n_words = int(n_words)
        self.alpha = np.broadcast_to(
            np.asarray(doc_topic_prior, dtype=np.float64), (self.n_components,)
        ).copy()
        self.eta = float(topic_word_prior)
        self.max_doc_update_iter = int(max_doc_update_iter)
        self.mean_change_tol = float(mean_change_tol)
        self.learn_doc_topic_prior = bool(learn_doc_topic_prior)
        self.learn_topic_word_prior = bool(learn_topic_word_prior)

    def init(
        self,
        X: object,
        random_state: np.random.RandomState,
        sample_weight: np.ndarray | None = None,
    ) -> LDAParams:
        """Topics drawn from Gamma(100, 1/100), as scikit-learn starts them; no rows read."""
        components = random_state.gamma(
            INIT_SHAPE, 1.0 / INIT_SHAPE, (self.n_components, self.n_words)
        )
        return lda_params(components, self.alpha, self.eta)

    init.reads_rows = False  # type: ignore[attr-defined]

    def documents(
        self,
        params: LDAParams,
        X: sp.csr_array,
        sample_weight: np.ndarray | None = None,
        stats: bool = True,
    ) -> DocumentPass:
        """The E-step of every document of ``X``: their ``gamma``, bounds and (unless not
        ``stats``) expected topic-word counts ``word_topic``, shape (n_words,
        n_components)."""
        n = X.shape[0]
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
        ids = None
        if not params.has_exp_elog_beta_t:
            present = np.zeros(self.n_words, dtype=bool)
            present[X.indices] = True
            if 4 * np.count_nonzero(present) < self.n_words:
                ids = np.flatnonzero(present)
        if ids is None:
            indices, factors = X.indices, params.exp_elog_beta_t
        else:
            # Few of the words (a mini-batch): their factors alone, the words renumbered.
            indices = np.searchsorted(ids, X.indices).astype(X.indices.dtype)
            factors = params.word_factors(ids)
        result = document_pass(
            X.indptr,
            indices,
            X.data,
            w,
            factors,
            params.doc_topic_prior,
            self.max_doc_update_iter,
            self.mean_change_tol,
            stats,
        )
        if not stats:
            return result
        counts = result.word_topic
        counts *= factors
        if ids is not None:
            full = np.zeros((self.n_words, self.n_components))
            full[ids] = counts
            counts = full
        return result._replace(word_topic=counts)

    def e_step(
        self,
        params: LDAParams,
        X: sp.csr_array,
        sample_weight: np.ndarray | None = None,
        *,
        hard: bool = False,
    ) -> tuple[LDAStats, float]:
        """Statistics and summed (weighted) bound of the documents of one chunk."""
        if hard:
            raise ValueError("latent Dirichlet allocation has no hard (classification) EM")
        X = _csr(X)
        result = self.documents(params, X, sample_weight)
        weight = float(X.shape[0] if sample_weight is None else np.sum(sample_weight))
        return LDAStats(result.word_topic, result.elog_theta, weight), result.bound

    def m_step(self, stats: LDAStats, params: LDAParams) -> LDAParams:
        """``lambda = eta + counts``, and ``alpha`` by Minka's fixed point if learned."""
        alpha = params.doc_topic_prior
        if self.learn_doc_topic_prior and stats.weight > 0:
            alpha = dirichlet_fixed_point(alpha, stats.elog_theta / stats.weight)
        eta = params.topic_word_prior
        components = eta + stats.word_topic.T
        if self.learn_topic_word_prior:
            # Coordinate ascent: the topics given the old eta, then eta given the topics
            # (their E[log beta] is all the bound's eta-dependent part needs).
            eta = symmetric_dirichlet_concentration(
                float(np.mean(expected_log(components))), components.shape[1]
            )
        return lda_params(components, alpha, eta)

    def to_unconstrained(self, params: LDAParams) -> np.ndarray:
        """Coordinates for SQUAREM: ``log lambda``, then ``log alpha`` and ``log eta`` when
        they are learned."""
        parts = [np.log(params.components).ravel()]
        if self.learn_doc_topic_prior:
            parts.append(np.log(params.doc_topic_prior))
        if self.learn_topic_word_prior:
            parts.append([np.log(params.topic_word_prior)])
        return np.concatenate(parts)

    def from_unconstrained(self, vector: np.ndarray, like: LDAParams) -> LDAParams:
        """Parameters at ``vector`` (see :meth:`to_unconstrained`)."""
        size, k = like.components.size, like.doc_topic_prior.size
        components = np.exp(vector[:size]).reshape(like.components.shape)
        alpha = like.doc_topic_prior
        if self.learn_doc_topic_prior:
            alpha = np.exp(vector[size : size + k])
        eta = float(np.exp(vector[-1])) if self.learn_topic_word_prior else like.topic_word_prior
        return lda_params(components, alpha, eta)

    def bound_offset(self, params: LDAParams) -> float:
        """``E[log p(beta | eta)] - E[log q(beta | lambda)]``: the topics' part of the bound,
        counted once per pass."""
        lam, eta, elog = params.components, params.topic_word_prior, params.elog_beta
        return float(
            np.sum((eta - lam) * elog)
            + np.sum(gammaln(lam) - gammaln(eta))
            + np.sum(gammaln(eta * lam.shape[1]) - gammaln(lam.sum(axis=1)))
        )

    def log_prob(self, params: LDAParams, X: sp.csr_array) -> np.ndarray:
        """Every document's part of the bound, shape (n_documents,)."""
        return self.documents(params, _csr(X), stats=False).document_bounds


def _csr(X: object) -> sp.csr_array:
    """A chunk as the canonical CSR matrix the kernel reads (chunks of a checked matrix
    already are)."""
    if isinstance(X, sp.csr_array) and X.has_canonical_format:
        return X
    M = sp.csr_array(X)
    if not M.has_canonical_format:
        M = M.copy()
        M.sum_duplicates()
    return M
