"""Inline SVG for the HTML report: the network (initial weights, or Ekman's arrows of weight changes) and charts.

Coordinates are computed here; every text from the spec is escaped here. The drawings load nothing.
"""
from __future__ import annotations

from html import escape

import numpy as np

from .mathml import SCRIPT

MAX_CHART_POINTS = 400  # curves are thinned to this many points, so long runs stay small
MARKED_POINTS = 40  # curves with at most this many points get a dot on each
UP, DOWN, ZERO = "#1a7f37", "#c62828", "#999999"  # Ekman Figure 3-7: green positive, red negative
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]


def network_svg(spec, names, fmt, weights, delta_w=None) -> str:
    """The network: inputs and units as circles, every connection labelled.

    Without delta_w each connection carries its weight's label and value (biases beside the unit). With
    delta_w each connection is an arrow coloured by the sign of its change (green +, red −) and as wide as its
    magnitude relative to the step's largest change (Ekman Figure 3-7); biases are arrows from a small 1 node.
    """
    columns = [list(spec.inputs)] + [list(l.units) for l in spec.layers]
    col_gap = 250
    width = 150 + col_gap * (len(columns) - 1)
    tallest = max(len(c) for c in columns)
    height = 60 + 90 * tallest
    pos = {}
    for c, col in enumerate(columns):
        for i, name in enumerate(col):
            pos[(c, name)] = (70 + c * col_gap, 70 + (height - 90) * (i + 0.5) / len(col))
    biggest = float(np.max(np.abs(delta_w))) if delta_w is not None and len(delta_w) else 0.0
    edges, labels, p = [], [], 0
    for k, layer in enumerate(spec.layers):
        for j, u in enumerate(layer.units):
            tx, ty = pos[(k + 1, u)]
            for s in layer.sources:
                name = names.label("w", layer.name, u, s)
                if s == "bias":  # the bias input 1 above the unit (Ekman: input 0)
                    sx, sy = tx - 28, ty - 52
                    edges.append(f'<circle cx="{sx:.1f}" cy="{sy:.1f}" r="8" class="one"/>'
                                 f'<text x="{sx:.1f}" y="{sy + 3.5:.1f}" class="one">1</text>')
                    sx, sy = sx + 3, sy + 8
                else:
                    sx, sy = pos[(k, s)]
                    sx += 20
                if delta_w is None:
                    text = f"{name} = {fmt(weights[p])}"
                    edges.append(f'<line x1="{sx:.1f}" y1="{sy:.1f}" x2="{tx - 20:.1f}" y2="{ty:.1f}" class="edge">'
                                 f'<title>{escape(text)}</title></line>')
                else:
                    dw = float(delta_w[p])
                    colour, head = (UP, "up") if dw > 0 else (DOWN, "down") if dw < 0 else (ZERO, "zero")
                    stroke = 1 + 9 * abs(dw) / biggest if biggest else 1
                    text = f"Δ{name} = {fmt(dw)}"
                    edges.append(f'<line x1="{sx:.1f}" y1="{sy:.1f}" x2="{tx - 24:.1f}" y2="{ty:.1f}" '
                                 f'stroke="{colour}" stroke-width="{stroke:.2f}" marker-end="url(#head-{head})">'
                                 f'<title>{escape(text)}</title></line>')
                # labels spread along the edges by source, so crossing edges are labelled at different ends
                inputs = [x for x in layer.sources if x != "bias"]
                t = 0.2 + 0.4 * (inputs.index(s) / max(1, len(inputs) - 1)) if s != "bias" else 0.5
                mx, my = sx + (tx - 20 - sx) * t, sy + (ty - sy) * t - 6
                if s == "bias":
                    mx, my = sx + 10, sy - 6
                labels.append(f'<text x="{mx:.1f}" y="{my:.1f}" class="wlabel">{svg_text(text)}</text>')
                p += 1
    nodes = []
    for (c, name), (x, y) in pos.items():
        kind = "input" if c == 0 else "unit"
        text = names.label("x", source=name) if c == 0 else name
        nodes.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="20" class="{kind}"/>'
                     f'<text x="{x:.1f}" y="{y + 4:.1f}" class="uname">{svg_text(text)}</text>')
    defs = "".join(f'<marker id="head-{n}" markerWidth="5" markerHeight="5" refX="4" refY="2.5" orient="auto" '
                   f'markerUnits="userSpaceOnUse" viewBox="0 0 5 5"><path d="M0,0 L5,2.5 L0,5 z" fill="{c}"/></marker>'
                   for n, c in (("up", UP), ("down", DOWN), ("zero", ZERO)))
    title = "weight changes: green up, red down, width = size" if delta_w is not None else "network, initial weights"
    return (f'<svg class="net" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{title}"><defs>{defs}</defs>{"".join(edges)}{"".join(nodes)}{"".join(labels)}</svg>')


