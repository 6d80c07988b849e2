"""Printing: workbooks through LibreOffice's PDF export, reports through Chromium's, page counts and widths."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import tracer
from tools.browser import open_page
from tools.libreoffice import convert_many, pdf_pages
from tracer.export.html import write_report
from tracer.export.xlsx import write_workbook
from tracer.io.resources import find_example

PRINTS = Path(os.environ.get("TRACER_SHOTS", "/tmp/shots")) / "print"  # PDFs to look at, outside the repository
A4, LETTER = (595.3, 841.9), (612.0, 792.0)  # points


def same_size(page, paper) -> bool:
    w, h = sorted(page)
    return abs(w - min(paper)) < 2 and abs(h - max(paper)) < 2


@pytest.fixture(scope="module")
def workbook_pdfs(soffice, tmp_path_factory):
    out = tmp_path_factory.mktemp("print")
    books = []
    for name in ("ekman", "frey-batch", "xor"):
        path = out / f"{name}.xlsx"
        write_workbook(tracer.run(tracer.load_spec(find_example(name))), path, formulas=True)
        books.append(path)
    letter = out / "ekman-letter.xlsx"
    write_workbook(tracer.run(tracer.load_spec(find_example("ekman"))), letter, formulas=True, paper="letter")
    pdfs = convert_many(soffice, books + [letter], out / "pdf", "pdf")
    PRINTS.mkdir(parents=True, exist_ok=True)
    for pdf in pdfs:
        (PRINTS / f"{pdf.stem}-xlsx.pdf").write_bytes(pdf.read_bytes())
    return {p.stem: pdf_pages(p) for p in pdfs}


@pytest.mark.parametrize("name, most", [("ekman", 10), ("frey-batch", 24), ("xor", 300)])
def test_workbooks_print_on_few_pages_of_the_paper_asked_for(workbook_pdfs, name, most):
    """Ekman's workbook on at most 10 pages (it took 20), frey-batch on 24 (52), xor's 2,000 rows per long sheet
    on 300 (1,061); every page A4, each sheet fitted to its page's width (a worked-example block never splits
    across the width)."""
    pages = workbook_pdfs[name]
    assert 0 < len(pages) <= most, (name, len(pages))
    assert all(same_size(p, A4) for p in pages), (name, pages[:3])


def test_letter_paper(workbook_pdfs):
    pages = workbook_pdfs["ekman-letter"]
    assert pages and all(same_size(p, LETTER) for p in pages)


WIDEST = """() => { const w = document.documentElement.clientWidth;
    return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1)
        .map(e => e.tagName + '.' + (e.getAttribute('class') || '') + ' ' + Math.round(e.getBoundingClientRect().right))
        .slice(0, 5); }"""


@pytest.mark.parametrize("name, most", [("ekman", 8), ("frey-batch", 24), ("xor", 16)])
def test_reports_print_on_a4_with_nothing_wider_than_the_page(chromium, tmp_path, name, most):
    """Chromium's print: each step on a new page, no navigation, nothing wider than A4's printable width."""
    path = tmp_path / f"{name}.html"
    write_report(tracer.run(tracer.load_spec(find_example(name))), path)
    with open_page(chromium, path, width=700) as (page, _):  # A4's printable width at 96 px per inch
        page.emulate_media(media="print")
        assert page.evaluate(WIDEST) == [], name
        assert page.evaluate("() => getComputedStyle(document.querySelector('nav')).display") == "none"
        pdf = tmp_path / f"{name}.pdf"
        page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    PRINTS.mkdir(parents=True, exist_ok=True)
    (PRINTS / f"{name}-html.pdf").write_bytes(pdf.read_bytes())
    pages = pdf_pages(pdf)
    steps = len(tracer.export.html.report.chosen_steps(tracer.load_spec(find_example(name)).steps,
                                                       tracer.run(tracer.load_spec(find_example(name))).step_count())[0])
    assert steps < len(pages) <= most, (name, len(pages))
    assert all(same_size(p, A4) for p in pages), pages[:3]


def test_worked_example_headers_have_the_room_they_print_in(example, tmp_path):
    """A section header wider than the label column wraps onto a row tall enough for its lines (a one-line row
    made "weight changes (delta w), layer O" print over the next row); short ones stay one line."""
    import openpyxl

    book = tmp_path / "book.xlsx"
    write_workbook(tracer.run(tracer.load_spec(example)), book)
    ws = openpyxl.load_workbook(book)["worked example"]
    room = ws.column_dimensions["A"].width - 1  # characters of column width; a bold letter takes about one
    headers = [c for (c,) in ws.iter_rows(min_col=1, max_col=1) if c.font.b and "DDEBF7" in str(c.fill.fgColor.rgb)]
    assert headers
    for cell in headers:
        lines = -(-len(cell.value) // room)
        height = ws.row_dimensions[cell.row].height or 15
        assert height >= 15 * lines, (cell.value, room, height)
        assert lines > 1 or height == 15, (cell.value, height)
