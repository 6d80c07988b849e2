"""Comparing traces: tracer diff (first divergence in dependency order), its reports, the pytest plugin.

The names below are imported when first used (PEP 562): `tracer diff` of two Parquet folders then loads
neither pandas nor the report writers (tracer.compare.folders).
"""
from __future__ import annotations

import importlib

_HOMES = {"DEFAULT_ATOL": "diff", "DEFAULT_RTOL": "diff", "diff_traces": "diff", "DiffResult": "judge",
          "format_result": "output", "write_diff_report": "output", "load_trace": "tables"}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    """A public name, imported from its module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'tracer.compare' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value
