"""Small-cell suppression: no count or statistic describing fewer than ``min_cell_size`` returnees
leaves the package (report, results.json, figures).

Counts between 1 and ``min_cell_size - 1`` are shown as ``"<10"`` (for the default size); zero is
shown, as it describes nobody. By convention, a result note that starts with a number counts
returnees, so that number is masked the same way.
"""

from __future__ import annotations

import re
from typing import Any

_LEADING_COUNT = re.compile(r"^(\d+)(?= )")


def count(value: int, min_cell_size: int) -> int | str:
    """A count, or ``"<min_cell_size"`` when it describes 1 to min_cell_size - 1 returnees."""
    return f"<{min_cell_size}" if 0 < value < min_cell_size else value


def counts(tree: Any, min_cell_size: int) -> Any:
    """Mask every integer count in a nested dict/list of counts (e.g. the sample flow)."""
    if isinstance(tree, dict):
        return {k: counts(v, min_cell_size) for k, v in tree.items()}
    if isinstance(tree, list):
        return [counts(v, min_cell_size) for v in tree]
    if isinstance(tree, int) and not isinstance(tree, bool):
        return count(tree, min_cell_size)
    return tree


def note(text: str, min_cell_size: int) -> str:
    """Mask a note's leading count of returnees."""
    match = _LEADING_COUNT.match(text)
    if match and 0 < int(match.group(1)) < min_cell_size:
        return f"<{min_cell_size}" + text[match.end() :]
    return text
