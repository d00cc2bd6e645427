"""Data loading and the analysis sample: formats, filters, treatment rules, missing values."""

from __future__ import annotations

import numpy as np
import pytest

from reimpact.data import prepare_sample, read_table, write_table
from reimpact.datasets import simulate_returnees
from reimpact.exceptions import DataError
from reimpact.study import Study


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx", ".dta"])
def test_read_every_format(tmp_path, suffix, cohort):
    frame = cohort.data.head(60)[["country", "age", "sex", "composite_score", "mentored"]]
    path = write_table(frame, tmp_path / f"export{suffix}")
    before = path.read_bytes()
    back = read_table(path)
    assert list(back.columns) == list(frame.columns)
    np.testing.assert_allclose(back["composite_score"], frame["composite_score"], rtol=1e-6)
    assert list(back["country"]) == list(frame["country"])
    assert path.read_bytes() == before, "reading must not modify the input file"


def test_sample_flow_counts(study_dict):
    study = Study.from_dict(study_dict)
    sample = prepare_sample(study)
    flow = sample.flow
    assert flow.rows_read == 3000
    kept = 3000 - flow.filtered_out["country"]
    assert kept - flow.dropped_missing.get("total", 0) == flow.analysed
    assert flow.treated + flow.control == flow.analysed
    assert set(sample.frame["country"]) == {"GIN", "SEN", "MAR"}
    assert flow.dropped_missing["education"] > 0  # the cohort has missing education


def test_data_path_overrides_the_builtin(tmp_path, study_dict, cohort):
    path = write_table(cohort.data.head(500), tmp_path / "rss.csv")
    study = Study.from_dict(study_dict)
    sample = prepare_sample(study, data_path=path)
    assert sample.flow.rows_read == 500
    assert sample.source.sha256 is not None and len(sample.source.sha256) == 64


def test_study_path_relative_to_study_file(tmp_path, study_dict, cohort):
    write_table(cohort.data.head(400), tmp_path / "exports" / "rss.parquet")
    study_dict["data"] = {"path": "exports/rss.parquet"}
    study = Study.from_dict(study_dict, source=tmp_path / "study.yaml")
    assert prepare_sample(study).flow.rows_read == 400


def test_missing_data_file_is_a_clear_error(study_dict):
    study_dict["data"] = {"path": "nowhere/rss.csv"}
    with pytest.raises(DataError, match="data.path: file not found"):
        prepare_sample(Study.from_dict(study_dict))


def test_unknown_column_suggests_the_right_one(study_dict):
    study_dict["covariates"] = ["agee", "sex"]
    with pytest.raises(
        DataError, match=r"covariates: column 'agee': is not in the data .* did you mean 'age'"
    ):
        prepare_sample(Study.from_dict(study_dict))


def test_unknown_filter_value(study_dict):
    study_dict["population"] = {"country": ["GIN", "SNE"]}
    with pytest.raises(DataError, match="population.country: value 'sne' does not occur"):
        prepare_sample(Study.from_dict(study_dict))


def test_range_filter(study_dict):
    study_dict["population"] = {"age": {"min": 25, "max": 40}}
    sample = prepare_sample(Study.from_dict(study_dict))
    assert sample.frame["age"].between(25, 40).all()


def test_non_binary_treatment_is_rejected(study_dict):
    study_dict["treatment"] = {"column": "n_activities", "treated": [1]}
    study_dict["population"] = {}
    with pytest.raises(DataError, match="treatment.column: 'n_activities' has 3 distinct values"):
        prepare_sample(Study.from_dict(study_dict))


def test_control_values_make_a_multivalued_column_binary(study_dict):
    study_dict["treatment"] = {"column": "n_activities", "treated": [3], "control": [1]}
    study_dict["population"] = {}
    study = Study.from_dict(study_dict)
    sample = prepare_sample(study)
    assert sample.flow.excluded_by_treatment_rule > 0
    raw = simulate_returnees(n=3000, seed=1).data.loc[sample.frame.index, "n_activities"]
    assert set(raw) == {1, 3}
    # the analysis frame holds the 0/1 indicator under the treatment's name
    np.testing.assert_array_equal(sample.treatment, (raw == 3).astype(int))
    np.testing.assert_array_equal(sample.frame["n_activities"], sample.treatment)


def test_derived_referral_treatment(study_dict, cohort):
    study_dict["population"] = {}
    study_dict["treatment"] = {
        "name": "any_referral",
        "any_of": ["economic_delivery", "social_delivery", "psychosocial_delivery"],
        "treated": ["referral"],
        "control": ["direct"],
    }
    sample = prepare_sample(Study.from_dict(study_dict))
    expected = simulate_returnees(n=3000, seed=1).data.loc[sample.frame.index, "any_referral"]
    np.testing.assert_array_equal(sample.treatment, expected.to_numpy())


def test_treated_value_absent(study_dict):
    study_dict["treatment"] = {"column": "mentored", "treated": ["yes"]}
    with pytest.raises(DataError, match="treatment.treated: no row has a treated value"):
        prepare_sample(Study.from_dict(study_dict))


def test_group_with_fewer_than_two_units(tmp_path, study_dict, cohort):
    frame = cohort.data.head(300).copy()
    frame["mentored"] = 0
    frame.loc[frame.index[0], "mentored"] = 1
    frame.loc[frame.index[0], "country"] = "GIN"
    path = write_table(frame, tmp_path / "one_treated.csv")
    with pytest.raises(DataError, match="treatment: only 1 treated unit.* at least 2 per group"):
        prepare_sample(Study.from_dict(study_dict), data_path=path)


def test_text_outcome_is_rejected(study_dict):
    study_dict["outcomes"] = ["host_region"]
    with pytest.raises(DataError, match="outcomes: column 'host_region': must be numeric"):
        prepare_sample(Study.from_dict(study_dict))


def test_impute_keeps_rows_and_adds_indicators(study_dict):
    study_dict["missing"] = "impute"
    study_dict["covariates"] = ["age", "education", "months_abroad"]
    sample = prepare_sample(Study.from_dict(study_dict))
    flow = sample.flow
    assert flow.imputed["education"] > 0 and flow.imputed["months_abroad"] > 0
    assert "education" not in flow.dropped_missing
    assert "months_abroad_missing" in sample.covariate_columns
    assert (sample.frame["education"] == "(missing)").sum() == flow.imputed["education"]
    assert sample.frame["months_abroad"].notna().all()
    # outcomes are never imputed
    assert sample.frame["composite_score"].notna().all()


def test_study_scores_a_raw_export(tmp_path, study_dict, cohort):
    """``scoring:`` computes the scores from the raw answers before the analysis."""
    scores = ["economic_score", "social_score", "psychosocial_score", "composite_score"]
    raw = cohort.data.head(2000).drop(columns=scores)
    path = write_table(raw, tmp_path / "raw.csv")
    study_dict["data"] = {"path": str(path)}
    study_dict["scoring"] = {"scheme": "illustrative"}
    sample = prepare_sample(Study.from_dict(study_dict))
    expected = cohort.data.loc[sample.frame.index, "composite_score"]
    np.testing.assert_allclose(sample.frame["composite_score"], expected)
    study_dict.pop("scoring")
    with pytest.raises(DataError, match="outcomes: column 'composite_score': is not in the data"):
        prepare_sample(Study.from_dict(study_dict))
