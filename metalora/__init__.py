"""MetaLoRA: input-conditioned CP / Tensor-Ring low-rank adaptation for PyTorch.

Wang & Zhao, "MetaLoRA: Tensor-Enhanced Adaptive Low-Rank Fine-tuning", arXiv 2504.00460.
"""

__version__ = "0.1.0"
