"""Benchmark of tracer diff: two traces of about 1,000,000 rows each (XOR, 11,400 epochs), compared in full.

Run: python3 tests/benchmarks/bench_diff.py [--rounds 5]
Times: in memory (identical; 410,401 values differing), from the CSV trace directories as `tracer diff DIR DIR`
reads them, and writing the reports of the differing case. Then the goal, as whole processes (medians of
interleaved rounds, peak memory): `tracer diff A B` of the two Parquet folders against polars reading the same
eight files and comparing each pair of tables with `DataFrame.equals` (what a user checking "are these the
same?" writes; it says nothing of where or why), at most 1.5x.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import tracer
from tracer.io.tracewriter import write_trace
from tracer.compare import diff_traces, write_diff_report
from tracer.io.resources import find_example


def timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


POLARS = """
import sys
import polars as pl
a, b = sys.argv[1], sys.argv[2]
same = all(pl.read_parquet(f"{a}/{n}.parquet").equals(pl.read_parquet(f"{b}/{n}.parquet"))
           for n in ("nodes", "weights", "updates", "losses"))
print("same" if same else "different")
"""


def goal(a: Path, b: Path, rounds: int) -> None:
    """tracer diff of two Parquet folders against polars' read + equals, whole processes."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from measure import interleaved, row

    diff = '"$0" -m tracer diff "$1" "$2" > /dev/null; test $? -eq 1'  # exit status 1: the traces differ, as here
    contenders = {"tracer diff A B (Parquet)": {"args": ["bash", "-c", diff, sys.executable, str(a), str(b)]},
                  "polars read + equals": {"args": [sys.executable, "-c", POLARS, str(a), str(b)]}}
    r = interleaved(contenders, rounds)
    base = r["polars read + equals"]
    print(f"\nGoal: whole processes, medians of {rounds} interleaved rounds")
    for name, result in r.items():
        print(row(name, result, base))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    spec = tracer.load_spec(find_example("xor"))
    a = tracer.run(spec, epochs=11_400)
    b = tracer.run(spec, epochs=11_400)
    rows = sum(len(t) for t in a.tables.values())
    same, t_same = timed(lambda: diff_traces(a, b))
    b.nodes.loc[len(b.nodes) // 2, "delta"] += 1e-6
    b.updates["w_new"] *= 1 + 1e-6  # every update differs: the worst case for sorting the differences
    different, t_diff = timed(lambda: diff_traces(a, b))
    assert same.same and not different.same
    n_diff = int(different.summary["differing"].sum())
    print(f"{rows:,} rows per trace")
    print(f"identical traces, in memory           {t_same:6.2f} s")
    print(f"{n_diff:,} values differ, in memory     {t_diff:6.2f} s "
          f"(first divergence: step {different.first['step']}, {different.first['table']}.{different.first['quantity']})")
    with tempfile.TemporaryDirectory() as tmp:
        write_trace(a, Path(tmp) / "a")
        write_trace(b, Path(tmp) / "b")
        from_csv, t_csv = timed(lambda: diff_traces(Path(tmp) / "a", Path(tmp) / "b"))
        assert int(from_csv.summary["differing"].sum()) == n_diff
        print(f"{n_diff:,} values differ, CSV dirs      {t_csv:6.2f} s (reading both traces included)")
        for ext in ("html", "xlsx"):
            _, t_report = timed(lambda: write_diff_report(different, Path(tmp) / f"d.{ext}", "a", "b"))
            size = (Path(tmp) / f"d.{ext}").stat().st_size
            print(f"--report d.{ext:<4}                        {t_report:6.2f} s ({size / 2**20:.1f} MB)")
        write_trace(a, Path(tmp) / "pa", "parquet")
        write_trace(b, Path(tmp) / "pb", "parquet")
        goal(Path(tmp) / "pa", Path(tmp) / "pb", args.rounds)


if __name__ == "__main__":
    main()
