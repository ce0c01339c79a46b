"""Tiny test videos written with OpenCV (VP9 WebM and mp4v), and bad files.

``write_video`` draws frame ``i`` with its index in 6 black/white 8x8 squares along the top
(``decode_index`` reads it back), so tests can tell exactly which frame was sampled even after
lossy compression; the rest of the frame is a coloured background with a moving disc.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

FOURCC = {".webm": "VP90", ".mp4": "mp4v", ".avi": "MJPG", ".mkv": "VP90", ".mov": "mp4v"}
BITS = 7
SQ = 8


def frame_for(i: int, size=(96, 64), hue: int = 30) -> np.ndarray:
    w, h = size
    hsv = np.zeros((h, w, 3), np.uint8)
    hsv[..., 0] = hue
    hsv[..., 1] = 160
    hsv[..., 2] = 180
    f = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    cv2.circle(f, (int((i * 3) % w), h // 2 + 8), 7, (255, 255, 255), -1)
    f[:SQ, : BITS * SQ] = 0
    for b in range(BITS):
        if (i >> b) & 1:
            f[:SQ, b * SQ : (b + 1) * SQ] = 255
    return f


def decode_index(frame: np.ndarray) -> int:
    """Read back the index drawn by :func:`frame_for` (frame at its original size)."""
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(float)
    return sum(1 << b for b in range(BITS) if grey[2 : SQ - 2, b * SQ + 2 : (b + 1) * SQ - 2].mean() > 128)


def write_video(path: Path, n: int = 48, fps: float = 24.0, size=(96, 64), hue: int = 30) -> Path:
    path = Path(path)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC[path.suffix.lower()]), fps, size)
    assert w.isOpened(), path
    for i in range(n):
        w.write(frame_for(i, size, hue))
    w.release()
    return path


def write_truncated(src: Path, dst: Path, frac: float = 0.5) -> Path:
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * frac)])
    return Path(dst)


def write_bad_files(folder: Path) -> dict[str, str]:
    """0-byte mp4, text renamed .mp4; returns {name: kind}."""
    folder = Path(folder)
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "notes.mp4").write_text("this is not a video\n" * 20)
    return {"empty.mp4": "0 bytes", "notes.mp4": "not a video"}


def strip_webm_duration(src: Path, dst: Path) -> Path:
    """Copy of a WebM whose Segment Info has no Duration (as in live-recorded WebM): the
    Duration element (ID 0x4489, 8-byte float) is overwritten by a Void element of equal size,
    so OpenCV reports an absurd frame count."""
    data = Path(src).read_bytes()
    i = data.find(b"\x44\x89\x88")
    assert i > 0, "no 8-byte Duration element found"
    void = bytes([0xEC, 0x80 | 9]) + b"\x00" * 9  # ID, size 9, payload: 11 bytes like the original
    Path(dst).write_bytes(data[:i] + void + data[i + 11 :])
    return Path(dst)
