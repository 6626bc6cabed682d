"""Small backbones (ResNet, MLP-Mixer), their registry and safe checkpoints."""

from .checkpoint import (
    list_sample_models,
    load_checkpoint,
    load_sample_model,
    load_weights,
    read_card,
    read_state_dict,
    sample_models_dir,
    save_checkpoint,
)
from .mixer import MlpMixer
from .normalize import Normalize
from .registry import ArchSpec, build_model, get_architecture, list_architectures, register_architecture
from .resnet import ResNet

__all__ = [
    "ArchSpec",
    "MlpMixer",
    "Normalize",
    "ResNet",
    "build_model",
    "get_architecture",
    "list_architectures",
    "list_sample_models",
    "load_checkpoint",
    "load_sample_model",
    "load_weights",
    "read_card",
    "read_state_dict",
    "register_architecture",
    "sample_models_dir",
    "save_checkpoint",
]
