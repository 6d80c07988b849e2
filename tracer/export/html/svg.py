"""Inline SVG for the HTML report: the network (initial weights, or Ekman's arrows of weight changes) and charts.

Coordinates are computed here; every text from the spec is escaped here. The drawings load nothing.
"""
from __future__ import annotations

import math
from html import escape

import numpy as np
from markupsafe import Markup

from .gridsvg import chain_svg
from .mathml import to_mathml
from .labels import SCRIPTED, Box, Edge, place, text_box, text_width

MAX_CHART_POINTS = 400  # curves are thinned to this many points, so long runs stay small
MARKED_POINTS = 40  # curves with at most this many points get a dot on each
LEGEND_ROWS = 11  # series named in a legend at the chart's right; more go in columns under the chart
UP, DOWN, ZERO = "#1a7f37", "#c62828", "#999999"  # Ekman Figure 3-7: green positive, red negative
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]


VALUE_COLUMNS = 4  # (name, value) pairs per row of the table beside an unlabelled diagram


def network_figure(spec, names, fmt, weights, delta_w=None, live: bool = False) -> dict:
    """The network drawn (network_svg), for the template: the SVG, and where its connections carry no labels
    a caption saying so and a table of every connection's name and value, VALUE_COLUMNS pairs a row; `live`:
    each connection and its number name their parameter (data-w) for the live page to rewrite. A network with
    conv or pool layers is drawn as a chain of blocks, every weight (or change) in the table."""
    if spec.grids:
        kind, numbers = ("w", weights) if delta_w is None else ("delta_w", delta_w)
        values = [(names.label(kind, *p), fmt(v)) for p, v in zip(spec.parameters, numbers)]
        svg, caption, tooltip = chain_svg(spec), "every weight of the network, the shared ones once", ""
    else:
        svg, values = network_svg(spec, names, fmt, weights, delta_w, live)
        caption = f"{len(values)} connections are too many to label in a diagram of the page's width"
        tooltip = " (and in each line's tooltip)"
    pairs = [(Markup(to_mathml(name)), value) for name, value in values]
    return {"svg": Markup(svg),
            "caption": f"{caption}: their values are in the table beside it{tooltip}" if pairs else "",
            "rows": [pairs[i:i + VALUE_COLUMNS] for i in range(0, len(pairs), VALUE_COLUMNS)]}


def network_svg(spec, names, fmt, weights, delta_w=None, live: bool = False) -> tuple[str, list[tuple[str, str]]]:
    """The network: inputs and units as circles, every connection labelled with its weight (or its change).

    Without delta_w each connection carries its weight's label and value (biases from a small 1 node). With
    delta_w each connection is an arrow coloured by the sign of its change (green +, red −) and as wide as its
    magnitude relative to the step's largest change (Ekman Figure 3-7). Labels sit on their own edge, clear of
    every other label, node and line (tracer.export.html.labels); the diagram spreads until they fit, up to the
    page's width. Past that, or past MAX_LABELLED connections, the labels are left out: then each
    connection's (name, value) comes back with the SVG, else an empty list.
    """
    finite = np.abs(delta_w[np.isfinite(delta_w)]) if delta_w is not None else np.zeros(0)
    biggest = float(finite.max()) if len(finite) else 0.0  # a diverged step's inf or NaN changes draw thin
    arrows = delta_w is not None
    def laid_out(spread, named):
        drawing = _layout(spec, names, fmt, weights, delta_w, biggest, *spread, named)
        return drawing, place(drawing.edges, drawing.circles, drawing.area)

    if spec.n_weights <= MAX_LABELLED:
        for named in (True, False):  # 'Δv_12 = −0.0209', else the value alone (the name is in its tooltip)
            for spread in SPREADS:  # the smallest spread whose labels all find a clear spot
                drawing, spots = laid_out(spread, named)
                if spots is not None:
                    return _draw(drawing, spots, arrows, live), []
    drawing = _layout(spec, names, fmt, weights, delta_w, biggest, *SPREADS[-1])
    return _draw(drawing, None, arrows, live), drawing.values


SPREADS = [(gap, row) for gap in (250, 300, 360, 420) for row in (90, 120, 150, 180)]  # px: widest about 1000
MAX_LABELLED = 120  # connections: past this a diagram of at most the page's width has no room for labels
NODE_R, ONE_R = 20.0, 10.0


