"""Faults a compiled program records while it runs (`check.index`, see
lamina/dialects/check.py), turned into the error torch raises.

A program with fault sites takes one more buffer after its own: two int64 per site,
zero before the call; a kernel that meets an index out of range sets the site's flag
and its index. After the call `raise_recorded` reads it. The buffer is fresh per
call, so programs running at once in several threads never see each other's faults.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lamina.dialects.check import message
from lamina.dialects.hl.indexing import IndexOutOfRangeError
from lamina.errors import with_location


def new_buffer(sites: Sequence[str]) -> np.ndarray:
    return np.zeros(2 * len(sites), np.int64)


def raise_recorded(sites: Sequence[str], fault: np.ndarray, program: str) -> None:
    """Raise IndexOutOfRangeError for the first site that recorded a fault."""
    flags = fault[0::2]
    if not flags.any():
        return
    k = int(np.flatnonzero(flags)[0])
    raise IndexOutOfRangeError(with_location(
        f"{program}: {message(sites[k], int(fault[2 * k + 1]))}"))
