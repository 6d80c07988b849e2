"""Excel workbooks that reproduce the worked example iteration by iteration, as values or live formulas.

Sheets: overview (network, data, initial weights, learning rate, loss chart), worked example (one block
per chosen step, in the order a person computes by hand), iterations (one row per sample processed, the
update on the step's last row, as in Ekman's companion spreadsheet), and one sheet per trace table.

One *plan* of the computation per sample and per step (which cell is which quantity, and its formula)
is laid out twice: vertically in the worked example, horizontally in the iterations sheet. With
`formulas=True` cells hold that formula (with the engine's value cached); otherwise the engine's value.
The formula text comes from the activation and loss objects, beside their numpy code.

Formulas list their cells (`AVERAGE` as `(B5+C5)/2`, `MAX(B1,B2,B3)`) and never use a range over computed
cells: LibreOffice's threaded calculation of formula groups was seen to read such a range before its cells
were computed, as 0 (a softmax's MAX(AN2:AP2) and a batch's AVERAGE(CG2:CG3) came out wrong).

Writer: XlsxWriter, because it stores a formula's cached value (openpyxl cannot, so viewers that do not
recalculate would show nothing) and it writes large sheets faster (docs/xlsx.md has the measurement).
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from ..io.atomic import atomic_path
from ..io.workbooks import new_workbook
from ..engine.train import forward
from ..errors import TracerError
from ..model.notation import profile
from ..steps import select_steps
from ..engine.trace import COLUMNS, TEXT_COLUMNS, Trace, weight_matrices

MAX_ROWS = 2_000  # per long sheet (iterations, trace tables): hundreds of iterations stay readable and quick
EXCEL_ROWS, EXCEL_COLS = 1_048_576, 16_384  # Excel's sheet size
CHUNK = 20_000  # rows of a trace table converted to Python values at a time
MAX_TEST_PATTERNS = 32  # 'pattern d right' columns (each a nested formula) only for small data sets
SATURATED = 1e-3  # |da/dz| below this is flagged (Maren's vanishing gradient)


class ExactNumbers:
    """Numbers written with the shortest text that reads back as the same double (XlsxWriter writes 16
    significant digits, which loses the last bit of some trace values), so read_xlsx gives the trace back."""

    def _xml_number_element(self, number, attributes=()):
        attr = "".join(f' {key}="{value}"' for key, value in attributes)  # a cell reference and style number
        text = repr(float(number))
        self.fh.write(f"<c{attr}><v>{text[:-2] if text.endswith('.0') else text}</v></c>")


class PlainFormulaSheet(ExactNumbers, Worksheet):
    """A worksheet that writes formulas as given: ours use no Excel 365 'future' functions, and XlsxWriter's
    ~30 regular-expression rewrites per formula (looking for them) took most of the writing time."""

    def _prepare_formula(self, formula, expand_future_functions=False):
        return formula[1:] if formula.startswith("=") else formula


class StreamedSheet(PlainFormulaSheet):
    """A worksheet streamed row by row to a temporary file (XlsxWriter's constant_memory, for this sheet
    only), so a long sheet of millions of cells writes with flat memory; rows must come in order."""

    def _initialize(self, init_data):
        super()._initialize({**init_data, "constant_memory": True})


@dataclass
class Network:
    """Positions of units and parameters, and what feeds each parameter (None for the bias)."""

    units: list  # (layer index, layer, unit name) per global unit index
    params: list  # (layer index, unit index, source name, source key) per global parameter index

    @classmethod
    def of(cls, spec) -> "Network":
        units, params, first = [], [], 0
        for k, layer in enumerate(spec.layers):
            for j, u in enumerate(layer.units):
                units.append((k, layer, u))
            for j, u in enumerate(layer.units):
                for s in layer.sources:
                    if s == "bias":
                        key = None
                    elif k == 0:
                        key = ("x", spec.inputs.index(s))
                    else:
                        key = ("a", first - len(spec.layers[k - 1].units) + spec.layers[k - 1].units.index(s))
                    params.append((k, first + j, s, key))
            first += len(layer.units)
        return cls(units, params)

    def layer_units(self, k: int) -> list[int]:
        return [i for i, (kk, _, _) in enumerate(self.units) if kk == k]

    def unit_params(self, ui: int) -> list[int]:
        return [p for p, (_, uu, _, _) in enumerate(self.params) if uu == ui]

    def cached(self) -> "Network":
        """The same network with its lookups memoised (they are asked for every cell)."""
        self.layer_units = functools.lru_cache(maxsize=None)(self.layer_units)
        self.unit_params = functools.lru_cache(maxsize=None)(self.unit_params)
        return self


def sample_plan(spec, net: Network, ref):
    """(key, formula) for one sample, in computation order (forward, loss, backward, gradients).

    `ref(key)` is the cell of a quantity.
    """
    last = len(spec.layers) - 1
    loss = spec.loss
    outputs = net.layer_units(last)
    for k, layer in enumerate(spec.layers):
        for ui in net.layer_units(k):
            terms = [ref(("w", p)) if net.params[p][3] is None else f"{ref(('w', p))}*{ref(net.params[p][3])}"
                     for p in net.unit_params(ui)]
            yield ("z", ui), "+".join(terms)  # CS 510: z = wx + b
        zs = tuple(ref(("z", ui)) for ui in net.layer_units(k))
        for ui in net.layer_units(k):
            yield ("a", ui), layer.activation.excel(ref(("z", ui)), zs)
    pairs = [(ref(("y", n)), ref(("a", ui))) for n, ui in enumerate(outputs)]
    yield ("loss",), loss.excel(pairs)
    for k in range(last, -1, -1):
        layer, units = spec.layers[k], net.layer_units(k)
        for n, ui in enumerate(units):
            if k == last:
                yield ("dE_da", ui), loss.excel_dE_da(ref(("y", n)), ref(("a", ui)))
            else:  # Frey eq. (4): sum_k w_jk delta_k, with the weights before the update
                feeds = [p for p, (kk, _, _, key) in enumerate(net.params) if kk == k + 1 and key == ("a", ui)]
                yield ("dE_da", ui), "+".join(f"{ref(('w', p))}*{ref(('delta', net.params[p][1]))}" for p in feeds)
        for ui in units:
            yield ("da_dz", ui), layer.activation.excel_da_dz(ref(("z", ui)), ref(("a", ui)))
        a_cells, dE_cells = tuple(ref(("a", ui)) for ui in units), tuple(ref(("dE_da", ui)) for ui in units)
        y_cells = tuple(ref(("y", m)) for m in range(len(units))) if k == last else ()
        for n, ui in enumerate(units):
            fused = loss.excel_output_delta(ref(("y", n)), ref(("a", ui)), y_cells, layer.activation) \
                if k == last else None
            yield ("delta", ui), fused or layer.activation.excel_backward(
                ref(("dE_da", ui)), ref(("da_dz", ui)), ref(("a", ui)), a_cells, dE_cells)
    for p, (k, ui, s, key) in enumerate(net.params):
        yield ("grad", p), ref(("delta", ui)) if key is None else f"{ref(('delta', ui))}*{ref(key)}"  # Frey eq. (1)


def step_plan(spec, net: Network, ref, grad_refs, prev_dw):
    """(key, formula) of the update: batch gradient (Frey eq. 3), delta w and new weight per parameter."""
    frozen = np.concatenate([l.frozen.ravel() for l in spec.layers])
    for p in range(len(net.params)):
        if grad_refs is not None:
            cells = grad_refs(p)
            total = "(" + "+".join(cells) + ")"
            yield ("G", p), f"{total}/{len(cells)}" if spec.training.reduction == "mean" else total
    for p in range(len(net.params)):
        if frozen[p]:
            yield ("dw", p), "0"
            continue
        g = ref(("G", p))
        step = f"-learning_rate*({g}+weight_decay*{ref(('w', p))})" if spec.weight_decay else f"-learning_rate*{g}"
        momentum = f"momentum*{prev_dw(p)}+" if spec.momentum and prev_dw(p) else ""
        yield ("dw", p), momentum + step
    for p in range(len(net.params)):
        yield ("wn", p), f"{ref(('w', p))}+{ref(('dw', p))}"


class Values:
    """The trace as arrays indexed like the plan: row = sample processed, unit and parameter positions."""

    NODE = {"z": 0, "a": 1, "da_dz": 2, "dE_da": 3, "delta": 4}
    STEP = {"w": 0, "G": 1, "dw": 2, "wn": 3}

    def __init__(self, trace: Trace, net: Network):
        spec = trace.spec
        rows, U, P = len(trace.losses), len(net.units), len(net.params)
        self.nodes = trace.nodes[list(self.NODE)].to_numpy().reshape(rows, U, 5)
        self.grads = trace.weights["grad"].to_numpy().reshape(rows, P)
        self.updates = trace.updates[["w_old", "grad", "delta_w", "w_new"]].to_numpy().reshape(-1, P, 4)
        self.loss = trace.losses["loss"].to_numpy()
        self.sample = trace.losses["sample"].to_numpy() - 1
        self.step = trace.losses["step"].to_numpy()
        self.epoch = trace.losses["epoch"].to_numpy()
        self.x, self.y = spec.x, spec.y

    def rows_of(self, step: int) -> np.ndarray:
        """Rows (samples processed) of a step."""
        return np.arange(np.searchsorted(self.step, step), np.searchsorted(self.step, step, side="right"))

    def get(self, key, row: int):
        """The engine's value of a plan key for a row (sample processed)."""
        kind = key[0]
        if kind in self.NODE:
            return self.nodes[row, key[1], self.NODE[kind]]
        if kind in self.STEP:
            return self.updates[self.step[row] - 1, key[1], self.STEP[kind]]
        if kind == "grad":
            return self.grads[row, key[1]]
        if kind == "x":
            return self.x[self.sample[row], key[1]]
        if kind == "y":
            return self.y[self.sample[row], key[1]]
        return self.loss[row]


