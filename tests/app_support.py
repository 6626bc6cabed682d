"""Support for the dashboard's tests (``tests/test_app_*.py``, ``tests/browser``) and its benchmark.

``tiny_env`` shrinks the demo (1 epoch, a few images per class) and, when the repository has no
sample model yet, points the app at a freshly built, untrained one so that every page can be
exercised anywhere. ``new_app`` starts the dashboard under Streamlit's AppTest; ``start_server``
runs it for real, for a browser.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "app" / "main.py"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def ensure_sample_model(scratch: Path) -> str | None:
    """If no sample model is installed, save an untrained digits ResNet in ``scratch``; return that dir."""
    from metalora.models import build_model, list_sample_models, save_checkpoint

    if list_sample_models():
        return None
    scratch.mkdir(parents=True, exist_ok=True)
    model = build_model("resnet-mini", in_channels=1, num_classes=10)
    save_checkpoint(
        model, scratch / "resnet-mini-digits", {"dataset": "digits", "note": "untrained, for tests"}
    )
    return str(scratch)


def tiny_env(scratch: Path, epochs: int = 1, samples: int = 10) -> dict[str, str]:
    """Environment variables for a tiny, fast demo (and a sample model if the repository lacks one)."""
    env = {"METALORA_DEMO_EPOCHS": str(epochs), "METALORA_DEMO_SAMPLES": str(samples)}
    env["METALORA_HOME"] = str(scratch / "home")
    models = ensure_sample_model(scratch / "sample_models")
    if models:
        env["METALORA_SAMPLE_MODELS"] = models
    return env


def new_app(timeout: float = 90):
    """The dashboard under AppTest, after its first run (the home page)."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(MAIN), default_timeout=timeout).run()


@contextlib.contextmanager
def environment(env: dict[str, str]):
    """Set ``env`` in ``os.environ`` for the duration of the block, then restore what was there."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def find_chromium() -> str | None:
    """A Chromium executable for Playwright (it cannot download its own here)."""
    import shutil

    for name in ("chromium", "chromium-browser", "chromium-headless-shell", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


# ----------------------------------------------------------------------------- a real server
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], port: int | None = None):
    """Start ``streamlit run app/main.py`` on 127.0.0.1; return ``(process, url)`` (not yet ready).

    The server's output goes to a file (``process.log_path``), never to a pipe: a pipe nobody reads fills
    up over a long session (64 KiB) and then blocks the server on its next log line."""
    import subprocess
    import tempfile

    port = port or free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(MAIN),
        "--server.port", str(port), "--server.headless", "true", "--server.address", "127.0.0.1",
        "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with tempfile.NamedTemporaryFile("wb", prefix="streamlit-", suffix=".log", delete=False) as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
    proc.log_path = Path(log.name)
    return proc, f"http://127.0.0.1:{port}"


def wait_healthy(proc, url: str, timeout: float = 60.0) -> None:
    """Wait until the server answers its health check (or raise with its output)."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"streamlit exited early:\n{proc.log_path.read_text(errors='replace')[-4000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout:.0f} s")


def stop_server(proc) -> None:
    """Stop the server this process started (and remove its log)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except Exception:
        proc.kill()
    log = getattr(proc, "log_path", None)
    if log is not None:
        log.unlink(missing_ok=True)


IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def wait_idle(page, timeout_ms: int = 60_000, settle_ms: int = 250) -> None:
    """Wait until the app is connected and no script run is in progress."""
    page.wait_for_timeout(settle_ms)  # let a just-triggered rerun start
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def session_runs(at) -> list:
    """This session's runs (the RunRecords of its run ids, oldest first) in an AppTest session."""
    from app.session import CACHE, RUN_IDS

    state = at.session_state  # AppTest's session state has no .get()
    ids, held = (state[RUN_IDS], state[CACHE]) if RUN_IDS in state and CACHE in state else ([], {})
    return [held[i] for i in ids if i in held]


def own_runs(at, runs) -> None:
    """Make ``runs`` (RunRecords) this AppTest session's own, as a finished job would."""
    from app.session import CACHE, RUN_IDS

    at.session_state[RUN_IDS] = [r.id for r in runs]
    at.session_state[CACHE] = {r.id: r for r in runs}


EXCEPTION = '[data-testid="stException"]'
ERROR = '[data-testid="stAlertContentError"]'
PLOT = ".js-plotly-plot"


def text_of(key: str, lang: str = "en") -> str:
    """The dashboard's string ``key`` in ``lang``, as a browser test looks for it."""
    from app.strings import STRINGS

    return STRINGS[key][lang]


def go_to(page, key: str, lang: str = "en") -> None:
    """Click the page's entry in the sidebar menu (a URL change would start a new session)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=text_of(f"page_{key}", lang)).click()
    title = text_of("home_title" if key == "home" else f"page_{key}", lang)
    page.get_by_role("heading", name=title).first.wait_for()
    wait_idle(page)


#: The pages that draw charts: a switch to one is over when its first chart is drawn.
CHART_PAGES = ("scaling", "ranks", "clusters", "accuracy")


def timed_switch(page, key: str, lang: str = "en") -> float:
    """Seconds from the click on ``key``'s menu entry to its title shown, its first chart drawn (on a
    chart page) and the script idle (the idle check's settling time left out)."""
    import time

    settle_ms = 50
    t0 = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"] a', has_text=text_of(f"page_{key}", lang)).click()
    page.get_by_role(
        "heading", name=text_of("home_title" if key == "home" else f"page_{key}", lang)
    ).first.wait_for()
    if key in CHART_PAGES:
        page.locator(PLOT).first.wait_for()
    wait_idle(page, settle_ms=settle_ms)
    return time.perf_counter() - t0 - settle_ms / 1000


def wait_demo_done(page, timeout_ms: int = 180_000, lang: str = "en") -> None:
    """Wait for "Training finished"; on a timeout, fail with what the page shows instead (progress, error)."""
    done = text_of("job_done", lang).split("{")[0][:20]
    try:
        page.get_by_text(done).wait_for(timeout=timeout_ms)
    except Exception as err:
        shown = page.locator('[data-testid="stMain"]').inner_text(timeout=5_000)[-3000:]
        raise AssertionError(
            f"the demo did not finish in {timeout_ms / 1000:.0f} s; the page shows:\n{shown}"
        ) from err


def assert_clean(page) -> None:
    """No exception and no error box on the page."""
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
    assert page.locator(ERROR).count() == 0, page.locator(ERROR).first.inner_text()
