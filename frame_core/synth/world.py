"""The synthetic world itself: themes, videos made of scenes, users with tastes, exposure and
the viewing process (where each user leaves each video). See :mod:`frame_core.synth` for the
whole description; all times are seconds."""

from __future__ import annotations

import json
import logging
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from frame_core.common.errors import InputError

log = logging.getLogger(__name__)

FPS = 6
"""Frames per second of rendered videos; durations are whole numbers of frames at this rate."""
FRAME_W, FRAME_H = 54, 96
"""Rendered frame size in pixels (portrait, like micro-videos)."""
EPOCH_START = 1767225600
"""2026-01-01T00:00:00Z, the earliest interaction timestamp."""
MIN_DURATION, MAX_DURATION = 6.0, 40.0
MIN_SCENES, MAX_SCENES = 2, 5
MIN_SCENE_S = 1.5
WORLD_VERSION = 1

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Theme:
    """A visual theme: what every scene of this theme looks like, before per-video jitter."""

    id: int
    name: str
    hue: int  # OpenCV hue, 0-179
    sat: int  # 0-255
    val: int  # mean brightness, 0-255
    contrast: float  # pattern amplitude as a share of 255
    texture: str  # stripes | waves | checker | dots | rings | grain | blobs
    scale: float  # cycles per frame width (periodic textures) or grain size in px (grain, blobs)
    angle: float  # degrees; direction of the pattern's motion (0 = right, 90 = down)
    speed: float  # px/s
    appeal: float  # global appeal: higher means more users like it, fewer dislike it


THEMES: tuple[Theme, ...] = (
    Theme(0, "sunset stripes", 8, 210, 175, 0.50, "stripes", 4.0, 0.0, 6.0, 0.3),
    Theme(1, "ocean waves", 104, 190, 160, 0.45, "waves", 2.5, 90.0, 12.0, 0.5),
    Theme(2, "forest grain", 58, 170, 125, 0.40, "grain", 2.5, 45.0, 2.0, 0.0),
    Theme(3, "neon checker", 150, 220, 180, 0.45, "checker", 3.0, 30.0, 22.0, -0.3),
    Theme(4, "desert dunes", 22, 150, 200, 0.35, "waves", 1.5, 60.0, 4.0, 0.1),
    Theme(5, "night rain", 114, 120, 75, 0.40, "stripes", 5.0, 100.0, 24.0, -0.4),
    Theme(6, "lava blobs", 0, 230, 150, 0.50, "blobs", 9.0, 200.0, 10.0, 0.2),
    Theme(7, "mint dots", 82, 160, 190, 0.45, "dots", 3.5, 315.0, 16.0, 0.0),
    Theme(8, "lavender rings", 132, 130, 175, 0.40, "rings", 4.0, 0.0, 12.0, -0.1),
    Theme(9, "snow flurry", 100, 25, 210, 0.30, "grain", 2.0, 90.0, 24.0, -0.2),
)

# Leave-logit by taste (before patience, quality and noise): disliked, neutral, liked.
_TASTE_LOGIT = {"dislike": 1.9, "neutral": -2.2, "like": -3.5}
_HAZARD_PER_S = 0.006  # extra per-second chance of leaving anywhere
_POPULAR_SHARE = 0.6


def _check_args(out_dir, users, videos, per_user, seed) -> tuple[Path, int, int, float, int]:
    def whole(name, value, low):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)):
            raise InputError(f"{name} must be a whole number ≥ {low}, got {value!r}")
        if isinstance(value, float) and not value.is_integer():
            raise InputError(f"{name} must be a whole number ≥ {low}, got {value!r}")
        if value < low:
            raise InputError(f"{name} must be at least {low}, got {value!r}")
        return int(value)

    users = whole("users", users, 1)
    videos = whole("videos", videos, 1)
    if isinstance(per_user, bool) or not isinstance(per_user, (int, np.integer, float)) or not math.isfinite(per_user):
        raise InputError(f"per_user must be a number ≥ 1, got {per_user!r}")
    if per_user < 1:
        raise InputError(f"per_user must be at least 1, got {per_user!r}")
    seed = whole("seed", seed, 0)
    if users > 10_000_000 or videos > 10_000_000 or users * per_user > 100_000_000:
        raise InputError("world too large: at most 10M users, 10M videos and 100M views")
    if out_dir is None or str(out_dir) == "":
        raise InputError("no output folder given")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"output path {str(out)!r} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise InputError(f"cannot write to output folder {str(out)!r}: {exc.strerror or exc}") from None
    return out, users, videos, float(per_user), seed


