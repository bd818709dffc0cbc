"""``emkit.GaussianMixture``: a drop-in for ``sklearn.mixture.GaussianMixture``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from emkit.core.batches import DEFAULT_CHUNK_SIZE
from emkit.estimators.description import COVARIANCE
from emkit.estimators.imputation import MixtureImputation
from emkit.estimators.mixtures import (
    MIXTURE_PARAMETERS,
    N_COMPONENTS,
    BaseMixture,
    face_doc,
    init_params,
)
from emkit.estimators.parameters import Param, anything, real
from emkit.exceptions import RegularisationWarning, warn
from emkit.families.checks import dominant_regularisation
from emkit.families.covariance import (
    COVARIANCE_STRUCTURES,
    CovarianceStructure,
    covariance_structure,
)
from emkit.families.gaussian import Gaussian, unconstrained_refusal
from emkit.models.mixture import Mixture as MixtureModel
from emkit.models.mixture import MixtureParams


def _known_covariance(value: Any) -> str | None:
    if isinstance(value, str) and value in COVARIANCE_STRUCTURES:
        return None
    return f"must be one of {list(COVARIANCE_STRUCTURES)}"


def _numbers(value: Any, name: str) -> np.ndarray:
    """``value`` as a float64 array (a copy); ValueError naming ``name`` if it is none."""
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid {name}: {value!r} is not an array of numbers") from None


COVARIANCE_TYPE = Param(
    "covariance_type",
    "full",
    "str",
    """
    Covariance structure: 'full' (own full matrix), 'tied' (one shared full matrix),
    'diag' (own diagonal), 'spherical' (own single variance), or any of mclust's 14
    models ``Sigma_k = lambda_k D_k A_k D_k^T`` by name, the letters saying whether
    volume ``lambda``, shape ``A`` and orientation ``D`` are Equal across components,
    Varying, or the Identity: 'EII', 'VII', 'EEI', 'VEI', 'EVI', 'VVI', 'EEE', 'VEE',
    'EVE', 'VVE', 'EEV', 'VEV', 'EVV', 'VVV' ('spherical' is 'VII', 'diag' 'VVI', 'tied'
    'EEE' and 'full' 'VVV'). The covariances are stored as 'spherical' (K,) for EII, as
    'diag' (K, D) for EEI, VEI and EVI, and as 'full' (K, D, D) for the others.
    ``accelerate='squarem'`` is not available for VEE, EVE, VVE, EEV, VEV and EVV.
    """,
    _known_covariance,
)
REG_COVAR = Param(
    "reg_covar",
    1e-6,
    "float",
    "Non-negative value added to the variances at every M-step.",
    real(0.0),
)


class CovarianceFace(BaseMixture):
    """A face whose components have locations and covariance (or scale) matrices of a
    covariance structure: the hyperparameters ``covariance_type`` and ``reg_covar``, and the
    fitted ``means_``, ``covariances_``, ``precisions_cholesky_`` and ``precisions_``."""

    _abstract_face = True
    # The covariance type as the user named it (the family holds its strategy, under which
    # mclust's VVV is 'full').
    description = replace(BaseMixture.description, words=(COVARIANCE,))
    covariance_type: str
    reg_covar: float

    def _structure(self) -> CovarianceStructure:
        return covariance_structure(self.covariance_type)

    def _check_hyperparameters(self) -> None:
        super()._check_hyperparameters()
        structure = self._structure()
        if self.accelerate is not None and not structure.extrapolates:
            raise ValueError(unconstrained_refusal(structure.name))

    def _check_fit_data(self, X: np.ndarray) -> None:
        block = self.chunk_size or DEFAULT_CHUNK_SIZE
        message = dominant_regularisation(X, float(self.reg_covar), "reg_covar", block)
        if message is not None:
            warn(message, RegularisationWarning)

    def _set_params(self, params: MixtureParams, dtype: Any = np.float64) -> None:
        super()._set_params(params, dtype)
        precisions = self._structure().precisions(params.components.precisions_cholesky)
        self.precisions_ = precisions.astype(dtype, copy=False)


class GaussianMixture(MixtureImputation, CovarianceFace):
    __doc__ = face_doc(
        """Gaussian mixture fitted by EM.

    Same constructor, attributes and methods as ``sklearn.mixture.GaussianMixture``, plus
    sample weights, hard (classification) EM, chunked E-steps with bounded memory, and
    float32 data kept in float32 while statistics accumulate in float64.""",
        """\
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
    precisions_ : ndarray
    precisions_cholesky_ : ndarray
""",
        """\
    With ``hard=True``, spherical, equal, fixed covariances and equal weights,
    classification EM is k-means (see :class:`emkit.KMeans`).
