"""The dashboard's door: beyond localhost, a password before any page runs.

Streamlit's documented pattern (`st.secrets`, a form, `hmac.compare_digest`, the success remembered in
``st.session_state``), decided by the address the **server listens on** (``server.address``), never by
the client's: a server on 127.0.0.1 can only be opened from this computer, so the presenter's own
laptop needs no password; on any other address (``0.0.0.0``, a LAN address, or none set, which means
every interface) the router calls :func:`require` before anything else.

Where the password comes from, first found wins:

1. the environment variable ``METALORA_PASSWORD`` (for tests and containers);
2. ``password = "..."`` in ``.streamlit/secrets.toml`` (git-ignored; Streamlit also reads
   ``~/.streamlit/secrets.toml``).

Without one the door stays shut with a message to whoever started the server, unless
``METALORA_ALLOW_OPEN=1`` is set (``make app HOST=0.0.0.0 ALLOW_OPEN=1`` sets it: exposing the
dashboard without a password knowingly). The typed text is checked in the submit button's callback,
which empties the field, so it is never shown or kept; from the fourth wrong try on, each answer waits longer (1, 2, 4 ... 30 s), counted per
session and over the whole server so that opening new sessions does not reset it.

The gate's few texts live here (a small en/ja table looked up with :func:`metalora.i18n.text`):
``app/strings.py`` holds the pages' texts, and this module must not depend on them.
"""

from __future__ import annotations

import collections
import hmac
import ipaddress
import os
import threading
import time

import streamlit as st

from metalora.i18n import text

__all__ = [
    "ALLOW_OPEN_ENV",
    "PASSWORD_ENV",
    "TEXTS",
    "configured_password",
    "delay_s",
    "is_local",
    "listening_address",
    "needs_password",
    "open_without_password",
    "password_matches",
    "require",
]

PASSWORD_ENV = "METALORA_PASSWORD"
ALLOW_OPEN_ENV = "METALORA_ALLOW_OPEN"
LOCAL_NAMES = ("localhost",)
GRANTED = "access_granted"  # session state: this session typed the right password
FAILURES = "access_failures"  # session state: wrong tries so far
WRONG = "access_wrong"  # session state: the last try was wrong (its message is shown)
TYPED = "access_typed"  # the password field's key: emptied by the check, so never kept
FREE_TRIES = 3  # wrong tries answered at once; later ones wait delay_s(n)
MAX_DELAY_S = 30.0
WINDOW_S = 600.0  # server-wide failures are counted over the last 10 minutes

_recent: collections.deque[float] = collections.deque()  # server-wide failure times (monotonic)
_recent_lock = threading.Lock()

TEXTS: dict[str, dict[str, str]] = {
    "title": {"en": "MetaLoRA Studio", "ja": "MetaLoRA Studio"},
    "intro": {
        "en": "This dashboard is shared on the network. Enter the password to open it.",
        "ja": "このダッシュボードはネットワークで共有されています。開くにはパスワードを入力してください。",
    },
    "label": {"en": "Password", "ja": "パスワード"},
    "submit": {"en": "Open the dashboard", "ja": "ダッシュボードを開く"},
    "wrong": {
        "en": "That password is not correct. Please type it again.",
        "ja": "パスワードが正しくありません。もう一度入力してください。",
    },
    "closed": {
        "en": (
            "This dashboard listens on the network ({address}) but has no password, so it stays closed. "
            'Whoever started it: put password = "..." in .streamlit/secrets.toml and restart it, '
            "or start it on this computer only with make app."
        ),
        "ja": (
            "このダッシュボードはネットワーク ({address}) で待ち受けていますが、パスワードが設定されていないため"
            '開けません。起動した人は .streamlit/secrets.toml に password = "..." を書いて再起動するか、'
            "make app でこのコンピューターだけに限って起動してください。"
        ),
    },
}


def _say(key: str, lang: str, **fields) -> str:
    return text(TEXTS, key, lang, **fields)


