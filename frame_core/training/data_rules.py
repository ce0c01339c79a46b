"""Automatic settings that follow the data (docs/design.md §4): each reads the prepared data
(``FrameData``) and turns a ``FrameConfig`` field left at auto (None) into a concrete value
before a model is built. Each rule's threshold comes from measurements over many logs (README).
"""

from __future__ import annotations

import numpy as np

from frame_core.data.prepare import FrameData
from frame_core.model.config import FrameConfig

DENSE_EMB_LR = 1e-2
DENSE_VIEWS_PER_VIDEO = 10.0


def resolve_emb_lr(cfg: FrameConfig, data: FrameData) -> float:
    """The learning rate of the id tables: ``cfg.emb_lr`` when set; otherwise (auto)
    ``DENSE_EMB_LR`` when the training rows have at least ``DENSE_VIEWS_PER_VIDEO`` views per
    video that has any, else ``cfg.lr``.

    Measured (README, "Worlds generated independently"): on a world with strong clip tastes and
    ~110 training views per video, id tables at 3e-3 moved too slowly and FRAME stalled at the
    reference (0.761 test AUC; 0.852 at 1e-2). On the real KuaiRand sample (4 training views per
    video, most videos seen once) 1e-2 made the id embeddings memorise and FRAME fell to the
    coarse model (0.748 against 0.758 at 3e-3)."""
    if cfg.emb_lr is not None:
        return float(cfg.emb_lr)
    return DENSE_EMB_LR if train_views_per_video(data) >= DENSE_VIEWS_PER_VIDEO else float(cfg.lr)


def train_views_per_video(data: FrameData) -> float:
    """Training views per video that has any: the density both automatic rules read."""
    train = data.rows(0)
    return len(train) / max(1, len(np.unique(data.video_idx[train])))


SHARE_VIEWS_PER_VIDEO = 80.0
"""``factor_share`` auto: on from this many training views per video (with N_c > 1)."""


def resolve_factor_share(cfg: FrameConfig, data: FrameData) -> bool:
    """``cfg.factor_share`` when set; otherwise (auto) on with N_c > 1 and at least
    :data:`SHARE_VIEWS_PER_VIDEO` training views per video. Measured (README, "Clip factors that
    lean on their video"): over 20 logs, sharing gained validation AUC on 5 of the 7 logs with
    108–180 training views per video (mean +0.0049) and lost on 11 of the 13 with at most 60
    (mean −0.0049); none lay between, and the threshold sits in that gap. At N_c = 1 a video has
    one clip and there is nothing to share."""
    if cfg.factor_share is not None:
        return bool(cfg.factor_share)
    return cfg.nc > 1 and train_views_per_video(data) >= SHARE_VIEWS_PER_VIDEO


MAX_COLD_DROPOUT = 0.5
"""Upper bound of the automatic rate: at least half of a step's videos keep their ids."""


def resolve_cold_dropout(cfg: FrameConfig, data: FrameData) -> float:
    """The rate a run trains with: ``cfg.cold_dropout`` when set; otherwise (auto, None) the
    share of validation views of ``data`` whose video has no training view, at
    most :data:`MAX_COLD_DROPOUT`: the validation period stands in for the test period, so the
    model trains with about as many new videos as it will be asked to score. 0 without
    validation rows."""
    if cfg.cold_dropout is not None:
        return float(cfg.cold_dropout)
    val = data.rows(1)
    if not len(val):
        return 0.0
    seen = np.zeros(data.n_videos, dtype=bool)
    seen[data.video_idx[data.rows(0)]] = True
    return float(min(MAX_COLD_DROPOUT, 1.0 - seen[data.video_idx[val]].mean()))


def resolved_for(cfg: FrameConfig, data: FrameData) -> FrameConfig:
    """``cfg`` with ``cold_dropout`` and ``factor_share`` made concrete for ``data``."""
    return cfg.replace(cold_dropout=resolve_cold_dropout(cfg, data), factor_share=resolve_factor_share(cfg, data))
