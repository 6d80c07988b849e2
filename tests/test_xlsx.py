"""Excel workbooks: content read back with openpyxl, formulas recomputed by LibreOffice against the engine.

Every workbook of the suite that LibreOffice recalculates is recalculated here, in one soffice call (the
`recalculated` fixture), a student's answer workbook with formulas among them."""
from __future__ import annotations

import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

import tracer
import tracer.model.notation
from tools.cells import iteration_rows, workbook_cells
from tools.libreoffice import recalculate_many
from tracer.io.resources import example_paths, find_example
from tracer.export.xlsx import write_workbook
from tracer.io.workbooks import read_xlsx
from test_grid import tiny
from test_rnn import demo as rnn_demo
from test_grid_oracle import random_spec
from test_rnn_oracle import random_rnn
from traces import example_trace

pytestmark = pytest.mark.slow  # subprocesses, real tools or whole workbooks: left out of the quick loop

ROWS = 400  # rows of the long sheets in this module's workbooks (the default is 2,000)

EXAMPLES = [p.stem for p in example_paths()]
SHEETS = ["overview", "worked example", "iterations", "nodes", "weights", "updates", "losses"]


def run(name, **kw):
    return tracer.run(tracer.load_spec(find_example(name)), **kw) if kw else example_trace(name)


def close(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    return abs(a - b) <= max(1e-12, 1e-9 * max(abs(a), abs(b)))


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory):
    """Values and formula workbooks of every bundled example, long sheets cut at ROWS rows (xor's 400 rows chain
    its weights through 100 steps: every formula of the sheet, recomputed from the first weights on)."""
    out = tmp_path_factory.mktemp("xlsx")
    books = {}
    for name in EXAMPLES:
        trace = run(name)
        books[name] = (trace, out / f"{name}-values.xlsx", out / f"{name}-formulas.xlsx")
        write_workbook(trace, books[name][1], max_rows=ROWS)
        write_workbook(trace, books[name][2], formulas=True, max_rows=ROWS)
    return books


@pytest.fixture(scope="module")
def recalculated(workbooks, soffice, tmp_path_factory):
    """Every workbook this module recomputes, its cached values stripped, by LibreOffice in one call: each
    example's formula workbook (by name), the edited workbooks (('edited', name)) and the every-activation
    workbooks (('every', spec name)), each as (the workbook written, LibreOffice's recalculated copy)."""
    out = tmp_path_factory.mktemp("edits")
    books = {name: workbooks[name][2] for name in workbooks}
    books.update({("edited", name): edited_workbook(name, out) for name in EDITED})
    books.update({("every", spec.name): every_activation_workbook(spec, out) for spec in every_activation_specs()})
    books["student"] = student_workbook(out)
    books.update({("grid", seed): grid_workbooks(seed, out)[1] for seed in GRID_SEEDS})
    books.update({("edited", kind): edited_shared_workbook(kind, out) for kind in SHARED_EDITS})
    paths = recalculate_many(soffice, list(books.values()), tmp_path_factory.mktemp("lo"))
    return {key: (books[key], path) for key, path in zip(books, paths)}


