"""Data: upload a log (and videos), map its columns and units, validate, save; manage datasets.

Every whole-file problem is an ``InputError`` from the engine and is shown with ``st.error``;
nothing is stored until "Save dataset" is pressed after a successful validation. An upload is
first streamed into the workspace's ``tmp/`` folder and read from there, checked against the
input limits (``frame_core.data.limits``), so the server never holds a decompressed copy.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import streamlit as st

from app.components.data import DATASET_KEY, md_escape, short_time, workspace
from frame_core.common import schema as S
from frame_core.common.display import visible
from frame_core.common.errors import InputError
from frame_core.common.safe_csv import to_csv_bytes
from frame_core.data.intake import remove_quietly, stage_upload
from frame_core.data.limits import DEFAULT_LIMITS, MIB, InputLimits, mib
from frame_core.data.logio import preview_table
from frame_core.data.validation import REASONS, import_log, suggest_mapping
from frame_core.services.workspace import VIDEO_EXTENSIONS, safe_video_name, video_collisions

NONE = "(none)"
PREVIEW_ROWS = 10
RAW_KEY = "data_raw"
PENDING_KEY = "data_pending"
STAGED_KEY = "data_staged"
CONFIRM_KEY = "data_confirm_delete"
FLASH_KEY = "data_flash"
LOG_TYPES = ["csv", "tsv", "txt", "gz", "parquet"]
TARGET_HELP = {
    S.USER: "user id (text or number)",
    S.VIDEO: "video id (text or number); video files must be named <video_id>.webm",
    S.PLAY: "how long the video played",
    S.DURATION: "video length",
    S.TIMESTAMP: "when the view happened (any monotone clock); without it, row order is used",
    "like": "optional 0/1",
    "follow": "optional 0/1",
    "forward": "optional 0/1",
}

ws = workspace()
limit_mb = int(st.get_option("server.maxUploadSize"))  # Streamlit counts it in MiB

st.title("Data")
st.markdown(
    "Upload an interaction log with **one row per view** (user, video, playing time, duration, "
    "timestamp), map its columns and time unit, check the validation report, then save it to the "
    f"workspace. Files up to **{limit_mb:,} MiB** each (up to {mib(DEFAULT_LIMITS.max_bytes)} once decompressed); "
    "CSV, TSV, Parquet, or gzip-compressed CSV/TSV, UTF-8."
)

flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)
flash_warning = st.session_state.pop(FLASH_KEY + "_warning", None)
if flash_warning:
    st.warning(flash_warning)


def _file_sig(f) -> tuple:
    return (getattr(f, "file_id", None), f.name, f.size)


def _limits() -> InputLimits:
    """The input limits chosen under "Import limits" (the defaults until changed)."""
    return st.session_state.get("data_limits") or DEFAULT_LIMITS


def _limits_form() -> None:
    d = _limits()
    with st.expander("Import limits"):
        st.caption("A file over one of these is refused before it is parsed (README, \"Input limits\"). Raise one only "
                   "for a file you trust; the command line's options have the same names.")
        c = st.columns(5)
        mb = c[0].number_input("--max-mb (MiB)", 1, 1_048_576, d.max_bytes // MIB, key="data_lim_mb",
                               help="Size after decompression, in MiB.")
        ratio = c[1].number_input("--max-ratio", 1.0, 1e6, float(d.max_ratio), key="data_lim_ratio",
                                  help="Decompressed / compressed size, judged past the first 16 MiB.")
        cols = c[2].number_input("--max-columns", 1, 10_000_000, d.max_columns, key="data_lim_cols")
        name_chars = c[3].number_input("--max-name-chars", 1, 1_000_000, d.max_name_chars, key="data_lim_name")
        line = c[4].number_input("--max-line-bytes", 1, 2**31 - 1, d.max_line_bytes, key="data_lim_line")
    st.session_state["data_limits"] = InputLimits.from_options(
        max_mb=mb, max_ratio=ratio, max_columns=int(cols), max_name_chars=int(name_chars), max_line_bytes=int(line))


def _staged_path(f) -> Path:
    """The upload as a file in the workspace's tmp/ folder (copied once per upload)."""
    sig = _file_sig(f)
    staged = st.session_state.get(STAGED_KEY)
    if staged and staged["sig"] == sig and Path(staged["path"]).exists():
        return Path(staged["path"])
    if staged:
        remove_quietly(staged["path"])
    path = stage_upload(f, ws.tmp_dir, limits=_limits())
    st.session_state[STAGED_KEY] = {"sig": sig, "path": str(path)}
    return path


