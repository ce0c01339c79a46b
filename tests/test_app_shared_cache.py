"""Shared read-only data of the app (README "The app under load"): held once per process in
``st.cache_resource``, handed out as copy-on-write shallow copies, and re-read when the files
behind it change."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import streamlit as st

from app.components import data as D
from app.components import runs as RU


def test_a_callers_writes_never_reach_the_shared_frame():
    st.cache_resource.clear()
    calls = []

    @st.cache_resource
    def held() -> pd.DataFrame:
        calls.append(1)
        return pd.DataFrame({"a": np.arange(5.0), "b": list("vwxyz")})

    first = D.shared(held())
    second = D.shared(held())
    assert len(calls) == 1
    assert first is not second
    assert np.shares_memory(first["a"].to_numpy(), held()["a"].to_numpy())  # nothing copied, nothing pickled
    first.loc[0, "a"] = 99.0
    first["new"] = 1
    first.iloc[1, 0] = -1.0
    assert held()["a"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert list(held().columns) == ["a", "b"]
    assert second["a"].iloc[0] == 0.0


def test_load_log_is_loaded_once_and_keyed_by_the_files_version(tmp_path, monkeypatch):
    st.cache_resource.clear()
    monkeypatch.setenv("FRAME_WORKSPACE", str(tmp_path / "ws"))
    ws = D.workspace()
    info = next(i for i in ws.list_datasets() if i.id == "sample-synthetic")
    v = D.dataset_version(info)
    a, b = D.load_log(info.id, v), D.load_log(info.id, v)
    assert a is not b and len(a) == len(b) > 0
    assert np.shares_memory(a["playing_time"].to_numpy(), b["playing_time"].to_numpy())
    a["playing_time"] = 0.0
    assert (D.load_log(info.id, v)["playing_time"] > 0).any()

    class Moved:  # the same dataset whose log file has another size / modification time
        created, path = info.created, tmp_path / "other.csv"

    Moved.path.write_text("x")
    assert D.dataset_version(Moved) != v
    st.cache_resource.clear()


def test_runs_stamp_changes_when_a_run_file_is_rewritten(tmp_path):
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    for name in RU.STAMPED:
        (run / name).write_text("{}")
    before = RU.runs_stamp(tmp_path / "runs")
    assert before[0][0] == "r1" and len(before[0][1]) == len(RU.STAMPED)
    t = time.time() + 5
    os.utime(run / "config.json", (t, t))  # a tampered config.json: same size, new time
    assert RU.runs_stamp(tmp_path / "runs") != before
    (run / "weights.pt").unlink()
    assert "weights.pt" not in {f[0] for f in RU.runs_stamp(tmp_path / "runs")[0][1]}
    assert RU.runs_stamp(tmp_path / "missing") == ()


def test_the_server_skips_streamlits_per_run_full_collection():
    import tomllib
    from pathlib import Path

    cfg = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    assert cfg["runner"]["postScriptGC"] is False


def test_the_warm_up_freezes_the_imported_objects_out_of_the_collector():
    import gc

    from app.components import warmup

    gc.unfreeze()
    try:
        warmup._import_all(("json", "no_such_module_for_the_warm_up_test"))  # a failed import is only logged
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_concurrent_first_callers_import_a_bundled_sample_once(monkeypatch):
    import threading

    from frame_core.services import samples as SM

    calls = []
    real = SM.import_log

    def counting(*a, **k):
        calls.append(1)
        time.sleep(0.2)  # long enough for every thread to arrive while the first one imports
        return real(*a, **k)

    monkeypatch.setattr(SM, "import_log", counting)
    monkeypatch.setattr(SM, "_COUNTS", {})
    b = SM.BUNDLED[0]
    out: list = []
    threads = [threading.Thread(target=lambda: out.append(SM.bundled_info(b).rows)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(set(out)) == 1 and out[0] > 0
