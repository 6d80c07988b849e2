"""backprop-tracer: train a feed-forward network with backpropagation and record every intermediate value."""
from .check import check_answers, check_file, check_files, write_feedback, write_gradebook
from .diff import DiffResult, diff_traces, format_result, load_trace, write_diff_report
from .engine import forward, run
from .errors import SpecError, TracerError, TracerWarning
from .html import render_report, write_report
from .spec import Spec, load_spec, parse_spec
from .template import write_exercise, write_variants
from .trace import Trace
from .xlsx import read_xlsx, write_workbook

__all__ = ["DiffResult", "Spec", "SpecError", "Trace", "TracerError", "TracerWarning", "check_answers",
           "check_file", "check_files", "diff_traces", "format_result",
           "forward", "load_spec", "load_trace", "parse_spec", "read_xlsx", "render_report", "run",
           "write_diff_report", "write_exercise", "write_feedback", "write_gradebook", "write_report",
           "write_variants", "write_workbook"]