def _drop_staged() -> None:
    staged = st.session_state.pop(STAGED_KEY, None)
    if staged:
        remove_quietly(staged["path"])


def _read_preview(f) -> dict:
    """Check the uploaded file once per upload (and per limits) and keep its columns and first
    rows; the full table is parsed only when it is validated."""
    sig = (*_file_sig(f), _limits())
    cached = st.session_state.get(RAW_KEY)
    if cached and cached["sig"] == sig:
        return cached
    entry = {"sig": sig, "error": None, "columns": [], "head": None, "n": 0}
    try:
        with st.spinner(f"Reading {f.name}…"):
            head, lines = preview_table(_staged_path(f), limits=_limits(), tmp_dir=ws.tmp_dir, nrows=PREVIEW_ROWS,
                                        name=f.name)
        entry.update(columns=[str(c) for c in head.columns], head=head, n=lines)
    except InputError as exc:
        entry["error"] = str(exc)
    except OSError as exc:
        entry["error"] = f"The upload could not be staged in the workspace ({type(exc).__name__}: {exc})."
    st.session_state[RAW_KEY] = entry
    st.session_state.pop(PENDING_KEY, None)
    return entry


def _default_source(target: str, columns: list[str], suggested: dict[str, str]) -> str:
    if target in columns:
        return target
    for src, dst in suggested.items():
        if dst == target:
            return src
    return NONE


def _mapping_form(f, entry: dict) -> None:
    columns = entry["columns"]
    suggested, unit_guess = suggest_mapping(columns)
    fid = re.sub(r"[^A-Za-z0-9]", "", str(entry["sig"][0] or f.name))[:24]
    with st.form(f"data_map_form_{fid}"):
        st.markdown("**Map the file's columns to the log schema** (pre-filled from known names)")
        cols = st.columns(4)
        choice = {}
        for i, target in enumerate(S.ALL_COLUMNS):
            opts = [NONE, *columns]
            default = _default_source(target, columns, suggested)
            label = target + (" *" if target in S.REQUIRED else "")
            choice[target] = cols[i % 4].selectbox(
                label, opts, index=opts.index(default), key=f"data_map_{fid}_{target}", help=TARGET_HELP[target]
            )
        c1, c2 = st.columns([1, 2])
        unit = c1.radio(
            "Unit of playing_time, duration_time and interaction_timestamp", ["s", "ms"],
            index=1 if unit_guess == "ms" else 0, horizontal=True, key=f"data_unit_{fid}",
            format_func=lambda u: {"s": "seconds", "ms": "milliseconds"}[u],
        )
        name = c2.text_input("Dataset name", value=Path(f.name).name.split(".")[0][:80] or "dataset",
                             max_chars=120, key=f"data_name_{fid}")
        st.caption("Fields marked with an asterisk are required. A field left at (none) is still read from a column of "
                   "that exact name if the file has one.")
        submitted = st.form_submit_button("Validate", type="primary", icon=":material/fact_check:")
    if not submitted:
        return
    picked = {t: s for t, s in choice.items() if s != NONE}
    dup = {s for s in picked.values() if list(picked.values()).count(s) > 1}
    if dup:
        st.error(f"Column {md_escape(', '.join(sorted(dup)))} is mapped to more than one field; map each column once.")
        return
    mapping = {s: t for t, s in picked.items() if s != t}
    st.session_state.pop(PENDING_KEY, None)
    with st.status(f"Validating {f.name}…", expanded=False) as status:
        try:
            clean, report = import_log(_staged_path(f), mapping=mapping, time_unit=unit, name=f.name,
                                       limits=_limits(), tmp_dir=ws.tmp_dir)
        except (InputError, OSError) as exc:
            status.update(label="Validation failed", state="error")
            error = exc
        else:
            error = None
            status.update(label=f"Validated: {report.n_clean:,} of {report.n_input:,} rows usable", state="complete")
    if error is not None:  # outside the collapsed status box, so the reason is visible at once
        st.error(md_escape(error))
        return
    st.session_state[PENDING_KEY] = {
        "sig": entry["sig"], "clean": clean, "report": report, "name": name.strip() or "dataset",
        "mapping": mapping, "unit": unit, "file": f.name,
    }


