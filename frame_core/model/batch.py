"""A training step's input and loss parts for :class:`~frame_core.model.frame.FrameModel`, and
the clip index of a batch of views (docs/design.md §4)."""

from __future__ import annotations

import dataclasses

import torch

from frame_core.model.sparse import EdgeRemoval


def batch_clip_index(videos: torch.Tensor, nc: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For B videos (id-map indices): their clips (B, nc) global index ``v · nc + k``, the sorted
    distinct clips (m,) and each clip's position among them (B, nc); the same as
    ``torch.unique(clips, return_inverse=True)``, from a unique over the B videos only."""
    ar = torch.arange(nc)
    uniq_v, inv_v = torch.unique(videos, return_inverse=True)
    return videos[:, None] * nc + ar, (uniq_v[:, None] * nc + ar).reshape(-1), inv_v[:, None] * nc + ar


@dataclasses.dataclass
class Batch:
    """One training step's views, as the model's :meth:`FrameModel.loss` takes them.

    ``users``/``videos`` (B,) int64 id-map indices (users may be −1 = cold); ``clip_y`` (B, N_c)
    float32 clip labels (1 = the user got past the clip, 0 = left in it); ``clip_mask`` (B, N_c)
    bool, True where the clip is labelled; ``y`` (B,) float32 video label (1 = full view);
    ``remove``: the batch's own graph edges to take out for this step (or None).
    """

    users: torch.Tensor
    videos: torch.Tensor
    clip_y: torch.Tensor
    clip_mask: torch.Tensor
    y: torch.Tensor
    remove: EdgeRemoval | None = None


@dataclasses.dataclass
class LossParts:
    """The loss of one batch: ``total = clip + λ · video`` (``video`` is 0 when λ = 0)."""

    total: torch.Tensor
    clip: torch.Tensor
    video: torch.Tensor
