"""Compare two traces: aligned on their keys, vectorised, reporting the first divergence in training order.

A trace can be a trace directory (CSVs of `tracer run --trace`), a workbook written by `tracer run --xlsx`,
a spec file (run first), a Trace, or a dict of DataFrames from other code holding a table's key columns
(`KEYS`) and any of its value columns. The first divergence is the earliest in training order (epoch,
step, sample) and, within a sample, in dependency order: the target, then for each layer forward the
weights used, the inputs, z and a; the loss; then dE/da, da/dz and delta from the output layer back; then
the per-sample gradients. A step's update (w_old, grad, delta_w, w_new) comes after all its samples. So the
root cause is named rather than everything downstream of it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import TracerError
from ..io.resources import find_example, render_template
from ..engine.trace import COLUMNS, INT_COLUMNS, KEYS, TEXT_COLUMNS, Trace, typed
from ..io.workbooks import new_workbook, read_xlsx

DEFAULT_RTOL = 1e-9
DEFAULT_ATOL = 1e-12
QUANTITIES = tuple(dict.fromkeys(c for name, cols in COLUMNS.items() for c in cols if c not in KEYS[name]))
MAX_HTML_ROWS = 20_000  # a browser page stays usable; the xlsx report holds every difference
EXCEL_ROWS = 1_048_575  # data rows per report sheet below the header
XLSX_CHUNK = 50_000  # rows converted to Python values at a time when writing the xlsx report
SAMPLE_LAST = np.iinfo(np.int64).max  # the sample rank of a step's update: after every sample of the step


@dataclass
class DiffResult:
    """What differs: the first divergence, a summary per table and quantity, rows present on one side only."""

    first: dict | None  # keys, table, quantity, a, b, abs_diff, rel_diff of the first divergence
    summary: pd.DataFrame  # table, quantity, compared, differing, max_abs_diff
    only_a: dict  # table -> number of rows only in A
    only_b: dict
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)  # every differing value, in training order
    one_sided: pd.DataFrame = field(default_factory=pd.DataFrame)  # side, table and keys of one-sided rows
    not_compared: list = field(default_factory=list)  # 'table.column' present in one trace only

    @property
    def same(self) -> bool:
        """True when every value agrees within tolerance and both traces have the same rows."""
        return self.first is None and not any(self.only_a.values()) and not any(self.only_b.values())


# -- inputs ---------------------------------------------------------------------------------------------
def load_trace(source) -> Trace:
    """A Trace from a trace directory, a workbook of the tool, a spec file (or bundled example name), a Trace."""
    if isinstance(source, Trace):
        return source
    path = Path(source)
    if not path.exists() and (bundled := find_example(str(source))) is not None:
        path = bundled
    if path.is_dir():
        from ..io.csvio import read_trace_csv

        return read_trace_csv(path)
    if not path.is_file():
        raise TracerError(str(path), "no such file or directory (expected a trace directory, a workbook, a spec "
                                     "file or the name of a bundled example)")
    if path.suffix.lower() == ".xlsx":
        return read_xlsx(path)
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        from ..engine.train import run
        from ..model.spec import load_spec

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
        from ..io.csvio import read_table_csv

        present = [n for n in COLUMNS if (Path(source) / f"{n}.csv").is_file()]
        if not present:
            raise TracerError(str(source), "not a trace directory: it holds none of "
                                           f"{', '.join(f'{n}.csv' for n in COLUMNS)}")
        return {n: read_table_csv(Path(source) / f"{n}.csv", n, strict=False) for n in present}
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


# -- comparison -----------------------------------------------------------------------------------------
def diff_traces(a, b, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL, tolerances: dict | None = None,
                tables: list[str] | None = None) -> DiffResult:
    """Compare traces A and B (paths, Traces or dicts of DataFrames) value by value on aligned keys.

    A value is the same when |a - b| <= atol + rtol * max(|a|, |b|); `tolerances` maps a quantity to its
    own (rtol, atol). NaN equals NaN only at the same place; inf equals inf of the same sign; keys compare
    exactly. Raises TracerError for bad input and for traces of different networks.
    """
    tolerances = _check_tolerances(rtol, atol, tolerances or {})
    if tables:
        unknown = [t for t in tables if t not in COLUMNS]
        if unknown:
            raise TracerError("--tables", f"unknown table(s) {', '.join(unknown)}; use {', '.join(COLUMNS)}")
    ta, tb = check_tables(as_tables(a), "A"), check_tables(as_tables(b), "B")
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
    parts = [_compare_table(n, ca[n], cb[n], codes, rtol, atol, tolerances) for n in names]
    diffs = [d for p in parts for d in p["diffs"]]
    differences = _with_differences(_named(_in_training_order(pd.concat(diffs, ignore_index=True), codes), codes)) \
        if diffs else pd.DataFrame(columns=[*KEYS["weights"], "table", "quantity", "a", "b", "abs_diff", "rel_diff"])
    differences = differences[[c for c in KEYS["weights"] if c in differences] +
                              ["table", "quantity", "a", "b", "abs_diff", "rel_diff"]]
    sided = [d for p in parts for d in p["one_sided"]]
    one_sided = _named(_in_training_order(pd.concat(sided, ignore_index=True).assign(quantity=""), codes), codes) \
        if sided else pd.DataFrame(columns=["side", "table", *KEYS["weights"]])
    one_sided = one_sided[["side", "table"] + [c for c in KEYS["weights"] if c in one_sided]]
    return DiffResult(first=_first(differences) if len(differences) else None,
                      summary=pd.DataFrame([r for p in parts for r in p["summary"]],
                                           columns=["table", "quantity", "compared", "differing", "max_abs_diff"]),
                      only_a={n: p["only_a"] for n, p in zip(names, parts)},
                      only_b={n: p["only_b"] for n, p in zip(names, parts)},
                      differences=differences, one_sided=one_sided,
                      not_compared=[c for p in parts for c in p["not_compared"]])


def _compare_table(name: str, left: pd.DataFrame, right: pd.DataFrame, codes: dict, rtol: float, atol: float,
                   tolerances: dict) -> dict:
    """One table: merge A and B on the keys, compare each value column present in both, note one-sided rows."""
    keys = KEYS[name]
    values = [c for c in COLUMNS[name] if c not in keys and c in left and c in right]
    try:
        merged = left[keys + values].merge(right[keys + values], on=keys, how="outer", suffixes=("_a", "_b"),
                                           indicator=True, sort=False, validate="one_to_one")
    except pd.errors.MergeError:
        _unique_keys(left, keys, "A", name, codes)
        _unique_keys(right, keys, "B", name, codes)
        raise
    side = merged["_merge"].to_numpy()
    out = {"only_a": int((side == "left_only").sum()), "only_b": int((side == "right_only").sum()),
           "one_sided": [merged.loc[side == kind, keys].assign(table=name, side=label)
                         for label, kind in (("A", "left_only"), ("B", "right_only")) if (side == kind).any()],
           "not_compared": [f"{name}.{c}" for c in COLUMNS[name] if c not in keys and (c in left) != (c in right)],
           "summary": [], "diffs": []}
    both = merged[side == "both"]
    for q in values:
        va, vb = both[f"{q}_a"].to_numpy(float), both[f"{q}_b"].to_numpy(float)
        bad = _differs(va, vb, *tolerances.get(q, (rtol, atol)))
        with np.errstate(invalid="ignore"):
            absdiff = np.abs(va - vb)
        finite = absdiff[np.isfinite(absdiff)]
        out["summary"].append({"table": name, "quantity": q, "compared": len(va), "differing": int(bad.sum()),
                               "max_abs_diff": float(finite.max()) if len(finite) else 0.0})
        if bad.any():
            out["diffs"].append(both.loc[bad, keys].assign(table=name, quantity=q, a=va[bad], b=vb[bad]))
    return out


def _check_tolerances(rtol: float, atol: float, tolerances: dict) -> dict:
    """Tolerances are numbers >= 0, per quantity only for quantities a trace has (catches typos)."""
    for q, pair in [("", (rtol, atol)), *tolerances.items()]:
        if q and q not in QUANTITIES:
            raise TracerError("tolerance", f"unknown quantity {q!r}; quantities are {', '.join(QUANTITIES)}")
        if len(pair) != 2 or any(not isinstance(v, (int, float)) or not v >= 0 for v in pair):
            raise TracerError("tolerance", f"{q or 'rtol/atol'}: tolerances must be numbers >= 0, got {pair!r}")
    return tolerances


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
        row = _named(df.loc[dup, keys].head(1), codes).iloc[0]
        raise TracerError(f"{side} {name}", "the key " + ", ".join(f"{k} {row[k]}" for k in keys) +
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


def _differs(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Elementwise: outside tolerance, or NaN on one side only (inf equals inf of the same sign)."""
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(a - b) <= atol + rtol * np.maximum(np.abs(a), np.abs(b))
    close &= np.isfinite(a) & np.isfinite(b)  # else inf would be within rtol * inf of anything
    return ~(close | (a == b) | (np.isnan(a) & np.isnan(b)))


