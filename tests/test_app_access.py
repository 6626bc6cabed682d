"""The door on the LAN: a password beyond localhost before any page runs, and a launcher that refuses an
open door by mistake.

AppTest runs the router in this process, so the listening address is set with Streamlit's
``server.address`` option (what ``--server.address`` sets in a real server) and the password with
``$METALORA_PASSWORD`` or AppTest's ``secrets``. The real browser test is ``browser/test_access.py``.
"""

from __future__ import annotations

import hmac
import os
import subprocess

import pytest
import streamlit as st
from streamlit import config
from streamlit.runtime.secrets import Secrets
from streamlit.testing.v1 import AppTest

from app import access, launch, nav
from app.strings import STRINGS
from tests.app_support import MAIN, ROOT

SECRET = "correct horse battery staple"


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    """No password, no ALLOW_OPEN, no server-wide failures, no real sleeps; the address restored after."""
    monkeypatch.delenv(access.PASSWORD_ENV, raising=False)
    monkeypatch.delenv(access.ALLOW_OPEN_ENV, raising=False)
    access._recent.clear()
    waits: list[float] = []
    monkeypatch.setattr(access, "_wait", waits.append)
    address = config.get_option("server.address")
    yield waits
    config.set_option("server.address", address)
    access._recent.clear()


@pytest.fixture
def on_lan(monkeypatch):
    """The server listens on every interface, with SECRET as its password."""
    config.set_option("server.address", "0.0.0.0")
    monkeypatch.setenv(access.PASSWORD_ENV, SECRET)


@pytest.fixture
def pages_built(monkeypatch) -> list[str]:
    """Records each time the router builds the navigation (i.e. a page is about to run)."""
    calls: list[str] = []
    real = nav.build_pages

    def spy(lang):
        calls.append(lang)
        return real(lang)

    monkeypatch.setattr(nav, "build_pages", spy)
    return calls


def start() -> AppTest:
    return AppTest.from_file(str(MAIN), default_timeout=90).run()


def home_shown(at: AppTest) -> bool:
    return any(el.value == STRINGS["home_title"]["en"] for el in at.title)


def submit(at: AppTest, typed: str) -> AppTest:
    at.text_input[0].input(typed)
    return at.button[0].click().run()


def shown_text(at: AppTest) -> str:
    parts = [
        str(el.value) for kind in ("title", "markdown", "error", "text_input") for el in getattr(at, kind)
    ]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- the decision
@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("my-laptop.local", False),
        ("", False),
        (None, False),  # Streamlit's default: every interface
    ],
)
def test_only_loopback_addresses_are_local(address, local):
    assert access.is_local(address) is local


def test_answers_wait_longer_after_three_wrong_tries():
    assert [access.delay_s(n) for n in range(1, 10)] == [0, 0, 0, 1, 2, 4, 8, 16, 30]


def test_the_environment_overrides_secrets_and_empty_means_none(monkeypatch):
    monkeypatch.setattr(st, "secrets", {"password": "from-secrets"})
    assert access.configured_password() == "from-secrets"
    monkeypatch.setenv(access.PASSWORD_ENV, "from-env")
    assert access.configured_password() == "from-env"
    monkeypatch.setenv(access.PASSWORD_ENV, "")
    monkeypatch.setattr(st, "secrets", {"password": ""})
    assert access.configured_password() is None


def test_the_gate_has_both_languages_with_the_same_fields():
    from metalora.i18n import LANGUAGES, placeholders

    for key, entry in access.TEXTS.items():
        assert set(entry) == set(LANGUAGES), key
        assert len({frozenset(placeholders(v)) for v in entry.values()}) == 1, key


# ----------------------------------------------------------------------------- the gate in the app
def test_localhost_needs_no_password(pages_built):
    assert access.is_local(config.get_option("server.address"))  # .streamlit/config.toml: 127.0.0.1
    at = start()
    assert not at.exception
    assert home_shown(at)
    assert pages_built
    assert not [w for w in at.text_input if w.label == access.TEXTS["label"]["en"]]


def test_beyond_localhost_no_page_runs_before_the_password(on_lan, pages_built):
    at = start()
    assert not at.exception
    assert [w.label for w in at.text_input] == [access.TEXTS["label"]["en"]]
    assert not home_shown(at)
    assert not pages_built  # the router stopped before the navigation
    assert len(at.sidebar.selectbox) == 0  # nothing of the frame either
    assert SECRET not in shown_text(at)


def test_a_wrong_password_is_refused_and_cleared_then_the_right_one_opens(on_lan, pages_built):
    at = submit(start(), "not the password")
    assert not at.exception
    assert [e.value for e in at.error] == [access.TEXTS["wrong"]["en"]]
    assert at.text_input[0].value == ""  # the typed text is gone
    assert not home_shown(at) and not pages_built
    assert SECRET not in shown_text(at) and "not the password" not in shown_text(at)
    assert at.session_state[access.FAILURES] == 1

    at = submit(at, SECRET)
    assert not at.exception
    assert home_shown(at)
    assert pages_built
    assert not at.error
    assert SECRET not in shown_text(at)
    at.run()  # the session stays open: no form on the next run
    assert home_shown(at)
    assert not [w for w in at.text_input if w.label == access.TEXTS["label"]["en"]]


