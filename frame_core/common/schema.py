"""Column names and conventions of the interaction log (docs/design.md §1).

One row per view. Times are float **seconds** after import, whatever unit the source used:

- ``playing_time``: how long the video played (s, ≥ 0; > ``duration_time`` when it looped).
- ``duration_time``: video length (s, > 0).
- ``interaction_timestamp``: any monotone clock (seconds since epoch after unit conversion).
- ``user_id``, ``video_id``: ids, kept as strings so that ``007`` and ``7`` stay different.
- ``like``, ``follow``, ``forward``: optional 0/1 flags.

The watch ratio is ``r = playing_time / duration_time``; a **full view** is ``r >= 1``.
"""

from __future__ import annotations

USER = "user_id"
VIDEO = "video_id"
PLAY = "playing_time"
DURATION = "duration_time"
TIMESTAMP = "interaction_timestamp"
OPTIONAL_FLAGS = ("like", "follow", "forward")

REQUIRED = (USER, VIDEO, PLAY, DURATION)
TIME_COLUMNS = (PLAY, DURATION, TIMESTAMP)
ALL_COLUMNS = (USER, VIDEO, PLAY, DURATION, TIMESTAMP, *OPTIONAL_FLAGS)

# Common names of the same fields in public logs, used to suggest a --map when a required
# column is missing. The value is (schema column, unit the source usually uses).
ALIASES: dict[str, tuple[str, str | None]] = {
    "uid": (USER, None),
    "user": (USER, None),
    "userid": (USER, None),
    "user_id": (USER, None),
    "item_id": (VIDEO, None),
    "photo_id": (VIDEO, None),
    "video": (VIDEO, None),
    "videoid": (VIDEO, None),
    "iid": (VIDEO, None),
    "play_time_ms": (PLAY, "ms"),
    "play_duration": (PLAY, "ms"),
    "play_time": (PLAY, None),
    "watch_time": (PLAY, None),
    "playing_time": (PLAY, None),
    "duration_ms": (DURATION, "ms"),
    "video_duration": (DURATION, "ms"),
    "duration": (DURATION, None),
    "video_length": (DURATION, None),
    "time_ms": (TIMESTAMP, "ms"),
    "timestamp": (TIMESTAMP, None),
    "time": (TIMESTAMP, None),
    "ts": (TIMESTAMP, None),
    "label": ("like", None),
    "is_like": ("like", None),
    "is_follow": ("follow", None),
    "is_forward": ("forward", None),
}

MAX_ID_LENGTH = 256

VIDEO_EXTENSIONS = (".webm", ".mp4", ".avi", ".mkv", ".mov")
"""Video files are named ``<video_id>.<ext>`` with one of these extensions (lower case), in
order of preference when a video has several files. Browsers play WebM (VP9/VP8) and MP4."""
