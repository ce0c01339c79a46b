"""The one seed parser: what ``--seeds`` and the ``seeds`` arguments of the experiment runners
accept."""

from __future__ import annotations

import numpy as np

from frame_core.common.errors import InputError

MAX_SEEDS = 100


def parse_seeds(seeds) -> list[int]:
    """An int K (or ``"K"``) means seeds 0 .. K-1; a list (or ``"0,3,7"``) is taken as given, without
    repeats. InputError (one line) for anything else, K outside 1..MAX_SEEDS or a negative seed."""
    if isinstance(seeds, str):
        parts = [x.strip() for x in seeds.split(",") if x.strip()]
        seeds = parts[0] if len(parts) == 1 and "," not in seeds else parts
    try:
        if isinstance(seeds, (str, int, np.integer)):
            k, out = int(seeds), None
        else:
            k, out = None, [int(x) for x in seeds]
    except (TypeError, ValueError):
        raise InputError(f"seeds must be a count or a list of integers, got {seeds!r}") from None
    if out is None:
        if not 1 <= k <= MAX_SEEDS:
            raise InputError(f"the number of seeds must be 1 to {MAX_SEEDS}, got {k}")
        return list(range(k))
    if not out:
        raise InputError("give at least one seed")
    if min(out) < 0:
        raise InputError("seeds must be whole numbers ≥ 0")
    return list(dict.fromkeys(out))
