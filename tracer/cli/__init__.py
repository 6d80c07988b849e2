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
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with together():  # every output of the command, or none
                status = args.func(args)
            sys.stdout.flush()
        except BrokenPipeError:  # `tracer examples | head`: the reader has what it wants
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
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
    _print_warnings(caught)
    return status


def _print_warnings(caught) -> None:
    """Show the library's warnings as one line each."""
    for w in caught:
        if issubclass(w.category, TracerWarning):
            print(f"tracer: warning: {one_line(str(w.message))}", file=sys.stderr)
