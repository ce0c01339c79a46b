"""The bundled samples (``sample_data/``): read-only datasets with ids ``sample-…``, listed
by :class:`frame_core.services.workspace.Workspace` beside the stored ones."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

from frame_core.common import schema as S
from frame_core.data.log_import import import_log

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO_ROOT / "sample_data"


@dataclasses.dataclass
class DatasetInfo:
    """One row of the dataset list."""

    id: str
    name: str
    bundled: bool
    rows: int
    users: int
    videos: int
    created: str
    bytes: int
    has_videos: bool
    path: Path
    videos_dir: Path | None
    manifest: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class BundledSample:
    """A dataset shipped in ``sample_data/`` with the import settings it needs."""

    id: str
    name: str
    path: str  # relative to sample_data/
    mapping: dict[str, str]
    time_unit: str
    videos: str | None  # folder relative to sample_data/, or None
    description: str


BUNDLED = (
    BundledSample(
        id="sample-synthetic",
        name="Synthetic sample (with videos)",
        path="synthetic/interactions.csv",
        mapping={},
        time_unit="s",
        videos="synthetic/videos",
        description="Generated world where users leave inside scenes they dislike; WebM videos.",
    ),
    BundledSample(
        id="sample-kuairand",
        name="KuaiRand like/hate (real, no videos)",
        path="kuairand/kuairand_like_hate.tsv.gz",
        mapping={
            "play_time_ms": S.PLAY,
            "duration_ms": S.DURATION,
            "time_ms": S.TIMESTAMP,
            "label": "like",
            "is_follow": "follow",
            "is_forward": "forward",
        },
        time_unit="ms",
        videos=None,
        description="Real KuaiRand-27K subset (CC BY-SA 4.0), 664 users; no video files.",
    ),
)


_COUNTS: dict[tuple[str, float], dict[str, int]] = {}
_COUNTS_LOCK = threading.Lock()  # concurrent first callers (app sessions) import the file once


def _bundled_counts(b: BundledSample) -> dict[str, int]:
    """Row/user/video counts of a bundled sample, computed once per file version."""
    p = SAMPLE_DIR / b.path
    key = (str(p), p.stat().st_mtime)
    if key in _COUNTS:
        return _COUNTS[key]
    with _COUNTS_LOCK:
        if key not in _COUNTS:
            log = import_log(p, mapping=b.mapping, time_unit=b.time_unit)[0]
            _COUNTS[key] = {"views": len(log), "users": int(log[S.USER].nunique()),
                            "videos": int(log[S.VIDEO].nunique())}
        return _COUNTS[key]


def bundled_info(b: BundledSample) -> DatasetInfo:
    p = SAMPLE_DIR / b.path
    vdir = SAMPLE_DIR / b.videos if b.videos else None
    meta = _bundled_counts(b) if p.exists() else {}
    return DatasetInfo(
        id=b.id, name=b.name, bundled=True, rows=int(meta.get("views", 0)), users=int(meta.get("users", 0)),
        videos=int(meta.get("videos", 0)), created="bundled", bytes=p.stat().st_size if p.exists() else 0,
        has_videos=bool(vdir and vdir.is_dir()), path=p, videos_dir=vdir if vdir and vdir.is_dir() else None,
        manifest={"id": b.id, "name": b.name, "description": b.description, "mapping": b.mapping, "time_unit": b.time_unit},
    )
