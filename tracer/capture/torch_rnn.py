"""PyTorch's nn.RNN in spec terms, both ways: a spec's rnn layer and the dense layer after it built as an
`ElmanNet` (nn.RNN, then nn.Linear at every time step or at the last one), and a user's recurrent model read
back as those two layers.

A spec's rnn layer has one bias per unit; nn.RNN has two, b_ih and b_hh, that sum. Both trained would move the
sum twice as fast as one bias, so one of them must be frozen (ElmanNet freezes b_hh at 0); the spec's bias is
their sum. Truncated BPTT is the state detached every k steps (`h = h.detach()` between chunks of the sequence),
which the spec writes `bptt: k`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import TracerError
from ..model import activations as acts
from .torch_models import MODULE_ACTIVATIONS, activation_module, linear_module

RNN_ACTIVATIONS = {"tanh": acts.Tanh, "relu": acts.ReLU}  # nn.RNN's nonlinearity


class ElmanNet(nn.Module):
    """A spec's sequence network: h_t = f(W_x x_t + W_h h_{t-1} + b) from h_0 (nn.RNN, batch_first), the state
    detached every `bptt` steps (0: never), then the head (nn.Linear and its activation) applied at every time step
    (`outputs: every`, output samples x steps x units) or to the last state (`last`, samples x units)."""

    def __init__(self, rnn: nn.RNN, head: nn.Linear, activation: nn.Module | None, h0, bptt: int, outputs: str):
        super().__init__()
        self.rnn, self.head, self.activation = rnn, head, activation
        self.register_buffer("h0", torch.as_tensor(h0, dtype=torch.float64))
        self.bptt, self.outputs = bptt, outputs

    def forward(self, x):
        steps = x.shape[1]
        h = self.h0.expand(1, len(x), -1).contiguous()
        chunk = self.bptt or steps
        states = []
        for start in range(0, steps, chunk):
            out, h = self.rnn(x[:, start:start + chunk], h)
            states.append(out)
            h = h.detach()  # truncated BPTT: no gradient back into the chunk before
        out = torch.cat(states, dim=1)
        z = self.head(out if self.outputs == "every" else out[:, -1])
        return z if self.activation is None else self.activation(z)


class SequencePass:
    """One forward pass of a recurrent model, seen by hooks: per call of nn.RNN (one per chunk of a truncated
    sequence) its inputs and states, batch first, and the states' gradients once backward has run; h_0; the time
    steps before which the state was detached; the head's z, the model's output and their gradients; the loss's
    input and target."""

    def __init__(self):
        self.xs, self.states, self.grads, self.cuts = [], [], [], set()
        self.h0 = self.z = self.dz = self.output = self.da = self.loss_input = self.y = None

    @property
    def used(self) -> bool:
        """Whether a loss of this pass's output was back-propagated."""
        return self.y is not None and self.dz is not None

    def rnn_seen(self, module, args, kwargs, output) -> None:
        x, h = args[0], (args[1] if len(args) > 1 else kwargs.get("hx"))
        if not isinstance(x, torch.Tensor) or x.ndim != 3:
            raise TracerError("nn.RNN", "takes a batch of sequences here, samples x time steps x inputs (batch_first) "
                                        "or time steps x samples x inputs: unbatched or packed input cannot be traced")
        out, batch_first = output[0], module.batch_first
        start = sum(c.shape[1] for c in self.xs)
        if start == 0:
            self.h0 = None if h is None else h.detach()[0]
        elif h is None or not h.requires_grad:
            self.cuts.add(start)
        self.xs.append((x if batch_first else x.transpose(0, 1)).detach())
        self.states.append((out if batch_first else out.transpose(0, 1)).detach())
        self.grads.append(None)
        index = len(self.grads) - 1
        if out.requires_grad:
            out.register_hook(lambda g: self.grads.__setitem__(index, g if batch_first else g.transpose(0, 1)))

    def head_seen(self, module, args, output) -> None:
        self.z = output.detach()
        if output.requires_grad:
            output.register_hook(lambda g: setattr(self, "dz", g))

    def output_seen(self, output) -> None:
        self.output = output
        if output.requires_grad:
            output.register_hook(lambda g: setattr(self, "da", g))

    def sequences(self):
        """The inputs, samples x time steps x features."""
        return torch.cat(self.xs, dim=1)


