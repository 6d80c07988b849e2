"""The reports of the bundled examples (reports/): a formula workbook and an HTML report each."""
from __future__ import annotations

from pathlib import Path

from ..engine.train import run
from .html import write_report
from ..io.resources import example_paths
from ..io.specfile import load_spec
from .xlsx import write_workbook


def write_example_reports(out_dir="reports") -> list[Path]:
    """Regenerate <out_dir>/<name>.xlsx (live formulas) and <name>.html for every bundled example."""
    written = []
    for path in example_paths():
        spec = load_spec(path)
        trace = run(spec)
        out = Path(out_dir)
        write_workbook(trace, out / f"{spec.name}.xlsx", formulas=True)
        write_report(trace, out / f"{spec.name}.html")
        written += [out / f"{spec.name}.xlsx", out / f"{spec.name}.html"]
    return written
