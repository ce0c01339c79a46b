"""The finished runs of the workspace, listed once per server process for every session, and
the list of those that cannot be used (damaged or tampered folders), shown on the Compare,
Recommend and Train pages instead of an error (docs/design.md §8)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from app.components.data import shared
from frame_core.runs.store import CONFIG, DONE, METRICS, WEIGHTS
from frame_core.services import engine as E
from frame_core.services import run_tables as T

STAMPED = (DONE, CONFIG, METRICS, WEIGHTS, "test_predictions.csv")


def runs_stamp(runs_dir) -> tuple:
    """What the run listing depends on: (folder, ((file, size, mtime_ns) …)) for every run
    folder. A run that finishes, is re-trained, deleted or tampered with (any of its config,
    metrics, weights or predictions rewritten) changes the stamp, so the cached listing is
    recomputed; a few ``stat`` calls per run, cheap on every render."""
    root = Path(runs_dir)
    try:
        dirs = sorted((d for d in os.scandir(root) if d.is_dir()), key=lambda d: d.name)
    except OSError:
        return ()
    out = []
    for d in dirs:
        files = []
        for name in STAMPED:
            try:
                s = os.stat(os.path.join(d.path, name))
                files.append((name, s.st_size, s.st_mtime_ns))
            except OSError:
                continue
        out.append((d.name, tuple(files)))
    return tuple(out)


@st.cache_resource(max_entries=4, show_spinner=False)
def _finished(runs_dir: str, stamp: tuple) -> pd.DataFrame:
    return T.prepare_runs(E.list_finished_runs(Path(runs_dir)))


def finished_runs(runs_dir) -> pd.DataFrame:
    """Finished, usable runs (:func:`frame_core.services.run_tables.prepare_runs`), listed
    once per server process and :func:`runs_stamp`; the caller's own shallow copy."""
    return shared(_finished(str(runs_dir), runs_stamp(runs_dir)))


@st.cache_resource(max_entries=4, show_spinner=False)
def _unusable(runs_dir: str, stamp: tuple) -> pd.DataFrame:
    return E.unusable_runs(Path(runs_dir))


def unusable_runs_notice(runs_dir: Path, dataset_id: str | None, key: str) -> None:
    """A warning with the count and an expander listing each unusable run and its reason."""
    bad = _unusable(str(runs_dir), runs_stamp(runs_dir))
    if dataset_id is not None and len(bad):
        bad = bad[bad["dataset"].isna() | (bad["dataset"] == str(dataset_id))]
    if bad.empty:
        return
    n = len(bad)
    st.warning(f"{n} finished run{'s' if n > 1 else ''} cannot be used and {'are' if n > 1 else 'is'} left out "
               "(damaged run folder); see the list below. Delete or re-train them.", icon=":material/report:")
    with st.expander(f"Unusable runs ({n})"):
        st.dataframe(bad[["run_id", "dataset", "problem"]], hide_index=True, width="stretch", key=key,
                     column_config={"problem": st.column_config.TextColumn("why", width="large")})
