"""Recommend page: the baselines next to FRAME. ROC and precision–recall curves of the selected
run and of the models of the latest finished comparison on the same dataset (its
``test_predictions.csv``, lowest seed per model), and one baseline's top-K for the user (fitted
on the comparison's split, cached per dataset version and model).

The run's and the comparison's test rows are the same chronological split (docs/design.md §5),
so their curves are directly comparable; label = full view."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components.compare_charts import roc_pr_figures
from app.components.data import md_escape
from app.components.jobs import job_queue
from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.services import baseline_scores as B
from frame_core.services import engine as E
from frame_core.services.jobs import DONE

DEFAULT_CURVES = ("alpine", "mtin", "logreg", "popularity", "deepfm")
MAX_CURVES = 7  # plus the run: eight colours


def latest_comparison(dataset_id: str):
    """The newest finished compare job on the dataset with readable test predictions, or (None, None)."""
    q = job_queue()
    for job in reversed(q.list(kinds=("compare",))):
        if job.status == DONE and job.params.get("dataset_id") == dataset_id:
            preds = B.comparison_predictions(q.output_dir(job))
            if preds is not None:
                return job, preds
    return None, None


@st.cache_resource(max_entries=4, show_spinner="Fitting the baseline on the training rows…")
def fitted_baseline(ds_id: str, version: str, name: str, _log: pd.DataFrame):
    return B.fit_baseline(_log, name)


def curves_section(info, run_row, run_name: str) -> None:
    st.subheader("Baselines next to FRAME: ROC and precision–recall")
    job, preds = latest_comparison(info.id)
    if job is None:
        st.info("No finished baselines comparison on this dataset yet: queue one on the Compare page to draw the "
                "baselines' curves next to this run's.")
        return
    curves = B.first_seed_curves(preds)
    models = list(curves)
    default = [m for m in DEFAULT_CURVES if m in models] or models[:MAX_CURVES]
    picked = st.multiselect("Comparison models", models, default=default[:MAX_CURVES], max_selections=MAX_CURVES,
                            key="rec_curve_models",
                            help=f"From comparison {job.label or job.id} (lowest seed of each model).")
    drawn = []
    try:
        drawn.append((f"this run ({run_name})", E.read_test_predictions(run_row["path"])))
    except InputError as exc:
        st.warning(md_escape(exc))
    drawn += [(m, curves[m]) for m in picked]
    drawn = [(n, d) for n, d in drawn if d["y"].nunique() == 2]
    if not drawn:
        st.caption("No curve: the test views need both full views and skips.")
        return
    roc, pr = roc_pr_figures(drawn)
    c1, c2 = st.columns(2)
    c1.plotly_chart(roc, width="stretch", key="rec_base_roc")
    c2.plotly_chart(pr, width="stretch", key="rec_base_pr")
    st.caption("The same test views for every curve (the chronological split); the legend gives each model's "
               "AUC and average precision.")


def candidates_section(info, version: str, log: pd.DataFrame, full_log: pd.DataFrame, user: str, k: int) -> None:
    st.subheader(f"Score user {md_escape(user)}'s candidates with a baseline")
    c1, c2 = st.columns([3, 1])
    name = c1.selectbox("Baseline", B.candidate_models(), index=B.candidate_models().index("mtin"),
                        key="rec_baseline",
                        help="Fitted here on the same training rows as in the comparison (seed 0, validation rows "
                             "for early stopping); alpine and mtin read the user's training and validation history.")
    go_ = c2.button("Score", icon=":material/play_arrow:", key="rec_baseline_go")
    key = (info.id, version, name)
    if go_:
        st.session_state["rec_baseline_for"] = key
    if st.session_state.get("rec_baseline_for") != key:
        st.caption("Press Score to fit the baseline (seconds to a minute) and rank this user's candidates with it.")
        return
    try:
        model = fitted_baseline(info.id, version, name, log)
        top = B.baseline_top_k(model, full_log, user, k)
    except InputError as exc:
        st.error(md_escape(exc))
        return
    if top.empty:
        st.info("This user has seen every video of the dataset in training: nothing left to recommend.")
        return
    st.dataframe(top, hide_index=True, width="stretch", key="rec_baseline_top",
                 column_config={"p_full": st.column_config.ProgressColumn("P(full view)", min_value=0.0, max_value=1.0,
                                                                          format="%.3f"),
                                S.DURATION: st.column_config.NumberColumn("duration (s)", format="%.1f")})


def baselines_section(info, version: str, log: pd.DataFrame, full_log: pd.DataFrame, run_row, run_name: str,
                      user: str, k: int) -> None:
    """Both parts, under the run's own recommendations."""
    curves_section(info, run_row, run_name)
    candidates_section(info, version, log, full_log, user, k)
