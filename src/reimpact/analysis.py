"""Running a study end to end: sample, propensity score, every method on every outcome, balance,
results.json and the report.

This module wires the pieces together; the statistics live in the modules it calls.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .balance import BalanceTable, balance_table
from .data import AnalysisSample, prepare_sample
from .disclosure import Gate, audit, publish
from .doubly_robust import AIPWEstimator
from .exceptions import DesignError, DisclosureError, failure_reason
from .inference import matched_regression, sandwich_se, welch_se
from .matching import MatchingEstimator
from .propensity import (
    CovariateDesign,
    PropensityScores,
    covariate_design,
    estimate_propensity,
    merge_rare_levels,
    poor_overlap,
    separated_levels,
    separation_error,
)
from .results import Effect, EffectTable
from .sensitivity import (
    RosenbaumBounds,
    SensitivityResults,
    evalue,
    omitted_variable_bounds,
    rosenbaum_bounds,
)
from .study import AIPWSpec, Study
from .weighting import IPWEstimator

DEPENDENCIES = (
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "numba",
    "pydantic",
    "dowhy",
    "econml",
)


@dataclass(frozen=True)
class DesignSummary:
    """What the design did: propensity model, bounding (by estimand, where scores are inverted)
    and trimming, matching counts."""

    propensity_model: str
    clip: float
    n_bounded_below: int
    n_bounded_above: int
    trim: float | None
    n_trimmed: int
    matching: dict[str, Any] = field(default_factory=dict)
    separated_levels: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class StudyResults:
    """Everything a run produced: the sample flow, the design, the weights, balance, the effects
    and (for simulated data) the true effects of the analysed sample.

    ``frame``, ``treated`` and ``scores`` are the analysed rows after trimming; ``weights`` holds
    the matching (``matched``) and IPW (``weighted``) weights of those rows.
    """

    study: Study
    sample: AnalysisSample
    frame: pd.DataFrame
    treated: np.ndarray
    propensity: PropensityScores
    design: DesignSummary
    weights: dict[str, np.ndarray]
    balance: BalanceTable
    effects: EffectTable
    truth: pd.DataFrame | None
    warnings: tuple[str, ...]
    sensitivity: SensitivityResults | None = None
    not_drawn: tuple[dict[str, str], ...] = ()
    # (figure, the fewest units behind any element it draws), known once the figures are drawn
    figure_units: tuple[tuple[str, int], ...] = ()
    created: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )

    @property
    def min_cell_size(self) -> int:
        return self.study.report.min_cell_size

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
            lines += [f"  {k}: {v:.4f}" for k, v in self.truth_by_outcome().items()]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def truth_by_outcome(self) -> dict[str, float]:
        if self.truth is None:
            return {}
        return dict(zip(self.truth.outcome, self.truth.effect, strict=True))

    def design_dict(self) -> dict[str, Any]:
        return asdict(self.design)

    @property
    def gate(self) -> Gate:
        """The disclosure settings of the study (:mod:`reimpact.disclosure`)."""
        return Gate.of(self.study.report)

    def effect_records(self) -> list[dict]:
        """The effects as ``results.json`` publishes them (through the disclosure gate)."""
        return self.to_dict()["effects"]

    def provenance(self) -> dict[str, Any]:
        """Package and dependency versions, the data and study files' SHA-256, seed and date."""
        versions = {"python": platform.python_version(), "reimpact": __version__}
        for name in DEPENDENCIES:
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                versions[name] = "not installed"
        source = self.study.source
        return {
            "created": self.created,
            "data": self.sample.source.description,
            "data_sha256": self.sample.source.sha256 or "simulated in memory (no file)",
            "study_file": str(source) if source else "(built in Python)",
            "study_sha256": hashlib.sha256(source.read_bytes()).hexdigest() if source else "none",
            "seed": self.study.seed,
            "versions": versions,
        }

    def raw_dict(self) -> dict[str, Any]:
        """The content of ``results.json`` before the disclosure gate: true counts everywhere.
        Never written; :meth:`to_dict` is what may be published."""
        truth = None
        if self.truth is not None:
            truth = [
                {"outcome": r.outcome, "estimand": r.estimand, "effect": r.effect}
                for r in self.truth.itertuples()
            ]
        return {
            "reimpact_version": __version__,
            "created": self.created,
            "study": self.resolved_study(),
            "data": {"source": self.sample.source.description, "sha256": self.sample.source.sha256},
            "sample": self.sample.flow.to_dict(),
            "design": self.design_dict(),
            "balance": {
                "estimand": self.balance.estimand,
                "rows": self.balance.to_records(),
                "effective_n": self.balance.effective_n,
            },
            "effects": [effect.to_dict() for effect in self.effects],
            "sensitivity": None if self.sensitivity is None else self.sensitivity.to_dict(),
            "truth": truth,
            "warnings": list(self.warnings),
            "not_run": self.not_run,
            "figures": {name: {"min_units": units} for name, units in self.figure_units},
            "provenance": self.provenance(),
        }

    def to_dict(self) -> dict[str, Any]:
        """The content of ``results.json``: aggregates only, through the disclosure gate (no
        count under ``report.min_cell_size`` shown or recoverable by subtraction)."""
        return publish(self.raw_dict(), self.gate)

    def figure(self, name: str):
        """One of the report's figures as a matplotlib Figure: ``love``, ``overlap``, ``ecdf``,
        ``forest``, ``gamma``, ``contour`` or ``subgroups`` (None when it does not apply)."""
        from .report import figure

        return figure(self, name)

    @property
    def not_run(self) -> list[dict[str, str]]:
        """The optional checks and figures that could not run, with the reason."""
        sensitivity = self.sensitivity.not_run if self.sensitivity is not None else []
        return [*sensitivity, *self.not_drawn]

    def resolved_study(self) -> dict[str, Any]:
        """The study with every default filled in, as a study file holds it: a section that is
        off is ``false`` (``null`` would turn it back on), and a data file is named by the path
        that was read. ``reimpact run`` on it (or on ``results.json``) reproduces the run."""
        raw = self.study.model_dump(mode="json")
        for name in ("psm", "ipw", "aipw"):
            if raw["methods"][name] is None:
                raw["methods"][name] = False
        if raw["sensitivity"] is not None:
            for name in ("rosenbaum", "omitted_variable", "refutations"):
                if raw["sensitivity"][name] is None:
                    raw["sensitivity"][name] = False
        if raw["data"]["path"] is not None:
            raw["data"]["path"] = str(Path(self.sample.source.description).resolve())
        return raw

    def write(self, out_dir: str | Path) -> Path:
        """Write ``results.json``, ``study.resolved.yaml``, ``figures/`` and ``report.html`` to
        ``out_dir``, first removing what an earlier run wrote there. A figure that cannot be drawn
        is recorded under ``not_run`` and in the warnings; the rest is written. What is published
        passes the disclosure gate and then its audit: a leak found by the audit stops the run
        before anything but the figures is written (and they are removed again)."""
        import yaml

        from .report import draw_figures, prepare_output, write_report

        out = prepare_output(out_dir)
        drawn, failed, units = draw_figures(self, out)
        published = replace(
            self,
            not_drawn=tuple(failed),
            figure_units=tuple(units),
            warnings=(*self.warnings, *(_not_run_warning(f) for f in failed)),
        )
        payload = _clean(published.to_dict())
        findings = audit(payload, self.gate.min_cell_size, self.gate.rounding)
        if findings:
            prepare_output(out)
            raise DisclosureError(
                "report.min_cell_size",
                f"refusing to publish: {findings[0]}"
                + (f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""),
            )
        path = out / "results.json"
        path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
        resolved = yaml.safe_dump(self.resolved_study(), sort_keys=False, allow_unicode=True)
        (out / "study.resolved.yaml").write_text(resolved, encoding="utf-8")
        write_report(published, payload, out, drawn)
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


