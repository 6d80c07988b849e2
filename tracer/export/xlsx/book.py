"""The workbook of a trace: what every sheet shares (the trace's values by plan key, the plan of each step size,
the named input cells, formats, labels) and `write_workbook`, which writes the sheets in order."""
from __future__ import annotations

import numpy as np

from ...errors import TracerError
from ...io.atomic import atomic_path
from ...io.xlsxwriting import new_workbook
from ...model.notation import profile
from ...model.plan import Plan
from ...steps import select_steps
from . import iterations, overview, tables, worked
from . import sheets
from ..numbers import decimals_for
from ...options import DIGITS, MAX_ROWS, check_output_options
from .sheets import Formats



def write_workbook(trace, path, formulas: bool = False, steps: str | None = None, notation: str | None = None,
                   max_rows: int = MAX_ROWS, digits: int = DIGITS, paper: str = "a4") -> None:
    """Write the workbook of a trace to `path` (atomically).

    formulas: live Excel formulas (with the engine's values cached) instead of numbers.
    steps: which steps the worked-example sheet shows ('1-3,last'; default: the spec's `steps`, else all).
    max_rows: rows per long sheet (iterations, trace tables); the rest is left out with a note.
    digits: significant digits shown (each column gets one fixed number format); paper: a4 or letter.
    """
    book = Book(trace, formulas, steps, notation, max_rows, digits, paper)  # checks every option first
    with atomic_path(path) as tmp:
        wb = new_workbook(tmp, {"title": trace.spec.title or trace.spec.name,
                                "comments": "written by backprop-tracer"}, nan_inf_to_errors=True)
        book.write(wb)
        wb.close()


def check_workbook_size(spec) -> None:
    """Refuse, before training, a network too wide for Excel's 16,384 columns: the iterations sheet has a column
    per weight for the weight, its gradient, its change and its new value (Book.check_width counts exactly)."""
    least = max(iterations.FIRST + 4 * spec.n_weights, 1 + spec.batch_size)
    if least > sheets.EXCEL_COLS:
        raise TracerError("--xlsx", f"the network needs at least {least:,} columns, more than Excel's "
                                    f"{sheets.EXCEL_COLS:,}; write the trace as CSV (--trace DIR) instead")


class Book:
    """The shared state of one workbook; the sheet modules write with it."""

    def __init__(self, trace, formulas, steps, notation, max_rows, digits, paper):
        self.trace, self.spec = trace, trace.spec
        check_output_options(max_rows, digits, paper)
        self.formulas, self.digits, self.paper = formulas, digits, paper
        self.max_rows = min(max_rows, sheets.EXCEL_ROWS - 3)  # header, blank row, note
        self.names = profile(notation, self.spec)
        self.rec = trace.values  # the recorded values by step and plan key
        self.plans = {int(m): self.rec.plan_of(int(m)) for m in set(self.rec.sizes.tolist())}
        recorded = self.rec.steps()
        chosen = select_steps(steps if steps is not None else self.spec.steps, max(recorded, default=0))
        self.steps = [s for s in chosen if s in self.rec.index]
        self.columns = iterations.columns(self)
        self.check_width()
        self.shown_rows = iterations.rows_shown(self)
        self.sheet_steps = iterations.steps_on_sheet(self)
        self.tests = iterations.test_patterns(self)
        self.helper_col = iterations.helper_column(self)
        self.turned = iterations.turned_layout(self)
        worked.check_height(self)

    @property
    def plan(self) -> Plan:
        """The plan of a full step (the shape of the iterations sheet's columns)."""
        return self.plans[max(self.plans)] if self.plans else Plan(self.spec, self.spec.batch_size)

    def check_width(self) -> None:
        """Refuse, before writing anything, a network or batch wider than Excel's 16,384 columns."""
        width = iterations.width(self)
        if width > sheets.EXCEL_COLS or 1 + self.spec.batch_size > sheets.EXCEL_COLS:
            raise TracerError("--xlsx", f"the network needs {max(width, 1 + self.spec.batch_size):,} columns, more "
                                        f"than Excel's {sheets.EXCEL_COLS:,}; write the trace as CSV (--trace DIR) instead")

    def write(self, wb) -> None:
        self.wb, self.fmt = wb, Formats(wb)
        self.overview = wb.add_worksheet("overview", overview.SHEET)
        self.worked = wb.add_worksheet("worked example", worked.SHEET)
        self.iterations = wb.add_worksheet("iterations", iterations.sheet_class(self))
        inputs = overview.write_inputs(self)  # the named input cells every other sheet refers to
        iterations.write(self, inputs)
        worked.write(self, inputs)
        overview.write_losses(self, inputs)  # over the iterations sheet's loss cells
        tables.write_all(self)

    def decimals(self, values) -> int:
        """The fixed decimals of a column (or row) of values: `digits` significant digits of the largest."""
        return decimals_for(values, self.digits)

    # -- cells ---------------------------------------------------------------------------------------
    def cell(self, ws, row: int, col: int, formula: str, value, fmt=None) -> None:
        """A computed cell: the formula with its cached value, or the value alone."""
        value = bool(value) if isinstance(value, (bool, np.bool_)) else float(value)
        if self.formulas:
            ws.write_formula(row, col, "=" + formula, fmt, value)
        elif isinstance(value, bool):
            ws.write_boolean(row, col, value, fmt)
        else:
            ws.write_number(row, col, value, fmt)

    def literal(self, ws, row: int, col: int, value, style: str = "input", decimals: int | None = None) -> None:
        """An input cell (input, target, initial weight, learning rate): always a number, styled as input."""
        ws.write_number(row, col, float(value), self.fmt.get(style, decimals))

    def label(self, kind: str, layer: str = "", unit: str = "", source: str = "", m: int = 1) -> str:
        """A quantity's label in the chosen notation (`z_g`, `error term f`, `w_xg1 new`); a batch gradient's
        is the book's (1/m) sum_d (Frey eq. 3)."""
        if kind == "x":
            return self.names.label("x", source=source)
        if kind == "y":
            return self.names.label("target", layer, unit)
        if kind == "G":
            grad = self.names.label("grad", layer, unit, source)
            return f"(1/{m}) Σ_d {grad}" if self.spec.training.reduction == "mean" else f"Σ_d {grad}"
        return self.names.label(kind, layer or None, unit or None, source or None)
