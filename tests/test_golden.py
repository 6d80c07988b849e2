"""Every bundled example against its golden trace (tests/test_golden/): a change in numbers is a visible diff.

Refresh after an intended change, or when an example is added: python3 -m pytest tests/test_golden.py --update-traces
"""
from __future__ import annotations

from pathlib import Path

from tracer.compare.plugin import select_steps_of
from tracer.io.resources import example_paths
from traces import example_trace

GOLDEN = Path(__file__).with_suffix("")  # tests/test_golden/<example>/, as the plugin names it
LONG = 50  # runs with more steps keep only their first and last three steps in the golden files


def test_example_matches_its_golden_trace(example, trace_regression):
    trace = example_trace(example)
    n = trace.step_count()
    tables = trace if n <= LONG else select_steps_of(trace, [1, 2, 3, n - 2, n - 1, n])
    trace_regression.check(tables, basename=example.stem)


def test_every_example_has_a_golden_trace_and_no_stale_one_is_left():
    assert sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()) == sorted(p.stem for p in example_paths()), \
        "refresh with `python3 -m pytest tests/test_golden.py --update-traces` and remove folders of removed examples"


def test_golden_traces_are_small():
    sizes = {f"{p.parent.name}/{p.name}": p.stat().st_size for p in GOLDEN.glob("*/*.csv")}
    assert sizes and max(sizes.values()) < 300_000, sizes
