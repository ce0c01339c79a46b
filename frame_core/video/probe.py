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

import hashlib
import logging
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import pandas as pd

from frame_core.video.report import (
    UnreadableVideoError,
    VideoInfo,
    VideoIssue,
    VideoReport,
    compare_with_log,
    video_id_of,
)
from frame_core.video.staging import StagedVideos

logger = logging.getLogger(__name__)

MAX_FPS = 1000.0
MAX_DURATION_S = 6 * 3600.0

ProgressFn = Callable[[int, int, str], None]




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
