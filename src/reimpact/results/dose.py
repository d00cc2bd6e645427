"""The results of a dose (``treatment: {column: ..., kind: dose}``): :class:`DoseResponse`, the
dose-response curves of every outcome and method (:mod:`reimpact.estimators.dose`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CURVE_COLUMNS = ["outcome", "method", "dose", "estimate", "std_error", "ci_lower", "ci_upper", "n"]


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
