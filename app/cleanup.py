"""Disk clean-up on the Runs page: the space the runs use, and deleting old runs after a look at what goes.

Nothing is deleted by one click. :func:`preview` lists the runs a rule would delete (the library's
:meth:`~metalora.training.run_registry.RunRegistry.prune_candidates`) and the space that frees; the page
keeps that preview in the session (:data:`PENDING`) and shows it with a confirm button; only
:func:`delete` of that preview deletes, and exactly its runs (a run recorded meanwhile is not touched).
A clean-up applies to every recorded run (other sessions' and the command line's too) but never to a run
still training.

The leftover folders of interrupted runs (a hidden folder a training killed while saving left behind, see
:meth:`~metalora.training.run_registry.RunRegistry.leftovers`) are counted in the space shown, listed in
the preview and removed with its runs; a folder a training still running may be writing never is.
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
    """What a clean-up would delete: the runs' records (newest first) and the bytes of each one's folder,
    and the leftover folders of interrupted runs (their names) with their bytes in all."""

    records: tuple[dict, ...]
    sizes: tuple[int, ...]
    leftovers: tuple[str, ...] = ()
    leftover_bytes: int = 0

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(int(r["id"]) for r in self.records)

    @property
    def bytes(self) -> int:
        """The space deleting the runs frees (their folders inside the data folder)."""
        return sum(self.sizes)

    @property
    def empty(self) -> bool:
        """Nothing to delete: no run and no leftover folder."""
        return not self.records and not self.leftovers

    def confirm_texts(self, lang: str) -> list[str]:
        """What the confirmation says will go, in ``lang``: the runs, then the leftover folders."""
        texts = (
            [t("cleanup_confirm", lang, n=len(self.ids), size=size_text(self.bytes, lang))]
            if self.ids
            else []
        )
        if self.leftovers:
            size = size_text(self.leftover_bytes, lang)
            texts.append(t("cleanup_confirm_leftovers", lang, n=len(self.leftovers), size=size))
        return texts

    def yes_text(self, lang: str) -> str:
        """The confirm button's label."""
        return t("cleanup_yes", lang, n=len(self.ids)) if self.ids else t("cleanup_yes_leftovers", lang)

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


@dataclass(frozen=True)
class Done:
    """What a clean-up deleted: runs and the bytes their folders freed, leftover folders and theirs."""

    runs: int
    bytes: int
    leftovers: int = 0
    leftover_bytes: int = 0

    def texts(self, lang: str) -> list[str]:
        """ "Deleted 3 run(s) and freed 2.1 MiB." / "Removed 2 leftover folder(s) of interrupted runs, 14.0
        MiB." in ``lang`` (each only when something of its kind went)."""
        texts = [t("cleanup_done", lang, n=self.runs, size=size_text(self.bytes, lang))] if self.runs else []
        if self.leftovers:
            size = size_text(self.leftover_bytes, lang)
            texts.append(t("cleanup_done_leftovers", lang, n=self.leftovers, size=size))
        return texts


def usage_text(registry: RunRegistry, lang: str) -> str:
    """ "12 recorded run(s) use 3.1 MiB on disk: run folders 2.9 MiB, registry 0.2 MiB." in ``lang``, and
    "2 leftover folder(s) of interrupted runs use 14.0 MiB more; …" when there are any."""
    use = registry.disk_usage()
    text = t(
        "cleanup_usage",
        lang,
        n=registry.count(),
        total=size_text(use["total"], lang),
        runs=size_text(use["runs"], lang),
        registry=size_text(use["registry"], lang),
    )
    if use["leftover_folders"]:
        size = size_text(use["leftovers"], lang)
        text += " " + t("cleanup_usage_leftovers", lang, n=use["leftover_folders"], size=size)
    return text


def preview(registry: RunRegistry, rule: str, n: int) -> Preview:
    """The runs that ``rule`` (one of :data:`RULES`) with ``n`` days or runs would delete, and the leftover
    folders of interrupted runs there are now; deletes nothing."""
    if rule == "older":
        doomed = registry.prune_candidates(older_than_days=float(n))
    else:
        doomed = registry.prune_candidates(keep_last=int(n))
    left = registry.leftovers()
    return Preview(
        tuple(doomed),
        tuple(registry.run_bytes(r) for r in doomed),
        tuple(p.name for p in left),
        sum(left.values()),
    )


def delete(pending: Preview) -> Done:
    """Delete the runs of ``pending`` (rows and folders; this session forgets them) and remove its leftover
    folders (one that is no longer a leftover is kept); what went."""
    registry = session.registry()
    before = registry.disk_usage()["runs"]
    for run_id in pending.ids:
        session.delete_run(run_id)  # one already deleted elsewhere is skipped
    freed = max(0, before - registry.disk_usage()["runs"])
    removed, left_freed = registry.remove_leftovers(only=pending.leftovers) if pending.leftovers else (0, 0)
    return Done(len(pending.ids), freed, removed, left_freed)
