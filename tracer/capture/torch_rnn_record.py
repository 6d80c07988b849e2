"""Record a PyTorch loop over an nn.RNN and the nn.Linear after it, unchanged, into a Trace.

nn.RNN runs all its time steps in one call, so what it shows is the states h_t (its output), the gradient the
layer above sends each state (a tensor hook on that output), and, from the optimizer's step hooks, the weights
before, their gradient (PyTorch's own backpropagation through time) and the weights after. The states' net inputs
z_t and error terms δ_t are not shown; they are computed from what was recorded by the engine's recurrence
(tracer.engine.grids.Recurrent: z_t from the step's weights and the recorded h_{t-1}, δ_t back through time from
the recorded gradients), as the NumPy Recorder fills what a loop does not give. The head's z, a and their
gradients are recorded as for a dense layer. `tracer diff` against the engine then compares PyTorch's states,
outputs, loss, gradient and new weights.
"""
from __future__ import annotations

import numpy as np
import torch

from ..engine.grids import Recurrent
from ..engine.trace import weight_matrices
from ..errors import TracerError
from .steps import Steps
from .torch_models import check_optimizer, loss_kind
from .torch_record import TorchRecording, as_numpy, sample_rows
from .torch_rnn import SequencePass, check_recurrent, recurrent_parts