@pytest.mark.parametrize("name", EXAMPLES)
def test_libreoffice_recomputes_every_formula_to_the_engine_values(name, workbooks, recalculated):
    trace, values_path, formulas_path = workbooks[name]
    formulas = workbook_cells(formulas_path, data_only=False)
    computed = workbook_cells(recalculated[name][1], data_only=True)
    engine = workbook_cells(values_path, data_only=True)
    checked = 0
    for key, text in formulas.items():
        if isinstance(text, str) and text.startswith("="):
            assert key in computed, f"LibreOffice left {key} ({text}) empty"
            assert not isinstance(computed[key], str), f"{key} {text} -> {computed[key]}"
            assert close(computed[key], engine[key]), f"{key} {text}: LibreOffice {computed[key]} engine {engine[key]}"
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("name", EXAMPLES)
def test_values_workbook_holds_the_trace(name, workbooks):
    trace, values_path, _ = workbooks[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        back = read_xlsx(values_path)
    assert back.tables.keys() == trace.tables.keys()  # a conv's or rnn's contributions too
    for table, df in trace.tables.items():  # bit for bit, the engine's dtypes; long tables stop at max_rows
        n = min(len(df), ROWS)
        pd.testing.assert_frame_equal(back.tables[table], df.iloc[:n], check_exact=True, obj=table)
    cut = [t for t, df in trace.tables.items() if len(df) > ROWS]
    assert len(caught) == len(cut) and all("holds only the first" in str(w.message) for w in caught)
    wb = openpyxl.load_workbook(values_path, read_only=True)
    iterations = iteration_rows(wb["iterations"])
    z_cols = [i for i, h in enumerate(iterations[0]) if h in {tracer.model.notation.profile(None, trace.spec).label(
        "z", l.name, u) for l in trace.spec.layers for u in l.units}]
    units = sum(len(l.units) for l in trace.spec.layers)
    assert len(z_cols) == units
    np.testing.assert_array_equal([iterations[1][c] for c in z_cols], trace.nodes["z"].iloc[:units])


@pytest.mark.parametrize("name", EXAMPLES)
def test_layout_is_identical_with_and_without_formulas(name, workbooks):
    trace, values_path, formulas_path = workbooks[name]
    values, formulas = workbook_cells(values_path, data_only=False), workbook_cells(formulas_path, data_only=False)
    assert values.keys() == formulas.keys()
    for key, v in values.items():
        if isinstance(v, str):
            assert formulas[key] == v, key
    assert openpyxl.load_workbook(values_path).sheetnames == SHEETS + list(trace.tables)[4:]


def test_only_inputs_are_literal_numbers_in_formula_mode(workbooks):
    trace, _, formulas_path = workbooks["frey-batch"]
    ws = openpyxl.load_workbook(formulas_path)["worked example"]
    literals = [c.value for row in ws.iter_rows() for c in row[1:] if isinstance(c.value, (int, float))]
    allowed = set(trace.spec.x.ravel()) | set(trace.spec.y.ravel())  # later steps take weights from the chain
    assert set(literals) <= allowed


def test_ekman_worked_example_reads_like_the_book(workbooks):
    trace, values_path, formulas_path = workbooks["ekman"]
    ws = openpyxl.load_workbook(values_path)["worked example"]
    rows = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r[0]}
    assert round(rows["y_f"], 2) == 0.42 and round(rows["error term g"], 3) == -0.066
    assert round(rows["w_xg1 new"], 4) == 0.594 and round(rows["Δw_gf1"], 4) == -0.0035
    labels = list(rows)
    assert labels.index("z_g") < labels.index("y_f") < labels.index("MSE") < labels.index("error term f") \
        < labels.index("error term g") < labels.index("dE/dw_xg1") < labels.index("w_xg1 new")
    f = openpyxl.load_workbook(formulas_path)
    assert f.defined_names["learning_rate"].attr_text == "overview!$B$9"
    worked = {r[0].value: r[1].value for r in f["worked example"].iter_rows() if r[0].value}
    assert worked["w_xg1"] == "=w_xg1" and worked["Δw_xg1"].startswith("=-learning_rate*")


def assert_same_sheets(recomputed, fresh) -> None:
    """The worked example and the iterations of a workbook LibreOffice recomputed equal a fresh run's, cell by
    cell (the same cells, values within close())."""
    for sheet in ("worked example", "iterations"):
        got, want = numbers(recomputed[sheet]), numbers(fresh[sheet])
        assert got.keys() == want.keys(), sheet
        bad = [(k, got[k], want[k]) for k in want if not close(got[k], want[k])]
        assert not bad, (sheet, bad[:5])


def numbers(ws) -> dict:
    """Every numeric cell of a sheet by coordinate."""
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row
            if isinstance(c.value, (int, float)) and not isinstance(c.value, bool)}


EDITED = ["frey-minibatch", "ekman"]
EDITS = {"learning_rate": 0.25, "input": 0.35, "weight": -0.7}  # the learning rate, x of sample 1, one weight


