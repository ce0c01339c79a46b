"""The training step's first hop from constant graph products (frame_core/model/hop_terms.py)
equals the direct computation over H_c0, in value and in every parameter's gradient; the
scorer's per-video tables equal the full ones; the fast dropout is a dropout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from frame_core.data.prepare import prepare_data
from frame_core.model.batch import batch_clip_index
from frame_core.model.heads import dropout
from frame_core.model.hop_terms import h0_rows, training_first_hop
from frame_core.model.sparse import first_hop
from frame_core.training.batches import BatchMaker
from frame_core.training.trainer import build_model, make_scorer

from .engine_world import fast_config, random_features, random_log


def _model(**kw):
    torch.manual_seed(0)
    log = random_log(seed=5)
    cfg = fast_config(nc=4, **kw)
    feats = random_features(sorted(log["video_id"].unique()), 4)  # features, metadata and ids: every term
    data = prepare_data(log, cfg.nc, cfg.policy, cfg.norm, features=feats)
    m = build_model(data, cfg)
    for p in m.parameters():  # every term non-trivial (biases are zero at init)
        torch.nn.init.normal_(p, std=0.3)
    return data, m


def _direct(m, sel, remove):
    agg_p, agg_n, picked = first_hop(m.graph, m.h_c0_all(), remove, sel)
    return agg_p, agg_n, picked


@pytest.mark.parametrize("kw", [{"id_embeddings": True}, {"id_embeddings": False},
                                {"id_embeddings": True, "metadata": False}])
@pytest.mark.parametrize("exclude", [True, False])
def test_training_first_hop_equals_the_direct_product_and_its_gradients(kw, exclude):
    data, m = _model(**kw)
    batch = BatchMaker(data, exclude_batch_edges=exclude)(data.rows(0)[:40])
    _, uniq, _ = batch_clip_index(batch.videos, m.nc)
    rng = torch.Generator().manual_seed(1)
    outs = {}
    for name, fn in (("fast", lambda: training_first_hop(m, uniq, batch.remove)[:3]),
                     ("direct", lambda: _direct(m, uniq, batch.remove))):
        m.zero_grad(set_to_none=True)
        agg_p, agg_n, h0u = fn()
        rng.manual_seed(1)
        w = [torch.randn(t.shape, generator=rng) for t in (agg_p, agg_n, h0u)]
        (sum((t * wi).sum() for t, wi in zip((agg_p, agg_n, h0u), w))).backward()
        outs[name] = ([t.detach().clone() for t in (agg_p, agg_n, h0u)],
                      {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None})
    (vf, gf), (vd, gd) = outs["fast"], outs["direct"]
    for a, b in zip(vf, vd):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert gf.keys() == gd.keys() and gf
    for n in gd:
        torch.testing.assert_close(gf[n], gd[n], rtol=1e-4, atol=1e-4, msg=f"gradient of {n}")


def test_h0_rows_equal_h_c0_all_rows():
    data, m = _model(id_embeddings=True)
    sel = torch.tensor([0, 5, 7, m.n_clips - 1])
    with torch.no_grad():
        torch.testing.assert_close(h0_rows(m, sel), m.h_c0_all()[sel], rtol=1e-5, atol=1e-6)


def test_scorer_tables_for_some_videos_give_the_same_scores_and_grow_when_needed():
    data, m = _model(id_embeddings=True)
    m.eval()
    rows = data.rows(1)
    u, v = data.user_idx[rows], data.video_idx[rows]
    full = make_scorer(m, data).prepare().score_indices(u, v)
    sc = make_scorer(m, data).prepare(v)
    assert sc.clip_a.shape[0] == len(np.unique(v)) * m.nc < m.n_clips
    part = sc.score_indices(u, v)
    np.testing.assert_allclose(part[0], full[0], atol=1e-6)
    np.testing.assert_allclose(part[1], full[1], atol=1e-6)
    others = np.setdiff1d(np.arange(m.n_videos), v)[:3]  # videos outside the built tables
    got = sc.score_indices(np.zeros(3, dtype="int64"), others)
    want = make_scorer(m, data).prepare().score_indices(np.zeros(3, dtype="int64"), others)
    np.testing.assert_allclose(got[0], want[0], atol=1e-6)
    assert sc.clip_a.shape[0] == m.n_clips


def test_dropout_zeroes_a_share_p_and_keeps_the_mean():
    x = torch.ones(200_000)
    torch.manual_seed(0)
    y = dropout(x, 0.1, True)
    assert abs(float((y == 0).float().mean()) - 0.1) < 0.004
    np.testing.assert_allclose(np.unique(y.numpy()), [0.0, 65536 / (65536 - 6554)], rtol=1e-6)
    assert abs(float(y.mean()) - 1.0) < 0.01
    torch.manual_seed(0)
    assert torch.equal(dropout(x, 0.1, True), y)  # torch's seed decides the mask
    assert dropout(x, 0.1, False) is x and dropout(x, 0.0, True) is x
    assert float(dropout(x, 1.0, True).abs().sum()) == 0.0


def test_dropout_gradient_is_the_mask():
    x = torch.randn(1000, requires_grad=True)
    torch.manual_seed(3)
    y = dropout(x, 0.5, True)
    y.sum().backward()
    kept = y.detach() != 0
    assert torch.allclose(x.grad[kept], torch.full_like(x.grad[kept], 65536 / 32768))
    assert torch.all(x.grad[~kept] == 0)


@pytest.mark.parametrize("kw", [{"id_embeddings": True, "hybrid_lambda": 0.5},
                                {"id_embeddings": False, "hybrid_lambda": 0.0, "factor_dim": 4},
                                {"id_embeddings": True, "video_score": "mean", "factor_dim": 0}])
def test_chunked_loss_and_backward_equals_the_whole_batch(kw):
    from frame_core.training.chunked_loss import loss_and_backward

    data, m = _model(dropout=0.0, **kw)
    m.train()
    batch = BatchMaker(data, exclude_batch_edges=True)(data.rows(0)[:45])
    batch.users[:3] = -1  # cold users take the σ(0) interest in every chunk
    m.zero_grad(set_to_none=True)
    whole = m.loss(batch)
    whole.total.backward()
    want = {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None}
    m.zero_grad(set_to_none=True)
    parts = loss_and_backward(m, batch, chunk=7)
    got = {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None}
    for name in ("total", "clip", "video"):
        assert abs(float(getattr(parts, name)) - float(getattr(whole, name).detach())) < 1e-5, name
    assert got.keys() == want.keys()
    for n in want:
        torch.testing.assert_close(got[n], want[n], rtol=1e-4, atol=1e-5, msg=f"gradient of {n}")


def test_a_cold_clip_with_an_edge_is_masked_out_of_the_id_term():
    """The graphs never hold an edge to a cold clip, but the id term stays exact if they do."""
    from frame_core.model.hop_terms import HopTerms

    data, m = _model(id_embeddings=True)
    col = int(m.graph.S.col_indices()[0])  # a clip with an edge, made cold
    m.warm[col] = 0.0
    m.hop_terms = HopTerms(m.graph.S, m.graph.St, m.clip_pos, m.nc, m.meta_z, m.clip_feat, m.warm.numpy())
    assert m.hop_terms.S_id is not m.graph.S
    sel = torch.tensor([col, 1])
    with torch.no_grad():
        fast = training_first_hop(m, sel, None)
        direct = _direct(m, sel, None)
    for a, b in zip(fast[:3], direct):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_view_edge_values_in_chunks_equal_the_whole_lookup():
    from frame_core.model.sparse import EdgeLookup, edge_values

    data, m = _model(id_embeddings=True)
    clips = data.video_idx[:, None] * data.nc + np.arange(data.nc)
    for R in (data.graphs.RP_norm, data.graphs.RN_norm):
        want = edge_values(R, data.user_idx, clips)
        assert (want != 0).any()
        np.testing.assert_array_equal(EdgeLookup(R).views(data.user_idx, data.video_idx, data.nc, chunk=7), want)
