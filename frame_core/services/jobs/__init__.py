"""Background jobs: a file-based queue in the workspace, run one at a time in subprocesses.

Training must not run in the app's script thread (it would freeze the UI and could not be
cancelled), and the machine has 2 cores, so jobs run **one at a time** in a worker subprocess
(``python -m frame_core.services.jobs.worker ROOT JOB_ID``). Everything about a job is on disk, so any
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
  engine checks it between steps and raises :class:`~frame_core.common.errors.CancelledError`.
  :meth:`JobQueue.force_stop` (SIGKILL) is there for a worker stuck in a long step.

This module never imports Streamlit; ``app/components/jobs.py`` is the UI side.
"""

from frame_core.services.jobs.queue import JobQueue
from frame_core.services.jobs.records import (
    ACTIVE,
    CANCELLED,
    DONE,
    FAILED,
    KINDS,
    QUEUED,
    RUNNING,
    STATUSES,
    TERMINAL,
    CancelToken,
    Job,
    ProgressWriter,
    read_progress,
)
from frame_core.services.jobs.validation import validate_params

__all__ = [
    "ACTIVE", "CANCELLED", "DONE", "FAILED", "KINDS", "QUEUED", "RUNNING", "STATUSES", "TERMINAL", "CancelToken",
    "Job", "JobQueue", "ProgressWriter", "read_progress", "validate_params",
]
