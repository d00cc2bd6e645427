"""Running a study end to end: sample, propensity score, every method on every outcome, results.

This module wires the pieces together; the statistics live in the modules it calls.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .data import AnalysisSample, prepare_sample
from .doubly_robust import AIPWEstimator
from .exceptions import DesignError
from .inference import welch_se
from .matching import MatchingEstimator
from .propensity import PropensityScores, covariate_design, estimate_propensity
from .results import Effect, EffectTable
from .study import Study
from .weighting import IPWEstimator


@dataclass(frozen=True)
class DesignSummary:
    """What the design did: propensity model, clipping and trimming, matching counts."""

    propensity_model: str
    clip: float
    n_clipped: int
    trim: float | None
    n_trimmed: int
    matching: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyResults:
    """Everything a run produced: the sample flow, the design, the effects and (for simulated data)
    the true effects of the analysed sample."""

    study: Study
    sample: AnalysisSample
    propensity: PropensityScores
    design: DesignSummary
    effects: EffectTable
    truth: pd.DataFrame | None
    warnings: tuple[str, ...]

    def summary(self) -> str:
        flow = self.sample.flow
        lines = [
            f"{self.study.display_title}",
            f"treatment '{self.study.treatment.label}', estimand {self.study.estimand}; "
            f"{flow.analysed} returnees analysed ({flow.treated} treated, {flow.control} control)",
            "",
            self.effects.summary(),
        ]
        if self.truth is not None:
            lines += ["", "true effects (simulated data):"]
            lines += [f"  {row.outcome}: {row.effect:.4f}" for row in self.truth.itertuples()]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The content of ``results.json`` (aggregates only, never row-level data)."""
        truth = None
        if self.truth is not None:
            truth = [
                {"outcome": r.outcome, "estimand": r.estimand, "effect": r.effect}
                for r in self.truth.itertuples()
            ]
        return {
            "reimpact_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "study": self.study.model_dump(mode="json"),
            "data": {"source": self.sample.source.description, "sha256": self.sample.source.sha256},
            "sample": self.sample.flow.to_dict(),
            "design": self.design.__dict__,
            "effects": [e.to_dict() for e in self.effects],
            "truth": truth,
            "warnings": list(self.warnings),
        }

    def write(self, out_dir: str | Path) -> Path:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "results.json"
        path.write_text(json.dumps(_clean(self.to_dict()), indent=2), encoding="utf-8")
        return path


