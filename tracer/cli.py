"""Command line: each command is a thin call of a documented function of the library.

Bad input prints one line `tracer: error: <place>: <problem and fix>` and exits with status 2.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from .engine.train import run as train_run
from .io.csvio import write_trace_csv
from .errors import TracerError
from .io.resources import example_paths, find_example
from .model.spec import Spec, load_spec
from .engine.trace import Trace
from .grading.check import DEFAULT_RTOL as CHECK_RTOL
from .grading.check import check_files, write_feedback
from .compare import DEFAULT_ATOL, DEFAULT_RTOL, diff_traces, format_result, write_diff_report
from .export.html import write_report
from .export.reports import write_example_reports
from .grading.template import write_exercise, write_variants
from .export.xlsx import MAX_ROWS, write_workbook

EXIT_OK, EXIT_DIFFERENT, EXIT_BAD_INPUT = 0, 1, 2


def resolve_spec(name: str) -> Spec:
    """Load a spec from a path, or a bundled example by name (`tracer run ekman`)."""
    path = Path(name)
    if not path.exists() and (bundled := find_example(name)) is not None:
        path = bundled
    return load_spec(path)


def summary(trace: Trace) -> str:
    """A few lines on a run: size, mean loss in the first and last epoch, final weights."""
    spec = trace.spec
    per_epoch = trace.epoch_losses()
    lines = [f"{spec.name}: {int(per_epoch['epoch'].max()) if len(per_epoch) else 0} epoch(s), "
             f"{trace.step_count()} step(s), {spec.training.mode} training, loss {spec.loss.name}, "
             f"learning rate {spec.learning_rate:g}"]
    if len(per_epoch):
        first, last = per_epoch.iloc[0], per_epoch.iloc[-1]
        lines.append(f"mean loss: {first['loss']:.6g} (epoch {int(first['epoch'])}) -> "
                     f"{last['loss']:.6g} (epoch {int(last['epoch'])})")
    lines.append("final weights:")
    for layer, matrix in zip(spec.layers, trace.final):
        for unit, row in zip(layer.units, matrix):
            pairs = ", ".join(f"{s} {w:.6g}" for s, w in zip(layer.sources, row))
            lines.append(f"  {layer.name}.{unit}: {pairs}")
    return "\n".join(lines)


def cmd_run(args) -> int:
    """tracer run: train, write the trace CSVs and any reports, print a summary."""
    spec = resolve_spec(args.spec)
    trace = train_run(spec, epochs=args.epochs)
    written = []
    if args.trace:
        written += write_trace_csv(trace, args.trace)
    written += write_reports(trace, args)
    if not args.quiet:
        print(summary(trace))
        for path in written:
            print(f"wrote {path}")
    if trace.stopped:
        print(f"tracer: {trace.stopped}", file=sys.stderr)
        return EXIT_DIFFERENT
    return EXIT_OK


def write_reports(trace: Trace, args) -> list[Path]:
    """The optional reports of `tracer run` (--xlsx, --html); out/<name>.<ext> when no path is given."""
    written = []
    if args.xlsx is not None:
        path = Path(args.xlsx or default_report(trace, "xlsx"))
        write_workbook(trace, path, formulas=args.formulas, steps=args.steps, notation=args.notation,
                       max_rows=args.max_rows)
        written.append(path)
    if args.html is not None:
        path = Path(args.html or default_report(trace, "html"))
        write_report(trace, path, notation=args.notation, steps=args.steps, digits=args.digits)
        written.append(path)
    return written


def default_report(trace: Trace, ext: str) -> Path:
    """out/<name>.<ext> in the current directory: never the committed showcase in reports/."""
    return Path("out") / f"{trace.spec.name}.{ext}"


def cmd_diff(args) -> int:
    """tracer diff: compare two traces; print the verdict; exit 0 same, 1 different."""
    rtol, per_rtol = _tolerances(args.rtol, DEFAULT_RTOL, "--rtol")
    atol, per_atol = _tolerances(args.atol, DEFAULT_ATOL, "--atol")
    tolerances = {q: (per_rtol.get(q, rtol), per_atol.get(q, atol)) for q in set(per_rtol) | set(per_atol)}
    tables = [t.strip() for t in args.tables.split(",")] if args.tables else None
    result = diff_traces(args.a, args.b, rtol=rtol, atol=atol, tolerances=tolerances,
                         tables=tables)
    print(format_result(result))
    if args.report:
        write_diff_report(result, args.report, args.a, args.b)
        print(f"wrote {args.report}")
    return EXIT_OK if result.same else EXIT_DIFFERENT


def _tolerances(values: list[str], default: float, option: str) -> tuple[float, dict]:
    """'1e-6' sets the global tolerance, 'delta=1e-4' one quantity's."""
    glob, per = default, {}
    for v in values:
        name, sep, number = v.rpartition("=")
        try:
            value = float(number)
        except ValueError:
            raise TracerError(option, f"{v!r} is not a number; use e.g. {option} 1e-6 or {option} delta=1e-4") from None
        if value < 0 or value != value:
            raise TracerError(option, f"{v!r}: a tolerance must be a number >= 0")
        if sep:
            per[name] = value
        else:
            glob = value
    return glob, per


