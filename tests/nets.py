"""Random dense networks for tests and benchmarks: any size, Xavier weights, a few samples of online training."""
from __future__ import annotations

import numpy as np


def random_net_dict(sizes: tuple[int, ...], seed: int = 1, samples: int = 2, steps: str = "1-2") -> dict:
    """The spec (as a dict) of a dense sigmoid net of the given layer sizes, inputs first."""
    rng = np.random.default_rng(seed)
    n_in, *hidden, n_out = sizes
    layers = [{"name": f"h{k + 1}", "units": n, "activation": "sigmoid"} for k, n in enumerate(hidden)]
    layers.append({"name": "out", "units": n_out, "activation": "sigmoid"})
    data = [{"x": rng.uniform(-1, 1, n_in).round(2).tolist(), "y": rng.integers(0, 2, n_out).tolist()}
            for _ in range(samples)]
    return {"name": "net-" + "-".join(map(str, sizes)), "inputs": [f"x{k + 1}" for k in range(n_in)],
            "init": {"method": "xavier", "seed": seed}, "layers": layers, "loss": "half_sse",
            "learning_rate": 0.5, "training": {"mode": "online", "epochs": 1}, "steps": steps, "data": data}
