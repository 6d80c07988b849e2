"""HTML report: the computation written out step by step in a course's notation, with the network drawn.

`report_data` prepares plain data (strings, numbers, lists, MathML and SVG fragments, every spec-derived
text escaped here); the Jinja2 template in templates/report.html.j2 only lays it out. The numbers all
come from the trace; the notation profile decides only the names and how the loss and update are written.
"""
from __future__ import annotations

import math
from html import escape

import numpy as np
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from .atomic import write_text
from .notation import profile, to_mathml
from .resources import resource_dir
from .steps import select_steps
from .trace import Trace

SATURATED = 1e-3  # |da/dz| below this: a saturated unit (Maren's vanishing gradient)
MAX_CHART_POINTS = 400  # curves are thinned to this many points, so long runs stay small
MAX_TABLE_STEPS = 200  # the weights-per-step table lists at most this many steps (the chosen ones first)


def write_report(trace: Trace, path, notation: str | None = None, steps: str | None = None, digits: int = 4) -> None:
    """Write the HTML report of a trace to `path` (atomically, self-contained, deterministic)."""
    write_text(path, render_report(trace, notation=notation, steps=steps, digits=digits))


def render_report(trace: Trace, notation: str | None = None, steps: str | None = None, digits: int = 4) -> str:
    """The report as one HTML string."""
    return _env().get_template("report.html.j2").render(**report_data(trace, notation, steps, digits))


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(resource_dir("templates"))),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


class Fmt:
    """Numbers as the report shows them: `digits` significant digits, a real minus sign."""

    def __init__(self, digits: int):
        self.digits = digits

    def __call__(self, v: float) -> str:
        if v != v:
            return "NaN"
        if v == 0:
            return "0"
        text = f"{v:.{self.digits}g}"
        if "e" in text:
            mant, exp = text.split("e")
            return f"{mant}·10^{int(exp)}"
        return text.replace("-", "−")

    def mn(self, v: float, paren_negative: bool = False) -> str:
        """A number as MathML, in parentheses when negative and multiplied (0.6·(−0.9))."""
        text = escape(self(v))
        if "·10^" in text:
            mant, exp = text.split("·10^")
            body = f"<mn>{mant}</mn><mo>·</mo><msup><mn>10</mn><mn>{exp}</mn></msup>"
        else:
            body = f"<mn>{text}</mn>"
        if paren_negative and v < 0:
            return f"<mo>(</mo>{body}<mo>)</mo>"
        return body


def math(*parts: str) -> Markup:
    """A display formula from MathML fragments (already escaped)."""
    return Markup(f'<div class="eq"><math><mrow>{"".join(parts)}</mrow></math></div>')


def mo(op: str) -> str:
    return f"<mo>{escape(op)}</mo>"


def report_data(trace: Trace, notation: str | None, steps: str | None, digits: int) -> dict:
    """Everything the template shows, prepared: setup, chosen steps, charts and the weights table."""
    spec = trace.spec
    names = profile(notation, spec)
    fmt = Fmt(digits)
    n_steps = trace.step_count()
    chosen = select_steps(steps if steps is not None else spec.steps, n_steps) if n_steps else []
    per_epoch = trace.epoch_losses()
    upd = trace.updates
    P = sum(l.weights.size for l in spec.layers)
    w_old = upd["w_old"].to_numpy().reshape(-1, P) if n_steps else np.zeros((0, P))
    delta_w = upd["delta_w"].to_numpy().reshape(-1, P) if n_steps else np.zeros((0, P))
    params = [(l.name, u, s) for l in spec.layers for u in l.units for s in l.sources]
    initial = w_old[0] if n_steps else np.concatenate([l.weights.ravel() for l in spec.layers])
    return {
        "title": spec.title or spec.name, "name": spec.name, "source": spec.source, "description": spec.description,
        "notation": names.profile.title, "sign_note": names.profile.sign_note,
        "setup": setup_rows(spec, names, fmt),
        "data_head": [*spec.inputs, *[f"target {u}" for u in spec.output.units]],
        "data_rows": [[fmt(v) for v in [*x, *y]] for x, y in zip(spec.x, spec.y)],
        "network": Markup(network_svg(spec, names, fmt, initial, None)),
        "loss_formula": loss_formula(spec, names),
        "update_formula": names.profile.update,
        "n_steps": n_steps, "chosen": chosen,
        "steps": [step_data(trace, names, fmt, s, delta_w[s - 1]) for s in chosen],
        "loss_chart": Markup(line_chart([(float(e), float(v)) for e, v in per_epoch.itertuples(index=False)],
                                        "epoch", f"mean {names.label('loss')}")) if len(per_epoch) else "",
        "weights_chart": Markup(weights_chart(w_old, delta_w, params, names)) if n_steps else "",
        "weights_table": weights_table(w_old, delta_w, chosen, n_steps, params, names, fmt),
        "stopped": trace.stopped,
    }


