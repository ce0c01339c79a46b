"""CSV files: downloads that are safe to open in a spreadsheet, and data files that keep the
true values.

Text cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return would be run as
formulas by Excel/LibreOffice (CSV/formula injection). :func:`neutralise` prefixes such cells
with a single quote, as OWASP recommends; numeric columns are left alone.

Decision (issue 17): the quoting is applied **only to downloads meant for spreadsheets** (the
app's download buttons, :func:`to_csv_bytes`). Files the engine stores or the CLI writes
(``runs/*/test_predictions.csv``, ``predict --out``, ``labels --out``, ``rejected.csv`` …)
are data that the project and scripts read back, so they keep the true ids
(:func:`write_csv`): an id ``=A1`` must still match the log after a round trip.
"""

from __future__ import annotations

import io
import os

import pandas as pd

from frame_core.common.atomic import atomic_path

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` whose text cells cannot start a spreadsheet formula."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        as_str = s.astype("string")
        bad = as_str.str.startswith(_TRIGGERS).fillna(False).to_numpy(dtype=bool)
        if bad.any():
            s = s.astype(object)
            s[bad] = "'" + as_str[bad].astype(str)
            out[col] = s
    out.columns = [("'" + c) if isinstance(c, str) and c.startswith(_TRIGGERS) else c for c in out.columns]
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Formula-safe UTF-8 CSV bytes (for download buttons)."""
    buf = io.StringIO()
    neutralise(df).to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")


def write_csv(df: pd.DataFrame, path: str | os.PathLike, *, spreadsheet: bool = False) -> None:
    """Write a CSV atomically (temp file in the same folder + rename) with the true values;
    ``spreadsheet=True`` neutralises formula-like cells as the downloads do."""
    with atomic_path(path) as tmp:
        (neutralise(df) if spreadsheet else df).to_csv(tmp, index=False)
