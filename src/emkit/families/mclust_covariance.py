"""M-steps and structure checks of Gaussian covariances with constrained eigen-decompositions.

Celeux and Govaert (1995, "Gaussian parsimonious clustering models") write the covariance of
component k as

    Sigma_k = lambda_k D_k A_k D_k^T

with the volume ``lambda_k = |Sigma_k|^(1/d)``, the shape ``A_k`` (diagonal, positive,
determinant 1) and the orientation ``D_k`` (orthogonal). A model's name says, for volume, shape
and orientation in that order, whether they are Equal for all components, Variable, or (shape
and orientation) the Identity: EII, VII, EEI, VEI, EVI, VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV,
VVV.

Given the weights ``n_k`` and the scatter ``W_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T`` of
every component about its new mean, an M-step minimises

    F(Sigma) = sum_k n_k log|Sigma_k| + tr(W_k Sigma_k^{-1})

(minus twice the expected complete-data log-likelihood, up to terms free of the covariances)
over the covariances the model allows. This module does so for the ten models that are not
VVV, EEE, VVI or VII (whose M-steps are those of the 'full', 'tied', 'diag' and 'spherical'
strategies of :mod:`emkit.families.covariance`).

EII, EEI, EVI, EEV and EVV have closed forms. VEI, VEE and VEV alternate between the volumes and
the common shape (and, for VEV, the orientations, which are the scatters' eigenvectors);
EVE and VVE (Browne and McNicholas 2014) alternate between the shapes and volumes, which have
closed forms for a given orientation, and the common orientation, improved by Jacobi sweeps:
rotations in one coordinate plane at a time, each by the angle that minimises F exactly with
the shapes held. Every update minimises F over one block of parameters with the others held,
and the first starts from the previous covariances ``old``, so F never rises above its value at
``old`` (when ``old`` has the model's structure). The alternation stops when the largest
relative change of the parameters in a round falls to :data:`INNER_TOL`, or below
:data:`STALL_TOL` without shrinking (round-off, amplified by ill-conditioned scatters, then
dominates it), or after :data:`MAX_INNER_ITER` rounds; stopped early, the result is still an
improvement on ``old`` (a generalised EM step), and the next M-step goes on from it.

The ``fit_*`` functions share their arguments: ``nk`` (K,), the component weights; ``W``
(K, d, d), the scatters, or ``w`` (K, d), their diagonals for the diagonal models, with
``reg_covar`` already added (see the constrained strategies of
:mod:`emkit.families.covariance`); ``old``, the previous covariances in the model's stored
shape; and ``active`` (K,), bool, the components with weight, whose scatters alone are read.
They return covariances in the stored shape: (K,) for EII, (K, d) for the diagonal models,
(K, d, d) for the others. A scatter that leaves a covariance singular raises ValueError.

Components that are not ``active`` keep their own (Variable) volume, shape and orientation
from ``old``; parameters they share take the new values, so their covariances keep the
model's structure.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from emkit.numerics.linalg import ill_defined

INNER_TOL = 1e-13
"""Relative change of the parameters in one round at which an iterative M-step stops."""

STALL_TOL = 1e-8
"""Relative change below which an iterative M-step also stops once the change stops
shrinking."""

MAX_INNER_ITER = 5000
"""Largest number of rounds of an iterative M-step."""

STRUCTURE_RTOL = 1e-6
"""Relative tolerance of the structure checks of user-given covariances or precisions."""


# -- closed forms ------------------------------------------------------------------------------
def fit_eii(nk: np.ndarray, w: np.ndarray, active: np.ndarray) -> np.ndarray:
    """One variance for all components: ``sum_k tr(W_k) / (d sum_k n_k)``, repeated, shape
    (K,); ``w`` (K, d) holds the scatters' diagonals."""
    variance = w[active].sum() / (w.shape[1] * nk[active].sum())
    return np.full(nk.shape[0], variance)


def fit_eei(nk: np.ndarray, w: np.ndarray, active: np.ndarray) -> np.ndarray:
    """One diagonal covariance for all components: ``diag(sum_k W_k) / sum_k n_k``, repeated,
    shape (K, d); ``w`` (K, d) holds the scatters' diagonals."""
    pooled = w[active].sum(axis=0) / nk[active].sum()
    return np.repeat(pooled[None], nk.shape[0], axis=0)


