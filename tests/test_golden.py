"""Every bundled example against its golden trace (tests/test_golden/): a change in numbers is a visible diff.

Refresh after an intended change: python3 -m pytest tests/test_golden.py --update-traces
"""
from __future__ import annotations

import pytest

import tracer
from tracer.pytest_plugin import select_steps_of
from tracer.resources import example_paths

LONG = 50  # runs with more steps keep only their first and last three steps in the golden files


@pytest.mark.parametrize("path", example_paths(), ids=[p.stem for p in example_paths()])
def test_example_matches_its_golden_trace(path, trace_regression):
    trace = tracer.run(tracer.load_spec(path))
    n = trace.step_count()
    tables = trace if n <= LONG else select_steps_of(trace, [1, 2, 3, n - 2, n - 1, n])
    trace_regression.check(tables, basename=path.stem)
