"""MetaLoRA: input-conditioned CP / Tensor-Ring low-rank adaptation for PyTorch.

Wang & Zhao, "MetaLoRA: Tensor-Enhanced Adaptive Low-Rank Fine-tuning", arXiv 2504.00460.

>>> from metalora import MetaLoRAConfig, get_model
>>> model = get_model(backbone, MetaLoRAConfig(method="meta-tr", rank=8))  # doctest: +SKIP
"""

__version__ = "0.1.0"

from .adapters import MetaLoRAModel, get_model, load_adapter, save_adapter
from .config import METHODS, MetaLoRAConfig
from .errors import MetaLoRAError

__all__ = [
    "METHODS",
    "MetaLoRAConfig",
    "MetaLoRAError",
    "MetaLoRAModel",
    "__version__",
    "get_model",
    "load_adapter",
    "save_adapter",
]
