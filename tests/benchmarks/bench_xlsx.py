"""Which writer for the workbooks, measured side by side.

Run: python3 tests/benchmarks/bench_xlsx.py          (about 3 minutes; figures go to docs/xlsx.md)

1. Formula cells: a grid like the iterations sheet (2,000 rows x 60 formula cells, each with its cached
   value) with XlsxWriter as shipped, XlsxWriter writing formulas as given (tracer.xlsx.PlainFormulaSheet),
   and openpyxl (which cannot store cached values); best of 3.
2. Trace tables: the XOR example's weights table cut to 200,000 rows x 9 columns (1.8 million cells), written
   by tracer.xlsx.write_trace_table (streamed) and by DataFrame.to_excel(engine='openpyxl'), each in a fresh
   process that reports its time and peak memory; the streamed writer also at 50,000 rows, to show that its
   memory stays flat as the table grows.
3. tracer's own workbook of the XOR example (values and formulas, default --max-rows).
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl
import pandas as pd
import xlsxwriter

import tracer
from tracer.io.resources import find_example
from tracer.export.xlsx import PlainFormulaSheet, write_trace_table, write_workbook

ROWS, COLS = 2000, 60
TABLE_ROWS = 200_000


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


def child(writer: str, table: str, rows: int, out: str) -> None:
    """In a fresh process: load the table, write it, print seconds and peak/baseline memory (MB) as JSON."""
    df = pd.read_pickle(table).iloc[:rows]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    if writer == "tracer":
        wb = xlsxwriter.Workbook(out)
        write_trace_table(wb, "weights", df, max_rows=rows)
        wb.close()
    else:
        df.to_excel(out, sheet_name="weights", index=False, engine="openpyxl")
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "extra_mb": peak - before}))


def measure(writer: str, table: Path, rows: int, out: Path) -> dict:
    p = subprocess.run([sys.executable, __file__, "child", writer, str(table), str(rows), str(out)],
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout.splitlines()[-1])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t_x = best(with_xlsxwriter, tmp / "x.xlsx")
        t_p = best(lambda p: with_xlsxwriter(p, PlainFormulaSheet), tmp / "p.xlsx")
        t_o = best(with_openpyxl, tmp / "o.xlsx")
        print(f"{ROWS * COLS:,} formula cells with their values:")
        print(f"  XlsxWriter, as shipped                {t_x:6.2f} s")
        print(f"  XlsxWriter, formulas written as given {t_p:6.2f} s   (tracer.xlsx.PlainFormulaSheet)")
        print(f"  openpyxl (cannot store the values)    {t_o:6.2f} s   {t_o / t_p:.2f}x the time of PlainFormulaSheet")

        trace = tracer.run(tracer.load_spec(find_example("xor")))
        table = tmp / "weights.pkl"
        trace.weights.iloc[:TABLE_ROWS].to_pickle(table)
        cells = TABLE_ROWS * len(trace.weights.columns)
        ours = measure("tracer", table, TABLE_ROWS, tmp / "t.xlsx")
        small = measure("tracer", table, TABLE_ROWS // 4, tmp / "s.xlsx")
        theirs = measure("openpyxl", table, TABLE_ROWS, tmp / "o2.xlsx")
        print(f"trace table, {TABLE_ROWS:,} rows x {len(trace.weights.columns)} columns ({cells:,} cells):")
        print(f"  write_trace_table (streamed)           {ours['seconds']:6.2f} s, peak {ours['peak_mb']:.0f} MB "
              f"(+{ours['extra_mb']:.0f} MB while writing; {TABLE_ROWS // 4:,} rows: {small['seconds']:.2f} s, "
              f"+{small['extra_mb']:.0f} MB)")
        print(f"  DataFrame.to_excel(engine='openpyxl')  {theirs['seconds']:6.2f} s, peak {theirs['peak_mb']:.0f} MB "
              f"(+{theirs['extra_mb']:.0f} MB)   {theirs['seconds'] / ours['seconds']:.1f}x the time")
        for formulas in (False, True):
            t = best(lambda p: write_workbook(trace, p, formulas=formulas), tmp / "xor.xlsx", repeat=1)
            print(f"XOR workbook ({'formulas' if formulas else 'values'}): {t:.2f} s, "
                  f"{(tmp / 'xor.xlsx').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        main()
