"""config_context(callback=...): a callback that watches every E-step of every fit inside its
block, besides the fit's own callback, without a parameter of any estimator."""

from __future__ import annotations

import numpy as np
import pytest

import emkit
from emkit.core.driver import fit_em
from emkit.core.online import OnlineEM
from emkit.execution.executor import ThreadExecutor
from emkit.families.gaussian import Gaussian
from emkit.models.initialization import initializer
from emkit.models.mixture import Mixture

RNG = np.random.default_rng(4)
X = np.concatenate([RNG.normal(0, 1, (200, 2)), RNG.normal(4, 1, (200, 2))])


def _model():
    return Mixture(Gaussian("full", reg_covar=1e-6), 2, initializer("random"))


def _fit(**kwargs):
    return fit_em(_model(), X, random_state=0, **{"n_init": 2, "max_iter": 5, "tol": 0.0, **kwargs})


def test_the_callback_sees_every_e_step_with_the_fit_s_own_infos():
    own, watched = [], []
    with emkit.config_context(callback=watched.append):
        assert emkit.get_config()["callback"] == watched.append
        result = _fit(callback=own.append)
    # One info per E-step of both restarts: the initial point and every iteration.
    assert len(watched) == 2 * (5 + 1) == 2 * result.n_e_steps
    assert watched == own
    assert [(i.run, i.n_iter) for i in watched] == [(r, t) for r in (0, 1) for t in range(6)]
    assert all(info.weight == X.shape[0] for info in watched)


def test_what_the_callback_returns_cannot_stop_a_fit():
    with emkit.config_context(callback=lambda info: True):
        watched = _fit()
    assert not watched.stopped
    np.testing.assert_array_equal(watched.lower_bounds, _fit().lower_bounds)
    # The fit's own callback still stops it.
    with emkit.config_context(callback=lambda info: None):
        stopped = _fit(callback=lambda info: info.n_iter == 2)
    assert stopped.stopped and stopped.n_iter == 2


def test_contexts_nest_and_the_callback_is_reset_after_the_block():
    outer, inner = [], []
    with emkit.config_context(callback=outer.append):
        with emkit.config_context(callback=inner.append):
            _fit(n_init=1, max_iter=1)
        assert emkit.get_config()["callback"] == outer.append
        _fit(n_init=1, max_iter=2)
        # A context that sets another setting leaves the callback as it is.
        with emkit.config_context(executor=ThreadExecutor(1)):
            assert emkit.get_config()["callback"] == outer.append
            _fit(n_init=1, max_iter=0)
        with emkit.config_context(callback=None):
            _fit(n_init=1, max_iter=1)
    assert [i.n_iter for i in inner] == [0, 1]
    assert [i.n_iter for i in outer] == [0, 1, 2, 0]
    assert emkit.get_config() == {"executor": None, "callback": None}
    after = []
    _fit(callback=after.append, n_init=1, max_iter=1)
    assert len(after) == 2 and len(outer) == 4


def test_a_callback_context_keeps_the_executor_of_an_enclosing_one():
    executor = ThreadExecutor(1)
    with emkit.config_context(executor=executor), emkit.config_context(callback=print):
        assert emkit.get_config() == {"executor": executor, "callback": print}
    assert emkit.get_config()["executor"] is None


def test_estimators_and_online_fits_are_watched():
    watched = []
    with emkit.config_context(callback=watched.append):
        gm = emkit.GaussianMixture(2, init_params="random", n_init=1, random_state=0).fit(X)
    assert len(watched) == gm.n_iter_ + 1
    assert watched[-1].lower_bound == gm.lower_bound_
    watched.clear()
    with emkit.config_context(callback=watched.append):
        fit_em(_model(), X, random_state=0, max_iter=2, tol=0.0, online=OnlineEM(batch_size=100))
    # A step per mini-batch, each reading its batch.
    assert len(watched) == 2 * 4
    assert all(info.weight == 100 and not info.em_step for info in watched)


def test_the_fits_of_an_initialisation_are_not_watched():
    # The k-means start runs fits of its own, whose E-steps the callback does not see.
    watched = []
    with emkit.config_context(callback=watched.append):
        gm = emkit.GaussianMixture(2, init_params="kmeans", n_init=1, random_state=0).fit(X)
    assert [info.n_iter for info in watched] == list(range(gm.n_iter_ + 1))
    assert all(hasattr(info.params, "weights") for info in watched)


def test_only_callables_are_callbacks():
    with pytest.raises(TypeError, match="callback must be callable or None, got 3"):
        with emkit.config_context(callback=3):
            pass
    assert emkit.get_config()["callback"] is None
