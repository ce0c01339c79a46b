"""Where a ``tune`` study lives: Optuna's RDB storage, SQLite in the tuning folder by default
(``frame_core.experiments.tune``, README "Tuning")."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

HEARTBEAT_S = 5  # a dead trial is failed after 4 heartbeats without news, then retried once
STUDY_DB = "study.db"


def storage_for(out_dir: Path, url: str | None, heartbeat_s: int = HEARTBEAT_S):
    """Optuna's RDB storage (SQLite in ``out_dir`` by default) with heartbeats, so that a trial
    whose process died is failed after ``4 · heartbeat_s`` seconds and retried once."""
    import optuna

    url = url or f"sqlite:///{(out_dir / STUDY_DB).resolve()}"
    with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna's words
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return open_storage(
            url, heartbeat_interval=int(heartbeat_s), grace_period=4 * int(heartbeat_s),
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1))


def open_storage(url: str, attempts: int = 8, **kwargs):
    """``optuna.storages.RDBStorage(url, **kwargs)``, retried when another process creates the
    same database's schema at the same moment. Opening an empty database writes its tables and
    its version row; two processes doing so together (two workers, or the app's Tune view
    reading a study that a fresh ``tune`` is creating) make one of them fail with a unique-key
    or "database is locked" error, and the retry then finds the schema complete."""
    import optuna
    from sqlalchemy.exc import IntegrityError, OperationalError

    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    for attempt in range(attempts - 1):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine, **kwargs)
        except (IntegrityError, OperationalError):
            time.sleep(0.2 * (attempt + 1))
    return optuna.storages.RDBStorage(url, engine_kwargs=engine, **kwargs)
