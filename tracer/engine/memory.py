"""The trace's large arrays, in memory the kernel will not stall on.

NumPy advises the kernel to back every array of 4 MiB or more with transparent huge pages (MADV_HUGEPAGE). Where
the kernel then compacts memory on first touch to find a free huge page (defrag 'madvise', the default of many
distributions), filling a fresh trace stalls in system time: recording 2,000 online steps of a 64-32-10 net took
1.6 s against 0.46 s in ordinary pages (NumPy issue 31590). The recorder's arrays and the tables' key columns are
made here instead, in anonymous memory advised MADV_NOHUGEPAGE; small arrays, and systems without that advice,
take np.empty. Every such array is written whole soon after it is made, so its pages are mapped in when it is
made (MAP_POPULATE): one call instead of a page fault per 4 KiB, which made recording that run 17% quicker
(0.43 s to 0.35 s). The memory is returned to the system when the last array over it is freed.
"""
from __future__ import annotations

import mmap

import numpy as np

LARGE = 4 << 20  # bytes: NumPy's own threshold for its huge-page advice
NO_HUGE_PAGES = getattr(mmap, "MADV_NOHUGEPAGE", None)
POPULATE = getattr(mmap, "MAP_POPULATE", 0)  # Linux


def empty(shape, dtype=np.float64) -> np.ndarray:
    """np.empty(shape, dtype), in ordinary pages, mapped in at once, when it is large."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    if NO_HUGE_PAGES is None or count * dtype.itemsize < LARGE:
        return np.empty(shape, dtype)
    try:
        memory = mmap.mmap(-1, count * dtype.itemsize, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | POPULATE)
    except OSError as e:  # ENOMEM, as np.empty's MemoryError (the command line's exit status 3)
        raise MemoryError(f"cannot allocate {count * dtype.itemsize:,} bytes") from e
    memory.madvise(NO_HUGE_PAGES)
    return np.frombuffer(memory, dtype, count).reshape(shape)


def full(shape, value, dtype=np.float64) -> np.ndarray:
    """np.full(shape, value, dtype), in ordinary pages when it is large."""
    out = empty(shape, dtype)
    out[...] = value
    return out


def repeat(values, times: int) -> np.ndarray:
    """np.repeat(values, times) of a 1-D array, each value `times` times in a row."""
    values = np.asarray(values)
    out = empty((len(values), times), values.dtype)
    out[...] = values[:, None]
    return out.reshape(-1)


def tile(values, times: int) -> np.ndarray:
    """np.tile(values, times) of a 1-D array: the whole array `times` times over."""
    values = np.asarray(values)
    out = empty((times, len(values)), values.dtype)
    out[...] = values[None, :]
    return out.reshape(-1)
