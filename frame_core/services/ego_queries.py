"""The part of the user–clip graphs an ego view shows, built from a few filtered queries
instead of the whole log (Graph Inspector; docs/design.md §3, README "Large logs").

An ego view shows edges between some users and some clips, with their R̃ values. R̃ of an
edge (u, c) depends only on u's degree and c's degree (symmetric) or u's degree alone (row).
So a *local* graph holds the right values on the shown edges when it is built from **every
row of the shown users** (their full degrees) and **every row of the videos of the shown
clips** (the clips' full degrees). :func:`local_graphs` fetches exactly those rows through
:class:`~frame_core.services.log_queries.LogQueries` and builds
:class:`~frame_core.data.graphs.UserClipGraphs` over them, with users and videos indexed in
order of first appearance in the whole log, so the ego functions of
:mod:`frame_core.services.graph_views` (ties broken by index) pick the same users and clips as
on the full graphs. Values outside the shown edges (other users' degrees) are partial: the
local graphs are for drawing the view, not for training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.data.graphs import IdMaps, UserClipGraphs, build_graphs
from frame_core.data.labels import check_nc, clip_labels
from frame_core.data.split import TRAIN
from frame_core.services import graph_views as GV
from frame_core.services.log_queries import LogQueries

N_NEIGHBOURS = 9
MAX_ROWS = 1_000_000
"""Most views one ego view may read. A video watched by a large share of a big log (the head
of a Zipf feed) has millions of views; its clips' degrees need them all, so such a view is
refused with a message rather than filling memory. (Counting the degrees in SQL instead of
fetching the rows would lift this; not done yet.)"""


def _check_size(q: LogQueries, column: str, ids, what: str) -> None:
    n = sum(q.views_of(column, ids).values())
    if n > MAX_ROWS:
        raise InputError(f"the ego view of {what} needs {n:,} views (every view of the users and videos it shows), "
                         f"more than the {MAX_ROWS:,} the Graph Inspector reads for one view; pick a less-viewed "
                         "video, or a user whose videos are less popular")


def _build(q: LogQueries, rows: pd.DataFrame, nc: int, policy: str, norm: str, train_only: bool
           ) -> tuple[IdMaps, UserClipGraphs]:
    rows = rows.drop_duplicates("row").sort_values("row", kind="stable").reset_index(drop=True)
    users = pd.unique(rows[S.USER].astype(str).to_numpy(dtype=object))
    videos = pd.unique(rows[S.VIDEO].astype(str).to_numpy(dtype=object))
    u_first = q.first_rows(S.USER, users).reindex(users).to_numpy()
    v_first = q.first_rows(S.VIDEO, videos).reindex(videos).to_numpy()
    maps = IdMaps(users=users[np.argsort(u_first, kind="stable")].astype(object),
                  videos=videos[np.argsort(v_first, kind="stable")].astype(object))
    labels = clip_labels(rows[S.PLAY].to_numpy(), rows[S.DURATION].to_numpy(), nc, policy)
    part = rows["part"].to_numpy(dtype="int8") if train_only else np.full(len(rows), TRAIN, dtype="int8")
    g = build_graphs(maps.user_index(rows[S.USER].astype(str)), maps.video_index(rows[S.VIDEO].astype(str)), labels,
                     part, maps.n_users, maps.n_videos, norm)
    return maps, g


def _edge_videos(rows: pd.DataFrame, train_only: bool) -> list[str]:
    """Videos of the rows that make an edge (every view labels at least one clip)."""
    if train_only:
        rows = rows[rows["part"].to_numpy() == TRAIN]
    return pd.unique(rows[S.VIDEO].astype(str).to_numpy(dtype=object)).tolist()


def local_graphs(q: LogQueries, *, mode: str, who: str, nc: int, policy: str, norm: str, train_only: bool,
                 cap: int) -> tuple[IdMaps, UserClipGraphs]:
    """Local graphs around one user (``mode="user"``, at most ``cap`` clips shown, plus the
    :data:`N_NEIGHBOURS` users sharing the most of them) or one video (``mode="video"``, at
    most ``cap`` users), with the shown edges' R̃ as on the full graphs (module docstring).
    Raises InputError when that needs more than :data:`MAX_ROWS` views."""
    nc = check_nc(nc)
    if mode == "user":
        _check_size(q, S.USER, [who], f"user {who}")
        own = q.rows_of(users=[who])
        vids = _edge_videos(own, train_only)
        _check_size(q, S.VIDEO, vids, f"user {who}")
        rows = pd.concat([own, q.rows_of(videos=vids)]) if vids else own
        maps, g = _build(q, rows, nc, policy, norm, train_only)
        u = int(maps.user_index([who])[0])
        if u < 0:
            return maps, g
        ego = GV.ego_user(g, maps, u, cap)
        near = maps.users[GV.neighbours(g, u, ego.cols, n=N_NEIGHBOURS)].tolist()
        if near:
            _check_size(q, S.USER, near, f"user {who}")
            rows = pd.concat([rows, q.rows_of(users=near)])
            maps, g = _build(q, rows, nc, policy, norm, train_only)
        return maps, g
    if mode != "video":
        raise ValueError("mode must be 'user' or 'video'")
    _check_size(q, S.VIDEO, [who], f"video {who}")
    rows = q.rows_of(videos=[who])
    maps, g = _build(q, rows, nc, policy, norm, train_only)
    v = int(maps.video_index([who])[0])
    if v < 0:
        return maps, g
    ego = GV.ego_video(g, maps, v, cap)
    shown = maps.users[ego.users].tolist()
    if shown:
        _check_size(q, S.USER, shown, f"video {who}")
        rows = pd.concat([rows, q.rows_of(users=shown)])
        maps, g = _build(q, rows, nc, policy, norm, train_only)
    return maps, g
