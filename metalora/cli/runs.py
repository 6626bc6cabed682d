"""``metalora runs list | show | export | delete | du | prune``: the run registry from the command line."""

from __future__ import annotations

import json
import sys

from .output import fmt, summary_rows, table

__all__ = ["cmd_runs", "open_registry"]

LIST_COLUMNS = [
    ("id", "id", ""), ("created", "created", "date"), ("model", "model", ""), ("dataset", "data", ""),
    ("method", "method", ""), ("rank", "rank", ""), ("seed", "seed", ""), ("accuracy", "accuracy", "pct"),
    ("trainable_params", "trainable", "int"), ("train_time_s", "time", "s"), ("status", "status", ""),
]  # fmt: skip


def open_registry(args):
    """The run registry of ``--home`` (default ``$METALORA_HOME`` or ``~/.metalora``)."""
    from ..training.run_registry import RunRegistry

    return RunRegistry(args.home)


def cmd_runs(args, out) -> int:
    """List, show, export or delete recorded runs."""
    reg = open_registry(args)
    action = args.runs_command
    if action == "list":
        filters = {k: getattr(args, k) for k in ("method", "model", "dataset", "status")}
        runs = reg.list(limit=args.limit, **filters)
        if args.json:
            out.write(json.dumps(runs) + "\n")
            return 0
        rows = [[fmt(r[k], kind) for k, _, kind in LIST_COLUMNS] for r in runs]
        if rows:
            out.write(table(rows, [h for _, h, _ in LIST_COLUMNS]) + "\n")
        out.write(f"{len(runs)} run(s) listed from {reg.db_path}\n")
    elif action == "show":
        r = reg.get(args.id)
        text = json.dumps(r) if args.json else table(summary_rows(r, per_class=True), ["", "value"])
        out.write(text + "\n")
    elif action == "export":
        n = reg.export_csv(sys.stdout if args.path == "-" else args.path)
        if args.path != "-":
            sys.stderr.write(f"wrote {n} run(s) to {args.path}\n")
    elif action == "delete":
        for run_id in args.ids:
            r = reg.delete(run_id)
            saved = f" and {r['adapter_path']}" if r.get("adapter_path") else ""
            out.write(f"deleted run {run_id}{saved}\n")
    elif action == "du":
        use = reg.disk_usage()
        out.write(json.dumps(use) + "\n" if args.json else _usage_text(use, reg) + "\n")
    elif action == "prune":
        return _prune(reg, args, out)
    return 0


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _usage_text(use: dict, reg) -> str:
    left = (
        f", leftover folders of interrupted runs {_mib(use['leftovers'])} ({use['leftover_folders']}: "
        "`metalora runs prune` removes them)"
        if use.get("leftover_folders")
        else ""
    )
    return (
        f"{reg.count()} run(s) in {reg.home}: run folders {_mib(use['runs'])}, "
        f"registry {_mib(use['registry'])}{left}, total {_mib(use['total'])}"
    )


def _leftovers_text(n: int, size: int) -> str:
    return f"{n} leftover folder(s) of interrupted runs, {_mib(size)}"


def _prune(reg, args, out) -> int:
    """List what would go (the runs and the leftover folders of interrupted runs), ask (unless --yes),
    then delete exactly that."""
    doomed = reg.prune_candidates(older_than_days=args.older_than, keep_last=args.keep_last)
    left = reg.leftovers()
    if not doomed and not left:
        out.write("nothing to clean up\n")
        return 0
    if doomed:
        out.write(f"{len(doomed)} run(s) would be deleted: {', '.join(str(r['id']) for r in doomed)}\n")
    if left:
        names = ", ".join(p.name for p in left)
        out.write(f"{_leftovers_text(len(left), sum(left.values()))} would be removed: {names}\n")
    if not args.yes:
        if not sys.stdin.isatty():
            out.write("not deleted: pass --yes to delete without a terminal to confirm in\n")
            return 1
        if input("delete them? [y/N] ").strip().lower() not in ("y", "yes"):
            out.write("not deleted\n")
            return 1
    if doomed:
        before = reg.disk_usage()["runs"]
        gone = reg.prune(older_than_days=args.older_than, keep_last=args.keep_last, leftovers=False)
        freed = before - reg.disk_usage()["runs"]
        out.write(f"deleted {len(gone)} run(s), freed {_mib(max(freed, 0))}\n")
    if left:
        n, size = reg.remove_leftovers(only=left)
        out.write(f"removed {_leftovers_text(n, size)}\n")
    return 0
