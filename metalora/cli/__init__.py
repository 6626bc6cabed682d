"""The command line: ``metalora train | evaluate | compare | runs {list,show,export,delete}``.

Progress goes to stderr (a bar on a terminal, a line per epoch otherwise); results are printed as a plain
text table on stdout (or JSON with ``--json``). A :class:`~metalora.errors.MetaLoRAError` (an unknown
method, data that does not fit the model, ...) prints one line and exits with status 2, without a
traceback. Under ``torchrun`` only the first process (index 0) prints and writes.

One module per concern: :mod:`.parser` (the flags), :mod:`.train` (train, evaluate, compare),
:mod:`.runs` (the run registry), :mod:`.output` (tables and progress). The console script
``metalora = "metalora.cli:main"`` and ``python -m metalora`` both call :func:`main`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from ..errors import MetaLoRAError
from .output import ProgressPrinter, fmt, table
from .parser import build_parser
from .runs import cmd_runs
from .train import cmd_compare, cmd_evaluate, cmd_train

__all__ = ["COMMANDS", "ProgressPrinter", "build_parser", "fmt", "main", "table"]

COMMANDS: dict[str, Callable[..., int]] = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "compare": cmd_compare,
    "runs": cmd_runs,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``metalora`` and ``python -m metalora``; returns the exit status."""
    args = build_parser().parse_args(argv)
    from ..training import distributed

    ok = False
    try:
        code = COMMANDS[args.command](args, sys.stdout)
        ok = True
        return code
    except MetaLoRAError as err:
        info = distributed.from_env()
        where = f" [process {info.index}]" if info else ""
        sys.stderr.write(f"metalora{where}: error: {err}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("metalora: interrupted; nothing was saved for the unfinished run.\n")
        return 130
    finally:
        distributed.shutdown(wait=ok)
