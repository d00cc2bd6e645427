"""SPSS and Stata files with value labels, and KoBoToolbox/ODK exports: what the readers make of
them, how a study uses labelled columns, and the one-line refusals of odd files."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from reimpact.cli import main
from reimpact.config.study import Study, load_study
from reimpact.exceptions import DataError, StudyError
from reimpact.io import KoboLayout, read_table, value_labels, write_table
from reimpact.pipeline import run_study
from reimpact.sample import prepare_sample

ROOT = Path(__file__).parents[1]
KOBO_STUDY = ROOT / "studies" / "kobo_example.yaml"
KOBO_EXPORT = ROOT / "studies" / "data" / "kobo_example.csv"

SATISFACTION = {
    1: "very dissatisfied",
    2: "dissatisfied",
    3: "neutral",
    4: "satisfied",
    5: "very satisfied",
}


# -- SPSS and Stata ---------------------------------------------------------------------------


def _spss_export(cohort, path: Path, n: int = 600) -> pd.DataFrame:
    """The cohort as an SPSS file: coded answers with value labels and measure levels, and a
    user-missing code (9 = "don't know") on satisfaction."""
    data = cohort.data.head(n)
    frame = pd.DataFrame(
        {
            "mentored": data["mentored"].astype(float),
            "sex": (data["sex"] == "female").astype(float) + 1,
            "education": data["education"].map({"none": 1, "primary": 2, "secondary": 3, "tertiary": 4}),
            "country": data["country"],
            "age": data["age"].astype(float),
            "satisfaction": data["satisfaction"].astype(float),
            "composite_score": data["composite_score"],
            "return_type": (data["return_type"] == "forced").astype(float),
        }
    )
    frame.loc[frame.index[:7], "satisfaction"] = 9.0
    pyreadstat.write_sav(
        frame,
        str(path),
        variable_value_labels={
            "mentored": {0: "No", 1: "Yes"},
            "sex": {1: "male", 2: "female"},
            "education": {1: "none", 2: "primary", 3: "secondary", 4: "tertiary"},
            "satisfaction": {**SATISFACTION, 9: "don't know"},
            "age": {99: "refused"},
            "return_type": {0: "voluntary", 1: "forced"},
        },
        variable_measure={
            "mentored": "nominal",
            "sex": "nominal",
            "education": "ordinal",
            "satisfaction": "ordinal",
            "age": "scale",
            "composite_score": "scale",
            "return_type": "nominal",
        },
        missing_ranges={"satisfaction": [9]},
        compress=path.suffix == ".zsav",
    )
    return frame


@pytest.mark.parametrize("suffix", [".sav", ".zsav"])
def test_spss_measure_levels_decide_what_labels_mean(tmp_path, cohort, suffix):
    path = tmp_path / f"rss{suffix}"
    codes = _spss_export(cohort, path)
    before = path.read_bytes()
    frame = read_table(path)
    assert path.read_bytes() == before, "reading must not modify the input file"
    education = frame["education"].dtype
    assert isinstance(education, pd.CategoricalDtype) and education.ordered  # ordinal
    assert list(education.categories) == ["none", "primary", "secondary", "tertiary"]
    sex = frame["sex"].dtype
    assert isinstance(sex, pd.CategoricalDtype) and not sex.ordered  # nominal
    assert frame["sex"].tolist()[:3] == codes["sex"].map({1: "male", 2: "female"}).tolist()[:3]
    assert pd.api.types.is_float_dtype(frame["age"])  # scale: its numbers, labels or not
    assert frame["satisfaction"].isna().sum() == 7  # the user-missing code 9
    labels = value_labels(frame)
    assert set(labels) == {"mentored", "sex", "education", "satisfaction", "return_type"}
    assert labels["satisfaction"].codes[:5] == (1.0, 2.0, 3.0, 4.0, 5.0)
    np.testing.assert_array_equal(
        labels["satisfaction"].to_codes(frame["satisfaction"]).dropna(),
        codes["satisfaction"][codes["satisfaction"] != 9],
    )


def test_labels_survive_a_parquet_round_trip_and_odd_attrs_are_ignored(tmp_path, cohort):
    path = tmp_path / "rss.sav"
    _spss_export(cohort, path, n=100)
    frame = read_table(path)
    back = read_table(write_table(frame, tmp_path / "rss.parquet"))
    assert value_labels(back) == value_labels(frame)
    assert back["education"].dtype == frame["education"].dtype
    frame.attrs["value_labels"] = {"sex": {"codes": [1]}, "education": [1, 2], "nope": {}}
    assert value_labels(frame) == {}
    relabelled = back.assign(sex=back["sex"].astype(str))  # no longer its labels' categories
    assert "sex" not in value_labels(relabelled) and "education" in value_labels(relabelled)


def test_spss_code_without_a_label_is_its_own_category(tmp_path):
    path = tmp_path / "partly.sav"
    pyreadstat.write_sav(
        pd.DataFrame({"q": [1.0, 3.0, 5.0, 3.0]}),
        str(path),
        variable_value_labels={"q": {1: "low", 5: "high"}},
        variable_measure={"q": "ordinal"},
    )
    frame = read_table(path)
    assert list(frame["q"].cat.categories) == ["low", "3", "high"]
    assert frame["q"].tolist() == ["low", "3", "high", "3"]


def _spss_study(tmp_path, cohort, study_dict) -> tuple[dict, pd.DataFrame]:
    path = tmp_path / "rss.sav"
    codes = _spss_export(cohort, path, n=1500)
    study_dict.update(
        data={"path": str(path)},
        population={"return_type": ["voluntary"], "education": {"min": 2}},
        outcomes=["composite_score", "satisfaction"],
        covariates=["age", "sex", "education", "country"],
        methods={"psm": {}, "ipw": {}},
        sensitivity={"rosenbaum": False, "omitted_variable": False},
    )
    return study_dict, codes


def test_spss_labels_in_a_study(tmp_path, cohort, study_dict):
    """A .sav with labels: the treatment by code or by label, a filter by label, a range filter
    on the codes, a labelled outcome analysed on its codes, labelled covariates as categories."""
    study_dict, codes = _spss_study(tmp_path, cohort, study_dict)
    by_code = prepare_sample(Study.from_dict(study_dict))
    study_dict["treatment"] = {"column": "mentored", "treated": ["Yes"]}
    by_label = prepare_sample(Study.from_dict(study_dict))
    np.testing.assert_array_equal(by_code.treatment, by_label.treatment)
    kept = codes[(codes["return_type"] == 0) & (codes["education"] >= 2)]
    assert by_label.flow.rows_read - sum(by_label.flow.filtered_out.values()) == len(kept)
    assert by_label.treatment.sum() == kept.loc[by_label.frame.index, "mentored"].sum()
    satisfaction = by_label.frame["satisfaction"]
    assert pd.api.types.is_float_dtype(satisfaction)
    assert set(satisfaction.dropna()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert "education" in by_label.categorical and "sex" in by_label.categorical


@pytest.mark.slow
def test_spss_study_with_value_labels_runs_end_to_end(tmp_path, cohort, study_dict):
    study_dict, _ = _spss_study(tmp_path, cohort, study_dict)
    study_dict["treatment"] = {"column": "mentored", "treated": ["Yes"]}
    results = run_study(Study.from_dict(study_dict), out_dir=tmp_path / "out")
    assert {e.outcome for e in results.effects} == {"composite_score", "satisfaction"}
    assert all(np.isfinite(e.estimate) for e in results.effects)
    assert (tmp_path / "out" / "results.json").is_file()


def test_a_treated_value_that_is_neither_label_nor_code(tmp_path, cohort, study_dict):
    path = tmp_path / "rss.sav"
    _spss_export(cohort, path)
    study_dict.update(
        data={"path": str(path)},
        treatment={"column": "mentored", "treated": ["yes!"]},
        covariates=["age", "sex"],
    )
    with pytest.raises(DataError) as raised:
        prepare_sample(Study.from_dict(study_dict))
    assert str(raised.value) == (
        "treatment.treated: no row has a treated value (yes!) in mentored; values found: no, yes"
    )


def test_treated_and_control_naming_one_label_by_code_and_text(tmp_path, cohort, study_dict):
    path = tmp_path / "rss.sav"
    _spss_export(cohort, path)
    study_dict.update(
        data={"path": str(path)},
        treatment={"column": "mentored", "treated": [1], "control": ["yes"]},
        covariates=["age", "sex"],
    )
    with pytest.raises(DataError, match=r"^treatment.control: a control value means 'yes'"):
        prepare_sample(Study.from_dict(study_dict))


def test_spss_codes_sharing_a_label_are_refused(tmp_path):
    path = tmp_path / "shared.sav"
    pyreadstat.write_sav(
        pd.DataFrame({"return_type": [1.0, 2.0]}),
        str(path),
        variable_value_labels={"return_type": {1: "returned", 2: "returned"}},
        variable_measure={"return_type": "nominal"},
    )
    with pytest.raises(DataError) as raised:
        read_table(path)
    assert str(raised.value) == (
        f"{path}: column 'return_type': codes 1 and 2 share the label 'returned'; give each code "
        "its own label (or merge the codes) and export again"
    )


def test_stata_labels_categories_when_every_value_is_labelled(tmp_path):
    """Stata has no measure level: fully labelled columns become categories in code order (not
    ranked); partly labelled ones keep their numbers; extended missing values are missing."""
    path = tmp_path / "rss.dta"
    raw = pd.DataFrame(
        {"return_type": [2, 1, 2, "a"], "age": [20, 99, "b", 40], "sex": ["f", "m", "f", "m"]},
        dtype=object,
    )
    pyreadstat.write_dta(
        raw,
        str(path),
        variable_value_labels={"return_type": {1: "voluntary", 2: "forced"}, "age": {99: "refused"}},
        missing_user_values={"return_type": ["a"], "age": ["b"]},
    )
    frame = read_table(path)
    dtype = frame["return_type"].dtype
    assert isinstance(dtype, pd.CategoricalDtype) and not dtype.ordered
    assert list(dtype.categories) == ["voluntary", "forced"]
    assert frame["return_type"].tolist()[:3] == ["forced", "voluntary", "forced"]
    assert frame["return_type"].isna().tolist() == [False, False, False, True]
    assert pd.api.types.is_float_dtype(frame["age"]) and frame["age"].isna().sum() == 1
    assert value_labels(frame)["return_type"].codes == (1.0, 2.0)


def _damage(data: bytes, how: str) -> bytes:
    return {"half": data[: len(data) // 2], "header": data[:100], "noise": data[:64] + bytes(200)}[how]


@pytest.mark.parametrize("suffix", [".sav", ".zsav", ".dta"])
@pytest.mark.parametrize("how", ["half", "header", "noise"])
def test_damaged_spss_and_stata_files_are_one_line(tmp_path, cohort, suffix, how):
    good = tmp_path / f"good{suffix}"
    if suffix == ".dta":
        pyreadstat.write_dta(cohort.data.head(200)[["age", "mentored"]], str(good))
    else:
        _spss_export(cohort, good, n=200)
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(_damage(good.read_bytes(), how))
    with pytest.raises(DataError) as raised:
        read_table(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: could not be read as {suffix[1:]}: the file is damaged")


def test_unsupported_suffix_lists_the_readers(tmp_path):
    path = tmp_path / "export.sas7bdat"
    path.write_bytes(b"x")
    with pytest.raises(DataError) as raised:
        read_table(path)
    assert str(raised.value) == (
        f"{path}: unsupported file type; use .csv, .parquet, .xlsx, .sav, .zsav, .dta"
    )


# -- KoBoToolbox / ODK -----------------------------------------------------------------------


def _kobo(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_kobo_export_becomes_analysis_columns():
    frame = read_table(KOBO_EXPORT, kobo=KoboLayout(select_multiple=("vulnerabilities",)))
    columns = list(frame.columns)
    assert len(frame) == 300
    assert columns[:6] == ["country", "survey_round", "age", "sex", "education", "household_size"]
    assert not [c for c in columns if c.startswith("_") or c in ("start", "end", "meta/instanceID")]
    assert "assistance" not in columns and "vulnerabilities" not in columns
    choices = ["assistance/economic", "assistance/social", "assistance/psychosocial"]
    assert set(choices) <= set(columns)
    expanded = [c for c in columns if c.startswith("vulnerabilities/")]
    assert expanded == [f"vulnerabilities/{c}" for c in ("health", "minor", "none", "trafficking")]
    assert set(np.unique(frame[choices + expanded])) == {0.0, 1.0}
    raw = pd.read_csv(KOBO_EXPORT, sep=";")
    assert (frame["assistance/economic"] == raw["group_assistance/assistance/economic"]).all()
    assert (frame["vulnerabilities/none"] == (raw["group_hh/vulnerabilities"] == "none")).all()


def test_shipped_kobo_example_is_regenerated_byte_for_byte(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "make_kobo", KOBO_EXPORT.with_name("make_kobo_example.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "again.csv"
    module.kobo_example().to_csv(out, sep=";", index=False, lineterminator="\n")
    assert out.read_bytes() == KOBO_EXPORT.read_bytes()


def test_kobo_study_prepares_its_sample():
    sample = prepare_sample(load_study(KOBO_STUDY))
    assert sample.flow.rows_read == 300
    assert sample.flow.treated + sample.flow.control == sample.flow.analysed
    assert "composite_score" in sample.frame.columns  # scored from the raw RSS answers


@pytest.mark.slow
def test_kobo_study_runs_end_to_end(tmp_path, capsys):
    out = tmp_path / "kobo"
    assert main(["run", str(KOBO_STUDY), "--out", str(out), "--quiet"]) == 0
    assert (out / "results.json").is_file() and (out / "report.html").is_file()
    again = tmp_path / "again"  # the resolved study keeps data.kobo
    assert main(["run", str(out / "results.json"), "--out", str(again), "--quiet"]) == 0
    first, second = (json.loads((d / "results.json").read_text()) for d in (out, again))
    assert second["effects"] == first["effects"]
    assert second["study"]["data"]["kobo"]["select_multiple"] == ["vulnerabilities"]


def test_space_separated_answers_expand_like_kobo_columns(tmp_path):
    path = _kobo(
        tmp_path,
        "g/age;g/assistance;_uuid\n30;economic social;u1\n40;;u2\n50;psychosocial;u3\n",
    )
    frame = read_table(path, kobo=KoboLayout(select_multiple=("assistance",)))
    assert list(frame.columns) == [
        "age", "assistance/economic", "assistance/psychosocial", "assistance/social"
    ]  # fmt: skip
    assert frame["assistance/economic"].tolist()[::2] == [1.0, 0.0]
    assert frame.iloc[1, 1:].isna().all()  # not answered: missing, not "not chosen"
    kept = read_table(path, kobo=KoboLayout(groups="keep", select_multiple=("assistance",)))
    assert list(kept.columns)[:2] == ["g/age", "g/assistance/economic"]


def test_both_forms_keep_the_per_choice_columns_only(tmp_path):
    text = "g/a;g/a/x;g/a/y\nx;1;0\nx y;1;1\n"
    for layout in (KoboLayout(), KoboLayout(select_multiple=("a",))):
        frame = read_table(_kobo(tmp_path, text), kobo=layout)
        assert list(frame.columns) == ["a/x", "a/y"]
        assert frame["a/y"].tolist() == [0.0, 1.0]


def test_per_choice_columns_only_are_named_by_their_question_when_listed(tmp_path):
    frame = read_table(
        _kobo(tmp_path, "grp/a/x,grp/a/y,grp/b\n1,0,3\n"), kobo=KoboLayout(select_multiple=("a",))
    )
    assert list(frame.columns) == ["a/x", "a/y", "b"]


def test_label_headers_xlsx_and_odk_central(tmp_path):
    """Label headers ("Question text/Choice label"), an xlsx export and ODK Central's '-'."""
    labels = pd.DataFrame(
        {
            "Household/How old are you?": [30, 40],
            "Assistance received": ["economic", "economic social"],
            "Assistance received/Economic support": ["1", "1"],
            "Assistance received/Social support": ["0", "1"],
            "_submission_time": ["2020-01-01", "2020-01-02"],
        }
    )
    path = tmp_path / "labels.xlsx"
    labels.to_excel(path, index=False)
    frame = read_table(path, kobo=KoboLayout())
    assert list(frame.columns) == [
        "How old are you?", "Assistance received/Economic support", "Assistance received/Social support"
    ]  # fmt: skip
    central = _kobo(tmp_path, "SubmissionDate,hh-age,hh-sex,meta-instanceID,KEY\nx,30,f,uuid:1,uuid:1\n")
    frame = read_table(central, kobo=KoboLayout(group_separator="-"))
    assert list(frame.columns) == ["age", "sex"]


