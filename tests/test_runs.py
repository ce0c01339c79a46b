"""Run folders: files, atomic finish marker, listing, loading, inference round trip, ablation."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pandas as pd
import pytest
import torch

from frame_core import runs as R
from frame_core.common.atomic import atomic_write_json
from frame_core.common.errors import CancelledError, InputError
from frame_core.experiments.ablation import parse_ncs, run_ablation
from frame_core.training.pipeline import train_run

from .engine_world import fast_config, random_features, synth_log


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return synth_log(tmp_path_factory.mktemp("world"), users=24, videos=30, per_user=12, seed=2)


@pytest.fixture(scope="module")
def run(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r1"
    return train_run(world, out, fast_config(nc=3), source="synthetic")


def test_run_folder_files(run):
    p = run.path
    for name in (R.CONFIG, R.HISTORY, R.METRICS, R.WEIGHTS, R.ID_MAPS, R.DURATIONS, R.GRAPH_POS, R.GRAPH_NEG,
                 R.TEST_PRED, R.TEST_CLIP_PRED, R.DONE):
        assert (p / name).exists(), name
    info = json.loads((p / R.CONFIG).read_text())
    assert info["status"] == "finished" and info["seed"] == 0 and info["config"]["nc"] == 3
    assert len(info["data"]["sha256"]) == 64 and info["versions"]["torch"] == torch.__version__
    m = json.loads((p / R.METRICS).read_text())
    for k in ("auc", "gauc", "logloss", "recall@3", "ndcg@3", "recall@5", "ndcg@5", "val_auc", "skip_hit@1",
              "skip_hit@1_random", "skip_hit@1_prior", "best_epoch", "train_seconds"):
        assert k in m, k
    pred = pd.read_csv(p / R.TEST_PRED)
    assert list(pred.columns[:5]) == ["user_id", "video_id", "interaction_timestamp", "y", "p_full"]
    clip = pd.read_csv(p / R.TEST_CLIP_PRED)
    assert [c for c in clip.columns if c.startswith("p_clip_")] == ["p_clip_0", "p_clip_1", "p_clip_2"]
    hist = pd.read_csv(p / R.HISTORY)
    assert {"epoch", "loss", "val_auc", "elapsed"} <= set(hist.columns)
    assert not list(p.glob(".*.tmp"))  # no temp files left behind


def test_weights_are_a_plain_state_dict(run):
    state = torch.load(run.path / R.WEIGHTS, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())


def test_reload_predicts_identically(run):
    again = R.load_run(run.path)
    test = again.test_predictions()
    pred = again.predict(test)
    assert list(pred.columns) == ["user_id", "video_id", "p_full", "p_clip_0", "p_clip_1", "p_clip_2"]
    np.testing.assert_array_equal(pred["p_full"].to_numpy(), test["p_full"].to_numpy())
    clip = again.test_clip_predictions()
    np.testing.assert_allclose(pred[["p_clip_0", "p_clip_1", "p_clip_2"]].to_numpy(),
                               clip[["p_clip_0", "p_clip_1", "p_clip_2"]].to_numpy(), rtol=0, atol=1e-12)


def test_predict_unknown_ids_and_bad_input(run):
    df = pd.DataFrame({"user_id": ["nobody", run.maps.users[0]], "video_id": ["new-video", "another"],
                       "duration_time": [12.0, np.nan]})
    out = run.predict(df)
    assert len(out) == 2 and np.isfinite(out["p_full"]).all()
    assert ((out["p_full"] > 0) & (out["p_full"] < 1)).all()
    with pytest.raises(InputError):
        run.predict(pd.DataFrame({"user_id": ["a"]}))
    assert len(run.predict(df.iloc[:0])) == 0


def test_list_runs_only_lists_finished(run, tmp_path):
    root = run.path.parent
    listed = R.list_runs(root)
    assert run.path.name in set(listed["run_id"])
    assert listed.loc[listed["run_id"] == run.path.name, "auc"].notna().all()
    # a run folder without DONE (e.g. killed before the end) is not listed as finished
    fake = root / "half"
    fake.mkdir()
    atomic_write_json(fake / R.CONFIG, {"status": "running", "pid": 2**22 + 12345, "host": os.uname().nodename,
                                          "config": {"nc": 2}})
    assert "half" not in set(R.list_runs(root)["run_id"])
    allr = R.list_runs(root, include_unfinished=True)
    assert allr.loc[allr["run_id"] == "half", "status"].item() == "interrupted"
    with pytest.raises(InputError, match="did not finish"):
        R.load_run(fake)
    # even a config that says finished is not trusted without DONE
    atomic_write_json(fake / R.CONFIG, {"status": "finished", "config": {"nc": 2}})
    assert "half" not in set(R.list_runs(root)["run_id"])


def test_cancelled_run_is_marked_and_not_listed(world, tmp_path):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        train_run(world, tmp_path / "c", fast_config(nc=2), cancel=cancel)
    info = json.loads((tmp_path / "c" / R.CONFIG).read_text())
    assert info["status"] == "cancelled" and not (tmp_path / "c" / R.DONE).exists()
    assert len(R.list_runs(tmp_path)) == 0
    assert R.list_runs(tmp_path, include_unfinished=True)["status"].tolist() == ["cancelled"]


def test_existing_run_folder_is_not_overwritten(run):
    with pytest.raises(InputError, match="already exists"):
        train_run(pd.DataFrame(), run.path, fast_config(nc=2))


def test_visual_features_round_trip(world, tmp_path):
    feats = random_features(sorted(world["video_id"].unique()), nc=2, dim=4)
    r = train_run(world, tmp_path / "vis", fast_config(nc=2), features=feats)
    assert (tmp_path / "vis" / "clip_features.npy").exists() and r.info["features"]["dim"] == 4
    again = R.load_run(tmp_path / "vis")
    test = again.test_predictions()
    np.testing.assert_array_equal(again.predict(test)["p_full"].to_numpy(), test["p_full"].to_numpy())


def test_ablation_table(world, tmp_path):
    res = run_ablation(world, tmp_path / "abl", ncs="1,2", seeds=2, base_config=fast_config(epochs=1))
    assert len(res) == 6 and set(res["model"]) == {"coarse (N_c = 1)", "FRAME (N_c = 2)",
                                                   "reference (user mean + video mean)"}
    md = (tmp_path / "abl" / "results.md").read_text()
    assert "±" in md and "reference" in md
    csv = pd.read_csv(tmp_path / "abl" / "results.csv")
    assert list(csv.columns[:4]) == ["model", "nc", "seed", "auc"]
    assert len(R.list_runs(tmp_path / "abl" / "runs")) == 4
    with pytest.raises(InputError):
        parse_ncs("1,x")
