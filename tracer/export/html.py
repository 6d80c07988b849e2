"""HTML report: the computation written out step by step in a course's notation, with the network drawn.

`report_data` prepares plain data (strings, numbers, lists, and MathML/SVG fragments in which every
spec-derived text is escaped here); the Jinja2 template templates/report.html.j2 only lays it out. Every
number comes from the trace; the notation profile (tracer/notation.py) decides the names, the order of the
factors, where the minus sign goes and how the update is written — the values stay the same.
"""
from __future__ import annotations

import math
import re
from html import escape

import numpy as np
from markupsafe import Markup

from ..io.atomic import write_text
from .svg import loss_chart, network_svg, weights_chart
from ..model.notation import profile, to_mathml
from ..io.resources import render_template
from ..steps import select_steps
from ..engine.trace import Trace

SATURATED = 1e-3  # |da/dz| below this: a saturated unit (Maren's vanishing gradient)
MAX_TABLE_STEPS = 200  # the weights-per-step table lists at most this many steps (the chosen ones first)
DEFAULT_ALL = 50  # without a selection, runs up to this many steps are written out in full
MAX_WRITTEN = 100  # never more steps than this written out in full (about 20 kB each for xor: 2 MB)
MAX_SAMPLES = 6  # samples of one batch written out in full; the others are counted in the gradient sums
MAX_TERMS = 8  # terms of a batch sum written out before "…"


def write_report(trace: Trace, path, notation: str | None = None, steps: str | None = None, digits: int = 4) -> None:
    """Write the HTML report of a trace to `path` (atomically, self-contained, deterministic)."""
    write_text(path, render_report(trace, notation=notation, steps=steps, digits=digits))


def render_report(trace: Trace, notation: str | None = None, steps: str | None = None, digits: int = 4) -> str:
    """The report as one HTML string: setup, the chosen steps written out, the run across the steps."""
    return render_template("report.html.j2", **report_data(trace, notation, steps, digits))


def summary_html(trace: Trace) -> str:
    """A small report for Jupyter (Trace._repr_html_): setup, network, loss curve and the first step.

    A trace read from CSV files has no spec to write formulas from: then only the size of its tables.
    """
    if trace.spec is None:
        rows = "".join(f"<tr><th>{escape(n)}</th><td>{len(t)} rows</td></tr>" for n, t in trace.tables.items())
        return f'<div class="tracer-summary"><strong>Trace</strong> ({trace.step_count()} steps)<table>{rows}</table></div>'
    return render_template("summary.html.j2", **report_data(trace, None, "1", 4))


class Fmt:
    """Numbers as the report shows them: `digits` significant digits, a real minus sign."""

    def __init__(self, digits: int):
        if digits < 1:
            from ..errors import TracerError

            raise TracerError("--digits", f"{digits} digits: use a number of significant digits >= 1")
        self.digits = digits

    def __call__(self, v: float) -> str:
        v = float(v)
        if v != v:
            return "NaN"
        if v in (float("inf"), float("-inf")):
            return "∞" if v > 0 else "−∞"
        if v == 0:
            return "0"
        text = f"{v:.{self.digits}g}"
        if "e" in text:
            mant, exp = text.split("e")
            text = f"{mant}·10^{int(exp)}"
        return text.replace("-", "−")

    def mn(self, v: float, paren: bool = False) -> str:
        """A number as MathML; in parentheses when negative and `paren` (0.6 · (−0.9))."""
        text = escape(self(v))
        if "·10^" in text:
            mant, exp = text.split("·10^")
            body = f"<mn>{mant}</mn><mo>·</mo><msup><mn>10</mn><mn>{exp}</mn></msup>"
        else:
            body = f"<mn>{text}</mn>"
        return f"{LP}{body}{RP}" if paren and float(v) < 0 else body


LP, RP, LB, RB = (f'<mo stretchy="false">{b}</mo>' for b in "()[]")  # brackets keep their size


def mo(op: str) -> str:
    return f"<mo>{escape(op)}</mo>"


TIMES = mo("·")
LN = "<mi>ln</mi><mo>&#x2061;</mo>"  # ln applied to what follows
_LEADING = re.compile(r'<mo stretchy="false">\(</mo>(<mn>[^<]*</mn>)<mo stretchy="false">\)</mo>')


def times(parts) -> str:
    """A product of MathML factors; a negative first factor without parentheses (−0.58 · 0.42 · (1 − 0.42))."""
    parts = list(parts)
    if parts and (m := _LEADING.fullmatch(parts[0])):
        parts[0] = m[1]
    return TIMES.join(parts)


