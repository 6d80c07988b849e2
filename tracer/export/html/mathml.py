"""MathML for the HTML report: labels (`h_1^o`, `y'_f`), numbers to a number of significant digits, and the
written forms of the plan (tracer.model.expr) rendered once with labels and once with numbers.

Every character that comes from a spec ends up escaped inside a token element, so spec text cannot inject
markup. Negative numbers are bracketed where they do not begin what they are part of (0.6 · (−0.9)), a sum
with a negative number writes a difference (0.6 − 0.006), and brackets keep their size.
"""
from __future__ import annotations

import functools
import math
import re
from html import escape

from markupsafe import Markup

from ...errors import TracerError
from ..numbers import column_decimals
from ...model.expr import (Add, Call, Either, Ellipsis_, Frac, Mul, Neg, Num, Param, Paren, Ref, Square, Sum, Tagged,
                           Word)

LP, RP, LB, RB = (f'<mo stretchy="false">{b}</mo>' for b in "()[]")  # brackets keep their size
SYMBOLS = {"alpha": "α", "lambda": "λ", "mu": "μ", "sigma": "σ"}  # Params other than the learning rate
_TAG = re.compile(r"<[^>]*>")


def mo(op: str) -> str:
    return f"<mo>{escape(op)}</mo>"


TIMES = mo("·")


class Fmt:
    """Numbers as the report shows them: `digits` significant digits, a real minus sign."""

    def __init__(self, digits: int):
        if digits < 1:
            raise TracerError("--digits", f"{digits} digits: use a number of significant digits >= 1")
        self.digits = digits

    def __call__(self, v: float) -> str:
        v = float(v)
        if v != v:
            return "NaN"
        if v in (math.inf, -math.inf):
            return "∞" if v > 0 else "−∞"
        if v == 0:
            return "0"
        text = f"{v:.{self.digits}g}"
        if "e" in text:
            mant, exp = text.split("e")
            text = f"{mant}·10^{int(exp)}"
        return text.replace("-", "−")

    def column(self, values) -> list[str]:
        """A table column's numbers in one format: the decimals that give its largest value `digits`
        significant digits, trailing zeros kept (0.4830 beside 0.5222, not 0.483), at most 12; whole numbers as
        such; a column whose values are all huge, tiny or not finite is written value by value."""
        values = [float(v) for v in values]
        finite = [abs(v) for v in values if math.isfinite(v) and v != 0]
        if not finite or not 1e-6 <= max(finite) < 1e15:
            return [self(v) for v in values]
        decimals = min(12, column_decimals(values, self.digits))
        return [f"{v:.{decimals}f}".replace("-", "−") if math.isfinite(v) else self(v) for v in values]

    def mn(self, v: float, paren: bool = False) -> str:
        """A number as MathML (powers of ten as superscripts); in brackets when negative and `paren`."""
        text = escape(self(v))
        if "·10^" in text:
            mant, exp = text.split("·10^")
            body = f"<mn>{mant}</mn><mo>·</mo><msup><mn>10</mn><mn>{exp}</mn></msup>"
        else:
            body = f"<mn>{text}</mn>"
        return f"{LP}{body}{RP}" if paren and float(v) < 0 else body

    def near_one(self, v: float) -> "Fmt":
        """Digits enough that 1 - v does not show as 0 (Maren's saturated 0.999988354)."""
        gap = abs(1.0 - abs(float(v)))
        if gap == 0 or not gap < 10.0 ** -(self.digits - 1):  # NaN too: a diverged or not yet computed value
            return self
        return Fmt(min(17, self.digits + math.ceil(-math.log10(gap))))


def eq(*sides: str, arrow: bool = False) -> Markup:
    """A display formula: the sides joined by '=' (the first by '←' for an assignment).

    Empty sides and a side that only repeats the one before (Maren's label αA_0(1 − A_0) is its formula) go.
    """
    sides = [s for i, s in enumerate(sides) if s and (i == 0 or _TAG.sub("", s) != _TAG.sub("", sides[i - 1]))]
    head = sides[0] + (mo("←") + sides[1] if arrow and len(sides) > 1 else "")
    rest = sides[2:] if arrow else sides[1:]
    body = mo("=").join([head, *rest])
    return Markup(f'<div class="eq"><math displaystyle="true"><mrow>{body}</mrow></math></div>')


