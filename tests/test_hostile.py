"""Hostile input ends cleanly: a generated corpus of more than 500 specs and 50 answer files.

Every spec either runs (exit 0, or 1 when training diverges) or is refused in one line (`tracer: error: ...`,
exit 2; or exit 3 for a run that cannot fit in memory) with no traceback and nothing written. Every answer
file of a batch gets its own line and gradebook row, the batch always finishes, and nothing a file holds is
echoed unless it is an answer of the exercise.
"""
from __future__ import annotations

import copy
import json
import os
import re
import time
from pathlib import Path

import pytest
import yaml

import tracer

from tools.cli import tracer_cli
from tracer.cli import main
from tracer.io.resources import find_example

pytestmark = pytest.mark.slow  # subprocesses, real tools or whole workbooks: left out of the quick loop

BASE = yaml.safe_load(find_example("ekman").read_text())
HUGE_INT = int("9" * 401)
VALUES = [None, True, "no", "abc", "", [], {}, [[]], -1, 0, 0.5, 1e300, -1e300, HUGE_INT, "1e-3", "nan", ".inf",
          "=1+1", "@SUM(A1)", "-x", "\ud800", "x" * 20_000, [1, 2, 3], {"name": "tanh"}, 10**9]
PATHS = ["name", "title", "source", "notation", "inputs", "layers", "loss", "learning_rate", "weight_decay",
         "momentum", "training", "training.mode", "training.epochs", "training.batch_size", "training.shuffle",
         "training.seed", "training.reduction", "training.update_order", "data", "steps", "init",
         "layers.0.name", "layers.0.units", "layers.0.activation", "layers.0.weights", "layers.0.bias",
         "layers.0.frozen", "layers.0.units.0", "layers.1.weights.0", "layers.1.weights.0.1", "data.0",
         "data.0.x", "data.0.y", "data.0.x.1", "layers.1.activation"]


def put(spec: dict, path: str, value) -> dict:
    """A copy of spec with the value at a dotted path replaced (a missing container made a mapping)."""
    out = copy.deepcopy(spec)
    node, *keys = [out] + path.split(".")
    node = out
    parts = path.split(".")
    for k in parts[:-1]:
        k = int(k) if isinstance(node, list) else k
        if isinstance(node, dict) and k not in node:
            node[k] = {}
        node = node[k]
    last = int(parts[-1]) if isinstance(node, list) else parts[-1]
    node[last] = value
    return out


def corpus() -> list[tuple[str, str, str]]:
    """(id, file suffix, text) of hostile specs: every value at every place, and texts no parser likes."""
    cases = []
    for path in PATHS:
        for i, value in enumerate(VALUES):
            spec = put(BASE, path, value)
            try:
                text = yaml.safe_dump(spec, allow_unicode=False) if i % 2 else json.dumps(spec)
            except (TypeError, ValueError):
                continue
            cases.append((f"{path}={i}", ".yaml" if i % 2 else ".json", text))
    good = find_example("ekman").read_text()
    raw = {
        "sexagesimal": good.replace("learning_rate: 0.1", "learning_rate: 1:30"),
        "duplicate key": good + "learning_rate: 0.5\n",
        "shuffle no": good.replace("{mode: online, epochs: 1}", '{mode: online, epochs: 1, shuffle: "no"}'),
        "frozen x": good.replace("activation: tanh", "activation: tanh\n    frozen: [[x, 'no', 1]]"),
        "unknown in init": good.replace("weights: [[0.3, 0.6, -0.1]]   # w_xg0 (bias), w_xg1, w_xg2",
                                        "init: {method: uniform, low: 1, high: -1, colour: red}"),
        "low above high": good.replace("weights: [[0.3, 0.6, -0.1]]   # w_xg0 (bias), w_xg1, w_xg2",
                                       "init: {method: uniform, low: 1, high: -1}"),
        "unknown in data row": good.replace("{x: [-0.9, 0.1], y: [1.0]}", "{x: [-0.9, 0.1], y: [1.0], w: 2}"),
        "nested 1000": "a: " + "[" * 1000 + "]" * 1000 + "\n",
        "json nested 1000": "[" * 1000 + "]" * 1000,
        "json 5001 digits": '{"name": "x", "learning_rate": ' + "9" * 5001 + "}",
        "epochs 1e9": good.replace("epochs: 1", "epochs: 1000000000"),
        "epochs 1e300": good.replace("epochs: 1", "epochs: 1e300"),
        "inputs 1e8": good.replace("inputs: [x1, x2]", "inputs: 100000000"),
        "lone surrogate": good.replace("title: Two-neuron", 'title: "\\ud800 Two-neuron'),
        "tab indent": good.replace("  - name: G", "\t- name: G"),
        "not a mapping": "- 1\n- 2\n",
        "empty": "",
        "binary": "\x00\x01\x02\xff",
        "bom": "\ufeff" + good,
        "anchors bomb": "a: &a [" + ",".join(["x"] * 50) + "]\nb: &b [" + ",".join(["*a"] * 50) + "]\n"
                        "c: [" + ",".join(["*b"] * 50) + "]\n",
        "python tag": "!!python/object/apply:os.system ['echo hacked']\n",
        "unit =": good.replace("units: [g]", "units: ['=HYPERLINK(x)']"),
        "layer @": good.replace("name: G\n", "name: '@G'\n"),
        "input +": good.replace("inputs: [x1, x2]", "inputs: ['+x1', x2]"),
        "steps abc": good + "steps: abc\n",
        "steps 0": good + "steps: '0'\n",
        "diverging": good.replace("activation: sigmoid", "activation: linear").replace(
            "learning_rate: 0.1", "learning_rate: 1e154").replace("epochs: 1}", "epochs: 50}"),
    }
    cases += [(name, ".json" if name.startswith("json") else ".yaml", text) for name, text in raw.items()]
    return cases


