"""The analysis of long data (``panel: {id, round, ...}``): effects by survey round and, with
``design: did``, doubly robust difference-in-differences against the pre-assistance round.

* The rows are checked (one row per unit and round, a treatment constant within a unit) and every
  row gets the covariates of its unit's first round surveyed (:func:`panel_sample`); the sample
  flow counts units and rows per round (``SampleFlow.rounds``).
* Every method of the study runs in each round after the baseline (one row per unit there), with
  the round as the effect's ``contrast`` (``round 2``): the effect path of the cross-sectional
  methods.
* ``design: did`` adds, for every round r other than ``panel.baseline`` b, the DR-DiD estimate of
  Sant'Anna & Zhao (2020) (:mod:`reimpact.estimators.did`), method ``drdid``: for ``sampling:
  panel`` on the change Y_r - Y_b of the units surveyed in both rounds, for ``sampling: repeated``
  on the rows of both rounds with every unit one cluster. Rounds before b are pre-trend (placebo)
  estimates, which should be near zero. A Wald test of whether the effect changes over the rounds
  after b uses the units' influence terms (so the covariance of two rounds' estimates, which share
  units, is counted): W = (A tau)' (A V A')^-1 (A tau), with A the differences from the first of
  those rounds and V_rs = G / (G - 1) sum_units psi_ir psi_is; chi-squared with R - 1 degrees of
  freedom. Its result is in the notes of every ``drdid`` effect of the outcome.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from .design import comparison
from .estimators.did import drdid_panel, drdid_rc
from .exceptions import DataError, DesignError
from .pipeline import analyse
from .results import Effect

if TYPE_CHECKING:
    from .config.panel import PanelSpec
    from .config.study import Study
    from .sample import AnalysisSample


def panel_sample(study: Study, sample: AnalysisSample) -> AnalysisSample:
    """The long sample checked (every row's covariates already come from its unit's first round
    surveyed, unless ``panel.covariates_from: each``: :mod:`reimpact.sample.rounds`), with the
    units and rows per round in ``flow.rounds``."""
    panel: PanelSpec = study.panel  # type: ignore[assignment]
    frame = sample.frame
    for column in panel.columns:
        if column not in frame.columns:
            raise DataError(f"panel: column '{column}'", "is not in the data; check the spelling")
        if frame[column].isna().any():
            raise DataError(f"panel: column '{column}'", "has missing values; every row needs one")
    if not pd.api.types.is_numeric_dtype(frame[panel.round]):
        raise DataError(f"panel.round: column '{panel.round}'", "must hold round numbers (0, 1, 2...)")
    if frame.duplicated([panel.id, panel.round]).any():
        raise DataError(
            f"panel: columns '{panel.id}', '{panel.round}'",
            "a unit has two rows in one round; keep one row per unit and round",
        )
    t = pd.Series(sample.treatment, index=frame.index)
    if (t.groupby(frame[panel.id]).nunique() > 1).any():
        raise DataError(
            f"treatment: column '{study.treatment.label}'",
            f"changes between the rounds of a unit ('{panel.id}'); give a unit one group in all rounds",
        )
    if panel.baseline is not None and not (frame[panel.round] == panel.baseline).any():
        raise DataError("panel.baseline", f"round {panel.baseline} is not in the data")
    rounds = {}
    for value, rows in frame.groupby(panel.round, sort=True):
        treated = int(t.loc[rows.index].sum())
        rounds[f"{value:g}"] = {
            "rows": len(rows), "units": int(rows[panel.id].nunique()),
            "treated": treated, "control": len(rows) - treated,
        }  # fmt: skip
    return replace(sample, frame=frame, flow=replace(sample.flow, rounds=rounds))


def path_groups(panel: PanelSpec, frame: pd.DataFrame, later: list) -> list[tuple[str, np.ndarray]]:
    """The rows of every step of the cross-sectional effect path: each round of ``later``
    (``round 2``), or with ``panel.bands`` each band of ``panel.time`` within those rounds
    (``months_since_return 6 to 12``: 6 <= time < 12)."""
    rounds = frame[panel.round].to_numpy()
    if panel.bands is None:
        return [(f"round {r:g}", rounds == r) for r in later]
    time = pd.to_numeric(frame[panel.time], errors="coerce").to_numpy()
    kept = np.isin(rounds, later)
    edges = panel.bands
    return [
        (f"{panel.time} {low:g} to {high:g}", kept & (time >= low) & (time < high))
        for low, high in zip(edges[:-1], edges[1:], strict=True)
    ]


def band_rounds(panel: PanelSpec, frame: pd.DataFrame, later: list) -> dict[str, dict[str, list]]:
    """For ``panel.bands``, every band's rounds: ``whole`` (every row of the round lies in the
    band) and ``part`` (some do). The disclosure gate subtracts along them: a band's count less
    the counts of its whole rounds is the rows of the rounds in part, withheld when small."""
    rounds = frame[panel.round].to_numpy()
    out = {}
    for label, rows in path_groups(panel, frame, later) if panel.bands else []:
        inside = {f"{r:g}": bool(rows[rounds == r].all()) for r in later if rows[rounds == r].any()}
        out[label] = {
            "whole": [r for r, whole in inside.items() if whole],
            "part": [r for r, whole in inside.items() if not whole],
        }
    return out


def _round_sample(sample: AnalysisSample, rows: np.ndarray) -> AnalysisSample:
    return replace(sample, frame=sample.frame.loc[rows], treatment=sample.treatment[rows])


def change_test(psi: dict[float, pd.Series], estimates: dict[float, float]) -> str | None:
    """The Wald test of equal effects in the rounds of ``psi`` (unit-indexed influence terms of each
    round's estimate), as one note; None with fewer than two rounds."""
    if len(psi) < 2:
        return None
    table = pd.DataFrame(psi).fillna(0.0)
    g = len(table)
    cov = g / (g - 1.0) * table.T.to_numpy() @ table.to_numpy()
    tau = np.array([estimates[r] for r in psi])  # the columns of table, in order
    contrast = np.eye(tau.size)[1:] - np.eye(tau.size)[0]
    diff = contrast @ tau
    wald = float(diff @ np.linalg.pinv(contrast @ cov @ contrast.T) @ diff)
    dof = tau.size - 1
    return (
        f"equal effect in every round after the baseline: Wald chi2({dof}) = {wald:.2f}, "
        f"p = {stats.chi2.sf(wald, dof):.3g}"
    )


def _did_fit(study: Study, x: pd.DataFrame, before: pd.DataFrame, later: pd.DataFrame, outcome: str):
    """The DR-DiD of ``outcome`` between the rows ``before`` (baseline) and ``later`` (another
    round), with ``x`` the units' covariate design (indexed by unit): the fit, the rows of the later
    round it used and, for panel sampling, the unit ids of its influence terms."""
    panel: PanelSpec = study.panel  # type: ignore[assignment]
    label, cluster_column = study.treatment.label, study.cluster or panel.id
    before = before[before[outcome].notna() & before[panel.id].isin(x.index)]
    later = later[later[outcome].notna() & later[panel.id].isin(x.index)]
    if panel.sampling == "panel":
        later = later[later[panel.id].isin(before[panel.id])]
        ids = later[panel.id]
        start = before.set_index(panel.id)[outcome].loc[ids].to_numpy(float)
        fit = drdid_panel(
            later[outcome].to_numpy(float) - start,
            later[label].to_numpy(float),
            x.loc[ids].to_numpy(),
            sample_weight=None if study.weights is None else later[study.weights].to_numpy(float),
            cluster=later[study.cluster].to_numpy() if study.cluster else None,
            method=panel.did_method,
        )
        return fit, later, ids.to_numpy()
    both = pd.concat([before, later])
    fit = drdid_rc(
        both[outcome].to_numpy(float),
        np.r_[np.zeros(len(before)), np.ones(len(later))],
        both[label].to_numpy(float),
        x.loc[both[panel.id]].to_numpy(),
        sample_weight=None if study.weights is None else both[study.weights].to_numpy(float),
        cluster=both[cluster_column].to_numpy(),
    )
    return fit, later, None


def did_effects(study: Study, sample: AnalysisSample) -> tuple[list[Effect], list[pd.DataFrame]]:
    """The DR-DiD effect of every round against the baseline on every outcome (the round as the
    effect's ``contrast``), and their truths on simulated data."""
    panel: PanelSpec = study.panel  # type: ignore[assignment]
    frame = sample.frame.assign(**{study.treatment.label: sample.treatment})
    rounds = frame[panel.round].to_numpy()
    base = rounds == panel.baseline
    first = ~frame[panel.id].duplicated().to_numpy()  # one row per unit: its covariates and group
    units = frame.loc[first].set_index(panel.id, drop=False)
    compared = comparison(study, replace(sample, frame=units, treatment=sample.treatment[first]))
    x = pd.DataFrame(compared.design(compared.frame).matrix, index=compared.frame.index)
    cohort = sample.source.cohort
    known = (
        cohort is not None
        and study.treatment.label in cohort.individual_effects.columns.get_level_values(0)
    )
    se_type = f"influence function, cluster-robust by {study.cluster or panel.id}"
    effects, truths = [], []
    for outcome in study.outcomes:
        found, psi, estimates = [], {}, {}
        for r in sorted(set(rounds) - {panel.baseline}):
            fit, rows, ids = _did_fit(study, x, frame.loc[base], frame.loc[rounds == r], outcome)
            label = f"round {r:g}"
            notes = [f"DR-DiD ({panel.did_method}) of round {r:g} against round {panel.baseline:g}"]
            if r < panel.baseline:
                notes.append("a pre-trend (placebo) estimate: before the assistance it should be near 0")
            elif ids is not None and not study.cluster:
                psi[r], estimates[r] = pd.Series(fit.influence, index=ids), fit.att
            if fit.n_trimmed:
                notes.append(f"{fit.n_trimmed} controls with a score of 0.995 or more got no weight")
            found.append(
                Effect(
                    outcome,
                    "drdid",
                    "ATT",
                    fit.att,
                    fit.std_error,
                    fit.n_treated,
                    fit.n_control,
                    se_type,
                    tuple(notes),
                    contrast=label,
                )  # fmt: skip
            )
            if known:
                truth = cohort.truth_for(rows.index)  # type: ignore[union-attr]
                keep = (truth.outcome == outcome) & (truth.estimand == "ATT")
                keep &= truth.treatment == study.treatment.label
                truths.append(truth[keep].assign(contrast=label))
        note = change_test(psi, estimates)
        effects += [replace(e, notes=(*e.notes, note)) if note else e for e in found]
    return effects, truths


def analyse_panel(study: Study, sample: AnalysisSample, quiet: bool) -> tuple[tuple, AnalysisSample]:
    """Every method of the study in each round after the baseline (every round without one), the
    DR-DiD effects with ``design: did``, in the order of ``pipeline._Analysis``; the frame, score,
    weights, balance and design summary are those of the first round analysed. Also the sample with
    its per-round flow."""
    panel: PanelSpec = study.panel  # type: ignore[assignment]
    sample = panel_sample(study, sample)
    rounds = sample.frame[panel.round].to_numpy()
    later = [r for r in sorted(set(rounds)) if panel.baseline is None or r > panel.baseline]
    if not later:
        raise DesignError("panel.baseline", "no round follows the baseline round; check 'baseline'")
    inner = study.model_copy(update={"panel": None, "design": "cross-section", "sensitivity": None})
    runs, effects, truths = [], [], []
    for label, rows in path_groups(panel, sample.frame, later):
        repeated = bool(sample.frame.loc[rows, panel.id].duplicated().any())
        # a unit surveyed twice in a band is one cluster (the study's own cluster otherwise)
        group = inner.model_copy(update={"cluster": study.cluster or panel.id}) if repeated else inner
        run = analyse(group, _round_sample(sample, rows), quiet)
        notes: tuple[str, ...] = ()
        if panel.time is not None:  # when the group was surveyed, as a mean (no one's own value)
            mean = pd.to_numeric(run.frame[panel.time], errors="coerce").mean()
            notes = (f"{label}: {panel.time} {mean:.1f} on average",)
        effects += [replace(e, contrast=label, notes=(*e.notes, *notes)) for e in run.effects]
        truths += [t.assign(contrast=label) for t in run.truths]
        runs.append(run)
    if study.design == "did":
        found, known = did_effects(study, sample)
        seen = {(o, c) for t in truths for o, c in zip(t.outcome, t.contrast, strict=True)}
        truths += [t for t in known if (t.outcome.iloc[0], t.contrast.iloc[0]) not in seen]
        effects += found
    first = runs[0]
    design = replace(first.design, bands=band_rounds(panel, sample.frame, later))
    analysis = (
        first.frame, first.t, first.scores, design, first.weights, first.balance, effects,
        None, truths,
    )  # fmt: skip
    return analysis, sample