class Drawing:
    """A laid-out diagram: node centres, edges (with labels and stroke widths), extra circles (bias 1s)."""

    def __init__(self, width: float, height: float):
        self.width, self.height = width, height
        self.nodes: list[tuple[float, float, str, str]] = []  # x, y, kind, label
        self.ones: list[tuple[float, float, str]] = []  # the bias inputs: 1, or −1 under a threshold
        self.edges: list[Edge] = []
        self.colours: list[str] = []
        self.values: list[tuple[str, str]] = []  # each edge's name and value, for the table of an unlabelled one

    @property
    def circles(self) -> list[tuple[float, float, float]]:
        return [(x, y, NODE_R) for x, y, _, _ in self.nodes] + [(x, y, ONE_R) for x, y, _ in self.ones]

    @property
    def area(self) -> Box:
        return Box(2, 2, self.width - 2, self.height - 2)


def _layout(spec, names, fmt, weights, delta_w, biggest, col_gap, row_gap, named=True) -> Drawing:
    columns = [list(spec.inputs)] + [list(l.units) for l in spec.layers]
    tallest = max(len(c) for c in columns)
    d = Drawing(120 + col_gap * (len(columns) - 1), 80 + row_gap * tallest)
    pos = {}
    for c, col in enumerate(columns):
        for i, name in enumerate(col):
            pos[(c, name)] = (60 + c * col_gap, 70 + (d.height - 90) * (i + 0.5) / len(col))
            d.nodes.append((*pos[(c, name)], "input" if c == 0 else "unit",
                            names.label("x", source=name) if c == 0 else name))
    p = 0
    for k, layer in enumerate(spec.layers):
        gap = (d.height - 90) / len(layer.units)  # between the units of this column
        for u in layer.units:
            tx, ty = pos[(k + 1, u)]
            for s in layer.sources:
                if s == "bias":  # the bias input 1 just above the unit (Ekman: input 0), where no edge runs
                    sx, sy = tx - 0.12 * col_gap, ty - min(0.5 * gap, 60)
                    d.ones.append((sx, sy, "−1" if layer.threshold else "1"))
                    sx, sy = _toward(sx, sy, tx, ty, ONE_R)
                else:
                    sx, sy = _toward(*pos[(k, s)], tx, ty, NODE_R)
                ex, ey = _toward(tx, ty, sx, sy, NODE_R + (4 if delta_w is not None else 0))
                name = names.label("w", layer.name, u, s)
                if delta_w is None:
                    value, title, width, colour = fmt(weights[p]), name, 1.2, ""
                else:
                    dw = float(delta_w[p])
                    colour = UP if dw > 0 else DOWN if dw < 0 else ZERO
                    thick = biggest and np.isfinite(dw)
                    value, title, width = fmt(dw), f"Δ{name}", 1 + 9 * (abs(dw) / biggest) if thick else 1.0
                d.edges.append(Edge(sx, sy, ex, ey, width, f"{title} = {value}" if named else value,
                                    f"{title} = {value}"))
                d.colours.append(colour)
                d.values.append((title, value))
                p += 1
    return d


def _toward(x, y, to_x, to_y, r) -> tuple[float, float]:
    """The point at distance r from (x, y) toward (to_x, to_y): where a line leaves a circle."""
    length = max(1e-9, float(np.hypot(to_x - x, to_y - y)))
    return x + (to_x - x) * r / length, y + (to_y - y) * r / length


def _draw(d: Drawing, spots, arrows: bool, live: bool = False) -> str:
    parts = []
    for p, (edge, colour) in enumerate(zip(d.edges, d.colours)):  # edges in parameter order
        title = "" if live else f"<title>{escape(edge.title)}</title>"  # a tooltip's number would not follow
        hook = f' data-w="{p}"' if live else ""
        if arrows:
            head = "up" if colour == UP else "down" if colour == DOWN else "zero"
            parts.append(f'<line x1="{edge.x1:.1f}" y1="{edge.y1:.1f}" x2="{edge.x2:.1f}" y2="{edge.y2:.1f}" '
                         f'stroke="{colour}" stroke-width="{edge.width:.2f}" marker-end="url(#head-{head})"{hook}>'
                         f'{title}</line>')
        else:
            parts.append(f'<line x1="{edge.x1:.1f}" y1="{edge.y1:.1f}" x2="{edge.x2:.1f}" y2="{edge.y2:.1f}" '
                         f'class="edge">{title}</line>')
    for x, y, one in d.ones:
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{ONE_R:g}" class="one"/>'
                     f'<text x="{x:.1f}" y="{y + 4.5:.1f}" class="one">{one}</text>')
    for x, y, kind, label in d.nodes:
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{NODE_R:g}" class="{kind}"/>'
                     f'<text x="{x:.1f}" y="{y + 5:.1f}" class="uname">{svg_text(label)}</text>')
    if spots is not None:
        for p, (edge, (x, baseline), (_, value)) in enumerate(zip(d.edges, spots, d.values)):
            box = text_box(x, baseline, edge.label)  # on its own line, over a halo that hides the line
            text = svg_text(edge.label)
            if live:  # the number in its own tspan, named by its parameter
                text = svg_text(edge.label[:len(edge.label) - len(value)]) + f'<tspan data-w="{p}">{svg_text(value)}</tspan>'
            parts.append(f'<rect x="{box.x0:.1f}" y="{box.y0 + 2:.1f}" width="{box.x1 - box.x0:.1f}" '
                         f'height="{box.y1 - box.y0 - 4:.1f}" rx="4" class="halo"/>'
                         f'<text x="{x:.1f}" y="{baseline:.1f}" class="wlabel">{text}</text>')
    defs = "".join(f'<marker id="head-{n}" markerWidth="5" markerHeight="5" refX="4" refY="2.5" orient="auto" '
                   f'markerUnits="userSpaceOnUse" viewBox="0 0 5 5"><path d="M0,0 L5,2.5 L0,5 z" fill="{c}"/></marker>'
                   for n, c in (("up", UP), ("down", DOWN), ("zero", ZERO)))
    title = "weight changes: green up, red down, width = size" if arrows else "network, initial weights"
    return (f'<svg class="net" viewBox="0 0 {d.width:g} {d.height:g}" width="{d.width:g}" height="{d.height:g}" '
            f'role="img" aria-label="{title}"><defs>{defs}</defs>{"".join(parts)}</svg>')


