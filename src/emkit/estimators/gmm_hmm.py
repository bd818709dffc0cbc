"""Hidden Markov model with Gaussian-mixture emissions: a drop-in for hmmlearn's ``GMMHMM``.

The face builds an :class:`emkit.models.hmm.HMM` over the
:class:`emkit.families.gaussian_mixture_emission.GaussianMixtureEmission` family and fits it
with the one EM driver, as :class:`emkit.estimators.hmm.GaussianHMM` does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from emkit.core.batches import DEFAULT_CHUNK_SIZE, Sequences
from emkit.estimators.description import COVARIANCE, HIDDEN_MARKOV, Phrase
from emkit.estimators.hmm import BaseHMM, _FeaturesFromParameters, _matrix_scale, features_of
from emkit.estimators.hmm_parameters import (
    ALGORITHM,
    COVARIANCE_TYPE,
    EXTRAS,
    IMPLEMENTATION,
    MIN_COVAR,
    N_STATES,
    STARTPROB_PRIOR,
    TRANSMAT_PRIOR,
    chain_tail,
    positional,
)
from emkit.estimators.hmm_start import data_covariance, kmeans_labels, within_covariance
from emkit.estimators.parameters import Param, integer, reals
from emkit.exceptions import RegularisationWarning, warn
from emkit.families.checks import check_magnitude, dominant_regularisation, real_data
from emkit.families.covariance import CovarianceStructure, covariance_structure
from emkit.families.gaussian import Gaussian
from emkit.families.gaussian_mixture_emission import (
    GaussianMixtureEmission,
    GaussianMixtureEmissionParams,
    GMMHMMPrior,
    GroupTied,
)
from emkit.families.tables import Columns, ParameterTable
from emkit.models.hmm import HMM
from emkit.models.mixture import mean_imputed

COVARIANCE_TYPES = ("spherical", "diag", "full", "tied")


class GMMHMM(_FeaturesFromParameters, BaseHMM):
    """Hidden Markov model whose states emit from mixtures of Gaussians; a drop-in for
    hmmlearn's ``GMMHMM``.

    Fits reproduce hmmlearn's updates, priors included: in particular the covariances are
    re-estimated from second moments about the means of the E-step (see
    :class:`emkit.families.gaussian_mixture_emission.GMMHMMPrior`).

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    weights_ : ndarray of shape (n_components, n_mix)
        Mixture weights of every state; rows sum to one.
    means_ : ndarray of shape (n_components, n_mix, n_features)
    covars_ : ndarray
        Shape (n_components, n_mix) 'spherical', (n_components, n_mix, n_features) 'diag',
        (n_components, n_mix, n_features, n_features) 'full', (n_components, n_features,
        n_features) 'tied'.
    lower_bounds_ : ndarray of shape (n_iter_ + 1,)
        The objective per sample of the initial parameters and after every iteration: the
        log-likelihood, plus the log density of the priors on the start and transition
        probabilities, over n_samples. Online (``learning_method='online'`` and
        :meth:`partial_fit`), the mean log-likelihood of every mini-batch instead.
    monitor_ : ConvergenceMonitor

    Notes
    -----
    As in hmmlearn, the initial means come from k-means into ``n_components`` clusters,
    then k-means of every cluster into ``n_mix`` (a cluster of fewer than ``n_mix``
    samples draws its means from a normal of the data's mean and covariance), and the
    weights are uniform. Every Gaussian starts with the pooled covariance of the samples
    about their nearest initial mean plus ``min_covar`` on the variances (for 'spherical',
    the mean variance): unlike hmmlearn's covariance of all the data, it leaves out the
    spread between the Gaussians, which would otherwise start the Gaussians of a state on
    top of one another (and take many more iterations to pull them apart).

    With priors the update is hmmlearn's, which is not an exact M-step (see
    :class:`emkit.families.gaussian_mixture_emission.GMMHMMPrior`); ``lower_bounds_``
    and ``monitor_`` hold the log-likelihood plus the log density of the Dirichlet
    priors on the start and transition probabilities.

    :meth:`aic` and :meth:`bic` count ``n_components * (n_mix - 1)`` free mixture
    weights (hmmlearn counts ``n_mix - 1``).

    NaN cells are missing values, assumed missing at random: a sample's emission density is
    that of its observed cells, ``sum_m w_km N(x_o | mu_kmo, Sigma_kmoo)``, and its
    statistics complete the missing cells under every Gaussian (see
    :class:`emkit.families.gaussian_mixture_emission.GaussianMixtureEmission`); a sample
    with nothing observed emits with probability one, its state known only from its
    neighbours. The start reads missing cells at their column's mean. :meth:`impute` fills
    them in given the whole sequence.
    """

    description = replace(
        HIDDEN_MARKOV,
        tables=(
            ParameterTable(
                "means by {unit} and mixture component",
                (Columns("weights_", "value", "weight"), Columns("means_")),
                inner="mix",
                inner_count="n_mix",
            ),
            ParameterTable(
                "variances by {unit} and mixture component",
                (Columns("covars_", "variances", covariance="covariance_type"),),
                inner="mix",
                inner_count="n_mix",
            ),
        ),
        emissions="Gaussian-mixture",
        emission_words=(Phrase("n_mix", "({} per state)", noun="Gaussian"),),
        words=(COVARIANCE,),
    )
    _emission_letters: ClassVar[dict[str, str]] = {"m": "means", "c": "covars", "w": "weights"}
    _emission_attributes: ClassVar[dict[str, str]] = {
        "means": "means_",
        "covars": "covars_",
        "weights": "weights_",
    }

    _parameters = (
        *positional(
            N_STATES,
            Param("n_mix", 1, "int", "Gaussians in the mixture of every state.", integer(1)),
            MIN_COVAR.with_doc(
                """
                Added to the variances of the initial covariances, as hmmlearn does, and the
                floor of every variance (every eigenvalue of a full or tied covariance) at
                every M-step: hmmlearn's documented "floor on the diagonal", which its own
                M-step leaves out. It keeps covariances positive definite on constant
                features, duplicated rows or Gaussians with few samples, and leaves alone
                those above it. ``min_covar=0`` gives hmmlearn's update exactly.
                """,
            ),
            STARTPROB_PRIOR,
            TRANSMAT_PRIOR,
            Param(
                "weights_prior",
                1.0,
                "float or array-like of shape (n_components, n_mix)",
                "Dirichlet concentrations for the mixture weights of every state.",
                reals(),
            ),
            Param(
                "means_prior",
                0.0,
                "float or array-like",
                "Prior means (broadcast to (n_components, n_mix, n_features)).",
                reals(),
            ),
            Param(
                "means_weight",
                0.0,
                "float or array-like",
                "Pseudo-counts of the means (broadcast to (n_components, n_mix)).",
                reals(0),
            ),
            Param(
                "covars_prior",
                None,
                "float or array-like",
                """
                Prior on the covariances in hmmlearn's ``GMMHMM`` parameterisation, which
                depends on ``covariance_type``; None gives hmmlearn's defaults (see
                :class:`emkit.families.gaussian_mixture_emission.GMMHMMPrior`). A number as
                the ``covars_prior`` of 'full' or 'tied' covariances is that number times the
                identity (hmmlearn adds it to every entry of the matrix, a scale of rank one).
                """,
                reals(none=True),
            ),
            Param(
                "covars_weight",
                None,
                "float or array-like",
                "See ``covars_prior``.",
                reals(none=True),
            ),
            ALGORITHM,
            COVARIANCE_TYPE.with_doc(
                """
                'tied': the Gaussians of a state share one full covariance matrix (every
                state has its own).
                """,
            ),
            *chain_tail("stmcw", "'s' startprob, 't' transmat, 'm' means, 'c' covars, 'w' weights"),
            IMPLEMENTATION,
        ),
        *EXTRAS,
    )

    # -- hyperparameters ------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        super()._check_hyperparameters()
        weights_prior = np.asarray(self.weights_prior, dtype=np.float64)
        shape = (int(self.n_components), int(self.n_mix))
        try:
            np.broadcast_to(weights_prior, shape)
        except ValueError:
            raise ValueError(
                f"weights_prior must be a number or broadcast to shape {shape}, "
                f"got {weights_prior.shape}"
            ) from None

    def _check_fit_data(self, X: np.ndarray) -> None:
        # The moments of the data square it.
        check_magnitude(X, "GMMHMM")
        block = self.chunk_size or DEFAULT_CHUNK_SIZE
        # The variances of the columns, missing cells at their column's mean (as the start
        # reads them).
        rows = mean_imputed(X)
        message = dominant_regularisation(rows, float(self.min_covar), "min_covar", block)
        if message is not None:
            warn(message, RegularisationWarning)

    def _check_emission_data(self, X: Any, *, reset: bool) -> np.ndarray:
        # NaN is a missing cell (missing at random): the emissions condition on the
        # observed cells of every row.
        return self._check_data(X, reset=reset, allow_nan=True)

    def _check_chunk(self, X: np.ndarray) -> np.ndarray:
        return real_data(X, type(self).__name__, allow_nan=True)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _structure(self) -> CovarianceStructure:
        """The covariance structure of the n_components * n_mix Gaussians."""
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {sorted(COVARIANCE_TYPES)}, "
                f"got {self.covariance_type!r}"
            )
        if self.covariance_type == "tied":
            return GroupTied(int(self.n_mix))
        return covariance_structure(self.covariance_type)

    # -- emission hooks -----------------------------------------------------------------
    def _family(self, n_features: int, fitted: frozenset[str]) -> GaussianMixtureEmission:
        frozen = frozenset(
            {"means": "means", "covars": "covariances"}[n]
            for n in ("means", "covars")
            if n not in fitted
        )
        prior = GMMHMMPrior(
            self.means_prior,
            self.means_weight,
            _matrix_scale(self.covars_prior, self._structure(), n_features),
            self.covars_weight,
            float(self.min_covar),
        )
        return GaussianMixtureEmission(
            Gaussian(self._structure(), 0.0, frozen),
            int(self.n_mix),
            self.weights_prior,
            frozenset() if "weights" in fitted else frozenset({"weights"}),
            prior,
        )

    def _emission_features(self) -> int | None:
        means = self.__dict__.get("means_")
        return features_of(means, "means_", "(n_components, n_mix, n_features)")

    def _initial_emissions(
        self,
        model: HMM,
        X: Sequences,
        rng: np.random.RandomState,
        w: np.ndarray | None,
        fresh: frozenset[str],
    ) -> GaussianMixtureEmissionParams:
        k, m, d = int(self.n_components), int(self.n_mix), X.X.shape[1]
        # Missing cells start at their column's mean: k-means and the covariance need
        # whole rows (the E-steps then condition on the observed cells).
        rows = mean_imputed(X.X, w)
        if "weights" in fresh:
            weights = np.full((k, m), 1.0 / m)
        else:
            weights = self._checked_weights(self._given("weights_"))
        if "means" in fresh:
            means = self._nested_kmeans(rows, w, rng)
        else:
            means = self._checked_means(self._given("means_"), d)
        if "covars" in fresh:
            cov = within_covariance(
                rows, w, means.reshape(k * m, d), float(self.min_covar), self.chunk_size
            )
            covariances = self._structure().repeated(cov, k * m)
        else:
            covariances = self._family_covariances(self._given("covars_"), d)
        return model.family.from_arrays(weights, means.reshape(k * m, d), covariances)

    def _nested_kmeans(
        self,
        X: np.ndarray,
        w: np.ndarray | None,
        rng: np.random.RandomState,
    ) -> np.ndarray:
        """Means of shape (n_components, n_mix, D): k-means of the data into the states, then
        of every state's samples into its Gaussians, as hmmlearn starts them. A state with
        fewer than n_mix samples (or a Gaussian left with none) draws its means from a
        normal of the data's mean and covariance (plus ``min_covar`` on the variances)."""
        k, m = int(self.n_components), int(self.n_mix)
        states = kmeans_labels(X, k, rng, w, self.chunk_size)
        centre, cov = data_covariance(X, w, float(self.min_covar), self.chunk_size)
        means = np.empty((k, m, X.shape[1]))
        for state in range(k):
            rows = np.flatnonzero(states == state)
            ws = None if w is None else w[rows]
            if rows.size < m or (ws is not None and np.count_nonzero(ws) < m):
                means[state] = rng.multivariate_normal(centre, cov, size=m)
                continue
            Xs = np.asarray(X[rows], dtype=np.float64)
            if m > 1:
                labels = kmeans_labels(Xs, m, rng, ws, self.chunk_size)
            else:
                labels = np.zeros(rows.size, dtype=np.int64)
            for j in range(m):
                member = labels == j
                weight = member.astype(np.float64) if ws is None else np.where(member, ws, 0.0)
                total = weight.sum()
                if total > 0:
                    means[state, j] = weight @ Xs / total
                else:
                    means[state, j] = rng.multivariate_normal(centre, cov)
        return means

    def _covars_shape(self, n_features: int) -> tuple[int, ...]:
        """hmmlearn's shape of ``covars_``: the structure's, with per-Gaussian entries laid
        out (n_components, n_mix, ...)."""
        k, m = int(self.n_components), int(self.n_mix)
        shape = self._structure().shape(k * m, n_features)
        return (k, m, *shape[1:]) if shape[0] == k * m else shape

    def _family_covariances(self, covars: Any, n_features: int) -> np.ndarray:
        """``covars_`` (hmmlearn's shape) validated, in the covariance structure's shape."""
        covars = np.asarray(covars, dtype=np.float64)
        expected = self._covars_shape(n_features)
        if covars.shape != expected:
            raise ValueError(
                f"covars_ must have shape {expected} for covariance_type="
                f"{self.covariance_type!r}, got {covars.shape}"
            )
        k, m = int(self.n_components), int(self.n_mix)
        structure = self._structure()
        covars = covars.reshape(structure.shape(k * m, n_features))
        return structure.check(covars, k * m, n_features, "covars_")

    def _checked_weights(self, weights: np.ndarray) -> np.ndarray:
        shape = (int(self.n_components), int(self.n_mix))
        if weights.shape != shape:
            raise ValueError(f"weights_ must have shape {shape}, got {weights.shape}")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("weights_ must hold finite non-negative probabilities")
        if not np.allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-8):
            raise ValueError("every row of weights_ must sum to 1")
        return weights

    def _checked_means(self, means: np.ndarray, n_features: int) -> np.ndarray:
        shape = (int(self.n_components), int(self.n_mix), n_features)
        if means.shape != shape:
            raise ValueError(f"means_ must have shape {shape}, got {means.shape}")
        if not np.all(np.isfinite(means)):
            raise ValueError("means_ holds NaN or infinite values")
        return means

    def _set_emission_attributes(self, emissions: GaussianMixtureEmissionParams) -> None:
        k, m = np.shape(emissions.weights)
        d = emissions.gaussian.means.shape[1]
        self.weights_ = emissions.weights
        self.means_ = emissions.gaussian.means.reshape(k, m, d)
        self.covars_ = np.reshape(emissions.gaussian.covariances, self._covars_shape(d))

    def _emission_params(self) -> GaussianMixtureEmissionParams:
        means = np.asarray(self.means_, dtype=np.float64)
        if means.ndim != 3:
            raise ValueError(
                f"means_ must have shape (n_components, n_mix, n_features), got {means.shape}"
            )
        d = means.shape[2]
        means = self._checked_means(means, d)
        weights = self._checked_weights(np.asarray(self.weights_, dtype=np.float64))
        covariances = self._family_covariances(self.covars_, d)
        family = GaussianMixtureEmission(Gaussian(self._structure()), int(self.n_mix))
        k, m = weights.shape
        return family.from_arrays(weights, means.reshape(k * m, d), covariances)

    def _n_emission_parameters(self) -> int:
        family = GaussianMixtureEmission(Gaussian(self._structure()), int(self.n_mix))
        return family.n_parameters(int(self.n_components), self._expected_features())

    _fitted_arrays = (
        "startprob_",
        "transmat_",
        "weights_",
        "means_",
        "covars_",
        "lower_bounds_",
    )
