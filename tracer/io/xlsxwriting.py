"""Workbooks written: XlsxWriter workbooks that write text as text, carry a fixed date and are saved whole.
Apart from tracer.io.workbooks (reading), so that only what writes a workbook imports XlsxWriter.
"""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import xlsxwriter

CREATED = dt.datetime(2000, 1, 1)  # a fixed document date, so the same input gives the same bytes


class SavedWorkbook(xlsxwriter.Workbook):
    """An XlsxWriter workbook zipped in memory and saved to its path whole when closed: a full disk fails in
    that one write, never inside the zip writer (whose own cleanup would print a second error at exit)."""

    def __init__(self, path, options: dict):
        self.path, self.buffer = Path(path), io.BytesIO()
        super().__init__(self.buffer, options)

    def close(self) -> None:
        super().close()
        self.path.write_bytes(self.buffer.getvalue())


def new_workbook(path, properties: dict | None = None, **options) -> xlsxwriter.Workbook:
    """An XlsxWriter workbook that writes text as text and carries a fixed date (plus `properties`)."""
    wb = SavedWorkbook(path, {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
                              **options})
    wb.set_properties({"created": CREATED, **(properties or {})})
    return wb
