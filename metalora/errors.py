"""The user-facing error family.

Every error a user can cause (a bad config, a file that is corrupt or hostile, data with the
wrong shape, a model with nothing to adapt) is raised as a :class:`MetaLoRAError` whose message
says what is wrong *and* what to do about it. The dashboard shows ``str(err)`` as it is; code that
wants the parts separately reads ``err.problem`` and ``err.hint``.

Subclasses also derive from the matching built-in (``ValueError``, ``RuntimeError``) so that code
written against plain PyTorch conventions (``except ValueError``) keeps working.
"""

from __future__ import annotations


class MetaLoRAError(Exception):
    """Base class: ``problem`` (what is wrong) and ``hint`` (what to do)."""

    def __init__(self, problem: str, hint: str | None = None):
        self.problem = problem.rstrip()
        self.hint = hint.rstrip() if hint else None
        super().__init__(self.problem if not self.hint else f"{self.problem} {self.hint}")


class ConfigError(MetaLoRAError, ValueError):
    """An invalid configuration value; the message names the field and the allowed values."""


class ModelError(MetaLoRAError, ValueError):
    """A model that cannot be adapted, or that does not match a saved adapter or checkpoint."""


class FileFormatError(MetaLoRAError, ValueError):
    """A file that is missing, corrupt, too large, or of a kind we refuse to read (e.g. a pickle)."""


class DataError(MetaLoRAError, ValueError):
    """A data set with wrong shapes, non-finite values, too few classes, and the like."""


class TrainingError(MetaLoRAError, RuntimeError):
    """Training stopped: a diverging loss, non-finite inputs, running out of memory."""


class CancelledError(MetaLoRAError, RuntimeError):
    """The user cancelled a long-running job."""


def bullet_list(items, limit: int = 20) -> str:
    """Format ``items`` as a short comma list for an error message, eliding the tail."""
    items = [str(i) for i in items]
    if len(items) > limit:
        return ", ".join(items[:limit]) + f", … ({len(items) - limit} more)"
    return ", ".join(items) if items else "(none)"


def lookup(registry, key, what: str):
    """``registry[key]``, or a :class:`ConfigError` that names the unknown ``what`` and lists the known keys
    (the one way every registry of the project answers an unknown name)."""
    try:
        return registry[key]
    except (KeyError, TypeError):
        raise ConfigError(
            f"Unknown {what} {key!r}.", f"Use one of: {bullet_list(sorted(registry))}."
        ) from None
