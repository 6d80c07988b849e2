"""Judging two traces' paired tables: each value within tolerance or not, the differences and one-sided rows
in training order (the plan's dependency order within a step), and the DiffResult that says so.

Needs numpy only: the DataFrames of a DiffResult are built when first read. tracer.compare.folders and
tracer.compare.tables pair the tables (straight from Parquet columns, or by merging on the keys); both hand
over the same Paired tables, judged here alike.
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

import numpy as np

from ..engine.tables import COLUMNS, EPOCH_END, INT_COLUMNS, KEYS, TEXT_COLUMNS

QUANTITIES = tuple(dict.fromkeys(c for name, cols in COLUMNS.items() for c in cols if c not in KEYS[name]))
LABELS = {"table": tuple(COLUMNS), "quantity": ("", *QUANTITIES), "side": ("A", "B")}  # columns held as codes
ALL_KEYS = KEYS["weights"]  # every key column, in the order a difference lists them
MISSING = np.iinfo(np.int64).min  # a key the row's table lacks (updates' sample, losses' layer): sorts first
SAMPLE_LAST = np.iinfo(np.int64).max  # the sample rank of a step's update: after every sample of the step
SUMMARY = ["table", "quantity", "compared", "differing", "max_abs_diff"]
MEASURES = ["table", "quantity", "a", "b", "abs_diff", "rel_diff"]


@dataclass
class Paired:
    """One table of both traces, its rows aligned: the keys of the rows in both (text keys as codes into the
    shared names), A's and B's values of each column both have, and the keys of rows in one trace only."""

    name: str
    keys: dict  # key column -> array of ints (text keys: codes, or indices that `lookup` turns into codes)
    a: dict  # value column -> float array
    b: dict
    only: dict = field(default_factory=dict)  # "A"/"B" -> {key column -> array} of the rows in that trace only
    not_compared: list = field(default_factory=list)  # 'table.column' in one trace only
    lookup: dict = field(default_factory=dict)  # text key -> codes of its values, when `keys` holds other numbers


@dataclass
class Aligned:
    """Both traces' tables paired, with the names their text keys code, the spec that made them (for the
    dependency order; None when unknown), and what to say before any value."""

    pairs: list
    codes: dict  # layer/unit/source -> names in network order
    spec: object = None
    steps_compared: str | None = None  # the steps both traces hold, when one holds only some of its run's
    other_data: str | None = None  # why no value can agree: a step processed other samples


@dataclass
class Part:
    """Some rows of one table: the differences of one quantity, or the rows in one trace only of one side. Their
    keys are `keys` at `rows` (text keys through `lookup`); `constants` are what they share (table, quantity,
    side), `values` what each has (a and b)."""

    keys: dict
    rows: np.ndarray
    constants: dict
    values: dict = field(default_factory=dict)
    lookup: dict = field(default_factory=dict)

    def key(self, name: str, which=slice(None)) -> np.ndarray:
        """Key column `name` of the rows `which` selects (text keys as codes; MISSING where the table lacks it)."""
        rows = self.rows[which]
        if name not in self.keys:
            return np.full(len(rows), MISSING)
        values = self.keys[name][rows]
        return self.lookup[name][values] if name in self.lookup else values


class Rows:
    """Rows of several parts in training order: epoch, step, then the plan's dependency order within the step
    (its stage where layers are updated one at a time, the per-sample quantities before the update, the sample,
    and where the quantity comes in the plan: engine.stepview.dependency_ranks); then layer, unit and source.
    They are sorted only when read whole: a verdict needs the first row only."""

    def __init__(self, parts: list, codes: dict, ranks: dict):
        self.parts, self.codes, self.ranks = parts, codes, ranks

    def __len__(self) -> int:
        return sum(len(p.rows) for p in self.parts)

    def sort_keys(self, part: Part, which=slice(None)):
        """The sort keys of the part's rows `which` selects, most significant first, each made when asked for."""
        step = part.key("step", which)
        yield part.key("epoch", which)
        after_epoch = part.constants["quantity"] in EPOCH_END  # after the epoch's last update, which they follow
        yield np.full(len(step), SAMPLE_LAST) if after_epoch else step
        yield step
        table, quantity = part.constants["table"], part.constants["quantity"]
        by_layer = np.array([self.ranks.get((table, quantity, name), (0, 0, 0.0)) for name in self.codes["layer"]] +
                            [self.ranks.get((table, quantity, ""), (0, 0, 0.0))]).reshape(-1, 3)
        layer = part.key("layer", which)
        stage, update, rank = by_layer[np.where(layer == MISSING, -1, layer)].T
        yield stage
        yield update
        yield np.where(update > 0, SAMPLE_LAST, part.key("sample", which))
        yield rank
        for c in TEXT_COLUMNS:
            yield part.key(c, which)

    def first(self) -> tuple[Part, int] | None:
        """The first row in training order, as its part and position there (of equal keys, the earliest given)."""
        best = None
        for part in self.parts:
            which = np.arange(len(part.rows))
            for k in (1, 2):  # epoch, then step, leave one step's rows before every key is made
                key = list(itertools.islice(self.sort_keys(part, which), k))[-1]
                which = which[key == key.min()]
            keys = list(self.sort_keys(part, which))
            j = np.lexsort(keys[::-1])[0]
            candidate = [key[j] for key in keys]
            if best is None or candidate < best[0]:
                best = candidate, part, int(which[j])
        return best[1:] if best else None

    def in_order(self) -> dict:
        """Every row's key columns (those any part's table has), constants and values, in training order."""
        if not self.parts:
            return {}
        order = [np.concatenate(keys) for keys in zip(*(list(self.sort_keys(p)) for p in self.parts))]
        permutation = np.lexsort(order[::-1])
        columns = {k: np.concatenate([p.key(k) for p in self.parts]) for k in ALL_KEYS
                   if any(k in p.keys for p in self.parts)}
        for c in self.parts[0].constants:
            columns[c] = np.concatenate([np.full(len(p.rows), LABELS[c].index(p.constants[c]), np.int8)
                                         for p in self.parts])
        for c in self.parts[0].values:
            columns[c] = np.concatenate([p.values[c] for p in self.parts])
        return {c: v[permutation] for c, v in columns.items()}


