"""Two Parquet trace folders tracer wrote, paired straight from their columns when their rows line up.

That is what a regression test compares (the same spec run by two versions of some code), and pairing them
needs no merge: each file is read with pyarrow (one file, no dataset layer), text keys become codes through
their dictionaries, and the key columns are checked equal row for row. No pandas is loaded, so `tracer diff`
of big traces runs near the speed of reading them. Anything else (CSV, other code's tables, rows in another
order or missing, a partial recording, a column of another type) gives None, and tracer.compare.tables pairs
it by merging on the keys; every error is left to that path too, so both say the same.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..engine.tables import COLUMNS, KEYS, TEXT_COLUMNS
from ..io.tracefolder import held_steps, read_manifest, table_files
from .judge import Aligned, Paired


def aligned_folders(a, b, names: list[str]) -> Aligned | None:
    """The tables `names` of folders A and B paired row for row, or None when they are not two whole Parquet
    trace folders of tracer's whose key columns are equal row for row."""
    with ThreadPoolExecutor(2) as pool:  # pyarrow decodes without the GIL: both folders are read at once
        sides = list(pool.map(_columns, (a, b)))
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


def _columns(source) -> dict | None:
    """Every column of a whole Parquet trace folder tracer wrote, as numpy arrays (text keys as indices and
    their texts; ints int64, values float64, no nulls in keys), or None when the folder is anything else."""
    if not isinstance(source, (str, os.PathLike)) or not Path(source).is_dir():
        return None
    folder = Path(source)
    files, info = table_files(folder), read_manifest(folder)
    if not info or set(files) != set(COLUMNS) or any(p.suffix != ".parquet" for p in files.values()):
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = {}
    for name, path in files.items():
        try:
            with pq.ParquetFile(path, memory_map=True) as file:
                table = file.read()
        except (OSError, ValueError):
            return None
        columns = {}
        for c in table.column_names:
            column = table[c]
            if c in KEYS[name] and column.null_count:
                return None
            if c in TEXT_COLUMNS and pa.types.is_dictionary(column.type) and pa.types.is_string(column.type.value_type):
                columns[c] = _dictionary(column)
            elif c in ("epoch", "step", "sample") and pa.types.is_int64(column.type):
                columns[c] = _array(column.chunks, np.int64)
            elif c in COLUMNS[name] and c not in KEYS[name] and pa.types.is_float64(column.type):
                columns[c] = _array(column.chunks, np.float64)
            else:
                return None
        if any(k not in columns for k in KEYS[name]):
            return None
        tables[name] = columns
    steps = [_distinct(t["step"]) for t in tables.values()]
    found = steps[0] if all(np.array_equal(steps[0], s) for s in steps) else np.unique(np.concatenate(steps))
    return tables if held_steps(folder, info, list(tables), found.tolist()) is None else None


def _array(chunks: list, dtype) -> np.ndarray:
    """Arrow arrays of fixed-width numbers as one numpy array, read from their buffers (pyarrow's to_numpy
    would load pandas); nulls (how pyarrow stores a DataFrame's NaN) become NaN."""
    parts = [np.zeros(0, dtype)]
    for chunk in chunks:
        validity, data = chunk.buffers()[:2]
        values = np.frombuffer(data, dtype, count=len(chunk), offset=chunk.offset * np.dtype(dtype).itemsize)
        if chunk.null_count:
            bits = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
            values = np.where(bits[chunk.offset:chunk.offset + len(chunk)].astype(bool), values, np.nan)
        parts.append(values)
    return np.concatenate(parts) if len(parts) > 2 else parts[-1]


def _distinct(steps: np.ndarray) -> np.ndarray:
    """The distinct steps of a column; tracer writes rows in step order, so the runs' heads are enough."""
    if len(steps) and not (steps[1:] >= steps[:-1]).all():
        return np.unique(steps)
    return steps[np.r_[True, steps[1:] != steps[:-1]]] if len(steps) else steps


def _dictionary(column) -> tuple[np.ndarray, list[str]]:
    """A dictionary column as (indices, texts): one array of indices into one list of texts."""
    if column.num_chunks == 1:
        chunk = column.chunk(0)
        return _array([chunk.indices], f"int{chunk.indices.type.bit_width}"), chunk.dictionary.to_pylist()
    texts, parts = {}, [np.zeros(0, np.int64)]
    for chunk in column.chunks:  # a file of several row groups: each may have its own dictionary
        lookup = np.array([texts.setdefault(t, len(texts)) for t in chunk.dictionary.to_pylist()], np.int64)
        parts.append(lookup[_array([chunk.indices], f"int{chunk.indices.type.bit_width}")] if len(lookup)
                     else np.zeros(len(chunk), np.int64))
    return np.concatenate(parts), list(texts)
