"""docs/xlsx.md's commands and Python example run as written (out/ redirected to a temporary folder)."""
from __future__ import annotations

import pytest

import shlex
from pathlib import Path

import openpyxl
from tools.cells import iteration_rows

from tracer.cli import main

pytestmark = pytest.mark.slow  # subprocesses, real tools or whole workbooks: left out of the quick loop

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "xlsx.md").read_text()


def block(after: str, language: str) -> str:
    """The first code block of a language after a heading or phrase of the document."""
    return DOC.split(after, 1)[1].split(f"```{language}\n", 1)[1].split("```", 1)[0]


def test_coursework_commands_write_their_workbooks(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    lines = [line.split("#", 1)[0] for line in block("## Making a coursework workbook", "sh").splitlines()]
    for line in filter(str.strip, lines):
        args = [str(tmp_path / a) if a.startswith("out/") else a for a in shlex.split(line)]
        assert args[0] == "tracer" and main(args[1:]) == 0, line
        written = Path(args[args.index("--xlsx") + 1])
        wb = openpyxl.load_workbook(written, read_only=True)
        assert wb.sheetnames[:3] == ["overview", "worked example", "iterations"], line
        formulas = [v for v in iteration_rows(wb["iterations"])[1] if isinstance(v, str) and v.startswith("=")]
        assert bool(formulas) == ("--formulas" in args), line


def test_python_example_runs(tmp_path, monkeypatch):
    code = block("From Python:", "python").replace('"out/', f'"{tmp_path}/')
    monkeypatch.chdir(ROOT)
    exec(compile(code, "docs/xlsx.md", "exec"), {})
    assert (tmp_path / "ekman.xlsx").is_file()


def test_options_table_names_every_workbook_option():
    from tracer.cli.parser import parser

    run = parser()._subparsers._group_actions[0].choices["run"]
    xlsx = next(a for a in run._actions if "--xlsx" in a.option_strings)
    assert xlsx.const == ""  # --xlsx without a path: out/<name>.xlsx, as the doc says
    for option in ("--formulas", "--steps", "--notation", "--max-rows"):
        assert f"`{option}" in DOC, option
