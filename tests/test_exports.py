"""The report's tables as files (issue 14): every table under ``tables/`` as CSV, as a sheet of
``tables.xlsx`` and as LaTeX, and ``report.docx``, all from the published payload.

Two small runs: one with a threshold (k = 60) that suppresses counts, balance rows and a subgroup
while the effects stay published, and one (k = 300) that withholds every effect.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
from pathlib import Path

import docx
import openpyxl
import pandas as pd
import pytest

from reimpact.cli import main
from reimpact.config.study import Study
from reimpact.io.latex import latex_escape, latex_table
from reimpact.pipeline import run_study
from reimpact.report.sections.summary import summary_sentences
from reimpact.report.sections.table_one import table_one_section
from reimpact.report.tables import TABLES, report_tables

BASE_STUDY = __import__("conftest").BASE_STUDY  # tests/ is on the path: conftest is a module


def _study(min_cell_size: int, sensitivity: bool = True) -> Study:
    study = copy.deepcopy(BASE_STUDY)
    study["report"] = {"min_cell_size": min_cell_size}
    study["methods"] = {"psm": {"caliper": 0.05, "replace": False}, "ipw": {}}
    if sensitivity:
        study["sensitivity"] = {"heterogeneity": {"by": ["return_type"]}}
    return Study.model_validate(study)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(results, published payload, output folder) of the k = 60 run."""
    out = tmp_path_factory.mktemp("k60")
    results = run_study(_study(60), out_dir=out)
    return results, json.loads((out / "results.json").read_text()), out


@pytest.fixture(scope="module")
def withheld(tmp_path_factory):
    """The k = 300 run: every effect rests on fewer than k treated units."""
    out = tmp_path_factory.mktemp("k300")
    results = run_study(_study(300), out_dir=out)
    return results, json.loads((out / "results.json").read_text()), out


def _numbers(node, found: set) -> set:
    """Every number anywhere in a JSON payload."""
    if isinstance(node, dict):
        for value in node.values():
            _numbers(value, found)
    elif isinstance(node, list):
        for value in node:
            _numbers(value, found)
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        found.add(node)
    return found


def _csv(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / "tables" / f"{name}.csv", dtype=str, keep_default_na=False)


def test_every_table_is_written_as_csv_xlsx_sheet_and_latex(run) -> None:
    _, payload, out = run
    names = list(report_tables(payload))
    assert {"sample_flow", "effects", "table_one", "balance", "subgroups", "cate"} <= set(names)
    assert set(names) <= set(TABLES)
    workbook = openpyxl.load_workbook(out / "tables" / "tables.xlsx", read_only=True)
    assert workbook.sheetnames == names
    for name in names:
        frame = report_tables(payload)[name]
        csv = _csv(out, name)
        assert list(csv.columns) == list(frame.columns)
        assert len(csv) == len(frame)
        tex = (out / "tables" / f"{name}.tex").read_text()
        assert "\\begin{tabular}" in tex and tex.count("\\\\") == len(frame) + 1


def test_exported_numbers_are_results_json_numbers(run) -> None:
    """No CSV or XLSX cell holds a number that results.json does not (XLSX: to the 16 significant
    digits openpyxl writes)."""
    _, payload, out = run
    allowed = _numbers(payload, set())
    in_xlsx = {float(f"{x:.16g}") for x in allowed}
    workbook = openpyxl.load_workbook(out / "tables" / "tables.xlsx", read_only=True)
    for name in report_tables(payload):
        for cell in _csv(out, name).to_numpy().ravel():
            try:
                value = float(cell)
            except ValueError:
                continue
            assert value in allowed, (name, cell)
        for row in workbook[name].iter_rows(min_row=2, values_only=True):
            for value in row:
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    assert value in in_xlsx, (name, value)


