"""The Train page's "Tune" mode: queue an Optuna search as a background job, watch its trials,
read the best configuration and parameter importances, and train with the best configuration.
The search itself is :func:`frame_core.experiments.tune.run_tune` (through the job runner)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app.components.data import md_escape
from app.components.jobs import POLL_SECONDS, fmt_duration, job_queue, pump, refresh_jobs, status_text
from frame_core.common.errors import InputError
from frame_core.services import engine as E
from frame_core.services.jobs import DONE, FAILED

STATE_COLORS = {"COMPLETE": "#00a67e", "PRUNED": "#ffa15a", "FAIL": "#ef553b", "RUNNING": "#636efa"}


def trials_figure(trials: pd.DataFrame) -> go.Figure:
    """Validation AUC of each trial against the time it started, by state, with the best so far."""
    fig = go.Figure()
    t = trials.sort_values("started")
    for state, g in t.groupby("state"):
        fig.add_trace(go.Scatter(x=g["started"] / 60, y=g["value"], mode="markers", name=state.lower(),
                                 marker={"color": STATE_COLORS.get(state, "#999"), "size": 9},
                                 customdata=g["number"], hovertemplate="trial %{customdata}<br>%{x:.1f} min<br>"
                                                                        "val AUC %{y:.4f}<extra></extra>"))
    done = t[t["state"] == "COMPLETE"]
    if len(done):
        fig.add_trace(go.Scatter(x=done["started"] / 60, y=done["value"].cummax(), mode="lines", name="best so far",
                                 line={"color": "black", "shape": "hv", "dash": "dot"}))
    fig.update_layout(title="Tuning: validation AUC of each trial",
                      xaxis_title="minutes since the first trial started (pruned: last check)", yaxis_title="validation AUC",
                      height=380, legend={"orientation": "h", "y": -0.3})
    return fig


def importance_figure(importances: dict[str, float]) -> go.Figure:
    """Optuna's parameter importances (share of the variance of validation AUC), largest on top."""
    items = sorted(importances.items(), key=lambda kv: kv[1])
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h",
                           marker_color="#636efa", hovertemplate="%{y}: %{x:.2f}<extra></extra>"))
    fig.update_layout(title="Which switches mattered (parameter importance)", xaxis_title="importance (sums to 1)",
                      yaxis_title="switch", height=max(260, 28 * len(items) + 120))
    return fig


def tune_form(info) -> None:
    st.subheader("Tune FRAME automatically")
    st.markdown("Searches the switches that move AUC (edge exclusion, video score, label policy, both learning "
                "rates, embedding size, dropout, weight decay, λ, schedule, interaction) with Optuna, choosing "
                "on **validation** AUC only; weak trials are stopped early. The first trial is the default "
                "configuration, so the result is never worse than the defaults on validation.")
    with st.form("tune_form", border=True):
        c1, c2, c3 = st.columns(3)
        nc = c1.number_input("Clips per video, N_c", 1, 64, 8, key="tune_nc")
        minutes = c2.number_input("Budget (minutes)", 1, 240, 10, key="tune_minutes",
                                  help="Wall time of the whole search, including the final run.")
        options = ["visual clip features", "id embeddings"] if info.has_videos else ["id embeddings"]
        emb = c3.radio("Clip input embeddings", options, key="tune_emb")
        go_ = st.form_submit_button("Start tuning", type="primary", icon=":material/tune:",
                                    help="Runs in the background for the budget above, then trains the best configuration.")
    if go_:
        params = {"dataset_id": info.id, "nc": int(nc), "budget_s": float(minutes) * 60,
                  "visual": emb.startswith("visual")}
        try:
            job_queue().submit("tune", params, label=f"tune · {info.id} · N_c={int(nc)} · {int(minutes)} min")
        except InputError as exc:
            st.error(f"Not queued: {md_escape(exc)}")
            return
        pump()
        st.toast("Tuning queued; it runs after the jobs before it.", icon=":material/schedule:")


def _live_trials(events: list[dict]) -> pd.DataFrame:
    rows = [{"number": e["number"], "state": e["state"], "value": e.get("value"), "started": e.get("elapsed", 0.0)}
            for e in events if e.get("event") == "trial"]
    return pd.DataFrame(rows, columns=["number", "state", "value", "started"])


