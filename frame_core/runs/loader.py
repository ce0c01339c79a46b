"""Loading any finished run folder: a FRAME run (:class:`~frame_core.runs.run.Run`) or an
ensemble run (:class:`~frame_core.runs.ensemble.EnsembleRun`), told apart by ``config.json``'s
``kind``. Both offer ``predict``, ``recommend``, ``candidates``, ``nc``, ``config``, ``metrics``."""

from __future__ import annotations

import os
from pathlib import Path

from frame_core.runs.ensemble import EnsembleRun, load_ensemble_run
from frame_core.runs.run import Run, load_frame_run
from frame_core.runs.store import finished_info


def load_run(run_dir: str | os.PathLike) -> Run | EnsembleRun:
    """Load a **finished** run of any kind; raises InputError for a folder that is not one."""
    run_dir = Path(run_dir)
    info = finished_info(run_dir)
    if info.get("kind") == "ensemble":
        return load_ensemble_run(run_dir, info)
    return load_frame_run(run_dir)
