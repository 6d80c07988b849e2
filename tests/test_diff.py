"""tracer diff: alignment on keys, the first divergence in dependency order, tolerances, inputs, reports, exit codes.

Expected values come from the engine's own trace with one known change made to it, never from diff's output.
"""
from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import tracer
from tracer.compare import output
from tracer.io import workbooks
from tracer.io.tracewriter import write_trace
from tracer.compare import diff_traces, format_result, load_trace, write_diff_report
from tracer.errors import ResourceError, TracerError, TracerWarning
from tracer.io.resources import find_example
from tracer.engine.trace import COLUMNS, KEYS
from tracer.export.xlsx import write_workbook
from tools.cli import tracer_cli
from traces import example_trace

ROOT = Path(__file__).resolve().parents[1]


def run(name, **kw):
    return tracer.run(tracer.load_spec(find_example(name)), **kw) if kw else example_trace(name)


def tables(name):
    return {k: v.copy() for k, v in run(name).tables.items()}


def at(df, **keys):
    """Boolean mask of the rows with these key values."""
    mask = np.ones(len(df), bool)
    for k, v in keys.items():
        mask &= (df[k] == v).to_numpy()
    assert mask.sum() >= 1, keys
    return mask


def first_of(result):
    f = result.first
    return tuple(f.get(k) for k in ("table", "quantity", "step", "sample", "layer", "unit", "source"))


# -- identical, perturbed, missing ---------------------------------------------------------------------
def test_identical_traces_are_the_same():
    result = diff_traces(run("frey-batch"), run("frey-batch"))
    assert result.same and result.first is None and format_result(result).startswith("same: ")
    assert result.summary["differing"].sum() == 0 and result.summary["compared"].sum() > 0


def test_rows_in_another_order_are_still_the_same():
    t = tables("frey-online")
    shuffled = {k: v.sample(frac=1.0, random_state=1) for k, v in t.items()}
    assert diff_traces(t, shuffled).same


def test_one_value_perturbed_is_reported_at_its_key_with_its_difference():
    a, b = tables("frey-online"), tables("frey-online")
    nodes = b["nodes"]
    where = at(nodes, step=3, unit="a2")
    before = nodes.loc[where, "delta"].item()
    nodes.loc[where, "delta"] = before + 1e-5
    result = diff_traces(a, b)
    f = result.first
    assert first_of(result) == ("nodes", "delta", 3, 3, "hidden", "a2", None) and f["epoch"] == 1
    assert f["a"] == before and f["b"] == before + 1e-5
    assert f["abs_diff"] == pytest.approx(1e-5, rel=1e-6)
    assert f["rel_diff"] == pytest.approx(1e-5 / max(abs(before), abs(before + 1e-5)), rel=1e-6)
    row = result.summary[(result.summary["table"] == "nodes") & (result.summary["quantity"] == "delta")]
    assert row["differing"].item() == 1 and row["max_abs_diff"].item() == pytest.approx(1e-5, rel=1e-6)
    assert len(result.differences) == 1
    text = format_result(result)
    assert "first divergence at epoch 1, step 3, sample 3, layer hidden, unit a2: nodes.delta" in text
    assert f"A = {before!r}" in text and "nodes.delta: 1 of 40" in text


def test_a_missing_row_is_reported_with_its_keys():
    a, b = tables("ekman-iterations"), tables("ekman-iterations")
    b["losses"] = b["losses"][b["losses"]["step"] != 7]
    b["updates"] = b["updates"][~at(b["updates"], step=2, source="x1")]
    result = diff_traces(a, b)
    assert not result.same and result.first is None
    assert result.only_a == {"nodes": 0, "weights": 0, "updates": 1, "losses": 1} and not any(result.only_b.values())
    text = format_result(result)
    assert "rows only in A: losses: 1 (epoch 7, step 7, sample 1)" in text
    assert "rows only in A: updates: 1 (epoch 2, step 2, layer G, unit g, source x1)" in text
    assert result.one_sided[["side", "table", "step"]].values.tolist() == [["A", "updates", 2], ["A", "losses", 7]]
    later = {n: df.assign(step=df["step"] + 100) for n, df in a.items()}  # e.g. a run that counts steps otherwise
    assert format_result(diff_traces(a, later)).startswith("different: no row is in both traces")
    extra = diff_traces(b, a)  # the other way round: rows only in B
    assert extra.only_b["losses"] == 1 and "rows only in B: losses: 1" in format_result(extra)


