"""Grading hand calculations: each answer against the trace, with rounding, carried-forward errors and diagnoses.

For each quantity, in worked-example order, an answer is
- correct: equal to the exact value to the tolerance, or to the digits the student wrote;
- rounded: between the exact value and the value of the same computation done with every intermediate
  rounded to the student's digits (Ekman's -0.066 is computed from the rounded -0.14);
- carried forward: wrong, but what the student's own earlier (wrong) values give: not counted twice;
- wrong, with the classic mistake that explains it when one does (tracer.mistakes);
- blank or unparseable.
Correct, rounded and carried-forward answers score.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .answers import AnswerFileError, read_answers
from .engine import run
from .exercise import Item, Recompute, exact_values, exercise_items
from .mistakes import MISTAKES
from .template import variant_spec

SCORING = ("correct", "rounded", "carried forward")
DEFAULT_RTOL = 1e-4


@dataclass
class Mark:
    """The verdict on one answer."""

    label: str
    answer: str | None
    expected: float
    status: str  # correct, rounded, carried forward, wrong, blank, unparseable
    diagnosis: str = ""
    explain: str = ""


@dataclass
class Result:
    """One student file: its marks, or the reason it could not be read."""

    file: str
    variant: str = ""
    marks: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    error: str = ""

    @property
    def score(self) -> int:
        return sum(m.status in SCORING for m in self.marks)

    @property
    def total(self) -> int:
        return len(self.marks)

    @property
    def all_correct(self) -> bool:
        return not self.error and self.total > 0 and self.score == self.total


def parse_number(text: str | None) -> tuple[float, int] | None:
    """The number a student wrote and its decimal places ('−0,066' -> (-0.066, 3)); None if not a number."""
    if text is None:
        return None
    t = text.strip().replace("−", "-").replace("–", "-").replace(" ", "")
    if "," in t and "." not in t:
        t = t.replace(",", ".")
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", t):
        return None
    try:
        d = Decimal(t)
    except InvalidOperation:
        return None
    return float(d), max(0, -d.as_tuple().exponent)


def _matches(value: float, digits: int, target: float, rtol: float) -> bool:
    """The written value equals target to the tolerance, or to the digits written."""
    if not math.isfinite(target):
        return False
    if abs(value - target) <= rtol * abs(target) + 1e-12:
        return True
    return abs(value - target) <= _half_unit(digits, target)


def _half_unit(digits: int, target: float) -> float:
    """Half a unit in the last written decimal, with at least two significant digits of the target
    ('0' is not 0.014 "to the digits written")."""
    if target and math.isfinite(target):
        digits = max(digits, 1 - math.floor(math.log10(abs(target))))
    return 0.5 * 10.0 ** -digits * (1 + 1e-9)


def check_answers(spec, answers: dict, rtol: float = DEFAULT_RTOL, digits: int | None = None,
                  notation: str | None = None) -> list[Mark]:
    """Marks for a student's answers (label -> text) to the exercise of `spec`."""
    steps = max([int(m.group(1)) for a in answers for m in [re.match(r"step (\d+): ", a)] if m] or [1])
    trace = run(spec)
    steps = min(steps, trace.step_count())
    items = exercise_items(trace, steps, notation)
    exact = exact_values(trace, items)
    rc = Recompute(spec, trace)
    parsed = {i.key: parse_number(answers.get(i.label)) for i in items}
    student = {k: v[0] for k, v in parsed.items() if v is not None}
    written = [v[1] for v in parsed.values() if v is not None]
    places = digits if digits is not None else (max(set(written), key=written.count) if written else 4)
    rounded = _rounded_trace(items, rc, exact, places)

    def own(kind, step, sample, layer, unit, source):
        key = (kind, step, sample, layer, unit, source)
        return student.get(key, exact.get(key, rounded.get(key)))

    marks = []
    for item in items:
        text, got = answers.get(item.label), parsed[item.key]
        mark = Mark(item.label, text, exact[item.key], "")
        if text is None:
            mark.status = "blank"
        elif got is None:
            mark.status = "unparseable"
        else:
            value, dp = got
            dp = digits if digits is not None else dp
            lo, hi = sorted((exact[item.key], rounded[item.key]))
            if _matches(value, dp, exact[item.key], rtol):
                mark.status = "correct"
            elif lo - _half_unit(dp, exact[item.key]) <= value <= hi + _half_unit(dp, exact[item.key]):
                mark.status = "rounded"
            elif _matches(value, dp, rc.value(item, own), rtol):
                mark.status = "carried forward"
            else:
                mark.status = "wrong"
                mark.diagnosis, mark.explain = diagnose(item, value, dp, rc, own, exact, rtol)
        marks.append(mark)
    return marks


