"""Imputation by a fitted mixture: ``impute`` (the posterior mean of every missing cell,
and its standard deviation) and ``sample_missing`` (multiple imputation).

The mixture gives every row the posterior ``r_k(x_o)`` of its components given its
observed cells; the family gives the distribution of the missing cells given the observed
ones under each component (:mod:`emkit.families.imputation`). The faces whose family can
fill its missing cells take :class:`MixtureImputation` among their bases.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from emkit.estimators.base import check_int, output_dtype
from emkit.exceptions import ImpossibleSampleWarning, warn
from emkit.families.imputation import imputation_for, pick_components
from emkit.numerics.logspace import normalize_log_rows

__all__ = ["MixtureImputation"]


def _posteriors(model: Any, params: Any, X: np.ndarray) -> np.ndarray:
    """``r_k(x_o)`` of every row of ``X`` (n, D), shape (n, K); NaN for a row no component
    can produce."""
    resp, log_norm = normalize_log_rows(model.log_joint(params, X))
    resp[np.isneginf(log_norm)] = np.nan
    return resp


def _report_impossible(resp: np.ndarray) -> None:
    impossible = np.isnan(resp[:, 0])
    count = int(np.count_nonzero(impossible))
    if count:
        warn(
            f"{count} of {impossible.size} samples have probability zero under every "
            f"component (the first is row {int(np.argmax(impossible))}): their missing cells "
            "have no posterior and stay NaN.",
            ImpossibleSampleWarning,
        )


class MixtureImputation:
    """``impute`` and ``sample_missing`` for a fitted mixture face (one with
    ``_fitted_model``, ``_params``, ``_checked`` and ``_map_rows``)."""

    def impute(self, X: Any, return_std: bool = False) -> Any:
        """Fill in the missing cells (NaN) of ``X`` with their conditional expectation
        given the row's observed cells under the fitted mixture.

        ``E[x_m | x_o] = sum_k r_k(x_o) E[x_m | x_o, k]``, with ``r_k(x_o)`` the posterior
        of component ``k`` given the observed cells (:meth:`predict_proba`). For a Gaussian
        family ``E[x_m | x_o, k] = mu_km + Sigma_kmo Sigma_koo^-1 (x_o - mu_ko)``; for the
        discrete families see :mod:`emkit.families.imputation` (a Bernoulli cell gets the
        probability of a 1, a Poisson cell the rate, a categorical cell the most probable
        category). Values are assumed missing at random, as in the fit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN where a cell is missing. A row with nothing observed gets the mixture's
            mean.
        return_std : bool, default=False
            Also return the conditional standard deviation of every missing cell, that of
            the mixture: ``Var = sum_k r_k (Var[x_m | x_o, k] + (E[x_m | x_o, k] -
            E[x_m | x_o])^2)``.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features)
            The observed cells as they are, the missing ones filled in; in the data's
            floating dtype.
        std : ndarray of shape (n_samples, n_features)
            Only with ``return_std``: zero for the observed cells (NaN for a categorical
            cell, which has no standard deviation).

        Raises
        ------
        TypeError
            When the family cannot say what a missing cell is given the observed ones.
        """
        if not isinstance(return_std, (bool, np.bool_)):
            raise TypeError(f"return_std must be True or False, got {return_std!r}")
        self._check_fitted()
        model = self._fitted_model()
        imputation = imputation_for(model.family)
        X = self._checked(X)
        params = self._params()
        d = int(self.n_features_in_)

        def fill(rows: np.ndarray) -> np.ndarray:
            rows = np.asarray(rows, dtype=np.float64)
            resp = _posteriors(model, params, rows)
            _report_impossible(resp)
            values, std = imputation.impute(model.family, params.components, rows, resp)
            return np.concatenate([values, std], axis=1)

        both = self._map_rows(fill, X).astype(output_dtype(X), copy=False)
        values, std = both[:, :d], both[:, d:]
        return (values, std) if return_std else values

    def sample_missing(
        self, X: Any, n_imputations: int = 5, random_state: Any = None
    ) -> np.ndarray:
        """Multiple imputation: ``n_imputations`` copies of ``X``, each with its missing
        cells drawn from their conditional distribution given the observed ones.

        Every draw picks a component from the row's posterior ``r_k(x_o)``, then the row's
        missing cells from their distribution under that component given the observed
        cells, jointly (for a Gaussian family ``N(mu_km|o, C_kmm)``, correlations between
        the missing cells included). Averaged over many draws, the copies approach
        :meth:`impute`, and their spread its ``return_std`` (for numeric cells).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN where a cell is missing.
        n_imputations : int, default=5
            Number of imputed copies.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws: the same seed (and ``chunk_size``) gives the same copies.

        Returns
        -------
        ndarray of shape (n_imputations, n_samples, n_features)
            The observed cells as they are in every copy.
        """
        check_int(n_imputations, "n_imputations", 1)
        self._check_fitted()
        model = self._fitted_model()
        imputation = imputation_for(model.family)
        X = self._checked(X)
        params = self._params()
        rng = check_random_state(random_state)
        m, d = int(n_imputations), int(self.n_features_in_)

        def draws(rows: np.ndarray) -> np.ndarray:
            rows = np.asarray(rows, dtype=np.float64)
            resp = _posteriors(model, params, rows)
            _report_impossible(resp)
            impossible = np.isnan(resp[:, 0])
            out = np.empty((rows.shape[0], m, d))
            for j in range(m):
                components = pick_components(resp, rng)
                drawn = imputation.draw(model.family, params.components, rows, components, rng)
                drawn[impossible] = rows[impossible]
                out[:, j] = drawn
            return out

        stacked = self._map_rows(draws, X).astype(output_dtype(X), copy=False)
        return np.ascontiguousarray(np.moveaxis(stacked, 1, 0))