def naive_effect(
    y: np.ndarray,
    t: np.ndarray,
    outcome: str,
    estimand: str,
    clusters: np.ndarray | None = None,
    cluster_name: str = "cluster",
) -> Effect:
    """Unadjusted difference in means (the reference point) with a Welch standard error, or a
    cluster-robust one (the WLS of Y on (1, T), Liang-Zeger) when ``clusters`` are given."""
    estimate, psi = matched_regression(y, t, np.ones(y.size), "ATE")
    if clusters is None:
        se, se_type = welch_se(y, t), "Welch"
    else:
        se, se_type = sandwich_se(psi, clusters), f"cluster-robust by {cluster_name}"
    return Effect(
        outcome=outcome,
        method="naive",
        estimand=estimand,
        estimate=estimate,
        std_error=se,
        n_treated=int(t.sum()),
        n_control=int((1 - t).sum()),
        se_type=se_type,
        notes=("unadjusted difference in means",),
    )


@dataclass(frozen=True)
class _Design:
    """The design fitted on one set of rows: covariates, score (after trimming), matching and
    weights. A study has one on its analysis sample, and one more for each pattern of missing
    outcomes (an outcome is analysed on the rows where it is observed)."""

    frame: pd.DataFrame
    t: np.ndarray
    covariates: CovariateDesign
    scores: PropensityScores
    given: np.ndarray | None
    n_trimmed: int
    psm: MatchingEstimator | None
    ipw: IPWEstimator | None


