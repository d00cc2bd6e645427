"""Shared fixtures: a small valid study dictionary and a simulated cohort."""

from __future__ import annotations

import copy

import pytest

from reimpact.datasets import simulate_returnees

BASE_STUDY = {
    "name": "test-study",
    "data": {"builtin": "simulated-returnees", "n": 3000, "seed": 1},
    "treatment": {"column": "mentored", "treated": [1]},
    "population": {"country": ["GIN", "SEN", "MAR"]},
    "outcomes": ["composite_score"],
    "covariates": ["age", "sex", "education", "return_type", "vulnerable", "country"],
    "methods": {"psm": {}},
}


@pytest.fixture
def study_dict():
    """A fresh copy of a small valid study (mutate freely)."""
    return copy.deepcopy(BASE_STUDY)


@pytest.fixture(scope="session")
def cohort():
    return simulate_returnees(n=20000, seed=0)
