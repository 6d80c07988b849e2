"""`tracer run --trace` writes the tables as training goes (tracer.engine.stream): the chunks handed on are the
in-memory trace's tables, cut at the same first non-finite value, and the files are byte for byte those of the
whole trace, while memory holds one chunk of the run."""
from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tracer
import tracer.engine.stream as stream

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
from bench_trace import big_spec  # noqa: E402  (the benchmark's 64-32-10 net, so test and figures agree)

CASES = [("xor", True), ("xor", "1-5,17,last"), ("frey-minibatch", "2,3"), ("mazur-sequential", True),
         ("softmax-classifier", True)]
DIVERGING = {"learning_rate": 1e4}  # softmax-classifier then overflows at step 57


EPOCHS = 30  # xor's 10,000 epochs a step a chunk would be 40,000 tables


def streamed(spec, record, steps_per_chunk: int, monkeypatch):
    """The chunks a streamed run hands on (copied: their columns are views the engine reuses) and its Trace."""
    monkeypatch.setattr(stream, "CHUNK_ROWS", steps_per_chunk * spec.batch_size * spec.n_weights)
    parts: dict = {}
    trace = tracer.run(spec, epochs=min(EPOCHS, spec.training.epochs), record=record,
                       sink=lambda name, table: parts.setdefault(name, []).append(table.copy()))
    return {name: pd.concat(chunks, ignore_index=True) for name, chunks in parts.items()}, trace


@pytest.mark.parametrize("diverge", [False, True])
@pytest.mark.parametrize("name, record", CASES)
@pytest.mark.parametrize("steps_per_chunk", [1, 3])
def test_the_chunks_handed_on_are_the_in_memory_tables(name, record, steps_per_chunk, diverge, monkeypatch):
    spec = tracer.load_spec(name)
    if diverge:
        spec = spec.replace(**DIVERGING)
    whole = tracer.run(spec, epochs=min(EPOCHS, spec.training.epochs), record=record)
    tables, trace = streamed(spec, record, steps_per_chunk, monkeypatch)
    for table in ("nodes", "weights", "updates"):
        pd.testing.assert_frame_equal(tables[table], whole.tables[table], check_exact=True)
    pd.testing.assert_frame_equal(trace.losses, whole.losses, check_exact=True)  # loss_after_epoch included
    assert trace.recorded_steps() == whole.recorded_steps()
    assert (trace.total_steps, trace.stopped) == (whole.total_steps, whole.stopped)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(trace.final, whole.final))
    pd.testing.assert_frame_equal(trace.epoch_errors(), whole.epoch_errors(), rtol=1e-12)


def test_a_diverged_run_says_where_when_streamed(monkeypatch):
    spec = tracer.load_spec("softmax-classifier").replace(**DIVERGING)
    _, trace = streamed(spec, True, 5, monkeypatch)
    assert trace.stopped.startswith("training diverged at epoch 19, step 57, sample 6, layer out, unit setosa")
    assert trace.recorded_steps()[-1] == 57
    _, trace = streamed(spec, "1-3", 1, monkeypatch)
    assert trace.stopped.startswith("training diverged after the last recorded step (3)")


@pytest.mark.parametrize("format", ["csv", "parquet"])
def test_a_streamed_folder_is_the_whole_traces(tmp_path, format, monkeypatch):
    """CSV byte for byte; Parquet (other row groups) value for value, read back."""
    monkeypatch.setattr(stream, "CHUNK_ROWS", 7 * 9)  # xor: 7 steps a chunk, 58 chunks
    spec = tracer.load_spec("xor")
    with tracer.trace_stream(tmp_path / "streamed", format) as folder:
        folder.finish(tracer.run(spec, epochs=100, sink=folder.sink))
    tracer.write_trace(tracer.run(spec, epochs=100), tmp_path / "whole", format)
    names = sorted(p.name for p in (tmp_path / "whole").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "streamed").iterdir())
    for name in names:
        same = filecmp.cmp(tmp_path / "whole" / name, tmp_path / "streamed" / name, shallow=False)
        assert same or format == "parquet", name
    assert tracer.diff_traces(tmp_path / "whole", tmp_path / "streamed").same


PEAK = """
import sys
from tracer.cli import main
code = main(sys.argv[1:])
print(next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:")))
sys.exit(code)
"""
WHOLE = """
import sys
import tracer
tracer.write_trace(tracer.run(tracer.load_spec(sys.argv[1])), sys.argv[2])
"""


@pytest.mark.slow
def test_a_64_32_10_trace_of_10000_steps_streams_in_under_1_gib(tmp_path):
    """24M rows of the weights table (4 GB of CSV) under a 4 GiB address-space cap: whole-process peak under
    1 GiB (it was 2.6 GiB with the tables built whole), and the files those of the in-memory trace."""
    spec = big_spec(tmp_path, 10_000)
    capped = "ulimit -v 4194304 && exec \"$@\""
    done = subprocess.run(["bash", "-c", capped, "bash", sys.executable, "-c", PEAK, "run", str(spec), "--trace",
                           str(tmp_path / "streamed"), "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]
    peak = int(done.stdout.split()[-1])
    print(f"peak {peak / 2**20:.0f} MiB")
    assert peak < 2**30
    subprocess.run([sys.executable, "-c", WHOLE, str(spec), str(tmp_path / "whole")], check=True)
    for name in ("nodes.csv", "weights.csv", "updates.csv", "losses.csv", "trace.json"):
        assert filecmp.cmp(tmp_path / "whole" / name, tmp_path / "streamed" / name, shallow=False), name


def test_the_usage_example_streams_a_folder_diff_reads(tmp_path, monkeypatch):
    usage = (Path(__file__).parents[1] / "docs" / "usage.md").read_text()
    code = next(block for block in usage.split("```python")[1:] if "trace_stream" in block).split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    spec = tracer.load_spec("frey-online")
    exec(compile(code, "usage.md", "exec"), {"tracer": tracer, "spec": spec})
    assert tracer.diff_traces(tmp_path / "out" / "frey-online", tracer.run(spec)).same


def test_a_streamed_runs_trace_is_not_mistaken_for_its_tables(tmp_path):
    """Its nodes, weights and updates are in the folder: writing or comparing the Trace itself is refused."""
    with tracer.trace_stream(tmp_path / "t") as folder:
        trace = tracer.run(tracer.load_spec("ekman"), sink=folder.sink)
        folder.finish(trace)
    assert trace.streamed and trace.recorded_steps() == [1] and len(trace.losses) == 1
    for attempt in (lambda: tracer.write_trace(trace, tmp_path / "u"), lambda: tracer.diff_traces(trace, tmp_path / "t")):
        with pytest.raises(tracer.TracerError, match="give that folder instead"):
            attempt()
    assert tracer.diff_traces(tmp_path / "t", tracer.run(tracer.load_spec("ekman"))).same
