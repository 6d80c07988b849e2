"""`tracer run` and `tracer examples` as a user types them; bad input gives one line, exit 2, no files."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from printed import matches_printed
from tracer.cli import main
from tracer.io.resources import find_example

pytestmark = pytest.mark.slow  # subprocesses, real tools or whole workbooks: left out of the quick loop

ROOT = Path(__file__).resolve().parents[1]
EKMAN = find_example("ekman").read_text()


def tracer_cli(*args, cwd=None):
    """Run the real console entry (`python -m tracer`) in a subprocess: exit status, stdout, stderr."""
    p = subprocess.run([sys.executable, "-m", "tracer", *map(str, args)], capture_output=True, text=True, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def test_run_writes_the_four_tables_and_a_summary(tmp_path):
    status, out, err = tracer_cli("run", find_example("ekman"), "--trace", tmp_path / "out")
    assert status == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["losses.csv", "nodes.csv", "trace.json",
                                                                    "updates.csv", "weights.csv"]
    # the summary shows Ekman's printed numbers: MSE 0.17 and the new weights 0.3066 0.5940 -0.0993 -0.1859 0.4965
    loss = re.search(r"mean loss \(epoch 1\): (\S+)\n", out).group(1)  # one epoch: one value, not "a -> a"
    assert matches_printed(float(loss), "0.17")
    weights = [float(v) for v in re.findall(r" (-?\d\.\d+)", "".join(l for l in out.splitlines() if "." in l[:6]))]
    printed = ["0.3066", "0.5940", "-0.0993", "-0.1859", "0.4965"]
    assert len(weights) == 5 and all(matches_printed(w, p) for w, p in zip(weights, printed)), out


def test_run_a_bundled_example_by_name(tmp_path):
    status, out, _ = tracer_cli("run", "frey-batch", "--quiet", cwd=tmp_path)
    assert status == 0 and out == ""


def test_examples_lists_every_bundled_spec():
    status, out, _ = tracer_cli("examples")
    assert status == 0
    for name in ("ekman", "frey-online", "frey-batch", "frey-minibatch", "maren", "cs510", "davila-sse",
                 "davila-cross-entropy", "xor"):
        assert any(line.split()[0] == name for line in out.splitlines())


def ekman_with(old: str, new: str) -> str:
    assert old in EKMAN
    return EKMAN.replace(old, new, 1)


BAD = {
    "unknown activation": (ekman_with("activation: tanh", "activation: tanhh"),
                           "layers[0].activation: unknown activation 'tanhh'; use one of"),
    "unknown loss": (ekman_with("loss: half_sse", "loss: mae"), "loss: unknown loss 'mae'; use one of"),
    "weight row too long": (ekman_with("[[-0.2, 0.5]]", "[[-0.2, 0.5, 0.1]]"),
                            "layers[1].weights[0]: expected 2 numbers (bias + 1 input), got 3"),
    "y of the wrong length": (ekman_with("y: [1.0]", "y: [1.0, 0.0]"), "data[0].y: expected 1 target value (one per output unit), got 2"),
    "x of the wrong length": (ekman_with("x: [-0.9, 0.1]", "x: [-0.9]"), "data[0].x: expected 2 numbers"),
    "non-numeric weight": (ekman_with("[[-0.2, 0.5]]", "[[-0.2, abc]]"), "layers[1].weights[0][1]:"),
    "NaN value": (ekman_with("x: [-0.9, 0.1]", "x: [.nan, 0.1]"), "data[0].x[0]:"),
    "infinite value": (ekman_with("learning_rate: 0.1", "learning_rate: .inf"), "learning_rate:"),
    "invalid YAML": (ekman_with("inputs: [x1, x2]", "inputs: [x1, x2"), "invalid YAML"),
    "missing key": (ekman_with("loss: half_sse", ""), "loss"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, case):
    text, expected = BAD[case]
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    out_dir = tmp_path / "out"
    status, out, err = tracer_cli("run", spec, "--trace", out_dir)
    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("tracer: error: ") and str(spec) in err
    assert expected in err
    assert "Traceback" not in err
    assert not out_dir.exists()


def test_readme_line_and_column_example_is_what_a_bad_spec_gives(tmp_path):
    """README's exit-status table quotes an error; a comma for the decimal point in ekman.yaml gives exactly it."""
    quoted = re.search(r"\(`(ekman\.yaml:\d+:\d+: learning_rate: [^`]*)`", (ROOT / "README.md").read_text()).group(1)
    (tmp_path / "ekman.yaml").write_text(ekman_with("learning_rate: 0.1", "learning_rate: 0,3"))
    status, _, err = tracer_cli("run", "ekman.yaml", cwd=tmp_path)
    assert status == 2 and err == f"tracer: error: {quoted}\n"


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_errors_name_the_line_and_column_of_the_value(tmp_path, suffix):
    raw = yaml.safe_load(EKMAN)
    raw["layers"][1]["weights"] = [[-0.2, "abc"]]
    text = yaml.safe_dump(raw, sort_keys=False) if suffix == "yaml" else json.dumps(raw, indent=2)
    spec = tmp_path / f"s.{suffix}"
    spec.write_text(text)
    line, column = map(int, re.search(rf"s\.{suffix}:(\d+):(\d+): layers\[1\]\.weights\[0\]\[1\]:",
                                      tracer_cli("run", spec)[2]).groups())
    assert text.splitlines()[line - 1][column - 1:].lstrip("'\"").startswith("abc")


