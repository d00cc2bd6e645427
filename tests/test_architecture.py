"""The layout stays one-way and small (issue 13): no import cycle among the package's modules, no
module over 400 lines, no private name imported from another module.

Imports are read from the source (``ast``) at module level, outside ``if TYPE_CHECKING:``; imports
inside functions (lazy imports of heavy or optional parts) are not part of the module graph.
Importing ``a.b.c`` first runs the ``__init__`` of the packages ``a`` and ``a.b``, so such an import
is also an edge to each package above the target that does not contain the importing module (the
cycle ``estimators -> design -> config -> estimators`` ran through package ``__init__`` files).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "reimpact"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(p for p in parts if p != "__init__")
        out[name] = path
    return out


MODULES = _modules()


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _module_level_imports(tree: ast.Module):
    """Import statements at module level, skipping ``if TYPE_CHECKING:`` blocks."""
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
            yield from (n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom)))
        elif isinstance(node, ast.Try):
            yield from (n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom)))


def _resolve(node: ast.ImportFrom, name: str, path: Path) -> str:
    base = _package_of(name, path).split(".") if name or path.name == "__init__.py" else []
    if node.level:
        base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
        return ".".join([*base, *([node.module] if node.module else [])]).strip(".")
    module = node.module or ""
    return module.removeprefix("reimpact").strip(".") if module.startswith("reimpact") else "<external>"


def _edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _module_level_imports(tree):
            if isinstance(node, ast.ImportFrom):
                target = _resolve(node, name, path)
                if target == "<external>":
                    continue
                for alias in node.names:
                    full = f"{target}.{alias.name}".strip(".")
                    graph[name].add(full if full in MODULES else target)
            else:
                for alias in node.names:
                    if alias.name.startswith("reimpact"):
                        graph[name].add(alias.name.removeprefix("reimpact").strip("."))
        graph[name] |= {p for target in graph[name] for p in _packages_entered(target, name)}
        graph[name] -= {name}
    return graph


def _packages_entered(target: str, importer: str) -> set[str]:
    """The packages whose ``__init__`` importing ``target`` runs, seen from ``importer``: every
    package above the target, except those that contain the importer (already initialised)."""
    parts = target.split(".")
    above = {".".join(parts[:k]) for k in range(1, len(parts))}
    own = {".".join(importer.split(".")[:k]) for k in range(1, importer.count(".") + 2)}
    return {p for p in above - own if p in MODULES and MODULES[p].name == "__init__.py"}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the directed graph (a list of nodes, first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt in graph and state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None


def test_the_import_graph_is_read_right() -> None:
    graph = _edges()
    assert {"registry", "design", "results", "sample"} <= graph["pipeline"]
    assert "estimators" in graph["registry"] and "registry" in graph["config.study"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle() -> None:
    graph = _edges()
    # a package's __init__ re-exporting its own submodules is not a cycle through the package
    for name in graph:
        graph[name] = {m for m in graph[name] if not (m and name.startswith(m + "."))}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(m or "reimpact" for m in cycle or [])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_over_400_lines(name: str) -> None:
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= 400, f"{MODULES[name].relative_to(PACKAGE)} has {lines} lines"


def test_no_private_name_imported_across_modules() -> None:
    found = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level or (node.module or "").startswith("reimpact"):
                found += [
                    f"{path.relative_to(PACKAGE)}: {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and alias.name != "__version__"
                ]
    assert not found, found


def test_the_report_never_imports_the_pipeline() -> None:
    graph = _edges()
    report = [m for m in graph if m == "report" or m.startswith("report.")]
    for module in report:
        assert not {m for m in graph[module] if m in ("pipeline", "analysis")}, module
    for module in ("results", "results.study", "results.effects"):
        assert not {m for m in graph[module] if m.startswith("report")}, module
