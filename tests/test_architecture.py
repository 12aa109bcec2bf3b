"""The module graph of pingji, read from the source with `ast`: no import cycles between
modules, and the layering docs/architecture.md states (its "Layers" table).

Every `import` counts — at the top of a module and inside functions (a lazy import is still a
dependency: it only hides a cycle from Python until the function runs) — except those under
`if TYPE_CHECKING:`, which never run. `from pkg import name` is an edge to `pkg.name` when that
is a module, else to `pkg` (its `__init__`).
"""

from __future__ import annotations

import ast
from collections import deque
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "pingji"

# Importable from every layer, importing nothing above themselves: the root package
# (__version__), the root exception, messages, periods, optional extras, SQL quoting.
BASE = frozenset(
    {"pingji", "pingji.errors", "pingji.i18n", "pingji.periods", "pingji.extras", "pingji.sqltext"}
)
_BELOW_WEB = ("pingji.expr", "pingji.data", "pingji.scheme", "pingji.templates", "pingji.engine")
# What each package may import besides itself and BASE (docs/architecture.md, "Layers").
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "pingji.expr": (),
    "pingji.data": (),
    "pingji.scheme": ("pingji.expr", "pingji.data.contract"),
    "pingji.templates": ("pingji.scheme",),
    # digest.py: a built-in scheme by its name, and how the output rounds its numbers
    "pingji.engine": (
        "pingji.scheme",
        "pingji.expr",
        "pingji.data",
        "pingji.templates",
        "pingji.output.numbers",
    ),
    "pingji.output": ("pingji.engine", "pingji.scheme", "pingji.expr"),
    # the CLI starts the web app (serve, manage, demo); the web app never imports the CLI
    "pingji.web": (*_BELOW_WEB, "pingji.output"),
    "pingji.cli": (*_BELOW_WEB, "pingji.output", "pingji.web"),
}
# The runs app in layers (docs/architecture.md): none of these imports one after it.
RUNS_LAYERS = tuple(
    f"pingji.web.runs.{name}"
    for name in (
        "files",
        "filters",
        "models",
        "coverage",
        "execution",
        "results",
        "exports",
        "tasks",
        "services",
    )
)
# The executor imports no Ibis; what running a cached plan loads (the engine package, run.py
# and the plan cache and digests it reads) imports no scheme parser either. Loading the
# modules on the left imports none of the packages on the right (tests/engine/test_cache.py
# checks a whole command at run time; this names the import that would break it).
_CACHED_RUN = ("pingji.engine", "pingji.engine.run", "pingji.engine.frozen", "pingji.engine.digest")
LIGHT: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    ((*_CACHED_RUN, "pingji.engine.assemble", "pingji.engine.explain"), ("ibis",)),
    (_CACHED_RUN, ("ibis", "pydantic", "ruamel")),
)


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted((SRC / ROOT).rglob("*.py"))}


