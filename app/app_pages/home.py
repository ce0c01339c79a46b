"""Home: what FRAME does, the dataset picker and the dataset's KPI cards."""

import numpy as np
import streamlit as st

from app.components.data import dataset_picker
from frame_core import schema as S

st.title("FRAME Explorer")
st.markdown(
    "FRAME predicts whether a user will watch a micro-video **to the end**. Instead of reducing "
    "a view to *finished or skipped*, it splits every video into N_c clips and uses **where** the "
    "user left: the clip they left in is a negative, clips of fully watched videos are positives. "
    "A graph convolutional network over positive and negative user–clip graphs learns what each "
    "user likes and dislikes inside videos."
)

info, log = dataset_picker()
if log is not None:
    r = log[S.PLAY].to_numpy() / log[S.DURATION].to_numpy()
    cols = st.columns(5)
    cols[0].metric("Users", f"{log[S.USER].nunique():,}")
    cols[1].metric("Videos", f"{log[S.VIDEO].nunique():,}")
    cols[2].metric("Views", f"{len(log):,}")
    cols[3].metric("Full-view share", f"{np.mean(r >= 1):.1%}")
    cols[4].metric("Median watch ratio", f"{np.median(r):.2f}")
    st.caption(f"Dataset: {info.name}. A full view is playing_time ≥ duration_time (watch ratio r ≥ 1).")
