"""Simulate: a simulated A/B test of two (or more) finished runs on the synthetic world whose
users we know, or the replay estimator on a real log without a world. The work runs as a
background job (:mod:`frame_core.services.simulations`); the page shows the arms with 95 %
intervals, the gap closed toward the oracle, per-user A against B, and one user's served videos
on Skip Explorer's clip timeline."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app.components.data import dataset_picker, dataset_version, loaded_log, md_escape, workspace
from app.components.jobs import POLL_SECONDS, job_queue, pump, refresh_jobs
from app.components.simulate_charts import arms_figure, gap_figure, scatter_figure, served_strip
from frame_core.common.errors import InputError
from frame_core.data.prepare import log_sha256
from frame_core.runs import runs_signature
from frame_core.services import engine as E
from frame_core.services import simulations as SIM
from frame_core.services.jobs import DONE


@st.cache_data(max_entries=8, show_spinner=False)
def log_hash(ds_id: str, version: str, _log: pd.DataFrame) -> str:
    return log_sha256(_log)


@st.cache_data(max_entries=8, show_spinner=False)
def runs_of(runs_dir: str, signature: tuple) -> pd.DataFrame:
    """Finished runs (``signature`` keys the cache: it changes when a run folder does)."""
    return E.list_finished_runs(Path(runs_dir))


def dataset_runs(info) -> pd.DataFrame:
    """Finished runs trained on exactly this dataset's log (same data hash). The log is loaded
    to hash it only when some run could match: one stored under this dataset's id, or one whose
    source is no dataset of the workspace (a run trained from a file on the command line)."""
    sig = runs_signature(workspace().runs_dir)
    everything = runs_of(str(workspace().runs_dir), sig)
    known = {i.id for i in workspace().list_datasets()} - {info.id}
    if len(everything) == 0 or everything["dataset"].astype(str).isin(known).all():
        return everything.iloc[0:0]
    log = loaded_log(info)
    if log is None:
        return everything.iloc[0:0]
    sha = log_hash(info.id, dataset_version(info), log)
    return everything[everything["data_sha256"] == sha].reset_index(drop=True)


@st.cache_data(max_entries=8, show_spinner=False)
def simulation(folder: str, job_id: str) -> dict | None:
    return SIM.read_simulation(folder)


def launch_form(info, runs: pd.DataFrame, has_world: bool) -> None:
    labels = dict(zip(runs["run_id"], SIM.arm_names(runs, list(runs["run_id"])), strict=True))
    with st.form("sim_form"):
        chosen = st.multiselect("Runs (arms)", list(runs["run_id"]), default=SIM.default_pair(runs),
                                format_func=lambda r: labels.get(r, r), max_selections=SIM.MAX_RUNS,
                                help="Default: the latest FRAME run and the latest coarse run (N_c = 1) of this dataset. "
                                     "random, popularity" + (" and oracle" if has_world else "") + " always run too.")
        c = st.columns(4)
        k = c[0].number_input("K (videos per user and round)", 1, 50, 5)
        rounds = c[1].number_input("Rounds", 1, 10, 1, disabled=not has_world,
                                   help="After each round the run arms are refit on their own served views.")
        seed = c[2].number_input("Seed", 0, 2**31 - 1, 0, help="Seed of the common random numbers and the bootstrap.")
        budget = c[3].number_input("Refit budget (s)", 0, 3600, 300, disabled=not has_world,
                                   help="Wall time per refit between rounds; 0 keeps the models fixed.")
        go_ = st.form_submit_button("Run simulation" if has_world else "Run replay", type="primary",
                                    icon=":material/science:", disabled=len(runs) == 0)
    if go_:
        if not chosen:
            st.error("Pick at least one run.")
            return
        params = {"dataset_id": info.id, "runs": list(chosen), "k": int(k), "rounds": int(rounds) if has_world else 1,
                  "seed": int(seed), "refit_budget_s": int(budget)}
        try:
            job_queue().submit("simulate", params, label=f"{'simulation' if has_world else 'replay'} · {info.id} · "
                                                         f"{len(chosen)} runs · K={int(k)}")
        except InputError as exc:
            st.error(f"Not queued: {md_escape(exc)}")
            return
        pump()
        st.toast("Simulation queued; it runs after the jobs before it.", icon=":material/schedule:")


def show_world(res: dict, key: str) -> None:
    arms, st_ = res["arms"], res["settings"]
    st.plotly_chart(arms_figure(arms), width="stretch", key=f"sim_arms_{key}")
    st.plotly_chart(gap_figure(arms), width="stretch", key=f"sim_gap_{key}")
    names = list(arms["arm"])
    runs = [a for a in names if a not in ("random", "popularity", "oracle")]
    c1, c2 = st.columns(2)
    a = c1.selectbox("Arm A", names, index=0, key=f"sim_a_{key}")
    b = c2.selectbox("Arm B", names, index=1 if len(runs) > 1 else names.index("random"), key=f"sim_b_{key}")
    st.plotly_chart(scatter_figure(res["users"], a, b), width="stretch", key=f"sim_scatter_{key}")
    users = sorted(res["views"]["user_id"].unique())
    user = st.selectbox("User", users, key=f"sim_user_{key}")
    cols = st.columns(3)
    for col, arm in zip(cols, dict.fromkeys([a, b, "oracle"]), strict=False):
        col.plotly_chart(served_strip(res["views"], arm, user, int(st_.get("timeline_nc", 8))), width="stretch",
                         key=f"sim_strip_{arm}_{key}")
    st.caption(f"What each arm served this user (round, then rank, from the bottom) and where the user left; "
               f"stars are full views. Dotted lines: the {st_.get('timeline_nc', 8)} clip boundaries of Skip Explorer's timeline. Every view "
               "was played by the world's own viewing process with common random numbers: a video two arms both "
               "served to this user ended the same way under both.")


def show_result(job) -> None:
    res = simulation(str(job_queue().output_dir(job)), job.id)
    if res is None:
        st.warning("This simulation finished but its files are missing.")
        return
    replay = res["mode"] == "replay"
    diffs = res["differences"]
    diffs = diffs[diffs["metric"] == "full_view_rate"]
    if replay:
        r = res["results"]
        st.markdown(f"**Replay estimate** over {int(res['settings'].get('test_views', 0)):,} test-period views: the "
                    f"arms' picks matched **{int(r['matched'].sum()):,}** of them in all "
                    f"({', '.join(f'{md_escape(a)} {m:,}' for a, m in zip(r['arm'], r['matched'], strict=True))}). "
                    "Only matches count, so each estimate rests on that many views.")
        few = [a for a, m in zip(r["arm"], r["matched"], strict=True) if m < 30]
        if few:
            st.warning(f"{', '.join(md_escape(a) for a in few)}: fewer than 30 matched views, so the interval says little "
                       "and no difference involving them is called real. A larger K matches more views.")
        st.plotly_chart(arms_figure(res["arms"], replay=True), width="stretch", key=f"sim_arms_{job.id}")
        st.caption("Unbiased only if the log's exposures were uniformly random (Li et al., WSDM 2011); in a feed log "
                   "it says how good each arm's picks are among what the feed showed.")
    else:
        show_world(res, job.id)
    st.markdown("**Differences in full-view rate** (a − b, paired bootstrap over users, 95 % interval)")
    st.dataframe(diffs.drop(columns="metric"), hide_index=True, width="stretch")
    st.dataframe(res["results"], hide_index=True, width="stretch")


def jobs_body(ds_id: str) -> bool:
    jobs = [j for j in refresh_jobs(kinds=("simulate",)) if (j.params or {}).get("dataset_id") == ds_id]
    if not jobs:
        st.caption("No simulation on this dataset yet.")
        return False
    q = job_queue()
    for j in reversed(jobs[-3:]):
        with st.container(border=True):
            st.markdown(f"**{md_escape(j.label or j.id)}** — {j.status}")
            if j.active:
                ev = [e for e in q.progress(j) if e.get("event") in ("arm_done", "status")]
                last = ev[-1] if ev else {}
                frac = (last.get("done") or 0) / max(1, last.get("total") or 1) if last.get("event") == "arm_done" else 0
                st.progress(min(1.0, frac), text=last.get("message") or (f"{last['arm']} round {last['round']} done"
                                                                         if last.get("arm") else j.status))
                st.button("Cancel", key=f"sim_cancel_{j.id}", on_click=q.cancel, args=(j.id,))
            elif j.status == DONE:
                if j is jobs[-1] or st.toggle("Show", key=f"sim_show_{j.id}"):
                    show_result(j)
            else:
                st.warning(f"{j.status}: {md_escape(j.error or 'no message')}")
    return any(j.active for j in jobs)


@st.fragment(run_every=POLL_SECONDS)
def jobs_live(ds_id: str) -> None:
    if not jobs_body(ds_id):
        st.rerun()


st.title("Simulate")
st.markdown("Offline AUC says which model ranks held-out views better. A **simulated A/B test** lets each model "
            "choose what users see: every arm serves each user the top-K videos they have not viewed, and the world "
            "that generated the log plays them, so the full-view rate and watch time are what the recommendations "
            "would do. `random`, `popularity` and the `oracle` (the world's true full-view probability) run as "
            "references.")
info, _q = dataset_picker(load=False)  # the whole log is read only to match runs by its hash
if info is not None and _q is not None:
    world = SIM.world_dir_for(info)
    if world is None:
        st.info("This dataset has no world.json (no known users to play videos for), so the page offers the **replay "
                "estimator**: only served videos the user actually viewed in the test period count, and the result "
                "says how many matches it rests on.")
    runs = dataset_runs(info)
    if len(runs) == 0:
        st.warning("No finished run of this dataset yet: train a FRAME run and a coarse run (N_c = 1) on the Train "
                   "page first.")
    launch_form(info, runs, world is not None)
    st.subheader("Simulations")
    if any(j.active for j in job_queue().list(kinds=("simulate",))):
        jobs_live(info.id)
    else:
        jobs_body(info.id)