def _clean(value: Any) -> Any:
    """JSON-safe values: NaN and infinity become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def naive_effect(y: np.ndarray, t: np.ndarray, outcome: str, estimand: str) -> Effect:
    """Unadjusted difference in means with a Welch standard error (the reference point)."""
    estimate = float(y[t == 1].mean() - y[t == 0].mean())
    return Effect(
        outcome=outcome,
        method="naive",
        estimand=estimand,
        estimate=estimate,
        std_error=welch_se(y, t),
        n_treated=int(t.sum()),
        n_control=int((1 - t).sum()),
        se_type="Welch",
        notes=("unadjusted difference in means",),
    )


def run_study(
    study: Study,
    data_path: str | Path | None = None,
    out_dir: str | Path | None = None,
    quiet: bool = True,
) -> StudyResults:
    """Run every method of the study on every outcome; write ``results.json`` to ``out_dir``."""
    sample = prepare_sample(study, data_path)
    frame, t = sample.frame, sample.treatment.astype(np.int8)
    design = covariate_design(frame, sample.covariate_columns, sample.categorical)
    given = frame[study.propensity.column].to_numpy(dtype=float) if study.propensity.column else None
    scores = estimate_propensity(
        design, t, study.propensity.kind, study.propensity.clip, given, random_state=study.seed
    )

    n_trimmed = 0
    if study.propensity.trim is not None:
        keep = (scores.scores >= study.propensity.trim) & (scores.scores <= 1 - study.propensity.trim)
        n_trimmed = int((~keep).sum())
        if n_trimmed:
            frame, t = frame.loc[keep], t[keep]
            given = None if given is None else given[keep]
            design = covariate_design(frame, sample.covariate_columns, sample.categorical)
            scores = estimate_propensity(
                design,
                t,
                study.propensity.kind,
                study.propensity.clip,
                given,
                random_state=study.seed,
            )
            if min(t.sum(), (1 - t).sum()) < 2:
                raise DesignError(
                    "propensity.trim", "trimming leaves fewer than 2 units in a group; lower it"
                )

    clusters = frame[study.cluster].to_numpy() if study.cluster else None
    outcomes = list(study.outcomes)
    y_all = frame[outcomes].to_numpy(dtype=float)
    effects: list[Effect] = [
        naive_effect(y_all[:, j], t, name, study.estimand) for j, name in enumerate(outcomes)
    ]
    matching_info: dict[str, Any] = {}
    if study.methods.psm is not None:
        spec = study.methods.psm
        strata = None
        if study.exact:
            strata = frame[study.exact].astype(str).agg("|".join, axis=1).to_numpy()
        psm = MatchingEstimator(
            estimand=study.estimand,
            ratio=spec.ratio,
            replace=spec.replace,
            caliper=spec.caliper,
            order=spec.order,
            distance=spec.distance,
            se=spec.se,
            bias_correction=spec.bias_correction,
            n_bootstrap=spec.n_bootstrap,
            random_state=study.seed,
        ).fit(scores.scores, t, strata, design.matrix, scores.design)
        weights = psm.weights_
        matching_info = {
            "focal_units": int(sum(r.n_focal for r in psm.results_)),
            "matched_focal_units": int(sum(r.n_focal_matched for r in psm.results_)),
            "dropped_by_caliper": psm.dropped_by_caliper_,
            "caliper_width": psm.caliper_width_,
            "matched_treated": int(np.sum((weights > 0) & (t == 1))),
            "matched_control": int(np.sum((weights > 0) & (t == 0))),
        }
        effects += [
            psm.estimate(y_all[:, j], name, clusters, study.cluster or "cluster")
            for j, name in enumerate(outcomes)
        ]
    if study.methods.ipw is not None:
        ipw = IPWEstimator(study.estimand, study.methods.ipw.weights).fit(scores, t)
        effects += [
            ipw.estimate(y_all[:, j], name, clusters, study.cluster or "cluster")
            for j, name in enumerate(outcomes)
        ]
    if study.methods.aipw is not None:
        spec = study.methods.aipw
        aipw = AIPWEstimator(
            study.estimand, spec.folds, spec.learner, study.propensity.clip, random_state=study.seed
        ).fit(design.matrix, t, y_all, given)
        effects += [
            aipw.estimate(j, name, clusters, study.cluster or "cluster")
            for j, name in enumerate(outcomes)
        ]

    truth = None
    cohort = sample.source.cohort
    if cohort is not None and study.treatment.label in {c[0] for c in cohort.individual_effects}:
        table = cohort.truth_for(frame.index)
        truth = table[
            (table.treatment == study.treatment.label)
            & (table.outcome.isin(outcomes))
            & (table.estimand == study.estimand)
        ].reset_index(drop=True)

    summary = DesignSummary(
        propensity_model=scores.kind,
        clip=scores.clip,
        n_clipped=scores.n_clipped,
        trim=study.propensity.trim,
        n_trimmed=n_trimmed,
        matching=matching_info,
    )
    results = StudyResults(
        study=study,
        sample=sample,
        propensity=scores,
        design=summary,
        effects=EffectTable(tuple(effects)),
        truth=truth,
        warnings=tuple(_warnings(summary, sample)),
    )
    if out_dir is not None:
        results.write(out_dir)
    return results


def _warnings(design: DesignSummary, sample: AnalysisSample) -> list[str]:
    out = []
    flow = sample.flow
    dropped = flow.dropped_missing.get("total", 0)
    if dropped > 0.1 * (flow.analysed + dropped):
        out.append(
            f"{dropped} rows (over 10%) were dropped for missing values; consider 'missing: impute'"
        )
    if design.n_clipped:
        out.append(
            f"{design.n_clipped} propensity scores were clipped to "
            f"[{design.clip:g}, {1 - design.clip:g}]"
        )
    matching = design.matching
    if matching and matching["dropped_by_caliper"] > 0.1 * matching["focal_units"]:
        out.append(
            f"{matching['dropped_by_caliper']} of {matching['focal_units']} focal units "
            "(over 10%) found no match within the caliper; the matched estimand differs"
        )
    return out
