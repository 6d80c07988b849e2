"""Benchmark of tracer diff: two traces of about 1,000,000 rows each (XOR, 11,400 epochs), compared in full.

Run: python3 tests/benchmarks/bench_diff.py
"""
from __future__ import annotations

import time

import tracer
from tracer.diff import diff_traces
from tracer.resources import find_example


def main():
    spec = tracer.load_spec(find_example("xor"))
    a = tracer.run(spec, epochs=11_400)
    b = tracer.run(spec, epochs=11_400)
    rows = sum(len(t) for t in a.tables.values())
    t0 = time.perf_counter()
    same = diff_traces(a, b)
    t_same = time.perf_counter() - t0
    b.nodes.loc[len(b.nodes) // 2, "delta"] += 1e-6
    b.updates["w_new"] *= 1 + 1e-6  # every update differs: the worst case for sorting the differences
    t0 = time.perf_counter()
    different = diff_traces(a, b)
    t_diff = time.perf_counter() - t0
    assert same.same and not different.same
    print(f"{rows:,} rows per trace")
    print(f"identical traces          {t_same:6.2f} s")
    print(f"{int(different.summary['differing'].sum()):,} values differ     {t_diff:6.2f} s "
          f"(first divergence: step {different.first['step']}, {different.first['table']}.{different.first['quantity']})")


if __name__ == "__main__":
    main()
