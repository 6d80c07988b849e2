"""Variants of an exercise: each student's own initial weights and inputs, drawn reproducibly from a seed.

A variant id (`frey-online:7:3`: spec, seed, index; `:saturated` when saturated units were allowed) is
written into the student's workbook, so `tracer check` regenerates the variant instead of trusting numbers
in the file. Draws have one decimal, lie in [-1, 1], and are rejected when a unit saturates.
"""
from __future__ import annotations

import numpy as np

from ..engine.train import run
from ..errors import TracerError

SATURATION = 0.1  # a draw is rejected when a derivative falls below this share of its maximum
SATURATED = "saturated"  # last field of the id of a variant drawn with --saturated


def variant_id(spec, seed: int | None, index: int | None, saturated: bool = False) -> str:
    """'ekman' for the spec itself, 'ekman:7:3' for variant 3 drawn with seed 7 (':saturated' if allowed)."""
    if seed is None:
        return spec.name
    return f"{spec.name}:{seed}:{index}" + (f":{SATURATED}" if saturated else "")


def variant_ids(spec, n: int, seed: int, saturated: bool = False) -> tuple[str, ...]:
    """The ids of the N variants `tracer template --variants N --seed S` draws."""
    return tuple(variant_id(spec, seed, i, saturated) for i in range(1, n + 1))


def variant_spec(spec, vid: str | None):
    """The spec of a variant id (the spec itself when the id is its name or empty)."""
    if not vid or vid == spec.name:
        return spec
    fields = vid.split(":")
    if fields[0] != spec.name:
        raise TracerError("variant", f"the file is an exercise on {fields[0]!r}, not on {spec.name!r}: "
                                     "check it with that spec")
    try:
        seed, index = int(fields[1]), int(fields[2])
        if fields[3:] not in ([], [SATURATED]) or seed < 0 or not 1 <= index <= 100_000 or len(vid) > 200:
            raise ValueError
    except (ValueError, IndexError):
        raise TracerError("variant", f"{vid!r} is not a variant id of the form {spec.name}:SEED:N") from None
    return draw_variant(spec, seed, index, saturated=fields[3:] == [SATURATED])


def draw_variant(spec, seed: int, index: int, saturated: bool = False):
    """New initial weights and inputs in [-1, 1] (one decimal), drawn reproducibly; no saturated units.

    Frozen weights keep their values (a fixed bias stays fixed); the targets stay as they are.
    """
    rng = np.random.default_rng([seed, index])
    for _ in range(1000):
        weights = [np.round(rng.uniform(-1, 1, size=l.weights.shape), 1) for l in spec.layers]
        weights = [np.where(l.frozen, l.weights, w) for l, w in zip(spec.layers, weights)]
        x = np.round(rng.uniform(-1, 1, size=spec.x.shape), 1)
        candidate = spec.with_weights(weights).replace(x=x)
        if saturated or not saturates(candidate):
            return candidate
    raise TracerError("--variants", "could not draw a variant without saturated units; use --saturated")


def saturates(spec) -> bool:
    """Whether any unit's derivative in the first epoch is below SATURATION of its value at z = 0."""
    trace = run(spec, epochs=1)
    for layer in spec.layers:
        act = layer.activation
        if not act.saturates:
            continue
        top = float(act.da_dz(np.zeros((1, 1)), act.f(np.zeros((1, 1))))[0, 0]) or 1.0
        if (np.abs(trace.values.layer("da_dz", layer.name)) < SATURATION * top).any():
            return True
    return False