@dataclass(frozen=True)
class _Comparison:
    """The units that can be compared and the covariates to compare them on, after the
    ``propensity.separation`` rule; ``levels`` are the separated levels and what was done."""

    frame: pd.DataFrame
    t: np.ndarray
    covariates: list[str]
    categorical: list[str]
    levels: list[dict[str, Any]]


def _comparison(study: Study, sample: AnalysisSample) -> _Comparison:
    """Apply ``propensity.separation`` to the analysis sample.

    A categorical level held by one group only offers no comparison. ``exclude`` leaves its units
    out (repeated until no such level remains, since leaving units out can separate another
    level): for the ATT a level without treated units only sheds controls that resemble no
    treated unit, so the ATT is unchanged, while a level without controls sheds treated units and
    restricts the ATT to the treated outside it (mirrored for the ATC; both restrict the ATE).
    ``merge`` first pools rare levels into "(other)"; ``penalise`` keeps every unit for Firth's
    model; ``error`` refuses. A categorical covariate left with one level is dropped (said)."""
    spec = study.propensity
    frame, t = sample.frame, sample.treatment.astype(np.int8)
    categorical = list(sample.categorical)
    covariates = list(sample.covariate_columns)
    levels: list[dict[str, Any]] = []
    if spec.kind == "column" or spec.separation == "penalise":
        return _Comparison(frame, t, covariates, categorical, levels)
    if spec.separation == "merge":
        frame = frame.copy()
        for column, merged in merge_rare_levels(frame, categorical, spec.merge_below).items():
            levels.append({"column": column, "level": ", ".join(merged), "action": "merged"})
    for _ in range(20):
        found = separated_levels(frame, categorical, t)
        if not found:
            break
        if spec.separation == "error":
            raise separation_error(found[0])
        drop = np.zeros(len(frame), bool)
        for level in found:
            drop |= (frame[level.column].astype(str) == level.level).to_numpy()
            levels.append({**asdict(level), "action": "excluded"})
        frame, t = frame.loc[~drop], t[~drop]
        if min(t.sum(), (1 - t).sum()) < 2:
            raise DesignError(
                "propensity.separation",
                "leaving out the levels held by one group leaves fewer than 2 treated or control "
                "units; merge levels ('separation: merge') or revise the covariates",
            )
    for column in [c for c in categorical if frame[c].astype(str).nunique() < 2]:
        categorical.remove(column)
        covariates.remove(column)
        levels.append({"column": column, "level": "", "action": "dropped: one level left"})
    return _Comparison(frame, t, covariates, categorical, levels)