def test_csv_values_equal_results_json(run) -> None:
    _, payload, out = run
    effects = _csv(out, "effects")
    for row, effect in zip(effects.to_dict("records"), payload["effects"], strict=True):
        assert (row["Outcome"], row["Method"]) == (effect["outcome"], effect["method"])
        assert float(row["Estimate"]) == effect["estimate"]
        assert float(row["95% CI upper"]) == effect["ci_upper"]
        assert row["Treated"] == str(effect["n_treated"])
        assert row["Control"] == str(effect["n_control"])
    table_one = _csv(out, "table_one").set_index(["Covariate", "Level"])
    for r in payload["balance"]["rows"]:
        if r["suppressed"]:
            continue
        level = r["covariate"].split("=", 1)[1] if "=" in r["covariate"] else ""
        cells = table_one.loc[(r["source"], level)]
        assert float(cells[f"Treated ({r['sample']})"]) == r["mean_treated"]
        assert float(cells[f"Control ({r['sample']})"]) == r["mean_control"]
        assert float(cells[f"SMD ({r['sample']})"]) == r["smd"]
    flow = _csv(out, "sample_flow").set_index("Step").iloc[:, 0]
    assert flow["Rows read"] == str(payload["sample"]["rows_read"])
    assert flow["Treated"] == str(payload["sample"]["treated"])


def test_suppressed_cells_read_suppressed_in_every_export(run) -> None:
    _, payload, out = run
    # a count the gate hid
    i = next(i for i, e in enumerate(payload["effects"]) if e["n_treated"] == "suppressed")
    assert _csv(out, "effects").loc[i, "Treated"] == "suppressed"
    workbook = openpyxl.load_workbook(out / "tables" / "tables.xlsx", read_only=True)
    sheet = list(workbook["effects"].iter_rows(values_only=True))
    assert sheet[i + 1][sheet[0].index("Treated")] == "suppressed"
    assert "suppressed" in (out / "tables" / "effects.tex").read_text().splitlines()[5 + i]
    effects_docx = docx.Document(str(out / "report.docx")).tables[0]
    assert effects_docx.rows[i + 1].cells[8].text == "suppressed"
    # a balance row whose share would give a small count away
    hidden = next(r for r in payload["balance"]["rows"] if r["suppressed"])
    source, level = hidden["covariate"].split("=", 1)
    row = _csv(out, "table_one").set_index(["Covariate", "Level"]).loc[(source, level)]
    assert set(row.drop("Statistic")) == {"suppressed"}
    assert set(_csv(out, "balance").set_index("Covariate").loc[hidden["covariate"]]) == {"suppressed"}
    tex = (out / "tables" / "table_one.tex").read_text()
    line = next(x for x in tex.splitlines() if x.startswith(f"{source} & {level} &"))
    assert line.count("suppressed") == 9
    table_one_docx = docx.Document(str(out / "report.docx")).tables[1]
    cells = next(r.cells for r in table_one_docx.rows if r.cells[1].text == level)
    assert [c.text for c in cells[2:]] == ["suppressed"] * 9
    # a count under k
    mask = "<60"
    subgroups = _csv(out, "subgroups")
    assert mask in set(subgroups["Treated"]) and "suppressed" in set(subgroups["Estimate"])
    assert "\\textless{}60" in (out / "tables" / "subgroups.tex").read_text()


def test_withheld_effects_read_suppressed(withheld) -> None:
    _, payload, out = withheld
    assert all(e["estimate"] is None for e in payload["effects"])
    effects = _csv(out, "effects")
    assert set(effects["Estimate"]) == {"suppressed"} == set(effects["p-value"])
    assert set(_csv(out, "subgroups")["Status"]) == {"suppressed"}
    assert "rosenbaum" in report_tables(payload)
    assert set(_csv(out, "rosenbaum")["Gamma*"]) == {"suppressed"}
    text = "\n".join(p.text for p in docx.Document(str(out / "report.docx")).paragraphs)
    assert "is suppressed" in text


