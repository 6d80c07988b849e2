"""Exercise sheets: an answer workbook per student (optionally a variant with its own numbers) and its key.

The workbook gives the network, the data and the weights before the exercise's steps, then lists one
labelled row per quantity to compute (tracer.grading.exercise, in worked-example order and the course's
notation) with an empty answer cell; the key has the same layout with the answers filled in (with
`rounding`, as a person with a calculator gets them, every intermediate rounded, next to the exact values).
The variant id, notation and steps are written in cells B2:B4 and in the document properties, so
`tracer check` grades each file against its own numbers.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import TracerError
from ..io.atomic import atomic_path
from ..options import paper_code
from ..io.xlsxwriting import new_workbook
from ..model.notation import profile
from ..steps import describe_steps
from .check import rounded_trace
from .exercise import Exercise, given_rows
from .numbers import Rounding
from .variants import draw_variant, variant_id

SHEET = "answers"
HEADER = ("variant", "notation", "steps")  # rows 2-4: what `tracer check` needs to grade the file
POLICY_ROW = 6  # row 7: the class's rounding, which `tracer check` grades by unless told otherwise


def key_values(ex: Exercise, rounding: Rounding | None) -> dict:
    """The key's answers: exact, or as computed by hand with every intermediate rounded to the policy."""
    if rounding is None:
        return ex.exact
    raw = rounded_trace(ex, lambda v: rounding.hand(v, 0))
    return {k: rounding.hand(v, 0) for k, v in raw.items()}


def write_exercise(spec, path, key: bool = False, steps=1, notation: str | None = None, vid: str | None = None,
                   rounding: Rounding | None = None, paper: str = "a4", exercise: Exercise | None = None) -> Path:
    """Write the answer workbook (key=False: empty answer cells) of `steps` (a count K, or '1-3,last');
    `exercise`: the Exercise of spec, steps and notation when already made (a variant's sheet and key share one).

    >>> write_exercise(load_spec("ekman"), "key.xlsx", key=True, rounding=Rounding.decimals(4))
    """
    paper_size = paper_code(paper)
    names = profile(notation, spec)
    ex = exercise if exercise is not None else Exercise(spec, steps, names.profile.name)
    vid = vid or spec.name
    kind = "answer key" if key else "exercise"
    chosen = describe_steps(ex.steps)
    answers = key_values(ex, rounding) if key else {}
    given = given_rows(ex, names)
    label_width = max([34] + [len(label) + 2 for label, _ in given] + [len(i.label) + 2 for i in ex.items])
    value_width = max([22] + [len(v) + 2 for _, v in given if isinstance(v, str)])
    with atomic_path(path) as tmp:
        wb = new_workbook(tmp, {"title": spec.title or spec.name, "subject": kind, "keywords": vid,
                                "comments": f"variant {vid}"}, in_memory=True)  # a small sheet: no temporary files
        policy = (rounding or Rounding()).describe()
        for name, value in (*zip(HEADER, (vid, names.profile.name, chosen)), ("rounding", policy)):
            wb.set_custom_property(name, value)
        ws = wb.add_worksheet(SHEET)
        bold = wb.add_format({"bold": True})
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        given_fmt = wb.add_format({"bg_color": "#FFF2CC", "border": 1})
        answer = wb.add_format({"bg_color": "#E2EFDA", "border": 1})
        ws.set_column(0, 0, min(label_width, 60))
        ws.set_column(1, 1, min(value_width, 80))
        ws.set_column(2, 2, 22)
        ws.write_string(0, 0, f"{kind.capitalize()}: {spec.title or spec.name}", bold)
        for r, (name, value) in enumerate(zip(HEADER, (vid, names.profile.name, chosen)), start=1):
            ws.write_string(r, 0, name)
            ws.write_string(r, 1, value)
        ws.write_string(4, 0, spec.source or "")
        ws.write_string(POLICY_ROW, 0, "rounding")
        ws.write_string(POLICY_ROW, 1, policy)
        what = f"step{'s' * (len(ex.steps) > 1)} {chosen}"
        ws.write_string(5, 0, f"Compute {what} by hand and type each number into its green cell (a number, not "
                              "a formula). Keep the labels and this sheet's name.")
        r = 7
        ws.write_string(r, 0, "given", head)
        ws.write_string(r, 1, "value", head)
        for label, v in given:
            r += 1
            ws.write_string(r, 0, label)
            if isinstance(v, str):
                ws.write_string(r, 1, v, given_fmt)
            else:
                ws.write_number(r, 1, float(v), given_fmt)
        r += 2
        ws.write_string(r, 0, "quantity", head)
        ws.write_string(r, 1, "answer", head)
        if key and rounding is not None:
            ws.write_string(r, 2, "exact", head)
            ws.write_string(r - 1, 1, f"as computed by hand, every intermediate rounded to {rounding.describe()}")
        header_row = r
        for item in ex.items:
            r += 1
            ws.write_string(r, 0, item.label)
            if key:
                ws.write_number(r, 1, answers[item.key], answer)
                if rounding is not None:
                    ws.write_number(r, 2, ex.exact[item.key])
            else:
                ws.write_blank(r, 1, None, answer)
        ws.set_paper(paper_size)
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(header_row, header_row)
        ws.set_footer(f"&L{spec.name} {kind}&RPage &P of &N")
        wb.close()
    return Path(path)


def variant_exercises(spec, n: int, seed: int, steps=1, notation: str | None = None,
                      saturated: bool = False) -> list[tuple[str, Exercise]]:
    """N variants of a spec with their own numbers, as (variant id, exercise): drawn and traced once for the
    workbooks, the keys and the quizzes."""
    if n < 1:
        raise TracerError("--variants", "expected a number of variants of at least 1")
    return [(variant_id(spec, seed, i, saturated), Exercise(draw_variant(spec, seed, i, saturated), steps, notation))
            for i in range(1, n + 1)]


def keys_folder(out_dir, keys_dir=None) -> Path:
    """The folder of the variants' keys (default out_dir/keys/), checked with out_dir before any variant is made:
    out_dir is a folder, and the keys never lie beside the handouts."""
    if Path(out_dir).suffix.lower() == ".xlsx":
        raise TracerError("--out", "with --variants, --out is a folder (exercises/), not a workbook")
    keys = Path(keys_dir) if keys_dir is not None else Path(out_dir) / "keys"
    if keys.resolve() == Path(out_dir).resolve():
        raise TracerError("--keys", "keys go into their own folder, never beside the handouts")
    return keys


def write_variants(spec, out_dir, n: int, seed: int, steps=1, notation: str | None = None,
                   saturated: bool = False, rounding: Rounding | None = None, keys_dir=None,
                   paper: str = "a4", variants: list[tuple[str, Exercise]] | None = None) -> list[Path]:
    """N exercise workbooks with their own numbers in out_dir, and one key per variant in keys_dir (default
    out_dir/keys/, never beside the handouts); `variants`: variant_exercises(...) when already made."""
    keys = keys_folder(out_dir, keys_dir)
    # bad --steps or --notation stop here, before any file is written
    variants = variants if variants is not None else variant_exercises(spec, n, seed, steps, notation, saturated)
    written = []
    for index, (vid, ex) in enumerate(variants, start=1):
        name = f"{spec.name}-variant-{index:02d}"
        for path, key in ((Path(out_dir) / f"{name}.xlsx", False), (keys / f"{name}-key.xlsx", True)):
            written.append(write_exercise(ex.spec, path, key=key, steps=steps, notation=notation, vid=vid,
                                          rounding=rounding, paper=paper, exercise=ex))
    return written
