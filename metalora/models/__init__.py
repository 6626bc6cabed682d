"""Small backbones (ResNet, MLP-Mixer, Vision Transformer), the registry of architectures, safe
checkpoints, and resolving a model name to a fresh base."""

from .architectures import ArchSpec, build_model, get_architecture, list_architectures, register_architecture
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
from .resnet import ResNet
from .resolve import check_compatible, resolve_model
from .vit import VisionTransformer
from .zoo import ZooClassifier, build_zoo_model

__all__ = [
    "ArchSpec",
    "MlpMixer",
    "Normalize",
    "ResNet",
    "VisionTransformer",
    "ZooClassifier",
    "build_model",
    "build_zoo_model",
    "check_compatible",
    "get_architecture",
    "list_architectures",
    "list_sample_models",
    "load_checkpoint",
    "load_sample_model",
    "load_weights",
    "read_card",
    "read_state_dict",
    "register_architecture",
    "resolve_model",
    "sample_models_dir",
    "save_checkpoint",
]