@dataclass
class DiffResult:
    """What differs: the first divergence, a summary per table and quantity, rows present on one side only.

    `summary`, `differences` and `one_sided` are DataFrames, built when first read (pandas is loaded then).
    """

    first: dict | None  # keys, table, quantity, a, b, abs_diff, rel_diff of the first divergence
    summary_rows: list  # {table, quantity, compared, differing, max_abs_diff} per quantity compared
    only_a: dict  # table -> number of rows only in A
    only_b: dict
    found: Rows | None = field(default=None, repr=False)  # every difference
    sided: Rows | None = field(default=None, repr=False)  # every row in one trace only
    codes: dict = field(default_factory=dict, repr=False)
    not_compared: list = field(default_factory=list)  # 'table.column' present in one trace only
    steps_compared: str | None = None  # the steps both traces hold, when one holds only some of its run's
    other_data: str | None = None  # why no value can agree: a step processed other samples (said first)
    precision: str | None = None  # a hint: one side's values are float32 numbers

    @property
    def same(self) -> bool:
        """True when every value agrees within tolerance and both traces have the same rows."""
        return self.first is None and not any(self.only_a.values()) and not any(self.only_b.values())

    @functools.cached_property
    def summary(self):
        """DataFrame: table, quantity, compared, differing, max_abs_diff."""
        import pandas as pd

        return pd.DataFrame(self.summary_rows, columns=SUMMARY)

    @functools.cached_property
    def differences(self):
        """DataFrame of every differing value in training order: its keys, table, quantity, a, b, abs_diff and
        rel_diff."""
        columns = self.found.in_order()
        return frame(columns | measured(columns["a"], columns["b"]) if columns else {}, self.codes, MEASURES)

    @functools.cached_property
    def one_sided(self):
        """DataFrame of the rows in one trace only: side (A or B), table and keys, in training order."""
        return frame(self.sided.in_order(), self.codes, ["side", "table"], first=True)


def judged(aligned: Aligned, ranks: dict, rtol: float, atol: float, tolerances: dict) -> DiffResult:
    """Every value of the paired tables compared; the differences and one-sided rows with their training order."""
    summary, found, sided = [], [], []
    for p in aligned.pairs:
        for q in p.a:
            va, vb = p.a[q], p.b[q]
            rows = None
            if q in EPOCH_END:  # NaN: the epoch's last step is not in that trace; compared where both know it
                rows = np.flatnonzero(~(np.isnan(va) | np.isnan(vb)))
                va, vb = va[rows], vb[rows]
            bad, largest = compared(va, vb, *tolerances.get(q, (rtol, atol)))
            summary.append({"table": p.name, "quantity": q, "compared": len(va), "differing": int(bad.sum()),
                            "max_abs_diff": largest})
            if bad.any():
                at = np.flatnonzero(bad) if rows is None else rows[bad]
                found.append(Part(p.keys, at, {"table": p.name, "quantity": q}, {"a": va[bad], "b": vb[bad]},
                                  p.lookup))
        sided += [Part(keys, np.arange(_count(keys)), {"side": side, "table": p.name, "quantity": ""})
                  for side, keys in p.only.items() if _count(keys)]
    differences = Rows(found, aligned.codes, ranks)
    first = differences.first()
    return DiffResult(first=first_of(*first, aligned.codes) if first else None,
                      summary_rows=summary, only_a={p.name: _count(p.only.get("A")) for p in aligned.pairs},
                      only_b={p.name: _count(p.only.get("B")) for p in aligned.pairs},
                      found=differences, sided=Rows(sided, aligned.codes, ranks), codes=aligned.codes,
                      not_compared=[c for p in aligned.pairs for c in p.not_compared],
                      steps_compared=aligned.steps_compared, other_data=aligned.other_data,
                      precision=float32_side(*(np.concatenate([np.zeros(0)] + [f.values[s] for f in found])
                                               for s in ("a", "b"))))


