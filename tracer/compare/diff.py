"""Compare two traces: aligned on their keys, vectorised, reporting the first divergence in training order.

A trace can be a trace directory (CSVs of `tracer run --trace`), a workbook written by `tracer run --xlsx`,
a spec file (run first), a Trace, or a dict of DataFrames from other code holding a table's key columns
(`KEYS`) and any of its value columns (tracer.compare.tables). The first divergence is the earliest in
training order (epoch, step) and, within a step, in the plan's dependency order (model.plan): the target,
then for each layer forward the weights used, the inputs, z and a; the loss; then dE/da, da/dz and delta
from the output layer back; the per-sample gradients; then the step's update (w_old, grad, delta_w, w_new)
after all its samples, or layer by layer where layers are updated one at a time. So the root cause is
named rather than everything downstream of it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..engine.tables import EPOCH_END
from ..engine.trace import COLUMNS, INT_COLUMNS, KEYS, TEXT_COLUMNS
from ..errors import TracerError
from ..options import DIFF_ATOL, DIFF_RTOL
from ..engine.stepview import dependency_ranks
from ..model.spec import parse_spec
from ..steps import describe_steps
from .tables import check_tables, resolve

DEFAULT_RTOL, DEFAULT_ATOL = DIFF_RTOL, DIFF_ATOL
QUANTITIES = tuple(dict.fromkeys(c for name, cols in COLUMNS.items() for c in cols if c not in KEYS[name]))
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
    steps_compared: str | None = None  # the steps both traces hold, when one holds only some of its run's
    other_data: str | None = None  # why no value can agree: a step processed other samples (said first)
    precision: str | None = None  # a hint: one side's values are float32 numbers

    @property
    def same(self) -> bool:
        """True when every value agrees within tolerance and both traces have the same rows."""
        return self.first is None and not any(self.only_a.values()) and not any(self.only_b.values())


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
    (ra, spec_a, held_a), (rb, spec_b, held_b) = resolve(a), resolve(b)
    ta, tb = check_tables(ra, "A"), check_tables(rb, "B")
    only_steps = held_steps(ta, tb, held_a, held_b)
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
    parts = [_compare_table(n, ca[n], cb[n], codes, rtol, atol, tolerances) for n in names]
    ranks = dependency_ranks(spec_a or spec_b or skeleton(codes["layer"]))
    diffs = [d for p in parts for d in p["diffs"]]
    differences = _with_differences(_named(_in_training_order(pd.concat(diffs, ignore_index=True), codes, ranks),
                                           codes)) \
        if diffs else pd.DataFrame(columns=[*KEYS["weights"], "table", "quantity", "a", "b", "abs_diff", "rel_diff"])
    differences = differences[[c for c in KEYS["weights"] if c in differences] +
                              ["table", "quantity", "a", "b", "abs_diff", "rel_diff"]]
    sided = [d for p in parts for d in p["one_sided"]]
    one_sided = _named(_in_training_order(pd.concat(sided, ignore_index=True).assign(quantity=""), codes, ranks),
                       codes) \
        if sided else pd.DataFrame(columns=["side", "table", *KEYS["weights"]])
    one_sided = one_sided[["side", "table"] + [c for c in KEYS["weights"] if c in one_sided]]
    return DiffResult(first=_first(differences) if len(differences) else None,
                      summary=pd.DataFrame([r for p in parts for r in p["summary"]],
                                           columns=["table", "quantity", "compared", "differing", "max_abs_diff"]),
                      only_a={n: p["only_a"] for n, p in zip(names, parts)},
                      only_b={n: p["only_b"] for n, p in zip(names, parts)},
                      differences=differences, one_sided=one_sided,
                      not_compared=[c for p in parts for c in p["not_compared"]],
                      steps_compared=describe_steps(sorted(only_steps)) if only_steps is not None else None,
                      other_data=other_samples(ta, tb), precision=float32_side(differences))


def float32_side(differences: pd.DataFrame) -> str | None:
    """A hint when one side's differing values are float32 numbers (exact as float32) and the other's are not:
    a float32 loop differs from a float64 one near 1e-7 relative everywhere, which is precision, not a bug."""
    share = {}
    for side in ("a", "b"):
        values = differences[side].to_numpy(dtype=float) if len(differences) else np.zeros(0)
        values = values[np.isfinite(values) & (values != 0)]
        share[side] = float((values.astype(np.float32).astype(float) == values).mean()) if len(values) else 0.0
    for side, other in (("a", "b"), ("b", "a")):
        if share[side] >= 0.5 and share[other] < 0.05:
            return (f"{side.upper()} looks like float32: {share[side]:.0%} of its differing values are float32 "
                    "numbers, which differ from float64 near 1e-7 relative; record in float64 (model.double() and "
                    "float64 data), or compare with --rtol 1e-5")
    return None


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
        held = slice(None)
        if q in EPOCH_END:  # NaN: the epoch's last step is not in that trace; compared where both know it
            held = ~(np.isnan(va) | np.isnan(vb))
            va, vb = va[held], vb[held]
        bad = _differs(va, vb, *tolerances.get(q, (rtol, atol)))
        with np.errstate(invalid="ignore"):
            absdiff = np.abs(va - vb)
        finite = absdiff[np.isfinite(absdiff)]
        out["summary"].append({"table": name, "quantity": q, "compared": len(va), "differing": int(bad.sum()),
                               "max_abs_diff": float(finite.max()) if len(finite) else 0.0})
        if bad.any():
            out["diffs"].append(both[held].loc[bad, keys].assign(table=name, quantity=q, a=va[bad], b=vb[bad]))
    return out


def held_steps(ta: dict, tb: dict, held_a, held_b) -> set | None:
    """The steps to compare when a side holds only some of its run's steps (--trace-steps): those both hold."""
    if held_a is None and held_b is None:
        return None
    steps = [set(held) if held is not None else {int(s) for df in t.values() for s in pd.unique(df["step"])}
             for held, t in ((held_a, ta), (held_b, tb))]
    return steps[0] & steps[1]