CORPUS = corpus()


def run_cli(args: list[str]) -> tuple[int, str, str]:
    ran = tracer_cli(args, Path.cwd())
    return ran.returncode, ran.stdout, ran.stderr


def test_the_corpus_is_large():
    assert len(CORPUS) >= 500, len(CORPUS)


def test_every_hostile_spec_ends_cleanly(tmp_path):
    outcomes = {}
    for n, (case, suffix, text) in enumerate(CORPUS):
        folder = tmp_path / f"c{n}"
        folder.mkdir()
        spec = folder / f"spec{suffix}"
        spec.write_bytes(text.encode("utf-8", "surrogatepass"))
        status, out, err = run_cli(["run", str(spec), "--trace", str(folder / "t"), "--html", str(folder / "r.html"),
                                    "-q"])
        written = sorted(p.name for p in folder.iterdir() if p.name != spec.name)
        outcomes[case] = status
        assert "Traceback" not in err, case
        if status in (2, 3):
            assert len(err.strip().splitlines()) == 1 and err.startswith("tracer: error: "), (case, err)
            assert written == [], (case, written)
            assert "root:x:0" not in err
        else:
            assert status in (0, 1), (case, status, err)
            assert "t" in written and "r.html" in written, (case, written)
    assert outcomes["diverging"] == 1
    for refused in ("sexagesimal", "duplicate key", "shuffle no", "frozen x", "unknown in init", "low above high",
                    "unknown in data row", "nested 1000", "json nested 1000", "json 5001 digits", "epochs 1e9",
                    "epochs 1e300", "inputs 1e8", "lone surrogate", "unit =", "layer @", "input +", "steps abc",
                    "steps 0", "python tag", "binary"):
        assert outcomes[refused] == 2, (refused, outcomes[refused])
    assert outcomes["bom"] == 0  # Excel's "CSV UTF-8" and Notepad's UTF-8 start with a byte-order mark