def edited_workbook(name: str, out) -> Path:
    """The example's formula workbook with the learning rate, its first input of sample 1 and its first unit's
    last weight changed as a user changes them: in the named input cells."""
    spec = tracer.load_spec(find_example(name))
    path = out / f"{name}.xlsx"
    write_workbook(example_trace(name), path, formulas=True)
    wb = openpyxl.load_workbook(path)
    for cell_name, value in {"learning_rate": EDITS["learning_rate"], f"{spec.inputs[0]}_1": EDITS["input"]}.items():
        sheet, cell = wb.defined_names[cell_name].attr_text.replace("$", "").split("!")
        wb[sheet.strip("'")][cell] = value
    layer = spec.layers[0]
    where = (layer.name, layer.units[0], layer.sources[-1])  # the overview lists weight, value, layer, unit, source
    row = next(r for r in wb["overview"].iter_rows() if tuple(c.value for c in r[2:5]) == where)
    row[1].value = EDITS["weight"]
    wb.save(out / f"{name}-changed.xlsx")
    return out / f"{name}-changed.xlsx"


@pytest.mark.parametrize("name", EDITED)
def test_editing_the_learning_rate_a_weight_and_an_input_recomputes_like_a_fresh_run(name, recalculated, tmp_path):
    """Change the learning rate, one initial weight and one input in the file, let LibreOffice recalculate,
    and compare the overview's loss table, the worked example and the iterations sheets cell by cell with the
    workbook of a fresh run of the edited spec."""
    spec = tracer.load_spec(find_example(name))
    recomputed = openpyxl.load_workbook(recalculated[("edited", name)][1], data_only=True)
    weights = [l.weights.copy() for l in spec.layers]
    weights[0][0, -1] = EDITS["weight"]
    x = spec.x.copy()
    x[0, 0] = EDITS["input"]
    edited = spec.replace(learning_rate=EDITS["learning_rate"], x=x).with_weights(weights)
    write_workbook(tracer.run(edited), tmp_path / "fresh.xlsx")
    fresh = openpyxl.load_workbook(tmp_path / "fresh.xlsx")
    assert_same_sheets(recomputed, fresh)
    loss = {book: [r[9] for r in b["overview"].iter_rows(min_row=2, values_only=True) if isinstance(r[8], int)]
            for book, b in (("got", recomputed), ("want", fresh))}
    assert len(loss["want"]) == spec.training.epochs
    np.testing.assert_allclose(loss["got"], loss["want"], rtol=1e-9)


GRID_SEEDS = [0, 1, 8, 16, 18]  # conv -> pool setups: mean; first max, 3 kernels, padding; two convs; shared ties
GRID_SEEDS += ["rnn-1", "rnn-2", "rnn-4"]  # rnn setups: truncated BPTT, the last step's output, two inputs


def grid_workbooks(seed, out: Path) -> tuple[Path, Path]:
    """The values and the formula workbook of a random conv/pool setup (tests/test_grid_oracle.py) or rnn setup
    (tests/test_rnn_oracle.py, seeds 'rnn-N')."""
    raw = random_rnn(int(seed[4:])) if isinstance(seed, str) else random_spec(seed)
    trace = tracer.run(tracer.parse_spec(raw))
    paths = out / f"grid-{seed}-values.xlsx", out / f"grid-{seed}-formulas.xlsx"
    write_workbook(trace, paths[0])
    write_workbook(trace, paths[1], formulas=True)
    return paths


def bundled(name: str):
    """The raw spec of a bundled example, as SHARED_EDITS' nets are made."""
    return lambda: yaml.safe_load(find_example(name).read_text(encoding="utf-8"))


SHARED_EDITS = {  # per net: a shared weight (layer, row, source) and an input of sample 1 (its defined name)
    "conv": (tiny, ("c1", "k1", "w[2,2]"), -0.6, "x_2_3_1", "x[2,3]", 4.0),  # a kernel weight; x[2,3]
    "rnn": (rnn_demo, ("h", "h1", "h2"), 0.9, "x1_t2_1", "x1@t2", -1.5),  # a recurrent weight; x1 at step 2
    "rmit-conv-pool": (bundled("rmit-conv-pool"), ("c1", "k1", "w[2,2]"), 0.5, "x_2_3_1", "x[2,3]", 2.0),
    "yeh-rnn": (bundled("yeh-rnn"), ("h", "h1", "h2"), -0.5, "x_t2_1", "x@t2", 2.0),
}


