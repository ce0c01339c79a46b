"""Running one job of the queue: the runners per job kind and :func:`run_claimed`, which the
worker process (:mod:`frame_core.services.jobs.worker`) calls.

Each runner gets a :class:`JobContext`, writes its files into ``ctx.work_dir``, calls
``ctx.progress(event)`` and honours ``ctx.cancel``; it returns a small JSON-able summary that is
stored on the job record. The engine calls go through :mod:`frame_core.services.engine`.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from frame_core.common.atomic import atomic_write_json, json_safe
from frame_core.common.errors import CancelledError, InputError
from frame_core.services.jobs.queue import JobQueue
from frame_core.services.jobs.records import (
    CANCELLED,
    DONE,
    FAILED,
    PROGRESS_FILE,
    QUEUED,
    RESULT_FILE,
    RUNNING,
    CancelToken,
    Job,
    ProgressWriter,
    _now,
    _valid_id,
)
from frame_core.services.workspace import Workspace


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



def run_claimed(queue: JobQueue, job_id: str, lock_fd: int | None = None) -> Job | None:
    """Run one job in this process (the worker's body). ``lock_fd`` is the job lock passed by
    :meth:`pump`; without it the job must be queued and is claimed here."""
    with queue._locked():
        job = queue._read(job_id) if _valid_id(job_id) else None
        if job is None:
            return None
        if lock_fd is None:
            if job.status != QUEUED:
                return job
            lock_fd = queue._try_job_lock(job_id)
            if lock_fd is None:
                return job
            job.status, job.pid, job.started = RUNNING, os.getpid(), _now()
            queue.work_dir(job_id).mkdir(parents=True, exist_ok=True)
            queue._write(job)
        elif job.status != RUNNING:  # cancelled between launch and start
            return job
    os.set_inheritable(lock_fd, False)  # children of the worker must not keep the lock
    token = CancelToken(queue.cancel_path(job_id))
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, lambda *_: token.set())
    work = queue.work_dir(job_id)
    work.mkdir(parents=True, exist_ok=True)
    ctx = JobContext(queue, job, work, ProgressWriter(queue.progress_path(job_id), t0=job.started), token)
    status, error, result = DONE, None, {}
    try:
        token.check()
        result = RUNNERS[job.kind](ctx) or {}
        token.check()
        dest = queue.dest_dir(job)
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(work / RESULT_FILE, json_safe(result))
        if queue.progress_path(job_id).exists():
            os.replace(queue.progress_path(job_id), work / PROGRESS_FILE)
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
    with queue._locked():
        job = queue._read(job_id) or job
        job.status, job.error, job.finished = status, error, _now()
        if status == DONE:
            job.out_dir = str(queue.dest_dir(job))
            job.result = json_safe(result)
        queue._write(job)
    os.close(lock_fd)
    return job


def _dataset(ctx: JobContext):
    ws = ctx.workspace
    ds_id = ctx.job.params["dataset_id"]
    info = ws.dataset_info(ds_id)
    ctx.progress({"event": "status", "message": f"loading dataset {ds_id}"})
    return info, ws.load_log(ds_id)


def _run_train(ctx: JobContext) -> dict:
    from frame_core.services import engine as engine_adapter

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
    from frame_core.services import engine as engine_adapter

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
    atomic_write_json(ctx.work_dir / "sleep.json", {"steps": steps})
    return {"steps": steps}


def _run_tune(ctx: JobContext) -> dict:
    from frame_core.services import engine as engine_adapter

    info, log = _dataset(ctx)
    ctx.cancel.check()
    p = ctx.job.params
    return engine_adapter.tune(
        log, int(p.get("nc", 8)), float(p.get("budget_s", 600)), ctx.work_dir,
        videos_dir=info.videos_dir if p.get("visual") else None, dataset={"id": info.id, "name": info.name},
        progress=ctx.progress, cancel=ctx.cancel, cache_dir=ctx.workspace.cache_dir,
    )


def _run_simulate(ctx: JobContext) -> dict:
    from frame_core.services.simulations import simulate_dataset

    info, log = _dataset(ctx)
    ctx.cancel.check()
    return simulate_dataset(info, log, ctx.job.params, ctx.work_dir, runs_dir=ctx.workspace.runs_dir,
                            progress=ctx.progress, cancel=ctx.cancel)


RUNNERS: dict[str, Callable[[JobContext], dict]] = {"train": _run_train, "compare": _run_compare, "tune": _run_tune,
                                                    "simulate": _run_simulate, "sleep": _run_sleep}