def _fit_design(
    study: Study, comparison: _Comparison, frame: pd.DataFrame, t: np.ndarray, quiet: bool
) -> _Design:
    """Score, trimming (Crump et al. 2009; the score is refitted on the rows kept), matching and
    weights on ``frame``."""
    names, categorical = comparison.covariates, comparison.categorical
    covariates = covariate_design(frame, names, categorical)
    given = frame[study.propensity.column].to_numpy(dtype=float) if study.propensity.column else None
    p = study.propensity
    firth = p.separation == "penalise"
    scores = estimate_propensity(covariates, t, p.kind, p.clip, given, study.seed, firth)
    n_trimmed = 0
    if p.trim is not None:
        keep = (scores.scores >= p.trim) & (scores.scores <= 1 - p.trim)
        n_trimmed = int((~keep).sum())
        if n_trimmed:
            frame, t = frame.loc[keep], t[keep]
            given = None if given is None else given[keep]
            if min(t.sum(), (1 - t).sum()) < 2:
                raise DesignError(
                    "propensity.trim", "trimming leaves fewer than 2 units in a group; lower it"
                )
            covariates = covariate_design(frame, names, categorical)
            scores = estimate_propensity(covariates, t, p.kind, p.clip, given, study.seed, firth)
    psm = ipw = None
    if study.methods.psm is not None:
        strata = None
        if study.exact:
            strata = frame[study.exact].astype(str).agg("|".join, axis=1).to_numpy()
        psm = MatchingEstimator(**estimator_options(study, "psm"), verbose=not quiet).fit(
            scores.scores, t, strata, covariates.matrix, scores.design, covariates.names
        )
    if study.methods.ipw is not None:
        ipw = IPWEstimator(study.estimand, study.methods.ipw.weights).fit(scores, t)
    return _Design(frame, t, covariates, scores, given, n_trimmed, psm, ipw)


def _effects(study: Study, design: _Design, outcomes: list[str], quiet: bool) -> list[Effect]:
    """Every method of the study on ``outcomes`` with ``design``."""
    frame, t = design.frame, design.t
    clusters = frame[study.cluster].to_numpy() if study.cluster else None
    cluster_name = study.cluster or "cluster"
    y_all = frame[outcomes].to_numpy(dtype=float)
    effects = [
        naive_effect(y_all[:, j], t, name, study.estimand, clusters, cluster_name)
        for j, name in enumerate(outcomes)
    ]
    for estimator in (design.psm, design.ipw):
        if estimator is not None:
            effects += [
                estimator.estimate(y_all[:, j], name, clusters, cluster_name)
                for j, name in enumerate(outcomes)
            ]
    if study.methods.aipw is not None:
        aipw = AIPWEstimator(**estimator_options(study, "aipw"), verbose=not quiet)
        aipw.fit(design.covariates.matrix, t, y_all, design.given)
        effects += [aipw.estimate(j, name, clusters, cluster_name) for j, name in enumerate(outcomes)]
    constant = {name for j, name in enumerate(outcomes) if np.ptp(y_all[:, j]) == 0}
    note = "the outcome is constant in the analysed rows: every method estimates no effect (0)"
    return [replace(e, notes=(*e.notes, note)) if e.outcome in constant else e for e in effects]


def _outcome_groups(study: Study, frame: pd.DataFrame) -> list[tuple[np.ndarray, list[str]]]:
    """The outcomes grouped by the rows where they are observed (the fully observed first)."""
    groups: dict[bytes, tuple[np.ndarray, list[str]]] = {}
    for name in study.outcomes:
        mask = frame[name].notna().to_numpy()
        groups.setdefault(mask.tobytes(), (mask, []))[1].append(name)
    return sorted(groups.values(), key=lambda group: not group[0].all())