def _in_training_order(d: pd.DataFrame, codes: dict) -> pd.DataFrame:
    """Sort rows (text keys as codes) by epoch, step, sample, then dependency order within the sample."""
    n = max(len(codes["layer"]), 1)
    layer = d["layer"].fillna(0).to_numpy(float) if "layer" in d else np.zeros(len(d))
    back = n - 1 - layer  # backward pass: the output layer first
    q, table = d["quantity"].to_numpy(), d["table"].to_numpy()
    per_sample = {  # quantity -> rank within a sample
        "target": np.full(len(d), -1.0),
        "w": 3 * layer, "input": 3 * layer + 1, "z": 3 * layer + 1.5, "a": 3 * layer + 2,  # forward, layer by layer
        "loss": np.full(len(d), 3.0 * n),
        "dE_da": 3 * n + 1 + 3 * back, "da_dz": 3 * n + 2 + 3 * back, "delta": 3 * n + 3 + 3 * back,  # backward
        "grad": 6 * n + 1 + back,
    }
    update = {"w_old": 0.0, "grad": 1.0, "delta_w": 2.0, "w_new": 3.0}
    rank = np.zeros(len(d))
    for name, r in per_sample.items():
        rank = np.where(q == name, r, rank)
    is_update = table == "updates"
    for name, r in update.items():
        rank = np.where(is_update & (q == name), r, rank)
    sample = d["sample"].fillna(-1).to_numpy(np.int64) if "sample" in d else np.zeros(len(d), np.int64)
    d = d.assign(_sample=np.where(is_update, SAMPLE_LAST, sample), _rank=rank)
    order = ["epoch", "step", "_sample", "_rank"] + [c for c in ("layer", "unit", "source") if c in d]
    return d.sort_values(order, kind="stable", na_position="first").drop(columns=["_sample", "_rank"])


