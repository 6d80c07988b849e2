"""Worksheet plumbing shared by the workbook's sheets: exact numbers, formulas as given, streamed sheets,
defined names, number formats that follow --digits, column widths and page setup for printing.
"""
from __future__ import annotations

import math
import re

from xlsxwriter.worksheet import Worksheet

from ...options import PAPER

EXCEL_ROWS, EXCEL_COLS = 1_048_576, 16_384  # Excel's sheet size
PRINT_WIDTH = 220  # characters of column width on one landscape page: about 70 % scale, 7.5 pt type
PRINT_SCALE = 75  # % for sheets printed in column groups: 11 pt type prints at 8.25 pt


class ExactNumbers:
    """Numbers written with the shortest text that reads back as the same double (XlsxWriter writes 16
    significant digits, which loses the last bit of some trace values), so read_xlsx gives the trace back."""

    def _xml_number_element(self, number, attributes=()):
        attr = "".join(f' {key}="{value}"' for key, value in attributes)  # a cell reference and style number
        text = repr(float(number))
        self.fh.write(f"<c{attr}><v>{text[:-2] if text.endswith('.0') else text}</v></c>")


class PlainFormulaSheet(ExactNumbers, Worksheet):
    """A worksheet that writes formulas as given: ours use no Excel 365 'future' functions, and XlsxWriter's
    ~30 regular-expression rewrites per formula (looking for them) took most of the writing time."""

    def _prepare_formula(self, formula, expand_future_functions=False):
        return formula[1:] if formula.startswith("=") else formula


class StreamedSheet(PlainFormulaSheet):
    """A worksheet streamed row by row to a temporary file (XlsxWriter's constant_memory, for this sheet
    only), so a long sheet of millions of cells writes with flat memory; rows must come in order."""

    def _initialize(self, init_data):
        super()._initialize({**init_data, "constant_memory": True})


def defined_name(label: str, used: set) -> str:
    """An Excel defined name from a label ('w_xg1' stays; 'w^1_11' -> 'w_1_11'), unique, never a cell ref."""
    name = re.sub(r"[^A-Za-z0-9_.]", "_", label)
    name = re.sub(r"_+", "_", name).strip("_") or "w"
    if not re.match(r"[A-Za-z_]", name) or re.fullmatch(r"[A-Za-z]{1,3}[0-9]+", name) or \
            re.fullmatch(r"[RrCc][0-9]*([RrCc][0-9]*)?", name) or name.lower() in ("true", "false"):
        name = "w_" + name
    base, n = name, 2
    while name.lower() in used:
        name = f"{base}_{n}"
        n += 1
    used.add(name.lower())
    return name


