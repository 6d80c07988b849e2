"""tracer.torch over nn.RNN: a spec's rnn layer built as nn.RNN and an nn.Linear at every time step (or the last),
the user's loop recorded unchanged and equal to the engine on the 20 random rnn setups of the autograd oracle; a
user's own recurrent module (batch first or not, truncated or not) round-trips through spec_from_model; what a
spec cannot express is refused in one line. Skipped locally without torch (CI installs the CPU wheel)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tracer
from tracer import TracerError, parse_spec

from test_rnn import H1, O1, demo
from test_rnn_oracle import SETUPS, random_rnn
from test_torch import train
from traces import assert_same_as_the_engine


@pytest.fixture
def tt(torch):
    from tracer import torch as tt

    return tt


@pytest.mark.parametrize("seed", range(SETUPS))
def test_an_rnn_loop_records_equal_to_the_engine(tt, torch, seed):
    """Every table and each time step's contribution, from nn.RNN's states and PyTorch's own BPTT gradient."""
    spec = parse_spec(random_rnn(seed))
    model, loss_fn, optimizer = tt.model_from_spec(spec)
    assert isinstance(model.rnn, torch.nn.RNN)
    assert not model.rnn.bias or not model.rnn.bias_hh_l0.requires_grad  # the books' one bias is b_ih
    assert_same_as_the_engine(train(tt, spec, model, loss_fn, optimizer), spec)


@pytest.mark.parametrize("seed", [0, 1, 4])
def test_momentum_weight_decay_bce_and_minus_dE_dz_record_equal_to_the_engine(tt, seed):
    """The update's momentum and weight decay, a sigmoid output under BCELoss (sum), and a spec whose delta is
    -dE/dz: the recorded states' values follow the spec's conventions as a dense layer's do."""
    raw = random_rnn(seed)
    raw.update(delta="-dE/dz", momentum=0.5, weight_decay=0.01)
    if seed % 2:
        raw["loss"], raw["training"]["reduction"] = "binary_cross_entropy", "sum"
        raw["layers"][1]["activation"] = "sigmoid"
    spec = parse_spec(raw)
    trace = train(tt, spec, *tt.model_from_spec(spec))
    result = tracer.diff_traces(trace, tracer.run(spec))
    assert result.same, tracer.format_result(result)


def test_the_recorded_states_and_gradients_are_pytorchs_own(tt, torch):
    """The demo's first states by hand, read from nn.RNN's output; and a model whose W_h[1,1] is not the spec's
    differs from the engine first in that weight and then in exactly the states and outputs W_h[1,1] reaches
    (h1 from t2 on, h2 at t3 through h1@t2): the states are nn.RNN's, not filled in."""
    spec = parse_spec(demo())
    model, loss_fn, optimizer = tt.model_from_spec(spec)
    nodes = train(tt, spec, model, loss_fn, optimizer).nodes.set_index("unit")
    assert nodes.loc["h1@t1", "a"] == pytest.approx(H1[0], rel=1e-12)
    assert nodes.loc["o@t1", "a"] == pytest.approx(O1, rel=1e-12)
    assert nodes.loc["o@t1", "delta"] == pytest.approx(O1 - 0.2, rel=1e-12)  # half SSE: a - y
    assert nodes.loc["h1@t2", "z"] == pytest.approx(0.1 + 0.5 * 0.5 + 0.2 * H1[0] - 0.4 * H1[1], rel=1e-12)
    model, loss_fn, optimizer = tt.model_from_spec(spec)
    with torch.no_grad():
        model.rnn.weight_hh_l0[0, 0] += 0.01
    result = tracer.diff_traces(train(tt, spec, model, loss_fn, optimizer), tracer.run(spec))
    first = result.first
    assert (first["table"], first["quantity"], first["unit"], first["source"]) == ("weights", "w", "h1", "h1")
    states = result.differences.query("table == 'nodes' and quantity == 'a'")
    assert set(states.unit) == {"h1@t2", "h1@t3", "h2@t3", "o@t2", "o@t3"}


