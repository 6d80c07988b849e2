"""Trace files: CSV and Parquet read back bit for bit; --format parquet and --trace-steps through the CLI, diff
and the plugin; workbook- and report-only runs record just what they show."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import tracer
from tracer.cli import main
from tracer.engine.trace import COLUMNS
from tracer.io.resources import example_paths, find_example
from tracer.io.tracefiles import read_trace
from tracer.io.tracewriter import write_trace
from tracer.runs import run_and_write

pytest_plugins = ["pytester"]


def frames_equal_bitwise(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    for c in a.columns:
        left, right = a[c], b[c]
        if left.dtype.kind == "f":
            np.testing.assert_array_equal(left.to_numpy().view(np.int64), right.to_numpy().view(np.int64), err_msg=c)
        else:
            assert left.astype(str).tolist() == right.astype(str).tolist(), c


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_every_value_reads_back_bit_for_bit(tmp_path, path, fmt):
    spec = tracer.load_spec(path)
    trace = tracer.run(spec, epochs=20 if spec.name == "xor" else None)
    write_trace(trace, tmp_path / "t", fmt)
    back = read_trace(tmp_path / "t")
    for name in COLUMNS:
        frames_equal_bitwise(getattr(trace, name), getattr(back, name))


def test_parquet_is_typed_and_compressed(tmp_path):
    trace = tracer.run(tracer.load_spec(find_example("xor")), epochs=50)
    write_trace(trace, tmp_path / "p", "parquet")
    schema = pq.read_schema(tmp_path / "p" / "nodes.parquet")
    assert str(schema.field("step").type) == "int64"
    assert str(schema.field("z").type) == "double"
    assert str(schema.field("unit").type).startswith("dictionary")  # categoricals as dictionaries
    meta = pq.ParquetFile(tmp_path / "p" / "nodes.parquet").metadata
    assert meta.row_group(0).column(0).compression != "UNCOMPRESSED"
    write_trace(trace, tmp_path / "c", "csv")
    size = {fmt: sum(p.stat().st_size for p in (tmp_path / fmt[0]).glob(f"*.{fmt}")) for fmt in ("csv", "parquet")}
    assert size["parquet"] < size["csv"] / 2, size


def test_cli_writes_parquet_and_diff_reads_it_like_csv(tmp_path, capsys):
    assert main(["run", "frey-minibatch", "--trace", str(tmp_path / "p"), "--format", "parquet"]) == 0
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == sorted(
        [f"{n}.parquet" for n in COLUMNS] + ["trace.json"])
    assert json.loads((tmp_path / "p" / "trace.json").read_text())["format"] == "parquet"
    assert main(["run", "frey-minibatch", "--trace", str(tmp_path / "c")]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "p"), str(tmp_path / "c")]) == 0
    assert main(["diff", str(tmp_path / "p"), "frey-minibatch"]) == 0
    assert tracer.diff_traces(tracer.load_trace(tmp_path / "p"), tracer.run(tracer.load_spec("frey-minibatch"))).same


def test_trace_steps_hold_only_those_steps_and_train_to_the_same_weights(tmp_path, capsys):
    spec = tracer.load_spec(find_example("xor"))
    full = tracer.run(spec, epochs=30)
    some = tracer.run(spec, epochs=30, record="1-3,last")
    assert some.recorded_steps() == [1, 2, 3, 120] and some.partial and some.total_steps == 120
    for a, b in zip(full.final, some.final):
        np.testing.assert_array_equal(a, b)  # bit for bit
    assert main(["run", "xor", "--epochs", "30", "--trace", str(tmp_path / "t"), "--trace-steps", "1-3,last"]) == 0
    held = json.loads((tmp_path / "t" / "trace.json").read_text())
    assert (held["steps"], held["steps_held"], held["total_steps"]) == ("1-3,120", 4, 120)
    assert sorted(pd.read_csv(tmp_path / "t" / "updates.csv")["step"].unique()) == [1, 2, 3, 120]


def test_any_trace_is_written_to_a_folder_by_the_public_function(tmp_path):
    """A recorded loop's trace goes to a folder `tracer diff` reads, with tracer.write_trace."""
    spec = tracer.load_spec(find_example("frey-minibatch"))
    trace = tracer.run(spec)
    for format in ("csv", "parquet"):
        written = tracer.write_trace(trace, tmp_path / format, format=format)
        assert sorted(p.name for p in written) == sorted([f"{n}.{format}" for n in COLUMNS] + ["trace.json"])
        assert tracer.diff_traces(tracer.load_trace(tmp_path / format), trace).same


