"""What a diff says: the verdict in a few lines, and every difference as an HTML page or an xlsx workbook."""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..engine.tables import INT_COLUMNS, TEXT_COLUMNS
from ..errors import TracerError
from ..io.atomic import atomic_path, write_text
from ..io.resources import render_template
from .judge import DiffResult

if TYPE_CHECKING:  # pandas is loaded by a report or one-sided rows only: a plain verdict needs none of it
    import pandas as pd

MAX_HTML_ROWS = 20_000  # a browser page stays usable; the xlsx report holds every difference
EXCEL_ROWS = 1_048_575  # data rows per report sheet below the header
XLSX_CHUNK = 50_000  # rows converted to Python values at a time when writing the xlsx report


def _where_text(row) -> str:
    """'epoch 1, step 3, sample 2, layer H, unit h1' for the keys a row has."""
    parts = []
    for k in ("epoch", "step", "sample", "layer", "unit", "source"):
        v = row.get(k)
        if v is not None and not (isinstance(v, float) and math.isnan(v)) and v != "":
            parts.append(f"{k} {v}")
    return ", ".join(parts)


def format_result(result: DiffResult, max_rows: int = 1) -> str:
    """Human-readable lines: same, or the first divergence, then the summary and one-sided rows (max_rows each)."""
    compared = sum(r["compared"] for r in result.summary_rows)
    lines = [f"different data: {result.other_data}"] if result.other_data else []
    if result.same:
        lines.append(f"same: {compared} values agree within tolerance")
    elif result.first:
        f = result.first
        lines.append(f"different: first divergence at {_where_text(f)}: {f['table']}.{f['quantity']}")
        gap = (f"abs diff = {f['abs_diff']:.3g}  rel diff = {f['rel_diff']:.3g}" if math.isfinite(f["abs_diff"])
               else "not finite on one side")
        lines.append(f"  A = {f['a']!r}  B = {f['b']!r}  {gap}")
        if result.precision:
            lines.append(f"hint: {result.precision}")
    elif compared:
        lines.append(f"different: the {compared} values in both agree, but some rows are in one trace only")
    else:
        lines.append("different: no row is in both traces; their epochs, steps and samples do not line up "
                     "(another batch size, shuffle or data set?)")
    differing = [r for r in result.summary_rows if r["differing"]]
    if differing:
        lines.append("differing values per table and quantity:")
        for r in differing:
            lines.append(f"  {r['table']}.{r['quantity']}: {r['differing']} of {r['compared']}, "
                         f"max abs diff {r['max_abs_diff']:.3g}")
    for side, counts in (("A", result.only_a), ("B", result.only_b)):
        for table, n in counts.items():
            if n:
                rows = result.one_sided[(result.one_sided["side"] == side) & (result.one_sided["table"] == table)]
                shown = "; ".join(_where_text(dict(zip(rows.columns, r))) for r in _plain(rows.head(max_rows)))
                lines.append(f"rows only in {side}: {table}: {n} ({'first: ' if n > max_rows else ''}{shown})")
    if result.not_compared:
        lines.append(f"not compared (in one trace only): {', '.join(result.not_compared)}")
    if result.steps_compared is not None:
        lines.insert(1, f"compared the steps both traces hold: {result.steps_compared or 'none'} (a trace holds "
                        "only some steps of its run)")
    return "\n".join(lines)


