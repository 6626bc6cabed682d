"""Scaling factors: the vector s_l(x) that MetaLoRA's mapping network generates per input and layer.

:func:`collect_scaling` runs a model over a set of inputs once (batched, no gradients, on the model's
device) and keeps, for every input, the scaling factors of every adapted layer together with its class,
domain, prediction and correctness, in one tidy :class:`ScalingTable`. The summaries of that table
(:mod:`.scaling_summaries`) read only the table, so they are cheap and can be recomputed as a user clicks
around a dashboard.

See ``docs/method.md`` ("Modules", item 2: the mapping network) for how the scaling factors are made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError, DataError, ModelError, bullet_list
from ._common import as_inputs, model_device, subsample, to_jsonable

__all__ = ["GROUPINGS", "InputFacts", "ScalingTable", "collect_scaling"]

GROUPINGS = ("domain", "class", "correct")
"""The ways :meth:`ScalingTable.grouping` can split the inputs."""


@dataclass(frozen=True)
class InputFacts:
    """What names one input of a :class:`ScalingTable`: data, not words (a figure words them in a language).

    ``index`` is the input's position in its data set; ``label``, ``domain`` and ``predicted`` are the names of
    its class, domain and predicted class (``predicted`` is None where no prediction was recorded).
    """

    index: int
    label: str
    domain: str
    predicted: str | None = None


@dataclass
class ScalingTable:
    """The scaling factors of every adapted layer for N inputs, with the inputs' labels.

    Attributes
    ----------
    factors : dict[str, np.ndarray]
        ``{layer name: (N, R_l) float32}`` in the model's layer order.
    y, domain, pred : np.ndarray
        ``(N,)`` int64 class, domain and predicted class (``-1`` where unknown).
    correct : np.ndarray
        ``(N,)`` bool, ``pred == y``.
    index : np.ndarray
        ``(N,)`` int64 position of each input in the data set it came from (to show the image).
    class_names, domain_names : list[str]
        Names that ``y`` / ``pred`` and ``domain`` index.
    method : str
        The adapter method (``"meta-tr"`` ...); static methods give the same scaling factors to every
        input.
    """

    factors: dict[str, np.ndarray]
    y: np.ndarray
    domain: np.ndarray
    pred: np.ndarray
    correct: np.ndarray
    index: np.ndarray
    class_names: list[str]
    domain_names: list[str]
    method: str = ""

    def __post_init__(self) -> None:
        n = len(self.y)
        for name, s in self.factors.items():
            if s.ndim != 2 or s.shape[0] != n:
                raise DataError(f"Scaling factors of {name!r} have shape {s.shape}; ({n}, R) was expected.")
        for what in ("domain", "pred", "correct", "index"):
            if len(getattr(self, what)) != n:
                raise DataError(f"ScalingTable.{what} has {len(getattr(self, what))} entries, not {n}.")

    def __len__(self) -> int:
        return len(self.y)

    @property
    def layers(self) -> list[str]:
        """Adapted layer names, in the model's order."""
        return list(self.factors)

    @property
    def ranks(self) -> dict[str, int]:
        """``{layer: R_l}``, the number of scaling factors of each layer."""
        return {n: int(s.shape[1]) for n, s in self.factors.items()}

    def check_layer(self, layer: str) -> np.ndarray:
        """The (N, R) scaling factors of ``layer``; :class:`ConfigError` naming the known layers otherwise."""
        if layer not in self.factors:
            raise ConfigError(f"{layer!r} is not an adapted layer.", f"Layers: {bullet_list(self.factors)}.")
        return self.factors[layer]

    def matrix(self, layers: Sequence[str] | str | None = None) -> np.ndarray:
        """Scaling factors of ``layers`` (default all) side by side: (N, Σ R_l) float64."""
        names = self.layers if layers is None else [layers] if isinstance(layers, str) else list(layers)
        return np.concatenate([self.check_layer(n).astype(np.float64) for n in names], axis=1)

    def column_names(self, layers: Sequence[str] | str | None = None) -> list[str]:
        """``"layer[r]"`` for every column of :meth:`matrix`."""
        names = self.layers if layers is None else [layers] if isinstance(layers, str) else list(layers)
        return [f"{n}[{r}]" for n in names for r in range(self.factors[n].shape[1])]

    def facts(self, i: int) -> InputFacts:
        """What names row ``i`` (its position in the data set, class, domain, prediction), as the table names
        them; :func:`metalora.figures.describe_input` words it in a language for hover texts."""
        predicted = str(self.class_names[self.pred[i]]) if self.pred[i] >= 0 else None
        return InputFacts(
            int(self.index[i]),
            str(self.class_names[self.y[i]]),
            str(self.domain_names[self.domain[i]]),
            predicted,
        )

    def grouping(self, by: str) -> tuple[np.ndarray, list[str]]:
        """``(labels (N,), names)`` of a grouping of the inputs: ``"domain"``, ``"class"`` or ``"correct"``."""
        if by == "domain":
            return self.domain, self.domain_names
        if by == "class":
            return self.y, self.class_names
        if by == "correct":
            return self.correct.astype(np.int64), ["wrong", "correct"]
        raise ConfigError(f"by={by!r} is not a grouping.", f"Use one of {', '.join(map(repr, GROUPINGS))}.")

    def group_rows(self, by: str) -> dict[str, np.ndarray]:
        """``{group name: rows}`` of every group that holds at least one input, in the grouping's order."""
        labels, names = self.grouping(by)
        return {str(names[g]): np.flatnonzero(labels == g) for g in range(len(names)) if np.any(labels == g)}

    def subset(self, rows) -> ScalingTable:
        """The table restricted to ``rows`` (indices or boolean mask)."""
        rows = np.asarray(rows)
        return ScalingTable(
            {n: s[rows] for n, s in self.factors.items()},
            self.y[rows],
            self.domain[rows],
            self.pred[rows],
            self.correct[rows],
            self.index[rows],
            list(self.class_names),
            list(self.domain_names),
            self.method,
        )

    def to_dict(self) -> dict:
        """JSON-ready dict (arrays as lists)."""
        return to_jsonable(self.__dict__)