def _count(keys: dict | None) -> int:
    """How many rows a dict of key columns holds."""
    return len(next(iter(keys.values()))) if keys else 0


def compared(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> tuple[np.ndarray, float]:
    """Which values differ: outside tolerance, or NaN on one side only (inf equals inf of the same sign); and
    the largest finite |a - b|. Values equal bit for bit (the usual case) cost one comparison."""
    equal = a == b
    if equal.all():
        return ~equal, 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        absdiff = np.abs(a - b)
        close = absdiff <= atol + rtol * np.maximum(np.abs(a), np.abs(b))
    close &= np.isfinite(a) & np.isfinite(b)  # else inf would be within rtol * inf of anything
    finite = absdiff[np.isfinite(absdiff)]
    return ~(close | equal | (np.isnan(a) & np.isnan(b))), float(finite.max()) if len(finite) else 0.0


def float32_side(a: np.ndarray, b: np.ndarray) -> str | None:
    """A hint when one side's differing values are float32 numbers (exact as float32) and the other's are not:
    a float32 loop differs from a float64 one near 1e-7 relative everywhere, which is precision, not a bug."""
    share = {}
    for side, values in (("a", a), ("b", b)):
        values = values[np.isfinite(values) & (values != 0)]
        share[side] = float((values.astype(np.float32).astype(float) == values).mean()) if len(values) else 0.0
    for side, other in (("a", "b"), ("b", "a")):
        if share[side] >= 0.5 and share[other] < 0.05:
            return (f"{side.upper()} looks like float32: {share[side]:.0%} of its differing values are float32 "
                    "numbers, which differ from float64 near 1e-7 relative; record in float64 (model.double() and "
                    "float64 data), or compare with --rtol 1e-5")
    return None


def measured(a: np.ndarray, b: np.ndarray) -> dict:
    """abs_diff and rel_diff (relative to the larger magnitude; NaN where a side is not finite)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        absdiff = np.where(np.isfinite(a) & np.isfinite(b), np.abs(a - b), np.nan)
        scale = np.maximum(np.abs(a), np.abs(b))
        return {"abs_diff": absdiff, "rel_diff": np.where(scale > 0, absdiff / scale, np.nan)}


def first_of(part: Part, row: int, codes: dict) -> dict:
    """A part's row as plain Python values: its keys (those its table has), table, quantity, a, b, abs_diff
    and rel_diff."""
    first = {}
    for k in ALL_KEYS:
        v = int(part.key(k, [row])[0])
        if v != MISSING:
            first[k] = codes[k][v] if k in TEXT_COLUMNS else v
    values = {m: part.values[m][row:row + 1] for m in ("a", "b")}
    first |= {c: part.constants[c] for c in ("table", "quantity")}
    return first | {m: float(v[0]) for m, v in (values | measured(values["a"], values["b"])).items()}


def frame(columns: dict, codes: dict, after: list, first: bool = False):
    """Columns of Rows.in_order as a DataFrame with names for text keys ("" where a table lacks one) and
    nullable integers; an empty one has every key column. `first`: the columns in `after` come first."""
    import pandas as pd

    if not columns:
        return pd.DataFrame(columns=after + ALL_KEYS if first else ALL_KEYS + after)
    out = {}
    for k in ALL_KEYS:
        if k not in columns:
            continue
        v = columns[k]
        if k in INT_COLUMNS:
            out[k] = pd.arrays.IntegerArray(np.where(v == MISSING, 0, v), v == MISSING)
        else:
            out[k] = np.array(codes[k] + [""], dtype=object)[np.where(v == MISSING, -1, v)]
    named = {c: np.array(LABELS[c], dtype=object)[columns[c]] if c in LABELS else columns[c] for c in after}
    return pd.DataFrame(named | out if first else out | named)
