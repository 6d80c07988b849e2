"""The error after each epoch: every sample's loss with the weights the epoch ended with, as many textbooks
print it ("the error after epoch k", Mazur's "total error after the first round"). It is not the mean of the
losses recorded during the epoch, each taken before its own update. `forward` is the network's forward pass
with given weights (tracer.forward), of one set of weights or of every epoch's at once.
"""
from __future__ import annotations

import math

import numpy as np

from .grids import grid_step


def epoch_end_weights(spec, step_ids, w_new, w_after=None) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, weights after each one's last step as epochs x parameters): the epochs whose last step is held
    (`step_ids`, `w_new`) or in a run's history of every step's weights (`w_after`)."""
    per_epoch = math.ceil(len(spec.x) / spec.batch_size)
    if w_after is not None:
        ends = np.arange(per_epoch, len(w_after) + 1, per_epoch)
        return ends // per_epoch, w_after[ends - 1]
    held = np.flatnonzero(np.asarray(step_ids) % per_epoch == 0)
    return np.asarray(step_ids)[held] // per_epoch, w_new[held]


def forward(spec, weights: list, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(z, a) of every layer for inputs x (samples x inputs) with the given weight matrices (units x sources);
    with a leading axis on both (epochs x ...), every epoch's weights at once."""
    if spec.grids and np.ndim(weights[0]) == 3:  # conv and pool layers take one set of weights at a time
        runs = [forward(spec, [m[e] for m in weights], x[e]) for e in range(len(weights[0]))]
        return [(np.stack([r[l][0] for r in runs]), np.stack([r[l][1] for r in runs])) for l in range(len(runs[0]))]
    out, a = [], np.asarray(x, float)
    for layer, m in zip(spec.layers, weights):
        if layer.grid is not None or layer.recurrence is not None:
            z = grid_step(layer, m, None).forward(a)
            a = layer.activation.f(z)
            out.append((z, a))
            continue
        W, b = (m[..., 1:], m[..., 0]) if layer.bias else (m, None)
        z = a @ np.swapaxes(W, -1, -2)  # CS 510: z = wx + b; Frey step 1: h_j = sum_i x_i v_ij
        if b is not None:  # a threshold θ sits on a −1 input (Negnevitsky: X = Σ x w − θ)
            z = z - b[..., None, :] if layer.threshold else z + b[..., None, :]
        a = layer.activation.f(z)  # Frey step 2: a_j = g(h_j)
        out.append((z, a))
    return out


def losses_with(spec, weights: np.ndarray) -> np.ndarray:
    """Each sample's loss (epochs x samples) with each row of `weights` (epochs x parameters), all epochs in
    one stacked forward pass."""
    matrices, offset = [], 0
    for layer in spec.layers:
        matrices.append(weights[:, offset:offset + layer.weights.size].reshape(len(weights), *layer.weights.shape))
        offset += layer.weights.size
    with np.errstate(over="ignore", invalid="ignore"):
        z, a = forward(spec, matrices, np.broadcast_to(spec.x, (len(weights), *spec.x.shape)))[-1]
        return spec.loss.value(spec.y, a, z, spec.layers[-1].activation)


def losses_after_epochs(spec, step_ids, w_new, w_after=None) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, every sample's loss with the weights each of them ended with: epochs x samples)."""
    epochs, weights = epoch_end_weights(spec, step_ids, w_new, w_after)
    if not len(epochs):
        return epochs, np.zeros((0, len(spec.x)))
    return epochs, losses_with(spec, weights)
