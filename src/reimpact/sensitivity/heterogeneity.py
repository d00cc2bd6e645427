"""Effects within subgroups: cross-fitted AIPW in every level of the chosen columns (with
Holm-adjusted p-values across outcomes and subgroups), and EconML's ``LinearDRLearner`` CATE
summaries by level.

A subgroup with fewer than ``min_cell_size`` treated or control returnees is suppressed; one whose
model cannot be fitted (e.g. perfect separation inside the subgroup) is reported as not estimable
with the reason.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from ..estimators import AIPWEstimator
from ..exceptions import DesignError
from .multiplicity import holm

COLUMNS = [
    "by",
    "level",
    "outcome",
    "estimate",
    "std_error",
    "ci_lower",
    "ci_upper",
    "p_value",
    "p_holm",
    "n_treated",
    "n_control",
    "status",
]


def _subgroups(frame: pd.DataFrame, by: list[str], t: np.ndarray, min_cell_size: int):
    """Every level of every ``by`` column: (column, level, rows, n_treated, n_control, too_small)."""
    for column in by:
        levels = frame[column].astype(str).to_numpy()
        for level in sorted(set(levels)):
            inside = levels == level
            n1, n0 = int(t[inside].sum()), int((1 - t[inside]).sum())
            yield column, level, inside, n1, n0, min(n1, n0) < min_cell_size


def _varying(x: np.ndarray) -> np.ndarray:
    """Drop design columns that are constant within a subgroup (e.g. the grouping column)."""
    return x[:, x.std(axis=0) > 0]


def subgroup_effects(
    frame: pd.DataFrame,
    x: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    outcomes: list[str],
    by: list[str],
    aipw_options: dict,
    min_cell_size: int = 10,
) -> pd.DataFrame:
    """AIPW effect of every outcome in every level of every ``by`` column (tidy frame);
    ``aipw_options`` are :class:`~reimpact.estimators.AIPWEstimator`'s parameters. Within a
    subgroup a covariate level often belongs to one group only, so a logistic score is fitted by
    Firth's penalised likelihood there, which stays finite under separation."""
    if AIPWEstimator(**aipw_options).score_learner == "logistic":
        aipw_options = {**aipw_options, "propensity_learner": None, "propensity_model": "firth"}
    rows = []
    for column, level, inside, n1, n0, small in _subgroups(frame, by, t, min_cell_size):
        base = {"by": column, "level": level, "n_treated": n1, "n_control": n0}
        if small:
            rows += [{**base, "outcome": o, "status": "suppressed"} for o in outcomes]
            continue
        try:
            aipw = AIPWEstimator(**aipw_options).nuisances(_varying(x[inside]), t[inside], y[inside])
        except (DesignError, np.linalg.LinAlgError) as exc:
            reason = exc.message if isinstance(exc, DesignError) else "singular model"
            rows += [{**base, "outcome": o, "status": f"not estimable: {reason}"} for o in outcomes]
            continue
        for j, outcome in enumerate(outcomes):
            effect = aipw.estimate(j, outcome)
            rows.append(
                {
                    **base,
                    "outcome": outcome,
                    "estimate": effect.estimate,
                    "std_error": effect.std_error,
                    "ci_lower": effect.ci_lower,
                    "ci_upper": effect.ci_upper,
                    "p_value": effect.p_value,
                    "status": "estimated",
                }
            )
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    table["p_holm"] = holm(table["p_value"].to_numpy(dtype=float))
    return table


def _linear_dr_learner() -> type:
    """EconML's ``LinearDRLearner`` class, imported without importing Ray unless Ray is already
    imported.

    EconML tries ``import ray`` when it is imported, for its optional Ray cross-fitting
    (``use_ray``), which reimpact never uses; with Ray installed (the dev extra) that import
    takes seconds. A ``None`` entry in ``sys.modules`` makes the attempt fail at once, and EconML
    keeps a placeholder that would raise only if its Ray option were used. When Ray is already
    imported (``run-many --backend ray``) EconML is imported as usual, with it; the entry is
    removed afterwards, so that a later ``import ray`` works.
    """
    if "ray" in sys.modules or "econml.dr" in sys.modules:
        from econml.dr import LinearDRLearner

        return LinearDRLearner
    sys.modules["ray"] = None  # type: ignore[assignment]
    try:
        from econml.dr import LinearDRLearner
    finally:
        del sys.modules["ray"]
    return LinearDRLearner


def cate_by_level(
    frame: pd.DataFrame,
    x: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    outcome: str,
    by: list[str],
    folds: int = 5,
    random_state: int = 0,
    min_cell_size: int = 10,
) -> pd.DataFrame:
    """Conditional effects from EconML's ``LinearDRLearner`` with the ``by`` columns' levels as
    effect modifiers (X, one-hot) and the covariates as controls (W): the mean CATE of each level
    with its 95% interval. Levels with fewer than ``min_cell_size`` treated or control returnees
    are suppressed."""
    from sklearn.linear_model import LinearRegression, LogisticRegression

    LinearDRLearner = _linear_dr_learner()
    modifiers = pd.get_dummies(frame[by].astype(str), drop_first=True).to_numpy(dtype=float)
    learner = LinearDRLearner(
        model_propensity=LogisticRegression(C=1e6, solver="newton-cholesky", max_iter=200),
        model_regression=LinearRegression(),
        cv=folds,
        random_state=random_state,
    )
    learner.fit(y, t, X=modifiers, W=x)
    rows = []
    for column, level, inside, _, _, small in _subgroups(frame, by, t, min_cell_size):
        row = {"by": column, "level": level, "outcome": outcome}
        if small:
            rows.append({**row, "status": "suppressed"})
            continue
        summary = learner.effect_inference(modifiers[inside]).population_summary(alpha=0.05)
        low, high = summary.conf_int_mean()
        rows.append(
            {
                **row,
                "cate": float(summary.mean_point),
                "ci_lower": float(low),
                "ci_upper": float(high),
                "status": "estimated",
            }
        )
    return pd.DataFrame(rows).reindex(
        columns=["by", "level", "outcome", "cate", "ci_lower", "ci_upper", "status"]
    )
