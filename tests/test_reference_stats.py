"""Statistics that carry their reference point: centred moments computed under different
parameters add up to the moments of all the data about one centre, and the M-step of
re-based statistics is the M-step of statistics computed about that centre directly."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from emkit.core.stats import scale
from emkit.families.covariance import covariance_structure
from emkit.families.gaussian import Gaussian
from emkit.families.gaussian_mixture_emission import GroupTied
from emkit.families.student import StudentT

RNG = np.random.default_rng(5)
X = RNG.normal(size=(400, 3)) * [1.0, 2.0, 0.5] + 10.0
RESP = RNG.dirichlet(np.ones(4), size=400) * RNG.uniform(0.5, 2.0, (400, 1))
STRUCTURES = ["full", "tied", "diag", "spherical", "VEV", "EEI", GroupTied(2)]


def _params(family, shift: float):
    means = X[:4] + shift
    start = family.from_responsibilities(lambda: [(X, RESP)])
    return family.from_covariances(means, start.covariances)


@pytest.mark.parametrize("structure", STRUCTURES, ids=str)
def test_moments_under_different_centres_add_up_to_those_about_one(structure):
    family = Gaussian(covariance_structure(structure), reg_covar=0.0)
    a, b = _params(family, 0.0), _params(family, 1.5)
    first = family.stats(a, X[:250], RESP[:250])
    second = family.stats(b, X[250:], RESP[250:])
    assert not np.array_equal(first.centre, second.centre)
    total = first + second
    direct = family.stats(a, X, RESP)
    assert total.centre is first.centre
    assert_allclose(total.sum_w, direct.sum_w, rtol=1e-14)
    assert_allclose(total.sum_dx, direct.sum_dx, rtol=1e-12, atol=1e-10)
    assert_allclose(total.scatter, direct.scatter, rtol=1e-12, atol=1e-9)
    # Re-based statistics give the M-step of statistics taken about that centre.
    assert_allclose(family.m_step(total, a).means, family.m_step(direct, a).means, rtol=1e-13)
    assert_allclose(
        family.m_step(total, a).covariances, family.m_step(direct, a).covariances, rtol=1e-11
    )


@pytest.mark.parametrize("structure", ["full", "diag"])
def test_the_m_step_reads_the_centre_of_the_statistics_not_the_parameters(structure):
    family = Gaussian(structure, reg_covar=0.0)
    a, b = _params(family, 0.0), _params(family, 3.0)
    stats = family.stats(a, X, RESP)
    # The same statistics handed over with other parameters give the same new means.
    assert_allclose(family.m_step(stats, b).means, family.m_step(stats, a).means, rtol=1e-14)
    moved = stats.about(b.means)
    assert_allclose(family.m_step(moved, b).means, family.m_step(stats, a).means, rtol=1e-13)


def test_frozen_means_stay_and_their_covariances_are_about_them():
    free = Gaussian("full", reg_covar=0.0)
    frozen = Gaussian("full", reg_covar=0.0, frozen=frozenset({"means"}))
    a, b = _params(free, 0.0), _params(free, 2.0)
    stats = frozen.stats(a, X, RESP)
    new = frozen.m_step(stats, b)
    assert_array_equal(new.means, b.means)
    direct = frozen.m_step(frozen.stats(b, X, RESP), b)
    assert_allclose(new.covariances, direct.covariances, rtol=1e-11)


@pytest.mark.parametrize("structure", ["full", "tied", "diag", "spherical"])
def test_student_moments_rebase_with_their_hidden_scale_weights(structure):
    family = StudentT(structure, reg_covar=0.0)
    start = family.from_responsibilities(lambda: [(X, RESP)])
    a = family.from_covariances(X[:4], start.covariances, [3.0, 5.0, 8.0, 20.0])
    b = family.from_covariances(X[:4] + 1.0, start.covariances, [3.0, 5.0, 8.0, 20.0])
    stats = family.stats(b, X, RESP)
    moved = stats.about(a.means)
    # Same hidden scales (computed under b) summed about a's centres, written out.
    direct = family.stats(b, X, RESP)
    assert_array_equal(moved.sum_wu, direct.sum_wu)
    u_weights = _student_u_weights(family, b)
    diff = X[:, None, :] - a.means[None]
    assert_allclose(moved.sum_dx, np.einsum("nk,nkd->kd", u_weights, diff), rtol=1e-12)
    full = np.einsum("nk,nki,nkj->kij", u_weights, diff, diff)
    expected = {
        "full": full,
        "tied": full.sum(axis=0),
        "diag": np.diagonal(full, axis1=1, axis2=2),
        "spherical": np.diagonal(full, axis1=1, axis2=2),
    }[structure]
    assert_allclose(moved.scatter, np.reshape(expected, moved.scatter.shape), rtol=1e-11)


def _student_u_weights(family, params):
    """``w_ik u_ik``, the responsibilities times the expected hidden scales."""
    stats = family.stats(params, X, RESP)
    d = X.shape[1]
    full = family.covariance.full(params.covariances, 4, d)
    diff = X[:, None, :] - params.means[None]
    delta = np.einsum("nki,kij,nkj->nk", diff, np.linalg.inv(full), diff)
    u = (params.dof + d) / (params.dof + delta)
    assert_allclose((RESP * u).sum(axis=0), stats.sum_wu, rtol=1e-12)
    return RESP * u


def test_statistics_reduced_to_different_structures_do_not_add():
    full, diag = Gaussian("full"), Gaussian("diag")
    a = full.stats(_params(full, 0.0), X, RESP)
    b = diag.stats(_params(diag, 1.0), X, RESP)
    with pytest.raises(
        ValueError, match=r"reduced to covariance_structure\('diag'\) cannot be added"
    ):
        a + b


def test_scaling_keeps_the_reference():
    family = Gaussian("full")
    stats = family.stats(_params(family, 0.0), X, RESP)
    half = scale(stats, 0.5)
    assert half.centre is stats.centre and half.covariance == stats.covariance
    assert_allclose(half.scatter, 0.5 * stats.scatter, rtol=0)
