"""Loading any finished run folder: a FRAME run (:class:`~frame_core.runs.run.Run`) or an
ensemble run (:class:`~frame_core.runs.ensemble.EnsembleRun`), told apart by ``config.json``'s
``kind``. Both offer ``predict``, ``recommend``, ``candidates``, ``nc``, ``config``, ``metrics``."""

from __future__ import annotations

import os
from pathlib import Path

from frame_core.common.atomic import read_json
from frame_core.common.errors import InputError
from frame_core.runs.ensemble import EnsembleRun, load_ensemble_run
from frame_core.runs.run import Run, load_frame_run
from frame_core.runs.store import CONFIG, run_status


def load_run(run_dir: str | os.PathLike) -> Run | EnsembleRun:
    """Load a **finished** run of any kind; raises InputError for a folder that is not one."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).exists():
        raise InputError(f"{run_dir} is not a run folder (no {CONFIG})")
    status = run_status(run_dir)
    if status != "finished":
        raise InputError(f"run {run_dir.name} did not finish (status: {status}); train it again")
    info = read_json(run_dir / CONFIG)
    if info.get("kind") == "ensemble":
        return load_ensemble_run(run_dir, info)
    return load_frame_run(run_dir)
