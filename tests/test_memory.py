"""The memory estimate that refuses a run too big for the machine (Recorder.estimate_bytes) against the memory a
run really takes: the peak resident size of a fresh process over its size before training, within 25 %.

The peak is the kernel's VmHWM of the new process: getrusage's ru_maxrss keeps the high-water mark of the
process that forked it (a pytest worker's 800 MB)."""
from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # a fresh interpreter per network, up to 200 MiB each

MEASURE = """
import sys
import numpy as np
import tracer
from tracer.engine.record import Recorder


def vm(field):
    return next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith(field + ":"))


sizes, samples = [int(v) for v in sys.argv[1].split("-")], int(sys.argv[2])
rng = np.random.default_rng(0)
data = [{"x": rng.uniform(0, 1, sizes[0]).round(3).tolist(), "y": rng.uniform(0, 1, sizes[-1]).round(3).tolist()}
        for _ in range(samples)]
spec = tracer.parse_spec({"name": "m", "inputs": sizes[0], "loss": "half_sse", "learning_rate": 0.1,
                          "init": {"method": "uniform", "low": -0.1, "high": 0.1},
                          "layers": [{"name": f"L{i}", "units": n, "activation": "sigmoid"}
                                     for i, n in enumerate(sizes[1:])],
                          "training": {"mode": "online", "epochs": 1}, "data": data})
before = vm("VmRSS")
trace = tracer.run(spec)
print(Recorder.estimate_bytes(spec, 1), vm("VmHWM") - before)
"""


@pytest.mark.parametrize("sizes, samples", [("1000-1000-1", 1), ("64-32-10", 200)])
def test_the_memory_estimate_is_within_a_quarter_of_the_peak(sizes, samples):
    """1000-1000-1 was estimated at 105 MiB and took 335 MB: the run's own copies of a million weights were not
    counted."""
    out = subprocess.run([sys.executable, "-c", MEASURE, sizes, str(samples)], capture_output=True, text=True,
                         check=True).stdout
    estimate, measured = map(int, out.split())
    print(f"{sizes} x{samples}: estimate {estimate / 2**20:.0f} MiB, measured {measured / 2**20:.0f} MiB")
    assert 0.75 <= measured / estimate <= 1.25, (estimate, measured)