def cmd_template(args) -> int:
    """tracer template: the exercise workbook, its key, or N variants with keys."""
    spec = resolve_spec(args.spec)
    if args.variants is not None and args.key:
        raise TracerError("--key", "with --variants every variant gets its own key in the --out folder; drop --key")
    if args.variants is not None:
        written = write_variants(spec, args.out, args.variants, args.seed, steps=args.steps, notation=args.notation,
                                 saturated=args.saturated)
    else:
        written = [write_exercise(spec, args.out, steps=args.steps, notation=args.notation)]
        if args.key:
            written.append(write_exercise(spec, args.key, key=True, steps=args.steps, notation=args.notation))
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def cmd_check(args) -> int:
    """tracer check: one line per student; gradebook and feedback; 0 all correct, 1 some not."""
    spec = resolve_spec(args.spec)
    if args.rtol < 0 or (args.digits is not None and args.digits < 0):
        raise TracerError("--rtol/--digits", "expected a tolerance >= 0 and a number of decimals >= 0")
    missing = [path for path in args.answers if not Path(path).exists()]
    if missing:
        raise TracerError(missing[0], "no such answer file (a pattern that matched nothing?)")
    if args.report and len(args.answers) > 1:
        raise TracerError("--report", "one report per answer file: with several files use --out FOLDER")
    results = check_files(spec, args.answers, out_dir=args.out, rtol=args.rtol, digits=args.digits,
                          notation=args.notation)
    if args.report:
        write_feedback(results[0], args.report)
    return EXIT_OK if all(r.all_correct for r in results) else EXIT_DIFFERENT


def cmd_reports(args) -> int:
    """tracer reports: the workbook and HTML report of every bundled example."""
    for path in write_example_reports(args.out):
        print(f"wrote {path}")
    return EXIT_OK