def test_metadata_kept_on_request(tmp_path):
    path = _kobo(tmp_path, "start;g/age;_uuid\n2020;30;u1\n")
    assert list(read_table(path, kobo=KoboLayout(metadata="keep")).columns) == ["start", "age", "_uuid"]


def test_kobo_refusals_are_one_line(tmp_path):
    clash = _kobo(tmp_path, "hh/age;child/age\n30;4\n", "clash.csv")
    with pytest.raises(DataError) as raised:
        read_table(clash, kobo=KoboLayout())
    assert str(raised.value) == (
        f"{clash}: columns 'hh/age' and 'child/age' both become 'age' when group paths are "
        "stripped; set 'data.kobo.groups: keep'"
    )
    tabs = _kobo(tmp_path, "g/age\tg/sex\n30\tf\n", "tabs.csv")
    with pytest.raises(DataError, match=re.escape("its header reads as one column")):
        read_table(tabs, kobo=KoboLayout())
    odd = _kobo(tmp_path, "g/a;g/a/x\nx;maybe\n", "odd.csv")
    with pytest.raises(DataError) as raised:
        read_table(odd, kobo=KoboLayout())
    assert str(raised.value) == (
        f"{odd}: column 'g/a/x' is a select_multiple choice but holds 'maybe'; a choice column "
        "holds 1 (chosen) or 0"
    )
    with pytest.raises(DataError) as raised:
        read_table(odd, kobo=KoboLayout(select_multiple=("b",)))
    assert str(raised.value).startswith("data.kobo.select_multiple: question 'b' is not in ")
    ragged = _kobo(tmp_path, "g/a;g/b\n1;2\n1;2;3\n", "ragged.csv")
    with pytest.raises(DataError, match="the file is damaged or truncated"):
        read_table(ragged, kobo=KoboLayout())


