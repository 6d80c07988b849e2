"""Record a PyTorch training loop, unchanged, into a Trace: hooks on the model, the loss and the optimizer.

Per sample: z (each Linear's output) and a (each activation's output) from forward hooks; dE/da and delta
(= dE/dz) from tensor hooks on those outputs, times B when the loss takes the mean over a batch of B, so they
are each sample's own (the engine's per-sample values; the batch's 1/B is then the spec's reduction). Per step,
from the optimizer's step hooks: the weights before, the gradient as the optimizer saw it (`.grad`), and the
weights after; delta w is their difference. Samples are found in the spec's data by their values.
"""
from __future__ import annotations

import numpy as np
import torch

from ..engine.train import epoch_orders
from ..errors import TracerError
from .steps import RecordedLoop, Steps
from .torch_grid import check_grid, kernel_tensor
from .torch_models import check_optimizer, loss_kind, read_model


class Pass:
    """One forward pass of the model: its input, each layer's z and a, their gradients once backward has run,
    and the loss's input and target when a loss was taken of its output."""

    def __init__(self, x, count: int):
        self.x = x.detach()
        self.z, self.a = [None] * count, [None] * count
        self.dz, self.da = [None] * count, [None] * count
        self.output = self.loss_input = self.y = None

    @property
    def used(self) -> bool:
        """Whether a loss of this pass's output was back-propagated."""
        return self.y is not None and self.dz[0] is not None


class TorchRecording(RecordedLoop):
    """The hooks of one `record` block and the steps they saw; `trace()` gives the Trace. The hooks only keep
    references and copies of the weights; everything else is computed once, for all steps, in `trace()`."""

    def __init__(self, spec, model, loss_fn, optimizer):
        self.spec = spec
        self.layers = read_model(model)
        self.kind = loss_kind(loss_fn)
        check_optimizer(optimizer)
        _check_shapes(self.layers, spec)
        self.tensors = [t for layer in self.layers for t in _parameters(layer.linear)]
        self.passes: list[Pass] = []  # forward passes of the current step
        self.current: Pass | None = None
        self.steps: list[tuple] = []  # (passes, weights before, gradients, weights after) of each step
        self.handles = []
        self._attach(model, loss_fn, optimizer)

    def ready(self) -> None:
        """Refuse a trace of a block in which the optimizer took no step."""
        if not self.steps:
            raise TracerError("record", "no optimizer.step() was taken inside the block")

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

    # hooks

    def _attach(self, model, loss_fn, optimizer) -> None:
        hook = self.handles.append
        hook(model.register_forward_pre_hook(self._model_starts, with_kwargs=True))
        hook(model.register_forward_hook(self._model_ends))
        for l, layer in enumerate(self.layers):
            hook(layer.linear.register_forward_hook(self._saver(l, "z")))
            if layer.module is not None:
                hook(layer.module.register_forward_hook(self._saver(l, "a")))
        hook(loss_fn.register_forward_hook(self._loss_seen, with_kwargs=True))
        hook(optimizer.register_step_pre_hook(self._step_starts))
        hook(optimizer.register_step_post_hook(self._step_ends))

    def _model_starts(self, module, args, kwargs):
        """The model's input, given by position or as `input=` (nn.Sequential's own name for it)."""
        self.current = Pass(args[0] if args else kwargs["input"], len(self.layers))

    def _saver(self, l: int, name: str):
        def save(module, args, output):
            p = self.current
            if p is None:  # a call of the module outside the model's forward pass
                return
            getattr(p, name)[l] = output.detach()
            if output.requires_grad:
                output.register_hook(lambda grad: getattr(p, "d" + name).__setitem__(l, grad))
        return save

    def _model_ends(self, module, args, output):
        self.current.output = output
        self.passes.append(self.current)
        self.current = None

    def _loss_seen(self, module, args, kwargs, output):
        given, target = (list(args) + [kwargs.get("input"), kwargs.get("target")][len(args):])[:2]
        p = next((p for p in reversed(self.passes) if p.output is given), None)
        if p is not None:  # else the loss of something else (a held-out batch scored by hand)
            p.loss_input, p.y = given.detach(), target.detach()

    def _step_starts(self, optimizer, args, kwargs):
        self.before = [t.detach().clone() for t in self.tensors]
        self.grads = [None if t.grad is None else t.grad.detach().clone() for t in self.tensors]

    def _step_ends(self, optimizer, args, kwargs):
        used = [p for p in self.passes if p.used]
        self.passes = []
        if not used:
            raise TracerError("optimizer.step()", "no loss of the model's output was back-propagated in this step; "
                                                  "call loss_fn(model(x), y).backward() before the step")
        self.steps.append((used, self.before, self.grads, [t.detach().clone() for t in self.tensors]))

    # all steps at once

    def as_steps(self) -> Steps:
        kind, outputs = self.kind, len(self.spec.layers[-1].units)
        passes = [p for used, *_ in self.steps for p in used]
        x = _flat(torch.cat([p.x for p in passes]))
        y = as_numpy(torch.cat([_targets(p.y, outputs) for p in passes]))
        scale = kind.samples_scale([len(p.x) for p in passes])  # undoes the loss's 1/B: per-sample values
        sizes = np.array([sum(len(p.x) for p in used) for used, *_ in self.steps])
        layers, last = [], len(self.layers) - 1
        for l, layer in enumerate(self.layers):
            z = _flat(torch.cat([p.z[l] for p in passes]))
            delta = _flat(torch.cat([p.dz[l] for p in passes])) * scale
            if l == last and kind.logits is not None:  # the loss applies the output activation itself
                activation, a, dE_da = kind.from_logits(z, y)
            elif layer.module is None:  # a = z
                activation, a, dE_da = layer.activation, z, delta
            else:
                activation = layer.activation
                a = _flat(torch.cat([p.a[l] for p in passes]))
                dE_da = _flat(torch.cat([p.da[l] for p in passes])) * scale
            if self.spec.delta_sign < 0:  # the spec's delta is -dE/dz, its dE_da the error -dE/da
                dE_da, delta = -dE_da, -delta
            layers.append({"z": z, "a": a, "da_dz": activation.da_dz(z, a), "dE_da": dE_da, "delta": delta})
        with torch.no_grad():
            loss = as_numpy(kind.per_sample(torch.cat([p.loss_input for p in passes]), torch.cat([p.y for p in passes])))
        w_old, grad, w_new = (self._per_step(k) for k in (1, 2, 3))
        samples = sample_rows(self.spec, x, y, sizes)
        return Steps(sizes, samples, layers, loss, w_old, grad, w_new)

    def _per_step(self, k: int) -> np.ndarray:
        """Weights before (k = 1), gradients (2) or weights after (3) of every step: steps x parameters in the
        spec's order (per layer the bias as column 0, then the weights); a frozen tensor's gradient is NaN. A
        threshold θ is the bias −θ, its gradient the bias's negated; a convolution's kernels are flipped back
        (nn.Conv2d holds them flipped, tracer.capture.torch_grid)."""
        columns, t = [], 0
        for layer, want in zip(self.layers, self.spec.layers):
            blocks = []
            for tensor in _parameters(layer.linear):
                nan = torch.full_like(tensor, float("nan"))
                values = torch.stack([nan if s[k][t] is None else s[k][t] for s in self.steps])
                if tensor is getattr(layer.linear, "bias", None):
                    values = values * want.bias_input
                elif want.grid is not None:
                    values = kernel_tensor(want, values.reshape(*values.shape[:2], -1))
                blocks.append(values.reshape(len(self.steps), len(tensor), -1))
                t += 1
            if blocks:  # a pool has no weights
                columns.append(torch.cat(blocks, dim=2).reshape(len(self.steps), -1))
        return as_numpy(torch.cat(columns, dim=1)).copy()


