"""Reading students' answers from answer workbooks (xlsx) or CSV, safely: a bad file is reported, never fatal.

`read_answers` returns an AnswerSheet: the answers (quantity label -> the raw text the student wrote, None
when blank), what the file says about itself (variant id, notation, number of steps: the rows of those
names above the answers, as `tracer template` writes them) and one-line notes about the file. A file that
cannot be read at all raises AnswerFileError, which `tracer check` reports before going on to the next file.
Workbooks are opened read-only with their cached values (never evaluated), after size checks.
"""
from __future__ import annotations

import csv
import io
import os
import stat
from itertools import islice
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TracerError
from ..io.workbooks import check_size
from .numbers import parse_number

MAX_BYTES = 5 * 2**20  # an answer sheet is a few kB; anything above 5 MB is not one
MAX_UNPACKED = 25 * 2**20  # refuse zip bombs: a workbook that inflates to more than 25 MB
MAX_ROWS = 20_000
SHEET = "answers"
META = ("variant", "notation", "steps", "rounding")


class AnswerFileError(Exception):
    """The file cannot be read as an answer sheet (the message says why)."""


@dataclass
class AnswerSheet:
    """One student's file: answers by label, the file's own variant/notation/steps, notes on problems."""

    answers: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    givens: dict = field(default_factory=dict)  # the handout's given numbers the file repeats, above its answers

    def add(self, where: str, label: str, text: str | None) -> None:
        """Record an answer; a label answered twice keeps its first answer, with a note."""
        if label in self.answers:
            self.problems.append(f"{where}: a quantity answered twice; the first answer counts")
        else:
            self.answers[label] = text


def read_answers(path) -> AnswerSheet:
    """The answer sheet of one student file (.xlsx or .csv)."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise AnswerFileError("a link to a file that does not exist")
    if not path.exists():
        raise AnswerFileError("no such file")
    if not stat.S_ISREG(os.stat(path).st_mode):  # never opened: a FIFO would hang the batch
        raise AnswerFileError("not a regular file (a folder, FIFO or device); give the student's answer file")
    if path.stat().st_size > MAX_BYTES:
        raise AnswerFileError(f"larger than {MAX_BYTES // 2**20} MB: not an answer sheet")
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    raise AnswerFileError("expected an .xlsx answer workbook or a .csv file (quantity,value)")


def _text(value) -> str | None:
    """A cell's content as the student wrote it; None when blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return repr(value) if isinstance(value, float) else str(value).strip()


ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # as spreadsheets save CSV: UTF-8 (with or without BOM), Windows


