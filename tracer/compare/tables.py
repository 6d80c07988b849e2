"""Traces from anywhere as tables with the contract's keys and types: trace directories (CSV or Parquet), workbooks of
the tool, spec files (run first), Traces, or other code's DataFrames holding a table's key columns (`KEYS`)
and any of its value columns; and two such traces paired for tracer diff by merging on their keys."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.trace import COLUMNS, KEYS, TEXT_COLUMNS, Trace, typed
from ..errors import TracerError
from ..io.resources import find_example
from ..io.tracefiles import read_table, read_trace
from ..io.tracefolder import held_steps, read_manifest, table_files
from ..io.workbooks import read_xlsx
from ..steps import describe_steps
from .judge import Aligned, Paired


# -- inputs ---------------------------------------------------------------------------------------------
def load_trace(source) -> Trace:
    """A Trace from a trace directory, a workbook of the tool, a spec file (or bundled example name), a Trace."""
    if isinstance(source, Trace):
        return source
    path = Path(source)
    if not path.exists() and (bundled := find_example(str(source))) is not None:
        path = bundled
    if path.is_dir():
        return read_trace(path)
    if not path.is_file():
        raise TracerError(str(path), "no such file or directory (expected a trace directory, a workbook, a spec "
                                     "file or the name of a bundled example)")
    if path.suffix.lower() == ".xlsx":
        return read_xlsx(path)
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        from ..engine.train import run
        from ..io.specfile import load_spec

        return run(load_spec(path))
    raise TracerError(str(path), "not a trace: give a trace directory, an .xlsx workbook of the tool or a spec file")


def as_tables(source) -> dict[str, pd.DataFrame]:
    """The tables of a Trace, a dict of DataFrames, a directory of trace CSVs, or anything load_trace accepts.

    A directory may hold only some of the four CSVs, each with a table's keys and some of its values
    (other code's traces); check_tables says what is missing.
    """
    if isinstance(source, dict):
        return source
    if not isinstance(source, Trace) and Path(source).is_dir():
        folder = Path(source)
        present = table_files(folder)
        if not present:
            raise TracerError(str(source), "not a trace directory: it holds none of "
                                           f"{', '.join(f'{n}.csv' for n in COLUMNS)} (or .parquet)")
        return {n: read_table(path, n, strict=False) for n, path in present.items()}
    return load_trace(source).tables


def check_tables(tables: dict, side: str) -> dict[str, pd.DataFrame]:
    """Tables of one side with known names, their key columns, contract dtypes and unique keys."""
    out = {}
    for name, df in tables.items():
        if name not in COLUMNS:
            raise TracerError(side, f"unknown table {name!r}; trace tables are {', '.join(COLUMNS)}")
        if not isinstance(df, pd.DataFrame):
            raise TracerError(f"{side} {name}", f"expected a pandas DataFrame, got {type(df).__name__}")
        missing = [k for k in KEYS[name] if k not in df.columns]
        if missing:
            raise TracerError(f"{side} {name}", f"missing key column(s) {', '.join(missing)}; a {name} table needs "
                                                f"{', '.join(KEYS[name])} and any of "
                                                f"{', '.join(c for c in COLUMNS[name] if c not in KEYS[name])}")
        out[name] = typed(df[[c for c in COLUMNS[name] if c in df.columns]], f"{side} {name}")
    return out


def compared_tables(trace: Trace) -> dict:
    """The four tables of a trace that a diff compares: a conv's or rnn's contributions (delta x input) are left
    out, since their delta and input are compared in the other tables."""
    return {n: df for n, df in trace.tables.items() if n in COLUMNS}


def resolve(source) -> tuple[dict, object, list | None]:
    """The tables of a source, the spec that made them if known (for the plan's dependency order), and the
    steps its tables hold when they hold only some of the run's (recorded with --trace-steps), else None."""
    if isinstance(source, dict):
        return source, None, None
    if not isinstance(source, Trace) and Path(source).is_dir():
        return folder_tables(Path(source))
    trace = load_trace(source).whole("diff")
    return compared_tables(trace), trace.spec, trace.recorded_steps() if trace.partial else None


def folder_tables(folder: Path) -> tuple[dict, None, list | None]:
    """A trace folder's tables, checked so that a diff never says "same" about what it did not compare: a table
    name that is not a regular file is refused (table_files), and a folder tracer wrote (it has trace.json) must
    hold all four tables and exactly the steps its manifest names (tracer.io.tracefolder.held_steps)."""
    tables = as_tables(folder)
    info = read_manifest(folder)
    if not info:
        return tables, None, None  # other code's tables: compared on what they hold (docs/diff.md)
    found = sorted({int(s) for df in tables.values() for s in pd.unique(df["step"])})
    return tables, None, held_steps(folder, info, list(tables), found)


# -- pairing on the keys ------------------------------------------------------------------------------------
def paired_tables(a, b, tables: list[str] | None) -> Aligned:
    """Both traces' tables (any source load_trace accepts, or dicts of DataFrames) checked and aligned by merging
    on their keys: the general way, for traces whose rows need not line up."""
    (ra, spec_a, held_a), (rb, spec_b, held_b) = resolve(a), resolve(b)
    ta, tb = check_tables(ra, "A"), check_tables(rb, "B")
    only_steps = steps_in_both(ta, tb, held_a, held_b)
    if only_steps is not None:
        ta = {n: df[df["step"].isin(only_steps)] for n, df in ta.items()}
        tb = {n: df[df["step"].isin(only_steps)] for n, df in tb.items()}
    names = [n for n in (tables or COLUMNS) if n in ta and n in tb]
    if tables and len(names) < len(tables):
        lacking = [t for t in tables if t not in names]
        raise TracerError("--tables", f"table(s) {', '.join(lacking)} not in both traces")
    if not names:
        raise TracerError("diff", "the traces have no table in common; "
                                  f"give tables named {', '.join(COLUMNS)}")
    codes = _text_codes(ta, tb, names)
    ca = {n: _coded(ta[n], codes) for n in names}
    cb = {n: _coded(tb[n], codes) for n in names}
    _same_network(ca, cb, names, codes)
    return Aligned([_merged(n, ca[n], cb[n], codes) for n in names], codes, spec_a or spec_b,
                   steps_compared=describe_steps(sorted(only_steps)) if only_steps is not None else None,
                   other_data=other_samples(ta, tb))


def other_samples(ta: dict, tb: dict) -> str | None:
    """The first step in which the traces processed other samples, or the same in another order (a shuffled
    data loader does that): then their values cannot agree, whatever the arithmetic. None when they match."""
    if "losses" not in ta or "losses" not in tb:
        return None
    sides = [(t["losses"]["step"].to_numpy(), t["losses"]["sample"].to_numpy()) for t in (ta, tb)]
    step = first_step_of_other_samples(*sides[0], *sides[1])
    if step is None:
        return None
    a, b = (tuple(sample[steps == step].tolist()) for steps, sample in sides)
    show = lambda samples: ", ".join(map(str, samples[:8])) + (" ..." if len(samples) > 8 else "")
    how = "the same samples in another order" if sorted(a) == sorted(b) else "other samples"
    return (f"step {step} processed {how}: sample(s) {show(a)} in A, {show(b)} in B (a shuffled data loader "
            "does this); compare runs over the same data in the same order")


def first_step_of_other_samples(step_a, sample_a, step_b, sample_b) -> int | None:
    """The first step both hold whose samples (in the order the rows give them) differ between A and B."""
    common = np.intersect1d(step_a, step_b)
    seqs = []
    for steps, sample in ((step_a, sample_a), (step_b, sample_b)):
        order = np.argsort(steps, kind="stable")  # by step, each step's rows in their order
        steps, sample = steps[order], sample[order]
        keep = np.isin(steps, common)
        seqs.append((steps[keep], sample[keep]))
    (sa, xa), (sb, xb) = seqs
    counts_a, counts_b = (np.searchsorted(s, common, side="right") - np.searchsorted(s, common) for s in (sa, sb))
    candidates = [common[counts_a != counts_b][:1]]
    equal = np.isin(sa, common[counts_a == counts_b]), np.isin(sb, common[counts_a == counts_b])
    candidates.append(sa[equal[0]][xa[equal[0]] != xb[equal[1]]][:1])  # aligned: same steps, same counts
    found = np.concatenate(candidates)
    return int(found.min()) if len(found) else None


def steps_in_both(ta: dict, tb: dict, held_a, held_b) -> set | None:
    """The steps to compare when a side holds only some of its run's steps (--trace-steps): those both hold."""
    if held_a is None and held_b is None:
        return None
    steps = [set(held) if held is not None else {int(s) for df in t.values() for s in pd.unique(df["step"])}
             for held, t in ((held_a, ta), (held_b, tb))]
    return steps[0] & steps[1]


def _merged(name: str, left: pd.DataFrame, right: pd.DataFrame, codes: dict) -> Paired:
    """One table: A and B merged on the keys; the value columns present in both; the rows in one only."""
    keys = KEYS[name]
    values = [c for c in COLUMNS[name] if c not in keys and c in left and c in right]
    not_compared = [f"{name}.{c}" for c in COLUMNS[name] if c not in keys and (c in left) != (c in right)]
    if len(left) == len(right) and all(np.array_equal(left[k].to_numpy(), right[k].to_numpy()) for k in keys):
        # the same keys row for row, as two runs of one spec give: paired by position (tracer.compare.folders)
        return Paired(name, {k: left[k].to_numpy(np.int64) for k in keys}, {q: left[q].to_numpy(float) for q in values},
                      {q: right[q].to_numpy(float) for q in values}, not_compared=not_compared)
    try:
        merged = left[keys + values].merge(right[keys + values], on=keys, how="outer", suffixes=("_a", "_b"),
                                           indicator=True, sort=False, validate="one_to_one")
    except pd.errors.MergeError:
        _unique_keys(left, keys, "A", name, codes)
        _unique_keys(right, keys, "B", name, codes)
        raise
    side = merged["_merge"].to_numpy()
    both = merged[side == "both"]
    only = {label: {k: merged.loc[side == kind, k].to_numpy(np.int64) for k in keys}
            for label, kind in (("A", "left_only"), ("B", "right_only")) if (side == kind).any()}
    return Paired(name, {k: both[k].to_numpy(np.int64) for k in keys},
                  {q: both[f"{q}_a"].to_numpy(float) for q in values},
                  {q: both[f"{q}_b"].to_numpy(float) for q in values}, only, not_compared)


def _text_codes(ta: dict, tb: dict, names: list[str]) -> dict[str, list[str]]:
    """For layer, unit and source: every name in network order (first appearance in A, then B's new ones)."""
    codes = {}
    for col in TEXT_COLUMNS:
        seen = {}
        for tables in (ta, tb):
            for name in names:
                if col in tables[name]:
                    s = tables[name][col]
                    values = s.cat.categories[pd.unique(s.cat.codes)] if isinstance(s.dtype, pd.CategoricalDtype) \
                        else pd.unique(s)
                    seen.update(dict.fromkeys(map(str, values)))
        codes[col] = list(seen)
    return codes


def _coded(df: pd.DataFrame, codes: dict) -> pd.DataFrame:
    """The table with text keys replaced by their position in network order (fast to merge and sort)."""
    out = df.copy(deep=False)
    for k in TEXT_COLUMNS:
        if k in df:
            out[k] = pd.Categorical(df[k], categories=codes[k]).codes.astype(np.int32)
    return out


def _unique_keys(df: pd.DataFrame, keys: list[str], side: str, name: str, codes: dict) -> None:
    """Each key may occur once per table, or alignment is ambiguous."""
    dup = df.duplicated(keys)
    if dup.any():
        row = df.loc[dup, keys].iloc[0]  # text keys are codes here: named back
        named = {k: codes[k][int(v)] if k in TEXT_COLUMNS else int(v) for k, v in row.items()}
        raise TracerError(f"{side} {name}", "the key " + ", ".join(f"{k} {named[k]}" for k in keys) +
                          " occurs more than once; each row needs its own key")


def _same_network(ta: dict, tb: dict, names: list[str], codes: dict) -> None:
    """Different layers, units or sources cannot be compared: say so in one line (exit 2)."""
    for name in names:
        cols = [c for c in KEYS[name] if c in TEXT_COLUMNS]
        if not cols:
            continue
        sa, sb = (_distinct(t[name], cols, codes) for t in (ta, tb))
        if sa and sb and sa != sb:
            def text(keys):
                return ".".join(codes[c][k] for c, k in zip(cols, keys)) if keys else "nothing"
            extra_a, extra_b = sorted(sa - sb)[:1], sorted(sb - sa)[:1]
            raise TracerError("diff", f"different networks: A has {text(extra_a[0] if extra_a else None)} that "
                                      f"B lacks, B has {text(extra_b[0] if extra_b else None)} that A lacks "
                                      f"({name}); compare traces of the same network")


def _distinct(df: pd.DataFrame, cols: list[str], codes: dict) -> set[tuple]:
    """The distinct combinations of coded text keys in a table (e.g. every (layer, unit, source))."""
    combined = np.zeros(len(df), np.int64)
    for c in cols:
        combined = combined * (len(codes[c]) + 1) + df[c].to_numpy(np.int64)
    out = set()
    for v in pd.unique(combined).tolist():
        key = []
        for c in reversed(cols):
            v, k = divmod(v, len(codes[c]) + 1)
            key.append(k)
        out.add(tuple(reversed(key)))
    return out
