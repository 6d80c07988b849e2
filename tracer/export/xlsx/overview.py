"""The overview sheet: the spec's settings, and every literal input once as a named cell (learning rate, weight
decay, momentum, each initial weight, each input and target of each sample) that every other sheet refers
to; then the mean loss per epoch as formulas over the iterations sheet, and its chart."""
from __future__ import annotations

import math
from dataclasses import dataclass

from xlsxwriter.utility import xl_rowcol_to_cell

from . import iterations
from ..numbers import column_decimals
from .sheets import PlainFormulaSheet, defined_name, page_setup

SHEET = PlainFormulaSheet
MAX_DATA_NAMES = 20_000  # inputs and targets named one by one up to this many cells; beyond, by address
LOSS_COL = 8  # the mean-loss table (I:J), a helper for the chart outside the print area
TEXT_COLS = 6  # A:F hold the sheet's text


@dataclass(frozen=True)
class InputCells:
    """The named input cells every other sheet's formulas refer to: each initial weight's defined name by
    (layer, unit, source), each input's and target's cell by (kind, name, sample), and the overview's rows (the
    loss chart goes below them)."""

    initial_names: dict
    data_cells: dict
    rows: int


def write_inputs(book) -> InputCells:
    """Settings, network, named constants, initial weights and data: the inputs of every formula."""
    ws, spec, F = book.overview, book.spec, book.fmt
    widths = [24, 16, 12, 22, 8, 10]
    ws.write_string(0, 0, spec.title or spec.name, F["title"])
    ws.write_string(1, 0, spec.source or "", F["note"])
    settings = [("name", spec.name), ("loss", f"{spec.loss.name}: {spec.loss.formula}"),
                ("training", f"{spec.training.mode}, {spec.training.epochs} epoch(s), batch size {spec.batch_size}, "
                             f"gradient = {spec.training.reduction} over the batch, "
                             f"{spec.training.update_order} update"),
                ("notation", book.names.profile.title), ("steps", f"{book.trace.total_steps or len(book.steps)}")]
    r = 3
    for key, text in settings:
        ws.write_string(r, 0, key, F["label"])
        ws.write_string(r, 1, text)
        r += 1
    for name, value in (("learning_rate", spec.learning_rate), ("weight_decay", spec.weight_decay),
                        ("momentum", spec.momentum)):
        ws.write_string(r, 0, name, F["label"])
        book.literal(ws, r, 1, value)
        book.wb.define_name(name, f"=overview!{xl_rowcol_to_cell(r, 1, True, True)}")
        r += 1
    r += 1
    ws.write_string(r, 0, "Network", F["h"])
    r += 1
    for c, h in enumerate(["layer", "units", "activation", "derivative", "bias", "frozen"]):
        ws.write_string(r, c, h, F["head"])
    for layer in spec.layers:
        r += 1
        row = [layer.name, layer.described_units, layer.activation.describe(), layer.activation.derivative,
               "threshold (input −1)" if layer.threshold else "yes" if layer.bias else "no",
               f"{int(layer.frozen.sum())} of {layer.frozen.size}"]
        for c, text in enumerate(row):
            ws.write_string(r, c, text)
            widths[c] = max(widths[c], min(60, len(text) + 2))
    used: set = set()  # defined names taken
    r, initial_names = write_weights(book, r + 2, widths, used)
    r, data_cells = write_data(book, r + 2, widths, used)
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    return InputCells(initial_names, data_cells, r + 1)


def write_weights(book, r: int, widths: list, used: set) -> tuple[int, dict]:
    """Every initial weight as a named input cell (`w_xg1`, `v_12`: the notation's label): the last row and the
    names by (layer, unit, source)."""
    ws, spec, F = book.overview, book.spec, book.fmt
    ws.write_string(r, 0, "Initial weights", F["h"])
    r += 1
    for c, h in enumerate(["weight", "value", "layer", "unit", "source"]):
        ws.write_string(r, c, h, F["head"])
    initial_names = {}
    decimals = book.decimals([v for l in spec.layers for v in l.weights.ravel()])  # one format for the column
    for l in spec.layers:
        for j, u in enumerate(l.rows):
            for i, s in enumerate(l.sources):
                r += 1
                label = book.label("w", l.name, u, s)
                ws.write_string(r, 0, label, F["label"])
                widths[0] = max(widths[0], min(40, len(label) + 3))
                book.literal(ws, r, 1, l.weights[j, i], decimals=decimals)
                for c, text in enumerate([l.name, u, s], start=2):
                    ws.write_string(r, c, text)
                name = defined_name(label, used)
                book.wb.define_name(name, f"=overview!{xl_rowcol_to_cell(r, 1, True, True)}")
                initial_names[(l.name, u, s)] = name
    return r, initial_names


