"""The commands of `tracer`: each a thin call of a documented function of the library."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import TracerError
from ..io.atomic import distinct_outputs, output_target, owned_folder
from ..options import DIFF_ATOL, DIFF_RTOL, check_suffix

# Each command imports the library it calls when it runs, so `tracer --version` and `--help` load only the
# standard library, and a command loads only what it uses (tracer.options).

EXIT_OK, EXIT_DIFFERENT, EXIT_BAD_INPUT, EXIT_RESOURCES = 0, 1, 2, 3


def summary(trace, most: int = 40) -> str:
    """A few lines on a run: size, mean loss in the first and last epoch, final weights (up to `most`)."""
    spec = trace.spec
    per_epoch = trace.epoch_losses()
    steps = trace.total_steps or trace.step_count()
    epochs = -(-steps // -(-len(spec.x) // spec.batch_size))  # ceil(steps / steps per epoch)
    lines = [f"{spec.name}: {epochs} epoch(s), {steps} step(s), {spec.training.mode} training, "
             f"loss {spec.loss.name}, learning rate {spec.learning_rate:g}"]
    if len(per_epoch):
        which = " of the recorded steps" if trace.partial and trace.history is None else ""
        lines.append(f"mean loss{which}{over_epochs(per_epoch)}")
    after = trace.epoch_errors()
    if len(after):
        n = len(spec.x)
        how = f"(with its final weights, mean over {n} sample{'s' if n > 1 else ''})"
        lines.append(f"error after each epoch {how}{over_epochs(after)}" if len(after) > 1 else
                     f"error after epoch {int(after['epoch'].iloc[0])} {how}: {after['loss'].iloc[0]:.6g}")
    count = sum(m.size for m in trace.final)
    if count > most:
        lines.append(f"final weights: {count:,} parameters, too many to list here")
        return "\n".join(lines)
    lines.append("final weights:")
    for layer, matrix in zip(spec.layers, trace.final):
        for unit, row in zip(layer.rows, matrix):
            names = ["threshold" if s == "bias" and layer.threshold else s for s in layer.sources]
            pairs = ", ".join(f"{s} {w:.6g}" for s, w in zip(names, row))
            lines.append(f"  {layer.name}.{unit}: {pairs}")
    return "\n".join(lines)


def over_epochs(per_epoch) -> str:
    """': x (epoch 1)' for one epoch, ': x (epoch 1) -> y (epoch N)' for several."""
    first, last = per_epoch.iloc[0], per_epoch.iloc[-1]
    if len(per_epoch) == 1:
        return f" (epoch {int(first['epoch'])}): {first['loss']:.6g}"
    return f": {first['loss']:.6g} (epoch {int(first['epoch'])}) -> {last['loss']:.6g} (epoch {int(last['epoch'])})"


def cmd_run(args) -> int:
    """tracer run: train, write the trace folder and any reports (all or nothing), print a summary."""
    from ..io.specfile import load_spec
    from ..runs import output_path, run_and_write

    spec = load_spec(args.spec)
    for option, given in (("--exercise", args.exercise), ("--round", args.round is not None),
                          ("--sig", args.sig is not None), ("--accept-truncation", args.accept_truncation)):
        if given and args.live is None:
            raise TracerError(option, "goes with the live page: add --live")
    rounding = class_rounding(argparse.Namespace(round=args.round, sig=args.sig,
                                                 accept_truncation=args.accept_truncation))
    result = run_and_write(
        spec, epochs=args.epochs, trace_dir=args.trace, trace_format=args.format, trace_steps=args.trace_steps,
        xlsx=output_path(args.xlsx, spec, "xlsx"), html=output_path(args.html, spec, "html"),
        live=output_path(args.live, spec, "live.html"), exercise=args.exercise, rounding=rounding,
        formulas=args.formulas,
        steps=args.steps, notation=args.notation, digits=args.digits, max_rows=args.max_rows, paper=args.paper,
        inputs=[given_file(args.spec)],
        progress=None if args.quiet else lambda message: print(f"tracer: {message} ...", file=sys.stderr, flush=True))
    if not args.quiet:
        print(summary(result.trace))
        for path in result.written:
            print(f"wrote {path}")
    if result.trace.stopped:
        print(f"tracer: {result.trace.stopped}", file=sys.stderr)
        return EXIT_DIFFERENT
    return EXIT_OK


def cmd_diff(args) -> int:
    """tracer diff: compare two traces; print the verdict; exit 0 same, 1 different."""
    from ..compare import diff_traces, format_result, write_diff_report

    rtol, per_rtol = tolerances(args.rtol, DIFF_RTOL, "--rtol")
    atol, per_atol = tolerances(args.atol, DIFF_ATOL, "--atol")
    per = {q: (per_rtol.get(q, rtol), per_atol.get(q, atol)) for q in set(per_rtol) | set(per_atol)}
    tables = [t.strip() for t in args.tables.split(",")] if args.tables else None
    distinct_outputs([given_file(args.a), given_file(args.b)], {"--report": args.report})
    result = diff_traces(args.a, args.b, rtol=rtol, atol=atol, tolerances=per, tables=tables)
    print(format_result(result))
    if args.report:
        write_diff_report(result, args.report, args.a, args.b)
        print(f"wrote {args.report}")
    return EXIT_OK if result.same else EXIT_DIFFERENT


def tolerances(values: list[str], default: float, option: str) -> tuple[float, dict]:
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
    """tracer template: the exercise workbook, its key, or N variants with keys (and LMS quizzes)."""
    from ..grading.lms import check_quiz_policy, write_quizzes
    from ..grading.template import keys_folder, variant_exercises, write_exercise, write_variants
    from ..io.specfile import load_spec

    spec = load_spec(args.spec)
    rounding = class_rounding(args)
    steps = args.steps
    files = {"--out": args.out if args.variants is None else None, "--key": args.key, "--moodle": args.moodle,
             "--qti": args.qti, "--gradescope": args.gradescope}
    distinct_outputs([given_file(args.spec)], files, {"--prairielearn": args.prairielearn})
    for option in ("--out", "--key"):
        if files[option] is not None:
            check_suffix(files[option], "xlsx", option)
    for path in (args.moodle, args.qti, args.gradescope):  # checked before the variants are written, not after
        if path is not None:
            output_target(path)
    if args.prairielearn is not None:
        from ..grading.prairielearn import FILES, WHAT

        owned_folder(args.prairielearn, FILES, WHAT)
    for option in ("--moodle", "--qti"):
        if files[option] is not None:
            check_quiz_policy(rounding, option)
    if args.variants is None:
        for option in ("moodle", "qti", "keys", "gradescope", "prairielearn"):
            if getattr(args, option):
                raise TracerError(f"--{option}", "needs --variants N (a quiz holds one question per variant)")
        written = [write_exercise(spec, args.out, steps=steps, notation=args.notation, rounding=rounding,
                                  paper=args.paper)]
        if args.key:
            written.append(write_exercise(spec, args.key, key=True, steps=steps, notation=args.notation,
                                          rounding=rounding, paper=args.paper))
    else:
        if args.key:
            raise TracerError("--key", "with --variants the keys go into their own folder (--keys, default "
                                       "OUT/keys/); drop --key")
        keys_folder(args.out, args.keys)  # before the variants are made
        variants = variant_exercises(spec, args.variants, args.seed, steps, args.notation, args.saturated)
        written = write_variants(spec, args.out, args.variants, args.seed, steps=steps, notation=args.notation,
                                 rounding=rounding, keys_dir=args.keys, paper=args.paper, variants=variants)
        written += write_quizzes(spec, variants, rounding, moodle=args.moodle, qti=args.qti)
        if args.gradescope:
            from ..grading.gradescope import write_gradescope

            written.append(write_gradescope(args.gradescope, spec, args.spec, args.variants, args.seed,
                                            args.saturated, rounding))
        if args.prairielearn:
            from ..grading.prairielearn import write_prairielearn

            written.append(write_prairielearn(args.prairielearn, spec, variants, rounding, seed=args.seed))
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def cmd_check(args) -> int:
    """tracer check: one line per student; gradebook and feedback; 0 all correct, 1 some not."""
    from ..grading.feedback import check_files, write_feedback
    from ..grading.variants import variant_ids
    from ..io.specfile import load_spec

    spec = load_spec(args.spec)
    if args.rtol < 0:
        raise TracerError("--rtol", "expected a tolerance >= 0")
    rounding = class_rounding(args)
    missing = [path for path in args.answers if not Path(path).exists() and not Path(path).is_symlink()]
    if missing:
        raise TracerError(missing[0], "no such answer file (a pattern that matched nothing?)")
    if not args.answers and not args.moodle_responses:
        raise TracerError("answers", "give the students' answer files, or --moodle-responses REPORT.csv")
    if args.report and len(args.answers) + bool(args.moodle_responses) > 1:
        raise TracerError("--report", "one report per answer file: with several files use --out FOLDER")
    books = {f"--out ({name})": Path(args.out) / name for name in ("gradebook.csv", "gradebook.xlsx")} \
        if args.out else {}
    distinct_outputs([given_file(args.spec), *args.answers, args.moodle_responses], {"--report": args.report, **books})
    variants = variant_ids(spec, args.variants, args.seed, args.saturated) if args.variants else ()
    results = check_files(spec, args.answers, out_dir=args.out, rtol=args.rtol, rounding=rounding,
                          notation=args.notation, moodle_responses=args.moodle_responses, variants=variants)
    if args.report:
        write_feedback(results[0], args.report)
    return EXIT_OK if all(r.all_correct for r in results) else EXIT_DIFFERENT


def class_rounding(args):
    """--round N (decimals; --digits is the same), --sig N (significant digits), or as written (None): a
    grading.numbers.Rounding."""
    from ..grading.numbers import Rounding

    decimals = args.round if args.round is not None else getattr(args, "digits", None)
    if decimals is not None and args.sig is not None:
        raise TracerError("--round/--sig", "give one rounding policy: N decimals or N significant digits")
    truncation = getattr(args, "accept_truncation", False)
    if truncation and decimals is None and args.sig is None:
        raise TracerError("--accept-truncation", "goes with a rounding policy: --round N or --sig N")
    if decimals is not None:
        return Rounding.decimals(decimals, truncation)
    return Rounding.significant(args.sig, truncation) if args.sig is not None else None


def given_file(source) -> str | None:
    """A command's input as a path when it is one (not a bundled example's name)."""
    return str(source) if source is not None and Path(source).exists() else None


def cmd_reports(args) -> int:
    """tracer reports: the workbook and HTML report of every bundled example."""
    from ..export.reports import write_example_reports

    for path in write_example_reports(args.out):
        print(f"wrote {path}")
    return EXIT_OK


def cmd_examples(args) -> int:
    """tracer examples: list the bundled example specs, or copy one to edit (--copy NAME DIR)."""
    from ..io.resources import example_paths
    from ..io.specfile import copy_example, load_spec

    if args.copy:
        for path in copy_example(*args.copy):
            print(f"wrote {path}")
        return EXIT_OK
    for path in example_paths():
        spec = load_spec(path)
        print(f"{spec.name:<24} {spec.title}")
        if args.verbose:
            print(f"{'':<24} {spec.source}\n{'':<24} {path}")
    return EXIT_OK
