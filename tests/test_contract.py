"""The estimator contract (issue 13), checked on every registered estimator, and a toy estimator
registered at runtime that becomes usable from a study file, results.json and the report.

Truth checked: on a randomised design with a constant effect of 1, every estimator's 95% interval
covers 1 (one draw, n = 2,000; a wrong estimator misses by many standard errors).
"""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from reimpact import METHODS, EffectEstimator, NotFittedError, register
from reimpact.config.study import Study
from reimpact.estimators import AIPWEstimator, IPWEstimator, MatchingEstimator, NaiveEstimator
from reimpact.exceptions import DataError, DesignError, StudyError
from reimpact.pipeline import run_study
from reimpact.registry import unregister
from reimpact.results import Effect
from reimpact.stats.sandwich import sandwich_se

NAMES = list(METHODS)


def _draw(n: int = 2000, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.normal(size=(n, 3)), columns=["age", "income", "skills"])
    t = (rng.random(n) < 0.4).astype(int)
    base = x.to_numpy() @ np.array([0.5, 1.0, -0.5]) + rng.normal(size=n)
    y = pd.DataFrame({"score": base + t, "other": base})
    return x, t, y


@pytest.mark.parametrize("name", NAMES)
def test_settings_are_stored_unchanged_and_clone_works(name: str) -> None:
    cls = METHODS[name].estimator
    signature = inspect.signature(cls.__init__)
    params = [p for p in signature.parameters.values() if p.name != "self"]
    assert all(p.kind is p.KEYWORD_ONLY and p.default is not p.empty for p in params)
    estimator = cls()
    assert estimator.get_params() == {p.name: p.default for p in params}
    copy = clone(estimator.set_params(estimand="ATE"))
    assert copy is not estimator and copy.get_params() == estimator.get_params()
    with pytest.raises(ValueError, match="no parameter"):
        estimator.set_params(not_a_parameter=1)
    assert "estimand='ATE'" in repr(estimator)


@pytest.mark.parametrize("name", NAMES)
def test_one_fit_signature(name: str) -> None:
    fit = inspect.signature(METHODS[name].estimator.fit)
    assert fit == inspect.signature(EffectEstimator.fit)
    assert list(fit.parameters) == [
        "self", "X", "t", "y", "sample_weight", "cluster", "strata", "propensity",
    ]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_not_fitted_then_fitted(name: str) -> None:
    cls = METHODS[name].estimator
    estimator = cls(random_state=1) if "random_state" in cls.param_names() else cls()
    with pytest.raises(NotFittedError, match="not fitted"):
        _ = estimator.effect_
    assert not hasattr(estimator, "effects_")  # NotFittedError is an AttributeError
    x, t, y = _draw()
    assert estimator.fit(x, t, y["score"]) is estimator
    effect = estimator.effect_
    assert isinstance(effect, Effect) and effect.method == name and effect.outcome == "score"
    assert effect.covers(1.0), effect
    assert estimator.n_features_in_ == 3 and list(estimator.feature_names_in_) == list(x.columns)
    assert estimator.to_frame().shape[0] == 1 and "score" in estimator.summary()


@pytest.mark.parametrize("name", NAMES)
def test_several_outcomes_cluster_and_reproducibility(name: str) -> None:
    x, t, y = _draw()
    sites = pd.Series(np.arange(t.size) % 50, name="site")
    first = METHODS[name].estimator().fit(x, t, y, cluster=sites)
    again = clone(METHODS[name].estimator()).fit(x, t, y, cluster=sites)
    assert [e.outcome for e in first.effects_] == ["score", "other"]
    assert [e.estimate for e in first.effects_] == [e.estimate for e in again.effects_]
    assert all("site" in e.se_type for e in first.effects_)
    with pytest.raises(ValueError, match="2 outcomes"):
        _ = first.effect_


@pytest.mark.parametrize("name", NAMES)
def test_inputs_are_validated_in_one_place(name: str) -> None:
    x, t, y = _draw(200)
    estimator = METHODS[name].estimator()
    with pytest.raises(DataError, match="t: must be binary"):
        estimator.fit(x, t * 2, y["score"])
    with pytest.raises(DataError, match="y: must hold one outcome value per row"):
        estimator.fit(x, t, y["score"].to_numpy()[:10])
    with pytest.raises(DesignError, match="estimand: Input should be 'ATT', 'ATE' or 'ATC'"):
        METHODS[name].estimator(estimand="ate").fit(x, t, y["score"])
    with pytest.raises(DataError, match="sample_weight: must be finite and positive"):
        estimator.fit(x, t, y["score"], sample_weight=np.zeros(t.size))
    with pytest.raises(DataError, match="sample_weight: must have one value per row"):
        estimator.fit(x, t, y["score"], sample_weight=np.ones(3))


