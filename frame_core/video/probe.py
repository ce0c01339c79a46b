"""Video import: find video files, sanitise their names, probe them with OpenCV, and report.

Conventions
-----------
- A video file is named ``<video_id>.<ext>`` with ``ext`` in :data:`VIDEO_EXTENSIONS`
  (mp4, webm, avi, mkv, mov; case-insensitive). The video id is the name without its last
  extension, so ``007.webm`` is video ``"007"`` (ids are strings, as in the log).
- Uploaded names are sanitised (:func:`sanitise_name`): only the basename is kept (no path
  traversal), characters outside ``[A-Za-z0-9._-]`` become ``_`` and leading/trailing ``.``/``_``
  are stripped, exactly like :func:`frame_core.services.workspace.safe_video_name`.
- Times are seconds. A file's duration is ``frames / fps``: frame ``i`` is shown during
  ``[i / fps, (i + 1) / fps)``.

Frame counts
------------
OpenCV's ``CAP_PROP_FRAME_COUNT`` is the container's ``nb_frames`` when there is one (mp4, mov,
avi) and otherwise ``round(duration * fps)`` (Matroska/WebM). It lies when the container has no
duration (live-recorded WebM: 0, negative or absurd) or when the file is truncated (the header
keeps the original length while the data stops early). Therefore:

- the metadata count is used only when it is *plausible*: ``1 <= frames``, ``0 < fps <= 1000``
  and ``frames / fps <= 6 h``; otherwise the frames are counted by decoding (``grab()`` to the
  end) and the duration comes from the last decoded timestamp;
- ``probe_video(verify=True)`` always decodes to count (this is what :func:`check_videos` does
  by default, so a truncated file is found);
- embedding (:mod:`frame_core.video.frames`) decodes each file anyway with its default
  sequential strategy, counts what it decodes, samples on that true count, and treats a file
  that stops more than ``max(2, 2 %)`` frames short of its metadata as truncated (an error, not
  embedded). Seeking (used only when very few frames are needed) cannot see a truncated tail
  beyond its last sample; a seek that fails falls back to the sequential pass.

Nothing here prints; problems are collected in a :class:`VideoReport` instead of stopping.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from frame_core.common.errors import InputError

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".webm", ".mp4", ".avi", ".mkv", ".mov")
DURATION_TOLERANCE_S = 1.0  # file vs log duration difference above which the report warns
MAX_FPS = 1000.0
MAX_DURATION_S = 6 * 3600.0

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

ProgressFn = Callable[[int, int, str], None]


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


# ---------------------------------------------------------------------------- collecting input
class StagedVideos:
    """Resolve ``videos`` (a folder, a file, or uploads) into :class:`VideoSource` objects.

    Accepted inputs:

    - a folder path: its files (not recursive) with a video extension;
    - a single video file path;
    - an iterable whose items are paths, ``(filename, bytes)`` pairs, or objects with ``.name``
      and ``.getvalue()`` (Streamlit's ``UploadedFile``). Uploaded bytes are written, under their
      sanitised name, into a temporary folder that is removed by :meth:`close`.

    Use as a context manager. ``issues`` lists ignored, renamed, invalid and duplicate names.
    """

    def __init__(self, videos: Any):
        self.sources: list[VideoSource] = []
        self.issues: list[VideoIssue] = []
        self.n_files = 0
        self._tmp: str | None = None
        self._seen: dict[str, str] = {}
        try:
            self._collect(videos)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> StagedVideos:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- internals
    def _collect(self, videos: Any) -> None:
        if videos is None:
            raise InputError("no videos given: pass a folder of <video_id>.<ext> files or a list of uploads")
        if isinstance(videos, (str, os.PathLike)):
            p = Path(videos)
            if p.is_dir():
                files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
                for f in files:
                    self._add_path(f, report_ignored=True)
                if not any(is_video_name(f.name) for f in files):
                    raise InputError(
                        f"no video files in {p}: expected <video_id>.<ext> with ext one of "
                        + ", ".join(e[1:] for e in VIDEO_EXTENSIONS)
                    )
                return
            if p.is_file():
                self._add_path(p, report_ignored=True)
                return
            raise InputError(f"videos folder not found: {p}")
        if isinstance(videos, (bytes, bytearray)):
            raise InputError("videos must be a folder or a list of (filename, bytes) uploads, not raw bytes")
        for item in videos:
            if isinstance(item, (str, os.PathLike)):
                self._add_path(Path(item), report_ignored=True)
            elif isinstance(item, tuple) and len(item) == 2:
                self._add_bytes(str(item[0]), item[1])
            elif hasattr(item, "name") and hasattr(item, "getvalue"):
                self._add_bytes(str(item.name), item.getvalue())
            else:
                raise InputError(f"cannot read a video from {type(item).__name__}: give paths or (filename, bytes) pairs")

    def _claim(self, name: str, vid: str) -> bool:
        if vid in self._seen:
            self.issues.append(
                VideoIssue(name, vid, "duplicate", f"video id {vid!r} already comes from {self._seen[vid]}; file skipped")
            )
            return False
        self._seen[vid] = name
        return True

    def _add_path(self, path: Path, report_ignored: bool) -> None:
        if not is_video_name(path.name):
            if report_ignored:
                self.issues.append(VideoIssue(path.name, "", "ignored", "not a video file extension"))
            return
        self.n_files += 1
        if not path.is_file():
            self.issues.append(VideoIssue(path.name, video_id_of(path.name), "unreadable", "file not found"))
            return
        vid = video_id_of(path.name)
        if self._claim(path.name, vid):
            self.sources.append(VideoSource(vid, path.name, path, path.stat().st_size))

    def _add_bytes(self, raw_name: str, data: Any) -> None:
        name = sanitise_name(raw_name)
        shown = Path(raw_name.replace("\\", "/")).name or raw_name
        if not is_video_name(name or raw_name):
            self.issues.append(VideoIssue(shown, "", "ignored", "not a video file extension"))
            return
        self.n_files += 1
        if not name:
            self.issues.append(VideoIssue(shown, "", "invalid_name", "no usable characters in the file name"))
            return
        if name != raw_name:
            self.issues.append(VideoIssue(name, video_id_of(name), "renamed", f"uploaded as {raw_name!r}"))
        vid = video_id_of(name)
        if not self._claim(name, vid):
            return
        data = bytes(data)
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="frame-videos-")
        path = Path(self._tmp) / name
        path.write_bytes(data)
        self.sources.append(VideoSource(vid, name, path, len(data)))


# -------------------------------------------------------------------------------- probing
def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's content."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def open_capture(
    path: str | os.PathLike, name: str | None = None, threads: int = 0
) -> tuple[cv2.VideoCapture, dict[str, float]]:
    """Open a video with OpenCV's FFmpeg backend; raise :class:`UnreadableVideoError` when it
    can't be opened. ``threads``: decoder threads (0 = OpenCV's default, one per CPU; 1 is
    cheaper for small frames and when several files are decoded in parallel). Returns the
    capture and its raw metadata (frames, fps, width, height)."""
    name = name or Path(path).name
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise UnreadableVideoError(name, f"cannot read the file ({exc.strerror or exc})") from None
    if size == 0:
        raise UnreadableVideoError(name, "empty file (0 bytes)")
    params = [cv2.CAP_PROP_N_THREADS, int(threads)] if threads else []
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG, params)
    if not cap.isOpened():
        cap.release()
        raise UnreadableVideoError(name, "not a readable video (cannot be opened: damaged, truncated or not a video)")
    meta = {
        "frames": float(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
        "fps": float(cap.get(cv2.CAP_PROP_FPS)),
        "width": float(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        "height": float(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    }
    return cap, meta


def cv_reason(exc: Exception) -> str:
    """Short report text for an OpenCV exception raised while decoding."""
    text = str(exc).strip().splitlines()
    return "OpenCV could not decode it" + (f" ({text[-1][:160]})" if text else "")


def plausible_metadata(meta: dict[str, float]) -> bool:
    """Whether the container's frame count and fps can be trusted (see the module docstring)."""
    n, fps = meta.get("frames", 0.0), meta.get("fps", 0.0)
    if not (math.isfinite(n) and math.isfinite(fps)):
        return False
    return n >= 1 and 0 < fps <= MAX_FPS and n / fps <= MAX_DURATION_S


