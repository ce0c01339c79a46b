"""Rendering a synthetic world's videos: per-scene textures moving over time, written as VP9
WebM with OpenCV (see :mod:`frame_core.synth`)."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
from pathlib import Path

import numpy as np

from frame_core.common.atomic import atomic_path
from frame_core.synth.world import FPS, FRAME_H, FRAME_W, THEMES, Theme

log = logging.getLogger(__name__)


_TORUS = 128  # textures live on a T x T torus; frames are crops of it at integer offsets


def _periodic_field(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    """A smooth random field on a ``size`` × ``size`` torus, scaled to [0, 1]."""
    noise = rng.normal(0.0, 1.0, (size, size))
    f = np.fft.fftfreq(size)
    fx, fy = np.meshgrid(f, f)
    kernel = np.exp(-2.0 * (math.pi * sigma) ** 2 * (fx**2 + fy**2))
    field = np.real(np.fft.ifft2(np.fft.fft2(noise) * kernel))
    field /= field.std() + 1e-12
    return (0.5 + 0.5 * np.tanh(1.2 * field)).astype(np.float32)


def _scene_variation(rng: np.random.Generator, theme: Theme) -> dict:
    return {
        "hue": theme.hue + float(np.clip(rng.normal(0.0, 2.5), -5.0, 5.0)),
        "sat": theme.sat * rng.uniform(0.85, 1.15),
        "val": theme.val + float(np.clip(rng.normal(0.0, 10.0), -20.0, 20.0)),
        "contrast": theme.contrast * rng.uniform(0.85, 1.15),
        "scale": theme.scale * rng.uniform(0.87, 1.15),
        "angle": math.radians(theme.angle + rng.normal(0.0, 8.0)),
        "speed": theme.speed * rng.uniform(0.75, 1.25),
        "phase": rng.uniform(0.0, 2 * math.pi),
    }


def _texture(theme: Theme, var: dict, rng: np.random.Generator) -> np.ndarray:
    """Brightness pattern in [0, 1] on the torus (T × T), periodic so that it can slide."""
    size = _TORUS
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    # Wave vector on the torus lattice: `scale` cycles per frame width along the motion direction.
    c = var["scale"] * size / FRAME_W
    cos, sin = math.cos(var["angle"]), math.sin(var["angle"])
    m, n = round(c * cos), round(c * sin)
    if m == 0 and n == 0:
        m = 1
    phase = var["phase"]
    w1 = 2 * math.pi * (m * x + n * y) / size + phase  # along the motion
    w2 = 2 * math.pi * (-n * x + m * y) / size + phase  # across it, same frequency
    tex = theme.texture
    if tex == "stripes":
        return 0.5 + 0.5 * np.tanh(1.5 * np.sin(w1)) / math.tanh(1.5)
    if tex == "waves":
        bend = 2 * math.pi * (-round(sin) * x + round(cos) * y) / size
        return 0.5 + 0.5 * np.sin(w1 + 1.2 * np.sin(bend))
    if tex == "checker":
        return 0.5 + 0.5 * np.tanh(1.5 * np.sin(w1) * np.sin(w2)) / math.tanh(1.5)
    if tex == "dots":
        return ((1 + np.cos(w1)) * (1 + np.cos(w2)) / 4) ** 3
    if tex == "rings":
        # Rings around the torus' corner, with the radius wrapped to stay periodic; they drift.
        dx = np.minimum(x, size - x)
        dy = np.minimum(y, size - y)
        r = np.hypot(dx, dy)
        return 0.5 + 0.5 * np.sin(2 * math.pi * c * r / size + phase)
    if tex == "grain":
        return _periodic_field(rng, size, var["scale"])
    if tex == "blobs":
        return _periodic_field(rng, size, var["scale"])
    raise ValueError(f"unknown texture {tex!r}")


def _scene_canvas(theme: Theme, var: dict, rng: np.random.Generator) -> np.ndarray:
    """HSV uint8 torus image of one scene: texture, colour and a static lighting blotch."""
    p = _texture(theme, var, rng)
    blotch = (_periodic_field(rng, _TORUS, 18.0) - 0.5) * 16.0
    hsv = np.empty((_TORUS, _TORUS, 3), dtype=np.uint8)
    hsv[..., 0] = np.mod(np.round(var["hue"] + 4.0 * (p - 0.5)), 180.0).astype(np.uint8)
    hsv[..., 1] = np.uint8(np.clip(round(var["sat"]), 0, 255))
    hsv[..., 2] = np.clip(np.round(var["val"] + var["contrast"] * 255.0 * (p - 0.5) + blotch), 0, 255).astype(np.uint8)
    return hsv


def render_frames(duration: float, scenes, rng: np.random.Generator) -> np.ndarray:
    """BGR uint8 frames (n, FRAME_H, FRAME_W, 3) of a video with ``scenes`` [(start, end, theme)].

    Each scene is a crop of a periodic texture that slides by whole pixels (so VP9 predicts it
    well and files stay small), with ``n = round(duration * FPS)`` frames in all.
    """
    import cv2

    n = max(1, int(round(duration * FPS)))
    t = np.arange(n) / FPS
    hsv = np.empty((n, FRAME_H, FRAME_W, 3), dtype=np.uint8)
    ends = np.array([s[1] for s in scenes], dtype=float)
    scene_of = np.minimum(np.searchsorted(ends, t + 1e-9, side="right"), len(scenes) - 1)
    yy, xx = np.arange(FRAME_H), np.arange(FRAME_W)
    for s, (start, _, theme_id) in enumerate(scenes):
        theme = THEMES[int(theme_id)]
        var = _scene_variation(rng, theme)
        canvas = _scene_canvas(theme, var, rng)
        idx = np.flatnonzero(scene_of == s)
        if idx.size == 0:
            continue
        ts = t[idx] - float(start)
        oy, ox = rng.integers(0, _TORUS, 2)
        # Whole, even pixel offsets: the 4:2:0 chroma planes then move by whole pixels too.
        dx = 2 * np.round(var["speed"] * math.cos(var["angle"]) * ts / 2).astype(np.int64)
        dy = 2 * np.round(var["speed"] * math.sin(var["angle"]) * ts / 2).astype(np.int64)
        rows = (oy - dy[:, None] + yy[None, :]) % _TORUS
        cols = (ox - dx[:, None] + xx[None, :]) % _TORUS
        hsv[idx] = canvas[rows[:, :, None], cols[:, None, :]]
    bgr = cv2.cvtColor(hsv.reshape(n * FRAME_H, FRAME_W, 3), cv2.COLOR_HSV2BGR)
    return bgr.reshape(n, FRAME_H, FRAME_W, 3)


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet_stderr():
    """Silence FFmpeg's C-level 'tag not supported' notice while a writer opens (fd 2).

    The lock keeps two rendering threads from swapping file descriptor 2 at the same time.
    """
    with _STDERR_LOCK:
        with _redirect_fd2():
            yield


@contextlib.contextmanager
def _redirect_fd2():
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def write_webm(path, frames: np.ndarray, fps: float = FPS) -> None:
    """Write BGR frames as a VP9 WebM (VP8 if this OpenCV build lacks VP9), atomically."""
    with atomic_path(path, keep_suffix=True) as tmp:
        _encode_webm(tmp, frames, fps)


def _encode_webm(tmp: Path, frames: np.ndarray, fps: float) -> None:
    import cv2

    h, w = frames.shape[1:3]
    writer = None
    for codec in ("VP90", "VP80"):
        with _quiet_stderr():
            writer = cv2.VideoWriter(str(tmp), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*codec), float(fps), (w, h))
        if writer.isOpened():
            if codec != "VP90":
                log.warning("VP9 encoder unavailable in this OpenCV build; wrote VP8 instead")
            break
        writer.release()
        writer = None
    if writer is None:
        raise RuntimeError("this OpenCV build cannot write WebM (neither VP9 nor VP8)")
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()


def _render_seed(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, 0x5EED, index]))