def write_workbook(trace: Trace, path, formulas: bool = False, steps: str | None = None, notation: str | None = None,
                   max_rows: int = MAX_ROWS) -> None:
    """Write the workbook of a trace to `path` (atomically).

    formulas: live Excel formulas (with the engine's values cached) instead of numbers.
    steps: which steps the worked-example sheet shows ('1-3,last'; default: the spec's `steps`, else all).
    max_rows: rows per long sheet (iterations, trace tables); the rest is left out with a note.
    """
    with atomic_path(path) as tmp:
        wb = new_workbook(tmp, {"title": trace.spec.title or trace.spec.name,
                                "comments": "written by backprop-tracer"}, nan_inf_to_errors=True)
        Book(wb, trace, formulas, steps, notation, max_rows).write()
        wb.close()


class Book:
    """Writes the sheets of one workbook."""

    def __init__(self, wb, trace, formulas, steps, notation, max_rows):
        self.wb, self.trace, self.spec = wb, trace, trace.spec
        if max_rows < 1:
            raise TracerError("--max-rows", f"{max_rows} rows: give at least 1 (default {MAX_ROWS})")
        self.formulas, self.max_rows = formulas, min(max_rows, EXCEL_ROWS - 3)  # header, blank row, note
        self.net = Network.of(self.spec).cached()
        self.values = Values(trace, self.net)
        self.names = profile(notation, self.spec)
        n_steps = trace.step_count()
        self.steps = select_steps(steps if steps is not None else self.spec.steps, n_steps) if n_steps else []
        self.bs = self.spec.batch_size
        f = wb.add_format
        self.fmt = {
            "title": f({"bold": True, "font_size": 14}), "h": f({"bold": True, "font_size": 12}),
            "head": f({"bold": True, "bg_color": "#DDEBF7", "border": 1}), "label": f({"indent": 1}),
            "input": f({"bg_color": "#FFF2CC", "font_color": "#1F4E79", "border": 1}), "value": f({}),
            "note": f({"italic": True, "font_color": "#7F7F7F"}),
            "good": f({"bg_color": "#C6EFCE", "font_color": "#006100"}),
            "bad": f({"bg_color": "#FFC7CE", "font_color": "#9C0006"}),
            "saturated": f({"bg_color": "#FFEB9C", "font_color": "#9C5700", "bold": True}),
        }
        self.iter_rows = {}  # first sheet row of each step on the iterations sheet
        self.iter_cols = {}  # plan key -> column on the iterations sheet
        self.check_width()

    def check_width(self) -> None:
        """Refuse, before writing anything, a network or batch wider than Excel's 16,384 columns."""
        tests = self.test_patterns()
        width = 3 + len(self.iteration_keys()) + len(tests) + bool(tests)
        if width > EXCEL_COLS or 1 + self.bs > EXCEL_COLS:
            raise TracerError("--xlsx", f"the network needs {max(width, 1 + self.bs):,} columns, more than Excel's "
                                        f"{EXCEL_COLS:,}; write the trace as CSV (--trace DIR) instead")

    def write(self) -> None:
        self.overview = self.wb.add_worksheet("overview", PlainFormulaSheet)
        self.worked = self.wb.add_worksheet("worked example", PlainFormulaSheet)
        self.iterations = self.wb.add_worksheet("iterations", StreamedSheet)  # written row by row
        self.write_overview()
        self.write_iterations()  # before the worked example, which refers to its cells
        self.write_worked()
        for name in COLUMNS:
            self.write_table(name)

    # -- cells ---------------------------------------------------------------------------------------
    def cell(self, ws, row, col, formula, value, fmt=None) -> None:
        """A computed cell: the formula with its cached value, or the value alone."""
        if isinstance(value, (bool, np.bool_)):
            value = bool(value)
        else:
            value = float(value)
        if self.formulas:
            ws.write_formula(row, col, "=" + formula, fmt, value)
        elif isinstance(value, bool):
            ws.write_boolean(row, col, value, fmt)
        else:
            ws.write_number(row, col, value, fmt)

    def literal(self, ws, row, col, value) -> None:
        """An input cell (input, target, initial weight, learning rate): always a number, styled as input."""
        ws.write_number(row, col, float(value), self.fmt["input"])

    def label(self, key) -> str:
        """Readable label of a plan key in the chosen notation (`z_g`, `error term f`, `w_xg1 new`)."""
        kind, idx = key[0], key[1] if len(key) > 1 else None
        n = self.names
        if kind in ("x",):
            return n.label("x", source=self.spec.inputs[idx])
        if kind == "y":
            k, layer, u = self.net.units[self.net.layer_units(len(self.spec.layers) - 1)[idx]]
            return n.label("target", layer.name, u)
        if kind == "loss":
            return n.label("loss")
        if kind in Values.NODE:
            k, layer, u = self.net.units[idx]
            return n.label(kind, layer.name, u)
        k, ui, s, _ = self.net.params[idx]
        layer, u = self.spec.layers[k], self.net.units[ui][2]
        kind = {"G": "grad", "dw": "delta_w", "wn": "w_new"}.get(kind, kind)
        return n.label(kind, layer.name, u, s)

    # -- overview --------------------------------------------------------------------------------------
    def write_overview(self) -> None:
        ws, spec, F = self.overview, self.spec, self.fmt
        ws.set_column(0, 0, 26)
        ws.set_column(1, 8, 14)
        ws.write_string(0, 0, spec.title or spec.name, F["title"])
        ws.write_string(1, 0, spec.source or "", F["note"])
        settings = [("name", spec.name), ("loss", f"{spec.loss.name}: {spec.loss.formula}"),
                    ("training", f"{spec.training.mode}, {spec.training.epochs} epoch(s), batch size {self.bs}, "
                                 f"gradient = {spec.training.reduction} over the batch"),
                    ("notation", self.names.profile.title), ("steps", f"{self.trace.step_count()}")]
        r = 3
        for key, text in settings:
            ws.write_string(r, 0, key, F["label"])
            ws.write_string(r, 1, text)
            r += 1
        for name, value in (("learning_rate", spec.learning_rate), ("weight_decay", spec.weight_decay),
                            ("momentum", spec.momentum)):
            ws.write_string(r, 0, name, F["label"])
            self.literal(ws, r, 1, value)
            self.wb.define_name(name, f"=overview!{xl_rowcol_to_cell(r, 1, True, True)}")
            r += 1
        r += 1
        ws.write_string(r, 0, "Network", F["h"])
        r += 1
        for c, h in enumerate(["layer", "units", "activation", "derivative", "bias", "frozen"]):
            ws.write_string(r, c, h, F["head"])
        for layer in spec.layers:
            r += 1
            row = [layer.name, ", ".join(layer.units), layer.activation.describe(), layer.activation.derivative,
                   "yes" if layer.bias else "no", f"{int(layer.frozen.sum())} of {layer.frozen.size}"]
            for c, text in enumerate(row):
                ws.write_string(r, c, text)
        r += 2
        ws.write_string(r, 0, "Initial weights", F["h"])
        r += 1
        for c, h in enumerate(["weight", "value", "layer", "unit", "source"]):
            ws.write_string(r, c, h, F["head"])
        self.initial_names = []
        used = set()
        w0 = self.values.updates[0, :, 0] if len(self.values.updates) else \
            np.concatenate([l.weights.ravel() for l in spec.layers])
        for p, (k, ui, s, _) in enumerate(self.net.params):
            r += 1
            label = self.label(("w", p))
            ws.write_string(r, 0, label, F["label"])
            self.literal(ws, r, 1, w0[p])
            for c, text in enumerate([spec.layers[k].name, self.net.units[ui][2], s], start=2):
                ws.write_string(r, c, text)
            name = defined_name(label, used)
            self.wb.define_name(name, f"=overview!{xl_rowcol_to_cell(r, 1, True, True)}")
            self.initial_names.append(name)
        r += 2
        ws.write_string(r, 0, "Data", F["h"])
        r += 1
        heads = ["sample", *spec.inputs, *[f"target {u}" for u in spec.output.units]]
        for c, h in enumerate(heads):
            ws.write_string(r, c, h, F["head"])
        for d, (x, y) in enumerate(zip(spec.x, spec.y)):
            r += 1
            ws.write_number(r, 0, d + 1)
            for c, v in enumerate([*x, *y], start=1):
                self.literal(ws, r, c, v)
        self.write_loss_chart(r + 2)

    def write_loss_chart(self, r: int) -> None:
        """Mean loss per epoch (columns K:L of the overview) and a native line chart of it."""
        ws = self.overview
        per_epoch = self.trace.epoch_losses()
        ws.write_string(0, 10, "epoch", self.fmt["head"])
        ws.write_string(0, 11, "mean loss", self.fmt["head"])
        for i, (e, loss) in enumerate(per_epoch.itertuples(index=False), start=1):
            ws.write_number(i, 10, int(e))
            ws.write_number(i, 11, float(loss))
        if not len(per_epoch):
            return
        n = len(per_epoch)
        chart = self.wb.add_chart({"type": "line"})
        chart.add_series({"name": "mean loss", "categories": ["overview", 1, 10, n, 10],
                          "values": ["overview", 1, 11, n, 11], "line": {"color": "#1F4E79"}})
        chart.set_title({"name": f"{self.names.label('loss')} per epoch"})
        chart.set_x_axis({"name": "epoch"})
        chart.set_y_axis({"name": "mean loss"})
        chart.set_legend({"none": True})
        ws.insert_chart(r, 0, chart, {"x_scale": 1.6, "y_scale": 1.2})

    # -- iterations -------------------------------------------------------------------------------------
    def iteration_keys(self) -> list:
        """Columns of the iterations sheet, as plan keys, in the order of the companion spreadsheet."""
        spec, net = self.spec, self.net
        U, P = range(len(net.units)), range(len(net.params))
        keys = [("x", i) for i in range(len(spec.inputs))] + [("y", k) for k in range(len(spec.output.units))]
        keys += [("w", p) for p in P] + [("z", u) for u in U] + [("a", u) for u in U] + [("loss",)]
        keys += [(q, u) for q in ("dE_da", "da_dz", "delta") for u in U] + [("grad", p) for p in P]
        if self.bs > 1:
            keys += [("G", p) for p in P]
        return keys + [("dw", p) for p in P] + [("wn", p) for p in P]

    def write_iterations(self) -> None:
        ws, F, V = self.iterations, self.fmt, self.values
        keys = self.iteration_keys()
        self.iter_cols = {key: c + 3 for c, key in enumerate(keys)}
        tests = self.test_patterns()
        head = ["step", "epoch", "sample"] + [self.label(k) for k in keys]
        head += [f"pattern {d + 1} right" for d in tests] + (["all right"] if tests else [])
        for c, h in enumerate(head):
            ws.write_string(0, c, h, F["head"])
        ws.freeze_panes(1, 3)
        ws.set_column(0, 2, 7)
        ws.set_column(3, len(head), 13)
        rows = min(len(V.loss), self.max_rows)
        for r in range(rows):
            self.write_iteration_row(r, r + 1, tests)
        if rows < len(V.loss):
            ws.write_string(rows + 2, 0, f"{len(V.loss) - rows} more samples processed are not shown (max_rows = "
                                         f"{self.max_rows}); the CSV trace (--trace DIR) has every value",
                            F["note"])
        self.iter_last = rows
        self.flag(ws, 1, rows, [self.iter_cols[k] for k in keys if k[0] == "da_dz"],
                  [self.iter_cols[k] for k in keys if k[0] == "dw"])

    def write_iteration_row(self, r: int, row: int, tests) -> None:
        """One sample processed: its forward and backward pass, and the update if it closes its step."""
        ws, V, net = self.iterations, self.values, self.net
        step = int(V.step[r])
        first = step not in self.iter_rows
        if first:
            self.iter_rows[step] = row
        closes = r + 1 == len(V.step) or V.step[r + 1] != step
        ws.write_number(row, 0, step)
        ws.write_number(row, 1, int(V.epoch[r]))
        ws.write_number(row, 2, int(V.sample[r]) + 1)
        col = self.iter_cols
        ref = lambda key: xl_rowcol_to_cell(row, col[key])
        for key in [k for k in col if k[0] in ("x", "y")]:
            self.literal(ws, row, col[key], V.get(key, r))
        for p in range(len(net.params)):
            if first:
                source = self.initial_names[p] if step == 1 else \
                    xl_rowcol_to_cell(self.iter_rows[step - 1] + self.step_len(step - 1) - 1, col[("wn", p)])
            else:
                source = xl_rowcol_to_cell(self.iter_rows[step], col[("w", p)])
            self.cell(ws, row, col[("w", p)], source, V.get(("w", p), r))
        for key, formula in sample_plan(self.spec, net, ref):
            self.cell(ws, row, col[key], formula, V.get(key, r), self.fmt["value"])
        if closes:
            start = self.iter_rows[step]
            grad_refs = (lambda p: [xl_rowcol_to_cell(q, col[("grad", p)]) for q in range(start, row + 1)]) \
                if self.bs > 1 else None
            step_ref = (lambda key: ref(key) if key[0] != "w" else xl_rowcol_to_cell(start, col[key])) \
                if self.bs > 1 else (lambda key: ref(("grad", key[1])) if key[0] == "G" else ref(key))
            prev = (lambda p: xl_rowcol_to_cell(start - 1, col[("dw", p)])) if step > 1 else (lambda p: "")
            for key, formula in step_plan(self.spec, net, step_ref, grad_refs, prev):
                self.cell(ws, row, col[key], formula, V.get(key, r))
        for c, (d, formula, value) in enumerate(self.test_cells(r, row, ref, tests), start=len(col) + 3):
            self.cell(ws, row, c, formula, value)

    def step_len(self, step: int) -> int:
        return len(self.values.rows_of(step))

    def test_patterns(self) -> list[int]:
        """Patterns checked per row ('test' columns) when the targets are 0/1 and outputs elementwise."""
        y = self.spec.y
        if self.spec.output.activation.vector or not np.isin(y, (0.0, 1.0)).all() or len(y) > MAX_TEST_PATTERNS:
            return []
        return list(range(len(y)))

    def test_cells(self, r: int, row: int, ref, tests):
        """(pattern, formula, value): does the network with this row's weights get pattern d right?"""
        if not tests:
            return []
        V, spec = self.values, self.spec
        right = self.patterns_right(int(V.step[r]))
        out = []
        for d in tests:
            conds = [f"ABS({float(spec.y[d, n])!r}-({self.nested_a(len(spec.layers) - 1, ui, d, ref)}))<0.5"
                     for n, ui in enumerate(self.net.layer_units(len(spec.layers) - 1))]
            out.append((d, f"AND({','.join(conds)})", right[d]))
        c0 = len(self.iter_cols) + 3
        listed = ",".join(xl_rowcol_to_cell(row, c0 + i) for i in range(len(tests)))
        out.append((None, f"AND({listed})", right.all()))
        return out

    def patterns_right(self, step: int) -> np.ndarray:
        """Which training patterns the network gets right with the weights before `step` (engine forward)."""
        if getattr(self, "_right_step", None) != step:
            weights = weight_matrices(self.spec, self.values.updates[step - 1, :, 0])
            yhat = forward(self.spec, weights, self.spec.x)[-1][1]
            self._right_step, self._right = step, (np.abs(self.spec.y - yhat) < 0.5).all(axis=1)
        return self._right

    def nested_a(self, k: int, ui: int, d: int, ref) -> str:
        """Activation of unit ui for pattern d as one nested formula over this row's weight cells."""
        layer, terms = self.spec.layers[k], []
        for p in self.net.unit_params(ui):
            key = self.net.params[p][3]
            if key is None:
                terms.append(ref(("w", p)))
            elif key[0] == "x":
                terms.append(f"{ref(('w', p))}*{float(self.spec.x[d, key[1]])!r}")
            else:
                terms.append(f"{ref(('w', p))}*({self.nested_a(k - 1, key[1], d, ref)})")
        return layer.activation.excel("(" + "+".join(terms) + ")")

    # -- worked example ---------------------------------------------------------------------------------
    def write_worked(self) -> None:
        ws, F = self.worked, self.fmt
        ws.set_column(0, 0, 24)
        ws.set_column(1, 1 + self.bs, 14)
        ws.write_string(0, 0, f"Worked example: {self.spec.title or self.spec.name}", F["title"])
        ws.write_string(1, 0, f"steps shown: {', '.join(map(str, self.steps)) or 'none'} of "
                              f"{self.trace.step_count()}; yellow cells are inputs", F["note"])
        row = 3
        for step in self.steps:
            start, row = row, self.write_block(step, row) + 2
            if start + (row - start) * len(self.steps) > EXCEL_ROWS:  # every block is as tall as the first
                raise TracerError("--steps", f"{len(self.steps):,} steps of {row - start} rows do not fit in "
                                             f"Excel's {EXCEL_ROWS:,} rows; choose fewer, e.g. --steps 1-3,last")

    def write_block(self, step: int, row: int) -> int:
        """One step as a person computes it by hand; returns the next free row."""
        ws, F, V, net, spec = self.worked, self.fmt, self.values, self.net, self.spec
        rows = V.rows_of(step)
        samples = ", ".join(str(int(V.sample[r]) + 1) for r in rows)
        ws.write_string(row, 0, f"Step {step} (epoch {int(V.epoch[rows[0]])}, sample{'s' * (len(rows) > 1)} "
                                f"{samples})", F["h"])
        row += 1
        place = {}  # plan key (with sample position) -> cell

        def section(title):
            nonlocal row
            ws.write_string(row, 0, title, F["head"])
            for c in range(len(rows)):
                ws.write_string(row, 1 + c, f"sample {int(V.sample[rows[c]]) + 1}", F["head"])
            row += 1

        section("weights before the update")
        in_iterations = step in self.iter_rows
        for p in range(len(net.params)):
            ws.write_string(row, 0, self.label(("w", p)), F["label"])
            place[("w", p)] = xl_rowcol_to_cell(row, 1)
            value = V.get(("w", p), rows[0])
            if step == 1:
                self.cell(ws, row, 1, self.initial_names[p], value)
            elif in_iterations:
                self.cell(ws, row, 1, f"iterations!{xl_rowcol_to_cell(self.iter_rows[step], self.iter_cols[('w', p)])}",
                          value)
            else:
                self.literal(ws, row, 1, value)  # beyond max_rows: the chain starts again from the trace
            row += 1
        plan_rows = {}
        section("inputs and targets")
        for key in [("x", i) for i in range(len(spec.inputs))] + [("y", k) for k in range(len(spec.output.units))]:
            ws.write_string(row, 0, self.label(key), F["label"])
            for c, r in enumerate(rows):
                self.literal(ws, row, 1 + c, V.get(key, r))
            plan_rows[key] = row
            row += 1
        # lay the sample plan out vertically, one column per sample of the batch
        order = [key for key, _ in sample_plan(spec, net, lambda k: "A1")]
        titles = {"z": "forward pass", "loss": "loss", "dE_da": "backward pass", "grad": "gradients per sample"}
        seen = set()
        for key in order:
            if key[0] in titles and key[0] not in seen and not (key[0] == "dE_da" and seen & {"dE_da"}):
                section(titles[key[0]])
                seen.add(key[0])
            plan_rows[key] = row
            ws.write_string(row, 0, self.label(key), F["label"])
            row += 1
        for c, r in enumerate(rows):
            ref = lambda key, c=c: place[key] if key[0] == "w" else xl_rowcol_to_cell(plan_rows[key], 1 + c)
            for key, formula in sample_plan(spec, net, ref):
                self.cell(ws, plan_rows[key], 1 + c, formula, V.get(key, r))
        section("update")
        last = rows[-1]
        update_rows = {}
        for kind in (["G"] if len(rows) > 1 else []) + ["dw", "wn"]:
            for p in range(len(net.params)):
                update_rows[(kind, p)] = row
                ws.write_string(row, 0, self.label((kind, p)), F["label"])
                row += 1
        grad_refs = (lambda p: [xl_rowcol_to_cell(plan_rows[("grad", p)], 1 + c) for c in range(len(rows))]) \
            if len(rows) > 1 else None

        def ref(key):
            if key[0] == "w":
                return place[key]
            if key[0] == "G" and len(rows) == 1:
                return xl_rowcol_to_cell(plan_rows[("grad", key[1])], 1)
            return xl_rowcol_to_cell(update_rows[key], 1)

        prev = lambda p: ""
        if step > 1 and spec.momentum:
            prev_row = self.iter_rows.get(step - 1)
            prev_last = prev_row + self.step_len(step - 1) - 1 if prev_row is not None else None
            prev = (lambda p: f"iterations!{xl_rowcol_to_cell(prev_last, self.iter_cols[('dw', p)])}") \
                if prev_row is not None else (lambda p: repr(float(V.updates[step - 2, p, 2])))
        for key, formula in step_plan(spec, net, ref, grad_refs, prev):
            self.cell(ws, update_rows[key], 1, formula, V.get(key, last))
        self.flag(ws, 0, row, [1 + c for c in range(len(rows))], [1], da_rows=[plan_rows[k] for k in plan_rows
                                                                              if k[0] == "da_dz"],
                  dw_rows=[update_rows[k] for k in update_rows if k[0] == "dw"])
        return row

    def flag(self, ws, r0, r1, da_cols, dw_cols, da_rows=None, dw_rows=None) -> None:
        """Conditional formats: saturated derivatives, and delta w green (+) or red (-)."""
        F = self.fmt
        for cols, rows, kind in ((da_cols, da_rows, "da"), (dw_cols, dw_rows, "dw")):
            targets = [(r, r, c) for r in rows for c in cols] if rows is not None else [(r0, r1, c) for c in cols]
            for a, b, c in targets:
                if kind == "da":
                    cell = xl_rowcol_to_cell(a, c, row_abs=False, col_abs=False)
                    ws.conditional_format(a, c, b, c, {"type": "formula", "criteria": f"=ABS({cell})<{SATURATED}",
                                                       "format": F["saturated"]})
                else:
                    ws.conditional_format(a, c, b, c, {"type": "cell", "criteria": ">", "value": 0,
                                                       "format": F["good"]})
                    ws.conditional_format(a, c, b, c, {"type": "cell", "criteria": "<", "value": 0,
                                                       "format": F["bad"]})

    # -- trace tables ---------------------------------------------------------------------------------
    def write_table(self, name: str) -> None:
        """One trace table as its own sheet."""
        write_trace_table(self.wb, name, getattr(self.trace, name), self.max_rows, self.fmt["head"], self.fmt["note"])


