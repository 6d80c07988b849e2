"""Exercise sheets: an answer workbook per student (optionally a variant with its own numbers) and its key.

The workbook gives the network, the data and the initial weights, then lists one labelled row per
quantity to compute (tracer.exercise, in worked-example order and the course's notation) with an empty
answer cell; the key has the same layout with the answers filled in. Variants draw new initial weights and
inputs from a seed, rounded to one decimal for hand computation, and reject draws that saturate a unit.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xlsxwriter

from .atomic import atomic_path
from .engine import run
from .errors import TracerError
from .exercise import exact_values, exercise_items
from .xlsx import CREATED

SATURATION = 0.1  # a draw is rejected when a derivative falls below this share of its maximum
SHEET = "answers"


def variant_id(spec, seed: int | None, index: int | None) -> str:
    """'ekman' for the spec itself, 'ekman:7:3' for variant 3 drawn with seed 7."""
    return spec.name if seed is None else f"{spec.name}:{seed}:{index}"


def variant_spec(spec, vid: str | None, saturated: bool = False):
    """The spec of a variant id (the spec itself when the id is its name or empty)."""
    if not vid or vid == spec.name:
        return spec
    try:
        name, seed, index = vid.split(":")
        seed, index = int(seed), int(index)
    except ValueError:
        raise TracerError("variant", f"{vid!r} is not a variant id of the form {spec.name}:SEED:N") from None
    if name != spec.name:
        raise TracerError("variant", f"{vid!r} is a variant of {name!r}, not of {spec.name!r}")
    return draw_variant(spec, seed, index, saturated)


def draw_variant(spec, seed: int, index: int, saturated: bool = False):
    """New initial weights and inputs in [-1, 1] (one decimal), drawn reproducibly; no saturated units."""
    rng = np.random.default_rng([seed, index])
    for _ in range(1000):
        weights = [np.round(rng.uniform(-1, 1, size=l.weights.shape), 1) for l in spec.layers]
        weights = [np.where(l.frozen, l.weights, w) for l, w in zip(spec.layers, weights)]
        x = np.round(rng.uniform(-1, 1, size=spec.x.shape), 1)
        candidate = spec.with_weights(weights).replace(x=x)
        if saturated or not _saturates(candidate):
            return candidate
    raise TracerError("--variants", "could not draw a variant without saturated units; use --saturated")


def _saturates(spec) -> bool:
    """Whether any unit's derivative in the first epoch is below SATURATION of its largest value."""
    trace = run(spec, epochs=1)
    for layer in spec.layers:
        act = layer.activation
        if not act.saturates:
            continue
        top = float(act.da_dz(np.zeros((1, 1)), act.f(np.zeros((1, 1))))[0, 0]) or 1.0
        da = trace.nodes.loc[trace.nodes["layer"] == layer.name, "da_dz"].abs()
        if (da < SATURATION * top).any():
            return True
    return False


def write_exercise(spec, path, key: bool = False, steps: int = 1, notation: str | None = None,
                   vid: str | None = None) -> Path:
    """Write the answer workbook (key=False: empty answers) of the first `steps` steps."""
    trace = run(spec, epochs=None)
    n_steps = trace.step_count()
    if not 1 <= steps <= n_steps:
        raise TracerError("--steps", f"expected a number of steps from 1 to {n_steps}")
    items = exercise_items(trace, steps, notation)
    values = exact_values(trace, items)
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False})
        wb.set_properties({"created": CREATED, "title": spec.title or spec.name, "keywords": vid or spec.name,
                           "comments": "answer key" if key else "exercise"})
        ws = wb.add_worksheet(SHEET)
        bold = wb.add_format({"bold": True})
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        given = wb.add_format({"bg_color": "#FFF2CC", "border": 1})
        answer = wb.add_format({"bg_color": "#E2EFDA", "border": 1})
        ws.set_column(0, 0, 30)
        ws.set_column(1, 4, 14)
        ws.write_string(0, 0, ("Answer key: " if key else "Exercise: ") + (spec.title or spec.name), bold)
        ws.write_string(1, 0, "variant")
        ws.write_string(1, 1, vid or spec.name)
        ws.write_string(2, 0, spec.source or "")
        ws.write_string(3, 0, f"Compute the first {steps} step(s) by hand: fill in the green cells. Loss "
                              f"{spec.loss.name}, learning rate {spec.learning_rate:g}, {spec.training.mode} training.")
        r = 5
        ws.write_string(r, 0, "given", head)
        ws.write_string(r, 1, "value", head)
        rows = [("learning rate", spec.learning_rate)]
        if spec.weight_decay:
            rows.append(("weight decay", spec.weight_decay))
        if spec.momentum:
            rows.append(("momentum", spec.momentum))
        for d in sorted(set(trace.losses.loc[trace.losses["step"] <= steps, "sample"])):
            rows += [(f"sample {d}: {name}", v) for name, v in zip(spec.inputs, spec.x[d - 1])]
            rows += [(f"sample {d}: target {u}", v) for u, v in zip(spec.output.units, spec.y[d - 1])]
        w0 = trace.updates[trace.updates["step"] == 1]
        from .notation import profile

        names = profile(notation, spec)
        rows += [(names.label("w", r_.layer, r_.unit, r_.source), r_.w_old) for r_ in w0.itertuples(index=False)]
        for label, v in rows:
            r += 1
            ws.write_string(r, 0, label)
            ws.write_number(r, 1, float(v), given)
        r += 2
        ws.write_string(r, 0, "quantity", head)
        ws.write_string(r, 1, "answer", head)
        for item in items:
            r += 1
            ws.write_string(r, 0, item.label)
            if key:
                ws.write_number(r, 1, values[item.key], answer)
            else:
                ws.write_blank(r, 1, None, answer)
        wb.close()
    return Path(path)


def write_variants(spec, out_dir, n: int, seed: int, steps: int = 1, notation: str | None = None,
                   saturated: bool = False) -> list[Path]:
    """N exercise workbooks with their own numbers, and one key per variant, in out_dir."""
    written = []
    for index in range(1, n + 1):
        vid = variant_id(spec, seed, index)
        vspec = draw_variant(spec, seed, index, saturated)
        stem = Path(out_dir) / f"{spec.name}-variant-{index:02d}"
        written.append(write_exercise(vspec, f"{stem}.xlsx", steps=steps, notation=notation, vid=vid))
        written.append(write_exercise(vspec, f"{stem}-key.xlsx", key=True, steps=steps, notation=notation, vid=vid))
    return written
