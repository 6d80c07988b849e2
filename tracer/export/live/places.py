"""Where each given of the live page sits in the spec its "Download spec" writes (model.spec.spec_document).

Found by writing the document of the spec with every given replaced by a marker value of its own, so the page
follows spec_document's layout for every kind of layer (a dense layer's weights, a conv's kernels and biases,
an rnn's input and recurrent weights, its inputs and targets by time step) without a second description of it.
"""
from __future__ import annotations

import numpy as np

from ...model.spec import spec_document

MARK = 2.0 ** 1000  # a marker is -MARK * (1 + ordinal / 2**40): exact in a double, far beyond any given
ORDINALS = 2 ** 40


def given_fields(spec) -> list[str]:
    """The page's fields of the givens the document may hold: initial weights, inputs and targets."""
    n, inputs, targets = len(spec.x), spec.x.shape[1], spec.y.shape[1]
    return ([f"W0.{p}" for p in range(spec.n_weights)] + [f"X.{i}.{j}" for i in range(n) for j in range(inputs)]
            + [f"Y.{i}.{k}" for i in range(n) for k in range(targets)])


def document_places(spec) -> list[tuple[list, str]]:
    """[(path of keys and indices in spec_document(spec), the page's field of the given held there)]. An rnn's
    h_0 cells, which its layer gives rather than the data, are not held there."""
    fields = given_fields(spec)
    marks = -MARK * (1 + np.arange(len(fields)) / ORDINALS)
    sizes = [l.weights.size for l in spec.layers]
    ends = np.cumsum(sizes)
    weights = [marks[end - size:end].reshape(l.weights.shape) for l, size, end in zip(spec.layers, sizes, ends)]
    x_end = spec.n_weights + spec.x.size
    marked = spec.with_weights(weights).replace(x=marks[spec.n_weights:x_end].reshape(spec.x.shape),
                                                y=marks[x_end:].reshape(spec.y.shape))
    return [(path, fields[ordinal]) for path, ordinal in _marks_in(spec_document(marked), [])]


def _marks_in(node, path: list):
    """(path, ordinal) of every marker in a document, in document order."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(value, float) and value <= -MARK:
            yield path + [key], int(round((-value / MARK - 1) * ORDINALS))
        else:
            yield from _marks_in(value, path + [key])