def edited_shared_workbook(kind: str, out: Path) -> Path:
    """A conv or rnn net's formula workbook with one shared weight and one input changed in their cells."""
    make, where, weight, name, _, value = SHARED_EDITS[kind]
    path = out / f"{kind}.xlsx"
    write_workbook(tracer.run(tracer.parse_spec(make())), path, formulas=True)
    wb = openpyxl.load_workbook(path)
    row = next(r for r in wb["overview"].iter_rows() if tuple(c.value for c in r[2:5]) == where)
    row[1].value = weight
    sheet, cell = wb.defined_names[name].attr_text.replace("$", "").split("!")
    wb[sheet.strip("'")][cell] = value
    wb.save(out / f"{kind}-changed.xlsx")
    return out / f"{kind}-changed.xlsx"


@pytest.mark.parametrize("seed", GRID_SEEDS)
def test_libreoffice_recomputes_every_conv_and_pool_formula_to_the_engine(seed, recalculated, tmp_path):
    """Each position's net input b + Σ w x over its window, MAX or AVERAGE of a pool's window, the gradient
    routed to the first or the shared maxima, each shared weight's SUM over positions: LibreOffice gives the
    engine's numbers."""
    values_path, formulas_path = grid_workbooks(seed, tmp_path)
    formulas = workbook_cells(formulas_path, data_only=False)
    computed = workbook_cells(recalculated[("grid", seed)][1], data_only=True)
    engine = workbook_cells(values_path, data_only=True)
    texts = [t for t in formulas.values() if isinstance(t, str) and t.startswith("=")]
    for key, text in formulas.items():
        if isinstance(text, str) and text.startswith("="):
            assert not isinstance(computed.get(key), str) and computed.get(key) is not None, (key, text)
            assert close(computed[key], engine[key]), f"{key} {text}: LibreOffice {computed[key]} engine {engine[key]}"
    if isinstance(seed, int):
        pooled = "MAX(" if "maxpool2d" in str(random_spec(seed)) else "AVERAGE("
        assert any(pooled in t for t in texts) and any("SUM(" in t for t in texts) and len(texts) > 500
    else:  # each state's net input reads the state before it; each shared weight sums its time steps
        assert any("SUM(" in t for t in texts) and len(texts) > 200


@pytest.mark.parametrize("kind", SHARED_EDITS)
def test_editing_a_shared_weight_and_an_input_recomputes_like_a_fresh_run(kind, recalculated, tmp_path):
    """A conv's kernel weight or an rnn's recurrent weight, and an input, changed in the cells a user changes:
    LibreOffice's worked example and iterations equal those of a fresh run of the edited spec."""
    make, (_, row, source), weight, _, input_name, value = SHARED_EDITS[kind]
    recomputed = openpyxl.load_workbook(recalculated[("edited", kind)][1], data_only=True)
    spec = tracer.parse_spec(make())
    weights = [l.weights.copy() for l in spec.layers]
    weights[0][spec.layers[0].rows.index(row), spec.layers[0].sources.index(source)] = weight
    x = spec.x.copy()
    x[0, spec.inputs.index(input_name)] = value
    write_workbook(tracer.run(spec.replace(x=x).with_weights(weights)), tmp_path / "fresh.xlsx")
    fresh = openpyxl.load_workbook(tmp_path / "fresh.xlsx")
    assert_same_sheets(recomputed, fresh)
    write_workbook(tracer.run(spec), tmp_path / "unedited.xlsx")
    unedited = numbers(openpyxl.load_workbook(tmp_path / "unedited.xlsx")["worked example"])
    assert unedited != numbers(fresh["worked example"]), "the edits change the numbers"


def test_same_spec_same_bytes(tmp_path):
    trace = run("frey-online")
    write_workbook(trace, tmp_path / "a.xlsx", formulas=True)
    write_workbook(run("frey-online"), tmp_path / "b.xlsx", formulas=True)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_chart_and_highlights(workbooks):
    _, values_path, _ = workbooks["maren"]
    with zipfile.ZipFile(values_path) as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())
    wb = openpyxl.load_workbook(values_path)
    rules = [r for cf in wb["worked example"].conditional_formatting for r in cf.rules]
    assert any("ABS(" in (r.formula or [""])[0] for r in rules)  # saturated derivatives
    assert {r.operator for r in rules if r.type == "cellIs"} == {"greaterThan", "lessThan"}  # green/red delta w
    # Maren's second pattern saturates H1: its derivative is < 1e-3, so the highlight applies
    it = iteration_rows(wb["iterations"])
    col = it[0].index("αH_1(1-H_1)")
    assert min(abs(r[col]) for r in it[1:] if r[col] is not None) < 1e-3