class Renderer:
    """Renders written forms with labels (`symbolic`) or with the values of a step (`numeric`)."""

    def __init__(self, notation, fmt: Fmt, values: dict, layers: dict):
        self.notation, self.fmt, self.values, self.layers = notation, fmt, values, layers
        self.p = notation.profile

    def symbolic(self, e) -> str:
        return self._render(e, False, True)

    def numeric(self, e) -> str | None:
        """The form with numbers, or None when it has words only (ReLU's '1 if z > 0, else 0')."""
        try:
            return self._render(e, True, True)
        except _NoNumbers:
            return None

    def label(self, key: tuple) -> str:
        """The MathML label of a plan key (a batch's per-sample gradient is the gradient's label)."""
        kind, _, layer, unit, source = key
        if kind == "delta_w_prev":
            return f"<msub><mrow>{self.label(('delta_w',) + key[1:])}</mrow><mtext>prev</mtext></msub>"
        if kind == "x":
            return to_mathml(self.notation.label("x", source=source))
        if kind == "y":
            return to_mathml(self.notation.label("target", layer, unit))
        if kind == "loss":
            return to_mathml(self.notation.label("loss"))
        kind = {"G": "grad", "w_new": "w_new"}.get(kind, kind)
        return to_mathml(self.notation.label(kind, layer or None, unit or None, source or None))

    def _number(self, v: float, near_one: bool, leading: bool) -> str:
        fmt = self.fmt.near_one(v) if near_one else self.fmt
        return fmt.mn(v, paren=not leading)

    def number(self, e, leading: bool) -> str:
        """The number of an operand or constant (Ref or Param); in brackets when negative and not leading."""
        return self._number(self._value(e), isinstance(e, Ref) and e.near_one, leading)

    def result(self, key: tuple) -> str:
        """The value a line ends with."""
        return self.fmt.mn(self.values[key])

    def term(self, e, sign: str) -> str:
        """An operand or constant added ('+') or subtracted ('-') after the first term: 0.6 + (−0.006) is
        written 0.6 − 0.006."""
        v = self._value(e)
        if v < 0:
            return mo("+" if sign == "-" else "−") + self._number(abs(v), False, True)
        return mo("−" if sign == "-" else "+") + self.number(e, False)

    def _render(self, e, numeric: bool, leading: bool) -> str:
        if isinstance(e, Ref):
            return self.number(e, leading) if numeric else self.label(e.key)
        if isinstance(e, Num):
            return f"<mn>{escape(e.text)}</mn>"
        if isinstance(e, Param):
            if numeric:
                return self.number(e, leading)
            return to_mathml(self.notation.label("eta")) if e.name == "eta" else f"<mi>{SYMBOLS[e.name]}</mi>"
        if isinstance(e, Word):
            if numeric:
                raise _NoNumbers
            return f"<mtext>{escape(e.text)}</mtext>"
        if isinstance(e, Either):
            return self._render(e.numeric if numeric else e.symbolic, numeric, leading)
        if isinstance(e, Tagged):
            inner = self._render(e.x, numeric, leading)
            return inner + (f"<mspace width='1em'/><mtext>{escape(e.text)}</mtext>" if numeric else "")
        if isinstance(e, Neg):
            return mo("−") + self._render(e.x, numeric, isinstance(e.x, (Mul, Paren)))
        if isinstance(e, Add):
            return self._add(e, numeric, leading)
        if isinstance(e, Mul):
            return self._mul(e, numeric, leading)
        if isinstance(e, Frac):
            return f"<mfrac><mrow>{self._render(e.top, numeric, True)}</mrow>" \
                   f"<mrow>{self._render(e.bottom, numeric, True)}</mrow></mfrac>"
        if isinstance(e, Square):
            base = self._render(e.x, numeric, False)
            if not numeric and isinstance(e.x, Ref) and ("<msup" in base or "<msubsup" in base):
                base = LP + base + RP  # (a^1_1)², not a^1_1 ²
            return f"<msup><mrow>{base}</mrow><mn>2</mn></msup>"
        if isinstance(e, Paren):
            left, right = (LB, RB) if e.bracket == "[" else (LP, RP)
            return left + self._render(e.x, numeric, True) + right
        if isinstance(e, Call):
            return self._call(e, numeric)
        if isinstance(e, Sum):
            body = self._render(e.body, numeric, True)
            return (f"<munderover><mo>Σ</mo><mrow><mi>d</mi><mo>=</mo><mn>1</mn></mrow><mn>{e.count}</mn>"
                    f"</munderover><msub><mrow>{LP}{body}{RP}</mrow><mi>d</mi></msub>")
        if isinstance(e, Ellipsis_):
            return mo("…")
        raise TypeError(f"cannot render {e!r}")

    def _add(self, e: Add, numeric: bool, leading: bool) -> str:
        out = []
        for i, (sign, t) in enumerate(e.terms):
            number = numeric and isinstance(t, (Ref, Param))
            if isinstance(t, Neg):  # a + (-b): a - b
                sign, t, number = ("-" if sign == "+" else "+"), t.x, False
            if i == 0:
                out.append(("−" if sign == "-" else "") + self._render(t, numeric, leading and sign == "+"))
            elif number:
                out.append(self.term(t, sign))
            else:
                part = self._render(t, numeric, False)
                out.append(mo("−" if sign == "-" else "+") + (LP + part + RP if isinstance(t, Add) and sign == "-"
                                                               else part))
        return "".join(out)

    def _mul(self, e: Mul, numeric: bool, leading: bool) -> str:
        out = []
        for i, f in enumerate(e.factors):
            if isinstance(f, Either):
                f = f.numeric if numeric else f.symbolic
            part = self._render(f, numeric, leading and i == 0)
            if isinstance(f, Add) and len(f.terms) > 1:
                part = LP + part + RP
            if i:
                constant = isinstance(e.factors[i - 1], Num) or (isinstance(e.factors[i - 1], Frac) and
                                                                isinstance(e.factors[i - 1].top, Num))
                if e.dots or (numeric and not constant):
                    out.append(TIMES)
                elif not numeric and isinstance(f, Ref) and isinstance(e.factors[i - 1], Ref):
                    out.append("<mo>&#x2062;</mo>")  # invisible times: w x
            out.append(part)
        return "".join(out)

    def _call(self, e: Call, numeric: bool) -> str:
        if e.name == "ln":
            arg = self._render(e.args[0], numeric, False)
            return "<mi>ln</mi><mo>&#x2061;</mo>" + arg
        if e.layer:
            act = self.layers[e.layer].activation
            symbol = self.p.act_symbols.get(act.name)
            head = to_mathml(symbol) if symbol else f"<mi>{escape(act.name)}</mi>"
        else:  # a function the plan names itself: a pool's max or mean of its window
            head = f"<mi>{escape(e.name)}</mi>"
        args = mo(",").join(self._render(a, numeric, True) for a in e.args)
        sub = f"<msub><mrow/><mi>{escape(e.sub)}</mi></msub>" if e.sub and not numeric else ""
        return head + LP + args + RP + sub

    def _value(self, t) -> float:
        return float(t.value) if isinstance(t, Param) else float(self.values[t.key])


class _NoNumbers(Exception):
    """A form that has no numeric side."""
_TOKEN = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]+)?)|(?P<greek>[α-ωΑ-Ω∂Σ])|(?P<id>[^\W\d_]+)|(?P<op>\S)")
SCRIPT = re.compile(r"([_^])\{?([^\W_]+(?:[-,][^\W_]+)*)\}?")  # a sub- or superscript: _1, ^L-1, _{h,o}
_WORD = re.compile(r"[a-z]{3,}")  # 'error', 'term', 'new': words, set as text
_INDEXED = re.compile(r"([A-Za-z]+)([0-9]+)")  # x1, I0: an input written with its index (Ekman's x_1)
_OPS = {"-": "−", "*": "·"}
_GREEK = {"delta": "δ", "eta": "η", "alpha": "α", "lambda": "λ", "mu": "μ"}  # generic 'delta_g' typeset as δ_g


@functools.lru_cache(maxsize=16384)  # a page writes each label many times (every step, notation and convention)
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
        while (s := SCRIPT.match(text, pos)) is not None and not (sub if s[1] == "_" else sup):
            if s[1] == "_":  # a second one is text of its own ('d_1-o_1' kept whole, not cut to d_1)
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
