"""tracer template and tracer check: keys grade as correct, planted mistakes are diagnosed by name,
carried-forward errors count once, hand rounding is accepted, variants grade into one grade book.

The planted mistakes are computed here by hand from Ekman's printed example (004_...txt), Maren's gain
alpha and Frey's network, independently of tracer.mistakes.
"""
from __future__ import annotations

import csv
import math
import subprocess
import sys

import openpyxl
import pandas as pd
import pytest

import tracer
from tracer.check import check_answers, check_file
from tracer.exercise import exact_values, exercise_items
from tracer.resources import find_example
from tracer.template import write_exercise

EKMAN = tracer.load_spec(find_example("ekman"))


def key(spec, steps=1):
    trace = tracer.run(spec)
    items = exercise_items(trace, steps)
    values = exact_values(trace, items)
    return {i.label: repr(values[i.key]) for i in items}


def marks(spec, answers, **kw):
    return {m.label: m for m in check_answers(spec, answers, **kw)}


def test_key_checks_all_correct(tmp_path):
    write_exercise(EKMAN, tmp_path / "key.xlsx", key=True)
    result = check_file(EKMAN, tmp_path / "key.xlsx")
    assert result.all_correct and result.score == result.total == 26


# Ekman's numbers, by hand: z_g = -0.25, y_g = tanh(-0.25), z_f = -0.2 + 0.5 y_g, y_f = S(z_f)
Z_G = -0.25
Y_G = math.tanh(Z_G)
Z_F = -0.2 + 0.5 * Y_G
Y_F = 1 / (1 + math.exp(-Z_F))
ERR_F = -(1.0 - Y_F) * Y_F * (1 - Y_F)
ERR_G = ERR_F * 0.5 * (1 - Y_G ** 2)
W_GF1_NEW = 0.5 - 0.1 * ERR_F * Y_G

PLANTED = {  # label: (wrong value as a student computes it, the mistake's name)
    "error term g": (-ERR_G, "sign flipped"),
    "error term f": (-(1.0 - Y_F), "activation derivative missing"),
    "y'_f": (Z_F * (1 - Z_F), "sigmoid derivative taken as z(1-z)"),
    "MSE": ((1.0 - Y_F) ** 2, "1/2 of the loss dropped"),
    "Δw_xg0": (-ERR_G, "learning rate not applied"),
    "Δw_xg1": (0.1 * ERR_G * -0.9, "update added instead of subtracted"),
    "dE/dy_g": (W_GF1_NEW * ERR_F, "hidden error term with the already-updated weights"),
    "dE/dw_xg1": (ERR_G * 0.1, "input or weight of a different unit used"),  # x2 used instead of x1
}


@pytest.mark.parametrize("label", PLANTED)
def test_planted_mistake_is_diagnosed_by_name(label):
    answers = key(EKMAN)
    value, name = PLANTED[label]
    answers[label] = f"{value:.6f}"
    m = marks(EKMAN, answers)
    assert m[label].status == "wrong" and m[label].diagnosis == name, (m[label].status, m[label].diagnosis)


def test_tanh_derivative_for_sigmoid_and_sigmoid_derivative_for_tanh():
    answers = key(EKMAN)
    answers["y'_f"] = f"{1 - Y_F ** 2:.6f}"
    answers["y'_g"] = f"{Y_G * (1 - Y_G):.6f}"
    m = marks(EKMAN, answers)
    assert m["y'_f"].diagnosis == "tanh derivative used for a sigmoid"
    assert m["y'_g"].diagnosis == "sigmoid derivative used for tanh"


def test_half_doubled():
    answers = key(EKMAN)
    answers["MSE"] = f"{(1.0 - Y_F) ** 2 / 4:.6f}"
    assert marks(EKMAN, answers)["MSE"].diagnosis == "1/2 of the loss doubled"