def test_spec_text_is_written_as_text(tmp_path):
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(find_example("ekman").read_text().replace(
        "title: Two-neuron network G (tanh) -> F (logistic)", "title: '=HYPERLINK(\"http://x\",\"1\")'")
        .replace("source: \"", "source: \"=1+1 "))
    trace = tracer.run(tracer.load_spec(spec_file))
    write_workbook(trace, tmp_path / "s.xlsx", formulas=True)
    ws = openpyxl.load_workbook(tmp_path / "s.xlsx")["overview"]
    assert ws["A1"].value == '=HYPERLINK("http://x","1")' and ws["A1"].data_type == "s"
    assert ws["A2"].data_type == "s"


def test_pattern_columns_test_each_pattern_with_the_rows_weights(tmp_path):
    """'pattern d right' is |y - yhat| < 0.5 for pattern d with that row's weights, computed here by a plain
    loop over the xor network; 'all right' is all of them. xor gets every pattern right after about 4,500
    steps: the sheet shows rows 4,001-4,800 wrong first and right at the end."""
    spec = tracer.load_spec(find_example("xor"))
    trace = tracer.run(spec, epochs=1200)
    write_workbook(trace, tmp_path / "x.xlsx", max_rows=5000)
    it = list(openpyxl.load_workbook(tmp_path / "x.xlsx", read_only=True)["iterations"].iter_rows(values_only=True))
    head = it[0]
    w_cols = [head.index(label) for label in
              ("b_h1", "w_h1,x1", "w_h1,x2", "b_h2", "w_h2,x1", "w_h2,x2", "b_o", "w_o,h1", "w_o,h2")]
    sig = lambda z: 1 / (1 + np.exp(-z))
    seen = set()
    for row in it[1:4801]:
        w = [row[c] for c in w_cols]
        right = []
        for (x1, x2), y in zip(spec.x, spec.y[:, 0]):
            h1, h2 = sig(w[0] + w[1] * x1 + w[2] * x2), sig(w[3] + w[4] * x1 + w[5] * x2)
            right.append(abs(y - sig(w[6] + w[7] * h1 + w[8] * h2)) < 0.5)
        assert [row[head.index(f"pattern {d} right")] for d in (1, 2, 3, 4)] == right, row[:3]
        assert row[head.index("all right")] == all(right)
        seen.add(all(right))
    assert seen == {False, True}


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tracer", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_cli_writes_reports_name_xlsx_by_default(tmp_path):
    p = cli("run", find_example("ekman"), "--xlsx", "--formulas", "-q", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "out" / "ekman.xlsx").is_file()
    p = cli("run", find_example("ekman"), "--xlsx", tmp_path / "mine.xlsx", "--steps", "1", "-q", cwd=tmp_path)
    assert p.returncode == 0 and (tmp_path / "mine.xlsx").is_file()


