"""Students' answers as a learning management system exports them: Moodle's quiz responses report (CSV).

Each row is a student; for each question slot the report has the question's text (which holds the variant
id, "[variant: ekman:7:3]", as `tracer template --moodle` writes it) and the response, which Moodle
summarises for a Cloze question as "part 1: -0.25; part 2: -0.24; ...". Part i is the i-th quantity of the
variant's exercise. Download the report with the question text included.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from .answers import AnswerFileError, MAX_BYTES
from .check import Result, check_answers
from .exercise import Exercise
from .lms import VARIANT_MARK
from .numbers import Rounding
from .variants import variant_spec

VARIANT = re.compile(r"\[" + re.escape(VARIANT_MARK) + r"\s*([^\]\s]{1,200})\s*\]")
STEPS = re.compile(r"\[steps:\s*([0-9,\- ]{1,200})\]")
NOTATION = re.compile(r"\[notation:\s*(\w{1,20})\]")
PART = re.compile(r"(?:^|;\s*)part (\d+):\s*([^;]*)")


def read_moodle_responses(path) -> list[tuple[str, str, str, str | None, dict]]:
    """(student, variant id, steps, notation, {part number: text}) for each answered question of the report."""
    path = Path(path)
    if not path.is_file():
        raise AnswerFileError("no such file")
    if path.stat().st_size > 50 * MAX_BYTES:
        raise AnswerFileError("larger than a responses report of a class")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise AnswerFileError("not UTF-8 text: download the report as CSV (UTF-8)") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise AnswerFileError("no rows")
    slots = sorted(int(m.group(1)) for c in rows[0] if (m := re.fullmatch(r"Response (\d+)", c or "")))
    if not slots:
        raise AnswerFileError("not a Moodle responses report (no 'Response N' column)")
    if not any(f"Question {n}" in rows[0] for n in slots):
        raise AnswerFileError("the report has no question text: download it with 'Question text' ticked, which "
                              "holds each student's variant")
    out = []
    for k, row in enumerate(rows, start=1):
        first = row.get("First name", "")
        last = row.get("Last name", row.get("Surname", ""))
        who = " ".join(p for p in (first, last) if p).strip() or f"row {k + 1}"
        if email := row.get("Email address"):
            who += f" <{email}>"
        for n in slots:
            question = row.get(f"Question {n}", "") or ""
            found = VARIANT.search(question)
            response = row.get(f"Response {n}", "") or ""
            if found is None or response.strip() in ("", "-"):
                continue
            steps = STEPS.search(question)
            notation = NOTATION.search(question)
            parts = {int(i): v.strip() for i, v in PART.findall(response)}
            out.append((who, found.group(1), steps.group(1).strip() if steps else "1",
                        notation.group(1) if notation else None, parts))
    return out


def check_responses(spec, path, rounding: Rounding | None = None, notation: str | None = None) -> list[Result]:
    """Grade every student of a Moodle responses report against their own variant (steps and notation as the
    quiz was written)."""
    results = []
    for who, vid, steps, written_in, parts in read_moodle_responses(path):
        result = Result(file=who, variant=vid)
        names = notation or written_in  # this question's notation unless the instructor chose one
        try:
            vspec = variant_spec(spec, vid)
            labels = [i.label for i in Exercise(vspec, steps, names).items]
            answers = {label: parts.get(i) or None for i, label in enumerate(labels, start=1)}
            result.marks = check_answers(vspec, answers, rounding=rounding, notation=names, steps=steps)
        except Exception as e:  # one student's row never stops the class
            result.error = f"cannot be graded ({str(e)[:200]})"
        results.append(result)
    return results
