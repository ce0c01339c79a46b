"""Clip input features for H_c0 (DESIGN §1.4): clip metadata and visual feature tables.

Clip metadata, 4 numbers per clip ``c`` (0-based) of a video of duration ``D`` seconds split
into ``nc`` clips (``META_NAMES``):

- ``log_duration``: ``log1p(D)``;
- ``log_start``: ``log1p(c · D / nc)``, the clip start in seconds, log1p-scaled;
- ``log_end``: ``log1p((c + 1) · D / nc)``;
- ``position``: ``c / nc``.

Visual features come from a ``ClipFeatures``-like object (``frame_core.video``): ``video_ids``
(str per row), ``clips`` (int64 per row), ``matrix`` (float32, n × f). :class:`FeatureTable`
keeps such a table in a form that can be saved without pickle (``.npy`` + JSON) and looked up
by (video_id, clip).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema as S
from .errors import InputError

META_NAMES = ("log_duration", "log_start", "log_end", "position")
META_DIM = len(META_NAMES)


def clip_metadata(durations, nc: int) -> np.ndarray:
    """Metadata of every clip of every video: float32 array (len(durations) · nc, 4).

    Row ``i * nc + c`` is clip c of video i, matching the global clip index of
    :mod:`frame_core.graphs`. Non-finite or negative durations are treated as 0.
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


class FeatureTable:
    """Visual clip features keyed by (video_id, clip).

    ``video_ids``: object array of str (n,); ``clips``: int64 (n,); ``matrix``: float32 (n, f).
    """

    def __init__(self, video_ids, clips, matrix):
        self.video_ids = np.asarray([str(v) for v in video_ids], dtype=object)
        self.clips = np.asarray(clips, dtype="int64").ravel()
        self.matrix = np.ascontiguousarray(np.asarray(matrix, dtype="float32"))
        if self.matrix.ndim != 2 or len(self.matrix) != len(self.video_ids) or len(self.clips) != len(self.video_ids):
            raise InputError(
                f"clip feature table is inconsistent: {len(self.video_ids)} ids, {len(self.clips)} clips, "
                f"matrix of shape {self.matrix.shape}"
            )
        if not np.isfinite(self.matrix).all():
            raise InputError("clip feature table contains NaN or infinite values")
        self._index = pd.MultiIndex.from_arrays([self.video_ids, self.clips])
        if not self._index.is_unique:
            raise InputError("clip feature table has duplicate (video_id, clip) rows")

    @classmethod
    def from_features(cls, feats) -> "FeatureTable":
        """From any object with ``video_ids``, ``clips`` and ``matrix`` (e.g. ``ClipFeatures``)."""
        if isinstance(feats, FeatureTable):
            return feats
        try:
            return cls(feats.video_ids, feats.clips, feats.matrix)
        except AttributeError:
            raise InputError("clip features must have video_ids, clips and matrix") from None

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def __len__(self) -> int:
        return len(self.video_ids)

    def lookup(self, video_ids, clips) -> tuple[np.ndarray, np.ndarray]:
        """Row of each (video_id, clip) pair and a found mask; rows are -1 where not found."""
        vids = np.asarray([str(v) for v in np.asarray(video_ids, dtype=object)], dtype=object)
        key = pd.MultiIndex.from_arrays([vids, np.asarray(clips, dtype="int64")])
        rows = self._index.get_indexer(key).astype("int64")
        return rows, rows >= 0

    def gather(self, video_ids, nc: int) -> tuple[np.ndarray, np.ndarray]:
        """Features of all ``nc`` clips of each video: (len(video_ids) · nc, f) float32 and a
        found mask (len · nc,) bool; missing rows are zeros."""
        vids = np.repeat(np.asarray(video_ids, dtype=object), nc)
        clips = np.tile(np.arange(nc, dtype="int64"), len(video_ids))
        rows, found = self.lookup(vids, clips)
        out = np.zeros((len(rows), self.dim), dtype="float32")
        out[found] = self.matrix[rows[found]]
        return out, found

    def save(self, directory: str | os.PathLike, prefix: str = "clip_features") -> None:
        """Write ``prefix.npy`` (the matrix) and ``prefix_index.json`` (ids, clips); atomic."""
        from .runs import atomic_write_json, atomic_write_npy

        directory = Path(directory)
        atomic_write_npy(directory / f"{prefix}.npy", self.matrix)
        atomic_write_json(
            directory / f"{prefix}_index.json",
            {"video_ids": [str(v) for v in self.video_ids], "clips": self.clips.tolist()},
        )

    @classmethod
    def load(cls, directory: str | os.PathLike, prefix: str = "clip_features") -> "FeatureTable":
        directory = Path(directory)
        matrix = np.load(directory / f"{prefix}.npy", allow_pickle=False)
        index = json.loads((directory / f"{prefix}_index.json").read_text(encoding="utf-8"))
        return cls(index["video_ids"], index["clips"], matrix)
