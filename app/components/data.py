"""Cached access to the workspace and the selected dataset (the only place pages load data).

**Shared read-only data** (README "The app under load"). The loaded log is held once per
server process in ``st.cache_resource``, keyed by dataset id and :func:`dataset_version` (the
manifest's created time plus the log file's size and modification time, so a re-import or a
regenerated sample is a new key and the old entry ages out). ``st.cache_data`` would pickle and
unpickle the whole DataFrame on every hit, once per page run of every session; a resource is
handed out as is. That is safe because callers never see the cached object itself:
:func:`load_log` returns ``frame.copy(deep=False)``, a new DataFrame over the same column
buffers. pandas' copy-on-write (always on since pandas 3) makes any write through it (a new
column, ``loc`` assignment, ``iloc`` assignment) copy first, so no session can change
what another one reads. :func:`shared` does the same for other frames kept as resources.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from frame_core.common.display import visible
from frame_core.common.errors import InputError
from frame_core.services.workspace import Workspace

DATASET_KEY = "dataset_id"


@st.cache_resource
def workspace() -> Workspace:
    """The app's workspace ($FRAME_WORKSPACE or ./workspace); stale staged uploads are swept."""
    ws = Workspace().ensure()
    ws.sweep_tmp()
    return ws


def shared(frame: pd.DataFrame) -> pd.DataFrame:
    """A caller's own view of a DataFrame held in ``st.cache_resource``: a shallow copy (no
    data copied; copy-on-write protects the cached frame from writes through it)."""
    return frame.copy(deep=False)


@st.cache_resource(max_entries=8, show_spinner="Loading dataset…")
def _cached_log(ds_id: str, version: str) -> pd.DataFrame:
    return workspace().load_log(ds_id)


def load_log(ds_id: str, version: str) -> pd.DataFrame:
    """Clean log of a dataset, loaded once per server process (``version`` keys the cache:
    :func:`dataset_version`); the caller's own shallow copy (:func:`shared`)."""
    return shared(_cached_log(ds_id, version))


@st.cache_resource(max_entries=8, show_spinner="Opening the dataset…")
def queries(ds_id: str, version: str):
    """Out-of-core queries over a dataset (DuckDB over its Parquet; one per dataset version,
    shared by sessions: LogQueries serialises its own use). The summaries are built on first use."""
    q = workspace().queries(ds_id)
    q.prepare()
    return q


def dataset_version(info) -> str:
    """Cache key of a dataset's content: its created time and the log file's size and
    modification time (bundled samples have no created time and may be regenerated in place)."""
    try:
        st_ = info.path.stat()
        sig = f"{st_.st_size}:{st_.st_mtime_ns}"
    except OSError:
        sig = "0:0"
    return f"{info.created}:{sig}"


def short_time(iso) -> str:
    """An ISO 8601 UTC time as "2026-12-03 14:02:09" ("" when unreadable)."""
    t = pd.to_datetime(iso, errors="coerce", utc=True)
    return "" if pd.isna(t) else t.strftime("%Y-%m-%d %H:%M:%S")


def default_dataset(infos) -> int:
    """Index of the dataset a fresh session opens on: the most recently uploaded one, else the
    first bundled sample."""
    uploads = [(str(i.created), k) for k, i in enumerate(infos) if not i.bundled and i.created]
    return max(uploads)[1] if uploads else 0


def dataset_picker(sidebar: bool = True, load: bool = True):
    """Select box over bundled and stored datasets; returns (DatasetInfo, log) or (None, None).
    A fresh session opens on the newest upload (:func:`default_dataset`). With ``load=False``
    the second value is the dataset's :func:`queries` instead of the whole log (pages that
    must work on logs larger than memory)."""
    infos = workspace().list_datasets()
    where = st.sidebar if sidebar else st
    if not infos:
        where.info("No dataset yet: upload one on the Data page.")
        return None, None
    ids = [i.id for i in infos]
    current = st.session_state.get(DATASET_KEY)
    index = ids.index(current) if current in ids else default_dataset(infos)
    choice = where.selectbox(
        "Dataset", ids, index=index, format_func=lambda i: next(x.name for x in infos if x.id == i), key="dataset_picker"
    )
    st.session_state[DATASET_KEY] = choice
    info = next(x for x in infos if x.id == choice)
    if load:
        return info, loaded_log(info)
    try:
        return info, queries(info.id, dataset_version(info))
    except InputError as exc:
        st.error(str(exc))
        return info, None


def loaded_log(info) -> pd.DataFrame | None:
    """The dataset's whole clean log (:func:`load_log`), or None with the reason shown when it
    cannot be read."""
    try:
        return load_log(info.id, dataset_version(info))
    except InputError as exc:
        st.error(str(exc))
        return None


_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>:~$=")


def md_escape(text) -> str:
    """User-provided text made inert for ``st.markdown`` and friends: every Markdown / Streamlit
    directive character is backslash-escaped, newlines become spaces, and bidirectional or
    invisible characters are shown as ``\\uXXXX`` (:func:`frame_core.common.display.visible`)."""
    s = " ".join(visible(text).split())
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in s)