def setup_rows(spec, names, fmt) -> list[tuple[str, str]]:
    """Label / value rows describing the network and training."""
    layers = "; ".join(f"{l.name}: {len(l.units)} unit(s), {l.activation.describe()}"
                       f"{'' if l.bias else ', no bias'}{', frozen ' + str(int(l.frozen.sum())) if l.frozen.any() else ''}"
                       for l in spec.layers)
    rows = [("inputs", ", ".join(spec.inputs)), ("layers", layers),
            ("loss", f"{spec.loss.name}: {spec.loss.formula}"),
            (f"learning rate {names.label('eta')}", fmt(spec.learning_rate)),
            ("training", f"{spec.training.mode}, {spec.training.epochs} epoch(s), {spec.batch_size} sample(s) per "
                         f"update, gradient = {spec.training.reduction} over the batch")]
    if spec.weight_decay:
        rows.append(("weight decay λ", fmt(spec.weight_decay)))
    if spec.momentum:
        rows.append(("momentum μ", fmt(spec.momentum)))
    return rows


def loss_formula(spec, names) -> Markup:
    """The loss as the chosen source writes it (with or without 1/2)."""
    E = to_mathml(names.label("loss"))
    diff = "<mo>(</mo><mi>y</mi><mo>−</mo><mover><mi>y</mi><mo>^</mo></mover><msup><mo>)</mo><mn>2</mn></msup>"
    if spec.loss.name == "half_sse":
        if names.profile.half == "/2":
            return math(E, mo("="), "<mfrac><mrow>", diff, "</mrow><mn>2</mn></mfrac>")
        return math(E, mo("="), "<mfrac><mn>1</mn><mn>2</mn></mfrac>", mo("Σ"), diff)
    if spec.loss.name == "sse":
        return math(E, mo("="), mo("Σ"), diff)
    if spec.loss.name == "binary_cross_entropy":
        return math(E, mo("="), mo("−"), mo("Σ"), "<mo>[</mo><mi>y</mi><mi>ln</mi><mover><mi>y</mi><mo>^</mo></mover>",
                    mo("+"), "<mo>(</mo><mn>1</mn><mo>−</mo><mi>y</mi><mo>)</mo><mi>ln</mi><mo>(</mo><mn>1</mn>",
                    mo("−"), "<mover><mi>y</mi><mo>^</mo></mover><mo>)</mo><mo>]</mo>")
    return math(E, mo("="), mo("−"), mo("Σ"), "<mi>y</mi><mi>ln</mi><mover><mi>y</mi><mo>^</mo></mover>")