def run_study(
    study: Study,
    data_path: str | Path | None = None,
    out_dir: str | Path | None = None,
    quiet: bool = True,
) -> StudyResults:
    """Run every method of the study on every outcome; with ``out_dir``, write ``results.json``,
    the figures and ``report.html`` there. ``quiet=False`` shows progress bars for long steps.

    Rows without an outcome are left out of that outcome's analyses only: the design (score,
    trimming, matching, weights) is fitted once on the analysis sample, and once more on the rows
    of every other pattern of observed outcomes, each such effect noting how many were left out.
    Balance, the design summary and the figures describe the design on the analysis sample."""
    sample = prepare_sample(study, data_path)
    comparison = _comparison(study, sample)
    t_all = comparison.t
    main = _fit_design(study, comparison, comparison.frame, t_all, quiet)
    effects: list[Effect] = []
    parts: list[SensitivityResults] = []
    truths: list[pd.DataFrame] = []
    for mask, names in _outcome_groups(study, comparison.frame):
        design = main
        if not mask.all():
            t = t_all[mask]
            if min(t.sum(), (1 - t).sum()) < 2:
                raise DesignError(
                    f"outcomes: '{names[0]}'",
                    "is observed for fewer than 2 treated or control units; remove it or check the data",
                )
            design = _fit_design(study, comparison, comparison.frame.loc[mask], t, quiet)
        found = _effects(study, design, names, quiet)
        if not mask.all():
            left_out = int((~mask).sum())
            note = (
                f"{left_out} returnees without this outcome were left out of its analyses; the score "
                f"and the design were refitted on the {int(mask.sum())} others"
            )
            found = [replace(e, notes=(*e.notes, note)) for e in found]
        effects += found
        if study.sensitivity is not None:
            table = EffectTable(tuple(found))
            parts.append(_sensitivity(study, design, names, table, quiet))
        truth = _truth(study, sample, design.frame, names)
        if truth is not None:
            truths.append(truth)
    order = {name: j for j, name in enumerate(study.outcomes)}
    methods = ["naive", "psm", "ipw", "aipw"]
    effects.sort(key=lambda e: (methods.index(e.method), order[e.outcome]))
    table = EffectTable(tuple(effects))
    t = main.t
    weights: dict[str, np.ndarray] = {}
    matching_info: dict[str, Any] = {}
    if main.psm is not None:
        psm = main.psm
        weights["matched"] = psm.weights_
        matching_info = {
            "focal_units": int(sum(r.n_focal for r in psm.results_)),
            "matched_focal_units": int(sum(r.n_focal_matched for r in psm.results_)),
            "dropped_by_caliper": psm.dropped_by_caliper_,
            "caliper_width": psm.caliper_width_,
            "matched_treated": int(np.sum((psm.weights_ > 0) & (t == 1))),
            "matched_control": int(np.sum((psm.weights_ > 0) & (t == 0))),
        }
    if main.ipw is not None:
        weights["weighted"] = main.ipw.weights_
    balance = balance_table(
        main.frame,
        comparison.covariates,
        comparison.categorical,
        t,
        weights,
        study.estimand,
        study.report.min_cell_size,
    )
    bounds = main.scores.bounded(t, study.estimand)
    summary = DesignSummary(
        propensity_model=main.scores.kind,
        clip=main.scores.clip,
        n_bounded_below=bounds.n_below,
        n_bounded_above=bounds.n_above,
        trim=study.propensity.trim,
        n_trimmed=main.n_trimmed,
        matching=matching_info,
        separated_levels=comparison.levels,
    )
    sensitivity = SensitivityResults.combine(parts) if study.sensitivity is not None else None
    results = StudyResults(
        study=study,
        sample=sample,
        frame=main.frame,
        treated=t,
        propensity=main.scores,
        design=summary,
        weights=weights,
        balance=balance,
        effects=table,
        truth=pd.concat(truths, ignore_index=True) if truths else None,
        warnings=tuple(_warnings(study, summary, sample, balance, main.scores, t, table, sensitivity)),
        sensitivity=sensitivity,
    )
    if out_dir is not None:
        results.write(out_dir)
    return results


class _Attempts:
    """Runs optional checks so that one that cannot run is recorded, never fatal: a sensitivity
    analysis, refutation, subgroup analysis or figure that fails leaves a "not run" record (check,
    outcome, method, reason) in the results, and the rest of the run goes on."""

    def __init__(self) -> None:
        self.not_run: list[dict[str, str]] = []

    def run(self, check: str, outcome: str, method: str, function, *args):
        try:
            return function(*args)
        except Exception as exc:  # noqa: BLE001 - the boundary of an optional check
            self.not_run.append(
                {"check": check, "outcome": outcome, "method": method, "reason": failure_reason(exc)}
            )
            return None


