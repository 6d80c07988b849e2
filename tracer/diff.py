"""Compare two traces: aligned on their keys, vectorised, reporting the first divergence in training order.

A trace can be a trace directory (CSVs of `tracer run --trace`), a workbook written by `tracer run --xlsx`,
a spec file (run first), a Trace, or DataFrames from other code with the contract's key columns. The first
divergence is the earliest in training order (epoch, step, sample) and, within a sample, in dependency
order: the weights used, then z and a layer by layer forward, the loss, then dE/da, da/dz and delta from
the output layer back, then the per-sample gradient; a step's update (grad, delta_w, w_new) comes after
all its samples. So the root cause is named rather than everything downstream of it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import TracerError
from .trace import COLUMNS, KEYS, Trace

DEFAULT_RTOL = 1e-9
DEFAULT_ATOL = 1e-12
MAX_WORKBOOK_BYTES = 200 * 2**20  # workbooks can come from anywhere: refuse bigger ones
MAX_WORKBOOK_ROWS = 2_000_000
SAMPLE_LAST = 10**9  # the rank of "after every sample of the step" (updates rows have no sample)


@dataclass
class DiffResult:
    """What differs: the first divergence, a summary per table and quantity, rows present on one side only."""

    first: dict | None
    summary: pd.DataFrame  # table, quantity, compared, differing, max_abs_diff
    only_a: dict  # table -> number of rows only in A
    only_b: dict
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)  # every differing value, in training order

    @property
    def same(self) -> bool:
        return self.first is None and not any(self.only_a.values()) and not any(self.only_b.values())


def load_trace(source) -> Trace:
    """A Trace from a trace directory, a workbook of the tool, a spec file, or a Trace."""
    if isinstance(source, Trace):
        return source
    path = Path(source)
    if path.is_dir():
        from .csvio import read_trace_csv

        return read_trace_csv(path)
    if not path.is_file():
        raise TracerError(str(path), "no such file or directory (expected a trace directory, a workbook or a spec)")
    if path.suffix.lower() == ".xlsx":
        return read_workbook_trace(path)
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        from .engine import run
        from .spec import load_spec

        return run(load_spec(path))
    raise TracerError(str(path), "not a trace: give a trace directory, an .xlsx workbook of the tool or a spec file")


def read_workbook_trace(path: Path) -> Trace:
    """The four trace-table sheets of a workbook written by the tool (read-only, values, size-limited)."""
    import openpyxl

    if path.stat().st_size > MAX_WORKBOOK_BYTES:
        raise TracerError(str(path), f"workbook larger than {MAX_WORKBOOK_BYTES // 2**20} MB; compare the CSV traces")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # a corrupt or foreign file: openpyxl raises many kinds
        raise TracerError(str(path), f"cannot read the workbook ({type(e).__name__})") from None
    try:
        tables = {}
        for name, cols in COLUMNS.items():
            if name not in wb.sheetnames:
                raise TracerError(str(path), f"no sheet {name!r}: not a workbook written by `tracer run --xlsx`")
            rows = wb[name].iter_rows(values_only=True)
            head = next(rows, ())
            if list(head[:len(cols)]) != cols:
                raise TracerError(str(path), f"sheet {name!r} does not start with the columns {', '.join(cols)}")
            data = []
            for row in rows:
                if row[0] is None or isinstance(row[0], str):  # the end of the table (or its truncation note)
                    break
                data.append(row[:len(cols)])
                if len(data) > MAX_WORKBOOK_ROWS:
                    raise TracerError(str(path), f"sheet {name!r} has more than {MAX_WORKBOOK_ROWS} rows")
            tables[name] = _typed(pd.DataFrame(data, columns=cols), name)
    finally:
        wb.close()
    return Trace(**tables)


def _typed(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Contract dtypes for a table read from elsewhere: int keys, text keys, float values (NaN for empty)."""
    for c in df.columns:
        if c in ("epoch", "step", "sample"):
            df[c] = df[c].astype("int64")
        elif c in ("layer", "unit", "source"):
            df[c] = df[c].astype(str)
        else:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    return df


def as_tables(source) -> dict[str, pd.DataFrame]:
    """The tables of a Trace, a dict of DataFrames, or anything load_trace accepts."""
    if isinstance(source, dict):
        return source
    return load_trace(source).tables


