"""Old import paths kept for one release after the 0.2 layout (issue 13), with a warning."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from importlib import import_module
from typing import Any


def moved(old: str, new: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for the old module ``old``: each name in ``new`` (name -> the
    module that now holds it, or ``"module:new_name"`` when it was renamed too) still resolves,
    with a ``DeprecationWarning`` naming the new path."""

    def __getattr__(name: str) -> Any:
        if name not in new:
            raise AttributeError(f"module '{old}' has no attribute '{name}'")
        module, _, attribute = new[name].partition(":")
        attribute = attribute or name
        warnings.warn(
            f"{old}.{name} moved to {module}.{attribute}; the old path is removed in 0.3",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(import_module(module), attribute)

    return __getattr__
