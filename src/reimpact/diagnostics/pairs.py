"""Balance between the levels of every pair of a multi-valued treatment that does not hold the
reference (cobalt's ``bal.tab`` with ``which.treat = .all``): is ``combined vs economic``
balanced, not only each level against the reference?

For the contrast "a vs b" the units at level a play the treated group and those at level b the
control group; the units at other levels are left out. Balance is shown in the unadjusted sample
(``unadjusted``) and under the weights the contrast's IPW estimate uses (``weighted``): 1 / e_T(x)
for the units at a and b, where e_T(x) is a unit's generalised propensity score of the level it
received (the ATE weights of the pair). The statistics, flags and small-share suppression are those
of :mod:`reimpact.diagnostics.balance`; the SMD denominator follows its ATE rule on the pair, the
pooled standard deviation sqrt((s_a^2 + s_b^2) / 2) of the two levels in the unadjusted sample.
The pairs against the reference are the main balance table's samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .balance import SMD_THRESHOLD, BalanceTable, balance_table


@dataclass(frozen=True)
class PairBalance:
    """Balance of every pair of levels that does not hold the reference.

    Parameters
    ----------
    tables : dict of str to BalanceTable
        By contrast (``"combined vs economic"``), the pair's table with the samples
        ``unadjusted`` and ``weighted``; ``mean_treated`` is the first level's mean and the
        effective sizes' ``treated`` and ``control`` are the first and the second level.
    """

    tables: dict[str, BalanceTable]

    def to_frame(self) -> pd.DataFrame:
        """Every pair's rows, one per covariate x sample, with the ``contrast`` first."""
        frames = [table.to_frame().assign(contrast=c) for c, table in self.tables.items()]
        frame = pd.concat(frames, ignore_index=True)
        return frame[["contrast", *(c for c in frame.columns if c != "contrast")]]

    def smd(self) -> pd.DataFrame:
        """One row per covariate (suppressed ones left out), one column per contrast and sample
        (``"combined vs economic, unadjusted"``), holding the SMD."""
        columns = {}
        for contrast, table in self.tables.items():
            for sample, values in table.wide("smd").items():
                columns[f"{contrast}, {sample}"] = values
        return pd.DataFrame(columns)

    @property
    def imbalanced(self) -> dict[str, list[str]]:
        """By contrast, the covariates with |SMD| >= 0.1 under the pair's weights (contrasts
        without any left out)."""
        out = {}
        for contrast, table in self.tables.items():
            if table.imbalanced:
                out[contrast] = table.imbalanced
        return out

    def summary(self) -> str:
        """The SMDs of every pair as text, then the covariates still flagged."""
        lines = [
            "Balance between the other pairs of levels (standardised mean differences; pooled SD "
            "of the pair in the unadjusted sample; weighted: the pair's IPW weights)",
            self.smd().to_string(float_format=lambda v: f"{v: .3f}"),
        ]
        lines += [
            f"|SMD| >= {SMD_THRESHOLD} for {contrast} after weighting: {', '.join(names)}"
            for contrast, names in self.imbalanced.items()
        ]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """``results.json``'s ``balance.pairs``: the rows (as the main table's, with their
        ``contrast``) and the effective sizes by contrast and sample."""
        rows = [
            {"contrast": contrast, **row}
            for contrast, table in self.tables.items()
            for row in table.to_records()
        ]
        effective = {contrast: table.effective_n for contrast, table in self.tables.items()}
        return {"rows": rows, "effective_n": effective}


def pair_balance(
    frame: pd.DataFrame,
    covariates: list[str],
    categorical: list[str],
    codes: np.ndarray,
    levels: tuple[str, ...],
    pairs: list[tuple[int, int]],
    weights: np.ndarray,
    min_cell_size: int = 10,
    sample_weight: np.ndarray | None = None,
    terms: dict[str, tuple[str, np.ndarray]] | None = None,
) -> PairBalance:
    """The balance of each pair (a, b) of ``pairs`` (indices into ``levels``) among the units at
    a or b: unadjusted and under ``weights`` (every unit's IPW weight 1 / e_T(x)), with the
    columns of ``terms`` (name -> (term, values over all rows)) as extra rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        The analysed rows.
    covariates, categorical : list of str
        The balance covariates and which of them are categorical.
    codes : numpy.ndarray
        Every row's level as an index into ``levels``.
    levels : tuple of str
        The treatment levels, the reference first.
    pairs : list of (int, int)
        The contrasts a vs b, a the first level.
    weights : numpy.ndarray
        Every row's IPW weight.
    min_cell_size : int
        Shares that would disclose fewer units are suppressed.
    sample_weight : numpy.ndarray or None
        Sampling weights (every sample weighted by them too).
    terms : dict or None
        Design columns of covariate terms.

    Returns
    -------
    PairBalance
    """
    tables = {}
    for a, b in pairs:
        rows = np.isin(codes, (a, b))
        kept = {name: (term, values[rows]) for name, (term, values) in (terms or {}).items()}
        tables[f"{levels[a]} vs {levels[b]}"] = balance_table(
            frame.loc[rows], covariates, categorical, codes[rows] == a, {"weighted": weights[rows]},
            "ATE", min_cell_size, None if sample_weight is None else sample_weight[rows], kept,
        )  # fmt: skip
    return PairBalance(tables)