def write_trace_table(wb, name: str, df: pd.DataFrame, max_rows: int, header_format=None, note_format=None) -> None:
    """A trace table as a formatted sheet (header row with filters, frozen header), streamed row by row.

    Memory stays flat: rows are converted CHUNK at a time and the sheet is written to a temporary file as
    it goes. Rows beyond max_rows are left out with a note below the table.
    """
    ws = wb.add_worksheet(name, StreamedSheet)
    n = min(len(df), max_rows)
    cols = list(df.columns)
    ws.freeze_panes(1, 0)
    ws.set_column(0, 2, 8)
    ws.set_column(3, len(cols), 13)
    for c, head in enumerate(cols):
        ws.write_string(0, c, head, header_format)
    ws.autofilter(0, 0, max(n, 1), len(cols) - 1)  # not add_table: it keeps a dict entry per cell of its range
    writers = [(i, ws.write_string if c in TEXT_COLUMNS else ws.write_number) for i, c in enumerate(cols)]
    for first in range(0, n, CHUNK):
        part = df.iloc[first:min(n, first + CHUNK)]
        columns = [part[c].astype(str).tolist() if c in TEXT_COLUMNS else part[c].tolist() for c in cols]
        for r, row in enumerate(zip(*columns), start=first + 1):
            for i, write in writers:
                v = row[i]
                if v == v:  # NaN (target of a hidden unit) stays an empty cell
                    write(r, i, v)
    if n < len(df):
        ws.write_string(n + 2, 0, f"{len(df) - n} more rows are not shown (max_rows = {max_rows}); "
                                  f"`tracer run --trace DIR` writes every row as CSV", note_format)


def defined_name(label: str, used: set) -> str:
    """An Excel defined name from a label ('w_xg1' stays; 'w^1_11' -> 'w_1_11'), unique, never a cell ref."""
    name = re.sub(r"[^A-Za-z0-9_.]", "_", label)
    name = re.sub(r"_+", "_", name).strip("_") or "w"
    if not re.match(r"[A-Za-z_]", name) or re.fullmatch(r"[A-Za-z]{1,3}[0-9]+", name) or \
            name.lower() in ("r", "c", "true", "false"):
        name = "w_" + name
    base, n = name, 2
    while name.lower() in used:
        name = f"{base}_{n}"
        n += 1
    used.add(name.lower())
    return name

