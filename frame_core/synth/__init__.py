"""Synthetic micro-video worlds where users leave inside scenes they dislike.

The generator builds a small, fully known world in which *where* a user leaves a video says
*what* they disliked, so that clip-level (fine-grained) models have a real advantage over
video-level ones, and writes it in the project's log schema (docs/design.md §1).

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

from frame_core.synth.output import generate_world
from frame_core.synth.render import render_frames, write_webm
from frame_core.synth.world import (
    EPOCH_START,
    FPS,
    FRAME_H,
    FRAME_W,
    MAX_DURATION,
    MAX_SCENES,
    MIN_DURATION,
    MIN_SCENE_S,
    MIN_SCENES,
    THEMES,
    WORLD_VERSION,
    Theme,
    load_world,
)

__all__ = [
    "EPOCH_START", "FPS", "FRAME_H", "FRAME_W", "MAX_DURATION", "MAX_SCENES", "MIN_DURATION", "MIN_SCENES",
    "MIN_SCENE_S", "THEMES", "WORLD_VERSION", "Theme", "generate_world", "load_world", "render_frames", "write_webm",
]
