"""Scoring user–video pairs with a trained :class:`~frame_core.model.FrameModel`.

:class:`Scorer` propagates the graphs once (``prepare``), projects every user and every clip
through the first layer of both MLPs, and then scores pairs in chunks by gathering and adding
those projections: per pair the cost is O(N_c · h1), with no Python loop over rows.

Conventions:
- user index −1 (not in the id map, or no training rows) → the cold-user embedding σ(0);
- video index −1 (not in the id map) → clips embedded from the row's duration (metadata), the
  position embedding and, when the run has visual features, the feature table; their two-hop
  part is σ(0), exactly what an in-map video without training views gets.
- ``p_clip[:, c]`` = ŷ_uc, probability of not skipping clip c; ``p_full`` = ŷ_uv.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .features import FeatureTable, clip_metadata
from .graphs import IdMaps
from .model import FrameModel, video_probs

CHUNK = 65_536


class Scorer:
    """Scores pairs for one model. ``durations``: (n_videos,) seconds per in-map video;
    ``features``: the run's visual feature table (for out-of-map videos) or None."""

    def __init__(self, model: FrameModel, maps: IdMaps, durations: np.ndarray, features: FeatureTable | None = None):
        self.model = model
        self.maps = maps
        self.nc = model.nc
        self.durations = np.asarray(durations, dtype="float64")
        self.features = features
        self._ready = False

    @torch.no_grad()
    def prepare(self) -> "Scorer":
        """Propagate the graphs and project users and clips (call again after weights change)."""
        m = self.model
        was_training = m.training
        m.eval()
        try:
            h0 = m.h_c0_all()
            hup, hun = m.user_interest(h0)
            hc = m.combine(h0, m.two_hop(hup, hun))
            cold = m.cold_user()[None, :]
            self.pu_p = torch.cat([m.mlp_p.first_user(hup), m.mlp_p.first_user(cold)])  # (U + 1, h1)
            self.pu_n = torch.cat([m.mlp_n.first_user(hun), m.mlp_n.first_user(cold)])
            self.pc_p = m.mlp_p.first_clip(hc)  # (C, h1)
            self.pc_n = m.mlp_n.first_clip(hc)
            self._cold_h1 = m.cold_two_hop()
            if m.dot_p is not None:  # raw tables for the inner-product term
                self.hu_p = torch.cat([hup, cold]) * m.dot_p  # (U + 1, d), weighted
                self.hu_n = torch.cat([hun, cold]) * m.dot_n
                self.hc = hc  # (C, d)
        finally:
            m.train(was_training)
        self._ready = True
        return self

    @torch.no_grad()
    def _new_video_projections(self, video_ids: np.ndarray, durations: np.ndarray
                               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """H_c and first-layer clip projections for videos outside the id map: (k · nc, d),
        (k · nc, h1), (k · nc, h1)."""
        m, nc = self.model, self.nc
        meta = torch.from_numpy(clip_metadata(durations, nc))
        pos = torch.arange(nc).repeat(len(video_ids))
        ids = torch.full((len(video_ids) * nc,), -1, dtype=torch.long)
        warm = torch.zeros(len(video_ids) * nc)
        feat = None
        if m.feat_dim:
            if self.features is not None:
                raw, found = self.features.gather(video_ids, nc)
            else:
                raw, found = np.zeros((len(ids), m.feat_dim), "float32"), np.zeros(len(ids), bool)
            feat = m.standardise_feat(raw, found)
        was_training = m.training
        m.eval()
        try:
            h0 = m.clip_input(ids, pos, meta, feat, warm)
            hc = m.combine(h0, self._cold_h1.expand_as(h0))
            return hc, m.mlp_p.first_clip(hc), m.mlp_n.first_clip(hc)
        finally:
            m.train(was_training)

    @torch.no_grad()
    def score_indices(self, user_idx, video_idx, durations=None, video_ids=None) -> tuple[np.ndarray, np.ndarray]:
        """Score n pairs given id-map indices (−1 = unknown).

        ``durations`` (n,) seconds and ``video_ids`` (n,) are needed only for unknown videos.
        Returns ``p_full`` float64 (n,) and ``p_clip`` float64 (n, nc).
        """
        if not self._ready:
            self.prepare()
        m, nc = self.model, self.nc
        was_training = m.training
        m.eval()
        try:
            u = np.asarray(user_idx, dtype="int64")
            v = np.asarray(video_idx, dtype="int64")
            n = len(u)
            n_clips = self.pc_p.shape[0]
            pc_p, pc_n = self.pc_p, self.pc_n
            hc_all = getattr(self, "hc", None) if m.dot_p is not None else None
            clip_base = v * nc
            unknown = v < 0
            if unknown.any():
                vid = np.asarray(video_ids, dtype=object)[unknown].astype(str)
                dur = np.asarray(durations, dtype="float64")[unknown]
                key = pd.MultiIndex.from_arrays([vid, dur])
                codes, uniq = pd.factorize(key)
                new_h, new_p, new_n = self._new_video_projections(
                    uniq.get_level_values(0).to_numpy(dtype=object), uniq.get_level_values(1).to_numpy()
                )
                pc_p = torch.cat([pc_p, new_p])
                pc_n = torch.cat([pc_n, new_n])
                if hc_all is not None:
                    hc_all = torch.cat([hc_all, new_h])
                clip_base = clip_base.copy()
                clip_base[unknown] = n_clips + codes * nc
            u_rows = np.where(u >= 0, u, self.pu_p.shape[0] - 1)
            p_full = np.empty(n, dtype="float64")
            p_clip = np.empty((n, nc), dtype="float64")
            offs = torch.arange(nc)
            for s in range(0, n, CHUNK):
                e = min(n, s + CHUNK)
                ut = torch.from_numpy(u_rows[s:e])
                ct = torch.from_numpy(clip_base[s:e])[:, None] + offs[None, :]
                ap = self.pu_p[ut][:, None, :] + pc_p[ct]
                an = self.pu_n[ut][:, None, :] + pc_n[ct]
                dp = dn = None
                if hc_all is not None:
                    hcb = hc_all[ct]  # (b, nc, d)
                    dp = (self.hu_p[ut][:, None, :] * hcb).sum(-1)
                    dn = (self.hu_n[ut][:, None, :] * hcb).sum(-1)
                logits = m.logits_from_first(ap, an, torch.from_numpy(u[s:e]), dp, dn)
                p_clip[s:e] = torch.sigmoid(logits).double().numpy()
                p_full[s:e] = video_probs(logits.double(), m.cfg.video_score).numpy()
            return p_full, p_clip
        finally:
            m.train(was_training)
