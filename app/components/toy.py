"""The toy example (3 users × 4 clips), built live from a tiny hand-written log and shown step
by step. Used by the Graph Inspector and the Learn page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components.charts import matrix_figure
from app.components.data import md_escape
from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.data.labels import POLICIES
from frame_core.services.graph_views import TOY_DURATION, TOY_NC, ToySteps, toy_log, toy_steps


def toy_editor(key: str) -> ToySteps | None:
    """Editable toy log (playing times only) → every step. Shows an error and returns None for a
    bad edit (e.g. an emptied cell)."""
    st.markdown(
        f"One video **v1** of {TOY_DURATION:.0f} s, split into N_c = {TOY_NC} clips of "
        f"{TOY_DURATION / TOY_NC:.0f} s. Three users watched it once each. Edit the playing times "
        "to see every step change."
    )
    edited = st.data_editor(
        toy_log()[[S.USER, S.VIDEO, S.PLAY, S.DURATION]],
        key=key, hide_index=True, disabled=[S.USER, S.VIDEO, S.DURATION], width="content",
        column_config={
            S.PLAY: st.column_config.NumberColumn("playing_time (s)", min_value=0.0, max_value=200.0, step=0.5),
            S.DURATION: st.column_config.NumberColumn("duration_time (s)"),
        },
    )
    log = pd.DataFrame(edited).copy()
    log[S.TIMESTAMP] = range(1, len(log) + 1)
    try:
        return toy_steps(log)
    except InputError as exc:
        st.error(f"The toy log is not usable: {md_escape(exc)}")
        return None


def show_views(steps: ToySteps) -> None:
    st.markdown("**Step 1 · views → watch ratios → skip clip** (k = min(⌊r·N_c⌋, N_c − 1))")
    v = steps.views.copy()
    v["skip_clip"] = v["skip_clip"].astype("string").fillna("— (full view)")
    st.dataframe(
        v, hide_index=True, width="content",
        column_config={
            "watch_ratio": st.column_config.NumberColumn("watch ratio r", format="%.2f"),
            S.PLAY: st.column_config.NumberColumn("playing_time (s)", format="%.1f"),
            S.DURATION: st.column_config.NumberColumn("duration_time (s)", format="%.1f"),
        },
    )


def show_labels(steps: ToySteps) -> None:
    st.markdown("**Step 2 · clip labels under both policies** (+ positive, − negative, blank unlabelled)")
    cols = st.columns(len(POLICIES))
    for col, policy in zip(cols, POLICIES):
        col.caption(f"policy `{policy}`")
        col.dataframe(steps.labels[policy], width="content")


def show_graphs(steps: ToySteps, policy: str, key: str = "toy") -> None:
    st.markdown(f"**Step 3 · R^P and R^N** (policy `{policy}`): 1 where the user has that label on the clip")
    c1, c2 = st.columns(2)
    c1.plotly_chart(matrix_figure(steps.RP[policy], "R^P (positive graph)", "Greens", ".0f", 0, 1), width="stretch",
                    key=f"{key}_rp")
    c2.plotly_chart(matrix_figure(steps.RN[policy], "R^N (negative graph)", "Reds", ".0f", 0, 1), width="stretch",
                    key=f"{key}_rn")


def show_normalised(steps: ToySteps, policy: str, key: str = "toy") -> None:
    st.markdown(
        "**Step 4 · normalised R̃**: symmetric D_u^-1/2 · R · D_c^-1/2 (default) and row D_u^-1 · R "
        "(degrees counted in R itself; empty rows and columns stay 0)"
    )
    for norm in ("symmetric", "row"):
        c1, c2 = st.columns(2)
        c1.plotly_chart(matrix_figure(steps.RP_norm[policy][norm], f"R̃^P, {norm}", "Greens", ".3f", 0, 1),
                        width="stretch", key=f"{key}_rpn_{norm}")
        c2.plotly_chart(matrix_figure(steps.RN_norm[policy][norm], f"R̃^N, {norm}", "Reds", ".3f", 0, 1),
                        width="stretch", key=f"{key}_rnn_{norm}")
