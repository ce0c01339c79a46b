"""The verdict on the Compare page: cached test predictions of run folders, cached verdicts
(:mod:`frame_core.services.run_verdicts`) and the prominent verdict box."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app.components.data import md_escape, queries, shared
from frame_core.common.errors import InputError
from frame_core.evaluation import verdict as V
from frame_core.runs import finished_at
from frame_core.services import engine as E
from frame_core.services import run_verdicts as RV


@st.cache_resource(max_entries=64, show_spinner=False)
def load_predictions(path: str, mtime: float) -> pd.DataFrame:
    """Held once per server process (read-only, handed out through :func:`predictions`)."""
    return E.read_test_predictions(Path(path))


def predictions(run_path) -> pd.DataFrame:
    """A finished run's test predictions (cached by folder and finish time; the caller's own
    shallow copy, :func:`app.components.data.shared`)."""
    return shared(load_predictions(str(Path(run_path)), finished_at(run_path) or 0.0))


@st.cache_data(max_entries=8, show_spinner=False)
def data_facts(ds_id: str, version: str, visual: bool) -> V.DataFacts | None:
    """What the dataset says about where clips can help (new test videos, content features),
    from its out-of-core summaries (the whole log is never loaded)."""
    try:
        share, med, users = queries(ds_id, version).data_facts()
    except InputError:
        return None
    return V.DataFacts(share, bool(visual), med, users)


@st.cache_data(max_entries=32, show_spinner="Computing the verdict (bootstrap over test users)…")
def group_verdict(paths_a: tuple, seeds_a: tuple, paths_b: tuple, seeds_b: tuple, stamp: tuple) -> V.Verdict | None:
    """Verdict of runs A against runs B (run folders and their seeds); ``stamp`` (finish times)
    keys the cache."""
    a = pd.DataFrame({"path": list(paths_a), "seed": list(seeds_a)})
    b = pd.DataFrame({"path": list(paths_b), "seed": list(seeds_b)})
    return RV.group_verdict(a, b, predictions)


def show_verdict(v: V.Verdict | None, facts: V.DataFacts | None, name_a: str = "FRAME",
                 name_b: str = "the coarse model") -> None:
    """The verdict in one plain sentence, coloured by its outcome, with the likely reason."""
    if v is None:
        st.info("No verdict yet: it needs finished runs of both models whose test views have full views and skips.")
        return
    text = f"**{md_escape(V.verdict_sentence(v, name_a, name_b))}**"
    reason = V.likely_reason(v, facts)
    if reason:
        text += f"  \nLikely reason: {md_escape(reason)}"
    seeds = (f"{v.n_a} and {v.n_b} seeds" if not v.single_seed else
             "a single seed on at least one side, so training noise is not in the interval")
    text += (f"  \n*Paired bootstrap over {v.test_users:,} test users ({v.test_rows:,} shared test views), "
             f"{seeds}.*")
    box = {V.A_BETTER: st.success, V.B_BETTER: st.error, V.NO_CLEAR: st.info}[v.verdict]
    icon = {V.A_BETTER: ":material/check_circle:", V.B_BETTER: ":material/cancel:",
            V.NO_CLEAR: ":material/balance:"}[v.verdict]
    box(text, icon=icon)
