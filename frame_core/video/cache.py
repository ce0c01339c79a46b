"""Clip-embedding cache on disk (diskcache), storing raw bytes only — never pickles.

Why: diskcache pickles every value that is not ``bytes``/``str``/``int``/``float`` and
unpickles on read (CVE-2025-69872: whoever can write the cache folder can run code in the app).
Here:

- :class:`RawBytesDisk` (a ``diskcache.Disk`` subclass) accepts only ``str`` keys and ``bytes``
  values when storing, and when reading refuses anything stored in pickle or text mode (or with
  a pickled key, or a value file name that is not diskcache's own ``xx/yy/<28 hex>.val``) by
  raising :class:`UnsafeCacheEntry` instead of unpickling;
- every value is a small self-describing record (see :func:`pack_array`): magic
  ``b"FRAMEEMB"``, a 4-byte little-endian header length, a UTF-8 JSON header with ``shape``
  and ``dtype``, then the raw little-endian float32 data (``ndarray.tobytes()``);
- :class:`EmbeddingCache` checks each record read (type, magic, header, expected shape, byte
  length, finite values); anything else is logged, **deleted and treated as a miss**, so it is
  recomputed. Nothing read back is fatal and nothing is ever unpickled.

Keys (see :func:`embedding_key`) are built from the sha256 of the file content, ``N_c``,
``k``, the sampling version and the encoder id, so a renamed file still hits and a changed file
or setting misses. The probe result of each file is cached next to it as a JSON record, so a
warm run needs neither decoding nor opening the videos.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import struct
from pathlib import Path
from typing import Any

import diskcache
import numpy as np
from diskcache.core import MODE_BINARY, MODE_RAW, UNKNOWN

logger = logging.getLogger(__name__)

MAGIC = b"FRAMEEMB"
JSON_MAGIC = b"FRAMEJSN"
SAMPLING_VERSION = 1
SIZE_LIMIT = 2 * 1024**3  # diskcache evicts least recently stored entries beyond 2 GiB
_FILENAME = re.compile(r"^[0-9a-f]{2}[/\\][0-9a-f]{2}[/\\][0-9a-f]{28}\.val$")


class UnsafeCacheEntry(Exception):
    """A cache entry that is not raw bytes (pickled, text, unknown). Never an ``OSError``, so
    diskcache does not swallow it."""


class RawBytesDisk(diskcache.Disk):
    """A ``diskcache.Disk`` that stores and returns only raw ``bytes`` values under ``str``
    keys; anything else read from the database raises :class:`UnsafeCacheEntry`."""

    def put(self, key):
        if type(key) is not str:
            raise TypeError("cache keys must be str")
        return super().put(key)

    def get(self, key, raw):
        if not raw:
            raise UnsafeCacheEntry("pickled cache key refused")
        return super().get(key, raw)

    def store(self, value, read, key=UNKNOWN):
        if read or type(value) is not bytes:
            raise TypeError("only bytes values may be stored in the embedding cache")
        return super().store(value, read, key=key)

    def fetch(self, mode, filename, value, read):
        if read:
            raise UnsafeCacheEntry("file-handle reads are not used")
        if mode == MODE_RAW:
            if not isinstance(value, (bytes, memoryview)):
                raise UnsafeCacheEntry(f"raw cache value of type {type(value).__name__} refused")
            return bytes(value)
        if mode == MODE_BINARY:
            if not isinstance(filename, str) or not _FILENAME.match(filename):
                raise UnsafeCacheEntry("cache value file name refused")
            return super().fetch(mode, filename, value, read)
        raise UnsafeCacheEntry(f"cache value stored in mode {mode} (pickle/text) refused")

    def remove(self, file_path):
        if isinstance(file_path, str) and _FILENAME.match(file_path):
            return super().remove(file_path)
        return None  # never delete a file outside diskcache's own layout


# ---------------------------------------------------------------------------- records
def pack_array(arr: np.ndarray, meta: dict[str, Any] | None = None) -> bytes:
    """``MAGIC | uint32 LE header length | JSON header | float32 LE raw data``."""
    a = np.ascontiguousarray(arr, dtype="<f4")
    header = json.dumps({"shape": list(a.shape), "dtype": "<f4", **(meta or {})}, sort_keys=True).encode("utf-8")
    return MAGIC + struct.pack("<I", len(header)) + header + a.tobytes()


def unpack_array(blob: Any, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Inverse of :func:`pack_array`; raises ``ValueError`` unless ``blob`` is a well-formed
    record (of ``shape`` when given) with finite values."""
    if type(blob) is not bytes:
        raise ValueError(f"not raw bytes but {type(blob).__name__}")
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 4:
        raise ValueError("bad magic")
    (hlen,) = struct.unpack_from("<I", blob, len(MAGIC))
    start = len(MAGIC) + 4
    if hlen > 65536 or start + hlen > len(blob):
        raise ValueError("bad header length")
    header = json.loads(blob[start : start + hlen].decode("utf-8"))
    if not isinstance(header, dict) or header.get("dtype") != "<f4":
        raise ValueError("bad header")
    shp = header.get("shape")
    if not isinstance(shp, list) or not all(isinstance(s, int) and s >= 0 for s in shp):
        raise ValueError("bad shape")
    if shape is not None and tuple(shp) != tuple(shape):
        raise ValueError(f"shape {tuple(shp)} != expected {tuple(shape)}")
    data = blob[start + hlen :]
    if len(data) != 4 * int(np.prod(shp, dtype=np.int64)):
        raise ValueError("data length does not match the shape")
    arr = np.frombuffer(data, dtype="<f4").reshape(shp).astype(np.float32)
    if not np.isfinite(arr).all():
        raise ValueError("non-finite values")
    return arr