@cache
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST, top_level: bool):
    """Yield the import statements of a module that can run: not under `if TYPE_CHECKING:`,
    and with `top_level`, not inside a function (those run when the module is loaded)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if top_level and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The deepest module of ours that `name` is or lies in (`a.b.C` → `a.b`)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(
    module: str, modules: dict[str, Path], top_level: bool = False, others: bool = False
) -> set[str]:
    """The modules of ours that `module` imports (with `others`, the other top-level
    packages it imports too: `ibis`, `duckdb` …)."""
    path = modules[module]
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _import_nodes(_parse(path), top_level):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                package = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        for target in targets:
            if target.split(".")[0] != ROOT:
                if others:
                    found.add(target.split(".")[0])
                continue
            owner = _owner(target, modules)
            if owner is not None and owner != module:
                found.add(owner)
    return found


def import_graph(top_level: bool = False, others: bool = False) -> dict[str, set[str]]:
    """Map each pingji module to the modules it imports."""
    modules = _modules()
    return {name: _imports(name, modules, top_level, others) for name in modules}


def strongly_connected(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Return the groups of modules that import each other (Tarjan; groups of one left out)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        work = [(node, iter(sorted(graph.get(node, ()))))]
        while work:
            current, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[current] = min(low[current], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[current])
            if low[current] == index[current]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == current:
                        break
                if len(group) > 1:
                    groups.append(frozenset(group))

    for start in sorted(graph):
        if start not in index:
            visit(start)
    return groups


def path_between(graph: dict[str, set[str]], start: str, goal, within=None) -> list[str] | None:
    """Return a shortest import path from `start` to a module for which `goal` holds (not
    `start` itself), through modules in `within` (all when None); None when there is none."""
    paths = {start: [start]}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph.get(node, ())):
            if goal(child):
                return [*paths[node], child]
            if child not in paths and (within is None or child in within):
                paths[child] = [*paths[node], child]
                queue.append(child)
    return None


def cycle_path(graph: dict[str, set[str]], group: frozenset[str]) -> list[str]:
    """Return one cycle through the group's first module, ending where it starts."""
    start = min(group)
    return path_between(graph, start, lambda m: m == start, group)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_it_reads_lazy_and_from_imports(graph):
    """The graph sees an import inside a function and resolves `from pkg import module`."""
    # cli.main imports the engine's digest inside a command only
    assert "pingji.engine.digest" in graph["pingji.cli.main"]
    assert "pingji.engine.digest" not in import_graph(top_level=True)["pingji.cli.main"]
    # `from pingji.web.jobs import lease` is an edge to the module lease, not to the package
    assert "pingji.web.jobs.lease" in graph["pingji.web.runs.execution"]
    assert "pingji.web.jobs" not in graph["pingji.web.runs.execution"]


def test_it_finds_a_cycle_and_names_its_path():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}}
    groups = strongly_connected(graph)
    assert sorted(map(sorted, groups)) == [["a", "b", "c"], ["d", "e"]]
    assert cycle_path(graph, frozenset({"a", "b", "c"})) == ["a", "b", "c", "a"]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_modules_import_no_cycle(graph):
    groups = strongly_connected(graph)
    assert not groups, "import cycles:\n" + "\n".join(
        " → ".join(cycle_path(graph, g)) for g in groups
    )


def test_every_module_has_a_layer(graph):
    """A new package (or top-level module) takes its place in the layers before it is used."""
    placed = [m for m in graph if m in BASE or any(_within(m, p) for p in MAY_IMPORT)]
    unplaced = sorted(set(graph) - set(placed))
    assert not unplaced, f"modules in no layer (add them to BASE or MAY_IMPORT): {unplaced}"


def test_layers_import_only_what_lies_below_them(graph):
    wrong = []
    for module, imported in sorted(graph.items()):
        if module in BASE:
            wrong += [f"{module} → {t}" for t in sorted(imported) if t not in BASE]
            continue
        package = next((p for p in MAY_IMPORT if _within(module, p)), None)
        if package is None:
            continue  # test_every_module_has_a_layer names it
        allowed = (package, *MAY_IMPORT[package])
        wrong += [
            f"{module} → {t}"
            for t in sorted(imported)
            if t not in BASE and not any(_within(t, a) for a in allowed)
        ]
    assert not wrong, "imports against the layers (docs/architecture.md):\n" + "\n".join(wrong)


def test_the_runs_app_imports_only_downwards(graph):
    wrong = [
        f"{module} → {later}"
        for i, module in enumerate(RUNS_LAYERS)
        for later in RUNS_LAYERS[i + 1 :]
        if later in graph[module]
    ]
    assert not wrong, "imports against the layers of runs/:\n" + "\n".join(wrong)


@pytest.mark.parametrize(("modules", "heavy"), LIGHT)
def test_the_executor_loads_no_compiler(modules, heavy):
    graph = import_graph(top_level=True, others=True)
    # loading a.b.c runs a and a.b first
    for name in list(graph):
        parent = name.rpartition(".")[0]
        if parent in graph:
            graph[name] = graph[name] | {parent}
    loaded = [
        " → ".join(found)
        for start in modules
        if (found := path_between(graph, start, lambda m: m in heavy)) is not None
    ]
    assert not loaded, "loaded on import:\n" + "\n".join(loaded)
