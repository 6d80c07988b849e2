"""A class's exercise sheets: `tracer template` for 500 variants with keys and both quizzes.

Run: python3 tests/benchmarks/bench_template.py [--rounds 3] [--variants 500]

Contenders, each a whole process, interleaved round by round (medians with the range, peak memory):
1. the goal: `tracer template examples/frey-online.yaml --variants 500 --out DIR --sig 5 --moodle q.xml --qti q.zip`
   (a handout and a key per variant, the Moodle and Canvas quizzes) in at most 30 s;
2. the same without the quizzes (handouts and keys only);
3. the floor of writing the files: plain XlsxWriter writing as many workbooks of the same size (a header,
   the givens and 77 labelled numbers each), computing nothing.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import interleaved, row  # noqa: E402

GOAL = 30.0  # seconds for 500 variants with both quizzes
PLAIN_XLSXWRITER = """
import sys, xlsxwriter
out = sys.argv[1]
for n in range(2 * {variants}):
    wb = xlsxwriter.Workbook(f"{{out}}/{{n}}.xlsx")
    ws = wb.add_worksheet("answers")
    for r in range(110):
        ws.write_string(r, 0, f"quantity {{r}}")
        ws.write_number(r, 1, r / 7)
    wb.close()
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        template = [sys.executable, "-m", "tracer", "template", "examples/frey-online.yaml", "--variants",
                    str(args.variants)]
        (tmp / "plain").mkdir()
        contenders = {
            "tracer template, keys, Moodle and QTI quizzes": {
                "args": template + ["--out", str(tmp / "a"), "--sig", "5", "--moodle", str(tmp / "q.xml"), "--qti",
                                    str(tmp / "q.zip")]},
            "tracer template, handouts and keys only": {"args": template + ["--out", str(tmp / "b")]},
            "plain XlsxWriter, as many files, no numbers computed": {
                "args": [sys.executable, "-c", PLAIN_XLSXWRITER.format(variants=args.variants), str(tmp / "plain")]},
        }
        results = interleaved(contenders, args.rounds)
    print(f"tracer template frey-online, {args.variants} variants; whole processes, medians of {args.rounds} "
          "interleaved rounds; ratio to the full command")
    full = results["tracer template, keys, Moodle and QTI quizzes"]
    for name, result in results.items():
        print(row(name, result, full))
    verdict = "meets" if full["median"] <= GOAL * args.variants / 500 else "MISSES"
    print(f"goal: at most {GOAL:.0f} s for 500 variants with both quizzes: {verdict}")


if __name__ == "__main__":
    main()
