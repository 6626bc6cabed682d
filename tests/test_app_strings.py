"""The dashboard's string table: both languages everywhere, every key the code can ask for exists, none unused.

Keys are found in the code (``app/`` and ``pages/``) by reading its syntax tree: a literal key passed to
a function that takes one (``tr``, ``t``, ``show_caption``, ``choice``, ``chart``, ``title_key=`` ...) is
checked directly. A key built at run time (``f"page_{key}"``, ``prefix + k``, ``f"col_{c}"``) must be one
of the FAMILIES below, each enumerated from the app's own constants; a new way of building a key fails
:func:`test_every_dynamic_key_is_a_known_family` until it is enumerated here.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.strings import STRINGS, t
from metalora.i18n import LANGUAGES, placeholders

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([*(ROOT / "app").glob("*.py"), *(ROOT / "pages").glob("*.py")])

#: Functions that take a string key, and which positional arguments are keys.
KEY_ARGS = {
    "tr": (0,),
    "t": (0,),
    "show_caption": (0,),
    "caption_text": (0,),
    "technical": (0,),
    "details": (0,),
    "page_title": (0,),
    "choice": (0,),
    "analysis_page": (0, 1),
    "chart": (1,),
}
#: Keyword arguments of those functions that are string keys.
KEY_KWARGS = {"title_key", "intro_key", "label_key", "caption"}

#: A function's parameter handed on as a key: checked where that function is called.
FORWARDED = {
    ("app/ui.py", "key"),
    ("app/ui.py", "caption"),
    ("app/ui.py", "label_key"),
    ("app/picker.py", "title_key"),
    ("app/picker.py", "intro_key"),
    ("pages/runs.py", "title"),  # the report's headings: the title_key of each chart() call
    ("pages/runs.py", "caption"),  # the report's captions: those of each chart() call
}


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def module_namespace(path: Path) -> dict:
    """What a module's options expressions can see: its imports and its literal module-level constants."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    ns: dict = {}
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            exec(compile(ast.Module([node], []), str(path), "exec"), ns)
        elif (
            isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        ):
            with contextlib.suppress(ValueError):  # not a literal: left out
                ns[node.targets[0].id] = ast.literal_eval(node.value)
    return ns


def key_expressions() -> Iterator[tuple[str, ast.expr]]:
    """(file, expression) for every argument of the code that is a string key."""
    for path in FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):  # the default of a forwarded key parameter
                params = [*node.args.posonlyargs, *node.args.args]
                defaults = zip(
                    params[len(params) - len(node.args.defaults) :], node.args.defaults, strict=True
                )
                pairs = [*defaults, *zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True)]
                yield from ((rel(path), d) for a, d in pairs if d and (rel(path), a.arg) in FORWARDED)
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in KEY_ARGS:
                continue
            for i in KEY_ARGS[name]:
                if i < len(node.args):
                    yield rel(path), node.args[i]
            for kw in node.keywords:
                if kw.arg in KEY_KWARGS:
                    yield rel(path), kw.value


def split(expr: ast.expr) -> tuple[set[str], list[ast.expr]]:
    """The literal keys an expression can be (both sides of ``a if c else b``) and its dynamic parts."""
    if isinstance(expr, ast.Constant):
        return ({expr.value} if isinstance(expr.value, str) else set()), []
    if isinstance(expr, ast.IfExp):
        (a, da), (b, db) = split(expr.body), split(expr.orelse)
        return a | b, da + db
    return set(), [expr]


def choice_keys() -> set[str]:
    """``prefix + option`` for every ``choice(label, options, prefix)`` call of the code."""
    keys = set()
    for path in FILES:
        ns = None
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "choice":
                options, prefix = node.args[1], node.args[2]
                assert isinstance(prefix, ast.Constant), f"{rel(path)}: choice() needs a literal prefix"
                ns = module_namespace(path) if ns is None else ns
                values = eval(compile(ast.Expression(options), str(path), "eval"), ns)
                assert values, f"{rel(path)}: choice() without options"
                keys |= {prefix.value + str(v) for v in values}
    return keys


def column_keys() -> set[str]:
    """``col_<c>`` for every column of every ``*_COLUMNS`` tuple of the app's modules (``ui.table``)."""
    columns = set()
    for path in (ROOT / "app").glob("*.py"):
        if path.stem in ("main", "__init__"):  # main.py draws when imported
            continue
        module = importlib.import_module(f"app.{path.stem}")
        for name in dir(module):
            if name.endswith("_COLUMNS"):
                columns |= set(getattr(module, name))
    assert {"run", "method", "seed", "mean", "layer", "created"} <= columns
    return {f"col_{c}" for c in columns}


