"""Notation profiles: how each source document names the quantities of the trace.

A profile is data: one label template per quantity (optionally per role: the first layer, the output
layer), the loss symbol, and how the source writes the loss and the update. Exporters ask a profile for a
label; they never branch on the course. Templates use placeholders filled per unit or weight:

  {u} unit name      {L} layer name     {l} layer number (1 = first layer), {l1} the next one   {Lrel} L, L-1, ... (Davila)
  {j} unit number (1-based)   {j0} (0-based)   {i} source number (0 = bias, 1.. inputs)   {i0} 0-based input
  {s} source name    {p} Ekman's source letter: x for the inputs, else the previous layer's name in lower case
  {w} the weight's own label (for gradients, delta w and new weights)

Labels are plain text with `_` for a subscript and `^` for a superscript (`h_1^o`); `math()` turns them
into MathML for the HTML report.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

KINDS = ("x", "target", "z", "a", "da_dz", "dE_da", "delta", "w", "grad", "delta_w", "w_new", "loss", "eta")


@dataclass(frozen=True)
class Profile:
    """One course's names for the quantities of backpropagation, and how it writes the loss and update."""

    name: str
    title: str
    labels: dict  # kind or kind.role -> template
    loss_symbol: str = "E"
    delta_word: str = "delta"  # Ekman: "error term"
    half: str = "1/2"  # how the source writes the 1/2 of the loss ('' when it has none)
    update: str = "w ← w − η ∂E/∂w"  # the update as the source writes it
    sign_note: str = ""  # where the source puts the minus sign
    # How the source writes the backward pass and the update (the HTML report follows these; the numbers
    # always come from the trace):
    error_form: str = "a-y"  # dE/da of the half SSE: 'a-y' (Frey eq. 10, CS 510) or '-(y-a)' (Ekman MSE', Maren)
    output_delta: tuple = ("dE_da", "da_dz")  # factor order of the output error term (Davila: σ' first)
    hidden_delta: tuple = ("sum", "da_dz")  # factor order of a hidden error term (Frey eq. 4: g' first)
    sum_terms: tuple = ("w", "delta")  # order inside the back-propagated sum (Frey: δ_k w_jk)
    grad_factors: dict = field(default_factory=lambda: {"": ("input", "delta")})  # dE/dw as a product, by role
    update_form: str = "descent"  # 'descent' w <- w - η g; 'add' Δw = -η g, w + Δw; 'decay' (1 - αλ) w - α g
    inline: bool = False  # derivative and back-propagated sum written inside the error-term line (Ekman)
    show_grad: bool = True  # a line per gradient before the update (Ekman goes straight to Δw)
    act_symbols: dict = field(default_factory=dict)  # activation name -> the source's symbol (Ekman: S)
    extra: dict = field(default_factory=dict)

    def factors(self, role: str) -> tuple:
        """The factors of dE/dw for a weight of a unit in `role` ('output' or 'hidden')."""
        return self.grad_factors.get(role, self.grad_factors[""])

    def template(self, kind: str, role: str) -> str:
        """The template for a quantity: the role-specific one if the profile has it."""
        for key in (f"{kind}.{role}", kind):
            if key in self.labels:
                return self.labels[key]
        return GENERIC.labels[kind]


GENERIC = Profile(
    name="generic", title="Generic (z, a, delta, w, b)",
    labels={
        "x": "{s}", "target": "y_{u}", "z": "z_{u}", "a": "a_{u}", "da_dz": "f'(z_{u})", "dE_da": "dE/da_{u}",
        "delta": "delta_{u}", "w": "w_{u},{s}", "w.bias": "b_{u}", "grad": "dE/d{w}", "delta_w": "Δ{w}",
        "w_new": "{w} new", "loss": "E", "eta": "eta",
    },
)