def paren(x: str) -> str:
    return LP + x + RP


def frac(top: str, bottom: str) -> str:
    return f"<mfrac><mrow>{top}</mrow><mrow>{bottom}</mrow></mfrac>"


def sq(x: str) -> str:
    return f"<msup><mrow>{x}</mrow><mn>2</mn></msup>"


_TAG = re.compile(r"<[^>]*>")


def eq(*sides: str, arrow: bool = False) -> Markup:
    """A display formula: the sides joined by '=' (the first by '←' for an assignment).

    Empty sides and a side that only repeats the one before (Maren's label αA_0(1 − A_0) is its formula) go.
    """
    sides = [s for i, s in enumerate(sides) if s and (i == 0 or _TAG.sub("", s) != _TAG.sub("", sides[i - 1]))]
    head = sides[0] + (mo("←") + sides[1] if arrow else "")
    rest = sides[2:] if arrow else sides[1:]
    body = mo("=").join([head, *rest])
    return Markup(f'<div class="eq"><math displaystyle="true"><mrow>{body}</mrow></math></div>')


class Writer:
    """Writes one trace's quantities as MathML in one notation: labels, numbers, formulas of the source."""

    def __init__(self, spec, names, fmt: Fmt):
        self.spec, self.names, self.fmt, self.p = spec, names, fmt, names.profile
        self.layer_of = {u: l for l in spec.layers for u in l.units}
        self.last = spec.layers[-1]

    def L(self, kind, layer=None, unit=None, source=None) -> str:
        """A quantity's label as MathML."""
        return to_mathml(self.names.label(kind, layer, unit, source))

    def n(self, v, paren_negative=True) -> str:
        return self.fmt.mn(v, paren_negative)

    def n1(self, v) -> str:
        """A number subtracted from 1 (a in a(1 − a), 1 − a²): digits enough that 1 − a does not show as 0."""
        gap = abs(1.0 - abs(float(v)))
        if gap == 0 or gap >= 10.0 ** -(self.fmt.digits - 1):
            return self.n(v)
        return Fmt(min(17, self.fmt.digits + math.ceil(-math.log10(gap)))).mn(v, True)

    def input_label(self, source: str) -> str:
        """What feeds a weight: 1 for the bias, an input x, or the activation of a unit before."""
        if source == "bias":
            return "<mn>1</mn>"
        if source in self.spec.inputs:
            return self.L("x", source=source)
        return self.L("a", self.layer_of[source].name, source)

    def act_symbol(self, layer) -> str:
        """The source's name for an activation function (Ekman's S, Maren's F, σ)."""
        name = layer.activation.name
        return to_mathml(self.p.act_symbols[name]) if name in self.p.act_symbols else f"<mi>{escape(name)}</mi>"

    # -- derivative of the activation, written from the stored a (Ekman, Maren eq. 6.2) --
    def derivative(self, layer, unit, z: float, a: float) -> tuple[str, str | None]:
        """(symbolic, substituted) da/dz of a unit; substituted is None where nothing is to substitute."""
        act, A = layer.activation, self.L("a", layer.name, unit)
        build = DERIVATIVES.get(act.name)
        if build is None:
            return f"<mtext>{escape(act.derivative)}</mtext>", None
        return build(self, act, A, z, a)

    def fused(self) -> bool:
        """True when the output error term has the loss's own form (cross-entropy: the a(1 - a) cancel)."""
        return self.spec.loss.name in FUSED

    def chain_ok(self, layer) -> bool:
        """True when a unit's error term is dE/da times da/dz (not softmax's Jacobian, not a fused loss)."""
        return not layer.activation.vector and not (layer is self.last and self.fused())


# -- derivatives: (writer, activation, a label, z, a) -> (symbolic, substituted) --
def _sigmoid(w, act, A, z, a):
    gain = (w.n(act.alpha), w.n(act.alpha)) if act.alpha != 1 else ("", "")
    sym = "<mi>α</mi>" + A + paren("<mn>1</mn>" + mo("−") + A) if gain[0] else A + paren("<mn>1</mn>" + mo("−") + A)
    num = (gain[1] + TIMES if gain[1] else "") + w.n1(a) + TIMES + paren("<mn>1</mn>" + mo("−") + w.n1(a))
    return sym, num


def _tanh(w, act, A, z, a):
    base = paren(A) if "<msup" in A or "<msubsup" in A else A  # (a^1_1)², not a^1_1 ²
    return "<mn>1</mn>" + mo("−") + sq(base), paren("<mn>1</mn>" + mo("−") + sq(w.n1(a)))


