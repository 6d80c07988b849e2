"""The committed reports/ are what the current code writes (so a change in numbers is always a visible diff).

They were made on another machine: numpy's SIMD exp/tanh and BLAS sums may differ there in the last bit, so
their numbers are compared with a tolerance (workbook cells to 1e-9 relative, the report's printed digits to
one unit in the last place shown) and everything else exactly. Bytes are compared only between two files made
in this run. Refresh after an intended change: tracer reports --out reports
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

import tracer
from tools.cells import workbook_cells
from tools.cli import tracer_cli
from tracer.export.html import write_report
from tracer.export.xlsx import write_workbook
from tracer.io.resources import example_paths

pytestmark = pytest.mark.slow  # subprocesses, real tools or whole workbooks: left out of the quick loop

ROOT = Path(__file__).resolve().parents[1]
HINT = "run `tracer reports --out reports` and commit reports/"
NUMBER = re.compile(r"[−-]?\d+(?:\.\d+)?(?:·10\^[−-]?\d+|e[−+-]?\d+)?")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """What README's `tracer reports` writes (the command line, run here rather than in test_readme)."""
    out = tmp_path_factory.mktemp("reports")
    ran = tracer_cli(["reports", "--out", out], out)
    assert ran.returncode == 0, ran.stderr
    return out


def close(a: float, b: float) -> bool:
    """Within 1e-9 relative: the last bits of a transcendental differ between CPUs."""
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300)


def same_cell(a, b) -> bool:
    """Equal; numbers close; text (a formula may hold a number of the run) equal but for close numbers."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return close(a, b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b or same_text(a, b, lambda x, y: close(as_float(x), as_float(y))) == []
    return a == b


def as_float(text: str) -> float:
    text = text.replace("−", "-").replace("·10^", "e")
    return float(text)


def last_place(text: str) -> float:
    """One unit in the last place a printed number shows ('0.1234' -> 1e-4, '6.9·10^−6' -> 1e-7)."""
    mantissa, _, exponent = text.replace("−", "-").replace("·10^", "e").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def printed_close(x: str, y: str) -> bool:
    """Two printed numbers that differ at most by one unit in the last place shown."""
    return abs(as_float(x) - as_float(y)) <= 1.000001 * max(last_place(x), last_place(y))


def same_text(a: str, b: str, numbers_close=None) -> list[str]:
    """The places where two texts differ other than by numbers that are close (default: printed_close)."""
    numbers_close = numbers_close or printed_close
    words_a, words_b = NUMBER.split(a), NUMBER.split(b)
    if words_a != words_b:
        at = next(i for i, (x, y) in enumerate(zip(words_a + [""], words_b + [""])) if x != y)
        return [f"text differs near {words_a[at][:80]!r} / {words_b[at][:80]!r}"]
    out = []
    for x, y in zip(NUMBER.findall(a), NUMBER.findall(b)):
        if x != y and not numbers_close(x, y):
            out.append(f"{x} != {y}")
    return out


def test_numbers_in_text_compare_to_the_last_printed_digit():
    assert same_text("w = 0.1234 · (−0.5)", "w = 0.1235 · (−0.5)") == []
    assert same_text("w = 0.1234", "w = 0.1236") == ["0.1234 != 0.1236"]
    assert same_text("a = 6.914·10^−6", "a = 6.913·10^−6") == []
    assert same_text("z_g = 1", "z_f = 1")


@pytest.mark.parametrize("name", [p.stem for p in example_paths()])
def test_committed_reports_are_current(name, fresh):
    committed = ROOT / "reports"
    html = same_text((committed / f"{name}.html").read_text(encoding="utf-8"),
                     (fresh / f"{name}.html").read_text(encoding="utf-8"))
    assert html == [], f"{name}.html: {html[:5]}; {HINT}"
    old, new = workbook_cells(committed / f"{name}.xlsx"), workbook_cells(fresh / f"{name}.xlsx")
    assert old.keys() == new.keys(), HINT
    differ = [(key, old[key], new[key]) for key in old if not same_cell(old[key], new[key])]
    assert differ == [], f"{differ[:5]}; {HINT}"


@pytest.mark.parametrize("name", ["ekman", "frey-batch", "mazur-sequential", "softmax-classifier"])
def test_same_spec_same_bytes(fresh, tmp_path, name):
    """Written again in this run, a report and a formula workbook are the same bytes: examples with a batch, a
    sequential update, and shuffled mini-batches with momentum, drawn weights and charts of many series."""
    trace = tracer.run(tracer.load_spec(name))
    write_workbook(trace, tmp_path / f"{name}.xlsx", formulas=True)
    write_report(trace, tmp_path / f"{name}.html")
    for suffix in ("xlsx", "html"):
        assert (tmp_path / f"{name}.{suffix}").read_bytes() == (fresh / f"{name}.{suffix}").read_bytes(), suffix
