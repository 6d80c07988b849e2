"""The bundled examples' traces, each trained once per test process (xor alone takes seconds)."""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import tracer
from tracer.io.resources import find_example


@functools.lru_cache(maxsize=None)
def _trained(path: str):
    return tracer.run(tracer.load_spec(path))


def example_trace(example):
    """The trace of a bundled example (a name or a spec path) with the spec's own settings; each call gets its
    own copy of the four tables, so a test may change them."""
    path = Path(example) if isinstance(example, Path) or "/" in str(example) else find_example(example)
    trace = _trained(str(path))
    return dataclasses.replace(trace, nodes=trace.nodes.copy(), weights=trace.weights.copy(),
                               updates=trace.updates.copy(), losses=trace.losses.copy())


def assert_same_as_the_engine(trace, spec) -> None:
    """A recorded trace of a net with shared weights against the engine's: every table, and each term of each
    shared weight's gradient (which diff leaves out) to a relative 1e-9."""
    import numpy as np

    engine = tracer.run(spec)
    result = tracer.diff_traces(trace, engine)
    assert result.same, tracer.format_result(result)
    np.testing.assert_allclose(trace.contributions.contribution, engine.contributions.contribution, rtol=1e-9,
                               atol=1e-12)