def _show_report(pending: dict) -> None:
    report = pending["report"]
    st.subheader("2 · Validation report")
    c = st.columns(4)
    c[0].metric("Rows read", f"{report.n_input:,}", border=True)
    c[1].metric("Accepted", f"{report.n_clean:,}", border=True)
    c[2].metric("Rejected", f"{report.n_rejected:,}", border=True)
    fv = report.stats.get("full_view_share")
    c[3].metric("Full-view share", "–" if fv is None else f"{fv:.1%}", border=True)
    if report.n_rejected:
        rows = [
            {"reason": k, "meaning": REASONS[k], "rows": v} for k, v in report.rejected.items() if v
        ]
        st.markdown("**Rejected rows by reason** (each row gets the first reason that applies)")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        for k, v in report.rejected.items():
            if v and report.examples.get(k):
                with st.expander(f"Examples: {k} ({v:,} rows)"):
                    st.dataframe(pd.DataFrame(report.examples[k]), hide_index=True, width="stretch")
        st.download_button(
            "Download rejected rows (CSV)", to_csv_bytes(report.rejected_rows),
            file_name=f"rejected_{re.sub(r'[^A-Za-z0-9_-]+', '_', Path(pending['file']).stem)[:60]}.csv",
            mime="text/csv", icon=":material/download:", key="data_dl_rejected",
            help="Line numbers count the header as line 1. Cells that could start a spreadsheet formula are "
            "prefixed with a quote.",
        )
    else:
        st.success("No row was rejected.")
    for w in report.warnings:
        st.warning(w)
    if report.stats:
        stats = pd.DataFrame(
            [{"statistic": k.replace("_", " "), "value": v} for k, v in report.stats.items()]
        )
        st.dataframe(stats, hide_index=True, width="content",
                     column_config={"value": st.column_config.NumberColumn(format="%.4g")})
    with st.expander("First rows of the clean log (times in seconds)"):
        st.dataframe(pending["clean"].head(PREVIEW_ROWS), hide_index=True, width="stretch")


def _video_payload(files) -> list[tuple[str, bytes]]:
    out = []
    for vf in files or []:
        safe_video_name(vf.name)  # raises InputError for a bad name
        out.append((vf.name, vf.getvalue()))
    return out


SAVED_SIG_KEY = "data_saved_sig"


def _save(pending: dict, video_files) -> None:
    st.subheader("3 · Save")
    ids = set(pending["clean"][S.VIDEO].astype(str).unique())
    if video_files:
        stems = [Path(v.name).stem for v in video_files]
        hit = sum(s in ids for s in stems)
        msg = f"{hit} of {len(stems)} video files match a video id of the log."
        (st.info if hit == len(stems) else st.warning)(
            msg + ("" if hit == len(stems) else " Files must be named <video_id>.<ext>; unmatched files are stored "
                   "but not shown.")
        )
    clashes = video_collisions([v.name for v in video_files or []])
    if clashes:
        for stored, originals in clashes.items():
            st.error(f"Video files {md_escape(', '.join(visible(o) for o in originals))} would all be stored as "
                     f"{md_escape(stored)}: rename them so each video id has one file.")
    if st.button("Save dataset", type="primary", icon=":material/save:", key="data_save", disabled=bool(clashes)):
        try:
            with st.spinner("Saving the dataset…"):
                info = ws.add_dataset(
                    pending["clean"], pending["report"], name=pending["name"],
                    source={"file": Path(pending["file"]).name, "mapping": pending["mapping"],
                            "time_unit": pending["unit"]},
                    videos=_video_payload(video_files),
                )
            with st.spinner("Building the pages' summaries…"):
                try:
                    ws.prepare_summaries(info.id)
                except (InputError, OSError) as exc:  # the pages build them on first open and say why if not
                    st.session_state[FLASH_KEY + "_warning"] = (
                        f"The pages' summaries were not built now ({md_escape(exc)}); they will be built when a "
                        "page first needs them.")
        except InputError as exc:
            st.error(md_escape(exc))
            return
        except OSError as exc:
            st.error(f"The dataset could not be written to the workspace ({type(exc).__name__}: {md_escape(exc)}).")
            return
        st.session_state[DATASET_KEY] = info.id
        st.session_state[SAVED_SIG_KEY] = pending["sig"]  # the same upload is not offered for saving twice
        st.session_state.pop(PENDING_KEY, None)
        _drop_staged()
        st.session_state[FLASH_KEY] = (
            f"Saved as dataset {md_escape(info.id)}: {info.rows:,} views, {info.users:,} users, {info.videos:,} videos. "
            "It is now selected on the other pages."
        )
        st.rerun()


