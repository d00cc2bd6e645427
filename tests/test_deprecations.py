"""The import paths of 0.1 keep working for one release, each with a DeprecationWarning that names
the new place (issue 13)."""

from __future__ import annotations

import importlib

import pytest

import reimpact

OLD = {
    "reimpact.analysis": {"run_study": "reimpact.pipeline", "StudyResults": "reimpact.results"},
    "reimpact.study": {"Study": "reimpact.config", "load_study": "reimpact.config"},
    "reimpact.data": {"read_table": "reimpact.io", "prepare_sample": "reimpact.sample"},
    "reimpact.propensity": {"estimate_propensity": "reimpact.design.propensity"},
    "reimpact.matching": {"match": "reimpact.design.matching"},
    "reimpact.weighting": {"balancing_weights": "reimpact.design.weights"},
    "reimpact.inference": {"sandwich_se": "reimpact.stats.sandwich"},
    "reimpact.balance": {"balance_table": "reimpact.diagnostics.balance"},
    "reimpact.refutation": {"refute": "reimpact.sensitivity.refutation"},
    "reimpact.heterogeneity": {"subgroup_effects": "reimpact.sensitivity.heterogeneity"},
}


@pytest.mark.parametrize(
    ("old", "name", "new"), [(o, n, m) for o, d in OLD.items() for n, m in d.items()]
)
def test_old_paths_resolve_with_a_warning(old: str, name: str, new: str) -> None:
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=f"{old}.{name} moved to {new}"):
        found = getattr(module, name)
    assert found is getattr(importlib.import_module(new), name)


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        (
            "reimpact.matching",
            "MatchingEstimator",
            "reimpact.estimators.matching.matcher.PropensityMatcher",
        ),
        ("reimpact.weighting", "IPWEstimator", "reimpact.estimators.weighting.PropensityWeighting"),
        ("reimpact.doubly_robust", "AIPWEstimator", "reimpact.estimators.aipw.CrossFittedAIPW"),
    ],
)
def test_the_renamed_design_objects_keep_their_old_names(old: str, name: str, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        found = getattr(importlib.import_module(old), name)
    module, _, attribute = new.rpartition(".")
    assert found is getattr(importlib.import_module(module), attribute)


def test_unknown_names_still_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        _ = importlib.import_module("reimpact.analysis").nothing


def test_the_public_api_is_what_dir_lists() -> None:
    assert dir(reimpact) == sorted(reimpact.__all__)
    for name in reimpact.__all__:
        assert getattr(reimpact, name) is not None
