"""The command line's defaults and the option checks that several outputs share, in one light module: the
parser and `tracer --version` / `--help` import only the standard library, and every command imports only
what it uses (XlsxWriter for workbooks, Jinja2 for HTML).
"""
from __future__ import annotations

from .errors import TracerError

DIFF_RTOL = 1e-9  # tracer diff: |a - b| <= atol + rtol max(|a|, |b|)
DIFF_ATOL = 1e-12
CHECK_RTOL = 1e-4  # tracer check: an answer is right within this relative tolerance (no rounding policy)
MAX_ROWS = 2_000  # per long workbook sheet (iterations, trace tables): hundreds of iterations stay readable and quick
DIGITS = 4  # significant digits shown (stored values keep full precision)
PAPER = {"a4": 9, "letter": 1}  # Excel's paper codes


def paper_code(paper: str) -> int:
    """Excel's code of a paper size (--paper); an unknown one is refused in one line."""
    if paper not in PAPER:
        raise TracerError("--paper", f"unknown paper {paper!r}; use {' or '.join(PAPER)}")
    return PAPER[paper]


def check_output_options(max_rows: int, digits: int, paper: str) -> None:
    """The workbook's and report's options, each refused in one line (checked before anything runs)."""
    if max_rows < 1:
        raise TracerError("--max-rows", f"{max_rows} rows: give at least 1 (default {MAX_ROWS})")
    if digits < 1:
        raise TracerError("--digits", f"{digits} digits: use a number of significant digits >= 1")
    paper_code(paper)


SUFFIXES = {"xlsx": (".xlsx",), "html": (".html", ".htm")}  # what each kind of output file is named


def check_suffix(path, kind: str, option: str) -> None:
    """Refuse an output whose name says another format than the file it would get (a workbook named `w.csv`
    opens as garbage in a text editor and is refused by Excel): one line naming the option and the fix."""
    name = str(path)
    if not name.lower().endswith(SUFFIXES[kind]):
        raise TracerError(option, f"{name!r} would hold {'a workbook' if kind == 'xlsx' else 'an HTML page'}; give "
                                  f"a name ending in {SUFFIXES[kind][0]}")
