"""README's set-up commands and examples, and the reference's in docs/, are tested so they cannot drift."""
from __future__ import annotations

import pytest

import re
import shlex
from pathlib import Path

import tracer
from conftest import require_tool
from tracer.cli import main
from tracer.engine.trace import COLUMNS

pytestmark = pytest.mark.slow  # subprocesses, real tools or whole workbooks: left out of the quick loop

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
MOVED = ["usage.md", "outputs.md", "tracing.md", "grading.md"]  # the reference that left README, with its commands


def doc(name: str) -> str:
    return (DOCS / name).read_text()


def test_readme_is_a_short_tour_linking_every_reference_page():
    assert len(README.splitlines()) <= 150
    for name in ["spec.md", "examples.md", "tables.md", "performance.md", "architecture.md", *MOVED]:
        assert f"(docs/{name}" in README, name


def test_readme_performance_figures_name_the_benchmark_that_measures_them():
    section = README.split("## Performance", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| what")]
    scripts = {script for row in rows for script in re.findall(r"python3 (tests/benchmarks/\w+\.py)", row)}
    assert len(rows) >= 10 and scripts
    for script in scripts:
        assert (ROOT / script).is_file(), script


def command_after(marker: str) -> str:
    """The first line of the code block that follows an HTML comment marker in README."""
    block = README.split(f"<!-- {marker} -->", 1)[1]
    return re.search(r"```sh\n(.*?)\n", block).group(1)


def test_ci_runs_the_readme_test_command():
    assert command_after("test command") == "python3 -m pip install -e '.[test,torch]' && python3 -m pytest"
    assert "<!-- test command -->" in (ROOT / ".ci" / "run").read_text()


def test_readme_run_command_runs_ekman(tmp_path, monkeypatch, capsys):
    install, run = command_after("run command").split(" && ")
    assert install == "python3 -m pip install ."
    args = shlex.split(run)
    assert args[:2] == ["tracer", "run"]
    monkeypatch.chdir(ROOT)
    args[-1] = str(tmp_path / "out" / "ekman")
    assert main(args[1:]) == 0
    assert sorted(p.name for p in (tmp_path / "out" / "ekman").iterdir()) == sorted([f"{t}.csv" for t in COLUMNS] + ["trace.json"])


def test_readme_documents_every_trace_column():
    tables = doc("tables.md")
    for table, columns in COLUMNS.items():
        section = tables.split(f"`trace.{table}`", 1)[1][:3000]
        for column in columns:
            assert f"`{column}`" in section, f"docs/tables.md does not document {table}.{column}"


def test_readme_usage_lines_run(tmp_path, monkeypatch):
    """README's first steps and docs/usage.md's lines, in a folder with the examples (out/ lands there)."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    usage = doc("usage.md").split("## Using it", 1)[1].split("```", 2)[1]
    first_steps = README.split("<!-- first steps -->", 1)[1].split("```", 2)[1]
    for line in usage.splitlines()[1:] + first_steps.splitlines()[1:]:
        args = shlex.split(line.split("#", 1)[0])
        if not args:
            continue
        if "xor" in line:
            args += ["--epochs", "3"]
        assert main(args[1:]) == 0, line
    assert (tmp_path / "out" / "ekman.xlsx").is_file() and (tmp_path / "out" / "ekman-ex" / "keys").is_dir()


def test_readme_python_example():
    code = README.split("From Python:", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(compile(code.replace("examples/", str(ROOT / "examples") + "/"), "README", "exec"), namespace)
    assert isinstance(namespace["trace"], tracer.Trace)


def test_readme_lists_every_bundled_example():
    for path in (ROOT / "examples").glob("*.yaml"):
        assert f"`{path.stem}`" in doc("examples.md"), path.stem


def test_readme_command_blocks_run(tmp_path):
    """Every shell block of the capability sections runs, in a folder holding what the commands expect
    (`tracer reports` is run by tests/test_reports.py, which compares what it writes with reports/)."""
    from tools.cli import run_line, tracer_cli

    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "answers").mkdir()
    for setup in (["run", "ekman", "--trace", "mine", "-q"], ["run", "ekman", "--trace", "trusted", "-q"],
                  ["template", "examples/ekman.yaml", "--out", "x.xlsx", "--key", "alice.xlsx"],
                  ["template", "examples/frey-online.yaml", "--key", "answers/a.xlsx", "--out", "blank.xlsx"]):
        assert tracer_cli(setup, tmp_path).returncode == 0, setup
    sections = "".join(doc(name) for name in MOVED[1:])
    blocks = re.findall(r"```sh\n(.*?)```", sections, re.S)
    assert len(blocks) >= 5
    ran = 0
    for block in blocks:
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            if not command:
                continue
            if command.startswith("tracer reports"):
                assert command == "tracer reports"
                continue
            if command.startswith(("soffice", "chromium")):  # printing: the real tools (CI installs them)
                require_tool((command.split()[0],), "libreoffice-calc" if command.startswith("soffice") else "chromium")
                command = f"HOME={tmp_path} {command}"
            p = run_line(command, tmp_path)
            assert p.returncode == 0, f"{command}: {p.stderr}{p.stdout}"
            ran += 1
    assert ran >= 12
