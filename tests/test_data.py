"""Data loading and the analysis sample: formats, filters, treatment rules, missing values."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest

from reimpact.config.study import Study
from reimpact.datasets import TREATMENTS, simulate_returnees
from reimpact.exceptions import DataError
from reimpact.io import read_table, write_table
from reimpact.sample import prepare_sample


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


def test_simulated_source_keeps_only_what_its_truth_needs(study_dict):
    """The simulated source computes and keeps the truth of the study's treatment only, the
    same as the full cohort's; the analysis frame holds the columns the study names."""
    study = Study.from_dict(study_dict)
    sample = prepare_sample(study)
    cohort = sample.source.cohort
    assert list(cohort.data.columns) == ["mentored"]
    assert cohort.data.index.equals(sample.frame.index)  # the rows analysed, no more
    assert cohort.potential_types == {} and cohort.potential_doses == {}
    full = simulate_returnees(n=3000, seed=1)
    expected = full.truth_for(sample.frame.index)
    expected = expected[expected.treatment == "mentored"].reset_index(drop=True)
    pd.testing.assert_frame_equal(cohort.truth_for(sample.frame.index), expected)
    named = {*study.covariates, *study.outcomes, *study.population, "mentored"}
    assert set(sample.frame.columns) == named
    assert "returnee_id" in full.data.columns and "returnee_id" not in sample.frame.columns


def test_simulated_cohort_computes_the_truths_asked_for():
    """Each truth left out changes nothing else: the data and the other truths are those of
    the full cohort (same seed), bit for bit."""
    full = simulate_returnees(n=600, seed=3)
    for name in ("mentored", "any_referral", "economic_support", "assistance_type", "n_activities"):
        part = simulate_returnees(n=600, seed=3, truths=[name])
        pd.testing.assert_frame_equal(part.data, full.data)
        if name in TREATMENTS:
            pd.testing.assert_frame_equal(part.individual_effects, full.individual_effects[[name]])
            assert set(part.truth.treatment) == {name}
        else:
            assert part.individual_effects.shape == (600, 0) and part.truth.empty
        assert (part.potential_types != {}) == (name == "assistance_type")
        assert (part.potential_doses != {}) == (name == "n_activities")
    pd.testing.assert_frame_equal(
        simulate_returnees(n=600, seed=3, truths=["assistance_type"]).contrast_truth(),
        full.contrast_truth(),
    )
    curve = simulate_returnees(n=600, seed=3, truths=["n_activities"]).dose_truth()[1]
    pd.testing.assert_frame_equal(curve, full.dose_truth()[1])
    rows = full.data.index[full.data["country"].isin(["GIN", "SEN", "MAR"]).to_numpy()]
    cut = full.restricted(rows)
    assert len(cut.data) == len(rows) < 600
    some = rows[::3]
    pd.testing.assert_frame_equal(cut.truth_for(some), full.truth_for(some))
    pd.testing.assert_frame_equal(cut.contrast_truth(some), full.contrast_truth(some))
    pd.testing.assert_frame_equal(cut.dose_truth(some)[1], full.dose_truth(some)[1])
    with pytest.raises(ValueError, match="truths: unknown"):
        simulate_returnees(n=600, seed=3, truths=["mentoring"])


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


# -- damaged and unusual files ------------------------------------------------------------------


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _overwritten_near_the_end(data: bytes) -> bytes:
    """30 bytes of 0xff 50 bytes before the end (a .dta's value labels: struct.error in pandas)."""
    return data[:-50] + b"\xff" * 30 + data[-20:]