def test_the_password_is_compared_in_constant_time(on_lan, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    at = submit(start(), "guess")
    assert calls == [(b"guess", SECRET.encode())]
    submit(at, SECRET)
    assert calls[-1] == (SECRET.encode(), SECRET.encode())


def test_the_password_may_come_from_secrets_toml(pages_built):
    config.set_option("server.address", "0.0.0.0")
    at = AppTest.from_file(str(MAIN), default_timeout=90)
    at.secrets["password"] = "from secrets.toml"
    at.run()
    assert not home_shown(at)
    at = submit(at, "from secrets.toml")
    assert home_shown(at) and pages_built


def test_repeated_failures_wait_longer_per_session_and_server_wide(on_lan, clean):
    at = start()
    for _ in range(5):
        at = submit(at, "wrong")
    assert clean == [0, 0, 0, 1, 2]
    assert not home_shown(at)
    other = submit(start(), "wrong")  # a new session does not start from zero
    assert clean[-1] == 4
    assert not home_shown(other)


def test_japanese_form_and_message(on_lan):
    at = AppTest.from_file(str(MAIN), default_timeout=90)
    at.session_state["lang"] = "ja"
    at = submit(at.run(), "wrong")
    assert at.text_input[0].label == access.TEXTS["label"]["ja"]
    assert [e.value for e in at.error] == [access.TEXTS["wrong"]["ja"]]


def test_beyond_localhost_without_a_password_stays_shut(pages_built):
    config.set_option("server.address", "0.0.0.0")
    at = start()
    assert not at.exception
    assert "secrets.toml" in at.error[0].value and "0.0.0.0" in at.error[0].value
    assert not at.text_input and not home_shown(at) and not pages_built


def test_allow_open_exposes_it_without_a_password_knowingly(monkeypatch, pages_built):
    config.set_option("server.address", "0.0.0.0")
    monkeypatch.setenv(access.ALLOW_OPEN_ENV, "1")
    at = start()
    assert home_shown(at) and pages_built
    monkeypatch.setenv(access.PASSWORD_ENV, SECRET)  # a password, when there is one, still counts
    assert not home_shown(start())


# ----------------------------------------------------------------------------- the launcher
@pytest.fixture
def no_secrets(monkeypatch, tmp_path):
    """Streamlit's secrets read from an empty folder (a developer's own secrets.toml stays out)."""
    monkeypatch.setattr(config, "get_option", _options({"secrets.files": [str(tmp_path / "secrets.toml")]}))
    monkeypatch.setattr(st, "secrets", Secrets())
    monkeypatch.chdir(ROOT)
    return tmp_path


def _options(overrides):
    real = config.get_option
    return lambda key: overrides[key] if key in overrides else real(key)


def launch_main(argv, monkeypatch):
    executed = []
    monkeypatch.setenv(access.ALLOW_OPEN_ENV, "unset")  # restored after the test: the launcher may set it
    code = launch.main(argv, execute=lambda path, cmd: executed.append(cmd))
    return code, executed


def test_the_launcher_refuses_an_open_host_without_a_password(no_secrets, monkeypatch, capsys):
    code, executed = launch_main(["--host", "0.0.0.0", "--port", "8600"], monkeypatch)
    err = capsys.readouterr().err
    assert code == 2 and not executed
    assert err.startswith("error: ") and "0.0.0.0" in err
    assert 'password = "..."' in err and ".streamlit/secrets.toml" in err and "ALLOW_OPEN=1" in err


def test_the_launcher_starts_on_localhost_silently_without_a_password(no_secrets, monkeypatch, capsys):
    code, executed = launch_main([], monkeypatch)
    assert code == 0
    assert executed == [launch.command("127.0.0.1", 8501)]
    assert executed[0][1:4] == ["-m", "streamlit", "run"] and "app/main.py" in executed[0]
    assert capsys.readouterr().err == ""


def test_the_launcher_starts_with_a_password_and_says_what_is_exposed(no_secrets, monkeypatch, capsys):
    (no_secrets / "secrets.toml").write_text(f'password = "{SECRET}"\n', encoding="utf-8")
    monkeypatch.setenv("METALORA_HOME", str(no_secrets / "home"))
    code, executed = launch_main(["--host", "0.0.0.0", "--port", "8600", "--", "--x.y", "z"], monkeypatch)
    err = capsys.readouterr().err
    assert code == 0
    assert executed == [launch.command("0.0.0.0", 8600, ["--x.y", "z"])]
    assert "--server.address" in executed[0] and "0.0.0.0" in executed[0]
    for what in ("port 8600", "training", "upload", str(no_secrets / "home"), "METALORA_HOME", "no TLS"):
        assert what in err, what
    assert "types the password" in err and SECRET not in err
    assert access.os.environ.get(access.ALLOW_OPEN_ENV) is None  # a password: the door is not left open


def test_the_launcher_exposes_it_without_a_password_only_when_told(no_secrets, monkeypatch, capsys):
    code, executed = launch_main(["--host", "192.168.1.20", "--allow-open"], monkeypatch)
    err = capsys.readouterr().err
    assert code == 0 and executed == [launch.command("192.168.1.20", 8501)]
    assert "ANYONE" in err and "192.168.1.20" in err
    assert access.os.environ.get(access.ALLOW_OPEN_ENV) == "1"  # the server's gate lets visitors in


def test_make_app_runs_the_launcher_with_host_port_and_allow_open():
    def dry(*args):
        env = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT", "ALLOW_OPEN")}
        out = subprocess.run(["make", "-n", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return [line for line in out.stdout.splitlines() if "app.launch" in line]

    assert dry() == [".venv/bin/python -m app.launch --host 127.0.0.1 --port 8501"]
    assert dry("HOST=0.0.0.0", "PORT=9000", "ALLOW_OPEN=1") == [
        ".venv/bin/python -m app.launch --host 0.0.0.0 --port 9000 --allow-open"
    ]


def test_the_secrets_file_is_never_committed():
    out = subprocess.run(["git", "check-ignore", "-q", ".streamlit/secrets.toml"], cwd=ROOT)
    assert out.returncode == 0, ".streamlit/secrets.toml must be listed in .gitignore"
