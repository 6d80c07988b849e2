"""Trace a PyTorch training loop: the spec's network as a model, and the user's own loop recorded.

    import tracer
    from tracer import torch as tt
    spec = tracer.load_spec("examples/ekman.yaml")
    model, loss_fn, optimizer = tt.model_from_spec(spec)   # nn.Sequential, a loss module, torch.optim.SGD
    with tt.record(model, loss_fn, optimizer) as rec:       # the user's own loop, unchanged
        for x, y in tt.batches(spec):                       # the spec's samples, in its training order
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
    trace = rec.trace()                                     # a Trace: nodes, weights, updates, losses
    tracer.diff_traces(trace, tracer.run(spec)).same        # True

Needs PyTorch (`pip install 'backprop-tracer[torch]'`; the CPU wheel is enough).
"""
import importlib.util

if importlib.util.find_spec("torch") is None:  # the framework (this module is tracer.torch)
    raise ImportError("tracer.torch needs PyTorch: pip install 'backprop-tracer[torch]' "
                      "(the CPU wheel is enough: --index-url https://download.pytorch.org/whl/cpu)")

from .capture.torch_api import batches, model_from_spec, record
from .capture.torch_models import (BipolarSigmoid, Gaussian, GainSigmoid, GainTanh, GradientFactorLoss, PiecewiseLinear,
                                   SSELoss)
from .capture.torch_rnn import ElmanNet
from .capture.torch_spec import spec_from_model

__all__ = ["BipolarSigmoid", "ElmanNet", "Gaussian", "GainSigmoid", "GainTanh", "GradientFactorLoss", "PiecewiseLinear", "SSELoss",
           "batches", "model_from_spec", "record", "spec_from_model"]
