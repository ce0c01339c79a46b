"""Synthetic micro-video worlds where users leave inside scenes they dislike.

The generator builds a small, fully known world in which *where* a user leaves a video says
*what* they disliked, so that clip-level (fine-grained) models have a real advantage over
video-level ones, and writes it in the project's log schema (DESIGN §1.1).

**The world**

- **Themes** (:data:`THEMES`): ten visual themes. Each has a hue, a texture (stripes, waves,
  checkerboard, dots, rings, fine grain, coarse blobs) and a motion (direction and speed of the
  moving pattern). Some share a hue family (three blues, three reds/oranges, two greens), so a
  descriptor needs texture and motion as well as colour to tell them apart.
- **Videos**: durations between 6 and 40 s (log-normal, median about 15 s), each a sequence of
  2–5 **scenes** of random lengths (at least 1.5 s) with one theme each and no theme twice in a
  row. Scene boundaries fall anywhere, so in general they do not line up with the boundaries of
  the N_c equal clips the model uses. Each video has a small quality bias, and a popularity
  that grows with it.
- **Users** dislike 1–3 themes, like 2–4, and are neutral about the rest; global theme appeal
  makes some themes more often liked than others. Each user has a small patience bias and an
  activity level: the number of views varies between 0.5× and 1.5× ``per_user`` (at least 5,
  or ``per_user`` if smaller), and the total is exactly ``round(users * per_user)`` when the
  catalogue allows it.
- **Exposure**: each view is drawn from the popularity distribution (60 %) or uniformly (40 %),
  without repeats per user.
- **Viewing**: a user watches from the start. Inside each scene there is a chance of leaving
  that depends strongly on the user's taste for the scene's theme (about 85 % in a disliked
  scene, about 10 % in a neutral one, about 3 % in a liked one), shifted by user patience, video
  quality and noise, plus a small per-second hazard. The leave point is random inside the
  scene, early more often than late. About 3 % of views bounce in the first second. A user who
  survives every scene gives a full view (``playing_time == duration_time``); about a third
  of full views loop (``playing_time > duration_time``, watch ratio up to 3).
- **Flags** ``like``, ``follow``, ``forward`` are rare and more likely after full views of videos
  with liked scenes.

**Units and conventions**

- All times are **seconds**. ``playing_time`` is rounded to the millisecond and is strictly
  below ``duration_time`` for skips. ``duration_time`` is a whole number of frames at
  :data:`FPS`, rounded to the millisecond, so it matches the rendered video's length to 1 ms.
- ``interaction_timestamp`` is whole seconds since the Unix epoch, from 2026-01-01 UTC on, and
  marks when the view started. It increases strictly per user; the file is sorted by it, so
  users are interleaved.
- Ids are zero-padded strings: ``u0001``…, ``v0001``… (more digits for bigger worlds).
- Scene themes are indices into :data:`THEMES`; hue follows OpenCV (0–179), speeds are in
  pixels per second of a :data:`FRAME_W` × :data:`FRAME_H` (portrait) frame.

**Files** written to ``out_dir``:

- ``interactions.csv``: ``user_id, video_id, playing_time, duration_time,
  interaction_timestamp, like, follow, forward``.
- ``world.json``: the ground truth: generator settings, themes with their visual parameters,
  per video ``duration``, ``quality`` and ``scenes`` as ``[start_s, end_s, theme]``, per user
  ``likes``, ``dislikes`` and ``patience``. One video or user per line.
- ``videos/<video_id>.webm`` (unless ``video=False``): VP9 WebM, :data:`FRAME_W` ×
  :data:`FRAME_H` at :data:`FPS` frames per second, rendered with OpenCV. Each scene shows its
  theme with per-video variation (hue, saturation, brightness, pattern frequency, direction and
  speed jitter) and noise (a static lighting blotch and a small frame-to-frame flicker).

Same seed, same arguments → byte-identical ``interactions.csv`` and ``world.json`` whether or not
videos are rendered. Rendering each video uses its own random stream, so videos are
reproducible too (bytes may differ between FFmpeg builds).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .errors import InputError

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


_CHUNK = 1 << 18


def _simulate(rng: np.random.Generator, vid: dict, usr: dict, u: np.ndarray, v: np.ndarray) -> dict:
    """Playing time and flags of each view (u[i], v[i]), in fixed-size chunks to bound memory."""
    parts = [_simulate_chunk(rng, vid, usr, u[i : i + _CHUNK], v[i : i + _CHUNK]) for i in range(0, u.size, _CHUNK)]
    if not parts:
        parts = [_simulate_chunk(rng, vid, usr, u, v)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _simulate_chunk(rng: np.random.Generator, vid: dict, usr: dict, u: np.ndarray, v: np.ndarray) -> dict:
    n = u.size
    dur = vid["duration"][v]
    themes = vid["themes"][v]
    valid = themes >= 0
    starts = vid["starts"][v]
    ends = vid["ends"][v]
    lengths = ends - starts
    taste = usr["taste"][u[:, None], np.maximum(themes, 0)]
    logit = usr["leave_logit"][u[:, None], np.maximum(themes, 0)]
    logit = logit - usr["patience"][u][:, None] - vid["quality"][v][:, None] + rng.normal(0.0, 0.3, logit.shape)
    p_leave = 1.0 - (1.0 - _sigmoid(logit)) * np.exp(-_HAZARD_PER_S * lengths)
    leaves = (rng.random(logit.shape) < p_leave) & valid
    any_leave = leaves.any(axis=1)
    first = np.argmax(leaves, axis=1)
    rows = np.arange(n)
    where = rng.beta(1.3, 2.2, n)  # early in the scene more often than late
    leave_at = starts[rows, first] + where * lengths[rows, first]
    bounce = rng.random(n) < usr["bounce"][u]
    bounce_at = rng.uniform(0.0, 1.0, n) * np.minimum(1.0, dur)
    loops = rng.random(n) < usr["loop"][u] * np.where((taste == 1).any(axis=1), 1.3, 0.8)
    extra = np.minimum(rng.exponential(0.6, n), 2.0)
    full_play = dur * np.where(loops, 1.0 + extra, 1.0)
    play = np.where(bounce, bounce_at, np.where(any_leave, leave_at, full_play))
    skip = bounce | any_leave
    play = np.round(play, 3)
    play = np.where(skip, np.minimum(play, dur - 0.001), np.maximum(play, dur))
    play = np.maximum(play, 0.0)
    full = ~skip
    # Scenes the user watched through (for flag propensity).
    reached = np.where(skip[:, None], ends <= play[:, None], True) & valid
    liked_seen = ((taste == 1) & reached).sum(axis=1)
    looped = full & (play > dur)
    like = rng.random(n) < _sigmoid(-5.2 + 2.6 * full + 0.5 * liked_seen + 0.5 * looped - 0.5 * bounce)
    follow = rng.random(n) < _sigmoid(-6.5 + 2.0 * full + 0.6 * liked_seen)
    forward = rng.random(n) < _sigmoid(-5.5 + 1.8 * full + 0.4 * liked_seen + 0.3 * looped)
    return {"play": play, "full": full, "like": like, "follow": follow, "forward": forward}


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


# --------------------------------------------------------------------------- output


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    os.replace(tmp, path)


def _write_log(path: Path, user_ids, video_ids, u: np.ndarray, v: np.ndarray, columns: dict) -> None:
    """Write the log as CSV (pyarrow: fast at millions of rows; floats in shortest form)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def ids(names, idx):
        return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), pa.array(list(names), pa.string()))

    table = pa.table({"user_id": ids(user_ids, u), "video_id": ids(video_ids, v), **columns})
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode())
        if table.num_rows:
            pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    os.replace(tmp, path)


