"""Reading the raw bytes of a user file, from a path, bytes, or an upload object, within limits."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataError, FileFormatError
from .base import Limits

__all__ = ["ByteBudget", "read_source"]


def _mb(n: int) -> str:
    return f"{n / 1024**2:,.1f} MB"


class ByteBudget:
    """Counts bytes actually read or decompressed and refuses to go past ``limit``.

    Header fields (zip sizes, file sizes from ``stat``) can lie; counting real bytes as they
    arrive is what stops a decompression bomb.
    """

    def __init__(self, limit: int, what: str = "The archive"):
        self.limit = int(limit)
        self.used = 0
        self.what = what

    def take(self, n: int, item: str) -> None:
        """Account for ``n`` more bytes read from ``item``; raise once the total is over the limit."""
        self.used += int(n)
        if self.used > self.limit:
            raise FileFormatError(
                f"{self.what} expands to more than {_mb(self.limit)} (stopped while reading {item!r}).",
                "Upload a smaller data set, or split it into several files.",
            )


def read_source(src, limits: Limits | None = None, what: str = "file") -> tuple[bytes, str]:
    """Return ``(data, display_name)`` for a path, raw bytes, or an object with ``getvalue``/``read``.

    Uploads arrive as bytes (or as Streamlit's ``UploadedFile``, which has ``getvalue`` and
    ``name``); scripts pass paths. Either way at most ``limits.max_upload_bytes`` are read.

    Raises
    ------
    FileFormatError
        If the path is missing or a folder, the data is empty or over the size limit, or reading fails.
    DataError
        If ``src`` is of a type we cannot read from.
    """
    limits = limits or Limits()
    cap = int(limits.max_upload_bytes)
    if isinstance(src, (bytes, bytearray, memoryview)):
        data, name = bytes(src), "upload"
    elif isinstance(src, (str, os.PathLike)):
        path = Path(src)
        name = path.name or str(path)
        if not path.exists():
            raise FileFormatError(
                f"The {what} {str(path)!r} does not exist.", "Check the path and try again."
            )
        if path.is_dir():
            raise FileFormatError(
                f"{str(path)!r} is a folder, not a {what}.", f"Pass the path of the {what} itself."
            )
        try:
            size = path.stat().st_size
            if size > cap:
                raise FileFormatError(
                    f"The {what} {name!r} is {_mb(size)}, over the upload limit of {_mb(cap)}.",
                    "Use a smaller file (fewer or smaller images).",
                )
            with open(path, "rb") as fh:
                data = fh.read(cap + 1)
        except OSError as err:
            raise FileFormatError(
                f"Could not read {str(path)!r}: {err}.", "Check the file permissions."
            ) from None
    elif hasattr(src, "getvalue") or hasattr(src, "read"):
        name = os.path.basename(str(getattr(src, "name", "") or "upload"))
        try:
            data = src.getvalue() if hasattr(src, "getvalue") else src.read(cap + 1)
        except Exception as err:  # an upload object we do not control
            raise FileFormatError(
                f"Could not read the uploaded {what}: {err}.", "Upload the file again."
            ) from None
        if isinstance(data, str):
            data = data.encode("utf-8")
        data = bytes(data)
    else:
        raise DataError(
            f"Cannot read a {what} from a {type(src).__name__}.",
            "Pass a file path, raw bytes, or an uploaded file.",
        )
    if len(data) > cap:
        raise FileFormatError(
            f"The {what} {name!r} is over the upload limit of {_mb(cap)}.",
            "Use a smaller file (fewer or smaller images).",
        )
    if not data:
        raise FileFormatError(
            f"The {what} {name!r} is empty.", "Check that the upload finished and try again."
        )
    return data, name