def _rounded_trace(items: list[Item], rc: Recompute, exact: dict, places: int) -> dict:
    """The same computation with every intermediate rounded to `places` decimals, as by hand."""
    values = {}

    def get(kind, step, sample, layer, unit, source):
        key = (kind, step, sample, layer, unit, source)
        return values[key] if key in values else exact[key]

    for item in items:
        values[item.key] = round(rc.value(item, get), places)
    return values


def diagnose(item: Item, value: float, dp: int, rc: Recompute, own, exact: dict, rtol: float) -> tuple[str, str]:
    """The first classic mistake whose value matches the answer (from the student's or the exact inputs)."""
    exact_get = lambda kind, *key: exact.get((kind, *key), own(kind, *key))
    for mistake in MISTAKES:
        for get in (own, exact_get):
            try:
                candidate = mistake.value(item, rc, get)
            except (KeyError, ValueError, ZeroDivisionError):
                candidate = None
            candidates = candidate if isinstance(candidate, list) else [candidate]
            if any(c is not None and _matches(value, dp, c, rtol) for c in candidates):
                return mistake.name, mistake.explain
    return "", ""


def check_file(spec, path, rtol: float = DEFAULT_RTOL, digits: int | None = None, notation: str | None = None) -> Result:
    """Grade one student file; a file that cannot be read gives a Result with `error` set, never an exception."""
    result = Result(file=str(path))
    try:
        answers, vid, problems = read_answers(Path(path))
    except AnswerFileError as e:
        result.error = str(e)
        return result
    result.problems = problems
    result.variant = vid or spec.name
    try:
        result.marks = check_answers(variant_spec(spec, vid), answers, rtol=rtol, digits=digits, notation=notation)
    except Exception as e:  # a student's file never stops the batch: say what went wrong and go on
        result.error = f"cannot be graded ({e})"
        return result
    known = {m.label for m in result.marks}
    extra = [a for a in answers if a not in known]
    if extra:
        result.problems.append(f"{len(extra)} row(s) that are not quantities of this exercise, e.g. {extra[0]!r}")
    return result


def summary_line(result: Result) -> str:
    """One terminal line per student."""
    name = Path(result.file).name
    if result.error:
        return f"{name}: not graded: {result.error}"
    wrong = [m for m in result.marks if m.status not in SCORING]
    detail = "; ".join(f"{m.label}: {m.status}{' (' + m.diagnosis + ')' if m.diagnosis else ''}" for m in wrong[:4])
    more = f"; and {len(wrong) - 4} more" if len(wrong) > 4 else ""
    return f"{name} [{result.variant}]: {result.score}/{result.total}" + (f": {detail}{more}" if wrong else "")


def gradebook(results: list[Result]):
    """One row per student file: variant, score, total, and each quantity's status."""
    import pandas as pd

    rows = []
    for r in results:
        row = {"student file": Path(r.file).name, "variant": r.variant, "score": r.score, "total": r.total,
               "error": r.error}
        for m in r.marks:
            row[m.label] = m.status + (f": {m.diagnosis}" if m.diagnosis else "")
        rows.append(row)
    return pd.DataFrame(rows)


def write_gradebook(results: list[Result], out_dir) -> list[Path]:
    """gradebook.csv and gradebook.xlsx in out_dir (atomically)."""
    from .atomic import atomic_path, write_text

    out = Path(out_dir)
    book = gradebook(results)
    write_text(out / "gradebook.csv", book.to_csv(index=False, lineterminator="\n"))
    with atomic_path(out / "gradebook.xlsx") as tmp:
        book.to_excel(tmp, index=False, engine="openpyxl", sheet_name="gradebook")
    return [out / "gradebook.csv", out / "gradebook.xlsx"]


def write_feedback(result: Result, path) -> Path:
    """A student's feedback: each wrong answer beside the right one, with the diagnosed mistake (HTML or xlsx)."""
    from .atomic import atomic_path, write_text
    from .html import _env

    path = Path(path)
    rows = [{"label": m.label, "answer": m.answer if m.answer is not None else "", "expected": f"{m.expected:.6g}",
             "status": m.status, "diagnosis": m.diagnosis, "explain": m.explain} for m in result.marks]
    if path.suffix.lower() == ".xlsx":
        import pandas as pd

        with atomic_path(path) as tmp:
            pd.DataFrame(rows).to_excel(tmp, index=False, engine="openpyxl", sheet_name="feedback")
        return path
    html = _env().get_template("check_feedback.html.j2").render(
        file=Path(result.file).name, variant=result.variant, score=result.score, total=result.total,
        error=result.error, problems=result.problems, rows=rows)
    write_text(path, html)
    return path
