"""Compare two traces: aligned on their keys, vectorised, reporting the first divergence in training order.

A trace can be a trace directory (CSVs or Parquet of `tracer run --trace`), a workbook written by `tracer run
--xlsx`, a spec file (run first), a Trace, or a dict of DataFrames from other code holding a table's key columns
(`KEYS`) and any of its value columns (tracer.compare.tables). The first divergence is the earliest in
training order (epoch, step) and, within a step, in the plan's dependency order (model.plan): the target,
then for each layer forward the weights used, the inputs, z and a; the loss; then dE/da, da/dz and delta
from the output layer back; the per-sample gradients; then the step's update (w_old, grad, delta_w, w_new)
after all its samples, or layer by layer where layers are updated one at a time. So the root cause is
named rather than everything downstream of it.

Two Parquet folders tracer wrote whose rows line up are paired straight from their columns
(tracer.compare.folders), without loading pandas; anything else is paired by merging on the keys
(tracer.compare.tables). tracer.compare.judge judges both alike.
"""
from __future__ import annotations

from ..engine.stepview import dependency_ranks
from ..engine.tables import COLUMNS
from ..errors import TracerError
from ..model.spec import parse_spec
from ..options import DIFF_ATOL, DIFF_RTOL
from .folders import aligned_folders
from .judge import QUANTITIES, DiffResult, judged

DEFAULT_RTOL, DEFAULT_ATOL = DIFF_RTOL, DIFF_ATOL


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
    aligned = aligned_folders(a, b, tables or list(COLUMNS))
    if aligned is None:
        from .tables import paired_tables

        aligned = paired_tables(a, b, tables)
    ranks = dependency_ranks(aligned.spec or skeleton(aligned.codes["layer"]))
    return judged(aligned, ranks, rtol, atol, tolerances)


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