def _named(d: pd.DataFrame, codes: dict) -> pd.DataFrame:
    """Text keys back from codes to names; keys a table lacks (updates' sample) stay empty."""
    out = d.reset_index(drop=True)
    for col in TEXT_COLUMNS:
        if col in out:
            c = out[col].to_numpy()
            names = np.array(codes[col] + [""], dtype=object)
            out[col] = names[np.where(pd.isna(c), -1, c).astype(np.int64)]
    for col in INT_COLUMNS:
        if col in out:
            out[col] = out[col].astype("Int64")
    return out


def _with_differences(d: pd.DataFrame) -> pd.DataFrame:
    """Add abs_diff and rel_diff (relative to the larger magnitude; NaN where a side is not finite)."""
    a, b = d["a"].to_numpy(float), d["b"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        absdiff = np.where(np.isfinite(a) & np.isfinite(b), np.abs(a - b), np.nan)
        scale = np.maximum(np.abs(a), np.abs(b))
        rel = np.where(scale > 0, absdiff / scale, np.nan)
    return d.assign(abs_diff=absdiff, rel_diff=rel)


def _first(d: pd.DataFrame) -> dict:
    """The first row of the differences as plain Python values (keys a table lacks are left out)."""
    row = d.iloc[0]
    first = {}
    for k, v in row.items():
        if k in INT_COLUMNS or k in TEXT_COLUMNS:
            if pd.isna(v) or v == "":
                continue
            v = int(v) if k in INT_COLUMNS else str(v)
        elif k in ("a", "b", "abs_diff", "rel_diff"):
            v = float(v)
        first[k] = v
    return first


# -- output ---------------------------------------------------------------------------------------------
def _where_text(row) -> str:
    """'epoch 1, step 3, sample 2, layer H, unit h1' for the keys a row has."""
    parts = []
    for k in ("epoch", "step", "sample", "layer", "unit", "source"):
        v = row.get(k)
        if v is not None and not (isinstance(v, float) and math.isnan(v)) and v is not pd.NA and v != "":
            parts.append(f"{k} {v}")
    return ", ".join(parts)


def format_result(result: DiffResult, max_rows: int = 1) -> str:
    """Human-readable lines: same, or the first divergence, then the summary and one-sided rows (max_rows each)."""
    compared = int(result.summary["compared"].sum()) if len(result.summary) else 0
    lines = []
    if result.same:
        lines.append(f"same: {compared} values agree within tolerance")
    elif result.first:
        f = result.first
        lines.append(f"different: first divergence at {_where_text(f)}: {f['table']}.{f['quantity']}")
        gap = (f"abs diff = {f['abs_diff']:.3g}  rel diff = {f['rel_diff']:.3g}" if math.isfinite(f["abs_diff"])
               else "not finite on one side")
        lines.append(f"  A = {f['a']!r}  B = {f['b']!r}  {gap}")
    elif compared:
        lines.append(f"different: the {compared} values in both agree, but some rows are in one trace only")
    else:
        lines.append("different: no row is in both traces; their epochs, steps and samples do not line up "
                     "(another batch size, shuffle or data set?)")
    differing = result.summary[result.summary["differing"] > 0]
    if len(differing):
        lines.append("differing values per table and quantity:")
        for r in differing.itertuples(index=False):
            lines.append(f"  {r.table}.{r.quantity}: {r.differing} of {r.compared}, max abs diff {r.max_abs_diff:.3g}")
    for side, counts in (("A", result.only_a), ("B", result.only_b)):
        for table, n in counts.items():
            if n:
                rows = result.one_sided[(result.one_sided["side"] == side) & (result.one_sided["table"] == table)]
                shown = "; ".join(_where_text(r) for r in rows.head(max_rows).to_dict("records"))
                lines.append(f"rows only in {side}: {table}: {n} ({'first: ' if n > max_rows else ''}{shown})")
    if result.not_compared:
        lines.append(f"not compared (in one trace only): {', '.join(result.not_compared)}")
    return "\n".join(lines)


def write_diff_report(result: DiffResult, path, a_name: str, b_name: str) -> Path:
    """Every difference as an xlsx workbook, or an HTML page (Jinja2, autoescaped; the first MAX_HTML_ROWS).

    Written atomically; the same result gives the same bytes.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        _write_xlsx_report(result, path, a_name, b_name)
    elif suffix in (".html", ".htm"):
        _write_html_report(result, path, a_name, b_name)
    else:
        raise TracerError(str(path), "the report is .html or .xlsx")
    return path


def _plain(df: pd.DataFrame) -> list[list]:
    """Rows of differences or one-sided rows as Python values: keys a table lacks None, NaN values kept."""
    out = df.astype(object)
    keys = [c for c in df.columns if c in INT_COLUMNS or c in TEXT_COLUMNS]
    out[keys] = out[keys].where(df[keys].notna(), None)
    return out.values.tolist()


def _cells(df: pd.DataFrame) -> list[list[dict]]:
    """HTML cells: values a and b at full precision (shortest round-trip repr), differences to 3 digits,
    text left-aligned, keys a table lacks empty."""
    out = []
    for row in _plain(df):
        cells = []
        for c, v in zip(df.columns, row):
            if v is None:
                text = ""
            elif c in ("abs_diff", "rel_diff"):
                text = f"{v:.3g}"
            else:
                text = repr(float(v)) if isinstance(v, (float, np.floating)) else str(v)
            cells.append({"text": text, "left": _left(c)})
        out.append(cells)
    return out


def _left(column: str) -> bool:
    """Text columns are left-aligned, numbers right-aligned."""
    return column in TEXT_COLUMNS or column in ("side", "table", "quantity")


def _headers(df: pd.DataFrame) -> list[dict]:
    """Column headers aligned as their cells."""
    return [{"text": c, "left": _left(c)} for c in df.columns]


def _write_html_report(result: DiffResult, path: Path, a_name: str, b_name: str) -> None:
    from ..io.atomic import write_text

    diffs, sided = result.differences, result.one_sided
    rows = _cells(diffs.head(MAX_HTML_ROWS))
    html = render_template("diff.html.j2",
        a=a_name, b=b_name, verdict=format_result(result),
        summary=[{**r, "max_abs_diff": f"{r['max_abs_diff']:.3g}"} for r in result.summary.to_dict("records")],
        columns=_headers(diffs), rows=rows, truncated=len(diffs) - len(rows), total=len(diffs),
        sided_columns=_headers(sided), sided_total=len(sided), sided=_cells(sided.head(MAX_HTML_ROWS)))
    write_text(path, html)


def _write_xlsx_report(result: DiffResult, path: Path, a_name: str, b_name: str) -> None:
    from ..io.atomic import atomic_path

    with atomic_path(path) as tmp:
        wb = new_workbook(tmp, {"title": f"trace diff: {a_name} vs {b_name}"}, constant_memory=True)
        ws = wb.add_worksheet("summary")
        lines = [f"A: {a_name}", f"B: {b_name}", *format_result(result, max_rows=10).splitlines(), ""]
        for r, line in enumerate(lines):
            ws.write_string(r, 0, line)
        ws.write_row(len(lines), 0, list(result.summary.columns))
        _write_rows(ws, len(lines) + 1, result.summary.values.tolist())
        for title, frame in (("differences", result.differences), ("rows in one trace only", result.one_sided)):
            for part, start in enumerate(range(0, max(len(frame), 1), EXCEL_ROWS)):
                sheet = wb.add_worksheet(title if part == 0 else f"{title} ({part + 1})")
                sheet.write_row(0, 0, list(frame.columns))
                stop = min(start + EXCEL_ROWS, len(frame))
                for chunk in range(start, stop, XLSX_CHUNK):  # a chunk at a time: Python objects for all would not fit
                    _write_rows(sheet, chunk - start + 1, _plain(frame.iloc[chunk:min(chunk + XLSX_CHUNK, stop)]))
        wb.close()


def _write_rows(ws, r0: int, rows: list[list]) -> None:
    """Rows from sheet row r0 on; non-finite numbers as text (nan, inf), since spreadsheets have no NaN."""
    for r, row in enumerate(rows, start=r0):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, (float, np.floating)) and not math.isfinite(v):
                ws.write_string(r, c, repr(float(v)))
            elif isinstance(v, (int, float, np.integer, np.floating)):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, str(v))