def _step_like(text_true: str, text_false: str, cond: str):
    def build(w, act, A, z, a):
        return f"<mtext>{escape(text_true)} if z {escape(cond)}, else {escape(text_false)}</mtext>", None
    return build


def _leaky(w, act, A, z, a):
    return f"<mtext>1 if z &gt; 0, else {escape(w.fmt(act.slope))}</mtext>", None


def _piecewise(w, act, A, z, a):
    return (f"<mtext>{escape(w.fmt(act.m))} if {escape(w.fmt(act.xmin))} &lt; z &lt; {escape(w.fmt(act.xmax))},"
            " else 0</mtext>"), None


def _gaussian(w, act, A, z, a):
    top_s = mo("−") + paren("<mi>z</mi>" + mo("−") + "<mi>μ</mi>")
    top_n = mo("−") + paren(w.n(z) + mo("−") + w.n(act.mu))
    return (frac(top_s, sq("<mi>σ</mi>")) + A,
            frac(top_n, sq(w.n(act.sigma))) + TIMES + w.n(a))


def _constant(value: str):
    def build(w, act, A, z, a):
        return f"<mn>{value}</mn>", None
    return build


def _softmax_diag(w, act, A, z, a):
    return A + paren("<mn>1</mn>" + mo("−") + A), w.n1(a) + TIMES + paren("<mn>1</mn>" + mo("−") + w.n1(a))


DERIVATIVES = {"sigmoid": _sigmoid, "tanh": _tanh, "relu": _step_like("1", "0", "> 0"), "leaky_relu": _leaky,
               "linear": _constant("1"), "piecewise_linear": _piecewise, "gaussian": _gaussian,
               "threshold": _constant("0"), "softmax": _softmax_diag}


# -- the loss and its derivative, per loss, as the source writes them (error_form: Ekman -(y - a), Frey a - y) --
def _diff(w, y, a, y_num=None, a_num=None):
    """(y − a) or (a − y) as the profile orders the error, symbolic or with numbers."""
    first, second = (a, y) if w.p.error_form == "a-y" else (y, a)
    return paren(first + mo("−") + second)


def _loss_terms(w, outs, numeric: bool):
    """Terms of the loss over the output units."""
    loss = w.spec.loss.name
    terms = []
    for y_l, a_l, y, a in outs:
        Y, A = (w.n(y), w.n(a)) if numeric else (y_l, a_l)
        if loss in ("half_sse", "sse"):
            terms.append(sq(_diff(w, Y, A)))
        elif loss == "binary_cross_entropy":
            one_minus = lambda x: paren("<mn>1</mn>" + mo("−") + x)
            times_ = TIMES if numeric else ""
            terms.append(Y + times_ + LN + A + mo("+") + one_minus(Y) + times_ + LN + one_minus(A))
        else:  # cross_entropy
            terms.append(Y + TIMES + LN + A if numeric else Y + LN + A)
    return terms


def _loss_sides(w, outs) -> tuple[str, str] | None:
    """(formula, numbers) of one sample's loss, or None for a loss the report has no formula for."""
    loss = w.spec.loss.name
    if loss not in ("half_sse", "sse", "binary_cross_entropy", "cross_entropy"):
        return None
    sides = []
    for numeric in (False, True):
        terms = _loss_terms(w, outs, numeric)
        body = mo("+").join(terms)
        if loss == "half_sse":
            if w.p.half == "/2":  # Ekman: (y − f)²/2
                body = frac(body, "<mn>2</mn>")
            else:  # Maren eq. (6.5), Frey: 1/2 Σ
                body = frac("<mn>1</mn>", "<mn>2</mn>") + (paren(body) if len(terms) > 1 else body)
        elif loss in ("binary_cross_entropy", "cross_entropy"):
            body = mo("−") + f"{LB}{body}{RB}"
        sides.append(body)
    return sides[0], sides[1]


def loss_line(w, outs, value: float) -> Markup:
    """E = formula = numbers = value (Ekman: MSE = (y − y_f)²/2 = (1.0 − 0.42)²/2 = 0.17)."""
    sides = _loss_sides(w, outs)
    if sides is None:
        return eq(w.L("loss"), f"<mtext>{escape(w.spec.loss.formula)}</mtext>", w.n(value, False))
    return eq(w.L("loss"), *sides, w.n(value, False))


