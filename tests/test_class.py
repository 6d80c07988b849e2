"""A real class, reproduced: 30 students, each with a variant of Ekman's exercise (--round 3), answering the
ways students do: the workbook with its sheet renamed, LibreOffice's CSV in cp1252 (Δ lost to '?'), a CSV
without its variant row, one answer cut off instead of rounded, answers rounded half-even, and answers pasted
into a new workbook with nothing to tell the variant by. Every verdict of the grade book is the expected one.
"""
from __future__ import annotations

import csv
import math

import openpyxl

import tracer
from tracer.grading.feedback import check_files, gradebook
from tracer.grading.template import write_variants
from tracer.grading.variants import variant_ids
from tracer.io.resources import find_example

EKMAN = tracer.load_spec(find_example("ekman"))
KINDS = ("renamed sheet", "cp1252 csv", "no variant row", "truncated", "half-even", "pasted")


def sheet_rows(path):
    wb = openpyxl.load_workbook(path)
    return wb, [list(r) for r in wb.worksheets[0].iter_rows(values_only=True, max_col=3)]


def answers_start(rows) -> int:
    return [r[0] for r in rows].index("quantity") + 1


def student_file(kind: str, key, out, n: int):
    """The key of a student's variant, saved as `kind`; (path, the label expected wrong or None)."""
    wb, rows = sheet_rows(key)
    start = answers_start(rows)
    if kind == "renamed sheet":
        wb.worksheets[0].title = "Tabelle1"
        wb.save(out / f"s{n:02d}.xlsx")
        return out / f"s{n:02d}.xlsx", None
    if kind == "cp1252 csv":
        with open(out / f"s{n:02d}.csv", "w", encoding="cp1252", errors="replace", newline="") as f:
            csv.writer(f).writerows([["" if v is None else v for v in r[:2]] for r in rows])
        return out / f"s{n:02d}.csv", None
    if kind == "no variant row":
        with open(out / f"s{n:02d}.csv", "w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows([r[:2] for r in rows if r[0] != "variant"])
        return out / f"s{n:02d}.csv", None
    if kind == "truncated":  # the first answer whose 4th decimal would round it up, cut off instead
        exact = {r[0]: r[2] for r in rows[start:]}
        label = next(l for l, v in exact.items() if int(round(abs(v) * 1e4)) % 10 >= 5 and int(abs(v) * 1e4) % 10 >= 5)
        for r in rows[start:]:
            if r[0] == label:
                r[1] = math.trunc(r[2] * 1000) / 1000
        with open(out / f"s{n:02d}.csv", "w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows([r[:2] for r in rows])
        return out / f"s{n:02d}.csv", label
    if kind == "half-even":  # every answer the exact value rounded by Python's round(), halves to even
        with open(out / f"s{n:02d}.csv", "w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows([r[:2] for r in rows[:start]] + [[r[0], f"{round(r[2], 3):.3f}"] for r in rows[start:]])
        return out / f"s{n:02d}.csv", None
    pasted = openpyxl.Workbook()
    for r in rows[start:]:
        pasted.active.append(r[:2])
    pasted.save(out / f"s{n:02d}.xlsx")
    return out / f"s{n:02d}.xlsx", None


def test_a_class_of_thirty_is_graded_as_its_instructor_expects(tmp_path):
    write_variants(EKMAN, tmp_path / "v", 30, seed=1, rounding=tracer.Rounding.decimals(3))
    keys = sorted((tmp_path / "v" / "keys").glob("*-key.xlsx"))
    files, expected = [], []
    for n, key in enumerate(keys, start=1):
        kind = KINDS[(n - 1) % len(KINDS)]
        path, wrong = student_file(kind, key, tmp_path, n)
        files.append(path)
        expected.append((kind, wrong))
    variants = variant_ids(EKMAN, 30, 1)
    lines = []
    results = check_files(EKMAN, files, variants=variants, echo=lines.append)
    columns, book = gradebook(results)
    for (kind, wrong), result, row, vid in zip(expected, results, book, variants):
        if kind == "pasted":  # nothing tells its variant: refused for this file alone, in one line
            assert result.error.startswith("no variant row and no givens"), result.error
            continue
        assert result.error == "" and result.variant == vid, (kind, result.variant, result.error)
        assert row[2] == ("the givens it repeats" if kind == "no variant row" else "its variant row"), (kind, row[2])
        status = {m.label: (m.status, m.diagnosis) for m in result.marks}
        if wrong is None:
            assert result.score == result.total == 26, (kind, [s for s in status.items() if s[1][0] != "correct"])
        else:
            assert status[wrong] == ("wrong", "truncated instead of rounded") and result.score == 25, (kind, status)
        if kind == "cp1252 csv":
            assert result.problems[0].startswith("5 label(s) lost characters such as Δ or δ")
    assert lines[-1].startswith("class: 25 of 30 files graded")