def skeleton(layers: list[str]):
    """A network with the given layers (one linear unit each, updated simultaneously): its plan gives the
    dependency order when neither trace names its spec."""
    names = layers or ["L1"]
    return parse_spec({"name": "skeleton", "inputs": 1, "loss": "half_sse", "learning_rate": 1,
                       "layers": [{"name": n, "units": [f"u{k}"], "activation": "linear", "weights": [[0, 0]]}
                                  for k, n in enumerate(names)], "data": [{"x": [0], "y": [0]}]})


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


def _in_training_order(d: pd.DataFrame, codes: dict, ranks: dict) -> pd.DataFrame:
    """Sort rows (text keys as codes) by epoch, step, then the plan's dependency order within the step: its
    stage (layers updated one at a time), the per-sample quantities before the update, the sample, and
    where the quantity comes in the plan (engine.stepview.dependency_ranks)."""
    layers = codes["layer"] + [""]
    layer = d["layer"].fillna(-1).to_numpy(np.int64) if "layer" in d else np.full(len(d), -1)
    table, quantity = d["table"].to_numpy(), d["quantity"].to_numpy()
    order = np.zeros((len(d), 3))
    for (t, q, code), idx in pd.Series(range(len(d))).groupby([table, quantity, layer]).groups.items():
        order[idx] = ranks.get((t, q, layers[code]), (0, 0, 0.0))
    sample = d["sample"].fillna(-1).to_numpy(np.int64) if "sample" in d else np.zeros(len(d), np.int64)
    after_epoch = np.isin(quantity, EPOCH_END)  # after the epoch's last update, which they follow from
    d = d.assign(_step=np.where(after_epoch, SAMPLE_LAST, d["step"]), _stage=order[:, 0], _update=order[:, 1],
                 _sample=np.where(order[:, 1] > 0, SAMPLE_LAST, sample), _rank=order[:, 2])
    keys = ["epoch", "_step", "step", "_stage", "_update", "_sample", "_rank"] + \
        [c for c in ("layer", "unit", "source") if c in d]
    return d.sort_values(keys, kind="stable", na_position="first").drop(columns=["_step", "_stage", "_update",
                                                                                 "_sample", "_rank"])


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