def _dE_da(w, y_l, a_l, y, a):
    """(symbolic, substituted) dE/da of an output unit for the spec's loss."""
    loss = w.spec.loss.name
    out = []
    for Y, A in ((y_l, a_l), (w.n(y), w.n(a))):
        if loss == "half_sse":
            out.append(mo("−") + paren(Y + mo("−") + A) if w.p.error_form == "-(y-a)" else A + mo("−") + Y)
        elif loss == "sse":  # Davila: dC/da = 2(a − y)
            out.append("<mn>2</mn>" + paren(A + mo("−") + Y))
        elif loss == "binary_cross_entropy":
            out.append(frac(A + mo("−") + Y, A + paren("<mn>1</mn>" + mo("−") + A)))
        elif loss == "cross_entropy":
            out.append(mo("−") + frac(Y, A))
        else:
            return f"<mtext>{escape(w.spec.loss.derivative)}</mtext>", None
    return out[0], out[1]


def _fused_delta(w, layer, y_l, a_l, y, a, y_sum):
    """(symbolic, substituted) output error term of cross-entropy losses: α(a − y), or a Σy − y for softmax."""
    if w.spec.loss.name == "binary_cross_entropy":
        alpha = layer.activation.alpha
        if alpha != 1:
            return "<mi>α</mi>" + paren(a_l + mo("−") + y_l), w.n(alpha) + TIMES + paren(w.n(a) + mo("−") + w.n(y))
        return a_l + mo("−") + y_l, w.n(a) + mo("−") + w.n(y)
    if y_sum == 1:
        return a_l + mo("−") + y_l, w.n(a) + mo("−") + w.n(y)
    return (a_l + "<munder><mo>Σ</mo><mi>j</mi></munder><msub><mi>y</mi><mi>j</mi></msub>" + mo("−") + y_l,
            w.n(a) + TIMES + w.n(y_sum) + mo("−") + w.n(y))


FUSED = ("binary_cross_entropy", "cross_entropy")


def report_data(trace: Trace, notation: str | None, steps: str | None, digits: int) -> dict:
    """Everything the template shows, prepared: setup, chosen steps, charts and the weights table."""
    spec = trace.spec
    names = profile(notation, spec)
    fmt = Fmt(digits)
    w = Writer(spec, names, fmt)
    n_steps = trace.step_count()
    chosen, steps_note = chosen_steps(steps if steps is not None else spec.steps, n_steps)
    P = sum(l.weights.size for l in spec.layers)
    upd = trace.updates
    w_old = upd["w_old"].to_numpy().reshape(-1, P)
    delta_w = upd["delta_w"].to_numpy().reshape(-1, P)
    params = [(l.name, u, s) for l in spec.layers for u in l.units for s in l.sources]
    initial = np.concatenate([l.weights.ravel() for l in spec.layers])
    per_epoch = trace.epoch_losses()
    tables = _chosen_rows(trace, chosen)
    return {
        "title": spec.title or spec.name, "name": spec.name, "source": spec.source, "description": spec.description,
        "notation": names.profile.title, "sign_note": names.profile.sign_note, "delta_word": names.profile.delta_word,
        "setup": setup_rows(spec, names, fmt),
        "data_head": [Markup(to_mathml(names.label("x", source=s))) for s in spec.inputs]
                     + [Markup(w.L("target", spec.output.name, u)) for u in spec.output.units],
        "data_rows": [[fmt(v) for v in [*x, *y]] for x, y in zip(spec.x[:MAX_TABLE_STEPS], spec.y[:MAX_TABLE_STEPS])],
        "data_note": "" if len(spec.x) <= MAX_TABLE_STEPS else f"first {MAX_TABLE_STEPS} of {len(spec.x)} samples",
        "network": Markup(network_svg(spec, names, fmt, initial)),
        "loss_formula": loss_formula(w),
        "update_formula": Markup(f"<math>{to_mathml(names.profile.update)}</math>"),
        "n_steps": n_steps, "chosen": chosen, "steps_note": steps_note,
        "steps": [step_data(w, tables, s, delta_w[s - 2] if s > 1 else None) for s in chosen],
        "loss_chart": Markup(loss_chart(per_epoch, names.label("loss"))) if len(per_epoch) else "",
        "weights_chart": Markup(weights_chart(initial, w_old + delta_w, params, names)) if n_steps else "",
        "weights_table": weights_table(w_old + delta_w, chosen, n_steps, params, names, fmt),
        "stopped": trace.stopped,
    }


