"""The package's import graph: no cycles anywhere, and lower layers never import upper ones
(what `mlpcli --help` may import at start-up: test_startup.py).

Every import statement counts, including the lazy ones inside functions: a cycle that only
closes at call time is still a cycle. The graph is built from the source with `ast`, so the
test follows the package as it grows, whatever its modules are called.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mlpcli
from mlpcli import config

PACKAGE = Path(mlpcli.__file__).parent
# what the numerical core and the data layer must never import: the run store and everything
# above it (wiring, display, command line)
UPPER_LAYERS = ("mlpcli.runs", "mlpcli.experiment", "mlpcli.console", "mlpcli.signals",
                "mlpcli.cli")
LOWER_LAYERS = ("mlpcli.core", "mlpcli.data")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The mlpcli modules `name` imports anywhere in its source (a name imported from a
    package counts as its submodule when there is one)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, `level` steps up
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_lazy_imports_and_packages():
    graph = import_graph()
    assert "mlpcli.cli" in graph and "mlpcli.config" in graph
    assert "mlpcli.config" in graph["mlpcli.cli"]
    assert "mlpcli.experiment" in graph["mlpcli.cli"]  # imported inside a command only


def test_find_cycle_finds_a_cycle_and_only_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles_in_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_core_and_data_never_import_the_layers_above():
    wrong = {f"{m} imports {dep}" for m, deps in import_graph().items()
             if m.startswith(LOWER_LAYERS) for dep in deps if dep.startswith(UPPER_LAYERS)}
    assert not wrong, sorted(wrong)


def test_the_option_names_are_the_registries_keys():
    """config.py lists the choices (the CLI offers them without importing numpy); core keys its
    registries by the same names."""
    from mlpcli.core.losses import LOSSES
    from mlpcli.core.model import ACTIVATIONS

    assert tuple(ACTIVATIONS) == config.ACTIVATION_NAMES
    assert tuple(LOSSES) == config.LOSS_NAMES

