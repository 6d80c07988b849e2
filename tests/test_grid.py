"""Conv and pool layers: the plan evaluated equals the engine (both update orders), every gradient equals finite
differences of the loss, the contributions table holds each term of each shared weight's gradient, grid specs are
validated in one line, and what does not show grid layers yet says so instead of writing something wrong."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tracer
from tracer import parse_spec, run
from tracer.errors import SpecError
from tracer.model.spec import spec_document

from test_grid_oracle import SETUPS, random_spec, random_spec_1d
from test_plan import assert_plan_is_the_engine
from tools.live import live_data


def tiny(**changes) -> dict:
    """A 1x4x4 image, two 2x2 kernels, a 2x2 max pool of stride 1 (overlapping windows), one sigmoid output."""
    raw = {"name": "tiny-conv", "inputs": {"name": "x", "shape": [1, 4, 4]},
           "layers": [{"name": "c1", "type": "conv2d", "activation": "relu", "kernel_size": 2,
                       "kernels": [[[0.1, -0.2], [0.3, 0.4]], [[-0.3, 0.2], [0.1, 0.05]]], "biases": [0.1, -0.1]},
                      {"name": "p1", "type": "maxpool2d", "size": 2, "stride": 1},
                      {"type": "flatten"},
                      {"name": "out", "units": ["o"], "activation": "sigmoid",
                       "weights": [[0.1, 0.2, -0.1, 0.3, 0.1, -0.2, 0.2, 0.1, 0.05]]}],
           "loss": "mse", "learning_rate": 0.5,
           "data": [{"x": [[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 1, 2]], "y": [1]}]}
    raw.update(changes)
    return raw


@pytest.mark.parametrize("order", ["simultaneous", "sequential"])
@pytest.mark.parametrize("seed", [*range(0, SETUPS, 2), "1d-1", "1d-2", "1d-3"])
def test_plan_evaluated_is_the_engine(seed, order):
    raw = random_spec_1d(int(seed[3:])) if isinstance(seed, str) else random_spec(seed)
    raw["learning_rate"] = 0.02
    raw["training"]["update_order"] = order
    spec = parse_spec(raw)
    trace = run(spec)
    assert_plan_is_the_engine(spec, trace, trace.values.steps())


def batch_loss(raw: dict) -> float:
    """The mean loss of the first step's samples before its update, as the engine computes it forward."""
    trace = run(parse_spec(raw), record="1")
    return float(trace.losses.loss.mean())


@pytest.mark.parametrize("pool", ["maxpool2d", "avgpool2d"])
@pytest.mark.parametrize("operation", ["cross_correlation", "convolution"])
def test_every_gradient_is_the_finite_difference_of_the_loss(pool, operation):
    """Inputs drawn from a continuum (no tied maxima, no z at a ReLU's kink), stride 2 and padding 1, two input
    channels, a batch of three: dE/dw of every kernel weight, bias and dense weight."""
    rng = np.random.default_rng(7)
    raw = {"name": "fd", "inputs": {"name": "x", "shape": [2, 5, 5]},
           "layers": [{"name": "c1", "type": "conv2d", "activation": "tanh", "kernel_size": 3, "stride": 2,
                       "padding": 1, "operation": operation, "kernels": rng.normal(0, 0.5, (2, 2, 3, 3)).tolist(),
                       "biases": [0.1, -0.2]},
                      {"name": "p1", "type": pool, "size": 2, "stride": 1},
                      {"name": "out", "units": 2, "activation": "sigmoid",
                       "weights": rng.normal(0, 0.5, (2, 9)).tolist()}],
           "loss": "half_sse", "learning_rate": 0.1, "training": {"mode": "batch"},
           "data": [{"x": rng.normal(0, 1, (2, 5, 5)).tolist(), "y": rng.uniform(0, 1, 2).tolist()}
                    for _ in range(3)]}
    assert_gradients_are_finite_differences(parse_spec(raw))


def assert_gradients_are_finite_differences(spec) -> None:
    """dE/dw of every weight of the first step, against the central difference of its batch loss."""
    grad = run(spec).updates.grad.to_numpy()
    h, k = 1e-6, 0
    for i, layer in enumerate(spec.layers):
        for index in np.ndindex(layer.weights.shape):
            def loss_at(shift):
                weights = [l.weights.copy() for l in spec.layers]
                weights[i][index] += shift
                return batch_loss(spec_document(spec.with_weights(weights)))
            numeric = (loss_at(h) - loss_at(-h)) / (2 * h)
            assert grad[k] == pytest.approx(numeric, rel=1e-5, abs=1e-9), (layer.name, index)
            k += 1
    assert k == len(grad)
    assert k == len(grad)


