"""The one call the CLI and the app use to read and validate a log into a frame: the file is
streamed into a temporary Parquet file by :func:`frame_core.data.stream_import.import_to_parquet`
(docs/design.md §1) and the clean log read back. To store a log without holding it in memory,
call ``import_to_parquet`` itself (the workspace does)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from frame_core.data.limits import InputLimits
from frame_core.data.stream_import import import_to_parquet
from frame_core.data.validation import Source, ValidationReport


def import_log(source: Source, *, mapping=None, time_unit: str = "s", max_bytes: int | None = None,
               limits: InputLimits | None = None, tmp_dir=None, name: str | None = None
               ) -> tuple[pd.DataFrame, ValidationReport]:
    """(clean log, report), as :func:`frame_core.data.validation.import_log` gives them, by the
    streamed path. ``limits`` bound the file (``max_bytes`` overrides its size limit);
    temporary files go to ``tmp_dir``."""
    with tempfile.TemporaryDirectory(prefix=".frame-import-", dir=tmp_dir) as tmp:
        out = Path(tmp) / "log.parquet"
        report = import_to_parquet(source, out, mapping=mapping, time_unit=time_unit, max_bytes=max_bytes,
                                   limits=limits, tmp_dir=tmp_dir, name=name)
        return pd.read_parquet(out), report
