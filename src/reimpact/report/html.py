"""The self-contained HTML report: every figure embedded, aggregates only. This module is the
page: its style sheet, the order of the sections (built in :mod:`.sections`), the navigation and
the header."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .markup import escape
from .sections import (
    balance_section,
    effects_section,
    limitations_section,
    overlap_section,
    provenance_section,
    sample_section,
    sensitivity_section,
    study_section,
    summary_section,
    table_one_section,
    warnings_section,
)

if TYPE_CHECKING:
    from ..results import StudyResults

__all__ = ["SECTIONS", "STYLE", "render", "sensitivity_section"]

STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; max-width: 70rem;
       margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; line-height: 1.45;
       overflow-wrap: break-word; }
section { max-width: 100%; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ccc; margin-top: 2rem; }
.meta { color: #555; font-size: 0.9rem; }
nav a { margin-right: 1rem; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.85rem;
        font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e2e2e2; padding: 0.25rem 0.55rem; text-align: left;
         vertical-align: top; }
th { vertical-align: bottom; }
table.num td, table.num th { text-align: right; }
table.num td:first-child { min-width: 7rem; }
/* text wraps in a table too wide for its section (a number has nowhere to break); a table
   still too wide scrolls inside its section, a shadow at an edge saying there is more */
table { display: block; max-width: 100%; overflow-x: auto;
        background: linear-gradient(to right, #fff 30%, rgba(255, 255, 255, 0)) left / 2rem 100%,
                    linear-gradient(to left, #fff 30%, rgba(255, 255, 255, 0)) right / 2rem 100%,
                    radial-gradient(farthest-side at 0 50%, rgba(0, 0, 0, 0.18), transparent)
                      left / 0.7rem 100%,
                    radial-gradient(farthest-side at 100% 50%, rgba(0, 0, 0, 0.18), transparent)
                      right / 0.7rem 100%;
        background-repeat: no-repeat; background-attachment: local, local, scroll, scroll; }
table.num td:first-child, table.num th:first-child { text-align: left; }
thead th { background: #f3f3f3; }
td.flag { background: #fde2d0; }
.warning { background: #fff4e5; border-left: 4px solid #e69f00; padding: 0.4rem 0.8rem;
           margin: 0.4rem 0; }
.ok { background: #eaf6ef; border-left: 4px solid #009e73; padding: 0.4rem 0.8rem; }
figure { margin: 1rem 0; max-width: 100%; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #444; }
pre { background: #f7f7f7; padding: 0.6rem; overflow-x: auto; font-size: 0.8rem; }
.note { font-size: 0.85rem; color: #444; }
/* printed from the browser to an A4 PDF: no navigation, tables wrap instead of scrolling,
   figures fit the page and neither is split across pages */
@media print {
  @page { size: A4; margin: 15mm 14mm; }
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; color: #000; }
  nav { display: none; }
  h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
  table { display: table; width: auto; max-width: 100%; overflow: visible; background: none;
          font-size: 7pt; }
  th, td { padding: 0.15rem 0.3rem; }
  table.num td:first-child { min-width: 0; }
  thead { display: table-header-group; }
  table, figure, tr, pre, .warning, .ok, .caution { break-inside: avoid; page-break-inside: avoid; }
  figure img { max-width: 100%; max-height: 24cm; width: auto; border: none; }
  pre { white-space: pre-wrap; overflow: visible; }
  thead th, td.flag, .warning, .ok, .caution { print-color-adjust: exact;
                                               -webkit-print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
"""

SECTIONS = [
    ("summary", "Summary"),
    ("study", "Study"),
    ("sample", "Sample"),
    ("warnings", "Warnings"),
    ("overlap", "Overlap"),
    ("balance", "Balance"),
    ("table1", "Table 1"),
    ("effects", "Effects"),
    ("sensitivity", "Sensitivity"),
    ("limitations", "Limitations"),
    ("provenance", "Provenance"),
]
# the summary's own look: the headline large, a caution boxed
SUMMARY_STYLE = """
p.headline { font-size: 1.15rem; font-weight: 600; }
p.caution { border-left: 4px solid #D55E00; background: #fff4ec; padding: 0.5rem 0.8rem; }
"""


def render(
    results: StudyResults, published: dict, figures: dict[str, bytes | None], sensitivity_html: str
) -> str:
    """The whole report as one HTML string; counts and group statistics from ``published``."""
    title = escape(results.study.display_title)
    nav = "".join(f'<a href="#{key}">{label}</a>' for key, label in SECTIONS)
    parts = {
        "summary": summary_section(results, published),
        "study": study_section(results),
        "sample": sample_section(published),
        "warnings": warnings_section(published),
        "overlap": overlap_section(figures),
        "balance": balance_section(results, published, figures),
        "table1": table_one_section(results, published),
        "effects": effects_section(results, published, figures),
        "sensitivity": sensitivity_html,
        "limitations": limitations_section(results, published),
        "provenance": provenance_section(results),
    }
    body = "".join(
        f'<section id="{key}"><h2>{label}</h2>{parts[key]}</section>' for key, label in SECTIONS
    )
    created = escape(results.created)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}{SUMMARY_STYLE}</style></head><body><h1>{title}</h1>"
        f'<p class="meta">reimpact report, {created}. Aggregates only; cells describing fewer than '
        f"{results.min_cell_size} {escape(results.study.unit_label)} are suppressed.</p>"
        f"<nav>{nav}</nav>{body}</body></html>"
    )
