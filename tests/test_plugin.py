"""The pytest plugin, run inside pytester: fails with the divergence; --update-traces writes the goldens and
fails the tests it refreshed, saying what changed; the entry point imports nothing of the library."""
from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

import tracer
from tracer.engine.trace import COLUMNS
from tracer.io.tracewriter import write_trace
from tracer.io.resources import find_example

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow  # pytest sessions inside pytester: left out of the quick loop

TEST = """
import tracer
from tracer.io.resources import find_example

def test_frey(trace_regression):
    spec = tracer.load_spec(find_example("frey-online"))
    trace_regression.check(tracer.run(spec.replace(learning_rate={lr})))

def test_other_code(trace_regression):
    import pandas as pd
    nodes = pd.DataFrame({{"epoch": [1], "step": [1], "sample": [1], "layer": ["H"], "unit": ["h1"], "z": [{z}]}})
    trace_regression.check({{"nodes": nodes}})
"""


def test_plugin_fails_with_the_divergence_and_passes_after_update(pytester):
    pytester.makepyfile(test_golden_demo=TEST.format(lr=0.5, z=0.25))
    missing = pytester.runpytest()
    missing.assert_outcomes(failed=2)
    missing.stdout.fnmatch_lines(["*no golden trace*create it with `python3 -m pytest*--update-traces`*"])
    created = pytester.runpytest("--update-traces")  # written, and said: a refresh never passes silently
    created.assert_outcomes(failed=2)
    created.stdout.fnmatch_lines(["*golden trace*test_frey created (nodes, weights, updates, losses); run again "
                                  "without --update-traces to compare*"])
    assert (pytester.path / "test_golden_demo" / "test_frey" / "updates.csv").is_file()
    pytester.runpytest().assert_outcomes(passed=2)
    pytester.makepyfile(test_golden_demo=TEST.format(lr=0.51, z=0.2500001))
    changed = pytester.runpytest()
    changed.assert_outcomes(failed=2)
    changed.stdout.fnmatch_lines([
        "*first divergence at epoch 1, step 1*updates.delta_w*",
        "*first divergence at epoch 1, step 1, sample 1, layer H, unit h1: nodes.z*",
        "*A = 0.2500001  B = 0.25  abs diff = 1e-07*",
        "*refresh with `python3 -m pytest *test_golden_demo.py::test_other_code* --update-traces`*"])
    refreshed = pytester.runpytest("--update-traces")
    refreshed.assert_outcomes(failed=2)
    refreshed.stdout.fnmatch_lines(["*golden trace*test_other_code refreshed (A = this run, B = the old golden):*",
                                    "*A = 0.2500001  B = 0.25  abs diff = 1e-07*"])
    pytester.runpytest("--update-traces").assert_outcomes(passed=2)  # nothing left to refresh
    pytester.runpytest().assert_outcomes(passed=2)


def test_golden_files_are_the_trace_csvs_and_stable(pytester):
    pytester.makepyfile(test_demo=TEST.format(lr=0.5, z=0.25))
    pytester.runpytest("--update-traces").assert_outcomes(failed=2)
    folder = pytester.path / "test_demo" / "test_frey"
    first = {p.name: p.read_bytes() for p in folder.iterdir()}
    pytester.runpytest("--update-traces").assert_outcomes(passed=2)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == first
    spec = tracer.load_spec(find_example("frey-online"))
    write_trace(tracer.run(spec.replace(learning_rate=0.5)), pytester.path / "written")
    expected = {f"{n}.csv": (pytester.path / "written" / f"{n}.csv").read_bytes() for n in COLUMNS}
    assert first == expected  # full precision, text: what tracer run --trace writes


TOLERANCE = """
import tracer
from tracer.io.resources import find_example

def test_lr(trace_regression):
    spec = tracer.load_spec(find_example("ekman"))
    trace_regression.check(tracer.run(spec.replace(learning_rate={lr})), {kw})
"""


def test_tolerances_of_check(pytester):
    pytester.makepyfile(test_tol=TOLERANCE.format(lr=0.5, kw=""))
    pytester.runpytest("--update-traces").assert_outcomes(failed=1)
    # learning rate 0.5 -> 0.5000001 changes delta_w and w_new by ~2e-7 relative, and the loss after the epoch
    # computed from w_new; nothing before them
    for kw, outcome in (("", "failed"), ("rtol=1e-6", "passed"), ("rtol=1e-8", "failed"),
                        ("tolerances={'delta_w': (1e-6, 0), 'w_new': (1e-6, 0), 'loss_after_epoch': (1e-6, 0)}",
                         "passed"),
                        ("tolerances={'delta_w': (1e-6, 0), 'w_new': (1e-6, 0)}", "failed"),
                        ("tolerances={'delta_w': (1e-6, 0)}", "failed")):
        pytester.makepyfile(test_tol=TOLERANCE.format(lr=0.5000001, kw=kw))
        pytester.runpytest().assert_outcomes(**{outcome: 1})


