"""The conformance package imports in one direction: leaves (model, http, geo, timeutil) <-
context <- registry <- suite modules <- suites/runner/cli. The graph is read from the source,
so an import hidden in a function, under TYPE_CHECKING or behind importlib still counts:
each of them is an edge in the design, and the next change can make it a runtime cycle."""

from __future__ import annotations

import ast
from itertools import pairwise
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "conformance"


def _module_names() -> dict[str, Path]:
    names: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


MODULES = _module_names()
# What discovers and runs the suites, and writes the reports: nothing below may import it.
TOP = (
    "conformance.runner",
    "conformance.cli",
    "conformance.suites",
    "conformance.compare",
    "conformance.reports",
)


def _runs(name: str) -> list[str]:
    """The package modules that importing `name` executes: it and its parent packages."""
    parts = name.split(".")
    prefixes = (".".join(parts[:i]) for i in range(2, len(parts) + 1))
    return [p for p in prefixes if p in MODULES]


def _where(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str:
    """'function' for an import inside a function, 'type-only' under TYPE_CHECKING."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return "function"
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return "type-only"
    return "module"


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = module.split(".")[: None if is_package else -1]
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        return [base, *(f"{base}.{a.name}" for a in node.names)]
    return []


def import_graph() -> dict[tuple[str, str], set[str]]:
    """(importer, imported) -> how: module, function, type-only or by-name. A module that
    calls importlib.import_module is taken to import every module its strings name."""
    edges: dict[tuple[str, str], set[str]] = {}
    for module, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        by_name = "import_module" in source
        for node in ast.walk(tree):
            names = [
                (n, _where(node, parents)) for n in _imported(node, module, path.stem == "__init__")
            ]
            if by_name and isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.append((node.value, "by-name"))
            for name, how in names:
                for target in _runs(name):
                    if target != module:
                        edges.setdefault((module, target), set()).add(how)
    return edges


def _graph(edges: dict[tuple[str, str], set[str]]) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        graph.setdefault(a, []).append(b)
    return graph


def on_cycles(edges: dict[tuple[str, str], set[str]]) -> list[str]:
    """Every module from which an import chain leads back to itself."""
    graph = _graph(edges)

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in graph.get(todo.pop(), []):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    return sorted(m for m in graph if m in reachable(m))


def find_cycle(edges: dict[tuple[str, str], set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None."""
    graph = _graph(edges)
    state: dict[str, str] = {}  # "open" while on the path, "done" after
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_graph_sees_every_kind_of_import() -> None:
    edges = import_graph()
    assert "module" in edges[("conformance.registry", "conformance.context")]
    assert "module" in edges[("conformance.features.items", "conformance.features.api")]
    assert "function" in edges[("conformance.cli", "conformance.runner")]
    assert "by-name" in edges[("conformance.suites", "conformance.features.filter")]


def test_conformance_package_has_no_import_cycle() -> None:
    edges = import_graph()
    cycle = find_cycle(edges)
    if cycle:
        steps = [f"{a} -> {b} ({', '.join(sorted(edges[a, b]))})" for a, b in pairwise(cycle)]
        tangled = on_cycles(edges)
        raise AssertionError(
            "import cycle in conformance/:\n  "
            + "\n  ".join(steps)
            + f"\n{len(tangled)} modules lie on import cycles: {', '.join(tangled)}"
        )


def test_nothing_below_imports_the_runner_the_cli_or_the_reports() -> None:
    def on_top(name: str) -> bool:
        return any(name == t or name.startswith(f"{t}.") for t in TOP)

    upward = [(a, b) for a, b in import_graph() if on_top(b) and not on_top(a)]
    assert not upward, f"imports from below into the runner's layer: {upward}"