def step_data(trace: Trace, names, fmt: Fmt, step: int, delta_w) -> dict:
    """One step written out: per sample the forward and backward lines, then the update lines."""
    spec = trace.spec
    nodes = trace.nodes[trace.nodes["step"] == step]
    weights = trace.weights[trace.weights["step"] == step]
    updates = trace.updates[trace.updates["step"] == step]
    losses = trace.losses[trace.losses["step"] == step]
    samples = []
    for sample in losses["sample"].tolist():
        n = nodes[nodes["sample"] == sample]
        w = weights[weights["sample"] == sample]
        loss = float(losses.loc[losses["sample"] == sample, "loss"].iloc[0])
        samples.append(sample_data(spec, names, fmt, n, w, loss, sample))
    lines = []
    for row in updates.itertuples(index=False):
        lbl = (row.layer, row.unit, row.source)
        lines.append({
            "grad": math(to_mathml(names.label("grad", *lbl)), mo("="), fmt.mn(row.grad)),
            "change": math(to_mathml(names.label("delta_w", *lbl)), mo("="), fmt.mn(row.delta_w), mo(";"),
                           to_mathml(names.label("w_new", *lbl)), mo("="), fmt.mn(row.w_old), mo("+"),
                           fmt.mn(row.delta_w, True), mo("="), fmt.mn(row.w_new)),
            "sign": "up" if row.delta_w > 0 else "down" if row.delta_w < 0 else "zero",
        })
    w_old = updates["w_old"].to_numpy()
    return {"step": step, "epoch": int(updates["epoch"].iloc[0]), "samples": samples, "updates": lines,
            "batch": len(samples) > 1, "reduction": spec.training.reduction,
            "arrows": Markup(network_svg(spec, names, fmt, w_old, delta_w))}


def sample_data(spec, names, fmt: Fmt, nodes, weights, loss: float, sample: int) -> dict:
    """Forward lines (formula, numbers, result), the loss, and the backward lines of one sample."""
    forward, backward, saturated = [], [], []
    x = dict(zip(spec.inputs, spec.x[sample - 1]))
    a_of = dict(x)
    by_unit = {u: r for r in nodes.itertuples(index=False) for u in [r.unit]}
    for layer in spec.layers:
        for u in layer.units:
            ws = weights[weights["unit"] == u]
            z_lbl = to_mathml(names.label("z", layer.name, u))
            symbolic, numeric = [], []
            for r in ws.itertuples(index=False):
                w_sym = to_mathml(names.label("w", layer.name, u, r.source))
                if r.source == "bias":
                    symbolic.append(w_sym)
                    numeric.append(fmt.mn(r.w))
                else:
                    src = names.label("x", source=r.source) if r.source in x else \
                        names.label("a", _layer_of(spec, r.source), r.source)
                    symbolic.append(w_sym + "<mo>&#x2062;</mo>" + to_mathml(src))
                    numeric.append(fmt.mn(r.w, True) + mo("·") + fmt.mn(r.input, True))
            node = by_unit[u]
            forward.append({
                "z": math(z_lbl, mo("="), mo("+").join(symbolic), mo("="), mo("+").join(numeric), mo("="),
                          fmt.mn(node.z)),
                "a": math(to_mathml(names.label("a", layer.name, u)), mo("="),
                          f"<mi>{escape(layer.activation.name)}</mi><mo>(</mo>{fmt.mn(node.z)}<mo>)</mo>", mo("="),
                          fmt.mn(node.a)),
            })
            a_of[u] = node.a
    for layer in reversed(spec.layers):
        for u in layer.units:
            node = by_unit[u]
            lbl = (layer.name, u)
            flag = abs(node.da_dz) < SATURATED and layer.activation.saturates
            if flag:
                saturated.append(names.label("a", *lbl))
            backward.append({
                "dE_da": math(to_mathml(names.label("dE_da", *lbl)), mo("="), fmt.mn(node.dE_da)),
                "da_dz": math(to_mathml(names.label("da_dz", *lbl)), mo("="),
                              f"<mtext>{escape(layer.activation.derivative)}</mtext>", mo("="), fmt.mn(node.da_dz)),
                "delta": math(to_mathml(names.label("delta", *lbl)), mo("="), fmt.mn(node.dE_da, True), mo("·"),
                              fmt.mn(node.da_dz, True), mo("="), fmt.mn(node.delta)),
                "saturated": flag,
            })
    return {"sample": sample, "forward": forward,
            "loss": math(to_mathml(names.label("loss")), mo("="), fmt.mn(loss)),
            "backward": backward, "saturated": saturated}


