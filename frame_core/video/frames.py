"""Frame sampling: ``k`` frames inside each of the ``N_c`` equal clips of a video.

Sample times (seconds) for clip ``c`` (0-based) and sample ``j = 0..k-1`` of a video lasting
``D`` seconds::

    t[c, j] = (c + (j + 0.5) / k) * D / N_c

i.e. the centres of ``k`` equal sub-intervals of the clip. With ``D = n / fps`` the frame shown
at ``t`` is ``floor(t * fps)``, so the frame index is ``floor((c + (j + 0.5) / k) * n / N_c)``
(computed in exact integer arithmetic and clipped to ``[0, n - 1]``); the fps cancels. When a
clip is shorter than ``k`` frames, indices repeat.

Decoding strategies (measured on small VP9 WebM and mp4v files, 10 s at 24 fps, 320x180,
2 cores; see the report of ``bench/bench_embed.py``):

- ``"sequential"``: decode the file once from start to end with ``grab()`` and ``retrieve()``
  only the needed frames. Cost ~ all frames; also counts the frames actually decodable, which
  catches truncated files and wrong WebM frame counts.
- ``"seek"``: ``set(CAP_PROP_POS_FRAMES, i)`` + ``read()`` per needed frame. Each seek decodes
  from the previous key frame, costing about 25 frame decodes, so it wins only when few frames
  are needed and loses badly otherwise. Per video, seek vs sequential: WebM ``N_c = 1`` 25 vs
  77 ms, ``N_c = 8`` 186 vs 89 ms, ``N_c = 64`` 1.5 s vs 0.2 s; mp4v ``N_c = 1`` 13 vs 44 ms,
  ``N_c = 8`` 89 vs 38 ms, ``N_c = 64`` 0.71 s vs 0.08 s.
- ``"auto"`` (default): ``seek`` when the metadata is plausible and
  ``distinct needed frames * SEEK_COST_FRAMES < frames``, else ``sequential``. If a seek fails,
  it falls back to ``sequential``. On the test files both give bit-identical frames.

Frames are resized to the encoder's fixed ``frame_size`` (width, height) with ``INTER_AREA``
(aspect ratio not kept) and stay BGR ``uint8``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import cv2
import numpy as np

from frame_core.common.errors import InputError
from frame_core.video.probe import (
    check_truncation,
    count_frames,
    make_info,
    open_capture,
    plausible_metadata,
    truncation_tolerance,
)
from frame_core.video.report import UnreadableVideoError, VideoInfo

MAX_NC = 64
MAX_K = 16
SEEK_COST_FRAMES = 32  # one seek costs about this many sequential frame decodes (measured ~25)
METHODS = ("auto", "sequential", "seek")


def check_nc_k(nc: int, k: int) -> tuple[int, int]:
    """Validate ``N_c`` (1..64) and ``k`` (1..16); raise :class:`InputError` otherwise."""
    try:
        nc_i, k_i = int(nc), int(k)
    except (TypeError, ValueError):
        raise InputError(f"N_c and k must be integers, got {nc!r} and {k!r}") from None
    if nc_i != nc or not 1 <= nc_i <= MAX_NC:
        raise InputError(f"N_c must be an integer from 1 to {MAX_NC}, got {nc!r}")
    if k_i != k or not 1 <= k_i <= MAX_K:
        raise InputError(f"k (frames per clip) must be an integer from 1 to {MAX_K}, got {k!r}")
    return nc_i, k_i


def sample_times(duration: float, nc: int, k: int = 3) -> np.ndarray:
    """Sample times in seconds, shape ``(nc, k)``: ``(c + (j + 0.5) / k) * duration / nc``."""
    nc, k = check_nc_k(nc, k)
    c = np.arange(nc, dtype=np.float64)[:, None]
    j = np.arange(k, dtype=np.float64)[None, :]
    return (c + (j + 0.5) / k) * float(duration) / nc


def sample_frame_indices(n_frames: int, nc: int, k: int = 3) -> np.ndarray:
    """Frame indices, shape ``(nc, k)`` int64: ``floor((c + (j + 0.5) / k) * n / nc)``, exact,
    clipped to ``[0, n - 1]``."""
    nc, k = check_nc_k(nc, k)
    n = int(n_frames)
    if n < 1:
        raise ValueError("a video needs at least one frame")
    c = np.arange(nc, dtype=np.int64)[:, None]
    j = np.arange(k, dtype=np.int64)[None, :]
    idx = ((2 * k * c + 2 * j + 1) * n) // (2 * k * nc)
    return np.minimum(idx, n - 1)


@dataclasses.dataclass
class ClipFrames:
    """Frames of one video: ``frames`` is ``(nc, k, H, W, 3)`` uint8 BGR; ``info`` the probe;
    ``method`` the strategy used; ``decoded`` how many frames were decoded (grabbed or read)."""

    frames: np.ndarray
    info: VideoInfo
    method: str
    decoded: int


def _resize(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    elif frame.shape[2] == 4:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    if (frame.shape[1], frame.shape[0]) == tuple(size):
        return np.ascontiguousarray(frame)
    return cv2.resize(frame, tuple(size), interpolation=cv2.INTER_AREA)


def _sequential(cap: cv2.VideoCapture, needed: np.ndarray, size) -> tuple[dict[int, np.ndarray], int, float]:
    """Decode to the end; retrieve the frames in ``needed`` (sorted unique). Returns the frames,
    the number of frames decoded and the last timestamp (s)."""
    out: dict[int, np.ndarray] = {}
    want = needed.tolist()
    p, n, last_ms = 0, 0, 0.0
    while cap.grab():
        if p < len(want) and n == want[p]:
            ok, frame = cap.retrieve()
            if ok and frame is not None:
                out[n] = _resize(frame, size)
            p += 1
        n += 1
        last_ms = cap.get(cv2.CAP_PROP_POS_MSEC)
    return out, n, last_ms / 1000.0


def _seek(cap: cv2.VideoCapture, needed: np.ndarray, size) -> dict[int, np.ndarray] | None:
    out: dict[int, np.ndarray] = {}
    for i in needed.tolist():
        if not cap.set(cv2.CAP_PROP_POS_FRAMES, float(i)):
            return None
        ok, frame = cap.read()
        if not ok or frame is None:
            return None
        out[i] = _resize(frame, size)
    return out


def read_clip_frames(
    path: str | os.PathLike,
    nc: int,
    k: int = 3,
    *,
    size: tuple[int, int] = (64, 64),
    method: str = "auto",
    name: str | None = None,
    sha256: str = "",
    threads: int = 0,
) -> ClipFrames:
    """Decode ``k`` frames per clip of one video (see the module docstring).

    ``size`` is (width, height) of the returned frames; ``threads`` the decoder threads (0 =
    OpenCV's default). Thread-safe: files may be read in parallel threads. Raises :class:`UnreadableVideoError`
    when the file can't be opened, decodes no frame, or is truncated (decodes more than
    ``max(2, 2 %)`` frames fewer than its header says, with the sequential strategy).
    """
    nc, k = check_nc_k(nc, k)
    if method not in METHODS:
        raise InputError(f"unknown frame sampling method {method!r}; use one of {', '.join(METHODS)}")
    name = name or Path(path).name
    size_bytes = Path(path).stat().st_size if Path(path).exists() else 0
    cap, meta = open_capture(path, name, threads)
    try:
        trusted = plausible_metadata(meta)
        if trusted:
            n_meta = int(meta["frames"])
            idx = sample_frame_indices(n_meta, nc, k)
            needed = np.unique(idx)
            if method == "seek" or (method == "auto" and len(needed) * SEEK_COST_FRAMES < n_meta):
                got = _seek(cap, needed, size)
                if got is not None:
                    frames = np.stack([got[i] for i in idx.ravel().tolist()]).reshape(nc, k, size[1], size[0], 3)
                    info = make_info(name, meta, n_meta, "metadata", size_bytes, sha256=sha256)
                    return ClipFrames(frames, info, "seek", len(needed))
                cap.release()
                cap, meta = open_capture(path, name, threads)  # seek failed: start over, sequentially
            got, n_dec, last_ts = _sequential(cap, needed, size)
            if n_dec == 0:
                raise UnreadableVideoError(name, "no frame can be decoded (zero frames)")
            check_truncation(name, n_meta, n_dec)
            decoded = n_dec
            missing = any(i not in got for i in needed.tolist())
            if missing or n_dec > n_meta + truncation_tolerance(n_meta):
                # the header's count was a little off: plan again on the true count, second pass
                idx = sample_frame_indices(n_dec, nc, k)
                needed = np.unique(idx)
                cap.release()
                cap, meta = open_capture(path, name, threads)
                got, n2, last_ts = _sequential(cap, needed, size)
                decoded += n2
                if any(i not in got for i in needed.tolist()):
                    raise UnreadableVideoError(name, "frames could not be decoded consistently")
            info = make_info(name, meta, n_dec, "decoded", size_bytes, last_ts=last_ts, sha256=sha256)
        else:
            # implausible header (e.g. live-recorded WebM): count by decoding, then sample
            n_dec, _ = count_frames(cap)
            if n_dec == 0:
                raise UnreadableVideoError(name, "no frame can be decoded (zero frames)")
            idx = sample_frame_indices(n_dec, nc, k)
            needed = np.unique(idx)
            cap.release()
            cap, meta = open_capture(path, name, threads)
            got, n2, last_ts = _sequential(cap, needed, size)
            decoded = n_dec + n2
            if any(i not in got for i in needed.tolist()):
                raise UnreadableVideoError(name, "frames could not be decoded consistently")
            info = make_info(name, meta, n_dec, "decoded", size_bytes, last_ts=last_ts, sha256=sha256)
        frames = np.stack([got[i] for i in idx.ravel().tolist()]).reshape(nc, k, size[1], size[0], 3)
        return ClipFrames(frames, info, "sequential", decoded)
    finally:
        cap.release()
