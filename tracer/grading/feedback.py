"""What grading writes: one line per student and one for the class, the grade book (CSV and xlsx), and a
feedback page per student with each wrong answer beside the right one and why.

Every file name of a class gets its own page (alice.csv and alice.xlsx too); text a spreadsheet would execute
(= + - @ first) is neutralised in the CSV grade book (OWASP CSV injection) and written as text in workbooks;
pages are autoescaped templates.
"""
from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

from ..io.atomic import atomic_path, write_text
from ..io.resources import render_template
from ..errors import TracerError, one_line
from ..model.fields import FORMULA_START
from .answers import AnswerFileError
from .check import DEFAULT_RTOL, SCORING, Result, check_file
from .verdict import TOO_FEW_DIGITS, TRUNCATED, UNEXPLAINED
from .responses import check_responses
from .numbers import Rounding


def summary_line(result: Result, name: str | None = None) -> str:
    """One terminal line per student (names and messages with control characters shown escaped)."""
    name = name or Path(result.file).name
    if result.error:
        return one_line(f"{name}: not graded: {result.error}")
    wrong = [m for m in result.marks if m.status in ("wrong", "unparseable")]
    parts = []
    cause = result.leading_cause()
    if cause is not None:  # said first, once, with the answers it explains left out of the list
        parts.append(f"{cause[1]} answers: {cause[0]}")
        wrong = [m for m in wrong if m.diagnosis != cause[0]]
    parts += [f"{m.label}: {m.status}{' (' + m.diagnosis + ')' if m.diagnosis else ''}" for m in wrong[:4]]
    if len(wrong) > 4:
        parts.append(f"{len(wrong) - 4} more wrong")
    if blank := sum(m.status == "blank" for m in result.marks):
        parts.append(f"{blank} blank")
    if result.unknown:  # said here too, not only in the feedback: a 26/26 with ignored rows is not the whole story
        shown = ", ".join(repr(label[:30]) for label in result.unknown[:3])
        more = f" and {len(result.unknown) - 3} more" if len(result.unknown) > 3 else ""
        parts.append(f"{len(result.unknown)} unknown label(s) ignored: {shown}{more}")
    return one_line(f"{name} [{result.variant}]: {result.score}/{result.total}" + (": " + "; ".join(parts) if parts
                                                                                  else ""))


def class_summary(results: list[Result]) -> str:
    """One line for the class: files graded, mean score, and the mistakes diagnosed most often."""
    graded = [r for r in results if not r.error]
    mean = sum(r.score / r.total for r in graded if r.total) / len(graded) if graded else 0.0
    students: dict = {}  # mistake -> students who made it; cells: how many answers it explains
    cells: dict = {}
    for r in graded:
        for m in r.marks:
            if m.diagnosis and m.diagnosis not in (UNEXPLAINED, TOO_FEW_DIGITS, TRUNCATED):
                students.setdefault(m.diagnosis, set()).add(r.file)
                cells[m.diagnosis] = cells.get(m.diagnosis, 0) + 1
    top = sorted(students, key=lambda name: (-len(students[name]), -cells[name], name))[:3]
    mistakes = "; most frequent mistakes: " + ", ".join(
        f"{name} ({len(students[name])} student{'s' if len(students[name]) > 1 else ''}, {cells[name]} "
        f"answer{'s' if cells[name] > 1 else ''})" for name in top) if top else ""
    return f"class: {len(graded)} of {len(results)} files graded, mean score {100 * mean:.0f}%" + mistakes


def student_names(results: list[Result]) -> list[str]:
    """A distinct short name per file: the file name, with its folder where two files share a name."""
    names = [Path(r.file).name for r in results]
    names = [str(Path(Path(r.file).parent.name) / n) if names.count(n) > 1 else n for r, n in zip(results, names)]
    return [n if names.count(n) == 1 else f"{n} ({k})" for k, n in enumerate(names, start=1)]