def test_messages_name_the_users_file_and_never_echo_a_files_content(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(find_example("ekman").read_text().replace(
        "  - {x: [-0.9, 0.1], y: [1.0]}", "  {csv: /etc/passwd, x: [a, b], y: [c]}").replace("data:\n", "data:"))
    status, _, err = run_cli(["run", str(spec)])
    assert status == 2 and "root:" not in err and str(spec) in err
    latin = tmp_path / "d.csv"
    latin.write_bytes("x1,x2,y\n0.1,\xe90.2,1\n".encode("latin-1"))
    spec.write_text(find_example("ekman").read_text().replace(
        "  - {x: [-0.9, 0.1], y: [1.0]}", "  {csv: d.csv, x: [x1, x2], y: [y]}").replace("data:\n", "data:"))
    status, _, err = run_cli(["run", str(spec)])
    assert status == 2 and "not UTF-8" in err and ".tracer-tmp" not in err
    twice = tmp_path / "t.csv"
    twice.write_text("x1,x1,y\n0.1,0.2,1\n", encoding="utf-8")
    spec.write_text(spec.read_text().replace("d.csv", "t.csv"))
    status, _, err = run_cli(["run", str(spec)])
    assert status == 2 and "two columns of the same name" in err


@pytest.mark.parametrize("epochs", ["010", "0o12", "0x0A", "+10"])
def test_integers_are_yaml_1_2_decimal_never_octal(tmp_path, epochs):
    """`epochs: 010` trains ten epochs and `learning_rate: 010` is ten (PyYAML's YAML 1.1 read both as 8)."""
    spec = tmp_path / "s.yaml"
    spec.write_text(find_example("ekman").read_text().replace("epochs: 1}", f"epochs: {epochs}}}").replace(
        "learning_rate: 0.1", "learning_rate: 010"))
    loaded = tracer.load_spec(spec)
    assert loaded.training.epochs == 10 and loaded.learning_rate == 10


def test_nested_aliases_are_refused_before_they_expand(tmp_path):
    """Nine levels of ten aliases (2.6 kB) would be a billion values: refused in one line within seconds."""
    lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    spec = tmp_path / "bomb.yaml"
    spec.write_text("\n".join(lines) + "\n")
    start = time.process_time()
    status, _, err = run_cli(["run", str(spec), "--trace", str(tmp_path / "t")])
    assert time.process_time() - start < 5
    assert status == 2 and "YAML aliases" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("unit", ["a\\nb", "a\\tb", "g\\u001b[31m", "g\\u0000", "g\\u200b"])
def test_names_with_control_characters_are_refused(tmp_path, unit):
    """A newline, tab, escape or invisible character in a name would forge lines on the terminal and in CSVs,
    or make two labels look alike: refused in one line naming the place."""
    spec = tmp_path / "s.yaml"
    spec.write_text(find_example("ekman").read_text().replace("units: [g]", f'units: ["{unit}"]'))
    status, _, err = run_cli(["run", str(spec), "--trace", str(tmp_path / "t")])
    assert status == 2 and "layers[0].units[0]" in err and ("control character" in err or "NUL" in err), err
    assert len(err.splitlines()) == 1 and not (tmp_path / "t").exists()


def test_file_names_cannot_forge_terminal_lines(tmp_path):
    """An answer file whose name holds a newline and a fake verdict, or an escape sequence: one line each, the
    control characters shown escaped."""
    forged = tmp_path / "x\nalice.xlsx [ekman]: 26 of 26.csv"
    forged.write_text("quantity,value\nz_g,-0.25\n")
    coloured = tmp_path / "\x1b[31mred.csv"
    coloured.write_text("quantity,value\nz_g,-0.25\n")
    status, out, err = run_cli(["check", "ekman", str(forged), str(coloured)])
    lines = out.splitlines()
    assert status == 1 and len(lines) == 3 and "\x1b" not in out, out  # two students and the class line
    assert lines[0].startswith("x\\nalice.xlsx [ekman]: 26 of 26.csv [ekman]: 1/26")
    assert lines[1].startswith("\\x1b[31mred.csv [ekman]: 1/26")


@pytest.mark.parametrize("init", ["{method: uniform, low: -1e308, high: 1e308}", "{method: normal, std: 1e300}"])
def test_initial_weights_beyond_what_arithmetic_holds_are_refused(tmp_path, init):
    spec = tmp_path / "s.yaml"
    spec.write_text(find_example("ekman").read_text().replace("weights: [[0.3, 0.6, -0.1]]", f"init: {init}"))
    status, _, err = run_cli(["run", str(spec), "-q"])
    assert status == 2 and "layers[0].init" in err and len(err.splitlines()) == 1, err


def test_a_csv_with_a_byte_order_mark_is_read(tmp_path):
    (tmp_path / "d.csv").write_bytes("\ufeffx1,x2,y\n-0.9,0.1,1.0\n".encode("utf-8"))
    spec = tmp_path / "s.yaml"
    spec.write_text(find_example("ekman").read_text().replace(
        "  - {x: [-0.9, 0.1], y: [1.0]}", "  {csv: d.csv, x: [x1, x2], y: [y]}").replace("data:\n", "data:"))
    assert run_cli(["run", str(spec), "-q"])[0] == 0


@pytest.mark.parametrize("cell, message", [("abc", "d.csv:3:x2: expected a number, got 'abc'"),
                                           ("inf", "d.csv:3:x2: expected a finite number, got inf"),
                                           ("", "d.csv:3:x2: expected a number, got ''")])
def test_a_bad_data_cell_is_named_by_line_and_column(tmp_path, cell, message):
    """The data are converted in one block; a cell that fails it is then found and named."""
    (tmp_path / "d.csv").write_text(f"x1,x2,y\n-0.9,0.1,1.0\n0.5,{cell},0\n")
    spec = tmp_path / "s.yaml"
    spec.write_text(find_example("ekman").read_text().replace(
        "  - {x: [-0.9, 0.1], y: [1.0]}", "  {csv: d.csv, x: [x1, x2], y: [y]}").replace("data:\n", "data:"))
    status, _, err = run_cli(["run", str(spec), "-q"])
    assert status == 2 and message in err, err


def test_data_cells_read_as_float_reads_them():
    """The block conversion reads each text as Python's float() does: spaces, underscores, exponents, -0."""
    from tracer.model.fields import whole_block

    texts = [" 2.5 ", "1_000", "1e-3", "-0", "0.1", "-1.7976931348623157e308"]
    block = whole_block([texts], list(range(len(texts))))
    assert block.tolist() == [[float(t) for t in texts]] and str(block[0, 3]) == "-0.0"
    assert whole_block([["1", "nan"]], [0, 1]) is None and whole_block([["1"]], [0, 1]) is None


@pytest.mark.parametrize("option", [["--notation", "latex"], ["--steps", "0"], ["--digits", "0"],
                                    ["--max-rows", "0"], ["--paper", "a3"], ["--format", "xml"],
                                    ["--trace-steps", "2-9"], ["--epochs", "-1"]])
def test_a_bad_option_writes_nothing_at_all(tmp_path, option):
    status, _, err = run_cli(["run", "ekman", "--trace", str(tmp_path / "t"), "--xlsx", str(tmp_path / "w.xlsx"),
                              "--html", str(tmp_path / "r.html"), *option])
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["run", "ekman", "--trace", "t", "--xlsx", "w.csv"],
                                     ["run", "ekman", "--html", "r.xlsx"],
                                     ["template", "ekman", "--out", "ex.csv"],
                                     ["template", "ekman", "--out", "ex.xlsx", "--key", "key.CSV"]])