def test_missing_gain_alpha():
    spec = tracer.load_spec(find_example("maren"))
    answers = key(spec)
    h0 = 1 / (1 + math.exp(-2.0 * (0.5 * 0.2 - 0.4 * 0.9)))  # H_0 with alpha = 2, no bias
    answers["αH_0(1-H_0)"] = f"{h0 * (1 - h0):.6f}"  # alpha left out
    assert marks(spec, answers)["αH_0(1-H_0)"].diagnosis == "gain alpha missing"


def test_frozen_bias_updated_anyway(tmp_path):
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(find_example("ekman").read_text().replace("activation: tanh", "activation: tanh\n    frozen: bias"))
    spec = tracer.load_spec(spec_file)
    answers = key(spec)
    assert float(answers["Δw_xg0"]) == 0.0
    answers["Δw_xg0"] = f"{-0.1 * ERR_G:.6f}"
    assert marks(spec, answers)["Δw_xg0"].diagnosis == "frozen bias treated wrongly"


def test_carried_forward_error_is_not_counted_twice():
    answers = key(EKMAN)
    err_f = -0.15  # wrong, and not a classic mistake
    answers["error term f"] = "-0.15"
    answers["dE/dy_g"] = f"{err_f * 0.5:.6f}"
    answers["error term g"] = f"{err_f * 0.5 * (1 - Y_G ** 2):.6f}"
    answers["dE/dw_gf0"] = "-0.15"
    answers["Δw_gf0"] = "0.015"
    answers["w_gf0 new"] = "-0.185"
    m = marks(EKMAN, answers)
    assert m["error term f"].status == "wrong" and m["error term f"].diagnosis == ""
    for label in ("dE/dy_g", "error term g", "dE/dw_gf0", "Δw_gf0", "w_gf0 new"):
        assert m[label].status == "carried forward", label
    assert sum(x.status == "wrong" for x in m.values()) == 1


def test_ekman_printed_hand_values_are_accepted():
    """The book's own rounded numbers (004_...txt) grade as right."""
    answers = key(EKMAN)
    answers.update({"z_g": "-0.25", "y_f": "0.42", "MSE": "0.17", "MSE'": "-0.58", "error term f": "-0.14",
                    "error term g": "-0.066", "Δw_xg0": "0.0066", "Δw_xg1": "-0.0060", "Δw_xg2": "0.00066",
                    "Δw_gf0": "0.014", "Δw_gf1": "-0.0035", "w_xg0 new": "0.3066", "w_xg1 new": "0.5940",
                    "w_xg2 new": "-0.0993", "w_gf0 new": "-0.1859", "w_gf1 new": "0.4965"})
    m = marks(EKMAN, answers)
    assert all(x.status in ("correct", "rounded", "carried forward") for x in m.values()), \
        [(x.label, x.answer, x.status) for x in m.values() if x.status == "wrong"]


def test_rounded_intermediates_accepted_between_exact_and_rounded_trace():
    answers = key(EKMAN)
    answers["error term f"] = "-0.14"
    answers["y_g"] = "-0.24"
    answers["dE/dw_gf1"] = "0.0336"  # -0.14 * -0.24, from the rounded values (exact 0.0346)
    m = marks(EKMAN, answers)
    assert m["dE/dw_gf1"].status in ("rounded", "carried forward")
    answers["dE/dw_gf1"] = "0.0400"
    assert marks(EKMAN, answers)["dE/dw_gf1"].status == "wrong"