# -- first divergence in dependency order -------------------------------------------------------------
def test_a_changed_initial_weight_is_named_before_everything_it_changes():
    """A student's trace with one wrong starting weight: every later value differs, the weight is named."""
    spec = tracer.load_spec(find_example("frey-online"))
    weights = [w.copy() for w in (layer.weights for layer in spec.layers)]
    weights[1][1, 2] += 0.01  # output unit y2, source a2
    result = diff_traces(tracer.run(spec), tracer.run(spec.with_weights(weights)))
    assert first_of(result) == ("weights", "w", 1, 1, "output", "y2", "a2")
    assert result.first["abs_diff"] == pytest.approx(0.01)
    assert result.summary.set_index(["table", "quantity"]).loc[("nodes", "z"), "differing"] > 1


def test_learning_rate_change_first_shows_in_delta_w():
    spec = tracer.load_spec(find_example("frey-online"))
    result = diff_traces(tracer.run(spec), tracer.run(spec.replace(learning_rate=spec.learning_rate * 1.001)))
    assert first_of(result)[:3] == ("updates", "delta_w", 1)


@pytest.mark.parametrize("changes, expected", [
    # forward: layer by layer; z before a
    ([("nodes", "a", "output", "y1"), ("nodes", "a", "hidden", "a3")], ("a", "hidden", "a3")),
    ([("nodes", "a", "hidden", "a1"), ("nodes", "z", "hidden", "a1")], ("z", "hidden", "a1")),
    ([("weights", "w", "output", "y1"), ("nodes", "a", "hidden", "a2")], ("a", "hidden", "a2")),
    ([("weights", "input", "output", "y1"), ("nodes", "z", "output", "y2")], ("input", "output", "y1")),
    # the loss after the forward pass, before the backward pass
    ([("losses", "loss", None, None), ("nodes", "dE_da", "output", "y1")], ("loss", None, None)),
    ([("losses", "loss", None, None), ("nodes", "a", "output", "y2")], ("a", "output", "y2")),
    # backward: from the output layer back; dE_da, da_dz, delta
    ([("nodes", "delta", "hidden", "a1"), ("nodes", "delta", "output", "y2")], ("delta", "output", "y2")),
    ([("nodes", "delta", "hidden", "a1"), ("nodes", "dE_da", "hidden", "a2")], ("dE_da", "hidden", "a2")),
    ([("nodes", "delta", "output", "y1"), ("nodes", "da_dz", "output", "y2")], ("da_dz", "output", "y2")),
    # then the per-sample gradient, then the step's update
    ([("weights", "grad", "hidden", "a1"), ("nodes", "delta", "hidden", "a3")], ("delta", "hidden", "a3")),
    ([("updates", "w_new", "hidden", "a1"), ("updates", "delta_w", "output", "y1")], ("delta_w", "output", "y1")),
    ([("updates", "grad", "output", "y1"), ("weights", "grad", "output", "y2")], ("grad", "output", "y2")),
    # the target is data: before everything computed from it
    ([("nodes", "target", "output", "y2"), ("weights", "w", "hidden", "a1")], ("target", "output", "y2")),
])
def test_dependency_order_within_a_sample(changes, expected):
    a, b = tables("frey-batch"), tables("frey-batch")
    for table, q, layer, unit in changes:
        df = b[table]
        keys = {"step": 2} | ({"sample": 3} if "sample" in df else {}) | ({"layer": layer, "unit": unit} if layer else {})
        df.loc[at(df, **keys), q] += 1e-3
    f = diff_traces(a, b).first
    assert (f["quantity"], f.get("layer"), f.get("unit")) == expected and f["step"] == 2


@pytest.mark.parametrize("name, first", [("mazur", ("nodes", "delta")), ("mazur-sequential", ("updates", "w_new"))])
def test_layers_updated_one_at_a_time_come_before_the_layer_below(name, first):
    """With update_order: sequential the output layer's new weights come before the hidden error terms that are
    back-propagated through them; in the simultaneous order the whole backward pass comes first. The order is
    the plan's: given the spec, or read from a spec file."""
    trace = run(name)
    b = {k: v.copy() for k, v in trace.tables.items()}
    b["nodes"].loc[at(b["nodes"], step=1, unit="h1"), "delta"] += 1e-3
    b["updates"].loc[at(b["updates"], step=1, unit="o1", source="h1"), "w_new"] += 1e-3
    assert first_of(diff_traces(trace, b))[:2] == first
    assert first_of(diff_traces(find_example(name), b))[:2] == first


