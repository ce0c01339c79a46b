"""Tiny logs for the engine tests (FRAME model, trainer, runs, CLI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from frame_core.model.config import FrameConfig

FAST = dict(emb_dim=8, mlp_sizes=(8,), epochs=2, patience=2, batch_size=64, exclude_batch_edges=True,
            video_score="product")  # fixed settings: one training per call (the auto race has its own tests)


def fast_config(**kw) -> FrameConfig:
    """A small, quick configuration for tests."""
    return FrameConfig(**{**FAST, **kw}).validated()


def synth_log(out_dir: Path, users: int = 30, videos: int = 40, per_user: int = 12, seed: int = 0) -> pd.DataFrame:
    """A clean log from the project's synthetic world generator (no video files)."""
    from frame_core.data.validation import import_log
    from frame_core.synth import generate_world

    generate_world(out_dir, users=users, videos=videos, per_user=per_user, seed=seed, video=False)
    log, _ = import_log(Path(out_dir) / "interactions.csv")
    return log


def random_log(n_users: int = 12, n_videos: int = 15, per_user: int = 10, seed: int = 0,
               full_share: float = 0.4) -> pd.DataFrame:
    """A clean log drawn at random (seconds), ``per_user`` views per user, distinct videos."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        vids = rng.choice(n_videos, size=min(per_user, n_videos), replace=False)
        for t, v in enumerate(vids):
            dur = 5.0 + (v % 7) * 3.0
            full = rng.random() < full_share
            play = dur * (1.0 + rng.random() * 0.5) if full else dur * rng.random() * 0.99
            rows.append((f"u{u}", f"v{v}", play, dur, float(t + 100 * u)))
    return pd.DataFrame(rows, columns=["user_id", "video_id", "playing_time", "duration_time",
                                       "interaction_timestamp"])


def random_features(video_ids, nc: int, dim: int = 6, seed: int = 0):
    """A ClipFeatures with random vectors for every clip of the given videos."""
    from frame_core.data.features import ClipFeatures

    rng = np.random.default_rng(seed)
    vids = np.repeat(np.asarray(list(video_ids), dtype=object), nc)
    clips = np.tile(np.arange(nc), len(video_ids))
    return ClipFeatures(vids, clips, rng.normal(size=(len(vids), dim)).astype("float32"))
