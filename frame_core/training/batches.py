"""Mini-batches of training views for :meth:`frame_core.model.frame.FrameModel.loss`.

:class:`BatchMaker` holds the per-view arrays of a :class:`~frame_core.data.prepare.FrameData`
as tensors once, and turns a set of row positions into a :class:`~frame_core.model.frame.Batch`.
With ``exclude_batch_edges`` it also gathers the batch's own labelled (user, clip) edges with
their R̃ values (:func:`batch_edges`), so that the model can take them out of the graphs for
that step: otherwise a view's label reaches its own score through the graph (its edge *is* its
label), which evaluation rows never have.
"""

from __future__ import annotations

import numpy as np
import torch

from frame_core.data.prepare import FrameData
from frame_core.model.batch import Batch, batch_clip_index
from frame_core.model.sparse import EdgeLookup, EdgeRemoval


def batch_edges(u, clips, inv, mask, cy, ev_p, ev_n) -> EdgeRemoval:
    """The batch's own labelled (user, clip) edges with their R̃ values (see EdgeRemoval).

    All arguments are per batch view: ``u`` (B,) user index, ``clips`` (B, nc) global clip
    index, ``inv`` (B, nc) position of each clip among the batch's sorted distinct clips,
    ``mask`` (B, nc) labelled, ``cy`` (B, nc) clip label, ``ev_p``/``ev_n`` (B, nc) the edge's
    entry in R̃p / R̃n (0 where there is none)."""
    ub = u[:, None].expand_as(clips)
    pm = mask & (cy > 0.5) & (ev_p != 0)
    nm = mask & (cy < 0.5) & (ev_n != 0)
    return EdgeRemoval(
        pos_users=ub[pm], pos_clips=clips[pm], pos_values=ev_p[pm], pos_rows=inv[pm],
        neg_users=ub[nm], neg_clips=clips[nm], neg_values=ev_n[nm], neg_rows=inv[nm],
    )


class BatchMaker:
    """Row positions of ``data`` → :class:`Batch`. ``exclude_batch_edges``: attach the batch's
    own edges (:func:`batch_edges`) for the model to take out of R̃ during that step."""

    def __init__(self, data: FrameData, exclude_batch_edges: bool):
        self.nc = data.nc
        self.users = torch.from_numpy(data.user_idx)
        self.videos = torch.from_numpy(data.video_idx)
        self.clip_y = torch.from_numpy(data.clip_y)
        self.clip_mask = torch.from_numpy(data.clip_mask)
        self.y = torch.from_numpy(data.y)
        self.exclude = bool(exclude_batch_edges)
        if self.exclude:  # R̃ entries of every view's own (user, clip) edges, looked up once, in chunks of views
            self.ev_p, self.ev_n = (torch.from_numpy(EdgeLookup(R).views(data.user_idx, data.video_idx, self.nc))
                                    for R in (data.graphs.RP_norm, data.graphs.RN_norm))

    def __call__(self, rows: np.ndarray) -> Batch:
        r = torch.from_numpy(np.asarray(rows, dtype="int64"))
        u, v = self.users[r], self.videos[r]
        cy, mask = self.clip_y[r], self.clip_mask[r]
        remove = None
        if self.exclude:
            clips, _, inv = batch_clip_index(v, self.nc)  # the same sorted order as the forward pass
            remove = batch_edges(u, clips, inv, mask, cy, self.ev_p[r], self.ev_n[r])
        return Batch(users=u, videos=v, clip_y=cy, clip_mask=mask, y=self.y[r], remove=remove)
