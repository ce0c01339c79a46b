"""Worker entry point: ``python -m frame_core.services.jobs.worker WORKSPACE_ROOT JOB_ID [--lock-fd N]``.

Runs one job of the workspace's queue (see :mod:`frame_core.services.jobs.queue`), records its outcome, then
starts the next queued job (if any) so the queue drains without the app. ``--lock-fd`` is the
job lock inherited from :meth:`~frame_core.services.jobs.queue.JobQueue.pump`; without it the worker claims a
queued job itself. Exit code 0 when the job ended as done or cancelled, 1 when it failed, 2 for
bad arguments.
"""

from __future__ import annotations

import argparse
import logging
import sys

from frame_core.services.jobs.queue import JobQueue
from frame_core.services.jobs.records import CANCELLED, DONE
from frame_core.services.jobs.runners import run_claimed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m frame_core.services.jobs.worker", description=__doc__.splitlines()[0])
    parser.add_argument("root", help="workspace root folder")
    parser.add_argument("job_id")
    parser.add_argument("--lock-fd", type=int, default=None, help="inherited job lock (set by the queue)")
    parser.add_argument("--no-chain", action="store_true", help="do not start the next queued job afterwards")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    queue = JobQueue(args.root)
    job = run_claimed(queue, args.job_id, args.lock_fd)
    if not args.no_chain:
        queue.pump()  # the next worker outlives this one; init adopts it
    if job is None:
        sys.stderr.write(f"error: no job {args.job_id!r} in {queue.dir}\n")
        return 2
    return 0 if job.status in (DONE, CANCELLED) else 1


if __name__ == "__main__":
    raise SystemExit(main())
