"""Train: configure FRAME, queue background training jobs, watch them live, cancel them.

Training runs in a worker subprocess (``frame_core.services.jobs.queue``); this page only writes job records
and reads progress files, so it never blocks and survives a browser refresh.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app.components.data import dataset_picker, md_escape, workspace
from app.components.jobs import (
    POLL_SECONDS,
    auc_figure,
    fmt_duration,
    job_progress,
    job_queue,
    jobs_table,
    loss_figure,
    pump,
    refresh_jobs,
    status_text,
)
from app.components.run_link import link_to_recommend
from app.components.tune import tune_section
from frame_core.common.errors import InputError
from frame_core.data.labels import POLICIES
from frame_core.model.config import ACTIVATIONS, NORMS, VIDEO_SCORES, FrameConfig, field_help
from frame_core.runs.check import run_problem, unusable_message
from frame_core.services import estimates as ES
from frame_core.services.jobs import DONE, FAILED, RUNNING

INSPECT_KEY = "train_inspect_job"
LATEST = "(running or latest)"
SHARE_CHOICES = {"auto": None, "on": True, "off": False}  # FrameConfig.factor_share
COLD_CHOICES = {"none (default)": 0.0, "auto: validation's share of new videos": None, "0.1": 0.1, "0.25": 0.25,
                "0.5": 0.5}  # FrameConfig.cold_dropout


def new_run_form(info, n_rows: int) -> None:
    d = FrameConfig()
    h = field_help()
    has_videos = bool(info.has_videos)
    st.subheader("New training run")
    with st.form("train_form", border=True):
        c1, c2, c3 = st.columns(3)
        with c1:
            nc = st.number_input("Clips per video, N_c", 1, 64, d.nc, help=h.get("nc"))
            policy = st.radio("Label policy", POLICIES, index=POLICIES.index(d.policy), help=h.get("policy"),
                              horizontal=True)
            options = ["visual clip features", "id embeddings"] if has_videos else ["id embeddings"]
            emb = st.radio("Clip input embeddings", options, index=0, horizontal=True,
                           help="Visual features are computed from the dataset's video files (cached); "
                                "id embeddings are learned per clip.")
            if not has_videos:
                st.caption("This dataset has no video files, so only id embeddings are available.")
            video_score = st.radio("Video score", VIDEO_SCORES, index=VIDEO_SCORES.index(d.video_score),
                                   horizontal=True, help=h.get("video_score"))
        with c2:
            epochs = st.number_input("Max epochs", 1, 1000, d.epochs, help=h.get("epochs"))
            patience = st.number_input("Early-stopping patience (epochs)", 1, 100, d.patience, help=h.get("patience"))
            emb_dim = st.select_slider("Embedding size d", [8, 16, 32, 64, 128, 256], value=d.emb_dim,
                                       help=h.get("emb_dim"))
            batch_size = st.number_input("Batch size (views)", 16, 1_000_000, d.batch_size, step=256,
                                         help=h.get("batch_size"))
        with c3:
            lr = st.number_input("Learning rate", 1e-5, 1.0, d.lr, format="%.4f", step=1e-3, help=h.get("lr"))
            lam = st.number_input("Hybrid weight λ", 0.0, 10.0, d.hybrid_lambda, step=0.1, help=h.get("hybrid_lambda"))
            seed = st.number_input("First seed", 0, 2**31 - 1, d.seed, help=h.get("seed"))
            n_seeds = st.number_input("Seeds (one job each)", 1, 10, 1,
                                      help="Queue one job per seed (seed, seed+1, …) for mean ± std on Compare.")
        with st.expander("Advanced model switches"):
            a1, a2, a3 = st.columns(3)
            with a1:
                norm = st.selectbox("Graph normalisation", NORMS, index=NORMS.index(d.norm), help=h.get("norm"))
                activation = st.selectbox("Activation σ", ACTIVATIONS, index=ACTIVATIONS.index(d.activation),
                                          help=h.get("activation"))
                dropout = st.number_input("Dropout", 0.0, 0.95, d.dropout, step=0.05, help=h.get("dropout"))
                weight_decay = st.number_input("Weight decay", 0.0, 1.0, d.weight_decay, format="%.6f",
                                               help=h.get("weight_decay"))
                emb_lr = st.number_input("Id-embedding learning rate (empty = auto)", 1e-5, 1.0, d.emb_lr,
                                         format="%.4f", step=1e-3, placeholder="auto", help=h.get("emb_lr"))
                cold = st.selectbox("Share of videos trained as new", list(COLD_CHOICES), help=h.get("cold_dropout"))
            with a2:
                alpha0 = st.number_input("α0 (input residual)", 0.0, 10.0, d.alpha0, help=h.get("alpha0"))
                alpha1 = st.number_input("α1 (two-hop)", 0.0, 10.0, d.alpha1, help=h.get("alpha1"))
                learn01 = st.checkbox("Learn α0, α1", d.learn_alpha01, help=h.get("learn_alpha01"))
                factor_dim = st.number_input("Clip factors k (empty = auto)", 0, 4096, d.factor_dim, placeholder="auto",
                                             help=h.get("factor_dim"))
                factor_l2 = st.number_input("Clip-factor L2", 0.0, 10.0, d.factor_l2, format="%.3f", step=0.01,
                                            help=h.get("factor_l2"))
                id_l2 = st.number_input("Id-embedding L2", 0.0, 10.0, d.id_l2, format="%.3f", step=0.01,
                                        help=h.get("id_l2"))
                mlp = st.text_input("MLP hidden sizes", ",".join(str(x) for x in d.mlp_sizes),
                                    help=h.get("mlp_sizes", "") + " Comma-separated, e.g. 64,32.")
            with a3:
                alpha_p = st.number_input("αp", 0.0, 10.0, d.alpha_p, help=h.get("alpha_p"))
                alpha_n = st.number_input("αn", 0.0, 10.0, d.alpha_n, help=h.get("alpha_n"))
                learn_pn = st.checkbox("Learn αp, αn", d.learn_alpha_pn, help=h.get("learn_alpha_pn"))
                shared_w = st.checkbox("Shared W (reference code)", d.shared_w, help=h.get("shared_w"))
                metadata = st.checkbox("Clip metadata in H_c0", d.metadata, help=h.get("metadata"))
                user_bias = st.checkbox("Per-user bias", d.user_bias, help=h.get("user_bias"))
                user_embedding = st.checkbox("Per-user vector", d.user_embedding, help=h.get("user_embedding"))
                bias_from_data = st.checkbox("Clip-factor biases from the data", d.bias_init == "data",
                                             help=h.get("bias_init"))
                factor_share = st.selectbox("Clip factors lean on their video", SHARE_CHOICES,
                                            help=h.get("factor_share"))
        est = ES.estimate_training(workspace().runs_dir, int(n_rows), d.nc, d.epochs)
        est1 = ES.estimate_training(workspace().runs_dir, int(n_rows), 1, d.epochs)
        if est is not None and est1 is not None:
            st.caption(f"On this machine one run on this dataset takes **{est.text}** with N_c > 1 and "
                       f"**{est1.text}** with N_c = 1 ({est.basis}; training only, per seed).")
        else:
            st.caption("A time estimate appears here after the first finished run on this machine.")
        label = "Start training" + (f" ({est.text} per seed)" if est is not None else "")
        submitted = st.form_submit_button(label, type="primary", icon=":material/play_arrow:")
    if not submitted:
        return
    try:
        sizes = [int(x) for x in mlp.replace(" ", "").split(",") if x]
    except ValueError:
        st.error("MLP hidden sizes must be whole numbers separated by commas, e.g. 64,32.")
        return
    visual = emb.startswith("visual")
    base = {
        "nc": int(nc), "policy": policy, "norm": norm, "shared_w": bool(shared_w), "activation": activation,
        "alpha0": float(alpha0), "alpha1": float(alpha1), "learn_alpha01": bool(learn01),
        "alpha_p": float(alpha_p), "alpha_n": float(alpha_n), "learn_alpha_pn": bool(learn_pn),
        "video_score": video_score, "hybrid_lambda": float(lam), "emb_dim": int(emb_dim), "mlp_sizes": sizes,
        "dropout": float(dropout), "id_embeddings": not visual, "metadata": bool(metadata),
        "user_bias": bool(user_bias), "user_embedding": bool(user_embedding), "lr": float(lr),
        "emb_lr": float(emb_lr) if emb_lr is not None else None, "weight_decay": float(weight_decay),
        "batch_size": int(batch_size), "epochs": int(epochs), "patience": int(patience),
        "factor_dim": int(factor_dim) if factor_dim is not None else None, "factor_l2": float(factor_l2),
        "id_l2": float(id_l2), "bias_init": "data" if bias_from_data else "zero", "factor_share": SHARE_CHOICES[factor_share],
        "cold_dropout": COLD_CHOICES[cold],
    }
    specs = []
    for s in range(int(seed), int(seed) + int(n_seeds)):
        cfg = {**base, "seed": s}
        label = f"{info.id} · N_c={int(nc)} · {policy} · {'visual' if visual else 'id'} · seed {s}"
        specs.append(("train", {"dataset_id": info.id, "visual": visual, "config": cfg}, label))
    try:
        jobs = job_queue().submit_many(specs)
    except InputError as exc:
        st.error(f"Not queued: {md_escape(exc)}")
        return
    pump()
    st.session_state[INSPECT_KEY] = LATEST
    st.toast(f"Queued {len(jobs)} training job{'s' if len(jobs) > 1 else ''}.", icon=":material/schedule:")


def job_detail(job) -> None:
    """Progress bar, elapsed time, live curves and actions for one job."""
    q = job_queue()
    events = q.progress(job)
    frac, caption = job_progress(job, events)
    cfg = (job.params or {}).get("config") or {}
    st.markdown(f"**{md_escape(job.label or job.id)}** — {status_text(job)}")
    st.caption(f"job `{job.id}` · elapsed {fmt_duration(job.elapsed()) or '–'}")
    st.progress(frac, text=caption)
    if job.active:
        c1, c2, _ = st.columns([1, 1, 3])
        c1.button("Cancel", key=f"cancel_{job.id}", icon=":material/stop:", disabled=job.cancel_requested,
                  on_click=q.cancel, args=(job.id,))
        if job.status == RUNNING and job.cancel_requested:
            c2.button("Force stop", key=f"kill_{job.id}", icon=":material/dangerous:", on_click=q.force_stop,
                      args=(job.id,), help="Kill the worker process now (use when Cancel is not honoured).")
    if job.status == FAILED:
        st.error(f"Training failed: {md_escape(job.error or 'unknown error')}")
        with st.expander("Worker log (last lines)"):
            st.code(q.log_tail(job.id) or "(empty)", language=None)
    elif job.error and job.status != DONE:
        st.warning(md_escape(job.error))
    left, right = st.columns(2)
    lf, af = loss_figure(events), auc_figure(events)
    with left:
        if lf is not None:
            st.plotly_chart(lf, width="stretch", key=f"loss_{job.id}")
        else:
            st.caption("The loss curve appears after the first training step.")
    with right:
        if af is not None:
            st.plotly_chart(af, width="stretch", key=f"auc_{job.id}")
        else:
            st.caption("The validation-AUC curve appears after the first epoch (it needs validation rows "
                       "with both full views and skips).")
    if job.status == DONE:
        r = job.result or {}
        coarse = cfg.get("nc") == 1
        m = st.columns(5)
        for col, (key, name) in zip(m, [("auc", "test AUC"), ("gauc", "test GAUC"), ("logloss", "test logloss"),
                                       ("val_auc", "val AUC"), ("skip_hit@1", "skip hit@1")], strict=True):
            v = r.get(key)
            if key == "skip_hit@1" and coarse:
                col.metric(name, "–", help="Not meaningful for N_c = 1: with one clip the skip is always in it, so "
                                           "the hit rate is 1 by construction.")
                continue
            col.metric(name, "–" if v is None else f"{v:.4f}")
        policy = "label policy does not apply (one clip per video)" if coarse else f"label policy {cfg.get('policy')}"
        st.caption(f"N_c = {cfg.get('nc')}, {policy}.")
        problem = run_problem(job.out_dir) if job.out_dir else None
        if problem is not None:  # the run folder was damaged after the job ended
            st.warning(md_escape(unusable_message(job.out_dir, problem)), icon=":material/report:")
            return
        hist = _history(q.output_dir(job))
        note = ES.curve_note(hist, r.get("best_epoch"))
        if note:
            (st.warning if note.startswith("Overfitting") else st.info)(note, icon=":material/insights:")
        c1, c2 = st.columns(2)
        c1.page_link("app_pages/compare.py", label="Compare this run", icon=":material/leaderboard:")
        with c2:
            link_to_recommend(job.id)


def _history(run_dir) -> pd.DataFrame | None:
    """A finished run's history.csv (None when missing or unreadable)."""
    try:
        return pd.read_csv(Path(run_dir) / "history.csv")
    except (OSError, ValueError):
        return None