class Net:
    """A user's own recurrent module, written as PyTorch users write it: nn.RNN then nn.Linear, a sigmoid as a
    function, the state detached every k steps for truncated BPTT."""

    def __new__(cls, torch, every=True, batch_first=True, k=0):
        nn = torch.nn

        class UserNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = nn.RNN(2, 3, batch_first=batch_first)
                self.fc = nn.Linear(3, 2)

            def forward(self, x):
                steps = x.shape[1] if batch_first else x.shape[0]
                h, outs = None, []
                for s in range(0, steps, k or steps):
                    out, h = self.rnn(x[:, s:s + (k or steps)] if batch_first else x[s:s + (k or steps)], h)
                    h = h.detach()
                    outs.append(out)
                out = torch.cat(outs, 1 if batch_first else 0)
                if not every:
                    out = out[:, -1] if batch_first else out[-1]
                return torch.sigmoid(self.fc(out))

        torch.manual_seed(1)
        model = UserNet().double()
        model.rnn.bias_hh_l0.requires_grad_(False)
        return model


@pytest.mark.parametrize("every, batch_first, k", [(True, True, 0), (True, False, 2), (False, True, 2),
                                                   (False, False, 0)])
def test_a_users_rnn_model_round_trips_through_spec_from_model(tt, torch, tmp_path, every, batch_first, k):
    model = Net(torch, every, batch_first, k)
    x = torch.rand(4, 4, 2, dtype=torch.float64)
    y = torch.rand(4, 4, 2, dtype=torch.float64) if every else torch.rand(4, 2, dtype=torch.float64)
    if not batch_first:  # time steps first, as the model takes them
        x, y = x.transpose(0, 1), (y.transpose(0, 1) if every else y)
    loss_fn, optimizer = torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.5)
    spec = tt.spec_from_model(model, x, y, loss_fn, optimizer, batch_size=2, epochs=2, path=tmp_path / "mine.yaml")
    layer, head = spec.layers
    assert (layer.recurrence.bptt, layer.recurrence.outputs, head.activation.name) == (
        k, "every" if every else "last", "sigmoid")
    with torch.no_grad():
        bias = (model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0).numpy()
    np.testing.assert_array_equal(layer.weights[:, 0], bias)  # the books' one bias: nn.RNN's two summed
    with tt.record(model, loss_fn, optimizer, spec=spec) as rec:
        for _ in range(2):
            for s in (0, 2):
                batch = slice(s, s + 2)
                xb = x[batch] if batch_first else x[:, batch]
                yb = y[:, batch] if every and not batch_first else y[batch]
                optimizer.zero_grad()
                loss_fn(model(xb), yb).backward()
                optimizer.step()
    result = tracer.diff_traces(rec.trace(), tracer.run(tracer.load_spec(tmp_path / "mine.yaml")))
    assert result.same, tracer.format_result(result)


def test_batches_give_sequences_as_nn_rnn_takes_them(tt):
    spec = parse_spec(demo())
    x, y = next(iter(tt.batches(spec)))
    assert tuple(x.shape) == (1, 3, 1) and x[0, :, 0].tolist() == [1.0, 0.5, -0.5]
    assert tuple(y.shape) == (1, 3, 1) and y[0, :, 0].tolist() == [0.2, 0.1, 0.4]


def test_a_truncation_or_h0_other_than_the_specs_is_named_at_its_step(tt, torch):
    spec = parse_spec(demo())
    truncated = parse_spec(demo(layers=[dict(demo()["layers"][0], bptt=2), demo()["layers"][1]]))
    with pytest.raises(TracerError, match=r"detaches the state nowhere; the spec's bptt 2 cuts before time steps "
                                          r"\[3\]") as caught:
        train(tt, spec, *tt.model_from_spec(spec), spec_for_record=truncated)
    assert caught.value.place == "step 1"
    started = parse_spec(demo(layers=[dict(demo()["layers"][0], h0=[0.5, 0]), demo()["layers"][1]]))
    with pytest.raises(TracerError, match=r"starts from h_0 = \[\[0.0, 0.0\]\]; the spec's rnn layer has h0"):
        train(tt, spec, *tt.model_from_spec(spec), spec_for_record=started)


