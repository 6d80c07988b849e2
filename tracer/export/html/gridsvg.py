"""Inline SVG of grid layers for the HTML report: the network as a chain of blocks, and each step's grids.

A conv layer is drawn as its input channels, the kernel (one row of panels per kernel) and the net inputs it
gives, with the first position's window outlined in the input and its cell in the output; a pool as its input
with the cells its gradient goes back to (the chosen maxima) shaded, and its output. Numbers are the first
sample's of the step, with the weights before the step. Every text from the spec is escaped here; cells are wide
enough for their numbers at 13 px, so no text overlaps another.
"""
from __future__ import annotations

from html import escape

import numpy as np
from markupsafe import Markup

from ...model.grid import routed_cells

FONT = 13  # px: cell numbers and captions
ADVANCE = 0.62  # em per character
ROW = 26  # px: a cell's height
GAP = 26  # px: between panels (an operator sits there)
CAPTION = 22  # px: room for a panel's caption above it
MARK, WINDOW = "#fde68a", "#c2410c"  # shaded chosen maxima; the outlined window


def text_px(text: str, font: int = FONT) -> float:
    return len(text) * ADVANCE * font


def panel(x: float, y: float, caption: str, cells: list[list[str]], shaded=frozenset(), outlined=frozenset()
          ) -> tuple[list[str], float]:
    """One grid of numbers with its caption: (SVG elements, its width)."""
    width = max(38.0, max(text_px(c) for row in cells for c in row) + 12)
    total = max(width * len(cells[0]), text_px(caption) + 4)
    parts = [f'<text class="caption" x="{x:.1f}" y="{y + 15:.1f}" font-size="{FONT}">{escape(caption)}</text>'] \
        if caption else []
    top = y + CAPTION
    for r, row in enumerate(cells):
        for c, text in enumerate(row):
            cx, cy = x + c * width, top + r * ROW
            fill = MARK if (r, c) in shaded else "#ffffff"
            parts.append(f'<rect x="{cx:.1f}" y="{cy:.1f}" width="{width:.1f}" height="{ROW}" fill="{fill}" '
                         f'stroke="#888" stroke-width="1"/>')
            if text:
                parts.append(f'<text class="cell" x="{cx + width / 2:.1f}" y="{cy + ROW / 2 + FONT * 0.35:.1f}" '
                             f'font-size="{FONT}" text-anchor="middle">{escape(text)}</text>')
    if outlined:
        rows, cols = [r for r, _ in outlined], [c for _, c in outlined]
        parts.append(f'<rect x="{x + min(cols) * width:.1f}" y="{top + min(rows) * ROW:.1f}" '
                     f'width="{(max(cols) - min(cols) + 1) * width:.1f}" height="{(max(rows) - min(rows) + 1) * ROW}" '
                     f'fill="none" stroke="{WINDOW}" stroke-width="3"/>')
    return parts, total


def row_svg(panels: list[tuple], operators: list[str]) -> str:
    """Panels left to right, each operator between two of them: one SVG."""
    parts, x, height = [], 0.0, 0.0
    for i, (caption, cells, shaded, outlined) in enumerate(panels):
        drawn, width = panel(x, 0.0, caption, cells, shaded, outlined)
        parts += drawn
        height = max(height, CAPTION + ROW * len(cells))
        x += width
        if i < len(operators):
            gap = max(GAP, text_px(operators[i], 16) + 14)  # "+ b 0.1 =" needs more room than "→"
            parts.append(f'<text class="op" x="{x + gap / 2:.1f}" y="{CAPTION + ROW * 0.7:.1f}" font-size="16" '
                         f'text-anchor="middle">{escape(operators[i])}</text>')
            x += gap
    return svg(x + 2, height + 2, parts)


def svg(width: float, height: float, parts: list[str]) -> Markup:
    """The drawing, sized as drawn (its viewBox the same, so a browser's scale is 1 at full width)."""
    return Markup(f'<svg class="grid" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
                  f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="DejaVu Sans, sans-serif">'
                  f'{"".join(parts)}</svg>')


