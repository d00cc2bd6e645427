"""The report: ``report.html`` (self-contained) and ``figures/`` (PNG and SVG) for a study run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .drawing import draw_figures as draw_figures  # part of the report's interface

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..results import StudyResults

NOT_CONFIGURED = (
    '<p class="note">No sensitivity analysis was configured for this study: add a '
    "<code>sensitivity:</code> section to the study file.</p>"
)
# figure name -> file name
FIGURES = {
    "love": "love_plot",
    "overlap": "overlap",
    "levels": "overlap_by_level",
    "ecdf": "ecdf",
    "forest": "effects_forest",
    "gamma": "rosenbaum_gamma",
    "contour": "ovb_contour",
    "dml_contour": "dml_contour",
    "subgroups": "subgroup_forest",
    "dose": "dose_response",
    "path": "effect_path",
}


def figure(results: StudyResults, name: str) -> Figure | None:
    """Draw one of the report's figures (see ``FIGURES``); None when it does not apply (no
    continuous covariate for the eCDFs, no sensitivity check for the sensitivity figures)."""
    import pandas as pd

    from ..diagnostics.balance import covariate_columns
    from ..results.effects import effect_key
    from . import figures as fig

    size = results.min_cell_size
    sens = results.sensitivity
    if name == "love":
        return fig.love_plot(results.balance, results.study.unit_label)
    if name == "overlap":
        units = results.study.unit_label
        return fig.overlap_plot(results.propensity.scores, results.treated, results.weights, size, units)
    if name == "levels":
        gps = results.level_scores
        units = results.study.unit_label
        return fig.level_overlap_plot(gps.scores, gps.codes, gps.levels, size, units) if gps else None
    if name == "forest":
        shown = pd.DataFrame(results.effect_records())
        shown["outcome"] = [effect_key(record) for record in results.effect_records()]
        return fig.forest_plot(shown, results.truth_by_outcome() or None)
    if name == "ecdf":
        columns = covariate_columns(
            results.frame, results.sample.covariate_columns, results.sample.categorical
        )
        values = {label: x for label, (_, x) in columns.items()}
        return fig.ecdf_plot(values, results.treated, results.weights, results.balance, size)
    if name == "dose":
        dose = results.dose_response
        if dose is None:
            return None
        # the published points (a dose under the minimum cell size has none), with the true counts
        shown = pd.DataFrame(results.to_dict()["dose_response"]).assign(n=dose.curves["n"].to_numpy())
        return fig.dose_plot(shown, dose.truth, dose.treatment)
    if name == "path":  # long data: the effects by survey round
        if results.study.panel is None:
            return None
        shown = pd.DataFrame(results.to_dict()["effects"])
        return fig.path_plot(shown, results.truth, results.study.panel.round)
    if name == "gamma":
        return fig.gamma_plot(sens.rosenbaum) if sens else None
    if name == "contour":
        return fig.contour_plot(sens.omitted_variable[0]) if sens and sens.omitted_variable else None
    if name == "dml_contour":
        # the primary outcome's bounds when it has them (the report's caption names the same)
        bounds = sorted(sens.dml, key=lambda d: d.outcome != results.study.primary) if sens else []
        return fig.dml_contour_plot(bounds[0]) if bounds else None
    if name == "subgroups":
        return fig.subgroup_plot(sens.subgroups) if sens and sens.subgroups is not None else None
    raise ValueError(f"unknown figure '{name}'; valid: {', '.join(FIGURES)}")


# what a run writes into its output folder (and removes there before it writes again)
OUTPUT_FILES = ("results.json", "report.html", "study.resolved.yaml")


def prepare_output(out_dir: str | Path) -> Path:
    """The output folder, created if needed, cleaned of the files an earlier run of reimpact
    wrote there (``OUTPUT_FILES`` and the figures); nothing else in it is touched."""
    from ..exceptions import ReimpactError

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ReimpactError("--out", f"'{out}' is a file, not a folder; name a folder for the results")
    out.mkdir(parents=True, exist_ok=True)
    from .exports import remove_exports

    for name in OUTPUT_FILES:
        (out / name).unlink(missing_ok=True)
    remove_exports(out)  # tables/ and report.docx of an earlier run
    figures = out / "figures"
    if figures.is_dir():
        for file_name in FIGURES.values():
            for suffix in (".png", ".svg"):
                (figures / f"{file_name}{suffix}").unlink(missing_ok=True)
        if not any(figures.iterdir()):
            figures.rmdir()
    return out


def write_report(
    results: StudyResults, published: dict, out: Path, drawn: dict[str, bytes | None]
) -> Path:
    """Write ``out/report.html`` with the figures ``drawn``; every count and every statistic of
    a group comes from ``published``, the payload that passed the disclosure gate."""
    from .html import render, sensitivity_section

    sensitivity = NOT_CONFIGURED
    if results.sensitivity is not None:
        sensitivity = sensitivity_section(results, published, drawn)
    path = out / "report.html"
    path.write_text(render(results, published, drawn, sensitivity), encoding="utf-8")
    return path