def render_jobs() -> bool:
    """The jobs section; returns True while some training job is queued or running."""
    jobs = refresh_jobs(kinds=("train",))
    active = any(j.active for j in jobs)
    st.subheader("Training jobs")
    if not jobs:
        st.info("No training job yet: choose settings above and press **Start training**.")
        return False
    by_id = {j.id: j for j in jobs}
    running = [j for j in jobs if j.status == RUNNING]
    choices = [LATEST] + [j.id for j in reversed(jobs)]
    if st.session_state.get(INSPECT_KEY) not in choices:
        st.session_state[INSPECT_KEY] = LATEST
    pick = st.selectbox("Job to inspect", choices, key=INSPECT_KEY,
                        format_func=lambda i: i if i == LATEST else f"{by_id[i].label or i} ({by_id[i].status})")
    job = (running[0] if running else jobs[-1]) if pick == LATEST else by_id[pick]
    with st.container(border=True):
        job_detail(job)
    st.markdown("**Queue** (one job runs at a time; the rest wait in order)")
    st.dataframe(
        jobs_table(jobs), hide_index=True, width="stretch",
        column_config={"test AUC": st.column_config.NumberColumn(format="%.4f")},
    )
    c1, c2, _ = st.columns([1, 1, 3])
    c1.button("Cancel all queued", disabled=not any(j.status == "queued" for j in jobs), key="cancel_queued",
              on_click=_cancel_queued)
    c2.button("Clear finished jobs", disabled=not any(j.terminal for j in jobs), key="clear_finished",
              on_click=_clear_finished,
              help="Forget finished, failed and cancelled jobs. Finished runs stay on the Compare page.")
    return active