@pytest.mark.parametrize("name", NAMES)
def test_sampling_weights_go_through_every_estimator(name: str) -> None:
    """Every built-in takes sampling weights: equal weights change nothing (the weighted means
    are ratios), unequal ones move the estimate, and the 95% interval still covers the constant
    effect 1 of a randomised draw (one draw, n = 2,000)."""
    x, t, y = _draw()
    plain = METHODS[name].estimator().fit(x, t, y["score"]).effect_
    equal = METHODS[name].estimator().fit(x, t, y["score"], sample_weight=np.full(t.size, 3.0)).effect_
    assert equal.estimate == pytest.approx(plain.estimate, abs=1e-9)
    weights = np.exp(x["income"].to_numpy() / 2)
    weighted = METHODS[name].estimator().fit(x, t, y["score"], sample_weight=weights).effect_
    assert weighted.estimate != pytest.approx(plain.estimate, abs=1e-9)
    assert weighted.covers(1.0)
    assert any("sampling weights" in note for note in weighted.notes)


def test_matching_takes_strata_and_a_given_score() -> None:
    x, t, y = _draw()
    strata = (x["age"] > 0).to_numpy()
    score = np.full(t.size, t.mean())
    fitted = MatchingEstimator().fit(x, t, y["score"], strata=strata, propensity=score)
    assert fitted.effect_.covers(1.0)
    pairs = fitted.matcher_.matched_pairs()
    assert (strata[pairs.focal] == strata[pairs.matched]).all()
    with pytest.raises(DesignError, match="strata"):
        IPWEstimator().fit(x, t, y["score"], strata=strata)
    with pytest.raises(DesignError, match="the medians estimator does not use sample_weight"):
        DifferenceInMedians().fit(x, t, y["score"], sample_weight=np.ones(t.size))


def test_estimators_agree_with_their_design_objects() -> None:
    """The contract classes only wrap the design objects: same numbers."""
    from reimpact.estimators.aipw import CrossFittedAIPW

    x, t, y = _draw()
    aipw = AIPWEstimator(random_state=2).fit(x, t, y["score"]).effect_
    direct = CrossFittedAIPW("ATT", 5, "linear", "logistic", 0.01, 2).fit(
        x.to_numpy(), t, y[["score"]].to_numpy()
    )
    assert aipw.estimate == direct.estimate(0).estimate


class DifferenceInMedians(EffectEstimator):
    """A toy estimator: the difference in medians, with a sandwich SE of the difference in means
    (for the test only)."""

    name = "medians"
    label = "Difference in medians"

    def __init__(self, *, estimand: str = "ATT", shift: float = 0.0) -> None:
        self.estimand = estimand
        self.shift = shift

    def _estimate(self, data):
        t = data.t
        out = []
        for j, outcome in enumerate(data.outcomes):
            y = data.y[:, j]
            estimate = float(np.median(y[t == 1]) - np.median(y[t == 0])) + self.shift
            psi = np.where(t == 1, (y - y[t == 1].mean()) / t.sum(), 0.0) - np.where(
                t == 0, (y - y[t == 0].mean()) / (1 - t).sum(), 0.0
            )
            out.append(
                Effect(outcome, self.name, self.estimand, estimate, sandwich_se(psi, None),
                       int(t.sum()), int((1 - t).sum()), "toy")
            )  # fmt: skip
        return out


def test_a_toy_estimator_registered_at_runtime_runs_from_a_study_file(tmp_path, study_dict) -> None:
    register(DifferenceInMedians)
    try:
        raw = {**study_dict, "methods": {"psm": {}, "medians": {"shift": 0.5}}}
        study = Study.from_dict(raw)
        assert study.methods.names == ["psm", "medians"] and study.methods.medians.shift == 0.5
        with pytest.raises(StudyError, match="methods.medians.shift"):
            Study.from_dict({**study_dict, "methods": {"medians": {"shift": "far"}}})
        with pytest.raises(StudyError, match="unknown key 'shfit' .*did you mean 'shift'"):
            Study.from_dict({**study_dict, "methods": {"medians": {"shfit": 1}}})
        results = run_study(study, out_dir=tmp_path / "out")
        payload = json.loads((tmp_path / "out" / "results.json").read_text())
        toy = [e for e in payload["effects"] if e["method"] == "medians"]
        assert len(toy) == len(study.outcomes) and toy[0]["se_type"] == "toy"
        assert payload["study"]["methods"]["medians"] == {"shift": 0.5}
        assert results.effects.get(study.outcomes[0], "medians").estimate is not None
        report = (tmp_path / "out" / "report.html").read_text()
        assert "Difference in medians" in report
    finally:
        unregister("medians")
    with pytest.raises(StudyError, match="unknown key 'medians'"):
        Study.from_dict(raw)


def test_a_method_name_must_be_usable_as_a_study_file_key() -> None:
    for bad in ("", "two words", "_hidden", "names", "copy"):
        toy = type("Toy", (DifferenceInMedians,), {"name": bad})
        with pytest.raises(ValueError, match="name must be a Python identifier"):
            register(toy)
        assert bad not in METHODS
    register(DifferenceInMedians)
    try:
        other = type("Other", (DifferenceInMedians,), {})
        with pytest.raises(ValueError, match="already registered"):
            register(other)
    finally:
        unregister("medians")


