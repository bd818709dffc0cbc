"""``emkit.StudentMixture``: a mixture of multivariate Student-t distributions, robust to
outlying samples, with the degrees of freedom learned from the data."""

from __future__ import annotations

from emkit.estimators.gaussian_mixture import COVARIANCE_TYPE, REG_COVAR, CovarianceFace
from emkit.estimators.imputation import MixtureImputation
from emkit.estimators.mixtures import (
    MIXTURE_PARAMETERS,
    N_COMPONENTS,
    face_doc,
    family_parameter,
    init_params,
)
from emkit.estimators.parameters import Param, boolean
from emkit.families.student import StudentT


class StudentMixture(MixtureImputation, CovarianceFace):
    __doc__ = face_doc(
        """Mixture of multivariate Student-t distributions, fitted by ECM.

    Each component is ``t(mu_k, Sigma_k, nu_k)``: a Gaussian whose precision is scaled by a
    latent Gamma(nu / 2, nu / 2) weight per sample, so that samples far from a component
    weigh less in its location and scale. The degrees of freedom ``nu_k`` are estimated too
    (a one-dimensional root per component after the location and scale updates), so the
    fit decides how heavy the tails are; the family is
    :class:`emkit.families.student.StudentT`. Data: real numbers, shape (n_samples,
    n_features), NaN marking a missing cell: a row counts by the t density of its observed
    cells, and :meth:`impute` fills the missing ones in (see
    :mod:`emkit.families.student_missing`).""",
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

    _parameters = (
        N_COMPONENTS,
        COVARIANCE_TYPE.with_doc(
            """
            Structure of the scale matrices ``Sigma_k``: 'full', 'tied', 'diag', 'spherical'
            or one of mclust's names (see :class:`emkit.GaussianMixture`).
            """,
        ),
        REG_COVAR.with_doc(
            "Non-negative value added to the variances of the scale matrices at every M-step."
        ),
        family_parameter(
            "dof_init", 10.0, "float", "Degrees of freedom every component starts from."
        ),
        Param(
            "shared_dof",
            False,
            "bool",
            "One number of degrees of freedom for all components.",
            boolean,
        ),
        Param(
            "fixed_dof",
            False,
            "bool",
            "Keep the degrees of freedom at ``dof_init`` instead of estimating them.",
            boolean,
        ),
        init_params("kmeans"),
        *MIXTURE_PARAMETERS,
    )

    def _family(self) -> StudentT:
        return StudentT(
            self._structure(),
            float(self.reg_covar),
            dof_init=self.dof_init,
            shared_dof=bool(self.shared_dof),
            frozen=frozenset({"dof"}) if self.fixed_dof else frozenset(),
        )
