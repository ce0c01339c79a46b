"""UI side of background jobs (engine side: :mod:`frame_core.services.jobs.queue`).

- :func:`job_queue` is the workspace's queue; every page reads job state from disk through it,
  so a browser refresh or a second session sees the same jobs.
- :func:`pump` starts the next queued job when none runs and keeps the worker's ``Popen`` in a
  ``st.cache_resource`` registry (this server process only) so finished workers are reaped.
- :func:`progress_frames`, :func:`loss_figure`, :func:`auc_figure` turn a job's
  ``progress.jsonl`` events into tables and Plotly figures; :func:`job_progress` gives the
  progress-bar fraction and its caption.
"""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app.components.data import workspace
from frame_core.services.jobs import CANCELLED, DONE, FAILED, QUEUED, RUNNING, Job, JobQueue

POLL_SECONDS = 1.5
STATUS_ICONS = {QUEUED: ":material/schedule:", RUNNING: ":material/play_circle:", DONE: ":material/check_circle:",
                FAILED: ":material/error:", CANCELLED: ":material/stop_circle:"}


@st.cache_resource(max_entries=4)
def _queue_for(root: str) -> JobQueue:
    return JobQueue(root).ensure()


def job_queue() -> JobQueue:
    """The job queue of the app's workspace."""
    return _queue_for(str(workspace().root))


@st.cache_resource
def _registry() -> dict:
    """Popen handles of the workers this server process started (reaped when they exit)."""
    return {"lock": threading.Lock(), "procs": {}}


def pump() -> None:
    """Reap finished workers of this process and start the next queued job if none runs."""
    reg = _registry()
    with reg["lock"]:
        for pid, proc in list(reg["procs"].items()):
            if proc.poll() is not None:
                del reg["procs"][pid]
        proc = job_queue().pump()
        if proc is not None:
            reg["procs"][proc.pid] = proc


def refresh_jobs(kinds: tuple[str, ...] | None = None, group: str | None = None) -> list[Job]:
    """Reconciled job list (oldest first) after pumping the queue."""
    pump()
    q = job_queue()
    q.refresh()
    return q.list(group=group, kinds=kinds)


# ------------------------------------------------------------------------------ formatting
def fmt_time(ts: float | None) -> str:
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def status_text(job: Job, icon: bool = True) -> str:
    """Status for Markdown (with a Material icon) or for a table cell (``icon=False``)."""
    text = f"{STATUS_ICONS.get(job.status, '')} {job.status}" if icon else job.status
    if job.status == RUNNING and job.cancel_requested:
        text += " (stopping…)"
    return text


def jobs_table(jobs: list[Job]) -> pd.DataFrame:
    """One row per job for ``st.dataframe`` (newest first)."""
    rows = []
    queued = [j.id for j in jobs if j.status == QUEUED]
    for j in reversed(jobs):
        p = j.params or {}
        cfg = p.get("config") or {}
        r = j.result or {}
        status = status_text(j, icon=False)
        if j.id in queued:
            status += f" (#{queued.index(j.id) + 1} in line)"
        rows.append({
            "job": j.id,
            "label": j.label,
            "status": status,
            "dataset": p.get("dataset_id"),
            "N_c": cfg.get("nc"),
            "policy": cfg.get("policy"),
            "seed": cfg.get("seed"),
            "created": fmt_time(j.created),
            "run time": fmt_duration(j.elapsed()),
            "test AUC": r.get("auc"),
            "message": j.error or "",
        })
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ progress
def progress_frames(events: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(step events, epoch events) as DataFrames. Step rows get ``x`` = fractional epoch."""
    steps = [e for e in events if e.get("event") == "step" and e.get("loss") is not None]
    epochs = [e for e in events if e.get("event") == "epoch"]
    sdf = pd.DataFrame(steps)
    if len(sdf):
        n = pd.to_numeric(sdf.get("n_steps"), errors="coerce").fillna(1).clip(lower=1)
        sdf["x"] = pd.to_numeric(sdf["epoch"], errors="coerce") - 1 + pd.to_numeric(sdf["step"], errors="coerce") / n
    edf = pd.DataFrame(epochs)
    return sdf, edf


def job_progress(job: Job, events: list[dict]) -> tuple[float, str]:
    """Fraction done in [0, 1] and a one-line caption for the progress bar."""
    if job.status == DONE:
        return 1.0, "finished"
    if job.status == QUEUED:
        return 0.0, "waiting in the queue"
    if not events:
        return 0.0, "starting the worker…" if job.status == RUNNING else job.status
    last = events[-1]
    cfg = (job.params or {}).get("config") or {}
    n_epochs = last.get("n_epochs") or last.get("epochs") or cfg.get("epochs") or 1
    if last.get("event") == "status":
        total, done = last.get("total") or 0, last.get("done") or 0
        frac = done / total if total else 0.0
        return min(1.0, frac) * 0.05, str(last.get("message", "preparing"))
    if last.get("event") == "prepare":
        return 0.0, "preparing labels and graphs"
    epoch = last.get("epoch") or 0
    if last.get("event") == "step":
        frac = (epoch - 1 + (last.get("step") or 0) / max(1, last.get("n_steps") or 1)) / max(1, n_epochs)
        caption = f"epoch {epoch} of at most {n_epochs}, step {last.get('step')}/{last.get('n_steps')}"
    else:
        frac = epoch / max(1, n_epochs)
        caption = f"epoch {epoch} of at most {n_epochs} done"
        if last.get("val_auc") is not None:
            caption += f", validation AUC {last['val_auc']:.4f}"
    if job.status in (FAILED, CANCELLED):
        caption = f"{job.status} at {caption}"
    return float(min(max(frac, 0.0), 1.0)), caption


def loss_figure(events: list[dict], title: str = "Training loss") -> go.Figure | None:
    sdf, edf = progress_frames(events)
    if not len(sdf) and not len(edf):
        return None
    fig = go.Figure()
    if len(sdf):
        fig.add_trace(go.Scatter(x=sdf["x"], y=sdf["loss"], mode="lines", name="per step",
                                 line={"width": 1, "color": "rgba(99,110,250,0.45)"}))
    if len(edf) and "loss" in edf:
        fig.add_trace(go.Scatter(x=edf["epoch"], y=edf["loss"], mode="lines+markers", name="epoch mean",
                                 line={"color": "#636efa", "width": 2}))
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title="loss (BCE, nats)", height=320,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10}, legend={"orientation": "h", "y": -0.25})
    return fig


def auc_figure(events: list[dict], title: str = "Validation AUC per epoch") -> go.Figure | None:
    _, edf = progress_frames(events)
    if not len(edf) or "val_auc" not in edf or edf["val_auc"].dropna().empty:
        return None
    fig = go.Figure(go.Scatter(x=edf["epoch"], y=edf["val_auc"], mode="lines+markers", name="validation AUC",
                               line={"color": "#00a67e", "width": 2}))
    best = edf.loc[edf["val_auc"].idxmax()]
    fig.add_trace(go.Scatter(x=[best["epoch"]], y=[best["val_auc"]], mode="markers", name="best epoch",
                             marker={"size": 13, "symbol": "star", "color": "#ef553b"}))
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title="validation AUC (video level)", height=320,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10}, legend={"orientation": "h", "y": -0.25})
    fig.update_xaxes(dtick=1 if len(edf) <= 15 else None)
    return fig
