"""Pages Home, Data, Skip Explorer, Graph Inspector and Learn (AppTest), and the engine modules
behind them (``frame_core.services.analytics``, ``frame_core.services.graph_views``, ``frame_core.services.thumbnails``)
against hand-computed values."""

from __future__ import annotations

import base64
import gzip
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from frame_core.common import schema as S
from frame_core.common.errors import InputError
from frame_core.data.graphs import graphs_for_log
from frame_core.data.split import TRAIN
from frame_core.data.validation import validate_log
from frame_core.services import analytics as A
from frame_core.services import graph_views as GV
from frame_core.services.workspace import BUNDLED, SAMPLE_DIR, Workspace
from tests.vega_specs import chart, layer_data, vega_charts

ROOT = Path(__file__).resolve().parents[1]
HOME = str(ROOT / "app" / "Home.py")
PAGES = ["home", "data", "skip_explorer", "graph_inspector", "learn"]


# ---------------------------------------------------------------------------------- fixtures
def _log(n_users=12, n_videos=5, per_user=4, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        for v in rng.choice(n_videos, per_user, replace=False):
            dur = 4.0 + v
            r = [1.0, 0.3, 0.55, 0.8, 1.4][int(rng.integers(5))]
            rows.append((f"u{u}", f"v{v}", round(r * dur, 3), dur, float(len(rows))))
    return pd.DataFrame(rows, columns=[S.USER, S.VIDEO, S.PLAY, S.DURATION, S.TIMESTAMP])


def _webm(n_frames=16, w=32, h=24) -> bytes:
    import tempfile

    import cv2

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "v.webm"
        out = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"VP80"), 8, (w, h))
        for i in range(n_frames):
            out.write(np.full((h, w, 3), (i * 15) % 255, np.uint8))
        out.release()
        return p.read_bytes()


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAME_WORKSPACE", str(tmp_path / "ws"))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield Workspace(tmp_path / "ws").ensure()
    st.cache_data.clear()
    st.cache_resource.clear()


def _store(ws: Workspace, log: pd.DataFrame, name: str, videos=None):
    clean, report = validate_log(log, name=name)
    return ws.add_dataset(clean, report, name=name, videos=videos)


@pytest.fixture
def small(ws):
    """A small uploaded dataset with two video files."""
    webm = _webm()
    return _store(ws, _log(), "small", videos=[("v0.webm", webm), ("v1.webm", webm)])


def _app(ds_id: str | None = None) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=90)
    at.run()
    assert not at.exception
    if ds_id is not None:
        at.selectbox(key="dataset_picker").set_value(ds_id).run()
        assert not at.exception
    return at


