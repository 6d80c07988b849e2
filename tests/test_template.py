"""tracer template: the exercise workbook's layout and order, keys that are the engine's trace of the
numbers the workbook gives (and Ekman's printed numbers), seeded variants without saturated units,
deterministic files, spec text as text, bad options.
"""
from __future__ import annotations

import zipfile

import numpy as np
import openpyxl
import pytest
from printed import matches_printed
from tools.cli import tracer_cli

import tracer
from tracer.grading.check import check_answers, check_file
from tracer.grading.numbers import Rounding
from tracer.errors import TracerError
from tracer.io.resources import find_example
from tracer.grading.template import write_exercise, write_variants
from tracer.grading.variants import draw_variant, variant_spec

EKMAN = tracer.load_spec(find_example("ekman"))
FREY = tracer.load_spec(find_example("frey-online"))

# Ekman's worked example, in the book's order (004_...txt): forward pass, MSE, backward pass, adjustments
EKMAN_ORDER = ["z_g", "y_g", "z_f", "y_f", "MSE", "MSE'", "y'_f", "error term f", "dE/dy_g", "y'_g", "error term g",
               "dE/dw_xg0", "dE/dw_xg1", "dE/dw_xg2", "dE/dw_gf0", "dE/dw_gf1",
               "Δw_xg0", "Δw_xg1", "Δw_xg2", "Δw_gf0", "Δw_gf1",
               "w_xg0 new", "w_xg1 new", "w_xg2 new", "w_gf0 new", "w_gf1 new"]


def sheet(path):
    """(header cells, given rows, quantity rows) of an answer workbook, as openpyxl reads them."""
    ws = openpyxl.load_workbook(path)["answers"]
    rows = [(r[0].value, r[1].value) for r in ws.iter_rows(max_col=2) if r[0].value is not None]
    labels = [r[0] for r in rows]
    given = dict(rows[labels.index("given") + 1:labels.index("quantity")])
    return ws, given, rows[labels.index("quantity") + 1:]


