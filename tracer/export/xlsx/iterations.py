"""The iterations sheet: one row per sample processed, in the manner of Ekman's companion spreadsheet.

Columns follow the computation: the sample's inputs and targets (references to the overview's named data
cells), the weights before the step, then the plan's quantities in plan order (forward layer by layer,
the loss, the backward pass from the output down, the gradients), and on the step's last row its batch
gradient, delta w and new weights; the next step's weights are this step's new weights. For 0/1 targets the
'pattern d right' columns test every training pattern with the row's weights. A helper column (outside the
print area) keeps a running sum of the loss, from which the overview's mean loss per epoch is computed.

A short run's sheet is turned a quarter (a row per quantity, a column per sample processed) when that prints
on one page at 8 pt or more: Ekman's single step is one column down a page, not a sliver of one row on each
of four pages. Rows and columns are named here as in the usual layout; `at` swaps them on a turned sheet.
"""
from __future__ import annotations

import numpy as np
from xlsxwriter.utility import xl_rowcol_to_cell

from ...engine.stepview import STEP_KINDS
from ...model.plan import key
from . import sheets
from .sheets import PlainFormulaSheet, StreamedSheet, page_setup

FIRST = 3  # step, epoch, sample
MAX_TEST_PATTERNS = 32  # 'pattern d right' columns (each a nested formula) only for small data sets
SATURATED = 1e-3  # |da/dz| below this is flagged (Maren's vanishing gradient)
MAX_TURNED = 40  # samples processed: more never fit one page turned


def columns(book) -> dict:
    """Column of each quantity (kind, layer, unit, source) after step, epoch and sample."""
    spec, plan = book.spec, book.plan
    keys = [("x", "", "", s) for s in spec.inputs] + [("y", spec.output.name, u, "") for u in spec.output.units]
    keys += [("w", l.name, u, s) for l in spec.layers for u in l.rows for s in l.sources]
    keys += [op.key[:1] + op.key[2:] for op in plan.ops if op.sample == 1]
    keys += [op.key[:1] + op.key[2:] for op in plan.ops if op.sample == 0]
    return {k: FIRST + i for i, k in enumerate(keys)}


def test_patterns(book) -> list[int]:
    """Patterns tested per row when the targets are 0/1 and the outputs elementwise."""
    y = book.spec.y
    if book.spec.output.activation.vector or not np.isin(y, (0.0, 1.0)).all() or len(y) > MAX_TEST_PATTERNS:
        return []
    return list(range(len(y)))


def helper_column(book) -> int:
    """The column of the running loss sum, after the keys and the test columns."""
    tests = test_patterns(book)
    return FIRST + len(book.columns) + len(tests) + bool(tests)


def width(book) -> int:
    """Columns of the sheet: keys, test columns and the helper column."""
    return helper_column(book) + 1


def steps_on_sheet(book) -> set[int]:
    """The steps whose rows the sheet shows (the others' weights are literal where they are needed)."""
    return {int(s) for s in book.rec.row_step[:book.shown_rows]}


def heading(book) -> list[str]:
    """The labels of the sheet's quantities: step, epoch, sample, the columns' keys, the pattern tests and the
    helper."""
    tests = test_patterns(book)
    head = ["step", "epoch", "sample"] + [book.label(*k) for k in book.columns]
    return head + [f"pattern {d + 1} right" for d in tests] + (["all right"] if tests else []) + ["running loss sum"]


def turned_layout(book) -> tuple[list[int], str] | None:
    """A short run's sheet turned a quarter (a row per quantity, a column per sample processed): its column
    widths and the orientation in which it prints on one page at PRINT_SCALE (8 pt type or more); None when it
    does not fit, and the sheet keeps a row per sample, printed in column groups by layer."""
    if book.shown_rows > MAX_TURNED:
        return None
    head = heading(book)
    values = [column_values(book, k, book.shown_rows) for k in book.columns]
    data = max([9] + [number_width(v, book.decimals(v)) + 1 for v in values])
    widths = [min(40, max(map(len, head)) + 2)] + [data] * book.shown_rows
    orientation = sheets.one_page_orientation(widths, len(head) + 3, book.paper)  # a blank row and two notes
    return (widths, orientation) if orientation else None


def at(book, row: int, col: int) -> tuple[int, int]:
    """The cell of a sample's row and a quantity's column: the other way round on a turned sheet."""
    return (col, row) if book.turned else (row, col)


