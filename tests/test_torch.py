"""tracer.torch: a PyTorch loop recorded unchanged equals the engine's trace; bugs are named where they start;
what a spec cannot express is refused in one line. Skipped locally without torch (CI installs the CPU wheel)."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import tracer
from tracer.io.resources import example_paths
from traces import assert_same_as_the_engine

ROOT = Path(__file__).resolve().parents[1]
NOT_EXPRESSIBLE = {  # bundled examples PyTorch cannot express, and why
    "mazur-sequential": "its sequential update order cannot be written as backward() then step()",
}


@pytest.fixture
def tt(torch):
    from tracer import torch as tt

    return tt


def train(tt, spec, model, loss_fn, optimizer, epochs=None, zero_grad=True, spec_for_record=None):
    """The user's own loop, unchanged, inside tt.record."""
    with tt.record(model, loss_fn, optimizer, spec=spec_for_record) as rec:
        for x, y in tt.batches(spec, epochs):
            if zero_grad:
                optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
    return rec.trace()


def test_readme_pytorch_example_runs_as_written(tt, monkeypatch):
    monkeypatch.chdir(ROOT)
    section = (ROOT / "docs" / "tracing.md").read_text().split("## Trace your own code", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    namespace = {}
    exec(compile(code, "README", "exec"), namespace)
    assert tracer.diff_traces(namespace["trace"], tracer.run(namespace["spec"])).same


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_every_expressible_example_records_equal_to_the_engine(tt, path):
    spec = tracer.load_spec(path)
    if spec.name in NOT_EXPRESSIBLE:
        with pytest.raises(tracer.TracerError, match="sequential updates"):
            tt.model_from_spec(spec)
        return
    epochs = 250 if spec.name == "xor" else None  # 1,000 steps; all 40,000 take a minute
    trace = train(tt, spec, *tt.model_from_spec(spec), epochs=epochs)
    result = tracer.diff_traces(trace, tracer.run(spec, epochs=epochs))
    assert result.same, tracer.format_result(result)
    assert len(trace.nodes) > 0 and not trace.partial


def test_the_recorded_numbers_are_pytorchs_own(tt, torch):
    """Ekman's printed forward pass, from the PyTorch model (not from the engine)."""
    spec = tracer.load_spec(ROOT / "examples" / "ekman.yaml")
    trace = train(tt, spec, *tt.model_from_spec(spec))
    nodes = trace.nodes[trace.nodes.step == 1].set_index("unit")
    assert nodes.a["g"] == pytest.approx(-0.25, abs=0.01)  # Ekman: y_g = tanh(0.3 + 0.6 (-0.9) + (-0.1) 0.1) = -0.25
    assert nodes.a["f"] == pytest.approx(0.42, abs=0.005)  # Ekman: y_f = S(-0.2 + 0.5 * (-0.25)) = 0.42
    assert nodes.delta["f"] == pytest.approx(-0.14, abs=0.005)  # Ekman: error term f = -0.58 * 0.42 * 0.58


def test_forgetting_zero_grad_is_named_at_step_2_in_the_updates(tt):
    spec = tracer.load_spec(ROOT / "examples" / "frey-minibatch.yaml")
    trace = train(tt, spec, *tt.model_from_spec(spec), zero_grad=False)
    result = tracer.diff_traces(trace, tracer.run(spec))
    assert (result.first["table"], result.first["quantity"], result.first["step"]) == ("updates", "grad", 2)
    assert result.precision is None  # a float64 bug gets no float32 hint


def test_mse_mean_where_the_spec_sums_is_named_at_step_1_in_the_updates(tt, torch):
    davila = tracer.load_spec(ROOT / "examples" / "davila-sse.yaml")
    spec = dataclasses.replace(davila, training=dataclasses.replace(davila.training, reduction="sum"))
    model, loss_fn, optimizer = tt.model_from_spec(spec)
    assert loss_fn.reduction == "sum"
    trace = train(tt, spec, model, torch.nn.MSELoss(reduction="mean"), optimizer)
    first = tracer.diff_traces(trace, tracer.run(spec)).first
    assert (first["table"], first["quantity"], first["step"]) == ("updates", "grad", 1)
    step1 = trace.nodes[trace.nodes.step == 1]
    engine = tracer.run(spec).nodes
    np.testing.assert_allclose(step1.delta, engine[engine.step == 1].delta)  # each sample's own delta agrees


def test_a_users_own_model_round_trips_through_spec_from_model(tt, torch, tmp_path):
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Sigmoid()).double()
    model[0].bias.requires_grad_(False)
    x = torch.rand(6, 3, dtype=torch.float64)
    y = (torch.rand(6, 2, dtype=torch.float64) > 0.5).double()
    loss_fn = nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9, weight_decay=0.01)
    spec = tt.spec_from_model(model, x, y, loss_fn, optimizer, batch_size=2, epochs=3, path=tmp_path / "mine.yaml")
    assert tracer.load_spec(tmp_path / "mine.yaml").layers[0].weights.tolist() == spec.layers[0].weights.tolist()
    assert spec.layers[0].frozen[:, 0].all() and not spec.layers[0].frozen[:, 1:].any()
    trace = train(tt, spec, model, loss_fn, optimizer, spec_for_record=spec)
    result = tracer.diff_traces(trace, tracer.run(spec))
    assert result.same, tracer.format_result(result)


