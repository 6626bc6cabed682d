"""Turning a user's uploaded file into a model or a data set, through the library's safe loaders.

Kept apart from the page so tests can call them with plain bytes (AppTest cannot upload files).
Anything wrong with a file raises a :class:`~metalora.errors.MetaLoRAError` that says what to do.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Protocol

from app.session import DataChoice, ModelChoice
from metalora.data import load_csv, load_npz, load_zip_imagefolder, split_dataset
from metalora.errors import FileFormatError
from metalora.models import build_model, load_weights

DATA_TYPES = ("npz", "csv", "zip")
WEIGHT_TYPES = ("safetensors", "pt", "pth", "bin")


class Upload(Protocol):
    """What ``st.file_uploader`` returns (and what tests can imitate): a name and the bytes."""

    name: str

    def getvalue(self) -> bytes: ...


def suffix(upload: Upload) -> str:
    return PurePath(upload.name).suffix.lower().lstrip(".")


def data_from_upload(upload: Upload, *, image_size: int = 32, seed: int = 0) -> DataChoice:
    """Read an uploaded NPZ, CSV or ZIP (ImageFolder) file and split it 70/15/15."""
    kind = suffix(upload)
    if kind == "npz":
        ds = load_npz(upload)
    elif kind == "csv":
        ds = load_csv(upload)
    elif kind == "zip":
        ds = load_zip_imagefolder(upload, image_size=int(image_size))
    else:
        raise FileFormatError(
            f"{upload.name!r} is not a data file this dashboard reads.",
            "Upload a .npz (arrays x and y), a .csv (label + pixel columns) or a .zip of class folders.",
        )
    ds.name = PurePath(upload.name).stem
    return DataChoice(label=upload.name, splits=split_dataset(ds, seed=seed))


def data_from_source(text: str, *, image_size: int = 32, augment: bool = False) -> DataChoice:
    """Images streamed from the server's disk, named as on the command line: ``folder:PATH``,
    ``cifar:PATH`` or ``npz:PATH`` (:func:`metalora.data.parse_data_source`); nothing is loaded into memory
    but the labels. A built-in name gives the built-in set."""
    from metalora.data import DataSpec, parse_data_source

    spec = parse_data_source(text.strip(), image_size=int(image_size), augment=bool(augment))
    if isinstance(spec, DataSpec):
        return DataChoice.builtin(spec, spec.load())
    return DataChoice(label=spec.source, splits=spec.load(), spec=spec)


def zoo_model(name: str, upload: Upload | None, *, image_size: int | None = None) -> ModelChoice:
    """A torchvision / timm backbone (:func:`metalora.models.build_zoo_model`), random or with the uploaded
    weights of its original head; it gets a new head, which training resizes to the data's classes."""
    from metalora.models.zoo import build_zoo_model

    if upload is not None and suffix(upload) not in WEIGHT_TYPES:
        raise FileFormatError(
            f"{upload.name!r} is not a weights file this dashboard reads.",
            "Upload a .safetensors file, or a .pt file saved with torch.save(model.state_dict(), ...).",
        )
    weights = upload.getvalue() if upload is not None else None
    model = build_zoo_model(name, num_classes=10, weights=weights, image_size=image_size)
    model.requires_grad_(False).eval()
    label = f"{name} · {upload.name}" if upload is not None else name
    return ModelChoice(label=label, uploaded=model)


def model_from_upload(upload: Upload, arch: str, **kwargs) -> ModelChoice:
    """Build ``arch`` with ``kwargs`` and load the uploaded weights (safetensors, or a weights-only .pt)."""
    if suffix(upload) not in WEIGHT_TYPES:
        raise FileFormatError(
            f"{upload.name!r} is not a weights file this dashboard reads.",
            "Upload a .safetensors file, or a .pt file saved with torch.save(model.state_dict(), ...).",
        )
    model = build_model(arch, **kwargs)
    load_weights(model, upload.getvalue())
    model.requires_grad_(False).eval()
    return ModelChoice(label=f"{arch} · {upload.name}", uploaded=model)
