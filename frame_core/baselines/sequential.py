"""The common part of the sequential baselines ``alpine`` and ``mtin`` (docs/design.md §6).

**Inputs** of every scored row, all as indices into small tables:

- the user id, the video id (training ids ``1 .. n``, cold = OOV 0, :class:`IdVocab`) and the
  video's duration bucket (:class:`DurationBuckets`), as for the feature-based baselines;
- when visual clip features are given (``features_for_nc``, the dataset has videos): the video's
  **mean** clip vector (mean over the N_c = 8 clips FRAME uses, standardised per dimension), looked
  up by video id, so a video with no training view still has content;
- the user's history from :class:`~frame_core.baselines.history.HistoryStore` (training and
  validation rows only, strictly earlier than the row, never a test row): one or more windows
  of store positions (``SequenceBaseline.blocks``: e.g. the last 50 events, or the last 20 full
  views and the last 20 skips) and each event's time gap to the row as a bucket (quantiles of
  log-gaps on the training rows' windows, 8 buckets).

Each event carries its video (id, duration bucket, visual row), its outcome (full view or skip)
and its gap bucket. Everything is packed into one int64 matrix per set of rows, so the shared
loop :func:`frame_core.baselines.training.train_pointwise` shuffles and batches it as it does
for the other baselines; the event tables live in the module as buffers (index 0 = padding).

Cold ids: the OOV rows of the user and video tables are set after every epoch, before
validation, to the view-weighted mean of the training rows (:func:`fill_oov_row`). A cold
user has an empty history; the models map an empty history to a zero summary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from frame_core.baselines.base import Baseline, Reporter, check_cancel, clip_proba, full_view
from frame_core.baselines.features import DurationBuckets, IdVocab, fill_oov_row
from frame_core.baselines.history import PAD, HistoryStore
from frame_core.baselines.training import TrainConfig, predict_batched, seeded, train_pointwise
from frame_core.common import schema as S

N_GAP_BUCKETS = 8
AUTO_BATCH = 0  # batch_size 0: about 32 steps per epoch, a power of two in [128, 1024] (auto_batch_size)
VISUAL_NC = 8  # the clip count whose features are averaged (the one FRAME uses, so the cache is shared)


def auto_batch_size(n_train: int) -> int:
    """About 32 optimiser steps per epoch: 2^round(log2(n / 32)) clipped into [128, 1024]
    (3,500 training rows → 128, 14,330 → 512, 24,000 → 1,024): small logs get enough steps to
    learn from their histories, large ones keep the per-step overhead of the sequence loops low."""
    return int(np.clip(2 ** round(np.log2(max(n_train, 1) / 32)), 128, 1024))


def mean_visual_table(feats) -> tuple[pd.Index, np.ndarray]:
    """Video ids and their mean clip vectors, standardised per dimension (float32, (n, dim))."""
    ids = np.asarray(feats.video_ids).astype(str)
    mat = np.asarray(feats.matrix, dtype="float64")
    frame = pd.DataFrame(mat).groupby(ids, sort=True).mean()
    x = frame.to_numpy()
    x = (x - x.mean(0)) / np.where(x.std(0) > 1e-9, x.std(0), 1.0)
    return pd.Index(frame.index.astype(str)), x.astype("float32")


class ItemTables(nn.Module):
    """``embed(video, bucket, visual)`` → (…, d): id + duration-bucket (+ projected visual) embedding."""

    def __init__(self, n_users: int, n_videos: int, n_buckets: int, dim: int, visual: np.ndarray | None):
        super().__init__()
        self.user = nn.Embedding(n_users, dim)
        self.video = nn.Embedding(n_videos, dim)
        self.bucket = nn.Embedding(n_buckets, dim)
        for emb in (self.user, self.video, self.bucket):
            nn.init.normal_(emb.weight, std=0.05)
        if visual is not None:
            self.register_buffer("visual_table", torch.from_numpy(np.vstack([np.zeros((1, visual.shape[1])), visual])
                                                                  .astype("float32")))
            self.visual_proj = nn.Linear(visual.shape[1], dim)
        else:
            self.visual_table, self.visual_proj = None, None

    def embed(self, video: torch.Tensor, bucket: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
        x = self.video(video) + self.bucket(bucket)
        if self.visual_proj is not None:
            x = x + self.visual_proj(self.visual_table[vis])
        return x


class SequenceNet(nn.Module):
    """Base module: item tables plus the store's event tables (position 0 = padding).

    ``forward(X)`` returns P(full view), shape (b,). Subclasses implement ``score(q, u, blocks)``
    where ``q`` (b, d) is the candidate video's embedding, ``u`` (b, d) the user's id embedding and
    ``blocks`` a list of ``(events (b, L, d), outcome (b, L) long, mask (b, L) bool, item (b, L, d))``.
    """

    def __init__(self, tables: ItemTables, events: dict[str, np.ndarray], block_lengths: tuple[int, ...],
                 n_gaps: int, dim: int):
        super().__init__()
        self.tables = tables
        for key, arr in events.items():  # each with a leading padding row
            self.register_buffer(f"ev_{key}", torch.from_numpy(np.concatenate([[0], arr]).astype("int64")))
        self.block_lengths = tuple(int(b) for b in block_lengths)
        self.outcome = nn.Embedding(2, dim)
        self.gap = nn.Embedding(n_gaps, dim)
        nn.init.normal_(self.outcome.weight, std=0.05)
        nn.init.normal_(self.gap.weight, std=0.05)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        t = self.tables
        u = t.user(X[:, 0])
        q = t.embed(X[:, 1], X[:, 2], X[:, 3])
        blocks, col = [], 4
        for length in self.block_lengths:
            pos, gap = X[:, col : col + length], X[:, col + length : col + 2 * length]
            col += 2 * length
            mask = pos > 0
            item = t.embed(self.ev_video[pos], self.ev_bucket[pos], self.ev_vis[pos])
            outcome = self.ev_label[pos]
            ev = (item + self.outcome(outcome) + self.gap(gap)) * mask[..., None]
            blocks.append((ev, outcome, mask, item))
        return self.score(q, u, blocks)

    def score(self, q, u, blocks) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax over ``dim`` where ``mask``; all-masked rows give all zeros (an empty history)."""
    scores = scores.masked_fill(~mask, -1e9)
    w = torch.softmax(scores, dim=dim) * mask
    return w / w.sum(dim, keepdim=True).clamp(min=1e-12)


