"""Missing cells (NaN) through the estimator faces: the faces whose family conditions on the
observed cells take NaN and say so in their tags, and give the model-level fit; the others
refuse it in scikit-learn's words; infinities are refused everywhere."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.utils import get_tags

import emkit
from emkit.core.driver import fit_em
from emkit.families.gaussian import Gaussian
from emkit.models.mixture import Mixture

RNG = np.random.RandomState(0)
X = np.concatenate([RNG.normal(0, 1, (300, 3)), RNG.normal(4, 1, (300, 3))])
XM = X.copy()
XM[RNG.rand(*X.shape) < 0.15] = np.nan
XM[np.isnan(XM).all(axis=1), 0] = 1.0  # no row without an observed cell


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "VEV"])
def test_gaussian_mixture_takes_missing_cells(covariance_type):
    gm = emkit.GaussianMixture(
        2, covariance_type=covariance_type, random_state=0, tol=0.0, max_iter=30
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        gm.fit(XM)
    assert get_tags(gm).input_tags.allow_nan
    means = np.sort(gm.means_[:, 0])
    np.testing.assert_allclose(means, [0.0, 4.0], atol=0.2)
    # The observed-data log-likelihood the face reports is the model's.
    model = Mixture(Gaussian(covariance_type, reg_covar=gm.reg_covar), 2)
    ll = model.log_prob(gm._params(), XM)
    np.testing.assert_allclose(gm.score_samples(XM), ll, rtol=1e-12)
    assert gm.predict(XM).shape == (XM.shape[0],)
    assert gm.lower_bound_ == pytest.approx(
        fit_em(model, XM, init=gm._params(), max_iter=0).lower_bound, rel=1e-12
    )


def test_gaussian_hmm_takes_missing_cells():
    hmm = emkit.GaussianHMM(2, random_state=0, n_iter=20).fit(XM, [300, 300])
    assert get_tags(hmm).input_tags.allow_nan
    np.testing.assert_allclose(np.sort(hmm.means_[:, 0]), [0.0, 4.0], atol=0.2)
    assert np.isfinite(hmm.score(XM, [300, 300]))
    assert hmm.predict(XM, [300, 300]).shape == (600,)


@pytest.mark.parametrize(
    "face",
    [
        emkit.StudentMixture(2, random_state=0),
        emkit.BayesianGaussianMixture(n_components=2, random_state=0),
        emkit.GMMHMM(2, 2, n_iter=100, random_state=0),
    ],
    ids=type,
)
def test_the_other_gaussian_faces_take_missing_cells(face):
    # Each conditions on the observed cells (tests/test_student_missing.py,
    # test_bgm_missing.py and test_gmm_hmm_missing.py check them against references).
    assert get_tags(face).input_tags.allow_nan
    face.fit(XM)
    assert np.isfinite(face.score(XM))
    assert np.isnan(XM).any() and not np.isnan(face.impute(XM)).any()


@pytest.mark.parametrize("face", [emkit.KMeans(2, n_init=1), emkit.MultinomialMixture(2)], ids=type)
def test_faces_that_cannot_refuse_missing_cells(face):
    assert not get_tags(face).input_tags.allow_nan
    with pytest.raises(ValueError, match="NaN"):
        face.fit(np.abs(np.round(XM)))


@pytest.mark.parametrize("face", [emkit.GaussianMixture(2), emkit.GaussianHMM(2)], ids=type)
def test_infinities_are_refused(face):
    bad = X.copy()
    bad[5, 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        face.fit(bad)
