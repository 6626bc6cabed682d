"""``--data`` values: a built-in set name, or ``folder:PATH``, ``cifar:PATH``, ``npz:PATH`` to stream.

:func:`parse_data_source` turns the text into what training needs: a
:class:`~metalora.data.DataSpec` for a built-in set (loaded in memory, as today) or a
:class:`StreamSpec` for files on disk (read image by image). Both have ``load() -> DataSplits`` and
``to_dict()`` (the record kept with a run), so the command line and the dashboard treat them alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, FileFormatError, bullet_list
from .base import DataSplits
from .builtin import BUILTIN_DATASETS, TEST_FRACTION, VAL_FRACTION
from .spec import DataSpec
from .stream_npz import open_npz
from .stream_sources import open_cifar, open_folder
from .streaming import Augment, split_streaming

__all__ = ["STREAM_KINDS", "StreamSpec", "is_stream_source", "parse_data_source"]

#: The prefixes of streamed sources, and what each names.
STREAM_KINDS: dict[str, str] = {
    "folder": "an image folder (class/img.png or domain/class/img.png)",
    "cifar": "a folder of CIFAR-10/100 binary files (.bin)",
    "npz": "an .npz file saved with np.savez (x, y)",
}
_USAGE = (
    f"Use a built-in data set ({bullet_list(BUILTIN_DATASETS)}) or "
    + ", ".join(f"{k}:PATH for {v}" for k, v in STREAM_KINDS.items())
    + "."
)


@dataclass(frozen=True)
class StreamSpec:
    """A data set streamed from disk, and how to split it; enough to open it again.

    Attributes
    ----------
    kind : {"folder", "cifar", "npz"}
    path : str
        The folder (``folder``, ``cifar``) or file (``npz``).
    image_size : int or None
        Side the images are resized to (the model's input size). ``None``: 32 for a folder, the
        stored size for CIFAR and NPZ.
    seed : int
        The random seed of the split.
    val_fraction, test_fraction : float
        Parts of the data kept for validation and test (stratified). For CIFAR the test batch is the
        test split when it is there (the validation part comes out of the training batches).
    augment : bool
        Random crop (padding 4) and horizontal flip on the training split.
    """

    kind: str
    path: str
    image_size: int | None = None
    seed: int = 0
    val_fraction: float = VAL_FRACTION
    test_fraction: float = TEST_FRACTION
    augment: bool = False

    def __post_init__(self) -> None:
        if self.kind not in STREAM_KINDS:
            raise ConfigError(f"Unknown data source kind {self.kind!r}.", _USAGE)

    @property
    def source(self) -> str:
        """The ``--data`` text: ``"folder:PATH"`` and so on."""
        return f"{self.kind}:{self.path}"

    @property
    def name(self) -> str:
        """A display name: the folder's or file's name."""
        return Path(self.path).name or self.path

    def load(self) -> DataSplits:
        """The train / val / test :class:`~metalora.data.streaming.StreamingDataset` splits (labels only
        are read now; images as they are used)."""
        augment = Augment() if self.augment else None
        if self.kind == "folder":
            ds = open_folder(self.path, image_size=32 if self.image_size is None else self.image_size)
        elif self.kind == "npz":
            ds = open_npz(self.path, image_size=self.image_size)
        else:
            ds = open_cifar(self.path, image_size=self.image_size)
            try:
                test = open_cifar(self.path, split="test", image_size=self.image_size)
            except FileFormatError:  # no test batch: split one out of the training batches
                test = None
            if test is not None:
                splits = split_streaming(ds, self.val_fraction, 0.0, self.seed, augment=augment)
                test.name = f"{ds.name.split('/')[0]}/test"
                return DataSplits(splits.train, splits.val, test)
        return split_streaming(ds, self.val_fraction, self.test_fraction, self.seed, augment=augment)

    def to_dict(self) -> dict[str, Any]:
        """The record kept with a run (``source`` is the ``--data`` text)."""
        return {"source": self.source, "name": self.name, **asdict(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StreamSpec:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def is_stream_source(text: str) -> bool:
    """Whether ``text`` names a streamed source (``folder:``, ``cifar:`` or ``npz:`` prefix), so that a
    caller passes the built-in options (domains, severity, ...) only when it does not."""
    kind, sep, _ = str(text).strip().partition(":")
    return bool(sep) and kind.strip().lower() in STREAM_KINDS


def parse_data_source(
    text: str,
    *,
    image_size: int | None = None,
    seed: int = 0,
    augment: bool = False,
    val_fraction: float = VAL_FRACTION,
    test_fraction: float = TEST_FRACTION,
    **builtin: Any,
) -> DataSpec | StreamSpec:
    """What ``--data TEXT`` means: a :class:`~metalora.data.DataSpec` or a :class:`StreamSpec`.

    Parameters
    ----------
    text
        ``"digits"`` / ``"shapes"`` (built-in), or ``"folder:PATH"``, ``"cifar:PATH"``, ``"npz:PATH"``.
    image_size, seed
        The image side and the split's random seed (for a built-in set too; ``image_size=None``
        then means the :class:`DataSpec` default).
    augment, val_fraction, test_fraction
        See :class:`StreamSpec` (streamed sources only).
    **builtin
        Further :class:`DataSpec` fields for a built-in set (``domains``, ``severity``,
        ``samples_per_class``); refused for a streamed source unless ``None`` (see
        :func:`is_stream_source`).

    Raises
    ------
    ConfigError
        An empty text, an unknown built-in name or prefix, or built-in options with a streamed source.
    FileFormatError
        The path does not exist or is of the wrong kind (a file where a folder is needed, or the reverse).
    """
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"The data source {text!r} is empty.", _USAGE)
    text = text.strip()
    kind, sep, rest = text.partition(":")
    if not sep or len(kind) == 1:  # no prefix (a Windows drive letter is not one either)
        if text.lower() in BUILTIN_DATASETS:
            extra = {"image_size": image_size} if image_size is not None else {}
            return DataSpec(name=text.lower(), seed=seed, **extra, **builtin)
        hint = (
            " It looks like a path: put folder:, cifar: or npz: in front of it."
            if Path(text).exists()
            else ""
        )
        raise ConfigError(f"Unknown data source {text!r}.{hint}", _USAGE)
    kind = kind.strip().lower()
    if kind not in STREAM_KINDS:
        raise ConfigError(f"Unknown data source kind {kind!r} in {text!r}.", _USAGE)
    builtin = {k: v for k, v in builtin.items() if v is not None}
    if builtin:
        raise ConfigError(
            f"{bullet_list(sorted(builtin))} only apply to the built-in data sets, not to {kind}:PATH.",
            "Leave those options out for data on disk.",
        )
    path = Path(rest.strip()).expanduser()
    if not rest.strip() or not path.exists():
        raise FileFormatError(
            f"The {'file' if kind == 'npz' else 'folder'} {rest.strip()!r} of {text!r} does not exist.",
            f"Check the path after '{kind}:' ({STREAM_KINDS[kind]}).",
        )
    if kind == "npz" and not path.is_file():
        raise FileFormatError(
            f"{str(path)!r} is a folder, not an .npz file.", "Give the path of the .npz file."
        )
    if kind != "npz" and not path.is_dir():
        raise FileFormatError(
            f"{str(path)!r} is a file, not a folder.", f"Give the folder that holds {STREAM_KINDS[kind]}."
        )
    return StreamSpec(kind, str(path), image_size, seed, val_fraction, test_fraction, augment)
