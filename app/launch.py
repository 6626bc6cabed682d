"""Start the dashboard (``make app``): on localhost as before, beyond it only with a password or knowingly.

``python -m app.launch --host HOST --port PORT [--allow-open] [-- STREAMLIT_ARGS...]`` checks the
address, then replaces itself with ``streamlit run app/main.py --server.address HOST --server.port
PORT`` from the repository root (where ``.streamlit/config.toml`` and ``secrets.toml`` are read):

- on a loopback address (127.0.0.1, localhost, ::1) it starts at once, silently, as before;
- on any other address it needs a password (``password = "..."`` in ``.streamlit/secrets.toml``, or
  ``$METALORA_PASSWORD``), or ``--allow-open`` (``make app HOST=0.0.0.0 ALLOW_OPEN=1``) to expose the
  dashboard without one on purpose; otherwise it refuses with exit status 2 and says what to do;
- when it does start beyond localhost it prints what is exposed and to whom.

The rule that the server applies to each visitor is in :mod:`app.access`; this module only refuses to
start a door that would be open by mistake.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from metalora.errors import ConfigError, MetaLoRAError

ROOT = Path(__file__).resolve().parents[1]
MAIN = "app/main.py"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The launcher's arguments; anything after ``--`` goes to ``streamlit run`` unchanged."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(prog="python -m app.launch", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    parser.add_argument(
        "--allow-open",
        action="store_true",
        help="beyond localhost, start even without a password (anyone on the network can use it)",
    )
    args = parser.parse_args(own)
    args.streamlit_args = extra
    return args


def check(host: str, port: int, password: str | None, allow_open: bool) -> str | None:
    """What to tell the user before starting on ``host`` (``None`` on localhost); raise if it must not start."""
    from app.access import is_local

    if is_local(host):
        return None
    if password is None and not allow_open:
        raise ConfigError(
            f"The dashboard would listen on {host}, where anyone who can reach this machine could train "
            "models, upload files and delete runs, and no password is configured.",
            'Put password = "..." (a long one) in .streamlit/secrets.toml (it is git-ignored) and run the '
            "command again, or say ALLOW_OPEN=1 (make app HOST=... ALLOW_OPEN=1) to expose it without a "
            "password knowingly, or leave HOST out to keep it on this computer.",
        )
    return exposure(host, port, protected=password is not None)


def exposure(host: str, port: int, protected: bool) -> str:
    """The notice printed when the dashboard starts beyond localhost: who can reach it, and what they can do."""
    import streamlit as st

    from metalora.training.run_registry import default_home

    everywhere = host in ("0.0.0.0", "::", "")
    where = "every network interface of this machine" if everywhere else host
    visible = socket.gethostname() if everywhere else host  # or this machine's IP address on the LAN
    who = (
        "Anyone who can reach it and types the password"
        if protected
        else "ANYONE who can reach it (no password: ALLOW_OPEN=1)"
    )
    return "\n".join(
        [
            f"MetaLoRA Studio listens on {where}, port {port}: others open http://{visible}:{port}.",
            f"{who} can, with your rights on this machine:",
            "  - start training jobs on its CPU / GPU,",
            f"  - upload data and weights files (up to {st.get_option('server.maxUploadSize')} MB each),",
            f"  - see, download and delete the runs of the run registry at {default_home()} ($METALORA_HOME).",
            "There is no TLS: the password and every page travel unencrypted. Use it on a network you trust, "
            "for the time of a meeting, and stop it with Ctrl+C.",
        ]
    )


def command(host: str, port: int, extra: Sequence[str] = ()) -> list[str]:
    """The ``streamlit run`` command line this launcher becomes."""
    return [
        sys.executable, "-m", "streamlit", "run", MAIN,
        "--server.address", host, "--server.port", str(port), *extra,
    ]  # fmt: skip


def main(argv: Sequence[str] | None = None, execute: Callable[[str, list[str]], object] = os.execv) -> int:
    """Check, tell, then become ``streamlit run`` (``execute`` is replaced in the tests); 2 on a refusal."""
    args = parse_args(argv)
    os.chdir(ROOT)  # the server reads .streamlit/ from here; so must the check, before Streamlit loads
    from app.access import ALLOW_OPEN_ENV, configured_password

    password = configured_password()
    try:
        notice = check(args.host, args.port, password, args.allow_open)
    except MetaLoRAError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if notice:
        print(notice, file=sys.stderr, flush=True)
    if password is None and args.allow_open:
        os.environ[ALLOW_OPEN_ENV] = "1"  # the server's door stays open as asked
    else:
        os.environ.pop(ALLOW_OPEN_ENV, None)  # only this launcher's --allow-open opens it
    cmd = command(args.host, args.port, args.streamlit_args)
    execute(cmd[0], cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
