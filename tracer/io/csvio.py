"""Trace files: the four tables as CSV at full precision, read back bit for bit.

Floats are written with Python's shortest round-trip repr (0.1, not 0.10000000000000001), which
is exact and about twice as fast as DataFrame.to_csv; NaN is an empty field.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import write_text
from ..errors import TracerError
from ..engine.trace import COLUMNS, INT_COLUMNS, TEXT_COLUMNS, Trace

PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3


def write_trace_csv(trace: Trace, directory) -> list[Path]:
    """Write nodes.csv, weights.csv, updates.csv and losses.csv into `directory`; return their paths."""
    directory = Path(directory)
    paths = []
    for name, df in trace.tables.items():
        path = directory / f"{name}.csv"
        write_text(path, table_to_csv(df))
        paths.append(path)
    return paths


def table_to_csv(df: pd.DataFrame) -> str:
    """One table as CSV text: header, then one line per row; floats exact, text quoted where needed."""
    columns = [_column_text(df[c]) for c in df.columns]
    header = ",".join(_quote(str(c)) for c in df.columns)
    return "\n".join([header, *map(",".join, zip(*columns))]) + "\n"


def _column_text(series: pd.Series) -> list[str]:
    """The cells of one column as CSV fields."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        fields = np.array([_quote(str(c)) for c in series.cat.categories], dtype=object)
        return fields[series.cat.codes.to_numpy()].tolist()
    values = series.to_numpy()
    if values.dtype.kind == "f":
        text = list(map(repr, values.tolist()))
        if np.isnan(values).any():
            text = ["" if t == "nan" else t for t in text]
        return text
    if values.dtype.kind in "iub":
        return list(map(str, values.tolist()))
    quoted = {v: _quote(str(v)) for v in pd.unique(values)}
    return [quoted[v] for v in values.tolist()]


def _quote(text: str) -> str:
    """A CSV field, quoted only when it must be (comma, quote, newline, or leading/trailing space)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([text])
    return buf.getvalue()


def read_trace_csv(directory) -> Trace:
    """Read the four CSVs written by `write_trace_csv` back into a Trace (no spec attached)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TracerError(str(directory), "not a trace directory (expected nodes.csv, weights.csv, updates.csv, losses.csv)")
    return Trace(**{name: read_table_csv(directory / f"{name}.csv", name) for name in COLUMNS})


def read_table_csv(path: Path, name: str, strict: bool = True) -> pd.DataFrame:
    """One trace table from CSV, with the contract's dtypes: ints, text, exact floats.

    strict=False accepts a table with only some of the contract's columns (other code's traces).
    """
    if not path.is_file():
        raise TracerError(str(path), f"missing; a trace directory holds {', '.join(f'{n}.csv' for n in COLUMNS)}")
    cols = COLUMNS[name]
    if not strict:
        with open(path, encoding="utf-8") as f:
            header = next(csv.reader(f), [])
        cols = [c for c in cols if c in header]
    floats = [c for c in cols if c not in INT_COLUMNS and c not in TEXT_COLUMNS]
    dtype = {c: "int64" for c in cols if c in INT_COLUMNS} | {c: str for c in cols if c in TEXT_COLUMNS}
    dtype |= {c: "float64" for c in floats}
    extra = {} if PANDAS_3 else {"float_precision": "round_trip"}
    try:
        df = pd.read_csv(path, dtype=dtype, keep_default_na=False, na_values={c: ["", "nan", "NaN"] for c in floats},
                         **extra)
    except (ValueError, pd.errors.ParserError) as e:
        raise TracerError(str(path), f"not a trace table ({str(e).splitlines()[0]})") from None
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise TracerError(str(path), f"not a trace table: missing column(s) {', '.join(missing)}")
    for c in TEXT_COLUMNS:
        if c in df.columns:  # as the engine builds them: categorical, categories in order of appearance
            df[c] = pd.Categorical(df[c], categories=pd.unique(df[c]))
    return df[cols]
