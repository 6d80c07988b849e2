"""pytest plugin: `trace_regression.check(trace)` compares a trace with a golden trace stored beside the test.

Golden traces are trace tables written by tracer.io.tracefiles: CSV (full precision, text, stable across runs
and platforms) or Parquet (smaller and faster for big traces: `check(..., format="parquet")`), in
`<test module>/<test name>/` next to the test file. `pytest --update-traces` writes or refreshes them, and
fails each test whose golden it created or changed, saying what changed (a refresh is never silent).
The option and the fixture are registered by tracer.pytest_plugin, which imports this module only when a
test uses the fixture.
Traces of other code work too: pass a dict of DataFrames with at least a table's key columns
(nodes: epoch, step, sample, layer, unit; weights: those and source; updates: epoch, step, layer, unit,
source; losses: epoch, step, sample) and any of its value columns.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from ..io.atomic import atomic_path
from ..io.tracefiles import read_table
from ..io.tracefolder import table_files, table_path
from ..io.tracewriter import write_table
from .diff import DEFAULT_ATOL, DEFAULT_RTOL, diff_traces
from .output import format_result
from .tables import check_tables, compared_tables
from ..errors import TracerError
from ..engine.trace import Trace


class TraceRegression:
    """The golden trace of one test: check() compares, --update-traces rewrites."""

    def __init__(self, request):
        self.request = request
        self.update = request.config.getoption("update_traces")

    def folder(self, basename: str | None = None) -> Path:
        """<test module>/<basename or test name>/ beside the test file."""
        test_file = Path(str(self.request.node.path))
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", basename or self.request.node.name).strip("_.")
        return test_file.parent / test_file.stem / name

    def check(self, trace, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL, tolerances: dict | None = None,
              basename: str | None = None, format: str = "csv") -> None:
        """Fail with the first divergence when the trace differs from the golden one.

        trace: a Trace or a dict of DataFrames (table name -> DataFrame with the table's key columns);
        tolerances: per quantity (rtol, atol), e.g. {"delta": (1e-6, 0)}; basename: the golden folder's name
        (needed when one test checks several traces); format: of golden files written by --update-traces
        (csv or parquet; existing goldens are read in whichever they are).
        """
        tables = compared_tables(trace) if isinstance(trace, Trace) else trace
        if not isinstance(tables, dict):
            raise TypeError(f"check() takes a Trace or a dict of DataFrames, not {type(trace).__name__}")
        try:
            tables = check_tables(tables, "trace")  # contract dtypes: the golden CSVs read back the same
        except TracerError as e:
            pytest.fail(f"not a trace: {e}", pytrace=False)
        folder = self.folder(basename)
        refresh = f"python3 -m pytest '{self.request.node.nodeid}' --update-traces"
        held = table_files(folder)
        if self.update:
            changed = self.changes(tables, folder, held, rtol, atol, tolerances)
            if changed:
                self.write(tables, folder, format)
                pytest.fail(f"golden trace {folder} {changed}; run again without --update-traces to compare",
                            pytrace=False)
            return
        missing = [n for n in tables if n not in held]
        if missing:
            pytest.fail(f"no golden trace {folder / missing[0]}.csv; create it with `{refresh}`", pytrace=False)
        self.compare(tables, folder, rtol, atol, tolerances, f"if the change is intended, refresh with `{refresh}`")

    def changes(self, tables: dict, folder: Path, held: dict, rtol, atol, tolerances) -> str:
        """What --update-traces would change in the golden trace: '' when it holds these tables already."""
        missing = [n for n in tables if n not in held]
        if missing:
            return f"created ({', '.join(missing)})" if len(missing) == len(tables) else f"given {', '.join(missing)}"
        try:
            golden = {n: read_table(table_path(folder, n), n, strict=False) for n in tables}
        except TracerError as e:
            return f"rewritten (the old one could not be read: {e})"
        columns = [n for n, df in tables.items() if list(golden[n].columns) != list(df.columns)]
        if columns:
            return f"rewritten: the columns of {columns[0]} changed"
        result = diff_traces(tables, golden, rtol=rtol, atol=atol, tolerances=tolerances)
        return "" if result.same else f"refreshed (A = this run, B = the old golden):\n{format_result(result)}"

    @staticmethod
    def write(tables: dict, folder: Path, format: str) -> None:
        """The tables as the golden trace, one file per table in `format`."""
        for name, df in tables.items():
            with atomic_path(folder / f"{name}.{format}") as tmp:
                write_table(df, tmp, format)
            other = folder / f"{name}.{'csv' if format == 'parquet' else 'parquet'}"
            other.unlink(missing_ok=True)  # one golden file per table

    def compare(self, tables: dict, folder: Path, rtol: float, atol: float, tolerances: dict | None, hint: str):
        """Fail with the first divergence between the tables and the golden CSVs in `folder`."""
        try:
            golden = {n: read_table(table_path(folder, n), n, strict=False) for n in tables}
            changed = [n for n, df in tables.items() if list(golden[n].columns) != list(df.columns)]
            if changed:
                pytest.fail(f"the columns of {changed[0]} differ from the golden trace {folder / changed[0]}.csv "
                            f"({', '.join(golden[changed[0]].columns)}); {hint}", pytrace=False)
            result = diff_traces(tables, golden, rtol=rtol, atol=atol, tolerances=tolerances)
        except TracerError as e:
            pytest.fail(f"cannot compare with the golden trace in {folder}: {e}", pytrace=False)
        if not result.same:
            pytest.fail(f"trace differs from the golden trace in {folder} (A = this run, B = golden)\n"
                        f"{format_result(result)}\n{hint}", pytrace=False)


def select_steps_of(trace: Trace, steps: list[int]) -> dict[str, pd.DataFrame]:
    """The rows of the given steps only: keeps golden files of long runs small."""
    return {n: df[df["step"].isin(steps)].reset_index(drop=True) for n, df in trace.tables.items()}