class TorchRNNRecording(TorchRecording):
    """The hooks of one `record` block over a recurrent model and the steps they saw."""

    def __init__(self, spec, model, loss_fn, optimizer):
        self.spec = spec
        self.parts = recurrent_parts(model)
        if self.parts is None:
            raise TracerError("model", "the spec has an rnn layer but the model has no nn.RNN")
        check_recurrent(self.parts, spec)
        self.kind = loss_kind(loss_fn)
        check_optimizer(optimizer)
        self.tensors = self.parts.tensors()
        self.trained_bias = self.parts.bias_trained()
        self.passes, self.current, self.steps, self.handles = [], None, [], []
        self._attach(model, loss_fn, optimizer)

    def _attach(self, model, loss_fn, optimizer) -> None:
        hook = self.handles.append
        hook(model.register_forward_pre_hook(lambda module, args: setattr(self, "current", SequencePass())))
        hook(model.register_forward_hook(self._model_ends))
        hook(self.parts.rnn.register_forward_hook(self._rnn_seen, with_kwargs=True))
        hook(self.parts.head.register_forward_hook(self._head_seen))
        hook(loss_fn.register_forward_hook(self._loss_seen, with_kwargs=True))
        hook(optimizer.register_step_pre_hook(self._step_starts))
        hook(optimizer.register_step_post_hook(self._step_ends))

    def _rnn_seen(self, module, args, kwargs, output):
        if self.current is not None:  # else a call of the module outside the model's forward pass
            self.current.rnn_seen(module, args, kwargs, output)

    def _head_seen(self, module, args, output):
        if self.current is not None:
            self.current.head_seen(module, args, output)

    def _model_ends(self, module, args, output):
        self.current.output_seen(output)
        self.passes.append(self.current)
        self.current = None

    def _step_ends(self, optimizer, args, kwargs):
        super()._step_ends(optimizer, args, kwargs)
        for p in self.steps[-1][0]:
            self._check_pass(p, len(self.steps))

    def _check_pass(self, p: SequencePass, step: int) -> None:
        """Refuse a pass whose h_0 or truncation is not the spec's: the recurrence would fill z and δ wrongly."""
        r = self.spec.layers[0].recurrence
        h0 = torch.zeros(len(r.units), dtype=torch.float64) if p.h0 is None else p.h0.double()
        if not torch.allclose(h0, torch.tensor(r.h0, dtype=torch.float64), rtol=1e-12, atol=0):
            raise TracerError(f"step {step}", f"the model starts from h_0 = {as_numpy(h0).tolist()}; the spec's rnn "
                                              f"layer has h0: {list(r.h0)}")
        ran = sum(x.shape[1] for x in p.xs)
        if ran != r.steps:
            raise TracerError(f"step {step}", f"nn.RNN ran {ran} time steps; the spec's sequences have {r.steps}")
        if (p.z.ndim == 3) != (r.outputs == "every"):
            said = "every time step" if p.z.ndim == 3 else "the last state only"
            raise TracerError(f"step {step}", f"the model applies its nn.Linear to {said}; the spec's rnn layer has "
                                              f"outputs: {r.outputs}")
        expected = {t for t in range(1, r.steps) if r.cut(t)}
        if any(t.requires_grad for t in self.parts.rnn.parameters()) and p.cuts != expected:
            said = lambda cuts: f"before time steps {sorted(t + 1 for t in cuts)}" if cuts else "nowhere"
            raise TracerError(f"step {step}", f"the model detaches the state {said(p.cuts)}; the spec's bptt "
                                              f"{r.bptt or 'full'} cuts {said(expected)}")

    def as_steps(self) -> Steps:
        spec, kind = self.spec, self.kind
        layer, head = spec.layers
        r = layer.recurrence
        passes = [p for used, *_ in self.steps for p in used]
        sizes = np.array([sum(len(p.xs[0]) for p in used) for used, *_ in self.steps])
        scale = kind.samples_scale([len(p.xs[0]) for p in passes])  # undoes the loss's 1/B
        if r.outputs == "every":  # samples x time steps x outputs (batch first), as the trace orders its units
            time_major = not self.parts.rnn.batch_first
            by_unit = lambda t: _by_unit(t.transpose(0, 1) if time_major else t)
        else:
            time_major, by_unit = False, lambda t: t.reshape(len(t), -1)
        sequences = as_numpy(torch.cat([torch.cat(p.xs, dim=1) for p in passes]))
        n = len(sequences)
        x = np.hstack([sequences.reshape(n, -1), np.broadcast_to(np.array(r.h0), (n, len(r.units)))])
        y = as_numpy(torch.cat([by_unit(p.y) for p in passes]))
        states = as_numpy(torch.cat([torch.cat(p.states, dim=1) for p in passes])).reshape(n, -1)
        sent = as_numpy(torch.cat([torch.cat([torch.zeros_like(s) if g is None else g for s, g in
                                              zip(p.states, p.grads)], dim=1) for p in passes])).reshape(n, -1) * scale
        z = as_numpy(torch.cat([by_unit(p.z) for p in passes]))
        delta = as_numpy(torch.cat([by_unit(p.dz) for p in passes])) * scale
        if kind.logits is not None:  # the loss applies the output activation itself
            activation, a, dE_da = kind.from_logits(z, y)
        else:
            activation = head.activation
            a = as_numpy(torch.cat([by_unit(p.output) for p in passes]))
            dE_da = as_numpy(torch.cat([by_unit(p.da) for p in passes])) * scale
        w_old, grad, w_new = (self._per_step(k) for k in (1, 2, 3))
        rnn = _through_time(spec, x, states, sent, w_old, sizes)
        output = {"z": z, "a": a, "da_dz": activation.da_dz(z, a), "dE_da": dE_da, "delta": delta}
        if spec.delta_sign < 0:  # the spec's delta is -dE/dz, its dE_da the error -dE/da
            for values in (rnn, output):
                values["dE_da"], values["delta"] = -values["dE_da"], -values["delta"]
        with torch.no_grad():
            given, y_given = (torch.cat([t.transpose(0, 1) if time_major else t for t in ts]) for ts in
                              ([p.loss_input for p in passes], [p.y for p in passes]))
            loss = as_numpy(kind.per_sample(given, y_given))
        return Steps(sizes, sample_rows(spec, x, y, sizes), [rnn, output], loss, w_old, grad, w_new)

    def _per_step(self, k: int) -> np.ndarray:
        """Weights before (k = 1), gradients (2) or weights after (3) of every step in the spec's order: per unit
        the bias (b_ih + b_hh; its gradient the trained one's), W_x, W_h; then the head's bias and weights."""
        count, rnn, parts = len(self.steps), self.parts.rnn, self.parts
        index = {id(t): i for i, t in enumerate(self.tensors)}

        def stacked(tensor):
            i = index[id(tensor)]
            nan = torch.full_like(tensor, float("nan"))
            return torch.stack([nan if s[k][i] is None else s[k][i] for s in self.steps]).reshape(count,
                                                                                                  len(tensor), -1)
        blocks = [stacked(rnn.weight_ih_l0), stacked(rnn.weight_hh_l0)]
        if rnn.bias:
            if k != 2:
                bias = stacked(rnn.bias_ih_l0) + stacked(rnn.bias_hh_l0)
            else:
                bias = stacked(self.trained_bias if self.trained_bias is not None else rnn.bias_ih_l0)
                bias = bias if self.trained_bias is not None else torch.full_like(bias, float("nan"))
            blocks.insert(0, bias)
        head = [stacked(parts.head.weight)]
        if parts.head.bias is not None:
            head.insert(0, stacked(parts.head.bias))
        columns = [torch.cat(blocks, dim=2).reshape(count, -1), torch.cat(head, dim=2).reshape(count, -1)]
        return as_numpy(torch.cat(columns, dim=1)).copy()


def _by_unit(values):
    """samples x time steps x units as the trace's output units are ordered: o1@t1, o1@t2, ..., o2@t1, ..."""
    return values.transpose(1, 2).reshape(len(values), -1)


def _through_time(spec, x, states, sent, w_old, sizes) -> dict:
    """The rnn layer's values per sample: the recorded states, and z, da/dz, dE/da and δ by the engine's
    recurrence with each step's weights from the recorded states and the gradients the head sent."""
    layer = spec.layers[0]
    z, dE_da, delta = np.empty_like(states), np.empty_like(states), np.empty_like(states)
    da_dz = np.empty_like(states)
    first = np.concatenate([[0], np.cumsum(sizes)])
    for k in range(len(sizes)):
        rows = slice(first[k], first[k + 1])
        weights = weight_matrices(spec, w_old[k])[0]
        recurrence = Recurrent(layer, weights, np.empty_like(weights))
        z[rows] = recurrence.net_inputs(x[rows], states[rows])
        da_dz[rows] = layer.activation.da_dz(z[rows], states[rows])
        dE_da[rows], delta[rows] = recurrence.through_time(sent[rows], da_dz[rows], states[rows])
    return {"z": z, "a": states, "da_dz": da_dz, "dE_da": dE_da, "delta": delta}
