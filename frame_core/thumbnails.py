"""One small still per clip of a video file, for the Skip Explorer's filmstrip.

A clip's still is the frame at the middle of the clip (``(c + 0.5) / nc`` of the file's own
duration). Frames are read with OpenCV (``opencv-python-headless``), scaled to ``width`` pixels and
returned as JPEG bytes, so that callers can cache them as plain bytes. A file that OpenCV can't
read gives an empty list, never an exception.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .labels import check_nc

VIDEO_EXTENSIONS = (".webm", ".mp4", ".mkv", ".avi", ".mov")
MAX_SEQUENTIAL_FRAMES = 3000  # short files are read front to back (seeking in WebM is unreliable)


def find_video_file(videos_dir, video_id) -> Path | None:
    """``videos_dir/<video_id>.<ext>`` for the first video extension that exists, else None.
    Ids with path separators never match (no path traversal)."""
    if videos_dir is None:
        return None
    vid = str(video_id)
    if not vid or "/" in vid or "\\" in vid or vid.startswith("."):
        return None
    base = Path(videos_dir)
    for ext in VIDEO_EXTENSIONS:
        p = base / f"{vid}{ext}"
        if p.is_file():
            return p
    return None


def video_mime(path) -> str:
    """MIME type for ``st.video`` from the file extension."""
    ext = Path(path).suffix.lower()
    return {
        ".webm": "video/webm",
        ".mp4": "video/mp4",
        ".mkv": "video/x-matroska",
        ".avi": "video/x-msvideo",
        ".mov": "video/quicktime",
    }.get(ext, "video/mp4")


def _encode(frame_bgr: np.ndarray, width: int) -> bytes:
    import cv2

    h, w = frame_bgr.shape[:2]
    if w != width and w > 0:
        frame_bgr = cv2.resize(frame_bgr, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", frame_bgr, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return buf.tobytes() if ok else b""


def clip_thumbnails(path, nc: int, width: int = 128) -> list[bytes]:
    """JPEG bytes of the middle frame of each of the ``nc`` clips of a video file.

    Returns ``nc`` items (an item may be ``b""`` where a frame could not be decoded), or ``[]``
    when the file can't be opened or has no frames."""
    nc = check_nc(nc)
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return []
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if n <= 0:  # some containers don't store a frame count: count by grabbing, then reopen
            while n < MAX_SEQUENTIAL_FRAMES and cap.grab():
                n += 1
            if n >= MAX_SEQUENTIAL_FRAMES:
                return []  # long file without a frame count: positions would be guesses
            cap.release()
            cap = cv2.VideoCapture(str(path))
        if 0 < n <= MAX_SEQUENTIAL_FRAMES:
            want = np.minimum(((np.arange(nc) + 0.5) / nc * n).astype("int64"), n - 1)
            frames: dict[int, bytes] = {}
            i = 0
            last = None
            needed = set(int(x) for x in want)
            while i <= int(want.max()):
                ok, frame = cap.read()
                if not ok:
                    break
                if i in needed:
                    frames[i] = _encode(frame, width)
                last = frame
                i += 1
            if not frames and last is None:
                return []
            # a count that overstated the frames: fall back to the last decoded frame
            tail = _encode(last, width) if last is not None else b""
            return [frames.get(int(x), tail) for x in want]
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if n <= 0 or fps <= 0:
            return []
        dur_ms = n / fps * 1000.0
        out = []
        for c in range(nc):
            cap.set(cv2.CAP_PROP_POS_MSEC, (c + 0.5) / nc * dur_ms)
            ok, frame = cap.read()
            out.append(_encode(frame, width) if ok else b"")
        return out if any(out) else []
    finally:
        cap.release()