def chosen_steps(selection: str | None, n_steps: int) -> tuple[list[int], str]:
    """The steps written out, and a note when a long run is cut down so the page stays small.

    No selection and more than DEFAULT_ALL steps: the first three and the last. A selection of more than
    MAX_WRITTEN steps: its first MAX_WRITTEN. Every step stays in the charts, the table and the trace CSV.
    """
    if not n_steps:
        return [], ""
    if not (selection or "").strip() and n_steps > DEFAULT_ALL:
        chosen = select_steps("1-3,last", n_steps)
        return chosen, (f"{n_steps} steps: steps 1-3 and the last are written out (choose others with --steps "
                        "or the spec's steps:)")
    chosen = select_steps(selection, n_steps)
    if len(chosen) > MAX_WRITTEN:
        return chosen[:MAX_WRITTEN], (f"{len(chosen)} steps chosen: the first {MAX_WRITTEN} are written out, "
                                      "so the page stays small")
    return chosen, ""


def _chosen_rows(trace: Trace, chosen: list[int]) -> dict:
    """The rows of the chosen steps only, grouped by step (a long run is filtered once)."""
    out = {}
    for name in ("nodes", "weights", "updates", "losses"):
        table = trace.tables[name]
        table = table[table["step"].isin(chosen)]
        out[name] = {s: g for s, g in table.groupby("step", sort=True)}
    return out


def setup_rows(spec, names, fmt) -> list[tuple[str, str]]:
    """Label / value rows describing the network and training."""
    layers = "; ".join(f"{l.name}: {len(l.units)} unit(s) ({', '.join(l.units)}), {l.activation.describe()}"
                       f"{'' if l.bias else ', no bias'}{', frozen ' + str(int(l.frozen.sum())) if l.frozen.any() else ''}"
                       for l in spec.layers)
    rows = [("inputs", ", ".join(spec.inputs)), ("layers", layers),
            ("loss", f"{spec.loss.name}: {spec.loss.formula}"),
            (f"learning rate {names.label('eta')}", fmt(spec.learning_rate)),
            ("training", f"{spec.training.mode}, {spec.training.epochs} epoch(s), {spec.batch_size} sample(s) per "
                         f"update, gradient = {spec.training.reduction} over the batch"
                         f"{', shuffled (seed ' + str(spec.training.seed) + ')' if spec.training.shuffle else ''}")]
    if spec.weight_decay:
        rows.append(("weight decay λ", fmt(spec.weight_decay)))
    if spec.momentum:
        rows.append(("momentum μ", fmt(spec.momentum)))
    return rows


def loss_formula(w: Writer) -> Markup:
    """The loss of one sample as the chosen source writes it (with or without the 1/2)."""
    out = w.spec.output
    outs = [(w.L("target", out.name, u), w.L("a", out.name, u), 0.0, 0.0) for u in out.units]
    sides = _loss_sides(w, outs)
    return eq(w.L("loss"), sides[0] if sides else f"<mtext>{escape(w.spec.loss.formula)}</mtext>")


def step_data(w: Writer, tables: dict, step: int, prev_delta_w) -> dict:
    """One step written out: per sample the forward and backward lines, then the gradients and updates."""
    nodes, weights = tables["nodes"][step], tables["weights"][step]
    updates, losses = tables["updates"][step], tables["losses"][step]
    order = losses["sample"].tolist()
    shown = order[:MAX_SAMPLES]
    samples = [sample_data(w, nodes[nodes["sample"] == s], weights[weights["sample"] == s],
                           float(losses.loc[losses["sample"] == s, "loss"].iloc[0]), s, len(order) > 1)
               for s in shown]
    batch = len(order) > 1
    if batch:
        per_sample = {s: g["grad"].to_numpy() for s, g in weights.groupby("sample", sort=False)}
        groups = update_lines(w, updates, [per_sample[s] for s in order], None, prev_delta_w)
    else:
        node = {r.unit: r for r in nodes.itertuples(index=False)}
        wrows = {(r.unit, r.source): r for r in weights.itertuples(index=False)}
        groups = update_lines(w, updates, None, (node, wrows), prev_delta_w)
    return {"step": step, "epoch": int(updates["epoch"].iloc[0]), "samples": samples, "groups": groups,
            "batch": batch, "n_samples": len(order), "hidden_samples": len(order) - len(shown),
            "sample_order": ", ".join(str(s) for s in order[:40]) + (" …" if len(order) > 40 else ""),
            "arrows": Markup(network_svg(w.spec, w.names, w.fmt, updates["w_old"].to_numpy(),
                                         updates["delta_w"].to_numpy()))}


