"""Trace files read back: the four tables from CSV or Parquet, with the contract's types (tracer.io.tracewriter
writes them). A table's floats come back as the same doubles; the text keys as categoricals, as the engine
builds them.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.tables import OPTIONAL, READABLE
from ..engine.trace import COLUMNS, INT_COLUMNS, TEXT_COLUMNS, Trace
from ..errors import TracerError
from .tracefolder import read_manifest, table_path

PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3


def read_trace(directory) -> Trace:
    """A trace folder (CSV or Parquet) back into a Trace with the engine's types (no spec attached)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TracerError(str(directory), "not a trace directory (expected nodes, weights, updates and losses as "
                                          ".csv or .parquet)")
    tables = {name: read_table(table_path(directory, name), name) for name in COLUMNS}
    terms = [directory / f"contributions.{ext}" for ext in ("parquet", "csv")]
    contributions = next((read_table(p, "contributions") for p in terms if p.is_file()), None)
    info = read_manifest(directory)
    return Trace(**tables, total_steps=info.get("total_steps"), stopped=info.get("stopped"),
                 contributions=contributions)


def read_table(path: Path, name: str, strict: bool = True) -> pd.DataFrame:
    """One trace table from CSV or Parquet, with the contract's types: ints, text keys, exact floats.

    strict=False accepts a table with only some of the contract's columns (other code's traces).
    """
    path = Path(path)
    if not path.is_file():
        raise TracerError(str(path), f"missing; a trace directory holds {', '.join(f'{n}.csv' for n in COLUMNS)}")
    cols = READABLE[name]
    df = _read_parquet(path, cols, strict) if path.suffix == ".parquet" else _read_csv(path, cols, strict)
    missing = [c for c in (cols if strict else []) if c not in df.columns and c not in OPTIONAL]
    if missing:
        raise TracerError(str(path), f"not a trace table: missing column(s) {', '.join(missing)}")
    for c in TEXT_COLUMNS:
        if c in df.columns:  # as the engine builds them: categorical, categories in order of appearance
            df[c] = in_order_of_appearance(df[c])
    return df[[c for c in cols if c in df.columns]]


def in_order_of_appearance(column: pd.Series) -> pd.Categorical:
    """A text column as a categorical whose categories are its texts in order of first appearance. A Parquet
    dictionary column (no nulls) is re-coded without making a text per row."""
    if isinstance(column.dtype, pd.CategoricalDtype) and (column.cat.codes.to_numpy() >= 0).all():
        codes = column.cat.codes.to_numpy()
        first = pd.unique(codes)  # the codes in order of first appearance
        recode = np.zeros(len(column.cat.categories), dtype=np.int32)
        recode[first] = np.arange(len(first))
        categories = [str(c) for c in column.cat.categories[first]]
        return pd.Categorical.from_codes(recode[codes], categories=categories)
    values = column.astype(str)
    return pd.Categorical(values, categories=pd.unique(values))


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
        with pq.ParquetFile(path) as file:  # one file: no dataset layer, whose first use costs 0.4 s
            table = file.read(columns=[c for c in cols if c in file.schema_arrow.names])
        return table.to_pandas()
    except (OSError, ValueError) as e:
        raise TracerError(str(path), f"not a Parquet trace table ({type(e).__name__})") from None
