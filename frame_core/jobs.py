"""Background jobs: a file-based queue in the workspace, run one at a time in subprocesses.

Training must not run in the app's script thread (it would freeze the UI and could not be
cancelled), and the machine has 2 cores, so jobs run **one at a time** in a worker subprocess
(``python -m frame_core.job_worker ROOT JOB_ID``). Everything about a job is on disk, so any
process (a page after a browser refresh, a second app server, the CLI) sees the same queue::

    workspace/jobs/<id>.json      the job record (status, params, pid, times, error, result)
                   <id>.lock      flock-ed by the worker for as long as it lives
                   <id>.cancel    present once a cancel was requested
                   <id>.log       the worker's stdout/stderr (tracebacks end up here)
                   <id>.progress.jsonl   progress events (JSON lines) while the job runs
                   <id>.work/     staging folder the job writes into (the engine's run folder)
    workspace/runs/<id>/          a finished training run (the staging folder, renamed)
    workspace/comparisons/<id>/   a finished baselines comparison

Status: ``queued`` → ``running`` → ``done`` | ``failed`` | ``cancelled``.

How it stays consistent:

- **Unique ids, exclusive creation.** An id is a UTC time stamp plus 8 random hex digits; the
  record is written to a temporary file and hard-linked into place, which fails if the name is
  taken. Every later change is written to a temporary file and ``os.replace``-d (atomic).
- **One queue lock.** Every status change (claim, finish, cancel, reconcile) happens while
  holding ``fcntl.flock`` on ``jobs/.queue.lock``, so two app sessions or processes launching
  and updating jobs at the same time cannot both start a job or lose an update.
- **Liveness by lock, not by pid.** :meth:`JobQueue.pump` takes the job's ``<id>.lock``, starts
  the worker with that descriptor (``pass_fds``) and closes its own copy: the lock then lives
  exactly as long as the worker. The kernel drops it when the worker dies for any reason
  (SIGKILL included), so a job that is ``running`` on disk but whose lock can be taken has lost
  its worker. :meth:`JobQueue.refresh` marks it **failed** (``cancelled`` if a cancel had been
  requested), never done. Pid reuse and zombies cannot fool this.
- **A run is committed by a rename.** A job writes into ``jobs/<id>.work/`` and the worker
  renames that folder to ``runs/<id>`` only after the engine returned normally, then records
  ``done``. A run that was killed, failed or cancelled therefore never appears in ``runs/``
  (its partial progress stays viewable in ``jobs/``). On success ``progress.jsonl`` is moved
  into the run folder just before the rename. If a worker dies after the rename but before
  recording, the rename is what counts and the job is reconciled as done.
- **Chaining.** After a job, its worker calls :meth:`JobQueue.pump` to start the next queued
  job, so the queue drains even when no browser is open. The app also pumps when it polls.
- **Cancel.** :meth:`JobQueue.cancel` cancels a queued job at once; for a running one it
  creates ``<id>.cancel`` and sends SIGTERM. The worker's cancel token is set by either; the
  engine checks it between steps and raises :class:`~frame_core.errors.CancelledError`.
  :meth:`JobQueue.force_stop` (SIGKILL) is there for a worker stuck in a long step.

This module never imports Streamlit; ``app/components/jobs.py`` is the UI side.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import fcntl
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .atomic import atomic_write_bytes
from .errors import CancelledError, InputError
from .workspace import REPO_ROOT, Workspace

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STATUSES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
TERMINAL = (DONE, FAILED, CANCELLED)
ACTIVE = (QUEUED, RUNNING)

KINDS = ("train", "compare", "sleep")  # "sleep" is a diagnostic job (tests, smoke checks)
PROGRESS_FILE = "progress.jsonl"
RESULT_FILE = "job_result.json"
_MIN_STEP_INTERVAL = 0.25  # s between two written step events that carry no validation metric


def _now() -> float:
    return time.time()


def new_job_id(kind: str) -> str:
    """``YYYYmmdd-HHMMSS-<kind>-<8 hex>``: sortable by creation time and unique across processes."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{kind}-{uuid.uuid4().hex[:8]}"


