"""A whole Parquet trace folder tracer wrote, read as numpy arrays without pandas: for tracer diff of two such
folders (tracer.compare.folders). Each file is read with pyarrow (one file, no dataset layer, memory-mapped)
and its columns are taken from pyarrow's buffers (pyarrow's to_numpy loads pandas). Anything else (CSV, other
code's tables, a partial recording, a column of another type or with empty keys) gives None, so that the
caller reads it the general way (tracer.io.tracefiles), which says what is wrong with it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..engine.tables import COLUMNS, KEYS, TEXT_COLUMNS
from .tracefolder import held_steps, read_manifest, table_files


def read_columns(source) -> dict | None:
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
