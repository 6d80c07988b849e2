"""Reports and workbooks as networks grow: `tracer run SPEC --html --xlsx --formulas` for random dense nets.

Run: python3 tests/benchmarks/bench_reports.py [--rounds 3]

Each net (3-5-3, 6-8-4, 20-30-10; sigmoid, Xavier weights, 8 samples, online, steps 1-2 written out) is
run as a whole process, the nets interleaved round by round; figures are the median wall and CPU seconds
(user + system, from the process's rusage) and the process's peak resident memory. For scale, the same
command with only --trace (no report, no workbook) is run beside each. Goals: at most 10 s of CPU for 6-8-4
and 60 s for 20-30-10.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nets import random_net_dict  # noqa: E402

NETS = [(3, 5, 3), (6, 8, 4), (20, 30, 10)]


def timed(args: list[str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak MiB) of one command run to the end."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"{' '.join(args)} failed: {proc.stderr.read().decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        commands = {}
        for sizes in NETS:
            spec = tmp / f"net-{'-'.join(map(str, sizes))}.yaml"
            spec.write_text(yaml.safe_dump(random_net_dict(sizes, samples=8), sort_keys=False))
            run = [sys.executable, "-m", "tracer", "run", str(spec), "-q"]
            commands[f"{spec.stem} --html --xlsx --formulas"] = run + ["--html", str(tmp / "r.html"), "--xlsx",
                                                                       str(tmp / "r.xlsx"), "--formulas"]
            commands[f"{spec.stem} --trace only"] = run + ["--trace", str(tmp / "trace")]
        figures = {name: [] for name in commands}
        for _ in range(rounds):
            for name, args in commands.items():
                figures[name].append(timed(args))
    print(f"{'command':<44} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9}   (medians of {rounds} interleaved rounds)")
    for name, runs in figures.items():
        wall, cpu, peak = (statistics.median(f[i] for f in runs) for i in range(3))
        print(f"{name:<44} {wall:>8.2f} {cpu:>8.2f} {peak:>9.0f}")


if __name__ == "__main__":
    main()
