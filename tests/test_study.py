"""Study files: shipped studies validate; bad ones fail with a message naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from reimpact.config.study import Study, load_study
from reimpact.exceptions import StudyError

STUDIES = sorted(Path(__file__).parents[1].joinpath("studies").glob("*.yaml"))


def test_three_studies_ship():
    assert {p.stem for p in STUDIES} >= {"orion_mentoring", "referrals", "economic_support"}


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_shipped_studies_are_valid(path):
    study = load_study(path)
    assert study.source == path
    assert study.outcomes


def test_defaults(study_dict):
    study = Study.from_dict(study_dict)
    assert study.estimand == "ATT"
    assert study.missing == "drop"
    assert study.propensity.kind == "logistic"
    psm = study.methods.psm
    assert (psm.replace, psm.caliper, psm.ratio, psm.ties, psm.adjust) == (True, None, 1, "all", True)
    assert psm.caliper_scale == "pooled" and psm.order == "largest"
    assert study.report.min_cell_size == 10
    assert study.treatment.label == "mentored"


def _set(study: dict, dotted: str, value):
    if not dotted:  # several top-level keys at once
        study.update(value)
        return
    keys = dotted.split(".")
    target = study
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value


_DELETE = object()

# (kind of mistake, dotted key, bad value, field named in the message, words in the message)
BAD = [
    ("unknown top-level key", "estmand", "ATT", "(top level)", "did you mean 'estimand'"),
    ("invalid estimand", "estimand", "ATX", "estimand", "'ATT', 'ATE' or 'ATC'"),
    ("missing treatment", "treatment", _DELETE, "treatment", "is required"),
    ("missing name", "name", _DELETE, "name", "is required"),
    ("name with spaces", "name", "my study", "name", "letters, digits"),
    ("no outcomes", "outcomes", [], "outcomes", "at least 1"),
    ("outcome listed twice", "outcomes", ["composite_score", "composite_score"], "outcomes", "twice"),
    ("covariate not a name", "covariates", ["age", 3], "covariates", "column names"),
    ("outcome is a covariate", "outcomes", ["age"], "(top level)", "also a covariate"),
    ("treatment is a covariate", "covariates", ["mentored", "age"], "(top level)", "is the treatment"),
    ("both data sources", "data.path", "x.csv", "data", "exactly one of"),
    ("unsupported data file", "data", {"path": "x.sas7bdat"}, "data", ".xlsx, .sav, .zsav, .dta"),
    ("unknown builtin", "data.builtin", "lalonde", "data.builtin", "simulated-returnees"),
    ("sample size not a number", "data.n", "many", "data.n", "integer"),
    ("negative caliper", "methods.psm.caliper", -0.1, "methods.psm.caliper", "greater than 0"),
    ("ratio zero", "methods.psm.ratio", 0, "methods.psm.ratio", "greater than or equal to 1"),
    (
        "invalid matching order",
        "methods.psm.order",
        "biggest",
        "methods.psm.order",
        "'largest', 'smallest', 'random' or 'data'",
    ),
    ("unknown method", "methods.psmm", {}, "methods", "did you mean 'psm'"),
    ("no method", "methods", {"psm": False}, "methods", "at least one method"),
    (
        "invalid learner",
        "methods.aipw",
        {"outcome_learner": "forest"},
        "methods.aipw.outcome_learner",
        "'linear' or 'gradient_boosting'",
    ),
    (
        "invalid propensity learner",
        "methods.aipw",
        {"propensity_learner": "probit"},
        "methods.aipw.propensity_learner",
        "'logistic' or 'gradient_boosting'",
    ),
    (
        "renamed learner key",
        "methods.aipw",
        {"learner": "linear"},
        "methods.aipw",
        "use 'outcome_learner'",
    ),
    ("renamed bias correction", "methods.psm", {"bias_correction": True}, "methods.psm", "use 'adjust'"),
    (
        "invalid caliper scale",
        "methods.psm.caliper_scale",
        "sd",
        "methods.psm.caliper_scale",
        "'pooled' or 'all'",
    ),
    ("invalid ties", "methods.psm.ties", "random", "methods.psm.ties", "'all' or 'first'"),
    (
        "matched sets with replacement",
        "methods.psm",
        {"replace": True, "se": "matched-sets"},
        "(top level)",
        "methods.psm.se: matched sets overlap",
    ),
    (
        "bootstrap with clusters",
        "",
        {"cluster": "survey_round", "methods": {"psm": {"replace": False, "se": "bootstrap"}}},
        "(top level)",
        "resamples units, not clusters",
    ),
    ("too few folds", "methods.aipw", {"folds": 1}, "methods.aipw.folds", "greater than or equal to 2"),
    ("invalid missing policy", "missing", "delete", "missing", "'drop' or 'impute'"),
    (
        "invalid propensity model",
        "propensity",
        {"model": "probit"},
        "propensity.model",
        "'logistic', 'gradient_boosting' or 'cbps'",
    ),
    ("model and column", "propensity", {"model": "logistic", "column": "ps"}, "propensity", "not both"),
    ("clip too large", "propensity", {"clip": 0.6}, "propensity.clip", "less than 0.5"),
    ("treatment without rule", "treatment", {"treated": [1]}, "treatment", "'column' or 'any_of'"),
    (
        "value both treated and control",
        "treatment",
        {"column": "mentored", "treated": [1], "control": [1]},
        "treatment",
        "both in 'treated'",
    ),
    (
        "population range inverted",
        "population",
        {"age": {"min": 40, "max": 30}},
        "population",
        "larger than max",
    ),
    (
        "population filter not values",
        "population",
        {"country": [{"a": 1}]},
        "population",
        "plain values",
    ),
    (
        "ATE matching without replacement",
        "",
        {"estimand": "ATE", "methods": {"psm": {"replace": False}}},
        "(top level)",
        "methods.psm.replace: the ATE",
    ),
    (
        "min cell size zero",
        "report",
        {"min_cell_size": 0},
        "report.min_cell_size",
        "greater than or equal to 1",
    ),
    ("categorical not a covariate", "categorical", ["survey_round"], "(top level)", "not in covariates"),
    (
        "bootstrap with replacement",
        "methods.psm",
        {"replace": True, "se": "bootstrap"},
        "(top level)",
        "invalid for matching with replacement",
    ),
]


@pytest.mark.parametrize("kind,key,value,field,words", BAD, ids=[b[0] for b in BAD])
def test_bad_study_files_name_the_field(study_dict, kind, key, value, field, words):
    _set(study_dict, key, value)
    with pytest.raises(StudyError) as info:
        Study.from_dict(study_dict, source="bad.yaml")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"bad.yaml: {field}: "), message
    assert words in message, message


def test_at_least_fifteen_kinds_of_bad_study():
    assert len({b[0] for b in BAD}) >= 15


def test_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(StudyError, match="YAML mapping"):
        load_study(path)


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ntreatment: [unclosed\n")
    with pytest.raises(StudyError, match="not valid YAML at line"):
        load_study(path)


def test_missing_file():
    with pytest.raises(StudyError, match="study file not found"):
        load_study("does/not/exist.yaml")


def test_derived_treatment_rule(study_dict):
    study_dict["treatment"] = {
        "name": "any_referral",
        "any_of": ["economic_delivery", "social_delivery"],
        "treated": "referral",
        "control": ["direct"],
    }
    study = Study.from_dict(study_dict)
    assert study.treatment.label == "any_referral"
    assert study.treatment.treated == ["referral"]
    assert study.treatment.columns == ["economic_delivery", "social_delivery"]


def test_method_with_empty_value_runs_with_defaults(study_dict):
    study_dict["methods"] = {"ipw": None, "aipw": {}}
    study = Study.from_dict(study_dict)
    assert study.methods.names == ["ipw", "aipw"]


def test_the_readme_error_table_lists_tested_kinds():
    """Every kind in the README's error table is a case of BAD (so it gives one line, exit 2)."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    table = readme.split("### Errors", 1)[1].split("\n\n")[2]
    kinds = [line.split("|")[1].strip() for line in table.splitlines()[2:]]
    assert len(kinds) >= 17
    assert set(kinds) <= {b[0] for b in BAD}
