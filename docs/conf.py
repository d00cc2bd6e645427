"""Sphinx configuration for the reimpact documentation (``make docs``).

The API reference is generated at build time from ``reimpact.__all__``: one entry per public name,
documented as ``reimpact.<name>``, so it follows the package whichever module a name lives in.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "src"))

from sphinx.util import logging  # noqa: E402

import reimpact  # noqa: E402

logger = logging.getLogger(__name__)

project = "reimpact"
author = "the reimpact authors"
copyright = "2026, the reimpact authors"
release = version = reimpact.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
napoleon_numpy_docstring = True
napoleon_google_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

exclude_patterns = ["_build"]
html_theme = "alabaster"
html_title = f"reimpact {release}"
html_static_path: list[str] = []


def _directive(obj: object) -> str:
    if inspect.isclass(obj):
        return "autoexception" if issubclass(obj, BaseException) else "autoclass"
    if callable(obj):
        return "autofunction"
    return "autodata"


# public names that are data, not classes or functions: what they hold (autodoc would show the
# docstring of their type)
DATA = {
    "METHODS": "The registry of effect estimators: method name (``naive``, ``psm``, ``ipw``, "
    "``aipw`` and any added with :func:`reimpact.register`) -> a record of the estimator class, "
    "its study-file section and its label. The study file, the pipeline, ``results.json`` and the "
    "report all read it.",
}


def write_api_reference(path: Path = HERE / "api.rst") -> None:
    """Write ``api.rst``: every name in ``reimpact.__all__`` as ``reimpact.<name>``, grouped by the
    module that defines it today."""
    groups: dict[str, list[tuple[str, object]]] = {}
    for name in reimpact.__all__:
        if name.startswith("__"):
            continue
        try:
            obj = getattr(reimpact, name)  # resolves the lazy export
        except Exception as exc:  # a broken import must show as a warning, not stop the build
            logger.warning(
                "api.rst: reimpact.%s cannot be imported (%s: %s); left out",
                name,
                type(exc).__name__,
                exc,
            )
            continue
        module = obj.__module__ if inspect.isclass(obj) or callable(obj) else "reimpact.registry"
        groups.setdefault(module, []).append((name, obj))
    lines = [
        "API reference",
        "=============",
        "",
        "Every public name, importable as ``from reimpact import <name>``. This page is generated",
        "from ``reimpact.__all__`` when the documentation is built; the headings name the module",
        "that defines each object in this version.",
        "",
        ".. data:: reimpact.__version__",
        "",
        f"   The package version (``{reimpact.__version__}``); ``reimpact --version`` prints it.",
        "",
    ]
    for module in sorted(groups):
        lines += [f"``{module}``", "-" * (len(module) + 4), ""]
        for name, obj in groups[module]:
            if name in DATA:
                lines += [f".. data:: reimpact.{name}", "", f"   {DATA[name]}", ""]
            else:
                lines += [f".. {_directive(obj)}:: reimpact.{name}", ""]
    text = "\n".join(lines)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


write_api_reference()
