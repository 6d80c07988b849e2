"""What a user would write instead of the engine, for the benchmarks: the same online training of a network of
sigmoid layers with 1/2 SSE (xor), (1) as a plain numpy loop recording nothing, (2) with plain Python floats
(no numpy: the limit for tiny nets), (3) as the usual naive tracer, a dict per row of each table and one
DataFrame per table at the end. Each returns what it computed, so the benchmark checks it against the engine.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd


def numpy_loop(spec, epochs: int) -> list[np.ndarray]:
    """Online backpropagation with numpy, recording nothing; the final weight matrices (bias in column 0)."""
    Ws = [l.weights.copy() for l in spec.layers]
    lr = spec.learning_rate
    for _ in range(epochs):
        for x, y in zip(spec.x, spec.y):
            ins, acts = [], []
            a = x
            for W in Ws:
                ins.append(np.concatenate(([1.0], a)))
                a = 1.0 / (1.0 + np.exp(-(W @ ins[-1])))
                acts.append(a)
            delta = (a - y) * a * (1.0 - a)
            for l in range(len(Ws) - 1, -1, -1):
                grad = np.outer(delta, ins[l])
                if l:
                    a_below = acts[l - 1]
                    delta = (Ws[l][:, 1:].T @ delta) * a_below * (1.0 - a_below)
                Ws[l] = Ws[l] - lr * grad
    return Ws


def float_loop(spec, epochs: int) -> list[list[list[float]]]:
    """The same with Python floats and lists: no per-call overhead of numpy on 2-element arrays."""
    Ws = [l.weights.tolist() for l in spec.layers]
    lr = spec.learning_rate
    exp = math.exp
    data = list(zip(spec.x.tolist(), spec.y.tolist()))
    for _ in range(epochs):
        for x, y in data:
            ins, acts = [], []
            a = x
            for W in Ws:
                inp = [1.0] + a
                ins.append(inp)
                a = [1.0 / (1.0 + exp(-sum(w * v for w, v in zip(row, inp)))) for row in W]
                acts.append(a)
            delta = [(ak - yk) * ak * (1.0 - ak) for ak, yk in zip(a, y)]
            for l in range(len(Ws) - 1, -1, -1):
                W, inp = Ws[l], ins[l]
                below = None
                if l:
                    a_below = acts[l - 1]
                    below = [sum(W[k][j + 1] * delta[k] for k in range(len(W))) * aj * (1.0 - aj)
                             for j, aj in enumerate(a_below)]
                Ws[l] = [[w - lr * dk * v for w, v in zip(row, inp)] for row, dk in zip(W, delta)]
                delta = below
    return Ws


def dict_per_row(spec, epochs: int) -> dict[str, pd.DataFrame]:
    """The usual naive tracer: numpy per sample, a dict per row of nodes, weights, updates and losses, and one
    DataFrame per table at the end (the engine's columns)."""
    nodes, weights, updates, losses = [], [], [], []
    Ws = [l.weights.copy() for l in spec.layers]
    lr, last, step = spec.learning_rate, len(Ws) - 1, 0
    for epoch in range(1, epochs + 1):
        for d, (x, y) in enumerate(zip(spec.x, spec.y), start=1):
            step += 1
            ins, zs, acts = [], [], []
            a = x
            for W in Ws:
                ins.append(np.concatenate(([1.0], a)))
                z = W @ ins[-1]
                a = 1.0 / (1.0 + np.exp(-z))
                zs.append(z)
                acts.append(a)
            losses.append({"epoch": epoch, "step": step, "sample": d, "loss": 0.5 * float(((y - a) ** 2).sum())})
            dE_da = a - y
            grads = [None] * len(Ws)
            node_rows, weight_rows = [[] for _ in Ws], [[] for _ in Ws]  # by layer, written in network order
            for l in range(last, -1, -1):
                layer, a_l = spec.layers[l], acts[l]
                da_dz = a_l * (1.0 - a_l)
                delta = dE_da * da_dz
                grads[l] = np.outer(delta, ins[l])
                for j, u in enumerate(layer.units):
                    node_rows[l].append({"epoch": epoch, "step": step, "sample": d, "layer": layer.name, "unit": u,
                                         "z": zs[l][j], "a": a_l[j], "da_dz": da_dz[j], "dE_da": dE_da[j],
                                         "delta": delta[j], "target": y[j] if l == last else np.nan})
                    for i, s in enumerate(layer.sources):
                        weight_rows[l].append({"epoch": epoch, "step": step, "sample": d, "layer": layer.name,
                                               "unit": u, "source": s, "input": ins[l][i], "w": Ws[l][j, i],
                                               "grad": grads[l][j, i]})
                dE_da = Ws[l][:, 1:].T @ delta
            for l in range(len(Ws)):
                nodes.extend(node_rows[l])
                weights.extend(weight_rows[l])
            for l, layer in enumerate(spec.layers):
                W_new = Ws[l] - lr * grads[l]
                for j, u in enumerate(layer.units):
                    for i, s in enumerate(layer.sources):
                        updates.append({"epoch": epoch, "step": step, "layer": layer.name, "unit": u, "source": s,
                                        "w_old": Ws[l][j, i], "grad": grads[l][j, i],
                                        "delta_w": W_new[j, i] - Ws[l][j, i], "w_new": W_new[j, i]})
                Ws[l] = W_new
    return {"nodes": pd.DataFrame(nodes), "weights": pd.DataFrame(weights), "updates": pd.DataFrame(updates),
            "losses": pd.DataFrame(losses)}
