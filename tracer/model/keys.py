"""The name of a quantity in a plan, (kind, sample, layer, unit, source): what tracer.model.plan and
tracer.model.gridplan both build their ops' keys with."""
from __future__ import annotations


def key(kind: str, sample: int = 0, layer: str = "", unit: str = "", source: str = "") -> tuple:
    """The name of a quantity in a plan."""
    return (kind, sample, layer, unit, source)
