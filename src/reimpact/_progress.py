"""Progress bars for long steps (cross-fitting, bootstrap, refutations), on standard error."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(
    items: Iterable[T], description: str, total: int | None = None, enabled: bool = False
) -> Iterator[T]:
    """``items`` wrapped in a tqdm bar when ``enabled``, unchanged otherwise."""
    if not enabled:
        yield from items
        return
    from tqdm.auto import tqdm

    yield from tqdm(items, desc=description, total=total, leave=False)
