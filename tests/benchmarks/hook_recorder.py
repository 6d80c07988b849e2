"""The minimal hand-written PyTorch hook recorder: what a user writes instead of `tracer.torch.record`.

Forward hooks keep each Linear's input and output (z) and each activation's output (a); tensor hooks on those
outputs keep their gradients (dE/dz, dE/da); the optimizer's step hooks copy the weights before, the gradients
and the weights after. `arrays()` then stacks them into NumPy arrays, one row per sample (per step for the
weights), and computes each sample's weight gradients delta_j input_i. No tables, no names, no checks.
"""
from __future__ import annotations

import numpy as np
import torch

ACTIVATIONS = (torch.nn.Sigmoid, torch.nn.Tanh, torch.nn.ReLU)


class HookRecorder:
    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer):
        self.linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
        self.params = [t for m in self.linears for t in (m.bias, m.weight)]
        self.saved = {key: [[] for _ in self.linears] for key in ("x", "z", "a", "dz", "da")}
        self.before, self.grads, self.after = [], [], []
        self.handles = []
        activations = [m for m in model.modules() if isinstance(m, ACTIVATIONS)]
        for l, linear in enumerate(self.linears):
            self.handles.append(linear.register_forward_hook(self._keeper(l, "z", "x")))
        for l, activation in enumerate(activations):
            self.handles.append(activation.register_forward_hook(self._keeper(l, "a")))
        self.handles.append(optimizer.register_step_pre_hook(self._step_starts))
        self.handles.append(optimizer.register_step_post_hook(self._step_ends))

    def _keeper(self, l: int, out: str, given: str | None = None):
        def keep(module, args, output):
            if given:
                self.saved[given][l].append(args[0].detach())
            self.saved[out][l].append(output.detach())
            output.register_hook(lambda grad: self.saved["d" + out][l].append(grad))
        return keep

    def _step_starts(self, optimizer, args, kwargs):
        self.before.append(torch.cat([t.detach().flatten() for t in self.params]).clone())
        self.grads.append(torch.cat([t.grad.flatten() for t in self.params]).clone())

    def _step_ends(self, optimizer, args, kwargs):
        self.after.append(torch.cat([t.detach().flatten() for t in self.params]).clone())

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()

    def arrays(self) -> dict[str, np.ndarray]:
        """Per layer z, a, dE/dz, dE/da (samples x units) and each sample's gradients (samples x parameters, per
        unit its bias then its weights), and per step the weights before, the gradients and the weights after."""
        out = {}
        for key, layers in self.saved.items():
            for l, values in enumerate(layers):
                out[f"{key}{l}"] = torch.cat(values).numpy()
        grads = []
        for l in range(len(self.linears)):
            delta, x = out[f"dz{l}"], out[f"x{l}"]
            per_unit = np.concatenate([delta[:, :, None], delta[:, :, None] * x[:, None, :]], axis=2)
            grads.append(per_unit.reshape(len(delta), -1))
        out["sample_grads"] = np.concatenate(grads, axis=1)
        for key in ("before", "grads", "after"):
            out[key] = torch.stack(getattr(self, key)).numpy()
        return out
