"""How a plan is written in a course's notation: which quantities get a line of their own, and the written
form of each, with the operands the course writes out in place (Ekman's error term g = error term f · w_gf1
· y'_g, Maren's ∂SSE/∂v = −E · αA(1 − A) · H, Frey's w ← w − η ∂E/∂w).

Everything here is read from the profile's data (tracer.model.notation); the rules supply the forms
(tracer.model.rules, activations, losses, updates). Exporters render what this gives and never ask which
course it is.
"""
from __future__ import annotations

from .expr import Either, Ref


class Writing:
    """A plan written in a notation profile."""

    def __init__(self, plan, notation):
        self.plan, self.notation = plan, notation
        self.last = plan.spec.layers[-1].name
        # descent and CS 510's decay write delta w inside the new weight's line: w <- w - eta dE/dw
        self.one_line_update = notation.update_form in ("descent", "decay") and not plan.spec.update_rule.momentum

    def role(self, op) -> str:
        """'output' for the output layer's quantities, else 'hidden'."""
        return "output" if op.layer == self.last else "hidden"

    def mode(self, operand, consumer) -> str | None:
        """How `consumer` writes its operand op: 'both' (its form, with symbols and numbers), 'numbers' (its
        label, then its form with numbers), or None (its label and value)."""
        if operand.kind == "delta_w" and consumer.kind == "w_new" and self.one_line_update:
            return "both"
        expand = self.notation.expand
        return expand.get(f"{operand.kind}.{self.role(operand)}>{consumer.kind}") or \
            expand.get(f"{operand.kind}>{consumer.kind}")

    def operand(self, key: tuple, consumer):
        """An operand as the consumer writes it: a reference to its label and value, or its own form."""
        if key not in self.plan:
            return Ref(key)
        op = self.plan[key]
        mode = self.mode(op, consumer)
        if mode is None:
            return Ref(key)
        form = self.written(op)
        return form if mode == "both" else Either(Ref(key), form)

    def written(self, op):
        """The op's written form (tracer.model.expr)."""
        return op.rule.written(op, self)

    def shown(self, op) -> bool:
        """True when the op gets a line of its own: it is not one the course writes only inside the quantities
        that use it (or some of those write only its label)."""
        inline = op.kind in self.notation.inline or f"{op.kind}.{self.role(op)}" in self.notation.inline or \
            (op.kind == "delta_w" and self.one_line_update)
        if not inline:
            return True
        consumers = self.plan.consumers.get(op.key, [])
        return not consumers or not all(self.mode(op, c) for c in consumers)

    def assignment(self, op) -> bool:
        """True when the op's line is an assignment to the weight (w <- w - eta dE/dw) rather than 'w new ='."""
        return op.kind == "w_new" and self.one_line_update and not getattr(op.rule, "frozen", False)