def _valid_id(job_id: str) -> bool:
    return (
        isinstance(job_id, str)
        and 0 < len(job_id) <= 80
        and all(c.isalnum() or c in "-_" for c in job_id)
        and not job_id.startswith(("-", "."))
    )


def _write_json_atomic(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, default=str, allow_nan=False).encode("utf-8"))


def _write_json_exclusive(path: Path, obj: Any) -> None:
    """Create ``path`` with ``obj``; raise FileExistsError if it already exists (atomic)."""
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=2, default=str, allow_nan=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)  # fails with EEXIST instead of overwriting
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _json_safe(obj: Any) -> Any:
    """Replace NaN/inf (not valid JSON) by None, recursively; numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and not isinstance(obj, (str, bytes)):
        with contextlib.suppress(Exception):
            obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


@dataclasses.dataclass
class Job:
    """One job record (``jobs/<id>.json``). Times are Unix seconds."""

    id: str
    kind: str
    status: str
    created: float
    params: dict[str, Any]
    label: str = ""
    group: str | None = None
    pid: int | None = None
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    out_dir: str | None = None  # where the result lives once done (runs/<id>, comparisons/<id>)
    result: dict[str, Any] = dataclasses.field(default_factory=dict)
    cancel_requested: bool = False

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def elapsed(self, now: float | None = None) -> float | None:
        """Seconds the job has run (so far, if running); None if it never started."""
        if self.started is None:
            return None
        end = self.finished if self.finished is not None else (now or _now())
        return max(0.0, end - self.started)

    def to_dict(self) -> dict[str, Any]:
        return _json_safe(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Job:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


class CancelToken:
    """``is_set()`` is true once a cancel file exists or :meth:`set` was called (signal handler)."""

    def __init__(self, cancel_file: Path | None = None):
        self.cancel_file = cancel_file
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        if not self._set and self.cancel_file is not None and self.cancel_file.exists():
            self._set = True
        return self._set

    def check(self) -> None:
        if self.is_set():
            raise CancelledError("cancelled")


class ProgressWriter:
    """The ``progress(event)`` callback given to the engine: appends JSON lines to a file.

    Every event gets ``t`` (Unix time) and ``elapsed`` (s since the job started) unless it has
    them. Step-level events without a validation metric are thinned to one per 0.25 s; epoch
    events (any event with a ``val_*`` key or ``"event"`` in ``start``/``epoch``/``end``) are
    always written.
    """

    def __init__(self, path: Path, t0: float | None = None):
        self.path = Path(path)
        self.t0 = t0 if t0 is not None else _now()
        self._last_step = 0.0
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, event: dict) -> None:
        now = _now()
        e = dict(event) if isinstance(event, dict) else {"message": str(event)}
        important = any(str(k).startswith("val_") for k in e) or e.get("event") not in (None, "step")
        if not important:
            if now - self._last_step < _MIN_STEP_INTERVAL:
                return
            self._last_step = now
        e.setdefault("elapsed", now - self.t0)
        e["t"] = now
        line = json.dumps(_json_safe(e), default=str, allow_nan=False)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()


def read_progress(path: Path, max_events: int = 20_000) -> list[dict]:
    """Events of a ``progress.jsonl`` (a half-written last line is ignored); [] if missing."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.readlines()
    except OSError:
        return []
    out = []
    for line in lines[-max_events:]:
        line = line.strip()
        if not line:
            continue
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(e, dict):
            out.append(e)
    return out


@dataclasses.dataclass
class JobContext:
    """What a job runner gets: where to write, how to report and when to stop."""

    queue: JobQueue
    job: Job
    work_dir: Path
    progress: Callable[[dict], None]
    cancel: CancelToken

    @property
    def workspace(self) -> Workspace:
        return Workspace(self.queue.root)


