"""The fields of a spec, each checked where it is read: one SpecError naming the place and the fix.

Limits keep a hostile or mistaken spec from exhausting the machine (a count of 100,000,000 inputs, 10^9
epochs), names that a spreadsheet would execute (=, +, -, @ first) are refused, text must be real text,
and nothing is accepted silently that would mean something else (`shuffle: "no"`, unknown keys).
"""
from __future__ import annotations

import math
import unicodedata
import warnings
from pathlib import Path

import numpy as np

from ..errors import SpecError, TracerWarning
from .activations import ACTIVATIONS, ALIASES, PARAM_ALIASES, Activation, make_activation
from .losses import LOSSES, GradientFactor, Loss, make_loss

MAX_NAMES = 100_000  # units of a layer, inputs
MAX_SAMPLES = 1_000_000
MAX_EPOCHS = 100_000_000
MAX_TEXT = 10_000  # characters of a title, source or description
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a cell starting so is executed by spreadsheets
INIT_KEYS = {"method", "low", "high", "mean", "std", "seed"}
INIT_METHODS = ("uniform", "normal", "xavier")


def warn(message: str) -> None:
    warnings.warn(message, TracerWarning, stacklevel=4)


def required(raw: dict, key: str, place: str):
    if key not in raw or raw[key] is None:
        where = f"{place}.{key}" if place else key
        raise SpecError(where, "missing; add it (see the spec reference in README)")
    return raw[key]


def no_unknown(raw: dict, allowed: set, place: str) -> None:
    for key in raw:
        if key not in allowed:
            where = f"{place}.{key}" if place else str(key)
            raise SpecError(where, f"unknown key; expected one of {', '.join(sorted(allowed))}")


def text(value, place: str) -> str:
    """Text (a number is taken as its text), real Unicode, at most MAX_TEXT characters."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SpecError(place, "expected text")
    value = str(value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SpecError(place, "not valid text (a lone surrogate code point); remove it") from None
    if "\x00" in value or len(value) > MAX_TEXT:
        raise SpecError(place, f"expected text of at most {MAX_TEXT:,} characters without NUL")
    return value


ASCII_SPELLINGS = str.maketrans({"−": "-", "’": "'", "′": "'"})  # typographic characters typed in ASCII


def ascii_spelling(text: str) -> str:
    """A label or name with its typographic minus and primes in their ASCII spelling (`y′_f` as `y'_f`): the
    one normalisation the grader applies besides trimming."""
    return text.translate(ASCII_SPELLINGS)


def distinct_spellings(named: list[tuple[str, str]]) -> None:
    """Refuse two names (place, name) that differ only in a character the grader reads in ASCII."""
    seen: dict[str, tuple[str, str]] = {}
    for place, n in named:
        first = seen.setdefault(ascii_spelling(n), (place, n))
        if first[1] != n:
            raise SpecError(place, f"{n!r} and {first[1]!r} ({first[0]}) are one name to the grader, which reads "
                                   "− as - and ′ or ’ as '; rename one")


def name(value, place: str) -> str:
    """A name of an input, unit or layer: text a spreadsheet shows as text."""
    out = text(value, place).strip()
    if not out:
        raise SpecError(place, "empty name")
    if out.startswith(FORMULA_START):
        raise SpecError(place, f"{out[:20]!r} starts with {out[0]!r}, which spreadsheets execute as a formula; "
                               "rename it")
    if len(out) > 100:
        raise SpecError(place, "names have at most 100 characters")
    control = next((c for c in out if unicodedata.category(c)[0] == "C"), None)
    if control is not None:  # a newline or escape in a name would forge lines in a terminal, CSV or formula
        raise SpecError(place, f"{out[:20]!r} holds the control character U+{ord(control):04X}; rename it")
    return out


def slug(value, place: str) -> str:
    out = text(value, place)
    if not out or len(out) > 100 or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in out) \
            or out.startswith((".", "-")):
        raise SpecError(place, f"{out[:40]!r} is not a file-name slug; use letters, digits, '-', '_' or '.'")
    return out


def number(value, place: str, positive: bool = False, minimum: float | None = None) -> float:
    """A finite float; numeric strings such as '1e-3' are accepted."""
    if isinstance(value, bool) or value is None:
        raise SpecError(place, f"expected a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise SpecError(place, f"expected a number, got {value[:40]!r}") from None
    if not isinstance(value, (int, float)):
        raise SpecError(place, f"expected a number, got {type(value).__name__}")
    try:
        value = float(value)
    except OverflowError:
        raise SpecError(place, "expected a number of a size a float can hold") from None
    if not math.isfinite(value):
        raise SpecError(place, f"expected a finite number, got {value!r}")
    if positive and value <= 0:
        raise SpecError(place, f"expected a number > 0, got {value!r}")
    if minimum is not None and value < minimum:
        raise SpecError(place, f"expected a number >= {minimum:g}, got {value!r}")
    return value


def whole(value, place: str, minimum: int = 1, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        else:
            raise SpecError(place, f"expected a whole number, got {str(value)[:40]!r}")
    if value < minimum:
        raise SpecError(place, f"expected a whole number >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise SpecError(place, f"{value:.3g} is more than the limit of {maximum:,}" if value > 1e15 else
                               f"{value:,} is more than the limit of {maximum:,}")
    return value


def names_of(value, place: str, prefix: str) -> tuple[str, ...]:
    """Unit or input names, or a count that makes names prefix1..prefixN."""
    if isinstance(value, int) and not isinstance(value, bool):
        return tuple(f"{prefix}{i + 1}" for i in range(whole(value, place, maximum=MAX_NAMES)))
    if not isinstance(value, list) or not value:
        raise SpecError(place, "expected a list of names or a count")
    if len(value) > MAX_NAMES:
        raise SpecError(place, f"{len(value):,} names is more than the limit of {MAX_NAMES:,}")
    names = tuple(name(v, f"{place}[{i}]") for i, v in enumerate(value))
    for i, n in enumerate(names):
        if n == "bias":
            raise SpecError(f"{place}[{i}]", "'bias' is reserved for the bias input; rename it")
    if len(set(names)) != len(names):
        raise SpecError(place, "names must be unique")
    return names


def boolean(value, place: str) -> bool:
    """true or false, nothing that merely looks like one ('no' is text)."""
    if not isinstance(value, bool):
        raise SpecError(place, f"expected true or false, got {str(value)[:40]!r}")
    return value


def flat_cells(value, place: str) -> list:
    """A sample's grid of inputs, given as nested rows (per channel) or flat, as one flat list in cell order."""
    if not isinstance(value, list) or not any(isinstance(v, list) for v in value):
        return value
    out = []
    for i, v in enumerate(value):
        if isinstance(v, list):
            out.extend(flat_cells(v, f"{place}[{i}]"))
        else:
            raise SpecError(f"{place}[{i}]", "mixes numbers and rows; give every row as a list, or all numbers flat")
    return out


