"""Public API: visual clip embeddings for a set of video files, and their feature files.

- :func:`embed_videos` -> (:class:`ClipFeatures`, :class:`~frame_core.video.probe.VideoReport`)
- :func:`save_clip_features` / :func:`load_clip_features`: Parquet (or CSV) with columns
  ``video_id`` (str), ``clip`` (int, 0-based) and ``f0 … f{d-1}`` (float32).

Rows are ordered by ``video_id`` (as strings), then ``clip``. A video that can't be decoded
gets no rows; it is named in the report with its reason.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from frame_core.common.atomic import atomic_path
from frame_core.common.errors import InputError
from frame_core.data.features import ClipFeatures
from frame_core.data.intake import staged_log
from frame_core.data.limits import FEATURE_LIMITS, InputLimits
from frame_core.video.cache import EmbeddingCache, default_cache_dir, embedding_key, probe_key
from frame_core.video.encoders import Encoder, get_encoder
from frame_core.video.frames import METHODS, check_nc_k, read_clip_frames
from frame_core.video.probe import ProgressFn, cv_reason, file_sha256
from frame_core.video.report import (
    UnreadableVideoError,
    VideoInfo,
    VideoIssue,
    VideoReport,
    VideoSource,
    compare_with_log,
)
from frame_core.video.staging import StagedVideos

logger = logging.getLogger(__name__)

FORMAT = "frame-clip-features/v1"
_META_ENCODER = b"frame.encoder_id"
_META_NC = b"frame.nc"
_META_FORMAT = b"frame.format"


# --------------------------------------------------------------------------------- embed
def default_workers() -> int:
    """Parallel decoding threads: one per CPU, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def embed_videos(
    videos: Any,
    nc: int,
    *,
    k: int = 3,
    encoder: Encoder | str | None = None,
    cache_dir: str | os.PathLike | None | bool = None,
    log: pd.DataFrame | None = None,
    progress: ProgressFn | None = None,
    method: str = "auto",
    workers: int | None = None,
) -> tuple[ClipFeatures, VideoReport]:
    """Embed every clip of every video file.

    ``videos``: a folder of ``<video_id>.<ext>`` files, one file, or uploads (paths,
    ``(filename, bytes)`` pairs, or objects with ``.name``/``.getvalue()``; names are sanitised).
    ``nc``: clips per video (1..64); ``k``: frames sampled per clip (1..16; see
    :mod:`frame_core.video.frames` for the sample times). ``encoder``: an :class:`Encoder`,
    ``"handcrafted"`` or a path to a ``.onnx`` file (default: the handcrafted encoder).
    ``cache_dir``: embedding cache folder; ``None`` means ``$FRAME_WORKSPACE/cache/embeddings``
    and ``False`` disables caching. ``log``: optional DataFrame with ``video_id`` and
    ``duration_time`` (s) to cross-check (missing files, unlogged files, durations off by > 1 s).
    ``progress(done, total, stage)`` is called after each file (stage ``"embed"``), on the
    calling thread; it may raise (e.g. :class:`~frame_core.common.errors.CancelledError`) to stop. ``method``: frame sampling strategy (``"auto"``, ``"sequential"``,
    ``"seek"``). ``workers``: files decoded in parallel threads, one decoder thread each
    (default :func:`default_workers`; 1 = everything on the calling thread). Encoders with a
    true ``thread_safe`` attribute (the handcrafted one) also encode in those threads; others
    encode on the calling thread. Cache access stays on the calling thread. Results do not
    depend on ``workers``.

    Bad files never stop the run: they are reported by name with the reason and get no rows.
    Raises :class:`InputError` when there is no video file at all, or none could be embedded.
    """
    nc, k = check_nc_k(nc, k)
    if method not in METHODS:
        raise InputError(f"unknown frame sampling method {method!r}; use one of {', '.join(METHODS)}")
    workers = default_workers() if workers is None else max(1, int(workers))
    enc = get_encoder(encoder)
    cache: EmbeddingCache | None = None
    if cache_dir is not False:
        cache = EmbeddingCache(default_cache_dir() if cache_dir in (None, True) else Path(cache_dir))
    use_cache = cache is not None and cache.enabled
    t0 = time.perf_counter()
    try:
        with StagedVideos(videos) as staged, _decode_pool(workers) as pool:
            report = VideoReport(issues=list(staged.issues), n_files=staged.n_files)
            if cache is not None and cache.error:
                report.notes.append(cache.error)
            total = len(staged.sources)
            if progress:
                progress(0, total, "embed")
            results: list[tuple[str, np.ndarray]] = []
            window: deque[tuple[VideoSource, str, Any]] = deque()
            done = 0

            def tick() -> None:
                nonlocal done
                done += 1
                if progress:
                    progress(done, total, "embed")

            encode_in_pool = pool is not None and bool(getattr(enc, "thread_safe", False))

            def work(src: VideoSource, sha: str, encode: bool) -> tuple[VideoInfo, np.ndarray | None, Any]:
                """Decode one file (and encode it when ``encode``): (info, vectors or None, frames)."""
                cf = read_clip_frames(
                    src.path, nc, k, size=enc.frame_size, method=method, name=src.name, sha256=sha,
                    threads=1 if pool is not None else 0,
                )
                if encode:
                    return cf.info, _encode(enc, cf.frames, nc, src.name), None
                return cf.info, None, cf.frames

            def finish(src: VideoSource, sha: str, job: Any) -> None:
                try:
                    if isinstance(job, tuple):  # cache hit: (info, vecs)
                        info, vecs = job
                    else:
                        info, vecs, frames = job.result() if isinstance(job, Future) else work(src, sha, True)
                        if vecs is None:
                            vecs = _encode(enc, frames, nc, src.name)
                        if use_cache and sha:
                            cache.set_array(embedding_key(sha, nc, k, enc.id, method), vecs, {"encoder": enc.id, "nc": nc, "k": k})
                            cache.set_json(probe_key(sha), info.to_json())
                except UnreadableVideoError as exc:
                    report.issues.append(VideoIssue(src.name, src.video_id, "unreadable", exc.reason))
                except cv2.error as exc:  # OpenCV failing inside a damaged stream
                    report.issues.append(VideoIssue(src.name, src.video_id, "unreadable", cv_reason(exc)))
                else:
                    report.videos.append(info)
                    results.append((src.video_id, vecs))
                    if use_cache:
                        report.cache_hits += int(isinstance(job, tuple))
                        report.cache_misses += int(not isinstance(job, tuple))
                tick()

            for src in staged.sources:
                sha, job = "", None
                if use_cache:
                    try:
                        sha = file_sha256(src.path)
                    except OSError as exc:
                        report.issues.append(
                            VideoIssue(src.name, src.video_id, "unreadable", f"cannot read the file ({exc.strerror or exc})")
                        )
                        tick()
                        continue
                    job = _cached(cache, src, sha, nc, k, enc, method)
                if job is None:
                    job = pool.submit(work, src, sha, encode_in_pool) if pool is not None else "work"
                window.append((src, sha, job))
                while len(window) > 2 * workers:  # bounded read-ahead: memory stays small
                    finish(*window.popleft())
            while window:
                finish(*window.popleft())
            report.videos.sort(key=lambda v: v.video_id)
            compare_with_log(report, log, attempted=[s.video_id for s in staged.sources])
    finally:
        if cache is not None:
            if cache.corrupt:
                logger.warning("%d corrupt embedding cache entries were deleted and recomputed", cache.corrupt)
            cache.close()
    if cache is not None and cache.corrupt:
        report.notes.append(f"{cache.corrupt} corrupt cache entries were deleted and recomputed")
    logger.info(
        "embedded %d of %d videos (%d cache hits) in %.2f s", len(results), report.n_files, report.cache_hits,
        time.perf_counter() - t0,
    )
    if not results:
        bad = "; ".join(f"{i.name} ({i.detail})" for i in report.errors[:5])
        raise InputError(f"none of the {report.n_files} video files could be embedded: {bad or 'no video files'}")
    results.sort(key=lambda r: r[0])
    vids = np.repeat(np.array([r[0] for r in results], dtype=object), nc).astype(str)
    clips = np.tile(np.arange(nc, dtype=np.int64), len(results))
    matrix = np.concatenate([r[1] for r in results], axis=0).astype(np.float32)
    return ClipFeatures(vids, clips, matrix, enc.id, nc), report