def test_what_to_record_is_one_description_checked_once():
    spec = tracer.load_spec(find_example("xor"))
    kept = tracer.run(spec, epochs=30, record=tracer.Recording([2, 120], history=True))
    assert kept.recorded_steps() == [2, 120] and kept.total_steps == 120
    steps, w_after = kept.values.weights_after()
    assert len(steps) == 120 and kept.values.samples_processed() == 120  # online: every step and loss kept
    np.testing.assert_array_equal(w_after[-1], np.concatenate([m.ravel() for m in kept.final]))
    assert tracer.run(spec, epochs=30, record=[2, 120]).values.history is None
    nothing = tracer.run(spec, epochs=30, record=False)
    assert len(nothing.nodes) == 0 and nothing.values is None
    with pytest.raises(tracer.TracerError, match="record: steps must be within 1..120"):
        tracer.run(spec, epochs=30, record=[0, 3])
    with pytest.raises(tracer.TracerError, match="record: expected True, False, steps"):
        tracer.run(spec, epochs=30, record=3)


def test_diff_compares_the_steps_both_hold_and_says_so(tmp_path, capsys):
    spec = tracer.load_spec(find_example("xor"))
    some = tracer.run(spec, epochs=30, record="2,5,120")
    result = tracer.diff_traces(some, tracer.run(spec, epochs=30))
    assert result.same and result.steps_compared == "2,5,120"
    write_trace(some, tmp_path / "t")
    assert main(["run", "xor", "--epochs", "30", "--trace", str(tmp_path / "full")]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "t"), str(tmp_path / "full")]) == 0
    assert "2,5,120" in capsys.readouterr().out
    other = tracer.run(spec.replace(learning_rate=0.51), epochs=30, record="5")
    first = tracer.diff_traces(some, other).first
    assert first["step"] == 5  # steps 2 and 120 are held by one side only: not compared


@pytest.mark.slow
def test_the_plugin_reads_and_writes_parquet_goldens(pytester):
    pytester.makepyfile(test_p="""
import tracer

def test_frey(trace_regression):
    spec = tracer.load_spec("frey-online")
    trace_regression.check(tracer.run(spec.replace(learning_rate={lr})), format="parquet")
""".replace("{lr}", "0.5"))
    pytester.runpytest("--update-traces").assert_outcomes(failed=1)
    folder = pytester.path / "test_p" / "test_frey"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.parquet" for n in COLUMNS)
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.makepyfile(test_p=(pytester.path / "test_p.py").read_text().replace("0.5", "0.52"))
    failed = pytester.runpytest()
    failed.assert_outcomes(failed=1)
    failed.stdout.fnmatch_lines(["*first divergence at epoch 1, step 1*updates.delta_w*"])


@pytest.mark.slow
@pytest.mark.parametrize("output", ["xlsx", "html"])
def test_workbook_or_report_only_runs_record_just_what_they_show(tmp_path, output):
    spec = tracer.load_spec(find_example("xor"))
    options = {"epochs": 100, output: tmp_path / f"alone.{output}"} | ({"max_rows": 50} if output == "xlsx" else {})
    alone = run_and_write(spec, **options)
    recorded = alone.trace.recorded_steps()
    shown = [1, 2, 3, 400]
    if output == "xlsx":  # and the first steps filling the long sheets' 50 rows
        assert recorded == list(range(1, 51)) + [400]
    else:
        assert recorded == shown
    options[output] = tmp_path / f"all.{output}"
    with_trace = run_and_write(spec, trace_dir=tmp_path / "t", **options)
    assert not with_trace.trace.partial
    # the same file, made from the history of an unrecorded run (charts, loss table, weights table)
    assert (tmp_path / f"alone.{output}").read_bytes() == (tmp_path / f"all.{output}").read_bytes()


def test_a_workbook_only_run_cut_inside_an_epoch_writes_what_a_full_run_writes(tmp_path):
    """--max-rows ending inside an epoch (softmax-classifier: 6 samples an epoch, 20 rows) with momentum and
    steps far past the sheet: that epoch's mean loss is the run's value, not a formula over the part of the
    epoch on the sheet, and the steps shown get the change of the unrecorded step before them."""
    spec = tracer.load_spec(find_example("softmax-classifier"))
    options = {"steps": "1,40,90", "max_rows": 20, "formulas": True}
    alone = run_and_write(spec, xlsx=tmp_path / "alone.xlsx", **options)
    assert alone.trace.partial and sorted(alone.trace.values.change_before) == [40, 90]
    run_and_write(spec, trace_dir=tmp_path / "t", xlsx=tmp_path / "all.xlsx", **options)
    assert (tmp_path / "alone.xlsx").read_bytes() == (tmp_path / "all.xlsx").read_bytes()


def test_trace_write_is_the_public_way_to_a_folder_for_diff(tmp_path):
    """Trace.write(path, format=) and tracer.write_trace write the same folder, which diff reads back as equal."""
    trace = tracer.run(tracer.load_spec("ekman"))
    written = trace.write(tmp_path / "a", format="parquet")
    assert [p.name for p in written] == ["nodes.parquet", "weights.parquet", "updates.parquet", "losses.parquet",
                                         "trace.json"]
    tracer.write_trace(trace, tmp_path / "b", "parquet")
    assert tracer.diff_traces(tmp_path / "a", tmp_path / "b").same
    assert tracer.diff_traces(read_trace(tmp_path / "a"), trace).same
