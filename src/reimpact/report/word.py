"""``report.docx``: the report's core as a Word document a reader can edit and paste from: the
title, the summary, the effects table, Table 1, the balance table and the run's figures. Built,
like the HTML report, from the published payload (and the PNG files the run wrote), so it holds
nothing ``results.json`` and ``figures/`` do not."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..io.latex import column_align
from .formatting import display_table, xml_safe
from .sections.table_one import smd_rule, table_one_note

if TYPE_CHECKING:
    from docx.document import Document

    from ..results import StudyResults

TABLE_POINTS = 7.5  # table text size: Table 1 with three samples has 11 columns on A4
FIGURE_CAPTIONS = {
    "overlap": "Propensity scores by group before adjustment and under each adjustment.",
    "love": "Love plot: standardised mean differences before and after adjustment.",
    "ecdf": "Empirical distribution functions of the least balanced continuous covariates.",
    "forest": "Effects with 95% confidence intervals.",
    "gamma": "Rosenbaum bounds: upper bound on the p-value against Gamma.",
    "contour": "Omitted-variable bounds: contours of the adjusted estimate.",
    "dml_contour": "AIPW omitted-variable bounds: contours of the bound closer to zero.",
    "subgroups": "Effects by subgroup.",
    "levels": "Generalised propensity score of every level: units at the level against the others.",
    "dose": "Dose-response: mean potential outcome at every dose with pointwise 95% intervals.",
}


def add_table(document: Document, name: str, frame: pd.DataFrame) -> None:
    """One table of :mod:`.tables` as a Word table: a bold header row, the cells as the report
    shows them (:func:`.formatting.display_table`), numbers right-aligned."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    text = display_table(name, frame)
    align = column_align(frame[list(text.columns)])
    table = document.add_table(rows=1 + len(text), cols=len(text.columns))
    table.style = "Table Grid"
    rows = [list(map(str, text.columns)), *(list(r) for r in text.itertuples(index=False, name=None))]
    for i, (row, values) in enumerate(zip(table.rows, rows, strict=True)):
        for j, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
            paragraph = cell.paragraphs[0]
            run = paragraph.add_run(xml_safe(str(value)))
            run.font.size = Pt(TABLE_POINTS)
            run.bold = i == 0
            if i and align[j] == "r":
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _note(document: Document, text: str) -> None:
    from docx.shared import Pt

    run = document.add_paragraph().add_run(xml_safe(text))
    run.italic = True
    run.font.size = Pt(9)


def write_docx(
    results: StudyResults, published: dict, out: Path, tables: dict[str, pd.DataFrame]
) -> Path:
    """Write ``out/report.docx``: the title, the summary sentences, the effects table, Table 1,
    the balance table (``tables``, from the published payload) and the PNG figures found in
    ``out/figures``; return its path."""
    import docx
    from docx.shared import Cm, Pt

    from . import FIGURES
    from .sections.summary import summary_sentences

    document = docx.Document()
    for section in document.sections:
        section.page_width, section.page_height = Cm(21), Cm(29.7)
        section.left_margin = section.right_margin = Cm(2)
    document.styles["Normal"].font.size = Pt(10)
    title = xml_safe(results.study.display_title)
    document.core_properties.title = title[:255]  # Word's limit for a document property
    document.core_properties.author = "reimpact"
    document.add_heading(title, 0)
    units = results.study.unit_label
    _note(
        document,
        f"reimpact report, {published.get('created', '')}. Aggregates only; cells describing fewer "
        f"than {results.min_cell_size} {units} are suppressed.",
    )
    document.add_heading("Summary", 1)
    for sentence in summary_sentences(results, published):
        document.add_paragraph().add_run(xml_safe(sentence)).bold = sentence.startswith("Caution")
    document.add_heading("Effects", 1)
    add_table(document, "effects", tables["effects"])
    estimand = (published.get("balance") or {}).get("estimand") or results.study.estimand
    document.add_heading("Table 1: baseline characteristics by group", 1)
    sampled = results.study.weights is not None
    _note(document, table_one_note(estimand, results.min_cell_size, units, sampled))
    add_table(document, "table_one", tables["table_one"])
    document.add_heading("Balance", 1)
    _note(
        document,
        f"Standardised mean differences (SMD) use {smd_rule(estimand)}. Var. ratio: treated over "
        "control variance (numeric covariates). KS: maximum distance between the groups' "
        "empirical distribution functions.",
    )
    add_table(document, "balance", tables["balance"])
    if "balance_pairs" in tables:
        document.add_heading("Balance between the other pairs of levels", 2)
        add_table(document, "balance_pairs", tables["balance_pairs"])
    continuous = ((published.get("design") or {}).get("dose") or {}).get("kind") == "continuous"
    if "dose_response" in tables and not continuous:  # a continuous curve: the figure and the CSV
        document.add_heading("Dose-response", 1)
        add_table(document, "dose_response", tables["dose_response"])
    pictures = [(n, out / "figures" / f"{f}.png") for n, f in FIGURES.items()]
    pictures = [(n, p) for n, p in pictures if p.is_file()]
    if pictures:
        document.add_heading("Figures", 1)
    for name, path in pictures:
        document.add_picture(str(path), width=Cm(16.5))
        _note(document, FIGURE_CAPTIONS.get(name, name))
    path = out / "report.docx"
    document.save(str(path))
    return path