def test_a_max_pool_routes_overlapping_windows_to_one_cell():
    """c1[1,1,2] (1.8) is the max of two overlapping windows: its dE/da is the sum of both windows' deltas."""
    trace = run(parse_spec(tiny()))
    nodes = trace.nodes.set_index("unit")
    assert nodes.loc["c1[1,1,2]", "z"] == pytest.approx(1.8)
    assert nodes.loc["p1[1,1,1]", "a"] == nodes.loc["p1[1,1,2]", "a"] == pytest.approx(1.8)
    both = nodes.loc["p1[1,1,1]", "delta"] + nodes.loc["p1[1,1,2]", "delta"]
    assert nodes.loc["c1[1,1,2]", "dE_da"] == pytest.approx(both)
    assert nodes.loc["c1[1,1,1]", "dE_da"] == 0.0  # 0.2 is nobody's maximum


def test_the_contributions_are_each_term_of_each_shared_weights_gradient():
    raw = random_spec(3)
    spec = parse_spec(raw)
    trace = run(spec)
    c = trace.contributions
    assert list(c.columns) == ["epoch", "step", "sample", "layer", "unit", "source", "position", "cell", "input",
                               "delta", "contribution"]
    conv = spec.layers[0]
    assert np.allclose(c.contribution, c.delta * c.input, rtol=1e-15, atol=0)
    sums = c.groupby(["step", "sample", "layer", "unit", "source"], observed=True, sort=False).contribution.sum()
    weights = trace.weights[trace.weights.layer == conv.name]
    assert np.allclose(sums.to_numpy(), weights.grad.to_numpy(), rtol=1e-12, atol=1e-15)
    nodes = trace.nodes.set_index(["step", "sample", "unit"])
    first = c.iloc[len(c) // 2]
    assert first["delta"] == nodes.loc[(first["step"], first["sample"], first["position"]), "delta"]
    terms = int((conv.grid.window >= 0).sum()) + len(conv.units)  # a window's cells off the padding, a bias each
    assert conv.grid.padding == 1 and conv.bias and len(c) == len(trace.losses) * terms


def test_bias_rows_take_the_constant_1_and_no_padding_cell_is_a_term():
    raw = tiny()
    raw["layers"][0]["padding"] = 1  # 2x5x5 positions, pooled 2x2 by stride 2
    raw["layers"][1]["stride"] = 2
    trace = run(parse_spec(raw))
    c = trace.contributions
    assert set(c[c.source == "bias"].cell) == {"bias"} and (c[c.source == "bias"].input == 1).all()
    corner = c[(c.position == "c1[1,1,1]") & (c.unit == "k1")]
    assert list(corner.source) == ["bias", "w[2,2]"] and list(corner.cell) == ["bias", "x[1,1]"]


def test_a_1d_layer_names_its_cells_by_position_and_reads_one_row():
    raw = {"name": "c1d", "inputs": {"name": "x", "shape": [2, 7]},
           "layers": [{"name": "c1", "type": "conv1d", "activation": "relu", "kernel_size": 3, "stride": 2,
                       "padding": 1, "kernels": [[[0.1, -0.2, 0.3], [0.4, 0.1, -0.1]]], "biases": [0.1]},
                      {"name": "p1", "type": "maxpool1d", "size": 2},
                      {"name": "out", "units": 1, "activation": "sigmoid", "weights": [[0.1, 0.2, -0.3]]}],
           "loss": "half_sse", "learning_rate": 0.1,
           "data": [{"x": [[1, 2, 0, 1, 3, 1, 0], [0, 1, 2, 1, 0, 2, 1]], "y": [1]}]}
    spec = parse_spec(raw)
    c1, p1, _ = spec.layers
    assert spec.inputs[:2] == ("x[1,1]", "x[1,2]") and c1.units == ("c1[1]", "c1[2]", "c1[3]", "c1[4]")
    assert c1.sources[1:4] == ("w[1,1]", "w[1,2]", "w[1,3]") and p1.units == ("p1[1]", "p1[2]")
    z = run(spec).nodes.set_index("unit").z
    assert z["c1[1]"] == pytest.approx(0.1 + (-0.2 * 1 + 0.3 * 2) + (0.1 * 0 - 0.1 * 1))  # padding left of cell 1
    raw["layers"].insert(0, {"name": "c0", "type": "conv2d", "activation": "relu", "kernel_size": 1,
                             "kernels": [[[1.0]]], "biases": [0.0]})
    raw["inputs"]["shape"] = [1, 2, 7]
    with pytest.raises(SpecError, match="reads one row of cells"):
        parse_spec(raw)


def test_names_say_where():
    spec = parse_spec(tiny())
    c1, p1, out = spec.layers
    assert spec.inputs[:2] == ("x[1,1]", "x[1,2]") and len(spec.inputs) == 16
    assert c1.units[:2] == ("c1[1,1,1]", "c1[1,1,2]") and c1.units[-1] == "c1[2,3,3]"
    assert c1.kernels == ("k1", "k2") and c1.sources == ("bias", "w[1,1]", "w[1,2]", "w[2,1]", "w[2,2]")
    assert p1.units[-1] == "p1[2,2,2]" and out.sources[1:3] == ("p1[1,1,1]", "p1[1,1,2]")
    assert [p[:2] for p in spec.parameters[:6]] == [("c1", "k1")] * 5 + [("c1", "k2")]


def test_the_spec_document_reads_back_as_the_same_network():
    for raw in [*(random_spec(seed) for seed in range(4)), *(random_spec_1d(seed) for seed in range(3))]:
        spec = parse_spec(raw)
        again = parse_spec(spec_document(spec))
        assert [l.grid for l in again.layers] == [l.grid for l in spec.layers]
        assert np.array_equal(run(again).updates.w_new, run(spec).updates.w_new)


BAD = [
    (lambda r: r["layers"][0].update(kernel_size=5), "layers[0]", "window does not fit"),
    (lambda r: r["layers"][0].update(out_channels=2, kernels=[[[1, 2], [3, 4]]]), "layers[0].kernels", "expected 2"),
    (lambda r: r["layers"][0]["kernels"][1].pop(), "layers[0].kernels[1]", "2 rows of 2 weights"),
    (lambda r: r["layers"][0].pop("biases"), "layers[0].biases", "missing"),
    (lambda r: r["layers"][0].update(operation="flip"), "layers[0].operation", "cross_correlation or convolution"),
    (lambda r: r["layers"][1].update(ties="random"), "layers[1].ties", "first or shared"),
    (lambda r: r["layers"][1].update(type="avgpool2d", ties="shared"), "layers[1].ties", "first or shared"),
    (lambda r: r["layers"][1].update(type="pool"), "layers[1].type", "unknown layer type"),
    (lambda r: r["layers"][1].update(padding=1), "layers[1].padding", "unknown key"),
    (lambda r: r.update(inputs=16, data=[{"x": [0] * 16, "y": [1]}]), "layers[0].type", "reads a grid"),
    (lambda r: r["layers"].insert(3, r["layers"][0]), "layers[3].type", "reads a grid"),
    (lambda r: r["data"][0].update(x=[[1, 2, 0, 1], [0, 1, 3, 1]]), "data[0].x", "expected 16 numbers"),
    (lambda r: r["data"][0].update(x=[[1, 2, 0, 1], 0, [3, 1]]), "data[0].x[1]", "mixes numbers and rows"),
    (lambda r: r.update(inputs={"name": "x", "shape": [4]}), "inputs.shape", "[channels, height, width]"),
]


@pytest.mark.parametrize("change, place, words", BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_a_bad_grid_spec_names_the_place_and_the_fix(change, place, words):
    assert_refused(tiny(), change, place, words)


def assert_refused(raw: dict, change, place: str, words: str) -> None:
    """The spec `change` makes of `raw` is refused in one SpecError naming `place`, with `words` in it."""
    change(raw)
    with pytest.raises(SpecError) as caught:
        parse_spec(raw)
    assert caught.value.place == place and words in str(caught.value)


def test_tracer_run_writes_the_live_page_of_a_conv_net_with_each_image_a_grid_of_fields(tmp_path):
    """The page's numbers are checked in Chromium (test_live.py); here the command and the data's layout: each
    sample's 1x4x4 input as a 4x4 grid of fields, in the inputs' order, and every given placed in the spec
    document its Download spec writes."""
    import re

    import yaml

    path = tmp_path / "conv.yaml"
    path.write_text(yaml.safe_dump(tiny()))
    out = tmp_path / "live.html"
    done = subprocess.run([sys.executable, "-m", "tracer", "run", str(path), "--live", str(out), "-q"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    grids = re.findall(r'<table class="grid-input">(.*?)</table>', page, re.S)
    spec = parse_spec(tiny())
    assert len(grids) == len(spec.x)
    for i, grid in enumerate(grids):
        rows = [re.findall(r'data-g="(X\.\d+\.\d+)"', row) for row in grid.split("</tr>")[:-1]]
        assert rows == [[f"X.{i}.{4 * r + c}" for c in range(4)] for r in range(4)]
    data = live_data(page)
    placed = {field for _, field in data["places"]}
    assert placed == {f"W0.{p}" for p in range(spec.n_weights)} | {f"X.{i}.{j}" for i in range(len(spec.x))
                      for j in range(16)} | {f"Y.{i}.0" for i in range(len(spec.x))}


@pytest.mark.parametrize("format", ["csv", "parquet"])
def test_the_streamed_trace_folder_holds_the_contributions_table(tmp_path, format):
    spec = parse_spec(random_spec(1))
    with tracer.trace_stream(tmp_path / "streamed", format) as stream:
        stream.finish(run(spec, sink=stream.sink))
    run(spec).write(tmp_path / "whole", format)
    for name in ("contributions", "nodes", "weights"):
        streamed = (tmp_path / "streamed" / f"{name}.{format}").read_bytes()
        assert streamed == (tmp_path / "whole" / f"{name}.{format}").read_bytes(), name


def test_a_dense_trace_has_no_contributions_table(tmp_path):
    trace = run(tracer.load_spec("xor"), epochs=1)
    assert trace.contributions is None and list(trace.tables) == ["nodes", "weights", "updates", "losses"]
    trace.write(tmp_path / "xor")
    assert not (tmp_path / "xor" / "contributions.csv").exists()


def test_a_run_that_stops_at_a_divergence_cuts_the_contributions_with_it():
    raw = tiny(learning_rate=1e300, training={"epochs": 3})
    trace = run(parse_spec(raw))
    assert trace.stopped and set(trace.contributions.step) == set(trace.nodes.step) == {1, 2}


def run_with_every_output(raw: dict, folder) -> subprocess.CompletedProcess:
    """`tracer run` of the spec as a file, writing its trace (t/), formula workbook (out.xlsx) and report
    (out.html) into `folder`; it must exit 0."""
    import yaml

    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = subprocess.run([sys.executable, "-m", "tracer", "run", str(path), "--trace", str(folder / "t"),
                           "--xlsx", str(folder / "out.xlsx"), "--html", str(folder / "out.html"), "--formulas"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def test_tracer_run_writes_the_trace_workbook_and_report_of_a_conv_net(tmp_path):
    done = run_with_every_output(tiny(), tmp_path)
    assert (tmp_path / "t" / "contributions.csv").exists() and (tmp_path / "out.xlsx").exists()
    html = (tmp_path / "out.html").read_text()
    assert "c1: k1 over x" in html and "p1: 2x2 windows, stride 1" in html
    assert "c1.k1: bias 0.135316" in done.stdout  # the summary lists each kernel's final weights


@pytest.mark.parametrize("format", ["csv", "parquet"])
def test_a_trace_folder_reads_back_with_its_contributions(tmp_path, format):
    trace = run(parse_spec(random_spec(8)))
    trace.write(tmp_path / "t", format)
    back = tracer.load_trace(tmp_path / "t")
    import pandas as pd

    pd.testing.assert_frame_equal(back.contributions, trace.contributions, check_exact=True)
    assert tracer.diff_traces(back, trace).same


@pytest.mark.parametrize("seed", [1, 8])
def test_the_memory_estimate_counts_the_contributions(seed):
    """The check before a run (exit 3 when memory is short) counts each shared weight's terms: seed 8's tables
    take 0.78 MB, of which the contributions 0.61 MB, and the estimate without them was 0.17 MB."""
    from tracer.engine.record import Recorder

    spec = parse_spec(random_spec(seed))
    trace = run(spec)
    held = sum(df.memory_usage(deep=True).sum() for df in trace.tables.values())
    assert Recorder.estimate_bytes(spec, spec.training.epochs) >= held


@pytest.mark.parametrize("change, place, words", [
    (lambda r: r.update(inputs={"name": "x", "shape": [1000, 1000, 1000]}), "inputs.shape", "1,000,000,000 cells"),
    (lambda r: r.update(inputs={"name": "x", "shape": [3, 1000, 1000]}), "inputs.shape", "3,000,000 cells"),
    (lambda r: r.update(inputs={"name": "x", "shape": [1, 300, 300]}, data=[{"x": [0] * 90_000, "y": [1]}]) or
     r["layers"][0].update(kernel_size=3, out_channels=2, kernels=None, biases=None, init={"method": "normal"}),
     "layers[0]", "positions over all channels"),
    (lambda r: r.update(inputs={"name": "x", "shape": [1, 300, 300]}, data=[{"x": [0] * 90_000, "y": [1]}]) or
     r["layers"][0].update(kernel_size=40, out_channels=1, kernels=None, biases=None, init={"method": "normal"}),
     "layers[0]", "window cells"),
], ids=["input cells", "input cells 2", "positions", "terms"])
def test_a_grid_too_big_for_the_machine_is_refused_before_anything_is_allocated(change, place, words):
    raw = tiny()
    change(raw)
    for key in ("kernels", "biases"):
        if raw["layers"][0].get(key) is None:
            raw["layers"][0].pop(key, None)
    with pytest.raises(SpecError) as caught:
        parse_spec(raw)
    assert caught.value.place == place and words in str(caught.value)
