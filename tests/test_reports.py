"""The committed reports/ are what the current code writes (so a change in numbers is always a visible diff).

Refresh after an intended change: tracer reports
"""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tracer.reports import write_example_reports
from tracer.resources import example_paths

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    write_example_reports(out)
    return out


def cells(path):
    wb = openpyxl.load_workbook(path)
    return {(ws.title, c.coordinate): c.value for ws in wb for row in ws.iter_rows() for c in row if c.value is not None}


@pytest.mark.parametrize("name", [p.stem for p in example_paths()])
def test_committed_reports_are_current(name, fresh):
    committed = ROOT / "reports"
    hint = "run `tracer reports` and commit reports/"
    assert (committed / f"{name}.html").read_bytes() == (fresh / f"{name}.html").read_bytes(), hint
    assert cells(committed / f"{name}.xlsx") == cells(fresh / f"{name}.xlsx"), hint


def test_same_spec_same_bytes(fresh, tmp_path):
    again = write_example_reports(tmp_path)
    for path in again:
        assert path.read_bytes() == (fresh / path.name).read_bytes(), path.name
