"""Trace files written: the four tables as CSV or Parquet, exact, streamed, written as a whole folder.

CSV floats are the shortest text that reads back as the same double (0.1, not 0.10000000000000001), NaN
is an empty field, the text keys are written as their names; Parquet keeps the types (int64 keys, the text
keys as dictionaries, float64 values). Both are written a chunk of rows at a time by C writers (polars'
CSV writer, pyarrow's Parquet writer; chosen by measurement, README: Performance), so peak memory stays near
the DataFrames plus one chunk; `trace_stream` writes the tables as training hands them over, so memory holds
one chunk of the run, not the run (`tracer run --trace`). `trace.json` says which steps the folder holds, of how many, in which format.
The folder is written beside its place and swapped in whole (tracer.io.atomic). Reading them back is
tracer.io.tracefiles'; this module needs only the table contract, so `Trace.write` can call it.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from ..engine.tables import COLUMNS
from ..errors import TracerError
from ..steps import describe_steps
from .atomic import atomic_directory
from .tracefolder import MANIFEST

FORMATS = ("csv", "parquet")
OWNED = tuple(f"{n}.{ext}" for n in (*COLUMNS, "contributions") for ext in FORMATS) + (MANIFEST,)
CHUNK = 1_000_000  # rows converted and written at a time


def write_trace(trace, directory, format: str = "csv") -> list[Path]:
    """Write a Trace's nodes, weights, updates and losses (.csv or .parquet) and trace.json into `directory`,
    whole. Example: tracer.write_trace(trace, "out/mine", "parquet") (the same as trace.write(...))."""
    check_format(format)
    directory = Path(directory)
    trace.whole("write_trace")
    with atomic_directory(directory, OWNED) as tmp:
        for name, df in trace.tables.items():
            write_table(df, tmp / f"{name}.{format}", format)
        write_manifest(tmp, trace, format)
    return [directory / f"{name}.{format}" for name in trace.tables] + [directory / MANIFEST]


@contextmanager
def trace_stream(directory, format: str = "csv"):
    """A trace folder written as training goes: yields a TraceStream, whose `sink` the engine hands its table
    chunks to (tracer.run(..., sink=stream.sink)) and whose `finish(trace)` writes the losses table and
    trace.json; the folder is swapped in whole when the block ends (tracer.io.atomic), or left out on an error.

    >>> with trace_stream("out/big", "parquet") as stream:
    ...     stream.finish(tracer.run(spec, sink=stream.sink))
    """
    check_format(format)
    with atomic_directory(Path(directory), OWNED) as tmp:
        stream = TraceStream(tmp, format)
        try:
            yield stream
        finally:
            stream.close()


class TraceStream:
    """Appends each chunk of a table to its file in `folder` as it comes, the CSV header or Parquet schema
    taken from the first chunk; the bytes of a CSV are those write_trace writes of the whole table."""

    def __init__(self, folder: Path, format: str):
        self.folder, self.format = folder, format
        self.files: dict = {}  # table name -> open file (CSV) or ParquetWriter

    def sink(self, name: str, table: pd.DataFrame) -> None:
        """Write one chunk of table `name` (its columns may be views the engine reuses after this call)."""
        path = self.folder / f"{name}.{self.format}"
        if self.format == "parquet":
            if name not in self.files:
                self.files[name] = _parquet_writer(table, path)
            _append_parquet(self.files[name], table)
            return
        first = name not in self.files
        if first:
            self.files[name] = open(path, "wb")
        _append_csv(self.files[name], table, header=first)

    def finish(self, trace) -> None:
        """The losses table and trace.json, once training is over."""
        self.close()
        write_table(trace.losses, self.folder / f"losses.{self.format}", self.format)
        write_manifest(self.folder, trace, self.format)

    def close(self) -> None:
        for f in self.files.values():
            f.close()
        self.files = {}


def check_format(format: str) -> None:
    """A trace folder's format is one of FORMATS, else one line naming --format."""
    if format not in FORMATS:
        raise TracerError("--format", f"unknown format {format!r}; use {' or '.join(FORMATS)}")


def write_manifest(folder: Path, trace, format: str) -> None:
    """trace.json of a folder holding `trace`'s tables."""
    (folder / MANIFEST).write_text(json.dumps(manifest(trace, format), indent=1) + "\n", encoding="utf-8")


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
        with _parquet_writer(df, path) as writer:
            _append_parquet(writer, df)
        return
    with open(path, "wb") as f:
        _append_csv(f, df, header=True)


def _append_csv(f, df: pd.DataFrame, header: bool) -> None:
    import polars as pl

    for start in range(0, max(len(df), 1), CHUNK):
        part = pl.from_pandas(df.iloc[start:start + CHUNK], nan_to_null=True)
        part.write_csv(f, include_header=header and start == 0, line_terminator="\n")


def _parquet_writer(df: pd.DataFrame, path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.ParquetWriter(path, pa.Schema.from_pandas(df.iloc[:0], preserve_index=False), compression="zstd")


def _append_parquet(writer, df: pd.DataFrame) -> None:
    import pyarrow as pa

    for start in range(0, len(df), CHUNK):
        writer.write_table(pa.Table.from_pandas(df.iloc[start:start + CHUNK], schema=writer.schema,
                                                preserve_index=False))
