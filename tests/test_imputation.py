"""Multiple imputation (``missing: {method: multiple, m: 20}``): the study key, the chained-equation
draws, Rubin's rules against a hand computation, a whole run pooled over imputations (reproducible
from the seed, published with m, df and fmi, passing the disclosure audit) and a short coverage
check with covariates missing at random."""

from __future__ import annotations

import copy
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from reimpact import Study, run_study
from reimpact.cli import main
from reimpact.exceptions import StudyError
from reimpact.results import Effect
from reimpact.results.pooled import pool_design, pool_effects
from reimpact.results.study import DesignSummary
from reimpact.sample.imputation import impute_chained
from reimpact.stats.rubin import pool

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from mi_coverage import TRUE_ATT, replicate, summarise  # noqa: E402


def _study(study_dict, **changes) -> Study:
    raw = copy.deepcopy(study_dict)
    raw.update(changes)
    return Study.from_dict(raw)


# -- the study key --------------------------------------------------------------------------------


def test_the_missing_key_takes_the_strings_and_the_multiple_mapping(study_dict):
    assert _study(study_dict, missing="impute").missing == "impute"
    spec = _study(study_dict, missing={"method": "multiple"}).missing
    assert (spec.method, spec.m, spec.max_iter) == ("multiple", 20, 10)
    spec = _study(study_dict, missing={"method": "multiple", "m": 5, "max_iter": 3}).missing
    assert (spec.m, spec.max_iter) == (5, 3)
    dumped = _study(study_dict, missing={"method": "multiple", "m": 5}).model_dump(exclude_none=True)
    again = Study.from_dict(dumped)
    assert again.missing.m == 5


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"method": "multiple", "m": 1}, "missing: m: input should be greater than or equal to 2"),
        ({"method": "multiple", "m": 101}, "missing: m: input should be less than or equal to 100"),
        ({"method": "multiple", "max_iter": 0}, "missing: max_iter: input should be greater than"),
        ({"method": "single"}, "missing: method: input should be 'multiple' (got 'single')"),
        ({"m": 5}, "missing: method: is required"),
        ({"method": "multiple", "mm": 5}, "missing: unknown key 'mm' (did you mean 'm'?)"),
        ("delete", "missing: input should be 'drop' or 'impute', or {method: multiple, m: 20}"),
    ],
)
def test_a_bad_missing_key_is_one_line_naming_the_field(study_dict, value, message):
    with pytest.raises(StudyError) as error:
        _study(study_dict, missing=value)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


# -- the imputations ------------------------------------------------------------------------------


def _incomplete(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "x": x,
            "flag": (x + rng.normal(size=n) > 0).astype(float),
            "region": rng.choice(["A", "B", "C"], n).astype(object),
            "t": (rng.random(n) < 0.4).astype(int),
        }
    )
    frame["y"] = frame.t + frame.x + rng.normal(size=n)
    for column, share in (("x", 0.15), ("flag", 0.1), ("region", 0.1), ("y", 0.05)):
        frame.loc[rng.random(n) < share, column] = np.nan
    return frame


def test_imputations_fill_covariates_only_with_plausible_draws():
    frame = _incomplete()
    sets = impute_chained(frame, ["x", "flag", "region"], ["region"], ["t", "y"], 3, 4, seed=5)
    assert len(sets) == 3
    observed = frame.notna()
    for imputed in sets:
        assert imputed[["x", "flag", "region"]].notna().all().all()
        for column in ("x", "flag", "region", "t"):  # observed values and the treatment untouched
            assert imputed.loc[observed[column], column].equals(frame.loc[observed[column], column])
        assert imputed["y"].isna().equals(frame["y"].isna())  # outcomes are never imputed
        assert set(imputed["flag"]) <= {0.0, 1.0}  # a 0/1 flag keeps its two values
        assert set(imputed["region"]) <= {"A", "B", "C"}
    # the draws differ between imputations and repeat with the seed
    assert not sets[0]["x"].equals(sets[1]["x"])
    again = impute_chained(frame, ["x", "flag", "region"], ["region"], ["t", "y"], 3, 4, seed=5)
    assert all(a.equals(b) for a, b in zip(sets, again, strict=True))


def test_the_outcome_informs_the_draws():
    """x is missing more often when y is large; with y in the imputation model the imputed x
    follow y (a model without it would impute at the mean of the observed x)."""
    frame = _incomplete(2000, seed=1)
    missing = frame["x"].isna() & frame["y"].notna()
    imputed = impute_chained(frame, ["x", "flag", "region"], ["region"], ["t", "y"], 2, 5, seed=0)[0]
    assert np.corrcoef(imputed.loc[missing, "x"], frame.loc[missing, "y"])[0, 1] > 0.4


