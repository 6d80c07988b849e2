"""The printed pages README shows: a page of Ekman's workbook as LibreOffice prints it to PDF, and the first
page of Ekman's report as Chromium prints it to PDF, each rasterised by poppler's pdftoppm.

Run: python3 tests/tools/printed_pages.py docs/img    (needs LibreOffice, Chromium and poppler-utils)
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tracer  # noqa: E402
from tools.browser import close_browsers, open_page  # noqa: E402
from tools.libreoffice import convert_many  # noqa: E402
from tracer.export.html import write_report  # noqa: E402
from tracer.export.xlsx import write_workbook  # noqa: E402

PAGE_DPI = 60


def workbook_page(soffice: str, out: Path, work: Path) -> Path:
    """Ekman's formula workbook printed by LibreOffice: its worked-example page (page 2) as PNG."""
    book = work / "ekman-workbook.xlsx"
    write_workbook(tracer.run(tracer.load_spec("ekman")), book, formulas=True)
    [pdf] = convert_many(soffice, [book], work / "pdf", "pdf")
    return rasterise(pdf, 2, out / "printed-workbook.png")


def report_page(chromium: str, out: Path, work: Path) -> Path:
    """Ekman's report printed by Chromium (print styles, A4): its first step's page as PNG."""
    html = work / "ekman-report.html"
    write_report(tracer.run(tracer.load_spec("ekman")), html)
    pdf = work / "ekman-report.pdf"
    with open_page(chromium, html) as (page, _):
        page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    return rasterise(pdf, 2, out / "printed-report.png")


def rasterise(pdf: Path, page: int, target: Path) -> Path:
    """One page of a PDF as PNG (poppler's pdftoppm)."""
    stem = target.with_suffix("")
    subprocess.run(["pdftoppm", "-png", "-r", str(PAGE_DPI), "-f", str(page), "-l", str(page), "-singlefile",
                    str(pdf), str(stem)], check=True)
    return target


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")
    out.mkdir(parents=True, exist_ok=True)
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not soffice or not chromium or not shutil.which("pdftoppm"):
        sys.exit("needs LibreOffice (soffice), Chromium and pdftoppm (poppler-utils) on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        for made in (workbook_page(soffice, out, Path(tmp)), report_page(chromium, out, Path(tmp))):
            print(f"wrote {made}")
    close_browsers()


if __name__ == "__main__":
    main()
