"""The live page: an edit in the page against what a user does without it, editing the spec and writing the
report again (`tracer run SPEC --html`), and the cost of writing the page.

Run: python3 tests/benchmarks/bench_live.py [--rounds 7] [--chromium /usr/bin/chromium]

1. Writing: `tracer run SPEC --live` against `tracer run SPEC --html`, whole processes interleaved round by
   round (medians with the range, peak memory).
2. An edit: in headless Chromium, typing a learning rate until every number is rewritten and the page laid out
   again, and until the next frame is painted; against `tracer run SPEC --html` of the edited spec, a whole
   process (the report a user would open again). Rounds interleaved: an edit in the page, then a process.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from measure import interleaved, row, run_process  # noqa: E402

SPECS = ("ekman", "frey-minibatch", "xor")
EDIT = """async (value) => {
    const input = document.querySelector("input[data-g='P.learning_rate']"), t0 = performance.now();
    input.value = value;
    input.dispatchEvent(new Event("input"));
    document.body.offsetHeight;
    const laid = performance.now() - t0;
    await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
    return [laid, performance.now() - t0];
}"""


def writing(rounds: int, out: Path) -> None:
    print(f"1. writing the page against the report; whole processes, medians of {rounds} interleaved rounds")
    for name in SPECS:
        contenders = {f"{name}: tracer run --html": {"args": [sys.executable, "-m", "tracer", "run", name, "-q",
                                                              "--html", str(out / f"{name}.html")]},
                      f"{name}: tracer run --live": {"args": [sys.executable, "-m", "tracer", "run", name, "-q",
                                                              "--live", str(out / f"{name}.live.html")]}}
        results = interleaved(contenders, rounds)
        base = results[f"{name}: tracer run --html"]
        for label, result in results.items():
            print(row(label, result, base))


def editing(rounds: int, chromium: str, out: Path) -> None:
    from tools.browser import close_browsers, open_page

    print(f"2. an edit of the learning rate; medians (range) of {rounds} interleaved rounds")
    for name in SPECS:
        import tracer

        spec = tracer.load_spec(name)
        page_path = out / f"{name}.live.html"
        tracer.write_live(spec, page_path)
        laid, painted, process = [], [], []
        with open_page(chromium, page_path) as (page, _):
            page.evaluate(EDIT, "0.3")  # the first edit compiles the page's code
            for k in range(rounds):
                value = 0.31 + 0.01 * k
                a, b = page.evaluate(EDIT, str(value))
                laid.append(a / 1000)
                painted.append(b / 1000)
                edited = out / f"{name}-edited.yaml"
                edited.write_text(page.evaluate("tracerLive.specText()"))
                process.append(run_process(args=[sys.executable, "-m", "tracer", "run", str(edited), "-q",
                                                 "--html", str(out / f"{name}-edited.html")])[0])
        spread = lambda xs: f"{statistics.median(xs) * 1000:8.1f} ms ({min(xs) * 1000:.1f}-{max(xs) * 1000:.1f})"
        print(f"  {name}: in the page, rewritten and laid out  {spread(laid)}")
        print(f"  {name}: in the page, to the next frame        {spread(painted)}")
        print(f"  {name}: tracer run --html of the edited spec  {spread(process)}"
              f"   {statistics.median(process) / statistics.median(painted):6.0f}x the page's frame")
        close_browsers()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        writing(args.rounds, Path(tmp))
        editing(args.rounds, args.chromium, Path(tmp))


if __name__ == "__main__":
    main()