def test_blank_and_unparseable():
    answers = key(EKMAN)
    answers["z_g"] = None
    answers["y_g"] = "about -0.2"
    answers["z_f"] = "−0,3225"  # a typographic minus and a decimal comma are fine
    m = marks(EKMAN, answers)
    assert (m["z_g"].status, m["y_g"].status, m["z_f"].status) == ("blank", "unparseable", "correct")


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tracer", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_twenty_variants_grade_into_one_gradebook_and_bad_files_do_not_stop_the_batch(tmp_path):
    p = cli("template", "frey-online", "--steps", "2", "--notation", "frey", "--variants", "20", "--seed", "7",
            "--out", tmp_path / "ex", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    keys = sorted((tmp_path / "ex").glob("*-key.xlsx"))
    exercises = sorted(set((tmp_path / "ex").glob("*.xlsx")) - set(keys))
    assert len(keys) == len(exercises) == 20
    variants = {openpyxl.load_workbook(k, read_only=True)["answers"]["B2"].value for k in keys}
    assert len(variants) == 20
    first = openpyxl.load_workbook(keys[0])["answers"]
    given = {r[0].value: r[1].value for r in first.iter_rows() if r[0].value and "sample 1: x" in str(r[0].value)}
    assert given  # the variant's own inputs are given
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "notes.txt").write_text("hello")
    p = cli("check", "frey-online", *keys, tmp_path / "broken.xlsx", tmp_path / "notes.txt", exercises[0],
            "--out", tmp_path / "grades", cwd=tmp_path, )
    assert p.returncode == 1, p.stderr
    lines = p.stdout.splitlines()
    assert sum(": not graded: " in l for l in lines) == 2
    assert sum(l.endswith(f"{n}/{n}") for l in lines for n in [l.rsplit(" ", 1)[-1].split("/")[0]]) == 20
    book = pd.read_csv(tmp_path / "grades" / "gradebook.csv")
    assert len(book) == 23 and (book["score"][:20] == book["total"][:20]).all()
    assert set(book["variant"][:20]) == variants
    assert (tmp_path / "grades" / "gradebook.xlsx").is_file()
    assert "blank" in (tmp_path / "grades" / f"{exercises[0].stem}.html").read_text()


def test_csv_answers_and_feedback_report(tmp_path):
    answers = key(EKMAN)
    answers["error term g"] = f"{-ERR_G:.6f}"
    with open(tmp_path / "alice.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["quantity", "value"])
        w.writerows(answers.items())
    p = cli("check", find_example("ekman"), tmp_path / "alice.csv", "--report", tmp_path / "alice.html", cwd=tmp_path)
    assert p.returncode == 1 and "error term g: wrong (sign flipped)" in p.stdout
    html = (tmp_path / "alice.html").read_text()
    assert "sign flipped" in html and f"{ERR_G:.6g}" in html
    p = cli("check", find_example("ekman"), tmp_path / "alice.csv", "--report", tmp_path / "alice.xlsx", cwd=tmp_path)
    assert (tmp_path / "alice.xlsx").is_file()


def test_formula_without_cached_value_and_wrong_sheet(tmp_path):
    write_exercise(EKMAN, tmp_path / "ex.xlsx", key=True)
    wb = openpyxl.load_workbook(tmp_path / "ex.xlsx")
    ws = wb["answers"]
    for row in ws.iter_rows():
        if row[0].value == "z_g":
            row[1].value = "=0.3+0.6*-0.9+-0.1*0.1"
    wb.save(tmp_path / "formula.xlsx")  # openpyxl saves formulas without values
    result = check_file(EKMAN, tmp_path / "formula.xlsx")
    assert any("formula without a saved value" in p for p in result.problems)
    wb["answers"].title = "Sheet1"
    wb.save(tmp_path / "renamed.xlsx")
    assert "no sheet 'answers'" in check_file(EKMAN, tmp_path / "renamed.xlsx").error


def test_check_exit_codes(tmp_path):
    write_exercise(EKMAN, tmp_path / "k.xlsx", key=True)
    assert cli("check", "ekman", tmp_path / "k.xlsx", cwd=tmp_path).returncode == 0
    p = cli("check", tmp_path / "missing.yaml", tmp_path / "k.xlsx", cwd=tmp_path)
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1


def test_learning_bias_left_unchanged_and_huge_file(tmp_path):
    answers = key(EKMAN)
    answers["Δw_gf0"] = "0"
    assert marks(EKMAN, answers)["Δw_gf0"].diagnosis == "frozen bias treated wrongly"
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"quantity,value\n" + b"z_g,1\n" * (1_000_000))
    result = check_file(EKMAN, huge)
    assert result.error.startswith("larger than") and not result.marks