# ----------------------------------------------------------------------------- the decision
def is_local(address: str | None) -> bool:
    """Whether a server listening on ``address`` can be reached from this computer only.

    ``None`` or ``""`` means every interface (Streamlit's default), so it is not local; neither is
    ``0.0.0.0`` / ``::``. Loopback addresses (127.0.0.0/8, ``::1``) and ``localhost`` are.
    """
    if not address:
        return False
    name = address.strip().strip("[]").lower()
    if name in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:  # a host name other than localhost: it may resolve to anything
        return False


def listening_address() -> str | None:
    """The address this server listens on (``--server.address`` or ``.streamlit/config.toml``)."""
    return st.get_option("server.address")


def configured_password() -> str | None:
    """``$METALORA_PASSWORD``, else ``st.secrets["password"]``; ``None`` when neither is set or empty."""
    password = os.environ.get(PASSWORD_ENV)
    if not password:
        try:
            password = st.secrets.get("password")
        except FileNotFoundError:  # Streamlit's "no secrets": no secrets.toml, or one it cannot parse
            password = None
    return str(password) if password else None


def open_without_password() -> bool:
    """Whether whoever started the server chose to expose it without a password (``METALORA_ALLOW_OPEN=1``)."""
    return os.environ.get(ALLOW_OPEN_ENV, "") == "1"


def needs_password() -> bool:
    """Whether a visitor must type a password: the server is not local only and no one chose otherwise."""
    return not is_local(listening_address()) and not (
        configured_password() is None and open_without_password()
    )


def password_matches(typed: str, expected: str) -> bool:
    """Compare in constant time (``hmac.compare_digest``), so the answer's timing tells nothing."""
    return hmac.compare_digest(typed.encode("utf-8"), expected.encode("utf-8"))


def delay_s(failures: int) -> float:
    """How long the answer to the ``failures``-th wrong try waits: 0 for the first three, then 1, 2, 4 ... 30 s."""
    if failures <= FREE_TRIES:
        return 0.0
    return min(2.0 ** (failures - FREE_TRIES - 1), MAX_DELAY_S)


def _wait(seconds: float) -> None:  # one place for the tests to skip the sleeps
    time.sleep(seconds)


def _server_failures(now: float, add: bool) -> int:
    """Wrong tries on the whole server in the last ``WINDOW_S`` (after adding one when ``add``)."""
    with _recent_lock:
        while _recent and now - _recent[0] > WINDOW_S:
            _recent.popleft()
        if add:
            _recent.append(now)
        return len(_recent)


# ----------------------------------------------------------------------------- the form
def require(lang: str) -> None:
    """Let this run go on only if the visitor may see the dashboard; otherwise draw the form and stop.

    Called by the router before anything else is drawn, so no page, sidebar or URL state runs first.
    """
    if st.session_state.get(GRANTED) or not needs_password():
        return
    expected = configured_password()
    if expected is None:  # beyond localhost, no password and no one said "open": shut
        st.error(_say("closed", lang, address=listening_address() or "0.0.0.0"))
        st.stop()
    st.title(_say("title", lang))
    st.write(_say("intro", lang))
    with st.form("access_form"):
        st.text_input(_say("label", lang), type="password", key=TYPED, autocomplete="current-password")
        st.form_submit_button(_say("submit", lang), type="primary", on_click=_check)
    if st.session_state.get(WRONG):
        st.error(_say("wrong", lang))
    st.stop()


def _check() -> None:
    """The form's callback: compare, forget the typed text, count a failure (and wait) or open the door.

    It runs before the next run of the router, which then draws the dashboard or the form again.
    """
    typed = st.session_state.get(TYPED) or ""
    st.session_state[TYPED] = ""  # never kept, and the field is empty again
    expected = configured_password()
    if expected is not None and password_matches(typed, expected):
        st.session_state[GRANTED] = True
        st.session_state[FAILURES] = 0
        st.session_state[WRONG] = False
        return
    failures = st.session_state.get(FAILURES, 0) + 1
    st.session_state[FAILURES] = failures
    st.session_state[WRONG] = True
    _wait(delay_s(max(failures, _server_failures(time.monotonic(), add=True))))
