"""``emkit.EMImputer``: a scikit-learn transformer that fills in missing values with a
Gaussian mixture fitted by EM to the incomplete data."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from emkit.estimators.gaussian_mixture import GaussianMixture

__all__ = ["EMImputer"]


class EMImputer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Impute missing values (NaN) by their conditional expectation under a Gaussian
    mixture fitted by EM to the incomplete rows.

    ``fit`` fits :class:`emkit.GaussianMixture` to the data, its E-step conditioning every
    row on its observed cells (values missing at random); ``transform`` replaces every
    missing cell by ``E[x_m | x_o] = sum_k r_k(x_o) (mu_km + Sigma_kmo Sigma_koo^-1 (x_o -
    mu_ko))`` (:meth:`GaussianMixture.impute <emkit.GaussianMixture.impute>`). With the
    default ``n_components=1`` this is the classic EM for the multivariate normal with
    missing data (Little and Rubin, *Statistical Analysis with Missing Data*, ch. 11): the
    mean and covariance are their maximum-likelihood estimates from the incomplete data,
    and every missing cell its regression on the row's observed cells. More components
    capture clustered or non-linear structure.

    Parameters
    ----------
    n_components : int, default=1
        Mixture components.
    covariance_type : str, default='full'
        Any covariance type of :class:`emkit.GaussianMixture` ('full', 'tied', 'diag',
        'spherical' or an mclust name). With 'diag' or 'spherical' the columns are
        independent within a component, and a single component imputes column means.
    max_iter : int, default=100
        Largest number of EM iterations per initialisation.
    tol : float, default=1e-3
        Convergence threshold on the change of the mean per-sample log-likelihood.
    n_init : int, default=1
        Initialisations; the best fit is kept.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and, with ``sample_posterior``, the draws.
    reg_covar : float, default=1e-6
        Added to the variances at every M-step.
    sample_posterior : bool, default=False
        Fill every missing cell with one draw from its conditional distribution (as
        scikit-learn's ``IterativeImputer(sample_posterior=True)`` does) instead of its
        conditional expectation: a component from the row's posterior, then the row's
        missing cells jointly from that component's conditional Gaussian
        (:meth:`GaussianMixture.sample_missing <emkit.GaussianMixture.sample_missing>`).
        With an integer ``random_state`` every ``transform`` gives the same draws.

    Attributes
    ----------
    mixture_ : GaussianMixture
        The mixture fitted to the incomplete data.
    n_iter_ : int
        EM iterations of the best initialisation (``mixture_.n_iter_``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string feature names.

    Examples
    --------
    >>> import numpy as np
    >>> from emkit import EMImputer
    >>> X = np.array([[1.0, 2.0], [2.0, 4.1], [3.0, np.nan], [4.0, 8.2], [np.nan, 10.0]])
    >>> EMImputer(random_state=0).fit_transform(X).round(1)[[2, 4]]
    array([[ 3. ,  6.1],
           [ 4.9, 10. ]])
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        max_iter: int = 100,
        tol: float = 1e-3,
        n_init: int = 1,
        random_state: Any = None,
        reg_covar: float = 1e-6,
        sample_posterior: bool = False,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state
        self.reg_covar = reg_covar
        self.sample_posterior = sample_posterior

    def fit(self, X: Any, y: Any = None) -> EMImputer:
        """Fit the Gaussian mixture to ``X`` (n_samples, n_features), NaN where a cell is
        missing; ``y`` is ignored.

        Raises
        ------
        ValueError
            For a column with no observed value, whose distribution nothing tells.

        Returns
        -------
        self
        """
        if not isinstance(self.sample_posterior, (bool, np.bool_)):
            raise ValueError(
                f"sample_posterior must be True or False, got {self.sample_posterior!r}"
            )
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan")
        empty = np.flatnonzero(np.isnan(X).all(axis=0)) if X.shape[0] else np.empty(0, int)
        if empty.size:
            raise ValueError(
                f"column {int(empty[0])} of X has no observed value ({empty.size} such "
                "column(s)): EMImputer cannot estimate what to fill it with; drop it first"
            )
        self.mixture_ = GaussianMixture(
            self.n_components,
            covariance_type=self.covariance_type,
            max_iter=self.max_iter,
            tol=self.tol,
            n_init=self.n_init,
            random_state=self.random_state,
            reg_covar=self.reg_covar,
        ).fit(X)
        self.n_iter_ = int(self.mixture_.n_iter_)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """``X`` (n_samples, n_features) with its missing cells filled in: their
        conditional expectation, or one draw with ``sample_posterior=True``; the observed
        cells as they are, in the data's floating dtype."""
        check_is_fitted(self)
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan", reset=False
        )
        if self.sample_posterior:
            rng = check_random_state(self.random_state)
            return self.mixture_.sample_missing(X, 1, random_state=rng)[0]
        return self.mixture_.impute(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
