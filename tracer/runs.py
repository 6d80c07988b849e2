"""A run and its outputs, all or nothing: what `tracer run` does, as one documented function.

Every option is checked before anything runs or is written (the notation, the steps to show, digits, rows,
paper, formats, the output paths); the memory the trace will need is estimated first and a run that cannot
fit is refused with the estimate and the fix; then the network is trained and every output is written to
a temporary beside its place and renamed there at the end, so a failure leaves none of them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .engine.record import Recorder, Recording, step_sizes
from .engine.stream import estimate_bytes as streamed_bytes
from .engine.train import run
from .errors import ResourceError
from .io.atomic import distinct_outputs, output_target, together
from .io.tracewriter import check_format, trace_stream
from .model.notation import profile
from .options import MAX_ROWS, check_output_options, check_suffix
from .steps import select_steps

MEMORY_SHARE = 0.8  # of the memory available, what a run may plan to use


@dataclass
class RunResult:
    """A finished run: its trace and the files written."""

    trace: object
    written: list = field(default_factory=list)


def run_and_write(spec, epochs: int | None = None, trace_dir=None, trace_format: str = "csv", trace_steps=None,
                  xlsx=None, html=None, formulas: bool = False, steps: str | None = None, notation: str | None = None,
                  digits: int = 4, max_rows: int = MAX_ROWS, paper: str = "a4", progress=None,
                  inputs=(), live=None, exercise: bool = False, rounding=None) -> RunResult:
    """Train `spec` and write its trace folder (`trace_dir`, csv or parquet, only `trace_steps` if given), its
    workbook (`xlsx`), its report (`html`) and its live page (`live`; in student mode first with `exercise`,
    answers judged under `rounding`), checking everything first and writing all or nothing;
    `progress(message)` is told of each phase of a long run (see long_run); no output may be one of `inputs`
    (the spec's file), another output, or inside the trace folder.

    >>> result = run_and_write(load_spec("ekman"), trace_dir="out/ekman", xlsx="out/ekman.xlsx")
    """
    epochs = epochs or spec.training.epochs
    total = epochs * len(step_sizes(len(spec.x), spec.batch_size))
    check_options(spec, total, trace_format, trace_steps, steps, notation, digits, max_rows, paper)
    distinct_outputs(inputs, {"--xlsx": xlsx, "--html": html, "--live": live}, {"--trace": trace_dir})
    if xlsx is not None:  # the exporters are imported only by the runs that write them
        from .export.xlsx import check_workbook_size, write_workbook

        check_workbook_size(spec)
    if html is not None:
        from .export.html import write_report
    if live is not None:
        from .export.live import write_live
    if trace_dir is not None:
        output_target(trace_dir, folder=True)
    for path, kind, option in ((xlsx, "xlsx", "--xlsx"), (html, "html", "--html"), (live, "html", "--live")):
        if path is not None:
            output_target(path)
            check_suffix(path, kind, option)
    shown = steps if steps is not None else (spec.steps or None)
    exporting = xlsx is not None or html is not None
    some = trace_steps
    if trace_steps is None and shown and exporting:
        some = steps_to_show(spec, total, shown, max_rows if xlsx is not None else 0)
    recording = Recording(some, history=some is not None and exporting)
    if trace_dir is not None:
        held = total if trace_steps is None else len(Recording(trace_steps).step_ids(total))
        check_memory(streamed_bytes(spec, epochs, held))
    if exporting:
        check_memory(Recorder.estimate_bytes(spec, epochs, len(recording.step_ids(total)) if some is not None
                                             else None))
    say = progress if progress is not None and long_run(spec, total) else (lambda message: None)
    trace = None
    with together():  # all the outputs or none
        if trace_dir is not None:  # the tables are written as training goes, a chunk of steps at a time
            say(f"training {total:,} steps and writing {trace_dir}")
            with trace_stream(trace_dir, trace_format) as stream:
                trace = train(spec, epochs, Recording(trace_steps), stream.sink)
                stream.finish(trace)
        if exporting:  # a second run records what the workbook and the report show (bit for bit the same run)
            say(f"training {total:,} steps")
            shown_trace = train(spec, epochs, recording)
            trace = trace if trace is not None else shown_trace
            if shown_trace.stopped and shown:  # a diverged run shows the steps it has
                shown = ",".join(str(s) for s in select_steps(shown, total) if s <= shown_trace.step_count()) or None
        if xlsx is not None:
            say(f"writing {xlsx}")
            write_workbook(shown_trace, xlsx, formulas=formulas, steps=shown or "", notation=notation,
                           max_rows=max_rows, digits=digits, paper=paper)
        if html is not None:
            say(f"writing {html}")
            write_report(shown_trace, html, notation=notation, steps=shown or "", digits=digits, paper=paper)
        if live is not None:  # the page trains the network again itself, in the browser and here
            say(f"writing {live}")
            write_live(spec, live, notation=notation, steps=shown or "", digits=digits, epochs=epochs,
                       exercise=exercise, rounding=rounding)
    if trace is None:  # nothing to write: the run's trace in memory
        trace = train(spec, epochs, recording)
    return RunResult(trace, [Path(p) for p in (trace_dir, xlsx, html, live) if p is not None])


def train(spec, epochs: int, recording, sink=None):
    """tracer.run, with running out of memory said in one line."""
    try:
        return run(spec, epochs=epochs, record=recording, sink=sink)
    except MemoryError:
        raise ResourceError("run", "out of memory while training; record fewer steps (--trace-steps) or train "
                                   "fewer epochs") from None


LONG_RUN = 2_000_000  # steps x parameters: past this a run takes seconds, and the CLI says what it is doing


def long_run(spec, total: int) -> bool:
    """Whether training `total` steps of `spec` and writing its outputs takes long enough to report progress."""
    return total * spec.n_weights >= LONG_RUN or spec.n_weights >= 500


def steps_to_show(spec, total: int, shown: str, rows: int) -> list[int]:
    """The steps a workbook or report without trace files shows: the chosen steps, and the first steps whose
    samples fill `rows` rows of the workbook's long sheets (0 for a report alone). The others train unrecorded;
    the run's history keeps every step's weights and every epoch's loss for the charts and tables."""
    sizes = step_sizes(len(spec.x), spec.batch_size)
    first, samples = 0, 0
    while first < total and samples < rows:
        samples += sizes[first % len(sizes)]
        first += 1
    return sorted(set(range(1, first + 1)) | set(select_steps(shown, total)))


def check_options(spec, total: int, trace_format, trace_steps, steps, notation, digits, max_rows, paper) -> None:
    """Every option checked against the spec before anything runs (the run's number of steps is known)."""
    profile(notation, spec)
    check_output_options(max_rows, digits, paper)
    check_format(trace_format)
    if trace_steps is not None:
        Recording(trace_steps).step_ids(total)
    if steps is not None:
        select_steps(steps, total)
    elif spec.steps:
        select_steps(spec.steps, total, option="steps (in the spec)")


def check_memory(need: int) -> None:
    """Refuse a run whose trace needs more than the memory available (`need` bytes), with the fix."""
    have = available_memory()
    if need > MEMORY_SHARE * have:
        raise ResourceError("run", f"the trace of this run needs about {need / 2**30:.1f} GiB of memory and about "
                                   f"{have / 2**30:.1f} GiB is available; record fewer steps (--trace-steps "
                                   "1-100,last), train fewer epochs, or use a smaller network")


def available_memory() -> int:
    """Bytes this process can still allocate: the system's available memory, within an address-space limit."""
    have = 2**62
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                have = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            used = int(next(l for l in Path("/proc/self/status").read_text().splitlines()
                            if l.startswith("VmSize:")).split()[1]) * 1024
            have = min(have, max(0, soft - used))
    except (ImportError, OSError, ValueError, StopIteration):
        pass
    return have


def default_path(spec, folder, ext: str) -> Path:
    """Where an output without a path goes: out/<name>.<ext>, or <folder>/<name>.<ext> for a folder path."""
    return Path(folder) / f"{spec.name}.{ext}"


def output_path(given: str | None, spec, ext: str) -> Path | None:
    """An output path as given on the command line: '' means out/<name>.<ext>; a path ending in / (or the
    system's separator) is a folder to write <name>.<ext> into."""
    if given is None:
        return None
    if given == "":
        return default_path(spec, "out", ext)
    if given.endswith(("/", os.sep)):
        return default_path(spec, given, ext)
    return Path(given)
