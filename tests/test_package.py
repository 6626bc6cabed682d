"""Package-level promises: the library never imports streamlit, and the public API is importable."""

from __future__ import annotations

import subprocess
import sys


def test_library_does_not_import_streamlit():
    code = (
        "import sys, pkgutil, importlib, metalora\n"
        "for m in pkgutil.walk_packages(metalora.__path__, 'metalora.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print('streamlit' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_public_api():
    import metalora

    for name in (
        "get_model",
        "load_adapter",
        "save_adapter",
        "MetaLoRAConfig",
        "MetaLoRAModel",
        "list_methods",
        "get_method",
        "register_method",
    ):
        assert hasattr(metalora, name), name
    adapters = [m.id for m in metalora.list_methods(adapter=True)]
    assert adapters == ["lora", "cp", "tr", "meta-cp", "meta-tr"]


def _import_graph() -> dict[str, set[str]]:
    """Imports between the library's modules, at the top of a file or inside a function (a lazy import that
    dodges a circle is a circle too); ``TYPE_CHECKING`` blocks are not edges."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    mods = {}
    for p in (root / "metalora").rglob("*.py"):
        name = ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        mods[name] = p
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rpartition(".")[0]
        tree = ast.parse(p.read_text(encoding="utf-8"))
        typing_only = {
            id(n)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for n in ast.walk(block)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom):
                parts = pkg.split(".")[: len(pkg.split(".")) - max(node.level - 1, 0)] if node.level else []
                target = ".".join(parts + ([node.module] if node.module else []))
                for c in [target, *(f"{target}.{a.name}" for a in node.names)]:
                    if c in mods and c != m:
                        graph[m].add(c)
            elif isinstance(node, ast.Import):
                graph[m] |= {a.name for a in node.names if a.name in mods and a.name != m}
    return graph


def test_no_import_circles_between_modules():
    graph = _import_graph()

    def nested(a: str, b: str) -> bool:  # a package and its own submodule: the package re-exports it
        return a.startswith(b + ".") or b.startswith(a + ".")

    def find(start: str, node: str, path: list[str]) -> list[str] | None:
        for nxt in graph[node]:
            if nested(node, nxt):
                continue
            if nxt == start:
                return [*path, nxt]
            if nxt not in path and len(path) < 12 and (found := find(start, nxt, [*path, nxt])):
                return found
        return None

    for module in graph:
        cycle = find(module, module, [module])
        assert cycle is None, " -> ".join(cycle)
    assert "metalora.adapters.files" in graph["metalora.adapters.model"]  # the graph is really read


def test_the_training_package_loads_its_names_on_first_use():
    """``metalora.training`` imports its modules when a name is first used (the dashboard's first page reads
    the run registry without torch), and a submodule named like a function (``evaluate``, ``compare``) does
    not hide the function, whichever is imported first."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "import metalora.training.run_registry\n"
        "assert 'torch' not in sys.modules, 'the registry alone loaded torch'\n"
        "from metalora.training.evaluate import check_labels\n"
        "import metalora.training.compare\n"
        "from metalora.training import compare, evaluate, train_run, RunRegistry\n"
        "assert callable(evaluate) and callable(compare) and callable(train_run)\n"
        "import metalora.training as t\n"
        "assert t.evaluate is evaluate and set(t.__all__) == set(t._EXPORTS) and set(dir(t)) == set(t.__all__)\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
