"""Which writer for the workbooks: XlsxWriter vs openpyxl on the same cells, and tracer's own workbooks.

Run: python3 tests/benchmarks/bench_xlsx.py
Writes a grid like the iterations sheet (2,000 rows x 60 formula cells, each with its value) with both
libraries, side by side, best of 3; then times write_workbook on the XOR example (values and formulas).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import openpyxl
import xlsxwriter

import tracer
from tracer.resources import find_example
from tracer.xlsx import PlainFormulaSheet, write_workbook

ROWS, COLS = 2000, 60


def with_xlsxwriter(path, sheet_class=None):
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("grid", sheet_class)
    for r in range(1, ROWS):
        for c in range(COLS):
            ws.write_formula(r, c, f"=A{r}+{c}*0.5", None, r + c * 0.5)  # formula and cached value
    wb.close()


def with_openpyxl(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in range(2, ROWS + 1):
        for c in range(1, COLS + 1):
            ws.cell(r, c, f"=A{r - 1}+{c}*0.5")  # openpyxl cannot store the cached value
    wb.save(path)


def best(fn, path, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t_x = best(with_xlsxwriter, tmp / "x.xlsx")
        t_p = best(lambda p: with_xlsxwriter(p, PlainFormulaSheet), tmp / "p.xlsx")
        t_o = best(with_openpyxl, tmp / "o.xlsx")
        print(f"{ROWS * COLS:,} formula cells with their values:")
        print(f"  XlsxWriter, as shipped               {t_x:6.2f} s")
        print(f"  XlsxWriter, formulas written as given {t_p:6.2f} s   (tracer.xlsx.PlainFormulaSheet)")
        print(f"  openpyxl (cannot store the values)    {t_o:6.2f} s   {t_o / t_p:.2f}x the time of PlainFormulaSheet")
        trace = tracer.run(tracer.load_spec(find_example("xor")))
        for formulas in (False, True):
            t = best(lambda p: write_workbook(trace, p, formulas=formulas), tmp / "xor.xlsx", repeat=1)
            print(f"XOR workbook ({'formulas' if formulas else 'values'}): {t:.2f} s, "
                  f"{(tmp / 'xor.xlsx').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