def write_data(book, r: int, widths: list, used: set) -> tuple[int, dict]:
    """The data set, each input and target a named input cell (`x1_3`: input x1 of sample 3; `y_f_3`): the last
    row and the cells by (kind, name, sample)."""
    ws, spec, F = book.overview, book.spec, book.fmt
    ws.write_string(r, 0, "Data", F["h"])
    r += 1
    out = spec.output
    heads = ["sample", *spec.inputs, *[f"target {u}" for u in out.units]]
    for c, h in enumerate(heads):
        ws.write_string(r, c, h, F["head"])
        if c < len(widths):
            widths[c] = max(widths[c], min(30, len(h) + 2))
    named = len(spec.x) * len(heads) <= MAX_DATA_NAMES
    data_cells = {}
    columns = [*spec.x.T, *spec.y.T]
    decimals = [column_decimals(col, book.digits) for col in columns]  # one per column
    for d, (x, y) in enumerate(zip(spec.x, spec.y), start=1):
        r += 1
        ws.write_number(r, 0, d)
        keys = [("x", s) for s in spec.inputs] + [("y", u) for u in out.units]
        for c, ((kind, what), v) in enumerate(zip(keys, [*x, *y]), start=1):
            book.literal(ws, r, c, v, decimals=decimals[c - 1])
            address = f"overview!{xl_rowcol_to_cell(r, c, True, True)}"
            if named:
                name = defined_name(f"{what}_{d}" if kind == "x" else f"y_{what}_{d}", used)
                book.wb.define_name(name, f"={address}")
                address = name
            data_cells[(kind, what, d)] = address
    return r, data_cells


ONE_PAGE_ROWS = 80  # an overview this short prints on one page (a big network's weights list does not)


def write_losses(book, inputs: InputCells) -> None:
    """Mean loss per epoch (I:J, formulas over the iterations sheet where its rows are shown) and a chart below
    the inputs."""
    ws, F = book.overview, book.fmt
    per_epoch = book.rec.epoch_losses()
    ws.write_string(0, LOSS_COL, "epoch", F["head"])
    ws.write_string(0, LOSS_COL + 1, "mean loss", F["head"])
    ws.set_column(LOSS_COL, LOSS_COL + 1, 12)
    decimals = book.decimals(per_epoch["loss"])
    literal = False
    for i, (e, loss) in enumerate(per_epoch.itertuples(index=False), start=1):
        ws.write_number(i, LOSS_COL, int(e))
        formula = iterations.epoch_loss_formula(book, int(e))
        if formula is None:
            literal = True
            book.literal(ws, i, LOSS_COL + 1, loss, "literal", decimals)
        else:
            book.cell(ws, i, LOSS_COL + 1, formula, loss, F.get("value", decimals))
    n = len(per_epoch)
    after = write_errors_after_epochs(book, per_epoch["epoch"], decimals)
    if literal or after:
        what = "epochs not on the iterations sheet (--max-rows)" if literal else "the error after each epoch"
        ws.write_string(n + 2, LOSS_COL, f"grey: {what}; the run's values, they do not follow edits", F["note"])
    if n:
        insert_chart(book, n, inputs.rows, after)
    rows = inputs.rows + (18 if n else 0)
    page_setup(ws, book.spec.name, book.paper, sum([24, 16, 12, 22, 8, 10]), rows, repeat_rows=None,
               last_col=TEXT_COLS - 1, last_row=rows, one_page=rows <= ONE_PAGE_ROWS)


def write_errors_after_epochs(book, epochs, decimals: int) -> bool:
    """The error after each epoch (K, beside the mean loss): every sample's loss with the weights the epoch ended
    with, the run's values (a forward pass over the data set per epoch is not on any sheet); False if none."""
    after = book.rec.epoch_errors().set_index("epoch")["loss"]
    if not len(after):
        return False
    ws = book.overview
    ws.write_string(0, LOSS_COL + 2, "after epoch", book.fmt["head"])
    ws.set_column(LOSS_COL + 2, LOSS_COL + 2, 12)
    for i, e in enumerate(epochs, start=1):
        if int(e) in after.index:
            book.literal(ws, i, LOSS_COL + 2, after[int(e)], "literal", decimals)
    return True


def insert_chart(book, n: int, row: int, after: bool) -> None:
    """The mean loss per epoch on a value axis with titled axes; one epoch is one marked point on its own
    category (a value axis would invent an epoch 0 or 2 around it)."""
    if n == 1:
        chart = book.wb.add_chart({"type": "line"})
    else:
        chart = book.wb.add_chart({"type": "scatter", "subtype": "straight_with_markers" if n <= 50 else "straight"})
    for col, name, colour in ((LOSS_COL + 1, "during the epoch", "#1F4E79"), (LOSS_COL + 2, "after the epoch", "#C55A11")):
        if col == LOSS_COL + 2 and not after:
            break
        chart.add_series({"name": name, "categories": ["overview", 1, LOSS_COL, n, LOSS_COL],
                          "values": ["overview", 1, col, n, col], "line": {"color": colour},
                          "marker": {"type": "circle", "size": 6} if n <= 50 else {"type": "none"}})
    chart.set_title({"name": f"{book.names.label('loss')} per epoch", "name_font": {"size": 12}})
    x_axis = {"name": "epoch"}
    if n > 1:
        x_axis.update({"min": 1, "max": n, "major_unit": nice_step(n), "num_format": "0"})
    chart.set_x_axis(x_axis)
    chart.set_y_axis({"name": f"mean {book.names.label('loss')} per sample"})
    chart.set_legend({"position": "bottom"} if after else {"none": True})
    book.overview.insert_chart(row + 1, 0, chart, {"x_scale": 1.5, "y_scale": 1.1})


def nice_step(n: int) -> int:
    """A tick step of 1, 2 or 5 times a power of ten giving at most about ten ticks."""
    raw = max(1.0, n / 10)
    power = 10 ** math.floor(math.log10(raw))
    return int(next(k * power for k in (1, 2, 5, 10) if k * power >= raw))
