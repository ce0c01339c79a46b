"""Shared fixtures: small hand-made logs and paths to the bundled data."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
KUAIRAND = ROOT / "sample_data" / "kuairand" / "kuairand_like_hate.tsv.gz"
KUAIRAND_MAP = [
    "play_time_ms=playing_time",
    "duration_ms=duration_time",
    "time_ms=interaction_timestamp",
]

# keep torch/BLAS from oversubscribing the 2 cores when pytest-xdist runs 2 workers
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def tiny_log() -> pd.DataFrame:
    """Two users, hand-made views (seconds)."""
    return pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u1", "u2", "u2"],
            "video_id": ["v1", "v2", "v3", "v4", "v1", "v2"],
            "playing_time": [10.0, 12.0, 0.0, 2.5, 7.5, 3.0],
            "duration_time": [10.0, 10.0, 10.0, 10.0, 10.0, 12.0],
            "interaction_timestamp": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )


@pytest.fixture
def workspace_env(tmp_path, monkeypatch) -> Path:
    """A fresh FRAME_WORKSPACE for the test."""
    ws = tmp_path / "workspace"
    monkeypatch.setenv("FRAME_WORKSPACE", str(ws))
    return ws
