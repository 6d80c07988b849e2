"""backprop-tracer: train a feed-forward network with backpropagation and record every intermediate value.

The public names below are imported when first used (PEP 562), so importing a part of the package (the pytest
plugin's entry point, `tracer --version`) does not load numpy, pandas and every exporter.
"""
from __future__ import annotations

import importlib

__version__ = "0.2.0"  # the package's version (pyproject.toml reads it from here)

_HOMES = {
    "Recorder": "capture", "batches": "capture",
    "check_answers": "grading.check", "check_file": "grading.check",
    "check_files": "grading.feedback", "write_feedback": "grading.feedback", "write_gradebook": "grading.feedback",
    "Rounding": "grading.numbers",
    "DiffResult": "compare", "diff_traces": "compare", "format_result": "compare", "load_trace": "compare",
    "write_diff_report": "compare",
    "forward": "engine.epochs", "run": "engine.train", "Recording": "engine.record",
    "SpecError": "errors", "TracerError": "errors", "TracerWarning": "errors",
    "render_report": "export.html", "write_report": "export.html",
    "live_html": "export.live", "write_live": "export.live",
    "load_spec": "io.specfile", "write_trace": "io.tracewriter", "trace_stream": "io.tracewriter",
    "Spec": "model.spec", "parse_spec": "model.spec",
    "write_exercise": "grading.template", "write_variants": "grading.template",
    "Trace": "engine.trace",
    "write_workbook": "export.xlsx",
    "read_xlsx": "io.workbooks",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    """A public name, imported from its module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'tracer' has no attribute {name!r}")
    _show_traces_in_notebooks()
    value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))


def _show_traces_in_notebooks() -> None:
    """A trace in a notebook shows as a small report (the engine knows no HTML, so the link is made here)."""
    from .engine.trace import Trace
    from .export.html import summary_html

    Trace._repr_html_ = summary_html
