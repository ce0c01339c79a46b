"""Videos trained as new (``FrameConfig.cold_dropout``; docs/design.md §4, "Videos trained as
new").

A video without training views is scored from its metadata (and visual features) alone: no id
embedding, a two-hop term of σ(0) and no clip factors. With ``cold_dropout`` = p a training step
scores each of its videos that way with probability p, so the model learns that score too
(the automatic rate: ``frame_core.training.data_rules.resolve_cold_dropout``).
Only the batch's own clip rows change; the users' interest (the first hop) keeps every clip.
"""

from __future__ import annotations

import torch


def draw(model, uniq: torch.Tensor) -> torch.Tensor | None:
    """In training with ``cold_dropout`` = p > 0: (m,) bool over the batch's distinct clips
    ``uniq`` (grouped by video, as ``frame.batch_clip_index`` makes them), True for every clip
    of a video drawn with probability p; else None (evaluation, p = 0, or no clips)."""
    p = float(model.cfg.cold_dropout or 0.0)
    if not model.training or p <= 0 or not len(uniq):
        return None
    return (torch.rand(len(uniq) // model.nc) < p).repeat_interleave(model.nc)


def as_new(model, uniq: torch.Tensor, drop: torch.Tensor | None, h0: torch.Tensor, e: torch.Tensor | None,
           h1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The batch's clip rows with the ``drop`` ped clips scored as new: H_c0 rows ``h0`` (m, d)
    without their id embedding ``e`` (m, d; None without id embeddings), two-hop rows ``h1``
    (m, d) at σ(0), and the warm mask (C,) for the clip factors (``model.warm``, or a copy with
    those clips cold). Without ``drop`` the inputs come back unchanged."""
    if drop is None or not bool(drop.any()):
        return h0, h1, model.warm
    if e is not None:
        h0 = h0 - e * (model.warm[uniq] * drop.to(e.dtype))[:, None]
    h1 = torch.where(drop[:, None], model.cold_two_hop(), h1)
    warm = model.warm.clone()
    warm[uniq[drop]] = 0.0
    return h0, h1, warm