def sample_data(w: Writer, nodes, weights, loss: float, sample: int, batch: bool) -> dict:
    """Forward lines (formula, numbers, result), the loss, the backward lines and gradients of one sample."""
    spec = w.spec
    node = {r.unit: r for r in nodes.itertuples(index=False)}
    wrows = {(r.unit, r.source): r for r in weights.itertuples(index=False)}
    forward = []
    for layer in spec.layers:
        for u in layer.units:
            sym, num = [], []
            for s in layer.sources:
                r = wrows[(u, s)]
                W = w.L("w", layer.name, u, s)
                if s == "bias":
                    sym.append(W)
                    num.append(w.n(r.w, False) if not sym[:-1] else w.n(r.w))
                else:
                    sym.append(W + "<mo>&#x2062;</mo>" + w.input_label(s))
                    num.append(w.n(r.w, bool(num)) + TIMES + w.n(r.input))
            nd = node[u]
            Z, A = w.L("z", layer.name, u), w.L("a", layer.name, u)
            f = w.act_symbol(layer)
            if layer.activation.vector:
                zs = [node[v].z for v in layer.units]
                a_sym = f + paren(mo(",").join(w.L("z", layer.name, v) for v in layer.units)) \
                    + f"<msub><mrow/><mi>{escape(u)}</mi></msub>"
                a_num = f + paren(mo(",").join(w.n(v, False) for v in zs))
            else:
                a_sym, a_num = f + paren(Z), f + paren(w.n(nd.z, False))
            forward.append({"z": eq(Z, mo("+").join(sym), mo("+").join(num), w.n(nd.z, False)),
                            "a": eq(A, a_sym, a_num, w.n(nd.a, False))})
    out = spec.output
    outs = [(w.L("target", out.name, u), w.L("a", out.name, u), node[u].target, node[u].a) for u in out.units]
    backward, saturated = [], []
    for k in range(len(spec.layers) - 1, -1, -1):
        layer = spec.layers[k]
        for u in layer.units:
            lines, flag = unit_backward(w, k, u, node, wrows, outs)
            backward.append({"lines": lines, "saturated": flag})
            if flag:
                saturated.append(w.names.label("a", layer.name, u))
    grads = grad_lines(w, node, wrows) if (w.p.show_grad or batch) else []
    return {"sample": sample, "forward": forward, "loss": loss_line(w, outs, loss),
            "backward": backward, "saturated": saturated, "grads": grads}


def unit_backward(w: Writer, k: int, u: str, node: dict, wrows: dict, outs) -> tuple[list, bool]:
    """The lines of one unit's error term: loss derivative or back-propagated sum, derivative, error term."""
    spec, layer = w.spec, w.spec.layers[k]
    nd = node[u]
    lbl = (layer.name, u)
    D, dE, DZ = w.L("delta", *lbl), w.L("dE_da", *lbl), w.L("da_dz", *lbl)
    d_sym, d_num = w.derivative(layer, u, nd.z, nd.a)
    flag = bool(layer.activation.saturates and abs(nd.da_dz) < SATURATED)
    lines = []
    if layer is w.last:
        y_l, a_l = w.L("target", *lbl), w.L("a", *lbl)
        e_sym, e_num = _dE_da(w, y_l, a_l, nd.target, nd.a)
        lines.append(eq(dE, e_sym, e_num, w.n(nd.dE_da, False)))
        if w.fused():
            y_sum = float(sum(node[v].target for v in layer.units))
            f_sym, f_num = _fused_delta(w, layer, y_l, a_l, nd.target, nd.a, y_sum)
            lines.append(eq(D, f_sym, f_num, w.n(nd.delta, False)))
            return lines, flag
        factors = {"dE_da": (dE, w.n(nd.dE_da))}
    else:
        nxt = spec.layers[k + 1]
        terms_s, terms_n = [], []
        for v in nxt.units:
            r = wrows[(v, u)]
            parts = {"w": (w.L("w", nxt.name, v, u), w.n(r.w)), "delta": (w.L("delta", nxt.name, v), w.n(node[v].delta))}
            terms_s.append(TIMES.join(parts[t][0] for t in w.p.sum_terms))
            terms_n.append(times(parts[t][1] for t in w.p.sum_terms))
        many = len(terms_s) > 1
        s_sym = mo("+").join(terms_s)
        s_num = mo("+").join(terms_n)
        if w.p.inline:  # Ekman: error term g = error term f · w_gf1 · y'_g, no separate line for the sum
            factors = {"sum": (paren(s_sym) if many else s_sym, paren(s_num) if many else s_num)}
        else:
            lines.append(eq(dE, s_sym, s_num, w.n(nd.dE_da, False)))
            factors = {"sum": (dE, w.n(nd.dE_da))}
    if not w.chain_ok(layer):  # softmax: delta_k = a_k (dE/da_k − Σ_j a_j dE/da_j)
        A = w.L("a", *lbl)
        inner_s = dE + mo("−") + "<munder><mo>Σ</mo><mi>j</mi></munder><msub><mi>a</mi><mi>j</mi></msub>" \
                  + "<msub><mi>∂E/∂a</mi><mi>j</mi></msub>"
        inner_n = w.n(nd.dE_da) + mo("−") + paren(mo("+").join(
            w.n(node[v].a) + TIMES + w.n(node[v].dE_da) for v in layer.units))
        lines.append(eq(D, A + paren(inner_s), w.n(nd.a) + TIMES + paren(inner_n), w.n(nd.delta, False)))
        return lines, flag
    if w.p.inline and d_num is not None:
        factors["da_dz"] = (DZ, d_num)
    else:
        lines.append(eq(DZ, d_sym, d_num or "", w.n(nd.da_dz, False)))
        factors["da_dz"] = (DZ, w.n(nd.da_dz))
    key = w.p.output_delta if layer is w.last else w.p.hidden_delta
    key = tuple("dE_da" if f == "sum" and layer is w.last else "sum" if f == "dE_da" and layer is not w.last else f
                for f in key)
    lines.append(eq(D, TIMES.join(factors[f][0] for f in key), times(factors[f][1] for f in key),
                    w.n(nd.delta, False)))
    return lines, flag


