"""Grading a class: `tracer check` of N answer workbooks (frey-online, 77 quantities), per file.

Run: python3 tests/benchmarks/bench_check.py [--rounds 3] [--files 100]

Contenders, each a whole process, interleaved round by round (medians with the range, peak memory):
1. `tracer check frey-online KEYS...` (goal: at most 100 ms per file);
2. the same with `--out` (the grade book and a feedback page per student);
3. a plain openpyxl reader of the same files (read-only, every cell of the answers sheet), grading nothing.
`tracer template` for the same N variants (goal: at most 60 ms per variant) is timed once, as the setup.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import subprocess
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import interleaved, row  # noqa: E402

READER = """
import sys, openpyxl
for path in sys.argv[1:]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = [r for r in wb["answers"].iter_rows(values_only=True)]
    wb.close()
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tracer", "template", "examples/frey-online.yaml", "--variants",
                        str(args.files), "--out", str(tmp / "v")], check=True, capture_output=True)
        template = time.perf_counter() - start
        keys = sorted(str(p) for p in (tmp / "v" / "keys").glob("*.xlsx"))
        check = [sys.executable, "-m", "tracer", "check", "examples/frey-online.yaml", *keys]
        contenders = {
            "tracer check": {"args": check},
            "tracer check --out (grade book, feedback pages)": {"args": check + ["--out", str(tmp / "g")]},
            "plain openpyxl reader, grading nothing": {"args": [sys.executable, "-c", READER, *keys]},
        }
        results = interleaved(contenders, args.rounds)
    print(f"tracer check of {args.files} frey-online answer workbooks; whole processes, medians of {args.rounds} "
          "interleaved rounds; ratio to tracer check")
    base = results["tracer check"]
    for name, result in results.items():
        print(row(name, result, base) + f"   {1000 * result['median'] / args.files:5.0f} ms per file")
    per_file = 1000 * base["median"] / args.files
    print(f"goal: tracer check at most 100 ms per file: {per_file:.0f} ms, {'meets' if per_file <= 100 else 'MISSES'}")
    per_variant = 1000 * template / args.files
    print(f"goal: tracer template at most 60 ms per variant: {per_variant:.0f} ms (one run), "
          f"{'meets' if per_variant <= 60 else 'MISSES'}")


if __name__ == "__main__":
    main()