def diff_traces(a, b, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL, tolerances: dict | None = None,
                tables: list[str] | None = None) -> DiffResult:
    """Compare traces A and B (paths, Traces or dicts of DataFrames) value by value on aligned keys.

    A value is the same when |a - b| <= atol + rtol * max(|a|, |b|), with per-quantity (rtol, atol) in
    `tolerances`; NaN equals NaN only at the same place; keys compare exactly.
    """
    ta, tb = as_tables(a), as_tables(b)
    names = [n for n in (tables or COLUMNS) if n in ta and n in tb]
    if tables:
        unknown = [t for t in tables if t not in COLUMNS]
        if unknown:
            raise TracerError("--tables", f"unknown table(s) {', '.join(unknown)}; use {', '.join(COLUMNS)}")
    _same_network(ta, tb)
    order = _network_order(ta, tb)
    diffs, summary, only_a, only_b = [], [], {}, {}
    for name in names:
        keys = [k for k in KEYS[name] if k in ta[name].columns and k in tb[name].columns]
        values = [c for c in COLUMNS[name] if c not in KEYS[name] and c in ta[name].columns and c in tb[name].columns]
        left, right = _keyed(ta[name], keys), _keyed(tb[name], keys)
        merged = left.merge(right, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True, sort=False)
        only_a[name] = int((merged["_merge"] == "left_only").sum())
        only_b[name] = int((merged["_merge"] == "right_only").sum())
        both = merged[merged["_merge"] == "both"]
        for q in values:
            va, vb = both[f"{q}_a"].to_numpy(float), both[f"{q}_b"].to_numpy(float)
            r, t = (tolerances or {}).get(q, (rtol, atol))
            bad = _differs(va, vb, r, t)
            absdiff = np.abs(va - vb)
            summary.append({"table": name, "quantity": q, "compared": len(va), "differing": int(bad.sum()),
                            "max_abs_diff": float(np.nanmax(absdiff)) if len(va) and np.isfinite(absdiff).any()
                            else 0.0})
            if bad.any():
                d = both.loc[bad, keys].copy()
                d["table"], d["quantity"] = name, q
                d["a"], d["b"] = va[bad], vb[bad]
                diffs.append(d)
    differences = _in_training_order(pd.concat(diffs, ignore_index=True), order) if diffs else pd.DataFrame()
    first = None
    if len(differences):
        row = differences.iloc[0].to_dict()
        a_, b_ = row["a"], row["b"]
        row["abs_diff"] = abs(a_ - b_) if np.isfinite([a_, b_]).all() else math.nan
        row["rel_diff"] = row["abs_diff"] / max(abs(a_), abs(b_)) if row["abs_diff"] == row["abs_diff"] and \
            max(abs(a_), abs(b_)) > 0 else math.nan
        first = {k: v for k, v in row.items() if not k.startswith("_")}
    return DiffResult(first, pd.DataFrame(summary), only_a, only_b, differences)


