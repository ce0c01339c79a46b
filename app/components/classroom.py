"""The one-click classroom experiment on the Compare page: FRAME (N_c = 8) against the coarse
model (N_c = 1), 3 seeds each, as background jobs; live progress, results so far and the
verdict with its uncertainty (:mod:`app.components.verdicts`)."""

from __future__ import annotations

import datetime as dt
import uuid

import streamlit as st

from app.components import run_views as RW
from app.components.compare_charts import experiment_chart
from app.components.data import dataset_version, md_escape, workspace
from app.components.jobs import POLL_SECONDS, fmt_duration, job_progress, job_queue, pump, refresh_jobs
from app.components.run_link import link_to_recommend
from app.components.verdicts import data_facts, group_verdict, show_verdict
from frame_core.common.errors import InputError
from frame_core.evaluation import metrics as M
from frame_core.evaluation.stats import aggregate_runs, mean_std_table
from frame_core.model.config import FrameConfig
from frame_core.runs import finished_at
from frame_core.services import run_tables as T
from frame_core.services.jobs import DONE

METRIC_KEYS = list(M.METRIC_KEYS)


def start_experiment(info) -> None:
    group = f"{T.CLASSROOM_PREFIX}{dt.datetime.now(dt.UTC).strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    specs = T.classroom_specs(info.id, bool(info.has_videos))
    try:
        job_queue().submit_many(specs, group=group)
    except InputError as exc:
        st.error(f"Not queued: {md_escape(exc)}")
        return
    pump()
    st.session_state["fvc_group"] = group
    st.toast("Queued 6 training jobs (N_c = 8 and N_c = 1, seeds 0–2).", icon=":material/schedule:")


def experiment_verdict(done, facts) -> None:
    """The verdict of the finished N_c = 8 runs against the finished N_c = 1 runs."""
    q = job_queue()
    sides = {}
    for nc in T.CLASSROOM_NCS:
        js = [j for j in done if (j.params.get("config") or {}).get("nc") == nc]
        sides[nc] = (tuple(str(q.output_dir(j)) for j in js),
                     tuple(int((j.params.get("config") or {}).get("seed", 0)) for j in js))
    (pa, sa), (pb, sb) = sides[T.CLASSROOM_NCS[0]], sides[T.CLASSROOM_NCS[1]]
    if not pa or not pb:
        st.caption("The verdict appears once both models have a finished run.")
        return
    stamp = tuple(finished_at(p) or 0.0 for p in pa + pb)
    v = group_verdict(pa, sa, pb, sb, stamp)
    show_verdict(v, facts, "FRAME (N_c = 8)", "the coarse model (N_c = 1)")
    if v is not None and len(done) < 2 * len(T.CLASSROOM_SEEDS):
        st.caption("Verdict so far: it is recomputed as the remaining runs finish.")


