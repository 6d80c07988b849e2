"""Notation profiles: how each source document names the quantities of the trace.

A profile is data: one label template per quantity (optionally per role: the first layer, the output
layer), the loss symbol, and how the source writes the loss and the update. Exporters ask a profile for a
label; they never branch on the course. Templates use placeholders filled per unit or weight:

  {u} unit name      {L} layer name     {l} layer number (1 = first layer), {l1} the next one   {Lrel} L, L-1, ... (Davila)
  {j} unit number (1-based)   {j0} (0-based)   {i} source number (0 = bias, 1.. inputs)   {i0} 0-based input
  {s} source name    {p} Ekman's source letter: x for the inputs, else the previous layer's name in lower case
  {w} the weight's own label (for gradients, delta w and new weights)

Labels are plain text with `_` for a subscript and `^` for a superscript (`h_1^o`); the HTML report
typesets them (tracer.export.html.mathml). The conventions that say how a course writes its formulas
(where the minus sign goes, the 1/2, the order of the factors, which quantities it writes inside others,
the form of the update) are fields of the profile, read by the plan's written forms (tracer.model.writing).
"""
from __future__ import annotations

import re

from dataclasses import dataclass, field

KINDS = ("x", "target", "z", "a", "da_dz", "dE_da", "delta", "w", "grad", "delta_w", "w_new", "loss", "eta")


