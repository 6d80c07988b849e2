"""tracer diff of two Parquet folders tracer wrote, paired straight from their columns (tracer.compare.folders).

The specification: whatever the two folders hold, the verdict is the one the general path gives (merging the
same tables as DataFrames on their keys, or pairing them by position when their keys line up): the first
divergence, the summary, every difference in training order, the one-sided rows and the hints. That it loads
no pandas: tests/test_imports.py.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import tracer
from tracer.compare import diff_traces, format_result, load_trace
from tracer.compare.folders import aligned_folders
from tracer.io.tracewriter import write_trace
from traces import example_trace

ALL = ["nodes", "weights", "updates", "losses"]


def folders(tmp_path, name, change=lambda tables: None, change_a=lambda tables: None):
    """Folders a and b of the example's Parquet trace, b's tables (then a's) changed in place first."""
    out = []
    for side, edit in (("a", change_a), ("b", change)):
        trace = example_trace(name)
        tables = trace.tables
        edit(tables)
        trace = dataclasses.replace(trace, **tables)
        write_trace(trace, tmp_path / side, "parquet")
        out.append(tmp_path / side)
    return out


def assert_same_verdict(a, b, **kw):
    """The folders' verdict equals the one of the same tables read as DataFrames, both paired by position (their
    keys line up) and merged on their keys (B's rows reversed first; not its losses', whose order within a step
    is the order its samples were processed in)."""
    fast = diff_traces(a, b, **kw)
    ta, tb = load_trace(a).tables, load_trace(b).tables
    reversed_b = {n: df if n == "losses" else df.iloc[::-1] for n, df in tb.items()}
    for general in (diff_traces(ta, tb, **kw), diff_traces(ta, reversed_b, **kw)):
        assert repr(fast.first) == repr(general.first)  # NaN == NaN in repr
        assert fast.summary_rows == general.summary_rows
        pd.testing.assert_frame_equal(fast.differences, general.differences)
        pd.testing.assert_frame_equal(fast.one_sided, general.one_sided)
        assert (fast.only_a, fast.only_b, fast.not_compared, fast.precision, fast.other_data) == \
            (general.only_a, general.only_b, general.not_compared, general.precision, general.other_data)
        assert format_result(fast) == format_result(general)
    return fast


def perturbed(tables):
    tables["nodes"].loc[len(tables["nodes"]) // 2, "delta"] += 1e-6
    tables["updates"]["w_new"] *= 1 + 1e-6  # every update differs: the order of many differences matters


def nonfinite(tables):
    z = tables["nodes"]["z"].to_numpy().copy()
    z[[1, 5, 9]] = [np.nan, np.inf, -np.inf]
    tables["nodes"]["z"] = z
    tables["updates"].loc[2, "w_new"] = np.nan


def float32(tables):
    for name in ("nodes", "weights", "updates"):
        df = tables[name]
        for c in df.columns[df.dtypes == np.float64]:
            df[c] = df[c].astype(np.float32).astype(np.float64)


@pytest.mark.parametrize("name, change, change_a", [
    ("maren", lambda t: None, lambda t: None),
    ("cs510", perturbed, lambda t: None),
    ("frey-minibatch", perturbed, lambda t: None),  # updates have no sample; a step holds several samples
    ("mazur-sequential", perturbed, lambda t: None),  # layers updated one at a time: stages order the step
    ("ekman", perturbed, lambda t: None),  # NaN targets on hidden units
    ("frey-online", nonfinite, lambda t: None),  # NaN and inf on one side only
    ("frey-online", nonfinite, nonfinite),  # the same NaN and inf on both sides agree
    ("frey-online", float32, lambda t: None),  # the float32 hint
    ("frey-online", lambda t: t.update(losses=t["losses"].drop(columns="loss_after_epoch")), lambda t: None),
])
def test_paired_folders_give_the_general_verdict(tmp_path, name, change, change_a):
    a, b = folders(tmp_path, name, change, change_a)
    assert aligned_folders(a, b, ALL) is not None  # compared straight from the columns
    assert_same_verdict(a, b)


def test_tables_and_tolerances_are_applied_as_on_the_general_path(tmp_path):
    a, b = folders(tmp_path, "frey-online", perturbed)
    assert assert_same_verdict(a, b, tables=["nodes", "losses"]).summary_rows[0]["table"] == "nodes"
    assert assert_same_verdict(a, b, rtol=1e-5, atol=1e-5).same
    assert not assert_same_verdict(a, b, tolerances={"delta": (0, 0)}).same


@pytest.mark.parametrize("damage", ["rows in another order", "a row missing"])
def test_folders_whose_rows_do_not_line_up_are_merged_on_their_keys(tmp_path, damage):
    def change(tables):
        if damage == "rows in another order":
            tables["nodes"] = tables["nodes"].iloc[::-1]
        else:
            tables["weights"] = tables["weights"].drop(index=3)
    a, b = folders(tmp_path, "frey-online", change)
    assert aligned_folders(a, b, ALL) is None
    assert assert_same_verdict(a, b).same == (damage == "rows in another order")


def test_a_partial_recording_is_compared_on_the_steps_both_hold(tmp_path):
    a, _ = folders(tmp_path, "frey-online")
    trace = example_trace("frey-online")
    write_trace(tracer.run(trace.spec, record=tracer.Recording("1-3")), tmp_path / "b", "parquet")
    assert aligned_folders(a, tmp_path / "b", ALL) is None
    result = diff_traces(a, tmp_path / "b")
    assert result.same and result.steps_compared == "1-3"


def test_files_of_many_row_groups_are_paired_too(tmp_path, monkeypatch):
    """A big trace is written a chunk of rows at a time: each row group has its own dictionary of names."""
    import pyarrow.parquet as pq
    from tracer.io import tracewriter

    monkeypatch.setattr(tracewriter, "CHUNK", 7)
    a, b = folders(tmp_path, "frey-online", perturbed)
    assert pq.ParquetFile(a / "weights.parquet").metadata.num_row_groups > 10
    assert aligned_folders(a, b, ALL) is not None
    assert assert_same_verdict(a, b).first["quantity"] == "w_new"


def test_dictionaries_in_another_order_or_with_unused_names_still_pair(tmp_path):
    """Other code may write the text keys' dictionaries in another order, or with names no row uses."""
    def recategorised(tables, reverse=True):
        for df in tables.values():
            for c in ("layer", "unit", "source"):
                if c in df:
                    names = list(df[c].cat.categories)
                    df[c] = df[c].cat.set_categories(["unused"] + (names[::-1] if reverse else names))
    a, b = folders(tmp_path, "frey-minibatch", lambda t: (perturbed(t), recategorised(t)),
                   lambda t: recategorised(t, reverse=False))
    assert aligned_folders(a, b, ALL) is not None
    assert assert_same_verdict(a, b).first["quantity"] == "w_new"
