"""Recording a user's own NumPy loop (tracer.Recorder): the same tables as the engine, bugs named where they
start, arrays that do not fit refused in one line."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import tracer
from tracer.io.resources import example_paths

ROOT = Path(__file__).resolve().parents[1]
TRACING = (ROOT / "docs" / "tracing.md").read_text()  # README's "Trace your own code", moved


def readme_blocks() -> list[str]:
    section = TRACING.split("## Trace your own code", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def student_loop(spec, derivative=lambda z, a: a * (1 - a), backprop_through_new=False, epochs=None, traced=True):
    """A typical from-scratch online loop for a two-layer sigmoid network with 1/2 SSE, recorded: its Trace, or
    the Recorder (traced=False)."""
    W1, W2 = (layer.weights[:, 1:].copy() for layer in spec.layers)
    b1, b2 = (layer.weights[:, 0].copy() for layer in spec.layers)
    lr = spec.learning_rate
    rec = tracer.Recorder(spec)
    for x, y in tracer.batches(spec, epochs):
        z1 = x @ W1.T + b1
        a1 = sigmoid(z1)
        z2 = a1 @ W2.T + b2
        a2 = sigmoid(z2)
        delta2 = (a2 - y) * derivative(z2, a2)
        W2_new, b2_new = W2 - lr * delta2.T @ a1, b2 - lr * delta2.sum(axis=0)
        delta1 = (delta2 @ (W2_new if backprop_through_new else W2)) * derivative(z1, a1)
        W1, b1 = W1 - lr * delta1.T @ x, b1 - lr * delta1.sum(axis=0)
        W2, b2 = W2_new, b2_new
        rec.forward(0, z=z1, a=a1)
        rec.forward(1, z=z2, a=a2)
        rec.backward(1, delta=delta2)
        rec.backward(0, delta=delta1)
        rec.update(1, w_new=W2, b_new=b2)
        rec.update(0, w_new=W1, b_new=b1)
    return rec.trace() if traced else rec


def test_readme_numpy_example_records_the_engines_trace(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    namespace = {}
    exec(compile(readme_blocks()[1], "README", "exec"), namespace)
    assert capsys.readouterr().out.strip() == "True"
    trace, spec = namespace["trace"], namespace["spec"]
    assert len(trace.updates) == len(tracer.run(spec).updates) > 0


def test_a_students_loop_on_xor_matches_and_its_numbers_are_its_own():
    spec = tracer.load_spec(ROOT / "examples" / "xor.yaml")
    trace = student_loop(spec, epochs=5)
    assert tracer.diff_traces(trace, tracer.run(spec, epochs=5)).same
    # the first z of the hidden layer is the student's own arithmetic: 0.1 + 0.3*0 + 0.4*0
    first = trace.nodes[(trace.nodes.step == 1) & (trace.nodes.unit == "h1")]
    assert first.z.iloc[0] == pytest.approx(0.1)


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_z_a_delta_and_new_weights_alone_rebuild_every_examples_trace(path):
    """Only what a loop must give; the loss, da/dz, dE/da (through old or new weights, as the spec's update
    order says), the batch gradient, w_old and delta w are completed as the engine defines them."""
    spec = tracer.load_spec(path)
    epochs = 2 if spec.name == "xor" else None
    engine = tracer.run(spec, epochs=epochs)
    rec = tracer.Recorder(spec)
    nodes, updates = engine.nodes, engine.updates
    for step in range(1, engine.step_count() + 1):
        rows = nodes[nodes.step == step]
        rec.step(rows["sample"].unique())
        for layer in spec.layers:
            mine = rows[rows.layer == layer.name]
            shape = (-1, len(layer.units))
            rec.forward(layer.name, z=mine.z.to_numpy().reshape(shape), a=mine.a.to_numpy().reshape(shape))
            rec.backward(layer.name, delta=mine.delta.to_numpy().reshape(shape))
        for layer in spec.layers:
            if layer.weights.size == 0:  # a pool has no weights to update
                continue
            w_new = updates[(updates.step == step) & (updates.layer == layer.name)].w_new.to_numpy()
            rec.update(layer.name, w_new=w_new.reshape(layer.weights.shape))
    result = tracer.diff_traces(rec.trace(), engine)
    assert result.same, tracer.format_result(result)


def test_backpropagating_through_the_updated_weights_is_named_at_the_hidden_delta():
    spec = tracer.load_spec(ROOT / "examples" / "frey-online.yaml")
    with pytest.warns(tracer.TracerWarning, match="already-updated weights"):
        trace = student_loop(spec, backprop_through_new=True)
    first = tracer.diff_traces(trace, tracer.run(spec)).first
    assert (first["table"], first["quantity"], first["step"], first["layer"]) == ("nodes", "delta", 1, "hidden")


def test_a_delta_through_the_other_orders_weights_is_said_when_recorded():
    """The loop gives delta but not dE/da: the recorder fills dE/da the spec's way, so the diff then says 'delta
    differs', which reads like a wrong derivative. The recorder says which weights the loop's delta matches."""
    spec = tracer.load_spec(ROOT / "examples" / "frey-online.yaml")
    with pytest.warns(tracer.TracerWarning, match="layer hidden: the loop's delta back-propagates through the "
                                                   "already-updated weights, but this spec's simultaneous update"):
        student_loop(spec, backprop_through_new=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", tracer.TracerWarning)
        student_loop(spec)  # the right loop: no word
    sequential = tracer.load_spec(ROOT / "examples" / "mazur-sequential.yaml")
    with pytest.warns(tracer.TracerWarning, match="through the weights before the update, but this spec's "
                                                   "sequential update uses the already-updated weights"):
        student_loop(sequential)


def test_a_sigmoid_derivative_taken_as_z_times_one_minus_z_is_named_at_the_output_delta():
    spec = tracer.load_spec(ROOT / "examples" / "frey-online.yaml")
    trace = student_loop(spec, derivative=lambda z, a: z * (1 - z))
    first = tracer.diff_traces(trace, tracer.run(spec)).first
    assert (first["table"], first["quantity"], first["step"], first["layer"]) == ("nodes", "delta", 1, "output")


def test_batches_follow_the_engines_shuffled_order():
    spec = tracer.load_spec(ROOT / "examples" / "softmax-classifier.yaml")
    engine = tracer.run(spec)
    fed = np.concatenate([x for x, _ in tracer.batches(spec)])  # the losses table is in training order
    np.testing.assert_array_equal(fed, spec.x[engine.losses["sample"].to_numpy() - 1])


def one_step(spec):
    rec = tracer.Recorder(spec)
    x, y = next(tracer.batches(spec))
    return rec, x, y


def test_a_transposed_weight_matrix_is_refused_naming_the_layer_and_the_shape():
    spec = tracer.load_spec(ROOT / "examples" / "frey-online.yaml")
    rec, x, _ = one_step(spec)
    rec.forward("hidden", z=np.zeros((1, 3)), a=np.zeros((1, 3)))
    rec.backward("hidden", delta=np.zeros((1, 3)))
    with pytest.raises(tracer.TracerError) as e:
        rec.update("hidden", w_new=np.zeros((2, 3)), b_new=np.zeros(3))
    assert str(e.value) == ("layer 'hidden': w_new: has shape (2, 3); expected (3, 2): units x inputs "
                            "(transpose it with .T)")


@pytest.mark.parametrize("call, message", [
    (lambda rec: rec.forward("hiden", z=np.zeros((1, 3)), a=np.zeros((1, 3))),
     "layer 'hiden': not a layer of the spec; its layers: hidden, output (or 0..1)"),
    (lambda rec: rec.forward("hidden", z=np.zeros((2, 3)), a=np.zeros((2, 3))),
     "layer 'hidden': z: has shape (2, 3); expected (1, 3): 1 sample(s) x 3 unit(s)"),
    (lambda rec: rec.backward("hidden", delta=np.zeros((1, 3))),
     "layer 'hidden': backward before any forward pass of this step"),
    (lambda rec: rec.forward("hidden", z=[[0.1, 0.2, 0.3], [0.4]], a=np.zeros((1, 3))),
     "layer 'hidden': z: expected numbers in a rectangular array (a NumPy array, a tensor's .numpy(), or "
     "equal-length lists)"),
    (lambda rec: rec.forward("hidden", z=[["a", "b", "c"]], a=np.zeros((1, 3))),
     "layer 'hidden': z: expected numbers in a rectangular array (a NumPy array, a tensor's .numpy(), or "
     "equal-length lists)"),
    (lambda rec: rec.trace(), "Recorder.trace: no step was recorded"),
    (lambda rec: rec.step([1, 2]), "step 1: has 2 samples; the spec's training gives 1: feed the batches "
                                   "tracer.batches(spec) gives"),
])
def test_what_does_not_fit_the_spec_gets_one_line(call, message):
    spec = tracer.load_spec(ROOT / "examples" / "frey-online.yaml")
    rec, _, _ = one_step(spec)
    with pytest.raises(tracer.TracerError) as e:
        call(rec)
    assert str(e.value) == message


def test_an_unfinished_step_is_named():
    spec = tracer.load_spec(ROOT / "examples" / "frey-online.yaml")
    rec, _, _ = one_step(spec)
    rec.forward("hidden", z=np.zeros((1, 3)), a=np.zeros((1, 3)))
    with pytest.raises(tracer.TracerError, match="step 1 is not finished: layer 'output' has no forward"):
        rec.trace()


@pytest.mark.parametrize("format", ["csv", "parquet"])
def test_a_recorded_loop_writes_its_folder_a_chunk_at_a_time(tmp_path, format, monkeypatch):
    """rec.write(folder) streams the tables (3 steps a chunk here) and writes what trace().write(folder) does."""
    import tracer.engine.stream as stream

    spec = tracer.load_spec("xor")
    rec = student_loop(spec, epochs=7, traced=False)
    monkeypatch.setattr(stream, "CHUNK_ROWS", 3 * spec.n_weights)
    assert rec.write(tmp_path / "streamed", format) == tmp_path / "streamed"
    rec.trace().write(tmp_path / "whole", format)
    for name in sorted(p.name for p in (tmp_path / "whole").iterdir()):
        same = (tmp_path / "whole" / name).read_bytes() == (tmp_path / "streamed" / name).read_bytes()
        assert same or format == "parquet", name
    assert tracer.diff_traces(tmp_path / "streamed", tmp_path / "whole").same
    assert tracer.diff_traces(tmp_path / "streamed", tracer.run(spec, epochs=7)).same