def trial_pass(model, parts, x) -> SequencePass:
    """What the model's forward pass on x does (spec_from_model reads its truncation, h_0 and head from it)."""
    seen = SequencePass()
    handles = [parts.rnn.register_forward_hook(seen.rnn_seen, with_kwargs=True),
               parts.head.register_forward_hook(seen.head_seen)]
    try:
        with torch.enable_grad():
            seen.output_seen(model(x))
    finally:
        for handle in handles:
            handle.remove()
    return seen


@dataclass
class RecurrentModel:
    """The two parts of a recurrent model a spec can express: its nn.RNN and the nn.Linear after it, with their
    places in the model."""

    rnn: nn.RNN
    head: nn.Linear
    rnn_place: str
    head_place: str

    @property
    def activation(self) -> acts.Activation:
        return RNN_ACTIVATIONS[self.rnn.nonlinearity]()

    @property
    def bias(self) -> bool:
        return self.rnn.bias

    def bias_trained(self):
        """The one bias tensor of nn.RNN that trains (None if neither does), refusing two: the spec's one bias
        is b_ih + b_hh, and training both would move it twice as fast."""
        if not self.rnn.bias:
            return None
        trained = [t for t in (self.rnn.bias_ih_l0, self.rnn.bias_hh_l0) if t.requires_grad]
        if len(trained) == 2:
            raise TracerError(f"{self.rnn_place}.bias_hh_l0", "nn.RNN trains two biases, b_ih and b_hh, whose sum "
                                                              "is the books' one bias and moves twice as fast; freeze "
                                                              "one: model.rnn.bias_hh_l0.requires_grad_(False)")
        return trained[0] if trained else None

    def tensors(self) -> list:
        """The tensors the optimizer may change, in the spec's order: per unit the bias, W_x, W_h; then the
        head's bias and weights."""
        rnn = self.rnn
        biases = [rnn.bias_ih_l0, rnn.bias_hh_l0] if rnn.bias else []
        head = ([self.head.bias] if self.head.bias is not None else []) + [self.head.weight]
        return [*biases, rnn.weight_ih_l0, rnn.weight_hh_l0, *head]


def recurrent_parts(model) -> RecurrentModel | None:
    """The nn.RNN and the nn.Linear of a recurrent model, or None for a model with no nn.RNN; anything else a
    spec's rnn layer and the dense layer after it cannot express is refused in one line."""
    named = [(f"model.{name}" if name else "model", m) for name, m in model.named_modules()]
    rnns = [(place, m) for place, m in named if isinstance(m, nn.RNNBase)]
    if not rnns:
        return None
    if len(rnns) > 1 or type(rnns[0][1]) is not nn.RNN:
        raise TracerError(rnns[-1][0], f"{type(rnns[-1][1]).__name__} cannot be traced: tracer.torch records one "
                                       "nn.RNN (Elman) followed by one nn.Linear")
    place, rnn = rnns[0]
    if rnn.num_layers != 1 or rnn.bidirectional:
        raise TracerError(place, "a stacked or bidirectional nn.RNN cannot be traced; use num_layers=1, "
                                 "bidirectional=False")
    linears = [(p, m) for p, m in named if isinstance(m, nn.Linear)]
    others = [(p, m) for p, m in named if list(m.parameters(recurse=False)) and not isinstance(m, (nn.RNN, nn.Linear))]
    if len(linears) != 1 or others:
        where, what = (others or linears[1:] or [("model", None)])[0]
        raise TracerError(where, "tracer.torch records a recurrent model as one nn.RNN followed by one nn.Linear "
                                 f"(the spec's rnn layer and the dense layer after it); found {len(linears)} "
                                 f"nn.Linear{'' if what is None else ' and ' + type(what).__name__}")
    return RecurrentModel(rnn, linears[0][1], place, linears[0][0])


