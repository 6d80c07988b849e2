"""Traces from anywhere as tables with the contract's keys and types: trace directories (CSV or Parquet), workbooks of
the tool, spec files (run first), Traces, or other code's DataFrames holding a table's key columns (`KEYS`)
and any of its value columns."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..engine.trace import COLUMNS, KEYS, Trace, typed
from ..errors import TracerError
from ..io.resources import find_example
from ..io.tracefiles import read_manifest, read_table, read_trace, table_files
from ..steps import describe_steps, select_steps
from ..io.workbooks import read_xlsx


# -- inputs ---------------------------------------------------------------------------------------------
def load_trace(source) -> Trace:
    """A Trace from a trace directory, a workbook of the tool, a spec file (or bundled example name), a Trace."""
    if isinstance(source, Trace):
        return source
    path = Path(source)
    if not path.exists() and (bundled := find_example(str(source))) is not None:
        path = bundled
    if path.is_dir():
        return read_trace(path)
    if not path.is_file():
        raise TracerError(str(path), "no such file or directory (expected a trace directory, a workbook, a spec "
                                     "file or the name of a bundled example)")
    if path.suffix.lower() == ".xlsx":
        return read_xlsx(path)
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        from ..engine.train import run
        from ..io.specfile import load_spec

        return run(load_spec(path))
    raise TracerError(str(path), "not a trace: give a trace directory, an .xlsx workbook of the tool or a spec file")


def as_tables(source) -> dict[str, pd.DataFrame]:
    """The tables of a Trace, a dict of DataFrames, a directory of trace CSVs, or anything load_trace accepts.

    A directory may hold only some of the four CSVs, each with a table's keys and some of its values
    (other code's traces); check_tables says what is missing.
    """
    if isinstance(source, dict):
        return source
    if not isinstance(source, Trace) and Path(source).is_dir():
        folder = Path(source)
        present = table_files(folder)
        if not present:
            raise TracerError(str(source), "not a trace directory: it holds none of "
                                           f"{', '.join(f'{n}.csv' for n in COLUMNS)} (or .parquet)")
        return {n: read_table(path, n, strict=False) for n, path in present.items()}
    return load_trace(source).tables


def check_tables(tables: dict, side: str) -> dict[str, pd.DataFrame]:
    """Tables of one side with known names, their key columns, contract dtypes and unique keys."""
    out = {}
    for name, df in tables.items():
        if name not in COLUMNS:
            raise TracerError(side, f"unknown table {name!r}; trace tables are {', '.join(COLUMNS)}")
        if not isinstance(df, pd.DataFrame):
            raise TracerError(f"{side} {name}", f"expected a pandas DataFrame, got {type(df).__name__}")
        missing = [k for k in KEYS[name] if k not in df.columns]
        if missing:
            raise TracerError(f"{side} {name}", f"missing key column(s) {', '.join(missing)}; a {name} table needs "
                                                f"{', '.join(KEYS[name])} and any of "
                                                f"{', '.join(c for c in COLUMNS[name] if c not in KEYS[name])}")
        out[name] = typed(df[[c for c in COLUMNS[name] if c in df.columns]], f"{side} {name}")
    return out




def resolve(source) -> tuple[dict, object, list | None]:
    """The tables of a source, the spec that made them if known (for the plan's dependency order), and the
    steps its tables hold when they hold only some of the run's (recorded with --trace-steps), else None."""
    if isinstance(source, dict):
        return source, None, None
    if not isinstance(source, Trace) and Path(source).is_dir():
        return folder_tables(Path(source))
    trace = load_trace(source).whole("diff")
    return trace.tables, trace.spec, trace.recorded_steps() if trace.partial else None


def folder_tables(folder: Path) -> tuple[dict, None, list | None]:
    """A trace folder's tables, checked so that a diff never says "same" about what it did not compare: a table
    name that is not a regular file is refused (table_files), and a folder tracer wrote (it has trace.json) must
    hold all four tables and exactly the steps its manifest names (the range read only up to the tables' last
    step)."""
    tables = as_tables(folder)
    info = read_manifest(folder)
    if not info:
        return tables, None, None  # other code's tables: compared on what they hold (docs/diff.md)
    where = str(folder / "trace.json")
    missing = [n for n in COLUMNS if n not in tables]
    if missing:
        raise TracerError(str(folder), f"holds no {', '.join(missing)} table, though its trace.json says tracer "
                                       "wrote it whole; write the trace again")
    steps, held, total = info.get("steps"), info.get("steps_held"), info.get("total_steps")
    if not isinstance(steps, str) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                             for n in (held, total)):
        raise TracerError(where, "not a trace manifest (steps, steps_held and total_steps); write the trace again")
    found = sorted({int(s) for df in tables.values() for s in pd.unique(df["step"])})
    named = select_steps(steps, max(found[-1] if found else 0, 1), option=where) if steps else []
    if found != named or held != len(found) or total < held:
        raise TracerError(where, f"says steps {steps or 'none'} ({held} of {total}), but the tables hold "
                                 f"{describe_steps(found) or 'no step'}; write the trace again")
    return tables, None, found if held < total else None
