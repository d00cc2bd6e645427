"""The report: ``report.html`` (self-contained) and ``figures/`` (PNG and SVG) for a study run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..analysis import StudyResults

NOT_CONFIGURED = (
    '<p class="note">No sensitivity analysis was configured for this study: add a '
    "<code>sensitivity:</code> section to the study file.</p>"
)


def write_report(results: StudyResults, out_dir: str | Path) -> Path:
    """Draw every figure into ``out_dir/figures`` and write ``out_dir/report.html``."""
    from . import figures as fig
    from .html import render, sensitivity_section

    out = Path(out_dir)
    folder = out / "figures"
    size = results.min_cell_size
    drawn: dict[str, bytes | None] = {
        "love": fig.save(fig.love_plot(results.balance), folder, "love_plot"),
        "overlap": fig.save(
            fig.overlap_plot(results.propensity.scores, results.treated, results.weights, size),
            folder,
            "overlap",
        ),
        "forest": fig.save(
            fig.forest_plot(_shown_effects(results), results.truth_by_outcome() or None),
            folder,
            "effects_forest",
        ),
    }
    from ..balance import covariate_columns

    columns = {
        name: x
        for name, (_, x) in covariate_columns(
            results.frame, results.sample.covariate_columns, results.sample.categorical
        ).items()
    }
    optional = {"ecdf": fig.ecdf_plot(columns, results.treated, results.weights, results.balance, size)}
    sensitivity = NOT_CONFIGURED
    if results.sensitivity is not None:
        sens = results.sensitivity
        optional["gamma"] = fig.gamma_plot(sens.rosenbaum)
        if sens.omitted_variable:
            optional["contour"] = fig.contour_plot(sens.omitted_variable[0])
        if sens.subgroups is not None:
            optional["subgroups"] = fig.subgroup_plot(sens.subgroups)
    names = {
        "ecdf": "ecdf",
        "gamma": "rosenbaum_gamma",
        "contour": "ovb_contour",
        "subgroups": "subgroup_forest",
    }
    for key, figure in optional.items():
        drawn[key] = fig.save(figure, folder, names[key]) if figure is not None else None
    if results.sensitivity is not None:
        sensitivity = sensitivity_section(results, drawn)
    path = out / "report.html"
    path.write_text(render(results, drawn, sensitivity), encoding="utf-8")
    return path


def _shown_effects(results: StudyResults):
    """Effects as the report may show them (small cells suppressed)."""
    import pandas as pd

    return pd.DataFrame(results.effect_records())
