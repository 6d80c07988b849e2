"""Timing for the benchmarks: each contender runs as its own process, contenders interleaved round by round,
reported as the median (and range) over rounds with the whole process's peak memory (its maximum resident
set, from wait4)."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


LAUNCHER = """
import os, resource, subprocess, sys, time
report, limit, command = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
cap = (lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))) if limit else None
start = time.perf_counter()
proc = subprocess.Popen(command, preexec_fn=cap)
_, status, usage = os.wait4(proc.pid, 0)
seconds = time.perf_counter() - start
with open(report, "w") as f:
    f.write(f"{seconds} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def run_process(code: str | None = None, args: list[str] | None = None, limit_bytes: int | None = None,
                cwd=None) -> tuple[float, float, str]:
    """(seconds, peak resident MiB, stdout) of `python -c code` (or of the command `args`); a failure raises
    with the end of its stderr. limit_bytes: an address-space cap (what `ulimit -v` sets).

    The contender is started by a small launcher process, which times it and reads its peak from wait4: a
    process forked straight from this one (however large the benchmark has grown) would report this one's
    resident size as its own peak, since Linux carries the forking process's high-water mark over exec."""
    command = args or [sys.executable, "-c", code]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # modules load from bytecode, as an installed package's do (pip
    # compiles them); with the variable set, as on some machines, every run compiles tracer's source (0.1 s)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.NamedTemporaryFile("r") as report:
        subprocess.run([sys.executable, "-c", LAUNCHER, report.name, str(limit_bytes or 0), *map(str, command)],
                       stdout=out, stderr=err, env=env, cwd=cwd, text=True, check=True)
        seconds, peak_kib, code = report.read().split()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if int(code):
        raise RuntimeError(f"{' '.join(map(str, command[:4]))} failed ({code}): {stderr.strip()[-2000:]}")
    return float(seconds), int(peak_kib) / 1024, stdout


def interleaved(contenders: dict[str, dict], rounds: int) -> dict[str, dict]:
    """Run each contender once per round, in turn. For each: the median and range of its seconds, the medians
    of any `name=seconds` lines it printed (a time measured inside the process), and its peak memory."""
    results = {name: {"seconds": [], "printed": {}, "peak": 0.0} for name in contenders}
    for _ in range(rounds):
        for name, how in contenders.items():
            seconds, peak, out = run_process(**how)
            result = results[name]
            result["seconds"].append(seconds)
            result["peak"] = max(result["peak"], peak)
            for line in out.splitlines():
                key, _, value = line.partition("=")
                if value and key.isidentifier():
                    result["printed"].setdefault(key, []).append(float(value))
    for result in results.values():
        result["median"] = statistics.median(result["seconds"])
        result["range"] = (min(result["seconds"]), max(result["seconds"]))
        result["printed"] = {k: statistics.median(v) for k, v in result["printed"].items()}
    return results


def row(label: str, result: dict, ratio_to: dict | None = None, key: str | None = None) -> str:
    """One line of a report: median seconds (range), peak MiB, and the ratio to another contender."""
    value = result["printed"][key] if key else result["median"]
    spread = "" if key else f" ({result['range'][0]:.2f}-{result['range'][1]:.2f})"
    text = f"  {label:<44} {value:7.2f} s{spread:<14} peak {result['peak']:7.0f} MiB"
    if ratio_to is not None:
        other = ratio_to["printed"][key] if key else ratio_to["median"]
        text += f"   {value / other:5.2f}x"
    return text
