"""Recommend: top-K videos for a user from a finished run, each with its predicted per-clip
not-skip curve next to what the user actually did, and the clips that drive the score."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app.components.baseline_curves import baselines_section
from app.components.data import dataset_picker, dataset_version, md_escape, workspace
from app.components.runs import unusable_runs_notice
from frame_core.common import schema as S
from frame_core.common.display import visible, visible_frame
from frame_core.common.errors import InputError
from frame_core.common.safe_csv import to_csv_bytes
from frame_core.evaluation import run_analysis as A
from frame_core.runs import finished_at
from frame_core.services import engine as E
from frame_core.services import recommend as R
from frame_core.services.analytics import kpis


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def load_model(path: str, done_mtime: float):
    """A loaded run (torch model + maps); at most two kept in memory."""
    return E.load_run(Path(path))


@st.cache_data(max_entries=4, show_spinner=False)
def dataset_split(ds_id: str, version: str, _log: pd.DataFrame) -> pd.DataFrame:
    """The log with its split part (cached per dataset version)."""
    return R.split_log(_log)


@st.cache_data(max_entries=16, show_spinner="Scoring candidate videos…")
def recommend(run_path: str, done_mtime: float, user: str, k: int) -> pd.DataFrame:
    """The run's top-k for the user (every video not seen in training is scored)."""
    return load_model(run_path, done_mtime).recommend(user, k)


def esc(text) -> str:
    """Ids from an uploaded log, made plain text for Plotly (which renders a little HTML)."""
    return visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip_figure(p_clip: np.ndarray, duration: float, mode: str, actual, title: str) -> go.Figure:
    nc = len(p_clip)
    starts = np.arange(nc) * duration / nc
    labels = [f"clip {c}<br>{s:.1f}–{s + duration / nc:.1f} s" for c, s in enumerate(starts)]
    weakest = int(np.argmin(p_clip))
    colors = ["#ef553b" if c == weakest else "#636efa" for c in range(nc)]
    fig = go.Figure(go.Bar(x=list(range(nc)), y=p_clip, marker_color=colors, name="P(not skip clip | reached)",
                           hovertext=labels, hovertemplate="%{hovertext}<br>P(not skip) %{y:.3f}<extra></extra>"))
    surv = np.cumprod(p_clip)
    fig.add_trace(go.Scatter(x=list(range(nc)), y=surv, mode="lines+markers", name="P(still watching after clip)",
                             line={"color": "#00a67e"}))
    if actual is not None:
        if actual["full_view"]:
            fig.add_annotation(x=nc - 1, y=1.05, text="user watched to the end", showarrow=False,
                               font={"color": "#00a67e"})
        else:
            k = int(actual["skip_clip"])
            fig.add_vline(x=k, line_dash="dash", line_color="black")
            fig.add_annotation(x=k, y=1.05, text=f"user left here ({actual[S.PLAY]:.1f} s)", showarrow=False)
    fig.update_layout(title=title, xaxis_title=f"clip (each {duration / nc:.1f} s of a {duration:.1f} s video)",
                      yaxis_title="probability", height=380, legend={"orientation": "h", "y": -0.3},
                      margin={"t": 60})
    fig.update_xaxes(tickvals=list(range(nc)))
    fig.update_yaxes(range=[0, 1.12])
    return fig


def contribution_figure(contrib: pd.DataFrame, mode: str) -> go.Figure:
    weakest = int(contrib.loc[contrib["rank"] == 1, "clip"].iloc[0])
    unit = "log-probability (nats)" if mode == "product" else "probability"
    fig = go.Figure(go.Bar(x=contrib["clip"], y=contrib["contribution"],
                           marker_color=["#ef553b" if c == weakest else "#9aa0f5" for c in contrib["clip"]],
                           customdata=contrib["score_without"],
                           hovertemplate="clip %{x}<br>contribution %{y:.3f}<br>score without it %{customdata:.3f}"
                                         "<extra></extra>"))
    what = "log p_c" if mode == "product" else "score − mean of other clips"
    fig.update_layout(title=f"Which clips drive the score (leave one clip out: {what})",
                      xaxis_title="clip", yaxis_title=f"contribution ({unit})", height=380)
    fig.update_xaxes(tickvals=list(contrib["clip"]))
    return fig


def heatmap_figure(top: pd.DataFrame, clip_cols: list[str]) -> go.Figure:
    z = top[clip_cols].to_numpy()
    y = [f"#{i + 1} {esc(v)}" for i, v in enumerate(top[S.VIDEO])]
    lo = float(np.floor(np.nanmin(z) * 10) / 10) if z.size else 0.0  # keep contrast among high values
    fig = go.Figure(go.Heatmap(z=z, x=list(range(len(clip_cols))), y=y, colorscale="RdYlGn", zmin=min(lo, 0.9), zmax=1,
                               colorbar={"title": "P(not skip)"},
                               hovertemplate="%{y}<br>clip %{x}: %{z:.3f}<extra></extra>"))
    fig.update_layout(title="Predicted not-skip probability per clip, top-K videos (colour scale starts at "
                            f"{min(lo, 0.9):.1f})", xaxis_title="clip",
                      yaxis_title="recommended video (rank)", height=max(260, 26 * len(top) + 120))
    fig.update_yaxes(autorange="reversed", type="category")  # labels like "#1 123" are not numbers
    fig.update_xaxes(tickvals=list(range(len(clip_cols))))
    return fig