def write_diff_report(result: DiffResult, path, a_name: str, b_name: str) -> Path:
    """Every difference as an xlsx workbook, or an HTML page (Jinja2, autoescaped; the first MAX_HTML_ROWS).

    Written atomically; the same result gives the same bytes.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        _write_xlsx_report(result, path, a_name, b_name)
    elif suffix in (".html", ".htm"):
        _write_html_report(result, path, a_name, b_name)
    else:
        raise TracerError(str(path), "the report is .html or .xlsx")
    return path


def _plain(df: pd.DataFrame) -> list[list]:
    """Rows of differences or one-sided rows as Python values: keys a table lacks None, NaN values kept."""
    out = df.astype(object)
    keys = [c for c in df.columns if c in INT_COLUMNS or c in TEXT_COLUMNS]
    out[keys] = out[keys].where(df[keys].notna(), None)
    return out.values.tolist()


def _cells(df: pd.DataFrame) -> list[list[dict]]:
    """HTML cells: values a and b at full precision (shortest round-trip repr), differences to 3 digits,
    text left-aligned, keys a table lacks empty."""
    out = []
    for row in _plain(df):
        cells = []
        for c, v in zip(df.columns, row):
            if v is None:
                text = ""
            elif c in ("abs_diff", "rel_diff"):
                text = f"{v:.3g}"
            else:
                text = repr(float(v)) if isinstance(v, (float, np.floating)) else str(v)
            cells.append({"text": text, "left": _left(c)})
        out.append(cells)
    return out


def _left(column: str) -> bool:
    """Text columns are left-aligned, numbers right-aligned."""
    return column in TEXT_COLUMNS or column in ("side", "table", "quantity")


def _headers(df: pd.DataFrame) -> list[dict]:
    """Column headers aligned as their cells."""
    return [{"text": c, "left": _left(c)} for c in df.columns]


def _write_html_report(result: DiffResult, path: Path, a_name: str, b_name: str) -> None:

    diffs, sided = result.differences, result.one_sided
    rows = _cells(diffs.head(MAX_HTML_ROWS))
    html = render_template("diff.html.j2",
        a=a_name, b=b_name, verdict=format_result(result),
        summary=[{**r, "max_abs_diff": f"{r['max_abs_diff']:.3g}"} for r in result.summary_rows],
        columns=_headers(diffs), rows=rows, truncated=len(diffs) - len(rows), total=len(diffs),
        sided_columns=_headers(sided), sided_total=len(sided), sided=_cells(sided.head(MAX_HTML_ROWS)))
    write_text(path, html)


def _write_xlsx_report(result: DiffResult, path: Path, a_name: str, b_name: str) -> None:

    with atomic_path(path) as tmp:
        from ..io.xlsxwriting import new_workbook  # XlsxWriter only for a workbook report

        wb = new_workbook(tmp, {"title": f"trace diff: {a_name} vs {b_name}"}, constant_memory=True)
        ws = wb.add_worksheet("summary")
        lines = [f"A: {a_name}", f"B: {b_name}", *format_result(result, max_rows=10).splitlines(), ""]
        for r, line in enumerate(lines):
            ws.write_string(r, 0, line)
        ws.write_row(len(lines), 0, list(result.summary.columns))
        _write_rows(ws, len(lines) + 1, result.summary.values.tolist())
        for title, frame in (("differences", result.differences), ("rows in one trace only", result.one_sided)):
            for part, start in enumerate(range(0, max(len(frame), 1), EXCEL_ROWS)):
                sheet = wb.add_worksheet(title if part == 0 else f"{title} ({part + 1})")
                sheet.write_row(0, 0, list(frame.columns))
                stop = min(start + EXCEL_ROWS, len(frame))
                for chunk in range(start, stop, XLSX_CHUNK):  # a chunk at a time: Python objects for all would not fit
                    _write_rows(sheet, chunk - start + 1, _plain(frame.iloc[chunk:min(chunk + XLSX_CHUNK, stop)]))
        wb.close()


def _write_rows(ws, r0: int, rows: list[list]) -> None:
    """Rows from sheet row r0 on; non-finite numbers as text (nan, inf), since spreadsheets have no NaN."""
    for r, row in enumerate(rows, start=r0):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, (float, np.floating)) and not math.isfinite(v):
                ws.write_string(r, c, repr(float(v)))
            elif isinstance(v, (int, float, np.integer, np.floating)):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, str(v))
