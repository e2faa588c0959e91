"""The shape of the code, read from its imports and its sizes.

tram_core is layered: the top-level modules (settings, errors, attack, text_format) serve everyone; ``store`` (the
database) and ``io`` (files and URLs) sit below ``ml`` (models and scores); ``jobs`` (the queue and the worker) and
``views`` (what the pages show) use those; ``services`` is the pages' only door into tram_core, and ``cli`` is
reached only from ``python -m tram_core``. tram_core has no import cycle and no user interface, and no module or
function grows past a size a reader can hold.

Imports are read with ``ast``, wherever they stand: a function-level import is still a dependency (it only moves
the failure to the first call), so it counts for cycles and layers too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CORE = REPO_ROOT / "tram_core"
SERVICES = CORE / "services"
PAGES = REPO_ROOT / "pages"
UI_SCRIPTS = sorted(PAGES.glob("*.py")) + [REPO_ROOT / "streamlit_app.py"]
# What a page must not import: the database layer and the model runtime stay behind tram_core's functions.
PAGE_FORBIDDEN = ("tram_core.store", "torch", "sqlalchemy")
PACKAGES = ("tram_core.store", "tram_core.io", "tram_core.ml", "tram_core.jobs", "tram_core.views",
            "tram_core.services", "tram_core.cli")
# Each layer and what it must never import (a module of its own package aside).
LOWER_LAYERS_FORBID = {
    "tram_core.store": ("tram_core.ml", "tram_core.jobs", "tram_core.services", "tram_core.views"),
    "tram_core.io": ("tram_core.ml", "tram_core.jobs", "tram_core.services", "tram_core.views"),
    "tram_core.ml": ("tram_core.jobs", "tram_core.services", "tram_core.views", "tram_core.cli"),
}
HEAVY = ("torch", "transformers", "sklearn", "scipy", "pandas", "altair", "sqlalchemy", "streamlit")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
SIZED = sorted(CORE.rglob("*.py")) + UI_SCRIPTS


def module_name(path: Path) -> str:
    """The dotted name of a file under the repository root (``tram_core/io/__init__.py`` is ``tram_core.io``)."""
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(path: Path) -> str:
    """The package a file's relative imports resolve against: itself for an ``__init__``, else its parent's."""
    name = module_name(path)
    return name if path.stem == "__init__" else name.rpartition(".")[0]


def _is_type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imported_modules(path: Path, package: str | None = None, runtime_only: bool = False) -> set[str]:
    """Every module ``path`` imports (absolute dotted names, relative imports resolved against ``package``, by
    default the file's own), with ``from pkg import name`` counted as both ``pkg`` and ``pkg.name`` (the name may
    be a submodule).

    ``runtime_only`` leaves out imports under ``if TYPE_CHECKING:``, which load nothing when the code runs.
    """
    package = package_of(path) if package is None else package
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
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def core_modules() -> dict[str, Path]:
    """Every tram_core module by dotted name, packages (their ``__init__``) included."""
    return {module_name(path): path for path in sorted(CORE.rglob("*.py"))}


def core_import_graph() -> dict[str, set[str]]:
    """tram_core module -> the tram_core modules it imports (anywhere in the file)."""
    modules = core_modules()
    return {name: {m for m in imported_modules(path) if m in modules and m != name} for name, path in modules.items()}


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


def _is_tram_core(module: str, within: str = "tram_core") -> bool:
    return module == within or module.startswith(within + ".")


def _offenders(paths, forbidden: tuple[str, ...], runtime_only: bool = False) -> dict[str, list[str]]:
    """Per file (repository-relative), the forbidden modules it imports; files that import none are left out."""
    found = {path.relative_to(REPO_ROOT).as_posix(): _imports_any(imported_modules(path, runtime_only=runtime_only),
                                                                  forbidden)
             for path in paths}
    return {name: modules for name, modules in found.items() if modules}


def _files_of(package: str) -> list[Path]:
    return sorted((REPO_ROOT / package.replace(".", "/")).rglob("*.py"))


def _outside(package: str) -> list[Path]:
    """Every tram_core file outside ``package``."""
    inside = set(_files_of(package))
    return [path for path in sorted(CORE.rglob("*.py")) if path not in inside]


# --------------------------------------------------------------------------------------------------- the readers


def test_the_cycle_finder_sees_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_relative_imports_resolve_against_the_package(tmp_path, monkeypatch):
    folder = tmp_path / "tram_core" / "ml"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("from . import metrics\n")
    (folder / "predict.py").write_text("from .metrics import evaluate\nfrom .. import errors\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO_ROOT", tmp_path)
    assert module_name(folder / "__init__.py") == "tram_core.ml" and module_name(folder / "predict.py") == \
        "tram_core.ml.predict"
    assert "tram_core.ml.metrics" in imported_modules(folder / "__init__.py")
    assert {"tram_core.ml.metrics", "tram_core.errors"} <= imported_modules(folder / "predict.py")


def test_the_architecture_checks_see_every_module():
    names = set(core_modules())
    assert set(PACKAGES) <= names and "tram_core.io.url_fetch" in names and "tram_core.services.annotate" in names


# --------------------------------------------------------------------------------------------------- tram_core


def test_tram_core_has_no_import_cycle():
    cycles = import_cycles(core_import_graph())
    detail = "; ".join(" <-> ".join(group) for group in cycles)
    assert not cycles, f"import cycles in tram_core (function-level imports count): {detail}"


def test_tram_core_uses_absolute_imports_only():
    """``tram_core.io`` shares its name with the standard library's ``io``: absolute imports say which is meant."""
    found = {}
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        relative = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]
        if relative:
            found[path.relative_to(REPO_ROOT).as_posix()] = relative
    assert not found, f"relative imports (lines) in tram_core: {found}"