def test_the_default_mse_loss_with_several_outputs_records_equal_to_the_engine(tt, torch, tmp_path):
    """nn.MSELoss() as most loops use it: the mean over the batch and over the outputs is the spec's mse."""
    nn = torch.nn
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3)).double()
    x, y = torch.rand(6, 3, dtype=torch.float64), torch.rand(6, 3, dtype=torch.float64)
    loss_fn, optimizer = nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.3)
    spec = tt.spec_from_model(model, x, y, loss_fn, optimizer, batch_size=3, epochs=2, path=tmp_path / "m.yaml")
    assert spec.loss.name == "mse" and spec.loss.outputs == 3
    with torch.no_grad():
        first_loss = float(loss_fn(model(x[:3]), y[:3]))
    trace = train(tt, spec, model, loss_fn, optimizer, spec_for_record=spec)
    result = tracer.diff_traces(trace, tracer.run(tracer.load_spec(tmp_path / "m.yaml")))
    assert result.same, tracer.format_result(result)
    assert trace.losses[trace.losses.step == 1].loss.mean() == pytest.approx(first_loss, rel=1e-12)


@pytest.mark.parametrize("activation, module", [({"name": "tanh", "a": 1.7159, "b": 2 / 3}, "GainTanh"),
                                                ({"name": "bipolar_sigmoid", "sigma": 2.0}, "BipolarSigmoid")])
def test_the_books_activations_train_in_pytorch_as_in_the_engine(tt, activation, module):
    rng = np.random.default_rng(3)
    spec = tracer.parse_spec({
        "name": "gains", "inputs": 2, "loss": "mse", "learning_rate": 0.2, "training": {"mode": "batch", "epochs": 3},
        "layers": [{"name": "H", "units": 3, "activation": activation, "weights": rng.uniform(-1, 1, (3, 3)).tolist()},
                   {"name": "O", "units": 2, "activation": activation, "weights": rng.uniform(-1, 1, (2, 4)).tolist()}],
        "data": [{"x": rng.uniform(-1, 1, 2).tolist(), "y": rng.uniform(-0.9, 0.9, 2).tolist()} for _ in range(4)]})
    model, loss_fn, optimizer = tt.model_from_spec(spec)
    assert type(model[1]).__name__ == module
    trace = train(tt, spec, model, loss_fn, optimizer)
    result = tracer.diff_traces(trace, tracer.run(spec))
    assert result.same, tracer.format_result(result)


def test_the_delta_rules_loss_round_trips_with_its_gradient_factor(tt, torch, tmp_path):
    """Adaline's loss prints (t - y)^2 and updates by (t - y): in PyTorch a GradientFactorLoss, whose value is the
    printed one and whose gradient carries the factor; spec_from_model writes it back as the spec's loss."""
    spec = tracer.load_spec(ROOT / "examples" / "adaline.yaml")
    model, loss_fn, optimizer = tt.model_from_spec(spec)
    assert isinstance(loss_fn, tt.GradientFactorLoss)
    x, y = torch.from_numpy(spec.x), torch.from_numpy(spec.y)
    assert float(loss_fn(model(x[:1]), y[:1]).detach()) == pytest.approx(0.49)  # the printed ERROR of the first row
    again = tt.spec_from_model(model, spec.x, spec.y, loss_fn, optimizer, batch_size=1, path=tmp_path / "a.yaml")
    assert (again.loss.name, again.loss.gradient_factor) == ("sse", 1.0)
    assert "gradient_factor: 1.0" in (tmp_path / "a.yaml").read_text()


