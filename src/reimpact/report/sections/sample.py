"""What the analysis rests on: the sample flow from the rows read to the units analysed, matched
and weighted, and the warnings the run raised."""

from __future__ import annotations

from ..markup import escape, table
from ..tables import sample_flow_table


def sample_section(published: dict) -> str:
    """The sample flow as one table of steps and counts (counts as published), from the same
    table ``tables/sample_flow`` exports."""
    frame = sample_flow_table(published)
    rows = [(escape(step), escape(n)) for step, n in frame.itertuples(index=False, name=None)]
    return table([escape(c) for c in frame.columns], rows)


def warnings_section(published: dict) -> str:
    """Each published warning, or a note that there is none."""
    if not published["warnings"]:
        return '<p class="ok">No warnings: overlap, balance and the sample flow raised no concern.</p>'
    return "".join(f'<p class="warning">{escape(w)}</p>' for w in published["warnings"])
