"""Benchmarks of the engine and the trace files against what a user would write instead.

Run: python3 tests/benchmarks/bench_trace.py [--rounds 5] [--epochs 10000] [--skip-big]

Every contender is its own Python process (imports included, as a user pays them), run once per round in
turn; figures are medians over rounds (with the range) and the whole process's peak resident memory.

1. Training XOR 2-2-1 online (10,000 epochs = 40,000 steps, 880,000 trace rows): the engine recording every
   value; the engine recording nothing; a plain numpy loop recording nothing; a plain-Python-float loop (the
   limit for tiny nets: numpy calls on 2-element arrays carry a fixed cost); the usual naive tracer, a dict
   per row. Each baseline's numbers are checked against the engine first. 1b: the same for a 64-32-10 net,
   2,000 online steps (4.9M rows in the weights table), the training timed inside each process.
2. Writing the same four DataFrames: tracer's writer (polars CSV, pyarrow Parquet), pyarrow.csv,
   DataFrame.to_csv; read back bit for bit where the writer promises it.
3. Goal: `tracer run examples/xor.yaml --trace DIR` as a whole process against the same run through the public
   API with its tables written by pyarrow.csv (at most 1.3x).
4. Goal: a 64-32-10 sigmoid net trained online, its trace streamed to CSV and to Parquet under a 4 GiB
   address-space cap: whole-process peak memory at most 1 GiB at 10,000 and 40,000 steps (48.6M and 194M rows),
   so memory does not grow with the steps; 2,500 steps beside them show time growing linearly in rows.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

import tracer
from tracer.io.resources import find_example

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import dict_per_row, float_loop, numpy_loop  # noqa: E402
from measure import interleaved, row  # noqa: E402

GiB = 2**30
SETUP = "import tracer; spec = tracer.load_spec('xor'); E = {epochs}\n"


def check_baselines(spec) -> None:
    """Each baseline computes what the engine computes (on a short run)."""
    engine = tracer.run(spec, epochs=50)
    for got in (numpy_loop(spec, 50), float_loop(spec, 50)):
        for a, b in zip(got, engine.final):
            np.testing.assert_allclose(np.asarray(a), b, rtol=1e-9)
    tables = dict_per_row(spec, 50)
    for name, df in tables.items():
        mine = getattr(engine, name)
        for c in df.columns:
            if df[c].dtype.kind == "f":
                np.testing.assert_allclose(df[c].to_numpy(), mine[c].to_numpy(), rtol=1e-9, atol=1e-15, err_msg=c)


def training(epochs: int, rounds: int) -> None:
    setup = SETUP.format(epochs=epochs)
    contenders = {
        "engine, recording every value": {"code": setup + "tracer.run(spec, epochs=E)"},
        "engine, recording nothing": {"code": setup + "tracer.run(spec, epochs=E, record=False)"},
        "numpy loop, recording nothing": {"code": setup + "import baselines; baselines.numpy_loop(spec, E)"},
        "plain-float loop, recording nothing": {"code": setup + "import baselines; baselines.float_loop(spec, E)"},
        "naive tracer, a dict per row": {"code": setup + "import baselines; baselines.dict_per_row(spec, E)"},
        "import and load the spec only": {"code": setup},
    }
    r = interleaved(contenders, rounds)
    rows = sum(len(t) for t in tracer.run(tracer.load_spec("xor"), epochs=epochs).tables.values())
    print(f"\n1. Training XOR 2-2-1 online, {epochs:,} epochs ({rows:,} trace rows); whole processes, "
          f"median of {rounds}; ratio to the engine recording every value")
    engine = r["engine, recording every value"]
    for name, result in r.items():
        print(row(name, result, engine))


TIMED_RUN = """
import time, tracer
spec = tracer.load_spec({path!r})
t = time.perf_counter()
{run}
print("run=%f" % (time.perf_counter() - t))
"""


def training_wide(rounds: int, tmp: Path, steps: int = 2000) -> None:
    """Recording everything against recording nothing on the 64-32-10 net (goal: at most 2x), and a plain
    numpy loop; the training timed inside each process (loading the 2,000-sample data is the same for all)."""
    path = str(big_spec(tmp, steps))
    runs = {"engine, recording every value (four DataFrames)": "tracer.run(spec)",
            "engine, recording nothing": "tracer.run(spec, record=False)",
            "numpy loop, recording nothing": "import baselines; baselines.numpy_loop(spec, 1)"}
    r = interleaved({name: {"code": TIMED_RUN.format(path=path, run=code)} for name, code in runs.items()}, rounds)
    print(f"\n1b. Training 64-32-10 sigmoid online, {steps:,} steps; time inside the process, median of {rounds}; "
          "ratio to recording nothing (goal: recording everything at most 2x)")
    for name, result in r.items():
        print(row(name, result, r["engine, recording nothing"], key="run"))


WRITE = """
import time, pathlib, sys
tmp = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else {tmp!r})
trace = tracer.run(spec, epochs=E)
t = time.perf_counter()
{write}
print("write=%f" % (time.perf_counter() - t))
"""
WRITERS = {
    "tracer (polars CSV)": "from tracer.io.tracewriter import write_trace; write_trace(trace, tmp / 'a', 'csv')",
    "tracer (pyarrow Parquet)": "from tracer.io.tracewriter import write_trace; write_trace(trace, tmp / 'b', "
                                "'parquet')",
    "pyarrow.csv": "import pyarrow as pa, pyarrow.csv as pc\n(tmp / 'c').mkdir(exist_ok=True)\n"
                   "for n, df in trace.tables.items():\n"
                   "    table = pa.Table.from_pandas(df, preserve_index=False)\n"
                   "    table = table.cast(pa.schema([pa.field(f.name, pa.string() if pa.types.is_dictionary(f.type) "
                   "else f.type) for f in table.schema]))\n"
                   "    pc.write_csv(table, tmp / 'c' / f'{n}.csv')",
    "DataFrame.to_csv": "(tmp / 'd').mkdir(exist_ok=True)\n"
                        "for n, df in trace.tables.items(): df.to_csv(tmp / 'd' / f'{n}.csv', index=False)",
}


def writers(epochs: int, rounds: int, tmp: Path) -> None:
    setup = SETUP.format(epochs=epochs)
    contenders = {name: {"code": setup + WRITE.format(tmp=str(tmp), write=code)} for name, code in WRITERS.items()}
    r = interleaved(contenders, rounds)
    trace = tracer.run(tracer.load_spec("xor"), epochs=epochs)
    for folder in ("a", "b"):
        back = tracer.load_trace(tmp / folder)
        for name in trace.tables:
            for c in trace.tables[name].columns:
                if trace.tables[name][c].dtype.kind == "f":
                    assert np.array_equal(trace.tables[name][c].to_numpy().view(np.int64),
                                          getattr(back, name)[c].to_numpy().view(np.int64)), (folder, name, c)
    sizes = {name: sum(p.stat().st_size for p in (tmp / f).iterdir()) / 2**20
             for name, f in zip(WRITERS, "abcd")}
    print(f"\n2. Writing the four tables of that run (time inside the process, median of {rounds}; "
          "ratio to tracer's CSV)")
    ours = r["tracer (polars CSV)"]
    for name, result in r.items():
        print(row(name, result, ours, key="write") + f"   {sizes[name]:6.1f} MiB on disk")
    print("  tracer's CSV and Parquet read back bit for bit (checked)")


API_PYARROW = SETUP.format(epochs=10_000) + WRITE.format(tmp="", write=WRITERS["pyarrow.csv"])


def goal_cli(rounds: int, tmp: Path) -> None:
    contenders = {
        "tracer run examples/xor.yaml --trace DIR": {"args": ["tracer", "run", str(find_example("xor")), "--trace",
                                                              str(tmp / "cli"), "--quiet"]},
        "tracer.run + pyarrow.csv, same tables": {"args": [sys.executable, "-c", API_PYARROW, str(tmp)]},
    }
    r = interleaved(contenders, rounds)
    base = r["tracer.run + pyarrow.csv, same tables"]
    print(f"\n3. Goal: the CLI run with its trace files vs the public API with pyarrow.csv (whole processes, "
          f"median of {rounds}; target <= 1.3x)")
    for name, result in r.items():
        print(row(name, result, base))


BIG = """name: big
inputs: [{inputs}]
init: {{method: xavier, seed: 1}}
layers:
  - {{name: H, units: 32, activation: sigmoid}}
  - {{name: O, units: [{outputs}], activation: sigmoid}}
