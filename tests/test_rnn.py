"""Elman RNN layers: names that say when, h_0 as a given, the contributions of each time step, sequence specs
validated in one line, the spec written back, exercises and check with the mistakes of BPTT, and what does not
take rnn layers yet saying so. (Against PyTorch's autograd and finite differences: test_rnn_oracle.py.)"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tracer
from tracer import parse_spec, run
from tracer.errors import SpecError
from tracer.grading.check import check_answers
from tracer.model.spec import spec_document

from test_grid import assert_refused, run_with_every_output
from test_grid_grading import key
from test_rnn_oracle import random_rnn
from tools.live import live_data


def demo(**changes) -> dict:
    """Two tanh units over three steps of one input, a linear output at every step, half SSE."""
    raw = {"name": "rnn-demo", "inputs": {"names": ["x1"], "steps": 3},
           "layers": [{"name": "h", "type": "rnn", "units": ["h1", "h2"], "activation": "tanh",
                       "weights": [[0.1, 0.5], [-0.1, -0.3]], "recurrent": [[0.2, -0.4], [0.3, 0.1]], "h0": [0, 0]},
                      {"name": "out", "units": ["o"], "activation": "linear", "weights": [[0.05, 0.7, -0.6]]}],
           "loss": "half_sse", "learning_rate": 0.1,
           "data": [{"x": [[1.0], [0.5], [-0.5]], "y": [[0.2], [0.1], [0.4]]}]}
    raw.update(changes)
    return raw


# the demo by hand: h_t = tanh(b + w_x x_t + W_h h_{t-1}), o_t = 0.05 + 0.7 h1_t - 0.6 h2_t
H1 = [math.tanh(0.6), math.tanh(-0.4)]
O1 = 0.05 + 0.7 * H1[0] - 0.6 * H1[1]


def test_names_say_when_and_h0_is_a_given():
    spec = parse_spec(demo(layers=[dict(demo()["layers"][0], h0=[0.5, -0.5]), demo()["layers"][1]]))
    h, out = spec.layers
    assert spec.inputs == ("x1@t1", "x1@t2", "x1@t3", "h1@t0", "h2@t0")
    assert list(spec.x[0]) == [1.0, 0.5, -0.5, 0.5, -0.5]
    assert h.units == ("h1@t1", "h2@t1", "h1@t2", "h2@t2", "h1@t3", "h2@t3") and h.rows == ("h1", "h2")
    assert h.sources == ("bias", "x1", "h1", "h2") and out.units == ("o@t1", "o@t2", "o@t3")
    assert out.sources == ("bias", "h1", "h2") and list(spec.y[0]) == [0.2, 0.1, 0.4]


def test_the_forward_pass_is_the_books_recurrence():
    nodes = run(parse_spec(demo())).nodes.set_index("unit")
    assert nodes.loc["h1@t1", "a"] == pytest.approx(H1[0]) and nodes.loc["h2@t1", "a"] == pytest.approx(H1[1])
    z2 = 0.1 + 0.5 * 0.5 + 0.2 * H1[0] - 0.4 * H1[1]
    assert nodes.loc["h1@t2", "z"] == pytest.approx(z2)
    assert nodes.loc["o@t1", "a"] == pytest.approx(O1)


def test_the_contributions_are_each_time_steps_term():
    trace = run(parse_spec(demo()))
    c = trace.contributions
    w = c[(c.unit == "h1") & (c.source == "h2")]
    assert list(w.position) == ["h1@t1", "h1@t2", "h1@t3"] and list(w.cell) == ["h2@t0", "h2@t1", "h2@t2"]
    assert w.contribution.sum() == pytest.approx(float(trace.weights.set_index(["unit", "source"]).grad[("h1", "h2")]))


def test_a_truncated_run_sends_no_gradient_across_the_cut():
    raw = demo(layers=[dict(demo()["layers"][0], bptt=1), demo()["layers"][1]])
    nodes = run(parse_spec(raw)).nodes.set_index("unit")
    assert nodes.loc["h1@t1", "dE_da"] == pytest.approx(0.7 * (O1 - 0.2))  # from o@t1 only


def test_the_spec_document_reads_back_as_the_same_network():
    for seed in range(6):
        spec = parse_spec(random_rnn(seed))
        again = parse_spec(spec_document(spec))
        assert again.inputs == spec.inputs and np.array_equal(again.y, spec.y)
        assert np.array_equal(run(again).updates.w_new, run(spec).updates.w_new)


BAD = [
    (lambda r: r["layers"][0].update(recurrent=[[0.2, -0.4]]), "layers[0].recurrent", "expected 2 rows"),
    (lambda r: r["layers"][0].update(weights=[[0.1], [0.2]]), "layers[0].weights[0]", "bias and a weight"),
    (lambda r: r["layers"][0].update(h0=[0]), "layers[0].h0", "expected 2 numbers"),
    (lambda r: r["layers"][0].update(bptt=0), "layers[0].bptt", ">= 1"),
    (lambda r: r["layers"][0].update(outputs="all"), "layers[0].outputs", "every"),
    (lambda r: r.update(inputs=["x1", "x2", "x3"], data=[{"x": [1, 2, 3], "y": [1, 1, 1]}]), "layers[0].type",
     "reads a sequence"),
    (lambda r: r["layers"].insert(0, {"name": "d", "units": 1, "activation": "tanh", "weights": [[0, 1]]}),
     "layers[0].type", "rnn layer first"),
    (lambda r: r["layers"].append({"name": "z", "units": 1, "activation": "linear", "weights": [[0, 1]]}),
     "layers[1]", "outputs: last"),
    (lambda r: r["data"][0].update(y=[[0.2], [0.1]]), "data[0].y", "expected 3"),
    (lambda r: r["layers"][1].update(bias="threshold"), "layers[1].bias", "use bias: true"),
]


@pytest.mark.parametrize("change, place, words", BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_a_bad_sequence_spec_names_the_place_and_the_fix(change, place, words):
    assert_refused(demo(), change, place, words)


def test_an_exercise_on_an_rnn_checks_and_names_the_mistakes_of_bptt():
    spec = parse_spec(demo())
    answers = key(spec)
    assert all(m.status == "correct" for m in check_answers(spec, answers))
    cut = dict(answers, **{"dE/da_h1@t1": f"{0.7 * (O1 - 0.2):.6f}"})
    mark = {m.label: m for m in check_answers(spec, cut)}["dE/da_h1@t1"]
    assert (mark.status, mark.diagnosis) == ("wrong", "backpropagation through time cut to one step")
    delta_t1 = float(run(spec).nodes.set_index("unit").delta["h1@t1"])  # checked against autograd elsewhere
    one = dict(answers, **{"dE/dw_h1,x1": f"{delta_t1 * 1.0:.6f}"})  # x1@t1 = 1: the first step's term alone
    mark = {m.label: m for m in check_answers(spec, one)}["dE/dw_h1,x1"]
    assert (mark.status, mark.diagnosis) == ("wrong", "shared weight's gradient from one position only")


def test_the_live_page_of_an_rnn_asks_for_each_time_step_s_input_and_target_and_keeps_h0_the_layer_s():
    """Its numbers are checked in Chromium (test_live.py); here its data fields: x1 at each of the 3 steps and
    the target at each, not the h_0 cells the engine carries with the inputs, which the spec's layer gives."""
    import re

    spec = parse_spec(demo())
    page = tracer.live_html(spec)
    data = live_data(page)
    fields = set(re.findall(r'data-g="([XY]\.[\d.]+)"', page))
    steps, samples = 3, len(spec.x)
    assert fields == {f"X.{i}.{t}" for i in range(samples) for t in range(steps)} | {
        f"Y.{i}.{t}" for i in range(samples) for t in range(steps)}
    assert {f for _, f in data["places"] if f[0] in "XY"} == fields
    assert spec.x.shape[1] == steps + 2  # the h_0 cells, given by the layer's h0 in the document


def test_tracer_run_writes_the_trace_workbook_and_report_of_an_rnn(tmp_path):
    run_with_every_output(demo(), tmp_path)
    back = tracer.load_trace(tmp_path / "t")
    assert len(back.contributions) == 3 * 2 * 4 + 3 * 3  # states: 3 steps x 2 units x 4 weights; out: 3 x 3
    assert (tmp_path / "out.xlsx").exists()
    assert "h unrolled over 3 time steps" in (tmp_path / "out.html").read_text()


def test_a_sequence_too_long_for_the_machine_is_refused():
    with pytest.raises(SpecError, match="inputs over the steps is more than the limit"):
        parse_spec(demo(inputs={"names": [f"x{i}" for i in range(200)], "steps": 1000}))
    with pytest.raises(SpecError, match="terms"):
        parse_spec(demo(inputs={"names": ["x1"], "steps": 1000}, data=[{"x": [[0]] * 1000, "y": [[0]] * 1000}],
                        layers=[{"name": "h", "type": "rnn", "units": 200, "activation": "tanh", "init": {}},
                                demo()["layers"][1]]))