def _check_shapes(layers, spec) -> None:
    if len(layers) != len(spec.layers):
        raise TracerError("model", f"has {len(layers)} layers (Linear, Conv2d, pools); the spec has "
                                   f"{len(spec.layers)}")
    for layer, want in zip(layers, spec.layers):
        if want.grid is not None or not isinstance(layer.linear, torch.nn.Linear):
            check_grid(layer.linear, want, layer.place)
            continue
        got = (layer.linear.out_features, layer.linear.in_features, layer.linear.bias is not None)
        expected = (len(want.units), want.n_inputs, want.bias)
        if got != expected:
            raise TracerError(layer.place, f"is Linear({got[1]}, {got[0]}, bias={got[2]}); the spec's layer "
                                           f"{want.name!r} is Linear({expected[1]}, {expected[0]}, bias={expected[2]})")


def _parameters(linear) -> list:
    """A Linear's (or Conv2d's) tensors in the spec's order: the bias (column 0 of the spec's matrix), then the
    weights; a pool has none."""
    bias, weight = getattr(linear, "bias", None), getattr(linear, "weight", None)
    return ([bias] if bias is not None else []) + ([weight] if weight is not None else [])


def as_numpy(tensor) -> np.ndarray:
    return tensor.detach().double().numpy()


def _flat(tensor) -> np.ndarray:
    """Rows of samples, a conv's or pool's (channels, height, width) flat in the spec's cell order."""
    return as_numpy(tensor).reshape(len(tensor), -1)


def sample_rows(spec, x, y, sizes) -> np.ndarray:
    """Rows of the spec's data the samples are, found by their values (where values repeat, the row the spec's
    training order has there); a sample not in the data is refused, naming its step."""
    rows: dict[bytes, list[int]] = {}
    for i, key in enumerate(_keys(spec.x, spec.y)):
        rows.setdefault(key, []).append(i)
    expected = _training_rows(spec, len(x))
    step_of_row = np.repeat(np.arange(len(sizes)), sizes)
    out = np.empty(len(x), dtype=np.int64)
    for r, key in enumerate(_keys(x, y)):
        found = rows.get(key)
        if found is None:
            raise TracerError(f"step {step_of_row[r] + 1}", "fed a sample that is not in the spec's data; record "
                                                           "against the spec of your data (tt.spec_from_model)")
        out[r] = expected[r] if len(found) > 1 and expected[r] in found else found[0]
    return out


def _training_rows(spec, count: int) -> np.ndarray:
    """The first `count` rows of the data in the spec's training order."""
    blocks, total = [], 0
    for order in epoch_orders(spec):
        if total >= count:
            break
        blocks.append(order)
        total += len(order)
    return np.concatenate(blocks)[:count]


def _targets(y, outputs: int):
    """Class indices (CrossEntropyLoss) as one-hot rows; other targets as they are."""
    if y.dtype in (torch.int64, torch.int32, torch.uint8) and y.ndim == 1:
        return torch.nn.functional.one_hot(y.long(), outputs)
    return y.reshape(len(y), -1)


def _keys(x: np.ndarray, y: np.ndarray):
    """A sample's values as bytes (+ 0.0 makes -0.0 and 0.0 one key)."""
    x, y = np.ascontiguousarray(x, float) + 0.0, np.ascontiguousarray(y, float) + 0.0
    return [xr.tobytes() + b"|" + yr.tobytes() for xr, yr in zip(x, y)]
