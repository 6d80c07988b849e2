"""The worked-example sheet: one block per chosen step, the plan laid out as a person computes it by hand.

A block gives the weights before the update and the samples' inputs and targets (references to the
iterations sheet and the overview's named cells), then every op of the plan in plan order, one row per
quantity and one column per sample of the batch; the batch gradient, delta w and the new weights are the
step's own rows. Section headers follow the plan's phases (and, when layers are updated one at a time,
name the layer).
"""
from __future__ import annotations

import math

from xlsxwriter.utility import xl_rowcol_to_cell

from ...errors import TracerError
from ...model.plan import key
from . import iterations, sheets
from .iterations import flag
from .sheets import PlainFormulaSheet, page_setup, wrapped_text

SHEET = PlainFormulaSheet
TITLE_WIDTH = 40  # section titles widen the label column up to this (a bold letter takes about one
# character of column width); longer ones wrap onto a taller row
TITLES = {"forward": "forward pass", "loss": "loss", "backward": "backward pass", "gradients": "gradients per sample",
          "change": "weight changes (delta w)", "new": "new weights"}


def layout(book, m: int) -> list[tuple]:
    """The rows of a block after its weights and data: ('section', title, per_sample) or ('op', row key)."""
    plan, rows, seen, group = book.plans[m], [], set(), None
    sequential = book.spec.update_order.sequential
    for op in plan.ops:
        row_key = op.key[:1] + op.key[2:]
        if row_key in seen:
            continue
        seen.add(row_key)
        this = (op.phase, op.stage)
        if this != group:
            group = this
            title = TITLES.get(op.phase) or (f"batch gradient: the {book.spec.training.reduction} over the {m} "
                                             "samples (Frey eq. 3)")
            if sequential and op.phase not in ("forward", "loss"):
                title += f", layer {op.layer}"
            rows.append(("section", title, op.sample > 0 or op.phase in ("forward", "loss")))
        rows.append(("op", row_key))
    return rows


def height(book, m: int) -> int:
    """Rows of one block: title, weights, data, the plan's rows, and a blank row."""
    spec = book.spec
    params = spec.n_weights
    return 1 + 1 + params + 1 + len(spec.inputs) + len(spec.output.units) + len(layout(book, m)) + 2


def check_height(book) -> None:
    """Refuse, before writing anything, more blocks than fit on a sheet."""
    if not book.steps:
        return
    tall = height(book, max(book.plans))
    if 3 + tall * len(book.steps) > sheets.EXCEL_ROWS:
        raise TracerError("--steps", f"{len(book.steps):,} steps of {tall} rows do not fit in Excel's "
                                     f"{sheets.EXCEL_ROWS:,} rows; choose fewer, e.g. --steps 1-3,last")


def write(book, inputs) -> None:
    """The sheet: a block per chosen step, over the overview's named `inputs` (overview.InputCells)."""
    ws, F, spec = book.worked, book.fmt, book.spec
    labels = [book.label(*op.key[:1] + op.key[2:], m=op.rule.m if op.kind == "G" else 1)
              for plan in book.plans.values() for op in plan.ops]
    titles = [item[1] for m in book.plans for item in layout(book, m) if item[0] == "section"]
    width = max([24] + [min(48, len(t) + 2) for t in labels]
                + [min(TITLE_WIDTH, len(t) + 2) for t in titles])
    ws.set_column(0, 0, width)
    ws.set_column(1, spec.batch_size, 14)
    columns = width + 14 * spec.batch_size
    title_rows = wrapped_text(ws, 0, spec.batch_size, f"Worked example: {spec.title or spec.name}",
                              F["title_wrap"], columns, 14)
    shown = f"steps shown: {', '.join(map(str, book.steps)) or 'none'} of {book.trace.total_steps or len(book.steps)}"
    title_rows += wrapped_text(ws, 1, spec.batch_size, f"{shown}; yellow cells are inputs", F["note_wrap"], columns)
    row, breaks = 3, []
    given = given_formats(book)
    tall = 3 + height(book, max(book.plans, default=1)) * len(book.steps)  # about the sheet's rows
    per_page = sheets.rows_per_page([width] + [14] * spec.batch_size, tall, book.paper)
    for step in book.steps:
        if row > 3:
            breaks.append(row)  # each step on a page of its own
        above = math.ceil(title_rows) + 1 if row == 3 else 0  # the first page also holds the sheet's title
        row = write_block(book, step, row, width, given, Pages(per_page, breaks, above), inputs) + 2
    ws.set_h_pagebreaks(breaks)
    page_setup(ws, spec.name, book.paper, width + 14 * spec.batch_size, row, repeat_rows=None,
               repeat_columns=(0, 0), last_col=spec.batch_size, last_row=row)


def given_formats(book) -> dict:
    """The decimals of the weights before the update in every block, and of the inputs and targets: one number
    format each."""
    spec, rec = book.spec, book.rec
    weights = [rec.value(step, key("w", 0, l.name, u, s)) for step in book.steps
               for l in spec.layers for u in l.rows for s in l.sources]
    data = [*spec.x.ravel(), *spec.y.ravel()]
    return {"w": book.decimals(weights), "data": book.decimals(data)}


