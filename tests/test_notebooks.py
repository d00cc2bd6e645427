"""Every notebook runs from top to bottom and reproduces its published finding.

Each notebook ends by defining ``CHECKS`` (finding reproduced; intervals covering the simulated
truth or the experimental benchmark); the test appends a cell that prints it and asserts every
check holds. The saved outputs are refreshed with ``make notebooks``.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
EXPECTED = {
    "01_orion_mentoring": {"small_significant_positive_effect", "intervals_cover_truth"},
    "02_economic_support": {"positive_in_all_three_dimensions", "intervals_cover_truth"},
    "03_referrals": {"lower_economic_social_satisfaction", "intervals_cover_truth"},
    "04_lalonde_dehejia_wahba": {"psm_covers_benchmark", "aipw_covers_benchmark"},
    "05_assistance_types": {
        "economic_higher_in_all_three_dimensions",
        "more_activities_not_always_higher",
        "economic_score_falls_from_two_to_three_activities",
        "dose_curve_covers_truth",
        "intervals_cover_truth",
    },
    "06_follow_up_rounds": {
        "effect_changes_over_rounds",
        "did_covers_true_path",
        "cross_sectional_aipw_misses_truth",
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_reproduces_its_finding(name):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert notebook.cells[0].cell_type == "markdown" and "Question" in notebook.cells[0].source
    notebook.cells.append(
        nbformat.v4.new_code_cell('import json\nprint("CHECKS=" + json.dumps(CHECKS))')
    )
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    checks = json.loads(printed.split("CHECKS=", 1)[1])
    assert set(checks) == EXPECTED[name]
    assert all(checks.values()), checks


def test_saved_notebooks_show_their_outputs():
    """Readers on GitHub see plots and conclusions without running anything."""
    for name in EXPECTED:
        notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
        assert any("image/png" in o.get("data", {}) for o in outputs), name
        assert not any(o.get("output_type") == "error" for o in outputs), name
        assert "CHECKS" in notebook.cells[-1].source
