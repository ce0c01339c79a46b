"""What the Compare page shows about a dataset's finished runs, computed once per server
process for every session (README "The app under load").

Each function is keyed by the runs' stamp (:func:`app.components.runs.runs_stamp`: any run
that finishes, is re-trained, deleted or rewritten is a new key) and the dataset, and held in
``st.cache_resource``: every concurrent session reads the same tables, verdicts and figures
instead of rebuilding them (``st.cache_data`` would pickle each table on every hit). Values are
shared and read-only: tables are handed out as shallow copies
(:func:`app.components.data.shared`, copy-on-write), figures are only serialised by
``st.plotly_chart``, which does not change them.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app.components.compare_charts import ablation_figure
from app.components.data import shared
from app.components.runs import finished_runs, runs_stamp
from app.components.verdicts import predictions
from frame_core.evaluation import metrics as M
from frame_core.evaluation import run_analysis as A
from frame_core.runs import finished_at
from frame_core.services import estimates as ES
from frame_core.services import run_tables as T
from frame_core.services import run_verdicts as RV

RAW_COLS = ["run_id", "created", "dataset", "model", "nc", "policy", "embeddings", "video_score", "seed", "epochs",
            "emb_dim", "lr", "setting", *M.METRIC_KEYS, "val_auc", "skip_hit@1", "best_epoch", "train_seconds"]


def dataset_runs(runs_dir, ds_id: str | None) -> pd.DataFrame:
    """The finished runs of one dataset (all runs when ``ds_id`` is None)."""
    runs = finished_runs(runs_dir)
    if ds_id is None or runs.empty:
        return runs
    return runs[runs["dataset"].astype(str) == ds_id].reset_index(drop=True)


@st.cache_resource(max_entries=16, show_spinner="Computing verdicts (bootstrap over test users)…")
def _summary(runs_dir: str, stamp: tuple, ds_id: str, facts) -> dict:
    runs = dataset_runs(runs_dir, ds_id)
    agg, disp = T.summary_table(runs)
    ver = RV.summary_verdicts(runs, agg, list(T.GROUP), predictions, facts)
    raw = runs[[c for c in RAW_COLS if c in runs.columns]]
    best_frame, coarse = T.frame_and_coarse(runs)
    return {"agg": agg, "disp": T.with_verdicts(disp, agg, ver), "verdicts": ver, "raw": raw,
            "raw_display": T.raw_display(raw), "labels": {r["run_id"]: T.run_label(r) for _, r in runs.iterrows()},
            "best_frame": best_frame, "coarse": coarse}


def summary(runs_dir, ds_id: str, facts) -> dict:
    """The runs table of a dataset with its verdicts (``agg``, ``disp``, ``verdicts``), the raw
    runs (``raw``, ``raw_display``), run labels and (``best_frame``, ``coarse``) runs; ``facts``
    (:func:`app.components.verdicts.data_facts`) is part of the key."""
    out = _summary(str(runs_dir), runs_stamp(runs_dir), ds_id, facts)
    return {k: shared(v) if isinstance(v, pd.DataFrame) else v for k, v in out.items()}


@st.cache_resource(max_entries=32, show_spinner=False)
def _ablation(runs_dir: str, stamp: tuple, ds_id: str, metric: str) -> go.Figure | None:
    return ablation_figure(dataset_runs(runs_dir, ds_id), metric)


def ablation(runs_dir, ds_id: str, metric: str) -> go.Figure | None:
    """The N_c ablation figure (:func:`app.components.compare_charts.ablation_figure`)."""
    return _ablation(str(runs_dir), runs_stamp(runs_dir), ds_id, metric)


@st.cache_resource(max_entries=32, show_spinner="Comparing the runs user by user…")
def _per_user(path_a: str, done_a: float, path_b: str, done_b: float, metric: str) -> pd.DataFrame:
    return A.per_user_comparison(predictions(path_a), predictions(path_b), metric)


def per_user(path_a, path_b, metric: str) -> pd.DataFrame:
    """Per-user wins and losses of run A against run B
    (:func:`frame_core.evaluation.run_analysis.per_user_comparison`; its errors propagate)."""
    return shared(_per_user(str(path_a), finished_at(path_a) or 0.0, str(path_b), finished_at(path_b) or 0.0, metric))


@st.cache_resource(max_entries=16, show_spinner=False)
def _estimate(runs_dir: str, stamp: tuple, rows: int, specs: tuple):
    return ES.estimate_jobs(runs_dir, rows, list(specs))


def estimate(runs_dir, rows: int, specs: list) -> ES.Estimate | None:
    """:func:`frame_core.services.estimates.estimate_jobs`, recomputed when a run finishes."""
    return _estimate(str(runs_dir), runs_stamp(runs_dir), int(rows), tuple(specs))