@torch.no_grad()
def collect_scaling(
    model,
    data,
    *,
    y=None,
    domain=None,
    batch_size: int = 256,
    max_inputs: int | None = None,
    seed: int = 0,
    predict: bool = True,
) -> ScalingTable:
    """Run ``model`` over ``data`` once and keep every adapted layer's scaling factors per input.

    Parameters
    ----------
    model : MetaLoRAModel
        A model from :func:`metalora.get_model` with a CP / TR method (LoRA has no scaling factors).
    data : ImageDataset or array-like (N, C, H, W)
        Inputs. An :class:`~metalora.data.ImageDataset` brings its labels and names; for a bare
        array pass ``y`` and ``domain`` (else they are 0).
    batch_size : int
        Inputs per forward pass.
    max_inputs : int or None
        Keep a random subset of this many inputs (reproducible with ``seed``), e.g. for a dashboard.
    predict : bool
        Also record predictions (a full forward; for MetaLoRA methods the scaling factors are captured
        from that same forward). With ``False`` only the cheaper feature pass runs and ``pred`` is -1.

    Returns
    -------
    ScalingTable
    """
    if not hasattr(model, "adapted_layers") or not hasattr(model, "scaling_factors"):
        raise ModelError(
            f"collect_scaling needs an adapted model, got {type(model).__name__}.",
            "Wrap the backbone with metalora.get_model(base, MetaLoRAConfig(...)) first.",
        )
    method = model.config.method
    if model.config.tensor_format == "lora":
        raise ConfigError(
            "LoRA has no scaling factors: its update does not depend on a core.",
            "Use an adapter trained with 'cp', 'tr', 'meta-cp' or 'meta-tr' to look at scaling factors.",
        )
    x, labels, dom, class_names, domain_names = as_inputs(data, y, domain)
    index = subsample(len(x), max_inputs, seed)
    device = model_device(model)
    was_training = model.training
    model.eval()
    out: dict[str, list[np.ndarray]] = {n: [] for n in model.adapted_layers()}
    preds: list[np.ndarray] = []
    try:
        for start in range(0, len(index), max(1, int(batch_size))):
            rows = index[start : start + batch_size]
            xb = torch.as_tensor(x[rows], dtype=torch.float32).to(device)
            factors, logits = _scaling_and_logits(model, xb, predict)
            for n, s in factors.items():
                out[n].append(s.float().cpu().numpy())
            if logits is not None:
                preds.append(logits.argmax(dim=1).cpu().numpy())
    finally:
        model.train(was_training)
    n = len(index)
    pred = np.concatenate(preds).astype(np.int64) if preds else np.full(n, -1, np.int64)
    yy, dd = labels[index], dom[index]
    return ScalingTable(
        factors={k: np.concatenate(v) if v else np.zeros((0, 0), np.float32) for k, v in out.items()},
        y=yy,
        domain=dd,
        pred=pred,
        correct=(pred == yy) & (pred >= 0),
        index=index.astype(np.int64),
        class_names=class_names,
        domain_names=domain_names,
        method=method,
    )


def _scaling_and_logits(model, xb: torch.Tensor, predict: bool):
    """Scaling factors {layer: (B, R)} and logits (B, K) or None, from one forward when possible."""
    gen = getattr(model, "mapping_network", None)
    if not predict:
        return model.scaling_factors(xb), None
    if not model.config.meta or gen is None:
        return model.scaling_factors(xb), _logits(model(xb))
    captured: list[torch.Tensor] = []
    handle = gen.register_forward_hook(lambda _m, _i, o: captured.append(o.detach()))
    try:
        logits = _logits(model(xb))
    finally:
        handle.remove()
    if len(captured) != 1:  # an unusual forward: fall back to a separate pass
        return model.scaling_factors(xb), logits
    return gen.split(captured[0]), logits


def _logits(out) -> torch.Tensor | None:
    if isinstance(out, torch.Tensor) and out.dim() == 2:
        return out
    return None
