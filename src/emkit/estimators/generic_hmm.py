"""``emkit.HMM``: a hidden Markov model over any component family.

The counterpart of :class:`emkit.Mixture` for sequences: the states emit through a family
object (any :class:`emkit.families.base.Family`, products of families included), whose
arrays become the fitted attributes (``lambdas_``, ``gaussian_means_``, ...) and whose
description a model file keeps. The named faces (:class:`emkit.GaussianHMM`, ...) keep
hmmlearn's names and parameterisations; this one takes the family itself.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from emkit.estimators.description import HIDDEN_MARKOV
from emkit.estimators.hmm import BaseHMM
from emkit.estimators.hmm_parameters import (
    ALGORITHM,
    EXTRAS,
    IMPLEMENTATION,
    N_STATES,
    STARTPROB_PRIOR,
    TRANSMAT_PRIOR,
    chain_tail,
    positional,
)
from emkit.estimators.hmm_start import kmeans_labels
from emkit.estimators.parameters import REQUIRED, Param, anything
from emkit.families.base import Family, checked_family
from emkit.families.checks import data_array
from emkit.models.mixture import weighted_chunks

_RESERVED = frozenset({"startprob", "transmat", "lower_bound", "lower_bounds", "n_iter"})


def _family_of(face: HMM) -> Family:
    """The emission family, which reads the data."""
    return face._emission_family()


class HMM(BaseHMM):
    """Hidden Markov model whose states emit through any component family.

    ``emkit.HMM(emkit.families.Poisson(), 3)`` is a Poisson HMM; a product of families
    (:class:`emkit.families.Product`) emits records of mixed column types. The emission
    parameters are estimated by the family's own M-step from the state posteriors, as a
    mixture of the family estimates its components from responsibilities.

    Fresh emission parameters come from one M-step of the family on a k-means partition of
    the data (the best of ten runs on at most 20,000 rows, every row then joining its
    nearest centre); fresh start and transition probabilities are uniform.

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    <array>_ : ndarray
        Every array of the family's parameters (as its ``params_arrays`` names them), with a
        trailing underscore.
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
    lower_bounds_ : ndarray of shape (n_iter_ + 1,)
        The objective per sample, (log-likelihood + log prior density) / n_samples, of the
        initial parameters and after every iteration.
    monitor_ : ConvergenceMonitor
    n_features_in_ : int
    """

    _emission_letters: ClassVar[dict[str, str]] = {"e": "emissions"}
    description = replace(HIDDEN_MARKOV, family=_family_of, emissions="{family}")
    _parameters = (
        Param(
            "family",
            REQUIRED,
            "Family",
            "The emission family, e.g. ``emkit.families.Poisson()``.",
            anything,
            positional=True,
        ),
        *positional(N_STATES),
        STARTPROB_PRIOR,
        TRANSMAT_PRIOR,
        ALGORITHM,
        *chain_tail("ste", "'s' startprob, 't' transmat, 'e' the emission parameters"),
        IMPLEMENTATION,
        *EXTRAS,
    )

    # -- the family ------------------------------------------------------------------------
    def _emission_family(self) -> Family:
        return checked_family(self.family, _RESERVED, "HMM")

    def _check_hyperparameters(self) -> None:
        super()._check_hyperparameters()
        self._emission_family()

    @property
    def _emission_attributes(self) -> dict[str, str]:  # type: ignore[override]
        # Every array of the family is a fitted attribute; "emissions" names them together
        # for params and init_params, whose check needs one attribute to ask for.
        names = self._emission_family().params_names()
        return {"emissions": f"{names[0]}_"}

    def _family(self, n_features: int, fitted: frozenset[str]) -> Any:
        return self._emission_family()

    def _model(self, n_features: int) -> Any:
        model = super()._model(n_features)
        if "emissions" in self._parameter_names(self.params, "params"):
            return model
        # Emission parameters left out of params stay as they are.
        return replace(model, frozen=model.frozen | {"emissions"})

    def _check_emission_data(self, X: Any, *, reset: bool) -> np.ndarray:
        family = self._emission_family()
        check = getattr(family, "check_data", None)
        X = check(X) if check is not None else data_array(X, type(family).__name__)
        if reset:
            self.n_features_in_ = X.shape[1]
        return X

    def _check_chunk(self, X: np.ndarray) -> np.ndarray:
        family = self._emission_family()
        check = getattr(family, "check_data", None)
        return check(X) if check is not None else data_array(X, type(family).__name__)

    # -- emission parameters as attributes -------------------------------------------------
    def _emission_features(self) -> int | None:
        return getattr(self, "n_features_in_", None) if self._has_emissions() else None

    def _has_emissions(self) -> bool:
        return all(hasattr(self, f"{n}_") for n in self._emission_family().params_names())

    def _set_emission_attributes(self, emissions: Any) -> None:
        for name, array in self._emission_family().params_arrays(emissions).items():
            setattr(self, f"{name}_", array)

    def _emission_params(self) -> Any:
        family = self._emission_family()
        arrays = {name: getattr(self, f"{name}_") for name in family.params_names()}
        return family.params_from_arrays(arrays)

    def _initial_emissions(self, model, X, rng, w, fresh):
        if "emissions" not in fresh:
            return self._emission_params()
        k = int(self.n_components)
        labels = kmeans_labels(X.X, k, rng, w, self.chunk_size)
        chunks = weighted_chunks(X.X, labels, k, w, self.chunk_size)
        return self._emission_family().from_responsibilities(chunks)

    def _n_emission_parameters(self) -> int:
        family = self._emission_family().fitted(self._emission_params())
        return int(family.n_parameters(int(self.n_components), int(self.n_features_in_)))

    # -- model files --------------------------------------------------------------------
    def _stored_array_names(self) -> tuple[str, ...]:
        self._check_hyperparameters()
        stored = tuple(f"{name}_" for name in self._emission_family().stored_names())
        return ("startprob_", "transmat_", *stored, "lower_bounds_")

    def _restore(self) -> None:
        family = self._emission_family()
        stored = {name: getattr(self, f"{name}_") for name in family.stored_names()}
        emissions = family.from_stored(stored, int(self.n_components), int(self.n_features_in_))
        self._set_emission_attributes(emissions)
        super()._restore()
