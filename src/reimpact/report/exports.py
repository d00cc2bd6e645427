"""The report's tables in forms a reader can paste into their own work: under ``tables/`` each
table as CSV (unrounded, as published), as a sheet of ``tables.xlsx`` and as LaTeX (rounded as the
report shows it), and ``report.docx``. Everything is built from the published payload, the dict
that passed the disclosure gate and that ``results.json`` holds, so these files hold nothing it
does not."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..io.latex import column_align, latex_table
from .formatting import display_table, xml_safe
from .tables import TABLES, report_tables
from .word import write_docx

if TYPE_CHECKING:
    from ..results import StudyResults

TABLES_DIR = "tables"
WORKBOOK = "tables.xlsx"
DOCX = "report.docx"


def remove_exports(out: Path) -> None:
    """Remove what :func:`write_exports` wrote to ``out`` in an earlier run (and ``tables/`` if
    that leaves it empty); nothing else is touched."""
    (out / DOCX).unlink(missing_ok=True)
    folder = out / TABLES_DIR
    if not folder.is_dir():
        return
    (folder / WORKBOOK).unlink(missing_ok=True)
    for name in TABLES:
        for suffix in (".csv", ".tex"):
            (folder / f"{name}{suffix}").unlink(missing_ok=True)
    if not any(folder.iterdir()):
        folder.rmdir()


def write_tables(tables: dict[str, pd.DataFrame], folder: Path) -> list[Path]:
    """Write each table as ``<name>.csv`` and ``<name>.tex`` and as the sheet ``<name>`` of
    ``tables.xlsx`` in ``folder``; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        csv = folder / f"{name}.csv"
        frame.to_csv(csv, index=False)
        text = display_table(name, frame)
        tex = folder / f"{name}.tex"
        tex.write_text(latex_table(text, column_align(frame[list(text.columns)])), encoding="utf-8")
        written += [csv, tex]
    workbook = folder / WORKBOOK
    with pd.ExcelWriter(workbook, engine="openpyxl") as writer:
        for name, frame in tables.items():
            frame.apply(lambda column: column.map(xml_safe)).to_excel(
                writer, sheet_name=name, index=False
            )
            for row in writer.sheets[name].iter_rows():
                for cell in row:
                    if cell.data_type == "f":  # text starting with "=" is text, not a formula
                        cell.data_type = "s"
    return [*written, workbook]


def write_exports(results: StudyResults, published: dict, out: Path) -> list[Path]:
    """Write the tables (CSV, XLSX, LaTeX) under ``out/tables`` and ``out/report.docx``, after
    removing an earlier run's; return the paths written.

    Parameters
    ----------
    results : StudyResults
        The run's results, for the study's title, units and threshold (the summary reads them).
    published : dict
        The payload that passed the disclosure gate (what ``results.json`` holds): every number
        written comes from it.
    out : Path
        The output folder; ``out/figures`` holds the run's PNG figures for the Word report.

    Returns
    -------
    list of Path
    """
    remove_exports(out)
    tables = report_tables(published)
    written = write_tables(tables, out / TABLES_DIR)
    return [*written, write_docx(results, published, out, tables)]
