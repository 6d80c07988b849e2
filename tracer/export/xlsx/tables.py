"""The trace tables as sheets: header with filters, frozen header, numbers stored exactly, streamed.

Memory stays flat: rows are converted CHUNK at a time and each sheet is written to a temporary file as it
goes. Rows beyond max_rows are left out with a note below the table. The tables are the recorded run, also
in a formula workbook, and a first row says so.
"""
from __future__ import annotations

import pandas as pd

from ...engine.trace import TEXT_COLUMNS
from . import sheets
from ..numbers import decimals_for
from .sheets import StreamedSheet, page_setup, wrapped_text

CHUNK = 20_000  # rows of a trace table converted to Python values at a time
NOTE = ("the recorded run, with the spec's inputs: this table does not follow edits of the input cells "
        "(the overview, worked example and iterations sheets do when written with --formulas)")


def write_all(book) -> None:
    """nodes, weights, updates and losses, each as its own sheet, and a conv's or rnn's contributions (each term
    of each shared weight's gradient)."""
    trace, spec = book.trace, book.spec
    samples, steps = trace.values.samples_processed(), trace.total_steps or trace.step_count()
    units, params = sum(len(l.units) for l in spec.layers), spec.n_weights
    rows = {"nodes": samples * units, "weights": samples * params, "updates": steps * params, "losses": samples,
            "contributions": samples * spec.n_terms}
    for name, table in trace.tables.items():
        write_trace_table(book.wb, name, table, book.max_rows, book.fmt, note=NOTE, digits=book.digits,
                          paper=book.paper, title=spec.name, run_rows=rows[name])


def write_trace_table(wb, name: str, df: pd.DataFrame, max_rows: int, fmt, note: str = "", digits: int = 4,
                      paper: str = "a4", title: str = "", run_rows: int | None = None) -> None:
    """A trace table as a formatted sheet, streamed row by row; `note` above the header if given. run_rows:
    the rows of the whole run, when the table holds only the recorded steps."""
    ws = wb.add_worksheet(name, StreamedSheet)
    top = 1 if note else 0
    if note:
        wrapped_text(ws, 0, len(df.columns) - 1, note, fmt["note_wrap"], 8 * 3 + 12 * (len(df.columns) - 3))
    n = min(len(df), max_rows, sheets.EXCEL_ROWS - 3 - top)  # header, blank row, note
    cols = list(df.columns)
    ws.freeze_panes(top + 1, 0)
    ws.set_column(0, 2, 8)
    for c, head in enumerate(cols):
        ws.write_string(top, c, head, fmt["head"])
    ws.autofilter(top, 0, top + max(n, 1), len(cols) - 1)  # not add_table: it keeps a dict entry per cell
    formats = [None if c in TEXT_COLUMNS or df[c].dtype.kind in "iu" else
               fmt.get("value", decimals_for(df[c].iloc[:min(n, CHUNK)].to_numpy(), digits)) for c in cols]
    for i, c in enumerate(cols):
        ws.set_column(i, i, 8 if c in TEXT_COLUMNS or i < 3 else 12, formats[i])
    writers = [(i, ws.write_string if c in TEXT_COLUMNS else ws.write_number, formats[i]) for i, c in enumerate(cols)]
    for first in range(0, n, CHUNK):
        part = df.iloc[first:min(n, first + CHUNK)]
        columns = [part[c].astype(str).tolist() if c in TEXT_COLUMNS else part[c].tolist() for c in cols]
        for r, row in enumerate(zip(*columns), start=top + first + 1):
            for i, write, f in writers:
                v = row[i]
                if v == v:  # NaN (target of a hidden unit) stays an empty cell
                    write(r, i, v, f)
    last = top + n
    total = max(len(df), run_rows or 0)
    if n < total:
        last = top + n + 2
        ws.write_string(last, 0, f"{total - n} more rows are not shown (max_rows = {max_rows}); "
                                 "`tracer run --trace DIR` writes every row (CSV or Parquet)", fmt["note"])
    page_setup(ws, f"{title} {name}".strip(), paper, 8 * 3 + 12 * (len(cols) - 3), last + 1,
               repeat_rows=(top, top), last_col=len(cols) - 1, last_row=last)