def test_ekman_exercise_layout(tmp_path):
    write_exercise(EKMAN, tmp_path / "ex.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "ex.xlsx")
    assert wb.sheetnames == ["answers"]
    ws, given, quantities = sheet(tmp_path / "ex.xlsx")
    assert [(ws[f"A{r}"].value, ws[f"B{r}"].value) for r in (2, 3, 4)] == \
        [("variant", "ekman"), ("notation", "ekman"), ("steps", "1")]
    assert wb.properties.keywords == "ekman"
    assert {p.name: p.value for p in wb.custom_doc_props.props} == {
        "variant": "ekman", "notation": "ekman", "steps": "1",
        "rounding": "the digits each answer shows (at least 2 significant)"}
    assert (ws["A7"].value, ws["B7"].value) == ("rounding", "the digits each answer shows (at least 2 significant)")
    # the book's initial weights, training example and learning rate are given
    assert {k: given[k] for k in ("w_xg0", "w_xg1", "w_xg2", "w_gf0", "w_gf1")} == \
        {"w_xg0": 0.3, "w_xg1": 0.6, "w_xg2": -0.1, "w_gf0": -0.2, "w_gf1": 0.5}
    assert (given["sample 1: x1"], given["sample 1: x2"], given["sample 1: y"], given["lr"]) == (-0.9, 0.1, 1.0, 0.1)
    assert "tanh" in given["layer G"] and "sigmoid" in given["layer F"]
    assert [label for label, _ in quantities] == EKMAN_ORDER
    assert all(value is None for _, value in quantities)


def test_ekman_key_has_the_books_numbers_and_the_engines(tmp_path):
    write_exercise(EKMAN, tmp_path / "key.xlsx", key=True)
    ws, _, quantities = sheet(tmp_path / "key.xlsx")
    key = dict(quantities)
    assert ws["A1"].value.startswith("Answer key")
    printed = {"y_f": "0.42", "MSE": "0.17", "MSE'": "-0.58", "error term f": "-0.14", "error term g": "-0.066",
               "Δw_xg0": "0.0066", "Δw_xg1": "-0.0060", "Δw_xg2": "0.00066", "Δw_gf0": "0.014", "Δw_gf1": "-0.0035",
               "w_xg0 new": "0.3066", "w_xg1 new": "0.5940", "w_gf1 new": "0.4965"}
    for label, text in printed.items():
        assert matches_printed(key[label], text), (label, key[label], text)
    trace = tracer.run(EKMAN)
    exact = pytest.approx  # XlsxWriter writes 16 significant digits
    assert key["y_f"] == exact(trace.nodes.loc[trace.nodes["unit"] == "f", "a"].item(), rel=1e-15)
    assert [key[f"w_{s} new"] for s in ("xg0", "xg1", "xg2", "gf0", "gf1")] == \
        exact(trace.updates["w_new"].tolist(), rel=1e-15)


def test_every_example_key_grades_all_correct(example, tmp_path):
    spec = tracer.load_spec(example)
    steps = min(2, tracer.run(spec, epochs=1).step_count() * spec.training.epochs)
    write_exercise(spec, tmp_path / "key.xlsx", key=True, steps=steps)
    write_exercise(spec, tmp_path / "ex.xlsx", steps=steps)
    result = check_file(spec, tmp_path / "key.xlsx")
    assert result.all_correct, [(m.label, m.answer, m.expected) for m in result.marks if m.status != "correct"]
    blank = check_file(spec, tmp_path / "ex.xlsx")
    assert blank.total == result.total and blank.score == 0


def test_steps_and_samples_in_labels(tmp_path):
    spec = tracer.load_spec(find_example("ekman-iterations"))
    write_exercise(spec, tmp_path / "two.xlsx", key=True, steps=2)
    labels = [label for label, _ in sheet(tmp_path / "two.xlsx")[2]]
    assert labels == [f"step {s}: {label}" for s in (1, 2) for label in EKMAN_ORDER]
    write_exercise(tracer.load_spec(find_example("frey-batch")), tmp_path / "batch.xlsx", notation="frey")
    labels = [label for label, _ in sheet(tmp_path / "batch.xlsx")[2]]
    assert labels[0] == "sample 1: h_1^h" and "sample 4: E" in labels
    assert "∂E/∂w_01 (batch)" in labels and "Δw_01" in labels and "w_01 new" in labels


def test_key_is_the_engine_trace_of_the_numbers_it_gives(tmp_path):
    """A variant's key, graded against a spec rebuilt from the weights and inputs printed in the workbook."""
    write_variants(FREY, tmp_path, 3, seed=11, steps=2)
    for index in (1, 2, 3):
        _, given, quantities = sheet(tmp_path / "keys" / f"frey-online-variant-{index:02d}-key.xlsx")
        weights = [np.array([[given[f"{'v' if l.name == 'hidden' else 'w'}_{i}{j + 1}"] for i in range(len(l.sources))]
                             for j in range(len(l.units))]) for l in FREY.layers]
        x = np.array([[given[f"sample {d}: x_{i}"] for i in (1, 2)] for d in (1, 2)])
        y = np.array([[given[f"sample {d}: y_{k}"] for k in (1, 2)] for d in (1, 2)])
        assert (y == FREY.y[:2]).all()  # targets stay
        rebuilt = FREY.with_weights(weights).replace(x=np.vstack([x, FREY.x[2:]]))
        marks = check_answers(rebuilt, {label: repr(v) for label, v in quantities}, rtol=1e-12,
                              rounding=Rounding.decimals(15))
        assert {m.status for m in marks} == {"correct"}


def test_variants_are_distinct_reproducible_handy_and_unsaturated(tmp_path):
    a = write_variants(FREY, tmp_path / "a", 5, seed=3)
    b = write_variants(FREY, tmp_path / "b", 5, seed=3)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]  # same seed, same files, byte for byte
    ids = [openpyxl.load_workbook(p, read_only=True)["answers"]["B2"].value for p in a]
    assert ids[::2] == ids[1::2] == [f"frey-online:3:{i}" for i in range(1, 6)]  # exercise and key share the id
    draws = [variant_spec(FREY, vid) for vid in ids[::2]]
    assert len({d.layers[0].weights.tobytes() for d in draws}) == 5
    for d in draws:
        for values in [l.weights for l in d.layers] + [d.x]:
            assert np.abs(values).max() <= 1 and np.allclose(values, np.round(values, 1))
        trace = tracer.run(d, epochs=1)
        assert trace.nodes["da_dz"].min() >= 0.1 * 0.25  # no sigmoid unit below a tenth of its slope at 0
    other = draw_variant(FREY, 4, 1)
    assert not np.array_equal(other.layers[0].weights, draws[0].layers[0].weights)


def steep(tmp_path, alpha):
    path = tmp_path / f"maren-{alpha}.yaml"
    path.write_text(find_example("maren").read_text().replace("alpha: 2.0", f"alpha: {alpha}"))
    return tracer.load_spec(path)