# ------------------------------------------------------------------------------ page
st.title("Recommend")
st.caption("Pick a finished run and a user: the run scores every video the user did not see in training "
           "and ranks them by the predicted probability of a full view.")
info, log = dataset_picker()
if info is None or log is None:
    st.stop()
if len(log) == 0:
    st.warning("This dataset has no usable rows.")
    st.stop()

runs_dir = workspace().runs_dir
runs = E.list_finished_runs(runs_dir)
unusable_runs_notice(runs_dir, info.id, key="rec_unusable")
runs = runs[runs["dataset"].astype(str) == info.id] if len(runs) else runs
if runs.empty:
    st.info(f"No finished run on **{md_escape(info.name)}** yet: train one on the Train page (or run the fine vs coarse "
            "experiment on the Compare page).")
    st.page_link("app_pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

runs = runs.sort_values(["auc"], ascending=False, na_position="last").reset_index(drop=True)
labels = {r["run_id"]: (f"{r['model']} N_c={r['nc']}{'' if r['nc'] == 1 else ', ' + str(r['policy'])}, "
                        f"{r['embeddings']} inputs, seed {r['seed']}, test AUC {r['auc']:.3f} · {r['run_id'][-8:]}")
          for _, r in runs.iterrows()}
c1, c2, c3 = st.columns([3, 2, 1])
run_id = c1.selectbox("Run", list(labels), format_func=labels.get, key="rec_run")
row = runs[runs["run_id"] == run_id].iloc[0]
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

top["weakest clip"] = top[clip_cols].to_numpy().argmin(axis=1)
top["P(weakest clip)"] = top[clip_cols].to_numpy().min(axis=1)
top["what the user did"] = [R.outcome_text(act_by_video.get(v)) for v in top[S.VIDEO]]
st.subheader(f"Top {len(top)} videos for user {md_escape(user)}")
st.caption(f"Video score = {mode} of the {nc} clip probabilities. "
           "'What the user did' is known only for videos they viewed in the validation or test period.")
st.dataframe(
    visible_frame(top[["rank", S.VIDEO, "p_full", S.DURATION, "weakest clip", "P(weakest clip)", "what the user did"]]),
    hide_index=True, width="stretch",
    column_config={
        "p_full": st.column_config.ProgressColumn("P(full view)", min_value=0.0, max_value=1.0, format="%.3f"),
        S.DURATION: st.column_config.NumberColumn("duration (s)", format="%.1f"),
        "P(weakest clip)": st.column_config.NumberColumn(format="%.3f"),
    },
)
st.download_button("Download recommendations (CSV)", to_csv_bytes(top), file_name=f"recommendations_{re.sub(r'[^A-Za-z0-9_-]+', '_', str(user))[:60]}.csv",
                   mime="text/csv")
if nc > 1:
    st.plotly_chart(heatmap_figure(top, clip_cols), width="stretch", key="rec_heatmap")

st.subheader("Why this score?")
vid = st.selectbox("Video", list(top[S.VIDEO]), key="rec_video",
                   format_func=lambda v: f"#{int(top.loc[top[S.VIDEO] == v, 'rank'].iloc[0])} {visible(v)}")
sel = top[top[S.VIDEO] == vid].iloc[0]
p_clip = sel[clip_cols].to_numpy(dtype="float64")
act = act_by_video.get(vid)
left, right = st.columns(2)
with left:
    st.plotly_chart(clip_figure(p_clip, float(sel[S.DURATION]), mode, act,
                                f"Predicted per-clip curve, video {esc(vid)} (P(full view) {sel['p_full']:.3f})"),
                    width="stretch", key="rec_clip")
    st.caption("Bars: probability of not skipping each clip once it is reached (red: the weakest clip). "
               "Line: probability of still watching after each clip (their running product). "
               f"What the user did: **{R.outcome_text(act)}**.")
with right:
    if nc > 1:
        contrib = A.clip_contributions(p_clip, mode)
        st.plotly_chart(contribution_figure(contrib, mode), width="stretch", key="rec_contrib")
        w = contrib.sort_values("rank").iloc[0]
        span = float(sel[S.DURATION]) / nc
        st.markdown(
            f"Clip **{int(w['clip'])}** ({w['clip'] * span:.1f}–{(w['clip'] + 1) * span:.1f} s) pulls the score down "
            f"most: P(not skip) = {w['p_clip']:.3f}; without it the video score would be "
            f"{w['score_without']:.3f} instead of {sel['p_full']:.3f}."
        )
    else:
        st.info("This is a coarse run (N_c = 1): the whole video is one clip, so there is no clip to single out.")
if info.videos_dir is not None:
    files = sorted(f for f in Path(info.videos_dir).iterdir()  # exact stem match: no glob on an id
                   if f.is_file() and f.stem == str(vid) and f.suffix.lower() in (".webm", ".mp4"))
    if files:
        with st.expander("Play the video from its weakest clip"):
            start = int(np.argmin(p_clip) * float(sel[S.DURATION]) / nc)
            st.video(str(files[0]), start_time=start)

baselines_section(info, version, log, full_log, row, f"{row['model']} N_c={row['nc']}, seed {row['seed']}", str(user), int(k))