# ---------------------------------------------------------------------------------- upload
st.subheader("1 · Upload")
up = st.file_uploader(
    "Interaction log", type=LOG_TYPES, key="data_log_file",
    help=f"CSV/TSV (comma, tab, semicolon or pipe), Parquet, or .gz; up to {limit_mb:,} MiB.",
)
videos = st.file_uploader(
    "Video files (optional), named <video_id>.webm", type=[e.lstrip(".") for e in VIDEO_EXTENSIONS],
    accept_multiple_files=True, key="data_video_files",
    help="WebM (VP8/VP9) plays in every browser. The file name without extension must be the video id.",
)

_limits_form()
if up is None:
    st.session_state.pop(RAW_KEY, None)
    st.session_state.pop(PENDING_KEY, None)
    _drop_staged()
    st.info("Choose a log file to start. The bundled samples are already listed below.")
else:
    entry = _read_preview(up)
    if entry["error"]:
        st.error(md_escape(entry["error"]))
    elif st.session_state.get(SAVED_SIG_KEY) == entry["sig"]:
        st.success("This file is saved (see Stored datasets below). Choose another file to import more.")
    else:
        st.markdown(f"**Preview**: first {min(PREVIEW_ROWS, len(entry['head']))} rows as read from the file, "
                    f"which has {entry['n']:,} data lines")
        st.dataframe(entry["head"], width="stretch", hide_index=True)
        _mapping_form(up, entry)
        pending = st.session_state.get(PENDING_KEY)
        if pending and pending["sig"] == entry["sig"]:
            _show_report(pending)
            _save(pending, videos)

# ---------------------------------------------------------------------------------- stored
st.divider()
st.subheader("Stored datasets")
infos = ws.list_datasets()
if infos:
    table = pd.DataFrame(
        [
            {
                "id": i.id, "name": i.name, "kind": "bundled sample" if i.bundled else "uploaded",
                "rows": i.rows, "users": i.users, "videos": i.videos, "video files": "yes" if i.has_videos else "no",
                "size (MiB)": i.bytes / MIB, "created (UTC)": "" if i.bundled else short_time(i.created),
            }
            for i in infos
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"size (MiB)": st.column_config.NumberColumn(format="%.2f"),
                                "created (UTC)": st.column_config.TextColumn(width="medium")})
else:
    st.info("No dataset stored yet.")

deletable = [i for i in infos if not i.bundled]
if deletable:
    names = {i.id: i.name for i in deletable}
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    target = c1.selectbox("Delete a dataset", list(names), format_func=lambda i: f"{names[i]} ({i})",
                          key="data_delete_target")
    if c2.button("Delete…", icon=":material/delete:", key="data_delete"):
        st.session_state[CONFIRM_KEY] = target
    pending_delete = st.session_state.get(CONFIRM_KEY)
    if pending_delete in names:
        st.warning(f"Delete dataset {md_escape(names[pending_delete])} ({md_escape(pending_delete)}) with its "
                   "video files? This cannot be undone.")
        b1, b2 = st.columns(2)
        if b1.button("Yes, delete it", type="primary", key="data_delete_yes"):
            try:
                ws.delete_dataset(pending_delete)
            except (InputError, OSError) as exc:
                st.error(md_escape(exc))
            else:
                st.session_state.pop(CONFIRM_KEY, None)
                if st.session_state.get(DATASET_KEY) == pending_delete:
                    st.session_state.pop(DATASET_KEY, None)
                st.session_state[FLASH_KEY] = f"Deleted dataset {md_escape(pending_delete)}."
                st.rerun()
        if b2.button("Cancel", key="data_delete_no"):
            st.session_state.pop(CONFIRM_KEY, None)
            st.rerun()
elif infos:
    st.caption("Bundled samples are read-only; uploaded datasets can be deleted here.")
