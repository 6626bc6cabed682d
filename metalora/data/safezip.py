"""Opening and reading ZIP archives (and .npz files, which are ZIPs) defensively.

Nothing is ever extracted to disk; members are read into memory one at a time. Before reading we
refuse archives whose directory is hostile (absolute paths, ``..`` entries, too many entries, a
declared total size or compression ratio that points to a zip bomb), and while reading we count
the bytes that actually come out, because the declared sizes can lie.
"""

from __future__ import annotations

import io
import re
import zipfile

from ..errors import FileFormatError
from .base import Limits
from .source import ByteBudget

__all__ = ["check_zip", "member_parts", "open_zip", "read_member"]

_RATIO_MIN_BYTES = 1024**2  # small entries may legitimately compress very well; ratio only above this
_DRIVE = re.compile(r"^[A-Za-z]:")


def open_zip(data: bytes, name: str, kind: str = "ZIP archive") -> zipfile.ZipFile:
    """Open ``data`` as a ZIP file, turning every failure into :class:`FileFormatError`."""
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except Exception as err:  # BadZipFile, ValueError, OSError, EOFError, ... from corrupt bytes
        raise FileFormatError(
            f"{name!r} is not a valid {kind} ({type(err).__name__}: {err}).",
            f"Check that the file is a complete, uncorrupted {kind}.",
        ) from None


def member_parts(filename: str) -> tuple[str, ...]:
    """Split an archive entry name into path parts, refusing names that could escape a folder.

    Raises
    ------
    FileFormatError
        For absolute paths (``/x``, ``C:\\x``), ``..`` components or NUL characters.
    """
    norm = filename.replace("\\", "/")
    if "\x00" in norm:
        raise FileFormatError(
            f"Archive entry {filename!r} has a NUL character in its name.", "Rebuild the archive."
        )
    if norm.startswith("/") or _DRIVE.match(norm):
        raise FileFormatError(
            f"Archive entry {filename!r} has an absolute path, which could write outside the extraction folder.",
            "Rebuild the archive from inside the data folder (relative paths only).",
        )
    parts = tuple(p for p in norm.split("/") if p not in ("", "."))
    if ".." in parts:
        raise FileFormatError(
            f"Archive entry {filename!r} uses '..' to point outside the extraction folder.",
            "Rebuild the archive from inside the data folder (no '..' in paths).",
        )
    return parts


def check_zip(zf: zipfile.ZipFile, limits: Limits, name: str) -> list[zipfile.ZipInfo]:
    """Check the archive directory against ``limits`` before reading anything; return the entries.

    Raises
    ------
    FileFormatError
        Too many entries, a total declared size over the limit, an entry with a zip-bomb
        compression ratio, an encrypted entry, or an unsafe entry name.
    """
    infos = zf.infolist()
    if len(infos) > limits.max_zip_entries:
        raise FileFormatError(
            f"{name!r} has {len(infos):,} entries; the limit is {limits.max_zip_entries:,}.",
            "Use fewer files (e.g. a subset of the images).",
        )
    total = 0
    for info in infos:
        member_parts(info.filename)
        if info.flag_bits & 0x1:
            raise FileFormatError(
                f"Archive entry {info.filename!r} in {name!r} is password-protected.",
                "Upload an unencrypted archive.",
            )
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= _RATIO_MIN_BYTES and ratio > limits.max_compression_ratio:
            raise FileFormatError(
                f"Archive entry {info.filename!r} in {name!r} would expand {ratio:,.0f} times "
                f"(limit {limits.max_compression_ratio:,.0f}), the signature of a zip bomb.",
                "Upload an archive of ordinary image files.",
            )
    if total > limits.max_uncompressed_bytes:
        raise FileFormatError(
            f"{name!r} would expand to {total / 1024**2:,.1f} MB, over the limit of "
            f"{limits.max_uncompressed_bytes / 1024**2:,.0f} MB.",
            "Upload a smaller data set, or split it into several archives.",
        )
    return infos


def read_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: ByteBudget, chunk: int = 1 << 20
) -> bytes:
    """Read one entry, stopping as soon as the real output exceeds its declared size or ``budget``."""
    out = bytearray()
    try:
        with zf.open(info) as fh:
            while True:
                block = fh.read(chunk)
                if not block:
                    break
                out += block
                budget.take(len(block), info.filename)
                if len(out) > info.file_size:
                    raise FileFormatError(
                        f"Archive entry {info.filename!r} holds more data than its header declares.",
                        "The archive is corrupt or crafted; rebuild it.",
                    )
    except FileFormatError:
        raise
    except Exception as err:  # BadZipFile, zlib.error, EOFError, NotImplementedError, LZMAError, ...
        raise FileFormatError(
            f"Archive entry {info.filename!r} is corrupt or unreadable ({type(err).__name__}: {err}).",
            "Rebuild the archive with a standard ZIP tool.",
        ) from None
    return bytes(out)
