"""Training runs on disk (the run contract, docs/design.md "Run folders").

- :mod:`.store`: the folder layout, status and listing of runs;
- :mod:`.run`: a finished run loaded back (:class:`Run`) and :meth:`Run.predict`.
"""

from frame_core.runs.check import run_problem
from frame_core.runs.ensemble import EnsembleRun
from frame_core.runs.loader import load_run
from frame_core.runs.run import Run, load_frame_run, load_model_files
from frame_core.runs.store import (
    CONFIG,
    DONE,
    DURATIONS,
    GRAPH_NEG,
    GRAPH_POS,
    HISTORY,
    ID_MAPS,
    METRICS,
    PROGRESS,
    STATUSES,
    TEST_CLIP_PRED,
    TEST_PRED,
    WEIGHTS,
    finished_at,
    library_versions,
    list_runs,
    run_status,
    runs_signature,
    unusable_runs,
)

__all__ = [
    "CONFIG", "DONE", "DURATIONS", "GRAPH_NEG", "GRAPH_POS", "HISTORY", "ID_MAPS", "METRICS", "PROGRESS", "STATUSES", "TEST_CLIP_PRED", "TEST_PRED", "WEIGHTS", "EnsembleRun", "Run", "finished_at", "library_versions", "list_runs",
    "load_frame_run", "load_model_files", "load_run", "run_problem", "run_status", "runs_signature", "unusable_runs",
]
