"""Workbooks at the edges: Excel's sheet size, hostile spec text, determinism of streamed sheets, bad options."""
from __future__ import annotations

import subprocess
import sys

import openpyxl
import pytest

import tracer
import tracer.export.xlsx.sheets as xlsx
from tracer.errors import TracerError
from tracer.io.resources import find_example
from tracer.export.xlsx import write_workbook
from tracer.io.workbooks import read_xlsx
from traces import example_trace

pytestmark = pytest.mark.slow  # subprocesses, real tools or whole workbooks: left out of the quick loop


@pytest.fixture(scope="module")
def frey():
    """A batch-trained trace: 40 node rows, several steps."""
    return example_trace("frey-batch")


def leftovers(folder) -> list[str]:
    """Files in a folder (a failed write must leave neither the workbook nor a temporary file)."""
    return sorted(p.name for p in folder.iterdir())


def test_tables_longer_than_a_sheet_stop_with_a_note(tmp_path, monkeypatch):
    trace = tracer.run(tracer.load_spec(find_example("xor")), epochs=100)  # 400 samples processed
    monkeypatch.setattr(xlsx, "EXCEL_ROWS", 300)  # a sheet of 300 rows
    write_workbook(trace, tmp_path / "x.xlsx", steps="1", max_rows=10**6)
    wb = openpyxl.load_workbook(tmp_path / "x.xlsx", read_only=True)
    # iterations: header, 297 rows, blank row, note; a trace table: note, header, 296 rows, blank row, note
    for sheet, total, shown in (("iterations", len(trace.losses), 297), ("nodes", len(trace.nodes), 296)):
        rows = list(wb[sheet].iter_rows(values_only=True))
        assert total > shown and len(rows) == 300, sheet
        assert rows[298][0] is None and rows[299][0].startswith(f"{total - shown} more "), sheet
    with pytest.warns(tracer.TracerWarning, match="holds only the first 296 rows"):
        back = read_xlsx(tmp_path / "x.xlsx")
    assert back.nodes["z"].tolist() == trace.nodes["z"].iloc[:296].tolist()


def test_a_network_wider_than_a_sheet_is_refused_before_writing(frey, tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "EXCEL_COLS", 20)
    with pytest.raises(TracerError, match=r"columns, more than Excel's 20; write the trace as CSV \(--trace DIR\)"):
        write_workbook(frey, tmp_path / "wide.xlsx")
    assert leftovers(tmp_path) == []


def test_a_network_too_wide_for_a_workbook_is_refused_before_training(tmp_path, capsys):
    """4 inputs into 1,000 units, 10,000 steps, with --xlsx: refused at once, before any training (it took 138 s
    and 3.5 GB to find out), nothing written."""
    import json
    import time

    from tracer.cli import main

    spec = tmp_path / "wide.json"
    spec.write_text(json.dumps({"name": "wide", "inputs": 4, "loss": "half_sse", "learning_rate": 0.1,
                                "layers": [{"name": "H", "units": 1000, "activation": "sigmoid"},
                                           {"name": "O", "units": 1, "activation": "sigmoid"}],
                                "init": {"method": "uniform", "low": -0.1, "high": 0.1},
                                "training": {"mode": "online", "epochs": 200},
                                "data": [{"x": [0.1, 0.2, 0.3, 0.4], "y": [1.0]}] * 50}))
    start = time.process_time()
    assert main(["run", str(spec), "--xlsx", str(tmp_path / "w.xlsx"), "-q"]) == 2
    assert time.process_time() - start < 5
    assert "--xlsx: the network needs at least 24,007 columns, more than Excel's 16,384" in capsys.readouterr().err
    assert leftovers(tmp_path) == ["wide.json"]


def test_too_many_worked_steps_are_refused(frey, tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "EXCEL_ROWS", 200)
    write_workbook(frey, tmp_path / "one.xlsx", steps="1")  # one block fits
    with pytest.raises(TracerError, match=r"--steps: \d+ steps of \d+ rows do not fit in Excel's 200 rows"):
        write_workbook(frey, tmp_path / "all.xlsx", steps="all")
    assert leftovers(tmp_path) == ["one.xlsx"]


def test_max_rows_below_one_is_bad_input(frey, tmp_path):
    with pytest.raises(TracerError, match="--max-rows"):
        write_workbook(frey, tmp_path / "x.xlsx", max_rows=0)
    assert leftovers(tmp_path) == []
    p = subprocess.run([sys.executable, "-m", "tracer", "run", "ekman", "--xlsx", "e.xlsx", "--max-rows", "0"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--max-rows" in p.stderr
    assert leftovers(tmp_path) == []


def test_trace_sheets_have_filters_and_a_frozen_header(frey, tmp_path):
    write_workbook(frey, tmp_path / "f.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "f.xlsx")
    for name, df in frey.tables.items():
        ws = wb[name]
        assert ws.freeze_panes == "A3" and ws.auto_filter.ref == f"A2:{ws.cell(2, len(df.columns)).column_letter}" \
                                                                 f"{len(df) + 2}", name
        assert ws["A1"].value.startswith("the recorded run") and ws["A1"].font.i  # the note above the table
        assert [c.value for c in ws[2]] == list(df.columns) and ws["A2"].font.b


@pytest.mark.parametrize("formulas", [False, True])
def test_hostile_spec_text_stays_text(tmp_path, formulas):
    """Free text that looks like a formula stays text in every sheet; a name that a spreadsheet would execute
    (=, +, -, @ first) is refused by the spec (tests/test_hostile.py), so names here only look like calls."""
    text = (find_example("ekman").read_text()
            .replace("title: Two-neuron network G (tanh) -> F (logistic)", "title: '=1+1'")
            .replace("source: \"", "source: \"@SUM(A1) <script>alert(1)</script> ")
            .replace("units: [g]", "units: ['SUM(A1)']").replace("name: G\n", "name: 'HYPERLINK(x)'\n"))
    (tmp_path / "s.yaml").write_text(text)
    trace = tracer.run(tracer.load_spec(tmp_path / "s.yaml"))
    write_workbook(trace, tmp_path / "s.xlsx", formulas=formulas)
    wb = openpyxl.load_workbook(tmp_path / "s.xlsx")
    strings = {c.value for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "s"}
    assert "=1+1" in strings and any(s.startswith("@SUM(A1) <script>") for s in strings if isinstance(s, str))
    assert "SUM(A1)" in strings and "HYPERLINK(x)" in strings
    for ws in wb:  # every formula is one of ours: none holds the spec's text
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    assert "1+1" not in c.value and "SUM(A1)" not in c.value and "HYPERLINK" not in c.value, \
                        c.coordinate
    assert read_xlsx(tmp_path / "s.xlsx").nodes["unit"].astype(str).tolist()[0] == "SUM(A1)"


def test_streamed_sheets_are_deterministic(tmp_path):
    trace = example_trace("softmax-classifier")
    write_workbook(trace, tmp_path / "a.xlsx")
    write_workbook(example_trace("softmax-classifier"), tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
