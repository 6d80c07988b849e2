"""The argument parser: every command, its options, and an example in each help text."""
from __future__ import annotations

import argparse
import sys

from ..options import CHECK_RTOL, DIFF_ATOL, DIFF_RTOL, MAX_ROWS
from . import commands


class OneLineParser(argparse.ArgumentParser):
    """An argument error is one line naming the option and where to look (exit status 2), like every other."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(commands.EXIT_BAD_INPUT)


def whole_at_least(minimum: int):
    """An argument type: a whole number >= minimum."""
    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is not >= {minimum}")
        return value
    return whole


positive, natural = whole_at_least(1), whole_at_least(0)


def parser(version: str = "") -> argparse.ArgumentParser:
    """The argument parser with every command and an example in each help text."""
    p = OneLineParser(prog="tracer", description="Backpropagation with every intermediate value recorded.")
    p.add_argument("--version", action="version", version=f"tracer (backprop-tracer) {version}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    raw = argparse.RawDescriptionHelpFormatter

    run = sub.add_parser("run", help="train a network from a spec file and write its trace",
                         description="Train a network from a spec file and write its trace and reports, all or "
                                     "nothing. Exit 0 done, 1 diverged, 2 bad input, 3 out of memory or disk.",
                         epilog="examples:\n  tracer run examples/ekman.yaml --trace out/ekman\n"
                                "  tracer run ekman --xlsx --formulas      # out/ekman.xlsx with live formulas\n"
                                "  tracer run xor --trace out/xor --format parquet --trace-steps 1-100,last\n"
                                "  tracer run frey-online --html --notation frey --steps 1-2 --digits 3\n"
                                "  tracer run ekman --live                 # out/ekman.live.html: edit any given\n"
                                "  tracer run frey-batch --live --exercise --steps 1 --round 3   # a student's page",
                         formatter_class=raw)
    run.add_argument("spec", help="spec file (YAML or JSON), or the name of a bundled example")
    run.add_argument("--epochs", type=positive, help="override training.epochs")
    run.add_argument("--trace", metavar="DIR", help="write the four trace tables and trace.json into this folder")
    run.add_argument("--format", default="csv", help="trace table format: csv (default) or parquet")
    run.add_argument("--trace-steps", metavar="SEL", help="record only these steps, e.g. '1-100,last' (the others "
                                                         "train unrecorded, to the same weights)")
    run.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    run.add_argument("--xlsx", nargs="?", const="", metavar="FILE",
                     help="write the Excel workbook (default out/<name>.xlsx; a path ending in / is a folder)")
    run.add_argument("--formulas", action="store_true", help="workbook cells as live Excel formulas")
    run.add_argument("--steps", help="steps the worked example shows, e.g. '1-3,last' (default: the spec's steps)")
    run.add_argument("--notation", help="notation of labels: generic, ekman, frey, maren, cs510, davila, "
                                         "sensitivity")
    run.add_argument("--max-rows", type=int, default=MAX_ROWS,
                     help=f"rows of the long workbook sheets (default {MAX_ROWS})")
    run.add_argument("--paper", default="a4", help="paper the workbook and the report print on: a4 (default) or letter")
    run.add_argument("--html", nargs="?", const="", metavar="FILE",
                     help="write the HTML report (default out/<name>.html; a path ending in / is a folder)")
    run.add_argument("--live", nargs="?", const="", metavar="FILE",
                     help="write the live page: every given a field, every number recomputed in the browser "
                          "(default out/<name>.live.html; a path ending in / is a folder)")
    run.add_argument("--exercise", action="store_true",
                     help="with --live: open the page in student mode (blank fields, each answer judged as "
                          "tracer check judges it)")
    run.add_argument("--round", type=natural, metavar="N", help="with --live: the class rounds to N decimals")
    run.add_argument("--sig", type=positive, metavar="N", help="with --live: the class rounds to N significant digits")
    run.add_argument("--accept-truncation", action="store_true",
                     help="with --round or --sig: a value cut off instead of rounded counts as right")
    run.add_argument("--digits", type=int, default=4, help="significant digits shown in reports (default 4)")
    run.set_defaults(func=commands.cmd_run)

    ex = sub.add_parser("examples", help="list the bundled examples, or copy one to edit",
                        epilog="examples:\n  tracer examples -v\n  tracer examples --copy softmax-classifier mine/   "
                               "# the spec and its data CSV", formatter_class=raw)
    ex.add_argument("--verbose", "-v", action="store_true", help="also print each source and file")
    ex.add_argument("--copy", nargs=2, metavar=("NAME", "DIR"), help="copy a bundled spec (and its data file) "
                                                                   "into DIR to edit")
    ex.set_defaults(func=commands.cmd_examples)

    d = sub.add_parser("diff", help="compare two traces and name the first divergence",
                       description="Compare two traces (trace directories, workbooks of the tool, or spec files). "
                                   "Exit status 0 same, 1 different, 2 bad input.",
                       epilog="examples:\n  tracer diff out/ekman/ examples/ekman.yaml\n"
                              "  tracer diff mine/ trusted/ --rtol 1e-6 --rtol delta=1e-4 --tables nodes,updates "
                              "--report diff.html", formatter_class=raw)
    d.add_argument("a", help="trace A: directory of CSVs, .xlsx workbook, spec file or bundled example name")
    d.add_argument("b", help="trace B")
    d.add_argument("--rtol", action="append", default=[], metavar="[QTY=]R",
                   help=f"relative tolerance, global or per quantity (default {DIFF_RTOL:g})")
    d.add_argument("--atol", action="append", default=[], metavar="[QTY=]A",
                   help=f"absolute tolerance, global or per quantity (default {DIFF_ATOL:g})")
    d.add_argument("--tables", help="comma-separated tables to compare (default all four)")
    d.add_argument("--report", metavar="FILE", help="write every difference to FILE (.html or .xlsx)")
    d.set_defaults(func=commands.cmd_diff)

    t = sub.add_parser("template", help="write an exercise workbook (and its key, or variants, or an LMS quiz)",
                       description="Write an answer workbook for a hand-computation exercise on SPEC; with "
                                   "--variants, one per student with its own numbers (keys in their own folder), "
                                   "and optionally the same variants as a Moodle or Canvas quiz.",
                       epilog="examples:\n  tracer template examples/ekman.yaml --out ex.xlsx --key key.xlsx --round 4\n"
                              "  tracer template examples/frey-online.yaml --steps 1-2 --notation frey "
                              "--variants 20 --seed 7 --out exercises/\n"
                              "  tracer template ekman --variants 30 --seed 1 --out ex/ --moodle quiz.xml --qti "
                              "quiz.zip --round 3",
                       formatter_class=raw)
    t.add_argument("spec", help="spec file or bundled example name")
    t.add_argument("--out", required=True, help="exercise workbook (.xlsx), or a folder with --variants")
    t.add_argument("--key", help="also write the answer key here (not the --out file)")
    t.add_argument("--keys", metavar="DIR", help="with --variants: the folder of the keys (default OUT/keys/)")
    t.add_argument("--steps", default="1", help="the steps to compute by hand: a count (2: steps 1-2) or steps "
                                                "such as 1-3,last (default 1)")
    t.add_argument("--notation", help="notation of the labels (default: the spec's)")
    t.add_argument("--variants", type=positive, help="write N variants with their own numbers, and a key for each")
    t.add_argument("--seed", type=natural, default=0, help="seed of the variants (default 0)")
    t.add_argument("--saturated", action="store_true", help="allow variants with saturated units")
    t.add_argument("--round", type=natural, metavar="N", help="keys computed by hand, every intermediate rounded "
                                                             "to N decimals (next to the exact values); the quiz's "
                                                             "tolerance")
    t.add_argument("--sig", type=positive, metavar="N", help="the same with N significant digits")
    t.add_argument("--accept-truncation", action="store_true", help="with --round or --sig: the class accepts "
                                                                   "values cut off instead of rounded")
    t.add_argument("--moodle", metavar="FILE", help="with --variants and --round or --sig: a Moodle XML quiz, one "
                                                    "question per variant")
    t.add_argument("--qti", metavar="FILE", help="with --variants and --round or --sig: a QTI 1.2 package (.zip) "
                                                 "that Canvas imports")
    t.add_argument("--gradescope", metavar="FILE", help="with --variants: a Gradescope autograder (.zip) that "
                                                       "grades each upload with tracer check")
    t.add_argument("--prairielearn", metavar="DIR", help="with --variants: a PrairieLearn question folder whose "
                                                         "server.py grades as tracer check does")
    t.add_argument("--paper", default="a4", help="paper of the workbooks' page setup: a4 (default) or letter")
    t.set_defaults(func=commands.cmd_template)

    c = sub.add_parser("check", help="grade students' answers, naming the mistakes",
                       description="Check answer files (.xlsx from `tracer template`, or .csv quantity,value) "
                                   "against the trace. Exit 0 all correct, 1 some not, 2 bad input.",
                       epilog="examples:\n  tracer check examples/ekman.yaml alice.xlsx --report alice.html\n"
                              "  tracer check examples/frey-online.yaml answers/*.xlsx --out grades/ --round 2\n"
                              "  tracer check ekman answers/* --variants 30 --seed 1 --out grades/",
                       formatter_class=raw)
    c.add_argument("spec", help="spec file or bundled example name")
    c.add_argument("answers", nargs="*", help="students' answer files (.xlsx, .csv)")
    c.add_argument("--moodle-responses", metavar="CSV", help="Moodle's quiz responses report (with question text) "
                                                           "of a quiz from `tracer template --moodle`")
    c.add_argument("--report", help="feedback report for a single answer file (.html or .xlsx)")
    c.add_argument("--out", help="folder for gradebook.csv, gradebook.xlsx and one feedback page per student")
    c.add_argument("--rtol", type=float, default=CHECK_RTOL, help=f"relative tolerance (default {CHECK_RTOL:g})")
    c.add_argument("--round", type=natural, metavar="N", help="the class rounds to N decimals: an answer is right "
                                                             "when it is the value, or the hand computation with "
                                                             "every intermediate rounded, to N decimals")
    c.add_argument("--sig", type=positive, metavar="N", help="the class rounds to N significant digits")
    c.add_argument("--digits", type=natural, metavar="N", help="decimals, the same as --round N (default: as many "
                                                              "as each answer shows, at least 2 significant)")
    c.add_argument("--notation", help="notation of the labels (default: the spec's)")
    c.add_argument("--accept-truncation", action="store_true", help="with --round or --sig: a value cut off "
                                                                   "instead of rounded is right (named either way)")
    c.add_argument("--variants", type=positive, metavar="N", help="the class's N variants, as `tracer template "
                                                                  "--variants N` made them: a file without its "
                                                                  "variant row is matched by the givens it repeats")
    c.add_argument("--seed", type=natural, default=0, help="with --variants: their seed (default 0)")
    c.add_argument("--saturated", action="store_true", help="with --variants: they were made with --saturated")
    c.set_defaults(func=commands.cmd_check)

    rp = sub.add_parser("reports", help="write the reports of every bundled example",
                        description="Write <OUT>/<name>.xlsx (live formulas) and <OUT>/<name>.html for every "
                                    "bundled example.", epilog="example: tracer reports --out reports/   # refresh "
                                                               "the repository's showcase")
    rp.add_argument("--out", default="out/reports", help="folder (default out/reports/)")
    rp.set_defaults(func=commands.cmd_reports)
    return p