def test_semicolon_csv_without_kobo_is_refused_with_the_fix(tmp_path):
    path = _kobo(tmp_path, "age;sex\n30;f\n")
    with pytest.raises(DataError) as raised:
        read_table(path)
    assert str(raised.value) == (
        f"{path}: reads as one column separated by ';'; save it comma-separated, or, for a "
        "KoBoToolbox/ODK export, add 'kobo: {}' under 'data'"
    )


@pytest.mark.parametrize(
    "kobo, path, words",
    [
        ({"group": "keep"}, "x.csv", "unknown key 'group' (did you mean 'groups'?)"),
        ({"groups": "flat"}, "x.csv", "data.kobo.groups"),
        ({}, "x.parquet", "'kobo' applies only to a .csv or .xlsx path"),
    ],
)
def test_kobo_settings_are_strict(study_dict, kobo, path, words):
    study_dict["data"] = {"path": path, "kobo": kobo}
    with pytest.raises(StudyError, match=re.escape(words)):
        Study.from_dict(study_dict)


def test_kobo_null_means_the_defaults(study_dict):
    study_dict["data"] = {"path": "x.csv", "kobo": None}
    assert Study.from_dict(study_dict).data.kobo is not None
    study_dict["data"]["kobo"] = False
    assert Study.from_dict(study_dict).data.kobo is None


def test_data_override_is_read_as_a_kobo_export_too(tmp_path):
    """``--data`` with a second round of the same form (here comma-separated) is read as the
    study's KoBo export is."""
    path = tmp_path / "round2.csv"
    pd.read_csv(KOBO_EXPORT, sep=";").head(250).to_csv(path, index=False)
    sample = prepare_sample(load_study(KOBO_STUDY), data_path=path)
    assert sample.flow.rows_read == 250
