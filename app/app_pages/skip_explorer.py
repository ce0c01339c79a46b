"""Skip Explorer: where views end, along the clip timeline, for the chosen N_c.

Three tabs: a heatmap of skip share per clip across the most-viewed videos (click a row to open
that video), one video (retention curve, skip-position histogram, clip stills, playback, labels
under the chosen policy) and one user (their views with watch ratio and skip clip).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import explore as E
from app.components.charts import heatmap_chart, label_profile_figure, timeline_figure, user_strip_figure
from app.components.data import dataset_picker, dataset_version, md_escape
from frame_core.common import schema as S
from frame_core.common.display import visible, visible_frame
from frame_core.services import analytics as A
from frame_core.services.thumbnails import find_video_file, video_mime

TABS = ["Across videos", "One video", "One user"]
TAB_KEY = "sx_tab"
VIDEO_KEY = "sx_video"
USER_KEY = "sx_user"
HEAT_KEY = "sx_heatmap"
MAX_USER_ROWS = 1000

st.title("Skip Explorer")
info, q = dataset_picker(load=False)  # queries over the stored Parquet: the log is never loaded whole
if info is None or q is None:
    st.stop()
nc, policy = E.clip_controls()
version = dataset_version(info)
st.caption(
    f"N_c = {nc}: every video is cut into {nc} clip{'s' if nc > 1 else ''} of equal length. A view that "
    "ends inside clip k (k = min(⌊r·N_c⌋, N_c − 1), r = playing_time / duration_time) is a skip in clip k; "
    "a view with r ≥ 1 is a full view."
)
if not info.has_videos:
    st.info("This dataset has no video files, so clip frames and playback are not shown; the statistics are.")


def _open_picked_video() -> None:
    """Heatmap click → open the clicked video in the "One video" tab."""
    state = st.session_state.get(HEAT_KEY)
    try:
        picked = state.selection.get("pick") if state is not None else None
    except AttributeError:
        picked = None
    if picked:
        first = picked[0] if isinstance(picked, list) else picked
        vid = first.get("video_id") if isinstance(first, dict) else None
        if vid is not None:
            st.session_state[VIDEO_KEY] = str(vid)
            st.session_state[TAB_KEY] = "One video"


tab_across, tab_video, tab_user = st.tabs(TABS, key=TAB_KEY, on_change="rerun")

# ------------------------------------------------------------------------------ across videos
if tab_across.open:
    with tab_across:
        c1, c2 = st.columns([1, 2])
        n_videos = int(E.kpis(info.id, version)["videos"])
        if n_videos > 1:
            most = min(100, n_videos)
            if not 1 <= st.session_state.get("sx_top_n", 0) <= most:
                st.session_state["sx_top_n"] = min(30, most)
            top_n = c1.slider("Videos shown (most viewed)", 1, most, key="sx_top_n")
        else:
            top_n = n_videos
        sort_by = c2.radio("Order rows by", list(A.SORT_KEYS), horizontal=True, key="sx_sort",
                           format_func=lambda k: {"views": "views", "early_skip_share": "early-skip share",
                                                  "full_view_share": "full-view share"}[k])
        matrix, summary = E.skip_heatmap(info.id, version, nc, int(top_n), sort_by)
        if len(matrix) == 0:
            st.info("No views to show.")
        else:
            st.altair_chart(
                heatmap_chart(matrix, summary, nc,
                              f"Share of each video's views that ended in each clip (N_c = {nc}, top {len(matrix)} "
                              "videos by views)"),
                key=HEAT_KEY, on_select=_open_picked_video, selection_mode="pick", width="content",
            )
            st.caption(
                "Each cell: % of the video's views that left inside that clip; a row plus its full-view share "
                "is 100 %. Early-skip share = % of views that left in the first clip. **Click a cell to open "
                "its video** in the *One video* tab (double-click clears the selection)."
            )

# ------------------------------------------------------------------------------ one video
if tab_video.open:
    with tab_video:
        ranked, n_ranked, views_of = E.ranked_ids(info.id, version, S.VIDEO)
        options, cut = E.capped(ranked, keep=st.session_state.get(VIDEO_KEY), total=n_ranked,
                                exists=lambda v: E.id_exists(info.id, version, S.VIDEO, str(v)))
        E.pick_option(VIDEO_KEY, options)
        vid = st.selectbox(
            "Video (type to search; most viewed first)", options, key=VIDEO_KEY,
            format_func=lambda v: f"{visible(v)} ({views_of.get(v, 0)} views)" if v in views_of else visible(v),
            help=(f"Only the {E.MAX_OPTIONS:,} most-viewed of {n_ranked:,} videos are listed: videos "
                  "with fewer views are not in this list." if cut else None),
        )
        if cut:
            st.caption(f"The list holds the {E.MAX_OPTIONS:,} most-viewed of {n_ranked:,} videos.")
        rows = E.video_rows(info.id, version, str(vid))
        p, d = rows[S.PLAY].to_numpy(), rows[S.DURATION].to_numpy()
        row = E.video_stats(info.id, version, nc, str(vid))
        duration = float(rows[S.DURATION].median())
        m = st.columns(4)
        m[0].metric("Views", f"{int(row['views']):,}", border=True)
        m[1].metric("Full-view share", f"{row['full_view_share']:.1%}", border=True)
        m[2].metric("Left in the first clip", f"{row['early_skip_share']:.1%}", border=True)
        m[3].metric("Duration (median)", f"{duration:.1f} s", border=True)
        if rows[S.DURATION].nunique() > 1:
            st.caption("This video's views report different durations; positions use each view's own duration "
                       "and the axis uses the median.")
        thumbs = None
        path = find_video_file(info.videos_dir, vid) if info.has_videos else None
        if path is not None:
            thumbs = E.thumbnails(str(path), path.stat().st_mtime_ns, nc)
        scenes = A.world_scenes(E.world_for(info), vid)
        fig = timeline_figure(
            A.retention_curve(p, d), A.retention_at_boundaries(p, d, nc), A.skip_histogram(p, d, nc), duration,
            nc, f"Video {vid}: retention and skip position over {len(p):,} views (N_c = {nc})", thumbs,
            scenes=scenes,
        )
        st.plotly_chart(fig, width="stretch", key="sx_timeline")
        if len(scenes):
            st.caption("Shaded bands: the video's ground-truth scenes and their visual themes, from the synthetic "
                       "world (world.json). Scene boundaries need not match clip boundaries (dotted).")
        if path is not None:
            if not thumbs:
                st.caption("The video file could not be decoded for clip frames.")
            else:
                with st.expander(f"Clip frames, larger (middle frame of each of the {nc} clips)"):
                    st.image([t for t in thumbs if t], width=128, caption=[
                        f"clip {c}: {c * duration / nc:.1f}–{(c + 1) * duration / nc:.1f} s"
                        for c, t in enumerate(thumbs) if t
                    ])
        elif info.has_videos:
            st.caption(f"No video file named {md_escape(vid)}\\.<ext> in this dataset.")
        labels_fig = label_profile_figure(A.clip_label_profile(p, d, nc, policy), policy,
                                          f"Clip labels of video {vid} under policy {policy} (N_c = {nc})")
        if path is not None:
            c_vid, c_lab = st.columns([1, 2])
            with c_vid:
                st.video(str(path), format=video_mime(path))
                st.caption("The video (WebM plays in every browser).")
            c_lab.plotly_chart(labels_fig, width="stretch", key="sx_labels")
        else:
            st.plotly_chart(labels_fig, width="stretch", key="sx_labels")

# ------------------------------------------------------------------------------ one user
if tab_user.open:
    with tab_user:
        ranked_u, n_users, _ = E.ranked_ids(info.id, version, S.USER)
        options_u, cut_u = E.capped(ranked_u, keep=st.session_state.get(USER_KEY), total=n_users,
                                    exists=lambda u: E.id_exists(info.id, version, S.USER, str(u)))
        E.pick_option(USER_KEY, options_u)
        user = st.selectbox("User (type to search; most active first)", options_u, key=USER_KEY, format_func=visible)
        if cut_u:
            st.caption(f"The list holds the {E.MAX_OPTIONS:,} most active of {n_users:,} users.")
        uv = E.user_views(info.id, version, str(user), nc)
        n_full = int(uv["full_view"].sum())
        m = st.columns(3)
        m[0].metric("Views", f"{len(uv):,}", border=True)
        m[1].metric("Full views", f"{n_full:,} ({n_full / max(len(uv), 1):.0%})", border=True)
        skips = uv.loc[~uv["full_view"], "skip_clip"]
        m[2].metric("Median skip clip", "–" if skips.empty else f"{float(skips.median()):g}", border=True)
        shown = uv.tail(MAX_USER_ROWS)
        if len(uv) > MAX_USER_ROWS:
            st.caption(f"Showing the last {MAX_USER_ROWS:,} of {len(uv):,} views.")
        st.plotly_chart(
            user_strip_figure(shown, nc, f"User {user}: where each view ended (N_c = {nc})"),
            width="stretch", key="sx_user_strip",
        )
        table_u = shown.drop(columns=["row"]).copy()
        ts = table_u[S.TIMESTAMP]
        if len(ts) and 1e8 < float(ts.min()) and float(ts.max()) < 1e11:  # looks like seconds since 1970
            table_u.insert(0, "time (UTC)", pd.to_datetime(ts, unit="s", utc=True).dt.tz_localize(None))
        table_u["labels"] = A.label_strings(shown[S.PLAY], shown[S.DURATION], nc, policy)
        table_u["skip_clip"] = table_u["skip_clip"].astype("string").fillna("full view")
        st.dataframe(
            visible_frame(table_u), hide_index=True, width="stretch",
            column_config={
                S.TIMESTAMP: st.column_config.NumberColumn("timestamp", format="%.0f"),
                S.DURATION: st.column_config.NumberColumn("duration (s)", format="%.1f"),
                S.PLAY: st.column_config.NumberColumn("played (s)", format="%.1f"),
                "watch_ratio": st.column_config.NumberColumn("watch ratio r", format="%.2f"),
                "leave_position": st.column_config.ProgressColumn("ended at", format="percent", min_value=0,
                                                                  max_value=1),
                "labels": st.column_config.TextColumn(f"clip labels ({policy})",
                                                      help="+ positive, − negative, · unlabelled; one per clip"),
            },
        )
