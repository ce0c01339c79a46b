"""The embedded local store: datasets and runs under one workspace folder.

The workspace is ``$FRAME_WORKSPACE`` if set, else ``./workspace`` (resolved when a
:class:`Workspace` is made, never at import). Layout::

    workspace/
      datasets/<dataset_id>/log.parquet      clean log (frame_core.common.schema columns, seconds)
                           manifest.json     name, created, source, mapping, unit, counts
                           report.json       validation report summary
                           derived/          page-query summaries (frame_core.services.log_queries)
                           rejected.csv      rejected rows with their reason (formula-safe)
                           videos/           optional video files <video_id>.<ext>
      runs/<run_id>/...                      training runs (see frame_core.runs.store)
      cache/                                 derived artefacts (clip embeddings)
      tmp/                                   uploads being validated (streamed here, removed after)

Writes are atomic: a dataset is written into a hidden temporary folder and renamed into place,
so a crash leaves either the whole dataset or nothing. Nothing stored is overwritten: a new
dataset with the same name gets a new id.

Bundled samples (``sample_data/``) are listed as read-only datasets with ids ``sample-…``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from frame_core.common import schema as S
from frame_core.common.atomic import atomic_write_bytes, atomic_write_json
from frame_core.common.errors import InputError
from frame_core.common.safe_csv import write_csv
from frame_core.common.schema import VIDEO_EXTENSIONS
from frame_core.data.log_import import import_log
from frame_core.data.validation import ValidationReport
from frame_core.services import samples as _samples
from frame_core.services.samples import (  # noqa: F401 - re-exported: callers import the samples from here
    BUNDLED,
    REPO_ROOT,
    SAMPLE_DIR,
    BundledSample,
    DatasetInfo,
    bundled_info,
)


def default_root() -> Path:
    return Path(os.environ.get("FRAME_WORKSPACE") or "workspace").resolve()


def slugify(name: str, max_len: int = 40) -> str:
    """A safe folder name: lower-case letters, digits, '-' and '_' only."""
    base = Path(str(name)).name  # drop any directory part (no path traversal)
    base = re.sub(r"\.(csv|tsv|txt|gz|parquet)$", "", base.lower())
    base = re.sub(r"\.(csv|tsv|txt)$", "", base)
    slug = re.sub(r"[^a-z0-9_-]+", "-", base).strip("-_")[:max_len]
    return slug or "dataset"


class Workspace:
    """Datasets and runs on disk. Safe for several processes: every write is atomic and ids
    are unique (a random suffix is added when a name is taken)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).resolve() if root else default_root()
        self.datasets_dir = self.root / "datasets"
        self.runs_dir = self.root / "runs"
        self.cache_dir = self.root / "cache"
        self.tmp_dir = self.root / "tmp"

    def ensure(self) -> Workspace:
        for d in (self.datasets_dir, self.runs_dir, self.cache_dir, self.tmp_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self

    def sweep_tmp(self, max_age_s: float = 24 * 3600) -> int:
        """Delete staged uploads and decompressed copies in ``tmp/`` older than ``max_age_s``
        (left by a session that ended mid-import); returns how many were removed."""
        import time

        n = 0
        if self.tmp_dir.is_dir():
            cutoff = time.time() - max_age_s
            for f in self.tmp_dir.iterdir():
                try:
                    if f.is_file() and f.stat().st_mtime < cutoff:
                        f.unlink()
                        n += 1
                except OSError:
                    continue
        return n

    # ----------------------------------------------------------------- datasets
    def add_dataset(
        self,
        log: pd.DataFrame,
        report: ValidationReport,
        *,
        name: str,
        source: dict[str, Any] | None = None,
        videos: list[tuple[str, bytes]] | None = None,
    ) -> DatasetInfo:
        """Store a clean log (and optional video files) as a new dataset; returns its info."""
        if len(log) == 0:
            raise InputError("the dataset is empty: nothing to store")

        def write(folder: Path):
            log.to_parquet(folder / "log.parquet", index=False)
            return {"rows": len(log), "users": int(log[S.USER].nunique()), "videos": int(log[S.VIDEO].nunique())}, report

        return self._store(write, name=name, source=source, videos=videos)

    def _store(self, write_log, *, name: str, source, videos) -> DatasetInfo:
        """Write a dataset into a hidden folder (``write_log(folder)`` writes log.parquet and
        returns its row, user and video counts and the validation report) and rename it into place."""
        self.ensure()
        base = slugify(name)
        ds_id = base
        if (self.datasets_dir / ds_id).exists() or ds_id.startswith("sample-"):
            ds_id = f"{base}-{uuid.uuid4().hex[:6]}"
        tmp = self.datasets_dir / f".tmp-{ds_id}-{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        try:
            counts, report = write_log(tmp)
            atomic_write_json(tmp / "report.json", report.to_dict())
            if len(report.rejected_rows):
                write_csv(report.rejected_rows, tmp / "rejected.csv")
            n_videos = 0
            if videos:
                refuse_video_collisions([fname for fname, _ in videos])
                vdir = tmp / "videos"
                vdir.mkdir()
                for fname, data in videos:
                    atomic_write_bytes(vdir / safe_video_name(fname), data)
                n_videos = sum(1 for f in vdir.iterdir() if f.is_file())  # what is on disk
            manifest = {
                "id": ds_id,
                "name": str(name)[:200],
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "source": source or {},
                **counts,
                "video_files": n_videos,
                "schema_version": 1,
            }
            atomic_write_json(tmp / "manifest.json", manifest)
            for _ in range(5):
                try:
                    os.rename(tmp, self.datasets_dir / ds_id)  # atomic; refuses an existing id
                    break
                except OSError:  # another process took this id meanwhile: pick a fresh one
                    ds_id = f"{base}-{uuid.uuid4().hex[:6]}"
                    manifest["id"] = ds_id
                    atomic_write_json(tmp / "manifest.json", manifest)
            else:
                raise OSError(f"could not store dataset {name!r}: no free id")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self.dataset_info(ds_id)

    def import_file(self, source, *, name: str, mapping=None, time_unit: str = "s", max_bytes=None, videos=None,
                    limits=None):
        """Import and validate a log file and store it. Returns (DatasetInfo, report).
        On bad input raises InputError and stores nothing. The file is streamed straight into
        the dataset's Parquet (:func:`frame_core.data.stream_import.import_to_parquet`): memory
        stays bounded whatever its size; the size limit is ``limits`` / ``max_bytes``."""
        from frame_core.data.stream_import import import_to_parquet

        self.ensure()
        kwargs = {"mapping": mapping, "time_unit": time_unit, "name": name, "limits": limits, "tmp_dir": self.tmp_dir}
        if max_bytes:
            kwargs["max_bytes"] = max_bytes
        got: list[ValidationReport] = []

        def write(folder: Path):
            rep = import_to_parquet(source, folder / "log.parquet", **kwargs)
            got.append(rep)
            return {"rows": rep.n_clean, "users": int(rep.stats["users"]), "videos": int(rep.stats["videos"])}, rep

        info = self._store(write, name=name, videos=videos,
                           source={"file": Path(str(name)).name, "mapping": mapping or {}, "time_unit": time_unit})
        return info, got[0]

    # ----------------------------------------------------------------- out-of-core queries
    def log_path(self, ds_id: str) -> Path:
        """The clean log of a dataset as a Parquet file (a bundled sample is imported once into
        ``cache/samples/``, keyed by its file's modification time)."""
        return self._paths(ds_id)[0]

    def prepare_summaries(self, ds_id: str) -> None:
        """Build a dataset's page-query summaries now (they are otherwise built on the first
        page that needs them): the Data page does this right after saving, so every page's
        first render after an import is a lookup. Raises InputError or OSError."""
        q = self.queries(ds_id)
        try:
            q.prepare()
        finally:
            q.close()

    def queries(self, ds_id: str, threads: int | None = None):
        """:class:`frame_core.services.log_queries.LogQueries` over a dataset (DuckDB over its
        Parquet; summaries in ``derived/`` next to it). Raises InputError for an unreadable file."""
        from frame_core.services.log_queries import LogQueries

        path, derived = self._paths(ds_id)
        try:
            import pyarrow.parquet as pq

            pq.read_metadata(path)
        except Exception as exc:  # noqa: BLE001 - corrupt parquet: report, don't crash
            raise InputError(f"dataset {ds_id} cannot be read ({type(exc).__name__}); delete and re-import it") from None
        stats = None
        try:
            stats = json.loads((path.parent / "report.json").read_text()).get("stats")
        except (OSError, ValueError, AttributeError):
            pass  # no report (a dataset stored from a frame): the KPIs are computed
        return LogQueries(path, derived, threads=threads, temp_dir=self.tmp_dir, stats=stats)

    def _paths(self, ds_id: str) -> tuple[Path, Path]:
        for b in BUNDLED:
            if b.id == ds_id:
                src = _samples.SAMPLE_DIR / b.path
                folder = self.cache_dir / "samples" / f"{b.id}-{src.stat().st_mtime_ns}"
                out = folder / "log.parquet"
                if not out.exists():
                    from frame_core.data.stream_import import import_to_parquet

                    folder.mkdir(parents=True, exist_ok=True)
                    rep = import_to_parquet(src, out, mapping=b.mapping, time_unit=b.time_unit, tmp_dir=self.tmp_dir)
                    atomic_write_json(folder / "report.json", rep.to_dict())
                return out, folder / "derived"
        d = self._dataset_dir(ds_id)
        return d / "log.parquet", d / "derived"

    def list_datasets(self, include_bundled: bool = True) -> list[DatasetInfo]:
        out = []
        if include_bundled:
            out.extend(bundled_info(b) for b in BUNDLED if (_samples.SAMPLE_DIR / b.path).exists())
        if self.datasets_dir.exists():
            for d in sorted(self.datasets_dir.iterdir()):
                if d.name.startswith(".") or not (d / "manifest.json").exists():
                    continue
                try:
                    out.append(self.dataset_info(d.name))
                except (OSError, ValueError, KeyError):
                    continue  # unreadable manifest: not listed, not deleted
        return out

    def dataset_info(self, ds_id: str) -> DatasetInfo:
        for b in BUNDLED:
            if b.id == ds_id:
                return bundled_info(b)
        d = self._dataset_dir(ds_id)
        m = json.loads((d / "manifest.json").read_text())
        size = sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
        vdir = d / "videos"
        return DatasetInfo(
            id=ds_id, name=m.get("name", ds_id), bundled=False, rows=int(m["rows"]), users=int(m["users"]),
            videos=int(m["videos"]), created=m.get("created", ""), bytes=size,
            has_videos=vdir.is_dir() and any(vdir.iterdir()), path=d / "log.parquet",
            videos_dir=vdir if vdir.is_dir() else None, manifest=m,
        )

    def load_log(self, ds_id: str) -> pd.DataFrame:
        """The clean log of a dataset as one frame (bundled samples are imported from
        sample_data/); pages that must not hold a large log use :meth:`queries` instead."""
        for b in BUNDLED:
            if b.id == ds_id:
                return import_log(_samples.SAMPLE_DIR / b.path, mapping=b.mapping, time_unit=b.time_unit)[0]
        d = self._dataset_dir(ds_id)
        try:
            return pd.read_parquet(d / "log.parquet")
        except Exception as exc:  # corrupt parquet: report, don't crash
            raise InputError(f"dataset {ds_id} cannot be read ({type(exc).__name__}); delete and re-import it") from None

    def delete_dataset(self, ds_id: str) -> None:
        if any(b.id == ds_id for b in BUNDLED):
            raise InputError("bundled samples cannot be deleted")
        d = self._dataset_dir(ds_id)
        trash = self.datasets_dir / f".trash-{ds_id}-{uuid.uuid4().hex}"
        os.rename(d, trash)  # atomic: the dataset disappears from the list at once
        shutil.rmtree(trash, ignore_errors=True)

    def _dataset_dir(self, ds_id: str) -> Path:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,80}", str(ds_id)):
            raise InputError(f"invalid dataset id {ds_id!r}")
        d = self.datasets_dir / ds_id
        if not (d / "manifest.json").exists():
            raise InputError(f"no dataset {ds_id!r} in {self.datasets_dir}")
        return d