class Pages:
    """The printed pages of one step's block: where it would run over a page, a page break and its header again."""

    def __init__(self, per_page: int, breaks: list, above: int = 0):
        self.per_page, self.breaks, self.above = per_page, breaks, above
        self.top = 0
        self.header = None

    def start(self, row: int, header) -> int:
        """The block starts at `row` with header(row, continued) (which returns the rows it wrote), below
        `above` more rows' height on its first page."""
        self.top, self.header = row - self.above, header
        return row + header(row, False)

    def room(self, row: int) -> int:
        """The row to write next: `row`, or past a page break and the header when the page is full."""
        if row - self.top < self.per_page:
            return row
        self.breaks.append(row)
        self.top = row
        return row + self.header(row, True)


def write_block(book, step: int, row: int, width: int, given: dict, pages: Pages, inputs) -> int:
    """One step as a person computes it by hand (labels in a column `width` characters wide, the givens in the
    formats of `given`), its header repeated on each printed page it takes; returns the next free row."""
    ws, F, rec, spec = book.worked, book.fmt, book.rec, book.spec
    rows = rec.rows(step)
    m = len(rows)
    plan = book.plans[m]
    samples = rec.samples(step)
    literal = step != 1 and step not in book.sheet_steps
    title = f"Step {step} (epoch {rec.epoch(step)}, sample{'s' * (m > 1)} {', '.join(map(str, samples))})"
    if literal:
        title += ": weights from the run (the step is not on the iterations sheet); they do not follow edits"

    def header(at: int, continued: bool) -> int:
        if not continued:
            ws.write_string(at, 0, title, F["h"])
            return 1
        ws.write_string(at, 0, f"Step {step} (continued)", F["h"])
        ws.write_string(at + 1, 0, "", F["head"])
        for c in range(m):
            ws.write_string(at + 1, 1 + c, f"sample {samples[c]}", F["head"])
        return 2

    row = pages.start(row, header)
    place = {}  # row key -> sheet row

    def section(text: str, per_sample: bool) -> None:
        nonlocal row
        row = pages.room(row)
        ws.write_string(row, 0, text, F["head"])
        lines = math.ceil(len(text) / (width - 1))
        if lines > 1:  # a long title wraps: the row grows with it, so it never runs over the next row
            ws.set_row(row, 15 * lines)
        for c in range(m if per_sample else 1):
            ws.write_string(row, 1 + c, f"sample {samples[c]}" if per_sample else "", F["head"])
        row += 1

    section("weights before the update", False)
    for l in spec.layers:
        for u in l.rows:
            for s in l.sources:
                k = ("w", l.name, u, s)
                row = pages.room(row)
                place[k] = row
                ws.write_string(row, 0, book.label(*k), F["label"])
                value = rec.value(step, key("w", 0, l.name, u, s))
                if step == 1:
                    book.cell(ws, row, 1, inputs.initial_names[k[1:]], value, F.get("value", given["w"]))
                elif literal:
                    book.literal(ws, row, 1, value, "literal", given["w"])
                    ws.write_comment(row, 1, f"The run's value: step {step - 1} is not on the iterations sheet "
                                             "(--max-rows), so this weight does not follow edits.")
                else:
                    source = iterations.address(book, rows.start + 1, book.columns[k])
                    book.cell(ws, row, 1, source, value, F.get("value", given["w"]))
                row += 1
    section("inputs and targets", True)
    for k in [("x", "", "", s) for s in spec.inputs] + [("y", spec.output.name, u, "") for u in spec.output.units]:
        row = pages.room(row)
        place[k] = row
        ws.write_string(row, 0, book.label(*k), F["label"])
        for b, d in enumerate(samples, start=1):
            address = inputs.data_cells[(k[0], k[3] if k[0] == "x" else k[2], d)]
            book.cell(ws, row, b, address, rec.value(step, key(k[0], b, *k[1:])),
                      F.get("value", given["data"]))
        row += 1
    for item in layout(book, m):
        if item[0] == "section":
            section(item[1], item[2])
        else:
            row = pages.room(row)
            place[item[1]] = row
            m_of = m if item[1][0] == "G" else 1
            ws.write_string(row, 0, book.label(*item[1], m=m_of), F["label"])
            row += 1

    def ref(k: tuple) -> str:
        kind, kb = k[0], k[1]
        if kind == "delta_w_prev":
            if step - 1 in book.sheet_steps:  # the step before's last row on the iterations sheet
                return iterations.address(book, rec.rows(step - 1).stop, book.columns[("delta_w",) + k[2:]])
            return repr(float(rec.value(step, k)))
        return xl_rowcol_to_cell(place[(kind,) + k[2:]], kb if kb else 1)

    by_row: dict = {}
    for op in plan.ops:
        by_row.setdefault(place[op.key[:1] + op.key[2:]], []).append(op)
    for r, ops in by_row.items():
        fmt = F.get("value", book.decimals([rec.value(step, op.key) for op in ops]))
        for op in ops:
            book.cell(ws, r, max(op.sample, 1), op.rule.formula(*map(ref, op.operands)), rec.value(step, op.key), fmt)
    da_rows = [r for k, r in place.items() if k[0] == "da_dz"]
    dw_rows = [r for k, r in place.items() if k[0] == "delta_w"]
    for r in da_rows:
        flag(book, ws, [(r, c, r, c) for c in range(1, m + 1)], [])
    for r in dw_rows:
        flag(book, ws, [], [(r, 1, r, 1)])
    return row