def test_a_shuffled_data_loader_is_said_to_process_other_data_first(tt, torch):
    spec = tracer.load_spec(ROOT / "examples" / "frey-minibatch.yaml")
    model, loss_fn, optimizer = tt.model_from_spec(spec)
    data = torch.utils.data.TensorDataset(torch.from_numpy(spec.x), torch.from_numpy(spec.y))
    loader = torch.utils.data.DataLoader(data, batch_size=2, shuffle=True,
                                         generator=torch.Generator().manual_seed(2))
    with tt.record(model, loss_fn, optimizer) as rec:
        for _ in range(spec.training.epochs):
            for x, y in loader:
                optimizer.zero_grad()
                loss_fn(model(x), y).backward()
                optimizer.step()
    lines = tracer.format_result(tracer.diff_traces(rec.trace(), tracer.run(spec))).splitlines()
    assert lines[0].startswith("different data: step 1 processed"), lines[:2]


def test_a_float32_loop_gets_a_precision_hint(tt, torch):
    spec = tracer.load_spec(ROOT / "examples" / "frey-minibatch.yaml")
    model, loss_fn, optimizer = tt.model_from_spec(spec)
    model.float()
    with tt.record(model, loss_fn, optimizer) as rec:
        for x, y in tt.batches(spec):
            optimizer.zero_grad()
            loss_fn(model(x.float()), y.float()).backward()
            optimizer.step()
    text = tracer.format_result(tracer.diff_traces(rec.trace(), tracer.run(spec)))
    assert "hint: A looks like float32" in text, text


def test_cross_entropy_takes_logits_and_class_indices(tt, torch):
    spec = tracer.load_spec(ROOT / "examples" / "softmax-classifier.yaml")
    model, loss_fn, optimizer = tt.model_from_spec(spec)
    assert isinstance(loss_fn, torch.nn.CrossEntropyLoss) and not isinstance(model[-1], torch.nn.Softmax)
    with tt.record(model, loss_fn, optimizer) as rec:
        for x, y in tt.batches(spec):
            optimizer.zero_grad()
            loss_fn(model(x), y.argmax(dim=1)).backward()  # class indices instead of one-hot rows
            optimizer.step()
    assert tracer.diff_traces(rec.trace(), tracer.run(spec)).same


@pytest.mark.parametrize("build, message", [
    (lambda nn, torch: (nn.Sequential(nn.Conv3d(1, 1, 2)), nn.MSELoss(), None),
     "model[0]: Conv3d cannot be traced"),
    (lambda nn, torch: (nn.Sequential(nn.Linear(2, 1)), nn.MSELoss(reduction="none"), None),
     "loss MSELoss: reduction 'none' cannot be traced"),
    (lambda nn, torch: (nn.Sequential(nn.Linear(2, 1)), nn.MSELoss(), "adam"),
     "optimizer Adam: cannot be traced"),
    (lambda nn, torch: (nn.Sequential(nn.Linear(2, 1)), nn.MSELoss(), "nesterov"),
     "optimizer SGD nesterov: cannot be traced"),
    (lambda nn, torch: (nn.Sequential(nn.Linear(2, 1), nn.Dropout()), nn.MSELoss(), None),
     "model[1]: Dropout cannot be traced"),
])
def test_what_a_spec_cannot_express_is_refused_naming_the_module(tt, torch, build, message):
    nn = torch.nn
    model, loss_fn, kind = build(nn, torch)
    params = list(model.parameters())
    optimizer = (torch.optim.Adam(params) if kind == "adam" else
                 torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True) if kind == "nesterov" else
                 torch.optim.SGD(params, lr=0.1))
    spec = tracer.load_spec(ROOT / "examples" / "xor.yaml")
    with pytest.raises(tracer.TracerError) as e:
        with tt.record(model, loss_fn, optimizer, spec=spec):
            pass
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def tied(nn):
    """Two 2-2-2 models: one Linear used as both layers, and two layers sharing one weight matrix."""
    shared = nn.Linear(2, 2)
    twice = nn.Sequential(shared, nn.Sigmoid(), shared, nn.Sigmoid())
    out = nn.Linear(2, 2)
    out.weight = shared.weight
    return twice, nn.Sequential(shared, nn.Sigmoid(), out, nn.Sigmoid())


