"""Benchmark of recording a PyTorch loop, unrecorded and recorded.

Run: python3 tests/benchmarks/bench_torch.py [--rounds 5] [--epochs 10000]   (needs the [torch] extra)

Each contender is its own process, interleaved round by round; the loop is timed inside the process (the
imports are the same for all), with the whole process's peak memory.
1. The xor loop of README's "Trace your own code", recorded including `rec.trace()`, which builds the four
   tables. Target: at most 3x the unrecorded loop.
2. A 64-32-10 sigmoid net, batch 32, 200 steps (15.4M rows in the weights table): the unrecorded loop; the
   minimal hand-written hook recorder (hook_recorder.py: forward, tensor and optimizer hooks into lists, then
   NumPy arrays with each sample's gradients; its numbers are checked against the engine first); the loop
   inside `tt.record`, then `rec.trace()`. Targets: the recorded loop at most 3x the unrecorded one, peak
   memory at most 2x.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import interleaved, row  # noqa: E402

BIG_STEPS, BIG_BATCH = 200, 32

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


def xor(epochs: int, rounds: int) -> None:
    contenders = {"unrecorded loop": {"code": LOOP.format(epochs=epochs, body=PLAIN)},
                  "recorded loop, then rec.trace()": {"code": LOOP.format(epochs=epochs, body=RECORDED)}}
    r = interleaved(contenders, rounds)
    steps = 4 * epochs
    print(f"1. PyTorch xor loop, {steps:,} steps (float64, CPU): time inside the process, median of {rounds}; "
          "ratio to the unrecorded loop (target <= 3x)")
    for name, result in r.items():
        print(row(name, result, r["unrecorded loop"], key="loop"))


BIG_LOOP = """
import time, tracer, hook_recorder
from tracer import torch as tt
spec = tracer.load_spec({path!r})
model, loss_fn, optimizer = tt.model_from_spec(spec)
data = list(tt.batches(spec, 1))

def loop():
    for x, y in data:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

t = time.perf_counter()
{body}
print("total=%f" % (time.perf_counter() - t))
"""
BIG_BODIES = {
    "unrecorded loop": "loop()\nprint('loop=%f' % (time.perf_counter() - t))",
    "minimal hook recorder": "rec = hook_recorder.HookRecorder(model, optimizer)\nloop()\n"
                             "print('loop=%f' % (time.perf_counter() - t))\narrays = rec.arrays()",
    "tt.record": "with tt.record(model, loss_fn, optimizer) as rec:\n    loop()\n"
                 "print('loop=%f' % (time.perf_counter() - t))\ntrace = rec.trace()",
}


def big_spec(folder: Path) -> Path:
    """bench_trace's 64-32-10 sigmoid net on BIG_STEPS x BIG_BATCH random samples, in minibatches of BIG_BATCH."""
    from bench_trace import big_spec as online

    path = online(folder, BIG_STEPS * BIG_BATCH)
    path.write_text(path.read_text().replace("mode: online", f"mode: minibatch, batch_size: {BIG_BATCH}"))
    return path


def check_hook_recorder(path: Path) -> None:
    """The hook recorder's numbers are the engine's: its z, each sample's gradients (its deltas hold the mean
    loss's 1/B) and its last weights."""
    import numpy as np
    import tracer
    from hook_recorder import HookRecorder
    from tracer import torch as tt

    spec = tracer.load_spec(str(path))
    model, loss_fn, optimizer = tt.model_from_spec(spec)
    rec = HookRecorder(model, optimizer)
    for x, y in tt.batches(spec, 1):
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    got, trace = rec.arrays(), tracer.run(spec)
    hidden = trace.nodes[trace.nodes.layer == spec.layers[0].name]
    assert np.allclose(got["z0"].ravel(), hidden.z.to_numpy(), rtol=1e-12, atol=1e-12)
    grads = trace.weights.grad.to_numpy().reshape(len(got["z0"]), -1)
    assert np.allclose(got["sample_grads"] * BIG_BATCH, grads, rtol=1e-9, atol=1e-12)
    final = np.concatenate([m.ravel() for m in trace.final])
    last = np.concatenate([np.column_stack([p.bias.detach().numpy(), p.weight.detach().numpy()]).ravel()
                           for p in rec.linears])
    assert np.allclose(last, final, rtol=1e-12, atol=1e-12)


def big(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = big_spec(Path(tmp))
        check_hook_recorder(path)
        r = interleaved({name: {"code": BIG_LOOP.format(path=str(path), body=body)}
                         for name, body in BIG_BODIES.items()}, rounds)
    plain = r["unrecorded loop"]
    print(f"\n2. PyTorch 64-32-10 sigmoid loop, batch {BIG_BATCH}, {BIG_STEPS} steps (float64, CPU): time inside "
          f"the process, median of {rounds}; ratio to the unrecorded loop (targets: recorded loop <= 3x, peak "
          "memory <= 2x)")
    for name, result in r.items():
        print(row(f"{name}, the loop", result, plain, key="loop"))
    for name, then in (("minimal hook recorder", "then its arrays"), ("tt.record", "then rec.trace()")):
        print(row(f"{name}, {then}", r[name], plain, key="total"))
    for name, result in r.items():
        print(f"  peak memory, {name:<31} {result['peak']:7.0f} MiB   {result['peak'] / plain['peak']:5.2f}x")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=10_000)
    args = p.parse_args()
    xor(args.epochs, args.rounds)
    big(args.rounds)


if __name__ == "__main__":
    main()
