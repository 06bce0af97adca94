"""The package's shape: layers import only downward, no import cycles, small modules.

These are read off the source with ``ast`` (imports inside functions count too: a lazy
import that closes a cycle is still a cycle, it only fails later). The layer order is
the one docs/api.md describes; a package may import the packages ranked below it.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "harness"

#: rank per top-level part of ``harness``; a module may import only lower ranks (or its own part)
LAYERS: dict[str, int] = {
    "errors": 0, "jsontools": 0, "redact": 0,
    "model": 1, "plugins": 1,
    "runfolder": 2, "proxy": 2,
    "scoring": 3,
    "telemetry": 4,
    "system": 5,
    "faults": 6, "load": 6,
    "contracts": 7, "report": 7,
    "gate": 8,
    "engine": 9,
    "sandbox": 10,
    "cli": 11, "pytest_plugin": 11, "__main__": 12,
}
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    return [node for node in ast.walk(tree) if id(node) not in skipped]


def _imports() -> dict[str, set[str]]:
    """module -> the harness modules it imports (anywhere in its body)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from harness.x import y`` may name a submodule y or an attribute of x
                targets = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith("harness.") and target != name:
                    graph[name].add(target)
    return graph


def _part(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_every_part_has_a_layer() -> None:
    parts = {_part(_module_name(p)) for p in PACKAGE.rglob("*.py")} - {""}
    assert parts <= set(LAYERS), f"give these a rank in LAYERS: {sorted(parts - set(LAYERS))}"


def test_no_upward_imports() -> None:
    upward = []
    for module, targets in _imports().items():
        if module == "harness":  # the public API facade re-exports from every layer
            continue
        for target in targets:
            mine, theirs = _part(module), _part(target)
            if mine != theirs and theirs and LAYERS[theirs] >= LAYERS[mine]:
                upward.append(f"{module} -> {target}")
    assert not upward, "imports against the layer order:\n" + "\n".join(sorted(upward))


def test_no_import_cycles() -> None:
    graph = _imports()
    graph.pop("harness", None)
    # a package's __init__ importing its own submodules is not a cycle worth reporting
    edges = {m: {t for t in ts if not m.startswith(t + ".") and t != "harness"} for m, ts in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it along a real seam"


def test_sources_cite_only_repository_files() -> None:
    pattern = re.compile(r"DESIGN\.md|\.\./shared/|\bissue #?\d+\b", re.IGNORECASE)
    files = [*PACKAGE.rglob("*.py"), *(ROOT / "docs").rglob("*.md"), ROOT / "README.md"]
    hits = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
            for p in files for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if pattern.search(line)]
    assert not hits, "cite docs/... instead:\n" + "\n".join(hits)
