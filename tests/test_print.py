"""Printing: workbooks through LibreOffice's PDF export, reports through Chromium's, read back page by page
with poppler's pdftotext: page counts and paper, every page with its headers, no page that holds only a
heading, caption or footer, legends and table columns as a reader needs them."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

import tracer
from nets import random_net_dict
from tools.browser import open_page
from tools.libreoffice import convert_many, pdf_pages
from traces import example_trace
from tracer.export.html import render_report, write_report
from tracer.export.html.report import chosen_steps
from tracer.export.xlsx import write_workbook

pytestmark = pytest.mark.slow  # subprocesses, real tools or whole workbooks: left out of the quick loop

PRINTS = Path(os.environ.get("TRACER_SHOTS", "/tmp/shots")) / "print"  # PDFs to look at, outside the repository
A4, LETTER = (595.3, 841.9), (612.0, 792.0)  # points
PRINTED = ("ekman", "frey-batch", "xor", "net-3-2-2")  # the bundled examples and a random 3-2-2 net


def same_size(page, paper) -> bool:
    w, h = sorted(page)
    return abs(w - min(paper)) < 2 and abs(h - max(paper)) < 2


def printed_trace(name: str):
    if name.startswith("net-"):
        sizes = tuple(int(n) for n in name.split("-")[1:])
        return tracer.run(tracer.parse_spec(random_net_dict(sizes, samples=8)))
    return example_trace(name)


def page_texts(pdftotext: str, pdf: Path, *options: str) -> list[str]:
    """The text of each page of a PDF (pdftotext -layout; pages end with a form feed)."""
    out = subprocess.run([pdftotext, "-layout", *options, str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    return out.split("\f")[:-1]


def lines(page: str) -> list[str]:
    return [" ".join(line.split()) for line in page.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def workbook_pdfs(soffice, tmp_path_factory):
    """The formula workbooks of PRINTED (and Ekman's on letter paper) printed by LibreOffice in one call; xor's
    long sheets cut at 200 rows, as README advises for printing (its 2,000 rows print on 499 pages)."""
    out = tmp_path_factory.mktemp("print")
    books = []
    for name in PRINTED:
        path = out / f"{name}.xlsx"
        write_workbook(printed_trace(name), path, formulas=True, max_rows=200 if name == "xor" else 2000)
        books.append(path)
    letter = out / "ekman-letter.xlsx"
    write_workbook(example_trace("ekman"), letter, formulas=True, paper="letter")
    pdfs = convert_many(soffice, books + [letter], out / "pdf", "pdf")
    PRINTS.mkdir(parents=True, exist_ok=True)
    for pdf in pdfs:
        (PRINTS / f"{pdf.stem}-xlsx.pdf").write_bytes(pdf.read_bytes())
    return {p.stem: p for p in pdfs}


@pytest.mark.parametrize("name, most", [("ekman", 12), ("frey-batch", 36), ("xor", 80), ("net-3-2-2", 30)])
def test_workbooks_print_on_few_pages_of_the_paper_asked_for(workbook_pdfs, name, most):
    """Every page A4; the worked example fitted to the page width, the iterations sheet in column groups at
    8 pt (a short run's few rows on each group's page, never slivers of a page-wide fit)."""
    pages = pdf_pages(workbook_pdfs[name])
    assert 0 < len(pages) <= most, (name, len(pages))
    assert all(same_size(p, A4) for p in pages), (name, pages[:3])


def test_letter_paper(workbook_pdfs):
    pages = pdf_pages(workbook_pdfs["ekman-letter"])
    assert pages and all(same_size(p, LETTER) for p in pages)


def is_iterations_page(page: list[str]) -> bool:
    """A page of the iterations sheet: it starts with the label columns, or, turned, with the label rows."""
    return bool(page) and (page[0].startswith("step epoch sample") or
                           len(page) > 2 and page[0].startswith("step ") and page[1].startswith("epoch "))


def sheet_pages(pages: list[str]) -> dict[str, list[list[str]]]:
    """The printed pages of the worked example (from its title to the iterations sheet) and of the iterations
    sheet, as lines."""
    texts = [lines(page) for page in pages]
    first = next(n for n, page in enumerate(texts) if page and page[0].startswith("Worked example"))
    iterations = [n for n, page in enumerate(texts) if is_iterations_page(page)]
    return {"worked": texts[first:iterations[0]], "iterations": [texts[n] for n in iterations]}


@pytest.mark.parametrize("name", PRINTED)
def test_printed_workbook_pages_carry_their_headers(workbook_pdfs, pdftotext, name):
    """Each worked-example page starts with its step (continuation pages say 'Step N (continued)' and repeat the
    sample columns) and holds every sample's column; each iterations page starts with the label columns; no
    page holds only a heading or the footer."""
    pages = page_texts(pdftotext, workbook_pdfs[name])
    sheets = sheet_pages(pages)
    assert sheets["worked"] and sheets["iterations"], name
    m = tracer.load_spec(name).batch_size if not name.startswith("net-") else 1
    continued = 0
    for page in sheets["worked"][1:]:
        assert page[0].startswith("Step "), (name, page[:3])
    for page in sheets["worked"]:
        text = " ".join(page)
        if page[0].startswith("Step ") and "(continued)" in page[0]:
            continued += 1
        if "sample 1" in text:
            assert f"sample {m}" in text or m == 1, (name, page[:3])
    if name in ("frey-batch", "net-3-2-2"):
        assert continued, name  # their steps take more than a page
    for n, page in enumerate(pages, start=1):  # a heading (or a table's header row) and something under it
        content = [line for line in lines(page) if not re.fullmatch(r".* Page \d+ of \d+", line)]
        assert len(content) >= 2, (name, n, content)


def test_a_short_runs_iterations_print_on_one_page(workbook_pdfs, pdftotext):
    """Ekman's single step: the iterations sheet turned, every quantity from the step number to the new
    weights and the pattern check on one page (it printed as four pages, each a sliver of one row)."""
    pages = sheet_pages(page_texts(pdftotext, workbook_pdfs["ekman"]))["iterations"]
    assert len(pages) == 1, [page[:3] for page in pages]
    labels = [line.split()[0] for line in pages[0]]
    assert labels[:3] == ["step", "epoch", "sample"]
    for label in ("z_g", "error", "Δw_xg0", "all"):
        assert label in labels, label
    row = {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1] for line in pages[0] if " " in line}
    assert row["w_gf1 new"] == "0.4965" and row["y_f"] == "0.4201"  # Ekman prints 0.42, and 0.4965 for w_gf1


@pytest.mark.parametrize("name", ["ekman", "net-3-2-2"])
def test_iterations_print_at_8_points_or_more(workbook_pdfs, pdftotext, name):
    """Words of the iterations sheet's pages at least 10 pt tall (the line box of 8 pt type)."""
    pages = page_texts(pdftotext, workbook_pdfs[name])
    numbers = [n for n, page in enumerate(pages, start=1) if is_iterations_page(lines(page))]
    assert numbers
    bbox = subprocess.run([pdftotext, "-bbox", "-f", str(numbers[0]), "-l", str(numbers[-1]),
                           str(workbook_pdfs[name]), "-"], capture_output=True, text=True, check=True).stdout
    heights = [float(b) - float(a) for a, b in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', bbox)]
    assert heights and min(heights) >= 10.0, (name, min(heights))


@pytest.fixture(scope="module")
def report_pdfs(chromium, tmp_path_factory):
    """The reports of PRINTED printed by Chromium (print styles, A4, no browser header or footer)."""
    out = tmp_path_factory.mktemp("print-html")
    pdfs = {}
    for name in PRINTED:
        path = out / f"{name}.html"
        write_report(printed_trace(name), path)
        with open_page(chromium, path, width=700) as (page, _):  # A4's printable width at 96 px per inch
            page.emulate_media(media="print")
            widest = page.evaluate(WIDEST)
            nav = page.evaluate("() => getComputedStyle(document.querySelector('nav')).display")
            pdfs[name] = (out / f"{name}.pdf", widest, nav)
            page.pdf(path=str(pdfs[name][0]), prefer_css_page_size=True, print_background=True)
        PRINTS.mkdir(parents=True, exist_ok=True)
        (PRINTS / f"{name}-html.pdf").write_bytes(pdfs[name][0].read_bytes())
    return pdfs


WIDEST = """() => { const w = document.documentElement.clientWidth;
    return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1)
        .map(e => e.tagName + '.' + (e.getAttribute('class') || '') + ' ' + Math.round(e.getBoundingClientRect().right))
        .slice(0, 5); }"""


@pytest.mark.parametrize("name, most", [("ekman", 8), ("frey-batch", 24), ("xor", 16), ("net-3-2-2", 10)])
def test_reports_print_on_a4_with_nothing_wider_than_the_page(report_pdfs, name, most):
    """Chromium's print: each step on a new page, no navigation, nothing wider than A4's printable width."""
    pdf, widest, nav = report_pdfs[name]
    assert widest == [] and nav == "none", (name, widest, nav)
    pages = pdf_pages(pdf)
    trace = printed_trace(name)
    steps = len(chosen_steps(trace.spec.steps, trace.step_count())[0])
    assert steps < len(pages) <= most, (name, len(pages))
    assert all(same_size(p, A4) for p in pages), pages[:3]


HEADINGS = re.compile(r"(Weight changes of step \d+|Network and initial weights|Green arrows: .*|"
                      r"Written by backprop-tracer .*|Weights after each step|Loss per epoch|Weights over the steps)")


@pytest.mark.parametrize("name", PRINTED)
def test_no_printed_report_page_holds_only_a_heading_caption_or_footer(report_pdfs, pdftotext, name):
    """A figure's heading and caption print on the page of their figure; the colophon never stands alone."""
    for n, page in enumerate(page_texts(pdftotext, report_pdfs[name][0]), start=1):
        text = lines(page)
        content = [line for line in text if not HEADINGS.fullmatch(line)]
        assert content, (name, n, text)
        assert not re.fullmatch(r"Weight changes of step \d+|Green arrows: .*|Network and initial weights", text[-1]), \
            (name, n, text[-3:])


@pytest.mark.parametrize("name", PRINTED)
def test_report_legends_and_columns_as_a_reader_needs_them(name):
    """No chart legend counts series it does not name; every table column has one number format."""
    html = render_report(printed_trace(name))
    assert not re.search(r"… \d+ more", html)
    for table in re.findall(r"<table>(.*?)</table>", html, re.S):
        rows = [re.findall(r"<td>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
        rows = [r for r in rows if r]
        for column in zip(*rows):
            places = {len(v.split(".")[1]) if "." in v else 0 for v in column if re.fullmatch(r"−?\d+(\.\d+)?", v)}
            assert len(places) <= 1, (name, column[:6])


def test_worked_example_headers_have_the_room_they_print_in(example, tmp_path):
    """A section header wider than the label column wraps onto a row tall enough for its lines (a one-line row
    made "weight changes (delta w), layer O" print over the next row); short ones stay one line."""
    import openpyxl

    book = tmp_path / "book.xlsx"
    write_workbook(example_trace(example), book, max_rows=50)  # the worked example does not depend on it
    ws = openpyxl.load_workbook(book)["worked example"]
    room = ws.column_dimensions["A"].width - 1  # characters of column width; a bold letter takes about one
    headers = [c for (c,) in ws.iter_rows(min_col=1, max_col=1)
               if c.value and c.font.b and "DDEBF7" in str(c.fill.fgColor.rgb)]
    assert headers
    for cell in headers:
        lines_ = -(-len(cell.value) // room)
        height = ws.row_dimensions[cell.row].height or 15
        assert height >= 15 * lines_, (cell.value, room, height)
        assert lines_ > 1 or height == 15, (cell.value, height)
