"""Disk clean-up on the Runs page: the space the runs use, and deleting old runs after a look at what goes.

Nothing is deleted by one click. :func:`preview` lists the runs a rule would delete (the library's
:meth:`~metalora.training.run_registry.RunRegistry.prune_candidates`) and the space that frees; the page
keeps that preview in the session (:data:`PENDING`) and shows it with a confirm button; only
:func:`delete` of that preview deletes, and exactly its runs (a run recorded meanwhile is not touched).
A clean-up applies to every recorded run (other sessions' and the command line's too) but never to a run
still training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from app import session
from app.headline import size_text
from app.strings import t

if TYPE_CHECKING:
    from metalora.training.run_registry import RunRegistry

#: The rules a user can pick (each has its ``cleanup_rule_<rule>`` string): runs older than N days, or all
#: but the newest N.
RULES = ("older", "keep")
#: The columns of the preview table (each has its ``col_`` string).
CLEANUP_COLUMNS = ("run", "created", "method", "data", "status", "size")
#: The session keys of the clean-up waiting for the user's confirmation, and of the one just done.
PENDING, DONE = "cleanup_pending", "cleanup_done"


@dataclass(frozen=True)
class Preview:
    """What a clean-up would delete: the runs' records (newest first) and the bytes of each one's folder."""

    records: tuple[dict, ...]
    sizes: tuple[int, ...]

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(int(r["id"]) for r in self.records)

    @property
    def bytes(self) -> int:
        """The space deleting them frees (their folders inside the data folder)."""
        return sum(self.sizes)

    def rows(self, lang: str) -> list[dict]:
        """Table rows with :data:`CLEANUP_COLUMNS` in ``lang``."""
        from app.session_runs import STATUS_KEYS, data_name
        from metalora.methods import method_label

        return [
            {
                "run": r["id"],
                "created": session.recorded_time(r.get("created")),
                "method": method_label(r.get("method"), lang),
                "data": data_name(str(r.get("dataset") or "–"), lang),
                "status": t(STATUS_KEYS.get(r.get("status"), "status_failed"), lang),
                "size": size_text(size, lang),
            }
            for r, size in zip(self.records, self.sizes, strict=True)
        ]


def usage_text(registry: RunRegistry, lang: str) -> str:
    """ "12 recorded run(s) use 3.1 MiB on disk: run folders 2.9 MiB, registry 0.2 MiB." in ``lang``."""
    use = registry.disk_usage()
    return t(
        "cleanup_usage",
        lang,
        n=registry.count(),
        total=size_text(use["total"], lang),
        runs=size_text(use["runs"], lang),
        registry=size_text(use["registry"], lang),
    )


def preview(registry: RunRegistry, rule: str, n: int) -> Preview:
    """The runs that ``rule`` (one of :data:`RULES`) with ``n`` days or runs would delete; deletes nothing."""
    if rule == "older":
        doomed = registry.prune_candidates(older_than_days=float(n))
    else:
        doomed = registry.prune_candidates(keep_last=int(n))
    return Preview(tuple(doomed), tuple(registry.run_bytes(r) for r in doomed))


def delete(pending: Preview) -> int:
    """Delete the runs of ``pending`` (rows and folders; this session forgets them); the bytes freed."""
    registry = session.registry()
    before = registry.disk_usage()["runs"]
    for run_id in pending.ids:
        session.delete_run(run_id)  # one already deleted elsewhere is skipped
    return max(0, before - registry.disk_usage()["runs"])
