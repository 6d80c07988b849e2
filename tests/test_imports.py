"""Each command imports only what it uses: `tracer --version` and `--help` nothing but the standard library,
a plain run no exporter, a workbook XlsxWriter but not Jinja2, a report Jinja2 but not XlsxWriter (issue:
801 modules just to print a version). pandas itself imports pyarrow, so a run that needs pandas has it."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tracer.io.resources import find_example

PROBE = """
import json, sys
from tracer.cli import main
try:
    main(json.loads(sys.argv[1]))
except SystemExit:
    pass
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)
"""
HEAVY = {"numpy", "pandas", "pyarrow", "polars", "xlsxwriter", "jinja2", "markupsafe", "openpyxl", "yaml"}


def imported(args: list[str], cwd) -> set[str]:
    """The top-level modules a `tracer` command leaves imported, beyond a bare interpreter's."""
    bare = subprocess.run([sys.executable, "-c", "import sys, json; print(json.dumps(sorted(sys.modules)))"],
                          capture_output=True, text=True, check=True)
    p = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, cwd=cwd)
    modules = json.loads(p.stderr.strip().splitlines()[-1])
    return set(modules) - {m.split(".")[0] for m in json.loads(bare.stdout)}


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["run", "--help"]])
def test_version_and_help_import_only_the_standard_library(args, tmp_path):
    third_party = imported(args, tmp_path) - set(sys.stdlib_module_names) - {"tracer"}
    assert third_party == set(), third_party


@pytest.mark.parametrize("extra, wanted, unwanted", [
    ([], set(), {"xlsxwriter", "jinja2", "markupsafe", "polars", "openpyxl"}),
    (["--xlsx", "w.xlsx"], {"xlsxwriter"}, {"jinja2", "markupsafe", "polars", "openpyxl"}),
    (["--html", "r.html"], {"jinja2"}, {"xlsxwriter", "polars", "openpyxl"}),
    (["--trace", "t"], {"polars"}, {"xlsxwriter", "jinja2", "openpyxl"}),
], ids=["summary", "workbook", "report", "trace"])
def test_a_run_imports_only_the_writers_it_uses(extra, wanted, unwanted, tmp_path):
    modules = imported(["run", str(find_example("ekman")), "-q", *extra], tmp_path)
    assert wanted <= modules and not modules & unwanted, sorted(modules & HEAVY)


def test_a_diff_without_a_report_imports_no_writer(tmp_path):
    from tracer.cli import main

    assert main(["run", "ekman", "-q", "--trace", str(tmp_path / "t")]) == 0
    modules = imported(["diff", str(tmp_path / "t"), str(tmp_path / "t")], tmp_path)
    assert not modules & {"xlsxwriter", "jinja2", "openpyxl"}, sorted(modules & HEAVY)


def test_a_diff_of_two_parquet_folders_imports_no_pandas(tmp_path):
    """Two Parquet folders tracer wrote are compared straight from their columns (tracer.compare.folders)."""
    from tracer.cli import main

    assert main(["run", "frey-online", "-q", "--trace", str(tmp_path / "t"), "--format", "parquet"]) == 0
    modules = imported(["diff", str(tmp_path / "t"), str(tmp_path / "t")], tmp_path)
    assert {"numpy", "pyarrow"} <= modules and not modules & {"pandas", "xlsxwriter", "jinja2", "openpyxl"}, \
        sorted(modules & HEAVY)