def test_cli_bad_input_writes_no_workbook(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(find_example("ekman").read_text().replace("tanh", "tanhh"))
    p = cli("run", bad, "--xlsx", "--formulas", cwd=tmp_path)
    assert p.returncode == 2 and not (tmp_path / "out").exists()
    p = cli("run", find_example("ekman"), "--xlsx", tmp_path / "x.xlsx", "--steps", "7", cwd=tmp_path)
    assert p.returncode == 2 and "--steps" in p.stderr and not (tmp_path / "x.xlsx").exists()


def every_activation_spec(output: str, loss: str, mode: dict):
    """A deep network with every activation the bundled examples do not use, to check their Excel text."""
    import warnings

    rng = np.random.default_rng(5)
    acts = ["relu", {"name": "piecewise_linear", "xmin": -1.0, "xmax": 1.5}, {"name": "gaussian", "mu": 0.1,
                                                                               "sigma": 0.9},
            {"name": "bipolar_sigmoid", "sigma": 1.5}, {"name": "tanh", "a": 1.7159, "b": 2 / 3}, "threshold", "linear"]
    layers, n_in = [], 2
    for k, act in enumerate(acts):
        layers.append({"name": f"L{k + 1}", "units": 3, "activation": act,
                       "weights": rng.uniform(-0.9, 0.9, size=(3, n_in + 1)).round(2).tolist()})
        n_in = 3
    layers.append({"name": "out", "units": 3, "activation": output,
                   "weights": rng.uniform(-0.9, 0.9, size=(3, 4)).round(2).tolist()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tracer.parse_spec({
            "name": f"every-{loss}", "inputs": 2, "layers": layers, "loss": loss, "learning_rate": 0.3,
            "weight_decay": 0.05, "momentum": 0.4, "training": mode,
            "data": [{"x": [0.3, -0.6], "y": [0.2, 0.5, 0.3]}, {"x": [-0.8, 0.4], "y": [0.6, 0.1, 0.3]},
                     {"x": [0.5, 0.9], "y": [0.1, 0.1, 0.8]}]})


def every_activation_specs() -> list:
    return [every_activation_spec("softmax", "half_sse", {"mode": "batch", "epochs": 2}),
            every_activation_spec("linear", "mse", {"mode": "minibatch", "batch_size": 2, "epochs": 2,
                                                    "reduction": "sum"}),
            every_activation_spec({"name": "sigmoid", "alpha": 1.5}, "binary_cross_entropy",
                                  {"mode": "online", "epochs": 1})]


def every_activation_workbook(spec, out) -> Path:
    """The spec's formula workbook, with its values workbook beside it (`<name>-v.xlsx`)."""
    trace = tracer.run(spec)
    write_workbook(trace, out / f"{spec.name}-v.xlsx")
    write_workbook(trace, out / f"{spec.name}.xlsx", formulas=True)
    return out / f"{spec.name}.xlsx"


EKMAN_Z_G = "=0.3+0.6*(-0.9)+(-0.1)*0.1"  # Ekman's z_g, typed as a formula


def student_workbook(out) -> Path:
    """Ekman's answer key as a student fills it in LibreOffice, partly with formulas (openpyxl saves them without
    values)."""
    from tracer.grading.template import write_exercise

    write_exercise(tracer.load_spec("ekman"), out / "key.xlsx", key=True)
    wb = openpyxl.load_workbook(out / "key.xlsx")
    rows = {row[0].value: row for row in wb["answers"].iter_rows()}
    rows["z_g"][1].value = EKMAN_Z_G
    rows["y_g"][1].value = "=TANH(B{})".format(rows["z_g"][1].row)
    rows["z_f"][1].value = "=-0.2+0.5*B{}".format(rows["y_g"][1].row)
    wb.save(out / "student.xlsx")
    return out / "student.xlsx"


def test_a_students_workbook_saved_by_libreoffice_is_graded_by_its_values(recalculated):
    """The values LibreOffice computed and saved are graded; the same file without them has three blanks."""
    from tracer.grading.check import check_file

    ekman = tracer.load_spec("ekman")
    typed, saved = recalculated["student"]
    assert check_file(ekman, typed).score == 23  # openpyxl kept no values: 3 unparseable
    result = check_file(ekman, saved)
    status = {m.label: m.status for m in result.marks}
    assert result.error == "" and (status["z_g"], status["y_g"]) == ("correct", "correct")
    assert status["z_f"] == "correct" and result.score == result.total == 26


def test_every_activation_and_loss_as_formulas_in_libreoffice(recalculated):
    for spec in every_activation_specs():
        source, recomputed = recalculated[("every", spec.name)]
        formulas = workbook_cells(source, data_only=False)
        computed = workbook_cells(recomputed, data_only=True)
        engine = workbook_cells(source.with_name(f"{spec.name}-v.xlsx"), data_only=True)
        checked = 0
        for key, text in formulas.items():
            if isinstance(text, str) and text.startswith("="):
                assert close(computed[key], engine[key]), f"{spec.name} {key} {text}: {computed[key]} vs {engine[key]}"
                checked += 1
        assert checked > 100