def _cancel_queued() -> None:
    q = job_queue()
    for j in q.list(kinds=("train",)):
        if j.status == "queued":
            q.cancel(j.id)


def _clear_finished() -> None:
    q = job_queue()
    for j in q.list(kinds=("train",)):
        if j.terminal:
            q.remove(j.id)
    st.session_state[INSPECT_KEY] = LATEST


@st.fragment(run_every=POLL_SECONDS)
def live_jobs() -> None:
    if not render_jobs():
        st.rerun()  # the last job just ended: rerun the page once so polling stops


@st.fragment
def idle_jobs() -> None:
    render_jobs()


st.title("Train")
st.caption("Train FRAME in the background: the page stays usable, you can leave it and come back, "
           "and jobs run one at a time in the order you queued them.")
info, _q = dataset_picker(load=False)  # counts from the manifest: the whole log is never loaded here
mode = st.segmented_control("Mode", ["Train", "Tune"], default="Train", key="train_mode", required=True,
                            help="Train: one configuration you choose. Tune: search configurations automatically "
                                 "on validation AUC (Optuna).") or "Train"
usable = info is not None and _q is not None and int(info.rows) > 0
if info is None:
    st.info("There is no dataset to train on yet: import one on the Data page. Jobs are listed below.")
elif not usable:
    st.warning("This dataset has no usable rows; pick another one or import a log on the Data page.")
else:
    st.caption(f"Dataset **{md_escape(info.name)}**: {int(info.rows):,} views, {int(info.users):,} users, "
               f"{int(info.videos):,} videos{' with video files' if info.has_videos else ''}.")

if mode == "Tune":
    tune_section(info if usable else None)
else:
    if usable:
        new_run_form(info, int(info.rows))
    active_now = any(j.active for j in refresh_jobs(kinds=("train",)))
    if active_now:
        live_jobs()
    else:
        idle_jobs()