def _keyed(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Text keys as plain strings, so categoricals from different sources merge."""
    out = df.copy()
    for k in keys:
        if k in ("layer", "unit", "source"):
            out[k] = out[k].astype(str)
    return out


def _differs(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Elementwise: outside tolerance, or NaN on one side only (inf equals inf of the same sign)."""
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    with np.errstate(invalid="ignore"):
        close = np.abs(a - b) <= atol + rtol * np.maximum(np.abs(a), np.abs(b))
    close |= (a == b)
    return ~((nan_a & nan_b) | (~nan_a & ~nan_b & close))


def _same_network(ta: dict, tb: dict) -> None:
    """Different layers, units or sources cannot be compared: say so in one line (exit 2)."""
    for name, cols in (("weights", ["layer", "unit", "source"]), ("updates", ["layer", "unit", "source"]),
                       ("nodes", ["layer", "unit"])):
        if name in ta and name in tb and all(c in ta[name] and c in tb[name] for c in cols):
            sa = set(map(tuple, ta[name][cols].astype(str).drop_duplicates().to_numpy().tolist()))
            sb = set(map(tuple, tb[name][cols].astype(str).drop_duplicates().to_numpy().tolist()))
            if sa and sb and sa != sb:
                extra_a, extra_b = sorted(sa - sb)[:3], sorted(sb - sa)[:3]
                raise TracerError("diff", f"different networks: A has {'.'.join(extra_a[0]) if extra_a else 'nothing'} "
                                          f"that B lacks, B has {'.'.join(extra_b[0]) if extra_b else 'nothing'} that "
                                          f"A lacks ({name}); compare traces of the same network")


def _network_order(ta: dict, tb: dict) -> dict:
    """Position of each layer, unit and source in network order (first appearance in A's tables)."""
    order = {"layer": {}, "unit": {}, "source": {"bias": -1}}
    for tables in (ta, tb):
        for name in ("nodes", "weights", "updates"):
            if name not in tables:
                continue
            for col in ("layer", "unit", "source"):
                if col in tables[name]:
                    for v in pd.unique(tables[name][col].astype(str)):
                        order[col].setdefault(v, len(order[col]))
    return order


def _in_training_order(d: pd.DataFrame, order: dict) -> pd.DataFrame:
    """Sort differing values by epoch, step, sample, then dependency order within the sample."""
    n_layers = max(len(order["layer"]), 1)
    layer = d["layer"].astype(str).map(order["layer"]).fillna(0).to_numpy(float) if "layer" in d else np.zeros(len(d))
    q = d["quantity"].to_numpy()
    forward = {"w": -1.0, "input": -0.5, "z": 0.0, "a": 0.5}
    backward = {"dE_da": 0.0, "da_dz": 0.3, "delta": 0.6}
    rank = np.full(len(d), 0.0)
    for name, offset in forward.items():
        rank = np.where(q == name, 2 * layer + offset, rank)
    rank = np.where(q == "loss", 2 * n_layers, rank)
    for name, offset in backward.items():
        rank = np.where(q == name, 2 * n_layers + 1 + (n_layers - 1 - layer) + offset, rank)
    is_update = d["table"].to_numpy() == "updates"
    rank = np.where((q == "grad") & ~is_update, 3 * n_layers + 2 + layer * 0.01, rank)
    upd = {"w_old": 0.0, "grad": 1.0, "delta_w": 2.0, "w_new": 3.0}
    for name, offset in upd.items():
        rank = np.where(is_update & (q == name), 4 * n_layers + offset, rank)
    sample = d["sample"].fillna(SAMPLE_LAST).to_numpy(float) if "sample" in d else np.full(len(d), SAMPLE_LAST)
    sample = np.where(is_update, SAMPLE_LAST, sample)
    unit = d["unit"].astype(str).map(order["unit"]).fillna(0).to_numpy(float) if "unit" in d else np.zeros(len(d))
    source = d["source"].astype(str).map(order["source"]).fillna(0).to_numpy(float) if "source" in d else np.zeros(len(d))
    d = d.assign(_epoch=d["epoch"].to_numpy(float), _step=d["step"].to_numpy(float), _sample=sample, _rank=rank,
                 _unit=unit, _source=source)
    d = d.sort_values(["_epoch", "_step", "_sample", "_rank", "_unit", "_source"], kind="stable")
    return d.drop(columns=["_epoch", "_step", "_sample", "_rank", "_unit", "_source"]).reset_index(drop=True)


def format_result(result: DiffResult) -> str:
    """Human-readable lines: same, or the first divergence, then the summary and one-sided rows."""
    if result.same:
        compared = int(result.summary["compared"].sum()) if len(result.summary) else 0
        return f"same: {compared} values agree within tolerance"
    lines = []
    f = result.first
    if f:
        where = ", ".join(f"{k} {_text(f[k])}" for k in ("epoch", "step", "sample", "layer", "unit", "source")
                          if k in f and f[k] == f[k] and f[k] is not None)
        lines.append(f"different: first divergence at {where}: {f['table']}.{f['quantity']}")
        lines.append(f"  A = {f['a']!r}  B = {f['b']!r}  abs diff = {f['abs_diff']:.3g}  rel diff = {f['rel_diff']:.3g}")
    else:
        lines.append("different: the values agree, but some rows are present in one trace only")
    differing = result.summary[result.summary["differing"] > 0]
    if len(differing):
        lines.append("differing values per table and quantity:")
        for r in differing.itertuples(index=False):
            lines.append(f"  {r.table}.{r.quantity}: {r.differing} of {r.compared}, max abs diff {r.max_abs_diff:.3g}")
    for side, counts in (("A", result.only_a), ("B", result.only_b)):
        for table, n in counts.items():
            if n:
                lines.append(f"rows only in {side}: {table}: {n}")
    return "\n".join(lines)


def _text(v) -> str:
    return str(int(v)) if isinstance(v, (float, np.floating)) and float(v).is_integer() else str(v)


def write_diff_report(result: DiffResult, path, a_name: str, b_name: str) -> None:
    """All differences as an HTML page (Jinja2, autoescaped) or an xlsx workbook, written atomically."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        from .atomic import atomic_path

        with atomic_path(path) as tmp:
            with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
                result.summary.to_excel(writer, sheet_name="summary", index=False)
                result.differences.to_excel(writer, sheet_name="differences", index=False)
        return
    from .atomic import write_text
    from .html import _env

    diffs = result.differences.head(20_000)
    html = _env().get_template("diff.html.j2").render(
        a=a_name, b=b_name, verdict=format_result(result), summary=result.summary.to_dict("records"),
        columns=list(diffs.columns), rows=diffs.astype(object).where(diffs.notna(), "").values.tolist(),
        truncated=len(result.differences) - len(diffs))
    write_text(path, html)
