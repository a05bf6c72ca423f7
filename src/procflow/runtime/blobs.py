"""Where the bytes of attachments live: the `BlobStore` interface and two stores.

Owns `BlobStore` (put bytes, get them back by key), `FileBlobStore` (one
file per blob in a folder, named by its SHA-256: the default, and what
`procflow serve` uses) and `MemoryBlobStore` (tests). An instance's history
keeps only a reference to an attachment (`Engine.attach` records
``attached`` with the key, size, type and digest); the bytes are here.
Blobs are content-addressed, so storing the same bytes twice keeps one copy
and a key can never point at other bytes than it was given for.

Imports `errors` only.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from procflow.errors import BlobNotFound, InvalidArgument

__all__ = ["BlobStore", "FileBlobStore", "MemoryBlobStore", "blob_key"]

_KEY = re.compile(r"sha256-[0-9a-f]{64}")


def blob_key(data: bytes) -> str:
    """The key of ``data`` in every blob store: ``sha256-<hex digest>``."""
    return "sha256-" + hashlib.sha256(data).hexdigest()


def _checked(key: str) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise BlobNotFound(f"no blob {key!r} (a key is 'sha256-' and 64 hex digits)")
    return key


class BlobStore(Protocol):
    """Keeps the bytes of attachments. Keys are made by the store from the bytes."""

    def put(self, data: bytes, /) -> str:
        """Keep ``data``; the key to get it back (the same bytes give the same key)."""
        ...

    def get(self, key: str, /) -> bytes:
        """The bytes kept under ``key``.

        Raises:
            BlobNotFound: No such blob.
        """
        ...


class FileBlobStore:
    """Blobs as files of a folder (created when the first blob is put).

    Args:
        root: The folder. Each blob is ``<root>/<first two hex digits>/<key>``,
            written to a temporary file, synced, then renamed into place, so a
            crash never leaves half a blob under its key.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        if not isinstance(root, str | os.PathLike):
            raise InvalidArgument(f"FileBlobStore takes a folder path, not {type(root).__name__}")
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[7:9] / key

    def put(self, data: bytes, /) -> str:
        if not isinstance(data, bytes):
            raise InvalidArgument(f"a blob is bytes, not {type(data).__name__}")
        key = blob_key(data)
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str, /) -> bytes:
        try:
            return self._path(_checked(key)).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {key!r} in {self.root}") from None

    def __repr__(self) -> str:
        return f"FileBlobStore({str(self.root)!r})"


class MemoryBlobStore:
    """Blobs kept in memory (for tests and `MemoryStore` engines)."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def put(self, data: bytes, /) -> str:
        if not isinstance(data, bytes):
            raise InvalidArgument(f"a blob is bytes, not {type(data).__name__}")
        key = blob_key(data)
        self._blobs.setdefault(key, data)
        return key

    def get(self, key: str, /) -> bytes:
        try:
            return self._blobs[_checked(key)]
        except KeyError:
            raise BlobNotFound(f"no blob {key!r}") from None
