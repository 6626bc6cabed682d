"""The dashboard's layout rules, checked on its source: one package, one door to analysis, no own tables.

- ``app`` is a package and every import of one of its modules says ``app.`` (``streamlit run`` puts
  ``app/`` on ``sys.path``, so a bare ``import session`` would load a second copy of the module);
- no module name of ``app/`` is used again elsewhere in the project;
- the pages reach analysis only through ``app/views.py`` (no page imports ``metalora.analysis`` or
  ``metalora.stats``);
- the app knows methods only through the registry (no method id written in its code).
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

from metalora.methods import method_ids

ROOT = Path(__file__).resolve().parents[1]
APP_MODULES = {p.stem for p in (ROOT / "app").glob("*.py")} - {"__init__"}
PAGES = sorted((ROOT / "pages").glob("*.py"))
APP_FILES = sorted((ROOT / "app").glob("*.py"))
CLIENTS = [
    *APP_FILES,
    *PAGES,
    *sorted((ROOT / "tests").glob("test_app_*.py")),
    ROOT / "tests" / "app_support.py",
    *sorted((ROOT / "tests" / "browser").glob("*.py")),
    ROOT / "benchmarks" / "bench_app.py",
]


def imported_modules(path: Path, runtime: bool = False) -> list[str]:
    """Every module an ``import`` or ``from ... import`` of ``path`` names (at any depth of the file);
    ``runtime``: leave out those under ``if TYPE_CHECKING:`` (type hints only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if runtime:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                node.body = []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_app_is_a_package():
    assert (ROOT / "app" / "__init__.py").is_file()


@pytest.mark.parametrize("path", CLIENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_app_modules_are_imported_through_the_package(path):
    bare = [m for m in imported_modules(path) if m.split(".")[0] in APP_MODULES]
    assert not bare, f"{path.name}: import these as app.<name>: {bare}"


def test_the_router_puts_the_repository_root_on_the_path_before_importing_the_app():
    text = (ROOT / "app" / "main.py").read_text(encoding="utf-8")
    assert 0 < text.index("sys.path.insert(0, ROOT)") < text.index("\nfrom app import")


def test_no_app_module_name_is_used_twice_in_the_project():
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    others = {Path(f).stem for f in files if not f.startswith("app/")}
    assert not APP_MODULES & others, sorted(APP_MODULES & others)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_pages_reach_analysis_only_through_views(path):
    banned = ("metalora.analysis", "metalora.stats")
    found = [m for m in imported_modules(path) if m.startswith(banned)]
    assert not found, f"{path.name} imports {found}: ask app.views instead"


def test_only_views_imports_the_analysis_in_the_app():
    users = {
        p.name for p in APP_FILES if any(m.startswith("metalora.analysis") for m in imported_modules(p, True))
    }
    assert users == {"views.py"}


@pytest.mark.parametrize("path", [*APP_FILES, *PAGES], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_method_id_is_written_in_the_app(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
    }
    literals = {
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    }
    assert not literals & set(method_ids()), f"{path.name}: read the method registry instead"


@pytest.mark.parametrize("path", [*APP_FILES, *PAGES], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_pickers_get_their_placeholder_in_the_users_language(path):
    """Streamlit's own placeholder ("Choose an option") is English: every selectbox and multiselect goes
    through app.ui's, which give one in the user's language (the browser walk in Japanese reads it)."""
    if path.name == "ui.py":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    direct = [
        f"line {n.lineno}: {ast.unparse(n.func)}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in ("selectbox", "multiselect")
        and not (isinstance(n.func.value, ast.Name) and n.func.value.id == "ui")
    ]
    widgets = [
        f"line {n.lineno}: widget={ast.unparse(k.value)}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        for k in n.keywords
        if k.arg == "widget" and ast.unparse(k.value) in ("st.selectbox", "st.multiselect")
    ]
    assert not direct + widgets, f"{path.name}: use app.ui.selectbox / multiselect: {direct + widgets}"
