"""The part of the user–clip graphs an ego view shows, built from a few filtered queries
instead of the whole log (Graph Inspector; docs/design.md §3, README "Large logs").

An ego view shows edges between some users and some clips, with their R̃ values. R̃ of an
edge (u, c) depends only on u's degree and c's degree (symmetric) or u's degree alone (row).
So a *local* graph holds the right values on the shown edges when it is built from **every
view of the shown users** (their full degrees) and **every view of the videos of the shown
clips** (the clips' full degrees). Those views are not fetched one by one: a (user, video)
pair's edges depend on its views only through which clips they ended in and whether one was
full, so DuckDB aggregates them to one row per pair
(:meth:`~frame_core.services.log_queries.LogQueries.label_pairs`) and :func:`pair_views` turns
each pair into the fewest views with the same labels (a user who watched a feed's top video
forty times is one row, not forty). :func:`local_graphs` fetches exactly those pairs through
:class:`~frame_core.services.log_queries.LogQueries` and builds
:class:`~frame_core.data.graphs.UserClipGraphs` over them, with users and videos indexed in
order of first appearance in the whole log, so the ego functions of
:mod:`frame_core.services.graph_views` (ties broken by index) pick the same users and clips as
on the full graphs. Values outside the shown edges (other users' degrees) are partial: the
local graphs are for drawing the view, not for training.
"""

from __future__ import annotations

import dataclasses

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
MAX_ROWS = 10_000_000
"""Most views one step of an ego view may aggregate (DuckDB reads them from the sorted copies;
a video's view is two steps, the video then its shown users; a user's three: the user, their
videos, the neighbours). A view past it is refused with a message."""
MAX_PAIRS = 5_000_000
"""Most (user, video) pairs one ego view may hold."""
MAX_LABELS = 20_000_000
"""Most clip labels the local graphs of one ego view may be built from (a pair gives up to
N_c + 1 of them per clip it ended in, N_c for a full view; about 50 bytes each while the graphs
are built), counted before they are made."""


def _check_size(q: LogQueries, column: str, ranks, what: str) -> None:
    n = int(q.id_table(column, ranks)["views"].sum()) if len(ranks) else 0
    if n > MAX_ROWS:
        raise InputError(f"the ego view of {what} needs {n:,} views (every view of the users and videos it shows), "
                         f"more than the {MAX_ROWS:,} the Graph Inspector reads for one view; pick a less-viewed "
                         "video, or a user whose videos are less popular")


def _labels_of(pairs: pd.DataFrame, train_only: bool) -> tuple[np.ndarray, np.ndarray]:
    """(negative-clip masks, full flags) of the pairs: over training views only, or all views."""
    neg, full = ("neg_train", "full_train") if train_only else ("neg", "full")
    return pairs[neg].to_numpy(dtype="uint64"), pairs[full].to_numpy(dtype=bool)


def pair_views(pairs: pd.DataFrame, nc: int, train_only: bool) -> tuple[np.ndarray, np.ndarray]:
    """The fewest views with each pair's clip labels, as (pair position, playing time) with
    duration 1: one view that ended in clip k (playing (k + ½) / nc) per bit k of the pair's
    ``neg`` and one full view (playing 1) where ``full`` (``neg_train`` / ``full_train`` with
    ``train_only``). Under either policy a view that ended in clip k labels clip k negative,
    under watched-positive also clips 0 … k − 1 positive, and a full view labels every clip
    positive; the real views' labels are the union of those, and so are the synthetic ones'."""
    neg, full = _labels_of(pairs, train_only)
    idx, play = [], []
    for k in range(nc):
        sel = np.flatnonzero((neg >> np.uint64(k)) & np.uint64(1))
        idx.append(sel)
        play.append(np.full(len(sel), (k + 0.5) / nc))
    sel = np.flatnonzero(full)
    idx.append(sel)
    play.append(np.ones(len(sel)))
    return np.concatenate(idx), np.concatenate(play)


def _check_pairs(pairs: pd.DataFrame, what: str) -> pd.DataFrame:
    if len(pairs) > MAX_PAIRS:
        raise InputError(f"the ego view of {what} needs {len(pairs):,} user–video pairs, more than the "
                         f"{MAX_PAIRS:,} the Graph Inspector holds for one view; pick a less-viewed video, or a "
                         "user whose videos are less popular")
    return pairs


