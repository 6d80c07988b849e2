"""Start-up: `tracer --version` against a bare interpreter and `import numpy, pandas` (the issue measured
1.3x the latter: 801 modules, pyarrow and XlsxWriter included, to print a version).

Run: python3 tests/benchmarks/bench_startup.py [--rounds 9]

Contenders, each a whole process, interleaved round by round (medians with the range, peak memory):
1. `tracer --version` (goal: under 0.15 s, the standard library only);
2. `tracer --help`;
3. `python -c pass`, the floor;
4. `python -c "import numpy, pandas"`, what the version used to cost.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import interleaved, row  # noqa: E402

GOAL = 0.15  # seconds for `tracer --version`


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    contenders = {
        "tracer --version": {"args": [sys.executable, "-m", "tracer", "--version"]},
        "tracer --help": {"args": [sys.executable, "-m", "tracer", "--help"]},
        "python -c pass": {"args": [sys.executable, "-c", "pass"]},
        "python -c 'import numpy, pandas'": {"args": [sys.executable, "-c", "import numpy, pandas"]},
    }
    results = interleaved(contenders, args.rounds)
    print(f"start-up; whole processes, medians of {args.rounds} interleaved rounds; ratio to import numpy, pandas")
    base = results["python -c 'import numpy, pandas'"]
    for name, result in results.items():
        print(row(name, result, base))
    verdict = "meets" if results["tracer --version"]["median"] <= GOAL else "MISSES"
    print(f"goal: tracer --version under {GOAL} s: {verdict}")


if __name__ == "__main__":
    main()