PROFILES = {p.name: p for p in (
    GENERIC,
    Profile(
        name="ekman", title="Ekman, Learning Deep Learning (w_xg0, y_g, error term)",
        labels={
            "x": "{s}", "target": "y{J}", "z": "z_{u}", "a": "y_{u}", "da_dz": "y'_{u}", "dE_da": "dE/dy_{u}",
            "dE_da.output": "MSE'{J}", "delta": "error term {u}", "w": "w_{p}{u}{i}", "grad": "dE/d{w}",
            "delta_w": "Δ{w}", "w_new": "{w} new", "loss": "MSE", "eta": "lr",
        },
        loss_symbol="MSE", delta_word="error term", half="/2",
        update="Δw = −lr · input · error term; w = w + Δw",
        sign_note="Ekman puts the minus sign into Δw and then adds it to the weight",
        error_form="-(y-a)", output_delta=("dE_da", "da_dz"), hidden_delta=("sum", "da_dz"),
        sum_terms=("delta", "w"), update_form="add", inline=True, show_grad=False, act_symbols={"sigmoid": "S"},
    ),
    Profile(
        name="frey", title="Frey, AI Essentials (h, a, δ, v_ij / w_jk, η)",
        labels={
            "x": "x_{i}", "target": "y_{j}", "z": "h_{j}^{l}", "z.hidden": "h_{j}^h", "z.output": "h_{j}^o",
            "a": "a_{j}^{l}", "a.hidden": "a_{j}^h", "a.output": "ŷ_{j}", "da_dz.hidden": "g'_h(h_{j}^h)",
            "da_dz.output": "g'_o(h_{j}^o)", "da_dz": "g'(h_{j}^{l})", "dE_da.output": "∂E/∂ŷ_{j}",
            "dE_da": "Σ_k δ_k w_{j}k", "delta": "δ_{j}^{l}", "delta.hidden": "δ_{j}^h", "delta.output": "δ_{j}^o",
            "w.first": "v_{i}{j}", "w": "w_{i}{j}", "grad": "∂E/∂{w}", "delta_w": "Δ{w}", "w_new": "{w} new",
            "loss": "E", "eta": "η",
        },
        loss_symbol="E", update="w_jk ← w_jk − η ∂E/∂w_jk",
        sign_note="Frey writes δ_k^o = (ŷ_k − y_k) g'_o(h_k^o) and subtracts η δ a",
        output_delta=("dE_da", "da_dz"), hidden_delta=("da_dz", "sum"), sum_terms=("delta", "w"),
        grad_factors={"": ("delta", "input")}, act_symbols={"sigmoid": "σ"},
    ),
    Profile(
        name="maren", title="Maren, ch. 6 (NdInpt_o, A_o, H_h, v_{h,o}, SSE, α)",
        labels={
            "x": "I_{i0}", "target": "Desired_{j0}", "z": "NdInpt_{u}", "a.output": "A_{j0}", "a": "H_{j0}",
            "da_dz.output": "αA_{j0}(1-A_{j0})", "da_dz": "αH_{j0}(1-H_{j0})", "dE_da.output": "-E_{j0}",
            "dE_da": "∂SSE/∂H_{j0}", "delta": "δ_{u}", "w.last": "v_{i0},{j0}", "w": "w_{i0},{j0}",
            "w.bias": "b_{u}",  # Maren's node inputs have no bias; a spec with one gets b_<unit>
            "grad": "∂SSE/∂{w}", "delta_w": "Δ{w}", "w_new": "{w} new", "loss": "SSE", "eta": "η",
        },
        loss_symbol="SSE",
        update="v ← v − η ∂SSE/∂v, with ∂SSE/∂v_{h,o} = −α E_o F_o(1 − F_o) H_h",
        sign_note="Maren's E_o = Desired_o − Actual_o, so the minus sign sits in ∂E_o/∂F_o = −1",
        error_form="-(y-a)", grad_factors={"output": ("dE_da", "da_dz", "input"), "": ("delta", "input")},
        update_form="add", act_symbols={"sigmoid": "F"},
    ),
    Profile(
        name="cs510", title="CS 510 lecture 12 (z^l_j, a^l_j, δ^l_j)",
        labels={
            "x": "x_{i}", "target": "y_{j}", "z": "z^{l}_{j}", "a": "a^{l}_{j}", "da_dz": "h'(z^{l}_{j})",
            "dE_da.output": "∂C/∂a^{l}_{j}", "dE_da": "Σ_k w^{l1}_k{j} δ^{l1}_k", "delta": "δ^{l}_{j}",
            "w": "w^{l}_{j}{i}", "w.bias": "b^{l}_{j}", "grad": "∂C/∂{w}", "delta_w": "Δ{w}", "w_new": "{w} new",
            "loss": "C", "eta": "α",
        },
        loss_symbol="C", update="w ← (1 − α) w − α a δ",
        sign_note="CS 510 subtracts α a δ; the (1 − α) w term is weight decay with λ = 1",
        hidden_delta=("da_dz", "sum"), update_form="decay", act_symbols={"sigmoid": "σ", "tanh": "tanh"},
    ),
    Profile(
        name="davila", title="Lopez Davila (z^L, a^L, C)",
        labels={
            "x": "a^{Lrel}{I}", "target": "y{J}", "z": "z^{Lrel}{J}", "a": "a^{Lrel}{J}", "da_dz": "σ'(z^{Lrel}{J})",
            "dE_da": "∂C/∂a^{Lrel}{J}", "delta": "∂C/∂z^{Lrel}{J}", "w": "w^{Lrel}{JK}", "w.bias": "b^{Lrel}{J}",
            "grad": "∂C/∂{w}", "delta_w": "Δ{w}", "w_new": "{w} new", "loss": "C", "eta": "η",
        },
        loss_symbol="C", half="", update="w ← w − η ∂C/∂w, ∂C/∂w = 1/n Σ_k ∂C_k/∂w",
        sign_note="Davila's C = (a^L − y)^2 has no 1/2, so ∂C/∂a^L = 2(a^L − y)",
        output_delta=("da_dz", "dE_da"), grad_factors={"output": ("input", "da_dz", "dE_da"), "": ("input", "delta")},
        act_symbols={"sigmoid": "σ"},
    ),
)}