def _factors(w: Writer, layer, u: str, s: str, nd, r, numeric: bool, role: str) -> list[str]:
    """dE/dw of one weight as the source's product (Frey δ_j a_i, CS 510 a_k δ_j, Maren −E_o F_o(1−F_o) H_h)."""
    kinds = w.p.factors(role)
    if not w.chain_ok(layer):
        kinds = tuple(k for k in kinds if k not in ("dE_da", "da_dz")) or ("input", "delta")
        if "delta" not in kinds:
            kinds = kinds + ("delta",)
    out = []
    for kind in kinds:
        if kind == "input":
            out.append(w.n(r.input) if numeric else w.input_label(s))
        else:
            out.append(w.n(getattr(nd, kind)) if numeric else w.L(kind, layer.name, u))
    return out


def grad_lines(w: Writer, node: dict, wrows: dict) -> list[Markup]:
    """dE/dw = product of factors = numbers = value, for every weight, for one sample (Frey eq. 1)."""
    lines = []
    for layer in w.spec.layers:
        role = "output" if layer is w.last else "hidden"
        for u in layer.units:
            nd = node[u]
            for s in layer.sources:
                r = wrows[(u, s)]
                lines.append(eq(w.L("grad", layer.name, u, s),
                                TIMES.join(_factors(w, layer, u, s, nd, r, False, role)),
                                times(_factors(w, layer, u, s, nd, r, True, role)), w.n(r.grad, False)))
    return lines


