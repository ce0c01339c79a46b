"""One training step's loss and backward with the per-view part in chunks (docs/design.md §4,
"Speed").

A step has a part that all its B views share (H_c0 of the batch's clips, both hops: H_up,
H_un (U, d) and H_c of the batch's distinct clips (m, d), and the rows of the clip-factor
tables) and a per-view part (the clip MLPs and inner products over (B, N_c, h1) activations,
the losses). The per-view part holds most of a step's memory: about 0.65 GB at
Micro-video-A scale with B = 15,695. :func:`loss_and_backward` computes the shared part once,
then the per-view part ``chunk`` views at a time, each chunk's share of the loss followed by its
own backward into detached copies of the shared tensors, and finally one backward of the shared
part with the accumulated gradients. The loss is a sum over views (each normalised by the
whole batch's counts), so the gradients are those of :meth:`FrameModel.loss` on the whole
batch; only the dropout masks are drawn per chunk (same distribution, other draws).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from frame_core.model.frame import Batch, FrameModel, LossParts
from frame_core.model.heads import video_log_probs

VIEW_CHUNK = 4_096
"""Views per chunk: at N_c = 8 and h1 = 64 a chunk's activations are a few tens of MB."""


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
    h_up, h_un, h_cu, clips, inv, penalty = model.shared_pass(batch.videos, batch.remove)
    shared = [h_up, h_un, h_cu]
    if model.factors is not None:
        shared += list(model.factors.gather(batch.users, clips))
    leaves = [t.detach().requires_grad_() for t in shared]
    n_labelled = batch.clip_mask.sum().to(h_up.dtype)
    lam = cfg.hybrid_lambda
    clip_sum = video_sum = fac_sum = 0.0
    for s in range(0, B, chunk):
        sl = slice(s, s + chunk)
        users = batch.users[sl]
        z = model.view_logits(leaves[0], leaves[1], leaves[2], users, inv[sl])
        part = z.new_zeros(())
        if model.factors is not None:
            f, fac_pen = model.factors.from_rows([t[sl] for t in leaves[3:]], users, clips[sl], model.warm_user,
                                                 model.warm)
            z = z + f
            if cfg.factor_l2 > 0:  # the chunk's share of the batch means
                part = part + cfg.factor_l2 * fac_pen * (len(users) / B)
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
        fac_sum += float(part.detach()) - float(clip_part.detach()) - (lam * float(video_part.detach()) if lam > 0 else 0.0)
    outs = [t for t, leaf in zip(shared, leaves) if leaf.grad is not None]
    grads = [leaf.grad for leaf in leaves if leaf.grad is not None]
    if penalty is not None:
        outs.append(penalty)
        grads.append(torch.ones_like(penalty))
    torch.autograd.backward(outs, grads)
    total = clip_sum + lam * video_sum + fac_sum + (float(penalty.detach()) if penalty is not None else 0.0)
    return LossParts(torch.tensor(total), torch.tensor(clip_sum), torch.tensor(video_sum))
