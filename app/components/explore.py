"""Shared controls and bounded caches of the exploration pages (Skip Explorer, Graph Inspector,
Learn). The computations themselves live in ``frame_core.services.analytics`` / ``frame_core.services.graph_views``;
this module only keys them by (dataset id, version, settings) so that a rerun is cheap.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components.data import queries
from frame_core.data.labels import DEFAULT_POLICY, MAX_NC, POLICIES
from frame_core.services import analytics as A
from frame_core.services.thumbnails import clip_thumbnails

NC_KEY = "explore_nc"
POLICY_KEY = "explore_policy"
DEFAULT_NC = 8
MAX_OPTIONS = 5000  # longest id list offered in a select box (the most frequent ids)
POLICY_HELP = {
    "watched-positive": "clips watched through are positive, the clip where the user left is negative (default)",
    "paper": "only the clip where the user left is labelled (negative); full views make every clip positive",
}


def keep_state(key: str, default, valid=None):
    """Keep a widget's value across pages: Streamlit drops the state of widgets that a page does
    not draw, unless the key is written back on every run."""
    value = st.session_state.get(key, default)
    if valid is not None and not valid(value):
        value = default
    st.session_state[key] = value


def keep_widgets(*keys: str) -> None:
    """Keep the values of widgets this run may not draw (a closed lazy tab): write each key that
    has a value back, so Streamlit does not drop it at the end of the run."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def clip_controls(where=None, policy: bool = True) -> tuple[int, str]:
    """N_c slider (1–64, default 8) and label-policy radio, shared by the exploration pages."""
    where = where or st.sidebar
    keep_state(NC_KEY, DEFAULT_NC, lambda v: isinstance(v, int) and 1 <= v <= MAX_NC)
    keep_state(POLICY_KEY, DEFAULT_POLICY, lambda v: v in POLICIES)
    nc = where.slider(
        "Clips per video, N_c", 1, MAX_NC, key=NC_KEY,
        help="Every video is split into N_c clips of equal duration. N_c = 1 is the coarse model.",
    )
    pol = st.session_state[POLICY_KEY]
    if policy:
        pol = where.radio(
            "Label policy", list(POLICIES), key=POLICY_KEY, format_func=lambda p: p,
            help="; ".join(f"{k}: {v}" for k, v in POLICY_HELP.items()),
        )
    return int(nc), str(pol)


def pick_option(key: str, options: list, default=None) -> None:
    """Make sure the select box ``key`` holds one of ``options`` before it is drawn."""
    if not options:
        return
    if st.session_state.get(key) not in options:
        st.session_state[key] = default if default in options else options[0]


@st.cache_data(max_entries=16, show_spinner=False)
def kpis(ds_id: str, version: str) -> dict:
    return queries(ds_id, version).kpis()


@st.cache_data(max_entries=64, show_spinner=False)
def video_stats(ds_id: str, version: str, nc: int, video_id: str) -> pd.Series:
    """One video's row of the video table (views, full-view share, early-skip share, …)."""
    t = queries(ds_id, version).video_table(nc, [video_id])
    return t.iloc[0] if len(t) else pd.Series({"views": 0, "full_view_share": float("nan"),
                                               "early_skip_share": float("nan")})


@st.cache_data(max_entries=32, show_spinner="Computing the skip heatmap…")
def skip_heatmap(ds_id: str, version: str, nc: int, top_n: int, sort_by: str):
    return queries(ds_id, version).skip_heatmap(nc, top_n, sort_by)


@st.cache_data(max_entries=8, show_spinner=False)
def ranked_ids(ds_id: str, version: str, column: str) -> tuple[list, int, dict]:
    """(the :data:`MAX_OPTIONS` user or video ids with the most views, most first; how many
    ids there are; id → views for those shown)."""
    ids, total = queries(ds_id, version).ranked_ids(column, MAX_OPTIONS)
    views = queries(ds_id, version).views_of(column, ids)
    return ids, total, views


@st.cache_data(max_entries=64, show_spinner=False)
def id_exists(ds_id: str, version: str, column: str, value: str) -> bool:
    return len(queries(ds_id, version).first_rows(column, [value])) > 0


@st.cache_data(max_entries=64, show_spinner=False)
def video_rows(ds_id: str, version: str, video_id: str) -> pd.DataFrame:
    """playing_time and duration_time of one video's views."""
    return queries(ds_id, version).video_rows(video_id)


@st.cache_data(max_entries=64, show_spinner=False)
def user_views(ds_id: str, version: str, user_id: str, nc: int) -> pd.DataFrame:
    return queries(ds_id, version).user_views(user_id, nc)


@st.cache_resource(max_entries=16, show_spinner="Building the graph around the selection…")
def ego_graph(ds_id: str, version: str, mode: str, who: str, nc: int, policy: str, norm: str, train_only: bool,
              cap: int):
    """(IdMaps, UserClipGraphs) of the rows an ego view needs (frame_core.services.ego_queries);
    shared, never mutated by callers."""
    from frame_core.services.ego_queries import local_graphs  # imports torch: only the graph page pays for it

    return local_graphs(queries(ds_id, version), mode=mode, who=who, nc=nc, policy=policy, norm=norm,
                        train_only=train_only, cap=cap)


@st.cache_data(max_entries=8, show_spinner=False)
def skip_counts(ds_id: str, version: str, nc: int) -> tuple:
    """(skips per clip, full views, views) of the whole log, counted out of core."""
    return queries(ds_id, version).skip_counts(nc)


def label_counts(ds_id: str, version: str, nc: int) -> pd.DataFrame:
    return A.label_counts_from_counts(*skip_counts(ds_id, version, nc))


@st.cache_data(max_entries=64, show_spinner="Reading clip frames…")
def thumbnails(path: str, mtime_ns: int, nc: int) -> list[bytes]:
    """One JPEG still per clip (the file's mtime keys the cache)."""
    return clip_thumbnails(path, nc)


MAX_WORLD_BYTES = 50_000_000


@st.cache_data(max_entries=4, show_spinner=False)
def world(path: str, mtime_ns: int) -> dict:
    """A synthetic world's ground truth (``world.json``), or {} if missing, too big or not JSON."""
    import json
    from pathlib import Path

    p = Path(path)
    try:
        if not p.is_file() or p.stat().st_size > MAX_WORLD_BYTES:
            return {}
        out = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


def world_for(info) -> dict:
    """The world.json next to a bundled sample's log (the synthetic sample has one), else {}."""
    if info is None or not info.bundled:
        return {}
    p = info.path.parent / "world.json"
    try:
        return world(str(p), p.stat().st_mtime_ns) if p.is_file() else {}
    except OSError:
        return {}


def capped(ids: list, keep=None, limit: int = MAX_OPTIONS, total: int | None = None, exists=None
           ) -> tuple[list, bool]:
    """The first ``limit`` ids (plus ``keep`` if it lies beyond: in ``ids``, or where
    ``exists(keep)`` says so); True when ids were cut (``total``: how many there are)."""
    total = len(ids) if total is None else int(total)
    if total <= limit and len(ids) <= limit:
        return ids, False
    out = ids[:limit]
    if keep is not None and keep not in out and (keep in ids or (exists is not None and exists(keep))):
        out = out + [keep]
    return out, True