def page_names(names: list[str]) -> list[str]:
    """A feedback page name per student: the file's name without its extension, with it where two would
    meet (alice.csv / alice.xlsx), and numbered where names differ only in what a file name keeps
    ('bob smith.xlsx' / 'bob-smith.xlsx')."""
    clean = lambda text: re.sub(r"[^\w.-]+", "-", text).strip("-.") or "student"
    stems = [clean(str(Path(n).with_suffix(""))) for n in names]
    stems = [clean(n) if stems.count(s) > 1 else s for n, s in zip(names, stems)]
    out, seen = [], {}
    for stem in stems:
        seen[stem.lower()] = seen.get(stem.lower(), 0) + 1
        out.append(stem if seen[stem.lower()] == 1 else f"{stem}-{seen[stem.lower()]}")
    return [f"{s}.html" for s in out]


def gradebook(results: list[Result]) -> tuple[list[str], list[list]]:
    """Columns and rows of the grade book: student file, variant, score, total, error, each quantity's status."""
    labels = list(dict.fromkeys(m.label for r in results for m in r.marks))
    rows = []
    for name, r in zip(student_names(results), results):
        status = {m.label: m.status + (f": {m.diagnosis}" if m.diagnosis else "") for m in r.marks}
        rows.append([name, r.variant, r.identified, r.score, r.total, r.error] +
                    [status.get(label, "") for label in labels])
    return ["student file", "variant", "variant found by", "score", "total", "error"] + labels, rows


