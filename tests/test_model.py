"""The FRAME model: shapes, switches, sparse propagation, cold users and clips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from frame_core.common.errors import InputError
from frame_core.data.prepare import prepare_data
from frame_core.model.config import FrameConfig
from frame_core.model.heads import log1mexp, video_log_probs, video_probs
from frame_core.model.scorer import Scorer
from frame_core.model.sparse import spmm
from frame_core.training.trainer import build_model

from .engine_world import fast_config, random_features, random_log


def _setup(**kw):
    torch.manual_seed(0)
    log = random_log(seed=1)
    cfg = fast_config(nc=kw.pop("nc", 4), **kw)
    feats = kw.get("features")
    data = prepare_data(log, cfg.nc, cfg.policy, cfg.norm, features=feats)
    return data, cfg, build_model(data, cfg)


def test_shapes():
    data, cfg, m = _setup()
    U, C, d = data.n_users, data.n_clips, cfg.emb_dim
    h0 = m.h_c0_all()
    assert h0.shape == (C, d)
    hup, hun = m.user_interest(h0)
    assert hup.shape == hun.shape == (U, d)
    clips = np.array([0, 5, 7])
    assert m.two_hop(hup, hun, clips).shape == (3, d)
    assert m.two_hop(hup, hun).shape == (C, d)
    u = torch.tensor([0, 1])
    h_c = m.combine(h0[:8].reshape(2, 4, d), torch.zeros(2, 4, d))
    assert m.clip_logits(hup[u], hun[u], h_c, u).shape == (2, 4)


def test_subset_two_hop_equals_full():
    data, cfg, m = _setup()
    with torch.no_grad():
        h0 = m.h_c0_all()
        hup, hun = m.user_interest(h0)
        full = m.two_hop(hup, hun)
        clips = np.array([3, 0, 11])
        assert torch.allclose(m.two_hop(hup, hun, clips), full[clips], atol=1e-6)


def test_spmm_gradient_matches_dense():
    import scipy.sparse as sp

    from frame_core.data.graphs import to_torch_csr

    A = sp.random(5, 7, density=0.4, format="csr", random_state=0, dtype="float32")
    X = torch.randn(7, 3, requires_grad=True)
    spmm(to_torch_csr(A), to_torch_csr(A.T.tocsr()), X).pow(2).sum().backward()
    X2 = X.detach().clone().requires_grad_(True)
    (torch.from_numpy(A.toarray()) @ X2).pow(2).sum().backward()
    assert torch.allclose(X.grad, X2.grad, atol=1e-5)


def test_shared_w_and_alpha_switches():
    _, _, m = _setup(shared_w=True, learn_alpha01=True, learn_alpha_pn=False)
    keys = set(m.state_dict())
    assert "w_n1.weight" not in keys and "w_p1.weight" in keys
    names = {n for n, _ in m.named_parameters()}
    assert "alpha01" in names and "alpha_pn" not in names
    assert m.alpha_pn.tolist() == [1.0, 1.0]
    _, _, m2 = _setup(alpha_p=0.8, alpha_n=0.2, learn_alpha_pn=False)
    assert m2.alpha_pn.tolist() == pytest.approx([0.8, 0.2])
    _, _, m3 = _setup()
    assert "w_n1.weight" in m3.state_dict()


def test_user_bias_and_no_metadata_and_dot():
    _, _, m = _setup(user_bias=True, metadata=False, interaction="mlp+dot")
    assert m.user_b is not None and m.meta is None and m.dot_p is not None
    assert float(m.user_b.weight.detach().abs().sum()) == 0.0


def test_video_scores():
    logits = torch.tensor([[0.0, 2.0], [-1.0, 1.0]])
    p = torch.sigmoid(logits)
    assert torch.allclose(video_probs(logits, "product"), p.prod(-1))
    assert torch.allclose(video_probs(logits, "mean"), p.mean(-1))
    for mode in ("product", "mean"):
        lp, l1p = video_log_probs(logits, mode)
        assert torch.allclose(lp.exp(), video_probs(logits, mode), atol=1e-6)
        assert torch.allclose(l1p.exp(), 1 - video_probs(logits, mode), atol=1e-6)


def test_log1mexp_is_stable():
    x = torch.tensor([-1e-10, -1e-3, -0.5, -5.0, -50.0])
    out = log1mexp(x)
    assert torch.isfinite(out).all()
    assert out[-1].item() == pytest.approx(-np.exp(-50.0), rel=1e-3)
    assert out[2].item() == pytest.approx(np.log(1 - np.exp(-0.5)))


def test_cold_clip_ignores_its_id_embedding():
    data, cfg, m = _setup()
    cold = np.flatnonzero(~data.warm)
    assert len(cold) > 0
    with torch.no_grad():
        before = m.h_c0_all()[cold].clone()
        m.clip_id.weight[cold] += 5.0
        assert torch.equal(m.h_c0_all()[cold], before)


def test_training_logits_match_scorer():
    data, cfg, m = _setup(interaction="mlp+dot")
    with torch.no_grad():
        m.dot_p.fill_(0.3)
        m.dot_n.fill_(-0.2)
    m.eval()
    rows = np.arange(10)
    u = torch.from_numpy(data.user_idx[rows])
    clips = torch.from_numpy(data.video_idx[rows])[:, None] * cfg.nc + torch.arange(cfg.nc)
    with torch.no_grad():
        h0 = m.h_c0_all()
        hup, hun = m.user_interest(h0)
        uniq, inv = torch.unique(clips, return_inverse=True)
        h_c = m.combine(h0[clips], m.two_hop(hup, hun, uniq.numpy())[inv])
        z = m.clip_logits(hup[u], hun[u], h_c, u) + m.factors(u, clips, m.warm_user, m.warm)
        p_train = torch.sigmoid(z).numpy()
    _, p_clip = Scorer(m, data.maps, data.durations).score_indices(data.user_idx[rows], data.video_idx[rows])
    np.testing.assert_allclose(p_clip, p_train, atol=1e-5)


def test_cold_user_and_unknown_user_get_the_same_score():
    log = random_log(seed=2)
    cfg = fast_config(nc=3)
    part = np.zeros(len(log), "int8")
    part[log["user_id"].to_numpy() == "u0"] = 2  # u0 only in test: in the id map, no edges
    data = prepare_data(log, 3, part=part)
    m = build_model(data, cfg).eval()
    sc = Scorer(m, data.maps, data.durations)
    u0 = data.maps.user_index(["u0"])[0]
    v = data.video_idx[:5]
    p_in, c_in = sc.score_indices(np.full(5, u0), v)
    p_out, c_out = sc.score_indices(np.full(5, -1), v)
    np.testing.assert_allclose(p_in, p_out, atol=1e-6)
    np.testing.assert_allclose(c_in, c_out, atol=1e-6)


def test_cold_video_in_map_equals_unknown_video():
    log = random_log(seed=3)
    part = np.zeros(len(log), "int8")
    part[log["video_id"].to_numpy() == "v3"] = 2  # v3 never in training
    data = prepare_data(log, 4, part=part)
    m = build_model(data, fast_config(nc=4)).eval()
    sc = Scorer(m, data.maps, data.durations)
    vi = data.maps.video_index(["v3"])[0]
    users = data.user_idx[:4]
    dur = np.full(4, data.durations[vi])
    p_in, _ = sc.score_indices(users, np.full(4, vi))
    p_out, _ = sc.score_indices(users, np.full(4, -1), dur, np.array(["brand-new"] * 4, dtype=object))
    np.testing.assert_allclose(p_in, p_out, atol=1e-6)
    assert np.isfinite(p_out).all() and ((p_out > 0) & (p_out < 1)).all()


def test_visual_features_enter_h_c0():
    log = random_log(seed=4)
    feats = random_features(sorted(log["video_id"].unique()), nc=2, dim=5)
    data = prepare_data(log, 2, features=feats)
    cfg = fast_config(nc=2)
    m = build_model(data, cfg)
    assert m.feat_dim == 5 and m.clip_id is None  # id embeddings only without features (default)
    assert m.h_c0_all().shape == (data.n_clips, cfg.emb_dim)
    with_ids = build_model(data, cfg.replace(id_embeddings=True))
    assert with_ids.clip_id is not None


def test_features_for_another_nc_are_rejected():
    log = random_log(seed=4)
    feats = random_features(sorted(log["video_id"].unique()), nc=2)
    with pytest.raises(InputError, match="N_c"):
        prepare_data(log.assign(video_id="x" + log["video_id"]), 2, features=feats)


def test_config_round_trip_and_validation():
    cfg = FrameConfig(mlp_sizes=(32, 16))
    back = FrameConfig.from_dict(cfg.to_dict())
    assert back == cfg.validated()
    with pytest.raises(InputError):
        FrameConfig(policy="nope").validated()
    with pytest.raises(InputError):
        FrameConfig.from_dict({"bogus": 1})
    with pytest.raises(InputError):
        FrameConfig(lr=-1).validated()


@pytest.mark.parametrize("mlp_sizes", [(8,), (8, 4)])
def test_scorer_chunks_and_unknown_videos_keep_row_order(monkeypatch, mlp_sizes):
    import frame_core.model.scorer as inference

    data, cfg, m = _setup(interaction="mlp+dot", mlp_sizes=mlp_sizes)
    with torch.no_grad():
        m.dot_p.fill_(0.3)  # the inner-product term starts at zero: make it count
    m.eval()
    rng = np.random.default_rng(0)
    n = 23
    users = data.user_idx[rng.integers(0, len(data.user_idx), n)]
    videos = data.video_idx[rng.integers(0, len(data.video_idx), n)].copy()
    videos[[2, 9, 17]] = -1  # unknown videos interleaved with known ones
    dur = np.full(n, 12.0)
    ids = np.array([f"new{i % 2}" for i in range(n)], dtype=object)
    one_by_one = [Scorer(m, data.maps, data.durations).score_indices(users[i:i + 1], videos[i:i + 1], dur[i:i + 1],
                                                                     ids[i:i + 1]) for i in range(n)]
    monkeypatch.setattr(inference, "CHUNK", 4)  # several chunks, the last one partial
    p_full, p_clip = Scorer(m, data.maps, data.durations).score_indices(users, videos, dur, ids)
    np.testing.assert_allclose(p_full, [p[0][0] for p in one_by_one], atol=1e-6)
    np.testing.assert_allclose(p_clip, np.vstack([p[1] for p in one_by_one]), atol=1e-6)


def test_user_embedding_is_masked_for_cold_users():
    log = random_log(seed=2)
    part = np.zeros(len(log), "int8")
    part[log["user_id"].to_numpy() == "u0"] = 2  # u0 only in test: in the id map, no edges
    data = prepare_data(log, 3, part=part)
    m = build_model(data, fast_config(nc=3, user_embedding=True)).eval()
    u0 = data.maps.user_index(["u0"])[0]
    assert m.warm_user[u0] == 0 and m.warm_user.sum() == data.n_users - 1
    with torch.no_grad():
        m.user_e.weight.add_(1.0)  # a cold user's vector must not reach its interest
        hup, hun = m.user_interest(m.h_c0_all())
    torch.testing.assert_close(hup[u0], m.cold_user())
    torch.testing.assert_close(hun[u0], m.cold_user())
    sc = Scorer(m, data.maps, data.durations)
    v = data.video_idx[:5]
    p_in, _ = sc.score_indices(np.full(5, u0), v)
    p_out, _ = sc.score_indices(np.full(5, -1), v)
    np.testing.assert_allclose(p_in, p_out, atol=1e-6)
    warm_u = int(np.flatnonzero(m.warm_user.numpy())[0])
    without = build_model(data, fast_config(nc=3)).eval()
    assert not torch.allclose(hup[warm_u], without.user_interest(without.h_c0_all())[0][warm_u])


@pytest.mark.parametrize("sizes", [(16,), (16, 8)])
def test_fused_relu_dropout_output_matches_the_plain_ops(sizes):
    """ClipMLP.rest in training (ReLU, dropout and the output layer as one autograd function)
    gives the values and gradients of the ops one after another with the same dropout draws."""
    from frame_core.model.heads import ClipMLP
    from frame_core.model.heads import dropout as drop_fn

    torch.manual_seed(0)
    mlp = ClipMLP(8, sizes, dropout=0.3).train()
    a = torch.randn(50, 4, sizes[0], dtype=torch.float64, requires_grad=True)
    mlp = mlp.double()

    def plain(x):
        p = mlp.dropout.p
        for lin in mlp.layers[1:]:
            x = lin(drop_fn(torch.relu(x), p, True))
        return mlp.out(drop_fn(torch.relu(x), p, True)).squeeze(-1)

    torch.manual_seed(5)
    z1 = mlp.rest(a)
    g = torch.randn_like(z1)
    grads1 = torch.autograd.grad(z1, [a, *mlp.parameters()], g, allow_unused=True)
    torch.manual_seed(5)  # the same dropout draws
    z2 = plain(a)
    grads2 = torch.autograd.grad(z2, [a, *mlp.parameters()], g, allow_unused=True)
    torch.testing.assert_close(z1, z2, rtol=0, atol=1e-12)
    for x, y in zip(grads1, grads2):
        if x is None or y is None:
            assert x is None and y is None
        else:
            torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12)
    assert (z1 != mlp.eval().rest(a)).any()  # dropout did act in training


def test_fused_relu_dropout_gradcheck():
    from frame_core.model.heads import _ReluDropOut

    torch.manual_seed(1)
    a = torch.randn(6, 3, 5, dtype=torch.float64, requires_grad=True)
    keep = torch.rand(6, 3, 5) > 0.3
    w = torch.randn(1, 5, dtype=torch.float64, requires_grad=True)
    b = torch.randn(1, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a_, w_, b_: _ReluDropOut.apply(a_, keep, 1.25, w_, b_), (a, w, b))