def _ids(prefix: str, n: int) -> np.ndarray:
    width = max(4, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------- world structure


def _make_videos(rng: np.random.Generator, n: int) -> dict:
    """Durations, scenes, quality and popularity of ``n`` videos."""
    k = len(THEMES)
    raw = np.exp(rng.normal(math.log(15.0), 0.5, n))
    frames = np.clip(np.round(raw * FPS), MIN_DURATION * FPS, MAX_DURATION * FPS).astype(np.int64)
    duration = np.round(frames / FPS, 3)  # whole frames, in ms
    # Longer videos have more scenes.
    p_more = 0.1 + 0.8 * (duration - MIN_DURATION) / (MAX_DURATION - MIN_DURATION)
    n_scenes = MIN_SCENES + rng.binomial(MAX_SCENES - MIN_SCENES, p_more)
    n_scenes = np.minimum(n_scenes, np.floor(duration / MIN_SCENE_S).astype(np.int64))
    # Scene lengths: a minimum plus a Dirichlet share of the rest.
    valid = np.arange(MAX_SCENES)[None, :] < n_scenes[:, None]
    g = rng.gamma(2.0, 1.0, (n, MAX_SCENES)) * valid
    share = g / g.sum(axis=1, keepdims=True)
    spare = duration - n_scenes * MIN_SCENE_S
    lengths = (MIN_SCENE_S + share * spare[:, None]) * valid
    ends = np.round(np.cumsum(lengths, axis=1), 3)
    ends = np.where(valid, ends, 0.0)
    last = n_scenes - 1
    ends[np.arange(n), last] = duration  # exact end despite rounding
    starts = np.zeros_like(ends)
    starts[:, 1:] = ends[:, :-1]
    starts = np.where(valid, starts, 0.0)
    # Themes by global frequency, no theme twice in a row.
    theme_p = np.array([1.0 + 0.15 * t.appeal for t in THEMES])
    theme_p /= theme_p.sum()
    themes = np.full((n, MAX_SCENES), -1, dtype=np.int64)
    themes[:, 0] = rng.choice(k, n, p=theme_p)
    for s in range(1, MAX_SCENES):
        draw = rng.integers(0, k - 1, n)  # uniform over the k-1 other themes
        t = (themes[:, s - 1] + 1 + draw) % k
        themes[:, s] = np.where(valid[:, s], t, -1)
    quality = np.clip(rng.normal(0.0, 0.5, n), -1.5, 1.5)
    pop = np.exp(1.2 * quality + rng.normal(0.0, 1.0, n))
    return {
        "duration": duration,
        "n_scenes": n_scenes,
        "starts": starts,
        "ends": ends,
        "themes": themes,
        "quality": quality,
        "popularity": pop / pop.sum(),
    }


def _make_users(rng: np.random.Generator, n: int, per_user: float, n_videos: int) -> dict:
    """Tastes, patience and activity of ``n`` users."""
    k = len(THEMES)
    appeal = np.array([t.appeal for t in THEMES])
    # Taste categories: -1 dislike, 0 neutral, +1 like. Gumbel-top-k picks themes without
    # replacement with probabilities that follow global appeal.
    n_dis = rng.choice([1, 2, 3], n, p=[0.3, 0.45, 0.25])
    n_like = rng.choice([2, 3, 4], n, p=[0.35, 0.4, 0.25])
    key = -appeal[None, :] * 1.2 - np.log(-np.log(rng.random((n, k))))
    order = np.argsort(-key, axis=1)  # most "dislikeable" first
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(k)[None, :].repeat(n, 0), axis=1)
    taste = np.zeros((n, k), dtype=np.int8)
    taste[rank < n_dis[:, None]] = -1
    # Likes among the remaining themes, favouring appealing ones.
    key2 = appeal[None, :] * 1.2 - np.log(-np.log(rng.random((n, k))))
    key2[taste == -1] = -np.inf
    order2 = np.argsort(-key2, axis=1)
    rank2 = np.empty_like(order2)
    np.put_along_axis(rank2, order2, np.arange(k)[None, :].repeat(n, 0), axis=1)
    taste[(rank2 < n_like[:, None]) & (taste == 0)] = 1
    base = np.where(taste == -1, _TASTE_LOGIT["dislike"], np.where(taste == 1, _TASTE_LOGIT["like"], _TASTE_LOGIT["neutral"]))
    leave_logit = base + rng.normal(0.0, np.where(taste == -1, 0.5, 0.4))
    patience = np.clip(rng.normal(0.0, 0.5, n), -1.5, 1.5)
    bounce = _sigmoid(-3.4 - 0.6 * patience)
    loop = _sigmoid(-1.2 + 0.8 * patience + rng.normal(0.0, 0.4, n))
    # Activity: 0.5x-1.5x per_user, at least min(5, per_user), total exactly round(n * per_user).
    lo = min(int(min(5, round(per_user))), n_videos)
    hi = min(n_videos, max(int(math.ceil(1.5 * per_user)), lo))
    counts = np.clip(np.round(per_user * rng.uniform(0.5, 1.5, n)).astype(np.int64), lo, hi)
    target = int(np.clip(round(n * per_user), n * lo, n * hi))
    counts = _adjust_total(rng, counts, target, lo, hi)
    return {
        "taste": taste,
        "leave_logit": leave_logit,
        "patience": patience,
        "bounce": bounce,
        "loop": loop,
        "counts": counts,
    }


