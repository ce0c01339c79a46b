"""Everything FRAME needs from a clean log, computed once per (log, N_c, policy, norm).

:func:`prepare_data` splits the log chronologically (docs/design.md §5), labels every view's clips
(§1.2), builds the user–clip graphs from **training rows only** (§1.3), and lays the labels out
as dense per-view arrays so that the trainer never loops over rows in Python:

- ``clip_y[i, c]``: label of clip c of view i (1 positive, 0 negative), float32 (n, nc);
- ``clip_mask[i, c]``: True where that clip is labelled, bool (n, nc);
- ``y[i]``: video-level label, 1 = full view, float32 (n,);
- ``skip[i]``: the clip where view i ended (``nc - 1`` for full views), int64 (n,).

Global clip index = ``video_index * nc + clip`` (as in :mod:`frame_core.data.graphs`). Users and
videos that only occur in validation or test rows are in the id maps but have no graph edges:
they are *cold* and the model scores them from their inputs alone.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.data.features import ClipFeatures, clip_metadata, video_durations
from frame_core.data.graphs import IdMaps, UserClipGraphs, build_graphs
from frame_core.data.labels import check_nc, check_policy, clip_labels, is_full_view, skip_clip
from frame_core.data.split import TEST, TRAIN, VAL, with_split


@dataclasses.dataclass
class FrameData:
    """Prepared inputs of one training run. Arrays with n entries follow the rows of ``log``."""

    log: pd.DataFrame
    nc: int
    policy: str
    norm: str
    part: np.ndarray  # int8 (n,): 0 train, 1 val, 2 test
    maps: IdMaps
    user_idx: np.ndarray  # int64 (n,)
    video_idx: np.ndarray  # int64 (n,)
    y: np.ndarray  # float32 (n,)
    skip: np.ndarray  # int64 (n,)
    clip_y: np.ndarray  # float32 (n, nc)
    clip_mask: np.ndarray  # bool (n, nc)
    graphs: UserClipGraphs
    durations: np.ndarray  # float64 (n_videos,), median duration per video (s)
    clip_meta: np.ndarray  # float32 (n_videos * nc, 4), see features.clip_metadata
    warm: np.ndarray  # bool (n_videos * nc,): clip has at least one training label
    features: ClipFeatures | None = None
    clip_feat: np.ndarray | None = None  # float32 (n_videos * nc, f), zeros where not found
    clip_feat_found: np.ndarray | None = None  # bool (n_videos * nc,)

    @property
    def n_users(self) -> int:
        return self.maps.n_users

    @property
    def n_videos(self) -> int:
        return self.maps.n_videos

    @property
    def n_clips(self) -> int:
        return self.maps.n_videos * self.nc

    def rows(self, part: int) -> np.ndarray:
        """Row positions of one split part (TRAIN, VAL or TEST), ascending."""
        return np.flatnonzero(self.part == part)

    def summary(self) -> dict:
        """Counts for config.json and the UI."""
        counts = {name: int((self.part == p).sum()) for p, name in ((TRAIN, "train"), (VAL, "val"), (TEST, "test"))}
        train = self.part == TRAIN
        test = self.part == TEST
        train_videos = np.unique(self.video_idx[train])
        train_users = np.unique(self.user_idx[train])
        return {
            "rows": int(len(self.log)),
            **{f"rows_{k}": v for k, v in counts.items()},
            "users": self.n_users,
            "videos": self.n_videos,
            "clips": self.n_clips,
            "graph_pos_edges": int(self.graphs.RP.nnz),
            "graph_neg_edges": int(self.graphs.RN.nnz),
            "full_view_share": float(self.y.mean()) if len(self.y) else float("nan"),
            "test_rows_cold_video": int((test & ~np.isin(self.video_idx, train_videos)).sum()),
            "test_rows_cold_user": int((test & ~np.isin(self.user_idx, train_users)).sum()),
            "warm_clips": int(self.warm.sum()),
        }


def log_sha256(log: pd.DataFrame) -> str:
    """Content hash of a clean log (columns, order and values), hex sha256."""
    h = hashlib.sha256()
    h.update(",".join(map(str, log.columns)).encode())
    h.update(pd.util.hash_pandas_object(log, index=False).to_numpy().tobytes())
    return h.hexdigest()


def prepare_data(
    log: pd.DataFrame,
    nc: int,
    policy: str = "watched-positive",
    norm: str = "symmetric",
    features=None,
    part: np.ndarray | None = None,
) -> FrameData:
    """Split, label and build graphs for a clean log (output of ``import_log``).

    ``features``: optional ``ClipFeatures`` with per-(video_id, clip) vectors
    computed for the same ``nc``. ``part`` overrides the chronological split (tests only).
    Raises InputError when the log is empty, lacks columns, or has no training rows.
    """
    nc = check_nc(nc)
    policy = check_policy(policy)
    missing = [c for c in (S.USER, S.VIDEO, S.PLAY, S.DURATION) if c not in log.columns]
    if not missing and len(log) == 0:
        raise InputError("the log has no rows to train on")
    log, part = with_split(log, part)
    if not (part == TRAIN).any():
        raise InputError("no training rows: the log is too small to split (each user needs views)")
    maps = IdMaps.from_log(log)
    uidx = maps.user_index(log[S.USER])
    vidx = maps.video_index(log[S.VIDEO])
    play = log[S.PLAY].to_numpy(dtype="float64")
    dur = log[S.DURATION].to_numpy(dtype="float64")
    labels = clip_labels(play, dur, nc, policy)
    graphs = build_graphs(uidx, vidx, labels, part, maps.n_users, maps.n_videos, norm)
    n = len(log)
    clip_y = np.zeros((n, nc), dtype="float32")
    clip_mask = np.zeros((n, nc), dtype=bool)
    clip_y[labels.row, labels.clip] = labels.label
    clip_mask[labels.row, labels.clip] = True
    train_lab = part[labels.row] == TRAIN
    warm = np.zeros(maps.n_videos * nc, dtype=bool)
    warm[vidx[labels.row[train_lab]] * nc + labels.clip[train_lab]] = True
    durations = video_durations(log, vidx, maps.n_videos)
    data = FrameData(
        log=log, nc=nc, policy=policy, norm=norm, part=part, maps=maps, user_idx=uidx, video_idx=vidx,
        y=is_full_view(play, dur).astype("float32"), skip=skip_clip(play, dur, nc),
        clip_y=clip_y, clip_mask=clip_mask, graphs=graphs, durations=durations,
        clip_meta=clip_metadata(durations, nc), warm=warm,
    )
    if features is not None:
        table = ClipFeatures.from_features(features)
        feat, found = table.gather(maps.videos, nc)
        if not found.any():
            raise InputError(
                f"none of the log's videos has clip features for N_c = {nc}: the feature file covers "
                f"{len(np.unique(table.video_ids))} videos with clips {int(table.clips.min()) if len(table) else 0}.."
                f"{int(table.clips.max()) if len(table) else 0}; embed the videos with the same --nc"
            )
        data.features, data.clip_feat, data.clip_feat_found = table, feat, found
    return data
