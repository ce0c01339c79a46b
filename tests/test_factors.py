"""Clip factors (frame_core/model/factors.py): hand-computed values, cold cases, the penalty and
the auto rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from frame_core.data.prepare import prepare_data
from frame_core.model.config import AUTO_FACTOR_DIM, FrameConfig
from frame_core.model.factors import ClipFactors
from frame_core.training.optimizer import EMBEDDING_TABLES
from frame_core.training.trainer import build_model, make_scorer

from .engine_world import fast_config, random_features, random_log


def _factors():
    f = ClipFactors(n_users=2, n_clips=3, k=2)
    with torch.no_grad():
        f.p.weight.copy_(torch.tensor([[1.0, 2.0], [-1.0, 0.5]]))
        f.q.weight.copy_(torch.tensor([[0.5, 0.5], [2.0, -1.0], [3.0, 3.0]]))
        f.bu.weight.copy_(torch.tensor([[0.1], [0.2]]))
        f.bc.weight.copy_(torch.tensor([[1.0], [-1.0], [5.0]]))
    return f


def test_values_by_hand_and_cold_cases_are_zero():
    f = _factors()
    warm_user = torch.tensor([1.0, 0.0])  # user 1 has no training edge
    warm_clip = torch.tensor([1.0, 1.0, 0.0])  # clip 2 has no training label
    users = torch.tensor([0, 1, -1])
    clips = torch.tensor([[0, 1], [0, 1], [1, 2]])
    z = f(users, clips, warm_user, warm_clip)
    # user 0: <(1,2),(0.5,0.5)> + 0.1 + 1 = 2.6 ; <(1,2),(2,-1)> + 0.1 - 1 = -0.9
    # user 1 (cold): only the clip biases 1, -1 ; user -1 (unknown): clip 1 bias -1, cold clip 2 -> 0
    np.testing.assert_allclose(z.detach().numpy(), [[2.6, -0.9], [1.0, -1.0], [-1.0, 0.0]], atol=1e-6)
    # penalty: mean over users of |p_u|^2 (unknown user counts 0) + mean over cells of |q_c|^2
    pen = f.penalty(users, clips).item()
    assert pen == pytest.approx((5 + 1.25 + 0) / 3 + (0.5 + 5 + 0.5 + 5 + 5 + 18) / 6)


def test_scoring_tables_match_forward():
    f = _factors()
    warm_user, warm_clip = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0, 0.0])
    user, clip = f.tables(warm_user, warm_clip)
    assert user.shape == (3, 3) and clip.shape == (3, 3) and torch.all(user[-1] == 0)
    for u, row in ((0, 0), (1, 1), (-1, 2)):
        for c in range(3):
            want = f(torch.tensor([u]), torch.tensor([[c]]), warm_user, warm_clip).item()
            assert (user[row, :2] @ clip[c, :2] + user[row, 2] + clip[c, 2]).item() == pytest.approx(want)


def test_auto_dimension_follows_the_clip_input():
    cfg = FrameConfig()
    assert cfg.factor_dim is None
    assert cfg.resolved_factor_dim(True) == AUTO_FACTOR_DIM and cfg.resolved_factor_dim(False) == 0
    assert cfg.replace(factor_dim=4).resolved_factor_dim(False) == 4
    log = random_log(seed=4)
    data = prepare_data(log, 2)
    assert build_model(data, fast_config(nc=2, factor_dim=None)).factors.k == AUTO_FACTOR_DIM
    feats = random_features(sorted(log["video_id"].unique()), 2)
    vis = prepare_data(log, 2, features=feats)
    assert build_model(vis, fast_config(nc=2, factor_dim=None, id_embeddings=False)).factors is None
    assert build_model(data, fast_config(nc=2, factor_dim=0)).factors is None


def test_unknown_video_gets_no_factor_term():
    """A video outside the id map scores as FRAME alone would: its clip factors are zero."""
    log = random_log(seed=5)
    data = prepare_data(log, 2)
    m = build_model(data, fast_config(nc=2, factor_dim=3)).eval()
    with torch.no_grad():
        m.factors.bu.weight.fill_(0.7)
        m.factors.bc.weight.fill_(-2.0)
    sc = make_scorer(m, data)
    u = np.array([0, 1])
    _, p_new = sc.score_indices(u, np.array([-1, -1]), durations=np.array([10.0, 10.0]), video_ids=np.array(["x", "x"]))
    m.factors.bu.weight.data.zero_()
    sc.release()
    _, p_new0 = sc.score_indices(u, np.array([-1, -1]), durations=np.array([10.0, 10.0]), video_ids=np.array(["x", "x"]))
    # b_u still applies to a known user; b_c (here −2) never does on an unknown video
    assert np.all(p_new > p_new0)
    z_gap = np.log(p_new / (1 - p_new)) - np.log(p_new0 / (1 - p_new0))
    np.testing.assert_allclose(z_gap, 0.7, atol=1e-4)


def test_bad_factor_settings_are_refused():
    from frame_core.common.errors import InputError

    with pytest.raises(InputError, match="factor_dim"):
        FrameConfig(factor_dim=-1).validated()
    with pytest.raises(InputError, match="factor_l2"):
        FrameConfig(factor_l2=-0.1).validated()
    with pytest.raises(InputError, match="id_l2"):
        FrameConfig(id_l2=float("inf")).validated()


def test_data_biases_by_hand():
    from frame_core.model.factors import data_biases

    # overall rate g = 3/4; user 0: 2 of 2 passed → r = (2 + 5·0.75) / 7; clip 2 has no label → 0
    b_u, b_c, g = data_biases(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([1, 1, 0, 1]), 2, 3)

    def logit(p):
        return np.log(p / (1 - p))

    assert g == pytest.approx(logit(0.75))
    np.testing.assert_allclose(b_u, [logit(5.75 / 7) - logit(0.75), logit(4.75 / 7) - logit(0.75)], rtol=1e-5)
    np.testing.assert_allclose(b_c, [logit(4.75 / 7) - logit(0.75), logit(5.75 / 7) - logit(0.75), 0.0],
                               rtol=1e-5, atol=1e-7)


def test_bias_init_data_starts_the_biases_from_the_training_labels():
    log = random_log(seed=4)
    cfg = fast_config(nc=4, factor_dim=4, bias_init="data")
    data = prepare_data(log, cfg.nc, cfg.policy, cfg.norm)
    torch.manual_seed(0)
    m = build_model(data, cfg)
    torch.manual_seed(0)
    m0 = build_model(data, cfg.replace(bias_init="zero"))
    rows = data.rows(0)
    y, mask = data.clip_y[rows], data.clip_mask[rows]
    g = y[mask].mean()
    # the user with the highest training pass rate gets the largest b_u, and b_u has its sign
    rate = np.array([y[data.user_idx[rows] == u][mask[data.user_idx[rows] == u]].mean() for u in range(data.n_users)])
    bu = m.factors.bu.weight[:, 0].detach().numpy()
    assert np.argmax(bu) == np.argmax(rate) and np.all(np.sign(bu[np.abs(rate - g) > 0.02]) ==
                                                           np.sign(rate - g)[np.abs(rate - g) > 0.02])
    assert float((m.mlp_p.out.bias - m0.mlp_p.out.bias).detach()) == pytest.approx(np.log(g / (1 - g)) / float(m.alpha_pn[0]),
                                                                       rel=1e-4)
    assert torch.equal(m0.factors.bu.weight, torch.zeros_like(m0.factors.bu.weight))
    with pytest.raises(Exception, match="bias_init"):
        FrameConfig(bias_init="mean").validated()


def _shared():
    # 2 users, 2 videos × 2 clips; q holds the clips' own parts δ_c, qv the videos' parts
    f = ClipFactors(n_users=2, n_clips=4, k=2, nc=2, share=True)
    with torch.no_grad():
        f.p.weight.copy_(torch.tensor([[1.0, 2.0], [-1.0, 0.5]]))
        f.q.weight.copy_(torch.tensor([[0.5, 0.5], [2.0, -1.0], [3.0, 3.0], [0.0, 1.0]]))
        f.qv.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -2.0]]))
        f.bu.weight.copy_(torch.tensor([[0.1], [0.2]]))
        f.bc.weight.copy_(torch.tensor([[1.0], [-1.0], [5.0], [0.0]]))
    return f


def test_shared_factors_add_the_video_part_by_hand():
    f = _shared()
    warm_user, warm_clip = torch.tensor([1.0, 1.0]), torch.tensor([1.0, 1.0, 1.0, 0.0])  # clip 3 is cold
    users = torch.tensor([0, 1])
    clips = torch.tensor([[0, 1], [2, 3]])  # user 0 watched video 0, user 1 video 1
    z, pen = f.with_penalty(users, clips, warm_user, warm_clip)
    # user 0, clip 0: q = (0.5,0.5)+(1,0) = (1.5,0.5): <(1,2),(1.5,0.5)> + 0.1 + 1 = 3.6
    # user 0, clip 1: q = (2,-1)+(1,0) = (3,-1): 3 - 2 + 0.1 - 1 = 0.1
    # user 1, clip 2: q = (3,3)+(0,-2) = (3,1): -3 + 0.5 + 0.2 + 5 = 2.7 ; clip 3 cold: 0.2 only
    np.testing.assert_allclose(z.detach().numpy(), [[3.6, 0.1], [2.7, 0.2]], atol=1e-6)
    # penalty: mean_B |p|^2 + mean_{B×N_c} |δ_c|^2 + mean_B |q_v|^2
    want = (5 + 1.25) / 2 + (0.5 + 5 + 18 + 1) / 4 + (1 + 4) / 2
    assert pen.item() == pytest.approx(want)
    assert f.penalty(users, clips).item() == pytest.approx(want)
    assert torch.equal(f(users, clips, warm_user, warm_clip), z)
    # the scoring tables fold the video part into each clip's row
    user, clip = f.tables(warm_user, warm_clip)
    for u in (0, 1):
        for c in range(4):
            want_uc = f(torch.tensor([u]), torch.tensor([[c]]), warm_user, warm_clip).item()
            assert (user[u, :2] @ clip[c, :2] + user[u, 2] + clip[c, 2]).item() == pytest.approx(want_uc)


def test_a_model_with_shared_factors_trains_and_scores_like_its_forward():
    log = random_log(seed=5)
    data = prepare_data(log, 3)
    cfg = fast_config(nc=3, factor_share=True, factor_dim=4)
    model = build_model(data, cfg)
    assert model.factors.qv.weight.shape == (data.n_videos, 4)
    assert "factors.qv.weight" in EMBEDDING_TABLES  # trained with the id tables' learning rate
    with torch.no_grad():
        model.factors.qv.weight.normal_()  # a video part that matters
    model.eval()
    rows = np.arange(min(40, len(data.y)))
    _, p_clip = make_scorer(model, data).prepare().score_indices(data.user_idx[rows], data.video_idx[rows])
    with torch.no_grad():
        direct = torch.sigmoid(model(torch.from_numpy(data.user_idx[rows]), torch.from_numpy(data.video_idx[rows])))
    np.testing.assert_allclose(p_clip, direct.numpy(), atol=1e-5)
    # the loss's gradient reaches the video part of every video in the batch
    from frame_core.training.batches import BatchMaker

    model.train()
    rows = data.rows(0)
    model.loss(BatchMaker(data, True)(rows)).total.backward()
    seen = np.unique(data.video_idx[rows])
    grad = model.factors.qv.weight.grad.abs().amax(1)
    assert bool((grad[torch.from_numpy(seen)] > 0).all())
    assert float(grad.sum()) > 0


def test_auto_sharing_follows_views_per_video():
    from frame_core.training.data_rules import (
        SHARE_VIEWS_PER_VIDEO,
        resolve_factor_share,
        resolved_for,
        train_views_per_video,
    )

    sparse = prepare_data(random_log(n_users=12, n_videos=15, per_user=10, seed=1), 4)
    dense = prepare_data(random_log(n_users=200, n_videos=10, per_user=10, seed=1), 4)
    assert train_views_per_video(sparse) < SHARE_VIEWS_PER_VIDEO <= train_views_per_video(dense)
    auto = FrameConfig(nc=4)
    assert auto.factor_share is None
    assert resolve_factor_share(auto, sparse) is False and resolve_factor_share(auto, dense) is True
    dense1 = prepare_data(random_log(n_users=200, n_videos=10, per_user=10, seed=1), 1)
    assert resolve_factor_share(FrameConfig(nc=1), dense1) is False  # one clip per video: nothing to share
    assert resolve_factor_share(auto.replace(factor_share=False), dense) is False
    assert resolve_factor_share(auto.replace(factor_share=True), sparse) is True
    assert resolved_for(auto, dense).factor_share is True