def svg_text(label: str) -> str:
    """A label as SVG text with tspans for `_` subscripts and `^` superscripts (v_11 -> v₁₁), escaped."""
    out, pos = [], 0
    for m in SCRIPT.finditer(label):
        out.append(escape(label[pos:m.start()]))
        shift = "sub" if m[1] == "_" else "super"
        out.append(f'<tspan baseline-shift="{shift}" font-size="75%">{escape(m[2])}</tspan>')
        pos = m.end()
    out.append(escape(label[pos:]))
    return "".join(out)


def thin(points: list[tuple[float, float]], n: int = MAX_CHART_POINTS) -> list[tuple[float, float]]:
    """At most n points, evenly spaced, always keeping the first and the last."""
    if len(points) <= n:
        return points
    idx = np.unique(np.linspace(0, len(points) - 1, n).round().astype(int))
    return [points[i] for i in idx]


def line_chart(series, xlabel: str, ylabel: str) -> str:
    """An inline-SVG line chart of (name, colour, points) series on one set of axes, with a legend."""
    all_pts = [p for _, _, pts in series for p in pts]
    xs, ys = [p[0] for p in all_pts], [p[1] for p in all_pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    x1 = x1 if x1 > x0 else x0 + 1
    if y1 <= y0:  # one value: a band around it, not up to y0 + 1
        pad = abs(y0) * 0.1 or 1.0
        y0, y1 = y0 - pad, y1 + pad
    W, H, L, B, R = 700, 280, 70, 36, 10
    legend = [name for name, _, _ in series if name]
    if legend:
        R = 130
    sx = lambda x: L + (x - x0) / (x1 - x0) * (W - L - R)
    sy = lambda y: H - B - (y - y0) / (y1 - y0) * (H - B - 12)
    body = []
    for name, colour, pts in series:
        pts = thin(pts)
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{coords}">'
                    f'<title>{escape(name)}</title></polyline>')
        if len(pts) <= MARKED_POINTS:  # a short run: show each point, so one epoch is not an empty chart
            body.extend(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>' for x, y in pts)
    for i, (name, colour, _) in enumerate(s for s in series if s[0]):
        if i >= 16:
            body.append(f'<text x="{W - R + 8}" y="{16 + 15 * i}" class="tick">… {len(legend) - 16} more</text>')
            break
        body.append(f'<line x1="{W - R + 8}" y1="{12 + 15 * i}" x2="{W - R + 24}" y2="{12 + 15 * i}" '
                    f'stroke="{colour}" stroke-width="3"/>'
                    f'<text x="{W - R + 28}" y="{16 + 15 * i}" class="tick">{svg_text(name)}</text>')
    ticks = (f'<text x="{L - 6}" y="{sy(y1) + 4:.1f}" class="tick" text-anchor="end">{y1:.4g}</text>'
             f'<text x="{L - 6}" y="{sy(y0) + 4:.1f}" class="tick" text-anchor="end">{y0:.4g}</text>'
             f'<text x="{sx(x0):.1f}" y="{H - B + 16}" class="tick">{x0:g}</text>'
             f'<text x="{sx(x1):.1f}" y="{H - B + 16}" class="tick" text-anchor="end">{x1:g}</text>')
    axes = (f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" class="axis"/>'
            f'<line x1="{L}" y1="12" x2="{L}" y2="{H - B}" class="axis"/>'
            f'<text x="{(W - R + L) / 2:.0f}" y="{H - 4}" class="tick" text-anchor="middle">{escape(xlabel)}</text>'
            f'<text x="14" y="{(H - B) / 2:.0f}" class="tick" transform="rotate(-90 14 {(H - B) / 2:.0f})" '
            f'text-anchor="middle">{escape(ylabel)}</text>')
    return (f'<svg class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
            f'aria-label="{escape(ylabel)} over {escape(xlabel)}">{axes}{ticks}{"".join(body)}</svg>')


def loss_chart(per_epoch, loss_label: str) -> str:
    """Mean loss per epoch."""
    pts = [(float(e), float(v)) for e, v in per_epoch.itertuples(index=False)]
    return line_chart([("", "#1f4e79", pts)], "epoch", f"mean {loss_label} per sample")


def weights_chart(initial, w_after, params, names) -> str:
    """Every weight over the steps: its initial value at step 0, then its value after each step."""
    values = np.vstack([initial[None, :], w_after])
    steps = np.arange(len(values)).tolist()
    series = [(names.label("w", *prm), PALETTE[p % len(PALETTE)], list(zip(steps, values[:, p].tolist())))
              for p, prm in enumerate(params)]
    return line_chart(series, "step (0 = initial weights)", "weight")
