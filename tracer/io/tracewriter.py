"""Trace files written: the four tables as CSV or Parquet, exact, streamed, written as a whole folder.

CSV floats are the shortest text that reads back as the same double (0.1, not 0.10000000000000001), NaN
is an empty field, the text keys are written as their names; Parquet keeps the types (int64 keys, the text
keys as dictionaries, float64 values). Both are written a chunk of rows at a time by C writers (polars'
CSV writer, pyarrow's Parquet writer; chosen by measurement, README: Performance), so peak memory stays near
the DataFrames plus one chunk. `trace.json` says which steps the folder holds, of how many, in which format.
The folder is written beside its place and swapped in whole (tracer.io.atomic). Reading them back is
tracer.io.tracefiles'; this module needs only the table contract, so `Trace.write` can call it.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..engine.tables import COLUMNS
from ..errors import TracerError
from ..steps import describe_steps
from .atomic import atomic_directory

FORMATS = ("csv", "parquet")
MANIFEST = "trace.json"
OWNED = tuple(f"{n}.{ext}" for n in COLUMNS for ext in FORMATS) + (MANIFEST,)
CHUNK = 1_000_000  # rows converted and written at a time


def write_trace(trace, directory, format: str = "csv") -> list[Path]:
    """Write a Trace's nodes, weights, updates and losses (.csv or .parquet) and trace.json into `directory`,
    whole. Example: tracer.write_trace(trace, "out/mine", "parquet") (the same as trace.write(...))."""
    if format not in FORMATS:
        raise TracerError("--format", f"unknown format {format!r}; use {' or '.join(FORMATS)}")
    directory = Path(directory)
    with atomic_directory(directory, OWNED) as tmp:
        for name, df in trace.tables.items():
            write_table(df, tmp / f"{name}.{format}", format)
        (tmp / MANIFEST).write_text(json.dumps(manifest(trace, format), indent=1) + "\n", encoding="utf-8")
    return [directory / f"{name}.{format}" for name in COLUMNS] + [directory / MANIFEST]


def manifest(trace, format: str) -> dict:
    """What a trace folder holds: its format, the network's name, the steps held and of how many."""
    steps = trace.recorded_steps()
    return {"format": format, "spec": trace.spec.name if trace.spec is not None else None,
            "steps": describe_steps(steps), "steps_held": len(steps),
            "total_steps": trace.total_steps if trace.total_steps is not None else len(steps),
            "stopped": trace.stopped}


def write_table(df: pd.DataFrame, path: Path, format: str = "csv") -> None:
    """One table written a chunk of rows at a time (the file is created even for an empty table)."""
    if format == "parquet":
        _write_parquet(df, path)
        return
    import polars as pl

    with open(path, "wb") as f:
        for start in range(0, max(len(df), 1), CHUNK):
            part = pl.from_pandas(df.iloc[start:start + CHUNK], nan_to_null=True)
            part.write_csv(f, include_header=start == 0, line_terminator="\n")


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(df.iloc[:0], preserve_index=False)
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for start in range(0, len(df), CHUNK):
            writer.write_table(pa.Table.from_pandas(df.iloc[start:start + CHUNK], schema=schema, preserve_index=False))
