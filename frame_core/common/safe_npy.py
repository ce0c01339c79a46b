"""Reading ``.npy`` files of run folders without trusting their header (issue 17, item 9).

``np.load`` allocates what the header declares before it reads any data, so a tampered
``video_durations.npy`` declaring 2^40 values (a 100-byte file) asks for 8 TiB and ends in a
``MemoryError`` that reads like "the dataset is too large". :func:`load_npy` checks the header
first: no pickles (``allow_pickle=False``), and the declared shape × item size must be exactly
the bytes that follow the header; anything else is an :class:`InputError` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from frame_core.common.errors import InputError


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """The array of a ``.npy`` file whose header matches its size; InputError (one line) for a
    missing, malformed, object-dtype or size-mismatched file."""
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            data_at = fh.tell()
    except OSError as exc:
        raise InputError(f"{p.name} cannot be read ({type(exc).__name__})") from None
    except ValueError as exc:
        raise InputError(f"{p.name} is not a valid .npy file ({(str(exc).splitlines() or [''])[0][:120]})") from None
    if dtype.hasobject:
        raise InputError(f"{p.name} holds Python objects, refused unopened (a .npy here must hold numbers)")
    declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if declared != size - data_at:
        raise InputError(f"{p.name} declares {declared:,} bytes of data ({'×'.join(map(str, shape)) or 'scalar'} "
                         f"{dtype}) but holds {size - data_at:,}: the file is damaged or was tampered with")
    return np.load(p, allow_pickle=False)
