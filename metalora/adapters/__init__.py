"""Adapter layers (LoRA, CP, Tensor Ring, MetaLoRA) and the adapted model."""

from .base import AdapterLayer
from .cp import CPConv2d, CPLinear
from .files import fingerprint, read_adapter_config, save_adapter
from .injection import adaptable_modules
from .io import load_adapter
from .lora import LoRAConv2d, LoRALinear
from .mapping_network import MappingNetwork
from .model import MetaLoRAModel, get_model
from .tensor_ring import TRConv2d, TRLinear

__all__ = [
    "AdapterLayer",
    "CPConv2d",
    "CPLinear",
    "LoRAConv2d",
    "LoRALinear",
    "MappingNetwork",
    "MetaLoRAModel",
    "TRConv2d",
    "TRLinear",
    "adaptable_modules",
    "fingerprint",
    "get_model",
    "load_adapter",
    "read_adapter_config",
    "save_adapter",
]
