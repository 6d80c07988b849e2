"""The error after each epoch: every sample's loss with the weights the epoch ended with, as many textbooks
print it ("the error after epoch k", Mazur's "total error after the first round"). It is not the mean of the
losses recorded during the epoch, each taken before its own update.
"""
from __future__ import annotations

import math

import numpy as np


def epoch_end_weights(spec, step_ids, w_new, w_after=None) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, weights after each one's last step as epochs x parameters): the epochs whose last step is held
    (`step_ids`, `w_new`) or in a run's history of every step's weights (`w_after`)."""
    per_epoch = math.ceil(len(spec.x) / spec.batch_size)
    if w_after is not None:
        ends = np.arange(per_epoch, len(w_after) + 1, per_epoch)
        return ends // per_epoch, w_after[ends - 1]
    held = np.flatnonzero(np.asarray(step_ids) % per_epoch == 0)
    return np.asarray(step_ids)[held] // per_epoch, w_new[held]


def losses_with(spec, weights: np.ndarray) -> np.ndarray:
    """Each sample's loss (epochs x samples) with each row of `weights` (epochs x parameters), all epochs in
    one stacked forward pass (Frey steps 1-4 with a leading axis for the epoch)."""
    a = np.broadcast_to(spec.x, (len(weights), *spec.x.shape))
    offset = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for layer in spec.layers:
            m = weights[:, offset:offset + layer.weights.size].reshape(len(weights), *layer.weights.shape)
            offset += layer.weights.size
            W = m[:, :, 1:] if layer.bias else m
            z = a @ W.transpose(0, 2, 1)  # z_j = sum_i w_ji a_i (CS 510: z = wx + b)
            if layer.bias:
                z = z + m[:, None, :, 0]
            a = layer.activation.f(z)
        return spec.loss.value(spec.y, a, z, spec.layers[-1].activation)


def losses_after_epochs(spec, step_ids, w_new, w_after=None) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, every sample's loss with the weights each of them ended with: epochs x samples)."""
    epochs, weights = epoch_end_weights(spec, step_ids, w_new, w_after)
    if not len(epochs):
        return epochs, np.zeros((0, len(spec.x)))
    return epochs, losses_with(spec, weights)