@pytest.mark.slow
def test_saturated_draws_are_rejected_unless_asked(tmp_path):
    spec = steep(tmp_path, 5.0)  # sigmoid slope at 0 is alpha/4 = 1.25; saturated below 0.125
    for index in range(1, 6):
        assert tracer.run(draw_variant(spec, 1, index), epochs=1).nodes["da_dz"].min() >= 0.125
    allowed = [draw_variant(spec, 1, index, saturated=True) for index in range(1, 6)]
    assert any(tracer.run(d, epochs=1).nodes["da_dz"].min() < 0.125 for d in allowed)
    paths = write_variants(spec, tmp_path / "sat", 1, seed=1, saturated=True)
    vid = openpyxl.load_workbook(paths[0], read_only=True)["answers"]["B2"].value
    assert vid == "maren:1:1:saturated"
    assert np.array_equal(variant_spec(spec, vid).layers[0].weights, allowed[0].layers[0].weights)
    with pytest.raises(TracerError, match="--saturated"):
        draw_variant(steep(tmp_path, 500.0), 1, 1)


def test_bad_variant_ids():
    for vid in ("frey-online:x:1", "frey-online:1", "frey-online:1:2:hot"):
        with pytest.raises(TracerError, match="not a variant id"):
            variant_spec(FREY, vid)
    for vid in ("ekman:1:2", "ekman"):
        with pytest.raises(TracerError, match="exercise on 'ekman', not on 'frey-online'"):
            variant_spec(FREY, vid)


def test_frozen_weights_stay_in_variants(tmp_path):
    path = tmp_path / "fixed.yaml"
    path.write_text(find_example("ekman").read_text().replace("activation: tanh", "activation: tanh\n    frozen: bias"))
    spec = tracer.load_spec(path)
    write_variants(spec, tmp_path / "v", 2, seed=5)
    for index in (1, 2):
        _, given, _ = sheet(tmp_path / "v" / f"ekman-variant-{index:02d}.xlsx")
        assert given["w_xg0 (kept fixed)"] == 0.3


def test_files_are_deterministic_and_spec_text_is_text(tmp_path):
    spec = EKMAN.replace(title="=1+2", source='=HYPERLINK("http://example.com","click")')
    for name in ("a", "b"):
        write_exercise(spec, tmp_path / f"{name}.xlsx", key=True)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    ws = openpyxl.load_workbook(tmp_path / "a.xlsx")["answers"]
    assert ws["A5"].value == spec.source and ws["A5"].data_type == "s"
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()


def cli(*args, cwd):
    return tracer_cli(["template", *args], cwd)


def test_bad_variant_folders_are_refused_before_any_variant_is_made(tmp_path, monkeypatch):
    """500 variants take seconds to draw and trace: a workbook given as the folder, or keys beside the
    handouts, is refused first."""
    from tracer.grading import template

    def never(*args, **kwargs):
        raise AssertionError("variants made before the folders were checked")
    monkeypatch.setattr(template, "variant_exercises", never)  # the command imports it from there when it runs
    p = cli("frey-online", "--variants", "500", "--out", tmp_path / "x.xlsx", cwd=tmp_path)
    assert p.returncode == 2 and "--out is a folder" in p.stderr and list(tmp_path.iterdir()) == []
    p = cli("frey-online", "--variants", "500", "--out", tmp_path / "v", "--keys", tmp_path / "v", cwd=tmp_path)
    assert p.returncode == 2 and "keys go into their own folder" in p.stderr and list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_template_cli(tmp_path):
    p = cli("ekman", "--out", tmp_path / "ex.xlsx", "--key", tmp_path / "key.xlsx", cwd=tmp_path)
    assert p.returncode == 0 and p.stdout.count("wrote ") == 2
    p = cli("frey-online", "--variants", "2", "--seed", "1", "--out", tmp_path / "v", cwd=tmp_path)
    assert p.returncode == 0 and len(list((tmp_path / "v").glob("*.xlsx"))) == 2
    assert len(list((tmp_path / "v" / "keys").glob("*-key.xlsx"))) == 2  # keys never beside the handouts
    p = cli("frey-online", "--steps", "1-3", "--out", tmp_path / "r.xlsx", "--key", tmp_path / "rk.xlsx", cwd=tmp_path)
    assert p.returncode == 0, p.stderr  # --steps takes the same ranges as in every command
    p = cli("ekman", "--out", tmp_path / "same.xlsx", "--key", tmp_path / "same.xlsx", cwd=tmp_path)
    assert p.returncode == 2 and "also the output of --out" in p.stderr and not (tmp_path / "same.xlsx").exists()
    for bad in (["ekman", "--steps", "2"], ["ekman", "--steps", "0"], ["ekman", "--notation", "klingon"],
                ["ekman", "--variants", "0"], ["ekman", "--variants", "2", "--key", "k.xlsx"],
                ["ekman", "--variants", "2"], ["ekman", "--seed", "-1"], ["ekman", "--moodle", "q.xml"]):
        p = cli(*bad, "--out", tmp_path / "bad" / "x.xlsx", cwd=tmp_path)
        assert p.returncode == 2 and len(p.stderr.splitlines()) == 1 and "Traceback" not in p.stderr, (bad, p.stderr)
    assert not (tmp_path / "bad").exists()
