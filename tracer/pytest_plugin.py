"""The pytest plugin's entry point: the --update-traces option and the trace_regression fixture.

pytest loads it in every session of an environment where backprop-tracer is installed, so it imports nothing
of the library: the fixture loads tracer.compare.plugin when a test first uses it.
"""
from __future__ import annotations

import pytest


def pytest_addoption(parser):
    """The --update-traces option."""
    parser.getgroup("backprop-tracer").addoption(
        "--update-traces", action="store_true", default=False,
        help="write or refresh the golden traces of trace_regression; a test whose golden changed then fails, "
             "saying what changed")


@pytest.fixture
def trace_regression(request):
    """Compare a trace with the golden trace of this test: trace_regression.check(trace, rtol=..., atol=...)."""
    from .compare.plugin import TraceRegression

    return TraceRegression(request)
