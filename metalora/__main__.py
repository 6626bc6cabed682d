"""``python -m metalora``: the command line (see :mod:`metalora.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
