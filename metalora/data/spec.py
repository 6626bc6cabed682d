"""A recipe for a built-in data set: enough to rebuild it exactly, small enough to record with a run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from .base import DataSplits
from .builtin import load_builtin
from .domains import DEFAULT_DEMO_DOMAINS

__all__ = ["DataSpec"]


@dataclass(frozen=True)
class DataSpec:
    """Enough to rebuild a built-in data set exactly (see :func:`~metalora.data.load_builtin`).

    ``seed`` is the random seed of the split and of the domain shifts.
    """

    name: str = "digits"
    domains: tuple[str, ...] = DEFAULT_DEMO_DOMAINS
    image_size: int = 32
    seed: int = 0
    severity: float = 1.0
    samples_per_class: int | None = None

    def __post_init__(self) -> None:
        domains = self.domains.split(",") if isinstance(self.domains, str) else self.domains
        object.__setattr__(self, "domains", tuple(d.strip() for d in domains if d.strip()))

    def load(self) -> DataSplits:
        """The train / val / test splits (cached: the same spec returns the same arrays)."""
        return _load_cached(self)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "domains": list(self.domains)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DataSpec:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if isinstance(known.get("domains"), list):
            known["domains"] = tuple(known["domains"])
        return cls(**known)


@lru_cache(maxsize=4)
def _load_cached(spec: DataSpec) -> DataSplits:
    return load_builtin(
        spec.name,
        image_size=spec.image_size,
        domains=spec.domains,
        severity=spec.severity,
        seed=spec.seed,
        samples_per_class=spec.samples_per_class,
    )