def data_of(raw, base: Path, n_inputs: int, read_csv, grid: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The samples' inputs and targets; a grid's inputs may be given as nested rows (flat_cells)."""
    if isinstance(raw, dict):
        return csv_data(raw, base, n_inputs, read_csv)
    if not isinstance(raw, list) or not raw:
        raise SpecError("data", "expected a list of samples {x: [...], y: [...]} or {csv: file, x: [...], y: [...]}")
    if len(raw) > MAX_SAMPLES:
        raise SpecError("data", f"{len(raw):,} samples is more than the limit of {MAX_SAMPLES:,}")
    xs, ys = [], []
    for i, row in enumerate(raw):
        place = f"data[{i}]"
        if not isinstance(row, dict) or "x" not in row or "y" not in row:
            raise SpecError(place, "expected {x: [...], y: [...]}")
        no_unknown(row, {"x", "y"}, place)
        x = flat_cells(row["x"], f"{place}.x") if grid else row["x"]
        xs.append(vector(x, f"{place}.x", n_inputs, "one per input"))
        y = flat_cells(row["y"], f"{place}.y") if grid else row["y"]  # a sequence's: a row per time step
        ys.append(vector(y, f"{place}.y", len(ys[0]) if ys else None, "as in data[0].y"))
    return np.array(xs, float), np.array(ys, float)


def vector(value, place: str, n: int | None, why: str) -> list[float]:
    if not isinstance(value, list):
        value = [value]
    if n is not None and len(value) != n:
        raise SpecError(place, f"expected {n} number{'s' * (n != 1)} ({why}), got {len(value)}")
    if len(value) > MAX_NAMES:
        raise SpecError(place, f"{len(value):,} numbers is more than the limit of {MAX_NAMES:,}")
    return [number(v, f"{place}[{j}]") for j, v in enumerate(value)]


def csv_data(raw: dict, base: Path, n_inputs: int, read_csv) -> tuple[np.ndarray, np.ndarray]:
    """Data from a CSV file (read by `read_csv`, tracer.io.specfile.read_data_csv), columns by name."""
    no_unknown(raw, {"csv", "x", "y"}, "data")
    if read_csv is None:
        raise SpecError("data.csv", "CSV data is read by load_spec (the path is relative to the spec file); "
                                    "give the data inline to parse_spec")
    file = base / text(required(raw, "csv", "data"), "data.csv")
    header, rows = read_csv(file, "data.csv")
    if len(rows) > MAX_SAMPLES:
        raise SpecError("data.csv", f"{len(rows):,} samples is more than the limit of {MAX_SAMPLES:,}")
    x_cols = list_of_text(required(raw, "x", "data"), "data.x")
    y_cols = list_of_text(required(raw, "y", "data"), "data.y")
    if len(x_cols) != n_inputs:
        raise SpecError("data.x", f"expected {n_inputs} column names (one per input), got {len(x_cols)}")
    for col in x_cols + y_cols:
        if col not in header:
            raise SpecError("data", f"column {col[:40]!r} is not in the header of {file.name} "
                                    f"({len(header)} columns)")
    where = {c: header.index(c) for c in x_cols + y_cols}
    fast = whole_block(rows, [where[c] for c in x_cols + y_cols])
    if fast is not None:
        return fast[:, :len(x_cols)], fast[:, len(x_cols):]

    def cell(r: list, i: int, c: str) -> float:
        value = r[where[c]] if where[c] < len(r) else ""
        return number(value, f"{file.name}:{i + 2}:{c}")

    x = [[cell(r, i, c) for c in x_cols] for i, r in enumerate(rows)]
    y = [[cell(r, i, c) for c in y_cols] for i, r in enumerate(rows)]
    return np.array(x, float), np.array(y, float)


def whole_block(rows: list, columns: list[int]) -> np.ndarray | None:
    """The data's columns as floats in one conversion (numpy parses each text as float() does), or None when a
    cell is missing, not a number or not finite: then each cell is read by `number`, whose error names it."""
    try:
        block = np.array([[r[i] for i in columns] for r in rows], dtype=float)
    except (ValueError, IndexError, OverflowError):
        return None
    return block if np.isfinite(block).all() else None


def list_of_text(value, place: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value:
        raise SpecError(place, "expected a list of column names")
    return [text(v, f"{place}[{i}]") for i, v in enumerate(value)]


def activation_of(raw, place: str) -> Activation:
    params = {}
    if isinstance(raw, dict):
        params = dict(raw)
        name = params.pop("name", None)
        if name is None:
            raise SpecError(place, "expected {name: ..., <parameters>}")
    else:
        name = raw
    name = text(name, place)
    key = ALIASES.get(name, name)
    if key not in ACTIVATIONS:
        names = ", ".join(sorted(ACTIVATIONS))
        raise SpecError(place, f"unknown activation {name!r}; use one of {names}")
    own = set(ACTIVATIONS[key].param_names)
    allowed = own | {alias for alias, target in PARAM_ALIASES.items() if target in own}
    values = {}
    for k, v in params.items():
        if k not in allowed:
            hint = ", ".join(sorted(allowed)) or "none"
            raise SpecError(f"{place}.{k}", f"unknown parameter for {key}; its parameters: {hint}")
        values[k] = number(v, f"{place}.{k}")
    try:
        act = make_activation(key, **values)
    except (ZeroDivisionError, ValueError):
        raise SpecError(place, "parameters out of range (xmax must exceed xmin, sigma must be nonzero)") from None
    if key == "piecewise_linear" and act.xmax <= act.xmin:
        raise SpecError(place, "xmax must be greater than xmin")
    if key == "gaussian" and act.sigma <= 0:
        raise SpecError(f"{place}.sigma", "expected a number > 0")
    return act


MAX_INIT_SPREAD = 1e150  # drawn weights stay far from overflow (their products and squares stay finite)


def draw(init, place: str, n_units: int, cols: tuple[str, ...], bias: bool, rng) -> np.ndarray:
    """Seeded random initial weights: uniform(low, high), normal(mean, std) or Xavier/Glorot uniform."""
    if not isinstance(init, dict):
        raise SpecError(place.rsplit(".", 1)[0] + ".weights", "missing; give weights, or an init: {method: xavier, seed: 0}")
    no_unknown(init, INIT_KEYS, place)
    method = str(init.get("method", "uniform"))
    if method not in INIT_METHODS:
        raise SpecError(f"{place}.method", f"unknown method {method!r}; use one of {', '.join(INIT_METHODS)}")
    shape = (n_units, len(cols))
    if method == "uniform":
        low = number(init.get("low", -0.5), f"{place}.low")
        high = number(init.get("high", 0.5), f"{place}.high")
        if not low < high:
            raise SpecError(place, f"low ({low:g}) must be less than high ({high:g})")
        if high - low > MAX_INIT_SPREAD:
            raise SpecError(place, f"the range {low:g}..{high:g} is wider than {MAX_INIT_SPREAD:g}; give a range "
                                   "of weights the arithmetic can hold")
        return rng.uniform(low, high, size=shape)
    if method == "normal":
        mean = number(init.get("mean", 0.0), f"{place}.mean")
        std = number(init.get("std", 0.1), f"{place}.std", minimum=0.0)
        if abs(mean) + 10 * std > MAX_INIT_SPREAD:
            raise SpecError(place, f"mean {mean:g} and std {std:g} draw weights beyond {MAX_INIT_SPREAD:g}; give a "
                                   "spread the arithmetic can hold")
        return rng.normal(mean, std, size=shape)
    fan_in, fan_out = len(cols) - int(bias), n_units
    limit = math.sqrt(6.0 / (fan_in + fan_out))  # Glorot & Bengio (2010), cited by Davila
    w = rng.uniform(-limit, limit, size=shape)
    if bias:
        w[:, 0] = 0.0
    return w


def frozen_of(raw, place: str, shape: tuple[int, int], cols: tuple[str, ...]) -> np.ndarray:
    """Parameters that stay fixed: true/'all', 'bias', 'weights', a list of source names, or a mask."""
    mask = np.zeros(shape, bool)
    if raw is True or raw == "all":
        mask[:] = True
    elif raw is False or raw is None:
        pass
    elif raw == "bias":
        if cols[0] != "bias":
            raise SpecError(place, "this layer has no bias to freeze")
        mask[:, 0] = True
    elif raw == "weights":
        mask[:, int(cols[0] == "bias"):] = True
    elif isinstance(raw, list) and raw and all(isinstance(r, list) for r in raw):
        if len(raw) != shape[0] or any(len(r) != shape[1] for r in raw):
            raise SpecError(place, f"a mask must have the shape of the weights ({shape[0]} x {shape[1]})")
        mask[:] = [[boolean(v if not isinstance(v, int) or isinstance(v, bool) or v not in (0, 1) else bool(v),
                            f"{place}[{i}][{j}]") for j, v in enumerate(r)] for i, r in enumerate(raw)]
    elif isinstance(raw, list):
        for k, name in enumerate(raw):
            if name not in cols:
                raise SpecError(f"{place}[{k}]", f"{name!r} is not an input of this layer ({', '.join(cols)})")
            mask[:, cols.index(name)] = True
    else:
        raise SpecError(place, "expected true, 'bias', 'weights', a list of input names, or a true/false mask")
    return mask


LOSS_KEYS = {"name", "gradient_factor"}


def loss_of(raw, output) -> Loss:
    """The loss by name, or {name: sse, gradient_factor: 1} for a squared error printed as the source prints it
    whose update uses gradient_factor (yhat - y) (the delta rule's eta (t - y) x)."""
    factor = None
    if isinstance(raw, dict):
        no_unknown(raw, LOSS_KEYS, "loss")
        factor = number(raw["gradient_factor"], "loss.gradient_factor") if "gradient_factor" in raw else None
        raw = required(raw, "name", "loss")
    name = text(raw, "loss")
    if name not in LOSSES:
        raise SpecError("loss", f"unknown loss {name!r}; use one of {', '.join(LOSSES)}")
    loss = make_loss(name, len(output.units))
    if factor is not None:
        if not loss.squared_error:
            raise SpecError("loss.gradient_factor", f"applies to a squared error (half_sse, sse, mse), not {name}")
        loss = GradientFactor(loss, factor)
    if loss.needs and output.activation.name != loss.needs:
        raise SpecError("loss", f"{name} needs a {loss.needs} output layer, but {output.name!r} uses "
                                f"{output.activation.name}; change the output activation or the loss")
    if output.activation.vector and not loss.needs:
        warn(f"loss: {name} on a softmax output works, but cross_entropy is the usual pairing")
    return loss