def check_recurrent(parts: RecurrentModel, spec) -> None:
    """The model's nn.RNN and nn.Linear against the spec's rnn layer and the layer after it."""
    if len(spec.layers) != 2:
        raise TracerError("record", f"the spec has {len(spec.layers)} layers; tracer.torch records an rnn layer and "
                                    "one dense layer after it")
    layer, head = spec.layers
    r = layer.recurrence
    rnn = parts.rnn
    got = (rnn.input_size, rnn.hidden_size, rnn.bias, rnn.nonlinearity)
    expected = (len(r.features), len(r.units), layer.bias, layer.activation.name)
    if got != expected:
        raise TracerError(parts.rnn_place, f"is nn.RNN(inputs, units, bias, nonlinearity) = {got}; the spec's "
                                           f"layer {layer.name!r} has {expected}")
    got = (parts.head.in_features, parts.head.out_features, parts.head.bias is not None)
    expected = (len(r.units), len(head.kernels), head.bias)
    if got != expected:
        raise TracerError(parts.head_place, f"is Linear(in, out, bias) = {got}; the spec's layer {head.name!r} "
                                            f"has {expected}")
    parts.bias_trained()


def rnn_modules(spec, logits: bool) -> ElmanNet:
    """The ElmanNet of a spec's rnn layer and the dense layer after it (nn.RNN, nn.Linear and the head's
    activation; none where the loss takes logits), its weights copied in (b_hh frozen at 0), float64."""
    if len(spec.layers) != 2:
        raise TracerError("model_from_spec", "an rnn layer is built with exactly one dense layer after it "
                                             f"(the spec has {len(spec.layers) - 1})")
    layer, dense = spec.layers
    name = layer.activation.name
    if name not in RNN_ACTIVATIONS or getattr(layer.activation, "params", {}):
        raise TracerError(f"layers[{layer.name}].activation", f"{name} cannot be built: nn.RNN computes tanh or relu")
    r = layer.recurrence
    F, U, first = len(r.features), len(r.units), int(layer.bias)
    rnn = nn.RNN(F, U, nonlinearity=name, bias=layer.bias, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(layer.weights[:, first:first + F]))
        rnn.weight_hh_l0.copy_(torch.from_numpy(layer.weights[:, first + F:]))
        if layer.bias:
            rnn.bias_ih_l0.copy_(torch.from_numpy(layer.weights[:, 0]))
            rnn.bias_hh_l0.zero_().requires_grad_(False)  # the spec's one bias is b_ih
    if layer.frozen.any():
        if not layer.frozen.all():
            raise TracerError(f"layers[{layer.name}].frozen", "nn.RNN freezes whole tensors: freeze the whole layer")
        for tensor in rnn.parameters():
            tensor.requires_grad_(False)
    head = linear_module(dense, U, len(dense.kernels))
    return ElmanNet(rnn, head, activation_module(dense.activation, True, logits), r.h0, r.bptt, r.outputs)


def head_activation_of(model, z, output) -> acts.Activation:
    """The spec's activation the model applies to its nn.Linear's output z to give `output`: one of the model's
    activation modules, none, or sigmoid, tanh or ReLU written as functions; else one line saying so."""
    own = [m for m in model.modules() if type(m) in MODULE_ACTIVATIONS or isinstance(getattr(m, "activation", None),
                                                                                       acts.Activation)]
    candidates = [(m, getattr(m, "activation", None) or MODULE_ACTIVATIONS[type(m)](m)) for m in own]
    candidates += [(lambda t: t, acts.Linear()), (torch.sigmoid, acts.Sigmoid()), (torch.tanh, acts.Tanh()),
                   (torch.relu, acts.ReLU())]
    with torch.no_grad():
        for apply, activation in candidates:
            if apply(z).shape == output.shape and torch.allclose(apply(z), output, rtol=1e-12, atol=1e-15):
                return activation
    raise TracerError("model", "its output is not an activation tracer.torch knows of its nn.Linear's output; "
                               "end the model with the nn.Linear, or an activation module after it")


def bptt_of(cuts: set[int], steps: int, place: str) -> int:
    """The spec's bptt (0: full) of the time steps at which the model detached the state: every k-th step."""
    if not cuts:
        return 0
    k = min(cuts)
    if cuts != set(range(k, steps, k)):
        raise TracerError(place, f"the state is detached before time steps {sorted(t + 1 for t in cuts)}, not every "
                                 "k steps, which a spec's bptt cannot express")
    return k
