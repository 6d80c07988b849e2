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
