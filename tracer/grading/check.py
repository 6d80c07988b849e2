"""Grading hand calculations: each answer against the trace, with rounding, carried-forward errors and diagnoses.

For each quantity, in worked-example order, an answer is
- correct: equal to the exact value to the tolerance, or to the digits the student wrote;
- rounded: between the exact value and the value of the same computation done with every intermediate
  rounded to the student's digits, or exactly what the student's own accepted (rounded) earlier values
  give (Ekman's -0.066 is computed from the rounded -0.14);
- carried forward: wrong, but what the student's own earlier wrong values give: not counted twice;
- wrong, with the classic mistake that explains it when one does (tracer.mistakes);
- blank or unparseable.
Correct, rounded and carried-forward answers score. Recomputations are the ops of the plan
(tracer.grading.exercise, tracer.model.plan), never formulas of their own.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from .answers import AnswerFileError, read_answers
from ..io.atomic import atomic_path, write_text
from ..io.resources import render_template
from ..io.workbooks import new_workbook
from .exercise import Exercise, Item
from .mistakes import MISTAKES, mistake_values
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
    from_own: float | None = None  # what the student's own earlier values give (shown when it differs)


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


def _decimal(text: str | None) -> Decimal | None:
    """The number a student wrote as a Decimal ('−0,066' -> Decimal('-0.066')); None if not a number."""
    if text is None:
        return None
    t = text.strip().replace("−", "-").replace("–", "-").replace(" ", "").replace("\u202f", "")
    if "," in t and "." not in t:
        t = t.replace(",", ".")
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?", t):
        return None
    try:
        return Decimal(t)
    except InvalidOperation:
        return None


def parse_number(text: str | None) -> tuple[float, int] | None:
    """The number a student wrote and its decimal places ('−0,066' -> (-0.066, 3)); None if not a number."""
    d = _decimal(text)
    return None if d is None else (float(d), max(0, -d.as_tuple().exponent))


def significant(text: str | None) -> int:
    """Significant digits a student wrote ('-0.0060' -> 2, '0.42' -> 2, '12.5' -> 3); 0 if not a number."""
    d = _decimal(text)
    if d is None:
        return 0
    digits = d.as_tuple().digits
    return max(1, len(digits) - next((k for k, x in enumerate(digits) if x), len(digits)))


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


def _rounded_in_stages(value: float, digits: int, target: float) -> bool:
    """The written value is the target rounded by hand in stages, one decimal at a time from up to three more
    decimals (-0.24492 -> -0.245 -> -0.25: Ekman's y_g), rounding halves away from zero."""
    if not math.isfinite(target) or not math.isfinite(value):
        return False
    if target:  # at least two significant digits, as in _half_unit
        digits = max(digits, 1 - math.floor(math.log10(abs(target))))
    for extra in (1, 2, 3):
        x = Decimal(repr(target))
        for places in range(digits + extra, digits - 1, -1):
            x = x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if x == Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP):
            return True
    return False


def steps_answered(answers: dict) -> int:
    """The number of steps an answer sheet covers, from its labels ('step 2: ...'); 1 without prefixes."""
    return max([int(m.group(1)) for a in answers for m in [re.match(r"step (\d+): ", a)] if m] or [1])


def check_answers(spec, answers: dict, rtol: float = DEFAULT_RTOL, digits: int | None = None,
                  notation: str | None = None, steps: int | None = None) -> list[Mark]:
    """Marks for a student's answers (label -> text) to the exercise of the first `steps` steps of `spec`."""
    steps = steps or steps_answered(answers)
    ex = Exercise(spec, steps, notation)
    items, exact = ex.items, ex.exact
    parsed = {i.key: parse_number(answers.get(i.label)) for i in items}
    student = {k: v[0] for k, v in parsed.items() if v is not None}
    if digits is not None:
        rounded = _rounded_trace(ex, exact, lambda v: round(v, digits))
    else:  # the significant digits the student usually keeps (Ekman: 2), at least 2
        sig = [significant(answers.get(i.label)) for i in items if parsed[i.key] is not None]
        keep = max(2, max(sorted(set(sig)), key=sig.count) if sig else 4)
        rounded = _rounded_trace(ex, exact, lambda v: _round_significant(v, keep))
    status, used = {}, set()

    def own(kind, step, sample, layer, unit, source):
        """The student's value where they gave one (noting that it was used), else the exact one."""
        key = (kind, step, sample, layer, unit, source)
        if key in student:
            used.add(key)
            return student[key]
        return exact.get(key, rounded.get(key))

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
            used.clear()
            mark.from_own = ex.value(item, own)
            if _matches(value, dp, exact[item.key], rtol):
                mark.status = "correct"
            elif lo - _half_unit(dp, exact[item.key]) <= value <= hi + _half_unit(dp, exact[item.key]) \
                    or _rounded_in_stages(value, dp, exact[item.key]):
                mark.status = "rounded"
            elif _matches(value, dp, mark.from_own, rtol):
                # from the student's own values: rounding if those were accepted, else an error carried forward
                earlier_wrong = any(status.get(k) in ("wrong", "carried forward") for k in used)
                mark.status = "carried forward" if earlier_wrong else "rounded"
            else:
                mark.status = "wrong"
                mark.diagnosis, mark.explain = diagnose(ex, item, value, dp, own, exact, rtol)
        status[item.key] = mark.status
        marks.append(mark)
    return marks