def cell_name(book, row: int, col: int) -> str:
    """The A1 name of the cell of a sample's row and a quantity's column ('B2'), either way the sheet is laid."""
    return xl_rowcol_to_cell(*at(book, row, col))


def address(book, row: int, col: int) -> str:
    """A cell of this sheet as another sheet refers to it ('iterations!B2')."""
    return f"iterations!{cell_name(book, row, col)}"


def sheet_class(book) -> type:
    """Streamed row by row (flat memory for millions of cells), or, turned, written column by column in memory
    (a short run's few hundred cells)."""
    return PlainFormulaSheet if book.turned else StreamedSheet


def rows_shown(book) -> int:
    """Samples processed shown: up to --max-rows, cut after the last step that fits whole."""
    total = len(book.rec.loss)
    if total <= book.max_rows:
        return total
    ends = [int(e) for e in book.rec.first_row if 0 < e <= book.max_rows]
    return max(ends) if ends else book.max_rows


def write(book, inputs) -> None:
    """The sheet, its formulas over the overview's named `inputs` (overview.InputCells)."""
    ws, F = book.iterations, book.fmt
    cols, tests = book.columns, book.tests
    shown = book.shown_rows
    head = heading(book)
    for c, h in enumerate(head):
        ws.write_string(*at(book, 0, c), h, F["head"])
    values = {k: column_values(book, k, shown) for k in cols}
    decimals = {k: book.decimals(v) for k, v in values.items()}
    formats = {k: F.get("value", decimals[k]) for k in cols}
    if book.turned:
        widths, orientation = book.turned
        ws.freeze_panes(FIRST, 1)
    else:
        widths = [7] * FIRST + [max(9, min(16, len(h) + 1), min(40, number_width(values[k], decimals[k]) + 1))
                                for k, h in zip(cols, head[FIRST:])]  # longer headers wrap; numbers fit
        widths += [11] * (book.helper_col + 1 - len(widths))
        ws.set_row(0, 15 * max(-(-len(h) // (w - 1)) for h, w in zip(head, widths)))  # room for wrapped headers
        ws.freeze_panes(1, FIRST)
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    literal = False
    right = {step: patterns_right(book, step) for step in sorted(book.sheet_steps)} if tests else {}
    for r in range(shown):
        literal |= write_row(book, r, inputs, formats, right)
    notes = []
    total = book.rec.samples_processed()
    if shown < total:
        notes.append(f"{total - shown} more samples processed are not shown (max_rows = {book.max_rows}); "
                     "the trace files (--trace DIR) have every value")
    if literal:
        notes.append("grey weights: the step before is not on this sheet, so they are the run's values and do "
                     "not follow edits")
    end = len(head) if book.turned else shown + 1  # the first row after the values
    for i, note in enumerate(notes):
        ws.write_string(end + 1 + i, 0, note, F["note"])
    ranges = {kind: [at(book, 1, c) + at(book, shown, c) for k, c in cols.items() if k[0] == kind]
              for kind in ("da_dz", "delta_w")}
    flag(book, ws, ranges["da_dz"], ranges["delta_w"])
    if book.turned:  # one page, the helper row printed too (the notes come after it)
        page_setup(ws, book.spec.name, book.paper, sum(widths), end + 1 + len(notes), last_col=shown,
                   last_row=end + len(notes), one_page=True, orientation=orientation)
    else:
        page_setup(ws, book.spec.name, book.paper, sum(widths[:book.helper_col]), shown + 1, repeat_rows=(0, 0),
                   repeat_columns=(0, FIRST - 1), last_col=book.helper_col - 1, last_row=shown + 1 + len(notes),
                   column_breaks=page_breaks(group_starts(book), widths[:book.helper_col], book.paper))


def group_starts(book) -> list[int]:
    """The first column of each group printed together: the data, the weights before the step, then the plan's
    quantities by phase and layer (forward of layer 1, of layer 2, the loss, backward, ...), then the checks."""
    group_of = {op.key[:1] + op.key[2:]: (op.phase, op.layer) for plan in book.plans.values() for op in plan.ops}
    starts, last = [], None
    for k, c in book.columns.items():
        group = ("data",) if k[0] in ("x", "y") else ("weights",) if k[0] == "w" else group_of[k]
        if group != last:
            starts.append(c)
            last = group
    return starts + [FIRST + len(book.columns)]


def page_breaks(starts: list[int], widths: list[int], paper: str) -> list[int]:
    """Columns that start a printed page: as many whole groups per page as fit beside the repeated label
    columns; a group wider than a page is cut where the page is full."""
    points = [sheets.column_points(w) for w in widths]
    room = sheets.group_page_points(paper) - sum(points[:FIRST])
    breaks, used = [], 0.0
    for start, end in zip(starts, starts[1:] + [len(widths)]):
        if used and used + sum(points[start:end]) > room:
            breaks.append(start)
            used = 0.0
        for c in range(start, end):
            if used and used + points[c] > room:
                breaks.append(c)
                used = 0.0
            used += points[c]
    return breaks


def column_values(book, k: tuple, shown: int) -> np.ndarray:
    """The engine's values of a column over the shown rows (for its number format)."""
    rec, values = book.rec, []
    for r in range(min(shown, 200)):
        step = int(rec.row_step[r])
        b = 0 if k[0] in STEP_KINDS else r - rec.rows(step).start + 1  # the sample's place in its step
        values.append(rec.value(step, key(k[0], b, *k[1:])))
    return np.array(values, float)


def number_width(values: np.ndarray, decimals: int) -> int:
    """Characters the widest of these values takes with `decimals` decimals (sign and point included)."""
    finite = np.abs(values[np.isfinite(values)])
    whole = len(f"{finite.max():.0f}") if len(finite) else 1
    return 1 + whole + (1 + decimals if decimals else 0)


def write_row(book, r: int, inputs, formats: dict, right: dict) -> bool:
    """One sample processed; the step's quantities on its last row (in the columns' `formats`; `right`: each
    step's patterns_right). True if its weights are literal."""
    ws, rec, cols = book.iterations, book.rec, book.columns
    step = int(rec.row_step[r])
    rows = rec.rows(step)
    first, m = rows.start, len(rows)
    b = r - first + 1
    row, first_row, last_row = r + 1, first + 1, first + m
    plan = book.plans[m]
    ws.write_number(*at(book, row, 0), step)
    ws.write_number(*at(book, row, 1), int(rec.row_epoch[r]))
    ws.write_number(*at(book, row, 2), int(rec.sample[r]) + 1)

    def ref(k: tuple) -> str:
        kind, kb = k[0], k[1]
        if kind == "delta_w_prev":
            before = step - 1
            if before in book.sheet_steps:
                return cell_name(book, rec.rows(before).stop, cols[("delta_w",) + k[2:]])  # its last row
            return repr(float(rec.value(step, k)))
        on = row if kind == "w" else first_row + kb - 1 if kb else last_row
        return cell_name(book, on, cols[(kind,) + k[2:]])

    d = int(rec.sample[r]) + 1
    for k in [k for k in cols if k[0] in ("x", "y")]:
        source = inputs.data_cells[(k[0], k[3] if k[0] == "x" else k[2], d)]
        book.cell(ws, *at(book, row, cols[k]), source, rec.value(step, key(k[0], b, *k[1:])), formats[k])
    literal = False
    for k in [k for k in cols if k[0] == "w"]:
        value = rec.value(step, key("w", 0, *k[1:]))
        cell = at(book, row, cols[k])
        if b > 1:
            book.cell(ws, *cell, cell_name(book, first_row, cols[k]), value, formats[k])
        elif step == 1:
            book.cell(ws, *cell, inputs.initial_names[k[1:]], value, formats[k])
        elif step - 1 in book.sheet_steps:
            book.cell(ws, *cell, cell_name(book, first_row - 1, cols[("w_new",) + k[1:]]), value, formats[k])
        else:
            literal = True
            book.literal(ws, *cell, value, "literal", None)
    complete = b == m
    for op in plan.ops:
        if op.sample == b or (op.sample == 0 and complete):
            k = op.key[:1] + op.key[2:]
            book.cell(ws, *at(book, row, cols[k]), op.rule.formula(*map(ref, op.operands)), rec.value(step, op.key),
                      formats[k])
    checks = test_cells(book, row, ref, inputs.data_cells, right.get(step))
    for c, (formula, value) in enumerate(checks, start=FIRST + len(cols)):
        book.cell(ws, *at(book, row, c), formula, value)
    loss = cell_name(book, row, cols[("loss", "", "", "")])
    running = loss if r == 0 else f"{cell_name(book, row - 1, book.helper_col)}+{loss}"
    book.cell(ws, *at(book, row, book.helper_col), running, rec.loss[:r + 1].sum(), formats[("loss", "", "", "")])
    return literal


def epoch_loss_formula(book, epoch: int) -> str | None:
    """Mean loss of an epoch from the running sum (no range over computed cells), or None when the epoch's
    rows are not all on the iterations sheet (or not all recorded: a workbook-only run records the rows the
    sheet shows, which may end inside an epoch)."""
    rec, history = book.rec, book.rec.history
    rows = np.flatnonzero(rec.row_epoch == epoch)
    processed = np.count_nonzero(history.epoch == epoch) if history is not None else len(rows)
    if not len(rows) or rows[-1] >= book.shown_rows or len(rows) != processed:
        return None
    end = address(book, int(rows[-1]) + 1, book.helper_col)
    start = f"-{address(book, int(rows[0]), book.helper_col)}" if rows[0] else ""
    return f"({end}{start})/{len(rows)}"


def test_cells(book, row: int, ref, data_cells: dict, right) -> list:
    """(formula, value): does the network with this row's weights get pattern d right (|y - yhat| < 0.5)?
    `right`: which patterns it gets right (patterns_right), None when no pattern is tested."""
    if right is None:
        return []
    tests, out = book.tests, book.spec.output
    cells = []
    for d in tests:
        conds = [f"ABS({data_cells[('y', u, d + 1)]}-({nested_a(book, u, d, ref, data_cells)}))<0.5"
                 for u in out.units]
        cells.append((f"AND({','.join(conds)})", right[d]))
    c0 = FIRST + len(book.columns)
    listed = ",".join(cell_name(book, row, c0 + i) for i in range(len(tests)))
    cells.append((f"AND({listed})", right.all()))
    return cells


def patterns_right(book, step: int) -> np.ndarray:
    """Which training patterns the network gets right with the weights before `step`: the plan's forward
    ops evaluated on every pattern at once."""
    spec, plan = book.spec, book.plans[min(book.plans)]
    values = {key("x", 1, source=s): spec.x[:, i] for i, s in enumerate(spec.inputs)}
    values.update({key("w", 0, l.name, u, s): book.rec.value(step, key("w", 0, l.name, u, s))
                   for l in spec.layers for u in l.rows for s in l.sources})
    for op in (op for op in plan.ops if op.phase == "forward" and op.sample == 1):
        values[op.key] = op.value(values.__getitem__)
    yhat = np.stack([values[key("a", 1, spec.output.name, u)] for u in spec.output.units], axis=-1)
    return (np.abs(spec.y - yhat) < 0.5).all(axis=1)


def nested_a(book, unit: str, d: int, ref, data_cells: dict) -> str:
    """Activation of an output unit for pattern d as one nested formula: the plan's forward formulas over this
    row's weight cells and the pattern's named input cells."""
    plan, text = book.plans[min(book.plans)], {}

    def operand(k: tuple) -> str:
        if k[0] == "w":
            return ref(k)
        return data_cells[("x", k[4], d + 1)] if k[0] == "x" else f"({text[k]})"

    for op in (op for op in plan.ops if op.phase == "forward" and op.sample == 1):
        text[op.key] = op.rule.formula(*map(operand, op.operands))
    return text[key("a", 1, book.spec.output.name, unit)]


def flag(book, ws, da_ranges, dw_ranges) -> None:
    """Conditional formats over cell ranges (first row, first column, last row, last column): saturated
    derivatives, and delta w green (+) or red (-)."""
    F = book.fmt
    for r0, c0, r1, c1 in da_ranges:
        cell = xl_rowcol_to_cell(r0, c0, row_abs=False, col_abs=False)
        ws.conditional_format(r0, c0, r1, c1, {"type": "formula", "criteria": f"=ABS({cell})<{SATURATED}",
                                               "format": F["saturated"]})
    for r0, c0, r1, c1 in dw_ranges:
        ws.conditional_format(r0, c0, r1, c1, {"type": "cell", "criteria": ">", "value": 0, "format": F["good"]})
        ws.conditional_format(r0, c0, r1, c1, {"type": "cell", "criteria": "<", "value": 0, "format": F["bad"]})
