"""Reading students' answers from answer workbooks (xlsx) or CSV, safely: a bad file is reported, never fatal.

Each reader returns (answers, variant, problems): answers maps a quantity label to the raw text the student
wrote (None when blank); problems are one-line notes about the file. A file that cannot be read at all
raises AnswerFileError, which `tracer check` reports before going on to the next file.
"""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

MAX_BYTES = 5 * 2**20  # an answer sheet is small; anything bigger is not one
MAX_ROWS = 20_000
SHEET = "answers"


class AnswerFileError(Exception):
    """The file cannot be read as an answer sheet (the message says why)."""


def read_answers(path: Path) -> tuple[dict[str, str | None], str | None, list[str]]:
    """Answers, variant id and problems of one student file (.xlsx or .csv)."""
    path = Path(path)
    if not path.is_file():
        raise AnswerFileError("no such file")
    if path.stat().st_size > MAX_BYTES:
        raise AnswerFileError(f"larger than {MAX_BYTES // 2**20} MB: not an answer sheet")
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    raise AnswerFileError("expected an .xlsx answer workbook or a .csv file (quantity,value)")


def _read_csv(path: Path):
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise AnswerFileError("not UTF-8 text") from None
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) > MAX_ROWS:
        raise AnswerFileError(f"more than {MAX_ROWS} rows")
    answers, variant, problems = {}, None, []
    for n, row in enumerate(rows, start=1):
        if not row or not row[0].strip() or (n == 1 and row[0].strip().lower() == "quantity"):
            continue
        label = row[0].strip()
        if label == "variant":
            variant = row[1].strip() if len(row) > 1 else None
            continue
        if label in answers:
            problems.append(f"line {n}: {label!r} answered twice; the first answer counts")
            continue
        answers[label] = row[1].strip() if len(row) > 1 and row[1].strip() else None
    return answers, variant, problems


def _read_xlsx(path: Path):
    import openpyxl

    try:
        with zipfile.ZipFile(path) as z:  # refuse zip bombs before openpyxl inflates anything
            if sum(i.file_size for i in z.infolist()) > 20 * MAX_BYTES:
                raise AnswerFileError("unpacks to more than 100 MB: not an answer sheet")
        values = openpyxl.load_workbook(path, read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except AnswerFileError:
        raise
    except Exception as e:  # corrupt zip, not a workbook, broken XML: openpyxl raises many kinds
        raise AnswerFileError(f"cannot be read as a workbook ({type(e).__name__})") from None
    try:
        if SHEET not in values.sheetnames:
            raise AnswerFileError(f"no sheet {SHEET!r}: was it made with `tracer template`?")
        answers, variant, problems = {}, None, []
        rows = zip(values[SHEET].iter_rows(values_only=True), formulas[SHEET].iter_rows(values_only=True))
        started = False
        for n, (row, frow) in enumerate(rows, start=1):
            if n > MAX_ROWS:
                raise AnswerFileError(f"more than {MAX_ROWS} rows")
            first = row[0] if row else None
            if first == "variant" and len(row) > 1:
                variant = None if row[1] is None else str(row[1])
            if first == "quantity":
                started = True
                continue
            if not started or first is None:
                continue
            label = str(first).strip()
            value = row[1] if len(row) > 1 else None
            written = frow[1] if len(frow) > 1 else None
            if value is None and isinstance(written, str) and written.startswith("="):
                problems.append(f"{label}: a formula without a saved value ({written}); type the number")
                answers[label] = "formula without a value"
                continue
            if label in answers:
                problems.append(f"row {n}: {label!r} appears twice; the first answer counts")
                continue
            answers[label] = None if value is None or (isinstance(value, str) and not value.strip()) else \
                (repr(value) if isinstance(value, float) else str(value))
        if not started:
            raise AnswerFileError("no 'quantity' header row in the answers sheet")
        return answers, variant, problems
    finally:
        values.close()
        formulas.close()
