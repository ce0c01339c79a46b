"""Graph Inspector: the positive and negative user–clip graphs around one user or one video,
the signed interaction matrix and R̃ of that selection, and the toy example built live."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app.components import explore as E
from app.components.data import dataset_picker, dataset_version
from app.components.ego_charts import bipartite_chart, signed_matrix_chart
from app.components.toy import show_graphs, show_labels, show_normalised, show_views, toy_editor
from frame_core.common import schema as S
from frame_core.common.display import visible
from frame_core.common.errors import InputError
from frame_core.data.graphs import NORMS
from frame_core.services import graph_views as GV

NORM_KEY = "gi_norm"
TRAIN_KEY = "gi_train_only"
MODES = ["One user", "One video"]
TABS = ["Ego view and matrices", "Toy example: 3 users × 4 clips"]
TAB_KEY = "gi_tab"
BLOCK_TABS = ["R^P − R^N (chart)", "R̃ᴾ (positive, normalised)", "R̃ᴺ (negative, normalised)"]
BLOCK_TAB_KEY = "gi_block_tab"

st.title("Graph Inspector")
info, q = dataset_picker(load=False)  # only the rows the ego view needs are ever read
if info is None or q is None:
    st.stop()
nc, policy = E.clip_controls()
E.keep_state(NORM_KEY, "symmetric", lambda v: v in NORMS)
E.keep_state(TRAIN_KEY, True, lambda v: isinstance(v, bool))
norm = st.sidebar.radio("Normalisation of R̃", list(NORMS), key=NORM_KEY,
                        help="symmetric: D_u^-1/2 · R · D_c^-1/2 (default); row: D_u^-1 · R")
train_only = st.sidebar.toggle("Training rows only", key=TRAIN_KEY,
                               help="As the model sees them: the last 30 % of each user's views (validation "
                               "and test) never enter a graph. Off: all rows.")
version = dataset_version(info)
k = E.kpis(info.id, version)
st.caption(
    f"R^P and R^N are {k['users']:,} users × {k['videos'] * nc:,} clips ({k['videos']:,} videos × N_c = {nc}; "
    f"policy {policy}, {'training rows' if train_only else 'all rows'}). Only the part around the selection "
    "below is built, from the rows of the users and videos it shows (sparse CSR); its R̃ values are those of "
    "the whole graph."
)


# ------------------------------------------------------------------------------ sections
def _ego(mode: str, who: str, cap: int):
    """The local graphs (id maps, graphs) of the view, or None (with the reason shown) when the
    view would need too many rows."""
    try:
        return E.ego_graph(info.id, version, mode, who, nc, policy, norm, bool(train_only), cap)
    except InputError as exc:
        st.warning(str(exc))
        return None


def ego_section() -> None:
    """Ego view of one user or video, the signed matrix and R̃ of that selection."""
    st.subheader("Ego view")
    c1, c2, c3 = st.columns([1, 2, 1], vertical_alignment="bottom")
    mode = c1.segmented_control("Centre on", MODES, default=MODES[0], key="gi_mode", required=True) or MODES[0]
    if mode == "One user":
        ranked, n_ranked, _ = E.ranked_ids(info.id, version, S.USER)
        options, cut = E.capped(ranked, keep=st.session_state.get("gi_user"), total=n_ranked,
                                exists=lambda x: E.id_exists(info.id, version, S.USER, str(x)))
        E.pick_option("gi_user", options)
        who = c2.selectbox("User (most active first)", options, key="gi_user", format_func=visible)
        cap = c3.slider("Most clips shown", 8, 120, 48, step=4, key="gi_cap_clips")
        built = _ego("user", str(who), int(cap))
        if built is None:
            return
        maps, g = built
        u = int(maps.user_index([who])[0])
        ego = GV.ego_user(g, maps, u, cap)
        block_rows = np.concatenate([[u], GV.neighbours(g, u, ego.cols, n=9)]).astype("int64")
        shown = f"{len(ego.cols)} of the user's {ego.total_cols} clips"
    else:
        ranked, n_ranked, _ = E.ranked_ids(info.id, version, S.VIDEO)
        options, cut = E.capped(ranked, keep=st.session_state.get("gi_video"), total=n_ranked,
                                exists=lambda x: E.id_exists(info.id, version, S.VIDEO, str(x)))
        E.pick_option("gi_video", options)
        who = c2.selectbox("Video (most viewed first)", options, key="gi_video", format_func=visible)
        cap = c3.slider("Most users shown", 4, 80, 30, step=2, key="gi_cap_users")
        built = _ego("video", str(who), int(cap))
        if built is None:
            return
        maps, g = built
        v = int(maps.video_index([who])[0])
        ego = GV.ego_video(g, maps, v, cap)
        block_rows = ego.users
        shown = f"{len(ego.users)} of the {ego.total_users} users with an edge to this video's {nc} clips"
    if cut:
        st.caption(f"The list holds the {E.MAX_OPTIONS:,} most frequent of {n_ranked:,} ids.")

    edges = ego.edges.copy()
    clip_names = GV.clip_label_text(maps, nc, ego.cols)
    name_of = dict(zip(ego.cols.tolist(), clip_names))
    edges["clip_name"] = [name_of[c] for c in edges["col"].tolist()]
    user_names = [str(x) for x in maps.users[ego.users]]
    clip_video = [str(maps.videos[c // nc]) for c in ego.cols]

    if len(edges) == 0:
        st.info(
            "No edge to show: this selection has no labelled clip in the graph"
            + (" built from training rows (its views may all be validation or test rows)." if train_only else ".")
        )
    else:
        title = (f"User {who}: clips they watched through (+) or left in (−)" if mode == "One user"
                 else f"Video {who}: its {nc} clips and their users")
        st.altair_chart(bipartite_chart(edges, user_names, clip_names, clip_video, title + f" (N_c = {nc})"),
                        width="stretch", key="gi_bipartite")
        st.caption(
            f"Showing {shown}" + (" (capped; raise the limit to see more)." if ego.truncated else ".")
            + " Green solid: positive edge (R^P = 1); red dashed: negative edge (R^N = 1). Hover an edge's middle "
            "(or the edge) for its R̃ value."
        )

        # -------------------------------------------------------------------------- matrices
        st.subheader("Signed interaction matrix and R̃ for this selection")
        rows_txt = [str(x) for x in maps.users[block_rows]]
        blk = GV.signed_block(g, block_rows, ego.cols)
        extra = "" if mode == "One video" else " and up to 9 users who share the most of these clips"
        # lazy tabs: the tables are built and sent only when opened (the chart's tooltips give the same
        # values), so a first visit loads no data-grid code in the browser (README "The app under load")
        tab_m, tab_p, tab_n = st.tabs(BLOCK_TABS, key=BLOCK_TAB_KEY, on_change="rerun")
        if tab_m.open:
            with tab_m:
                st.altair_chart(
                    signed_matrix_chart(blk["signed"], blk["both"], rows_txt, clip_names,
                                        f"R^P − R^N: the selected {'user' if mode == 'One user' else 'users'}{extra}",
                                        rp=blk["RP_norm"], rn=blk["RN_norm"]),
                    width="stretch", key="gi_signed",
                )
                n_both = int(blk["both"].sum())
                if n_both:
                    st.caption(f"± marks {n_both} cell(s) where the user has both labels on the clip (different "
                               "views): the edge is in both graphs. Hover a cell for its R̃ᴾ and R̃ᴺ values.")
        fmt = {c: st.column_config.NumberColumn(c, format="%.3f") for c in clip_names}
        for tab, key in ((tab_p, "RP_norm"), (tab_n, "RN_norm")):
            if tab.open:
                with tab:
                    st.dataframe(pd.DataFrame(blk[key], index=rows_txt, columns=clip_names), width="stretch",
                                 column_config=fmt)
        st.caption(f"Values of the {norm} normalisation over the whole graph (degrees count every edge of the user "
                   "and the clip, not just those shown).")


def toy_section() -> None:
    """The slides' toy example (3 users × 4 clips), built live."""
    st.subheader("Toy example: 3 users × 4 clips, built live")
    steps = toy_editor("gi_toy")
    if steps is not None:
        show_views(steps)
        show_labels(steps)
        show_graphs(steps, policy, "gi_toy")
        show_normalised(steps, policy, "gi_toy")


# Lazy tabs: only the open tab's section is computed and sent (each has several charts; the
# browser draws only what it receives, which matters with many sessions on few cores). The ego
# view's choices outlive a visit to the toy tab (Streamlit drops the state of undrawn widgets).
E.keep_widgets("gi_mode", "gi_user", "gi_video", "gi_cap_clips", "gi_cap_users", BLOCK_TAB_KEY)
tab_ego, tab_toy = st.tabs(TABS, key=TAB_KEY, on_change="rerun")
if tab_ego.open:
    with tab_ego:
        ego_section()
if tab_toy.open:
    with tab_toy:
        toy_section()
