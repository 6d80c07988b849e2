"""Two Parquet trace folders tracer wrote, paired straight from their columns when their rows line up.

That is what a regression test compares (the same spec run by two versions of some code), and pairing them
needs no merge: the folders' columns are read as numpy arrays (tracer.io.tracecolumns), text keys become
codes through their dictionaries, and the key columns are checked equal row for row. No pandas is loaded, so
`tracer diff` of big traces runs near the speed of reading them. Anything else (CSV, other code's tables, rows
in another order or missing, a partial recording, a column of another type) gives None, and
tracer.compare.tables pairs it by merging on the keys; every error is left to that path too, so both say the
same.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..engine.tables import COLUMNS, KEYS, TEXT_COLUMNS
from ..io.tracecolumns import read_columns
from .judge import Aligned, Paired


def aligned_folders(a, b, names: list[str]) -> Aligned | None:
    """The tables `names` of folders A and B paired row for row, or None when they are not two whole Parquet
    trace folders of tracer's whose key columns are equal row for row."""
    with ThreadPoolExecutor(2) as pool:  # pyarrow decodes without the GIL: both folders are read at once
        sides = list(pool.map(read_columns, (a, b)))
    if None in sides or not all(_same_keys(sides[0][n], sides[1][n], n) for n in names):
        return None
    codes = {col: {} for col in TEXT_COLUMNS}
    for col in TEXT_COLUMNS:  # network order: first appearance in A's tables (B's keys are the same; tables.py)
        for n in names:
            if col in sides[0][n]:
                indices, texts = sides[0][n][col]
                for i in _first_seen(indices, len(texts)):
                    codes[col].setdefault(texts[i], len(codes[col]))
    pairs = []
    for n in names:
        a, b = sides[0][n], sides[1][n]
        text = [k for k in KEYS[n] if k in TEXT_COLUMNS]
        values = [c for c in COLUMNS[n] if c not in KEYS[n] and c in a and c in b]
        pairs.append(Paired(n, {k: a[k][0] if k in text else a[k] for k in KEYS[n]},
                            {q: a[q] for q in values}, {q: b[q] for q in values},
                            not_compared=[f"{n}.{c}" for c in COLUMNS[n] if c not in KEYS[n] and (c in a) != (c in b)],
                            lookup={k: np.array([codes[k].get(t, -1) for t in a[k][1]], np.int64) for k in text}))
    return Aligned(pairs, {col: list(found) for col, found in codes.items()})


def _same_keys(a: dict, b: dict, name: str) -> bool:
    """The table's key columns hold the same keys row for row in A and B (text keys as texts)."""
    for k in KEYS[name]:
        if k not in TEXT_COLUMNS:
            if not np.array_equal(a[k], b[k]):
                return False
            continue
        (ia, ta), (ib, tb) = a[k], b[k]
        if ta != tb:  # other dictionaries: B's indices renumbered as A's texts
            ib = np.array([ta.index(t) if t in ta else -1 for t in tb], np.int64)[ib] if len(tb) else ib
        if not np.array_equal(ia, ib):
            return False
    return True


def _first_seen(indices: np.ndarray, count: int) -> list[int]:
    """The dictionary entries that occur, in order of first appearance: looked for in the first rows (a trace's
    first step names every unit and source), and in one pass over all of them if some are not there."""
    first = np.full(count, len(indices))
    head = indices[:4096]
    np.minimum.at(first, head, np.arange(len(head)))
    if (first == len(indices)).any():
        np.minimum.at(first, indices, np.arange(len(indices)))
    seen = np.flatnonzero(first < len(indices))
    return seen[np.argsort(first[seen], kind="stable")].tolist()