@pytest.mark.parametrize(
    "suffix, damage",
    [
        (".xlsx", _truncated),
        (".parquet", _truncated),
        (".dta", _truncated),
        (".dta", _overwritten_near_the_end),
        (".sav", _truncated),
        (".sav", _overwritten_near_the_end),
        (".zsav", _truncated),
    ],
)
def test_damaged_file_is_a_clear_error(tmp_path, cohort, suffix, damage):
    frame = cohort.data.head(60)[["country", "age", "mentored"]]
    good = tmp_path / f"a{suffix}"
    if suffix in (".sav", ".zsav"):  # read only: write_table does not write SPSS
        pyreadstat.write_sav(frame, str(good), compress=suffix == ".zsav")
    else:
        write_table(frame, good)
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(damage(good.read_bytes()))
    before = path.read_bytes()
    expected = (
        f"{path}: could not be read as {suffix[1:]}: the file is damaged or truncated; "
        "export the data again (reader: "
    )
    with pytest.raises(DataError, match=re.escape(expected)) as raised:
        read_table(path)
    assert "\n" not in str(raised.value)
    assert path.read_bytes() == before, "reading must not modify the input file"


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx", ".dta", ".sav", ".zsav"])
def test_empty_file_is_a_clear_error(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(DataError) as raised:
        read_table(path)
    assert str(raised.value) == f"{path}: the file is empty (0 bytes); export the data again"


def test_header_without_rows_is_a_clear_error(tmp_path):
    path = tmp_path / "header_only.csv"
    path.write_text("country,age,mentored\n")
    with pytest.raises(DataError) as raised:
        read_table(path)
    assert str(raised.value) == f"{path}: holds no rows of data; check that the export is complete"


def test_csv_must_be_utf8(tmp_path):
    """A Latin-1 csv is refused with the place of the first bad byte, not decoded by a guess."""
    path = tmp_path / "latin1.csv"
    path.write_bytes("country,age\nGuinée,30\nSénégal,41\n".encode("latin-1"))
    with pytest.raises(DataError) as raised:
        read_table(path)
    assert str(raised.value) == (
        f"{path}: is not UTF-8 text (byte 0xe9 on line 2, as in a Latin-1 or Windows-1252 export); "
        "save it again as UTF-8 (in Excel: 'CSV UTF-8')"
    )


def test_csv_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "excel_utf8.csv"
    path.write_bytes("country,age\nGuinée,30\n".encode("utf-8-sig"))
    back = read_table(path)
    assert list(back.columns) == ["country", "age"]
    assert back["country"].tolist() == ["Guinée"]


def test_missing_sheet_lists_the_sheets(tmp_path, cohort):
    path = write_table(cohort.data.head(20), tmp_path / "book.xlsx")
    with pytest.raises(DataError) as raised:
        read_table(path, sheet="Data")
    assert str(raised.value) == f"{path}: has no sheet 'Data' (sheets: Sheet1); check 'data.sheet'"


def test_stata_labels_shared_by_two_codes(tmp_path):
    path = tmp_path / "labels.dta"
    frame = pd.DataFrame({"return_type": [1, 2, 1]})
    frame.to_stata(path, write_index=False, version=118, value_labels={"return_type": {1: "a", 2: "a"}})
    with pytest.raises(DataError) as raised:
        read_table(path)
    assert str(raised.value) == (
        f"{path}: column 'return_type': codes 1 and 2 share the label 'a'; give each code its own "
        "label (or merge the codes) and export again"
    )


def _repeated_age(path: Path) -> None:
    """Write a file whose header holds 'age' twice (pandas itself would rename the second)."""
    rows = [[30, "f", 31], [40, "m", 41]]
    if path.suffix == ".csv":
        path.write_text("age,sex,age\n30,f,31\n40,m,41\n")
    elif path.suffix == ".xlsx":
        pd.DataFrame(rows, columns=["age", "sex", "age"]).to_excel(path, index=False)
    elif path.suffix == ".parquet":
        columns = [pa.array([row[i] for row in rows]) for i in range(3)]
        pq.write_table(pa.table(columns, names=["age", "sex", "age"]), path)
    else:  # Stata cannot write it: rename a variable in the bytes of a valid file
        pd.DataFrame(rows, columns=["age", "sex", "agf"]).to_stata(path, write_index=False, version=118)
        data = path.read_bytes()
        assert data.count(b"agf\x00") == 1
        path.write_bytes(data.replace(b"agf\x00", b"age\x00"))


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx", ".dta"])
def test_repeated_column_name_is_refused(tmp_path, suffix):
    path = tmp_path / f"repeated{suffix}"
    _repeated_age(path)
    with pytest.raises(DataError) as raised:
        read_table(path)
    assert str(raised.value) == (
        f"{path}: column 'age' appears 2 times in the header; rename or remove one"
    )


def test_blank_header_cells_are_not_repeated_names(tmp_path):
    path = tmp_path / "trailing_commas.csv"
    path.write_text("age,sex,,\n30,f,,\n")
    assert list(read_table(path).columns[:2]) == ["age", "sex"]


def _with_invalid_values(cohort, path: Path) -> Path:
    """300 rows with 3 infinite scores and 1 absurd age in the population (GIN, SEN, MAR) and one
    infinite score outside it."""
    frame = cohort.data.head(300).copy()
    inside = frame.index[frame["country"].isin(["GIN", "SEN", "MAR"])]
    outside = frame.index[~frame["country"].isin(["GIN", "SEN", "MAR"])]
    frame.loc[inside[:2], "composite_score"] = np.inf
    frame.loc[inside[2], "composite_score"] = -np.inf
    frame["age"] = frame["age"].astype(float)
    frame.loc[inside[3], "age"] = 1e300
    frame.loc[outside[0], "composite_score"] = np.inf
    return write_table(frame, path)


@pytest.mark.parametrize(
    "file_name,outcome,message",
    [
        (
            "inf.csv",
            "composite_score",
            "outcomes: column 'composite_score': 3 rows hold infinite or absurdly large values "
            "(|x| > 1e12); fix them or set 'invalid_values: drop'",
        ),
        (
            "inf.parquet",
            "economic_score",
            "covariates: column 'age': 1 row holds infinite or absurdly large values (|x| > 1e12); "
            "fix them or set 'invalid_values: drop'",
        ),
    ],
)
def test_infinite_or_absurd_values_are_refused(
    tmp_path, study_dict, cohort, file_name, outcome, message
):
    path = _with_invalid_values(cohort, tmp_path / file_name)
    study_dict["outcomes"] = [outcome]
    with pytest.raises(DataError) as raised:
        prepare_sample(Study.from_dict(study_dict), data_path=path)
    assert str(raised.value) == message


def test_invalid_values_drop(tmp_path, study_dict, cohort):
    path = _with_invalid_values(cohort, tmp_path / "inf.csv")
    study_dict["invalid_values"] = "drop"
    sample = prepare_sample(Study.from_dict(study_dict), data_path=path)
    flow = sample.flow
    assert flow.dropped_invalid == {"composite_score": 3, "age": 1, "total": 4}
    assert flow.to_dict()["dropped_invalid"] == flow.dropped_invalid
    kept = flow.rows_read - flow.filtered_out["country"] - flow.dropped_invalid["total"]
    assert kept - flow.dropped_missing.get("total", 0) == flow.analysed
    assert np.isfinite(sample.frame[["composite_score", "age"]].to_numpy(dtype=float)).all()


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"cluster": "composite_score"},
            "cluster: column 'composite_score': is also named by 'outcomes'; one column cannot play "
            "both roles: change 'cluster' or 'outcomes'",
        ),
        (
            {"exact": ["mentored"]},
            "exact: column 'mentored': is also named by 'treatment'; one column cannot play both "
            "roles: change 'exact' or 'treatment'",
        ),
        (
            {"propensity": {"column": "mentored"}},
            "propensity.column: column 'mentored': is also named by 'treatment'; one column cannot "
            "play both roles: change 'propensity.column' or 'treatment'",
        ),
        (
            {"sensitivity": {"heterogeneity": {"by": ["composite_score"]}}},
            "sensitivity.heterogeneity.by: column 'composite_score': is also named by 'outcomes'; "
            "one column cannot play both roles: change 'sensitivity.heterogeneity.by' or 'outcomes'",
        ),
        (
            {"treatment": {"column": "mentored", "name": "age"}},
            "covariates: column 'age': is also named by 'treatment.name'; one column cannot play "
            "both roles: change 'covariates' or 'treatment.name'",
        ),
    ],
)
def test_treatment_or_outcome_in_a_second_role_is_refused(study_dict, change, message):
    study_dict.update(change)
    with pytest.raises(DataError) as raised:
        prepare_sample(Study.from_dict(study_dict))
    assert str(raised.value) == message


def test_covariate_in_a_second_role_is_fine(study_dict):
    """A covariate may also be the cluster, an exact-matching column and a subgroup column."""
    plain = prepare_sample(Study.from_dict(study_dict)).flow
    study_dict.update(
        cluster="country", exact=["country"], sensitivity={"heterogeneity": {"by": ["sex", "country"]}}
    )
    assert prepare_sample(Study.from_dict(study_dict)).flow == plain


def test_mathtext_column_names(tmp_path, study_dict, cohort):
    """Column names holding matplotlib mathtext (``$...$``) load and flow through like any other."""
    names = {"composite_score": r"$\Delta$ score", "age": r"age ($\mu_{years}$)"}
    path = write_table(cohort.data.head(500).rename(columns=names), tmp_path / "math.csv")
    study_dict["outcomes"] = [names["composite_score"]]
    study_dict["covariates"] = [names["age"], "sex", "country"]
    study_dict["missing"] = "impute"
    sample = prepare_sample(Study.from_dict(study_dict), data_path=path)
    assert sample.flow.analysed > 0
    assert set(names.values()) <= set(sample.frame.columns)
