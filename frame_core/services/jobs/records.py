"""Job records of the background queue (see :mod:`frame_core.services.jobs.queue`): ids,
statuses, the :class:`Job` record, the cancel token and the progress log of a running job.

Times are Unix seconds. Progress events are JSON lines in ``jobs/<id>.progress.jsonl``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import uuid
from pathlib import Path
from typing import Any

from frame_core.common.atomic import json_safe
from frame_core.common.errors import CancelledError

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STATUSES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
TERMINAL = (DONE, FAILED, CANCELLED)
ACTIVE = (QUEUED, RUNNING)

KINDS = ("train", "compare", "tune", "simulate", "sleep")  # "sleep" is a diagnostic job (tests, smoke checks)
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
        return json_safe(dataclasses.asdict(self))

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
        line = json.dumps(json_safe(e), default=str, allow_nan=False)
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


def read_result(d: Path) -> dict:
    try:
        r = json.loads((d / RESULT_FILE).read_text(encoding="utf-8"))
        return r if isinstance(r, dict) else {}
    except (OSError, ValueError):
        return {}