def svg_text(label: str) -> str:
    """A label as SVG text with tspans for `_` subscripts and `^` superscripts (v_11 -> v₁₁) and powers of ten
    (6.9·10^−6) as real superscripts, escaped."""
    out, pos = [], 0
    for m in SCRIPTED.finditer(label):
        out.append(escape(label[pos:m.start()]))
        if m["power"] is not None:
            out.append(f'·10<tspan baseline-shift="super" class="script">{escape(m["power"])}</tspan>')
        else:
            shift = "sub" if m["mark"] == "_" else "super"
            out.append(f'<tspan baseline-shift="{shift}" class="script">{escape(m["text"])}</tspan>')
        pos = m.end()
    out.append(escape(label[pos:]))
    return "".join(out)



def thin(points: list[tuple[float, float]], n: int = MAX_CHART_POINTS) -> list[tuple[float, float]]:
    """At most n points, evenly spaced, always keeping the first and the last."""
    if len(points) <= n:
        return points
    idx = np.unique(np.linspace(0, len(points) - 1, n).round().astype(int))
    return [points[i] for i in idx]


def dashes(n: int) -> str:
    """Series n's dash pattern: solid for the first round of the palette, dashed for the next, and so on, so
    two series that share a colour are still told apart."""
    return ' stroke-dasharray="7 4"' if n // len(PALETTE) % 2 else ""


