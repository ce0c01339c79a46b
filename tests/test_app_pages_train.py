"""AppTest smoke of the Train, Compare and Recommend pages: no runs, a real tiny finished run,
starting and cancelling a training job from the Train page."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from frame_core.services.jobs import CANCELLED, JobQueue
from frame_core.services.workspace import Workspace
from tests.test_jobs import _report, random_log
from tests.vega_specs import vega_charts

HOME = str(Path(__file__).resolve().parent.parent / "app" / "Home.py")
PAGES = ("app_pages/train.py", "app_pages/compare.py", "app_pages/recommend.py")


@pytest.fixture
def ws(workspace_env):
    # The app caches the workspace (a resource): each test has its own. Data caches are keyed by
    # dataset id and version and may stay (the bundled sample is then imported once per process).
    st.cache_resource.clear()
    w = Workspace().ensure()
    yield w
    q = JobQueue(w)
    for j in q.list():
        if j.active:
            q.cancel(j.id)
    deadline = time.monotonic() + 30
    while any(j.active for j in q.refresh()) and time.monotonic() < deadline:
        time.sleep(0.1)
    for j in q.list():
        q.force_stop(j.id)
    st.cache_resource.clear()


def open_page(page: str, dataset: str | None = None) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=90)
    at.run()
    at.switch_page(page).run()
    if dataset is not None:
        at.selectbox(key="dataset_picker").set_value(dataset).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def figures(at: AppTest) -> dict[str, dict]:
    out = {}
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        out[spec["layout"]["title"]["text"]] = spec
    return out


def tiny_dataset(ws: Workspace) -> str:
    return ws.add_dataset(random_log(), _report(), name="tiny").id


def train_runs(ws: Workspace, ds_id: str) -> None:
    from frame_core.model.config import FrameConfig
    from frame_core.training.pipeline import train_run

    log = ws.load_log(ds_id)
    for nc in (4, 1):
        train_run(log, ws.runs_dir / f"run-nc{nc}", FrameConfig(nc=nc, epochs=1, emb_dim=8), source=ds_id)


def test_pages_without_runs(ws):
    ds = tiny_dataset(ws)
    expected = {"app_pages/train.py": "No training job yet", "app_pages/compare.py": "No finished run yet",
                "app_pages/recommend.py": "No finished run"}
    for page in PAGES:
        at = open_page(page, ds)
        assert not at.error, (page, [e.value for e in at.error])
        assert any(expected[page] in i.value for i in at.info), page


def test_pages_with_a_finished_run(ws):
    ds = tiny_dataset(ws)
    train_runs(ws, ds)
    # a run folder with missing files must not break anything
    broken = ws.runs_dir / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")

    at = open_page("app_pages/compare.py", ds)
    assert not at.error, [e.value for e in at.error]
    assert not at.get("plotly_chart"), "lazy tabs: the first render draws the runs table, no chart"
    table = at.dataframe[0].value
    figs = {}
    for tab in ("ROC and PR curves", "N_c ablation", "Per-user wins and losses"):
        at.session_state["cmp_tab"] = tab
        at.run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        drawn = figures(at)
        assert len(drawn) >= 1 and not set(drawn) & set(figs), f"{tab}: only the open tab's charts are drawn"
        figs.update(drawn)
    roc = next(v for k, v in figs.items() if k.startswith("ROC"))
    assert len([t for t in roc["data"] if t["name"] != "random"]) == 2
    assert roc["layout"]["xaxis"]["title"]["text"] == "false positive rate"
    assert any(k.startswith("Precision") for k in figs)
    assert any(k.startswith("N_c ablation") for k in figs)
    assert any(k.startswith("Per-user difference") for k in figs)
    assert set(table["N_c"]) == {4, 1} and "AUC" in table.columns
    at.session_state["cmp_tab"] = "N_c ablation"
    at.run()
    at.segmented_control(key="ablation_metric").set_value("logloss").run()
    at.session_state["cmp_tab"] = "Finished runs"
    at.run()
    assert list(at.dataframe[0].value["N_c"]) == list(table["N_c"]) and not at.get("plotly_chart")
    at.session_state["cmp_tab"] = "N_c ablation"  # a choice made in a tab outlives a visit to another
    at.run()
    assert at.segmented_control(key="ablation_metric").value == "logloss"

    at = open_page("app_pages/recommend.py", ds)
    assert not at.error, [e.value for e in at.error]
    options = at.selectbox(key="rec_run").options  # formatted labels
    assert len(options) == 2 and not any("broken" in o for o in options)
    at.selectbox(key="rec_run").set_value("run-nc4").run()
    assert not at.exception and not at.error
    top = at.dataframe[0].value
    assert len(top) == 10 and top["p_full"].between(0, 1).all()
    assert top["p_full"].is_monotonic_decreasing
    charts = vega_charts(at)  # Altair: Recommend loads no Plotly (README "The app under load")
    assert any(k.startswith("Predicted per-clip curve") for k in charts)
    assert any(k.startswith("Why this video outranks the user's average candidate") for k in charts)
    assert any(k.startswith("Predicted not-skip probability per clip") for k in charts)
    assert not at.get("plotly_chart")


def test_start_and_cancel_training_then_compare(ws):
    ds = tiny_dataset(ws)
    at = open_page("app_pages/train.py", ds)
    epochs = next(n for n in at.number_input if n.label == "Max epochs")
    epochs.set_value(500)
    next(n for n in at.number_input if n.label.startswith("Early-stopping")).set_value(100)
    next(c for c in at.checkbox if c.label == "Clip-factor biases from the data").check()
    next(c for c in at.selectbox if c.label == "Clip factors lean on their video").set_value("on")
    next(s for s in at.selectbox if s.label == "Share of videos trained as new").set_value("auto: validation's share of new videos")
    next(b for b in at.button if b.label.startswith("Start training")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    q = JobQueue(ws)
    jobs = q.list()
    assert len(jobs) == 1 and jobs[0].active and jobs[0].params["dataset_id"] == ds
    assert jobs[0].params["config"]["epochs"] == 500
    assert jobs[0].params["config"]["bias_init"] == "data" and jobs[0].params["config"]["factor_share"] is True
    assert jobs[0].params["config"]["cold_dropout"] is None
    assert any("Training jobs" == s.value for s in at.subheader)
    cancel = next(b for b in at.button if b.label == "Cancel")
    cancel.click().run()
    assert not at.exception
    job = q.wait(jobs[0].id, timeout=60, pump=False)
    assert job.status == CANCELLED
    at.run()
    assert any("cancelled" in m.value for m in at.markdown)
    assert q.list()[0].status == CANCELLED
    at = open_page("app_pages/compare.py", ds)
    assert any("No finished run yet" in i.value for i in at.info)  # a cancelled run is never listed


@pytest.mark.slow
def test_tune_mode_queues_a_search_and_shows_its_result(ws):
    ds = tiny_dataset(ws)
    at = open_page("app_pages/train.py", ds)
    at.segmented_control(key="train_mode").set_value("Tune").run()
    assert not at.exception and not at.error
    assert any(s.value == "Tune FRAME automatically" for s in at.subheader)
    at.number_input(key="tune_nc").set_value(3)
    at.number_input(key="tune_minutes").set_value(1)
    next(b for b in at.button if b.label.startswith("Start tuning")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    q = JobQueue(ws)
    job = next(j for j in q.list() if j.kind == "tune")
    assert job.params == {"dataset_id": ds, "nc": 3, "budget_s": 60.0, "visual": False}
    job = q.wait(job.id, timeout=150)
    assert job.status == "done", (job.status, job.error, q.log_tail(job.id))
    assert job.result["best_value"] > 0 and job.result["trials"]
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    figs = figures(at)
    trials = next(v for k, v in figs.items() if k.startswith("Tuning: validation AUC"))
    names = {t["name"] for t in trials["data"]}
    assert names == {k.lower() for k in job.result["trials"]} | {"best so far"}  # one trace per trial state
    next(b for b in at.button if b.label == "Train with the best configuration").click().run()
    assert not at.exception
    train = [j for j in q.list() if j.kind == "train"]
    assert len(train) == 1 and "tuned" in train[0].label
