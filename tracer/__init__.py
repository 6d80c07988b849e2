"""backprop-tracer: train a feed-forward network with backpropagation and record every intermediate value."""
from .capture import Recorder, batches
from .grading.check import check_answers, check_file
from .grading.feedback import check_files, write_feedback, write_gradebook
from .grading.numbers import Rounding
from .compare import DiffResult, diff_traces, format_result, load_trace, write_diff_report
from .engine.train import forward, run
from .errors import SpecError, TracerError, TracerWarning
from .export.html import render_report, write_report
from .io.specfile import load_spec
from .model.spec import Spec, parse_spec
from .grading.template import write_exercise, write_variants
from .engine.trace import Trace
from .export.xlsx import write_workbook
from .export.html import summary_html
from .io.workbooks import read_xlsx

Trace._repr_html_ = summary_html  # a trace in a notebook shows as a small report (the engine knows no HTML)

__all__ = ["DiffResult", "Recorder", "Rounding", "Spec", "SpecError", "Trace", "TracerError", "TracerWarning", "check_answers",
           "batches", "check_file", "check_files", "diff_traces", "format_result",
           "forward", "load_spec", "load_trace", "parse_spec", "read_xlsx", "render_report", "run",
           "write_diff_report", "write_exercise", "write_feedback", "write_gradebook", "write_report",
           "write_variants", "write_workbook"]