def _world_json(settings: dict, vid: dict, usr: dict, video_ids, user_ids) -> str:
    def dumps(obj):
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)

    lines = ["{", f'"version":{WORLD_VERSION},', f'"settings":{dumps(settings)},', '"themes":[']
    lines.append(",\n".join(dumps(asdict(t)) for t in THEMES))
    lines.append("],")
    lines.append('"videos":{')
    entries = []
    starts, ends, themes = vid["starts"], vid["ends"], vid["themes"]
    for i, vid_id in enumerate(video_ids):
        ns = int(vid["n_scenes"][i])
        scenes = [[round(float(starts[i, s]), 3), round(float(ends[i, s]), 3), int(themes[i, s])] for s in range(ns)]
        entry = {"duration": float(vid["duration"][i]), "quality": round(float(vid["quality"][i]), 3), "scenes": scenes}
        entries.append(f"{dumps(vid_id)}:{dumps(entry)}")
    lines.append(",\n".join(entries))
    lines.append("},")
    lines.append('"users":{')
    entries = []
    taste = usr["taste"]
    for i, user_id in enumerate(user_ids):
        entry = {
            "likes": np.flatnonzero(taste[i] == 1).tolist(),
            "dislikes": np.flatnonzero(taste[i] == -1).tolist(),
            "patience": round(float(usr["patience"][i]), 3),
        }
        entries.append(f"{dumps(user_id)}:{dumps(entry)}")
    lines.append(",\n".join(entries))
    lines.append("}")
    lines.append("}")
    return "\n".join(lines) + "\n"


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


# --------------------------------------------------------------------------- rendering


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
    """Write BGR frames as a VP9 WebM (VP8 if this OpenCV build lacks VP9)."""
    import cv2

    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.webm")
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
    os.replace(tmp, path)


def _render_seed(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, 0x5EED, index]))


