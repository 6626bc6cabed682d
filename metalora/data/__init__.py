"""Data for MetaLoRA: built-in sets, domain shifts, safe loaders for user files, previews.

Everything here returns :class:`ImageDataset` (float32 ``(N, C, H, W)`` images in [0, 1] with
class and domain labels) or :class:`DataSplits`; data too large for memory is read image by image as a
:class:`StreamingDataset` (:func:`open_folder`, :func:`open_cifar`, :func:`open_npz`,
:func:`parse_data_source` for ``folder:PATH`` / ``cifar:PATH`` / ``npz:PATH``). User-facing failures raise
:class:`~metalora.errors.DataError` or :class:`~metalora.errors.FileFormatError` with a message
that says what is wrong and what to do. Nothing here imports Streamlit.
"""

from __future__ import annotations

from . import styles as _styles  # noqa: F401  (registers the colour / background domains)
from .archive import load_imagefolder, load_zip_imagefolder
from .arrays import DEFAULT_DOMAIN, dataset_from_arrays
from .base import DataSplits, ImageDataset, Limits, check_dataset
from .builtin import BUILTIN_DATASETS, load_builtin, load_digits_dataset
from .cifar import CIFAR10_CLASSES, load_cifar_binary
from .csvfile import load_csv
from .data_source import STREAM_KINDS, StreamSpec, is_stream_source, parse_data_source
from .domains import DEFAULT_DEMO_DOMAINS, DOMAINS, apply_domain, make_multi_domain, register_domain
from .images import IMAGE_EXTENSIONS
from .loader import default_num_workers, iterate_batches
from .npzfile import load_npz
from .preview import preview_grid
from .shapes import SHAPE_CLASSES, make_shapes
from .spec import DataSpec
from .split import split_dataset
from .stream_npz import open_npz
from .stream_sources import STREAMING_LIMITS, open_cifar, open_folder
from .streaming import Augment, LazyImages, StreamingDataset, is_streaming, split_streaming
from .styles import SHAPES_DEMO_DOMAINS

__all__ = [
    "BUILTIN_DATASETS",
    "CIFAR10_CLASSES",
    "DEFAULT_DEMO_DOMAINS",
    "DEFAULT_DOMAIN",
    "DOMAINS",
    "IMAGE_EXTENSIONS",
    "SHAPES_DEMO_DOMAINS",
    "SHAPE_CLASSES",
    "STREAMING_LIMITS",
    "STREAM_KINDS",
    "Augment",
    "DataSpec",
    "DataSplits",
    "ImageDataset",
    "LazyImages",
    "Limits",
    "StreamSpec",
    "StreamingDataset",
    "apply_domain",
    "check_dataset",
    "dataset_from_arrays",
    "default_num_workers",
    "is_stream_source",
    "is_streaming",
    "iterate_batches",
    "load_builtin",
    "load_cifar_binary",
    "load_csv",
    "load_digits_dataset",
    "load_imagefolder",
    "load_npz",
    "load_zip_imagefolder",
    "make_multi_domain",
    "make_shapes",
    "open_cifar",
    "open_folder",
    "open_npz",
    "parse_data_source",
    "preview_grid",
    "register_domain",
    "split_dataset",
    "split_streaming",
]