def fit_evi(nk: np.ndarray, w: np.ndarray, old: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Diagonal covariances of equal volume, shape (K, d).

    For a volume ``lambda`` the best shape is ``A_k = diag(W_k) / g_k`` with ``g_k`` the
    geometric mean of ``diag(W_k)``; then ``lambda = sum_k g_k / sum_k n_k``. ``w`` (K, d)
    holds the scatters' diagonals, ``old`` (K, d) the previous variances.
    """
    _check_positive(w[active], np.flatnonzero(active))
    g = _geometric_mean(w[active])
    volume = g.sum() / nk[active].sum()
    shapes = np.empty_like(w)
    shapes[active] = w[active] / g[:, None]
    shapes[~active] = old[~active] / _geometric_mean(old[~active])[:, None]
    return volume * shapes


def fit_eev(nk: np.ndarray, W: np.ndarray, old: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Covariances of equal volume and shape, own orientations, shape (K, d, d).

    With the eigenvalues ``omega_k`` of ``W_k`` in decreasing order and ``E_k`` its
    eigenvectors, ``Sigma_k = E_k diag(s) E_k^T`` with ``s = sum_k omega_k / sum_k n_k``: for any
    common ``lambda A`` the best orientation pairs the largest eigenvalues of ``W_k`` with the
    largest of ``lambda A``, and this ``s`` is then optimal and already sorted.
    """
    values, vectors = _eigh_decreasing(W[active])
    common = values.sum(axis=0) / nk[active].sum()
    _check_positive(common[None], np.flatnonzero(active))
    orientations = np.empty_like(W)
    orientations[active] = vectors
    orientations[~active] = _eigh_decreasing(old[~active])[1]
    return _compose(orientations, np.broadcast_to(common, (W.shape[0], W.shape[1])))


def fit_evv(nk: np.ndarray, W: np.ndarray, old: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Covariances of equal volume, own shapes and orientations, shape (K, d, d).

    For a volume ``lambda`` the best ``C_k = D_k A_k D_k^T`` is ``W_k / |W_k|^(1/d)``; then
    ``lambda = sum_k |W_k|^(1/d) / sum_k n_k``.
    """
    values = np.linalg.eigvalsh(W[active])
    _check_positive(values, np.flatnonzero(active))
    g = _geometric_mean(values)
    volume = g.sum() / nk[active].sum()
    out = np.empty_like(W)
    out[active] = volume * W[active] / g[:, None, None]
    out[~active] = volume * old[~active] / _volumes(old[~active])[:, None, None]
    return out


# -- alternations --------------------------------------------------------------------------------
def fit_vei(nk: np.ndarray, w: np.ndarray, old: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Diagonal covariances of equal shape, own volumes, shape (K, d): see
    :func:`_volumes_and_common_shape`. ``w`` (K, d) holds the scatters' diagonals, ``old``
    (K, d) the previous variances."""
    volumes = _geometric_mean(old)
    shape, volumes[active] = _volumes_and_common_shape(
        nk[active], w[active], volumes[active], np.flatnonzero(active)
    )
    return volumes[:, None] * shape


def fit_vev(nk: np.ndarray, W: np.ndarray, old: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Covariances of equal shape, own volumes and orientations, shape (K, d, d).

    For any volumes the best shape and orientations are those of EEV on ``W_k / lambda_k``:
    the orientations are the eigenvectors of ``W_k`` (eigenvalues in decreasing order, as the
    shape's), whatever the volumes. What remains is VEI on the eigenvalues.
    """
    values, vectors = _eigh_decreasing(W[active])
    volumes = _volumes(old)
    shape, volumes[active] = _volumes_and_common_shape(
        nk[active], values, volumes[active], np.flatnonzero(active)
    )
    orientations = np.empty_like(W)
    orientations[active] = vectors
    orientations[~active] = _eigh_decreasing(old[~active])[1]
    return _compose(orientations, volumes[:, None] * shape)


def fit_vee(nk: np.ndarray, W: np.ndarray, old: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Covariances ``lambda_k C`` with one ``C`` of determinant 1, shape (K, d, d).

    Alternates ``C = M / |M|^(1/d)`` with ``M = sum_k W_k / lambda_k`` (best for the volumes)
    and ``lambda_k = tr(W_k C^{-1}) / (d n_k)`` (best for ``C``), from the volumes of ``old``.
    """
    d = W.shape[1]
    index = np.flatnonzero(active)
    volumes = _volumes(old)
    Wa, na, va = W[active], nk[active], volumes[active]
    previous = np.inf
    for _ in range(MAX_INNER_ITER):
        M = (Wa / va[:, None, None]).sum(axis=0)
        try:
            factor = linalg.cho_factor(M, lower=True)
        except linalg.LinAlgError:
            raise ill_defined(int(index[0])) from None
        scale = np.exp(2.0 * np.log(np.diagonal(factor[0])).sum() / d)
        # tr(M^-1 W_k) for every component from one solve with all scatters side by side.
        solved = linalg.cho_solve(factor, np.concatenate(list(Wa), axis=1))
        traces = np.trace(solved.reshape(d, Wa.shape[0], d), axis1=0, axis2=2)
        new = scale * traces / (d * na)
        _check_positive(new[:, None], index)
        change = float(np.max(np.abs(new / va - 1.0)))
        va = new
        if _settled(change, previous):
            break
        previous = change
    volumes[active] = va
    common = M / scale
    return _symmetric(volumes[:, None, None] * common[None])


def _volumes_and_common_shape(
    nk: np.ndarray, values: np.ndarray, volumes: np.ndarray, index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Own volumes and one common diagonal shape for positive ``values`` (K, d) that play the
    role of ``W_k``'s diagonal.

    Alternates ``A = s / |s|^(1/d)`` with ``s = sum_k values_k / lambda_k`` (best for the
    volumes) and ``lambda_k = sum_j values_kj / A_j / (d n_k)`` (best for the shape), from
    ``volumes`` (K,). ``index`` gives the components' positions, for error messages.

    Returns
    -------
    shape : ndarray of shape (d,)
    volumes : ndarray of shape (K,)
    """
    d = values.shape[1]
    previous = np.inf
    for _ in range(MAX_INNER_ITER):
        s = (values / volumes[:, None]).sum(axis=0)
        _check_positive(s[None], index)
        shape = s / _geometric_mean(s)
        new = (values / shape).sum(axis=1) / (d * nk)
        _check_positive(new[:, None], index)
        change = float(np.max(np.abs(new / volumes - 1.0)))
        volumes = new
        if _settled(change, previous):
            break
        previous = change
    return shape, volumes


def fit_eve(nk: np.ndarray, W: np.ndarray, old: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Covariances ``lambda D A_k D^T`` of equal volume and orientation, shape (K, d, d).

    For an orientation ``D``, with ``m_k = diag(D^T W_k D)`` and ``g_k`` its geometric mean,
    the best shapes are ``A_k = m_k / g_k`` and the best volume ``sum_k g_k / sum_k n_k``; for
    the shapes, a Jacobi sweep improves ``D``. Starts from the orientation of ``old``.
    """
    start = shared_orientation(old)
    index = np.flatnonzero(active)
    orientation, variances = _orientation_rounds(
        nk[active], W[active], start, equal_volume=True, index=index
    )
    out_variances = np.empty(W.shape[:2])
    out_variances[active] = variances
    # Every row of ``variances`` is the common volume times a shape of determinant 1.
    volume = _geometric_mean(variances[0])
    held = _frame_variances(old[~active], start)
    out_variances[~active] = volume * held / _geometric_mean(held)[:, None]
    return _compose(np.broadcast_to(orientation, W.shape), out_variances)


def fit_vve(nk: np.ndarray, W: np.ndarray, old: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Covariances ``D Delta_k D^T`` with one orientation ``D``, shape (K, d, d).

    For an orientation the best variances are ``Delta_k = diag(D^T W_k D) / n_k``; for the
    variances, a Jacobi sweep improves ``D``. Starts from the orientation of ``old``.
    """
    start = shared_orientation(old)
    index = np.flatnonzero(active)
    orientation, variances = _orientation_rounds(
        nk[active], W[active], start, equal_volume=False, index=index
    )
    out_variances = np.empty(W.shape[:2])
    out_variances[active] = variances
    out_variances[~active] = _frame_variances(old[~active], start)
    return _compose(np.broadcast_to(orientation, W.shape), out_variances)


def shared_orientation(covariances: np.ndarray) -> np.ndarray:
    """The orthogonal ``D`` (d, d) that diagonalises all ``covariances`` (K, d, d) together.

    Exact (to round-off) when they share their eigenvectors; otherwise the orientation of
    the VVE model fitted to them. Starts from the eigenvectors of their sum, which already
    serve unless the sum has repeated eigenvalues that the components do not share.
    """
    start = np.linalg.eigh(covariances.sum(axis=0))[1]
    n = covariances.shape[0]
    orientation, _ = _orientation_rounds(
        np.ones(n), covariances, start, equal_volume=False, index=np.arange(n)
    )
    return orientation


def _orientation_rounds(
    nk: np.ndarray, W: np.ndarray, orientation: np.ndarray, equal_volume: bool, index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Alternate the variances for the orientation and Jacobi sweeps of the orientation for
    the variances, from ``orientation`` (d, d) (copied).

    Returns
    -------
    orientation : ndarray of shape (d, d)
    variances : ndarray of shape (K, d)
        The best variances for the returned orientation (``lambda A_k`` with one ``lambda``
        when ``equal_volume``, else ``Delta_k``).
    """
    D = orientation.copy()
    last, previous = None, np.inf
    for _ in range(MAX_INNER_ITER):
        # Recomputed every round, so that round-off in the rotations does not accumulate.
        V = np.swapaxes(D, 0, 1)[None] @ W @ D[None]
        variances = _frame_best_variances(nk, np.diagonal(V, axis1=1, axis2=2), equal_volume, index)
        # Changes of the covariances, not of D: rotations within a plane where every
        # component has equal variances change nothing.
        current = _compose(np.broadcast_to(D, W.shape), variances)
        if last is not None:
            change = _relative_change(current, last)
            if _settled(change, previous):
                break
            previous = change
        last = current
        _jacobi_sweep(V, 1.0 / variances, D)
    else:
        V = np.swapaxes(D, 0, 1)[None] @ W @ D[None]
        variances = _frame_best_variances(nk, np.diagonal(V, axis1=1, axis2=2), equal_volume, index)
    return D, variances


def _frame_best_variances(
    nk: np.ndarray, m: np.ndarray, equal_volume: bool, index: np.ndarray
) -> np.ndarray:
    """Best variances (K, d) along fixed axes from the scatters' variances ``m`` (K, d) along
    them: ``m_k / n_k``, or with one volume ``lambda m_k / g_k``, ``lambda = sum_k g_k / sum_k
    n_k`` and ``g_k`` the geometric mean of ``m_k``."""
    _check_positive(m, index)
    if not equal_volume:
        return m / nk[:, None]
    g = _geometric_mean(m)
    return (g.sum() / nk.sum()) * m / g[:, None]


def _jacobi_sweep(V: np.ndarray, b: np.ndarray, D: np.ndarray) -> None:
    """Rotate ``D`` (d, d) in every coordinate plane, in place, each time by the angle that
    minimises ``sum_k tr(D^T W_k D diag(b_k))`` exactly; ``V`` (K, d, d) holds
    ``D^T W_k D`` and is rotated along.

    Turning columns p and q by ``theta`` changes the sum by
    ``alpha (cos 2 theta - 1) + beta sin 2 theta`` with
    ``alpha = sum_k (b_kp - b_kq)(V_kpp - V_kqq) / 2`` and ``beta = sum_k (b_kp - b_kq) V_kpq``,
    least at ``(cos 2 theta, sin 2 theta) = -(alpha, beta) / |(alpha, beta)|``.
    """
    d = D.shape[0]
    for p in range(d - 1):
        for q in range(p + 1, d):
            diff = b[:, p] - b[:, q]
            alpha = 0.5 * float(diff @ (V[:, p, p] - V[:, q, q]))
            beta = float(diff @ V[:, p, q])
            if alpha == 0.0 and beta == 0.0:
                continue
            theta = 0.5 * np.arctan2(-beta, -alpha)
            c, s = np.cos(theta), np.sin(theta)
            _rotate(D, p, q, c, s, axis=1)
            _rotate(V, p, q, c, s, axis=2)
            _rotate(V, p, q, c, s, axis=1)


def _rotate(A: np.ndarray, p: int, q: int, c: float, s: float, axis: int) -> None:
    """Replace slices p and q of ``A`` along ``axis`` by ``c a_p + s a_q`` and
    ``c a_q - s a_p``, in place."""
    index_p = [slice(None)] * A.ndim
    index_q = [slice(None)] * A.ndim
    index_p[axis], index_q[axis] = p, q
    a_p, a_q = A[tuple(index_p)].copy(), A[tuple(index_q)].copy()
    A[tuple(index_p)] = c * a_p + s * a_q
    A[tuple(index_q)] = c * a_q - s * a_p


def _frame_variances(covariances: np.ndarray, orientation: np.ndarray) -> np.ndarray:
    """Variances (K, d) of ``covariances`` (K, d, d) along the columns of ``orientation``."""
    return np.einsum("ji,kjl,li->ki", orientation, covariances, orientation)


# -- structure checks ----------------------------------------------------------------------------
def structure_violation(name: str, covariances: np.ndarray) -> str | None:
    """What keeps ``covariances`` (or precisions, whose structure is the same) from the
    structure of model ``name``, or None when they have it (to :data:`STRUCTURE_RTOL`).

    Parameters
    ----------
    name : str
        A model's three letters.
    covariances : ndarray
        Validated (positive / positive definite) parameters in the model's stored shape:
        (K,) for EII, (K, d) for EEI, VEI, EVI, (K, d, d) for the others.
    """
    volume, shape, orientation = name
    if covariances.ndim == 1:
        return None if _all_equal(covariances) else "the variances differ"
    if covariances.ndim == 2:
        volumes = _geometric_mean(covariances)
        shapes = covariances / volumes[:, None]
    else:
        values = np.linalg.eigvalsh(covariances)[:, ::-1]
        volumes = _geometric_mean(values)
        shapes = values / volumes[:, None]
        if orientation == "E" and not _commute(covariances):
            return "the components do not share their orientation"
        # Equal sorted eigenvalues along shared axes may still sit on different axes.
        if shape == "E" and orientation == "E":
            if not _all_equal(covariances / volumes[:, None, None]):
                return "the components do not share their shape and orientation"
    if volume == "E" and not _all_equal(volumes):
        return "the volumes (determinants) differ"
    if shape == "E" and not _all_equal(shapes):
        return "the shapes (eigenvalues divided by the volume) differ"
    return None


def _all_equal(values: np.ndarray) -> bool:
    scale = float(np.max(np.abs(values), initial=0.0))
    return bool(np.allclose(values, values[:1], rtol=STRUCTURE_RTOL, atol=STRUCTURE_RTOL * scale))


def _commute(covariances: np.ndarray) -> bool:
    """Whether every pair of symmetric matrices commutes, as matrices with common
    eigenvectors do."""
    norms = np.linalg.norm(covariances, axis=(1, 2))
    for j in range(covariances.shape[0]):
        for k in range(j):
            a, b = covariances[j], covariances[k]
            gap = np.linalg.norm(a @ b - b @ a)
            if gap > STRUCTURE_RTOL * norms[j] * norms[k]:
                return False
    return True


# -- helpers -------------------------------------------------------------------------------------
def _geometric_mean(values: np.ndarray) -> np.ndarray:
    """Geometric mean along the last axis of positive ``values``."""
    return np.exp(np.log(values).mean(axis=-1))


def _volumes(covariances: np.ndarray) -> np.ndarray:
    """``|Sigma_k|^(1/d)`` of positive definite (K, d, d) or positive diagonal (K, d)
    covariances, shape (K,)."""
    if covariances.ndim == 2:
        return _geometric_mean(covariances)
    return _geometric_mean(np.linalg.eigvalsh(covariances))


def _eigh_decreasing(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (K, d) in decreasing order and eigenvectors (K, d, d) of symmetric W."""
    values, vectors = np.linalg.eigh(W)
    return values[:, ::-1], vectors[:, :, ::-1]


def _compose(orientations: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """``D_k diag(v_k) D_k^T`` for orientations (K, d, d) and variances (K, d), exactly
    symmetric."""
    return _symmetric((orientations * variances[:, None, :]) @ np.swapaxes(orientations, 1, 2))


def _symmetric(A: np.ndarray) -> np.ndarray:
    return 0.5 * (A + np.swapaxes(A, -1, -2))


def _settled(change: float, previous: float) -> bool:
    """Whether an alternation whose last round changed the parameters by ``change`` (after
    ``previous``) has converged."""
    return change <= INNER_TOL or previous <= change <= STALL_TOL


def _relative_change(new: np.ndarray, old: np.ndarray) -> float:
    """Largest relative (Frobenius) change of the matrices (K, d, d)."""
    return float(np.max(np.linalg.norm(new - old, axis=(1, 2)) / np.linalg.norm(old, axis=(1, 2))))


def _check_positive(values: np.ndarray, components: np.ndarray) -> None:
    """Raise the ill-defined-covariance error unless every row of ``values`` (m, d) is
    positive and finite; ``components`` (m,) are the components the rows belong to (for a
    shared parameter, the component blamed)."""
    bad = ~np.all((values > 0.0) & np.isfinite(values), axis=1)
    if bad.any():
        raise ill_defined(int(components[np.flatnonzero(bad)[0]]))