""",
    )

    _parameters = (
        N_COMPONENTS,
        COVARIANCE_TYPE,
        REG_COVAR,
        init_params(
            "kmeans",
            "'k-means++' and 'random_from_data' assign every sample to its nearest seed.",
        ),
        Param("weights_init", None, "array-like of shape (n_components,)", "", anything),
        Param("means_init", None, "array-like of shape (n_components, n_features)", "", anything),
        Param(
            "precisions_init",
            None,
            "array-like",
            "Initial precisions: (K, D, D) full, (D, D) tied, (K, D) diag, (K,) spherical.",
            anything,
        ),
        Param(
            "frozen_components",
            None,
            "array-like of int",
            """
            Indices of components whose means and covariances EM keeps at their starting
            values (known components, e.g. a background or a reference class) while the
            other components move; their weights are still re-estimated. The starting values
            come from ``means_init`` and ``precisions_init``, which are then required, or
            from the previous fit with ``warm_start=True``. Only for covariance types in
            which every component has its own covariance ('full', 'diag', 'spherical', and
            mclust's VVV, VVI, VII); a shared covariance ('tied' and the other mclust models)
            cannot be held for one component while the others move, and is refused.
            """,
            anything,
        ),
        *MIXTURE_PARAMETERS,
    )

    # -- hooks of the shared base -------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        super()._check_hyperparameters()
        self._frozen()

    def _frozen(self) -> frozenset[int]:
        """The checked ``frozen_components``."""
        if self.frozen_components is None:
            return frozenset()
        indices = np.asarray(self.frozen_components)
        k = self.n_components
        if (
            indices.ndim != 1
            or (indices.size and indices.dtype.kind not in "iu")
            or np.any((indices < 0) | (indices >= k))
            or np.unique(indices).size != indices.size
        ):
            raise ValueError(
                f"frozen_components must be distinct component indices in 0..{k - 1}, "
                f"got {self.frozen_components!r}"
            )
        return frozenset(int(i) for i in indices)

    def _family(self) -> Gaussian:
        return Gaussian(covariance_structure(self.covariance_type), float(self.reg_covar))

    def _model(self, family: Gaussian) -> MixtureModel:
        return replace(super()._model(family), frozen_components=self._frozen())

    def _fitted_model(self) -> MixtureModel:
        # Frozen components were not estimated: bic and aic do not count their parameters.
        return replace(super()._fitted_model(), frozen_components=self._frozen())

    def _initial(self, model: MixtureModel, n_features: int) -> Any:
        """Starting point for the driver: previous parameters, user-given ones, or None."""
        if self._warm():
            return self._params()
        given = self._user_init(model, n_features)
        if model.frozen_components and (given["means"] is None or given["covariances"] is None):
            raise ValueError(
                "frozen_components keep their starting means and covariances, which must be "
                "given: pass means_init and precisions_init, or refit a fitted model with "
                "warm_start=True"
            )
        if not any(v is not None for v in given.values()):
            return None
        weights, means, covariances = given["weights"], given["means"], given["covariances"]
        family = model.family

        complete = all(v is not None for v in given.values())

        def start(X: np.ndarray, rng: np.random.RandomState, w: np.ndarray | None) -> MixtureParams:
            base = None if complete else model.init(X, rng, w)
            return MixtureParams(
                base.weights if weights is None else weights,
                family.from_covariances(
                    base.components.means if means is None else means,
                    base.components.covariances if covariances is None else covariances,
                ),
            )

        # A complete start reads no rows: a fit from a file draws no sample for it.
        start.reads_rows = not complete  # type: ignore[attr-defined]
        return start

    def _restore(self) -> None:
        super()._restore()
        # The starting values serve a later fit; an edited file must fail when it is read.
        self._user_init(self._model(self._family()), int(self.n_features_in_))

    def _user_init(self, model: MixtureModel, n_features: int) -> dict[str, np.ndarray | None]:
        k = model.n_components
        weights = means = covariances = None
        if self.weights_init is not None:
            weights = _numbers(self.weights_init, "weights_init")
            if weights.shape != (k,):
                raise ValueError(
                    f"Invalid weights_init. The parameter 'weights' should have the shape of "
                    f"({k},), but got {weights.shape}"
                )
            if not np.all(np.isfinite(weights)) or weights.min() < 0 or weights.max() > 1:
                raise ValueError(
                    "Invalid weights_init. The parameter 'weights' should be in the range "
                    f"[0, 1], but got min value {weights.min():.5f}, max value "
                    f"{weights.max():.5f}"
                )
            if not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
                raise ValueError(
                    "Invalid weights_init. The parameter 'weights' should be normalized, but "
                    f"got sum(weights) = {weights.sum():.5f}"
                )
            weights = weights / weights.sum()
        if self.means_init is not None:
            means = _numbers(self.means_init, "means_init")
            if means.shape != (k, n_features):
                raise ValueError(
                    "Invalid means_init. The parameter 'means' should have the shape of "
                    f"{(k, n_features)}, but got {means.shape}"
                )
            if not np.all(np.isfinite(means)):
                raise ValueError("Invalid means_init: it holds NaN or infinite values")
        if self.precisions_init is not None:
            structure = model.family.covariance
            try:
                precisions = structure.check(
                    self.precisions_init, k, n_features, f"{self.covariance_type} precision"
                )
            except ValueError as exc:
                raise ValueError(f"Invalid precisions_init. {exc}") from None
            covariances = structure.covariances_from_precisions(precisions)
        return {"weights": weights, "means": means, "covariances": covariances}