def _layer_of(spec, unit: str) -> str:
    for l in spec.layers:
        if unit in l.units:
            return l.name
    raise KeyError(unit)


def network_svg(spec, names, fmt: Fmt, weights, delta_w) -> str:
    """Inline SVG of the network: inputs and units as circles, every weight labelled.

    With delta_w, each connection is an arrow coloured by the sign of its change (green +, red −) and as
    wide as its magnitude (Ekman's figure of weight adjustments); otherwise labelled with the weight.
    """
    columns = [list(spec.inputs)] + [list(l.units) for l in spec.layers]
    width, col_gap = 160 + 220 * (len(columns) - 1), 220
    tallest = max(len(c) for c in columns)
    height = 70 + 90 * tallest
    pos = {}
    for c, col in enumerate(columns):
        for i, name in enumerate(col):
            pos[(c, name)] = (80 + c * col_gap, 50 + (height - 60) * (i + 0.5) / len(col))
    biggest = max((abs(v) for v in (delta_w if delta_w is not None else [])), default=0.0) or 1.0
    parts, p = [], 0
    for k, layer in enumerate(spec.layers):
        for u in layer.units:
            tx, ty = pos[(k + 1, u)]
            for s in layer.sources:
                value = weights[p]
                if s == "bias":
                    sx, sy = tx - 50, ty - 38
                    parts.append(f'<text x="{sx - 4:.1f}" y="{sy - 4:.1f}" class="bias">{escape(names.label("w", layer.name, u, s))}'
                                 f' = {escape(fmt(value))}</text>' if delta_w is None else "")
                else:
                    sx, sy = pos[(k, s)]
                label = f"{names.label('w', layer.name, u, s)} = {fmt(value)}"
                if delta_w is not None:
                    dw = delta_w[p]
                    colour = "#1a7f37" if dw > 0 else "#c62828" if dw < 0 else "#999"
                    stroke = 1 + 7 * abs(dw) / biggest
                    label = f"Δ{names.label('w', layer.name, u, s)} = {fmt(dw)}"
                    parts.append(f'<line x1="{sx:.1f}" y1="{sy:.1f}" x2="{tx - 22:.1f}" y2="{ty:.1f}" stroke="{colour}" '
                                 f'stroke-width="{stroke:.2f}" marker-end="url(#head-{"up" if dw > 0 else "down"})">'
                                 f'<title>{escape(label)}</title></line>')
                else:
                    parts.append(f'<line x1="{sx:.1f}" y1="{sy:.1f}" x2="{tx - 22:.1f}" y2="{ty:.1f}" class="edge">'
                                 f'<title>{escape(label)}</title></line>')
                if s != "bias" or delta_w is not None:
                    t = 0.3 if s != "bias" else 0.5
                    mx, my = sx + (tx - sx) * t, sy + (ty - sy) * t - 5 - 11 * (p % 2)
                    parts.append(f'<text x="{mx:.1f}" y="{my:.1f}" class="wlabel">{escape(label)}</text>')
                p += 1
    for (c, name), (x, y) in pos.items():
        kind = "input" if c == 0 else "unit"
        text = names.label("x", source=name) if c == 0 else name
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="20" class="{kind}"/>'
                     f'<text x="{x:.1f}" y="{y + 4:.1f}" class="uname">{escape(text)}</text>')
    defs = ('<defs><marker id="head-up" markerWidth="6" markerHeight="6" refX="5" refY="3" orient="auto">'
            '<path d="M0,0 L6,3 L0,6 z" fill="#1a7f37"/></marker><marker id="head-down" markerWidth="6" '
            'markerHeight="6" refX="5" refY="3" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#c62828"/></marker></defs>')
    title = "weight changes" if delta_w is not None else "network with initial weights"
    return (f'<svg class="net" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{title}">{defs}{"".join(parts)}</svg>')