def test_earlier_step_comes_first_whatever_the_quantity():
    a, b = tables("frey-online"), tables("frey-online")
    b["nodes"].loc[at(b["nodes"], step=5, unit="a1"), "z"] += 1
    b["updates"].loc[at(b["updates"], step=4, unit="y2", source="a3"), "w_new"] += 1
    b["losses"].loc[at(b["losses"], step=6), "loss"] += 1
    result = diff_traces(a, b)
    assert first_of(result)[:3] == ("updates", "w_new", 4)
    assert result.differences[["step", "quantity"]].values.tolist() == [[4, "w_new"], [5, "z"], [6, "loss"]]


# -- tolerances, NaN, keys ----------------------------------------------------------------------------
def test_tolerance_edges():
    a, b = tables("maren"), tables("maren")
    a["nodes"]["z"] = 1.0
    b["nodes"]["z"] = 1.0 + 1e-9  # |a - b| = 1e-9 (to within one ulp), max(|a|, |b|) ~ 1
    assert diff_traces(a, b, rtol=1.01e-9, atol=0).same
    assert not diff_traces(a, b, rtol=0.99e-9, atol=0).same
    assert diff_traces(a, b, rtol=0, atol=1.01e-9).same
    assert not diff_traces(a, b, rtol=0, atol=0.99e-9).same
    assert diff_traces(a, b, rtol=0, atol=0, tolerances={"z": (2e-9, 0)}).same
    only_z = diff_traces(a, b, rtol=0, atol=0, tolerances={"a": (1.0, 1.0)})
    assert not only_z.same and only_z.first["quantity"] == "z"


def test_default_tolerances_accept_rounding_noise_only():
    a, b = tables("cs510"), tables("cs510")
    b["updates"]["w_new"] *= 1 + 1e-12
    assert diff_traces(a, b).same
    b["updates"]["w_new"] *= 1 + 1e-8
    assert not diff_traces(a, b).same


def test_nan_equals_nan_only_at_the_same_place_and_inf_only_the_same_inf():
    a, b = tables("ekman"), tables("ekman")
    assert np.isnan(a["nodes"]["target"]).any()  # hidden units have no target
    assert diff_traces(a, b).same
    b["nodes"].loc[1, "target"] = np.nan
    f = diff_traces(a, b).first
    assert f["quantity"] == "target" and np.isnan(f["b"]) and np.isnan(f["abs_diff"])
    assert "B = nan  not finite on one side" in format_result(diff_traces(a, b))
    a, b = tables("ekman"), tables("ekman")
    a["losses"]["loss"], b["losses"]["loss"] = np.inf, np.inf
    assert diff_traces(a, b).same
    b["losses"]["loss"] = -np.inf
    assert diff_traces(a, b).first["quantity"] == "loss"


def test_bad_tolerances_are_bad_input():
    t = tables("ekman")
    with pytest.raises(TracerError, match="unknown quantity 'detla'"):
        diff_traces(t, t, tolerances={"detla": (1e-6, 0)})
    with pytest.raises(TracerError, match=">= 0"):
        diff_traces(t, t, rtol=-1)


def test_different_networks_are_bad_input():
    with pytest.raises(TracerError, match="different networks"):
        diff_traces(run("ekman"), run("xor", epochs=1))
    a, b = tables("frey-online"), tables("frey-online")
    for df in b.values():
        if "unit" in df:
            df["unit"] = df["unit"].astype(str).replace("a3", "a4")
    with pytest.raises(TracerError, match="A has hidden.a3 that B lacks, B has hidden.a4 that A lacks"):
        diff_traces(a, b)


# -- other code's traces: DataFrames with the key columns and some values ----------------------------------
def test_other_codes_dataframes_need_only_keys_and_some_values():
    trace = run("frey-online")
    mine = trace.nodes[["epoch", "step", "sample", "layer", "unit", "delta"]].copy()
    mine["layer"], mine["unit"] = mine["layer"].astype(str), mine["unit"].astype(str)  # plain text, not categorical
    mine["epoch"] = mine["epoch"].astype(float)  # whole numbers in a float column are fine as keys
    assert diff_traces({"nodes": mine}, trace).same
    mine.loc[5, "delta"] += 1
    result = diff_traces({"nodes": mine}, trace)
    assert first_of(result)[:2] == ("nodes", "delta") and list(result.summary["quantity"]) == ["delta"]
    assert diff_traces({"nodes": mine}, trace, tables=["nodes"]).first["quantity"] == "delta"