def test_missing_file(tmp_path):
    status, _, err = tracer_cli("run", tmp_path / "nope.yaml")
    assert status == 2 and "nope.yaml: no such spec file" in err and len(err.splitlines()) == 1


def test_yaml_error_names_line_and_column(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(BAD["invalid YAML"][0])
    assert f"{spec}:" in tracer_cli("run", spec)[2]
    assert main(["run", str(spec)]) == 2


def test_divergence_stops_with_the_place_and_keeps_the_trace(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(ekman_with("activation: sigmoid", "activation: linear")
                    .replace("learning_rate: 0.1", "learning_rate: 1e154")
                    .replace("epochs: 1}", "epochs: 50}"))
    status, out, err = tracer_cli("run", spec, "--trace", tmp_path / "out")
    assert status == 1
    assert "training diverged at epoch" in err and ", step " in err and "layer" in err and "unit" in err
    nodes = (tmp_path / "out" / "nodes.csv").read_text().splitlines()
    assert 1 < len(nodes) < 1 + 2 * 50  # header + the rows up to the divergence


def test_threshold_warns_that_its_derivative_is_zero(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(ekman_with("activation: tanh", "activation: threshold"))
    status, _, err = tracer_cli("run", spec, "-q")
    assert status == 0
    assert err.startswith("tracer: warning: ") and "derivative" in err


def test_help_shows_an_example():
    status, out, _ = tracer_cli("run", "--help")
    assert status == 0 and "tracer run examples/ekman.yaml --trace out/" in out


def test_long_runs_say_what_they_are_doing_on_stderr(tmp_path):
    """A 20-30-10 net (940 weights) reports each phase; a small run stays quiet; -q silences it."""
    import yaml

    from nets import random_net_dict

    spec = tmp_path / "big.yaml"
    spec.write_text(yaml.safe_dump(random_net_dict((20, 30, 10), samples=3), sort_keys=False))
    p = subprocess.run([sys.executable, "-m", "tracer", "run", str(spec), "--html", str(tmp_path / "big.html")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines() == ["tracer: training 3 steps ...", f"tracer: writing {tmp_path / 'big.html'} ..."]
    p = subprocess.run([sys.executable, "-m", "tracer", "run", str(spec), "-q"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr == ""
    p = subprocess.run([sys.executable, "-m", "tracer", "run", "ekman", "--html", str(tmp_path / "e.html")],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr == ""


def test_a_reader_that_stops_reading_loses_no_output(tmp_path):
    """`tracer run ... | head`: the summary's reader is gone before the first line; the trace folder and the
    report are still written whole, exit status 0, nothing on stderr (they were discarded, with status 0)."""
    command = [sys.executable, "-m", "tracer", "run", "mazur-sequential", "--trace", "m", "--html", "r.html"]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader stops before the command prints anything
    assert proc.wait(timeout=120) == 0 and proc.stderr.read() == b""
    assert (tmp_path / "r.html").is_file() and sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "losses.csv", "nodes.csv", "trace.json", "updates.csv", "weights.csv"]