def safe_video_name(fname: str) -> str:
    """Basename of an uploaded video with only ``[A-Za-z0-9._-]``; the extension must be a
    video extension. Raises InputError otherwise."""
    base = Path(str(fname).replace("\\", "/")).name
    stem, ext = os.path.splitext(base)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._")[:200]
    if ext.lower() not in VIDEO_EXTENSIONS or not stem:
        raise InputError(f"{base!r} is not a video file name <video_id>.<{'|'.join(e[1:] for e in VIDEO_EXTENSIONS)}>")
    return stem + ext.lower()


def video_collisions(names) -> dict[str, list[str]]:
    """Uploaded video names that would be stored under the same file name (after
    :func:`safe_video_name`, which lower-cases the extension): stored name → the uploaded
    names, for every stored name claimed more than once. Names that are not valid video file
    names are left to :func:`safe_video_name` to refuse."""
    by_safe: dict[str, list[str]] = {}
    for n in names:
        try:
            safe = safe_video_name(n)
        except InputError:
            continue
        by_safe.setdefault(safe, []).append(str(n))
    return {k: v for k, v in by_safe.items() if len(v) > 1}


def refuse_video_collisions(names) -> None:
    """InputError (one line) when two uploads would be stored under one name: nothing is
    overwritten silently (issue 17)."""
    clashes = video_collisions(names)
    if clashes:
        first, originals = next(iter(clashes.items()))
        shown = ", ".join(repr(o) for o in originals[:4])
        more = f" (and {len(clashes) - 1} more clash{'es' if len(clashes) > 2 else ''})" if len(clashes) > 1 else ""
        raise InputError(f"video files {shown} would all be stored as {first}{more}; rename them so each video id "
                         "has one file, and upload again")


