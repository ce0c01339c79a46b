"""Atomic file writes (the one writer of the project): a temporary file in the target's folder,
then ``os.replace``. Also the one JSON sanitiser, :func:`json_safe`.

A reader sees either the old file or the complete new one, never a partial write; a crash
leaves at most a hidden ``.<name>.<hex>.tmp`` file, which is removed when the writer can.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on normal exit it replaces ``path``, on an
    exception it is deleted and ``path`` is left as it was. Creates the parent folder.
    ``keep_suffix``: the temporary name ends in ``path``'s suffix (for writers such as video
    encoders that choose the container from the extension)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp{path.suffix if keep_suffix else ''}"
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


def json_safe(obj: Any) -> Any:
    """A JSON-ready copy: NaN/inf become None, numpy (and other ``.item()``) scalars become
    Python numbers, paths become strings, tuples become lists; recursively."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic) or (hasattr(obj, "item") and callable(obj.item) and not isinstance(obj, (str, bytes))):
        with contextlib.suppress(Exception):
            obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """``obj`` through :func:`json_safe` as indented UTF-8 JSON, atomically."""
    atomic_write_bytes(path, json.dumps(json_safe(obj), indent=2, allow_nan=False, default=str).encode("utf-8"))


def atomic_write_npy(path: str | os.PathLike, arr: np.ndarray) -> None:
    """A numpy array as ``.npy`` (``allow_pickle=False``), atomically."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr), allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue())


def atomic_write_npz(path: str | os.PathLike, m) -> None:
    """A scipy sparse matrix as compressed CSR ``.npz`` (no pickle), atomically."""
    import scipy.sparse as sp

    buf = io.BytesIO()
    sp.save_npz(buf, sp.csr_matrix(m), compressed=True)
    atomic_write_bytes(path, buf.getvalue())


def atomic_torch_save(path: str | os.PathLike, state: dict) -> None:
    """``torch.save`` into a temporary file in the same folder, then ``os.replace``."""
    import torch

    with atomic_open(path) as fh:
        torch.save(state, fh)


def read_json(path: str | os.PathLike) -> Any:
    """Parse a UTF-8 JSON file (raises OSError / ValueError as ``json`` does)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def create_json_exclusive(path: str | os.PathLike, obj: Any) -> None:
    """Create ``path`` holding ``obj`` (through :func:`json_safe`); raise FileExistsError if it
    already exists. Atomic: the complete file is hard-linked into place, which fails with
    EEXIST instead of overwriting."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(json_safe(obj), fh, indent=2, default=str, allow_nan=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)  # fails with EEXIST instead of overwriting
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
