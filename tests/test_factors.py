"""Clip factors (frame_core/model/factors.py): hand-computed values, cold cases, the penalty and
the auto rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from frame_core.data.prepare import prepare_data
from frame_core.model.config import AUTO_FACTOR_DIM, FrameConfig
from frame_core.model.factors import ClipFactors
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
