"""Trace files: the four tables as CSV or Parquet, exact, streamed, written as a whole folder.

CSV floats are the shortest text that reads back as the same double (0.1, not 0.10000000000000001), NaN
is an empty field, the text keys are written as their names; Parquet keeps the types (int64 keys, the text
keys as dictionaries, float64 values). Both are written a chunk of rows at a time by C writers (polars'
CSV writer, pyarrow's Parquet writer; chosen by measurement, README: Performance), so peak memory stays near
the DataFrames plus one chunk. `trace.json` says which steps the folder holds, of how many, in which format.
The folder is written beside its place and swapped in whole (tracer.io.atomic).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from ..engine.trace import COLUMNS, INT_COLUMNS, TEXT_COLUMNS, Trace
from ..errors import TracerError
from ..steps import describe_steps
from .atomic import atomic_directory

FORMATS = ("csv", "parquet")
MANIFEST = "trace.json"
OWNED = tuple(f"{n}.{ext}" for n in COLUMNS for ext in FORMATS) + (MANIFEST,)
CHUNK = 1_000_000  # rows converted and written at a time
PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3


def write_trace(trace: Trace, directory, format: str = "csv") -> list[Path]:
    """Write nodes, weights, updates and losses (.csv or .parquet) and trace.json into `directory`, whole."""
    if format not in FORMATS:
        raise TracerError("--format", f"unknown format {format!r}; use {' or '.join(FORMATS)}")
    directory = Path(directory)
    with atomic_directory(directory, OWNED) as tmp:
        for name, df in trace.tables.items():
            write_table(df, tmp / f"{name}.{format}", format)
        (tmp / MANIFEST).write_text(json.dumps(manifest(trace, format), indent=1) + "\n", encoding="utf-8")
    return [directory / f"{name}.{format}" for name in COLUMNS] + [directory / MANIFEST]


def manifest(trace: Trace, format: str) -> dict:
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


def read_trace(directory) -> Trace:
    """A trace folder (CSV or Parquet) back into a Trace with the engine's types (no spec attached)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TracerError(str(directory), "not a trace directory (expected nodes, weights, updates and losses as "
                                          ".csv or .parquet)")
    tables = {name: read_table(table_path(directory, name), name) for name in COLUMNS}
    info = read_manifest(directory)
    return Trace(**tables, total_steps=info.get("total_steps"), stopped=info.get("stopped"))


def read_manifest(directory: Path) -> dict:
    """trace.json of a folder, or {} when there is none (other code's tables, older folders)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        raise TracerError(str(path), "not a trace manifest; remove it or write the trace again") from None
    return info if isinstance(info, dict) else {}


def table_files(directory: Path) -> dict[str, Path]:
    """The trace tables a folder holds, by name (in the contract's order): name.parquet, else name.csv. A table's
    name that is not a regular file (a folder named nodes.csv) is refused, never passed over as missing."""
    out = {}
    for name in COLUMNS:
        for path in (directory / f"{name}.{ext}" for ext in ("parquet", "csv")):
            if (path.exists() or path.is_symlink()) and not path.is_file():
                raise TracerError(str(path), "not a regular file; a trace table is a CSV or Parquet file")
            if path.is_file():
                out.setdefault(name, path)
    return out


def table_path(directory: Path, name: str) -> Path:
    """The table's file in a folder: name.parquet or name.csv."""
    path = table_files(Path(directory)).get(name)
    if path is not None:
        return path
    raise TracerError(str(directory / f"{name}.csv"), f"missing; a trace directory holds "
                                                      f"{', '.join(f'{n}.csv' for n in COLUMNS)} (or .parquet)")


def read_table(path: Path, name: str, strict: bool = True) -> pd.DataFrame:
    """One trace table from CSV or Parquet, with the contract's types: ints, text keys, exact floats.

    strict=False accepts a table with only some of the contract's columns (other code's traces).
    """
    path = Path(path)
    if not path.is_file():
        raise TracerError(str(path), f"missing; a trace directory holds {', '.join(f'{n}.csv' for n in COLUMNS)}")
    cols = COLUMNS[name]
    df = _read_parquet(path, cols, strict) if path.suffix == ".parquet" else _read_csv(path, cols, strict)
    missing = [c for c in (cols if strict else []) if c not in df.columns]
    if missing:
        raise TracerError(str(path), f"not a trace table: missing column(s) {', '.join(missing)}")
    for c in TEXT_COLUMNS:
        if c in df.columns:  # as the engine builds them: categorical, categories in order of appearance
            df[c] = pd.Categorical(df[c].astype(str), categories=pd.unique(df[c].astype(str)))
    return df[[c for c in cols if c in df.columns]]


def _read_csv(path: Path, cols: list, strict: bool) -> pd.DataFrame:
    if not strict:
        with open(path, encoding="utf-8", errors="replace") as f:
            try:
                header = next(csv.reader(f), [])
            except csv.Error as e:  # a header over csv's 128 kB field limit
                raise TracerError(str(path), f"not a trace table ({e})") from None
        cols = [c for c in cols if c in header]
    floats = [c for c in cols if c not in INT_COLUMNS and c not in TEXT_COLUMNS]
    dtype = {c: "int64" for c in cols if c in INT_COLUMNS} | {c: str for c in cols if c in TEXT_COLUMNS}
    dtype |= {c: "float64" for c in floats}
    extra = {} if PANDAS_3 else {"float_precision": "round_trip"}
    try:
        return pd.read_csv(path, dtype=dtype, usecols=lambda c: c in cols, keep_default_na=False,
                           na_values={c: ["", "nan", "NaN"] for c in floats}, **extra)
    except (ValueError, OverflowError, pd.errors.ParserError, UnicodeDecodeError) as e:  # a 20-digit step overflows
        raise TracerError(str(path), f"not a trace table ({type(e).__name__})") from None


def _read_parquet(path: Path, cols: list, strict: bool) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        present = pq.read_schema(path).names
        return pq.read_table(path, columns=[c for c in cols if c in present]).to_pandas()
    except (OSError, ValueError) as e:
        raise TracerError(str(path), f"not a Parquet trace table ({type(e).__name__})") from None
