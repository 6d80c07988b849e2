"""Command line: each command is a thin call of a documented function of the library.

Exit status: 0 done (same, all correct); 1 training diverged (traces differ, answers not all correct);
2 bad input, one line `tracer: error: <place>: <problem and fix>`, nothing written; 3 out of memory or disk
space, one line naming what could not be done.
"""
from __future__ import annotations

import os
import sys
import warnings

from .. import __version__
from ..errors import TracerError, TracerWarning, one_line
from ..io.atomic import together
from .commands import EXIT_BAD_INPUT, EXIT_RESOURCES
from .parser import parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tracer` console script."""
    args = parser(__version__).parse_args(argv)
    stdout, sys.stdout = sys.stdout, ReaderMayStop(sys.stdout)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with together():  # every output of the command, or none
                status = args.func(args)
            sys.stdout.flush()
        except TracerError as e:
            _print_warnings(caught)
            print(f"tracer: error: {one_line(str(e))}", file=sys.stderr)
            return e.exit_status
        except MemoryError:
            print("tracer: error: out of memory; record fewer steps (--trace-steps), train fewer epochs or use a "
                  "smaller network", file=sys.stderr)
            return EXIT_RESOURCES
        except OSError as e:
            _print_warnings(caught)
            place = e.filename or "output"
            print(f"tracer: error: {one_line(f'{place}: {e.strerror or e}')}", file=sys.stderr)
            return EXIT_BAD_INPUT
        finally:
            sys.stdout = stdout
    _print_warnings(caught)
    return status


class ReaderMayStop:
    """Standard output whose reader may stop reading (`tracer run ... | head`): what it no longer reads is
    dropped and the command goes on to the end, so its outputs are written whole (a broken pipe in the middle
    of a summary used to discard the trace folder and the report just written, with exit status 0)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            self._drop()
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._drop()

    def _drop(self) -> None:
        """From now on this process's standard output goes nowhere (nor does what is still buffered)."""
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
        except (OSError, ValueError):  # a stream with no file descriptor (a test's capture)
            pass

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def _print_warnings(caught) -> None:
    """Show the library's warnings as one line each."""
    for w in caught:
        if issubclass(w.category, TracerWarning):
            print(f"tracer: warning: {one_line(str(w.message))}", file=sys.stderr)
