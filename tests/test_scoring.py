"""Scores: hand-computed values, the missing-answer rule, scheme validation, PCA weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reimpact.exceptions import SchemeError
from reimpact.scoring import derive_weights, load_scheme, scheme_from_dict, score


def small_scheme(**overrides) -> dict:
    scheme = {
        "name": "small",
        "min_answered": 0.5,
        "dimensions": {"economic": 0.5, "social": 0.25, "psychosocial": 0.25},
        "codings": {
            "five": {1: 0.0, 2: 0.25, 3: 0.5, 4: 0.75, 5: 1.0},
            "yes": {"yes": 1.0, "no": 0.0},
        },
        "missing_codes": [98, "dont_know"],
        "indicators": [
            {"id": "e1", "dimension": "economic", "coding": "five", "weight": 0.75},
            {"id": "e2", "dimension": "economic", "coding": "yes", "weight": 0.25},
            {"id": "s1", "dimension": "social", "coding": "five"},
            {"id": "s2", "dimension": "social", "coding": "five"},
            {"id": "p1", "dimension": "psychosocial", "coding": {"never": 1.0, "often": 0.0}},
        ],
    }
    scheme.update(overrides)
    return scheme


def test_hand_computed_scores():
    scheme = scheme_from_dict(small_scheme())
    raw = pd.DataFrame(
        {
            "e1": [5, 3, 1],
            "e2": ["yes", "no", "Yes "],
            "s1": [4, 2, 5],
            "s2": [2, 2, 5],
            "p1": ["never", "often", "never"],
        }
    )
    out = score(raw, scheme)
    # economic: 0.75 * coded(e1) + 0.25 * coded(e2)
    np.testing.assert_allclose(out["economic_score"], [1.0, 0.375, 0.25])
    # social: equal weights
    np.testing.assert_allclose(out["social_score"], [0.5, 0.25, 1.0])
    np.testing.assert_allclose(out["psychosocial_score"], [1.0, 0.0, 1.0])
    composite = (
        0.5 * out["economic_score"] + 0.25 * out["social_score"] + 0.25 * out["psychosocial_score"]
    )
    np.testing.assert_allclose(out["composite_score"], composite)
    np.testing.assert_allclose(out["composite_score"], [0.875, 0.25, 0.625])
    assert list(raw.columns) == ["e1", "e2", "s1", "s2", "p1"], "input frame must not change"


def test_missing_answers_renormalise_or_give_missing():
    scheme = scheme_from_dict(small_scheme())
    raw = pd.DataFrame(
        {
            # row 0: e2 missing -> answered share 0.75 >= 0.5 -> score = coded(e1)
            # row 1: e1 missing ('98' is a missing code) -> answered share 0.25 < 0.5 -> missing
            # row 2: s2 "dont_know" -> social share 0.5 (exactly the minimum) -> coded(s1)
            "e1": [4, 98, 3],
            "e2": [None, "yes", "no"],
            "s1": [5, 1, 3],
            "s2": [5, 1, "dont_know"],
            "p1": ["never", None, "often"],
        }
    )
    out = score(raw, scheme)
    assert out.loc[0, "economic_score"] == pytest.approx(0.75)
    assert np.isnan(out.loc[1, "economic_score"])
    assert out.loc[2, "social_score"] == pytest.approx(0.5)
    assert np.isnan(out.loc[1, "psychosocial_score"])
    assert np.isnan(out.loc[1, "composite_score"])
    # a stricter threshold turns row 0's economic score missing
    assert np.isnan(score(raw, scheme, min_answered=0.8).loc[0, "economic_score"])


def test_unknown_answer_is_an_error_not_a_missing_value():
    scheme = scheme_from_dict(small_scheme())
    raw = pd.DataFrame({"e1": [6], "e2": ["yes"], "s1": [1], "s2": [1], "p1": ["never"]})
    with pytest.raises(SchemeError, match=r"indicator 'e1': answer '6' in column 'e1' has no coding"):
        score(raw, scheme)


def test_missing_column_names_the_indicator():
    scheme = scheme_from_dict(small_scheme())
    with pytest.raises(SchemeError, match="indicator 'e1': column 'e1' is not in the data"):
        score(pd.DataFrame({"x": [1]}), scheme)


@pytest.mark.parametrize(
    "change,words",
    [
        ({"dimensions": {"economic": 0.5, "social": 0.5, "psychosocial": 0.5}}, "must sum to 1"),
        ({"dimensions": {"economic": 1.0, "social": 0.0}}, "each of economic, social, psychosocial"),
        ({"codings": {"five": {1: 0.0, 5: 1.5}, "yes": {"yes": 1.0}}}, "must be in [0, 1]"),
        ({"min_answered": 0}, "greater than 0"),
    ],
)
def test_scheme_validation_errors(change, words):
    with pytest.raises(SchemeError) as info:
        scheme_from_dict(small_scheme(**change))
    assert words in str(info.value)


def test_scheme_weight_errors():
    bad = small_scheme()
    bad["indicators"][0]["weight"] = 0.9  # economic weights now sum to 1.15
    with pytest.raises(SchemeError, match="'economic' weights sum to 1.15"):
        scheme_from_dict(bad)
    bad = small_scheme()
    bad["indicators"][0]["weight"] = -0.1
    with pytest.raises(SchemeError, match="greater than or equal to 0"):
        scheme_from_dict(bad)
    bad = small_scheme()
    bad["indicators"][2]["weight"] = 1.0  # s1 weighted, s2 not
    with pytest.raises(SchemeError, match="to every 'social' indicator or to none"):
        scheme_from_dict(bad)
    bad = small_scheme()
    bad["indicators"][4]["coding"] = "likert"
    with pytest.raises(SchemeError, match="unknown coding 'likert'"):
        scheme_from_dict(bad)
    bad = small_scheme()
    bad["indicators"] = [i for i in bad["indicators"] if i["dimension"] != "social"] + [
        {"id": "p2", "dimension": "psychosocial", "coding": "five"}
    ]
    with pytest.raises(SchemeError, match="dimension 'social' has no indicator"):
        scheme_from_dict(bad)


def test_shipped_scheme_is_valid_and_equal_weight():
    scheme = load_scheme("illustrative")
    for dim in ("economic", "social", "psychosocial"):
        weights = scheme.weights(dim)
        np.testing.assert_allclose(weights, np.full(weights.size, 1 / weights.size))
    assert len(scheme.indicators) >= 15


def test_pca_weights_recover_known_loadings():
    """One factor per dimension with equal unique variances: PC1 of the covariance is proportional
    to the loadings, so the derived weights must equal loadings / sum(loadings)."""
    rng = np.random.default_rng(3)
    n = 200_000
    loadings = {"e": [0.12, 0.04, 0.08], "s": [0.1, 0.02], "p": [0.04, 0.04, 0.08, 0.02]}
    dims = {"e": "economic", "s": "social", "p": "psychosocial"}
    columns, indicators = {}, []
    for key, lam in loadings.items():
        factor = rng.normal(size=n)
        for j, lj in enumerate(lam):
            name = f"{key}{j}"
            # answers on a 0.01 grid; the grid's rounding noise is the same for every item
            value = 0.5 + lj * factor + rng.normal(scale=0.03, size=n)
            columns[name] = np.round(np.clip(value, 0, 1), 2)
            indicators.append({"id": name, "dimension": dims[key], "coding": "identity"})
    frame = pd.DataFrame(columns)
    coding = {round(v, 2): round(v, 2) for v in np.linspace(0, 1, 101)}
    scheme = scheme_from_dict({"name": "pca", "codings": {"identity": coding}, "indicators": indicators})
    derived = derive_weights(frame, scheme)
    for key, lam in loadings.items():
        expected = np.array(lam) / np.sum(lam)
        np.testing.assert_allclose(derived.weights(dims[key]), expected, atol=0.01)
    assert derived.name == "pca-pca-weights"


def test_pca_weights_need_enough_answers():
    scheme = scheme_from_dict(small_scheme())
    raw = pd.DataFrame(
        {"e1": [1, 2], "e2": ["yes", "no"], "s1": [1, 2], "s2": [1, 2], "p1": ["never"] * 2}
    )
    with pytest.raises(SchemeError, match="PCA weights need at least"):
        derive_weights(raw, scheme)


def test_scheme_round_trip(tmp_path):
    scheme = load_scheme("illustrative")
    path = tmp_path / "scheme.yaml"
    scheme.to_yaml(path)
    again = load_scheme(path)
    assert again == scheme
