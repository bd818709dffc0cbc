"""``emkit.StudentMixture``: a mixture of multivariate Student-t distributions, robust to
outlying samples, with the degrees of freedom learned from the data."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from emkit.estimators.gaussian_mixture import CovarianceFace
from emkit.estimators.mixtures import N_COMPONENTS_DOC, checked_array, face_doc, init_params_doc
from emkit.families.student import StudentParams, StudentT


class StudentMixture(CovarianceFace):
    __doc__ = face_doc(
        """Mixture of multivariate Student-t distributions, fitted by ECM.

    Each component is ``t(mu_k, Sigma_k, nu_k)``: a Gaussian whose precision is scaled by a
    latent Gamma(nu / 2, nu / 2) weight per sample, so that samples far from a component
    weigh less in its location and scale. The degrees of freedom ``nu_k`` are estimated too
    (a one-dimensional root per component after the location and scale updates), so the
    fit decides how heavy the tails are; the family is
    :class:`emkit.families.student.StudentT`. Data: real numbers, shape (n_samples,
    n_features).""",
        N_COMPONENTS_DOC
        + """\
    covariance_type : str, default='full'
        Structure of the scale matrices ``Sigma_k``: 'full', 'tied', 'diag', 'spherical' or
        one of mclust's names (see :class:`emkit.GaussianMixture`).
    reg_covar : float, default=1e-6
        Non-negative value added to the variances of the scale matrices at every M-step.
    dof_init : float, default=10.0
        Degrees of freedom every component starts from.
    shared_dof : bool, default=False
        One number of degrees of freedom for all components.
    fixed_dof : bool, default=False
        Keep the degrees of freedom at ``dof_init`` instead of estimating them.
""",
        init_params_doc("kmeans"),
        """\
    means_ : ndarray of shape (n_components, n_features)
        Locations ``mu_k`` (the means where ``dof_ > 1``).
    covariances_ : ndarray
        Scale matrices ``Sigma_k`` in the covariance structure's shape; the covariance of a
        component is ``dof_ / (dof_ - 2) * Sigma_k`` where ``dof_ > 2``.
    precisions_cholesky_ : ndarray
        Cholesky factors of the inverse scale matrices.
    dof_ : ndarray of shape (n_components,)
        Degrees of freedom ``nu_k`` (at most
        :data:`emkit.families.student.DOF_MAX`: tails no heavier than a Gaussian's).
""",
        """\
    Every CM-step maximises the expected complete-data log-likelihood over its block of
    parameters, so the log-likelihood never decreases (with ``reg_covar=0``). Where the
    likelihood is flat in the degrees of freedom (near-Gaussian components), plain EM creeps;
    ``accelerate='squarem'`` helps most there.
""",
    )

    _params_class = StudentParams
    _fitted_arrays: ClassVar[tuple[str, ...]] = (
        "weights_",
        "means_",
        "covariances_",
        "dof_",
        "lower_bounds_",
    )

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        reg_covar: float = 1e-6,
        dof_init: float = 10.0,
        shared_dof: bool = False,
        fixed_dof: bool = False,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        hard: bool = False,
        chunk_size: int | None = None,
        n_jobs: int | None = None,
        accelerate: str | None = None,
    ) -> None:
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.dof_init = dof_init
        self.shared_dof = shared_dof
        self.fixed_dof = fixed_dof
        super().__init__(
            n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            hard=hard,
            chunk_size=chunk_size,
            n_jobs=n_jobs,
            accelerate=accelerate,
        )

    def _check_hyperparameters(self) -> None:
        super()._check_hyperparameters()
        for name in ("shared_dof", "fixed_dof"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        self._family()

    def _family(self) -> StudentT:
        dof = self.dof_init
        if isinstance(dof, bool) or not isinstance(dof, (int, float, np.integer, np.floating)):
            raise ValueError(f"dof_init must be a positive number, got {dof!r}")
        return StudentT(
            self._structure(),
            float(self.reg_covar),
            dof_init=float(dof),
            shared_dof=bool(self.shared_dof),
            frozen=frozenset({"dof"}) if self.fixed_dof else frozenset(),
        )

    def _stored_components(self) -> StudentParams:
        means, covariances = self._stored_location_scale()
        dof = checked_array(self.dof_, (int(self.n_components),), "dof_")
        return self._family().from_covariances(means, covariances, dof)