class JobQueue:
    """The queue of one workspace. Cheap to construct; safe to use from several processes."""

    def __init__(self, root: str | os.PathLike | Workspace | None = None):
        if isinstance(root, Workspace):
            root = root.root
        self.root = Workspace(root).root
        self.dir = self.root / "jobs"
        self.runs_dir = self.root / "runs"
        self.comparisons_dir = self.root / "comparisons"

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
        _write_json_atomic(self.record_path(job.id), job.to_dict())

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
        params = _json_safe(dict(params))
        validate_params(kind, params)
        if kind == "train":  # store the full, validated config so the record says exactly what runs
            from .config import FrameConfig

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
                _write_json_exclusive(self.record_path(job.id), job.to_dict())
                return job
            except FileExistsError:  # pragma: no cover - 32 random bits collided
                continue
        raise RuntimeError("could not allocate a unique job id")  # pragma: no cover

    def submit_many(self, specs: list[tuple[str, dict, str]], *, group: str | None = None) -> list[Job]:
        """Queue several jobs ``(kind, params, label)`` in order; all are validated first."""
        for kind, params, _ in specs:
            if kind not in KINDS:
                raise InputError(f"unknown job kind {kind!r}")
            validate_params(kind, _json_safe(dict(params)))
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
                job.result = job.result or _read_result(self.dest_dir(job))
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
                cmd = [sys.executable, "-m", "frame_core.job_worker", str(self.root), job.id, "--lock-fd", str(fd)]
                env = dict(os.environ)
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
    def run_claimed(self, job_id: str, lock_fd: int | None = None) -> Job | None:
        """Run one job in this process (the worker's body). ``lock_fd`` is the job lock passed by
        :meth:`pump`; without it the job must be queued and is claimed here."""
        with self._locked():
            job = self._read(job_id) if _valid_id(job_id) else None
            if job is None:
                return None
            if lock_fd is None:
                if job.status != QUEUED:
                    return job
                lock_fd = self._try_job_lock(job_id)
                if lock_fd is None:
                    return job
                job.status, job.pid, job.started = RUNNING, os.getpid(), _now()
                self.work_dir(job_id).mkdir(parents=True, exist_ok=True)
                self._write(job)
            elif job.status != RUNNING:  # cancelled between launch and start
                return job
        os.set_inheritable(lock_fd, False)  # children of the worker must not keep the lock
        token = CancelToken(self.cancel_path(job_id))
        previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda *_: token.set())
        work = self.work_dir(job_id)
        work.mkdir(parents=True, exist_ok=True)
        ctx = JobContext(self, job, work, ProgressWriter(self.progress_path(job_id), t0=job.started), token)
        status, error, result = DONE, None, {}
        try:
            token.check()
            result = RUNNERS[job.kind](ctx) or {}
            token.check()
            dest = self.dest_dir(job)
            dest.parent.mkdir(parents=True, exist_ok=True)
            _write_json_atomic(work / RESULT_FILE, _json_safe(result))
            if self.progress_path(job_id).exists():
                os.replace(self.progress_path(job_id), work / PROGRESS_FILE)
            os.rename(work, dest)  # the commit point: only now is the run listed
        except CancelledError:
            status, error = CANCELLED, "cancelled by the user"
        except InputError as exc:
            status, error = FAILED, str(exc)
        except MemoryError:
            status, error = FAILED, "out of memory: try a smaller dataset, N_c or embedding size"
        except Exception as exc:  # any bug in a job is reported on the job, with the traceback in its log
            import traceback

            traceback.print_exc()
            status, error = FAILED, f"{type(exc).__name__}: {exc}"[:1000]
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        with self._locked():
            job = self._read(job_id) or job
            job.status, job.error, job.finished = status, error, _now()
            if status == DONE:
                job.out_dir = str(self.dest_dir(job))
                job.result = _json_safe(result)
            self._write(job)
        os.close(lock_fd)
        return job


def _read_result(d: Path) -> dict:
    try:
        r = json.loads((d / RESULT_FILE).read_text(encoding="utf-8"))
        return r if isinstance(r, dict) else {}
    except (OSError, ValueError):
        return {}


# ---------------------------------------------------------------------------------- runners
# Each runner gets a JobContext, writes its files into ctx.work_dir, calls ctx.progress(event)
# and honours ctx.cancel; it returns a small JSON-able summary stored on the job record. The
# engine calls are isolated here so that wiring the app to the engine is in one place.


