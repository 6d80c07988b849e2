"""The pytest plugin, run inside pytester: fails with the divergence, passes after --update-traces."""
from __future__ import annotations

pytest_plugins = ["pytester"]

TEST = """
import tracer
from tracer.resources import find_example

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
    missing.stdout.fnmatch_lines(["*no golden trace*--update-traces*"])
    pytester.runpytest("--update-traces").assert_outcomes(passed=2)
    assert (pytester.path / "test_golden_demo" / "test_frey" / "updates.csv").is_file()
    pytester.runpytest().assert_outcomes(passed=2)
    pytester.makepyfile(test_golden_demo=TEST.format(lr=0.51, z=0.2500001))
    changed = pytester.runpytest()
    changed.assert_outcomes(failed=2)
    changed.stdout.fnmatch_lines(["*first divergence at epoch 1, step 1*updates.delta_w*",
                                  "*first divergence at epoch 1, step 1, sample 1, layer H, unit h1: nodes.z*",
                                  "*refresh with `python3 -m pytest *test_golden_demo.py::test_other_code* --update-traces`*"])
    pytester.runpytest("--update-traces").assert_outcomes(passed=2)
    pytester.runpytest().assert_outcomes(passed=2)