class Formats:
    """The workbook's cell formats, number formats made on demand (one per number of decimals and style)."""

    STYLES = {
        "title": {"bold": True, "font_size": 14}, "h": {"bold": True, "font_size": 12},
        "head": {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"},
        "label": {"indent": 1}, "note": {"italic": True, "font_color": "#7F7F7F"},
        "input": {"bg_color": "#FFF2CC", "font_color": "#1F4E79", "border": 1}, "value": {}, "text": {},
        "literal": {"bg_color": "#F2F2F2", "font_color": "#7F7F7F", "italic": True},
        "good": {"bg_color": "#C6EFCE", "font_color": "#006100"},
        "bad": {"bg_color": "#FFC7CE", "font_color": "#9C0006"},
        "saturated": {"bg_color": "#FFEB9C", "font_color": "#9C5700", "bold": True},
        "title_wrap": {"bold": True, "font_size": 14, "text_wrap": True, "valign": "top"},
        "note_wrap": {"italic": True, "font_color": "#7F7F7F", "text_wrap": True, "valign": "top"},
    }

    def __init__(self, wb):
        self.wb = wb
        self.made = {}

    def __getitem__(self, style: str):
        return self.get(style)

    def get(self, style: str, decimals: int | None = None):
        """The format of a style, with a fixed number of decimals for numbers when given."""
        key = (style, decimals)
        if key not in self.made:
            props = dict(self.STYLES[style])
            if decimals is not None:
                props["num_format"] = "0." + "0" * decimals if decimals else "0"
            self.made[key] = self.wb.add_format(props)
        return self.made[key]


def wrapped_text(ws, row: int, last_col: int, text: str, fmt, width: float, points: float = 11) -> float:
    """A heading or note over the printed columns 0..last_col (`width` characters of column width), wrapped
    at word boundaries onto as many lines as it needs, so it is never cut at the print area's edge; returns
    its height in default rows."""
    lines = max(1, math.ceil(len(text) * points / 11 / max(width, 1)))
    text = re.sub(r"(?<=\w)-(?=\w)", "\u2011", text)  # non-breaking hyphens: 'net-3-2-2' wraps as a word
    if last_col > 0:
        ws.merge_range(row, 0, row, last_col, text, fmt)
    else:
        ws.write_string(row, 0, text, fmt)
    ws.set_row(row, 1.35 * points * lines)
    return 1.35 * points * lines / ROW_POINTS


PAGE_POINTS = {"a4": (595.3, 841.9), "letter": (612.0, 792.0)}  # portrait width, height
MARGINS = (36.0, 43.2)  # points: left and right, top and bottom (page_setup's 0.5 and 0.6 inch)
ROW_POINTS = 15.0  # a row's default height


def is_landscape(width: float, height: float) -> bool:
    """Whether a sheet `width` characters wide and `height` rows tall prints across the page."""
    return width > 100 or width > 1.4 * height


def column_points(width: float) -> float:
    """The width in points, before scaling, of a column `width` characters wide as LibreOffice prints it
    (about 7 pt a character, measured in its PDFs; Excel's 7 px are 5.25 pt)."""
    return width * 7.0 + 3.75


def group_page_points(paper: str) -> float:
    """The width in points of column content (column_points) one landscape page holds at PRINT_SCALE, with a
    twentieth to spare."""
    return 0.95 * (PAGE_POINTS[paper][1] - 2 * MARGINS[0]) * 100 / PRINT_SCALE


def one_page_orientation(widths: list[float], rows: float, paper: str) -> str | None:
    """'portrait' or 'landscape': the orientation in which a sheet of these column widths and `rows` default
    rows fits one page at PRINT_SCALE, with a twentieth to spare; None when neither holds it."""
    page_w, page_h = PAGE_POINTS[paper]
    content_w = sum(column_points(w) for w in widths) * PRINT_SCALE / 100
    content_h = rows * ROW_POINTS * PRINT_SCALE / 100
    for orientation, (w, h) in (("portrait", (page_w, page_h)), ("landscape", (page_h, page_w))):
        if content_w <= 0.95 * (w - 2 * MARGINS[0]) and content_h <= 0.95 * (h - 2 * MARGINS[1]):
            return orientation
    return None


def rows_per_page(widths: list[float], height: int, paper: str) -> int:
    """About how many default-height rows one printed page holds, for a sheet of these column widths fitted to
    the page width as page_setup fits it (with a tenth to spare for taller rows)."""
    page_w, page_h = PAGE_POINTS[paper]
    if is_landscape(sum(widths), height):
        page_w, page_h = page_h, page_w
    room_w, room_h = page_w - 2 * MARGINS[0], page_h - 2 * MARGINS[1]
    content_w = sum(column_points(w) for w in widths)
    pages_wide = max(1, math.ceil(sum(widths) / PRINT_WIDTH))
    scale = min(1.0, pages_wide * room_w / content_w)
    return max(10, int(0.9 * room_h / (ROW_POINTS * scale)))


def page_setup(ws, title: str, paper: str, width: int, height: int, repeat_rows: tuple | None = None,
               repeat_columns: tuple | None = None, last_col: int | None = None, last_row: int | None = None,
               one_page: bool = False, column_breaks: list[int] | None = None,
               orientation: str | None = None) -> None:
    """Print setup: orientation by the sheet's shape, fit to the page width (a few pages for very wide sheets),
    header rows and label columns repeated, a footer with the example's name and page numbers, and a print
    area that leaves out helper columns. `width` is the sheet's width in characters of column width;
    `one_page` fits a short sheet (the overview) on one page; `column_breaks` (the first column of each
    printed page after the first) prints a wide sheet at PRINT_SCALE in those column groups instead;
    `orientation` ('portrait' or 'landscape') overrides the one the shape suggests."""
    if orientation == "landscape" or orientation is None and is_landscape(width, height):
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_paper(PAPER[paper])
    if column_breaks is None:
        ws.fit_to_pages(max(1, math.ceil(width / PRINT_WIDTH)), 1 if one_page else 0)
    else:
        ws.set_print_scale(PRINT_SCALE)
        ws.set_v_pagebreaks(column_breaks)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    if repeat_rows is not None:
        ws.repeat_rows(*repeat_rows)
    if repeat_columns is not None and (width > PRINT_WIDTH or column_breaks):
        ws.repeat_columns(*repeat_columns)
    ws.set_footer(f"&L{title.replace('&', '&&')}&RPage &P of &N")
    if last_col is not None and last_row is not None:
        ws.print_area(0, 0, max(last_row, 0), last_col)