def validate_params(kind: str, params: dict) -> None:
    """Check a job's parameters before queueing it (raises InputError with a one-line message)."""
    if kind in ("train", "compare") and params.get("visual") not in (None, True, False):
        raise InputError("visual must be true or false")
    if kind == "train":
        if not params.get("dataset_id"):
            raise InputError("a training job needs a dataset_id")
        from .config import FrameConfig

        FrameConfig.from_dict(params.get("config") or {})
    elif kind == "compare":
        if not params.get("dataset_id"):
            raise InputError("a comparison job needs a dataset_id")
        models = params.get("models")
        if not models or not isinstance(models, list):
            raise InputError("a comparison job needs a non-empty list of models")
        with contextlib.suppress(ImportError):
            from .baselines import parse_models

            parse_models(models)
        seeds = params.get("seeds", 3)
        if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= 10:
            raise InputError("seeds must be a whole number from 1 to 10")
        options = params.get("options") or {}
        unknown = sorted(set(options) - {"max_epochs", "patience"})
        if unknown:
            raise InputError(f"unknown comparison option(s) {', '.join(unknown)}; use max_epochs, patience")
        for k, v in options.items():
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 10_000):
                raise InputError(f"{k} must be a whole number from 1 to 10000")
    elif kind == "sleep":
        steps, step_s = params.get("steps", 5), params.get("step_s", 0.1)
        if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= 100_000:
            raise InputError("steps must be a whole number from 0 to 100000")
        if not isinstance(step_s, (int, float)) or not 0 <= step_s <= 60:
            raise InputError("step_s must be a number from 0 to 60")


def _dataset(ctx: JobContext):
    ws = ctx.workspace
    ds_id = ctx.job.params["dataset_id"]
    info = ws.dataset_info(ds_id)
    ctx.progress({"event": "status", "message": f"loading dataset {ds_id}"})
    return info, ws.load_log(ds_id)


def _run_train(ctx: JobContext) -> dict:
    from . import engine_adapter

    info, log = _dataset(ctx)
    ctx.cancel.check()
    return engine_adapter.train(
        log, ctx.job.params.get("config") or {}, ctx.work_dir,
        videos_dir=info.videos_dir if ctx.job.params.get("visual") else None,
        dataset={"id": info.id, "name": info.name, "created": info.created},
        progress=ctx.progress, cancel=ctx.cancel, cache_dir=ctx.workspace.cache_dir,
        name=ctx.job.label or ctx.job.id,
    )


def _run_compare(ctx: JobContext) -> dict:
    from . import engine_adapter

    info, log = _dataset(ctx)
    ctx.cancel.check()
    p = ctx.job.params
    return engine_adapter.compare(
        log, list(p["models"]), int(p.get("seeds", 3)), ctx.work_dir,
        options=p.get("options") or {}, progress=ctx.progress, cancel=ctx.cancel,
        dataset={"id": info.id, "name": info.name},
        videos_dir=info.videos_dir if p.get("visual") else None, cache_dir=ctx.workspace.cache_dir,
    )


def _run_sleep(ctx: JobContext) -> dict:
    """Diagnostic job: ``steps`` steps of ``step_s`` seconds with a fake decreasing loss; fails
    at step ``fail_at`` if given. Used by tests and to check the queue without the engine."""
    p = ctx.job.params
    steps, step_s = int(p.get("steps", 5)), float(p.get("step_s", 0.1))
    fail_at = p.get("fail_at")
    for i in range(steps):
        ctx.cancel.check()
        if fail_at is not None and i == int(fail_at):
            raise RuntimeError(f"failing on purpose at step {i}")
        time.sleep(step_s)
        ctx.progress({"event": "epoch", "epoch": i + 1, "epochs": steps, "loss": 1.0 / (i + 1), "val_auc": 0.5 + 0.4 * i / max(1, steps)})
    _write_json_atomic(ctx.work_dir / "sleep.json", {"steps": steps})
    return {"steps": steps}


RUNNERS: dict[str, Callable[[JobContext], dict]] = {"train": _run_train, "compare": _run_compare, "sleep": _run_sleep}
