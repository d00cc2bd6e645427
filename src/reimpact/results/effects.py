"""Results objects: one :class:`Effect` per outcome x method, and :class:`EffectTable` for many.

Intervals and p-values are normal-approximation (Wald) ones: estimate +/- z_(1-alpha/2) * std_error;
for an effect pooled over multiple imputations, t ones with its degrees of freedom.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

import pandas as pd

from ..io.latex import latex_table

EFFECT_COLUMNS = [
    "outcome", "method", "estimand", "estimate", "std_error", "ci_lower", "ci_upper", "p_value",
    "n_treated", "n_control",
]  # fmt: skip


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def _t_quantile(q: float, df: float) -> float:
    """The q quantile of Student's t with ``df`` degrees of freedom (scipy, imported only for
    pooled effects, so that a run without them does not pay for ``scipy.stats``)."""
    from scipy import stats

    return float(stats.t.ppf(q, df))


def _t_tail(x: float, df: float) -> float:
    """P(T > x) for Student's t with ``df`` degrees of freedom (see :func:`_t_quantile`)."""
    from scipy import stats

    return float(stats.t.sf(x, df))


def _pooled(df: float | None) -> bool:
    return df is not None and math.isfinite(df)


@dataclass(frozen=True)
class Effect:
    """An estimated average effect with its standard error.

    One outcome, one method. ``n_treated``/``n_control`` count the units that carry weight in the
    estimate (for matching, the matched units); ``se_type`` names the variance estimator; ``notes``
    say what the reader must know (units dropped by a caliper, bounded propensities, a changed
    estimand); ``warnings`` what should make the reader doubt the number (the report repeats
    them). Intervals and p-values are normal-approximation (Wald) ones:
    estimate +/- z_(1-alpha/2) * std_error. The effect is frozen; every parameter is kept as an
    attribute of the same name, and :meth:`to_dict` gives its entry of ``results.json``. An
    effect pooled over ``m`` imputed data sets by Rubin's rules (:mod:`reimpact.stats.rubin`)
    carries ``m``, its degrees of freedom ``df`` and the fraction of missing information ``fmi``;
    its interval and p-value are then from the t distribution with ``df`` degrees of freedom.

    Parameters
    ----------
    outcome : str
        The outcome column.
    method : str
        The method's name in the registry (``"naive"``, ``"psm"``, ``"ipw"``, ``"aipw"``...).
    estimand : str
        The effect estimated: ``"ATT"``, ``"ATE"``, ``"ATC"``, or ``"ATO"`` for overlap weights.
    estimate : float
        The estimated average effect.
    std_error : float
        Its standard error.
    n_treated : int
        Treated units that carry weight in the estimate.
    n_control : int
        Control units that carry weight in the estimate.
    se_type : str
        The variance estimator, e.g. ``"Welch"`` or ``"cluster-robust by site"``.
    notes : tuple of str
        What the reader must know about the estimate.
    level : float
        Confidence level of :meth:`conf_int`, ``ci_lower`` and ``ci_upper`` (default 0.95).
    warnings : tuple of str
        What should make the reader doubt the estimate.
    m : int or None
        The number of imputed data sets the effect is pooled over; None without imputation.
    df : float or None
        The degrees of freedom of a pooled effect (infinite when the imputations agree).
    fmi : float or None
        The fraction of missing information of a pooled effect.
    contrast : str or None
        For a multi-valued treatment, the two levels compared, e.g. ``"economic vs none"``
        (``n_treated`` counts the units at the first level, ``n_control`` those at the second);
        None for a binary treatment.

    Attributes
    ----------
    ci_lower : float
        Lower bound of the ``level`` confidence interval.
    ci_upper : float
        Upper bound of the ``level`` confidence interval.
    z_stat : float
        ``estimate / std_error`` (NaN when the standard error is 0).
    """

    outcome: str
    method: str
    estimand: str
    estimate: float
    std_error: float
    n_treated: int
    n_control: int
    se_type: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    level: float = 0.95
    warnings: tuple[str, ...] = field(default_factory=tuple)
    m: int | None = None
    df: float | None = None
    fmi: float | None = None
    contrast: str | None = None

    def conf_int(self, level: float | None = None) -> tuple[float, float]:
        """The Wald confidence interval: estimate +/- z_(1-alpha/2) * std_error (t_(df, 1-alpha/2)
        in place of z for an effect pooled over imputations).

        Parameters
        ----------
        level : float or None
            Confidence level, 1 - alpha; None takes the effect's ``level``.

        Returns
        -------
        tuple of float
            The lower and upper bounds.
        """
        level = self.level if level is None else level
        df = self.df
        z = _t_quantile(0.5 + level / 2.0, df) if df is not None and _pooled(df) else _z(level)
        return self.estimate - z * self.std_error, self.estimate + z * self.std_error

    @property
    def ci_lower(self) -> float:
        return self.conf_int()[0]

    @property
    def ci_upper(self) -> float:
        return self.conf_int()[1]

    @property
    def z_stat(self) -> float:
        return self.estimate / self.std_error if self.std_error > 0 else math.nan

    @property
    def p_value(self) -> float:
        """Two-sided p-value for the null of no effect (from t with ``df`` when pooled)."""
        z, df = self.z_stat, self.df
        if df is not None and _pooled(df) and math.isfinite(z):
            return 2.0 * _t_tail(abs(z), df)
        return 2.0 * (1.0 - NormalDist().cdf(abs(z))) if math.isfinite(z) else math.nan

    def covers(self, value: float) -> bool:
        """Whether the ``level`` confidence interval holds ``value`` (bounds included).

        Parameters
        ----------
        value : float
            A value of the effect, e.g. the true one of simulated data.

        Returns
        -------
        bool
        """
        low, high = self.conf_int()
        return low <= value <= high

    def to_dict(self) -> dict:
        """The fields of ``results.json``'s ``effects`` entries."""
        out = {name: getattr(self, name) for name in EFFECT_COLUMNS}
        if self.contrast is not None:
            out["contrast"] = self.contrast
        out["se_type"] = self.se_type
        out["notes"] = list(self.notes)
        out["warnings"] = list(self.warnings)
        if self.m is not None:
            out |= {"m": self.m, "df": self.df, "fmi": self.fmi}
        return {k: _json_number(v) for k, v in out.items()}

    def to_frame(self) -> pd.DataFrame:
        """A one-row tidy frame with the ``results.json`` columns."""
        row = self.to_dict()
        row["notes"] = "; ".join(self.notes)
        row["warnings"] = "; ".join(self.warnings)
        return pd.DataFrame([row])

    def summary(self) -> str:
        """A few lines of text: estimate, standard error, interval, p-value, units, notes and
        warnings (what ``str(effect)`` prints)."""
        low, high = self.conf_int()
        lines = [
            f"{self.method} estimate of the {self.estimand} on {self.outcome}"
            + (f" ({self.contrast})" if self.contrast is not None else ""),
            f"  estimate {self.estimate: .4f}   std. error {self.std_error:.4f} ({self.se_type})",
            f"  {self.level:.0%} CI [{low: .4f}, {high: .4f}]   p = {self.p_value:.4g}",
            f"  units: {self.n_treated} treated, {self.n_control} control",
        ]
        if self.m is not None:
            lines.append(
                f"  pooled over {self.m} imputations: df {self.df:.1f}, "
                f"fraction of missing information {self.fmi:.3f}"
            )
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  warning: {warning}" for warning in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)

    def __str__(self) -> str:
        return self.summary()


