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