@dataclass(frozen=True)
class Profile:
    """One course's names for the quantities of backpropagation, and how it writes the loss and update."""

    name: str
    title: str
    labels: dict  # kind or kind.role -> template
    loss_symbol: str = "E"
    delta_word: str = "delta"  # Ekman: "error term"
    half: str = "1/2"  # how a loss with 1/2 writes it: '1/2' in front (Frey, Maren) or '/2' after (Ekman)
    update: str = "w ← w − η ∂E/∂w"  # the update as the source writes it
    sign_note: str = ""  # where the source puts the minus sign
    # How the source writes the backward pass and the update (the plan's written forms read these; the
    # numbers always come from the trace):
    error_form: str = "a-y"  # dE/da of the half SSE: 'a-y' (Frey eq. 10, CS 510) or '-(y-a)' (Ekman MSE', Maren)
    output_delta: tuple = ("dE_da", "da_dz")  # factor order of the output error term (Davila: σ' first)
    hidden_delta: tuple = ("dE_da", "da_dz")  # factor order of a hidden error term (Frey eq. 4: g' first)
    sum_terms: tuple = ("w", "delta")  # order inside the back-propagated sum (Frey: δ_k w_jk)
    grad_order: dict = field(default_factory=lambda: {"": ("input", "delta")})  # dE/dw as a product, by role
    update_form: str = "descent"  # 'descent' w <- w - η g; 'add' Δw = -η g, w + Δw; 'decay' (1 - αλ) w - α g
    inline: tuple = ()  # kinds (kind or kind.role) written only inside the quantity that uses them (Ekman's y'_g)
    expand: dict = field(default_factory=dict)  # 'operand>consumer' -> 'both' or 'numbers': written out there
    act_symbols: dict = field(default_factory=dict)  # activation name -> the source's symbol (Ekman: S)

    def factors(self, role: str) -> tuple:
        """The order of input and delta in dE/dw for a weight of a unit in `role` ('output' or 'hidden')."""
        return self.grad_order.get(role, self.grad_order[""])

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
        "delta": "delta_{u}", "w": "w_{u},{s}", "w.bias": "b_{u}", "w.threshold": "θ_{u}", "grad": "dE/d{w}",
        "delta_w": "Δ{w}", "w_new": "{w} new", "loss": "E", "eta": "eta",
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
        error_form="-(y-a)", sum_terms=("delta", "w"), update_form="add", act_symbols={"sigmoid": "S"},
        inline=("da_dz", "dE_da.hidden", "grad"),  # error term g = error term f · w_gf1 · y'_g; Δw = −lr · x · δ
        expand={"da_dz>delta": "numbers", "dE_da.hidden>delta": "both", "grad>delta_w": "both"},
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
        hidden_delta=("da_dz", "dE_da"), sum_terms=("delta", "w"), grad_order={"": ("delta", "input")},
        act_symbols={"sigmoid": "σ"},
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
        update="v ← v − η ∂SSE/∂v, with ∂SSE/∂v_{h,o} = −α E_o A_o(1 − A_o) H_h",
        sign_note="Maren's E_o = Desired_o − A_o, so the minus sign sits in ∂E_o/∂A_o = −1 (h and o are Maren's "
                  "letters for any hidden and output node; the steps below number the nodes from 0: A_0, E_0; "
                  "ℱ is the transfer function, A = ℱ(NdInpt)",
        error_form="-(y-a)", grad_order={"output": ("delta", "input"), "": ("delta", "input")},
        expand={"delta.output>grad": "both"},  # ∂SSE/∂v_{h,o} = −E_o · αA_o(1 − A_o) · H_h
        update_form="add", act_symbols={"sigmoid": "ℱ"},
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
        hidden_delta=("da_dz", "dE_da"), update_form="decay", act_symbols={"sigmoid": "σ", "tanh": "tanh"},
        expand={"grad>delta_w": "both"},  # w ← (1 − α) w − α a δ
    ),
    Profile(
        name="davila", title="Lopez Davila (z^L, a^L, C)",
        labels={
            "x": "a^{Lrel}{I}", "target": "y{J}", "z": "z^{Lrel}{J}", "a": "a^{Lrel}{J}", "da_dz": "σ'(z^{Lrel}{J})",
            "dE_da": "∂C/∂a^{Lrel}{J}", "delta": "∂C/∂z^{Lrel}{J}", "w": "w^{Lrel}{JK}", "w.bias": "b^{Lrel}{J}",
            "grad": "∂C/∂{w}", "delta_w": "Δ{w}", "w_new": "{w} new", "loss": "C", "eta": "η",
        },
        loss_symbol="C", update="w ← w − η ∂C/∂w, ∂C/∂w = 1/n Σ_k ∂C_k/∂w",
        sign_note="Davila's C = (a^L − y)^2 has no 1/2, so ∂C/∂a^L = 2(a^L − y)",
        output_delta=("da_dz", "dE_da"), expand={"delta.output>grad": "both"},  # a^(L−1) · σ'(z^L) · 2(a^L − y)
        act_symbols={"sigmoid": "σ"},
    ),
    Profile(
        name="negnevitsky", title="Negnevitsky, AI: A Guide to Intelligent Systems (X, y, e, δ = −∂E/∂X, θ, α)",
        labels={
            "x": "x_{i}", "target": "y_d,{u}", "z": "X_{u}", "a": "y_{u}", "da_dz": "∂y_{u}/∂X_{u}",
            "dE_da.output": "e_{u}", "dE_da": "Σ_k δ_k w_{u}k", "delta": "δ_{u}", "w.first": "w_{i}{u}",
            "w": "w_{s}{u}", "w.threshold": "θ_{u}", "grad": "∂E/∂{w}", "delta_w": "Δ{w}", "w_new": "{w}(p+1)",
            "loss": "E", "eta": "α",
        },
        loss_symbol="E", update="w(p + 1) = w(p) + Δw, Δw_jk = α y_j δ_k, Δθ_k = α (−1) δ_k",
        sign_note="Negnevitsky's error gradient δ = y(1 − y) e, with the error e = y_d − y, is −∂E/∂X (spec "
                  "`delta: -dE/dz`); the threshold θ sits on a fixed input of −1 (`bias: threshold`), so "
                  "X = Σ x w − θ and Δθ = α (−1) δ",
        error_form="-(y-a)", hidden_delta=("da_dz", "dE_da"), output_delta=("da_dz", "dE_da"),
        update_form="add", inline=("grad",), expand={"grad>delta_w": "both"}, act_symbols={"sigmoid": "sigmoid"},
    ),
    Profile(
        name="zurada", title="Zurada, Introduction to Artificial Neural Systems (net, o, d, δ = (d − o) f'(net), c)",
        labels={
            "x": "x_{i}", "target": "d_{u}", "z": "net_{u}", "a": "o_{u}", "a.hidden": "y_{u}",
            "da_dz": "f'(net_{u})", "dE_da.output": "(d_{u} − o_{u})", "dE_da": "Σ_k δ_k w_k{u}", "delta": "δ_{u}",
            "w": "w_{u}{i}", "grad": "∂E/∂{w}", "delta_w": "Δ{w}", "w_new": "{w} new", "loss": "E",
            "eta": "c",
        },
        loss_symbol="E", update="W ← W + c δ x, δ = (d − o) f'(net)",
        sign_note="Zurada's learning signal δ = (d − o) f'(net) is −∂E/∂net (spec `delta: -dE/dz`), so the update "
                  "adds c δ x",
        error_form="-(y-a)", hidden_delta=("dE_da", "da_dz"), update_form="add", inline=("grad",),
        expand={"grad>delta_w": "both"}, act_symbols={"bipolar_sigmoid": "f"},
    ),
    Profile(
        name="sensitivity", title="Matrix form (n^m, a^m, sensitivities s^m = ∂F/∂n^m, F = eᵀe, α)",
        labels={
            "x": "p_{i}", "target": "t_{j}", "z": "n^{l}_{j}", "a": "a^{l}_{j}", "da_dz": "ḟ^{l}(n^{l}_{j})",
            "dE_da": "∂F/∂a^{l}_{j}", "delta": "s^{l}_{j}", "w": "w^{l}_{j},{i}", "w.bias": "b^{l}_{j}",
            "grad": "∂F/∂{w}", "delta_w": "Δ{w}", "w_new": "{w} new", "loss": "F", "eta": "α",
        },
        loss_symbol="F", update="W(k+1) = W(k) − α s aᵀ, b(k+1) = b(k) − α s (each layer m, a from layer m − 1)",
        sign_note="matrix-form texts write the sensitivity s = ∂F/∂n with F = eᵀe (no 1/2: the loss sse), so "
                  "s^M = −2 Ḟ(n^M)(t − a), and subtract α s a in the update",
        hidden_delta=("da_dz", "dE_da"), output_delta=("da_dz", "dE_da"), grad_order={"": ("delta", "input")},
    ),
)}


