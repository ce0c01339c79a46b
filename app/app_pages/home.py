"""Home: what FRAME does, the pipeline picture, the dataset picker, KPI cards and the way on."""

from pathlib import Path

import numpy as np
import streamlit as st

from app.components.data import dataset_picker, dataset_version, md_escape
from app.components.explore import kpis

PIPELINE = Path(__file__).resolve().parents[2] / "assets" / "pipeline.svg"

st.title("FRAME Explorer")
st.markdown(
    "FRAME (SIGIR 2023) predicts the probability that a user watches a micro-video **to the end**. "
    "Instead of only asking *finished or skipped?*, it splits every video into N_c clips and learns "
    "from **where** each user left: the clip they left in becomes a negative label and the clips they "
    "watched through (or all clips of a full view) positive ones. Two user–clip graphs, one positive "
    "and one negative, feed a graph convolutional network whose two scores are fused into "
    "P(full view)."
)
if PIPELINE.exists():
    st.image(str(PIPELINE), width="stretch", caption="The FRAME pipeline, from views to P(full view).")

info, q = dataset_picker(load=False)
if q is not None and info is not None:
    st.subheader(f"Dataset: {md_escape(info.name)}")
    k = kpis(info.id, dataset_version(info))
    cols = st.columns(5)
    cols[0].metric("Users", f"{k['users']:,}", border=True)
    cols[1].metric("Videos", f"{k['videos']:,}", border=True)
    cols[2].metric("Views", f"{k['views']:,}", border=True)
    share = k["full_view_share"]
    med = k["median_watch_ratio"]
    cols[3].metric("Full-view share", f"{share:.1%}" if np.isfinite(share) else "–", border=True,
                   help="Share of views with playing_time ≥ duration_time (watch ratio r ≥ 1; loops count).")
    cols[4].metric("Median watch ratio", f"{med:.2f}" if np.isfinite(med) else "–", border=True,
                   help="Median of r = playing_time / duration_time over all views (r > 1: the video looped).")
    notes = []
    desc = info.manifest.get("description") if isinstance(info.manifest, dict) else None
    if desc:
        notes.append(md_escape(desc))
    notes.append("Video files: " + ("yes, frames and playback in the Skip Explorer." if info.has_videos
                                    else "none, so the pages show statistics only."))
    st.caption(" ".join(notes))

st.subheader("Where to go next")
LINKS = [
    ("app_pages/data.py", "Data", ":material/upload_file:", "upload a log and videos, map columns, read the validation report"),
    ("app_pages/skip_explorer.py", "Skip Explorer", ":material/timeline:",
     "retention curves, where views end per clip, heatmap across videos, one user's views"),
    ("app_pages/graph_inspector.py", "Graph Inspector", ":material/hub:",
     "the positive and negative user–clip graphs around one user or video, and the toy example"),
    ("app_pages/train.py", "Train", ":material/model_training:", "train FRAME in the background with live curves"),
    ("app_pages/compare.py", "Compare", ":material/leaderboard:", "FRAME against the coarse model and baselines"),
    ("app_pages/recommend.py", "Recommend", ":material/recommend:", "top-K videos for a user with per-clip curves"),
    ("app_pages/learn.py", "Learn", ":material/school:", "a guided walk through the method, with formulas, on your data"),
]
for page, label, icon, line in LINKS:
    c1, c2 = st.columns([1, 4], vertical_alignment="center")
    with c1:
        st.page_link(page, label=label, icon=icon)
    c2.write(line)
