"""Common random numbers: the random inputs of a view as a pure function of (seed, user, video).

A counter-based generator (the SplitMix64 finaliser over a key built from the seed, the user
index, the video index and a slot number) gives each (seed, user, video, slot) its own uniform
number in (0, 1), whatever else is simulated. Distributions come from the uniforms by their
inverse CDF, so :func:`crn_view_noise` has exactly the distributions of
:func:`frame_core.synth.viewing.draw_view_noise` (which the generator draws from its own stream).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from frame_core.synth.world import MAX_SCENES

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (uint64 in, uint64 out; wraps modulo 2^64)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def pair_keys(seed: int, u: np.ndarray, v: np.ndarray, salt: int = 0) -> np.ndarray:
    """One uint64 key per (user index, video index) pair for this seed (and salt)."""
    with np.errstate(over="ignore"):
        s = _mix(np.asarray([int(seed) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64) ^ np.uint64(salt * 0x2545F491))
        k = _mix(s + _GOLD * (np.asarray(u, dtype=np.uint64) + np.uint64(1)))
        return _mix(k + _GOLD * (np.asarray(v, dtype=np.uint64) + np.uint64(1)))


def uniforms(keys: np.ndarray, slots: int) -> np.ndarray:
    """(len(keys), slots) uniforms in the open interval (0, 1), 53-bit resolution."""
    with np.errstate(over="ignore"):
        x = _mix(keys[:, None] + _GOLD * (np.arange(1, slots + 1, dtype=np.uint64)[None, :]))
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def crn_view_noise(seed: int, u: np.ndarray, v: np.ndarray) -> dict:
    """The random inputs of views (u[i], v[i]) for :func:`frame_core.synth.viewing.view_outcomes`,
    the same for the same (seed, user, video) whatever the other pairs are."""
    s = MAX_SCENES
    x = uniforms(pair_keys(seed, u, v), 2 * s + 8)
    return {
        "scene_noise": 0.3 * special.ndtri(x[:, :s]),
        "leave_u": x[:, s : 2 * s],
        "where": special.betaincinv(1.3, 2.2, x[:, 2 * s]),
        "bounce_u": x[:, 2 * s + 1],
        "bounce_frac": x[:, 2 * s + 2],
        "loop_u": x[:, 2 * s + 3],
        "loop_extra": -0.6 * np.log(x[:, 2 * s + 4]),
        "like_u": x[:, 2 * s + 5],
        "follow_u": x[:, 2 * s + 6],
        "forward_u": x[:, 2 * s + 7],
    }