def _go(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _plotly(at: AppTest, key: str | None = None, title_has: str | None = None) -> dict:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    if title_has is not None:
        specs = [s for s in specs if title_has in s["layout"].get("title", {}).get("text", "")]
    assert specs, "no matching plotly chart"
    return specs[0]


def _arr(x) -> np.ndarray:
    """A Plotly JSON array: a list, or a typed array ``{"dtype", "bdata"[, "shape"]}`` (base64)."""
    if isinstance(x, dict) and "bdata" in x:
        a = np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"]))
        if "shape" in x:
            a = a.reshape([int(n) for n in str(x["shape"]).split(",")])
        return a
    return np.asarray(x)


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _bundled_ids() -> list[str]:
    return [b.id for b in BUNDLED if (SAMPLE_DIR / b.path).exists()]


# ---------------------------------------------------------------------------------- smoke
@pytest.mark.parametrize("which", ["sample-kuairand", "sample-synthetic", "uploaded"])
def test_every_page_renders_on_each_dataset(ws, small, which):
    if which.startswith("sample-") and which not in _bundled_ids():
        pytest.skip(f"{which} is not in sample_data/ yet")
    ds_id = small.id if which == "uploaded" else which
    at = _app(ds_id)
    for page in PAGES:
        _go(at, page)
        assert not _errors(at), (page, _errors(at))
        if page == "skip_explorer":
            for tab in ("One video", "One user"):
                at.session_state["sx_tab"] = tab
                at.run()
                assert not at.exception and not _errors(at), (tab, _errors(at))
    info = ws.dataset_info(ds_id)
    _go(at, "skip_explorer")
    at.session_state["sx_tab"] = "One video"
    at.run()
    if not info.has_videos:
        assert any("no video files" in i.value for i in at.info)
        assert not at.get("video")
    else:
        with_file = sorted(f.stem for f in info.videos_dir.iterdir())[0]
        at.session_state["sx_video"] = with_file
        at.run()
        assert at.get("video"), [c.value for c in at.caption]
    if which == "sample-synthetic":  # ground-truth scenes from world.json shade the timeline
        fig = _plotly(at, title_has="retention")
        assert any(s.get("type") == "rect" for s in fig["layout"].get("shapes", []))


def test_home_kpis_and_links(ws, small):
    at = _app(small.id)
    k = A.kpis(ws.load_log(small.id))
    values = {m.label: m.value for m in at.metric}
    assert values["Users"] == f"{k['users']:,}"
    assert values["Views"] == f"{k['views']:,}"
    assert values["Full-view share"] == f"{k['full_view_share']:.1%}"
    assert values["Median watch ratio"] == f"{k['median_watch_ratio']:.2f}"
    assert len(at.get("page_link")) >= 7


def test_skip_explorer_video_view_follows_nc_and_choice(ws, small):
    at = _go(_app(small.id), "skip_explorer")
    # heatmap tab: an Altair chart titled with the current N_c
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert "N_c = 8" in json.dumps(spec["title"])
    at.session_state["sx_tab"] = "One video"
    at.run()
    at.selectbox(key="sx_video").set_value("v1").run()
    log = ws.load_log(small.id)
    sub = log[log[S.VIDEO] == "v1"]
    for nc in (4, 1):
        at.slider(key="explore_nc").set_value(nc).run()
        assert not at.exception
        fig = _plotly(at, title_has="retention")
        assert "Video v1" in fig["layout"]["title"]["text"] and f"N_c = {nc}" in fig["layout"]["title"]["text"]
        bars = next(t for t in fig["data"] if t.get("name") == "left in this clip")
        want = A.skip_histogram(sub[S.PLAY], sub[S.DURATION], nc)
        assert len(_arr(bars["x"])) == nc
        np.testing.assert_allclose(_arr(bars["y"]).astype(float), want["skip_share"].to_numpy() * 100)
        marks = next(t for t in fig["data"] if t.get("name") == "clip boundaries")
        want_b = A.retention_at_boundaries(sub[S.PLAY], sub[S.DURATION], nc)
        np.testing.assert_allclose(_arr(marks["y"]).astype(float), want_b["retained"].to_numpy() * 100)
        # one still per clip under the timeline (the dataset has v1.webm), and the player
        assert len(fig["layout"].get("images", [])) == nc
        assert at.get("video")


def test_skip_explorer_user_view(ws, small):
    at = _go(_app(small.id), "skip_explorer")
    at.session_state["sx_tab"] = "One user"
    at.run()
    at.selectbox(key="sx_user").set_value("u3").run()
    fig = _plotly(at, title_has="User u3")
    n_points = sum(len(_arr(t["x"])) for t in fig["data"])
    assert n_points == int((ws.load_log(small.id)[S.USER] == "u3").sum())
    assert at.dataframe  # the views table


def test_skip_explorer_heatmap_drilldown_state(ws, small):
    """A heatmap click sets the video and opens its tab (the callback's effect, set directly)."""
    at = _go(_app(small.id), "skip_explorer")
    at.radio(key="sx_sort").set_value("full_view_share").run()
    assert not at.exception
    at.session_state["sx_video"] = "v2"
    at.session_state["sx_tab"] = "One video"
    at.run()
    assert "Video v2" in _plotly(at, title_has="retention")["layout"]["title"]["text"]


def test_graph_inspector_user_and_video(ws, small):
    at = _go(_app(small.id), "graph_inspector")
    at.selectbox(key="gi_user").set_value("u2").run()
    spec, data = chart(at, "User u2")
    edges = layer_data(spec, data, "rule")  # one rule per drawn edge, solid green or dashed red by kind
    dash = next(layer["encoding"]["strokeDash"]["scale"] for layer in spec["layer"] if "strokeDash" in layer["encoding"])
    assert dash == {"domain": ["positive edge (R^P)", "negative edge (R^N)"], "range": [[1, 0], [5, 3]]}  # solid, dashed
    log = ws.load_log(small.id)
    from frame_core.data.split import chronological_split

    maps, _, g = graphs_for_log(log, chronological_split(log), 8, "watched-positive")
    u = int(maps.user_index(["u2"])[0])
    assert set(edges["user"]) == {"u2"}
    assert (edges["kind"] == "positive edge (R^P)").sum() == g.RP[u].nnz
    assert (edges["kind"] == "negative edge (R^N)").sum() == g.RN[u].nnz
    assert edges["weight"].between(0, 1).all() and (edges["weight"] > 0).all()  # R̃ of each edge, in the tooltip
    sspec, sdata = chart(at, "R^P − R^N")
    cells = layer_data(sspec, sdata, "rect")
    assert cells["user"].iloc[0] == "u2" and set(cells["value"]) <= {-1.0, 0.0, 1.0}
    assert not at.dataframe, "lazy tabs: the R̃ tables are not built until their tab is opened"
    # the tooltips carry R̃; the R̃ᴾ tab shows the same values as a table, without the chart
    at.session_state["gi_block_tab"] = "R̃ᴾ (positive, normalised)"
    at.run()
    assert not at.exception and not any("R^P − R^N" in t for t in vega_charts(at))
    table = at.dataframe[0].value
    assert table.index[0] == "u2" and table.shape[0] * table.shape[1] == len(cells)
    np.testing.assert_allclose(table.to_numpy().ravel(), cells["rp"].to_numpy(), rtol=1e-6)
    assert ((cells["value"] > 0) <= (cells["rp"] > 0)).all()  # a positive cell has a positive R̃ᴾ
    at.session_state["gi_block_tab"] = "R^P − R^N (chart)"
    at.run()
    at.segmented_control(key="gi_mode").set_value("One video").run()
    assert not at.exception
    assert chart(at, "Video")
    assert not any("Toy example" in h.value for h in at.subheader), "lazy tabs: the closed toy tab is not drawn"
    # the toy example in its own tab: built live, and the ego view is not computed meanwhile
    at.session_state["gi_tab"] = "Toy example: 3 users × 4 clips"
    at.run()
    assert not at.exception
    assert any("Toy example" in h.value for h in at.subheader)
    assert not any("Video" in title for title in vega_charts(at))
    # back on the ego view, the mode chosen before is kept
    at.session_state["gi_tab"] = "Ego view and matrices"
    at.run()
    assert at.segmented_control(key="gi_mode").value == "One video"


def test_data_page_rejects_bad_files_and_keeps_datasets(ws, small):
    before = [i.id for i in ws.list_datasets()]
    at = _go(_app(), "data")
    bad = {
        "empty.csv": b"",
        "binary.csv": bytes(range(256)) * 4,
        "latin1.csv": "user_id,video_id,playing_time,duration_time\nJosé,v,1,2\n".encode("latin-1"),
        "sheet.csv": b"PK\x03\x04" + b"\x00" * 64,
        "header_only.csv": b"user_id,video_id,playing_time,duration_time\n",
        "bad.gz": b"\x1f\x8b\x08\x00garbage",
    }
    for name, data in bad.items():
        at.file_uploader(key="data_log_file").set_value((name, data, "text/csv")).run()
        assert not at.exception, name
        assert _errors(at), f"{name}: no error shown"
    # a readable table without the required columns: the error comes from Validate
    at.file_uploader(key="data_log_file").set_value(("cols.csv", b"a,b\n1,2\n", "text/csv")).run()
    assert not _errors(at)
    next(b for b in at.button if b.label == "Validate").click().run()
    assert not at.exception
    assert any("lacks required column" in e for e in _errors(at))
    assert [i.id for i in ws.list_datasets()] == before


def test_data_page_refuses_hostile_uploads_from_a_staged_file(ws, tmp_path):
    """A gzip bomb and a 10⁵-column header: one-line refusals naming the limit, nothing stored,
    the upload staged in the workspace's tmp/ and no decompressed copy left behind."""
    from tests import hostile_inputs as H

    before = [i.id for i in ws.list_datasets()]
    at = _go(_app(), "data")
    cases = {"bomb.csv.gz": (H.bomb(tmp_path / "bomb.csv.gz", 0.0, 1000), "expands more than 100×"),
             "wide.csv.gz": (H.wide_header(tmp_path / "wide.csv.gz", 100_000), "more than 1,000 columns")}
    for name, (path, message) in cases.items():
        at.file_uploader(key="data_log_file").set_value((name, path.read_bytes(), "application/gzip")).run()
        assert not at.exception, name
        errors = [e.replace("\\", "") for e in _errors(at)]  # shown Markdown-escaped
        assert len(errors) == 1 and message in errors[0] and "raise the limit with --max-" in errors[0], errors
        staged = [f for f in ws.tmp_dir.iterdir()]
        assert len(staged) == 1 and staged[0].name.startswith("upload-"), staged  # the upload, nothing else
        assert staged[0].stat().st_size == path.stat().st_size
    assert [i.id for i in ws.list_datasets()] == before
    # raising the limit under "Import limits" lets a genuine wide header through to the real problem
    wide = H.wide_header(tmp_path / "w1500.csv.gz", 1500).read_bytes()
    at.file_uploader(key="data_log_file").set_value(("w1500.csv.gz", wide, "application/gzip")).run()
    assert any("more than 1,000 columns" in e.replace("\\", "") for e in _errors(at))
    at.number_input(key="data_lim_cols").set_value(2000).run()
    assert not at.exception and not _errors(at)
    next(b for b in at.button if b.label == "Validate").click().run()
    assert not at.exception
    assert any("lacks required column" in e for e in _errors(at)), _errors(at)
    assert [i.id for i in ws.list_datasets()] == before


def test_data_page_refuses_colliding_video_names(ws):
    raw = _log(n_users=6, n_videos=3, per_user=2)
    at = _go(_app(), "data")
    at.file_uploader(key="data_log_file").set_value(("log.csv", raw.to_csv(index=False).encode(), "text/csv")).run()
    at.file_uploader(key="data_video_files").set_value(
        [("v0001.webm", b"a", "video/webm"), ("../v0001.webm", b"b", "video/webm")]).run()
    next(b for b in at.button if b.label == "Validate").click().run()
    assert not at.exception
    assert any("would all be stored as v0001" in e.replace("\\", "") for e in _errors(at)), _errors(at)
    assert at.button(key="data_save").disabled
    assert [i.id for i in ws.list_datasets() if not i.bundled] == []


def test_data_page_validates_and_saves(ws):
    raw = _log(n_users=6, n_videos=3, per_user=2).rename(
        columns={S.PLAY: "play_time_ms", S.DURATION: "duration_ms", S.TIMESTAMP: "time_ms"}
    )
    raw[["play_time_ms", "duration_ms", "time_ms"]] *= 1000
    raw.loc[0, "duration_ms"] = 0  # one rejected row
    raw.loc[1, S.USER] = "=HYPERLINK(1)"  # a formula-looking id, kept and neutralised on download
    data = gzip.compress(raw.to_csv(index=False, sep="\t").encode())
    at = _go(_app(), "data")
    at.file_uploader(key="data_log_file").set_value(("mylog.tsv.gz", data, "application/gzip")).run()
    assert not at.exception and not _errors(at)
    # the mapping is pre-filled from the known KuaiRand names and the unit guessed as ms
    fid = next(s.key for s in at.selectbox if s.key and s.key.endswith(S.PLAY)).rsplit("_", 2)[0]
    assert at.selectbox(key=f"{fid}_{S.PLAY}").value == "play_time_ms"
    next(b for b in at.button if b.label == "Validate").click().run()
    assert not at.exception and not _errors(at)
    values = {m.label: m.value for m in at.metric}
    assert values["Rejected"] == "1" and values["Accepted"] == f"{len(raw) - 1:,}"
    dl = at.get("download_button")
    assert dl, "rejected rows are downloadable"
    next(b for b in at.button if b.label == "Save dataset").click().run()
    assert not at.exception
    stored = [i for i in ws.list_datasets() if not i.bundled]
    assert len(stored) == 1 and stored[0].rows == len(raw) - 1
    assert at.session_state["dataset_id"] == stored[0].id
    assert any("Saved as dataset" in s.value for s in at.success)
    assert ws.queries(stored[0].id).prepared  # the pages' summaries were built with the save
    # the new dataset persists for a fresh session (a "restart")
    st.cache_resource.clear()
    at2 = _app(stored[0].id)
    assert {m.label: m.value for m in at2.metric}["Views"] == f"{len(raw) - 1:,}"


def test_data_page_saves_even_when_the_summaries_cannot_be_built(ws, monkeypatch):
    """A failure while building the pages' summaries after a save (DuckDB out of memory, a full
    disk) is a warning: the dataset is stored and selected, and the pages build them later."""
    from frame_core.services.workspace import Workspace

    def fail(self, ds_id):
        raise InputError("the page summaries of this dataset could not be built (IOException: disk full)")

    monkeypatch.setattr(Workspace, "prepare_summaries", fail)
    data = _log(n_users=5, n_videos=3, per_user=2).to_csv(index=False).encode()
    at = _go(_app(), "data")
    at.file_uploader(key="data_log_file").set_value(("small.csv", data, "text/csv")).run()
    next(b for b in at.button if b.label == "Validate").click().run()
    next(b for b in at.button if b.label == "Save dataset").click().run()
    assert not at.exception and not _errors(at)
    stored = [i for i in ws.list_datasets() if not i.bundled]
    assert len(stored) == 1 and at.session_state["dataset_id"] == stored[0].id
    assert any("summaries were not built now" in w.value and "disk full" in w.value for w in at.warning)
    assert not ws.queries(stored[0].id).prepared


def test_learn_page_live_numbers_come_from_the_out_of_core_counts(ws, small):
    """The Learn page never loads the log: its median skip clip and first-clip share (counted in
    SQL) equal the values computed by hand from the stored log."""
    from frame_core.data.labels import is_full_view, skip_clip

    log = ws.load_log(small.id)
    p, d = log[S.PLAY].to_numpy(), log[S.DURATION].to_numpy()
    full = is_full_view(p, d)
    k = skip_clip(p, d, 8)[~full]
    at = _go(_app(small.id), "learn")
    assert not at.exception and not _errors(at)
    m = {x.label: x.value for x in at.metric}
    assert m["Median skip clip"] == f"{float(np.median(k)):g} of 0…7"
    assert m["Left in the first clip"] == f"{(k == 0).sum() / len(p):.1%}"


def test_no_page_loads_the_whole_log_until_a_run_needs_it(ws, small, monkeypatch):
    """Home, Skip Explorer, Graph Inspector, Compare, Train, Learn, Simulate and Recommend
    (without a run) render from the out-of-core summaries: loading the whole log fails here."""
    from app.components import data as D

    def refuse(*a, **k):
        raise AssertionError("a page loaded the whole log")

    monkeypatch.setattr(D, "load_log", refuse)
    monkeypatch.setattr(Workspace, "load_log", refuse)
    at = _app(small.id)
    for page in ("home", "skip_explorer", "graph_inspector", "compare", "train", "learn", "simulate", "recommend"):
        at = _go(at, page)
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not _errors(at), (page, _errors(at))


def test_data_page_delete_needs_confirmation(ws, small):
    at = _go(_app(), "data")
    at.button(key="data_delete").click().run()
    assert small.id in [i.id for i in ws.list_datasets()]
    at.button(key="data_delete_no").click().run()
    assert small.id in [i.id for i in ws.list_datasets()]
    at.button(key="data_delete").click().run()
    at.button(key="data_delete_yes").click().run()
    assert not at.exception
    assert small.id not in [i.id for i in ws.list_datasets()]


def test_pages_survive_odd_datasets(ws):
    """One user, one view, no full view, no videos, N_c = 1 and N_c = 64."""
    one = pd.DataFrame({S.USER: ["a"], S.VIDEO: ["x"], S.PLAY: [1.0], S.DURATION: [10.0], S.TIMESTAMP: [0.0]})
    info = _store(ws, one, "one view")
    at = _app(info.id)
    for nc in (1, 64):
        for page in PAGES[2:]:
            _go(at, page)
            at.slider(key="explore_nc").set_value(nc).run()
            assert not at.exception and not _errors(at), (page, nc, _errors(at))
            if page == "skip_explorer":
                for tab in ("One video", "One user"):
                    at.session_state["sx_tab"] = tab
                    at.run()
                    assert not at.exception and not _errors(at), (tab, nc)
    _go(at, "home")
    assert {m.label: m.value for m in at.metric}["Full-view share"] == "0.0%"


# ---------------------------------------------------------------------------------- analytics
def _tiny():
    # durations 10 s; r = 1.0 (full), 0.25 (boundary: clip 1 of 4), 0.5 (clip 2), 0.2 (clip 0)
    return pd.DataFrame({
        S.USER: ["a", "a", "b", "c"], S.VIDEO: ["v", "w", "v", "v"],
        S.PLAY: [10.0, 2.5, 5.0, 2.0], S.DURATION: [10.0] * 4, S.TIMESTAMP: [1.0, 2.0, 3.0, 4.0],
    })


def test_skip_histogram_and_retention_by_hand():
    t = _tiny()
    h = A.skip_histogram(t[S.PLAY], t[S.DURATION], 4)
    assert h["skips"].tolist() == [1, 1, 1, 0]
    assert h["reached"].tolist() == [4, 3, 2, 1]
    np.testing.assert_allclose(h["skip_share"], [0.25, 0.25, 0.25, 0.0])
    np.testing.assert_allclose(h["leave_rate"], [1 / 4, 1 / 3, 1 / 2, 0.0])
    b = A.retention_at_boundaries(t[S.PLAY], t[S.DURATION], 4)
    np.testing.assert_allclose(b["retained"], [1.0, 0.75, 0.5, 0.25, 0.25])
    c = A.retention_curve(t[S.PLAY], t[S.DURATION], points=5)
    np.testing.assert_allclose(c["position"], [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(c["retained"], [1.0, 0.75, 0.5, 0.25, 0.25])
    # N_c = 1: one clip, everything that is not a full view left in it
    h1 = A.skip_histogram(t[S.PLAY], t[S.DURATION], 1)
    assert h1["skips"].tolist() == [3] and h1["reached"].tolist() == [4]
    empty = A.skip_histogram([], [], 3)
    assert empty["skips"].tolist() == [0, 0, 0] and empty["skip_share"].isna().all()


def test_video_table_and_heatmap_by_hand():
    t = _tiny()
    vt = A.video_table(t, 4)
    assert vt.index.tolist() == ["v", "w"]
    assert vt.loc["v", "views"] == 3 and vt.loc["v", "full_views"] == 1
    assert vt.loc["v", "early_skip_share"] == pytest.approx(1 / 3)  # c left at r = 0.2
    assert vt.loc["w", "mean_watch_ratio"] == pytest.approx(0.25)
    m, s = A.skip_heatmap(t, 4, top_n=10)
    np.testing.assert_allclose(m.loc["v"].to_numpy(), [1 / 3, 0, 1 / 3, 0])
    np.testing.assert_allclose(m.loc["w"].to_numpy(), [0, 1, 0, 0])
    # a row plus the full-view share is 1
    np.testing.assert_allclose(m.sum(axis=1) + s["full_view_share"], 1.0)
    m2, _ = A.skip_heatmap(t, 4, top_n=10, sort_by="early_skip_share")
    assert m2.index.tolist() == ["v", "w"]
    m3, _ = A.skip_heatmap(t, 4, top_n=1)
    assert m3.index.tolist() == ["v"]
    with pytest.raises(ValueError):
        A.skip_heatmap(t, 4, sort_by="nope")


def test_user_views_labels_and_counts_by_hand():
    t = _tiny()
    uv = A.user_views(t, "a", 4)
    assert uv[S.VIDEO].tolist() == ["v", "w"]
    assert uv["full_view"].tolist() == [True, False]
    assert pd.isna(uv["skip_clip"].iloc[0]) and uv["skip_clip"].iloc[1] == 1
    assert A.label_strings(t[S.PLAY], t[S.DURATION], 4, "watched-positive") == ["++++", "+−··", "++−·", "−···"]
    assert A.label_strings(t[S.PLAY], t[S.DURATION], 4, "paper") == ["++++", "·−··", "··−·", "−···"]
    c = A.label_counts(t[S.PLAY], t[S.DURATION], 4).set_index("policy")
    assert c.loc["paper"].tolist() == [4, 3, 9]
    assert c.loc["watched-positive"].tolist() == [4 + 1 + 2, 3, 16 - 7 - 3]
    p = A.clip_label_profile(t[S.PLAY], t[S.DURATION], 4, "watched-positive")
    assert p["positive"].tolist() == [3, 2, 1, 1] and p["negative"].tolist() == [1, 1, 1, 0]
    assert A.median_skip_clip(t[S.PLAY], t[S.DURATION], 4) == 1.0
    assert np.isnan(A.median_skip_clip([5.0], [5.0], 4))
    assert A.most_frequent(t[S.USER]) == ["a", "b", "c"]
    k = A.kpis(t)
    assert (k["users"], k["videos"], k["views"]) == (3, 2, 4)
    assert k["full_view_share"] == 0.25 and k["median_watch_ratio"] == pytest.approx(0.375)


def test_heatmap_is_vectorised_on_a_large_log():
    rng = np.random.default_rng(1)
    n = 200_000
    log = pd.DataFrame({
        S.USER: rng.integers(0, 5000, n).astype(str), S.VIDEO: rng.integers(0, 20000, n).astype(str),
        S.PLAY: rng.uniform(0, 30, n), S.DURATION: np.full(n, 20.0), S.TIMESTAMP: np.arange(n, dtype=float),
    })
    import time

    t0 = time.perf_counter()
    m, s = A.skip_heatmap(log, 8, top_n=50)
    assert time.perf_counter() - t0 < 2.0
    assert m.shape == (50, 8)
    np.testing.assert_allclose(m.sum(axis=1) + s["full_view_share"], 1.0)


# ---------------------------------------------------------------------------------- graph views
def test_toy_steps_by_hand():
    t = GV.toy_steps()
    assert t.views["skip_clip"].astype("string").fillna("full").tolist() == ["full", "1", "3"]
    assert t.labels["paper"].loc["u2"].tolist() == ["", "−", "", ""]
    assert t.labels["watched-positive"].loc["u3"].tolist() == ["+", "+", "+", "−"]
    rp = t.RP["watched-positive"]
    assert rp.to_numpy().tolist() == [[1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 1, 0]]
    sym = t.RP_norm["watched-positive"]["symmetric"]
    # degrees: users (4, 1, 3), clips (3, 2, 2, 1)
    assert sym.loc["u2", "v1#0"] == pytest.approx(1 / np.sqrt(1 * 3))
    assert sym.loc["u1", "v1#3"] == pytest.approx(1 / np.sqrt(4 * 1))
    assert t.RP_norm["watched-positive"]["row"].loc["u3"].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0])
    assert t.RN["paper"].to_numpy().tolist() == [[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]]
    prop = GV.toy_propagation(sym)
    np.testing.assert_allclose(prop["H_u"].to_numpy(), np.tanh(sym.to_numpy()))


def test_ego_views_cap_and_signed_block():
    log = _log(n_users=8, n_videos=6, per_user=5, seed=3)
    part = np.full(len(log), TRAIN, dtype="int8")
    maps, _, g = graphs_for_log(log, part, 4, "watched-positive")
    u = 0
    full = GV.ego_user(g, maps, u, max_clips=1000)
    n_cols = len(np.union1d(g.RP[u].indices, g.RN[u].indices))
    assert len(full.cols) == n_cols and not full.truncated
    assert len(full.edges) == g.RP[u].nnz + g.RN[u].nnz
    capped = GV.ego_user(g, maps, u, max_clips=5)
    assert len(capped.cols) <= 5 and capped.truncated
    assert set(capped.cols // 4) <= set(full.cols // 4)
    v = GV.ego_video(g, maps, 0, max_users=3)
    assert len(v.cols) == 4 and len(v.users) <= 3
    blk = GV.signed_block(g, v.users, v.cols)
    dense_p = g.RP[v.users][:, v.cols].toarray()
    dense_n = g.RN[v.users][:, v.cols].toarray()
    np.testing.assert_array_equal(blk["signed"], dense_p - dense_n)
    with pytest.raises(ValueError):
        GV.signed_block(g, np.zeros(1000, int), np.zeros(1000, int))


def test_world_scenes():
    world = {"themes": [{"id": 0, "name": "stripes"}, {"id": 3, "name": "dots"}],
             "videos": {"v1": {"duration": 10.0, "scenes": [[0.0, 4.0, 3], [4.0, 10.0, 0]]}}}
    sc = A.world_scenes(world, "v1")
    assert sc[["start", "end"]].to_numpy().tolist() == [[0.0, 4.0], [4.0, 10.0]]
    assert sc["theme_name"].tolist() == ["dots", "stripes"]
    assert A.world_scenes(world, "nope").empty and A.world_scenes({}, "v1").empty
    assert A.world_scenes({"videos": {"v1": {"scenes": "bad"}}}, "v1").empty


def test_clip_thumbnails(tmp_path):
    from frame_core.services.thumbnails import clip_thumbnails, find_video_file

    (tmp_path / "v7.webm").write_bytes(_webm())
    (tmp_path / "broken.webm").write_bytes(b"not a video")
    p = find_video_file(tmp_path, "v7")
    assert p is not None and find_video_file(tmp_path, "../v7") is None and find_video_file(None, "v7") is None
    thumbs = clip_thumbnails(p, 4)
    assert len(thumbs) == 4 and all(t[:2] == b"\xff\xd8" for t in thumbs)
    assert clip_thumbnails(tmp_path / "broken.webm", 4) == []


def test_formula_safe_rejected_download():
    from frame_core.common.safe_csv import to_csv_bytes

    df = pd.DataFrame({"line": [2], "reason": ["duplicate"], S.USER: ["=cmd()"]})
    assert b"'=cmd()" in to_csv_bytes(df)


def test_md_escape_neutralises_markdown():
    from app.components.data import md_escape

    out = md_escape("**bold** :red[x] [link](http://e) <b>")
    for raw in ("**", ":red[", "](", "<b>"):
        assert raw not in out
    assert io.StringIO(out).read().replace("\\", "") == "**bold** :red[x] [link](http://e) <b>"
