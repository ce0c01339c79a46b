"""Atomic file writes: write a temporary file in the target's folder, then ``os.replace``.

A reader sees either the old file or the complete new one, never a partial write; a crash
leaves at most a hidden ``.<name>.<hex>.tmp`` file, which is removed when the writer can.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on normal exit it replaces ``path``, on an
    exception it is deleted and ``path`` is left as it was. Creates the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator:
    """A binary file handle whose content replaces ``path`` once it is flushed and synced."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (synced to disk before the rename)."""
    with atomic_open(path) as fh:
        fh.write(data)