def line_chart(series, xlabel: str, ylabel: str) -> str:
    """An inline-SVG line chart of (name, colour, points) series on one set of axes, with a legend. Points that
    are not finite (a diverged run) are left out; with none left, or values too far apart to scale, no chart."""
    series = [(name, colour, [(x, y) for x, y in pts if math.isfinite(x) and math.isfinite(y)])
              for name, colour, pts in series]  # math's test: numpy's on each of 360,000 floats took 1.3 s
    all_pts = [p for _, _, pts in series for p in pts]
    if not all_pts:
        return ""
    xs, ys = [p[0] for p in all_pts], [p[1] for p in all_pts]
    if not (np.isfinite(max(ys) - min(ys)) and np.isfinite(max(xs) - min(xs))) or max(map(abs, ys)) > 1e100:
        return ""
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    x1 = x1 if x1 > x0 else x0 + 1
    if y1 <= y0:  # one value: a band around it, not up to y0 + 1
        pad = abs(y0) * 0.1 or 1.0
        y0, y1 = y0 - pad, y1 + pad
    step = nice_step(y0, y1)  # the value axis runs from tick to tick
    y0, y1 = float(np.floor(y0 / step + 1e-9) * step), float(np.ceil(y1 / step - 1e-9) * step)
    W, H, L, B, R = 760, 300, 96, 40, 40  # R: room for the last x tick's label
    legend = [(n, name, colour) for n, (name, colour, _) in enumerate(series) if name]
    below = len(legend) > LEGEND_ROWS  # many series: the legend goes under the chart, in columns
    if legend and not below:  # room for the longest name at the right
        R = 56 + max(text_width(name) for _, name, _ in legend)
    column = 34 + max((text_width(name) for _, name, _ in legend), default=0)
    per_row = max(1, int((W - L) // column))
    legend_top = H + 8
    total_h = H + (8 + 23 * -(-len(legend) // per_row) if below else 0)
    sx = lambda x: L + (x - x0) / (x1 - x0) * (W - L - R)
    sy = lambda y: H - B - (y - y0) / (y1 - y0) * (H - B - 12)
    body = []
    for n, (name, colour, pts) in enumerate(series):
        pts = thin(pts)
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6"{dashes(n)} points="{coords}">'
                    f'<title>{escape(name)}</title></polyline>')
        if len(pts) <= MARKED_POINTS:  # a short run: show each point, so one epoch is not an empty chart
            body.extend(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>' for x, y in pts)
    for i, (n, name, colour) in enumerate(legend):  # every series named: at the right, or in columns below
        lx, ly = (L + column * (i % per_row), legend_top + 23 * (i // per_row)) if below else (W - R + 8, 13 + 23 * i)
        body.append(f'<line x1="{lx:.1f}" y1="{ly}" x2="{lx + 16:.1f}" y2="{ly}" stroke="{colour}" stroke-width="3"'
                    f'{dashes(n)}/><text x="{lx + 20:.1f}" y="{ly + 5}" class="tick">{svg_text(name)}</text>')
    ticks = []
    for y in nice_ticks(y0, y1):
        ticks.append(f'<line x1="{L - 4}" y1="{sy(y):.1f}" x2="{W - R}" y2="{sy(y):.1f}" class="grid"/>'
                     f'<text x="{L - 7}" y="{sy(y) + 4:.1f}" class="tick" text-anchor="end">{tick_text(y)}</text>')
    for x in nice_ticks(x0, x1, whole=True):
        ticks.append(f'<line x1="{sx(x):.1f}" y1="{H - B}" x2="{sx(x):.1f}" y2="{H - B + 4}" class="axis"/>'
                     f'<text x="{sx(x):.1f}" y="{H - B + 17}" class="tick" text-anchor="middle">{int(x)}</text>')
    ticks = "".join(ticks)
    axes = (f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" class="axis"/>'
            f'<line x1="{L}" y1="12" x2="{L}" y2="{H - B}" class="axis"/>'
            f'<text x="{(W - R + L) / 2:.0f}" y="{H - 4}" class="tick" text-anchor="middle">{escape(xlabel)}</text>'
            f'<text x="18" y="{(H - B) / 2:.0f}" class="tick" transform="rotate(-90 18 {(H - B) / 2:.0f})" '
            f'text-anchor="middle">{escape(ylabel)}</text>')
    return (f'<svg class="chart" viewBox="0 0 {W} {total_h}" width="{W}" height="{total_h}" role="img" '
            f'aria-label="{escape(ylabel)} over {escape(xlabel)}">{axes}{ticks}{"".join(body)}</svg>')


def nice_step(lo: float, hi: float, count: int = 5) -> float:
    """A round distance between ticks (1, 2 or 5 times a power of ten) giving about `count` ticks."""
    raw = (hi - lo) / count if hi > lo else 1.0
    power = 10 ** np.floor(np.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9)))


def nice_ticks(lo: float, hi: float, count: int = 5, whole: bool = False) -> list[float]:
    """Round tick values inside [lo, hi]; whole numbers only when `whole` (epochs, steps)."""
    step = nice_step(lo, hi, count)
    if whole:
        step = max(1.0, round(step))
    first = np.ceil(lo / step - 1e-9) * step
    return [float(v) + 0.0 for v in np.arange(first, hi + step * 1e-9, step)]


def tick_text(v: float) -> str:
    """A tick's label: short, a real minus sign, powers of ten as superscripts."""
    text = f"{v:.4g}"
    if "e" in text:
        mant, exp = text.split("e")
        text = f"{mant}·10^{int(exp)}"
    return svg_text(text.replace("-", "−"))


def loss_chart(per_epoch, after_epoch, loss_label: str) -> str:
    """Mean loss per epoch: during it (each sample's before its update) and after it (with its final weights)."""
    def points(frame):
        return [(float(e), float(v)) for e, v in frame.itertuples(index=False)]
    if not len(after_epoch):
        return line_chart([("", "#1f4e79", points(per_epoch))], "epoch", f"mean {loss_label} per sample")
    return line_chart([("during the epoch", "#1f4e79", points(per_epoch)),
                       ("after the epoch", "#c55a11", points(after_epoch))], "epoch", f"mean {loss_label} per sample")


def weights_chart(initial, after_steps, w_after, params, names) -> str:
    """Every weight over the steps: its initial value at step 0, then its value after each step given."""
    values = np.vstack([initial[None, :], w_after])
    steps = [0] + [int(s) for s in after_steps]
    series = [(names.label("w", *prm), PALETTE[p % len(PALETTE)], list(zip(steps, values[:, p].tolist())))
              for p, prm in enumerate(params)]
    return line_chart(series, "step (0 = initial weights)", "weight")
