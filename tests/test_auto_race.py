"""Auto settings: the trainer races the candidate configurations on validation AUC and keeps the
better one; the run folder records what was trained and what was asked for."""

from __future__ import annotations

import json

import numpy as np
import pytest

from frame_core import runs as R
from frame_core.data.prepare import prepare_data
from frame_core.model.config import FrameConfig
from frame_core.training.pipeline import train_run
from frame_core.training.trainer import AUTO_RACE_MAX_TRAIN_VIEWS, auto_candidates, best_val_auc, train_model

from .engine_world import synth_log

SMALL = dict(emb_dim=8, mlp_sizes=(8,), epochs=2, patience=2, batch_size=64, factor_dim=0)  # the race runs without clip factors


def test_auto_candidates():
    auto = FrameConfig(**SMALL)
    assert auto.is_auto and not auto.static().is_auto
    c = auto_candidates(auto, 1000)
    assert [(x.exclude_batch_edges, x.video_score) for x in c] == [(True, "product"), (False, "mean")]
    one = auto_candidates(auto, AUTO_RACE_MAX_TRAIN_VIEWS + 1)
    assert [(x.exclude_batch_edges, x.video_score) for x in one] == [(True, "product")]
    half = auto_candidates(auto.replace(exclude_batch_edges=False), 1000)
    assert [(x.exclude_batch_edges, x.video_score) for x in half] == [(False, "product"), (False, "mean")]
    fixed = auto.replace(exclude_batch_edges=True, video_score="mean")
    assert auto_candidates(fixed, 1000) == [fixed]
    sparse = auto_candidates(auto, 1000, views_per_video=4.0)  # most test videos would be new: no race
    assert [(x.exclude_batch_edges, x.video_score) for x in sparse] == [(True, "product")]
    # clip factors (auto: on with id embeddings, off with visual features) turn the race off
    fac = auto.replace(factor_dim=None)
    assert [(x.exclude_batch_edges, x.video_score) for x in auto_candidates(fac, 1000)] == [(True, "product")]
    assert len(auto_candidates(fac, 1000, has_features=True)) == 2
    assert len(auto_candidates(fac.replace(factor_dim=0), 1000)) == 2


def test_race_keeps_the_candidate_with_the_better_validation_auc(tmp_path):
    log = synth_log(tmp_path / "w", users=50, videos=20, per_user=12, seed=9)  # ≥ 10 views per video
    data = prepare_data(log, 3)
    events = []
    res = train_model(data, FrameConfig(nc=3, **SMALL), progress=events.append)
    assert len(res.auto) == 2
    scores = [r["val_auc"] for r in res.auto]
    winner = res.auto[int(np.nanargmax(scores))]
    assert (res.config.exclude_batch_edges, res.config.video_score) == (winner["exclude_batch_edges"],
                                                                       winner["video_score"])
    assert best_val_auc(res) == pytest.approx(max(scores))
    assert res.model.cfg.video_score == res.config.video_score  # the kept model is the winner's
    assert {e.get("candidate") for e in events if e["event"] == "epoch"} == {1, 2}
    assert sum(e["event"] == "status" for e in events) == 2


def test_run_folder_records_the_trained_and_the_requested_config(tmp_path):
    log = synth_log(tmp_path / "w", users=50, videos=20, per_user=12, seed=10)
    run = train_run(log, tmp_path / "run", FrameConfig(nc=3, **SMALL))
    info = json.loads((tmp_path / "run" / R.CONFIG).read_text())
    assert info["requested_config"]["video_score"] == "auto" and info["requested_config"]["exclude_batch_edges"] is None
    assert info["config"]["video_score"] in ("product", "mean") and info["config"]["exclude_batch_edges"] in (True, False)
    assert len(run.metrics["auto"]) == 2 and run.metrics["video_score"] == info["config"]["video_score"]
    again = R.load_run(tmp_path / "run")
    df = log.head(50)
    np.testing.assert_allclose(again.predict(df)["p_full"], run.predict(df)["p_full"])
