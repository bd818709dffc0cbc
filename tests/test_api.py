"""The public names of emkit: importable, documented, and estimators that load by name."""

from __future__ import annotations

import inspect

import pytest

import emkit
from emkit.estimators.base import ESTIMATORS


@pytest.mark.parametrize("name", emkit.__all__)
def test_public_names_are_documented(name):
    obj = getattr(emkit, name)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        assert obj.__doc__ and obj.__doc__.strip(), f"emkit.{name} has no docstring"


def test_every_public_estimator_can_be_read_back_from_a_model_file():
    public = {
        name
        for name in emkit.__all__
        if inspect.isclass(getattr(emkit, name)) and hasattr(getattr(emkit, name), "save")
    }
    assert public <= set(ESTIMATORS)
    assert {"GaussianMixture", "StudentMixture", "BayesianGaussianMixture", "GaussianHMM"} <= public