def effect_key(record: Mapping[str, Any]) -> str:
    """How the report names an effect's row (and finds its true effect): the outcome, followed by
    the contrast in parentheses for a multi-valued treatment, e.g. ``"composite_score (economic vs
    none)"``; ``record`` is an effect's (or a true effect's) entry of ``results.json``."""
    contrast = record.get("contrast")
    return str(record["outcome"]) if contrast is None else f"{record['outcome']} ({contrast})"


def _json_number(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class EffectTable:
    """Several effects (outcomes x methods), as a tidy frame and a printed table.

    It iterates over its effects and has their number as ``len``; :meth:`get` picks one by
    outcome and method.

    Parameters
    ----------
    effects : tuple of Effect
        The effects, in the order the table shows them.
    """

    effects: tuple[Effect, ...]

    def to_frame(self) -> pd.DataFrame:
        """A tidy frame, one row per effect, with the ``results.json`` columns (empty with those
        columns when there is no effect)."""
        if not self.effects:
            return pd.DataFrame(columns=[*EFFECT_COLUMNS, "se_type", "notes", "warnings"])
        return pd.concat([e.to_frame() for e in self.effects], ignore_index=True)

    def to_latex(self, digits: int = 4) -> str:
        """The effects as a LaTeX table (booktabs ``tabular``), one row per effect.

        These are the in-memory results, before the disclosure gate: a run's published tables,
        small counts suppressed, are under ``tables/`` in its output folder.

        Parameters
        ----------
        digits : int
            Decimals of the estimates, standard errors, intervals and p-values.

        Returns
        -------
        str
            The ``tabular``, with the columns of :data:`EFFECT_COLUMNS` (cells escaped).
        """
        return latex_table(self.to_frame()[EFFECT_COLUMNS], digits=digits)

    def to_excel(self, path: str | Path) -> Path:
        """Write the effects to an Excel workbook, one row per effect (as :meth:`to_frame`).

        These are the in-memory results, before the disclosure gate: a run's published tables,
        small counts suppressed, are under ``tables/`` in its output folder.

        Parameters
        ----------
        path : str or Path
            The ``.xlsx`` file to write (replaced if it exists).

        Returns
        -------
        Path
            The file written.
        """
        out = Path(path)
        self.to_frame().to_excel(out, sheet_name="effects", index=False, engine="openpyxl")
        return out

    def summary(self) -> str:
        """The effects as a text table: estimate, standard error, interval, p-value and units."""
        if not self.effects:
            return "(no effects estimated)"
        frame = self.to_frame()
        frame = frame[
            [
                *(["contrast"] if "contrast" in frame else []),
                "outcome",
                "method",
                "estimand",
                "estimate",
                "std_error",
                "ci_lower",
                "ci_upper",
                "p_value",
                "n_treated",
                "n_control",
            ]
        ]
        return frame.to_string(index=False, float_format=lambda v: f"{v:.4f}")

    def get(self, outcome: str, method: str, contrast: str | None = None) -> Effect:
        """The effect of ``method`` on ``outcome`` (for a multi-valued treatment, of ``contrast``).

        Parameters
        ----------
        outcome : str
            The outcome column.
        method : str
            The method's name in the registry, e.g. ``"aipw"``.
        contrast : str or None
            For a multi-valued treatment, the contrast, e.g. ``"economic vs none"``.

        Returns
        -------
        Effect

        Raises
        ------
        KeyError
            When the table has no such effect.
        """
        for effect in self.effects:
            if (effect.outcome, effect.method, effect.contrast) == (outcome, method, contrast):
                return effect
        raise KeyError(
            f"no effect for outcome '{outcome}' and method '{method}'"
            + (f" and contrast '{contrast}'" if contrast is not None else "")
        )

    def __iter__(self):
        return iter(self.effects)

    def __len__(self) -> int:
        return len(self.effects)

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)