def thin(points: list[tuple[float, float]], n: int = MAX_CHART_POINTS) -> list[tuple[float, float]]:
    """At most n points, evenly spaced, always keeping the first and the last."""
    if len(points) <= n:
        return points
    idx = np.unique(np.linspace(0, len(points) - 1, n).round().astype(int))
    return [points[i] for i in idx]


def line_chart(points, xlabel: str, ylabel: str, series=None) -> str:
    """A small inline-SVG line chart; `series` is a list of (name, colour, points) drawn on one set of axes."""
    series = series or [("", "#1f4e79", points)]
    all_pts = [p for _, _, pts in series for p in pts]
    xs, ys = [p[0] for p in all_pts], [p[1] for p in all_pts]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    W, H, L, B = 640, 260, 60, 30
    sx = lambda x: L + (x - x0) / (x1 - x0) * (W - L - 10)
    sy = lambda y: H - B - (y - y0) / (y1 - y0) * (H - B - 10)
    body = []
    for name, colour, pts in series:
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in thin(pts))
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}">'
                    f'<title>{escape(name)}</title></polyline>')
    ticks = (f'<text x="{L - 6}" y="{sy(y1) + 4:.1f}" class="tick" text-anchor="end">{y1:.4g}</text>'
             f'<text x="{L - 6}" y="{sy(y0) + 4:.1f}" class="tick" text-anchor="end">{y0:.4g}</text>'
             f'<text x="{sx(x0):.1f}" y="{H - 12}" class="tick">{x0:g}</text>'
             f'<text x="{sx(x1):.1f}" y="{H - 12}" class="tick" text-anchor="end">{x1:g}</text>')
    axes = (f'<line x1="{L}" y1="{H - B}" x2="{W - 10}" y2="{H - B}" class="axis"/>'
            f'<line x1="{L}" y1="10" x2="{L}" y2="{H - B}" class="axis"/>'
            f'<text x="{(W + L) / 2:.0f}" y="{H - 2}" class="tick" text-anchor="middle">{escape(xlabel)}</text>'
            f'<text x="12" y="{H / 2:.0f}" class="tick" transform="rotate(-90 12 {H / 2:.0f})" '
            f'text-anchor="middle">{escape(ylabel)}</text>')
    return f'<svg class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img">{axes}{ticks}{"".join(body)}</svg>'


PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def weights_chart(w_old, delta_w, params, names) -> str:
    """Every weight over the steps (the weight after each step), one line each."""
    after = w_old + delta_w
    steps = np.arange(1, len(after) + 1)
    series = [(names.label("w", *prm), PALETTE[p % len(PALETTE)], list(zip(steps.tolist(), after[:, p].tolist())))
              for p, prm in enumerate(params)]
    return line_chart([], "step", "weight", series)


def weights_table(w_old, delta_w, chosen, n_steps, params, names, fmt) -> dict:
    """The weights after each step: all steps when few, else the chosen ones and evenly spaced others."""
    if n_steps <= MAX_TABLE_STEPS:
        shown = list(range(1, n_steps + 1))
    else:
        spaced = np.linspace(1, n_steps, MAX_TABLE_STEPS - min(len(chosen), MAX_TABLE_STEPS // 2)).round()
        shown = sorted(set(chosen[:MAX_TABLE_STEPS // 2]) | set(spaced.astype(int).tolist()))
    after = w_old + delta_w
    return {"head": [names.label("w", *prm) for prm in params],
            "rows": [(s, [fmt(v) for v in after[s - 1]]) for s in shown],
            "note": "" if len(shown) == n_steps else f"{len(shown)} of {n_steps} steps shown (the chosen steps and "
                                                     f"evenly spaced others); the trace CSV has every step"}


def summary_html(trace: Trace) -> str:
    """A small report for Jupyter: the setup, the loss curve and the first step."""
    return _env().get_template("summary.html.j2").render(**report_data(trace, None, "1", 4))