def profile(name: str | None, spec=None) -> "Notation":
    """The notation `name` (or the spec's `notation:`, default generic) bound to a spec's network."""
    key = name or (spec.notation if spec is not None else None) or "generic"
    if key not in PROFILES:
        from ..errors import TracerError

        raise TracerError("--notation", f"unknown notation {key!r}; use one of {', '.join(PROFILES)}")
    return Notation(PROFILES[key], spec)


LAYER_FIELD = re.compile(r"\{(l|l1|L|Lrel|u|p)\}")  # template fields that differ between layers


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
        if l.shared and kind in ("w", "contrib"):
            return self._shared_label(kind, l, unit, source)
        j = l.units.index(unit)
        if kind == "w":
            i = l.sources.index(source) + (0 if l.bias else 1)
            if source == "bias":
                role = "threshold" if l.threshold else "bias"
            else:
                role = "first" if k == 0 else "last" if k == len(self.spec.layers) - 1 else ""
            template = self._template_for_weight(role, k)
            return self._own(template, template.format(**self._fields(k, j, source, i)), k, role)
        role = "output" if k == len(self.spec.layers) - 1 else "hidden"
        template = self.profile.template(kind, role)
        return self._own(template, template.format(**self._fields(k, j, source, None)), k, role)

    def _own(self, template: str, text: str, k: int, role: str) -> str:
        """A label made the layer's own: a book that writes one hidden layer (Frey's a_j^h, Maren's H_h) names
        the units of every hidden layer alike, so where a network has several layers of the role, a template with
        no layer in it gets the layer's name after it (a_1^h (p1)): labels are answer keys and must not clash."""
        last = len(self.spec.layers) - 1
        alike = {"hidden": range(last), "": range(1, last), "first": [0], "last": [last], "output": [last]}
        if len(alike.get(role, ())) < 2 or LAYER_FIELD.search(template):
            return text
        return f"{text} ({self.spec.layers[k].name})"

    def _shared_label(self, kind: str, layer, unit: str, source: str) -> str:
        """A shared weight in every notation: a conv kernel's as its kernel and cell (k1[1,2], the bias b_k1), an
        rnn's or a dense layer's over time as w_h1,x1 (b_h1); a term of its gradient (kind 'contrib') as the
        gradient at the position or time step whose delta it takes (dE/dk1[1,2] @ c1[1,1,2])."""
        if kind == "contrib":
            p = layer.units.index(unit)
            row = layer.recurrence.units[p % len(layer.kernels)] if layer.recurrence else \
                layer.kernels[layer.grid.channel[p]]
            return f"{self.label('grad', layer.name, row, source)} @ {unit}"
        if source == "bias":
            return f"b_{unit}"
        return f"{unit}{source[1:]}" if layer.grid is not None and not layer.grid.time else f"w_{unit},{source}"

    def _template_for_weight(self, role: str, k: int) -> str:
        """Weights: bias, first-layer and last-layer templates where the source names those apart."""
        labels = self.profile.labels
        if role == "threshold":  # θ, whatever the source calls a bias
            return labels.get("w.threshold", GENERIC.labels["w.threshold"])
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