def test_an_output_named_for_another_format_is_refused(tmp_path, command, monkeypatch):
    """A workbook written under a .csv name opened as binary garbage in an editor (and Excel refuses it)."""
    monkeypatch.chdir(tmp_path)
    status, _, err = run_cli(command)
    assert status == 2 and "give a name ending in ." in err and len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []


def test_a_run_that_diverges_writes_what_it_has_and_exits_1_whatever_the_specs_steps(tmp_path):
    spec = tmp_path / "d.yaml"
    spec.write_text(find_example("ekman").read_text().replace("activation: sigmoid", "activation: linear")
                    .replace("learning_rate: 0.1", "learning_rate: 1e154").replace("epochs: 1}", "epochs: 50}")
                    + "steps: 1-50\n")
    status, _, err = run_cli(["run", str(spec), "--xlsx", str(tmp_path / "d.xlsx"), "--trace", str(tmp_path / "t")])
    assert status == 1 and "training diverged" in err and "--steps" not in err
    assert (tmp_path / "d.xlsx").is_file() and (tmp_path / "t" / "nodes.csv").is_file()


def test_a_run_that_cannot_fit_in_memory_is_refused_with_the_estimate(tmp_path):
    status, _, err = run_cli(["run", "xor", "--epochs", "50000000", "--trace", str(tmp_path / "t")])
    assert status == 3 and "GiB of memory" in err and "--trace-steps" in err
    assert list(tmp_path.iterdir()) == []


