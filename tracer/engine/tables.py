"""The trace tables' columns: the public contract README documents (which columns, which are keys, which are
whole numbers and which are text), apart from the Trace so that writers need only this.
"""
from __future__ import annotations

NODES = ["epoch", "step", "sample", "layer", "unit", "z", "a", "da_dz", "dE_da", "delta", "target"]
WEIGHTS = ["epoch", "step", "sample", "layer", "unit", "source", "input", "w", "grad"]
UPDATES = ["epoch", "step", "layer", "unit", "source", "w_old", "grad", "delta_w", "w_new"]
LOSSES = ["epoch", "step", "sample", "loss", "loss_after_epoch"]
COLUMNS = {"nodes": NODES, "weights": WEIGHTS, "updates": UPDATES, "losses": LOSSES}
# a fifth table, only for networks with conv layers: each shared weight's gradient term per position and sample
CONTRIBUTIONS = ["epoch", "step", "sample", "layer", "unit", "source", "position", "cell", "input", "delta",
                 "contribution"]
READABLE = {**COLUMNS, "contributions": CONTRIBUTIONS}  # every table a trace folder may hold
KEYS = {  # columns that identify a row; the rest are values
    "nodes": ["epoch", "step", "sample", "layer", "unit"],
    "weights": ["epoch", "step", "sample", "layer", "unit", "source"],
    "updates": ["epoch", "step", "layer", "unit", "source"],
    "losses": ["epoch", "step", "sample"],
}
EPOCH_END = ("loss_after_epoch",)  # values of the weights an epoch ended with: they follow its last update
OPTIONAL = ("loss_after_epoch",)  # added later: trace folders written before it are read without it
INT_COLUMNS = ("epoch", "step", "sample")
TEXT_COLUMNS = ("layer", "unit", "source", "position", "cell")