def families() -> dict[tuple[str, str], set[str]]:
    """Every key built at run time, by (file, expression), enumerated from the app's constants."""
    from app import glossary, nav, picker, session_runs, views
    from metalora.data import BUILTIN_DATASETS
    from metalora.models import list_architectures
    from metalora.training.run_registry import STATUSES

    home = module_namespace(ROOT / "pages" / "home.py")
    assert set(session_runs.STATUS_KEYS) == set(STATUSES)  # every status a registry row can hold is named
    statuses = set(session_runs.STATUS_KEYS.values())
    return {
        ("app/nav.py", "f'page_{key}'"): {f"page_{k}" for k in nav.PAGE_FILES},
        ("pages/home.py", "f'next_{key}'"): {f"next_{k}" for k in nav.NEXT_PAGES},
        ("pages/home.py", "key"): set(home["POINTS"]),
        ("pages/home.py", "n"): set(home["NODES"]),
        ("app/picker.py", "f'need_{kind}_runs'"): {f"need_{k}_runs" for k in picker.PICKS},
        ("app/views.py", "f'reading_{reading}'"): {f"reading_{k}" for k in views.READINGS},
        ("app/session_runs.py", "f'data_{name}'"): {f"data_{n}" for n in BUILTIN_DATASETS},
        ("pages/model_data.py", "f'arch_{arch}'"): {f"arch_{a}" for a in list_architectures()},
        ("app/session.py", "STATUS_KEYS.get(r.get('status'), 'status_failed')"): statuses,
        ("app/cleanup.py", "STATUS_KEYS.get(r.get('status'), 'status_failed')"): statuses,
        ("app/session_runs.py", "STATUS_KEYS.get(self.result.status, 'status_failed')"): statuses,
        ("app/ui.py", "prefix + k"): choice_keys(),
        ("app/ui.py", "f'col_{c}'"): column_keys(),
        ("app/downloads.py", "f'col_{c}'"): column_keys(),
        ("app/glossary.py", "f'gloss_{key}'"): {f"gloss_{k}" for k in glossary.GLOSSARY},
        ("app/glossary.py", "f'gloss_{key}_means'"): {f"gloss_{k}_means" for k in glossary.GLOSSARY},
    }


def literal_keys() -> dict[str, str]:
    found = {}
    for file, expr in key_expressions():
        for key in split(expr)[0]:
            found.setdefault(key, file)
    return found


def test_every_entry_has_both_languages_with_the_same_placeholders():
    for key, entry in STRINGS.items():
        assert set(entry) == set(LANGUAGES), f"{key}: languages {sorted(entry)}"
        assert all(entry[lang].strip() for lang in LANGUAGES), f"{key}: an empty text"
        assert placeholders(entry["en"]) == placeholders(entry["ja"]), f"{key}: placeholders differ"


def test_a_missing_key_is_an_error_not_a_fallback():
    with pytest.raises(KeyError, match="no_such_key"):
        t("no_such_key", "en")
    assert t("job_running", "ja", i=1, n=2, name="LoRA") == "学習中 1 / 2：LoRA"


def test_every_literal_key_exists():
    missing = {k: f for k, f in literal_keys().items() if k not in STRINGS}
    assert not missing, f"keys used in the code but missing from app/strings.py: {missing}"


def test_every_dynamic_key_is_a_known_family():
    known = families()
    for file, expr in key_expressions():
        for part in split(expr)[1]:
            src = ast.unparse(part)
            assert (file, src) in known or (file, src) in FORWARDED, (
                f"{file}: the key {src!r} is built at run time; enumerate its keys in FAMILIES"
            )


@pytest.mark.parametrize("family", sorted(families()), ids=lambda f: f"{f[0]}:{f[1]}")
def test_every_key_of_a_family_exists(family):
    keys = families()[family]
    assert keys, family
    missing = sorted(keys - set(STRINGS))
    assert not missing, f"{family}: missing from app/strings.py: {missing}"


@pytest.mark.parametrize("name", ["DOMAIN_NAMES", "SPLIT_NAMES", "LAYER_TYPES"])
def test_display_name_tables_have_both_languages(name):
    from app import strings

    table = getattr(strings, name)
    assert table
    for key, entry in table.items():
        assert set(entry) == set(LANGUAGES) and all(v.strip() for v in entry.values()), (name, key)
        assert strings.display_name(table, key, "ja") == entry["ja"]
    assert strings.display_name(table, "not-in-the-table", "ja") == "not-in-the-table"


def test_every_library_domain_has_a_display_name():
    from app.strings import DOMAIN_NAMES, domain_name
    from metalora.data import DOMAINS

    assert set(DOMAINS) <= set(DOMAIN_NAMES), sorted(set(DOMAINS) - set(DOMAIN_NAMES))
    assert domain_name("rotate90", "ja") == "90° 回転"


def test_every_key_is_used():
    used = set(literal_keys()).union(*families().values())
    unused = sorted(set(STRINGS) - used)
    assert not unused, f"unused keys in app/strings.py (delete them, or use them): {unused}"


def test_the_architectures_are_described_as_the_library_describes_them():
    """Model & data shows each architecture's description in the user's language: the English one is the
    library's own, word for word, and every architecture of the library has one."""
    from metalora.models import get_architecture, list_architectures

    for name in list_architectures():
        assert STRINGS[f"arch_{name}"]["en"] == get_architecture(name).description, name
