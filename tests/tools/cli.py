"""Documented `tracer` command lines run inside the test process: `main()` as the console script calls it, in
the given folder, its output captured. A walk-through of twenty commands then costs their work, not twenty
interpreter starts of about a second each. tests/test_cli.py runs the real console script."""
from __future__ import annotations

import contextlib
import glob
import io
import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tracer.cli import main

SHELL = set("|&;<>$`()")  # a line using these is the shell's to run


@dataclass
class Ran:
    """What a command did: its exit status and what it printed."""
    returncode: int
    stdout: str
    stderr: str


def tracer_cli(args, cwd: Path) -> Ran:
    """`tracer ARGS` in `cwd`, in this process."""
    out, err, back = io.StringIO(), io.StringIO(), os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([str(a) for a in args])
    except SystemExit as e:  # argparse's own usage errors and --help
        status = e.code if isinstance(e.code, int) else 1
    finally:
        os.chdir(back)
    return Ran(status, out.getvalue(), err.getvalue())


def run_line(line: str, cwd: Path, env: dict | None = None) -> Ran:
    """One documented shell line: a plain `tracer ...` line (its wildcards expanded as the shell would) in this
    process, any other line by bash."""
    if line.startswith("tracer ") and not SHELL & set(line):
        args = []
        for word in shlex.split(line)[1:]:
            matches = sorted(glob.glob(word, root_dir=cwd)) if set("*?[") & set(word) else []
            args += matches or [word]
        return tracer_cli(args, cwd)
    p = subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True)
    return Ran(p.returncode, p.stdout, p.stderr)
