"""The job queue: submit, list, start (one worker subprocess at a time), cancel and reconcile
jobs kept on disk under ``workspace/jobs``. How it stays consistent is described in
:mod:`frame_core.services.jobs`."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from frame_core.common.atomic import atomic_write_json, create_json_exclusive, json_safe
from frame_core.common.errors import InputError
from frame_core.common.perf import allocator_env
from frame_core.services.jobs.records import (
    CANCELLED,
    DONE,
    FAILED,
    KINDS,
    PROGRESS_FILE,
    QUEUED,
    RUNNING,
    Job,
    _now,
    _valid_id,
    new_job_id,
    read_progress,
    read_result,
)
from frame_core.services.jobs.validation import validate_params
from frame_core.services.workspace import REPO_ROOT, Workspace


class JobQueue:
    """The queue of one workspace. Cheap to construct; safe to use from several processes."""

    def __init__(self, root: str | os.PathLike | Workspace | None = None):
        if isinstance(root, Workspace):
            root = root.root
        self.root = Workspace(root).root
        self.dir = self.root / "jobs"
        self.runs_dir = self.root / "runs"
        self.comparisons_dir = self.root / "comparisons"
        self.tunes_dir = self.root / "tunes"
        self.simulations_dir = self.root / "simulations"

    # ------------------------------------------------------------------ paths
    def ensure(self) -> JobQueue:
        for d in (self.dir, self.runs_dir, self.comparisons_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self

    def record_path(self, job_id: str) -> Path:
        return self.dir / f"{job_id}.json"

    def lock_path(self, job_id: str) -> Path:
        return self.dir / f"{job_id}.lock"

    def cancel_path(self, job_id: str) -> Path:
        return self.dir / f"{job_id}.cancel"

    def log_path(self, job_id: str) -> Path:
        return self.dir / f"{job_id}.log"

    def work_dir(self, job_id: str) -> Path:
        return self.dir / f"{job_id}.work"

    def progress_path(self, job_id: str) -> Path:
        return self.dir / f"{job_id}.progress.jsonl"

    def dest_dir(self, job: Job) -> Path:
        if job.kind == "train":
            return self.runs_dir / job.id
        if job.kind == "compare":
            return self.comparisons_dir / job.id
        if job.kind == "tune":
            return self.tunes_dir / job.id
        if job.kind == "simulate":
            return self.simulations_dir / job.id
        return self.dir / f"{job.id}.out"

    def output_dir(self, job: Job) -> Path:
        """Where the job's files are now: the final folder once done, else the staging folder."""
        dest = self.dest_dir(job)
        if job.status == DONE or (dest.exists() and not self.work_dir(job.id).exists()):
            return dest
        return self.work_dir(job.id)

    def progress(self, job: Job | str) -> list[dict]:
        """Progress events of a job so far (works while it runs, after it moved, after failure)."""
        job = self.get(job) if isinstance(job, str) else job
        if job is None:
            return []
        for p in (self.progress_path(job.id), self.dest_dir(job) / PROGRESS_FILE):
            if p.exists():
                return read_progress(p)
        return []

    def log_tail(self, job_id: str, max_chars: int = 4000) -> str:
        try:
            with open(self.log_path(job_id), "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - max_chars))
                return fh.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    # ------------------------------------------------------------------ locking
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.ensure()
        fd = os.open(self.dir / ".queue.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _try_job_lock(self, job_id: str) -> int | None:
        """Take the job's lock without waiting: its fd, or None when a live worker holds it."""
        fd = os.open(self.lock_path(job_id), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return None
            raise
        return fd

    def worker_alive(self, job_id: str) -> bool:
        """True while a process holds the job's lock (its worker is alive)."""
        if not self.lock_path(job_id).exists():
            return False
        fd = self._try_job_lock(job_id)
        if fd is None:
            return True
        os.close(fd)
        return False

    # ------------------------------------------------------------------ records
    def _read(self, job_id: str) -> Job | None:
        try:
            d = json.loads(self.record_path(job_id).read_text(encoding="utf-8"))
            return Job.from_dict(d)
        except (OSError, ValueError, TypeError):
            return None

    def _write(self, job: Job) -> None:
        atomic_write_json(self.record_path(job.id), job.to_dict())

    def get(self, job_id: str) -> Job | None:
        """The job record, or None if there is none (or the id is not a job id)."""
        if not _valid_id(job_id):
            return None
        job = self._read(job_id)
        if job is not None:
            job.cancel_requested = job.cancel_requested or self.cancel_path(job_id).exists()
        return job

    def list(self, group: str | None = None, kinds: tuple[str, ...] | None = None) -> list[Job]:
        """All jobs, oldest first (optionally of one group or some kinds)."""
        if not self.dir.exists():
            return []
        jobs = []
        for p in self.dir.glob("*.json"):
            if p.name.startswith("."):
                continue
            job = self.get(p.stem)
            if job is None or (group is not None and job.group != group):
                continue
            if kinds is not None and job.kind not in kinds:
                continue
            jobs.append(job)
        jobs.sort(key=lambda j: (j.created, j.id))
        return jobs

    # ------------------------------------------------------------------ submit
    def submit(self, kind: str, params: dict[str, Any], *, label: str = "", group: str | None = None) -> Job:
        """Queue a job; returns its record. Raises InputError for bad parameters (nothing queued)."""
        if kind not in KINDS:
            raise InputError(f"unknown job kind {kind!r}; use one of {', '.join(KINDS)}")
        params = json_safe(dict(params))
        validate_params(kind, params)
        if kind == "train":  # store the full, validated config so the record says exactly what runs
            from frame_core.model.config import FrameConfig

            params["config"] = FrameConfig.from_dict(params.get("config") or {}).to_dict()
        try:
            json.dumps(params, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InputError(f"job parameters must be plain JSON values ({exc})") from None
        self.ensure()
        for _ in range(5):
            job = Job(
                id=new_job_id(kind), kind=kind, status=QUEUED, created=_now(), params=params,
                label=str(label)[:200], group=group,
            )
            try:
                create_json_exclusive(self.record_path(job.id), job.to_dict())
                return job
            except FileExistsError:  # pragma: no cover - 32 random bits collided
                continue
        raise RuntimeError("could not allocate a unique job id")  # pragma: no cover

    def submit_many(self, specs: list[tuple[str, dict, str]], *, group: str | None = None) -> list[Job]:
        """Queue several jobs ``(kind, params, label)`` in order; all are validated first."""
        for kind, params, _ in specs:
            if kind not in KINDS:
                raise InputError(f"unknown job kind {kind!r}")
            validate_params(kind, json_safe(dict(params)))
        return [self.submit(kind, params, label=label, group=group) for kind, params, label in specs]

    # ------------------------------------------------------------------ scheduling
    def refresh(self) -> list[Job]:
        """Reconcile records with reality (a ``running`` job whose worker died is failed, or
        cancelled if a cancel was requested, or done if its result was already committed);
        returns all jobs."""
        if self.dir.exists() and any(j.status == RUNNING for j in self.list()):
            with self._locked():
                self._reconcile_locked()
        return self.list()

    def _reconcile_locked(self) -> None:
        for job in self.list():
            if job.status != RUNNING or self.worker_alive(job.id):
                continue
            job = self._read(job.id)  # re-read: the worker may have finished meanwhile
            if job is None or job.status != RUNNING:
                continue
            job.finished = _now()
            if self.dest_dir(job).exists():
                job.status = DONE
                job.out_dir = str(self.dest_dir(job))
                job.result = job.result or read_result(self.dest_dir(job))
                job.error = None
            elif self.cancel_path(job.id).exists():
                job.status = CANCELLED
                job.error = "cancelled (the worker stopped before it could record it)"
            else:
                job.status = FAILED
                job.error = "the worker process died without finishing (killed or crashed); see the job log"
            self._write(job)

    def running(self) -> Job | None:
        for job in self.list():
            if job.status == RUNNING:
                return job
        return None

    def pump(self, *, spawn: Callable[..., subprocess.Popen] | None = None) -> subprocess.Popen | None:
        """Start the oldest queued job if no job is running. Returns the worker's Popen (the
        caller should keep it and ``poll()`` it to reap the process) or None."""
        if not self.dir.exists():
            return None
        with self._locked():
            self._reconcile_locked()
            jobs = self.list()
            if any(j.status == RUNNING for j in jobs):
                return None
            queued = [j for j in jobs if j.status == QUEUED]
            if not queued:
                return None
            job = queued[0]
            fd = self._try_job_lock(job.id)
            if fd is None:  # pragma: no cover - a stray worker still holds it
                return None
            try:
                work = self.work_dir(job.id)
                if work.exists():
                    shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                cmd = [sys.executable, "-m", "frame_core.services.jobs.worker", str(self.root), job.id, "--lock-fd", str(fd)]
                env = allocator_env(os.environ)  # tcmalloc where installed (frame_core.common.perf)
                env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
                env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) - 1)))
                env["PYTHONUNBUFFERED"] = "1"
                with open(self.log_path(job.id), "ab") as logf:
                    popen = (spawn or subprocess.Popen)(
                        cmd, cwd=str(REPO_ROOT), env=env, stdin=subprocess.DEVNULL, stdout=logf,
                        stderr=subprocess.STDOUT, pass_fds=(fd,),
                    )
            except Exception as exc:
                job.status = FAILED
                job.finished = _now()
                job.error = f"could not start the worker: {type(exc).__name__}: {exc}"
                self._write(job)
                return None
            finally:
                os.close(fd)  # the worker keeps its inherited copy: the lock lives as long as it does
            job.status = RUNNING
            job.pid = popen.pid
            job.started = _now()
            self._write(job)
            return popen

    # ------------------------------------------------------------------ cancel / cleanup
    def cancel(self, job_id: str) -> Job | None:
        """Cancel a queued job at once, or ask a running one to stop (cancel file + SIGTERM).
        Finished jobs are left as they are. Returns the updated record."""
        with self._locked():
            job = self._read(job_id) if _valid_id(job_id) else None
            if job is None:
                return None
            if job.status == QUEUED:
                job.status = CANCELLED
                job.finished = _now()
                job.error = "cancelled before it started"
                job.cancel_requested = True
                self._write(job)
            elif job.status == RUNNING:
                self.cancel_path(job_id).touch()
                job.cancel_requested = True
                self._write(job)
                if job.pid and self.worker_alive(job_id):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(job.pid, signal.SIGTERM)
            return self.get(job_id)

    def force_stop(self, job_id: str) -> None:
        """SIGKILL a running job's worker (after a cancel that it did not honour). The job is
        then reconciled as cancelled."""
        job = self.get(job_id)
        if job is None or job.status != RUNNING:
            return
        self.cancel_path(job_id).touch()
        if job.pid and self.worker_alive(job_id):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(job.pid, signal.SIGKILL)

    def cancel_group(self, group: str) -> None:
        for job in self.list(group=group):
            if job.active:
                self.cancel(job.id)

    def remove(self, job_id: str) -> bool:
        """Forget a finished job (its record, log and staging folder). A done job's run or
        comparison folder is kept. Active jobs are not removed (cancel them first)."""
        with self._locked():
            job = self._read(job_id) if _valid_id(job_id) else None
            if job is None or not job.terminal:
                return False
            shutil.rmtree(self.work_dir(job_id), ignore_errors=True)
            shutil.rmtree(self.dir / f"{job_id}.out", ignore_errors=True) if job.kind == "sleep" else None
            for p in (self.cancel_path(job_id), self.log_path(job_id), self.progress_path(job_id),
                      self.lock_path(job_id), self.record_path(job_id)):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
            return True

    def wait(self, job_id: str, timeout: float = 60.0, poll: float = 0.1, pump: bool = True) -> Job | None:
        """Block until the job is finished (for the CLI and tests, never for the app)."""
        deadline = time.monotonic() + timeout
        while True:
            if pump:
                self.pump()
            self.refresh()
            job = self.get(job_id)
            if job is None or job.terminal or time.monotonic() > deadline:
                return job
            time.sleep(poll)

    # ------------------------------------------------------------------ worker side
