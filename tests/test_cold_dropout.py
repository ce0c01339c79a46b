"""``cold_dropout``: training steps that score some videos as new (frame_core/model/frame.py,
``FrameModel.cold_videos``; the auto rule in frame_core/training/trainer.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from frame_core.common.errors import InputError
from frame_core.data.prepare import prepare_data
from frame_core.model.config import FrameConfig
from frame_core.model.scorer import Scorer
from frame_core.training.data_rules import MAX_COLD_DROPOUT, resolve_cold_dropout
from frame_core.training.trainer import build_model, train_model

from .engine_world import fast_config, random_log


def _model(**kw):
    torch.manual_seed(0)
    data = prepare_data(random_log(seed=3), 4)
    cfg = fast_config(nc=4, dropout=0.0, exclude_batch_edges=False, **kw)
    return data, build_model(data, cfg)


@pytest.mark.parametrize("share", [False, True])
def test_a_video_dropped_as_new_is_scored_exactly_as_a_new_video(monkeypatch, share):
    data, m = _model(cold_dropout=0.5, factor_share=share)
    with torch.no_grad():  # give the clip factors' biases and the user biases a visible value
        m.factors.bc.weight.normal_(0, 1)
        m.factors.bu.weight.normal_(0, 1)
    rows = np.arange(8)
    users, videos = data.user_idx[rows], data.video_idx[rows]
    assert data.warm.reshape(-1, 4)[videos].all()  # all warm: each has its id, edges and factors
    m.train()
    monkeypatch.setattr(m, "cold_videos", lambda uniq: torch.ones(len(uniq), dtype=torch.bool))
    with torch.no_grad():
        dropped = torch.sigmoid(m(torch.from_numpy(users), torch.from_numpy(videos))).numpy()
    m.eval()
    sc = Scorer(m, data.maps, data.durations)
    new_ids = np.array([f"never-seen-{i}" for i in rows], dtype=object)
    _, as_new = sc.score_indices(users, np.full(len(rows), -1), data.durations[videos], new_ids)
    _, as_warm = sc.score_indices(users, videos)
    np.testing.assert_allclose(dropped, as_new, atol=1e-5)
    assert np.abs(as_warm - as_new).max() > 1e-3  # the drop changed the scores: the test can fail


def test_drops_are_whole_videos_at_the_set_rate_and_only_in_training():
    data, m = _model(cold_dropout=0.3)
    uniq = torch.arange(400 * 4)  # 400 videos' clips, grouped by video
    m.train()
    torch.manual_seed(1)
    drop = m.cold_videos(uniq)
    per_video = drop.view(400, 4)
    assert (per_video.all(1) | ~per_video.any(1)).all()  # a video's clips go together
    assert 0.24 < per_video[:, 0].float().mean() < 0.36
    m.eval()
    assert m.cold_videos(uniq) is None
    _, m0 = _model(cold_dropout=0.0)
    assert m0.train().cold_videos(uniq) is None


def test_auto_rate_is_the_validation_share_of_new_videos():
    log = random_log(n_users=6, n_videos=12, per_user=6, seed=5)
    part = np.zeros(len(log), "int8")
    vids = log["video_id"].to_numpy()
    last = log.groupby("user_id").tail(2).index.to_numpy()
    part[last] = 1  # each user's last two views are validation
    only_val = set(vids[last]) - set(vids[part == 0])
    data = prepare_data(log, 2, part=part)
    val = part == 1
    want = np.isin(vids[val], list(only_val)).mean()
    assert resolve_cold_dropout(FrameConfig(cold_dropout=None), data) == pytest.approx(min(want, MAX_COLD_DROPOUT))
    assert resolve_cold_dropout(FrameConfig(cold_dropout=0.2), data) == 0.2
    # every validation video new: capped
    part_all = np.zeros(len(log), "int8")
    part_all[np.isin(vids, ["v0", "v1", "v2"])] = 1
    data_all = prepare_data(log, 2, part=part_all)
    assert resolve_cold_dropout(FrameConfig(cold_dropout=None), data_all) == MAX_COLD_DROPOUT
    # no validation rows: nothing to estimate from
    assert resolve_cold_dropout(FrameConfig(cold_dropout=None), prepare_data(log, 2, part=np.zeros(len(log), "int8"))) == 0.0


def test_trained_config_records_the_resolved_rate():
    log = random_log(seed=7)
    data = prepare_data(log, 2)
    res = train_model(data, fast_config(nc=2, cold_dropout=None, epochs=1))
    assert res.config.cold_dropout == pytest.approx(resolve_cold_dropout(FrameConfig(cold_dropout=None), data))
    assert res.config.cold_dropout is not None


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2, True, "x"])
def test_invalid_rates_are_refused(bad):
    with pytest.raises(InputError, match="cold_dropout"):
        FrameConfig(cold_dropout=bad).validated()
