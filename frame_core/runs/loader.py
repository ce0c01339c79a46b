"""Loading any finished run folder: a FRAME run (:class:`~frame_core.runs.run.Run`) or an
ensemble run (:class:`~frame_core.runs.ensemble.EnsembleRun`), told apart by ``config.json``'s
``kind``. Both offer ``predict``, ``recommend``, ``candidates``, ``nc``, ``config``, ``metrics``.

The folder is checked first (:mod:`frame_core.runs.check`); whatever still fails while the
model is rebuilt (weights of the wrong shape, graphs that do not match the id maps …) is
turned into the same one-line ``run <name> cannot be used: <reason>``."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

from frame_core.common.errors import InputError
from frame_core.runs.check import unusable_message
from frame_core.runs.ensemble import EnsembleRun, load_ensemble_run
from frame_core.runs.run import Run, load_frame_run
from frame_core.runs.store import finished_info

LOAD_ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, RuntimeError, EOFError,
               pickle.UnpicklingError, zipfile.BadZipFile)
"""What rebuilding a run from a damaged folder can raise (numpy, scipy, torch, json)."""


def load_run(run_dir: str | os.PathLike) -> Run | EnsembleRun:
    """Load a **finished** run of any kind; raises InputError (one line) for a folder that is
    not one or cannot be used."""
    run_dir = Path(run_dir)
    info = finished_info(run_dir)
    try:
        if info.get("kind") == "ensemble":
            return load_ensemble_run(run_dir, info)
        return load_frame_run(run_dir)
    except InputError as exc:
        msg = str(exc)
        raise InputError(msg if "cannot be used" in msg else unusable_message(run_dir, msg)) from None
    except LOAD_ERRORS as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        reason = f"its files do not fit together ({type(exc).__name__}{': ' + first if first else ''})"
        raise InputError(unusable_message(run_dir, reason)) from None