def profile(name: str | None, spec=None) -> "Notation":
    """The notation `name` (or the spec's `notation:`, default generic) bound to a spec's network."""
    key = name or (spec.notation if spec is not None else None) or "generic"
    if key not in PROFILES:
        from ..errors import TracerError

        raise TracerError("--notation", f"unknown notation {key!r}; use one of {', '.join(PROFILES)}")
    return Notation(PROFILES[key], spec)


def _unit_source_index(layer, j, i) -> str:
    """Davila's one-unit-per-layer names, indexed where a layer has several units (j) or inputs (k): w^L_jk."""
    if layer is None or j is None or i in (None, 0):
        return ""
    several_units, several_inputs = len(layer.units) > 1, len(layer.sources) - int(layer.bias) > 1
    index = (str(j + 1) if several_units else "") + (str(i) if several_inputs else "")
    return f"_{index}" if index else ""


class Notation:
    """A profile applied to one network: labels for its units and weights."""

    def __init__(self, prof: Profile, spec):
        self.profile = prof
        self.spec = spec
        self.name = prof.name
        self._layers = {l.name: (k, l) for k, l in enumerate(spec.layers)} if spec is not None else {}

    def label(self, kind: str, layer: str | None = None, unit: str | None = None, source: str | None = None) -> str:
        """Plain-text label of a quantity, e.g. label('z', 'G', 'g') -> 'z_g' in Ekman's notation."""
        if kind in ("loss", "eta"):
            return self.profile.template(kind, "")
        if kind == "x":
            i = self.spec.inputs.index(source) + 1 if self.spec is not None and source in self.spec.inputs else 0
            return self.profile.template("x", "").format(**self._fields(None, None, source, i))
        if kind in ("grad", "delta_w", "w_new"):
            w = self.label("w", layer, unit, source)
            return self.profile.template(kind, "").format(w=w)
        k, l = self._layers[layer]
        j = l.units.index(unit)
        if kind == "w":
            i = l.sources.index(source) + (0 if l.bias else 1)
            role = "bias" if source == "bias" else "first" if k == 0 else "last" if k == len(self.spec.layers) - 1 else ""
            template = self._template_for_weight(role, k)
            return template.format(**self._fields(k, j, source, i))
        role = "output" if k == len(self.spec.layers) - 1 else "hidden"
        return self.profile.template(kind, role).format(**self._fields(k, j, source, None))

    def _template_for_weight(self, role: str, k: int) -> str:
        """Weights: bias, first-layer and last-layer templates where the source names those apart."""
        labels = self.profile.labels
        for key in ([f"w.{role}"] if role else []) + (["w.first"] if k == 0 else []) + \
                   (["w.last"] if k == len(self.spec.layers) - 1 else []) + ["w"]:
            if key in labels:
                return labels[key]
        return GENERIC.labels["w"]

    def _fields(self, k, j, source, i) -> dict:
        """Values of the template placeholders for layer k, unit j, a source."""
        layers = self.spec.layers if self.spec is not None else ()
        n = len(layers)
        layer = layers[k] if k is not None else None
        prev = "x" if not k else layers[k - 1].name.lower()
        rel = n - 1 - k if k is not None else n
        return {
            "u": layer.units[j] if layer is not None else "", "L": layer.name if layer is not None else "",
            "l": (k + 1) if k is not None else 0, "l1": (k + 2) if k is not None else 1, "j": (j + 1) if j is not None else "", "j0": j if j is not None else "",
            "i": i if i is not None else "", "i0": (i - 1) if i else 0, "s": source or "", "p": prev,
            "Lrel": "L" if rel == 0 else f"L-{rel}",
            "J": f"_{j + 1}" if layer is not None and j is not None and len(layer.units) > 1 else "",
            "JK": _unit_source_index(layer, j, i),
            "I": f"_{i}" if self.spec is not None and len(self.spec.inputs) > 1 and i else "",
        }

    def math(self, kind: str, layer=None, unit=None, source=None) -> str:
        """The label as a MathML fragment (escaped), for the HTML report."""
        return to_mathml(self.label(kind, layer, unit, source))