def count_frames(cap: cv2.VideoCapture) -> tuple[int, float]:
    """Decode (``grab()``) to the end. Returns (frames decoded, timestamp of the last frame in s)."""
    n, last_ms = 0, 0.0
    while cap.grab():
        n += 1
        last_ms = cap.get(cv2.CAP_PROP_POS_MSEC)
    return n, last_ms / 1000.0


def make_info(
    source_name: str, meta: dict[str, float], frames: int, frames_source: str, size_bytes: int,
    last_ts: float | None = None, sha256: str = "",
) -> VideoInfo:
    """Build a :class:`VideoInfo`; when the fps is not plausible it is estimated from the last
    decoded timestamp (``frames / (last_ts + 1 frame)``)."""
    fps = meta.get("fps", 0.0)
    if not (math.isfinite(fps) and 0 < fps <= MAX_FPS):
        fps = (frames - 1) / last_ts if last_ts and last_ts > 0 and frames > 1 else 25.0
    return VideoInfo(
        video_id=video_id_of(source_name),
        name=source_name,
        frames=int(frames),
        fps=float(fps),
        duration=float(frames / fps),
        width=int(meta.get("width", 0) or 0),
        height=int(meta.get("height", 0) or 0),
        size_bytes=int(size_bytes),
        frames_source=frames_source,
        sha256=sha256,
    )


