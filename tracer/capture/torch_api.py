"""The tracer.torch functions: `model_from_spec` builds the spec's network (an nn.Sequential of nn.Linear, conv,
pool and activation modules, or an ElmanNet for an rnn layer) with its loss module and torch.optim.SGD, all in
float64; `batches` gives the spec's data in its training order as tensors; `record` records a loop over either.
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from ..errors import TracerError
from .recorder import batches as numpy_batches
from .torch_grid import grid_module
from .torch_models import SPEC_ATTRIBUTE, GradientFactorLoss, SSELoss, activation_module, freeze, linear_module
from .torch_record import TorchRecording
from .torch_rnn import rnn_modules
from .torch_rnn_record import TorchRNNRecording


@contextlib.contextmanager
def record(model, loss_fn, optimizer, spec=None):
    """Record the training loop run inside the block; `trace()` of what it yields gives the Trace.

    The spec names the layers, units and samples: the one `model_from_spec` built the model from, or `spec`.
    """
    spec = spec if spec is not None else getattr(model, SPEC_ATTRIBUTE, None)
    if spec is None:
        raise TracerError("record", "needs the spec the model follows: build the model with tt.model_from_spec"
                                    "(spec), or pass spec=tt.spec_from_model(model, x, y, loss_fn, optimizer)")
    make = TorchRNNRecording if spec.layers[0].recurrence is not None else TorchRecording
    recording = make(spec, model, loss_fn, optimizer)
    try:
        yield recording
    finally:
        recording.close()


def model_from_spec(spec):
    """(nn.Sequential, loss module, torch.optim.SGD) that train as the spec does, in float64: conv and pool
    layers as nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, and an nn.Flatten before the first dense layer after them."""
    if spec.update_order.sequential:
        raise TracerError("training.update_order", "sequential updates (each layer before the next back-"
                                                   "propagates) cannot be written as loss.backward() then "
                                                   "optimizer.step(); use the simultaneous order")
    last = len(spec.layers) - 1
    logits = spec.loss.name == "cross_entropy"
    if spec.layers[0].recurrence is not None:
        return _with_spec(rnn_modules(spec, logits), spec)
    modules = []
    for k, layer in enumerate(spec.layers):
        if layer.grid is not None:
            linear = grid_module(layer)
            if layer.weights.size:
                freeze(linear, layer)
        else:
            if k and spec.layers[k - 1].grid is not None:
                modules.append(nn.Flatten())
            linear = linear_module(layer, layer.n_inputs, len(layer.units))
        modules.append(linear)
        module = activation_module(layer.activation, output=k == last, logits=logits)
        if module is not None:
            modules.append(module)
    return _with_spec(nn.Sequential(*modules), spec)


def _with_spec(model, spec):
    """(model, loss module, SGD) with the spec left on the model for record()."""
    setattr(model, SPEC_ATTRIBUTE, spec)
    optimizer = torch.optim.SGD(model.parameters(), lr=spec.learning_rate, momentum=spec.momentum,
                                weight_decay=spec.weight_decay)
    return model, _loss_module(spec), optimizer


def _loss_module(spec):
    reduction = spec.training.reduction
    outputs = len(spec.layers[-1].units)
    name = spec.loss.name
    if spec.loss.gradient_factor is not None:  # the printed value, the update's gradient
        printed = SSELoss(half=name == "half_sse", reduction=reduction, outputs_mean=name == "mse")
        return GradientFactorLoss(printed, spec.loss.gradient_factor)
    if name == "half_sse":
        return SSELoss(half=True, reduction=reduction)
    if name == "sse":
        return nn.MSELoss(reduction=reduction) if reduction == "sum" or outputs == 1 else SSELoss(False, reduction)
    if name == "mse":  # nn.MSELoss(): the mean over the batch's samples and outputs
        return nn.MSELoss() if reduction == "mean" or outputs == 1 else SSELoss(False, reduction, outputs_mean=True)
    if name == "cross_entropy":
        return nn.CrossEntropyLoss(reduction=reduction)
    if reduction == "mean" and outputs > 1:
        raise TracerError("loss", "binary cross-entropy over several outputs with the mean: nn.BCELoss would also "
                                  "average over the outputs; use training.reduction: sum")
    return nn.BCELoss(reduction=reduction)


def batches(spec, epochs: int | None = None):
    """(x, y) tensors (float64) of each step in the spec's training order, as `tracer.run` trains; a grid of
    inputs as (samples, channels, height, width), as nn.Conv2d takes it; sequences as (samples, time steps,
    inputs), as nn.RNN(batch_first=True) takes them, with targets (samples, time steps, outputs) for a loss at
    every step."""
    r = spec.layers[0].recurrence
    for x, y in numpy_batches(spec, epochs):
        if r is not None:  # without h_0's cells, which the model holds
            x = x[:, :r.steps * len(r.features)].reshape(len(x), r.steps, len(r.features))
            if r.outputs == "every":  # the trace's o1@t1, o1@t2, ... as time steps x outputs
                y = y.reshape(len(y), -1, r.steps).transpose(0, 2, 1)
        elif spec.input_shape is not None:
            C, H, W = spec.input_shape
            x = x.reshape(len(x), C, W) if spec.layers[0].grid.dims == 1 else x.reshape(len(x), C, H, W)
        yield torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))