@pytest.mark.parametrize("change, message", [
    (lambda t: t["nodes"].drop(columns="sample"), "A nodes: missing key column(s) sample"),
    (lambda t: pd.concat([t["nodes"], t["nodes"].head(1)]), "occurs more than once"),
    (lambda t: t["nodes"].assign(step=t["nodes"]["step"] + 0.5), "whole numbers"),
    (lambda t: t["nodes"].assign(z="x"), "must hold numbers"),
    (lambda t: t["nodes"].assign(unit=None), "has empty cells"),
])
def test_bad_dataframes_are_bad_input(change, message):
    t = tables("ekman")
    with pytest.raises(TracerError, match=re.escape(message)):
        diff_traces({"nodes": change(t)}, t)


def test_unknown_or_missing_tables_are_bad_input():
    t = tables("ekman")
    with pytest.raises(TracerError, match="unknown table 'node'"):
        diff_traces({"node": t["nodes"]}, t)
    with pytest.raises(TracerError, match="unknown table"):
        diff_traces(t, t, tables=["nodez"])
    with pytest.raises(TracerError, match="not in both"):
        diff_traces({"nodes": t["nodes"]}, t, tables=["nodes", "losses"])


# -- inputs: trace directory, workbook, spec ----------------------------------------------------------------
def test_workbook_csv_and_spec_inputs_agree(tmp_path):
    trace = run("cs510")
    write_trace(trace, tmp_path / "csv")
    write_workbook(trace, tmp_path / "cs510.xlsx")
    spec = find_example("cs510")
    assert diff_traces(tmp_path / "csv", spec, rtol=0, atol=0).same  # CSV: bit for bit
    for a, b in ((tmp_path / "cs510.xlsx", spec), (tmp_path / "csv", tmp_path / "cs510.xlsx"),
                 (tmp_path / "cs510.xlsx", "cs510")):
        result = diff_traces(a, b, rtol=1e-15, atol=0)  # XlsxWriter stores 16 significant digits
        assert result.same, format_result(result)
        assert result.summary["compared"].sum() == sum(
            len(df) * (len(df.columns) - len(KEYS[n])) for n, df in trace.tables.items())


def test_workbook_made_by_hand_in_the_documented_layout(tmp_path):
    """One sheet per table, header row, then rows: also what other tools can write."""
    trace = run("ekman")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, df in trace.tables.items():
        ws = wb.create_sheet(name)
        ws.append(list(df.columns))
        for row in df.astype(object).where(df.notna(), None).values.tolist():
            ws.append([str(v) if isinstance(v, str) else v for v in row])
    wb.save(tmp_path / "mine.xlsx")
    assert diff_traces(tmp_path / "mine.xlsx", "ekman", rtol=1e-15, atol=0).same
    ws = wb["nodes"]
    ws.cell(row=2, column=COLUMNS["nodes"].index("z") + 1).value = 0.5
    wb.save(tmp_path / "mine.xlsx")
    assert diff_traces(tmp_path / "mine.xlsx", "ekman").first["quantity"] == "z"
    wb["weights"].cell(row=3, column=1).value = None  # a row without its epoch: not silently the end
    wb.save(tmp_path / "mine.xlsx")
    with pytest.raises(TracerError, match="sheet 'weights': row 3 is blank inside the table"):
        load_trace(tmp_path / "mine.xlsx")
    wb["weights"].cell(row=3, column=1).value = 1
    del wb["losses"]
    wb.save(tmp_path / "mine.xlsx")
    with pytest.raises(TracerError, match="no sheet 'losses'"):
        load_trace(tmp_path / "mine.xlsx")


def test_truncated_workbook_warns_and_shows_the_rows_it_lacks(tmp_path):
    trace = run("ekman-iterations")
    write_workbook(trace, tmp_path / "short.xlsx", max_rows=10)
    with pytest.warns(TracerWarning, match="holds only the first 10 rows"):
        result = diff_traces(tmp_path / "short.xlsx", trace)
    assert result.first is None and result.only_b["weights"] == len(trace.weights) - 10


def test_workbook_size_limits(tmp_path, monkeypatch):
    write_workbook(run("ekman"), tmp_path / "ekman.xlsx")
    monkeypatch.setattr(workbooks, "MAX_WORKBOOK_UNZIPPED", 1000)
    with pytest.raises(TracerError, match="unpacks to more than"):
        load_trace(tmp_path / "ekman.xlsx")
    monkeypatch.setattr(workbooks, "MAX_WORKBOOK_BYTES", 100)
    with pytest.raises(TracerError, match="workbook larger than"):
        load_trace(tmp_path / "ekman.xlsx")
    monkeypatch.undo()
    monkeypatch.setattr(workbooks, "MAX_WORKBOOK_ROWS", 3)
    with pytest.raises(TracerError, match="more than 3 rows"):
        load_trace(tmp_path / "ekman.xlsx")


