"""What a run produced (:class:`StudyResults`) and what the design did (:class:`DesignSummary`),
with the content of ``results.json`` before and after the disclosure gate."""

from __future__ import annotations

import hashlib
import math
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import __version__
from ..disclosure import Gate, publish
from .effects import EffectTable, effect_key
from .headline import headline

if TYPE_CHECKING:
    from ..config.study import Study
    from ..design.gps import GeneralisedScores
    from ..design.propensity import PropensityScores
    from ..diagnostics.balance import BalanceTable
    from ..diagnostics.pairs import PairBalance
    from ..sample import AnalysisSample
    from ..sensitivity import SensitivityResults
    from .dose import DoseResponse

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
    and trimming, matching counts, and the sampling weights (``column``, Kish's ``design_effect``
    n / n_eff of the weights alone) when the study has them."""

    propensity_model: str
    clip: float
    n_bounded_below: int
    n_bounded_above: int
    trim: float | None
    n_trimmed: int
    matching: dict[str, Any] = field(default_factory=dict)
    separated_levels: list[dict[str, Any]] = field(default_factory=list)
    sampling_weights: dict[str, Any] = field(default_factory=dict)
    # a dose: {"kind": "levels" | "continuous", "reference": ..., continuous: "bandwidths"}
    dose: dict[str, Any] = field(default_factory=dict)
    # design columns left out as exact linear combinations of the others
    collinear: list[str] = field(default_factory=list)
    # long data with panel.bands: every band's rounds, those wholly inside it and those in part
    bands: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyResults:
    """Everything a run produced, as :func:`~reimpact.run_study` returns it.

    The sample flow, the design, the weights, balance, the effects and (for simulated data) the
    true effects of the analysed sample. ``frame``, ``treated`` and ``propensity`` are the
    analysed rows after trimming; ``weights`` holds, by balance label, the weights each method
    implies for those rows (``matched`` for matching, ``weighted`` for IPW, and an added method's
    own label). Every parameter below is kept as a (read-only) attribute
    of the same name. :meth:`to_dict` is the content of ``results.json`` (through the disclosure
    gate) and :meth:`summary` a printed overview.

    Parameters
    ----------
    study : Study
        The study that was run.
    sample : AnalysisSample
        The analysis sample before trimming: its rows, treatment, sample flow and data source.
    frame : pandas.DataFrame
        The analysed rows (after the separation rule and trimming).
    treated : numpy.ndarray
        The 0/1 treatment of those rows.
    propensity : PropensityScores
        The propensity scores of those rows, with the model's kind and the bound ``clip``.
    design : DesignSummary
        What the design did: score model, bounding, trimming, matching counts, separated levels.
    weights : dict of str to numpy.ndarray
        The weights of those rows by estimator (``matched``, ``weighted``), for the methods run.
    balance : BalanceTable
        Covariate balance before and after each set of weights.
    effects : EffectTable
        Every estimated effect: methods in registry order, then outcomes in the study's order.
    truth : pandas.DataFrame or None
        For simulated data, the true effects for the study's treatment and estimand over the rows
        each outcome was analysed on (columns ``treatment, outcome, estimand, effect``); None
        otherwise.
    warnings : tuple of str
        What should make the reader doubt the results; the report repeats them.
    sensitivity : SensitivityResults or None
        The sensitivity checks, when the study has a ``sensitivity`` section.
    not_drawn : tuple of dict
        The figures that could not be drawn, with the reason (filled in by
        :func:`~reimpact.write_outputs`).
    figure_units : tuple of (str, int)
        Per figure, the fewest units behind any element it draws (known once the figures are
        drawn).
    level_scores : GeneralisedScores or None
        A multi-valued treatment's generalised propensity score (for the per-level overlap
        figure); None for a binary treatment.
    dose_response : DoseResponse or None
        A dose's dose-response curves (``treatment.kind: dose``); None otherwise.
    pair_balance : PairBalance or None
        A multi-valued treatment's balance between every pair of levels other than the
        reference pairs (``results.json``'s ``balance.pairs``); None for a binary treatment.
    created : str
        When the results were created: UTC, ISO 8601 to the second (default: now).

    Attributes
    ----------
    min_cell_size : int
        The study's ``report.min_cell_size``.
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
    # a multi-valued treatment's generalised propensity score (None for a binary treatment)
    level_scores: GeneralisedScores | None = None
    dose_response: DoseResponse | None = None
    pair_balance: PairBalance | None = None
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
            f"{flow.analysed} {self.study.unit_label} analysed ({flow.treated} treated, "
            f"{flow.control} control)",
            "",
            self.effects.summary(),
        ]
        if self.dose_response is not None:
            lines += ["", self.dose_response.summary()]
        if self.truth is not None:
            lines += ["", "true effects (simulated data):"]
            lines += [f"  {k}: {v:.4f}" for k, v in self.truth_by_outcome().items()]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def truth_by_outcome(self) -> dict[str, float]:
        if self.truth is None:
            return {}
        rows = self.truth.to_dict("records")
        return {effect_key({str(k): v for k, v in row.items()}): row["effect"] for row in rows}

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
                | ({"contrast": r.contrast} if "contrast" in self.truth else {})
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
            }
            | ({"pairs": self.pair_balance.to_dict()} if self.pair_balance is not None else {}),
            "headline": headline(self),
            "effects": [effect.to_dict() for effect in self.effects],
            "sensitivity": None if self.sensitivity is None else self.sensitivity.to_dict(),
            "dose_response": None if self.dose_response is None else self.dose_response.to_records(),
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
        ``forest``, ``gamma``, ``contour`` or ``subgroups`` (None when it does not apply).
        Kept for one release; use :func:`reimpact.report.figure`."""
        import warnings

        from ..report import figure

        warnings.warn(
            "StudyResults.figure is deprecated; use reimpact.report.figure(results, name)",
            DeprecationWarning,
            stacklevel=2,
        )
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
        raw["methods"] = {k: False if v is None else v for k, v in raw["methods"].items()}
        if raw["sensitivity"] is not None:
            for name in ("rosenbaum", "omitted_variable", "refutations", "dml"):
                if raw["sensitivity"][name] is None:
                    raw["sensitivity"][name] = False
        if raw["data"]["kobo"] is None:
            raw["data"]["kobo"] = False
        if raw["data"]["path"] is not None:
            raw["data"]["path"] = str(Path(self.sample.source.description).resolve())
        return raw

    def write(self, out_dir: str | Path) -> Path:
        """Write the outputs to ``out_dir``. Kept for one release; use
        :func:`reimpact.report.outputs.write_outputs`."""
        import warnings

        from ..report.outputs import write_outputs

        warnings.warn(
            "StudyResults.write is deprecated; use reimpact.write_outputs(results, out_dir)",
            DeprecationWarning,
            stacklevel=2,
        )
        return write_outputs(self, out_dir)


def json_safe(value: Any) -> Any:
    """JSON-safe values: NaN and infinity become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
