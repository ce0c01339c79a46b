"""The viewing process of a synthetic world: where each user leaves each video.

One pure function, :func:`view_outcomes`, turns (user, video, random inputs) into a view; the
generator feeds it numbers from its own stream (:func:`draw_view_noise`), the A/B simulator
(:mod:`frame_core.simulate`) feeds it common random numbers. :func:`full_view_probability` is
its exact chance of a full view. All times are seconds (docs/design.md §1.1)."""

from __future__ import annotations

import numpy as np

from frame_core.synth.world import _HAZARD_PER_S, MAX_SCENES, _sigmoid

_CHUNK = 1 << 18


def _simulate(rng: np.random.Generator, vid: dict, usr: dict, u: np.ndarray, v: np.ndarray) -> dict:
    """Playing time and flags of each view (u[i], v[i]), in fixed-size chunks to bound memory."""
    parts = [_simulate_chunk(rng, vid, usr, u[i : i + _CHUNK], v[i : i + _CHUNK]) for i in range(0, u.size, _CHUNK)]
    if not parts:
        parts = [_simulate_chunk(rng, vid, usr, u, v)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _simulate_chunk(rng: np.random.Generator, vid: dict, usr: dict, u: np.ndarray, v: np.ndarray) -> dict:
    return view_outcomes(vid, usr, u, v, draw_view_noise(rng, u.size))


VIEW_NOISE = ("scene_noise", "leave_u", "where", "bounce_u", "bounce_frac", "loop_u", "loop_extra", "like_u",
              "follow_u", "forward_u")
"""The random inputs of one view, in the order the generator draws them (:func:`draw_view_noise`)."""


def draw_view_noise(rng: np.random.Generator, n: int) -> dict:
    """The random numbers of ``n`` views, drawn from ``rng`` in the generator's fixed order.

    ``scene_noise`` (n, MAX_SCENES) ~ N(0, 0.3²) is added to each scene's leave-logit,
    ``leave_u`` (n, MAX_SCENES) ~ U(0, 1) decides leaving in each scene, ``where`` ~ Beta(1.3,
    2.2) is the leave point as a share of the scene, ``bounce_u`` / ``loop_u`` / ``like_u`` /
    ``follow_u`` / ``forward_u`` ~ U(0, 1) decide those events, ``bounce_frac`` ~ U(0, 1) is the
    bounce time in seconds (of at most the first second) and ``loop_extra`` ~ Exp(mean 0.6) the
    extra share of the video a loop plays. The simulator (:mod:`frame_core.simulate.crn`)
    draws the same distributions from common random numbers instead."""
    shape = (n, MAX_SCENES)
    return {
        "scene_noise": rng.normal(0.0, 0.3, shape),
        "leave_u": rng.random(shape),
        "where": rng.beta(1.3, 2.2, n),  # early in the scene more often than late
        "bounce_u": rng.random(n),
        "bounce_frac": rng.uniform(0.0, 1.0, n),
        "loop_u": rng.random(n),
        "loop_extra": rng.exponential(0.6, n),
        "like_u": rng.random(n),
        "follow_u": rng.random(n),
        "forward_u": rng.random(n),
    }


def view_outcomes(vid: dict, usr: dict, u: np.ndarray, v: np.ndarray, noise: dict) -> dict:
    """The viewing process: what user ``u[i]`` does with video ``v[i]`` given the random inputs
    ``noise`` (:func:`draw_view_noise`). A pure function: the generator and the A/B simulator
    (:mod:`frame_core.simulate.player`) both play views through it.

    Returns ``play`` (seconds, rounded to 1 ms; below the duration for a skip, at least the
    duration for a full view), ``full`` (bool: no skip), ``bounce`` (bool: left in the first
    second), ``like``, ``follow``, ``forward`` (bool)."""
    n = u.size
    dur = vid["duration"][v]
    themes = vid["themes"][v]
    valid = themes >= 0
    starts = vid["starts"][v]
    ends = vid["ends"][v]
    lengths = ends - starts
    taste = usr["taste"][u[:, None], np.maximum(themes, 0)]
    logit = usr["leave_logit"][u[:, None], np.maximum(themes, 0)]
    logit = logit - usr["patience"][u][:, None] - vid["quality"][v][:, None] + noise["scene_noise"]
    p_leave = 1.0 - (1.0 - _sigmoid(logit)) * np.exp(-_HAZARD_PER_S * lengths)
    leaves = (noise["leave_u"] < p_leave) & valid
    any_leave = leaves.any(axis=1)
    first = np.argmax(leaves, axis=1)
    rows = np.arange(n)
    leave_at = starts[rows, first] + noise["where"] * lengths[rows, first]
    bounce = noise["bounce_u"] < usr["bounce"][u]
    bounce_at = noise["bounce_frac"] * np.minimum(1.0, dur)
    loops = noise["loop_u"] < usr["loop"][u] * np.where((taste == 1).any(axis=1), 1.3, 0.8)
    extra = np.minimum(noise["loop_extra"], 2.0)
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
    like = noise["like_u"] < _sigmoid(-5.2 + 2.6 * full + 0.5 * liked_seen + 0.5 * looped - 0.5 * bounce)
    follow = noise["follow_u"] < _sigmoid(-6.5 + 2.0 * full + 0.6 * liked_seen)
    forward = noise["forward_u"] < _sigmoid(-5.5 + 1.8 * full + 0.4 * liked_seen + 0.3 * looped)
    return {"play": play, "full": full, "bounce": bounce, "like": like, "follow": follow, "forward": forward}


def full_view_probability(vid: dict, usr: dict, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The exact probability that user ``u[i]`` watches video ``v[i]`` to the end under
    :func:`view_outcomes`: no bounce, and no leave in any scene. The scene noise
    N(0, 0.3²) is integrated out with 24-point Gauss–Hermite quadrature (error far below 1e-6)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(24)
    weights = weights / weights.sum()
    themes = vid["themes"][v]
    valid = themes >= 0
    lengths = vid["ends"][v] - vid["starts"][v]
    logit = usr["leave_logit"][u[:, None], np.maximum(themes, 0)]
    logit = logit - usr["patience"][u][:, None] - vid["quality"][v][:, None]
    stay = np.zeros(logit.shape)
    for z, w in zip(nodes, weights, strict=True):
        stay += w * (1.0 - _sigmoid(logit + 0.3 * z))
    stay = stay * np.exp(-_HAZARD_PER_S * lengths)
    return (1.0 - usr["bounce"][u]) * np.prod(np.where(valid, stay, 1.0), axis=1)
