"""Workbooks in and out: one place for the writer's safe options, the size guard for untrusted files, and the
reader of the trace-table sheets of a workbook written by the tool.

Every workbook the tool writes has a fixed document date and writes text as text (never a formula, URL or
number), so the same input gives the same bytes and a spec's or student's text never executes. Untrusted
workbooks (answer files, workbooks given to `tracer diff`) are checked for size and for zip bombs before
openpyxl inflates anything, and are read read-only, values only.
"""
from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import pandas as pd

from ..engine.tables import READABLE
from ..engine.trace import COLUMNS, TEXT_COLUMNS, Trace, typed
from ..errors import TracerError, TracerWarning

MAX_WORKBOOK_BYTES = 200 * 2**20  # workbooks can come from anywhere: refuse big files ...
MAX_WORKBOOK_UNZIPPED = 2 * 2**30  # ... and zip bombs (an xlsx is a zip of XML)
MAX_WORKBOOK_ROWS = 1_048_576  # Excel's own limit per sheet


def check_size(path: Path, max_bytes: int, max_unpacked: int, what: str = "workbook") -> None:
    """Refuse a workbook too big to read safely: the file, and the XML it unpacks to (a zip bomb).

    Raises TracerError naming the path; a file that is not a zip at all is refused here too.
    """
    if path.stat().st_size > max_bytes:
        raise TracerError(str(path), f"{what} larger than {max_bytes / 2**20:g} MB")
    try:
        with zipfile.ZipFile(path) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise TracerError(str(path), f"cannot read the {what} ({type(e).__name__}): not an .xlsx file") from None
    if unpacked > max_unpacked:
        raise TracerError(str(path), f"{what} unpacks to more than {max_unpacked / 2**20:g} MB")


def read_xlsx(path) -> Trace:
    """The four trace tables of a workbook written by `tracer run --xlsx` (and its contributions table, for a net
    with conv or rnn layers), with the engine's dtypes (spec None).

    Untrusted files are read with size limits; a table cut at max_rows gives its rows and a TracerWarning.
    """
    import openpyxl

    path = Path(path)
    try:
        check_size(path, MAX_WORKBOOK_BYTES, MAX_WORKBOOK_UNZIPPED)
    except TracerError as e:
        raise TracerError(e.place, f"{e.message}; compare the CSV traces") from None
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # a corrupt or foreign file: openpyxl raises many kinds
        raise TracerError(str(path), f"cannot read the workbook ({type(e).__name__})") from None
    try:
        tables = {name: read_sheet(wb, name, path) for name in READABLE if name in COLUMNS or name in wb.sheetnames}
    finally:
        wb.close()
    for df in tables.values():
        for c in TEXT_COLUMNS:  # as the engine builds them: categorical, categories in order of appearance
            if c in df:
                df[c] = pd.Categorical(df[c], categories=pd.unique(df[c]))
    return Trace(**tables)


def read_sheet(wb, name: str, path: Path) -> pd.DataFrame:
    """One trace table: the header row, then data rows up to the first blank row (then a truncation note?)."""
    cols = READABLE[name]
    if name not in wb.sheetnames:
        raise TracerError(str(path), f"no sheet {name!r}: not a workbook written by `tracer run --xlsx`")
    rows = wb[name].iter_rows(values_only=True)
    head = next(rows, ())
    if head[:1] != (cols[0],):  # a formula workbook's note above the header
        head = next(rows, ())
    if list(head[:len(cols)]) != cols:
        raise TracerError(str(path), f"sheet {name!r} does not start with the columns {', '.join(cols)}")
    data = []
    for row in rows:
        if not row or row[0] is None:
            break
        data.append(row[:len(cols)])
        if len(data) > MAX_WORKBOOK_ROWS:
            raise TracerError(str(path), f"sheet {name!r} has more than {MAX_WORKBOOK_ROWS} rows")
    below = next((r for r in rows if r and any(v is not None for v in r)), None)
    if below is not None and isinstance(below[0], str):  # the tool's workbooks stop long tables at max_rows
        warnings.warn(f"{path}: sheet {name!r} holds only the first {len(data)} rows ({below[0]})", TracerWarning,
                      stacklevel=3)
    elif below is not None:
        raise TracerError(str(path), f"sheet {name!r}: row {len(data) + 2} is blank inside the table; "
                                     "remove it or fill in its keys")
    return typed(pd.DataFrame(data, columns=cols), f"{path} sheet {name!r}")
