"""Update rules and update orders: how a step turns gradients into new weights, and when.

The update rule is gradient descent with optional weight decay and momentum (Frey eq. 5; CS 510's
w <- (1 - alpha) w - alpha a delta is weight decay with lambda = 1):

    delta_w = mu delta_w_prev - eta (G + lambda w),   w_new = w + delta_w   (0 for a frozen parameter)

The update order says which weights the backward pass multiplies by:
- simultaneous: every gradient of a step comes from the weights before the step (Frey eq. 4);
- sequential: each layer is updated as soon as its gradient is known, so the layer below back-propagates
  through the already-updated weights (Mazur's printed error after the first round needs this order).
"""
from __future__ import annotations

from dataclasses import dataclass

from .expr import ONE, Neg, Param, Paren, add, mul, sub


@dataclass(frozen=True)
class UpdateRule:
    """delta_w = mu delta_w_prev - eta (G + lambda w); the spreadsheet names its constants as the workbook does."""

    learning_rate: float
    weight_decay: float = 0.0
    momentum: float = 0.0

    def delta_w(self, G, w, prev=0.0):
        """The change of a parameter (numpy or float)."""
        step = -self.learning_rate * (G + self.weight_decay * w) if self.weight_decay else -self.learning_rate * G
        return self.momentum * prev + step if self.momentum else step

    def formula(self, G: str, w: str, prev: str | None) -> str:
        """Spreadsheet text over the named cells learning_rate, weight_decay, momentum."""
        step = f"-learning_rate*({G}+weight_decay*{w})" if self.weight_decay else f"-learning_rate*{G}"
        return f"momentum*{prev}+{step}" if self.momentum and prev else step

    def js(self, G: str, w: str, prev: str | None, own: bool = False) -> str:
        """delta_w as JavaScript, as `delta_w` computes it, over the page's editable constants P; `own`: over
        this rule's own numbers instead (a classic mistake's other learning rate)."""
        eta, decay, mu = ((repr(self.learning_rate), repr(self.weight_decay), repr(self.momentum)) if own
                          else ("P.learning_rate", "P.weight_decay", "P.momentum"))
        step = f"-({eta})*({G}+({decay})*{w})" if self.weight_decay else f"-({eta})*{G}"
        return f"(({mu})*{prev}+{step})" if self.momentum and prev else f"({step})"

    def written_change(self, G, w, prev):
        """delta_w = mu delta_w_prev - eta (G + lambda w), as written (Ekman: -lr input error term)."""
        grad = Paren(add(G, mul(Param("lambda", self.weight_decay), w, dots=False))) if self.weight_decay else G
        eta = Param("eta", self.learning_rate)
        step = mul(eta, grad.x) if isinstance(grad, Neg) else Neg(mul(eta, grad))  # −η (−y δ) = η y δ
        return add(mul(Param("mu", self.momentum), prev, dots=False), step) if self.momentum and prev else step

    def written_decayed(self, w, G):
        """CS 510's w <- (1 - alpha) w - alpha a delta: weight decay written as a shrinking factor."""
        eta = Param("eta", self.learning_rate)
        rate = eta if self.weight_decay == 1 else mul(eta, Param("lambda", self.weight_decay), dots=False)
        return sub(mul(Paren(sub(ONE, rate)), w, dots=False), mul(eta, G))


@dataclass(frozen=True)
class UpdateOrder:
    """When a layer's weights change within a step, and so which weights the layer below back-propagates
    through: `backprop_weights` is the trace quantity of those weights ('w' before, 'w_new' after)."""

    name: str
    sequential: bool
    backprop_weights: str
    description: str


SIMULTANEOUS = UpdateOrder("simultaneous", False, "w",
                           "every gradient of a step comes from the weights before the step")
SEQUENTIAL = UpdateOrder("sequential", True, "w_new",
                         "each layer is updated as soon as its gradient is known; the layer below "
                         "back-propagates through the updated weights")
UPDATE_ORDERS = {o.name: o for o in (SIMULTANEOUS, SEQUENTIAL)}
OTHER_WEIGHTS = {"w": "w_new", "w_new": "w"}  # the weights the other update order back-propagates through
