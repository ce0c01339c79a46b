"""The model contract: FrameModel.forward / loss, the trainer's batches, and the scorer as the
same forward pass with cached propagation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from frame_core.data.prepare import prepare_data
from frame_core.model.batch import Batch
from frame_core.model.heads import video_log_probs
from frame_core.training.batches import BatchMaker
from frame_core.training.trainer import build_model, make_scorer

from .engine_world import fast_config, random_features, random_log


def _model(nc=4, **kw):
    torch.manual_seed(0)
    log = random_log(seed=3)
    cfg = fast_config(nc=nc, **kw)
    feats = random_features(sorted(log["video_id"].unique()), nc) if kw.get("id_embeddings") is False else None
    data = prepare_data(log, cfg.nc, cfg.policy, cfg.norm, features=feats)
    m = build_model(data, cfg)
    for p in m.parameters():  # move away from the zero-initialised inner products
        torch.nn.init.normal_(p, std=0.3) if p.dim() == 1 else None
    return data, cfg, m.eval()


@pytest.mark.parametrize("kw", [{}, {"mlp_sizes": (8, 4)}, {"user_bias": True, "user_embedding": True},
                                {"id_embeddings": False}, {"nc": 1}, {"factor_dim": 0},
                                {"id_embeddings": False, "factor_dim": 4}])
def test_scorer_equals_forward(kw):
    data, cfg, m = _model(**kw)
    rows = np.arange(len(data.log))
    users, videos = torch.from_numpy(data.user_idx[rows]), torch.from_numpy(data.video_idx[rows])
    with torch.no_grad():
        logits = m(users, videos)
    p_full, p_clip = make_scorer(m, data).prepare().score_indices(data.user_idx[rows], data.video_idx[rows])
    np.testing.assert_allclose(p_clip, torch.sigmoid(logits).numpy(), atol=2e-5)
    lp, _ = video_log_probs(logits.double(), m.cfg.video_score)
    np.testing.assert_allclose(p_full, torch.exp(lp).numpy(), atol=2e-5)


def test_forward_scores_cold_users_like_the_scorer():
    data, cfg, m = _model()
    users = torch.tensor([-1, -1, 0])
    videos = torch.tensor([0, 3, 3])
    with torch.no_grad():
        logits = m(users, videos)
    _, p_clip = make_scorer(m, data).prepare().score_indices(users.numpy(), videos.numpy())
    np.testing.assert_allclose(p_clip, torch.sigmoid(logits).numpy(), atol=2e-5)


def test_loss_is_clip_bce_on_labelled_clips_plus_lambda_video_bce():
    data, cfg, m = _model(hybrid_lambda=0.7)
    rows = data.rows(0)[:20]
    batch = BatchMaker(data, exclude_batch_edges=False)(rows)
    parts = m.loss(batch)
    with torch.no_grad():
        logits = m(batch.users, batch.videos)
    mask = batch.clip_mask
    clip = F.binary_cross_entropy_with_logits(logits[mask], batch.clip_y[mask])
    lp, l1p = video_log_probs(logits, m.cfg.video_score)
    video = -(batch.y * lp + (1 - batch.y) * l1p).mean()
    assert parts.clip.item() == pytest.approx(clip.item(), rel=1e-5)
    assert parts.video.item() == pytest.approx(video.item(), rel=1e-5)
    # the clip factors' L2 penalty, by hand: mean over the batch's users of ||p_u||^2 plus mean over
    # the batch's (view, clip) cells of ||q_c||^2, times factor_l2
    assert m.factors is not None and m.cfg.factor_l2 == 0.05
    p_u = m.factors.p.weight[batch.users]
    q_c = m.factors.q.weight[batch.videos[:, None] * data.nc + torch.arange(data.nc)[None, :]]
    pen = (p_u ** 2).sum(-1).mean() + (q_c ** 2).sum(-1).mean()
    # and the clip id embeddings' L2 penalty, id_l2 × mean over the same cells of ||e_c||^2
    assert m.cfg.id_l2 == 0.3
    e_c = m.clip_id.weight[batch.videos[:, None] * data.nc + torch.arange(data.nc)[None, :]]
    id_pen = (e_c ** 2).sum(-1).mean()
    want = clip.item() + 0.7 * video.item() + 0.05 * pen.item() + 0.3 * id_pen.item()
    assert parts.total.item() == pytest.approx(want, rel=1e-5)
    no_hybrid = _model(hybrid_lambda=0.0, factor_dim=0, id_l2=0.0)[2].loss(batch)
    assert no_hybrid.video.item() == 0.0 and no_hybrid.total.item() == pytest.approx(no_hybrid.clip.item())


def test_batch_maker_lays_out_the_rows():
    data, cfg, m = _model()
    rows = data.rows(0)[[4, 0, 7]]
    b = BatchMaker(data, exclude_batch_edges=True)(rows)
    assert isinstance(b, Batch)
    assert b.users.tolist() == data.user_idx[rows].tolist() and b.videos.tolist() == data.video_idx[rows].tolist()
    assert torch.equal(b.clip_mask, torch.from_numpy(data.clip_mask[rows]))
    assert b.remove is not None
    # every removed edge is a labelled clip of the batch with a nonzero R̃ entry
    n_lab = int(data.clip_mask[rows].sum())
    assert 0 < len(b.remove.pos_users) + len(b.remove.neg_users) <= n_lab
    assert BatchMaker(data, exclude_batch_edges=False)(rows).remove is None


def test_loss_backward_reaches_the_graph_weights():
    data, cfg, m = _model()
    m.train()
    batch = BatchMaker(data, exclude_batch_edges=True)(data.rows(0)[:32])
    m.loss(batch).total.backward()
    assert m.w_p1.weight.grad is not None and m.w_p1.weight.grad.abs().sum() > 0