def spreadsheet_safe(value):
    """A CSV cell a spreadsheet shows as written: text starting with = + - @ (or tab, CR) gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def by_quantity(results: list[Result]) -> tuple[list[str], list[list]]:
    """A row per quantity: how many of the class got it right, and the mistake most of them made, so an
    instructor sees which step the class got wrong."""
    graded = [r for r in results if not r.error]
    columns = ["quantity", "students", "right", "share right", "wrong", "blank", "most common mistake",
               "students with it"]
    rows = []
    for label in dict.fromkeys(m.label for r in graded for m in r.marks):
        marks = [m for r in graded for m in r.marks if m.label == label]
        mistakes: dict = {}
        for m in marks:
            if m.status == "wrong" and m.diagnosis and m.diagnosis != UNEXPLAINED:
                mistakes[m.diagnosis] = mistakes.get(m.diagnosis, 0) + 1
        common = min(mistakes, key=lambda d: (-mistakes[d], d)) if mistakes else ""
        right = sum(m.status in SCORING for m in marks)
        rows.append([label, len(marks), right, right / len(marks) if marks else 0.0,
                     sum(m.status in ("wrong", "unparseable") for m in marks), sum(m.status == "blank" for m in marks),
                     common, mistakes.get(common, "")])
    return columns, rows


SCORE_COLUMNS = 6  # what the grade book prints: student file, variant, found by, score, total, error


def write_gradebook(results: list[Result], out_dir) -> list[Path]:
    """gradebook.csv and gradebook.xlsx in out_dir (atomically, byte-identical for the same results); the
    workbook also has a sheet `by quantity` (by_quantity). Both print one page wide: the grade book its score
    columns (each quantity's status is on screen; the class's result per quantity prints from `by quantity`)."""
    out = Path(out_dir)
    columns, rows = gradebook(results)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[spreadsheet_safe(v) for v in row] for row in [columns] + rows])
    write_text(out / "gradebook.csv", buf.getvalue())
    write_tables(out / "gradebook.xlsx", [("gradebook", columns, rows, (), SCORE_COLUMNS),
                                         ("by quantity", *by_quantity(results), ())])
    return [out / "gradebook.csv", out / "gradebook.xlsx"]


def write_table(path: Path, sheet: str, columns: list[str], rows: list[list], notes: tuple = ()) -> None:
    """A one-sheet workbook (notes, then a table)."""
    write_tables(path, [(sheet, columns, rows, notes)])


def write_tables(path: Path, sheets: list[tuple]) -> None:
    """A workbook of tables, each (sheet name, columns, rows, notes above it[, columns printed]): text is written
    as text, so a
    student's '=...' never becomes a formula; a bold wrapped header frozen with the first column, a filter,
    columns as wide as their contents (10 to 40 characters), shares as percentages, printed landscape one page
    wide with the header on every page."""
    from ..io.xlsxwriting import new_workbook  # XlsxWriter only when a grade book is written

    with atomic_path(path) as tmp:
        wb = new_workbook(tmp)
        bold = wb.add_format({"bold": True, "text_wrap": True, "valign": "top", "bottom": 1, "bg_color": "#DDEBF7"})
        percent = wb.add_format({"num_format": "0%"})
        for sheet, columns, rows, notes, *printed in sheets:
            ws = wb.add_worksheet(sheet)
            for r, note in enumerate(notes):
                ws.write_string(r, 0, note)
            top = len(notes) + 1 if notes else 0
            for c, name in enumerate(columns):
                ws.write_string(top, c, name, bold)
                width = max([len(name) // 2 + 2] + [len(str(row[c])) + 2 for row in rows[:500] if c < len(row)])
                ws.set_column(c, c, min(40, max(10, width)), percent if name.startswith("share") else None)
            for r, row in enumerate(rows, start=top + 1):
                for c, v in enumerate(row):
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        ws.write_number(r, c, v)
                    elif v not in (None, ""):
                        ws.write_string(r, c, str(v))
            ws.freeze_panes(top + 1, 1)
            if columns:
                ws.autofilter(top, 0, top + len(rows), len(columns) - 1)
            ws.set_landscape()
            ws.fit_to_pages(1, 0)
            ws.repeat_rows(top)
            if printed and len(columns) > printed[0]:
                ws.print_area(0, 0, top + len(rows), printed[0] - 1)
        wb.close()


def feedback_rows(result: Result) -> list[dict]:
    """Each answer beside the right one (6 significant digits), with the verdict and why."""
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
        write_table(path, "feedback", columns, [[r["label"], r["answer"], r["expected"], r["from_own"], r["status"],
                                                 r["diagnosis"], r["explain"]] for r in rows], tuple(notes))
        return path
    html = render_template("check_feedback.html.j2", file=name or Path(result.file).name, variant=result.variant,
                           score=result.score, total=result.total, error=result.error, problems=result.problems,
                           rows=rows)
    write_text(path, html)
    return path


def check_files(spec, paths=(), out_dir=None, rtol: float = DEFAULT_RTOL, rounding: Rounding | None = None,
                notation: str | None = None, echo=print, moodle_responses=None, variants: tuple = ()) -> list[Result]:
    """Grade many files, and the students of a Moodle responses report (one line each through `echo`); with
    out_dir, the grade book and a feedback page each. `variants`: the class's variant ids (variant_ids), which
    a file without its variant row is matched against by the givens it repeats.

    >>> check_files(load_spec("ekman"), ["alice.xlsx", "bob.csv"], out_dir="grades", rounding=Rounding.decimals(2))
    """
    results, known = [], {}
    for path in paths:
        result = check_file(spec, path, rtol=rtol, rounding=rounding, notation=notation, variants=variants,
                            known=known)
        results.append(result)
        echo(summary_line(result))
    if moodle_responses is not None:
        try:
            graded = check_responses(spec, moodle_responses, rounding=rounding, notation=notation)
        except AnswerFileError as e:
            raise TracerError(str(moodle_responses), str(e)) from None
        for result in graded:
            echo(summary_line(result))
        results += graded
    return report_results(results, out_dir, echo)


def report_results(results: list[Result], out_dir=None, echo=print) -> list[Result]:
    """The class line, and with out_dir the grade book and a feedback page per student."""
    if len(results) > 1:
        echo(class_summary(results))
    if out_dir is not None:
        for path in write_gradebook(results, out_dir):
            echo(f"wrote {path}")
        names = student_names(results)
        for name, page, result in zip(names, page_names(names), results):
            write_feedback(result, Path(out_dir) / page, name=name)
    return results