# -- Rubin's rules ---------------------------------------------------------------------------------


def test_rubins_rules_equal_a_hand_computation():
    q, se = [1.0, 1.2, 0.9, 1.1], [0.2, 0.25, 0.2, 0.22]
    # by hand: Q = 4.2 / 4; W = (0.04 + 0.0625 + 0.04 + 0.0484) / 4; B = (0.05^2 + 0.15^2 +
    # 0.15^2 + 0.05^2) / 3; T = W + (1 + 1/4) B; lambda = 1.25 B / T; df = 3 / lambda^2
    w, b = 0.1909 / 4, 0.05 / 3
    t = w + 1.25 * b
    lam = 1.25 * b / t
    df = 3 / lam**2
    r = 1.25 * b / w
    fmi = (r + 2 / (df + 3)) / (1 + r)
    pooled = pool(q, se)
    assert pooled.estimate == pytest.approx(1.05)
    assert pooled.within == pytest.approx(0.047725)
    assert pooled.between == pytest.approx(0.0166666667)
    assert pooled.std_error == pytest.approx(math.sqrt(0.0685583333))
    assert pooled.df == pytest.approx(df) and pooled.df == pytest.approx(32.488, abs=1e-3)
    assert pooled.fmi == pytest.approx(fmi) and pooled.fmi == pytest.approx(0.3431, abs=1e-4)
    assert pooled.m == 4
    # Barnard & Rubin (1999) with 100 complete-data degrees of freedom
    df_obs = 101 / 103 * 100 * (1 - lam)
    assert pool(q, se, df_complete=100).df == pytest.approx(df * df_obs / (df + df_obs))
    # equal estimates: no between variance, a normal interval, no missing information
    same = pool([0.5, 0.5, 0.5], [0.1, 0.1, 0.1])
    assert (same.between, same.df, same.fmi, same.std_error) == (0.0, math.inf, 0.0, pytest.approx(0.1))
    with pytest.raises(ValueError, match="at least 2"):
        pool([1.0], [0.1])


def test_a_pooled_effect_has_a_t_interval_and_pooled_units():
    runs = [
        [Effect("y", "ipw", "ATT", q, s, n, 200, notes=("same", f"{n} bounded"))]
        for q, s, n in ((1.0, 0.2, 100), (1.2, 0.25, 101), (0.9, 0.2, 103), (1.1, 0.22, 103))
    ]
    effect = pool_effects(runs)[0]
    assert (effect.m, effect.estimate, effect.n_treated, effect.n_control) == (4, 1.05, 102, 200)
    half = stats.t.ppf(0.975, effect.df) * effect.std_error
    assert effect.conf_int() == pytest.approx((1.05 - half, 1.05 + half))
    assert effect.p_value == pytest.approx(2 * stats.t.sf(1.05 / effect.std_error, effect.df))
    assert effect.notes[0] == "same"  # notes with counts that vary are not published one by one
    assert not any("bounded" in note for note in effect.notes)
    assert "pooled over m = 4 imputed data sets" in effect.notes[-1]
    assert {"m", "df", "fmi"} <= set(effect.to_dict())


def test_pooled_matching_counts_keep_their_identity():
    def summary(focal: int, matched: int) -> DesignSummary:
        matching = {"focal_units": focal, "matched_focal_units": matched,
                    "dropped_by_caliper": focal - matched, "caliper_width": 0.1,
                    "matched_treated": matched, "matched_control": matched}  # fmt: skip
        return DesignSummary("logistic", 0.01, 0, 1, None, 0, matching, [])

    pooled = pool_design([summary(300, 290), summary(300, 291), summary(301, 290)])
    m = pooled.matching
    assert m["focal_units"] == m["matched_focal_units"] + m["dropped_by_caliper"]
    assert (m["focal_units"], m["matched_focal_units"], pooled.n_bounded_above) == (300, 290, 1)


# -- a whole run ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mi_run(tmp_path_factory):
    from conftest import BASE_STUDY

    raw = copy.deepcopy(BASE_STUDY)
    raw["covariates"] = [*raw["covariates"], "months_abroad"]  # education and months_abroad miss
    raw["missing"] = {"method": "multiple", "m": 3, "max_iter": 3}
    raw["methods"] = {"psm": {"replace": False, "caliper": 0.1}, "ipw": {}}  # matched counts vary
    raw["sensitivity"] = {"evalue": True, "rosenbaum": {}}
    raw["seed"] = 11
    out = tmp_path_factory.mktemp("mi")
    first = run_study(Study.from_dict(raw), out_dir=out)
    second = run_study(Study.from_dict(raw))
    return raw, out, first, second