@pytest.mark.parametrize("which, message", [(0, "model[2]: is the same nn.Linear as model[0]"),
                                            (1, "model[2].weight: is shared with model[0].weight (tied weights)")],
                         ids=["a layer used twice", "tied weights"])
def test_a_module_used_twice_or_tied_weights_are_refused(tt, torch, which, message):
    model = tied(torch.nn)[which].double()
    with pytest.raises(tracer.TracerError) as e:
        tt.record(model, torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                  spec=tracer.load_spec(ROOT / "examples" / "xor.yaml")).__enter__()
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_a_model_and_loss_called_with_keywords_are_recorded(tt, torch):
    """`model(input=x)` and `loss_fn(input=..., target=...)`: the same trace as positional calls."""
    nn = torch.nn
    spec = tracer.load_spec(ROOT / "examples" / "xor.yaml")
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid()).double()
    with torch.no_grad():
        for linear, layer in zip((model[0], model[2]), spec.layers):
            weights = torch.tensor(layer.weights)
            linear.bias.copy_(weights[:, 0])
            linear.weight.copy_(weights[:, 1:])
    loss_fn, optimizer = nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.5)
    from tracer.model.losses import make_loss

    with tt.record(model, loss_fn, optimizer, spec=spec.replace(loss=make_loss("mse"))) as rec:
        for x, y in tt.batches(spec, 1):
            optimizer.zero_grad()
            loss_fn(input=model(input=x), target=y).backward()
            optimizer.step()
    assert rec.trace().recorded_steps() == [1, 2, 3, 4]


def test_a_model_that_does_not_fit_the_spec_is_named(tt, torch):
    nn = torch.nn
    spec = tracer.load_spec(ROOT / "examples" / "xor.yaml")
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid()).double()
    with pytest.raises(tracer.TracerError) as e:
        tt.record(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), spec=spec).__enter__()
    assert str(e.value) == "model[0]: is Linear(2, 3, bias=True); the spec's layer 'H' is Linear(2, 2, bias=True)"


def test_record_without_a_spec_says_where_to_get_one(tt, torch):
    model = torch.nn.Sequential(torch.nn.Linear(2, 1))
    with pytest.raises(tracer.TracerError, match="needs the spec the model follows"):
        tt.record(model, torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1)).__enter__()


def test_hooks_are_removed_after_the_block(tt):
    spec = tracer.load_spec(ROOT / "examples" / "ekman.yaml")
    model, loss_fn, optimizer = tt.model_from_spec(spec)
    train(tt, spec, model, loss_fn, optimizer)
    assert not model._forward_hooks and not model._forward_pre_hooks and not loss_fn._forward_hooks
    assert all(not m._forward_hooks for m in model)


def test_a_recorded_torch_loop_writes_its_folder_a_chunk_at_a_time(tt, tmp_path, monkeypatch):
    """rec.write(folder) streams the tables (2 steps a chunk) instead of building them all; the folder is
    equal to the engine's trace, and its CSV bytes are those of trace().write."""
    import tracer.engine.stream as stream

    spec = tracer.load_spec("frey-minibatch")
    model, loss_fn, optimizer = tt.model_from_spec(spec)
    with tt.record(model, loss_fn, optimizer) as rec:
        for x, y in tt.batches(spec, 3):
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
    monkeypatch.setattr(stream, "CHUNK_ROWS", 2 * spec.batch_size * spec.n_weights)
    rec.write(tmp_path / "streamed")
    rec.trace().write(tmp_path / "whole")
    for name in ("nodes.csv", "weights.csv", "updates.csv", "losses.csv", "trace.json"):
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "streamed" / name).read_bytes(), name
    result = tracer.diff_traces(tmp_path / "streamed", tracer.run(spec, epochs=3))
    assert result.same, tracer.format_result(result)


GRID_TORCH_SEEDS = [0, 1, 3, 5, 8, 9, 17]  # first-max and mean pools, both operations, 1-2 conv layers, 3 modes
GRID_TORCH_SEEDS += ["1d-0", "1d-1", "1d-4", "1d-5"]  # Conv1d with MaxPool1d (first ties) and AvgPool1d


