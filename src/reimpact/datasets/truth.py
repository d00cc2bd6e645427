"""The simulated cohort as :func:`~reimpact.datasets.simulate_returnees` returns it: the observed
data with the exact effects of every treatment, assistance type and number of activities."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .assistance import ASSISTANCE_TYPES, contrast_truth, level_means


def _outcomes(potential: dict[str, dict[str, np.ndarray]]) -> tuple[str, ...]:
    """The outcomes of a table of potential outcomes (``potential[level][outcome]``)."""
    return tuple(next(iter(potential.values()), {}))


@dataclass(frozen=True)
class SimulatedCohort:
    """A simulated cohort: the observed ``data`` and the exact ``truth``.

    ``truth`` has columns ``treatment, outcome, estimand, effect`` (ATT, ATE, ATC of every treatment
    on every outcome). ``individual_effects`` holds Y_i(1) - Y_i(0) for every returnee (columns
    ``(treatment, outcome)``), so the truth of any sub-population is :meth:`truth_for`.
    ``potential_types`` holds every returnee's potential outcomes under each assistance type
    (``potential_types[type][outcome]``, :mod:`reimpact.datasets.assistance`), whose contrasts
    :meth:`contrast_truth` gives.
    """

    data: pd.DataFrame
    truth: pd.DataFrame
    individual_effects: pd.DataFrame
    seed: int
    potential_types: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    potential_doses: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def contrast_truth(
        self,
        index: pd.Index | None = None,
        weights: np.ndarray | None = None,
        types: tuple[str, ...] = ASSISTANCE_TYPES,
    ) -> pd.DataFrame:
        """The exact ATE of every contrast of assistance ``types`` (the reference first) on every
        outcome over the returnees in ``index`` (default: all), weighted by ``weights`` when
        given; columns ``treatment, contrast, outcome, estimand, effect``."""
        rows = None if index is None else pd.Index(self.data.index.get_indexer(index))
        potential = self.potential_types
        return contrast_truth(potential, _outcomes(potential), rows, weights, types)

    def dose_truth(
        self,
        index: pd.Index | None = None,
        weights: np.ndarray | None = None,
        doses: tuple[str, ...] = ("1", "2", "3"),
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The exact dose-response of the number of activities (``n_activities``) over the
        returnees in ``index`` (default: all): the contrasts of ``doses`` (the reference first;
        columns as :meth:`contrast_truth`) and the curve E[Y(d)] (columns ``treatment, dose,
        outcome, mean``); see :func:`~reimpact.datasets.assistance.dose_potential`."""
        rows = None if index is None else pd.Index(self.data.index.get_indexer(index))
        potential, outcomes = self.potential_doses, _outcomes(self.potential_doses)
        contrasts = contrast_truth(potential, outcomes, rows, weights, doses, "n_activities")
        return contrasts, level_means(potential, outcomes, rows, weights, "n_activities")

    def restricted(self, index: pd.Index) -> SimulatedCohort:
        """The cohort cut to the returnees in ``index``: :meth:`truth_for`, :meth:`contrast_truth`
        and :meth:`dose_truth` give the same truths of any group of them, from a fraction of the
        arrays, and cover them only (their default is now these returnees); ``truth`` stays the
        whole cohort's."""
        keep = self.data.index.isin(index)

        def rows(potential: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, np.ndarray]]:
            return {level: {k: v[keep] for k, v in by.items()} for level, by in potential.items()}

        effects = self.individual_effects
        return replace(
            self,
            data=self.data.loc[keep],
            individual_effects=effects.loc[effects.index.isin(index)],
            potential_types=rows(self.potential_types),
            potential_doses=rows(self.potential_doses),
        )

    def truth_for(
        self, index: pd.Index | None = None, weights: np.ndarray | None = None
    ) -> pd.DataFrame:
        """The exact ATT, ATE and ATC over the returnees in ``index`` (default: all); with
        ``weights`` (sampling weights of those rows), the weighted means of their individual
        effects: the effects in the population the weights represent."""
        return truth_table(self.data, self.individual_effects, index, weights)


def truth_table(
    data: pd.DataFrame,
    effects: pd.DataFrame,
    index: pd.Index | None,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    if index is not None:
        data, effects = data.loc[index], effects.loc[index]
    w = np.ones(len(data)) if weights is None else np.asarray(weights, dtype=float)
    rows = []
    columns = effects.columns
    assert isinstance(columns, pd.MultiIndex)  # (treatment, outcome), as simulate_returnees builds it
    for treatment, outcome in columns:
        treated = data[treatment].to_numpy() == 1
        values = effects[(treatment, outcome)].to_numpy()
        for estimand, mask in (("ATT", treated), ("ATE", np.ones_like(treated)), ("ATC", ~treated)):
            chosen = mask & ~np.isnan(values)
            effect = float(np.average(values[chosen], weights=w[chosen])) if chosen.any() else np.nan
            rows.append((treatment, outcome, estimand, effect))
    return pd.DataFrame(rows, columns=["treatment", "outcome", "estimand", "effect"])
