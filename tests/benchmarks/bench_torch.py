"""Benchmark of recording a PyTorch loop: the xor loop of README's "Trace your own code", unrecorded and recorded.

Run: python3 tests/benchmarks/bench_torch.py [--rounds 5] [--epochs 10000]   (needs the [torch] extra)

Each contender is its own process, interleaved round by round; the loop is timed inside the process (the
imports are the same for both), the recorded one including `rec.trace()`, which builds the four tables.
Target: the recorded loop takes at most 3x the unrecorded one.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import interleaved, row  # noqa: E402

LOOP = """
import time, tracer
from tracer import torch as tt
spec = tracer.load_spec("xor")
model, loss_fn, optimizer = tt.model_from_spec(spec)
data = list(tt.batches(spec, {epochs}))

def loop():
    for x, y in data:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

t = time.perf_counter()
{body}
print("loop=%f" % (time.perf_counter() - t))
"""
PLAIN = "loop()"
RECORDED = "with tt.record(model, loss_fn, optimizer) as rec:\n    loop()\ntrace = rec.trace()"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=10_000)
    args = p.parse_args()
    contenders = {"unrecorded loop": {"code": LOOP.format(epochs=args.epochs, body=PLAIN)},
                  "recorded loop, then rec.trace()": {"code": LOOP.format(epochs=args.epochs, body=RECORDED)}}
    r = interleaved(contenders, args.rounds)
    steps = 4 * args.epochs
    print(f"PyTorch xor loop, {steps:,} steps (float64, CPU): time inside the process, median of {args.rounds}; "
          "ratio to the unrecorded loop (target <= 3x)")
    for name, result in r.items():
        print(row(name, result, r["unrecorded loop"], key="loop"))


if __name__ == "__main__":
    main()