_TOKEN = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]+)?)|(?P<greek>[α-ωΑ-Ω∂Σ])|(?P<id>[^\W\d_]+)|(?P<op>\S)")
SCRIPT = re.compile(r"([_^])\{?([^\W_]+(?:[-,][^\W_]+)*)\}?")  # a sub- or superscript: _1, ^L-1, _{h,o}
_WORD = re.compile(r"[a-z]{3,}")  # 'error', 'term', 'new': words, set as text
_INDEXED = re.compile(r"([A-Za-z]+)([0-9]+)")  # x1, I0: an input written with its index (Ekman's x_1)
_OPS = {"-": "−", "*": "·"}
_GREEK = {"delta": "δ", "eta": "η", "alpha": "α", "lambda": "λ", "mu": "μ"}  # generic 'delta_g' typeset as δ_g


def to_mathml(label: str) -> str:
    """MathML for a plain label with `_` subscripts and `^` superscripts ('h_1^o', 'z^1_2', "y'_f", 'w_xg1 new').

    Every character of the label ends up escaped inside a token element, so spec text cannot inject markup.
    """
    return "<mspace width='0.3em'/>".join(_word(w) for w in label.split(" ") if w)


def _word(text: str) -> str:
    """One word of a label: tokens, each base with its primes, subscript and superscript."""
    if _WORD.fullmatch(text) and text not in _GREEK:
        return f"<mtext>{escape(text)}</mtext>"
    if m := _INDEXED.fullmatch(text):
        return f"<msub>{_mi(m[1])}<mn>{m[2]}</mn></msub>"
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        kind, value = m.lastgroup, m.group()
        pos = m.end()
        if kind == "op":
            out.append(_mo(value))
            continue
        base = f"<mn>{value}</mn>" if kind == "num" else _mi(_GREEK.get(value, value))
        primes = ""
        while pos < len(text) and text[pos] == "'":
            primes += "′"
            pos += 1
        sub = sup = ""
        while (s := SCRIPT.match(text, pos)) is not None:
            if s[1] == "_":
                sub = s[2]
            else:
                sup = s[2]
            pos = s.end()
        if primes:  # y'_f: the prime beside the letter, the scripts on both (Ekman's y'_f, Frey's g'_o)
            base = f"<mrow>{base}<mo lspace='0' rspace='0'>{primes}</mo></mrow>"
        out.append(_scripted(base, sub, sup))
    return "".join(out)


def _scripted(base: str, sub: str, sup: str) -> str:
    """A base with optional sub- and superscript text."""
    if sub and sup:
        return f"<msubsup>{base}{_plain(sub)}{_plain(sup)}</msubsup>"
    if sub:
        return f"<msub>{base}{_plain(sub)}</msub>"
    if sup:
        return f"<msup>{base}{_plain(sup)}</msup>"
    return base


def _plain(text: str) -> str:
    """Script text as one row of tokens ('xg1', 'L-1', '0,1', '′ o')."""
    parts = []
    for m in _TOKEN.finditer(text.replace(" ", "")):
        kind, value = m.lastgroup, m.group()
        if kind == "num":
            parts.append(f"<mn>{value}</mn>")
        elif kind == "op":
            parts.append(_mo(value))
        else:
            parts.append(_mi(value))
    return parts[0] if len(parts) == 1 else f"<mrow>{''.join(parts)}</mrow>"


def _mo(op: str) -> str:
    """An operator token, escaped; brackets keep their size (no stretching around scripts)."""
    stretch = ' stretchy="false"' if op in "()[]" else ""
    return f"<mo{stretch}>{escape(_OPS.get(op, op))}</mo>"


def _mi(text: str) -> str:
    """An identifier token, escaped."""
    return f"<mi>{escape(text)}</mi>"