def test_settings_are_checked_on_every_fit_as_a_study_file_checks_them() -> None:
    x, t, y = _draw(200)
    cases = [
        (MatchingEstimator(ratio=0), "ratio"),
        (AIPWEstimator(outcome_learner="bogus"), "outcome_learner"),
        (IPWEstimator(weights="foo"), "weights"),
        (IPWEstimator(clip=0.7), "clip"),
        (AIPWEstimator(folds=1), "folds"),
        (MatchingEstimator(propensity_model="bogus"), "propensity_model"),
    ]
    for estimator, key in cases:
        with pytest.raises(DesignError, match=f"^{key}: "):
            estimator.fit(x, t, y["score"])


def test_pandas_inputs_must_be_aligned_numeric_and_complete() -> None:
    x, t, y = _draw(200)
    shuffled = pd.Series(t, index=x.index[::-1])
    with pytest.raises(DataError, match="t: its index differs from X's"):
        NaiveEstimator().fit(x, shuffled, y["score"])
    with pytest.raises(DataError, match="X: must be numeric"):
        NaiveEstimator().fit(x.assign(region="north"), t, y["score"])
    sites = pd.Series(np.where(np.arange(200) == 5, np.nan, np.arange(200) % 10), index=x.index)
    with pytest.raises(DataError, match="cluster: holds missing values"):
        NaiveEstimator().fit(x, t, y["score"], cluster=sites)


def test_a_failed_refit_leaves_no_results_of_the_previous_fit() -> None:
    x, t, y = _draw(400)
    estimator = IPWEstimator().fit(x, t, y["score"])
    with pytest.raises(DataError):
        estimator.fit(x, t * 2, y["score"])
    with pytest.raises(NotFittedError):
        _ = estimator.effect_
    assert not hasattr(estimator, "weights_")


def test_a_study_pickles_whatever_the_registry_builds(study_dict) -> None:
    import pickle

    study = Study.from_dict({**study_dict, "methods": {"psm": {"caliper": 0.1}, "ipw": False}})
    again = pickle.loads(pickle.dumps(study))
    assert again == study and again.methods.names == ["psm"] and again.methods.psm.caliper == 0.1
    fitted = MatchingEstimator().fit(*_draw(300)[:2], _draw(300)[2]["score"])
    assert pickle.loads(pickle.dumps(fitted)).effect_ == fitted.effect_


def test_register_refuses_constructors_outside_the_contract() -> None:
    def make(init):
        return type("Bad", (DifferenceInMedians,), {"name": "bad", "__init__": init})

    def positional(self, shift: float = 0.0) -> None: ...
    def unannotated(self, *, shift=0.0) -> None: ...
    def required(self, *, shift: float) -> None: ...
    def learned(self, *, shift_: float = 0.0) -> None: ...

    for init, why in ((positional, "keyword-only"), (unannotated, "annotation"),
                      (required, "default"), (learned, "ends in '_'")):  # fmt: skip
        with pytest.raises(TypeError, match=why):
            register(make(init))
    assert "bad" not in METHODS
    twin = type("Twin", (IPWEstimator,), {"name": "twin"})
    with pytest.raises(ValueError, match="balance_label 'weighted' is already"):
        register(twin)


class DropsThree(EffectEstimator):
    """A toy that leaves 3 treated units out (unit weight 0) and says so only through its counts."""

    name = "dropsthree"
    label = "Drops three"
    balance_label = "kept"

    def __init__(self, *, estimand: str = "ATT") -> None:
        self.estimand = estimand

    def _estimate(self, data):
        keep = np.ones(data.t.size, bool)
        keep[np.flatnonzero(data.t == 1)[:3]] = False
        self.weights_ = keep.astype(float)
        t, out = data.t[keep], []
        for j, outcome in enumerate(data.outcomes):
            y = data.y[keep, j]
            psi = np.where(t == 1, (y - y[t == 1].mean()) / t.sum(), 0.0) - np.where(
                t == 0, (y - y[t == 0].mean()) / (1 - t).sum(), 0.0
            )
            out.append(
                Effect(outcome, "anything", self.estimand, float(y[t == 1].mean() - y[t == 0].mean()),
                       sandwich_se(psi, None), int(t.sum()), int((1 - t).sum()), "toy")
            )  # fmt: skip
        return out


def test_an_added_method_with_its_own_sample_and_counts_is_reported_and_protected(
    tmp_path, study_dict
) -> None:
    from reimpact.disclosure import audit

    register(DropsThree)
    try:
        study = Study.from_dict({**study_dict, "methods": {"ipw": {}, "dropsthree": {}}})
        results = run_study(study, out_dir=tmp_path / "out")
        payload = json.loads((tmp_path / "out" / "results.json").read_text())
        effects = [e for e in payload["effects"] if e["method"] == "dropsthree"]
        assert effects and all(e["n_treated"] == "suppressed" for e in effects)  # 3 by subtraction
        assert audit(payload, study.report.min_cell_size) == []
        assert "kept" in set(results.balance.to_frame()["sample"])
        report = (tmp_path / "out" / "report.html").read_text()
        assert "SMD kept" in report and "Drops three" in report
        assert not payload["not_run"], payload["not_run"]
    finally:
        unregister("dropsthree")
