"""Recommend: top-K videos for a user from a finished run, a held-out check of the run against
what the user actually did in the validation and test period, each video's predicted per-clip
curve, and why a video outranks the user's average candidate (the score split into duration,
clip content and graph neighbourhood). The run arrives from Train or Compare in the URL
(``?run=``, :mod:`app.components.run_link`)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from app.components.baseline_curves import baselines_section
from app.components.data import dataset_picker, dataset_version, loaded_log, md_escape, shared, workspace
from app.components.recommend_charts import (
    attribution_chart,
    attribution_sentence,
    clip_chart,
    duration_note,
    top_k_heatmap,
)
from app.components.run_link import RUN_KEY, apply_run_param, remember_run
from app.components.runs import finished_runs, unusable_runs_notice
from frame_core.common import schema as S
from frame_core.common.display import visible, visible_frame
from frame_core.common.errors import InputError
from frame_core.common.safe_csv import to_csv_bytes
from frame_core.model.attribution import PART_HELP, PART_TITLES, PARTS, Attributor
from frame_core.runs import finished_at
from frame_core.services import engine as E
from frame_core.services import recommend as R
from frame_core.services import run_tables as T
from frame_core.services.analytics import kpis


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def load_model(path: str, done_mtime: float):
    """A loaded run (torch model + maps); at most two kept in memory."""
    return E.load_run(Path(path))


@st.cache_resource(max_entries=4, show_spinner=False)
def _dataset_split(ds_id: str, version: str, _log: pd.DataFrame) -> pd.DataFrame:
    return R.split_log(_log)


def dataset_split(ds_id: str, version: str, log: pd.DataFrame) -> pd.DataFrame:
    """The log with its split part, computed once per server process and dataset version
    (shared read-only; the caller's own shallow copy, :func:`app.components.data.shared`)."""
    return shared(_dataset_split(ds_id, version, log))


@st.cache_data(max_entries=16, show_spinner="Scoring candidate videos…")
def recommend(run_path: str, done_mtime: float, user: str, k: int) -> pd.DataFrame:
    """The run's top-k for the user (every video not seen in training is scored)."""
    return load_model(run_path, done_mtime).recommend(user, k)


@st.cache_resource(max_entries=2, show_spinner="Preparing the explanation…")
def attributor(path: str, done_mtime: float):
    """The run's score attributor (graphs propagated once); None for runs without one model."""
    run = load_model(path, done_mtime)
    return Attributor(run.model).prepare() if hasattr(run, "model") else None


@st.cache_data(max_entries=16, show_spinner="Scoring the held-out views…")
def heldout_check(run_path: str, done_mtime: float, ds_id: str, version: str, user: str, _log: pd.DataFrame):
    return R.heldout_check(load_model(run_path, done_mtime), _log, user)


# ------------------------------------------------------------------------------ page
st.title("Recommend")
st.caption("Pick a finished run and a user: the run scores every video the user did not see in training "
           "and ranks them by the predicted probability of a full view.")
runs_dir = workspace().runs_dir
all_runs = finished_runs(runs_dir)
link_problem = apply_run_param(all_runs)
info, _q = dataset_picker(load=False)  # the whole log is loaded only once there is a run to show
if link_problem:
    st.warning(link_problem)
if info is None or _q is None:
    st.stop()
if int(info.rows) == 0:
    st.warning("This dataset has no usable rows.")
    st.stop()

unusable_runs_notice(runs_dir, info.id, key="rec_unusable")
runs = all_runs[all_runs["dataset"].astype(str) == info.id] if len(all_runs) else all_runs
if runs.empty:
    st.info(f"No finished run on **{md_escape(info.name)}** yet: train one on the Train page (or run the fine vs coarse "
            "experiment on the Compare page).")
    st.page_link("app_pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

runs = runs.sort_values(["auc"], ascending=False, na_position="last").reset_index(drop=True)
labels = {r["run_id"]: T.run_label(r) for _, r in runs.iterrows()}
if st.session_state.get(RUN_KEY) not in labels:
    st.session_state.pop(RUN_KEY, None)
c1, c2, c3 = st.columns([3, 2, 1])
run_id = c1.selectbox("Run", list(labels), format_func=labels.get, key=RUN_KEY)
remember_run(run_id)
row = runs[runs["run_id"] == run_id].iloc[0]
st.markdown(f"#### {md_escape(T.run_title(row))}")
done_at = finished_at(row["path"])
if done_at is None:
    st.error("This run's folder changed on disk and is no longer a finished run; pick another.")
    st.stop()
try:
    run = load_model(row["path"], done_at)
except InputError as exc:
    st.error(f"This run cannot be used: {md_escape(exc)}")
    st.stop()

version = dataset_version(info)
log = loaded_log(info)
if log is None:
    st.stop()
full_log = dataset_split(info.id, version, log)
counts = R.user_activity(full_log)
users = list(counts.index)
user = c2.selectbox("User", users, key="rec_user",
                    format_func=lambda u: f"{visible(u)} ({counts.loc[u, 'views']} views, {counts.loc[u, 'held_out']} held out)")
k = c3.number_input("Top K", 1, 50, 10, key="rec_k")

nc = run.nc
mode = run.config.video_score
top = recommend(row["path"], done_at, str(user), int(k))
if top.empty:
    st.info("This user has seen every video of the dataset in training: nothing left to recommend.")
    st.stop()
clip_cols = [f"p_clip_{c}" for c in range(nc)]
actual = R.heldout_views(full_log, str(user), nc)
act_by_video = {r[S.VIDEO]: r for _, r in actual.iterrows()} if len(actual) else {}

u_kpis = kpis(full_log[full_log[S.USER] == str(user)])
m = st.columns(4)
m[0].metric("Views by this user", f"{u_kpis['views']:,}")
m[1].metric("Full-view share", f"{u_kpis['full_view_share']:.0%}")
m[2].metric("Candidate videos", f"{len(run.candidates(str(user))):,}", help="Videos the user did not see in training rows.")
m[3].metric("Held-out views", f"{len(actual):,}", help="Validation and test views: we know what the user did.")

top["what the user did"] = [R.outcome_text(act_by_video.get(v)) for v in top[S.VIDEO]]
st.subheader(f"Top {len(top)} videos for user {md_escape(user)}")
st.caption(f"Video score = {mode} of the {nc} clip probabilities. "
           "'What the user did' is known only for videos they viewed in the validation or test period; "
           "the held-out check below shows all of those.")
note = duration_note(top, run.durations)
if note:
    st.info(note, icon=":material/straighten:")
st.dataframe(
    visible_frame(top[["rank", S.VIDEO, "p_full", S.DURATION, "what the user did"]]),
    hide_index=True, width="stretch",
    column_config={
        "p_full": st.column_config.ProgressColumn("P(full view)", min_value=0.0, max_value=1.0, format="%.3f"),
        S.DURATION: st.column_config.NumberColumn("duration (s)", format="%.1f"),
    },
)
st.download_button("Download recommendations (CSV)", to_csv_bytes(top), file_name=f"recommendations_{re.sub(r'[^A-Za-z0-9_-]+', '_', str(user))[:60]}.csv",
                   mime="text/csv")
if nc > 1:
    st.altair_chart(top_k_heatmap(top, clip_cols), width="stretch", key="rec_heatmap")

st.subheader("Held-out check: is the run right about this user?")
chk = heldout_check(row["path"], done_at, info.id, version, str(user), full_log)
if chk.empty:
    st.info("This user has no validation or test views, so nothing can be checked against real behaviour; "
            "users with held-out views are listed first in the user box.")
else:
    n_cand = int(chk["candidates"].iloc[0])
    full = chk[chk["full_view"]]
    skip = chk[~chk["full_view"]]
    parts = []
    if len(full):
        parts.append(f"the {len(full)} video(s) the user watched to the end rank at median **{full['predicted rank'].median():,.0f}**")
    if len(skip):
        parts.append(f"the {len(skip)} they skipped at median **{skip['predicted rank'].median():,.0f}**")
    st.markdown(f"Among the user's {n_cand:,} candidate videos, " + " and ".join(parts) + ". A good run ranks full "
                "views above skips (lower rank = recommended earlier).")
    st.dataframe(chk[[S.VIDEO, "part_name", "p_full", "predicted rank", "what the user did"]], hide_index=True,
                 width="stretch", column_config={
                     "part_name": st.column_config.TextColumn("period"),
                     "p_full": st.column_config.ProgressColumn("P(full view)", min_value=0.0, max_value=1.0,
                                                               format="%.3f"),
                     "predicted rank": st.column_config.NumberColumn(
                         help=f"Where the run ranks this video among the user's {n_cand:,} candidates (1 = first)."),
                 })

st.subheader("Why this score?")
vid = st.selectbox("Video", list(top[S.VIDEO]), key="rec_video",
                   format_func=lambda v: f"#{int(top.loc[top[S.VIDEO] == v, 'rank'].iloc[0])} {visible(v)}")
sel = top[top[S.VIDEO] == vid].iloc[0]
p_clip = sel[clip_cols].to_numpy(dtype="float64")
act = act_by_video.get(vid)
left, right = st.columns(2)
with left:
    att = attributor(row["path"], done_at)
    if att is None:
        st.info("This run blends several models (an ensemble), so its score has no single split into parts.")
    else:
        out = R.explain_score(run, att, str(user), str(vid))
        st.altair_chart(attribution_chart(out, str(vid)), width="stretch", key="rec_attribution")
        st.markdown(attribution_sentence(out))
        st.caption("Each part is swapped between this video and every candidate of the user, clip position by clip "
                   "position, in every combination (Shapley values); the parts add up exactly to the difference. "
                   + " ".join(f"**{PART_TITLES[p]}**: {PART_HELP[p]}" for p in PARTS))
with right:
    st.altair_chart(clip_chart(p_clip, float(sel[S.DURATION]), mode, act,
                               f"Predicted per-clip curve, video {vid} (P(full view) {sel['p_full']:.3f})"),
                    width="stretch", key="rec_clip")
    st.caption("Bars: probability of not skipping each clip once it is reached (red: the lowest). "
               "Line: probability of still watching after each clip (their running product). "
               f"What the user did: **{R.outcome_text(act)}**.")
if info.videos_dir is not None:
    files = sorted(f for f in Path(info.videos_dir).iterdir()  # exact stem match: no glob on an id
                   if f.is_file() and f.stem == str(vid) and f.suffix.lower() in (".webm", ".mp4"))
    if files:
        with st.expander("Play the video from its weakest clip"):
            start = int(np.argmin(p_clip) * float(sel[S.DURATION]) / nc)
            st.video(str(files[0]), start_time=start)

baselines_section(info, version, log, full_log, row, f"{row['model']} N_c={row['nc']}, seed {row['seed']}", str(user), int(k))
