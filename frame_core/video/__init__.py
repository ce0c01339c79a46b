"""Visual clip embeddings from real video files (docs/design.md §4 H_c0, §2, §3 ``embed``).

- :mod:`.probe`: probe video files with OpenCV (frame counts, durations, truncation);
- :mod:`.report` / :mod:`.staging`: file naming, collected problems, uploads staged for a call.
- :mod:`.frames`: sample ``k`` frames inside each of the ``N_c`` clips of a video.
- :mod:`.encoders`: frames -> one vector per clip (handcrafted default, or a local ONNX model).
- :mod:`.cache`: raw-bytes diskcache of embeddings (never pickles).
- :mod:`.embed`: :func:`embed_videos`, :class:`ClipFeatures`, feature file I/O.
"""

from frame_core.common.schema import VIDEO_EXTENSIONS
from frame_core.data.features import ClipFeatures
from frame_core.video.embed import embed_videos, load_clip_features, save_clip_features
from frame_core.video.encoders import Encoder, HandcraftedEncoder, OnnxEncoder, get_encoder
from frame_core.video.frames import read_clip_frames, sample_frame_indices, sample_times
from frame_core.video.probe import check_videos, probe_video
from frame_core.video.report import UnreadableVideoError, VideoInfo, VideoIssue, VideoReport, sanitise_name

__all__ = [
    "VIDEO_EXTENSIONS",
    "ClipFeatures",
    "Encoder",
    "HandcraftedEncoder",
    "OnnxEncoder",
    "UnreadableVideoError",
    "VideoInfo",
    "VideoIssue",
    "VideoReport",
    "check_videos",
    "embed_videos",
    "get_encoder",
    "load_clip_features",
    "probe_video",
    "read_clip_frames",
    "sample_frame_indices",
    "sample_times",
    "sanitise_name",
    "save_clip_features",
]