def _train_best(job, best: dict) -> None:
    cfg = dict(best["config"])
    cfg.pop("time_budget_s", None)
    label = f"{job.params.get('dataset_id')} · tuned (trial {best.get('trial')}) · N_c={cfg.get('nc')}"
    try:
        job_queue().submit("train", {"dataset_id": job.params.get("dataset_id"), "visual": bool(job.params.get("visual")),
                                     "config": cfg}, label=label)
    except InputError as exc:
        st.error(f"Not queued: {md_escape(exc)}")
        return
    pump()
    st.toast("Training with the best configuration queued (see Train mode).", icon=":material/schedule:")


def tune_detail(job) -> None:
    q = job_queue()
    st.markdown(f"**{md_escape(job.label or job.id)}** — {status_text(job)}")
    budget = float(job.params.get("budget_s", 600))
    if job.active:
        spent = job.elapsed() or 0.0
        st.progress(min(1.0, spent / budget), text=f"{fmt_duration(spent)} of {fmt_duration(budget)}")
        st.button("Cancel", key=f"tune_cancel_{job.id}", on_click=q.cancel, args=(job.id,), icon=":material/stop:")
        trials = _live_trials(q.progress(job))
        if len(trials):
            st.plotly_chart(trials_figure(trials), width="stretch", key=f"tune_live_{job.id}")
        else:
            st.caption("The first trial is running (the default configuration).")
        return
    if job.status == FAILED:
        st.error(f"Tuning failed: {md_escape(job.error or 'unknown error')}")
        return
    if job.status != DONE:
        st.warning(md_escape(job.error or job.status))
        return
    try:
        trials, importances, best = E.read_tuning(q.output_dir(job))
    except InputError as exc:
        st.warning(f"This tuning folder cannot be read: {md_escape(exc)}")
        return
    r = job.result or {}
    m = st.columns(4)
    m[0].metric("Trials", f"{len(trials)}", help=", ".join(f"{k.lower()} {v}" for k, v in (r.get("trials") or {}).items()))
    m[1].metric("Best validation AUC", f"{r.get('best_value', float('nan')):.4f}")
    m[2].metric("Its run: test AUC", "–" if r.get("test_auc") is None else f"{r['test_auc']:.4f}")
    m[3].metric("Best trial", f"#{r.get('best_trial')}")
    left, right = st.columns(2)
    left.plotly_chart(trials_figure(trials), width="stretch", key=f"tune_trials_{job.id}")
    if importances:
        right.plotly_chart(importance_figure(importances), width="stretch", key=f"tune_imp_{job.id}")
    else:
        right.caption("Parameter importances need at least four finished trials.")
    if best is not None:
        st.markdown("**Best configuration** (chosen on validation AUC)")
        params = {k: v for k, v in (r.get("best_params") or {}).items()}
        st.dataframe(pd.DataFrame({"switch": list(params), "value": [str(v) for v in params.values()]}),
                     hide_index=True, width="stretch")
        st.button("Train with the best configuration", type="primary", key=f"tune_train_{job.id}",
                  icon=":material/model_training:", on_click=_train_best, args=(job, best))


def tune_jobs() -> bool:
    """The tuning jobs section; True while one is queued or running."""
    jobs = refresh_jobs(kinds=("tune",))
    if not jobs:
        st.info("No tuning job yet.")
        return False
    by_id = {j.id: j for j in jobs}
    pick = st.selectbox("Tuning job", [j.id for j in reversed(jobs)], key="tune_pick",
                        format_func=lambda i: f"{by_id[i].label or i} ({by_id[i].status})")
    with st.container(border=True):
        tune_detail(by_id[pick])
    return any(j.active for j in jobs)


@st.fragment(run_every=POLL_SECONDS * 2)
def tune_live() -> None:
    if not tune_jobs():
        st.rerun()


def tune_section(info) -> None:
    if info is not None:
        tune_form(info)
    if any(j.active for j in refresh_jobs(kinds=("tune",))):
        tune_live()
    else:
        tune_jobs()