def _sensitivity(
    study: Study, design: _Design, outcomes: list[str], effects: EffectTable, quiet: bool
) -> SensitivityResults:
    """Run the sensitivity checks the study asks for on ``outcomes`` with ``design``; a check that
    fails is recorded in ``not_run`` (see :class:`_Attempts`)."""
    spec = study.sensitivity
    frame, t, psm = design.frame, design.t, design.psm
    x = design.covariates
    column = {name: frame[name].to_numpy(dtype=float) for name in outcomes}
    attempts = _Attempts()
    evalues = []
    if spec.evalue:
        for e in effects:
            if e.method != "naive":
                args = (e.estimate, e.conf_int(), column[e.outcome], t, e.outcome, e.method, e.estimand)
                evalues.append(attempts.run("evalue", e.outcome, e.method, evalue, *args))
    rosenbaum = []
    if spec.rosenbaum is not None:
        r = spec.rosenbaum
        pairs = psm is not None and psm.ratio == 1 and not psm.replace
        for name in outcomes:
            if pairs:
                differences = psm.differences(column[name])[0]
                args = (differences, name, r.gamma_max, r.step, r.alpha)
                rosenbaum.append(attempts.run("rosenbaum", name, "psm", rosenbaum_bounds, *args))
            else:
                rosenbaum.append(
                    RosenbaumBounds(
                        name,
                        False,
                        "Rosenbaum bounds need 1:1 matched pairs: set methods.psm to "
                        "ratio: 1, replace: false (k:1 and matching with replacement are not covered)",
                    )
                )
    ovb = []
    if spec.omitted_variable is not None:
        o = spec.omitted_variable
        for name in outcomes:
            args = (column[name], t.astype(float), x.matrix, x.names, name, o.benchmarks, tuple(o.kd))
            ovb.append(
                attempts.run(
                    "omitted_variable", name, "ols", omitted_variable_bounds, *args, None, o.q, o.alpha
                )
            )
    refutations = []
    if spec.refutations is not None:
        from .refutation import refute

        r = spec.refutations
        for method in r.methods:
            options = estimator_options(study, method)
            for name in [o for o in r.outcomes or list(study.outcomes)[:1] if o in outcomes]:
                effect = effects.get(name, method)
                strengths = (r.treatment_strength, r.outcome_strength)
                args = (x.matrix, t, column[name], name, method, options, effect.estimate,
                        effect.std_error, r.simulations, r.n_jobs, study.seed, strengths,
                        r.subset_fraction, not quiet)  # fmt: skip
                refutations += attempts.run("refutations", name, method, refute, *args) or []
    subgroups = cate = None
    if spec.heterogeneity is not None:
        from .heterogeneity import cate_by_level, subgroup_effects

        h = spec.heterogeneity
        aipw = estimator_options(study, "aipw")
        y_all = frame[outcomes].to_numpy(dtype=float)
        args = (frame, x.matrix, t, y_all, outcomes, h.by, aipw, study.report.min_cell_size)
        subgroups = attempts.run("subgroups", ", ".join(outcomes), "aipw", subgroup_effects, *args)
        if h.cate:
            tables = [
                attempts.run(
                    "cate", name, "econml", cate_by_level, frame, x.matrix, t, column[name], name,
                    h.by, aipw["folds"], study.seed, study.report.min_cell_size,
                )
                for name in outcomes
            ]  # fmt: skip
            found = [table for table in tables if table is not None]
            cate = pd.concat(found, ignore_index=True) if found else None
    return SensitivityResults(
        [e for e in evalues if e is not None],
        [r for r in rosenbaum if r is not None],
        [o for o in ovb if o is not None],
        refutations,
        subgroups,
        cate,
        attempts.not_run,
    )


def estimator_options(study: Study, method: str) -> dict[str, Any]:
    """The study's settings of ``method`` (``psm`` or ``aipw``) as estimator keyword arguments:
    the one place where study-file keys meet estimator parameters (the study's AIPW settings, or
    the defaults when the study runs no AIPW but needs it for subgroups)."""
    if method == "aipw":
        a = study.methods.aipw or AIPWSpec()
        learner = a.propensity_learner or study.propensity.model or "logistic"
        if learner == "logistic" and study.propensity.separation == "penalise":
            learner = "firth"
        return {
            "estimand": study.estimand,
            "folds": a.folds,
            "outcome_learner": a.outcome_learner,
            "propensity_learner": learner,
            "clip": study.propensity.clip,
            "random_state": study.seed,
        }
    p = study.methods.psm
    return {"estimand": study.estimand, "random_state": study.seed, **p.model_dump()}


def _truth(
    study: Study, sample: AnalysisSample, frame: pd.DataFrame, outcomes: list[str]
) -> pd.DataFrame | None:
    """For simulated data, the true effects of ``outcomes`` over the analysed rows ``frame`` for
    the study's estimand."""
    cohort = sample.source.cohort
    if cohort is None or study.treatment.label not in {c[0] for c in cohort.individual_effects}:
        return None
    table = cohort.truth_for(frame.index)
    return table[
        (table.treatment == study.treatment.label)
        & (table.outcome.isin(outcomes))
        & (table.estimand == study.estimand)
    ].reset_index(drop=True)


