"""What video import reports: file naming conventions, the probed facts of a file, the issues
found (with their severity) and the cross-check against a log. See :mod:`frame_core.video.probe`
for how files are probed; times are seconds."""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from frame_core.common.errors import InputError
from frame_core.common.schema import VIDEO_EXTENSIONS

DURATION_TOLERANCE_S = 1.0  # file vs log duration difference above which the report warns

# issue kinds and their severity: errors mean the file is not used
ISSUE_SEVERITY = {
    "unreadable": "error",  # cannot be decoded: 0 bytes, not a video, truncated, zero frames
    "duplicate": "error",  # a second file for the same video id (the first one is used)
    "invalid_name": "error",  # nothing left of the name after sanitising
    "missing_file": "warning",  # logged video without a file
    "no_views": "warning",  # file whose video id has no logged view
    "duration_mismatch": "warning",  # |file duration - log duration| > 1 s
    "renamed": "info",  # the uploaded name was sanitised
    "ignored": "info",  # not a video extension
}

class UnreadableVideoError(InputError):
    """A video file that cannot be decoded. ``reason`` is the short cause shown in reports."""

    def __init__(self, name: str, reason: str):
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")


# ------------------------------------------------------------------------------------- names
def sanitise_name(name: str) -> str:
    """Safe file name for an uploaded video: basename only, ``[A-Za-z0-9._-]`` only.

    The stem's other characters become ``_`` and leading/trailing ``.``/``_`` are stripped (so
    ``../../etc/passwd.mp4`` becomes ``passwd.mp4`` and ``..mp4`` becomes ``.mp4`` whose stem is
    empty); the extension is lower-cased. Returns ``""`` when no stem is left.
    """
    base = Path(str(name).replace("\\", "/")).name
    stem, ext = os.path.splitext(base)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._")[:200]
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext)[:10].lower()
    if not stem:
        return ""
    return f"{stem}.{ext}" if ext else stem


def video_id_of(name: str) -> str:
    """The video id of a file name ``<video_id>.<ext>``."""
    return os.path.splitext(Path(name).name)[0]


def is_video_name(name: str) -> bool:
    return os.path.splitext(str(name))[1].lower() in VIDEO_EXTENSIONS


# ------------------------------------------------------------------------------- data types
@dataclasses.dataclass(frozen=True)
class VideoSource:
    """One video file to process. ``path`` is readable for as long as the call that made it
    lasts (uploads are staged in a temporary folder)."""

    video_id: str
    name: str
    path: Path
    size_bytes: int


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """Probe result of one readable video.

    ``frames``: frame count (decoded when ``frames_source == "decoded"``, else container
    metadata); ``fps``: frames per second; ``duration``: ``frames / fps`` in seconds;
    ``width``/``height``: pixels; ``sha256``: hex digest of the file content (or ``""``).
    """

    video_id: str
    name: str
    frames: int
    fps: float
    duration: float
    width: int
    height: int
    size_bytes: int
    frames_source: str  # "metadata" or "decoded"
    sha256: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class VideoIssue:
    """One problem found about one file or one logged video. ``name`` is the file name, or the
    video id for logged videos without a file."""

    name: str
    video_id: str
    kind: str
    detail: str

    @property
    def severity(self) -> str:
        return ISSUE_SEVERITY.get(self.kind, "warning")


