"""Old import paths kept for one release after the 0.2 layout (issue 13), with a warning."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from importlib import import_module
from typing import Any


def moved(old: str, new: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for the old module ``old``: each name in ``new`` (name -> the
    module that now holds it) still resolves, with a ``DeprecationWarning`` naming the new path."""

    def __getattr__(name: str) -> Any:
        if name not in new:
            raise AttributeError(f"module '{old}' has no attribute '{name}'")
        warnings.warn(
            f"{old}.{name} moved to {new[name]}.{name}; the old path is removed in 0.3",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(import_module(new[name]), name)

    return __getattr__