def render_video(world_video: dict, seed: int, index: int) -> np.ndarray:
    """Frames of video number ``index`` (0-based) of a world made with ``seed``, as rendered."""
    return render_frames(world_video["duration"], world_video["scenes"], _render_seed(seed, index))


# --------------------------------------------------------------------------- API


def generate_world(
    out_dir,
    *,
    users: int = 300,
    videos: int = 400,
    per_user: float = 40,
    seed: int = 0,
    video: bool = True,
    progress: Progress | None = None,
    workers: int | None = None,
) -> dict:
    """Generate a synthetic world into ``out_dir`` (see the module docstring).

    ``progress(done, total, stage)`` is called from the calling thread as the work advances;
    an exception it raises (e.g. a cancel) stops the generation. ``workers`` threads render and
    encode videos (OpenCV releases the GIL while encoding; default: up to 2).

    Returns a summary: ``users``, ``videos``, ``views``, ``full_view_share``,
    ``median_watch_ratio``, ``bytes_videos`` (0 without videos), ``seconds`` (wall time).
    Raises :class:`InputError` for bad arguments or an unwritable ``out_dir``.
    """
    t0 = time.perf_counter()
    out, n_users, n_videos, per_user, seed = _check_args(out_dir, users, videos, per_user, seed)

    def report(done, total, stage):
        if progress is not None:
            progress(int(done), int(total), stage)

    steps = 5
    report(0, steps, "world")
    ss = np.random.SeedSequence(seed)
    r_vid, r_usr, r_exp, r_view, r_time = (np.random.default_rng(s) for s in ss.spawn(5))
    vid = _make_videos(r_vid, n_videos)
    usr = _make_users(r_usr, n_users, per_user, n_videos)
    report(1, steps, "exposure")
    u, v = _expose(r_exp, usr["counts"], vid["popularity"])
    report(2, steps, "views")
    sim = _simulate(r_view, vid, usr, u, v)
    ts = _timestamps(r_time, u, sim["play"], n_users)
    report(3, steps, "writing log")

    user_ids, video_ids = _ids("u", n_users), _ids("v", n_videos)
    order = np.lexsort((np.arange(u.size), u, ts))  # by time, then user, then per-user order
    _write_log(
        out / "interactions.csv",
        user_ids,
        video_ids,
        u[order],
        v[order],
        {
            "playing_time": sim["play"][order],
            "duration_time": vid["duration"][v[order]],
            "interaction_timestamp": ts[order],
            "like": sim["like"][order].astype(np.int8),
            "follow": sim["follow"][order].astype(np.int8),
            "forward": sim["forward"][order].astype(np.int8),
        },
    )
    settings = {
        "seed": seed,
        "users": n_users,
        "videos": n_videos,
        "per_user": per_user,
        "fps": FPS,
        "frame_size": [FRAME_W, FRAME_H],
        "epoch_start": EPOCH_START,
        "time_unit": "s",
        "hue_scale": "OpenCV 0-179",
        "speed_unit": "px/s",
    }
    _atomic_write_text(out / "world.json", _world_json(settings, vid, usr, video_ids, user_ids))
    report(4, steps, "writing log")

    bytes_videos = 0
    if video:
        vdir = out / "videos"
        try:
            vdir.mkdir(exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create video folder {str(vdir)!r}: {exc.strerror or exc}") from None
        report(0, n_videos, "rendering videos")

        def render_one(i: int) -> int:
            ns = int(vid["n_scenes"][i])
            scenes = [(vid["starts"][i, s], vid["ends"][i, s], int(vid["themes"][i, s])) for s in range(ns)]
            frames = render_frames(float(vid["duration"][i]), scenes, _render_seed(seed, i))
            path = vdir / f"{video_ids[i]}.webm"
            write_webm(path, frames)
            return path.stat().st_size

        n_workers = max(1, int(workers)) if workers is not None else max(1, min(2, os.cpu_count() or 1))
        if n_workers == 1:
            for i in range(n_videos):
                bytes_videos += render_one(i)
                report(i + 1, n_videos, "rendering videos")
        else:
            pool = ThreadPoolExecutor(n_workers, thread_name_prefix="synth-render")
            try:
                for done, size in enumerate(pool.map(render_one, range(n_videos)), start=1):
                    bytes_videos += size
                    report(done, n_videos, "rendering videos")
            finally:
                # On an error or a cancel raised by ``progress``, drop the videos not started yet.
                pool.shutdown(wait=True, cancel_futures=True)
    report(steps, steps, "done")

    ratio = sim["play"] / vid["duration"][v]
    summary = {
        "users": n_users,
        "videos": n_videos,
        "views": int(u.size),
        "full_view_share": round(float(sim["full"].mean()) if u.size else 0.0, 4),
        "median_watch_ratio": round(float(np.median(ratio)) if u.size else 0.0, 4),
        "bytes_videos": int(bytes_videos),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    log.info("synthetic world written to %s: %s", out, summary)
    return summary
