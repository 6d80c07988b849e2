"""tracer diff: alignment on keys, the first divergence in dependency order, tolerances, inputs, exit codes."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tracer
from tracer.csvio import write_trace_csv
from tracer.diff import diff_traces, format_result
from tracer.errors import TracerError
from tracer.resources import find_example
from tracer.xlsx import write_workbook


def run(name, **kw):
    return tracer.run(tracer.load_spec(find_example(name)), **kw)


def tables(name):
    return {k: v.copy() for k, v in run(name).tables.items()}


def test_identical_traces_are_the_same():
    result = diff_traces(run("frey-batch"), run("frey-batch"))
    assert result.same and format_result(result).startswith("same: ")


def test_rows_in_another_order_are_still_the_same():
    t = tables("frey-online")
    shuffled = {k: v.sample(frac=1.0, random_state=1) for k, v in t.items()}
    assert diff_traces(t, shuffled).same


def test_one_value_perturbed_is_reported_at_its_key_with_its_difference():
    a, b = tables("frey-online"), tables("frey-online")
    nodes = b["nodes"]
    where = (nodes["step"] == 3) & (nodes["unit"] == "a2")
    before = nodes.loc[where, "delta"].item()
    nodes.loc[where, "delta"] = before + 1e-5
    result = diff_traces(a, b)
    f = result.first
    assert (f["table"], f["quantity"], f["epoch"], f["step"], f["sample"], f["layer"], f["unit"]) == \
        ("nodes", "delta", 1, 3, 3, "hidden", "a2")
    assert f["a"] == before and f["b"] == before + 1e-5
    assert f["abs_diff"] == pytest.approx(1e-5, rel=1e-6)
    row = result.summary[(result.summary["table"] == "nodes") & (result.summary["quantity"] == "delta")]
    assert row["differing"].item() == 1


def test_root_cause_is_named_not_what_follows_from_it():
    """A wrong hidden delta in a student's code changes its grads and updates too: the delta is reported."""
    spec = tracer.load_spec(find_example("frey-online"))
    good = tracer.run(spec)
    bad = tracer.run(spec.replace(learning_rate=spec.learning_rate * 1.001))  # first differs at w_new of step 1
    f = diff_traces(good, bad).first
    assert (f["table"], f["quantity"], f["step"]) == ("updates", "delta_w", 1)
    a, b = tables("frey-online"), tables("frey-online")
    for table, cols in (("nodes", ["a"]), ("nodes", ["z"])):
        b[table].loc[b[table]["step"] == 2, cols] += 1e-3  # z and a of step 2 both off: z comes first
    f = diff_traces(a, b).first
    assert (f["quantity"], f["step"], f["layer"], f["unit"]) == ("z", 2, "hidden", "a1")


def test_a_missing_row_is_reported():
    a, b = tables("ekman-iterations"), tables("ekman-iterations")
    b["losses"] = b["losses"][b["losses"]["step"] != 7]
    result = diff_traces(a, b)
    assert not result.same and result.only_a["losses"] == 1 and result.first is None
    assert "rows only in A: losses: 1" in format_result(result)


def test_tolerance_edges():
    a, b = tables("maren"), tables("maren")
    a["nodes"]["z"] = 1.0
    b["nodes"]["z"] = 1.0 + 1e-9
    assert diff_traces(a, b, rtol=1.01e-9, atol=0).same
    assert not diff_traces(a, b, rtol=0.99e-9, atol=0).same
    assert diff_traces(a, b, rtol=0, atol=1.01e-9).same
    assert diff_traces(a, b, rtol=0, atol=0, tolerances={"z": (2e-9, 0)}).same


def test_nan_equals_nan_only_at_the_same_place():
    a, b = tables("ekman"), tables("ekman")
    assert np.isnan(a["nodes"]["target"]).any()  # hidden units have no target
    assert diff_traces(a, b).same
    b["nodes"].loc[1, "target"] = np.nan
    f = diff_traces(a, b).first
    assert f["quantity"] == "target"


def test_different_networks_are_bad_input():
    with pytest.raises(TracerError, match="different networks"):
        diff_traces(run("ekman"), run("xor", epochs=1))


def test_workbook_csv_and_spec_inputs_agree(tmp_path):
    trace = run("cs510")
    write_trace_csv(trace, tmp_path / "csv")
    write_workbook(trace, tmp_path / "cs510.xlsx")
    spec = find_example("cs510")
    for a, b in ((tmp_path / "csv", spec), (tmp_path / "cs510.xlsx", spec), (tmp_path / "csv", tmp_path / "cs510.xlsx")):
        result = diff_traces(tracer.diff.load_trace(a), tracer.diff.load_trace(b), rtol=1e-15)
        assert result.same, format_result(result)


def cli(*args, cwd=None):
    p = subprocess.run([sys.executable, "-m", "tracer", "diff", *map(str, args)], capture_output=True, text=True,
                       cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def test_cli_exit_codes_and_reports(tmp_path):
    write_trace_csv(run("ekman"), tmp_path / "a")
    assert cli(tmp_path / "a", find_example("ekman"))[0] == 0
    nodes = tmp_path / "a" / "nodes.csv"
    nodes.write_text(nodes.read_text().replace("-0.2449186624037092", "-0.2449"))
    status, out, _ = cli(tmp_path / "a", find_example("ekman"), "--report", tmp_path / "d.html")
    assert status == 1 and "first divergence at epoch 1, step 1, sample 1, layer G, unit g: nodes.a" in out
    assert "tracer" not in (tmp_path / "d.html").read_text()[:0] and "nodes" in (tmp_path / "d.html").read_text()
    assert cli(tmp_path / "a", find_example("ekman"), "--atol", "a=1e-4")[0] == 0
    status, _, _ = cli(tmp_path / "a", find_example("ekman"), "--report", tmp_path / "d.xlsx")
    assert status == 1 and (tmp_path / "d.xlsx").is_file()
    for bad in ((tmp_path / "nope", find_example("ekman")), (tmp_path / "a", find_example("xor")),
                (tmp_path / "a", find_example("ekman"), "--rtol", "x"), (tmp_path / "a", find_example("ekman"),
                                                                        "--tables", "nodez")):
        status, out, err = cli(*bad)
        assert status == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err


def test_corrupt_workbook_is_bad_input(tmp_path):
    (tmp_path / "x.xlsx").write_bytes(b"not a zip")
    status, _, err = cli(tmp_path / "x.xlsx", find_example("ekman"))
    assert status == 2 and "cannot read the workbook" in err
