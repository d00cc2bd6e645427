"""The results of a dose (``treatment: {column: ..., kind: dose}``): :class:`DoseResponse`, the
dose-response curves of every outcome and method (:mod:`reimpact.estimators.dose`)."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

CURVE_COLUMNS = ["outcome", "method", "dose", "estimate", "std_error", "ci_lower", "ci_upper", "n"]
_Z = NormalDist().inv_cdf(0.975)


def curve_frame(
    outcome: str,
    method: str,
    doses: list[str],
    estimate: np.ndarray,
    std_error: np.ndarray,
    n: list[int] | None = None,
) -> pd.DataFrame:
    """One curve as rows of ``CURVE_COLUMNS``: every dose's estimate, standard error, pointwise
    95% interval estimate +/- z_0.975 se and units at the dose (None for a continuous dose)."""
    estimate, std_error = np.asarray(estimate, dtype=float), np.asarray(std_error, dtype=float)
    return pd.DataFrame(
        {
            "outcome": outcome, "method": method, "dose": doses, "estimate": estimate,
            "std_error": std_error, "ci_lower": estimate - _Z * std_error,
            "ci_upper": estimate + _Z * std_error, "n": n if n is not None else [None] * len(doses),
        },
        columns=CURVE_COLUMNS,
    )  # fmt: skip


@dataclass(frozen=True)
class DoseResponse:
    """The dose-response curves of a study, one per outcome and method, with the true curve on
    simulated data.

    Parameters
    ----------
    treatment : str
        The dose column.
    curves : pandas.DataFrame
        Columns ``CURVE_COLUMNS``: ``dose`` (as text), ``estimate`` of mu(d) = E[Y(d)], its
        ``std_error``, the pointwise 95% interval and ``n``, the units at the dose.
    truth : pandas.DataFrame or None
        The true mu(d) (columns ``outcome, dose, mean``) on simulated data.
    """

    treatment: str
    curves: pd.DataFrame
    truth: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        """The curves, one row per outcome, method and dose, with the true mean where known."""
        frame = self.curves.copy()
        if self.truth is not None:
            frame = frame.merge(self.truth, on=["outcome", "dose"], how="left")
            frame = frame.rename(columns={"mean": "truth"})
        return frame

    def summary(self) -> str:
        """The curves as text: one line per dose with the estimate and its interval."""
        lines = [f"dose-response of {self.treatment} (pointwise 95% intervals)"]
        for (outcome, method), rows in self.curves.groupby(["outcome", "method"], sort=False):
            lines.append(f"  {outcome}, {method}:")
            lines += [
                f"    {r.dose:>6}  {r.estimate:9.4f}  [{r.ci_lower:.4f}, {r.ci_upper:.4f}]"
                for r in rows.itertuples()
            ]
        return "\n".join(lines)

    def to_records(self) -> list[dict]:
        """The curves as ``results.json`` holds them (``n`` is a count for the disclosure gate)."""
        return [
            {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in self.curves.to_dict("records")
        ]
