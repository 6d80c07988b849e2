"""Excel workbooks that reproduce the worked example iteration by iteration, as values or live formulas.

Sheets: overview (settings; every literal input once, as a named cell; the loss per epoch and its chart),
worked example (one block per chosen step, in the order a person computes by hand), iterations (one row per
sample processed, the update on the step's last row, as in Ekman's companion spreadsheet), and one sheet per
trace table. Every formula is an op of the plan (tracer.model.plan) with its operands' cells, so with
`formulas=True` changing an input cell recomputes the worked example, the iterations and the loss chart.

Formulas list their cells (`AVERAGE` as `(B5+C5)/2`, `MAX(B1,B2,B3)`) and never use a range over computed
cells: LibreOffice's threaded calculation of formula groups was seen to read such a range before its cells
were computed, as 0. The writer is XlsxWriter, because it stores a formula's cached value (openpyxl cannot,
so viewers that do not recalculate would show nothing) and writes large sheets faster (docs/xlsx.md).
"""
from ...options import DIGITS, MAX_ROWS, PAPER, paper_code
from .book import check_workbook_size, write_workbook
from .sheets import PlainFormulaSheet
from .tables import write_trace_table

__all__ = ["DIGITS", "MAX_ROWS", "PAPER", "PlainFormulaSheet", "check_workbook_size",
           "paper_code", "write_trace_table", "write_workbook"]