def _rounded_trace(ex: Exercise, exact: dict, rounding) -> dict:
    """Each value computed by hand from earlier values that were rounded (`rounding`) as they were written
    down; the value itself is returned before its own rounding, so the band reaches what a student gets."""
    values, raw = {}, {}

    def get(kind, step, sample, layer, unit, source):
        key = (kind, step, sample, layer, unit, source)
        return values[key] if key in values else exact[key]

    for item in ex.items:
        raw[item.key] = ex.value(item, get)
        values[item.key] = rounding(raw[item.key])
    return raw


def _round_significant(value: float, n: int) -> float:
    """Round to n significant digits, as by hand."""
    if not value or not math.isfinite(value):
        return value
    return round(value, n - 1 - math.floor(math.log10(abs(value))))


def diagnose(ex: Exercise, item: Item, value: float, dp: int, own, exact: dict, rtol: float) -> tuple[str, str]:
    """The first classic mistake whose value matches the answer (from the student's or the exact inputs)."""
    exact_get = lambda kind, *key: exact.get((kind, *key), own(kind, *key))
    for mistake in MISTAKES:
        for get in (own, exact_get):
            try:
                candidates = mistake_values(mistake, ex, item, get)
            except (KeyError, ValueError, ZeroDivisionError, IndexError):
                candidates = []
            if any(_matches(value, dp, c, rtol) for c in candidates):
                return mistake.name, mistake.explain
    return "", ""


def check_file(spec, path, rtol: float = DEFAULT_RTOL, digits: int | None = None,
               notation: str | None = None) -> Result:
    """Grade one student file against its own variant; a bad file gives a Result with `error` set, never raises.

    The variant, notation and number of steps come from the file (as `tracer template` wrote them);
    `notation` overrides the file's.
    """
    result = Result(file=str(path))
    try:
        sheet = read_answers(Path(path))
    except AnswerFileError as e:
        result.error = str(e)
        return result
    result.problems = sheet.problems
    vid = sheet.meta.get("variant")
    result.variant = vid or spec.name
    steps = sheet.meta.get("steps")
    try:
        steps = int(steps) if steps else None
        result.marks = check_answers(variant_spec(spec, vid), sheet.answers, rtol=rtol, digits=digits,
                                     notation=notation or sheet.meta.get("notation"), steps=steps)
    except Exception as e:  # a student's file never stops the batch: say what went wrong and go on
        result.error = f"cannot be graded ({e})"
        return result
    known = {m.label for m in result.marks}
    extra = [a for a in sheet.answers if a not in known]
    if extra:
        result.problems.append(f"{len(extra)} row(s) that are not quantities of this exercise, e.g. {extra[0][:40]!r}")
    if len(extra) > len(sheet.answers) - len(extra):
        result.problems.append("most labels do not match the exercise: were they changed, or is the file in "
                               "another notation (--notation)?")
    return result


def summary_line(result: Result, name: str | None = None) -> str:
    """One terminal line per student."""
    name = name or Path(result.file).name
    if result.error:
        return f"{name}: not graded: {result.error}"
    wrong = [m for m in result.marks if m.status in ("wrong", "unparseable")]
    parts = [f"{m.label}: {m.status}{' (' + m.diagnosis + ')' if m.diagnosis else ''}" for m in wrong[:4]]
    if len(wrong) > 4:
        parts.append(f"{len(wrong) - 4} more wrong")
    if blank := sum(m.status == "blank" for m in result.marks):
        parts.append(f"{blank} blank")
    return f"{name} [{result.variant}]: {result.score}/{result.total}" + (": " + "; ".join(parts) if parts else "")