def _adjust_total(rng: np.random.Generator, counts: np.ndarray, target: int, lo: int, hi: int) -> np.ndarray:
    """Add or remove single views from random users until the total is ``target`` (within bounds)."""
    counts = counts.copy()
    for _ in range(64):
        diff = target - int(counts.sum())
        if diff == 0:
            break
        room = (hi - counts) if diff > 0 else (counts - lo)
        idx = np.flatnonzero(room > 0)
        if idx.size == 0:
            break
        take = rng.choice(idx, min(abs(diff), idx.size), replace=False)
        counts[take] += 1 if diff > 0 else -1
    return counts


def _expose(rng: np.random.Generator, counts: np.ndarray, popularity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (user, video) pairs, ``counts[u]`` per user, in a random order per user."""
    n_users, n_videos = counts.size, popularity.size
    cdf = np.cumsum(popularity)
    cdf /= cdf[-1]
    kept = np.empty(0, dtype=np.int64)  # pair keys u * n_videos + v
    have = np.zeros(n_users, dtype=np.int64)
    for _ in range(12):
        need = counts - have
        if not need.any():
            break
        draw_n = np.where(need > 0, np.ceil(need * 1.15).astype(np.int64) + 2, 0)
        u = np.repeat(np.arange(n_users, dtype=np.int64), draw_n)
        popular = rng.random(u.size) < _POPULAR_SHARE
        v = np.where(
            popular,
            np.minimum(np.searchsorted(cdf, rng.random(u.size), side="right"), n_videos - 1),
            rng.integers(0, n_videos, u.size),
        )
        key = np.unique(u * n_videos + v)
        if kept.size:
            key = key[~np.isin(key, kept)]
        # A random subset of at most need[u] new pairs per user.
        ku = key // n_videos
        order = np.argsort(ku + rng.random(key.size), kind="stable")
        key, ku = key[order], ku[order]
        start = np.searchsorted(ku, np.arange(n_users))
        rank = np.arange(key.size) - start[ku]
        kept = np.concatenate([kept, key[rank < need[ku]]])
        have = np.bincount(kept // n_videos, minlength=n_users)
    short = np.flatnonzero(have < counts)
    if short.size:  # only when a user must see most of a small catalogue
        extra = [kept]
        for user in short:
            seen = set((kept[kept // n_videos == user] % n_videos).tolist())
            rest = np.array([x for x in rng.permutation(n_videos) if x not in seen], dtype=np.int64)
            extra.append(user * n_videos + rest[: counts[user] - have[user]])
        kept = np.concatenate(extra)
    u, v = kept // n_videos, kept % n_videos
    # Random viewing order within each user.
    order = np.argsort(u + rng.random(u.size), kind="stable")
    return u[order], v[order]


def build_world(n_users: int, n_videos: int, per_user: float, seed: int):
    """The generator's world state for these settings: ``(videos, users, (r_exp, r_view,
    r_time))`` with the random streams still to be used for exposure, views and timestamps.
    :func:`frame_core.synth.generate_world` and the simulator both start here."""
    ss = np.random.SeedSequence(seed)
    r_vid, r_usr, r_exp, r_view, r_time = (np.random.default_rng(s) for s in ss.spawn(5))
    vid = _make_videos(r_vid, n_videos)
    usr = _make_users(r_usr, n_users, per_user, n_videos)
    return vid, usr, (r_exp, r_view, r_time)


def _timestamps(rng: np.random.Generator, u: np.ndarray, play: np.ndarray, n_users: int) -> np.ndarray:
    """Whole-second start times: per user, sessions of back-to-back views with breaks between."""
    n = u.size
    start_u = EPOCH_START + rng.uniform(0.0, 14 * 86400.0, n_users)
    breaks = rng.random(n) < 0.12
    gap = np.where(breaks, rng.exponential(6 * 3600.0, n), rng.uniform(1.0, 8.0, n)) + 1.0
    step = np.empty(n)
    step[0] = 0.0
    step[1:] = play[:-1] + gap[1:]
    new_user = np.ones(n, dtype=bool)
    new_user[1:] = u[1:] != u[:-1]
    step[new_user] = 0.0
    cum = np.cumsum(step)
    first_idx = np.flatnonzero(new_user)
    offset = cum[first_idx]
    owner = np.cumsum(new_user) - 1
    t = start_u[u] + (cum - offset[owner])
    # Each step is at least 1 s, so whole seconds still increase strictly per user.
    return np.floor(t).astype(np.int64)


def load_world(path) -> dict:
    """Read a ``world.json`` (or the folder holding it); scene lists become tuples."""
    p = Path(path)
    if p.is_dir():
        p = p / "world.json"
    try:
        world = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read world file {str(p)!r}: {exc}") from None
    for entry in world.get("videos", {}).values():
        entry["scenes"] = [tuple(s) for s in entry["scenes"]]
    return world