@dataclasses.dataclass
class VideoReport:
    """What was found about a set of video files (and the log, when one was given).

    ``videos`` are the readable files (sorted by video id); ``issues`` every problem by file
    name with its reason. ``cache_hits``/``cache_misses`` count embedding cache look-ups.
    """

    videos: list[VideoInfo] = dataclasses.field(default_factory=list)
    issues: list[VideoIssue] = dataclasses.field(default_factory=list)
    n_files: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    notes: list[str] = dataclasses.field(default_factory=list)

    def by_kind(self, kind: str) -> list[VideoIssue]:
        return [i for i in self.issues if i.kind == kind]

    @property
    def errors(self) -> list[VideoIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def bad_files(self) -> list[str]:
        """Names of the files that could not be used (unreadable, duplicate, invalid name)."""
        return [i.name for i in self.errors]

    @property
    def ok(self) -> bool:
        return not self.errors

    def issues_frame(self) -> pd.DataFrame:
        """Issues as a table: name, video_id, severity, kind, detail."""
        cols = ["name", "video_id", "severity", "kind", "detail"]
        return pd.DataFrame(
            [(i.name, i.video_id, i.severity, i.kind, i.detail) for i in self.issues], columns=cols
        )

    def videos_frame(self) -> pd.DataFrame:
        """Readable videos as a table (one row per file, the fields of :class:`VideoInfo`)."""
        cols = [f.name for f in dataclasses.fields(VideoInfo)]
        return pd.DataFrame([dataclasses.astuple(v) for v in self.videos], columns=cols)

    def counts(self) -> dict[str, int]:
        out = {"files": self.n_files, "readable": len(self.videos)}
        for kind in ISSUE_SEVERITY:
            out[kind] = len(self.by_kind(kind))
        return out

    def to_text(self, max_lines: int = 20) -> str:
        """Human-readable summary: counts, then up to ``max_lines`` issues (errors first)."""
        c = self.counts()
        head = f"{c['readable']} of {c['files']} video files readable"
        if self.cache_hits or self.cache_misses:
            head += f"; embedding cache: {self.cache_hits} hits, {self.cache_misses} misses"
        lines = [head]
        order = {"error": 0, "warning": 1, "info": 2}
        issues = sorted(self.issues, key=lambda i: (order[i.severity], i.kind, i.name))
        for i in issues[:max_lines]:
            lines.append(f"  {i.severity}: {i.name}: {i.kind.replace('_', ' ')}: {i.detail}")
        if len(issues) > max_lines:
            lines.append(f"  … and {len(issues) - max_lines} more")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts(),
            "issues": [dataclasses.asdict(i) | {"severity": i.severity} for i in self.issues],
            "videos": [v.to_json() for v in self.videos],
            "notes": list(self.notes),
        }


def log_durations(log: pd.DataFrame | None) -> pd.Series | None:
    """Median logged ``duration_time`` (s) per video id (as strings); ids only if no durations."""
    if log is None:
        return None
    if not isinstance(log, pd.DataFrame):
        raise InputError("log must be a DataFrame with a video_id column")
    if "video_id" not in log.columns:
        raise InputError("the log has no video_id column, so videos cannot be matched to it")
    ids = log["video_id"].astype(str)
    if "duration_time" in log.columns:
        dur = pd.to_numeric(log["duration_time"], errors="coerce")
        return dur.groupby(ids).median()
    return pd.Series(np.nan, index=pd.Index(ids.unique()))


def compare_with_log(report: VideoReport, log: pd.DataFrame | None, attempted: Iterable[str] = ()) -> None:
    """Add ``missing_file``, ``no_views`` and ``duration_mismatch`` issues to ``report``.

    ``attempted`` are video ids that have a file, readable or not (so an unreadable file is not
    also reported as missing).
    """
    durations = log_durations(log)
    if durations is None:
        return
    have = {v.video_id for v in report.videos} | set(attempted)
    for vid in sorted(set(durations.index) - have):
        report.issues.append(VideoIssue(vid, vid, "missing_file", "logged video has no video file"))
    for v in report.videos:
        if v.video_id not in durations.index:
            report.issues.append(VideoIssue(v.name, v.video_id, "no_views", "no view of this video in the log"))
            continue
        logged = float(durations.loc[v.video_id])
        if math.isfinite(logged) and abs(logged - v.duration) > DURATION_TOLERANCE_S:
            report.issues.append(
                VideoIssue(
                    v.name, v.video_id, "duration_mismatch",
                    f"file lasts {v.duration:.2f} s, the log says {logged:.2f} s",
                )
            )