def class_summary(results: list[Result]) -> str:
    """One line for the class: files graded, mean score, and the mistakes diagnosed most often."""
    graded = [r for r in results if not r.error]
    mean = sum(r.score / r.total for r in graded if r.total) / len(graded) if graded else 0.0
    counts: dict = {}
    for r in graded:
        for m in r.marks:
            if m.diagnosis:
                counts[m.diagnosis] = counts.get(m.diagnosis, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    mistakes = "; most frequent mistakes: " + ", ".join(f"{name} ({n})" for name, n in top) if top else ""
    return (f"class: {len(graded)} of {len(results)} files graded, mean score {100 * mean:.0f}%" + mistakes)


def student_names(results: list[Result]) -> list[str]:
    """A distinct short name per file: the file name, with its folder where two files share a name."""
    names = [Path(r.file).name for r in results]
    names = [str(Path(Path(r.file).parent.name) / n) if names.count(n) > 1 else n for r, n in zip(results, names)]
    return [n if names.count(n) == 1 else f"{n} ({k})" for k, n in enumerate(names, start=1)]


def gradebook(results: list[Result]) -> tuple[list[str], list[list]]:
    """Columns and rows of the grade book: student file, variant, score, total, error, each quantity's status."""
    labels = list(dict.fromkeys(m.label for r in results for m in r.marks))
    rows = []
    for name, r in zip(student_names(results), results):
        status = {m.label: m.status + (f": {m.diagnosis}" if m.diagnosis else "") for m in r.marks}
        rows.append([name, r.variant, r.score, r.total, r.error] + [status.get(label, "") for label in labels])
    return ["student file", "variant", "score", "total", "error"] + labels, rows


def write_gradebook(results: list[Result], out_dir) -> list[Path]:
    """gradebook.csv and gradebook.xlsx in out_dir (atomically, byte-identical for the same results)."""
    import csv
    import io

    out = Path(out_dir)
    columns, rows = gradebook(results)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([columns] + rows)
    write_text(out / "gradebook.csv", buf.getvalue())
    _write_table(out / "gradebook.xlsx", "gradebook", columns, rows)
    return [out / "gradebook.csv", out / "gradebook.xlsx"]


def _write_table(path: Path, sheet: str, columns: list[str], rows: list[list], notes: tuple = ()) -> None:
    """A one-sheet workbook (notes, then a table); text is written as text, so a student's '=...' never
    becomes a formula."""
    with atomic_path(path) as tmp:
        wb = new_workbook(tmp)
        ws = wb.add_worksheet(sheet)
        bold = wb.add_format({"bold": True})
        for r, note in enumerate(notes):
            ws.write_string(r, 0, note)
        top = len(notes) + 1 if notes else 0
        for c, name in enumerate(columns):
            ws.write_string(top, c, name, bold)
        for r, row in enumerate(rows, start=top + 1):
            for c, v in enumerate(row):
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    ws.write_number(r, c, v)
                elif v not in (None, ""):
                    ws.write_string(r, c, str(v))
        ws.freeze_panes(top + 1, 1)
        wb.close()


def feedback_rows(result: Result) -> list[dict]:
    """Each answer beside the right one (6 significant digits), with the verdict and the diagnosed mistake."""
    rows = []
    for m in result.marks:
        own = "" if m.from_own is None or m.status in ("correct", "rounded") or \
            math.isclose(m.from_own, m.expected, rel_tol=1e-9) else f"{m.from_own:.6g}"
        rows.append({"label": m.label, "answer": m.answer if m.answer is not None else "",
                     "expected": f"{m.expected:.6g}", "from_own": own, "status": m.status,
                     "css": m.status.split()[0],  # correct, rounded, carried, wrong, blank, unparseable
                     "diagnosis": m.diagnosis, "explain": m.explain})
    return rows


def write_feedback(result: Result, path, name: str | None = None) -> Path:
    """A student's feedback: each wrong answer beside the right one, with the diagnosed mistake (HTML or xlsx)."""
    path = Path(path)
    rows = feedback_rows(result)
    if path.suffix.lower() == ".xlsx":
        columns = ["quantity", "your answer", "right answer", "from your earlier values", "verdict", "mistake", "why"]
        notes = [f"Feedback on {name or Path(result.file).name}, variant {result.variant}",
                 f"Not graded: {result.error}" if result.error else f"Score: {result.score} / {result.total}",
                 *result.problems]
        _write_table(path, "feedback", columns, [[r["label"], r["answer"], r["expected"], r["from_own"], r["status"],
                                                  r["diagnosis"], r["explain"]] for r in rows], notes)
        return path
    html = render_template("check_feedback.html.j2",
        file=name or Path(result.file).name, variant=result.variant, score=result.score, total=result.total,
        error=result.error, problems=result.problems, rows=rows)
    write_text(path, html)
    return path


def check_files(spec, paths, out_dir=None, rtol: float = DEFAULT_RTOL, digits: int | None = None,
                notation: str | None = None, echo=print) -> list[Result]:
    """Grade many files (one line each through `echo`); with out_dir, the grade book and a feedback page each."""
    results = []
    for path in paths:
        result = check_file(spec, path, rtol=rtol, digits=digits, notation=notation)
        results.append(result)
        echo(summary_line(result))
    if len(results) > 1:
        echo(class_summary(results))
    if out_dir is not None:
        for path in write_gradebook(results, out_dir):
            echo(f"wrote {path}")
        for name, result in zip(student_names(results), results):
            stem = re.sub(r"[^\w.-]+", "-", str(Path(name).with_suffix("")))
            write_feedback(result, Path(out_dir) / f"{stem}.html", name=name)
    return results