def _positions(ranks_in_order: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Position of each of ``query`` in ``ranks_in_order`` (all present)."""
    order = np.argsort(ranks_in_order, kind="stable")
    return order[np.searchsorted(ranks_in_order[order], query)]


@dataclasses.dataclass
class _Local:
    maps: IdMaps
    graphs: UserClipGraphs
    user_ranks: np.ndarray  # rank of each user index of ``maps``
    pairs: pd.DataFrame


def _build(q: LogQueries, pairs: pd.DataFrame, nc: int, policy: str, norm: str, train_only: bool, what: str) -> _Local:
    """Local graphs of the pairs' users and videos, indexed in order of first appearance in
    the whole log (as on the full graphs)."""
    pairs = pairs.drop_duplicates(["ur", "vr"]).reset_index(drop=True)
    ut = q.id_table(S.USER, np.unique(pairs["ur"].to_numpy(dtype="int64"))).sort_values("first_row", kind="stable")
    vt = q.id_table(S.VIDEO, np.unique(pairs["vr"].to_numpy(dtype="int64"))).sort_values("first_row", kind="stable")
    maps = IdMaps(users=ut["id"].astype(str).to_numpy(dtype=object), videos=vt["id"].astype(str).to_numpy(dtype=object))
    u_rank, v_rank = ut["rank"].to_numpy(dtype="int64"), vt["rank"].to_numpy(dtype="int64")
    u_pos = _positions(u_rank, pairs["ur"].to_numpy(dtype="int64"))
    v_pos = _positions(v_rank, pairs["vr"].to_numpy(dtype="int64"))
    i, play = pair_views(pairs, nc, train_only)
    k = np.floor(play * nc).astype("int64")
    n_labels = int(np.where(play >= 1.0, nc, k + 1 if policy == "watched-positive" else 1).sum())
    if n_labels > MAX_LABELS:
        raise InputError(f"the ego view of {what} needs {n_labels:,} clip labels at N_c = {nc}, more than the "
                         f"{MAX_LABELS:,} the Graph Inspector builds for one view; lower N_c or pick a less-viewed "
                         "video, or a user whose videos are less popular")
    labels = clip_labels(play, np.ones(len(play)), nc, policy)
    g = build_graphs(u_pos[i], v_pos[i], labels, np.full(len(i), TRAIN, dtype="int8"), maps.n_users, maps.n_videos,
                     norm)
    return _Local(maps, g, u_rank, pairs)


def _edge_videos(pairs: pd.DataFrame, train_only: bool) -> np.ndarray:
    """Video ranks of the pairs that make an edge (any view labels at least one clip)."""
    neg, full = _labels_of(pairs, train_only)
    has = (neg != 0) | full
    return np.unique(pairs["vr"].to_numpy(dtype="int64")[has])


def local_graphs(q: LogQueries, *, mode: str, who: str, nc: int, policy: str, norm: str, train_only: bool,
                 cap: int) -> tuple[IdMaps, UserClipGraphs]:
    """Local graphs around one user (``mode="user"``, at most ``cap`` clips shown, plus the
    :data:`N_NEIGHBOURS` users sharing the most of them) or one video (``mode="video"``, at
    most ``cap`` users), with the shown edges' R̃ as on the full graphs (module docstring).
    Raises InputError when that needs more than :data:`MAX_ROWS` views or :data:`MAX_PAIRS`
    pairs."""
    nc = check_nc(nc)

    def more(loc: _Local, user_ranks) -> _Local:
        return _build(q, _check_pairs(pd.concat([loc.pairs, q.label_pairs(nc, user_ranks=user_ranks)]), what),
                      nc, policy, norm, train_only, what)

    if mode == "user":
        what = f"user {who}"
        me = q.ranks(S.USER, [who])
        _check_size(q, S.USER, me, what)
        own = q.label_pairs(nc, user_ranks=me)
        vids = _edge_videos(own, train_only)
        _check_size(q, S.VIDEO, vids, what)
        loc = _build(q, _check_pairs(pd.concat([own, q.label_pairs(nc, video_ranks=vids)]) if len(vids) else own,
                                     what), nc, policy, norm, train_only, what)
        u = int(loc.maps.user_index([who])[0])
        if u < 0:
            return loc.maps, loc.graphs
        ego = GV.ego_user(loc.graphs, loc.maps, u, cap)
        near = loc.user_ranks[GV.neighbours(loc.graphs, u, ego.cols, n=N_NEIGHBOURS)]
        if len(near):
            _check_size(q, S.USER, near, what)
            loc = more(loc, near)
        return loc.maps, loc.graphs
    if mode != "video":
        raise ValueError("mode must be 'user' or 'video'")
    what = f"video {who}"
    me = q.ranks(S.VIDEO, [who])
    _check_size(q, S.VIDEO, me, what)
    loc = _build(q, _check_pairs(q.label_pairs(nc, video_ranks=me), what), nc, policy, norm, train_only, what)
    v = int(loc.maps.video_index([who])[0])
    if v < 0:
        return loc.maps, loc.graphs
    ego = GV.ego_video(loc.graphs, loc.maps, v, cap)
    shown = loc.user_ranks[ego.users]
    if len(shown):
        _check_size(q, S.USER, shown, what)
        loc = more(loc, shown)
    return loc.maps, loc.graphs
