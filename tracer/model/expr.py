"""Written forms: a small expression tree of what a textbook writes for a quantity, before typesetting.

A rule of the plan says *what* is written (`Mul(Ref(dE_da), Ref(da_dz))`); the HTML report renders the same
tree twice, once with labels (z_g, error term f) and once with numbers, into MathML. Operands are `Ref`s to
plan keys; `Param` is a constant of the spec shown by its symbol (eta, alpha) or its value; `Either` lets a
convention write one thing with symbols and another with numbers (Ekman writes y'_g, then its factors).
"""
from __future__ import annotations

from dataclasses import dataclass


class Expr:
    """A node of a written form."""


@dataclass(frozen=True)
class Ref(Expr):
    """An operand of the plan: its label, or its value; near_one: digits enough that 1 - x is not 0."""

    key: tuple
    near_one: bool = False


@dataclass(frozen=True)
class Num(Expr):
    """A constant written as it is (1, 2)."""

    text: str


@dataclass(frozen=True)
class Param(Expr):
    """A constant of the spec: symbol ('eta', 'alpha', 'lambda', 'mu', 'm') and value."""

    name: str
    value: float


@dataclass(frozen=True)
class Word(Expr):
    """Plain text inside a formula ('1 if z > 0, else 0')."""

    text: str


@dataclass(frozen=True)
class Neg(Expr):
    x: Expr


@dataclass(frozen=True)
class Add(Expr):
    """A sum; each term has a sign ('+' or '-'), the first one's '+' is not written."""

    terms: tuple  # of (sign, Expr)


@dataclass(frozen=True)
class Mul(Expr):
    """A product; dots=False juxtaposes the factors when written with symbols (alpha a(1 - a))."""

    factors: tuple
    dots: bool = True


@dataclass(frozen=True)
class Frac(Expr):
    top: Expr
    bottom: Expr


@dataclass(frozen=True)
class Square(Expr):
    x: Expr


@dataclass(frozen=True)
class Paren(Expr):
    """Brackets around x: round, or square ('[')."""

    x: Expr
    bracket: str = "("


@dataclass(frozen=True)
class Call(Expr):
    """A function applied: 'act' is the layer's activation symbol (S, sigma, F), else a name (tanh, ln)."""

    name: str
    args: tuple
    layer: str = ""
    sub: str = ""  # softmax: the unit, as a subscript of the call


@dataclass(frozen=True)
class Sum(Expr):
    """Sigma over the samples of a batch: sum_{d=1}^{m} (body)_d."""

    body: Expr
    count: int


@dataclass(frozen=True)
class Ellipsis_(Expr):
    """Terms left out of a long sum."""


@dataclass(frozen=True)
class Tagged(Expr):
    """x with a remark after its numbers ('(frozen)')."""

    x: Expr
    text: str


@dataclass(frozen=True)
class Either(Expr):
    """One form written with symbols, another with numbers."""

    symbolic: Expr
    numeric: Expr


def add(*terms) -> Expr:
    """A sum of terms, all added ('+'); one term is itself, none is 0 (a cell no window of a grid layer reads)."""
    if not terms:
        return Num("0")
    return terms[0] if len(terms) == 1 else Add(tuple(("+", t) for t in terms))


def sub(a: Expr, b: Expr) -> Add:
    """a - b."""
    return Add((("+", a), ("-", b)))


def mul(*factors, dots: bool = True) -> Mul:
    """A product; products among the factors are flattened into it."""
    flat = []
    for f in factors:
        flat.extend(f.factors if isinstance(f, Mul) and f.dots == dots else (f,))
    return Mul(tuple(flat), dots)


ONE, TWO = Num("1"), Num("2")


def one_minus(x: Expr) -> Paren:
    """(1 - x), x shown with digits enough that the difference is not 0."""
    return Paren(sub(ONE, Ref(x.key, near_one=True) if isinstance(x, Ref) else x))
