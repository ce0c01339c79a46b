"""Ids and names shown to a person: invisible and direction-changing characters made visible.

A right-to-left override (U+202E) in an id makes ``\\u202egpj.exe`` *display* as "exe.jpg";
zero-width characters make two different ids look the same. :func:`visible` replaces every
such character with its ``\\uXXXX`` escape, so what is shown is what is stored. Only display
goes through here: the stored ids are never changed.
"""

from __future__ import annotations

import re
import unicodedata

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_INVISIBLE = "\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
_PATTERN = re.compile(f"[{re.escape(_BIDI + _INVISIBLE)}\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape(m: re.Match) -> str:
    return f"\\u{ord(m.group()):04x}"


def visible(text) -> str:
    """``text`` with bidirectional controls, zero-width and other control characters (tab and
    newline excepted) written as ``\\uXXXX``; any other format character (Unicode category Cf)
    too."""
    s = _PATTERN.sub(_escape, str(text))
    if any(unicodedata.category(ch) == "Cf" for ch in s):
        s = "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch) == "Cf" else ch for ch in s)
    return s


def visible_frame(df, columns=("user_id", "video_id")):
    """A copy of ``df`` whose id columns (text only) are passed through :func:`visible`, for
    ``st.dataframe``; returns ``df`` itself when nothing needs escaping."""
    cols = [c for c in columns if c in getattr(df, "columns", ())]
    if not cols:
        return df
    out = None
    for c in cols:
        s = df[c]
        if s.dtype.kind in "biuf":
            continue
        shown = s.map(visible, na_action="ignore")
        if not shown.equals(s):
            out = df.copy() if out is None else out
            out[c] = shown
    return df if out is None else out