def update_lines(w: Writer, updates, per_sample: list | None, online, prev_delta_w) -> list[dict]:
    """Gradients of the batch (if any), then the updates as the source writes them; groups with titles.

    per_sample: each sample's gradients (a batch step); online: (nodes by unit, weight rows) of a one-sample step.
    """
    spec, p = w.spec, w.p
    eta, lam, mu = spec.learning_rate, spec.weight_decay, spec.momentum
    frozen = np.concatenate([l.frozen.ravel() for l in spec.layers])
    rows = list(updates.itertuples(index=False))
    groups = []
    if per_sample is not None:
        mean = spec.training.reduction == "mean"
        m = len(per_sample)
        lines = []
        for i, r in enumerate(rows):
            terms = [w.n(g[i]) for g in per_sample]
            terms[0] = _LEADING.sub(r"\1", terms[0])  # (−0.05 + 0.07 + …), no brackets on the first term
            if len(terms) > MAX_TERMS:
                terms = terms[:MAX_TERMS - 2] + ["<mo>…</mo>", terms[-1]]
            total = mo("+").join(terms)
            G = w.L("grad", r.layer, r.unit, r.source)
            sym = (frac("<mn>1</mn>", f"<mn>{m}</mn>") if mean else "") + \
                "<munderover><mo>Σ</mo><mrow><mi>d</mi><mo>=</mo><mn>1</mn></mrow>" \
                f"<mn>{m}</mn></munderover><msub><mrow>{paren(G)}</mrow><mi>d</mi></msub>"
            num = (frac("<mn>1</mn>", f"<mn>{m}</mn>") + paren(total)) if mean else total
            lines.append(eq(G, sym, num, w.n(r.grad, False)))
        groups.append({"title": f"Gradients: {'mean' if mean else 'sum'} over the {m} samples of the batch",
                       "lines": lines})
    Eta = w.L("eta")
    def product(layer, r, numeric):
        """One sample's dE/dw as the source's product of factors (Ekman: input · error term)."""
        node, wrows = online
        return TIMES.join(
            _factors(w, layer, r.unit, r.source, node[r.unit], wrows[(r.unit, r.source)], numeric, _role(w, layer)))

    changes, news = [], []
    for i, r in enumerate(rows):
        lbl = (r.layer, r.unit, r.source)
        Wl, G, DW, WN = (w.L(k, *lbl) for k in ("w", "grad", "delta_w", "w_new"))
        layer = next(l for l in spec.layers if l.name == r.layer)
        if frozen[i]:
            changes.append(eq(WN, Wl, w.n(r.w_old, False) + "<mspace width='1em'/><mtext>(frozen)</mtext>"))
            continue
        # the gradient as a product of factors where it is one sample's (Ekman: lr · input · error term)
        if online is not None and not lam and not mu and not p.show_grad:
            g_sym, g_num = product(layer, r, False), product(layer, r, True)
        else:
            g_sym, g_num = G, w.n(r.grad)
        if lam:
            g_sym = paren(g_sym + mo("+") + "<mi>λ</mi>" + Wl)
            g_num = paren(times([g_num]) + mo("+") + w.n(lam) + TIMES + w.n(r.w_old))
        new_num = w.n(r.w_old, False) + (mo("−") + w.n(-r.delta_w, False) if r.delta_w < 0
                                         else mo("+") + w.n(r.delta_w, False))
        if mu or p.update_form == "add":
            sym = mo("−") + Eta + TIMES + g_sym
            num = mo("−") + w.n(eta, False) + TIMES + g_num
            if mu:
                prev = prev_delta_w[i] if prev_delta_w is not None else 0.0
                sym = "<mi>μ</mi>" + f"<msub><mrow>{DW}</mrow><mtext>prev</mtext></msub>" + sym
                num = w.n(mu, False) + TIMES + w.n(prev) + num
            changes.append(eq(DW, sym, num, w.n(r.delta_w, False)))
            news.append(eq(WN, Wl + mo("+") + DW, new_num, w.n(r.w_new, False)))
        elif p.update_form == "decay" and lam:  # CS 510: w ← (1 − α) w − α a δ
            keep_s = "<mn>1</mn>" + mo("−") + Eta + ("" if lam == 1 else "<mi>λ</mi>")
            keep_n = "<mn>1</mn>" + mo("−") + w.n(eta, False) + ("" if lam == 1 else TIMES + w.n(lam))
            if online is not None and not mu:
                g_s, g_n = product(layer, r, False), product(layer, r, True)
            else:
                g_s, g_n = G, w.n(r.grad)
            changes.append(eq(Wl, paren(keep_s) + Wl + mo("−") + Eta + TIMES + g_s,
                              paren(keep_n) + TIMES + w.n(r.w_old) + mo("−") + w.n(eta, False) + TIMES + g_n,
                              w.n(r.w_new, False), arrow=True))
        else:  # Frey eq. (5): w ← w − η ∂E/∂w
            changes.append(eq(Wl, Wl + mo("−") + Eta + TIMES + g_sym,
                              w.n(r.w_old, False) + mo("−") + w.n(eta, False) + TIMES + g_num,
                              w.n(r.w_new, False), arrow=True))
    if news:
        groups.append({"title": "Weight changes", "lines": changes})
        groups.append({"title": "New weights", "lines": news})
    else:
        groups.append({"title": "Weight updates", "lines": changes})
    return groups


def _role(w: Writer, layer) -> str:
    return "output" if layer is w.last else "hidden"


def weights_table(w_after, chosen, n_steps, params, names, fmt) -> dict:
    """The weights after each step: all steps when few, else the chosen ones and evenly spaced others."""
    if n_steps <= MAX_TABLE_STEPS:
        shown = list(range(1, n_steps + 1))
    else:
        spaced = np.linspace(1, n_steps, MAX_TABLE_STEPS - min(len(chosen), MAX_TABLE_STEPS // 2)).round()
        shown = sorted(set(chosen[:MAX_TABLE_STEPS // 2]) | set(spaced.astype(int).tolist()))
    return {"head": [Markup(to_mathml(names.label("w", *prm))) for prm in params],
            "rows": [(s, [fmt(v) for v in w_after[s - 1]]) for s in shown],
            "note": "" if len(shown) == n_steps else f"{len(shown)} of {n_steps} steps shown (the chosen steps and "
                                                     f"evenly spaced others); the trace CSV has every step"}
