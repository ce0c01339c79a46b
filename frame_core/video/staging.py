"""Collecting video input: a folder, a file or uploaded bytes, resolved into sanitised
:class:`~frame_core.video.report.VideoSource` objects (uploads are staged in a temporary folder
for as long as the call lasts)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from frame_core.common.errors import InputError
from frame_core.common.schema import VIDEO_EXTENSIONS
from frame_core.video.report import VideoIssue, VideoSource, is_video_name, sanitise_name, video_id_of


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