def probe_video(path: str | os.PathLike, *, verify: bool = False, name: str | None = None, sha256: str = "") -> VideoInfo:
    """Probe one video: frames, fps, duration (s), width, height.

    With ``verify=False`` the container metadata is used when plausible and the first frame is
    decoded to check that the stream decodes; otherwise the frames are counted by decoding.
    With ``verify=True`` the whole file is decoded (``grab()`` only) and a file that stops more
    than ``max(2, 2 %)`` frames short of its metadata is reported as truncated.
    Raises :class:`UnreadableVideoError` (an :class:`InputError`) with the reason.
    """
    name = name or Path(path).name
    size = Path(path).stat().st_size if Path(path).exists() else 0
    cap, meta = open_capture(path, name)
    try:
        trusted = plausible_metadata(meta)
        if trusted and not verify:
            if not cap.grab():
                raise UnreadableVideoError(name, "no frame can be decoded")
            return make_info(name, meta, int(meta["frames"]), "metadata", size, sha256=sha256)
        n, last_ts = count_frames(cap)
        if n == 0:
            raise UnreadableVideoError(name, "no frame can be decoded (zero frames)")
        if trusted:
            check_truncation(name, int(meta["frames"]), n)
        return make_info(name, meta, n, "decoded", size, last_ts=last_ts, sha256=sha256)
    finally:
        cap.release()


def truncation_tolerance(n_meta: int) -> int:
    """How many frames a decode may fall short of the metadata count before the file is
    called truncated: ``max(2, ceil(2 % of n_meta))`` (WebM counts are rounded from durations)."""
    return max(2, math.ceil(0.02 * n_meta))


def check_truncation(name: str, n_meta: int, n_decoded: int) -> None:
    if n_decoded < n_meta - truncation_tolerance(n_meta):
        raise UnreadableVideoError(
            name, f"truncated or damaged: only {n_decoded} of the {n_meta} frames in its header decode"
        )


# ---------------------------------------------------------------------------------- report
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


def check_videos(
    videos: Any, *, log: pd.DataFrame | None = None, verify: bool = True, progress: ProgressFn | None = None,
) -> VideoReport:
    """Probe every video and report problems without stopping on bad files.

    ``videos``: a folder, a file, or uploads (see :class:`StagedVideos`). ``log``: optional
    DataFrame with ``video_id`` (and ``duration_time`` in s) to cross-check against. ``verify``:
    decode each file fully to count its frames (finds truncated files; see
    :func:`probe_video`). ``progress(done, total, "probe")`` is called after each file.
    """
    with StagedVideos(videos) as staged:
        report = VideoReport(issues=list(staged.issues), n_files=staged.n_files)
        total = len(staged.sources)
        if progress:
            progress(0, total, "probe")
        for i, src in enumerate(staged.sources):
            try:
                report.videos.append(probe_video(src.path, verify=verify, name=src.name))
            except UnreadableVideoError as exc:
                report.issues.append(VideoIssue(src.name, src.video_id, "unreadable", exc.reason))
            except cv2.error as exc:
                report.issues.append(VideoIssue(src.name, src.video_id, "unreadable", cv_reason(exc)))
            if progress:
                progress(i + 1, total, "probe")
        report.videos.sort(key=lambda v: v.video_id)
        compare_with_log(report, log, attempted=[s.video_id for s in staged.sources])
    return report