def test_tram_core_never_imports_streamlit():
    found = _offenders(CORE.rglob("*.py"), ("streamlit",))
    assert not found, f"tram_core must work without a user interface, but imports streamlit: {found}"


@pytest.mark.parametrize("layer", sorted(LOWER_LAYERS_FORBID))
def test_a_layer_never_imports_the_layers_above_it(layer):
    found = _offenders(_files_of(layer), LOWER_LAYERS_FORBID[layer])
    assert not found, f"{layer} imports what sits above it ({', '.join(LOWER_LAYERS_FORBID[layer])}): {found}"


def test_nothing_but_the_pages_imports_the_services():
    """No other tram_core module uses the services (they are the pages' layer), and they never import streamlit."""
    found = _offenders(_outside("tram_core.services"), ("tram_core.services",))
    assert not found, f"tram_core modules below the services import them: {found}"
    found = _offenders(_files_of("tram_core.services"), ("streamlit",))
    assert not found, f"the services must work without a user interface, but import streamlit: {found}"


def test_nothing_imports_the_command_line_but_main():
    paths = [path for path in _outside("tram_core.cli") if path != CORE / "__main__.py"] + UI_SCRIPTS
    found = _offenders(paths, ("tram_core.cli",))
    assert not found, f"only python -m tram_core (tram_core/__main__.py) may import tram_core.cli: {found}"


def test_the_services_have_no_import_cycle():
    modules = {module_name(path): path for path in SERVICES.glob("*.py") if path.stem != "__init__"}
    graph = {name: {m for m in imported_modules(path) if m in modules and m != name} for name, path in modules.items()}
    assert import_cycles(graph) == []


@pytest.mark.slow
def test_importing_a_package_loads_no_heavy_library():
    """A package's ``__init__`` stays light: ``import tram_core.io`` must not pull in torch (or pandas, ...)."""
    script = ("import sys, importlib; importlib.import_module(sys.argv[1]); "
              f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    loaded = {}
    for package in PACKAGES:
        if package == "tram_core.store":
            continue  # the store is the database: it loads sqlalchemy by design
        out = subprocess.run([sys.executable, "-c", script, package], capture_output=True, text=True, check=True,
                             cwd=REPO_ROOT, timeout=120).stdout.split()
        if out:
            loaded[package] = out
    assert not loaded, f"importing these packages loads heavy libraries: {loaded}"


@pytest.mark.slow
def test_the_reports_and_annotate_pages_start_without_the_chart_and_model_libraries():
    """The first page a server shows loads in about a second: what every page imports (pages.ui) and the services
    of Reports and Annotate do not pull in altair (850 ms to import, most of it jsonschema's URI grammar), torch,
    transformers or scikit-learn; the pages that draw charts import altair themselves."""
    script = ("import sys; import pages.ui; from tram_core.services import annotate, exports, report_imports, "
              "reports; print(' '.join(m for m in ('altair', 'torch', 'transformers', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO_ROOT,
                         timeout=120).stdout.split()
    assert out == []


# --------------------------------------------------------------------------------------------------- sizes


def _function_lengths(path: Path) -> list[tuple[str, int, int]]:
    """(qualified name, first line, lines) of every function and method in ``path``, nested ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                found.append((name, child.lineno, child.end_lineno - child.lineno + 1))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def test_the_size_reader_measures_nested_functions(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text("class A:\n    def f(self):\n        def g():\n            return 1\n        return g()\n")
    assert _function_lengths(source) == [("A.f", 2, 4), ("A.f.g", 3, 2)]


def test_no_module_is_longer_than_the_limit():
    found = {path.relative_to(REPO_ROOT).as_posix(): lines for path in SIZED
             if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not found, f"modules over {MAX_MODULE_LINES} lines (split them by job): {found}"


def test_no_function_is_longer_than_the_limit():
    found = {f"{path.relative_to(REPO_ROOT).as_posix()}:{line} {name}": lines for path in SIZED
             for name, line, lines in _function_lengths(path) if lines > MAX_FUNCTION_LINES}
    assert not found, f"functions over {MAX_FUNCTION_LINES} lines (split them into named steps): {found}"


# --------------------------------------------------------------------------------------------------- pages


def test_pages_reach_the_store_and_models_only_through_tram_core():
    found = _offenders(UI_SCRIPTS, PAGE_FORBIDDEN, runtime_only=True)
    assert not found, f"pages import what only tram_core may use ({', '.join(PAGE_FORBIDDEN)}): {found}"


def test_pages_import_nothing_from_tram_core_but_its_services():
    """The pages draw what the services return and call the services for every action; type-only imports count."""
    offenders = {path.relative_to(REPO_ROOT).as_posix(): sorted(
        m for m in imported_modules(path) if _is_tram_core(m) and not _is_tram_core(m, "tram_core.services"))
        for path in UI_SCRIPTS}
    found = {name: modules for name, modules in offenders.items() if modules}
    assert not found, f"pages may import only tram_core.services from tram_core: {found}"
