"""AppTest smoke tests of the dashboard's router, home page, languages and meeting mode."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from app.strings import STRINGS
from tests.app_support import MAIN


def run_app() -> AppTest:
    at = AppTest.from_file(str(MAIN), default_timeout=60)
    return at.run()


def test_home_renders_in_english_without_errors():
    at = run_app()
    assert not at.exception
    assert at.title[0].value == STRINGS["home_title"]["en"]
    assert len(at.markdown) >= 3
    assert at.button(key="run_demo").label == STRINGS["demo_button"]["en"]


def test_language_switch_to_japanese():
    at = run_app()
    at.sidebar.selectbox[0].set_value("ja").run()
    assert not at.exception
    assert at.title[0].value == STRINGS["home_title"]["ja"]
    assert at.button(key="run_demo").label == STRINGS["demo_button"]["ja"]
    assert at.sidebar.toggle[0].label == STRINGS["meeting_mode"]["ja"]


def test_meeting_mode_adds_large_type():
    at = run_app()
    at.sidebar.toggle[0].set_value(True).run()
    assert not at.exception
    assert any("font-size: 20px" in m.value for m in at.markdown)


def test_the_pipeline_is_plain_html_in_the_users_language():
    """Home draws the pipeline as HTML boxes (a graph layout library took seconds of a cold start), every
    step's label from the string table, escaped, in order."""
    import re

    from app.ui import flow_html

    for lang in ("en", "ja"):
        at = run_app()
        if lang == "ja":
            at.sidebar.selectbox[0].set_value("ja").run()
        assert not at.get("graphviz_chart")
        flows = [m.value for m in at.markdown if 'class="ml-flow"' in m.value]
        assert len(flows) == 1
        nodes = re.findall(r'<span class="ml-node">(.*?)</span>', flows[0])
        keys = ("node_input", "node_features", "node_mapping", "node_scaling", "node_update", "node_output")
        assert nodes == [STRINGS[k][lang] for k in keys]
    assert "&lt;b&gt; &amp; x" in flow_html(["<b> & x", "y"]) and flow_html(["a", "b"]).count("→") == 1


def test_the_first_page_of_a_fresh_session_loads_no_torch(tmp_path):
    """A cold start draws Home without importing torch or the training code (about 2 s on 2 cores): the
    session's runs are read from the registry, and a run is only rebuilt when it is in view."""
    import subprocess
    import sys

    from tests.app_support import ROOT

    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(MAIN)!r}, default_timeout=60).run()\n"
        "assert not at.exception, at.exception\n"
        "print(sorted(m for m in ('torch', 'metalora.training.loop', 'sklearn') if m in sys.modules))\n"
    )
    env = {"METALORA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
