"""Compare: finished runs in the shape of the paper's Tables 3 and 4, FRAME against the coarse
model (N_c = 1), ROC/PR curves, the N_c ablation, per-user wins and losses, the one-click
"fine versus coarse" experiment and the baselines comparison (both as background jobs)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import run_views as RW
from app.components.classroom import experiment_section
from app.components.compare_charts import per_user_figure, roc_pr_figures
from app.components.data import dataset_picker, dataset_version, md_escape, workspace
from app.components.explore import keep_widgets
from app.components.jobs import POLL_SECONDS, job_queue, pump, refresh_jobs
from app.components.run_link import link_to_recommend
from app.components.runs import finished_runs, unusable_runs_notice
from app.components.verdicts import data_facts, predictions
from frame_core.common.errors import InputError
from frame_core.common.safe_csv import to_csv_bytes
from frame_core.evaluation import metrics as M
from frame_core.evaluation import run_analysis as A
from frame_core.services import engine as E
from frame_core.services import run_tables as T
from frame_core.services import run_verdicts as RV
from frame_core.services.jobs import DONE

METRIC_KEYS = list(M.METRIC_KEYS)


GREEN = "background-color: rgba(0,204,150,0.22); font-weight: bold"
RED = "background-color: rgba(239,85,59,0.16)"
ORANGE = "background-color: rgba(255,161,90,0.22)"


def style_table(disp: pd.DataFrame, agg: pd.DataFrame, verdicts: pd.DataFrame):
    """Highlights follow the verdict (:func:`frame_core.services.run_verdicts.row_highlights`):
    coarse rows orange, FRAME rows green only when clearly better, red when clearly worse."""
    colour = {"reference": ORANGE, "better": GREEN, "worse": RED, "": ""}
    marks = dict(zip(agg.index, RV.row_highlights(agg, verdicts), strict=True))
    return disp.style.apply(lambda row: [colour[marks[row.name]]] * len(row), axis=1)


# ------------------------------------------------------------------------------ sections
def baselines_section(info) -> None:
    st.subheader("Baselines comparison")
    models = E.compare_models()
    with st.form("baselines_form"):
        c1, c2, c3 = st.columns([3, 1, 1])
        default = [m for m in ("frame", "coarse", "popularity", "logreg", "ensemble") if m in models]
        chosen = c1.multiselect("Models", models, default=default,
                                help="frame = FRAME with N_c = 8, coarse = N_c = 1, ensemble = both blended with logreg "
                                     "on validation scores; alpine and mtin are the paper's sequential baselines (they read each "
                                     "user's training and validation history in time order); the others are its "
                                     "feature-based baselines, LightGCN and two reference points.")
        seeds = c2.number_input("Seeds", 1, 10, 3)
        epochs = c3.number_input("Max epochs (each model)", 1, 200, None, placeholder="each model's own",
                                 help="Empty: every model trains as it does on its own (early stopping on validation "
                                      "AUC). A small cap makes a quick demo, but cuts FRAME short.")
        has_videos = bool(info is not None and info.has_videos)
        visual = st.checkbox("FRAME, coarse, alpine and mtin use the videos (visual clip features)", value=has_videos,
                             disabled=not has_videos,
                             help="FRAME sees the clips' content, alpine and mtin each video's mean clip vector; the "
                                  "other baselines see user id, video id and a duration bucket. Off: id embeddings only."
                                  + ("" if has_videos else " This dataset has no video files."))
        go_ = st.form_submit_button("Queue comparison", icon=":material/play_arrow:", disabled=info is None)
    if go_ and info is not None:
        try:
            job_queue().submit("compare", {"dataset_id": info.id, "models": list(chosen), "seeds": int(seeds),
                                           "options": {"max_epochs": None if epochs is None else int(epochs)},
                                           "visual": bool(visual and has_videos)},
                               label=f"baselines · {info.id} · {len(chosen)} models × {int(seeds)} seeds")
            pump()
            st.toast("Comparison queued; it runs after the jobs before it.", icon=":material/schedule:")
        except InputError as exc:
            st.error(f"Not queued: {md_escape(exc)}")
    comparison_results()


def _comparison_body() -> bool:
    jobs = refresh_jobs(kinds=("compare",))
    if not jobs:
        st.caption("No comparison yet.")
        return False
    q = job_queue()
    for j in reversed(jobs[-5:]):
        with st.container(border=True):
            st.markdown(f"**{md_escape(j.label or j.id)}** — {j.status}")
            if j.active:
                ev = q.progress(j)
                last = next((e for e in reversed(ev) if e.get("event") in ("run_start", "run_done", "epoch")), None)
                if last and last.get("n_runs"):
                    frac = (last["run"] - (0 if last["event"] == "run_done" else 1)) / last["n_runs"]
                    st.progress(min(1.0, max(0.0, frac)),
                                text=f"run {last['run']} of {last['n_runs']}: {last.get('model')} seed {last.get('seed')}")
                else:
                    st.progress(0.0, text="waiting" if j.status == "queued" else "starting")
                st.button("Cancel", key=f"cmp_cancel_{j.id}", on_click=q.cancel, args=(j.id,))
            elif j.status == DONE:
                res = E.read_comparison(q.output_dir(j))
                if res is None or res.empty:
                    st.warning("This comparison finished but its results.csv is missing or empty.")
                    continue
                st.dataframe(T.comparison_summary(res), hide_index=True, width="stretch")
                ver = RV.read_verdicts(q.output_dir(j))
                if ver is not None and len(ver):
                    st.markdown("**Verdict** (paired difference in test AUC on the same test rows; 95 % interval from a "
                                "bootstrap over test users plus the spread over seeds)")
                    st.dataframe(RV.verdict_display(ver), hide_index=True, width="stretch")
                blends = T.blend_weights(E.read_comparison_details(q.output_dir(j)))
                if len(blends):
                    st.markdown("**Ensemble blend** (logistic stacking on validation scores: "
                                "p = σ(intercept + Σ weight × logit p_member))")
                    st.dataframe(blends, hide_index=True, width="stretch",
                                 column_config={c: st.column_config.NumberColumn(format="%.3f")
                                                for c in blends.columns if c not in ("seed", "method")})
                st.download_button("Download results (CSV)", to_csv_bytes(res), file_name=f"comparison-{j.id}.csv",
                                   mime="text/csv", key=f"cmp_dl_{j.id}")
            else:
                st.warning(f"{j.status}: {md_escape(j.error or 'no message')}")
    return any(j.active for j in jobs)


@st.fragment(run_every=POLL_SECONDS * 2)
def _comparison_live() -> None:
    if not _comparison_body():
        st.rerun()


def comparison_results() -> None:
    if any(j.active for j in job_queue().list(kinds=("compare",))):
        _comparison_live()
    else:
        _comparison_body()


def table_section(view: dict, runs: pd.DataFrame) -> None:
    st.subheader("Finished runs: test metrics (mean ± std over seeds)")
    st.caption(
        "Grouped like the paper's Tables 3 and 4: one row per model, N_c, label policy and setting (all other "
        "hyper-parameters; runs are averaged only when everything but the seed matches). Δ AUC compares each FRAME "
        "row with the coarse row of the same setting, with its 95 % interval (paired bootstrap over test users plus "
        "the spread over seeds). Highlighted: the coarse reference (orange), FRAME rows clearly better than it "
        "(green) or clearly worse (red); rows within noise stay plain. Metrics are at video level, label = full "
        "view; higher is better except Logloss."
    )
    agg, disp, ver, raw = view["agg"], view["disp"], view["verdicts"], view["raw"]
    st.dataframe(style_table(disp, agg, ver), hide_index=True, width="stretch",
                 column_config={"verdict vs coarse": st.column_config.TextColumn(
                     help="From the 95 % interval of Δ AUC: FRAME better (above 0), coarse better (below 0), or no "
                          "clear difference (it contains 0).")})
    for i in ver.index[ver["verdict"] != ""]:
        r = ver.loc[i]
        line = f"**N_c = {agg.loc[i, 'nc']}, {md_escape(agg.loc[i, 'policy'])}, {md_escape(agg.loc[i, 'embeddings'])} inputs:** " \
               f"{md_escape(r['sentence'])}" + (f" {md_escape(r['reason'])}" if r["reason"] else "")
        st.markdown(line)
    d1, d2, _ = st.columns([1, 1, 2])  # the CSV is made when the button is pressed, not on every render
    d1.download_button("Download table (CSV)", lambda: to_csv_bytes(disp), file_name="frame_runs_summary.csv",
                       mime="text/csv")
    d2.download_button("Download all runs (CSV)", lambda: to_csv_bytes(raw), file_name="frame_runs.csv", mime="text/csv")
    with st.expander(f"All {len(runs)} finished runs"):
        st.dataframe(view["raw_display"], hide_index=True, width="stretch", column_config={
            "created": st.column_config.TextColumn("created (UTC)", width="medium"),
            "skip_hit@1": st.column_config.TextColumn(
                help="Skip localisation hit rate at 1. Blank for N_c = 1: with one clip the skip is always in it, "
                     "so it would be 1 by construction.")})


def curves_section(view: dict, runs: pd.DataFrame) -> None:
    labels, best_frame, coarse = view["labels"], view["best_frame"], view["coarse"]
    st.subheader("ROC and precision–recall curves")
    default = []
    if len(best_frame):
        default.append(best_frame.iloc[0]["run_id"])
    if len(coarse):
        default.append(T.coarse_twin(coarse, best_frame.iloc[0] if len(best_frame) else None))
    picked = st.multiselect("Runs", list(labels), default=default or list(labels)[:1], format_func=labels.get,
                            max_selections=6, key="curve_runs")
    curves, problems = [], []
    for rid in picked:
        row = runs[runs["run_id"] == rid].iloc[0]
        try:
            short = "coarse N_c=1" if row["nc"] == 1 else f"FRAME N_c={row['nc']}"
            curves.append((f"{short} seed {row['seed']} [{row['setting']}]", predictions(row["path"])))
        except InputError as exc:
            problems.append(str(exc))
    for name, df in curves:
        if df["y"].nunique() < 2:
            problems.append(f"{name}: its test views do not have both full views and skips, so it has no ROC curve "
                            "(the dataset may be too small to hold out test views).")
    for p in problems:
        st.warning(md_escape(p))
    if curves:
        roc, pr = roc_pr_figures(curves)
        c1, c2 = st.columns(2)
        c1.plotly_chart(roc, width="stretch", key="roc")
        c2.plotly_chart(pr, width="stretch", key="pr")
    else:
        st.caption("Pick runs to draw their curves.")


def ablation_section(runs: pd.DataFrame) -> None:
    st.subheader("N_c ablation")
    metric = st.segmented_control("Metric", METRIC_KEYS, default="auc", format_func=A.METRIC_NAMES.get,
                                  required=True, key="ablation_metric") or "auc"
    fig = RW.ablation(workspace().runs_dir, str(runs["dataset"].iloc[0]), metric)
    if fig is None:
        st.info("The ablation needs finished runs with at least two different N_c in the same setting "
                "(the fine vs coarse experiment gives N_c = 8 and 1; train N_c = 4 on the Train page to add a point).")
    else:
        st.plotly_chart(fig, width="stretch", key="ablation")


def per_user_section(view: dict, runs: pd.DataFrame) -> None:
    labels, best_frame, coarse = view["labels"], view["best_frame"], view["coarse"]
    st.subheader("Per-user wins and losses: FRAME vs coarse")
    if best_frame.empty or coarse.empty:
        st.info("This needs at least one finished FRAME run (N_c > 1) and one coarse run (N_c = 1) on this dataset.")
        return
    c1, c2, c3 = st.columns([2, 2, 1])
    frame_ids = list(best_frame["run_id"])
    coarse_ids = list(coarse["run_id"])
    a_id = c1.selectbox("FRAME run (A)", frame_ids, format_func=labels.get, key="pu_a")
    twin = T.coarse_twin(coarse, runs.set_index("run_id").loc[a_id])
    b_id = c2.selectbox("Coarse run (B)", [twin] + [r for r in coarse_ids if r != twin], format_func=labels.get,
                        key="pu_b", help="Defaults to the coarse run of the same setting and seed when there is one.")
    pu_metric = c3.radio("Per-user metric", ["auc", "logloss"], format_func=A.METRIC_NAMES.get, key="pu_metric")
    l1, l2, _ = st.columns([2, 2, 1])
    with l1:
        link_to_recommend(a_id, label="Recommend with run A")
    with l2:
        link_to_recommend(b_id, label="Recommend with run B")
    ra, rb = runs.set_index("run_id").loc[a_id], runs.set_index("run_id").loc[b_id]
    if ra["data_sha256"] != rb["data_sha256"]:
        st.warning("These two runs were trained on different data; only the test views they share are compared.")
    try:
        pu = RW.per_user(ra["path"], rb["path"], pu_metric)
    except (InputError, ValueError) as exc:
        st.warning(f"Cannot compare these runs: {md_escape(exc)}")
        return
    if pu.empty:
        st.info("No shared test users to compare" + (" with both a full view and a skip (needed for a per-user AUC); "
                "try logloss." if pu_metric == "auc" else "."))
        return
    counts = pu["outcome"].value_counts()
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Users compared", f"{len(pu):,}")
    for col, key, title in ((m2, "A better", "FRAME better"), (m3, "B better", "Coarse better"), (m4, "tie", "Ties")):
        n = int(counts.get(key, 0))
        col.metric(title, f"{n:,} ({n / len(pu):.0%})")
    if counts.get("tie", 0) > len(pu) / 3:
        st.caption("Many ties: users with few held-out views often get the same per-user AUC from both models "
                   "(e.g. one full view and one skip, ranked the same way). Logloss separates them.")
    st.plotly_chart(per_user_figure(pu, pu_metric, "FRAME", "coarse"), width="stretch", key="per_user")
    st.download_button("Download per-user differences (CSV)",
                       lambda: to_csv_bytes(pu.rename(columns={"a": f"{pu_metric}_frame", "b": f"{pu_metric}_coarse"})),
                       file_name="per_user_frame_vs_coarse.csv", mime="text/csv")


RUN_TABS = ["Finished runs", "ROC and PR curves", "N_c ablation", "Per-user wins and losses"]
RUN_TAB_KEY = "cmp_tab"


def runs_sections(runs: pd.DataFrame, facts=None) -> None:
    """The finished runs in lazy tabs: only the open tab is computed and sent, so the page's
    first render draws the table alone (each browser session then loads no Plotly until a chart
    tab is opened; README "The app under load"). Widget choices outlive a visit to another tab
    (Streamlit drops the state of widgets that are not drawn)."""
    view = RW.summary(workspace().runs_dir, str(runs["dataset"].iloc[0]), facts)
    keep_widgets("curve_runs", "ablation_metric", "pu_a", "pu_b", "pu_metric")
    tabs = st.tabs(RUN_TABS, key=RUN_TAB_KEY, on_change="rerun")
    sections = (lambda: table_section(view, runs), lambda: curves_section(view, runs),
                lambda: ablation_section(runs), lambda: per_user_section(view, runs))
    for tab, section in zip(tabs, sections, strict=True):
        if tab.open:
            with tab:
                section()


# ------------------------------------------------------------------------------ page
st.title("Compare")
st.caption("How does fine-grained FRAME do against the coarse model and the baselines? Everything here comes "
           "from finished runs in the workspace; failed or cancelled runs are never listed.")
info, _q = dataset_picker(load=False)  # summaries only: the whole log is never loaded here
experiment_section(info)
st.divider()

runs_dir = workspace().runs_dir
all_runs = finished_runs(runs_dir)
unusable_runs_notice(runs_dir, info.id if info is not None else None, key="compare_unusable")
if all_runs.empty:
    st.info("No finished run yet. Run the experiment above, or train on the **Train** page.")
else:
    datasets = sorted(all_runs["dataset"].dropna().astype(str).unique())
    runs = all_runs[all_runs["dataset"].astype(str) == info.id].reset_index(drop=True) if info is not None else all_runs
    if runs.empty:
        others = ", ".join(md_escape(d) for d in datasets)
        st.info(f"No finished run on this dataset yet. Datasets with finished runs: {others}. "
                "Pick one in the sidebar, run the experiment above, or train on the **Train** page.")
    else:
        facts = data_facts(info.id, dataset_version(info), bool(info.has_videos)) if _q is not None else None
        runs_sections(runs, facts)
st.divider()
baselines_section(info)
