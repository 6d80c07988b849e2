"""Benchmark of the engine on XOR 2-2-1, online, 10,000 epochs (40,000 updates, 880,000 trace rows).

Run: python3 tests/benchmarks/bench_engine.py [--epochs N] [--repeat R]

Everything is measured side by side in one run and reported as ratios (the machine is shared and noisy):
traced vs. recording off; traced vs. a straightforward per-value implementation (a tuple per recorded row,
one long DataFrame per table at the end); CSV writing vs. DataFrame.to_csv; peak memory vs. the raw float64
bytes of the recorded values. Each timing is the best of R runs, the contenders interleaved.
"""
from __future__ import annotations

import argparse
import gc
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

import tracer
from tracer.io.tracefiles import write_trace
from tracer.io.resources import find_example


def per_value_baseline(spec, epochs):
    """The straightforward way: loop over samples, a dict per recorded value, one long DataFrame at the end.

    The arithmetic is the same numpy per sample and layer as the engine's; only the recording differs.
    """
    records = []
    Ws = [l.weights.copy() for l in spec.layers]
    acts = [l.activation for l in spec.layers]
    last = len(Ws) - 1
    step = 0
    for epoch in range(1, epochs + 1):
        for d in range(len(spec.x)):
            step += 1
            x, y = spec.x[d], spec.y[d]
            ins, zs, as_ = [], [], []
            a = x
            for W, act in zip(Ws, acts):
                ins.append(np.concatenate([[1.0], a]))
                z = W @ ins[-1]
                a = act.f(z)
                zs.append(z)
                as_.append(a)
            key = {"epoch": epoch, "step": step, "sample": d + 1}
            records.append({**key, "table": "losses", "quantity": "loss", "value": spec.loss.value(y, a)})
            dE_da = spec.loss.dE_da(y, a)
            grads = [None] * len(Ws)
            for l in range(last, -1, -1):
                layer = spec.layers[l]
                da_dz = acts[l].da_dz(zs[l], as_[l])
                delta = dE_da * da_dz
                grads[l] = np.outer(delta, ins[l])
                for j, u in enumerate(layer.units):
                    values = {"z": zs[l][j], "a": as_[l][j], "da_dz": da_dz[j], "dE_da": dE_da[j], "delta": delta[j],
                              "target": y[j] if l == last else np.nan}
                    for q, v in values.items():
                        records.append({**key, "table": "nodes", "layer": layer.name, "unit": u, "quantity": q,
                                        "value": v})
                    for i, s in enumerate(layer.sources):
                        for q, v in (("input", ins[l][i]), ("w", Ws[l][j, i]), ("grad", grads[l][j, i])):
                            records.append({**key, "table": "weights", "layer": layer.name, "unit": u, "source": s,
                                            "quantity": q, "value": v})
                dE_da = Ws[l][:, 1:].T @ delta
            for l, layer in enumerate(spec.layers):
                W_new = Ws[l] - spec.learning_rate * grads[l]
                for j, u in enumerate(layer.units):
                    for i, s in enumerate(layer.sources):
                        for q, v in (("w_old", Ws[l][j, i]), ("grad", grads[l][j, i]),
                                     ("delta_w", W_new[j, i] - Ws[l][j, i]), ("w_new", W_new[j, i])):
                            records.append({"epoch": epoch, "step": step, "table": "updates", "layer": layer.name,
                                            "unit": u, "source": s, "quantity": q, "value": v})
                Ws[l] = W_new
    return pd.DataFrame(records)


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    spec = tracer.load_spec(find_example("xor"))
    epochs = args.epochs

    trace = tracer.run(spec, epochs=epochs)
    rows = sum(len(t) for t in trace.tables.values())
    base = per_value_baseline(spec, min(epochs, 200))
    small = tracer.run(spec, epochs=min(epochs, 200))
    for q in ("z", "delta"):  # the baseline computes the same trace
        np.testing.assert_allclose(base.loc[base["quantity"] == q, "value"].to_numpy(),
                                   small.nodes.sort_values(["step", "layer"], ascending=[True, False])[q].to_numpy(),
                                   rtol=1e-9)

    t_off = t_on = t_base = float("inf")
    for _ in range(args.repeat):  # interleaved, best of each
        t_off = min(t_off, best(lambda: tracer.run(spec, epochs=epochs, record=False), 1))
        t_on = min(t_on, best(lambda: tracer.run(spec, epochs=epochs), 1))
        t_base = min(t_base, best(lambda: per_value_baseline(spec, epochs), 1))

    with tempfile.TemporaryDirectory() as tmp:
        t_ours = t_pandas = float("inf")
        for _ in range(args.repeat):
            t_ours = min(t_ours, best(lambda: write_trace(trace, Path(tmp) / "ours"), 1))
            t_pandas = min(t_pandas, best(lambda: [df.to_csv(Path(tmp) / f"{n}.csv", index=False)
                                                   for n, df in trace.tables.items()], 1))

    floats = sum(df.select_dtypes("float").size for df in trace.tables.values())
    raw = floats * 8
    del trace
    gc.collect()
    tracemalloc.start()
    t = tracer.run(spec, epochs=epochs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del t

    print(f"XOR 2-2-1 online, {epochs} epochs: {rows:,} trace rows, best of {args.repeat}")
    print(f"recording off                 {t_off:7.3f} s")
    print(f"traced (up to the DataFrames) {t_on:7.3f} s   {t_on / t_off:5.2f}x recording off   (target <= 1.5x)")
    print(f"per-value baseline            {t_base:7.3f} s   traced is {t_base / t_on:5.1f}x faster    (target >= 4x)")
    print(f"write 4 CSVs (tracer.csvio)   {t_ours:7.3f} s   {rows / t_ours:12,.0f} rows/s")
    print(f"DataFrame.to_csv              {t_pandas:7.3f} s   {rows / t_pandas:12,.0f} rows/s   "
          f"csvio is {t_pandas / t_ours:4.1f}x faster")
    print(f"peak memory while tracing     {peak / 2**20:7.1f} MiB = {peak / raw:4.2f}x the {raw / 2**20:.1f} MiB "
          f"of raw float64 values (target <= 3x)")


if __name__ == "__main__":
    main()
