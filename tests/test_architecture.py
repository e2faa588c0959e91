"""The shape of the code, read from its imports: tram_core has no import cycle and no user interface, and pages
reach the database and the models only through tram_core, and tram_core only through its services.

Imports are read with ``ast``, wherever they stand: a function-level import is still a dependency (it only moves
the failure to the first call), so it counts for cycles too.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CORE = REPO_ROOT / "tram_core"
SERVICES = CORE / "services"
PAGES = REPO_ROOT / "pages"
UI_SCRIPTS = sorted(PAGES.glob("*.py")) + [REPO_ROOT / "streamlit_app.py"]
# What a page must not import: the database layer and the model runtime stay behind tram_core's functions.
PAGE_FORBIDDEN = ("tram_core.store", "torch", "sqlalchemy")


def _is_type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imported_modules(path: Path, package: str | None = None, runtime_only: bool = False) -> set[str]:
    """Every module ``path`` imports (absolute dotted names, relative imports resolved against ``package``), with
    ``from pkg import name`` counted as both ``pkg`` and ``pkg.name`` (the name may be a submodule).

    ``runtime_only`` leaves out imports under ``if TYPE_CHECKING:``, which load nothing when the code runs.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if _is_type_checking_block(node):
                skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = (package or "").split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def core_import_graph() -> dict[str, set[str]]:
    """tram_core module -> the tram_core modules it imports (anywhere in the file)."""
    modules = {f"tram_core.{path.stem}": path for path in CORE.glob("*.py") if path.stem != "__init__"}
    graph = {}
    for name, path in modules.items():
        wanted = imported_modules(path, package="tram_core")
        graph[name] = {m for m in wanted if m in modules and m != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The cycles of ``graph``: one entry per strongly connected group of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _imports_any(modules: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))


def test_the_cycle_finder_sees_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_tram_core_has_no_import_cycle():
    cycles = import_cycles(core_import_graph())
    detail = "; ".join(" <-> ".join(group) for group in cycles)
    assert not cycles, f"import cycles in tram_core (function-level imports count): {detail}"


def test_tram_core_never_imports_streamlit():
    offenders = {path.name: _imports_any(imported_modules(path, "tram_core"), ("streamlit",))
                 for path in CORE.glob("*.py")}
    found = {name: modules for name, modules in offenders.items() if modules}
    assert not found, f"tram_core must work without a user interface, but imports streamlit: {found}"


def test_pages_reach_the_store_and_models_only_through_tram_core():
    offenders = {path.name: _imports_any(imported_modules(path, "pages", runtime_only=True), PAGE_FORBIDDEN)
                 for path in UI_SCRIPTS}
    found = {name: modules for name, modules in offenders.items() if modules}
    assert not found, f"pages import what only tram_core may use ({', '.join(PAGE_FORBIDDEN)}): {found}"


def _is_tram_core(module: str, within: str = "tram_core") -> bool:
    return module == within or module.startswith(within + ".")


def test_pages_import_nothing_from_tram_core_but_its_services():
    """The pages draw what the services return and call the services for every action; type-only imports count."""
    offenders = {path.name: sorted(m for m in imported_modules(path, "pages")
                                   if _is_tram_core(m) and not _is_tram_core(m, "tram_core.services"))
                 for path in UI_SCRIPTS}
    found = {name: modules for name, modules in offenders.items() if modules}
    assert not found, f"pages may import only tram_core.services from tram_core: {found}"


def test_the_services_sit_on_top_of_tram_core_without_a_user_interface():
    """No other tram_core module uses the services (they are the pages' layer), and they never import streamlit."""
    below = {path.relative_to(REPO_ROOT).as_posix(): sorted(m for m in imported_modules(path, "tram_core")
                                                           if _is_tram_core(m, "tram_core.services"))
             for path in CORE.rglob("*.py") if SERVICES not in path.parents}
    found = {name: modules for name, modules in below.items() if modules}
    assert not found, f"tram_core modules below the services import them: {found}"
    ui = {path.name: _imports_any(imported_modules(path, "tram_core.services"), ("streamlit",))
          for path in SERVICES.glob("*.py")}
    found = {name: modules for name, modules in ui.items() if modules}
    assert not found, f"the services must work without a user interface, but import streamlit: {found}"


def test_the_services_have_no_import_cycle():
    modules = {f"tram_core.services.{path.stem}": path for path in SERVICES.glob("*.py") if path.stem != "__init__"}
    graph = {name: {m for m in imported_modules(path, "tram_core.services") if m in modules and m != name}
             for name, path in modules.items()}
    assert import_cycles(graph) == []