# -- answer files -------------------------------------------------------------------------------------
def answer_corpus(folder: Path) -> list[Path]:
    """More than 50 hostile or broken answer files, and one good one."""
    from tracer.grading.template import write_exercise

    ekman = find_example("ekman")
    import tracer

    spec = tracer.load_spec(ekman)
    write_exercise(spec, folder / "good.xlsx", key=True)
    files = [folder / "good.xlsx"]
    texts = {
        "empty.csv": "", "header.csv": "quantity,value\n", "passwd.csv": Path("/etc/passwd").read_text()[:2000],
        "tiny.csv": "1e-999\n", "precise.csv": "z_g,-0.25000000000000000000000001\n",
        "neg0.csv": "z_g,-0\n", "inf.csv": "z_g,1e999\n", "words.csv": "z_g,about minus a quarter\n",
        "claims.csv": "steps,40000\nz_g,-0.25\ny_g,-0.24\n", "variant.csv": "variant,ekman:x:y\nz_g,1\n",
        "other.csv": "variant,xor:1:1\nz_g,1\n", "negseed.csv": "variant,ekman:-1:1\nz_g,1\n",
        "bigindex.csv": "variant,ekman:1:999999999\nz_g,1\n", "notation.csv": "notation,klingon\nz_g,1\n",
        "longlabel.csv": "z" * 10_000 + ",1\n", "nul.csv": "z_g\x00,1\n", "semicolon.csv": "z_g;-0,25\n",
        "tab.csv": "z_g\t-0.25\n", "quote.csv": '"z_g,1\n', "formula.csv": "z_g,=1+1\n", "at.csv": "@SUM(A1),1\n",
        "cr.csv": "z_g,-0.25\r\ny_g,-0.24\r\n", "many.csv": "".join(f"q{i},{i}\n" for i in range(19_000)),
        "toomany.csv": "".join(f"q{i},{i}\n" for i in range(25_000)), "dup.csv": "z_g,1\nz_g,2\n",
        "steps-text.csv": "steps,1-3\nz_g,1\n", "steps-huge.csv": "steps,1-40000\nz_g,1\n",
        "unicode.csv": "z_g,−0.25\ny_g,‒0.24\n", "spaces.csv": "  Z_G  ,  -0.25  \n", "nan.csv": "z_g,nan\n",
        "hex.csv": "z_g,0x10\n", "exp.csv": "z_g,-2.5e-1\n", "comma.csv": "z_g,\"-0,25\"\n",
        "binary.xlsx": "\x00\x01binary", "text.xlsx": "not a zip at all", "notes.txt": "hello",
        "noext": "z_g,1\n", "latin1.csv": None, "bom.csv": None,
    }
    for name, text in texts.items():
        path = folder / name
        if name == "latin1.csv":
            path.write_bytes("z_g,-0.25\nnotes,\xe9t\xe9\n".encode("latin-1"))
        elif name == "bom.csv":
            path.write_bytes("\ufeffz_g,-0.25\n".encode("utf-8"))
        else:
            path.write_text(text, encoding="utf-8")
        files.append(path)
    import zipfile

    with zipfile.ZipFile(folder / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (30 * 2**20))
    with zipfile.ZipFile(folder / "empty.xlsx", "w") as z:
        z.writestr("nothing.txt", "")
    (folder / "huge.csv").write_bytes(b"quantity,value\n" + b"z_g,1\n" * 1_000_000)
    (folder / "dangling.csv").symlink_to(folder / "nowhere.csv")
    (folder / "passwd-link.csv").symlink_to("/etc/passwd")
    (folder / "folder.csv").mkdir()
    os.mkfifo(folder / "fifo.csv")
    files += [folder / n for n in ("bomb.xlsx", "empty.xlsx", "huge.csv", "dangling.csv", "passwd-link.csv",
                                   "folder.csv", "fifo.csv")]
    import openpyxl

    edits = {"formula": ("z_g", "=0.3+0.6*-0.9"), "hyperlink": ("y_g", '=HYPERLINK("http://x","1")'),
             "tiny-text": ("z_f", "1e-999"), "another-spec": ("variant", "frey-online:1:1"),
             "klingon": ("notation", "klingon"), "steps": ("steps", "40000"), "label": ("=cmd|' /C calc'!A0", 1)}
    for name, (label, value) in edits.items():
        wb = openpyxl.load_workbook(folder / "good.xlsx")
        ws = wb["answers"]
        rows = {row[0].value: row for row in ws.iter_rows()}
        if label in rows:
            rows[label][1].value = value
        else:
            ws.append([label, value])
        wb.save(folder / f"{name}.xlsx")
        files.append(folder / f"{name}.xlsx")
    wb = openpyxl.load_workbook(folder / "good.xlsx")
    wb["answers"].title = "Sheet1"
    wb.save(folder / "renamed.xlsx")
    files.append(folder / "renamed.xlsx")
    return files


