"""A workbook's cells read back with openpyxl, for tests that compare workbooks cell by cell."""
from __future__ import annotations

import functools

import openpyxl


@functools.lru_cache(maxsize=None)
def workbook_cells(path, data_only: bool = False) -> dict:
    """{(sheet, coordinate): value} of every non-empty cell (formulas as text unless `data_only`); each
    workbook is read once per test process, read-only (fast on long sheets)."""
    wb = openpyxl.load_workbook(path, data_only=data_only, read_only=True)
    found = {(ws.title, c.coordinate): c.value for ws in wb for row in ws.iter_rows() for c in row
             if c.value is not None}
    wb.close()
    return found


def iteration_rows(ws) -> list[tuple]:
    """The iterations sheet as rows of its usual layout (a header row, then a row per sample processed),
    whichever way it is written: a short run's sheet is turned, its labels down column A."""
    rows = list(ws.iter_rows(values_only=True))
    turned = len(rows) > 1 and rows[1][0] == "epoch"
    if not turned:
        return rows
    blank = next((i for i, row in enumerate(rows) if all(v is None for v in row)), len(rows))
    labelled = rows[:blank]  # the notes come after a blank row
    width = max(len(row) for row in labelled)
    return list(zip(*[tuple(row) + (None,) * (width - len(row)) for row in labelled]))