# -- reports ----------------------------------------------------------------------------------------------
def perturbed_pair():
    a, b = tables("frey-online"), tables("frey-online")
    b["nodes"].loc[at(b["nodes"], step=2, unit="y1"), "delta"] = np.nan
    b["weights"].loc[b["weights"]["step"] >= 2, "grad"] += 1e-3
    b["losses"] = b["losses"][b["losses"]["step"] != 8]
    return a, b


def test_html_report_lists_every_difference_escaped_and_same_bytes(tmp_path):
    result = diff_traces(*perturbed_pair())
    write_diff_report(result, tmp_path / "d.html", "<mine>", "trusted & true")
    write_diff_report(result, tmp_path / "e.html", "<mine>", "trusted & true")
    html = (tmp_path / "d.html").read_text()
    assert html == (tmp_path / "e.html").read_text()
    assert "&lt;mine&gt;" in html and "<mine>" not in html and "trusted &amp; true" in html
    n = len(result.differences)
    assert n == 1 + (b_weights := run("frey-online").weights)[b_weights["step"] >= 2].shape[0]
    listed, sided = html.split(f"Differences in training order ({n})")[1].split("Rows in one trace only (1)")
    assert listed.count("<tr><td") == n and sided.count("<tr><td") == 1
    assert "<td>nan</td>" in listed and '<td class="l">delta</td>' in listed


def test_html_report_in_chromium(chromium, tmp_path):
    from tools.browser import open_page

    result = diff_traces(*perturbed_pair())
    write_diff_report(result, tmp_path / "d.html", "<script>alert(1)</script>", "b")
    with open_page(chromium, tmp_path / "d.html") as (page, visit):
        assert not visit.console_errors and not visit.requests
        assert "first divergence at epoch 1, step 2, sample 2, layer output, unit y1: nodes.delta" in visit.text
        assert "<script>alert(1)</script>" in visit.text  # shown as text, not run
        cells = page.locator("table").nth(1).locator("tr").nth(1).locator("td").all_inner_texts()
    assert cells[:8] == ["1", "2", "2", "output", "y1", "", "nodes", "delta"] and cells[9] == "nan"


