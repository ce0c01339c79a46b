"""One training step's loss and backward with the per-view part in chunks (docs/design.md §4,
"Speed").

A step has a part that all its B views share (H_c0 of the batch's clips, both hops: H_up,
H_un (U, d), H_c of the batch's distinct clips (m, d) and their first-layer projections, and
the batch's rows of the clip-factor tables) and a per-view part (the clip MLPs and inner
products over (B, N_c, h1) activations, the losses), whose memory grows with B.
:func:`loss_and_backward` computes the shared part once, then the per-view part ``chunk`` views
at a time: each chunk gathers its rows of the shared tensors as leaves, runs its share of the
loss and its backward, and adds the leaves' gradients into one buffer per shared tensor; one
backward of the shared part follows. The loss is a sum over views (each normalised by the
whole batch's counts), so the gradients are those of :meth:`FrameModel.loss` on the whole
batch (tested); only the dropout masks are drawn per chunk (same distribution, other draws).

:data:`VIEW_CHUNK` is the default batch size, so a default step runs whole and a larger batch
never holds more per-view activations than a default one. Smaller chunks were measured at
Micro-video-A scale (B = 15,695, chunks of 4,096): about 0.1 GB less peak memory of 2.5 GB and
about 10 % more time per step, so they are not the default.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from frame_core.model.batch import Batch, LossParts
from frame_core.model.frame import FrameModel
from frame_core.model.heads import video_log_probs
from frame_core.model.lean_ops import rows_at

VIEW_CHUNK = 16_384
"""Views per chunk: ``FrameConfig.batch_size``'s default (module docstring)."""


def loss_and_backward(model: FrameModel, batch: Batch, chunk: int = VIEW_CHUNK) -> LossParts:
    """``model.loss(batch)`` and its backward (gradients accumulate into ``.grad`` as usual),
    the per-view part ``chunk`` views at a time (module docstring). Returns the loss parts as
    detached 0-d tensors."""
    B = len(batch.users)
    if B <= chunk:
        parts = model.loss(batch)
        parts.total.backward()
        return LossParts(parts.total.detach(), parts.clip.detach(), parts.video.detach())
    cfg = model.cfg
    h_up, h_un, h_cu, clips, inv, penalty, warm_clip = model.shared_pass(batch.videos, batch.remove)
    h_up, h_un, urows = model.with_cold_row(h_up, h_un, batch.users)
    cp, cn = model.clip_projections(h_cu)  # each distinct clip projected once
    dots = model.dot_p is not None
    shared = [h_up, h_un, cp, cn] + ([h_cu] if dots else [])
    fac_rows = list(model.factors.gather(batch.users, clips)) if model.factors is not None else []
    shared += fac_rows
    det = [t.detach() for t in shared]
    grads = [torch.zeros_like(t) for t in shared]  # the shared tensors' gradients, filled chunk by chunk
    n_fac = len(fac_rows)
    n_labelled = batch.clip_mask.sum().to(h_up.dtype)
    lam = cfg.hybrid_lambda
    clip_sum = video_sum = fac_sum = 0.0
    for s in range(0, B, chunk):
        sl = slice(s, s + chunk)
        users, ur, iv = batch.users[sl], urows[sl], inv[sl]
        # this chunk's rows of the shared tensors, as leaves: its backward fills only them
        at = [ur, ur, iv, iv]
        leaves = [rows_at(t, i).requires_grad_() for t, i in zip(det, at)]
        hc_leaf = det[4].detach().requires_grad_() if dots else None  # all m clips: gathered inside the product
        fleaves = [t[sl].requires_grad_() for t in det[len(det) - n_fac:]] if n_fac else []
        z = model.clip_logits_gathered(leaves[0], leaves[1], leaves[2], leaves[3], (hc_leaf, iv) if dots else None,
                                       users)
        part = z.new_zeros(())
        fac_part = 0.0
        if n_fac:
            f, fac_pen = model.factors.from_rows(fleaves, users, clips[sl], model.warm_user, warm_clip)
            z = z + f
            if cfg.factor_l2 > 0:  # the chunk's share of the batch means
                part = part + cfg.factor_l2 * fac_pen * (len(users) / B)
                fac_part = float(part.detach())
        w = batch.clip_mask[sl].to(z.dtype)
        clip_part = F.binary_cross_entropy_with_logits(z, batch.clip_y[sl], weight=w, reduction="sum") / n_labelled
        part = part + clip_part
        if lam > 0:
            lp, l1p = video_log_probs(z, cfg.video_score)
            y = batch.y[sl]
            video_part = -(y * lp + (1 - y) * l1p).sum() / B
            part = part + lam * video_part
            video_sum += float(video_part.detach())
        part.backward()
        clip_sum += float(clip_part.detach())
        fac_sum += fac_part
        for g, leaf, i in zip(grads, leaves, at):
            if leaf.grad is not None:
                g.index_add_(0, i.reshape(-1), leaf.grad.reshape(-1, g.shape[1]))
        if hc_leaf is not None and hc_leaf.grad is not None:
            grads[4] += hc_leaf.grad
        for g, leaf in zip(grads[len(grads) - n_fac:], fleaves):
            if leaf.grad is not None:
                g[sl] += leaf.grad
    outs, gs = list(shared), grads
    if penalty is not None:
        outs, gs = outs + [penalty], gs + [torch.ones_like(penalty)]
    torch.autograd.backward(outs, gs)
    total = clip_sum + lam * video_sum + fac_sum + (float(penalty.detach()) if penalty is not None else 0.0)
    return LossParts(torch.tensor(total), torch.tensor(clip_sum), torch.tensor(video_sum))