def pack_json(obj: dict[str, Any]) -> bytes:
    return JSON_MAGIC + json.dumps(obj, sort_keys=True).encode("utf-8")


def unpack_json(blob: Any) -> dict[str, Any]:
    if type(blob) is not bytes or not blob.startswith(JSON_MAGIC):
        raise ValueError("not a JSON record")
    obj = json.loads(blob[len(JSON_MAGIC) :].decode("utf-8"))
    if not isinstance(obj, dict):
        raise ValueError("JSON record is not an object")
    return obj


def embedding_key(sha256: str, nc: int, k: int, encoder_id: str, method: str = "auto") -> str:
    """Cache key of one file's clip embeddings."""
    return f"clipemb/s{SAMPLING_VERSION}/{sha256}/nc={int(nc)}/k={int(k)}/{method}/{encoder_id}"


def probe_key(sha256: str) -> str:
    return f"probe/v1/{sha256}"


def default_cache_dir() -> Path:
    """``$FRAME_WORKSPACE/cache/embeddings`` (``./workspace/cache/embeddings`` when unset)."""
    return Path(os.environ.get("FRAME_WORKSPACE") or "workspace").resolve() / "cache" / "embeddings"


# ------------------------------------------------------------------------------ the cache
class EmbeddingCache:
    """Raw-bytes embedding cache in ``directory`` (created when missing).

    Never fatal: if the folder can't be opened as a cache, a warning is logged and the cache is
    disabled (``enabled`` is False, every get misses, sets do nothing). ``corrupt`` counts
    entries that were refused and deleted.
    """

    def __init__(self, directory: str | os.PathLike, size_limit: int = SIZE_LIMIT):
        self.directory = Path(directory)
        self.corrupt = 0
        self.error: str | None = None
        self._cache: diskcache.Cache | None = None
        try:
            self._cache = diskcache.Cache(
                str(self.directory), disk=RawBytesDisk, size_limit=int(size_limit), eviction_policy="least-recently-stored"
            )
        except (OSError, sqlite3.Error, diskcache.Timeout) as exc:
            self.error = f"embedding cache disabled: cannot open {self.directory} ({exc})"
            logger.warning(self.error)

    @property
    def enabled(self) -> bool:
        return self._cache is not None

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _get(self, key: str) -> bytes | None:
        if self._cache is None:
            return None
        try:
            return self._cache.get(key, default=None)
        except UnsafeCacheEntry as exc:
            self._drop(key, str(exc))
        except (OSError, sqlite3.Error, diskcache.Timeout) as exc:
            logger.warning("embedding cache read failed for %s: %s", key, exc)
        return None

    def _drop(self, key: str, why: str) -> None:
        self.corrupt += 1
        logger.warning("embedding cache entry %s refused (%s); deleted, will be recomputed", key, why)
        try:
            self._cache.delete(key)  # type: ignore[union-attr]
        except (OSError, sqlite3.Error, diskcache.Timeout, UnsafeCacheEntry) as exc:
            logger.warning("could not delete cache entry %s: %s", key, exc)

    def _set(self, key: str, value: bytes) -> None:
        if self._cache is None:
            return
        try:
            self._cache.set(key, value)
        except (OSError, sqlite3.Error, diskcache.Timeout) as exc:
            logger.warning("embedding cache write failed for %s: %s", key, exc)

    def get_array(self, key: str, shape: tuple[int, ...]) -> np.ndarray | None:
        """The cached float32 array of ``shape``, or None (missing, or corrupt: then deleted)."""
        blob = self._get(key)
        if blob is None:
            return None
        try:
            return unpack_array(blob, shape)
        except (ValueError, UnicodeDecodeError, struct.error) as exc:
            self._drop(key, str(exc))
            return None

    def set_array(self, key: str, arr: np.ndarray, meta: dict[str, Any] | None = None) -> None:
        self._set(key, pack_array(arr, meta))

    def get_json(self, key: str) -> dict[str, Any] | None:
        blob = self._get(key)
        if blob is None:
            return None
        try:
            return unpack_json(blob)
        except (ValueError, UnicodeDecodeError) as exc:
            self._drop(key, str(exc))
            return None

    def set_json(self, key: str, obj: dict[str, Any]) -> None:
        self._set(key, pack_json(obj))
