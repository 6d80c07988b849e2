"""Exercise sheets: an answer workbook per student (optionally a variant with its own numbers) and its key.

The workbook gives the network, the data and the initial weights, then lists one labelled row per
quantity to compute (tracer.exercise, in worked-example order and the course's notation) with an empty
answer cell; the key has the same layout with the answers filled in. The variant id, notation and number
of steps are written in cells B2:B4 and in the document properties, so `tracer check` grades each file
against its own numbers. Variants draw new initial weights and inputs from a seed, rounded to one decimal
for hand computation, and reject draws that saturate a unit.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.atomic import atomic_path
from ..engine.train import run
from ..errors import TracerError
from .exercise import Exercise, exercise_trace
from ..model.notation import profile
from ..io.workbooks import new_workbook

SATURATION = 0.1  # a draw is rejected when a derivative falls below this share of its maximum
SHEET = "answers"
SATURATED = "saturated"  # last field of the id of a variant drawn with --saturated
HEADER = ("variant", "notation", "steps")  # rows 2-4: what `tracer check` needs to grade the file


def variant_id(spec, seed: int | None, index: int | None, saturated: bool = False) -> str:
    """'ekman' for the spec itself, 'ekman:7:3' for variant 3 drawn with seed 7 (':saturated' if allowed)."""
    if seed is None:
        return spec.name
    return f"{spec.name}:{seed}:{index}" + (f":{SATURATED}" if saturated else "")


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
        if fields[3:] not in ([], [SATURATED]):
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
        da = trace.nodes.loc[trace.nodes["layer"] == layer.name, "da_dz"].abs()
        if (da < SATURATION * top).any():
            return True
    return False


def given_rows(spec, trace, steps: int, names) -> list[tuple[str, object]]:
    """What the student is given: network, loss, learning rate, the samples used and the initial weights."""
    rows = [(f"layer {l.name}", f"units {', '.join(l.units)}; activation {l.activation.describe()}; "
                                f"{'bias' if l.bias else 'no bias'}") for l in spec.layers]
    rows += [("loss", spec.loss.formula), ("update", names.profile.update),
             ("training", f"{spec.training.mode}, batch size {spec.batch_size}"),
             (names.label("eta", None, None), spec.learning_rate)]
    if spec.weight_decay:
        rows.append(("weight decay", spec.weight_decay))
    if spec.momentum:
        rows.append(("momentum", spec.momentum))
    for d in sorted(set(trace.losses.loc[trace.losses["step"] <= steps, "sample"])):
        rows += [(f"sample {d}: {names.label('x', None, None, s)}", v) for s, v in zip(spec.inputs, spec.x[d - 1])]
        rows += [(f"sample {d}: {names.label('target', spec.output.name, u)}", v)
                 for u, v in zip(spec.output.units, spec.y[d - 1])]
    for l in spec.layers:
        for j, u in enumerate(l.units):
            for i, s in enumerate(l.sources):
                fixed = " (kept fixed)" if l.frozen[j, i] else ""
                rows.append((names.label("w", l.name, u, s) + fixed, float(l.weights[j, i])))
    return rows


def write_exercise(spec, path, key: bool = False, steps: int = 1, notation: str | None = None,
                   vid: str | None = None) -> Path:
    """Write the answer workbook (key=False: empty answer cells) of the first `steps` steps."""
    names = profile(notation, spec)
    ex = Exercise(spec, steps, names.profile.name)
    trace, items, values = ex.trace, ex.items, ex.exact
    vid = vid or spec.name
    kind = "answer key" if key else "exercise"
    with atomic_path(path) as tmp:
        wb = new_workbook(tmp, {"title": spec.title or spec.name, "subject": kind, "keywords": vid,
                                "comments": f"variant {vid}"})
        for name, value in zip(HEADER, (vid, names.profile.name, str(steps))):
            wb.set_custom_property(name, value)
        ws = wb.add_worksheet(SHEET)
        bold = wb.add_format({"bold": True})
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        given = wb.add_format({"bg_color": "#FFF2CC", "border": 1})
        answer = wb.add_format({"bg_color": "#E2EFDA", "border": 1})
        ws.set_column(0, 0, 34)
        ws.set_column(1, 1, 22)
        ws.write_string(0, 0, f"{kind.capitalize()}: {spec.title or spec.name}", bold)
        for r, (name, value) in enumerate(zip(HEADER, (vid, names.profile.name, str(steps))), start=1):
            ws.write_string(r, 0, name)
            ws.write_string(r, 1, value)
        ws.write_string(4, 0, spec.source or "")
        what = "step 1" if steps == 1 else f"the first {steps} steps"
        ws.write_string(5, 0, f"Compute {what} by hand and type each number into its green cell (a number, not "
                              "a formula). Keep the labels and this sheet's name.")
        r = 7
        ws.write_string(r, 0, "given", head)
        ws.write_string(r, 1, "value", head)
        for label, v in given_rows(spec, trace, steps, names):
            r += 1
            ws.write_string(r, 0, label)
            if isinstance(v, str):
                ws.write_string(r, 1, v, given)
            else:
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
    if n < 1:
        raise TracerError("--variants", "expected a number of variants of at least 1")
    if Path(out_dir).suffix.lower() == ".xlsx":
        raise TracerError("--out", "with --variants, --out is a folder (exercises/), not a workbook")
    exercise_trace(spec, steps)  # bad --steps or --notation stop here, before any file is written
    profile(notation, spec)
    variants = [(index, draw_variant(spec, seed, index, saturated)) for index in range(1, n + 1)]
    written = []
    for index, vspec in variants:
        vid = variant_id(spec, seed, index, saturated)
        stem = Path(out_dir) / f"{spec.name}-variant-{index:02d}"
        written.append(write_exercise(vspec, f"{stem}.xlsx", steps=steps, notation=notation, vid=vid))
        written.append(write_exercise(vspec, f"{stem}-key.xlsx", key=True, steps=steps, notation=notation, vid=vid))
    return written