def test_hostile_answer_files_never_stop_or_poison_a_batch(tmp_path):
    folder = tmp_path / "answers"
    folder.mkdir()
    files = answer_corpus(folder)
    assert len(files) >= 50
    status, out, err = run_cli(["check", "ekman", *map(str, files), "--out", str(tmp_path / "grades")])
    assert status == 1 and "Traceback" not in err and err == "", err
    lines = [line for line in out.splitlines() if not line.startswith(("wrote ", "class: "))]
    assert len(lines) == len(files)
    assert lines[0].startswith("good.xlsx [ekman]: 26/26")
    graded = (tmp_path / "grades")
    assert len(list(graded.glob("*.html"))) == len(files)  # every file its own page
    everything = out + "".join(p.read_text(encoding="utf-8", errors="replace") for p in graded.iterdir()
                               if p.suffix in (".html", ".csv"))
    assert "root:x:0" not in everything and "/bin/bash" not in everything
    for line in lines:
        if "fifo" in line or "folder" in line:
            assert "not a regular file" in line
    book = (graded / "gradebook.csv").read_text(encoding="utf-8")
    assert not re.search(r"^[=+\-@]", book, re.M)  # no cell a spreadsheet would execute


def test_an_answer_file_that_cannot_be_read_is_its_own_verdict(tmp_path):
    """Links to /proc/self/mem (EIO) and /proc/self/pagemap (EINVAL) are regular files that cannot be read:
    each gets its line and its feedback page, the batch goes on, the grade book is written."""
    folder = tmp_path / "answers"
    folder.mkdir()
    assert main(["template", "ekman", "--out", str(tmp_path / "blank.xlsx"), "--key", str(folder / "good.xlsx")]) == 0
    (folder / "mem.csv").symlink_to("/proc/self/mem")
    (folder / "pagemap.csv").symlink_to("/proc/self/pagemap")
    status, out, err = run_cli(["check", "ekman", *map(str, sorted(folder.iterdir())), "--out", str(tmp_path / "g")])
    assert status == 1 and err == "", err
    assert "mem.csv: not graded: cannot be read (" in out and "pagemap.csv: not graded: cannot be read (" in out
    assert "good.xlsx [ekman]: 26/26" in out and (tmp_path / "g" / "gradebook.csv").is_file()


@pytest.mark.slow
def test_a_thousand_unit_layer_summary_run_takes_seconds(tmp_path):
    """1,000 inputs into 1,000 units (a million weights), summary only: the trace's text columns are built in
    linear time (a list .index() per row made this 2,000-2,000-1 net take 4.5 minutes)."""
    spec = tmp_path / "wide.yaml"
    spec.write_text(json.dumps({"name": "wide", "inputs": 1000, "loss": "half_sse", "learning_rate": 0.1,
                                "layers": [{"name": "H", "units": 1000, "activation": "sigmoid",
                                            "init": {"method": "uniform", "low": -0.01, "high": 0.01}},
                                           {"name": "O", "units": 1, "activation": "sigmoid",
                                            "init": {"method": "uniform", "low": -0.1, "high": 0.1}}],
                                "training": {"mode": "online", "epochs": 1},
                                "data": [{"x": [0.001 * i for i in range(1000)], "y": [1.0]}]}))
    start = time.process_time()
    status, out, err = run_cli(["run", str(spec), "-q"])
    assert status == 0, err
    assert time.process_time() - start < 10


def test_a_short_file_cannot_claim_forty_thousand_steps(tmp_path):
    (tmp_path / "a.csv").write_text("steps,40000\nz_g,-0.25\n", encoding="utf-8")
    status, out, _ = run_cli(["check", "xor", str(tmp_path / "a.csv")])
    assert status == 1 and "a.csv [xor]" in out
