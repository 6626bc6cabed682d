"""MetaLoRA: input-conditioned CP / Tensor-Ring low-rank adaptation for PyTorch.

Wang & Zhao, "MetaLoRA: Tensor-Enhanced Adaptive Low-Rank Fine-tuning", arXiv 2504.00460.

>>> from metalora import MetaLoRAConfig, get_model
>>> model = get_model(backbone, MetaLoRAConfig(method="meta-tr", rank=8))  # doctest: +SKIP

The names below are imported on first use (PEP 562), so ``import metalora.i18n`` or
``import metalora.methods`` does not load torch: the dashboard's first page renders before it does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._version import __version__

_EXPORTS = {
    "DEFAULT_RANK": "methods",
    "Method": "methods",
    "get_method": "methods",
    "list_methods": "methods",
    "register_method": "methods",
    "MetaLoRAError": "errors",
    "MetaLoRAConfig": "config",
    "MetaLoRAModel": "adapters",
    "get_model": "adapters",
    "load_adapter": "adapters",
    "save_adapter": "adapters",
}

__all__ = [
    "DEFAULT_RANK",
    "MetaLoRAConfig",
    "MetaLoRAError",
    "MetaLoRAModel",
    "Method",
    "__version__",
    "get_method",
    "get_model",
    "list_methods",
    "load_adapter",
    "register_method",
    "save_adapter",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from .adapters import MetaLoRAModel, get_model, load_adapter, save_adapter
    from .config import MetaLoRAConfig
    from .errors import MetaLoRAError
    from .methods import DEFAULT_RANK, Method, get_method, list_methods, register_method


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
