"""The adapted model: a frozen base, adapter wrappers on its target layers, and the mapping network.

``get_model(base, config)`` returns a :class:`MetaLoRAModel`. Its forward for the MetaLoRA methods is

    f = features(x)                      # frozen, no gradients, once per batch
    s = mapping_network(f)                # (B, Σ_l R_l), cut into the (B, R_l) scaling factors of each layer
    y = base(x) with every target layer computing W0·x + (alpha/rank) · Δ(x; s_l)
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Iterator

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..config import MetaLoRAConfig
from ..errors import ConfigError, ModelError, bullet_list
from ..methods import get_method
from .base import ADAPTER_PREFIX, AdapterLayer
from .features import (
    FeatureCache,
    FeatureTap,
    InputStatistics,
    default_feature_layer,
    infer_feature_dim,
    pool,
)
from .files import fingerprint, save_adapter
from .injection import make_adapter, replace_module, select_targets
from .mapping_network import MappingNetwork


class MetaLoRAModel(nn.Module):
    """A base model with MetaLoRA (or baseline) adapters. Build it with :func:`get_model`."""

    def __init__(self, base: nn.Module, config: MetaLoRAConfig):
        super().__init__()
        self.config = config
        self._saved = _modules_to_save(base, config.modules_to_save or ())
        self.base_fingerprint = fingerprint(base, skip=list(self._saved))
        targets = select_targets(base, config, skip=list(self._saved))
        self._requires_grad = {n: p.requires_grad for n, p in base.named_parameters()}
        base.requires_grad_(False)
        for module in self._saved.values():
            module.requires_grad_(True)
        self.base_model = base
        self.feature_dim: int | None = None
        self._feature_layer_name: str | None = None
        self.feature_extractor: nn.Module | None = None
        if config.meta:
            self._setup_features(base, config)
        self._adapters: dict[str, AdapterLayer] = {}
        for name, module in targets.items():
            adapter = make_adapter(name, module, config)
            replace_module(base, name, adapter)
            self._adapters[name] = adapter
        if config.meta:
            sizes = {n: a.core_size for n, a in self._adapters.items()}
            self.mapping_network = MappingNetwork(
                self.feature_dim, config.mapping_hidden, sizes, config.scaling_init_std
            )
            first = next(base.parameters())
            self.mapping_network.to(device=first.device, dtype=first.dtype)
            if self._feature_layer_name is not None:  # tapped now, so a compiled forward needs no new hook
                FeatureTap(base.get_submodule(self._feature_layer_name))
        self.train(base.training)

    # -- set-up ---------------------------------------------------------------------------------
    def _setup_features(self, base: nn.Module, config: MetaLoRAConfig) -> None:
        if isinstance(config.feature_source, nn.Module):
            self.feature_extractor = config.feature_source.requires_grad_(False).eval()
            dim = config.feature_dim or infer_feature_dim(self.feature_extractor)
        elif config.feature_source == "input-stats":
            self.feature_extractor = InputStatistics.for_model(base)
            dim = self.feature_extractor.feature_dim
        else:
            layer_name = config.feature_layer or default_feature_layer(base)
            modules = dict(base.named_modules())
            if layer_name not in modules:
                raise ConfigError(
                    f"feature_layer={layer_name!r} is not a module of the model.",
                    f"Modules: {bullet_list(n for n in modules if n)}.",
                )
            self._feature_layer_name = layer_name
            dim = config.feature_dim or infer_feature_dim(modules[layer_name])
        if dim is None:
            raise ConfigError(
                "The feature width could not be read off the feature source.",
                "Set feature_dim=... in MetaLoRAConfig.",
            )
        self.feature_dim = int(dim)

    def train(self, mode: bool = True) -> MetaLoRAModel:
        super().train(mode)
        if self.config.freeze_norm_stats:
            saved = list(self._saved)
            for name, m in self.base_model.named_modules():
                if isinstance(m, _BatchNorm) and not any(
                    name == s or name.startswith(s + ".") for s in saved
                ):
                    m.eval()
        if self.feature_extractor is not None:
            self.feature_extractor.eval()
        return self

    # -- forward --------------------------------------------------------------------------------
    def features(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        """Pooled features (B, F) of the frozen feature source, without gradients.

        The pass runs in eval mode whatever mode the model is in: no dropout or stochastic depth, and no
        batch-norm statistics updated, so an input's features are the same in training and evaluation.
        Inside :meth:`cached_features` they are read from the cache once known.
        """
        lookup = self.__dict__.get("_feature_lookup")
        if lookup is not None and lookup[1].shape[0] == x.shape[0]:
            cache, indices = lookup
            return cache.lookup(indices, lambda: self._features(x, *args, **kwargs))
        return self._features(x, *args, **kwargs)

    @contextlib.contextmanager
    def cached_features(self, cache: FeatureCache | None, indices: torch.Tensor) -> Iterator[None]:
        """Inside this block, the batch being run holds the inputs ``indices`` of ``cache``'s set: their
        features come from ``cache`` when known (``fit`` does this from the second epoch on)."""
        self._feature_lookup = None if cache is None else (cache, indices)
        try:
            yield
        finally:
            self._feature_lookup = None

    def _features(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        if self.feature_extractor is not None:
            with torch.no_grad():
                return pool(self.feature_extractor(x))
        if self._feature_layer_name is None:
            raise ConfigError(f"method={self.config.method!r} uses no features.")
        layer = self.base_model.get_submodule(self._feature_layer_name)  # the wrapper, once wrapped
        tap = FeatureTap.of(layer) or FeatureTap(
            layer
        )  # a layer replaced since the model was built: tapped now
        with self.adapters_disabled(), _eval_mode(self.base_model):
            return pool(tap.capture(self.base_model, x, *args, **kwargs))

    def compute_scaling(self, x: torch.Tensor, *args, **kwargs) -> dict[str, torch.Tensor]:
        """{layer name: scaling factors (B, R)} for a batch; static CP / TR cores are broadcast to (B, R)."""
        if self.config.meta:
            f = self.features(x, *args, **kwargs).to(self.mapping_network.norm.weight.dtype)
            if f.shape[-1] != self.feature_dim:
                raise ModelError(
                    f"The feature source gave {f.shape[-1]} features; {self.feature_dim} were expected.",
                    "Set feature_dim to the width it really produces.",
                )
            return self.mapping_network.split(self.mapping_network(f))
        if self.config.tensor_format == "lora":
            raise ConfigError(
                "LoRA has no scaling factors: its update does not depend on a core.",
                "Use method 'cp', 'tr', 'meta-cp' or 'meta-tr' to look at scaling factors.",
            )
        return {n: a.adapter_core.expand(x.shape[0], -1) for n, a in self._adapters.items()}

    def forward(self, x: torch.Tensor, *args, **kwargs):
        if not self.config.meta:
            return self.base_model(x, *args, **kwargs)
        scaling = self.compute_scaling(x, *args, **kwargs)
        with self._scaling_set(scaling):
            return self.base_model(x, *args, **kwargs)

    @contextlib.contextmanager
    def _scaling_set(self, scaling: dict[str, torch.Tensor]) -> Iterator[None]:
        for name, adapter in self._adapters.items():
            adapter.input_scaling = scaling[name]
        try:
            yield
        finally:
            for adapter in self._adapters.values():
                adapter.input_scaling = None

    @contextlib.contextmanager
    def adapters_disabled(self) -> Iterator[None]:
        """Run the plain frozen base inside this block."""
        previous = {n: a.enabled for n, a in self._adapters.items()}
        for a in self._adapters.values():
            a.enabled = False
        try:
            yield
        finally:
            for n, a in self._adapters.items():
                a.enabled = previous[n]

    # -- introspection --------------------------------------------------------------------------
    def adapted_layers(self) -> dict[str, AdapterLayer]:
        """{name in the base model: adapter wrapper}, in the model's order."""
        return dict(self._adapters)

    @torch.no_grad()
    def scaling_factors(self, x: torch.Tensor, *args, **kwargs) -> dict[str, torch.Tensor]:
        """The generated scaling factors (B, R) of every adapted layer for inputs ``x`` (detached)."""
        return {n: s.detach() for n, s in self.compute_scaling(x, *args, **kwargs).items()}

    @torch.no_grad()
    def delta_weight(self, name: str, x: torch.Tensor | None = None) -> torch.Tensor:
        """The dense scaled update of layer ``name``: W0's shape, or (B, *W0.shape) for MetaLoRA."""
        layer = self._layer(name)
        if not self.config.meta:
            return layer.delta_weight()
        if x is None:
            raise ConfigError(
                f"MetaLoRA's update of {name!r} depends on the input.",
                "Pass a batch: model.delta_weight(name, x).",
            )
        return layer.delta_weight(self.scaling_factors(x)[name])

    def _layer(self, name: str) -> AdapterLayer:
        if name not in self._adapters:
            raise ConfigError(
                f"{name!r} is not an adapted layer.", f"Adapted layers: {bullet_list(self._adapters)}."
            )
        return self._adapters[name]

    def trainable_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """(name, parameter) for every parameter that training updates."""
        return [(n, p) for n, p in self.named_parameters() if p.requires_grad]

    def count_parameters(self) -> tuple[int, int]:
        """(trainable, total) parameter counts."""
        trainable = sum(p.numel() for _, p in self.trainable_parameters())
        return trainable, sum(p.numel() for p in self.parameters())

    def print_trainable_parameters(self) -> None:
        trainable, total = self.count_parameters()
        print(
            f"trainable params: {trainable:,} || all params: {total:,} || "
            f"trainable%: {100 * trainable / max(total, 1):.4f}"
        )

    def modules_to_save(self) -> dict[str, nn.Module]:
        """{name in the base model: module} of the modules trained in full (``config.modules_to_save``)."""
        return dict(self._saved)

    def layer_table(self) -> list[dict]:
        """One row per adapted layer (name, type, weight shape, method, rank, trainable parameters, and the
        contraction it ran in training and in inference, ``None`` before it ran), then one per module trained
        in full (method ``"full"``, no rank, no contraction)."""
        rows = [
            {
                "name": n,
                "type": type(a.base_layer).__name__,
                "shape": tuple(a.base_layer.weight.shape),
                "method": get_method(a.method).label(),
                "rank": a.rank,
                "trainable": a.adapter_parameters(),
                "contraction": a.chosen.get("train"),
                "contraction_inference": a.chosen.get("infer"),
            }
            for n, a in self._adapters.items()
        ]
        for n, m in self._saved.items():
            weight = getattr(m, "weight", None)
            rows.append(
                {
                    "name": n,
                    "type": type(m).__name__,
                    "shape": tuple(weight.shape) if isinstance(weight, torch.Tensor) else (),
                    "method": get_method("full").label(),
                    "rank": None,
                    "trainable": sum(p.numel() for p in m.parameters()),
                    "contraction": None,
                    "contraction_inference": None,
                }
            )
        return rows

    def adapter_state_dict(self) -> dict[str, torch.Tensor]:
        """Everything that training changes: adapter factors, static cores, the mapping network, and the
        whole state (parameters and buffers) of the modules trained in full."""
        state = {
            n: p.detach()
            for n, p in self.named_parameters()
            if n.rsplit(".", 1)[-1].startswith(ADAPTER_PREFIX) or n.startswith("mapping_network.")
        }
        for name, module in self._saved.items():
            state.update({f"base_model.{name}.{k}": t.detach() for k, t in module.state_dict().items()})
        return state

    def untracked_trainable(self) -> list[str]:
        """Trainable parameters that :meth:`adapter_state_dict` would not save (unfrozen by hand)."""
        saved = self.adapter_state_dict()
        return [n for n, p in self.named_parameters() if p.requires_grad and n not in saved]

    # -- save / load / merge --------------------------------------------------------------------
    def save_adapter(self, directory) -> None:
        """Write the adapter into ``directory`` (see :func:`~metalora.adapters.files.save_adapter`)."""
        save_adapter(self, directory)

    def merge_and_unload(self, data: torch.Tensor | Iterable | None = None) -> nn.Module:
        """A plain copy of the model with ΔW folded into W0; this adapted model is left intact.

        Static methods merge exactly. MetaLoRA's update depends on the input, so it is approximated by
        the update of the *mean scaling factors* over ``data`` (a batch, or an iterable of batches or of
        (x, ...) tuples): exact only for inputs whose scaling factors equal that mean.
        """
        cores: dict[str, torch.Tensor] = {}
        if self.config.meta:
            if data is None:
                raise ConfigError(
                    "Merging a MetaLoRA adapter needs inputs to average the scaling factors over.",
                    "Pass data=... (a batch or a DataLoader).",
                )
            cores = self._mean_scaling(data)
        merged = copy.deepcopy(self)
        for name, adapter in merged._adapters.items():
            core = cores.get(name)
            with torch.no_grad():
                delta = adapter.delta_weight(None if core is None else core[None])
                base = adapter.base_layer
                base.weight += delta.reshape(base.weight.shape).to(base.weight.dtype)
            replace_module(merged.base_model, name, adapter.base_layer)
        merged._restore_requires_grad()
        return merged.base_model

    @torch.no_grad()
    def _mean_scaling(self, data) -> dict[str, torch.Tensor]:
        batches = [data] if isinstance(data, torch.Tensor) else data
        sums: dict[str, torch.Tensor] = {}
        count = 0
        for batch in batches:
            x = batch[0] if isinstance(batch, list | tuple) else batch
            for name, s in self.scaling_factors(x).items():
                sums[name] = sums.get(name, 0) + s.float().sum(0)
            count += x.shape[0]
        if count == 0:
            raise ConfigError("data=... held no inputs to average the scaling factors over.")
        return {n: s / count for n, s in sums.items()}

    def unload(self) -> nn.Module:
        """Take the adapters out and return the original base model, unchanged bit for bit.

        This adapted model is unusable afterwards.
        """
        for name, adapter in self._adapters.items():
            replace_module(self.base_model, name, adapter.base_layer)
        FeatureTap.remove_from(self.base_model)  # a feature layer left unwrapped kept the feature pass's hook
        self._restore_requires_grad()
        self._adapters = {}
        return self.base_model

    def _restore_requires_grad(self) -> None:
        for n, p in self.base_model.named_parameters():
            p.requires_grad_(self._requires_grad.get(n, True))