def mlp(sizes: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class SequenceBaseline(Baseline):
    """Shared fit/predict of the sequential baselines; subclasses set ``name``, ``blocks`` and ``build``.

    ``blocks``: tuple of ``(length, label)`` windows (label None = all events, 1 = full views,
    0 = skips). ``features_for_nc`` (nc → visual clip features) is optional.
    """

    name = "sequence"
    blocks: tuple[tuple[int, int | None], ...] = ((50, None),)

    def __init__(self, *, dim: int = 16, n_buckets: int = 10, config: TrainConfig | None = None,
                 features_for_nc=None):
        self.dim = int(dim)
        self.n_buckets = int(n_buckets)
        self.config = config or TrainConfig(max_epochs=20, patience=3, batch_size=AUTO_BATCH, lr=3e-3)
        self.features_for_nc = features_for_nc

    def build(self, tables: ItemTables, events: dict, n_gaps: int) -> SequenceNet:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------------ inputs
    def _visual_index(self, videos) -> np.ndarray:
        if self.visual_ids_ is None:
            return np.zeros(len(videos), "int64")
        idx = self.visual_ids_.get_indexer(np.asarray(videos).astype(str))
        return np.where(idx >= 0, idx + 1, 0).astype("int64")

    def history_windows(self, df: pd.DataFrame) -> list[np.ndarray]:
        """Per block, the store positions of each row's history window ((n, L) int64, -1 = padding)."""
        return [self.store_.windows(df, length, label) for length, label in self.blocks]

    def _pack(self, df: pd.DataFrame) -> torch.Tensor:
        cols = [self.users_.index(df[S.USER]), self.videos_.index(df[S.VIDEO]),
                self.buckets_.index(df[S.DURATION]), self._visual_index(df[S.VIDEO])]
        parts = [np.column_stack(cols).astype("int64")]
        for win in self.history_windows(df):
            gaps = self.store_.gaps(df, win)
            gb = np.where(win >= 0, self.gap_buckets_.index(np.nan_to_num(gaps)), 0)
            parts += [win + 1, gb]  # +1: position 0 of the event tables is padding (PAD = -1)
        return torch.from_numpy(np.concatenate(parts, axis=1).astype("int64"))

    # ------------------------------------------------------------------ fit / predict
    def fit(self, train, val, *, seed: int = 0, progress=None, cancel=None) -> SequenceBaseline:
        check_cancel(cancel)
        y_train, y_val = full_view(train), full_view(val)
        self.users_, self.videos_ = IdVocab(train[S.USER]), IdVocab(train[S.VIDEO])
        self.buckets_ = DurationBuckets(train[S.DURATION], self.n_buckets)
        self.store_ = store = HistoryStore(train, val, y_train, y_val)
        visual = None
        self.visual_ids_ = None
        if self.features_for_nc is not None:
            feats = self.features_for_nc(VISUAL_NC)
            if feats is not None and len(feats.video_ids):
                self.visual_ids_, visual = mean_visual_table(feats)
        wins = [store.windows(train, length, label) for length, label in self.blocks]
        train_gaps = np.concatenate([store.gaps(train, w)[w >= 0] for w in wins])
        self.gap_buckets_ = DurationBuckets(train_gaps if len(train_gaps) else np.zeros(1), N_GAP_BUCKETS)
        events = {
            "video": self.videos_.index(store.videos),
            "bucket": self.buckets_.index(store.durations),
            "vis": self._visual_index(store.videos),
            "label": store.labels,
        }
        with seeded(seed):
            tables = ItemTables(self.users_.size, self.videos_.size, self.buckets_.size, self.dim, visual)
            self.model_ = model = self.build(tables, events, self.gap_buckets_.size)
        w_user = torch.from_numpy(self.users_.weights(train[S.USER]))
        w_video = torch.from_numpy(self.videos_.weights(train[S.VIDEO]))

        def set_oov_rows() -> None:
            with torch.no_grad():
                tables.user.weight.copy_(fill_oov_row(tables.user.weight, w_user))
                tables.video.weight.copy_(fill_oov_row(tables.video.weight, w_video))

        config = TrainConfig(**vars(self.config))
        if config.batch_size == AUTO_BATCH:
            config.batch_size = auto_batch_size(len(train))
        self.batch_size_ = config.batch_size
        result = train_pointwise(
            model, model, self._pack(train), torch.from_numpy(y_train), self._pack(val), y_val,
            config=config, seed=seed, report=Reporter(self.name, progress), cancel=cancel,
            before_eval=set_oov_rows,
        )
        self.best_epoch, self.val_auc, self.history = result.best_epoch, result.best_val_auc, result.history
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """P(full view) per row; the history of each row is the user's training and validation
        views strictly before its timestamp (all of them when ``df`` has no timestamp)."""
        if len(df) == 0:
            return np.zeros(0, dtype="float64")
        return clip_proba(predict_batched(self.model_, self._pack(df), self.config.eval_batch_size))


__all__ = ["PAD", "ItemTables", "SequenceBaseline", "SequenceNet", "masked_softmax", "mean_visual_table", "mlp"]
