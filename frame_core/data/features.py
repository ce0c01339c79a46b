"""Clip input features for H_c0 (docs/design.md §4): clip metadata and visual feature tables.

Clip metadata, 4 numbers per clip ``c`` (0-based) of a video of duration ``D`` seconds split
into ``nc`` clips (``META_NAMES``):

- ``log_duration``: ``log1p(D)``;
- ``log_start``: ``log1p(c · D / nc)``, the clip start in seconds, log1p-scaled;
- ``log_end``: ``log1p((c + 1) · D / nc)``;
- ``position``: ``c / nc``.

Visual features live in :class:`ClipFeatures`: ``video_ids`` (str per row), ``clips`` (int64
per row), ``matrix`` (float32, n × f), saved without pickle (``.npy`` + JSON) and looked up by
(video_id, clip).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.atomic import atomic_write_json, atomic_write_npy
from frame_core.common.errors import InputError

META_NAMES = ("log_duration", "log_start", "log_end", "position")
META_DIM = len(META_NAMES)


def clip_metadata(durations, nc: int) -> np.ndarray:
    """Metadata of every clip of every video: float32 array (len(durations) · nc, 4).

    Row ``i * nc + c`` is clip c of video i, matching the global clip index of
    :mod:`frame_core.data.graphs`. Non-finite or negative durations are treated as 0.
    """
    d = np.asarray(durations, dtype="float64").ravel()
    d = np.where(np.isfinite(d) & (d > 0), d, 0.0)
    c = np.arange(nc, dtype="float64")
    start = d[:, None] * c[None, :] / nc
    end = d[:, None] * (c[None, :] + 1) / nc
    out = np.empty((len(d), nc, META_DIM), dtype="float64")
    out[..., 0] = np.log1p(d)[:, None]
    out[..., 1] = np.log1p(start)
    out[..., 2] = np.log1p(end)
    out[..., 3] = (c / nc)[None, :]
    return out.reshape(len(d) * nc, META_DIM).astype("float32")


def video_durations(log: pd.DataFrame, video_index: np.ndarray, n_videos: int) -> np.ndarray:
    """Median ``duration_time`` (s) of each video over all rows of ``log``: float64 (n_videos,).

    Duration is a property of the video, known at prediction time, so every row counts (not
    only training rows). Videos without rows get 0.
    """
    vi = np.asarray(video_index, dtype="int64")
    ok = vi >= 0
    s = pd.Series(log[S.DURATION].to_numpy(dtype="float64")[ok]).groupby(vi[ok]).median()
    out = np.zeros(n_videos, dtype="float64")
    out[s.index.to_numpy()] = s.to_numpy()
    return out


@dataclasses.dataclass(eq=False)
class ClipFeatures:
    """Visual feature vectors keyed by (video_id, clip): the one feature table of the project
    (made by :func:`frame_core.video.embed_videos`, read from feature files, stored in run
    folders and looked up by the model).

    ``video_ids``: str array (n,); ``clips``: int64 array (n,), 0-based clip index ``< nc``;
    ``matrix``: float32 (n, dim); ``encoder_id``: the encoder that made them (``"unknown"`` when
    not known); ``nc``: clips per video (``max(clips) + 1`` when not given). Raises ValueError
    for inconsistent shapes and InputError for non-finite values or repeated (video_id, clip).
    """

    video_ids: np.ndarray
    clips: np.ndarray
    matrix: np.ndarray
    encoder_id: str = "unknown"
    nc: int | None = None

    def __post_init__(self):
        self.video_ids = np.asarray(self.video_ids, dtype=object).astype(str)
        self.clips = np.asarray(self.clips, dtype=np.int64).ravel()
        self.matrix = np.ascontiguousarray(np.asarray(self.matrix, dtype=np.float32))
        if self.matrix.ndim != 2:
            raise ValueError(f"matrix must be 2-D, got shape {self.matrix.shape}")
        n = self.matrix.shape[0]
        if self.video_ids.shape != (n,) or self.clips.shape != (n,):
            raise ValueError("video_ids, clips and matrix rows must have the same length")
        if not np.isfinite(self.matrix).all():
            raise InputError("clip feature table contains NaN or infinite values")
        self.nc = int(self.nc) if self.nc is not None else (int(self.clips.max()) + 1 if n else 0)
        self._index: tuple[pd.Index, np.ndarray] | None = None
        self._table()  # builds the lookup table, checks for repeated pairs

    @classmethod
    def from_features(cls, feats) -> "ClipFeatures":
        """From any object with ``video_ids``, ``clips`` and ``matrix``."""
        if isinstance(feats, ClipFeatures):
            return feats
        try:
            return cls(feats.video_ids, feats.clips, feats.matrix, getattr(feats, "encoder_id", "unknown"),
                       getattr(feats, "nc", None))
        except AttributeError:
            raise InputError("clip features must have video_ids, clips and matrix") from None

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def video_list(self) -> list[str]:
        """Distinct video ids, sorted."""
        return sorted(set(self.video_ids.tolist()))

    def _table(self) -> tuple[pd.Index, np.ndarray]:
        """(distinct video ids, (videos, nc) row table with −1 where a clip is missing)."""
        if self._index is None:
            vids = pd.Index(pd.unique(self.video_ids))
            table = np.full((len(vids), max(self.nc, 1)), -1, dtype=np.int64)
            ok = (self.clips >= 0) & (self.clips < self.nc)
            rows = np.nonzero(ok)[0]
            vi = vids.get_indexer(self.video_ids[ok])
            if len(rows) and (np.bincount(vi * max(self.nc, 1) + self.clips[ok]) > 1).any():
                raise InputError("clip feature table has duplicate (video_id, clip) rows")
            table[vi, self.clips[ok]] = rows
            self._index = (vids, table)
        return self._index

    def lookup(self, video_ids, clips) -> tuple[np.ndarray, np.ndarray]:
        """Rows for the pairs ``(video_ids[i], clips[i])``.

        Returns ``(matrix (m, dim) float32, found (m,) bool)``; rows that are not found are
        zeros. Ids are compared as strings. Vectorised (no Python loop over rows).
        """
        v = np.asarray(video_ids, dtype=object).astype(str).ravel()
        c = np.asarray(clips).astype(np.int64).ravel()
        if v.shape != c.shape:
            raise ValueError("video_ids and clips must have the same length")
        vids, table = self._table()
        vi = vids.get_indexer(v)
        found = (vi >= 0) & (c >= 0) & (c < self.nc)
        rows = np.full(len(v), -1, dtype=np.int64)
        rows[found] = table[vi[found], c[found]]
        found &= rows >= 0
        out = np.zeros((len(v), self.dim), dtype=np.float32)
        out[found] = self.matrix[rows[found]]
        return out, found

    def gather(self, video_ids, nc: int) -> tuple[np.ndarray, np.ndarray]:
        """Features of all ``nc`` clips of each video: (len(video_ids) · nc, f) float32 and a
        found mask (len · nc,) bool; missing rows are zeros. Row ``i * nc + c`` is clip c of
        video i (the global clip order of :mod:`frame_core.data.graphs`)."""
        vids = np.repeat(np.asarray(video_ids, dtype=object), nc)
        clips = np.tile(np.arange(nc, dtype="int64"), len(video_ids))
        return self.lookup(vids, clips)

    def to_frame(self) -> pd.DataFrame:
        """``video_id``, ``clip``, ``f0 … f{d-1}`` (float32)."""
        df = pd.DataFrame(self.matrix, columns=[f"f{i}" for i in range(self.dim)])
        df.insert(0, "clip", self.clips)
        df.insert(0, "video_id", pd.array(self.video_ids, dtype="string"))
        return df

    def save(self, directory: str | os.PathLike, prefix: str = "clip_features") -> None:
        """Write ``prefix.npy`` (the matrix) and ``prefix_index.json`` (ids, clips, encoder,
        nc) into a run folder; atomic, no pickle."""
        directory = Path(directory)
        atomic_write_npy(directory / f"{prefix}.npy", self.matrix)
        atomic_write_json(
            directory / f"{prefix}_index.json",
            {"video_ids": [str(v) for v in self.video_ids], "clips": self.clips.tolist(),
             "encoder_id": self.encoder_id, "nc": self.nc},
        )

    @classmethod
    def load(cls, directory: str | os.PathLike, prefix: str = "clip_features") -> "ClipFeatures":
        """Read what :meth:`save` wrote."""
        directory = Path(directory)
        from frame_core.common.safe_npy import load_npy

        matrix = load_npy(directory / f"{prefix}.npy")
        index = json.loads((directory / f"{prefix}_index.json").read_text(encoding="utf-8"))
        return cls(index["video_ids"], index["clips"], matrix, index.get("encoder_id", "unknown"), index.get("nc"))
