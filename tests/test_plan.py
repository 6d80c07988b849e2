"""The plan is the one description of the computation: evaluated on a trace's givens it gives the engine's
values, for every bundled example, every quantity and (for long runs) the first and last steps."""
from __future__ import annotations

import numpy as np
import pytest

import tracer
from tracer.io.resources import find_example
from tracer.model.plan import LEAVES, Plan


def steps_to_check(trace) -> list[int]:
    n = trace.step_count()
    return sorted({1, 2, 3, n - 1, n} & set(range(1, n + 1)))


def assert_plan_is_the_engine(spec, trace, steps) -> None:
    """The plan of each step, evaluated on the step's givens, gives every value the engine recorded (and names
    the same quantities)."""
    for step in steps:
        plan = Plan(spec, len(trace.values.samples(step)))
        computed = plan.evaluate(trace.values.leaves(step))
        recorded = trace.values.values(step)
        assert set(recorded) == {op.key for op in plan.ops}, "the plan and the trace name the same quantities"
        for k, value in recorded.items():
            assert np.isclose(computed[k], value, rtol=1e-12, atol=1e-14), (step, k, computed[k], value)


def test_plan_evaluated_is_the_engine(example):
    spec = tracer.load_spec(example)
    trace = tracer.run(spec, epochs=min(spec.training.epochs, 3))
    assert_plan_is_the_engine(spec, trace, steps_to_check(trace))


def test_every_operand_is_a_leaf_or_an_earlier_op(example):
    spec = tracer.load_spec(example)
    plan = Plan(spec, min(spec.batch_size, len(spec.x)))
    seen = set()
    for op in plan.ops:
        for k in op.operands:
            assert k[0] in LEAVES or k in seen, (op.key, k)
        seen.add(op.key)


@pytest.mark.parametrize("name", ["mazur", "mazur-sequential"])
def test_sequential_order_back_propagates_through_the_new_weights(name):
    spec = tracer.load_spec(find_example(name))
    plan = Plan(spec, 1)
    hidden = plan[("dE_da", 1, "H", "h1", "")]
    wanted = "w_new" if spec.update_order.sequential else "w"
    assert [k[0] for k in hidden.operands[::2]] == [wanted, wanted]
    order = [op.key[:3] for op in plan.ops]
    first_hidden_delta = order.index(("delta", 1, "H"))
    assert (("w_new", 0, "O") in order[:first_hidden_delta]) == spec.update_order.sequential