def test_report_docx_takes_a_title_longer_than_word_allows_in_its_properties(run, tmp_path) -> None:
    """Word keeps at most 255 characters in a document property: the property is cut there, the
    report's heading keeps the whole title (a longer title once stopped the run)."""
    from dataclasses import replace

    from reimpact.report.word import write_docx

    results, payload, _ = run
    title = "Reintegration " * 30  # 420 characters
    long = replace(results, study=results.study.model_copy(update={"title": title}))
    document = docx.Document(str(write_docx(long, payload, tmp_path, report_tables(payload))))
    assert document.paragraphs[0].text == title
    assert document.core_properties.title == title[:255]


def test_report_docx_holds_the_headline_effects_and_tables(run) -> None:
    results, payload, out = run
    document = docx.Document(str(out / "report.docx"))
    text = [p.text for p in document.paragraphs]
    assert text[0] == results.study.display_title
    assert summary_sentences(results, payload)[0] in text
    effects = document.tables[0]
    assert [c.text for c in effects.rows[0].cells][:4] == ["Outcome", "Method", "Estimand", "Estimate"]
    assert len(effects.rows) == len(payload["effects"]) + 1
    first = payload["effects"][0]
    assert effects.rows[1].cells[3].text == f"{first['estimate']:.4f}"
    assert len(document.tables) == 3  # effects, Table 1, balance
    figures = sorted((out / "figures").glob("*.png"))
    assert figures and len(document.inline_shapes) == len(figures)


def test_the_audit_passes_and_a_rerun_replaces_the_exports(run, tmp_path, capsys) -> None:
    _, _, out = run
    assert main(["audit", str(out)]) == 0
    shutil.copytree(out / "tables", tmp_path / "tables")  # an earlier run's, with subgroups
    (tmp_path / "tables" / "mine.txt").write_text("kept")
    run_study(_study(60, sensitivity=False), out_dir=tmp_path)
    assert (tmp_path / "report.docx").is_file() and (tmp_path / "tables" / "effects.csv").is_file()
    assert not (tmp_path / "tables" / "subgroups.csv").exists()
    assert (tmp_path / "tables" / "mine.txt").read_text() == "kept"
    assert main(["audit", str(tmp_path)]) == 0


def test_table_one_section(run) -> None:
    results, payload, _ = run
    page = table_one_section(results, payload)
    samples = {r["sample"] for r in payload["balance"]["rows"]}
    assert page.count("<table") == len(samples) and "<h3>Matched</h3>" in page  # one per sample
    assert "suppressed" in page and "%" in page and 'class="flag"' in page
    assert "treated group in the unadjusted sample" in page


def test_results_objects_to_latex_and_to_excel(run, tmp_path) -> None:
    results = run[0]
    latex = results.effects.to_latex()
    assert latex.count("\\\\") == len(results.effects) + 1 and "composite\\_score" in latex
    frame = pd.read_excel(results.effects.to_excel(tmp_path / "effects.xlsx"))
    expected = results.effects.to_frame()
    assert list(frame["estimate"]) == pytest.approx(list(expected["estimate"]))
    balance = results.balance
    assert balance.to_latex().count("\\\\") == len(balance.frame) + 1
    frame = pd.read_excel(balance.to_excel(tmp_path / "balance.xlsx"))
    assert len(frame) == len(balance.frame)
    hidden = frame[frame["suppressed"]]
    assert len(hidden) and set(hidden["smd"]) == {"suppressed"}
    shown = frame[~frame["suppressed"]]
    assert list(shown["smd"].astype(float)) == pytest.approx(
        list(balance.frame.loc[~balance.frame.suppressed, "smd"])
    )


def test_latex_cells_are_escaped() -> None:
    assert latex_escape("a_b & 50% #1 {x} ~ ^ \\ <10") == (
        r"a\_b \& 50\% \#1 \{x\} \textasciitilde{} \textasciicircum{} \textbackslash{} \textless{}10"
    )
    frame = pd.DataFrame({"name": ["x_1", "y"], "value": [0.5, math.nan], "n": [3, "suppressed"]})
    lines = latex_table(frame, digits=2).splitlines()
    assert lines[1] == "\\begin{tabular}{lrr}"
    assert "x\\_1 & 0.50 & 3 \\\\" in lines and "y & -- & suppressed \\\\" in lines