def grid_of(values: list[float], shape: tuple[int, int], fmt) -> list[list[str]]:
    """Numbers laid out as rows of a grid."""
    H, W = shape
    return [[fmt(values[r * W + c]) for c in range(W)] for r in range(H)]


def where(flat: int, shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """(channel, row, column) of a cell by its flat index."""
    C, H, W = shape
    return flat // (H * W), flat // W % H, flat % W


def layer_figures(spec, k: int, below: list[float], mine: dict, fmt) -> list[dict]:
    """The figures of grid layer k for one sample: `below` the cells it reads, `mine` its weights and z by key
    (('w', kernel, source) and ('z', unit))."""
    layer = spec.layers[k]
    g = layer.grid
    C, H, W = g.in_shape
    K, Ho, Wo = g.out_shape
    source = spec.inputs[0].split("[")[0] if k == 0 else spec.layers[k - 1].name
    channels = [below[c * H * W:(c + 1) * H * W] for c in range(C)]
    out = []
    if g.conv:
        kh, kw = g.size
        first = {where(cell, g.in_shape) for cell in g.window[0].tolist() if cell >= 0}
        for kk, kernel in enumerate(layer.kernels):
            panels = [(f"{source} channel {c + 1}" if C > 1 else source, grid_of(channels[c], (H, W), fmt), (),
                       {(r, cc) for ch, r, cc in first if ch == c} if kk == 0 else ()) for c in range(C)]
            cells = [mine[("w", kernel, s)] for s in layer.sources[int(layer.bias):]]
            panels += [(f"{kernel} channel {c + 1}" if C > 1 else kernel,
                        grid_of(cells[c * kh * kw:(c + 1) * kh * kw], (kh, kw), fmt), (), ()) for c in range(C)]
            z = [mine[("z", u)] for u in layer.units[kk * Ho * Wo:(kk + 1) * Ho * Wo]]
            bias = f" + b {fmt(mine[('w', kernel, 'bias')])}" if layer.bias else ""
            panels.append((f"z of {kernel}", grid_of(z, (Ho, Wo), fmt), (), {(0, 0)} if kk == 0 else ()))
            flip = "convolution (kernel flipped)" if g.operation == "convolution" else "cross-correlation"
            operators = ["+"] * (C - 1) + ["⊛"] + ["+"] * (C - 1) + [f"{bias} ="]
            out.append({"heading": f"{layer.name}: {kernel} over {source} ({flip}, stride {g.stride}, padding "
                                   f"{g.padding}); the first position's window outlined",
                        "svg": row_svg(panels, operators)})
        return out
    shaded = routed_cells(g, np.asarray(below, float))
    for c in range(C):
        z = [mine[("z", u)] for u in layer.units[c * Ho * Wo:(c + 1) * Ho * Wo]]
        marked = {(r, cc) for ch, r, cc in (where(cell, g.in_shape) for cell in shaded) if ch == c}
        panels = [(f"{source} channel {c + 1}" if C > 1 else source, grid_of(channels[c], (H, W), fmt), marked, ()),
                  (f"{layer.name} channel {c + 1}" if C > 1 else layer.name, grid_of(z, (Ho, Wo), fmt), (), ())]
        what = ("the mean of each window" if g.kind == "avgpool2d" else
                "each window's max; shaded: the cells its gradient goes back to" +
                (" (tied maxima share it)" if g.ties == "shared" else " (the first maximum)"))
        out.append({"heading": f"{layer.name}: {g.size[0]}x{g.size[1]} windows, stride {g.stride}: {what}",
                    "svg": row_svg(panels, ["→"])})
    return out


def unrolled(spec, value, fmt) -> dict:
    """An rnn layer unrolled in time for the first sample of a step: a column per time step (t0: h_0), a row per
    input, per state unit and per output of the layer after it; each state feeds the next column's."""
    rnn, after = spec.layers[0], spec.layers[1]
    r = rnn.recurrence
    T, F = r.steps, len(r.features)
    x = [value(("x", 1, "", "", s)) for s in spec.inputs]
    rows = [(f, [""] + [fmt(x[t * F + i]) for t in range(T)]) for i, f in enumerate(r.features)]
    rows += [(u, [fmt(x[T * F + j])] + [fmt(value(("a", 1, rnn.name, f"{u}@t{t + 1}", ""))) for t in range(T)])
             for j, u in enumerate(r.units)]
    for k in after.kernels:
        outs = {unit: value(("a", 1, after.name, unit, "")) for unit in after.units if unit.split("@")[0] == k}
        shown = [fmt(outs[f"{k}@t{t + 1}"]) if f"{k}@t{t + 1}" in outs else "" for t in range(T)]
        if r.outputs == "last":
            shown[-1] = fmt(value(("a", 1, after.name, k, "")))
        rows.append((k, [""] + shown))
    labels = [["step"]] + [[name] for name, _ in rows]
    numbers = [["t0 (h0)"] + [f"t{t + 1}" for t in range(T)]] + [cells for _, cells in rows]
    states = {(1 + len(r.features) + j, c) for j in range(len(r.units)) for c in range(T + 1)}
    panels = [("", labels, (), ()), ("", numbers, states, ())]
    cut = f", the gradient cut every {r.bptt} step{'s' * (r.bptt > 1)}" if r.bptt else ""
    return {"heading": f"{rnn.name} unrolled over {T} time steps: inputs, states (shaded; each feeds the next "
                       f"step's) and outputs{cut}", "svg": row_svg(panels, [""])}


def step_grids(spec, value, fmt) -> list[dict]:
    """Every grid layer's figures for the first sample of a step, and an rnn unrolled in time; `value(key)`
    gives a plan key's value."""
    if spec.layers[0].recurrence is not None:
        return [unrolled(spec, value, fmt)]
    out = []
    for k, layer in enumerate(spec.layers):
        if layer.grid is None:
            continue
        names = spec.inputs if k == 0 else spec.layers[k - 1].units
        below = [value(("x", 1, "", "", s) if k == 0 else ("a", 1, spec.layers[k - 1].name, s, "")) for s in names]
        mine = {("z", u): value(("z", 1, layer.name, u, "")) for u in layer.units}
        mine.update({("w", kernel, s): value(("w", 0, layer.name, kernel, s)) for kernel in layer.kernels
                     for s in layer.sources})
        out += layer_figures(spec, k, below, mine, fmt)
    return out


def chain_svg(spec) -> Markup:
    """The network as a chain of blocks: the input grid, each layer in words, the output."""
    r = spec.layers[0].recurrence
    boxes = [f"input {'x'.join(map(str, spec.input_shape))}" if r is None else
             f"input {', '.join(r.features)} over {r.steps} steps"]
    for layer in spec.layers:
        g = layer.grid
        if layer.recurrence is not None:
            boxes.append(f"{layer.name}: rnn, {len(layer.kernels)} unit{'s' * (len(layer.kernels) != 1)}, "
                         f"{layer.activation.name}")
        elif g is not None and g.time:
            boxes.append(f"{layer.name}: dense at {'every step' if r.outputs == 'every' else 'the last step'}, "
                         f"{layer.activation.name}")
        elif g is None:
            boxes.append(f"{layer.name}: dense, {len(layer.units)} unit{'s' * (len(layer.units) != 1)}, "
                         f"{layer.activation.name}")
        elif g.conv:
            boxes.append(f"{layer.name}: conv2d {len(layer.kernels)}x{g.size[0]}x{g.size[1]}, "
                         f"{layer.activation.name}")
        else:
            boxes.append(f"{layer.name}: {g.kind} {g.size[0]}x{g.size[1]}")
    parts, x = [], 0.0
    for i, text in enumerate(boxes):
        width = text_px(text) + 16
        parts.append(f'<rect x="{x:.1f}" y="1" width="{width:.1f}" height="34" rx="4" fill="#f3f4f6" '
                     f'stroke="#555"/><text class="cell" x="{x + 8:.1f}" y="23" font-size="{FONT}">'
                     f'{escape(text)}</text>')
        x += width
        if i < len(boxes) - 1:
            parts.append(f'<text class="op" x="{x + 12:.1f}" y="24" font-size="16" text-anchor="middle">→</text>')
            x += 24
    return svg(x + 2, 38, parts)