def _warnings(
    study: Study,
    design: DesignSummary,
    sample: AnalysisSample,
    balance: BalanceTable,
    scores: PropensityScores,
    t: np.ndarray,
    effects: EffectTable,
    sensitivity: SensitivityResults | None = None,
) -> list[str]:
    """Plain-words warnings; every count of returnees passes through small-cell suppression."""
    gate = Gate.of(study.report)

    def n(value: int) -> str:
        return str(gate.count(int(value)))

    out = []
    flow = sample.flow
    dropped = flow.dropped_missing.get("total", 0)
    if dropped > 0.1 * (flow.analysed + dropped):
        out.append(
            f"{n(dropped)} rows (over 10%) were dropped for missing values; the analysed sample "
            "may differ from the population. Consider 'missing: impute'."
        )
    invalid = flow.dropped_invalid.get("total", 0)
    if invalid:
        out.append(
            f"{n(invalid)} rows were dropped for infinite or absurdly large values "
            "('invalid_values: drop'); check how the data were exported."
        )
    poor = poor_overlap(scores.scores, t, study.estimand)
    if poor is not None:
        outside, extreme = poor
        side = {"ATT": "above 0.95", "ATC": "below 0.05"}.get(study.estimand, "below 0.05 or above 0.95")
        out.append(
            f"Poor overlap for the {study.estimand}: {n(outside)} returnees have propensity scores "
            f"outside the other group's range and {n(extreme)} have scores {side}. Estimates there "
            "rest on extrapolation or on a few heavily weighted units; consider 'propensity.trim' "
            "or restricting the population."
        )
    out += [_level_warning(level, study.estimand, n) for level in design.separated_levels]
    out += [_not_run_warning(record) for record in (sensitivity.not_run if sensitivity else [])]
    for effect in effects:
        out += [f"{effect.method} on {effect.outcome}: {w}" for w in effect.warnings]
    matching = design.matching
    if matching and matching["dropped_by_caliper"] > 0.1 * matching["focal_units"]:
        out.append(
            f"{n(matching['dropped_by_caliper'])} of {n(matching['focal_units'])} focal units (over "
            "10%) found no match within the caliper: the matching estimate describes the matched "
            "units only."
        )
    if balance.imbalanced:
        out.append(
            "Remaining imbalance after adjustment (|SMD| >= 0.1): "
            + ", ".join(balance.imbalanced)
            + ". Consider adding interactions or squares of these covariates to the model."
        )
    if design.n_trimmed:
        out.append(f"{n(design.n_trimmed)} returnees were trimmed for extreme propensity scores.")
    for r in sensitivity.refutations if sensitivity else []:
        if not r.passed:
            out.append(
                f"The {r.refuter.replace('_', ' ')} refutation of {r.method} on {r.outcome} failed "
                f"(rule: {r.rule}): original {r.original:.4g}, refuted {r.refuted:.4g}."
            )
    return out


def _level_warning(level: dict[str, Any], estimand: str, n) -> str:
    """What the separation rule did to one level, and what that does to the estimand."""
    column = level["column"]
    if level["action"] == "merged":
        return f"Rare levels of {column} ({level['level']}) were merged into '(other)'."
    if level["action"] != "excluded":
        return f"{column} has one level left among the comparable units and was left out of the model."
    group, other = ("treated", "control") if level["group"] == "treated" else ("control", "treated")
    focal = {"ATT": "treated", "ATC": "control"}.get(estimand)
    if focal is not None and group != focal:
        effect = f"no {focal} returnee has it, so the {estimand} is unchanged"
    else:
        who = {"ATT": "treated returnees", "ATC": "control returnees"}.get(estimand, "returnees")
        effect = f"the estimate is now the {estimand} of the {who} outside this level"
    return (
        f"{column}={level['level']} is held by {group} returnees only: its {n(level['units'])} "
        f"{group} returnees were left out (no {other} returnee to compare them with); {effect}."
    )


def _not_run_warning(record: dict[str, str]) -> str:
    """The warning for a check or figure that could not run."""
    where = record["method"]
    if record["outcome"]:
        where = f"{where} on {record['outcome']}".strip()
    what = f"the {record['check']} check" + (f" of {where}" if where else "")
    return f"Not run: {what} could not run ({record['reason']})."