def experiment_status(group: str, facts=None) -> bool:
    """Progress and results so far of one fine-vs-coarse group; True while some job is active."""
    jobs = refresh_jobs(group=group)
    if not jobs:
        st.info("That experiment's jobs were removed.")
        return False
    done = [j for j in jobs if j.status == DONE]
    active = [j for j in jobs if j.active]
    ended_badly = [j for j in jobs if j.status in ("failed", "cancelled")]
    running = next((j for j in jobs if j.status == "running"), None)
    frac = (len(done) + len(ended_badly)) / len(jobs)
    if running is not None:
        f, cap = job_progress(running, job_queue().progress(running))
        frac += f / len(jobs)
        text = f"{len(done)} of {len(jobs)} runs finished; now {running.label.split('·')[-2].strip()}: {cap}"
    else:
        text = f"{len(done)} of {len(jobs)} runs finished"
    st.progress(min(1.0, frac), text=text)
    if ended_badly:
        st.warning(f"{len(ended_badly)} run(s) did not finish: "
                   + "; ".join(f"{j.label.split('·')[-2].strip()} seed {(j.params.get('config') or {}).get('seed')}: "
                               f"{j.status} ({md_escape(j.error or 'no message')})" for j in ended_badly[:3]))
    if done:
        experiment_verdict(done, facts)
        res = T.classroom_results(done)
        c1, c2 = st.columns([3, 2])
        with c1:
            st.altair_chart(experiment_chart(res), width="stretch", key=f"fvc_fig_{group}")
        with c2:
            agg = aggregate_runs(res, ["nc"], METRIC_KEYS).sort_values("nc", ascending=False)
            tbl = mean_std_table(agg, ["nc"], ["auc", "gauc", "logloss"]).rename(columns={"nc": "N_c", "n": "runs"})
            tbl["spread"] = ["single seed: no ± std" if n < 2 else f"± std over {n} seeds" for n in agg["n"]]
            st.dataframe(tbl, hide_index=True, width="stretch")
            means = agg.set_index("nc")["auc_mean"]
            if 8 in means.index and 1 in means.index:
                d = means[8] - means[1]
                st.metric("FRAME (N_c = 8) − coarse (N_c = 1), test AUC", f"{d:+.4f}",
                          help="Positive: FRAME scored higher on these runs. Whether that is more than noise is "
                               "the verdict above (its 95 % interval).")
            best = max(done, key=lambda j: (j.result or {}).get("auc") or 0.0)
            link_to_recommend(best.id, label="Recommend with the best run of this experiment")
    if active:
        st.button("Cancel this experiment", key=f"fvc_cancel_{group}", icon=":material/stop:",
                  on_click=job_queue().cancel_group, args=(group,))
    elif done:
        st.caption(f"Finished in {fmt_duration(sum(j.elapsed() or 0 for j in jobs))} of training time. "
                   "The runs are also in the tables below.")
    return bool(active)


@st.fragment(run_every=POLL_SECONDS)
def experiment_live(group: str, facts=None) -> None:
    if not experiment_status(group, facts):
        st.rerun()


def experiment_section(info) -> None:
    st.subheader("Classroom experiment: fine versus coarse")
    n_rows = 0 if info is None else int(info.rows)
    specs = [(nc, FrameConfig().epochs) for nc in T.CLASSROOM_NCS for _ in T.CLASSROOM_SEEDS]
    est = RW.estimate(workspace().runs_dir, n_rows, specs) if n_rows else None
    when = (f"{est.text} on this machine for this dataset ({est.basis})" if est is not None else
            "no time estimate yet: it appears after the first finished run on this machine")
    st.markdown(
        "One click trains **FRAME with N_c = 8** and the **coarse model N_c = 1** for 3 seeds each "
        f"(the engine's default settings, early stopping on validation AUC; {when}) on the selected dataset, "
        "in the background. Results and the verdict appear here as each run finishes."
    )
    groups = sorted({j.group for j in refresh_jobs(kinds=("train",))
                     if j.group and j.group.startswith(T.CLASSROOM_PREFIX)
                     and (info is None or (j.params or {}).get("dataset_id") == info.id)})
    label = "Run fine vs coarse (6 jobs" + (f", {est.text})" if est is not None else ")")
    if info is None:
        st.info("Pick a dataset in the sidebar to run the experiment.")
    elif st.button(label, type="primary", icon=":material/science:", key="fvc_start"):
        start_experiment(info)
        groups = sorted(set(groups) | {st.session_state["fvc_group"]})
    if not groups:
        return
    current = st.session_state.get("fvc_group")
    if current not in groups:
        current = groups[-1]
    if len(groups) > 1:
        current = st.selectbox("Experiment", groups[::-1], index=groups[::-1].index(current), key="fvc_pick")
    st.session_state["fvc_group"] = current
    facts = data_facts(info.id, dataset_version(info), bool(info.has_videos)) if info is not None else None
    if any(j.active for j in job_queue().list(group=current)):
        experiment_live(current, facts)
    else:
        experiment_status(current, facts)