@contextlib.contextmanager
def _decode_pool(workers: int) -> Iterator[ThreadPoolExecutor | None]:
    """A thread pool for parallel decoding (None for one worker). On the way out, queued jobs
    are cancelled and running ones awaited, before staged uploads are deleted."""
    if workers <= 1:
        yield None
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="frame-decode")
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _cached(
    cache: EmbeddingCache, src: VideoSource, sha: str, nc: int, k: int, enc: Encoder, method: str
) -> tuple[VideoInfo, np.ndarray] | None:
    """(probe info, (nc, dim) vectors) from the cache, or None on a miss."""
    meta = cache.get_json(probe_key(sha))
    if meta is None:
        return None
    vecs = cache.get_array(embedding_key(sha, nc, k, enc.id, method), (nc, enc.dim))
    if vecs is None:
        return None
    try:
        return VideoInfo(**{**meta, "name": src.name, "video_id": src.video_id}), vecs
    except TypeError:
        return None  # probe record of another layout: recompute


def _encode(enc: Encoder, frames: np.ndarray, nc: int, name: str) -> np.ndarray:
    vecs = np.asarray(enc.encode(frames), dtype=np.float32)
    if vecs.shape != (nc, enc.dim):
        raise ValueError(f"encoder {enc.id} returned shape {vecs.shape}, expected {(nc, enc.dim)}")
    if not np.isfinite(vecs).all():
        raise UnreadableVideoError(name, "the encoder produced non-finite values for this video")
    return vecs