def _decode(data: bytes) -> str:
    """CSV bytes as text: UTF-8 (a BOM is fine), else Windows cp1252, else Latin-1 (which reads any byte)."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AnswerFileError("not text")  # unreachable: Latin-1 decodes every byte


def _csv_label_and_value(row: list[str], delimiter: str) -> tuple[str, str | None, bool]:
    """(label, answer, more columns) of a CSV row. An unquoted label holding the separator (`w_h1,x1,0.5`) is
    split by it: where the second cell is not a number but the last is, the cells before the last are the label."""
    cells = [c for c in row]
    while len(cells) > 2 and not cells[-1].strip():
        cells.pop()
    if len(cells) > 2 and parse_number(cells[1]) is None and parse_number(cells[-1]) is not None:
        return delimiter.join(cells[:-1]).strip(), _text(cells[-1]), False
    return cells[0].strip(), _text(cells[1]) if len(cells) > 1 else None, len(cells) > 2


def _read_csv(path: Path) -> AnswerSheet:
    text = _decode(path.read_bytes())
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first else ";" if ";" in first else ","  # spreadsheets with decimal commas use ;
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as e:
        raise AnswerFileError(f"not a CSV file ({e})") from None
    if len(rows) > MAX_ROWS:
        raise AnswerFileError(f"more than {MAX_ROWS} rows")
    header = next((n for n, row in enumerate(rows) if row and row[0].strip().lower() == "quantity"), None)
    sheet = AnswerSheet()
    for n, row in enumerate(rows, start=1):
        if row and header is not None and n <= header + 1 and row[0].strip() not in META:
            _given(sheet, row[0].strip(), row[1] if len(row) > 1 else None)
            continue  # the handout's title, instructions and givens above the answers, as the workbook has them
        if not row or not row[0].strip():
            continue
        label, value, more = _csv_label_and_value(row, delimiter)
        if more:
            sheet.problems.append(f"line {n}: more than two columns; only the second is the answer")
        if label in META:
            sheet.meta[label] = value
        else:
            sheet.add(f"line {n}", label, value)
    return sheet


def _read_xlsx(path: Path) -> AnswerSheet:
    import openpyxl

    try:
        check_size(path, MAX_BYTES, MAX_UNPACKED, "answer sheet")  # before openpyxl inflates anything
    except TracerError as e:
        raise AnswerFileError(e.message.removeprefix("answer sheet ")) from None
    try:
        values = openpyxl.load_workbook(path, read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as e:  # corrupt zip, not a workbook, broken XML: openpyxl raises many kinds
        raise AnswerFileError(f"cannot be read as a workbook ({type(e).__name__}); save it again as .xlsx") from None
    try:
        name = _answer_sheet(values.sheetnames)
        return _read_rows(values[name].iter_rows(max_col=2, values_only=True),
                          formulas[name].iter_rows(max_col=2, values_only=True))
    except AnswerFileError:
        raise
    except Exception as e:  # broken XML inside the sheet shows only while reading rows
        raise AnswerFileError(f"the sheet {SHEET!r} cannot be read ({type(e).__name__})") from None
    finally:
        values.close()
        formulas.close()


def _given(sheet: AnswerSheet, label: str, value) -> None:
    """Keep a numeric row above the answers: a given the handout showed (it tells the file's variant)."""
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if isinstance(value, str):
        parsed = parse_number(value)
        number = parsed[0] if parsed is not None else None
    if number is not None and label:
        sheet.givens.setdefault(label, float(number))


def _answer_sheet(names: list[str]) -> str:
    """The sheet holding the answers: 'answers', or a workbook's only sheet whatever it is called (renamed, or
    the answers pasted into a new workbook)."""
    if SHEET in names:
        return SHEET
    if len(names) == 1:
        return names[0]
    raise AnswerFileError(f"no sheet {SHEET!r} (found {', '.join(names)[:80]}): answer in the workbook made with "
                          "`tracer template`, or keep only the answers' sheet")


def _read_rows(rows, formula_rows) -> AnswerSheet:
    """Header rows (variant, notation, steps), then the answers below the 'quantity' row; a sheet without that
    row (answers pasted into a new workbook) is answers from its first row."""
    rows, formula_rows = list(islice(rows, MAX_ROWS + 1)), list(islice(formula_rows, MAX_ROWS + 1))
    if len(rows) > MAX_ROWS:
        raise AnswerFileError(f"more than {MAX_ROWS} rows")
    has_header = any(row and _text(row[0]) == "quantity" for row in rows)
    sheet, started = AnswerSheet(), not has_header
    for n, (row, frow) in enumerate(zip(rows, formula_rows), start=1):
        first = _text(row[0]) if row else None
        value = row[1] if len(row) > 1 else None
        if first is None:
            continue
        if first in META:
            sheet.meta[first] = _text(value)
            continue
        if not started or first == "quantity":
            if not started:
                _given(sheet, first, value)
            started = started or first == "quantity"
            continue
        written = frow[1] if len(frow) > 1 else None
        if value is None and isinstance(written, str) and written.startswith("="):
            sheet.problems.append(f"row {n}: {first[:40]!r} is a formula without a saved value ({written[:40]}); "
                                  "type the number")
            sheet.add(f"row {n}", first, "formula without a saved value")
            continue
        sheet.add(f"row {n}", first, _text(value))
    return sheet
