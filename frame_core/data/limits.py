"""The input limits: every bound an imported log is held to, in one place (README "Input limits").

The limits are checked on a file's first bytes and while it streams (docs/design.md §1),
before pandas or pyarrow sees it, so a hostile or careless file is refused in bounded memory
and time. Each refusal is one line naming the limit and the option that raises it; the
command line's options and the Data page's "Import limits" fields share these names.

Sizes are stated in MiB (1 MiB = 1,048,576 bytes) everywhere: on the command line
(``--max-mb`` takes MiB), in messages and in the app (Streamlit's upload limit,
``server.maxUploadSize``, is in MiB too).
"""

from __future__ import annotations

import dataclasses

from frame_core.common.errors import InputError

MIB = 1024**2


@dataclasses.dataclass(frozen=True)
class InputLimits:
    """Bounds on one imported log file.

    - ``max_bytes``: the file's size, after decompression for gzip and in memory (uncompressed
      column data) for Parquet;
    - ``max_ratio``: decompressed / compressed size (gzip, and Parquet's column compression),
      once more than ``ratio_floor_bytes`` have come out, so small files are never refused;
    - ``max_columns``: columns in the header (leaf columns for Parquet);
    - ``max_name_chars``: characters in one column name;
    - ``max_line_bytes``: bytes in one line of a text table (the header included).
    """

    max_bytes: int = 2048 * MIB
    max_ratio: float = 100.0
    max_columns: int = 1000
    max_name_chars: int = 256
    max_line_bytes: int = 1 * MIB
    ratio_floor_bytes: int = 16 * MIB

    def __post_init__(self):
        for name in ("max_bytes", "max_columns", "max_name_chars", "max_line_bytes", "ratio_floor_bytes"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"{OPTIONS.get(name, name)} must be a whole number ≥ 1, got {v!r}")
        if not (isinstance(self.max_ratio, (int, float)) and self.max_ratio >= 1):
            raise InputError(f"{OPTIONS['max_ratio']} must be a number ≥ 1, got {self.max_ratio!r}")

    @classmethod
    def from_options(cls, *, max_mb=None, max_ratio=None, max_columns=None, max_name_chars=None,
                     max_line_bytes=None, defaults: InputLimits | None = None) -> InputLimits:
        """Limits from command-line / form values (None keeps the default of ``defaults``, the
        log's limits unless given); ``max_mb`` in MiB."""
        d = defaults or cls()
        if max_mb is not None and not (isinstance(max_mb, (int, float)) and max_mb > 0):
            raise InputError(f"--max-mb must be a positive number of MiB, got {max_mb!r}")
        return cls(
            max_bytes=d.max_bytes if max_mb is None else max(1, int(max_mb * MIB)),
            max_ratio=d.max_ratio if max_ratio is None else float(max_ratio),
            max_columns=d.max_columns if max_columns is None else int(max_columns),
            max_name_chars=d.max_name_chars if max_name_chars is None else int(max_name_chars),
            max_line_bytes=d.max_line_bytes if max_line_bytes is None else int(max_line_bytes),
        )


DEFAULT_LIMITS = InputLimits()

FEATURE_MAX_COLUMNS = 4098
"""Default column limit of a clip features file (``train --features``): ``video_id``, ``clip``
and up to 4,096 feature columns (an ONNX image model's pooled output is often 2,048 wide),
where a log needs far fewer. Every other limit is the log's; ``--max-columns`` overrides it."""

FEATURE_LIMITS = InputLimits(max_columns=FEATURE_MAX_COLUMNS)
"""The limits a features file is held to when none are given."""

OPTIONS = {
    "max_bytes": "--max-mb",
    "max_ratio": "--max-ratio",
    "max_columns": "--max-columns",
    "max_name_chars": "--max-name-chars",
    "max_line_bytes": "--max-line-bytes",
}
"""The command-line option (and Data page field) that raises each limit."""

TABLE = [
    ("max_bytes", "--max-mb", "2,048 MiB", "size after decompression (gzip) or in memory (Parquet)"),
    ("max_ratio", "--max-ratio", "100", "decompressed / compressed size, past the first 16 MiB"),
    ("max_columns", "--max-columns", "1,000", "columns in the header (Parquet: leaf columns)"),
    ("max_name_chars", "--max-name-chars", "256", "characters in a column name"),
    ("max_line_bytes", "--max-line-bytes", "1,048,576", "bytes in one line, the header included"),
]
"""(field, option, default, meaning): the README's table of limits (a test checks it against
the defaults)."""


def mib(n_bytes: float) -> str:
    """A size in MiB as the messages state it: ``2,048 MiB``; small sizes keep a decimal."""
    v = n_bytes / MIB
    return f"{v:,.0f} MiB" if v >= 10 or v == int(v) else f"{v:,.1f} MiB"


def over_limit(name: str, what: str, limit: str, option_key: str) -> InputError:
    """The one-line refusal: ``<name>: <what>, over the <limit> limit; raise it with <option>
    if the file is genuine``."""
    return InputError(f"{name}: {what}, over the {limit} limit; if the file is genuine, raise the limit with "
                      f"{OPTIONS[option_key]}")
