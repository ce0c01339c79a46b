"""AppTest of issue 16 on real tiny runs: the run travels to Recommend in the URL (dataset and
run switched, header in words), Recommend's held-out check and score attribution, Compare's
verdict column (no None cells, single seeds flagged, highlights follow the verdict), and the
Train page's blank skip hit@1 for N_c = 1."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from frame_core.evaluation import verdict as V
from frame_core.services import run_verdicts as RV
from tests.test_app_pages_train import (  # noqa: F401
    HOME,
    figures,
    open_page,
    tiny_dataset,
    train_runs,
    ws,  # noqa: F401  (fixture)
)
from tests.vega_specs import chart, layer_data


def test_run_in_the_url_opens_that_run_on_its_dataset(ws):  # noqa: F811
    ds = tiny_dataset(ws)
    train_runs(ws, ds)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(HOME, default_timeout=90)
    at.query_params["run"] = "run-nc1"
    at.run()
    at.switch_page("app_pages/recommend.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="dataset_picker").value == ds  # a fresh session would open the first dataset
    assert at.selectbox(key="rec_run").value == "run-nc1"
    header = " ".join(m.value for m in at.markdown)
    assert "The coarse model (N\\_c = 1, one clip per video)" in header or "coarse model" in header
    assert "test AUC" in header and "trained" in header and "seed 0" in header
    assert not any("run-nc" in o for o in at.selectbox(key="rec_run").options)  # names in words, no folder ids
    # choosing another run writes it back into the URL
    at.selectbox(key="rec_run").set_value("run-nc4").run()
    assert at.query_params["run"] in ("run-nc4", ["run-nc4"])


def test_recommend_shows_the_heldout_check_and_an_attribution_that_adds_up(ws):  # noqa: F811
    ds = tiny_dataset(ws)
    train_runs(ws, ds)
    at = open_page("app_pages/recommend.py", ds)
    at.selectbox(key="rec_run").set_value("run-nc4").run()
    assert not at.exception and not at.error
    check = next(d.value for d in at.dataframe if "predicted rank" in d.value.columns)
    assert len(check) > 0 and (check["predicted rank"] >= 1).all()
    assert set(check["part_name"]) <= {"val", "test"}
    spec, data = chart(at, "Why this video outranks")
    steps = layer_data(spec, data, "bar")
    assert steps["kind"].iloc[0] == "start" and steps["kind"].iloc[-1] == "total"
    assert set(steps["kind"].iloc[1:-1]) <= {"up", "down"} and len(steps) == 5
    mid = steps.iloc[1:-1]
    np.testing.assert_allclose(mid["start"].to_numpy()[1:], mid["end"].to_numpy()[:-1])  # each step starts where the last ended
    assert steps["start"].iloc[1] == steps["end"].iloc[0]
    base, score = steps["end"].iloc[0], steps["end"].iloc[-1]
    assert abs(base + (mid["end"] - mid["start"]).sum() - score) < 1e-9  # average candidate + parts = this video's score
    top = at.dataframe[0].value
    chosen = at.selectbox(key="rec_video").value
    assert abs(score - top.loc[top["video_id"] == chosen, "p_full"].iloc[0]) < 1e-5


def test_compare_table_has_verdicts_and_no_none_cells(ws):  # noqa: F811
    ds = tiny_dataset(ws)
    train_runs(ws, ds)
    at = open_page("app_pages/compare.py", ds)
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    cells = table.astype(str).to_numpy().ravel()
    assert not any(c in ("None", "nan", "NaN", "<NA>") for c in cells)
    coarse = table[table["N_c"] == 1].iloc[0]
    frame = table[table["N_c"] == 4].iloc[0]
    assert coarse["Δ AUC vs coarse"] == "reference (coarse)"
    assert frame["verdict vs coarse"].endswith("(single seed)")
    assert frame["verdict vs coarse"].split(" (")[0] in RV.WORDS.values()
    assert "95 % CI" in frame["Δ AUC vs coarse"]
    assert "single seed" in frame["seeds"]
    assert any("interval" in m.value for m in at.markdown)


def test_highlights_follow_the_verdict():
    agg = pd.DataFrame({"nc": [8, 8, 8, 1]})
    ver = pd.DataFrame({"verdict": [V.A_BETTER, V.B_BETTER, V.NO_CLEAR, ""]})
    assert RV.row_highlights(agg, ver) == ["better", "worse", "", "reference"]


def test_train_page_leaves_skip_hit_blank_for_one_clip_and_links_the_run(ws):  # noqa: F811
    from frame_core.services.jobs import JobQueue

    ds = tiny_dataset(ws)
    q = JobQueue(ws)
    job = q.submit("train", {"dataset_id": ds, "visual": False,
                             "config": {"nc": 1, "epochs": 2, "emb_dim": 8, "seed": 0}}, label="coarse tiny")
    q.pump()
    job = q.wait(job.id, timeout=120)
    assert job.status == "done", (job.status, job.error)
    at = open_page("app_pages/train.py", ds)
    assert not at.exception
    skip = next(m for m in at.metric if m.label == "skip hit@1")
    assert skip.value == "–" and "by construction" in skip.proto.help
    assert any("label policy does not apply" in c.value for c in at.caption)
    links = [json.loads(json.dumps({"page": p.proto.page, "qs": getattr(p.proto, "query_string", "")}))
             for p in at.get("page_link")]
    rec = [lk for lk in links if lk["page"].endswith("recommend")]
    assert rec and any(job.id in lk["qs"] for lk in rec), links
    assert any(n.value.startswith("The weights of epoch") or n.value.startswith("Overfitting")
               for n in [*at.info, *at.warning])
    assert np.isfinite(job.result["auc"])


def test_a_fresh_session_opens_on_the_newest_upload(ws):  # noqa: F811
    from types import SimpleNamespace

    from app.components.data import default_dataset

    infos = [SimpleNamespace(bundled=True, created="bundled"), SimpleNamespace(bundled=False, created="2026-12-01T10:00:00+00:00"),
             SimpleNamespace(bundled=False, created="2026-12-03T09:00:00+00:00"), SimpleNamespace(bundled=True, created="")]
    assert default_dataset(infos) == 2
    assert default_dataset(infos[:1]) == 0
    ds = tiny_dataset(ws)
    at = open_page("app_pages/train.py")  # no dataset chosen: a fresh session
    assert at.selectbox(key="dataset_picker").value == ds