def test_xlsx_report_holds_every_difference_split_at_the_row_limit(tmp_path, monkeypatch):
    result = diff_traces(*perturbed_pair())
    monkeypatch.setattr(output, "EXCEL_ROWS", 50)
    monkeypatch.setattr(output, "XLSX_CHUNK", 7)  # chunks that do not divide the sheets
    write_diff_report(result, tmp_path / "d.xlsx", "a", "b")
    write_diff_report(result, tmp_path / "e.xlsx", "a", "b")
    assert (tmp_path / "d.xlsx").read_bytes() == (tmp_path / "e.xlsx").read_bytes()
    wb = openpyxl.load_workbook(tmp_path / "d.xlsx", read_only=True)
    parts = [s for s in wb.sheetnames if s.startswith("differences")]
    rows = [r for s in parts for r in list(wb[s].iter_rows(values_only=True))[1:]]
    assert len(parts) == -(-len(result.differences) // 50) and len(rows) == len(result.differences)
    expected = result.differences[["step", "unit", "quantity"]].astype(object).values.tolist()
    header = next(wb["differences"].iter_rows(values_only=True))
    columns = [header.index(c) for c in ("step", "unit", "quantity")]
    assert [[r[c] for c in columns] for r in rows] == expected  # every row once, in order, across sheets
    first = rows[0]
    assert dict(zip(header, first))["quantity"] == "delta" and dict(zip(header, first))["b"] == "nan"
    sided = list(wb["rows in one trace only"].iter_rows(values_only=True))
    assert sided[1][:2] == ("A", "losses")


def test_a_failed_xlsx_report_leaves_nothing_behind(tmp_path, monkeypatch):
    result = diff_traces(*perturbed_pair())
    write_diff_report(result, tmp_path / "d.xlsx", "a", "b")
    before = (tmp_path / "d.xlsx").read_bytes()

    def fail(ws, r0, rows):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(output, "_write_rows", fail)
    with pytest.raises(ResourceError, match="d.xlsx: no space left on the device"):  # one line, exit 3
        write_diff_report(result, tmp_path / "d.xlsx", "a", "b")
    assert [p.name for p in tmp_path.iterdir()] == ["d.xlsx"] and (tmp_path / "d.xlsx").read_bytes() == before


def test_report_needs_html_or_xlsx(tmp_path):
    with pytest.raises(TracerError, match=".html or .xlsx"):
        write_diff_report(diff_traces(*perturbed_pair()), tmp_path / "d.pdf", "a", "b")
    assert not list(tmp_path.iterdir())


# -- command line -----------------------------------------------------------------------------------------
def cli(*args, cwd=None):
    p = tracer_cli(["diff", *args], cwd or Path.cwd())
    return p.returncode, p.stdout, p.stderr


@pytest.mark.slow
def test_cli_exit_codes_and_reports(tmp_path):
    write_trace(run("ekman"), tmp_path / "a")
    assert cli(tmp_path / "a", find_example("ekman"))[0] == 0
    nodes = tmp_path / "a" / "nodes.csv"
    nodes.write_text(nodes.read_text().replace("-0.2449186624037092", "-0.2449"))
    status, out, _ = cli(tmp_path / "a", "ekman", "--report", tmp_path / "d.html")
    assert status == 1 and "first divergence at epoch 1, step 1, sample 1, layer G, unit g: nodes.a" in out
    assert "A = -0.2449  B = -0.2449186624037092" in out and "nodes.a" in (tmp_path / "d.html").read_text()
    assert cli(tmp_path / "a", "ekman", "--atol", "a=1e-4")[0] == 0
    assert cli(tmp_path / "a", "ekman", "--rtol", "1e-3")[0] == 0
    assert cli(tmp_path / "a", "ekman", "--tables", "weights,losses")[0] == 0
    status, _, _ = cli(tmp_path / "a", "ekman", "--report", tmp_path / "d.xlsx")
    assert status == 1 and (tmp_path / "d.xlsx").is_file()


@pytest.mark.slow
def test_cli_other_codes_csv_directory_with_some_tables_and_columns(tmp_path):
    """An autograder's case: a student's code wrote only its deltas and updates, in its own column order."""
    trace = run("frey-online")
    (tmp_path / "student").mkdir()
    nodes = trace.nodes[["unit", "layer", "sample", "step", "epoch", "delta"]].copy()
    wrong = at(nodes, step=2, unit="y1")
    nodes.loc[wrong, "delta"] *= -1  # the sign error of the output delta at step 2
    nodes.to_csv(tmp_path / "student" / "nodes.csv", index=False)
    trace.updates.to_csv(tmp_path / "student" / "updates.csv", index=False, float_format="%.17g")
    status, out, err = cli(tmp_path / "student", "frey-online")
    assert status == 1, err
    assert out.startswith("different: first divergence at epoch 1, step 2, sample 2, layer output, unit y1: nodes.delta")
    assert "nodes.delta: 1 of 40" in out and "updates" not in out
    nodes.loc[wrong, "delta"] *= -1
    nodes.to_csv(tmp_path / "student" / "nodes.csv", index=False)
    assert cli(tmp_path / "student", "frey-online")[0] == 0


def written_trace(folder: Path, name: str = "frey-online") -> Path:
    write_trace(example_trace(name), folder)
    return folder


@pytest.mark.parametrize("damage, message", [
    (lambda t: [(t / n).unlink() for n in ("nodes.csv", "weights.csv", "updates.csv")],
     "holds no nodes, weights, updates table, though its trace.json says tracer wrote it whole"),
    (lambda t: ((t / "nodes.csv").unlink(), (t / "nodes.csv").mkdir()), "nodes.csv: not a regular file"),
    (lambda t: (t / "trace.json").write_text(
        (t / "trace.json").read_text().replace('"steps": "1-8"', '"steps": "1-5"').replace(
            '"steps_held": 8', '"steps_held": 5')), "says steps 1-5 (5 of 8), but the tables hold 1-8"),
    (lambda t: (t / "trace.json").write_text((t / "trace.json").read_text().replace(
        '"steps": "1-8"', '"steps": "1-4611686018427387903"')), "is outside 1..8"),
    (lambda t: (t / "trace.json").write_text((t / "trace.json").read_text().replace(
        '"steps_held": 8', '"steps_held": "x"')), "not a trace manifest"),
    (lambda t: (t / "trace.json").write_text((t / "trace.json").read_text().replace(
        '"steps": "1-8"', '"steps": 5')), "not a trace manifest"),
    (lambda t: (t / "losses.csv").write_text((t / "losses.csv").read_text().replace(
        "\n1,1,", "\n1,99999999999999999999,", 1)), "not a trace table (OverflowError)"),
    (lambda t: (t / "nodes.csv").write_text("x" * 140_000 + "," + (t / "nodes.csv").read_text()),
     "not a trace table (field larger than field limit"),
], ids=["three tables gone", "a folder as nodes.csv", "fewer steps named", "an endless range", "steps_held text",
        "steps a number", "a 20-digit step", "a 140 kB header"])
def test_an_incomplete_or_inconsistent_trace_folder_is_refused_never_same(tmp_path, damage, message):
    """A folder tracer wrote (it has trace.json) is compared whole or not at all: diff never says "same" about
    tables or steps it did not read."""
    folder = written_trace(tmp_path / "b")
    damage(folder)
    status, out, err = cli(written_trace(tmp_path / "a"), folder)
    assert status == 2 and message in err and len(err.splitlines()) == 1 and out == "", err
    with pytest.raises(TracerError, match=re.escape(message)):
        diff_traces("frey-online", folder)


def test_other_codes_folder_without_a_manifest_is_compared_on_what_it_holds(tmp_path):
    folder = written_trace(tmp_path / "b")
    for name in ("trace.json", "nodes.csv", "weights.csv", "updates.csv"):
        (folder / name).unlink()
    assert cli(written_trace(tmp_path / "a"), folder)[0] == 0


@pytest.mark.parametrize("args, message", [
    (("nope", "ekman"), "nope: no such file or directory"),
    (("TRACE", "xor"), "different networks"),
    (("TRACE", "ekman", "--rtol", "x"), "is not a number"),
    (("TRACE", "ekman", "--rtol", "detla=1e-6"), "unknown quantity 'detla'"),
    (("TRACE", "ekman", "--atol", "-1"), ">= 0"),
    (("TRACE", "ekman", "--tables", "nodez"), "unknown table(s) nodez"),
    (("TRACE", "ekman", "--report", "OUT/d.pdf"), ".html or .xlsx"),
    (("BAD.xlsx", "ekman"), "cannot read the workbook"),
    (("NOTRACE", "ekman"), "NOTRACE: not a trace directory: it holds none of nodes.csv"),
    (("NOKEY", "ekman"), "A nodes: missing key column(s) sample"),
    (("README.md", "ekman"), "not a trace"),
])
@pytest.mark.slow
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    write_trace(run("ekman"), tmp_path / "trace")
    (tmp_path / "BAD.xlsx").write_bytes(b"not a zip")
    (tmp_path / "NOTRACE").mkdir()
    (tmp_path / "NOKEY").mkdir()
    (tmp_path / "NOKEY" / "nodes.csv").write_text("epoch,step,layer,unit,z\n1,1,G,g,0.5\n")
    names = {"TRACE": tmp_path / "trace", "BAD.xlsx": tmp_path / "BAD.xlsx", "NOTRACE": tmp_path / "NOTRACE",
             "NOKEY": tmp_path / "NOKEY",
             "OUT/d.pdf": tmp_path / "d.pdf", "README.md": ROOT / "README.md"}
    status, out, err = cli(*(names.get(a, a) for a in args), cwd=tmp_path)
    assert status == 2 and len(err.splitlines()) == 1 and "Traceback" not in err and message in err, err
    assert not (tmp_path / "d.pdf").exists()


# -- docs/diff.md: its commands run as documented -----------------------------------------------------------
@pytest.mark.slow
def test_docs_commands_run_with_the_documented_exit_status(tmp_path):
    """Each `tracer ...` line in the sh blocks of docs/diff.md, with `# exit N` where it is not 0."""
    doc = (ROOT / "docs" / "diff.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", doc, re.S)
    lines = [line for block in blocks for line in block.splitlines() if line.startswith(("tracer ", "python3 -m"))]
    assert len(lines) >= 5
    for line in lines:
        if "pytest" in line or "bench_diff" in line:
            continue  # run by this test suite itself / by hand (minutes)
        command, _, comment = line.partition("#")
        expected = int(m.group(1)) if (m := re.search(r"exit (\d)", comment)) else 0
        p = tracer_cli(shlex.split(command)[1:], tmp_path)
        assert p.returncode == expected, (line, p.stdout, p.stderr)


def test_docs_python_examples_run(tmp_path, monkeypatch):
    doc = (ROOT / "docs" / "diff.md").read_text()
    api, other = re.findall(r"```python\n(.*?)```", doc, re.S)[:2]
    monkeypatch.chdir(tmp_path)
    write_trace(run("frey-online"), tmp_path / "out" / "mine")
    scope = {}
    exec(api, scope)
    assert scope["result"].same and (tmp_path / "diff.xlsx").is_file()
    nodes = run("ekman").nodes
    d_g, d_f = (nodes.loc[nodes["unit"] == u, "delta"].item() for u in ("g", "f"))
    scope = {"pd": pd, "tracer": tracer, "d_g": d_g, "d_f": d_f * 2}  # a student's wrong output delta
    exec(other, scope)
    f = diff_traces(scope["mine"], "ekman").first
    assert (f["quantity"], f["unit"], f["b"]) == ("delta", "f", d_f)


def test_docs_sample_output_is_what_diff_prints():
    doc = (ROOT / "docs" / "diff.md").read_text()
    printed = re.search(r"### What it prints\n\n```text\n(.*?)```", doc, re.S).group(1).rstrip("\n")
    a, b = tables("frey-online"), tables("frey-online")
    b["nodes"].loc[at(b["nodes"], step=3, unit="a2"), "z"] += 10
    b["losses"] = b["losses"][b["losses"]["step"] != 3]
    assert_same_but_last_bits(format_result(diff_traces(a, b)), printed)


NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def assert_same_but_last_bits(text: str, expected: str) -> None:
    """The same words, and numbers equal to a relative 1e-12: the doc was printed on another CPU, whose SIMD
    exp may differ in the last bit."""
    assert NUMBER.sub("#", text) == NUMBER.sub("#", expected)
    got, want = NUMBER.findall(text), NUMBER.findall(expected)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert float(g) == pytest.approx(float(w), rel=1e-12, abs=1e-300), (g, w)


def test_a_shuffled_run_is_said_to_process_other_data_first():
    """A loop whose data loader shuffles meets the engine's fixed order: no value can agree, and diff says why
    before any value (it used to name updates.grad first)."""
    spec = tracer.load_spec(find_example("frey-online"))
    shuffled = spec.replace(training=dataclasses.replace(spec.training, shuffle=True, seed=3))
    result = tracer.diff_traces(tracer.run(shuffled), tracer.run(spec))
    assert result.other_data.startswith("step 1 processed other samples: sample(s) 4 in A, 1 in B")
    assert tracer.format_result(result).splitlines()[0].startswith("different data: step 1 processed")
    batch = tracer.load_spec(find_example("frey-batch"))
    reordered = batch.replace(training=dataclasses.replace(batch.training, shuffle=True, seed=1))
    other = tracer.diff_traces(tracer.run(reordered), tracer.run(batch)).other_data
    assert "the same samples in another order" in other
    assert tracer.diff_traces(tracer.run(spec), tracer.run(spec)).other_data is None


def test_the_first_step_of_other_samples_is_the_per_step_comparison():
    """The vectorised search against the plain one, step by step, over random traces: steps held on one side
    only, steps of other sizes, other samples, the same samples reordered."""
    from tracer.compare.tables import first_step_of_other_samples

    def plain(step_a, sample_a, step_b, sample_b):
        per_step = [{}, {}]
        for seen, steps, samples in zip(per_step, (step_a, step_b), (sample_a, sample_b)):
            for s, x in zip(steps.tolist(), samples.tolist()):
                seen.setdefault(s, []).append(x)
        return next((s for s in sorted(set(per_step[0]) & set(per_step[1])) if per_step[0][s] != per_step[1][s]),
                    None)

    rng = np.random.default_rng(7)
    found = 0
    for _ in range(400):
        sizes = rng.integers(1, 4, size=12)
        step_a = np.repeat(np.arange(1, 13), sizes)
        sample_a = rng.integers(1, 6, size=len(step_a))
        step_b, sample_b = step_a.copy(), sample_a.copy()
        change = rng.integers(0, 4)
        if change == 1:
            sample_b[rng.integers(len(sample_b))] = 9
        elif change == 2:
            keep = rng.random(len(step_b)) > 0.1
            step_b, sample_b = step_b[keep], sample_b[keep]
        elif change == 3:
            s = rng.integers(1, 13)
            sample_b[step_b == s] = sample_b[step_b == s][::-1]
        want = plain(step_a, sample_a, step_b, sample_b)
        assert first_step_of_other_samples(step_a, sample_a, step_b, sample_b) == want
        found += want is not None
    assert found > 100
