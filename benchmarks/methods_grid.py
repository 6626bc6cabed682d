"""What the method comparison runs: its presets, data cells, budgets, learning-rate grids and one run (:class:`Job`).

The methods are the entries of :mod:`metalora.methods` (the PEFT peers once
:func:`peft_methods.register_peft_methods` ran); a preset names a subset of their ids or takes them all.
A :class:`Job`'s :attr:`~Job.key` names a run in ``benchmarks/results/methods_runs.jsonl``: it must not change,
or the saved runs stop matching their jobs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from metalora.methods import get_method, method_ids

__all__ = [
    "BUDGET_RANKS",
    "PRESETS",
    "Job",
    "Preset",
    "budget_of",
    "data_spec",
    "is_ours",
    "lr_grid",
    "preset_methods",
    "sample_name",
]

BUDGET_RANKS = {"small": 4, "large": 16}  # a budget = LoRA's trainable count at this rank
LR_GRID = {"full": (1e-3, 3e-3, 1e-2)}
LR_GRID_DEFAULT = (5e-3, 2e-2, 8e-2)
SWEEP_RANKS = (1, 2, 4, 8, 16)
SWEEP_METHODS = ("lora", "meta-tr")  # the rank sweep and the alpha study
PEER_METHODS = ("lora", "peft-lora")  # the extra seeds of the peer check


@dataclass(frozen=True)
class Preset:
    """How much to run. ``methods`` None: every registered method."""

    backbones: tuple[str, ...]
    datasets: tuple[str, ...]
    methods: tuple[str, ...] | None
    budgets: tuple[str, ...]
    seeds: int
    epochs: int
    samples_per_class: int | None
    ablations: bool
    sweep_ranks: tuple[int, ...] = SWEEP_RANKS
    tune_each_dataset: bool = True
    alpha_factors: tuple[float, ...] = (1.0, 4.0)
    peer_extra_seeds: int = 5
    scaling_init_std: float = 0.05
    small_mapping: int = 16
    long_epochs: int = 10
    long_cells: tuple[tuple[str, str], ...] | None = None  # (backbone, data set); None: each backbone's first


PRESETS = {
    "full": Preset(
        ("resnet-mini", "mixer-mini", "vit-mini"), ("digits-4", "digits-6", "shapes-4"), None, ("small", "large"),
        seeds=3, epochs=3, samples_per_class=None, ablations=True, tune_each_dataset=False,
        long_cells=(
            ("resnet-mini", "digits-4"),
            ("mixer-mini", "digits-4"),
            ("resnet-mini", "digits-6"),
            ("vit-mini", "digits-4"),
        ),
    ),
    "quick": Preset(
        ("resnet-mini",), ("digits-4",), None, ("small",), seeds=2, epochs=2, samples_per_class=60,
        ablations=False,
    ),
    # for the test suite: two methods of each kind, a tiny data set, one epoch
    "smoke": Preset(
        ("resnet-mini",), ("digits-4",), ("head", "lora", "meta-tr", "peft-lora"), ("small",), seeds=2,
        epochs=1, samples_per_class=6, ablations=True, sweep_ranks=(2,), alpha_factors=(4.0,), peer_extra_seeds=1,
        long_epochs=2,
    ),
}  # fmt: skip


def preset_methods(preset: Preset) -> list[str]:
    """The preset's method ids (every registered one when it names none)."""
    return list(preset.methods if preset.methods is not None else method_ids())


def budget_of(method: str, budget: str) -> str | None:
    """The budget a method's row carries: None for a method without a rank (head, full)."""
    return budget if get_method(method).ranked else None


def is_ours(method: str) -> bool:
    """True for the library's own methods (not a peer brought in by the benchmark)."""
    return get_method(method).prepare is None


def data_spec(name: str, samples_per_class: int | None):
    """The :class:`~metalora.data.DataSpec` of a data cell (``digits-4``, ``digits-6``, ``shapes-4``)."""
    from metalora.data import DEFAULT_DEMO_DOMAINS, SHAPES_DEMO_DOMAINS, DataSpec

    domains = {
        "digits-4": ("digits", DEFAULT_DEMO_DOMAINS),
        "digits-6": ("digits", (*DEFAULT_DEMO_DOMAINS, "rotate180", "noise")),
        "shapes-4": ("shapes", SHAPES_DEMO_DOMAINS),
    }
    dataset, doms = domains[name]
    return DataSpec(dataset, doms, samples_per_class=samples_per_class)


def sample_name(backbone: str, dataset: str) -> str:
    """The shipped sample model of a backbone trained on the clean data of ``dataset``."""
    return f"{backbone}-{dataset.split('-')[0]}"


def lr_grid(method: str) -> tuple[float, ...]:
    """The learning rates tried for ``method`` on validation."""
    return LR_GRID.get(method, LR_GRID_DEFAULT)


@dataclass(frozen=True)
class Job:
    """One training run of the grid; its :attr:`key` names its row in the runs file."""

    backbone: str
    dataset: str
    method: str
    budget: str | None  # None: head / full, or an ablation that fixes the rank itself
    rank: int | None
    lr: float
    seed: int  # the random seed (one repeat)
    epochs: int
    samples_per_class: int | None
    feature_source: str = "backbone"
    # main | rank-sweep | peer-check | feature-source | seed-init (the scaling factors' initialisation; the
    # id stays as saved runs name it) | mapping-size | alpha | epochs | epochs-tuned
    study: str = "main"
    alpha_factor: float | None = None  # alpha = factor x rank; None: the default 2
    mapping_hidden: int | None = None  # None: MetaLoRAConfig's default
    scaling_init_std: float | None = (
        None  # None: MetaLoRAConfig's default (0: every scaling factor starts at 1)
    )

    @property
    def key(self) -> str:
        values = asdict(self)
        for name in ("alpha_factor", "mapping_hidden", "scaling_init_std"):  # fields added later: a default
            if values[name] is None:  # leaves the key as before, so earlier saved runs stay valid
                del values[name]
        return "|".join(str(v) for v in values.values())