@pytest.mark.parametrize("seed", GRID_TORCH_SEEDS)
def test_a_conv_pool_loop_records_equal_to_the_engine(tt, torch, seed):
    """nn.Conv2d, nn.MaxPool2d / AvgPool2d, nn.Flatten and nn.Linear built by model_from_spec, trained by the
    user's loop, recorded: every table and the contributions equal the engine's (a convolution's kernels
    are held flipped by nn.Conv2d and read back in the spec's orientation)."""
    from test_grid_oracle import random_spec, random_spec_1d

    spec = tracer.parse_spec(random_spec_1d(int(seed[3:])) if isinstance(seed, str) else random_spec(seed))
    model, loss_fn, optimizer = tt.model_from_spec(spec)
    assert [type(m).__name__ for m in model if isinstance(m, (torch.nn.Flatten, torch.nn.Linear))][:2] == [
        "Flatten", "Linear"]
    assert_same_as_the_engine(train(tt, spec, model, loss_fn, optimizer), spec)


def test_a_users_conv1d_model_round_trips_through_spec_from_model(tt, torch, tmp_path):
    nn = torch.nn
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv1d(2, 2, 3, padding=1), nn.Tanh(), nn.AvgPool1d(2), nn.Flatten(),
                          nn.Linear(6, 1), nn.Sigmoid()).double()
    x, y = torch.rand(3, 2, 6, dtype=torch.float64), torch.rand(3, 1, dtype=torch.float64)
    loss_fn, optimizer = nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.3)
    spec = tt.spec_from_model(model, x, y, loss_fn, optimizer, batch_size=1, path=tmp_path / "mine.yaml")
    assert [l.grid.name if l.grid else "dense" for l in spec.layers] == ["conv1d", "avgpool1d", "dense"]
    assert spec.inputs[:2] == ("x[1,1]", "x[1,2]") and spec.layers[0].units[0] == "c1[1,1]"
    trace = train(tt, spec, model, loss_fn, optimizer, spec_for_record=spec)
    assert tracer.diff_traces(trace, tracer.run(tracer.load_spec(tmp_path / "mine.yaml"))).same


def test_a_users_conv_model_round_trips_through_spec_from_model(tt, torch, tmp_path):
    nn = torch.nn
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(2, 3, 2, stride=1, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(12, 2), nn.Sigmoid()).double()
    x = torch.rand(4, 2, 3, 3, dtype=torch.float64)
    y = torch.rand(4, 2, dtype=torch.float64)
    loss_fn, optimizer = nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.3)
    spec = tt.spec_from_model(model, x, y, loss_fn, optimizer, batch_size=2, path=tmp_path / "mine.yaml")
    assert [l.grid.kind if l.grid else "dense" for l in spec.layers] == ["conv2d", "maxpool2d", "dense"]
    assert spec.input_shape == (2, 3, 3) and spec.layers[0].units[0] == "c1[1,1,1]"
    with torch.no_grad():
        kernels = model[0].weight.detach().numpy().reshape(3, -1)
    np.testing.assert_array_equal(spec.layers[0].weights[:, 1:], kernels)
    trace = train(tt, spec, model, loss_fn, optimizer, spec_for_record=spec)
    assert tracer.diff_traces(trace, tracer.run(tracer.load_spec(tmp_path / "mine.yaml"))).same


@pytest.mark.parametrize("build, words", [
    (lambda nn: nn.Sequential(nn.Conv2d(1, 1, 2, dilation=2), nn.Flatten(), nn.Linear(4, 1)), "dilation"),
    (lambda nn: nn.Sequential(nn.Conv2d(1, 1, 2, stride=(1, 2)), nn.Flatten(), nn.Linear(3, 1)), "stride"),
    (lambda nn: nn.Sequential(nn.Conv2d(1, 1, 2), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(1, 1)),
     "after a pool"),
    (lambda nn: nn.Sequential(nn.Conv2d(1, 1, 2), nn.MaxPool2d(2, ceil_mode=True), nn.Flatten(), nn.Linear(1, 1)),
     "ceil_mode"),
])
def test_what_a_grid_spec_cannot_express_is_refused(tt, torch, build, words):
    model = build(torch.nn).double()
    x, y = torch.rand(2, 1, 4, 4, dtype=torch.float64), torch.rand(2, 1, dtype=torch.float64)
    with pytest.raises(tracer.TracerError, match=words):
        tt.spec_from_model(model, x, y, torch.nn.MSELoss(), learning_rate=0.1)


def test_a_shared_tie_rule_cannot_be_built_in_pytorch(tt):
    from test_grid_oracle import random_spec

    with pytest.raises(tracer.TracerError, match="ties: first"):
        tt.model_from_spec(tracer.parse_spec(random_spec(14)))
