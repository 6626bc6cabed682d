"""Singular-value spectra of the learned factors, and how much each scaling factor contributes.

* :func:`core_spectra` — for every adapted layer, the singular values of each mode unfolding of each
  learned factor: CP factor matrices A, B, C, D; Tensor-Ring cores G1..G4 (R × n × R: the left-bond,
  physical and right-bond unfoldings); LoRA's A and B. A spectrum that drops to ~0 after k values
  says the factor only uses k of its R directions. (The spectra of the ΔW stack itself come with each
  :class:`~metalora.analysis.ranks.RankSweep` as ``mode_spectra``.)
* :func:`component_energy` — per scaling factor s_r of a layer (position r of its vector): its share of
  the update's energy across inputs, ``E_r = mean_x s_r(x)² · ‖T_r‖²`` where ``T_r`` is the update made
  by the unit vector e_r, and the share of the *input-dependent* part, ``V_r = var_x s_r(x) · ‖T_r‖²``.
  Positions with a tiny share are "dead": the adapter could lose them. (For TR the T_r are not orthogonal, so shares
  describe each component's own size, not an exact split of ‖ΔW‖².)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError
from ._common import to_jsonable
from .scaling import ScalingTable

__all__ = ["ComponentEnergy", "Spectrum", "component_energy", "core_spectra", "unfolding_spectra"]

# Mode names of each factor, by tensor format (conv; a Linear uses the first entries that fit).
_MODE_NAMES = {
    ("cp", "adapter_A"): ["out channels", "rank"],
    ("cp", "adapter_B"): ["in channels", "rank"],
    ("cp", "adapter_C"): ["kernel height", "rank"],
    ("cp", "adapter_D"): ["kernel width", "rank"],
    ("tr", "adapter_G1"): ["left bond", "out channels", "right bond"],
    ("tr", "adapter_G2"): ["left bond", "in channels", "right bond"],
    ("tr", "adapter_G3"): ["left bond", "kernel height", "right bond"],
    ("tr", "adapter_G4"): ["left bond", "kernel width", "right bond"],
    ("lora", "adapter_A"): ["rank", "in channels", "kernel height", "kernel width"],
    ("lora", "adapter_B"): ["out channels", "rank", "", ""],
}


@dataclass
class Spectrum:
    """Singular values (descending, raw) of one unfolding of one learned factor."""

    layer: str
    factor: str  # e.g. "G1"
    mode: str  # e.g. "left bond"
    shape: tuple[int, ...]
    values: np.ndarray  # (min(n, rest),)

    @property
    def normalised(self) -> np.ndarray:
        """Values divided by the largest (all zeros for a zero factor)."""
        top = self.values[0] if len(self.values) and self.values[0] > 0 else 1.0
        return self.values / top

    def to_dict(self) -> dict:
        return to_jsonable({**self.__dict__, "normalised": self.normalised})


def unfolding_spectra(t: np.ndarray, modes: Sequence[int] | None = None) -> list[np.ndarray]:
    """Singular values of the mode-k unfoldings of ``t`` (each (n_k, rest)), for ``modes`` (default all)."""
    t = np.asarray(t, dtype=np.float64)
    out = []
    for k in range(t.ndim) if modes is None else modes:
        m = np.moveaxis(t, k, 0).reshape(t.shape[k], -1)
        g = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m  # Gram of the short side: fast, exact enough
        out.append(np.sqrt(np.clip(np.linalg.eigvalsh(g)[::-1], 0.0, None)))
    return out


def core_spectra(model, layers: Sequence[str] | None = None) -> dict[str, list[Spectrum]]:
    """Spectra of every mode unfolding of every learned factor, per adapted layer.

    A matrix factor gives one spectrum (both unfoldings share their singular values); a TR core three.
    Modes of size 1 (a 1×1 kernel) are skipped. Static cores (R,) and the mapping network are not factors.
    """
    adapted = model.adapted_layers()
    names = list(adapted) if layers is None else list(layers)
    out: dict[str, list[Spectrum]] = {}
    for name in names:
        if name not in adapted:
            raise ConfigError(f"{name!r} is not an adapted layer.")
        a = adapted[name]
        specs = []
        for pname, p in a.named_parameters():
            if not pname.startswith("adapter_") or pname == "adapter_core" or p.dim() < 2:
                continue
            t = p.detach().double().cpu().numpy()
            labels = _MODE_NAMES.get((a.tensor_format, pname), [f"mode {k}" for k in range(t.ndim)])
            modes = [k for k in range(t.ndim) if t.shape[k] > 1]
            if t.ndim == 2 or len(modes) <= 2:
                modes = modes[:1]
            for k, sv in zip(modes, unfolding_spectra(t, modes), strict=True):
                label = labels[k] if k < len(labels) and labels[k] else f"mode {k}"
                specs.append(Spectrum(name, pname.removeprefix("adapter_"), label, tuple(t.shape), sv))
        out[name] = specs
    return out


@dataclass
class ComponentEnergy:
    """Per scaling factor of one layer: size of its update and its share of the energy across inputs."""

    layer: str
    component_norm: np.ndarray  # (R,) ‖T_r‖_F, the update of the unit vector e_r
    share: np.ndarray  # (R,) E_r / Σ E, energy share (sums to 1)
    variation_share: np.ndarray  # (R,) V_r / Σ V, share of the input-dependent energy (0s if static)
    alive: np.ndarray  # (R,) bool, share ≥ threshold
    threshold: float

    def to_dict(self) -> dict:
        return to_jsonable(self.__dict__)


@torch.no_grad()
def component_energy(
    model, table: ScalingTable | None = None, layers: Sequence[str] | None = None, threshold: float = 0.01
) -> dict[str, ComponentEnergy]:
    """Share of each scaling factor in the energy of the update, over the inputs of ``table``.

    Static CP / TR use their learned core for every input (``table`` may be None); LoRA has no scaling
    factors.
    A component is alive when its share is at least ``threshold`` (default 1 %).
    """
    if model.config.tensor_format == "lora":
        raise ConfigError("LoRA has no scaling factors.", "Use a CP or TR adapter for this view.")
    adapted = model.adapted_layers()
    names = list(adapted) if layers is None else list(layers)
    out = {}
    for name in names:
        a = adapted[name]
        p = next(a.parameters())
        eye = torch.eye(a.rank, dtype=p.dtype, device=p.device)
        t = a.delta_weight(eye).reshape(a.rank, -1)  # (R, numel W0): update of each unit vector
        norm = t.double().norm(dim=1).cpu().numpy()  # (R,)
        if a.input_conditioned:
            if table is None:
                raise ConfigError(
                    "MetaLoRA's scaling factors depend on the input.",
                    "Pass table=collect_scaling(model, data).",
                )
            s = table.check_layer(name).astype(np.float64)  # (N, R)
        else:
            s = a.adapter_core.detach().double().cpu().numpy()[None]  # (1, R)
        energy = (s**2).mean(0) * norm**2
        variation = s.var(0) * norm**2
        share = energy / energy.sum() if energy.sum() > 0 else np.zeros_like(energy)
        vshare = variation / variation.sum() if variation.sum() > 0 else np.zeros_like(variation)
        out[name] = ComponentEnergy(name, norm, share, vshare, share >= threshold, float(threshold))
    return out
