"""CSV export that is safe to open in a spreadsheet.

Text cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return would be run as
formulas by Excel/LibreOffice (CSV/formula injection). :func:`neutralise` prefixes such cells
with a single quote, as OWASP recommends; numeric columns are left alone. Every CSV the app
offers for download and every CSV the CLI writes goes through here.
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


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a formula-safe CSV atomically (temp file in the same folder + rename)."""
    with atomic_path(path) as tmp:
        neutralise(df).to_csv(tmp, index=False)
