"""The run the user is looking at, carried between pages in the URL (``?run=<run folder>``).

Train and Compare link to Recommend with ``st.page_link(..., query_params={"run": id})``;
Recommend reads the parameter once per value (:func:`apply_run_param`), switches the sidebar
dataset to the run's dataset, preselects the run, and writes the run it shows back into the
URL, so a reload or a shared link opens the same run.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components.data import DATASET_KEY

RUN_PARAM = "run"
RECOMMEND_PAGE = "app_pages/recommend.py"
RUN_KEY = "rec_run"
_APPLIED = "_run_param_applied"


def link_to_recommend(run_id: str, label: str = "Recommend with this run", key: str | None = None) -> None:
    """A page link to Recommend that opens ``run_id``."""
    st.page_link(RECOMMEND_PAGE, label=label, icon=":material/recommend:", query_params={RUN_PARAM: str(run_id)},
                 help="Opens the Recommend page on this run.")


def apply_run_param(runs: pd.DataFrame) -> str | None:
    """Before the dataset picker: when the URL names a finished run not yet applied, select its
    dataset and the run. Returns a warning text when the URL names no finished run."""
    wanted = st.query_params.get(RUN_PARAM)
    if not wanted or st.session_state.get(_APPLIED) == wanted:
        return None
    st.session_state[_APPLIED] = wanted
    hit = runs[runs["run_id"].astype(str) == wanted] if len(runs) else runs
    if hit.empty:
        return "The linked run is not a finished run in this workspace (any more); pick a run below."
    ds = hit.iloc[0]["dataset"]
    if isinstance(ds, str) and ds:
        st.session_state[DATASET_KEY] = ds
        st.session_state["dataset_picker"] = ds
    st.session_state[RUN_KEY] = wanted
    return None


def remember_run(run_id: str) -> None:
    """Write the run shown into the URL (and mark it applied, so it is not re-applied)."""
    st.session_state[_APPLIED] = str(run_id)
    if st.query_params.get(RUN_PARAM) != str(run_id):
        st.query_params[RUN_PARAM] = str(run_id)
