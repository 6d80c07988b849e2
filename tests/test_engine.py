"""Engine behaviour beyond the bundled examples: the spec options, stability, determinism, trace shape."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tracer
from tracer.io.tracefiles import read_trace
from tracer.io.tracewriter import write_trace
from tracer.io.resources import example_paths, find_example
from tracer.engine.tables import READABLE


def spec_from(**changes):
    raw = {
        "name": "t", "inputs": [ "x1", "x2"],
        "layers": [
            {"name": "H", "units": 2, "activation": "sigmoid", "weights": [[0.1, 0.3, 0.4], [-0.2, 0.6, 0.5]]},
            {"name": "O", "units": 1, "activation": "sigmoid", "weights": [[0.2, -0.4, 0.7]]},
        ],
        "loss": "half_sse", "learning_rate": 0.5, "training": {"mode": "online", "epochs": 3},
        "data": [{"x": [0.2, 1], "y": [1]}, {"x": [1, 1], "y": [0]}, {"x": [1, -0.5], "y": [1]}],
    }
    for key, value in changes.items():
        if key.startswith("H_"):
            raw["layers"][0][key[2:]] = value
        else:
            raw[key] = value
    return tracer.parse_spec(raw)


@pytest.mark.parametrize("path", example_paths(), ids=[p.stem for p in example_paths()])
def test_tables_have_the_contract_columns_and_sizes(path):
    spec = tracer.load_spec(path)
    trace = tracer.run(spec, epochs=min(spec.training.epochs, 3))
    assert (trace.contributions is not None) == any(l.shared for l in spec.layers)  # shared weights' terms
    for name, df in trace.tables.items():
        assert list(df.columns) == READABLE[name]
    epochs = min(spec.training.epochs, 3)
    samples = epochs * len(spec.x)
    units = sum(len(l.units) for l in spec.layers)
    params = sum(l.weights.size for l in spec.layers)
    steps = epochs * -(-len(spec.x) // spec.batch_size)
    assert len(trace.nodes) == samples * units
    assert len(trace.weights) == samples * params
    assert len(trace.updates) == steps * params
    assert len(trace.losses) == samples
    assert trace.nodes["step"].max() == steps
    # weights.w of a sample is the w_old of its step, and grad = delta * input (Frey eq. 1), or -delta * input
    # where delta is -dE/dz (Negnevitsky); a bias's input is 1, a threshold's -1
    merged = trace.weights.merge(trace.updates[["step", "layer", "unit", "source", "w_old"]])
    assert (merged["w"] == merged["w_old"]).all()
    shared = trace.weights["layer"].astype(str).isin([l.name for l in spec.layers if l.shared])
    if shared.any():  # a shared weight's grad: the sum of its terms over positions or time steps
        terms = trace.contributions.groupby(["step", "sample", "layer", "unit", "source"], observed=True).contribution
        summed = trace.weights[shared].join(terms.sum(), on=["step", "sample", "layer", "unit", "source"])
        np.testing.assert_allclose(summed["grad"], summed["contribution"], rtol=1e-12, atol=1e-15)
    if shared.all():
        return
    with_delta = trace.weights[~shared].merge(trace.nodes[["step", "sample", "layer", "unit", "delta"]])
    assert len(with_delta) == (~shared).sum()
    sign = spec.delta_sign
    np.testing.assert_allclose(with_delta["grad"], sign * with_delta["delta"] * with_delta["input"], rtol=1e-15,
                               atol=0)
    bias = with_delta["source"] == "bias"
    inputs = with_delta["layer"].astype(str).map({l.name: l.bias_input for l in spec.layers})
    assert (with_delta.loc[bias, "input"] == inputs[bias]).all()
    assert (with_delta.loc[bias, "grad"] == sign * inputs[bias] * with_delta.loc[bias, "delta"]).all()


def test_frozen_bias_stays_while_weights_learn():
    trace = tracer.run(spec_from(H_frozen="bias"))
    u = trace.updates[trace.updates["layer"] == "H"]
    bias, weights = u[u["source"] == "bias"], u[u["source"] != "bias"]
    assert (bias["delta_w"] == 0).all() and (bias["w_new"] == bias["w_old"]).all()
    assert (bias["grad"] != 0).all()  # the gradient is still recorded
    assert (weights["delta_w"] != 0).all()


def test_frozen_list_and_mask():
    u = tracer.run(spec_from(H_frozen=["x1"])).updates
    h = u[u["layer"] == "H"]
    assert (h.loc[h["source"] == "x1", "delta_w"] == 0).all()
    assert (h.loc[h["source"] != "x1", "delta_w"] != 0).all()
    u = tracer.run(spec_from(H_frozen=[[True, False, False], [False, False, True]])).updates
    frozen = u[(u["layer"] == "H") & (((u["unit"] == "H1") & (u["source"] == "bias"))
                                      | ((u["unit"] == "H2") & (u["source"] == "x2")))]
    assert len(frozen) == 2 * 9 and (frozen["delta_w"] == 0).all()


@pytest.mark.parametrize("method", ["uniform", "normal", "xavier"])
def test_random_initialisation_is_seeded_and_recorded(method):
    def make(seed):
        s = spec_from(init={"method": method, "seed": seed})
        raw_layers = [{"name": l.name, "units": len(l.units), "activation": l.activation.name} for l in s.layers]
        return tracer.parse_spec({"name": "t", "inputs": 2, "layers": raw_layers, "loss": "half_sse",
                                  "learning_rate": 0.5, "init": {"method": method, "seed": seed},
                                  "data": [{"x": [0, 1], "y": [1]}]})
    a, b, c = make(1), make(1), make(2)
    wa = np.concatenate([l.weights.ravel() for l in a.layers])
    assert (wa == np.concatenate([l.weights.ravel() for l in b.layers])).all()
    assert not (wa == np.concatenate([l.weights.ravel() for l in c.layers])).all()
    trace = tracer.run(a)
    assert (trace.updates.loc[trace.updates["step"] == 1, "w_old"].to_numpy() == wa).all()
    if method == "xavier":
        assert (a.layers[0].weights[:, 0] == 0).all()
        limit = np.sqrt(6 / (2 + 2))
        assert (np.abs(a.layers[0].weights) <= limit).all()


def test_csv_data_relative_to_the_spec(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "data.csv").write_text("a,b,t\n0,1,1\n1,1,0\n")
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(find_example("ekman").read_text().replace(
        "data:\n  - {x: [-0.9, 0.1], y: [1.0]}", "data: {csv: d/data.csv, x: [a, b], y: [t]}"))
    spec = tracer.load_spec(spec_file)
    assert spec.x.tolist() == [[0, 1], [1, 1]] and spec.y.tolist() == [[1], [0]]


def test_weight_decay_and_momentum_updates():
    spec = spec_from(weight_decay=0.1, momentum=0.9)
    u = tracer.run(spec).updates
    eta, lam, mu = 0.5, 0.1, 0.9
    velocity = 0.0
    for step in range(1, 10):
        rows = u[u["step"] == step]
        velocity = mu * velocity - eta * (rows["grad"].to_numpy() + lam * rows["w_old"].to_numpy())
        np.testing.assert_allclose(rows["delta_w"], velocity, rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(rows["w_new"], rows["w_old"] + velocity, rtol=1e-14)


def test_reduction_sum_is_n_times_mean():
    mean = tracer.run(spec_from(training={"mode": "batch", "epochs": 1})).updates
    total = tracer.run(spec_from(training={"mode": "batch", "epochs": 1, "reduction": "sum"})).updates
    np.testing.assert_allclose(total["grad"], 3 * mean["grad"], rtol=1e-14)


def test_minibatch_last_batch_may_be_short():
    trace = tracer.run(spec_from(training={"mode": "minibatch", "batch_size": 2, "epochs": 2}))
    assert trace.step_count() == 4
    assert trace.losses.groupby("step").size().tolist() == [2, 1, 2, 1]


def test_shuffle_is_reproducible_and_sample_is_the_data_row():
    spec = spec_from(training={"mode": "online", "epochs": 4, "shuffle": True, "seed": 5})
    a, b = tracer.run(spec), tracer.run(spec)
    pd.testing.assert_frame_equal(a.nodes, b.nodes)
    orders = a.losses.groupby("epoch")["sample"].apply(list).tolist()
    assert all(sorted(o) == [1, 2, 3] for o in orders) and len({tuple(o) for o in orders}) > 1
    out = a.nodes[a.nodes["layer"] == "O"]
    np.testing.assert_array_equal(out["target"], spec.y[out["sample"] - 1, 0])


@pytest.mark.parametrize("z", [1e300, -1e300, 1e30, -800.0])
def test_stable_for_huge_net_inputs(z):
    """Sigmoid, softmax and the cross-entropies give finite values without overflow warnings."""
    from tracer.model.activations import make_activation
    from tracer.model.losses import make_loss

    zs = np.array([[z, -z / 2, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for alpha in (1.0, 2.0):
            sig = make_activation("sigmoid", alpha=alpha)
            a = sig.f(zs)
            assert np.isfinite(a).all() and ((a >= 0) & (a <= 1)).all()
            e = make_loss("binary_cross_entropy").value(np.array([[1.0, 0.0, 1.0]]), a, zs, sig)
            assert np.isfinite(e).all()
        soft = make_activation("softmax")
        a = soft.f(zs)
        assert np.isfinite(a).all() and a.sum() == pytest.approx(1.0)
        e = make_loss("cross_entropy").value(np.array([[0.0, 1.0, 0.0]]), a, zs, soft)
        assert np.isfinite(e).all()


def test_recording_off_gives_the_same_final_weights():
    spec = tracer.load_spec(find_example("frey-minibatch"))
    traced, untraced = tracer.run(spec), tracer.run(spec, record=False)
    for a, b in zip(traced.final, untraced.final):
        assert (a == b).all()
    last = traced.updates[traced.updates["step"] == traced.step_count()]["w_new"].to_numpy()
    assert (np.concatenate([m.ravel() for m in traced.final]) == last).all()


@pytest.mark.parametrize("path", example_paths(), ids=[p.stem for p in example_paths()])
def test_csv_round_trip_is_bit_exact_and_deterministic(path, tmp_path):
    spec = tracer.load_spec(path)
    trace = tracer.run(spec, epochs=min(spec.training.epochs, 50))
    write_trace(trace, tmp_path / "a")
    write_trace(tracer.run(spec, epochs=min(spec.training.epochs, 50)), tmp_path / "b")
    back = read_trace(tmp_path / "a")
    for name, df in trace.tables.items():
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (tmp_path / "b" / f"{name}.csv").read_bytes()
        pd.testing.assert_frame_equal(back.tables[name], df, check_exact=True)


@pytest.mark.parametrize("name", ["frey-batch", "frey-online", "softmax-classifier", "davila-cross-entropy"])
def test_the_error_after_an_epoch_is_the_next_epochs_loss_before_any_update(name):
    """In batch mode the next epoch's losses are taken with the weights the epoch ended with, by the training
    loop itself; online, the next epoch's first sample is. Both equal loss_after_epoch, computed apart."""
    trace = tracer.run(tracer.load_spec(name))
    losses, batch = trace.losses, trace.spec.training.mode == "batch"
    for epoch in range(1, int(losses.epoch.max())):
        after = losses[losses.epoch == epoch].set_index("sample")["loss_after_epoch"]
        nxt = losses[losses.epoch == epoch + 1]
        first = nxt if batch else nxt[nxt.step == nxt.step.min()]
        for sample, loss in zip(first["sample"], first["loss"]):
            assert after[sample] == pytest.approx(loss, rel=1e-12, abs=1e-15), (epoch, sample)


def test_the_error_after_an_epoch_is_unknown_where_its_last_step_is_not_recorded():
    spec = tracer.load_spec("frey-online")
    trace = tracer.run(spec, record="1-2,last")
    assert trace.losses["loss_after_epoch"].isna().tolist() == [True, True, False]
    whole = tracer.run(spec, record=tracer.Recording("1-2", history=True))
    assert len(whole.values.epoch_errors()) == spec.training.epochs  # a history has every epoch's weights