# ------------------------------------------------------------------------------ file I/O
def save_clip_features(features: ClipFeatures, path: str | os.PathLike) -> Path:
    """Write features atomically: Parquet (``video_id`` string, ``clip`` int64, ``f0…`` float32,
    with ``encoder_id`` and ``nc`` in the schema metadata), or CSV when ``path`` ends in
    ``.csv`` (no metadata; floats with 9 significant digits, so float32 values round-trip
    exactly; video ids are written as they are, so they match the log). Returns the path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".csv":  # a data file: true ids (frame_core.common.safe_csv)
            features.to_frame().to_csv(tmp, index=False, float_format="%.9g")
        else:
            cols = {
                "video_id": pa.array(features.video_ids.tolist(), pa.string()),
                "clip": pa.array(features.clips, pa.int64()),
            }
            for i in range(features.dim):
                cols[f"f{i}"] = pa.array(np.ascontiguousarray(features.matrix[:, i]), pa.float32())
            meta = {_META_ENCODER: features.encoder_id.encode(), _META_NC: str(features.nc).encode(), _META_FORMAT: FORMAT.encode()}
            pq.write_table(pa.table(cols).replace_schema_metadata(meta), tmp)
    return path


def _feature_columns(df: pd.DataFrame, name: str) -> list[str]:
    cols = [c for c in df.columns if c not in ("video_id", "clip")]
    bad = [c for c in cols if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])]
    if bad:
        raise InputError(f"{name}: feature columns must be numeric; not numeric: {', '.join(map(str, bad[:5]))}")
    if not cols:
        raise InputError(f"{name}: no feature columns (expected video_id, clip, f0, f1, …)")

    def order(c: str) -> tuple[int, int | str]:
        s = str(c)
        return (0, int(s[1:])) if s[:1] == "f" and s[1:].isdigit() else (1, s)

    fcols = [c for c in cols if order(c)[0] == 0]
    return sorted(fcols, key=order) + [c for c in cols if order(c)[0] == 1]


def load_clip_features(path: str | os.PathLike, limits: InputLimits = FEATURE_LIMITS, tmp_dir=None) -> ClipFeatures:
    """Read a features file written by :func:`save_clip_features`, or any Parquet/CSV/TSV (also
    gzip-compressed) with ``video_id``, ``clip`` (0-based integers) and numeric feature columns
    (``f0…`` in numeric order first, then the others in file order).

    The file is held to the input limits (README "Input limits";
    :data:`frame_core.data.limits.FEATURE_LIMITS` unless given) before pandas or pyarrow sees
    it, exactly as a log: size after decompression, decompression ratio, columns (4,098 by
    default for features), column-name length and line length; gzip is decompressed in a
    stream into ``tmp_dir`` (the system's temporary folder when None).

    Raises :class:`InputError` (one line) when the file is missing, unreadable or over a limit,
    a column is missing, a clip index is not a non-negative integer (or not below the stored
    ``nc``), a feature is missing/non-finite, or a (video_id, clip) pair repeats. ``nc`` comes
    from the file's metadata, else ``max(clip) + 1``.
    """
    p = Path(path)
    name = p.name
    if not p.is_file():
        raise InputError(f"features file not found: {p}")
    meta: dict[bytes, bytes] = {}
    with staged_log(p, limits=limits, tmp_dir=tmp_dir, name=name) as staged:
        try:
            if staged.kind == "parquet":
                import pyarrow.parquet as pq

                table = pq.read_table(staged.path)
                meta = dict(table.schema.metadata or {})
                df = table.to_pandas()
            else:
                df = pd.read_csv(staged.path, sep=staged.delimiter or ",", dtype={"video_id": str},
                                 encoding="utf-8-sig")
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
            raise InputError(f"cannot read features file {name}: {type(exc).__name__}: "
                             f"{(str(exc).splitlines() or [''])[0][:200]}") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in ("video_id", "clip") if c not in df.columns]
    if missing:
        raise InputError(f"{name}: missing column(s) {', '.join(missing)}; expected video_id, clip, f0, f1, …")
    if len(df) == 0:
        raise InputError(f"{name}: no rows")
    if df["video_id"].isna().any():
        raise InputError(f"{name}: {int(df['video_id'].isna().sum())} rows without a video_id")
    vids = df["video_id"].astype(str).str.strip()
    if (vids == "").any():
        raise InputError(f"{name}: empty video_id values")
    clip_num = pd.to_numeric(df["clip"], errors="coerce")
    bad_clip = clip_num.isna() | (clip_num < 0) | (clip_num != np.floor(clip_num))
    if bad_clip.any():
        first = df.loc[bad_clip, "clip"].iloc[0]
        raise InputError(f"{name}: clip must be a non-negative integer (0-based); {int(bad_clip.sum())} bad, e.g. {first!r}")
    clips = clip_num.to_numpy(dtype=np.int64)
    fcols = _feature_columns(df, name)
    mat = df[fcols].to_numpy(dtype=np.float64)
    finite = np.isfinite(mat)
    if not finite.all():
        r, c = np.argwhere(~finite)[0]
        raise InputError(f"{name}: feature values must be finite numbers; row {int(r) + 1}, column {fcols[c]} is not")
    if np.abs(mat).max(initial=0.0) > np.finfo(np.float32).max:
        raise InputError(f"{name}: feature values too large for float32")
    dup = pd.DataFrame({"v": vids, "c": clips}).duplicated()
    if dup.any():
        i = int(np.nonzero(dup.to_numpy())[0][0])
        raise InputError(f"{name}: (video_id, clip) pairs must be unique; {vids.iloc[i]!r} clip {clips[i]} repeats")
    nc = int(clips.max()) + 1
    if _META_NC in meta:
        try:
            nc_meta = int(meta[_META_NC].decode())
        except ValueError:
            raise InputError(f"{name}: bad nc in the file metadata") from None
        if nc_meta < nc:
            raise InputError(f"{name}: clip indices go up to {nc - 1} but the file says N_c = {nc_meta}")
        nc = nc_meta
    encoder_id = meta.get(_META_ENCODER, b"unknown").decode("utf-8", "replace")
    order = np.lexsort((clips, vids.to_numpy(dtype=str)))
    return ClipFeatures(vids.to_numpy(dtype=str)[order], clips[order], mat[order].astype(np.float32), encoder_id, nc)