def cmd_examples(args) -> int:
    """tracer examples: list the bundled example specs."""
    for path in example_paths():
        spec = load_spec(path)
        print(f"{spec.name:<24} {spec.title}")
        if args.verbose:
            print(f"{'':<24} {spec.source}\n{'':<24} {path}")
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    """The argument parser with every command and an example in each help text."""
    p = argparse.ArgumentParser(prog="tracer", description="Backpropagation with every intermediate value recorded.")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train a network from a spec file and write its trace",
                         description="Train a network from a spec file and write its trace.",
                         epilog="examples:\n  tracer run examples/ekman.yaml --trace out/\n"
                                "  tracer run ekman --xlsx --formulas      # out/ekman.xlsx with live formulas\n"
                                "  tracer run frey-online --html --notation frey --steps 1-2 --digits 3",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("spec", help="spec file (YAML or JSON), or the name of a bundled example")
    run.add_argument("--epochs", type=int, help="override training.epochs")
    run.add_argument("--trace", metavar="DIR", help="write nodes.csv, weights.csv, updates.csv, losses.csv here")
    run.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    run.add_argument("--xlsx", nargs="?", const="", metavar="FILE",
                     help="write the Excel workbook (default out/<name>.xlsx)")
    run.add_argument("--formulas", action="store_true", help="workbook cells as live Excel formulas")
    run.add_argument("--steps", help="steps the worked example shows, e.g. '1-3,last' (default: the spec's steps)")
    run.add_argument("--notation", help="notation of labels: generic, ekman, frey, maren, cs510, davila")
    run.add_argument("--max-rows", type=int, default=MAX_ROWS,
                     help=f"rows of the long workbook sheets (default {MAX_ROWS})")
    run.add_argument("--html", nargs="?", const="", metavar="FILE",
                     help="write the HTML report (default out/<name>.html)")
    run.add_argument("--digits", type=int, default=4, help="significant digits shown in the HTML report (default 4)")
    run.set_defaults(func=cmd_run)

    ex = sub.add_parser("examples", help="list the bundled examples", epilog="example: tracer examples -v")
    ex.add_argument("--verbose", "-v", action="store_true", help="also print each source and file")
    ex.set_defaults(func=cmd_examples)
    d = sub.add_parser("diff", help="compare two traces and name the first divergence",
                       description="Compare two traces (trace directories, workbooks of the tool, or spec files). "
                                   "Exit status 0 same, 1 different, 2 bad input.",
                       epilog="examples:\n  tracer diff out/ekman/ examples/ekman.yaml\n"
                              "  tracer diff mine/ trusted/ --rtol 1e-6 --rtol delta=1e-4 --tables nodes,updates "
                              "--report diff.html", formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("a", help="trace A: directory of CSVs, .xlsx workbook, spec file or bundled example name")
    d.add_argument("b", help="trace B")
    d.add_argument("--rtol", action="append", default=[], metavar="[QTY=]R",
                   help=f"relative tolerance, global or per quantity (default {DEFAULT_RTOL:g})")
    d.add_argument("--atol", action="append", default=[], metavar="[QTY=]A",
                   help=f"absolute tolerance, global or per quantity (default {DEFAULT_ATOL:g})")
    d.add_argument("--tables", help="comma-separated tables to compare (default all four)")
    d.add_argument("--report", metavar="FILE", help="write every difference to FILE (.html or .xlsx)")
    d.set_defaults(func=cmd_diff)
    t = sub.add_parser("template", help="write an exercise workbook (and its key, or variants)",
                       description="Write an answer workbook for a hand-computation exercise on SPEC.",
                       epilog="examples:\n  tracer template examples/ekman.yaml --out ex.xlsx --key key.xlsx\n"
                              "  tracer template examples/frey-online.yaml --steps 2 --notation frey "
                              "--variants 20 --seed 7 --out exercises/",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("spec", help="spec file or bundled example name")
    t.add_argument("--out", required=True, help="exercise workbook (.xlsx), or a folder with --variants")
    t.add_argument("--key", help="also write the answer key here")
    t.add_argument("--steps", type=int, default=1, help="how many steps to compute by hand (default 1)")
    t.add_argument("--notation", help="notation of the labels (default: the spec's)")
    t.add_argument("--variants", type=int, help="write N variants with their own numbers, and a key for each")
    t.add_argument("--seed", type=int, default=0, help="seed of the variants (default 0)")
    t.add_argument("--saturated", action="store_true", help="allow variants with saturated units")
    t.set_defaults(func=cmd_template)

    c = sub.add_parser("check", help="grade students' answers, naming the mistakes",
                       description="Check answer files (.xlsx from `tracer template`, or .csv quantity,value) "
                                   "against the trace. Exit 0 all correct, 1 some not, 2 bad input.",
                       epilog="examples:\n  tracer check examples/ekman.yaml alice.xlsx --report alice.html\n"
                              "  tracer check examples/frey-online.yaml answers/*.xlsx --out grades/",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("spec", help="spec file or bundled example name")
    c.add_argument("answers", nargs="+", help="students' answer files")
    c.add_argument("--report", help="feedback report for a single answer file (.html or .xlsx)")
    c.add_argument("--out", help="folder for gradebook.csv, gradebook.xlsx and one feedback page per student")
    c.add_argument("--rtol", type=float, default=CHECK_RTOL, help=f"relative tolerance (default {CHECK_RTOL:g})")
    c.add_argument("--digits", type=int, help="decimals to accept (default: as many as each answer shows)")
    c.add_argument("--notation", help="notation of the labels (default: the spec's)")
    c.set_defaults(func=cmd_check)
    rp = sub.add_parser("reports", help="regenerate the reports of every bundled example",
                        description="Write <OUT>/<name>.xlsx (live formulas) and <OUT>/<name>.html for every "
                                    "bundled example.", epilog="example: tracer reports --out reports/   # refresh the repository's showcase")
    rp.add_argument("--out", default="out/reports", help="folder (default out/reports/)")
    rp.set_defaults(func=cmd_reports)
    # -- further commands register here (issues 5 and 6) --
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tracer` console script."""
    args = parser().parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status = args.func(args)
        except TracerError as e:
            _print_warnings(caught)
            print(f"tracer: error: {e}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except OSError as e:
            _print_warnings(caught)
            print(f"tracer: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
            return EXIT_BAD_INPUT
    _print_warnings(caught)
    return status


def _print_warnings(caught) -> None:
    """Show the library's warnings as one line each."""
    from .errors import TracerWarning

    for w in caught:
        if issubclass(w.category, TracerWarning):
            print(f"tracer: warning: {w.message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
