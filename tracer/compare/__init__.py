"""Comparing traces: tracer diff (first divergence in dependency order), its reports, the pytest plugin."""
from .diff import DEFAULT_ATOL, DEFAULT_RTOL, DiffResult, diff_traces
from .output import format_result, write_diff_report
from .tables import load_trace

__all__ = ["DEFAULT_ATOL", "DEFAULT_RTOL", "DiffResult", "diff_traces", "format_result", "load_trace",
           "write_diff_report"]
