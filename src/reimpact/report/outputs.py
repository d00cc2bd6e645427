"""Writing a run's outputs: ``results.json``, ``study.resolved.yaml``, ``figures/``,
``report.html``, the tables (``tables/``) and ``report.docx``, everything published through the
disclosure gate and then its audit."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..disclosure import audit
from ..exceptions import DisclosureError
from ..messages import not_run_warning
from ..results import json_safe

if TYPE_CHECKING:
    from ..results import StudyResults


def write_outputs(results: StudyResults, out_dir: str | Path) -> Path:
    """Write a run's outputs to a folder.

    Write ``results.json``, ``study.resolved.yaml``, ``figures/`` and ``report.html`` to
    ``out_dir``, first removing what an earlier run wrote there; return the path of
    ``results.json``. Then the tables (``tables/``) and ``report.docx``, from the published
    payload (:func:`~reimpact.report.exports.write_exports`). A figure that cannot be drawn is
    recorded under ``not_run`` and in the warnings; the rest is written. What is published passes
    the disclosure gate and then its audit: a leak found by the audit stops the run before
    anything but the figures is written (and they are removed again). Other files in
    ``out_dir`` are left alone.

    Parameters
    ----------
    results : StudyResults
        What :func:`~reimpact.run_study` returned.
    out_dir : str or Path
        The output folder, created if needed.

    Returns
    -------
    Path
        The path of the ``results.json`` written.

    Raises
    ------
    DisclosureError
        When the audit finds, in what would be published, a count of fewer than
        ``report.min_cell_size`` units, a suppressed count that subtraction recovers, or a
        figure with an element drawn from fewer units.
    ReimpactError
        When ``out_dir`` is an existing file, not a folder.
    """
    import yaml

    from . import prepare_output, write_report
    from .drawing import draw_figures
    from .exports import write_exports

    out = prepare_output(out_dir)
    drawn, failed, units = draw_figures(results, out)
    published = replace(
        results,
        not_drawn=tuple(failed),
        figure_units=tuple(units),
        warnings=(*results.warnings, *(not_run_warning(f) for f in failed)),
    )
    payload = json_safe(published.to_dict())
    findings = audit(payload, results.gate.min_cell_size, results.gate.rounding)
    if findings:
        prepare_output(out)
        raise DisclosureError(
            "report.min_cell_size",
            f"refusing to publish: {findings[0]}"
            + (f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""),
        )
    path = out / "results.json"
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    resolved = yaml.safe_dump(results.resolved_study(), sort_keys=False, allow_unicode=True)
    (out / "study.resolved.yaml").write_text(resolved, encoding="utf-8")
    write_report(published, payload, out, drawn)
    write_exports(published, payload, out)
    return path
