"""One small still per clip of a video file, for the Skip Explorer's filmstrip.

A clip's still is the frame at the middle of the clip (``(c + 0.5) / nc`` of the file's own
duration), sampled by :func:`frame_core.video.frames.read_clip_frames` with ``k = 1`` (the same
sampler the visual encoders use), scaled to ``width`` pixels with the file's aspect ratio and
returned as JPEG bytes, so that callers can cache them as plain bytes. A file that can't be
decoded gives an empty list, never an exception.
"""

from __future__ import annotations

from pathlib import Path

from frame_core.common.schema import VIDEO_EXTENSIONS
from frame_core.data.labels import check_nc

MAX_HEIGHT = 480


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


def clip_thumbnails(path, nc: int, width: int = 128) -> list[bytes]:
    """JPEG bytes of the middle frame of each of the ``nc`` clips of a video file: ``nc`` items,
    or ``[]`` when the file can't be opened or decoded."""
    nc = check_nc(nc)
    import cv2

    from frame_core.common.errors import InputError
    from frame_core.video.frames import read_clip_frames

    try:
        cap = cv2.VideoCapture(str(path))
        w = float(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0.0)
        h = float(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0.0)
        cap.release()
        height = int(min(max(round(width * h / w), 1), MAX_HEIGHT)) if w > 0 and h > 0 else round(width * 9 / 16)
        frames = read_clip_frames(path, nc, 1, size=(int(width), height)).frames  # (nc, 1, H, W, 3) BGR
    except (InputError, OSError, cv2.error):
        return []
    out = []
    for c in range(nc):
        ok, buf = cv2.imencode(".jpg", frames[c, 0], [cv2.IMWRITE_JPEG_QUALITY, 80])
        out.append(buf.tobytes() if ok else b"")
    return out