def _modules_to_save(base: nn.Module, names) -> dict[str, nn.Module]:
    modules = dict(base.named_modules())
    found: dict[str, nn.Module] = {}
    for entry in names:
        hits = [n for n in modules if n and (n == entry or n.endswith("." + entry))]
        if not hits:
            raise ConfigError(
                f"modules_to_save: no module is named {entry!r}.",
                f"Modules: {bullet_list([n for n in modules if n], 12)}.",
            )
        found.update({n: modules[n] for n in hits})
    return found


@contextlib.contextmanager
def _eval_mode(root: nn.Module) -> Iterator[None]:
    """Every module of ``root`` in eval mode inside the block, each restored to its own mode after."""
    modes = [(m, m.training) for m in root.modules()]
    for m, _ in modes:
        m.training = False
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


def get_model(base: nn.Module, config: MetaLoRAConfig | None = None, **kwargs) -> MetaLoRAModel:
    """Freeze ``base`` and wrap its target layers with adapters; ``kwargs`` build a config if none given.

    ``base`` is modified in place (its target layers are replaced by wrappers), as in PEFT;
    :meth:`MetaLoRAModel.unload` restores it.
    """
    if config is None:
        config = MetaLoRAConfig(**kwargs)
    elif kwargs:
        raise ConfigError("Pass either a MetaLoRAConfig or keyword arguments, not both.")
    if not isinstance(base, nn.Module):
        raise ModelError(f"get_model needs a torch.nn.Module, got {type(base).__name__}.")
    if isinstance(base, MetaLoRAModel) or any(isinstance(m, AdapterLayer) for m in base.modules()):
        raise ModelError("This model already carries adapters.", "Call unload() first, or use a fresh base.")
    return MetaLoRAModel(base, config)
