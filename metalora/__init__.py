"""MetaLoRA: input-conditioned CP / Tensor-Ring low-rank adaptation for PyTorch.

Wang & Zhao, "MetaLoRA: Tensor-Enhanced Adaptive Low-Rank Fine-tuning", arXiv 2504.00460.

>>> from metalora import MetaLoRAConfig, get_model
>>> model = get_model(backbone, MetaLoRAConfig(method="meta-tr", rank=8))  # doctest: +SKIP
"""

from ._version import __version__
from .adapters import MetaLoRAModel, get_model, load_adapter, save_adapter
from .config import MetaLoRAConfig
from .errors import MetaLoRAError
from .methods import DEFAULT_RANK, Method, get_method, list_methods, register_method

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
