"""ImageFolder trees, from a ZIP archive or a local folder.

Accepted layouts (a single enclosing folder is ignored)::

    class_a/img001.png              domain_1/class_a/img001.png
    class_b/img002.jpg      or      domain_2/class_b/img002.jpg

Hidden and system entries (names starting with ``.``, ``__MACOSX``, ``Thumbs.db``,
``desktop.ini``) are skipped; any other non-image file is refused by name. Archive safety
(zip-slip, zip bombs, entry counts) lives in :mod:`metalora.data.safezip`; folder links that
lead outside the folder are refused here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, FileFormatError
from .arrays import DEFAULT_DOMAIN
from .base import ImageDataset, Limits, check_dataset
from .images import IMAGE_EXTENSIONS, decode_image, is_image_name
from .safezip import check_zip, member_parts, open_zip, read_member
from .source import ByteBudget, read_source

__all__ = ["load_imagefolder", "load_zip_imagefolder", "tree_layout", "walk_imagefolder"]

_SYSTEM_NAMES = frozenset({"__macosx", "thumbs.db", "desktop.ini"})
_LAYOUT_HINT = "Arrange images as class/image.png, or domain/class/image.png for several domains."


@dataclass
class _File:
    parts: tuple[str, ...]  # path inside the tree, e.g. ("cats", "001.png")
    read: Callable[[], bytes]
    path: Path | None = None  # on disk, for a local folder


def _is_hidden(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p.lower() in _SYSTEM_NAMES for p in parts)


def check_image_size(image_size: int) -> int:
    try:
        size = int(image_size)
    except (TypeError, ValueError):
        size = -1
    if size != image_size or not 4 <= size <= 512:
        raise DataError(
            f"image_size={image_size!r} must be a whole number of pixels in 4..512.", "Use e.g. 32."
        )
    return size


def _strip_root(files: list[_File], dirs: set[tuple[str, ...]]) -> tuple[list[_File], set[tuple[str, ...]]]:
    """Drop enclosing folders shared by every file (``mydata/cats/1.png`` -> ``cats/1.png``)."""
    while files and min(len(f.parts) for f in files) >= 3 and len({f.parts[0] for f in files}) == 1:
        files = [_File(f.parts[1:], f.read, f.path) for f in files]
        dirs = {d[1:] for d in dirs if len(d) > 1}
    return files, dirs


def tree_layout(
    files: list[_File], dirs: set[tuple[str, ...]], limits: Limits, name: str
) -> tuple[list[_File], list[str], list[str], np.ndarray, np.ndarray]:
    """Check the layout of an (already safety-checked) ImageFolder tree and label its files.

    Shared by the in-memory loaders and :func:`metalora.data.stream_sources.open_folder`, so both see
    the same files, in the same (sorted) order, with the same classes and domains.

    Returns
    -------
    files, classes, domains, y, domain
        The image files (hidden ones dropped, enclosing folders stripped, sorted), the class and
        domain names, and the int64 class and domain index of every file.
    """
    source = repr(name)
    files = sorted((f for f in files if not _is_hidden(f.parts)), key=lambda f: f.parts)
    dirs = {d for d in dirs if not _is_hidden(d)}
    for f in files:
        if not is_image_name(f.parts[-1]):
            raise FileFormatError(
                f"{'/'.join(f.parts)!r} in {source} is not an image file.",
                f"Keep only images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in the class folders; remove other files.",
            )
    if not files:
        raise DataError(f"{source} contains no image files.", _LAYOUT_HINT)
    files, dirs = _strip_root(files, dirs)
    depths = {len(f.parts) for f in files}
    if depths - {2, 3} or len(depths) > 1:
        shallow = min(files, key=lambda f: len(f.parts))
        deep = max(files, key=lambda f: len(f.parts))
        where = (
            "is not inside a class folder"
            if len(shallow.parts) == 1
            else f"and {'/'.join(deep.parts)!r} mix depths"
        )
        raise DataError(f"{source}: {'/'.join(shallow.parts)!r} {where}.", _LAYOUT_HINT)
    if len(files) > limits.max_images:
        raise DataError(
            f"{source} has {len(files):,} images; the limit is {limits.max_images:,}.", "Use a subset."
        )
    with_domains = depths == {3}
    cls_level = 1 if with_domains else 0
    classes = sorted(
        {f.parts[cls_level] for f in files} | {d[cls_level] for d in dirs if len(d) == cls_level + 1}
    )
    domains = sorted({f.parts[0] for f in files}) if with_domains else [DEFAULT_DOMAIN]
    if len(classes) > limits.max_classes:
        raise DataError(
            f"{source} has {len(classes):,} class folders; the limit is {limits.max_classes:,}.",
            "Merge classes.",
        )
    c_index = {c: i for i, c in enumerate(classes)}
    d_index = {d: i for i, d in enumerate(domains)}
    y = np.array([c_index[f.parts[cls_level]] for f in files], dtype=np.int64)
    d = np.array(
        [d_index[f.parts[0]] for f in files] if with_domains else np.zeros(len(files)), dtype=np.int64
    )
    return files, classes, domains, y, d


def _dataset_from_tree(
    files: list[_File], dirs: set[tuple[str, ...]], image_size: int, limits: Limits, name: str
) -> ImageDataset:
    """Turn the (already safety-checked) file list of an ImageFolder tree into an ImageDataset."""
    files, classes, domains, y, d = tree_layout(files, dirs, limits, name)
    x = np.empty((len(files), image_size, image_size, 3), dtype=np.float32)  # (N, S, S, 3)
    all_gray = True
    for i, f in enumerate(files):
        arr, gray = decode_image(f.read(), "/".join(f.parts), image_size, limits)  # (S, S, C)
        x[i] = arr  # a grayscale (S, S, 1) broadcasts over RGB
        all_gray &= gray
    if all_gray:
        x = x[..., :1]
    x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # (N, C, S, S)
    ds = ImageDataset(x, y, d, classes, domains, name=name)
    return check_dataset(ds, limits=limits, source=repr(name))


def load_zip_imagefolder(
    path_or_bytes, *, image_size: int = 32, limits: Limits | None = None
) -> ImageDataset:
    """Load a ZIP archive of an ImageFolder tree (see the module docstring for layouts).

    Images are decoded in memory (never extracted), resized to ``image_size`` squares, and kept
    grayscale if every image is grayscale, otherwise RGB.

    Raises
    ------
    FileFormatError
        Not a ZIP, corrupt, over a limit (size, entries, compression ratio, pixels per image),
        unsafe entry names (absolute or ``..``), non-image files, undecodable images.
    DataError
        Wrong layout, fewer than two classes, an empty class folder.
    """
    limits = limits or Limits()
    size = check_image_size(image_size)
    data, name = read_source(path_or_bytes, limits, "ZIP archive")
    zf = open_zip(data, name)
    with zf:
        infos = check_zip(zf, limits, name)
        budget = ByteBudget(limits.max_uncompressed_bytes, repr(name))
        files, dirs = [], set()
        for info in infos:
            parts = member_parts(info.filename)
            if not parts:
                continue
            if info.is_dir():
                dirs.add(parts)
            else:
                files.append(_File(parts, lambda info=info: read_member(zf, info, budget)))
                dirs.update(parts[:k] for k in range(1, len(parts)))
        return _dataset_from_tree(files, dirs, size, limits, name)


def _read_file(path: Path, rel: str, budget: ByteBudget) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(budget.limit - budget.used + 1)
    except OSError as err:
        raise FileFormatError(f"Could not read {rel!r}: {err}.", "Check the file permissions.") from None
    budget.take(len(data), rel)
    return data


def walk_imagefolder(directory, limits: Limits) -> tuple[Path, list[_File], set[tuple[str, ...]]]:
    """``(root, files, folders)`` of a local ImageFolder directory, after its safety checks.

    Symbolic links that lead outside ``directory`` are refused; links inside it are skipped (their
    targets are read where they live). The number of files and their declared total size are
    checked against ``limits``; every file's ``read`` counts the bytes really read against
    ``limits.max_uncompressed_bytes`` too, and ``path`` lets a streaming reader open it later.
    """
    try:
        root = Path(directory).resolve(strict=True)
    except (OSError, RuntimeError, TypeError):
        raise FileFormatError(f"The folder {str(directory)!r} does not exist.", "Check the path.") from None
    if not root.is_dir():
        raise FileFormatError(
            f"{str(directory)!r} is not a folder.", "Pass the folder holding the class folders."
        )
    budget = ByteBudget(limits.max_uncompressed_bytes, repr(root.name))
    files: list[_File] = []
    dirs: set[tuple[str, ...]] = set()
    declared = 0
    for here, subdirs, names in os.walk(root, followlinks=False):
        here_path = Path(here)
        subdirs[:] = sorted(d for d in subdirs if not _is_hidden((d,)))
        for entry in subdirs + sorted(n for n in names if not _is_hidden((n,))):
            path = here_path / entry
            rel_parts = path.relative_to(root).parts
            rel = "/".join(rel_parts)
            if path.is_symlink():
                target = path.resolve()
                if target != root and root not in target.parents:
                    raise FileFormatError(
                        f"{rel!r} is a link to {str(target)!r}, outside the data folder.",
                        "Copy the files into the folder instead of linking to them.",
                    )
                continue  # a link inside the tree: its target is read where it lives
            if path.is_dir():
                dirs.add(rel_parts)
                continue
            if not path.is_file():
                continue  # sockets, fifos, devices
            if len(files) >= limits.max_zip_entries:
                raise FileFormatError(
                    f"{str(directory)!r} has more than {limits.max_zip_entries:,} files.", "Use a subset."
                )
            declared += path.stat().st_size
            if declared > limits.max_uncompressed_bytes:
                raise FileFormatError(
                    f"{str(directory)!r} holds more than {limits.max_uncompressed_bytes / 1024**2:,.0f} MB of files.",
                    "Use a smaller data set.",
                )
            files.append(_File(rel_parts, lambda p=path, r=rel: _read_file(p, r, budget), path))
        subdirs[:] = [d for d in subdirs if not (here_path / d).is_symlink()]
    return root, files, dirs


def load_imagefolder(directory, *, image_size: int = 32, limits: Limits | None = None) -> ImageDataset:
    """Load a local ImageFolder directory, with the same layouts and rules as the ZIP loader.

    Symbolic links that lead outside ``directory`` are refused; links inside it are skipped
    (their targets are read directly). To read a large folder image by image instead, see
    :func:`metalora.data.stream_sources.open_folder`.
    """
    limits = limits or Limits()
    size = check_image_size(image_size)
    root, files, dirs = walk_imagefolder(directory, limits)
    return _dataset_from_tree(files, dirs, size, limits, root.name)