def test_a_head_at_other_time_steps_than_the_specs_is_named(tt, torch):
    """A model that applies its nn.Linear at every step, recorded against a spec whose loss is at the last."""
    spec = parse_spec(demo())
    last = parse_spec(demo(layers=[dict(demo()["layers"][0], outputs="last"), demo()["layers"][1]],
                           data=[{"x": [[1.0], [0.5], [-0.5]], "y": [0.4]}]))
    model, loss_fn, optimizer = tt.model_from_spec(spec)
    with pytest.raises(TracerError, match="applies its nn.Linear to every time step; the spec's rnn layer has "
                                          "outputs: last") as caught:
        with tt.record(model, loss_fn, optimizer, spec=last):
            x, y = next(iter(tt.batches(spec)))
            loss_fn(model(x), y).backward()
            optimizer.step()
    assert caught.value.place == "step 1"


def both_biases(torch):
    model = Net(torch)
    model.rnn.bias_hh_l0.requires_grad_(True)
    return model


@pytest.mark.parametrize("build, place, words", [
    (both_biases, "model.rnn.bias_hh_l0", "trains two biases"),
    (lambda torch: torch.nn.Sequential(torch.nn.LSTM(2, 3), torch.nn.Linear(3, 1)), "model.0", "LSTM cannot be"),
    (lambda torch: torch.nn.Sequential(torch.nn.RNN(2, 3, num_layers=2), torch.nn.Linear(3, 1)), "model.0",
     "stacked"),
])
def test_what_a_spec_cannot_express_of_an_rnn_is_refused(tt, torch, build, place, words):
    model = build(torch).double()
    x, y = torch.rand(2, 3, 2, dtype=torch.float64), torch.rand(2, 3, 2, dtype=torch.float64)
    with pytest.raises(TracerError, match=words) as caught:
        tt.spec_from_model(model, x, y, torch.nn.MSELoss(), learning_rate=0.1)
    assert caught.value.place == place


def test_an_rnn_pytorch_cannot_compute_is_not_built(tt):
    spec = parse_spec(demo(layers=[dict(demo()["layers"][0], activation="sigmoid"), demo()["layers"][1]]))
    with pytest.raises(TracerError, match="nn.RNN computes tanh or relu"):
        tt.model_from_spec(spec)


def test_the_books_bias_trains_once_in_the_built_model(tt, torch):
    """model_from_spec freezes b_hh at 0, so the spec's one bias moves by -eta * grad, not twice that."""
    spec = parse_spec(demo())
    trace = train(tt, spec, *tt.model_from_spec(spec))
    bias = trace.updates[(trace.updates.unit == "h1") & (trace.updates.source == "bias")].iloc[0]
    assert bias.delta_w == pytest.approx(-0.1 * bias.grad, rel=1e-12) and not math.isnan(bias.grad)


def test_a_module_called_outside_the_models_forward_pass_is_not_recorded(tt, torch):
    """Looking at a layer's output by hand inside the block (model.rnn(x), model[0](x)) leaves the trace as it
    was: only the model's own forward passes are recorded."""
    for spec in (parse_spec(demo()), tracer.load_spec("ekman")):
        model, loss_fn, optimizer = tt.model_from_spec(spec)
        layer = model.rnn if isinstance(model, tt.ElmanNet) else model[0]
        with tt.record(model, loss_fn, optimizer) as rec:
            for x, y in tt.batches(spec):
                optimizer.zero_grad()
                loss_fn(model(x), y).backward()
                layer(x)
                optimizer.step()
                layer(x)
        result = tracer.diff_traces(rec.trace(), tracer.run(spec))
        assert result.same, tracer.format_result(result)