def test_a_run_pools_every_effect_and_repeats_with_the_seed(mi_run):
    raw, _, first, second = mi_run
    assert first.sample.flow.imputed == {"education": 29, "months_abroad": 18}
    for a, b in zip(first.effects, second.effects, strict=True):
        assert (a.estimate, a.std_error, a.df, a.fmi) == (b.estimate, b.std_error, b.df, b.fmi)
        assert a.m == 3
    psm = first.effects.get("composite_score", "psm")
    assert 0 < psm.fmi < 1 and np.isfinite(psm.df)
    naive = first.effects.get("composite_score", "naive")  # the imputed covariates do not enter
    assert (naive.fmi, naive.df) == (0.0, math.inf)
    other = run_study(Study.from_dict(raw | {"seed": 12}))
    assert other.effects.get("composite_score", "psm").estimate != psm.estimate


def test_the_outputs_show_m_and_fmi_and_pass_the_audit(mi_run, capsys):
    _, out, results, _ = mi_run
    payload = json.loads((out / "results.json").read_text())
    psm = next(e for e in payload["effects"] if e["method"] == "psm")
    fmi = results.effects.get("composite_score", "psm").fmi
    assert psm["m"] == 3 and psm["fmi"] == pytest.approx(fmi)
    assert any(n.startswith("pooled over m = 3 imputed data sets") for n in psm["notes"])
    assert payload["study"]["missing"] == {"method": "multiple", "m": 3, "max_iter": 3}
    html = (out / "report.html").read_text()
    assert "Pooled over m = 3 imputations by Rubin" in html and "FMI" in html
    assert "imputed 3 times by chained equations" in html
    # checks that need one data set are not run on one imputation: they say why
    assert payload["sensitivity"]["evalues"]
    assert [r["check"] for r in payload["not_run"]][:1] == ["rosenbaum"]
    assert "not pooled over multiple imputations" in payload["not_run"][0]["reason"]
    # no per-imputation count is published: the matching counts are rounded means that add up
    matching = payload["design"]["matching"]
    true = results.design.matching
    assert true["focal_units"] == true["matched_focal_units"] + true["dropped_by_caliper"]
    assert all(isinstance(v, str) or v == true[k] for k, v in matching.items() if k != "caliper_width")
    assert main(["audit", str(out)]) == 0
    assert "nothing recoverable" in capsys.readouterr().out


def test_balance_is_averaged_over_the_imputations(mi_run):
    results = mi_run[2]
    rows = results.balance.frame
    assert set(rows["sample"]) == {"unadjusted", "matched", "weighted"}
    months = rows[(rows.covariate == "months_abroad") & (rows["sample"] == "unadjusted")]
    observed = results.sample.frame
    t = results.sample.treatment == 1
    # the average over imputations lies near the complete-case mean, not at any one imputation's
    assert months["mean_treated"].iloc[0] == pytest.approx(observed.months_abroad[t].mean(), rel=0.05)


def test_without_missing_covariates_there_is_one_analysis(study_dict):
    study = _study(study_dict, covariates=["age", "sex", "return_type"], missing={"method": "multiple"})
    results = run_study(study)
    assert results.sample.imputations == () and results.sample.flow.imputed == {}
    assert all(e.m is None and e.df is None for e in results.effects)


# -- coverage -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_multiple_imputation_covers_where_complete_cases_do_not():
    """What is checked: in 24 seeded replications of benchmarks/mi_coverage.py's design (n = 600,
    x1 and region missing at random given the outcome, about 17% and 9%), AIPW after multiple
    imputation (m = 5) covers the true ATT in at least 21 (88%), its bias is within 2.5 Monte
    Carlo standard errors (SD / sqrt(24)) of zero and its mean standard error within 25% of the
    SD of its estimates; the complete-case analysis is biased by more than MI's. The long run is
    the benchmark script."""
    table = summarise(replicate(reps=24, n=600, m=5, seed=3, methods=["aipw"], max_iter=5))
    mi, cc = table.loc[("multiple", "aipw")], table.loc[("drop", "aipw")]
    assert mi["coverage"] >= 21 / 24
    assert abs(mi["bias"]) < 2.5 * mi["sd_estimate"] / math.sqrt(24)
    assert 0.75 < mi["mean_se"] / mi["sd_estimate"] < 1.25
    assert abs(cc["bias"]) > abs(mi["bias"]) and TRUE_ATT == 1.0
