"""Which variant a student's file answers: the variant row the handout carries, else the given numbers it
repeats (inputs, targets, initial weights). Nothing is graded silently against the spec itself: a file without
a variant row in a class of variants is matched by its givens or refused, in one line, and how each file's
variant was found goes into the grade book.
"""
from __future__ import annotations

import math

from ..model.notation import profile
from .answers import AnswerFileError
from .exercise import Exercise, given_rows
from .variants import variant_spec

BY_ROW, BY_GIVENS, ITSELF = "its variant row", "the givens it repeats", "the spec itself (no variant row)"
ASSIGNED = "assigned to the student (no variant row)"


def identify(spec, sheet, variants: tuple, steps, notation: str | None, known: dict,
             assigned: str | None = None) -> tuple[str, str]:
    """(variant id, how it was found) of an answer sheet. `variants`: the class's variant ids (empty: the spec
    alone); `known`: each candidate's givens, made once per class; `assigned`: the student's variant where an
    LMS knows it (Gradescope), for a file without its row. Raises AnswerFileError for a file whose variant
    cannot be told."""
    vid = sheet.meta.get("variant")
    if vid:
        return vid, BY_ROW
    if assigned:
        return assigned, ASSIGNED
    if not variants:
        return spec.name, ITSELF
    if not sheet.givens:
        raise AnswerFileError("no variant row and no givens to tell its variant by: answer in the handout made "
                              "for you, or add its variant row")
    matches = [v for v in variants if _agrees(sheet.givens, _givens(spec, v, steps, notation, known))]
    if len(matches) != 1:
        what = "no variant" if not matches else f"{len(matches)} variants ({', '.join(matches[:3])})"
        raise AnswerFileError(f"no variant row, and its givens match {what} of the {len(variants)}: add the "
                              "variant row of the student's handout")
    return matches[0], BY_GIVENS


def _givens(spec, vid: str, steps, notation: str | None, known: dict) -> dict:
    """A variant's given numbers by label, as its handout shows them."""
    where = (vid, str(steps), notation)
    if where not in known:
        ex = Exercise(variant_spec(spec, vid), steps or 1, notation)
        known[where] = {label: float(v) for label, v in given_rows(ex, profile(notation, ex.spec))
                        if isinstance(v, (int, float))}
    return known[where]


def _agrees(given: dict, expected: dict) -> bool:
    """Every given the file shows that the variant has is the variant's number, and at least one is."""
    common = [label for label in given if label in expected]
    return bool(common) and all(math.isclose(given[k], expected[k], rel_tol=1e-9, abs_tol=1e-12) for k in common)
