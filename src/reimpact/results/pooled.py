"""Results of ``m`` imputed data sets made one (the "within" approach of Leyrat et al. 2019, as R's
MatchThem does): effects pooled by Rubin's rules, balance and design counts averaged.

No count of a single imputation is published. A count that varies across imputations (matched
units, dropped units, bounded or trimmed scores, an effect's units) is published as its mean over
the imputations, rounded to a unit, computed the same way wherever it appears so that the
identities between published counts still hold (focal = matched + dropped, an effect's units =
the matched units); the disclosure gate then treats it as any other count. Notes and warnings
whose text (counts included) is not the same in every imputation are not published one by one:
a single sentence says that they differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..diagnostics.balance import SMD_THRESHOLD, STATISTICS, VARIANCE_RATIO_BOUNDS, BalanceTable
from ..stats.rubin import pool
from .effects import Effect
from .study import DesignSummary

if TYPE_CHECKING:
    from ..design.propensity import PropensityScores


def _mean_count(values: Sequence[float]) -> int:
    return int(round(float(np.mean(values))))


def _shared(texts: Sequence[tuple[str, ...]], what: str) -> tuple[str, ...]:
    """The texts every imputation gave, in the first one's order, and one sentence for the rest."""
    common = [text for text in texts[0] if all(text in other for other in texts[1:])]
    if any(set(other) - set(common) for other in texts):
        common.append(f"{what} that differ between the imputations (their counts vary) are not shown")
    return tuple(common)


def pool_effects(runs: Sequence[Sequence[Effect]]) -> list[Effect]:
    """One effect per outcome x method from the effects of every imputed data set: estimate and
    standard error by Rubin's rules (:func:`reimpact.stats.rubin.pool`, large-sample complete-data
    degrees of freedom), units as the rounded mean over imputations."""
    m = len(runs)
    pooled = []
    for j, first in enumerate(runs[0]):
        same = [run[j] for run in runs]
        if any((e.outcome, e.method) != (first.outcome, first.method) for e in same):
            raise ValueError("the imputed data sets gave effects in different orders")
        rubin = pool([e.estimate for e in same], [e.std_error for e in same])
        interval = (
            f"t interval with {rubin.df:.1f} degrees of freedom"
            if np.isfinite(rubin.df)
            else "normal interval (the same estimate in every imputation)"
        )
        note = (
            f"pooled over m = {m} imputed data sets by Rubin's rules (within approach); "
            f"{interval}; fraction of missing information {rubin.fmi:.3f}"
        )
        pooled.append(
            replace(
                first,
                estimate=rubin.estimate,
                std_error=rubin.std_error,
                n_treated=_mean_count([e.n_treated for e in same]),
                n_control=_mean_count([e.n_control for e in same]),
                notes=(*_shared([e.notes for e in same], "notes"), note),
                warnings=_shared([e.warnings for e in same], "warnings"),
                m=m,
                df=rubin.df,
                fmi=rubin.fmi,
            )
        )
    return pooled


def _pool_matching(matchings: Sequence[dict[str, Any]]) -> dict[str, Any]:
    if not matchings[0]:
        return {}
    counts = [k for k in matchings[0] if k != "caliper_width"]
    out: dict[str, Any] = {k: _mean_count([d[k] for d in matchings]) for k in counts}
    # derived from the rounded means so that focal = matched + dropped holds as published
    out["dropped_by_caliper"] = out["focal_units"] - out["matched_focal_units"]
    widths = [d["caliper_width"] for d in matchings if d.get("caliper_width") is not None]
    out["caliper_width"] = float(np.mean(widths)) if widths else None
    return out


def pool_design(summaries: Sequence[DesignSummary]) -> DesignSummary:
    """The design summaries of the imputed data sets as one: counts as rounded means; a
    separated level with its units averaged over the imputations that found it."""
    levels: dict[tuple, list[dict[str, Any]]] = {}
    for summary in summaries:
        for level in summary.separated_levels:
            key = (level["column"], str(level["level"]), level["group"], level["action"])
            levels.setdefault(key, []).append(level)
    first = summaries[0]
    return replace(
        first,
        n_bounded_below=_mean_count([s.n_bounded_below for s in summaries]),
        n_bounded_above=_mean_count([s.n_bounded_above for s in summaries]),
        n_trimmed=_mean_count([s.n_trimmed for s in summaries]),
        matching=_pool_matching([s.matching for s in summaries]),
        separated_levels=[
            found[0] | {"units": _mean_count([lv["units"] for lv in found])} for found in levels.values()
        ],
    )


def average_balance(tables: Sequence[BalanceTable]) -> BalanceTable:
    """Balance averaged over the imputed data sets (as cobalt does for ``mimids`` objects): each
    statistic is the mean over imputations, the flags are recomputed on the means, a row is
    suppressed when it is in any imputation, and effective sample sizes are means."""
    keys = ["covariate", "source", "type", "term", "sample"]
    stacked = pd.concat([t.frame for t in tables], ignore_index=True)
    grouped = stacked.groupby(keys, sort=False)
    frame = grouped[list(STATISTICS)].mean().join(grouped["suppressed"].any()).reset_index()
    low, high = VARIANCE_RATIO_BOUNDS
    ratio = frame["variance_ratio"]
    frame["smd_flag"] = frame["smd"].abs() >= SMD_THRESHOLD
    frame["variance_flag"] = np.isfinite(ratio) & ~ratio.between(low, high)
    frame = frame[list(tables[0].frame.columns)]
    effective = {
        sample: {
            group: float(np.mean([t.effective_n[sample][group] for t in tables])) for group in groups
        }
        for sample, groups in tables[0].effective_n.items()
    }
    return BalanceTable(frame, tables[0].estimand, effective, tables[0].min_cell_size)


def average_rows(values: Sequence[np.ndarray], rows: Sequence[pd.Index], keep: pd.Index) -> np.ndarray:
    """Each unit's value (a propensity score, a weight) averaged over the imputed data sets, on
    the rows ``keep`` that every imputation analysed (for the figures and the overlap warning)."""
    series = [
        pd.Series(v, index=r).loc[keep].to_numpy(dtype=float) for v, r in zip(values, rows, strict=True)
    ]
    return np.mean(series, axis=0)


def average_scores(
    scores: Sequence[PropensityScores], rows: Sequence[pd.Index], keep: pd.Index
) -> PropensityScores:
    """The propensity scores averaged over the imputed data sets on the rows ``keep``
    (:func:`average_rows`), as a score of the same kind (without a design matrix)."""
    return replace(scores[0], scores=average_rows([s.scores for s in scores], rows, keep), design=None)