SHAPES = """
import pandas as pd
import pytest

def nodes(**extra):
    return pd.DataFrame({"epoch": [1, 1], "step": [1, 1], "sample": [1, 1], "layer": ["H", "O"], "unit": ["h", "o"],
                         "z": [0.5, -1.5], **extra})

@pytest.mark.parametrize("k", [1, 2])
def test_param(trace_regression, k):
    trace_regression.check({"nodes": nodes(a=[0.1 * k, 0.2])}, basename=None if k == 1 else "second")

def test_shapes(trace_regression):
    trace_regression.check({"nodes": nodes()})
"""


def test_golden_folders_columns_and_shapes(pytester):
    sub = pytester.mkpydir("suite")
    (sub / "test_shapes.py").write_text(SHAPES)
    pytester.runpytest("--update-traces").assert_outcomes(failed=3)
    assert sorted(p.name for p in (sub / "test_shapes").iterdir()) == ["second", "test_param_1", "test_shapes"]
    pytester.runpytest().assert_outcomes(passed=3)
    (sub / "test_shapes.py").write_text(SHAPES.replace('"z": [0.5, -1.5], **extra', '"z": [0.5, -1.5], "a": [1, 2]'))
    result = pytester.runpytest("suite/test_shapes.py::test_shapes")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the columns of nodes differ from the golden trace*"])
    (sub / "test_shapes.py").write_text(SHAPES.replace('"unit": ["h", "o"]', '"unit": ["h", "p"]'))
    result = pytester.runpytest("suite/test_shapes.py::test_shapes")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cannot compare with the golden trace*different networks*"])
    (sub / "test_shapes.py").write_text(SHAPES.replace('"epoch": [1, 1], "step": [1, 1]', '"epoch": [1, 1], "step": [1, 2]'))
    result = pytester.runpytest("suite/test_shapes.py::test_shapes")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*rows only in A: nodes: 1 (epoch 1, step 2, sample 1, layer O, unit o)*",
                                 "*rows only in B: nodes: 1 (epoch 1, step 1, sample 1, layer O, unit o)*"])


def test_plugin_is_registered_by_the_package_entry_point(pytester):
    points = importlib.metadata.entry_points(group="pytest11")
    assert any(p.name == "tracer" and p.value == "tracer.pytest_plugin" for p in points)
    pytester.makepyfile(test_demo=TEST.format(lr=0.5, z=0.25))
    others = ("-p", "no:hypothesispytest")  # not needed here, and 1.5 s of imports per session
    result = pytester.runpytest_subprocess("--update-traces", *others)  # a fresh process: the entry point only
    result.assert_outcomes(failed=2)
    pytester.runpytest_subprocess(*others).assert_outcomes(passed=2)
    pytester.runpytest_subprocess("--help", *others).stdout.fnmatch_lines(["*--update-traces*"])


OTHER = """
import pandas as pd

def test_floats_as_keys(trace_regression):
    losses = pd.DataFrame({"epoch": [1.0, 1.0], "step": [1.0, 2.0], "sample": [1.0, 2.0], "loss": [0.5, 0.25],
                           "student": ["ann", "ann"]})
    trace_regression.check({"losses": losses})

def test_not_a_trace(trace_regression):
    trace_regression.check({"losses": pd.DataFrame({"epoch": [1], "loss": [0.5]})})
"""


def test_other_codes_tables_are_typed_before_the_golden_is_written(pytester):
    pytester.makepyfile(test_other=OTHER)
    result = pytester.runpytest("--update-traces")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*not a trace: trace losses: missing key column(s) step, sample*"])
    golden = pytester.path / "test_other" / "test_floats_as_keys" / "losses.csv"
    assert golden.read_text() == "epoch,step,sample,loss\n1,1,1,0.5\n1,2,2,0.25\n"  # contract columns, int keys
    pytester.runpytest("-k", "floats").assert_outcomes(passed=1)


def test_docs_plugin_example_runs(pytester):
    doc = (Path(__file__).resolve().parents[1] / "docs" / "diff.md").read_text()
    block = doc.split("## The pytest plugin", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    first = block.split("def test_my_backprop", 1)[0]  # the other one needs the reader's own DataFrames
    pytester.makepyfile(test_mine=first.replace("examples/frey-online.yaml", str(find_example("frey-online"))))
    pytester.runpytest().assert_outcomes(failed=1)
    pytester.runpytest("--update-traces").assert_outcomes(failed=1)
    assert (pytester.path / "test_mine" / "test_frey_online" / "nodes.csv").is_file()  # the path the docs name
    pytester.runpytest().assert_outcomes(passed=1)


def test_the_entry_point_imports_nothing_of_the_library():
    """pytest loads the entry point in every session of an environment with the package installed."""
    import subprocess
    import sys

    code = ("import sys, tracer.pytest_plugin; "
            "print(sorted(m for m in sys.modules if m.startswith(('tracer.', 'pandas', 'numpy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['tracer.pytest_plugin']"