loss: half_sse
learning_rate: 0.1
training: {{mode: online, epochs: 1}}
data: {{csv: big-{steps}.csv, x: [{inputs}], y: [{outputs}]}}
"""


def big_spec(folder: Path, steps: int) -> Path:
    """A 64-32-10 sigmoid net on `steps` random samples, one epoch online: `steps` steps."""
    rng = np.random.default_rng(0)
    inputs = [f"x{i + 1}" for i in range(64)]
    outputs = [f"c{k}" for k in range(10)]
    x, y = rng.random((steps, 64)).round(3), np.eye(10, dtype=int)[rng.integers(0, 10, steps)]
    lines = [",".join(inputs + outputs)] + [",".join(map(str, [*a, *b])) for a, b in zip(x.tolist(), y.tolist())]
    (folder / f"big-{steps}.csv").write_text("\n".join(lines) + "\n")
    path = folder / f"big-{steps}.yaml"
    path.write_text(BIG.format(inputs=", ".join(inputs), outputs=", ".join(outputs), steps=steps))
    return path


def goal_big(rounds: int, tmp: Path) -> None:
    print("\n4. Goal: 64-32-10 sigmoid, online, under a 4 GiB address-space cap (ulimit -v 4194304), peak at most "
          f"1 GiB; whole processes, median of {rounds}")
    for steps in (2500, 10_000, 40_000):
        spec_path = big_spec(tmp, steps)
        contenders = {fmt: {"args": ["tracer", "run", str(spec_path), "--trace", str(tmp / f"big-{fmt}"), "--format",
                                     fmt, "--quiet"], "limit_bytes": 4 * GiB}
                      for fmt in ("csv", "parquet")}
        r = interleaved(contenders, rounds)
        rows = steps * (42 + 2 * 2410 + 1)  # nodes, weights, updates, losses
        for fmt, result in r.items():
            size = sum(p.stat().st_size for p in (tmp / f"big-{fmt}").iterdir()) / 2**20
            print(row(f"{steps:,} steps, {rows / 1e6:.1f}M rows, {fmt}", result)
                  + f"   {result['median'] / rows * 1e6:5.2f} s per M rows   {size:6.0f} MiB on disk")
            shutil.rmtree(tmp / f"big-{fmt}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=10_000)
    p.add_argument("--skip-big", action="store_true", help="leave out part 4 (about 5 minutes per round, 17 GB of disk)")
    args = p.parse_args()
    check_baselines(tracer.load_spec("xor"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        training(args.epochs, args.rounds)
        training_wide(args.rounds, tmp)
        writers(args.epochs, args.rounds, tmp)
        goal_cli(args.rounds, tmp)
        if not args.skip_big:
            goal_big(max(1, args.rounds // 2), tmp)


if __name__ == "__main__":
    main()
