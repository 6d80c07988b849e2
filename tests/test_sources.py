"""Each source's formulas, written out in the test exactly as the source writes them, against the trace.

The reference computations below are deliberately plain loops over the books' indices, independent of the
engine's vectorised code, so a mistake in either shows up as a difference.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tracer
from traces import example_trace


def run(name):
    return example_trace(name)


def sig(h, alpha=1.0):
    return 1.0 / (1.0 + math.exp(-alpha * h))


def spec_weights(spec):
    return [l.weights.copy() for l in spec.layers]


def frey_sample_gradients(v, w, x, y):
    """Frey's steps 1-4 and rules (i)-(ii) for one sample: dE/dv_ij and dE/dw_jk (eqs. 1, 11, 18)."""
    L, M, N = len(x), v.shape[0], w.shape[0]
    xs = [1.0] + list(x)  # x_0 = 1: the bias is index 0
    h_h = [sum(xs[i] * v[j][i] for i in range(L + 1)) for j in range(M)]  # step 1
    a_h = [1.0] + [sig(h) for h in h_h]  # step 2, a_0 = 1
    h_o = [sum(a_h[j] * w[k][j] for j in range(M + 1)) for k in range(N)]  # step 3
    yhat = [sig(h) for h in h_o]  # step 4
    delta_o = [(yhat[k] - y[k]) * yhat[k] * (1 - yhat[k]) for k in range(N)]  # rule (i), eq. (2), (9)
    delta_h = [a_h[j + 1] * (1 - a_h[j + 1]) * sum(delta_o[k] * w[k][j + 1] for k in range(N))
               for j in range(M)]  # rule (ii), eq. (4)
    dv = np.array([[delta_h[j] * xs[i] for i in range(L + 1)] for j in range(M)])  # eq. (1) with a^0 = x
    dw = np.array([[delta_o[k] * a_h[j] for j in range(M + 1)] for k in range(N)])  # eq. (1), (11)
    E = 0.5 * sum((yhat[k] - y[k]) ** 2 for k in range(N))
    return dv, dw, E, h_h, yhat


@pytest.mark.parametrize("name, batch", [("frey-online", 1), ("frey-minibatch", 2), ("frey-batch", 4)])
def test_frey_update_rules(name, batch):
    """Frey eqs. (3) mean over the batch, (5)/(11)/(18) v <- v - eta dE/dv, w <- w - eta dE/dw."""
    trace = run(name)
    spec = trace.spec
    v, w = spec_weights(spec)
    eta, step = spec.learning_rate, 0
    u = trace.updates
    for epoch in range(spec.training.epochs):
        for start in range(0, len(spec.x), batch):
            step += 1
            grads = [frey_sample_gradients(v, w, spec.x[d], spec.y[d]) for d in range(start, start + batch)]
            dv = sum(g[0] for g in grads) / batch  # eq. (3)
            dw = sum(g[1] for g in grads) / batch
            rows = u[u["step"] == step]
            np.testing.assert_allclose(rows["grad"], np.concatenate([dv.ravel(), dw.ravel()]), rtol=1e-12, atol=1e-15)
            v, w = v - eta * dv, w - eta * dw  # rules (iii), (iv)
            np.testing.assert_allclose(rows["w_new"], np.concatenate([v.ravel(), w.ravel()]), rtol=1e-12)
            losses = trace.losses[trace.losses["step"] == step]["loss"]
            np.testing.assert_allclose(losses, [g[2] for g in grads], rtol=1e-12)
    assert step == trace.step_count() == spec.training.epochs * 4 // batch


def test_frey_records_h_and_a_of_every_unit():
    trace = run("frey-online")
    spec = trace.spec
    v, w = spec_weights(spec)
    _, _, _, h_h, yhat = frey_sample_gradients(v, w, spec.x[0], spec.y[0])
    first = trace.nodes[trace.nodes["step"] == 1]
    np.testing.assert_allclose(first["z"].iloc[:3], h_h, rtol=1e-14)
    np.testing.assert_allclose(first["a"].iloc[3:], yhat, rtol=1e-14)
    np.testing.assert_array_equal(first["target"].iloc[3:], spec.y[0])
    assert first["target"].iloc[:3].isna().all()  # targets only on output units


def test_maren_gradient_eq_6_30_and_the_vanishing_gradient():
    """dSSE/dv_ho = -alpha E_o F_o (1 - F_o) H_h (eq. 6.30), with gain alpha = 2 and no bias terms."""
    trace = run("maren")
    spec = trace.spec
    alpha = 2.0
    w, v = spec_weights(spec)  # Maren: w input-to-hidden, v hidden-to-output
    for step, d in enumerate([0, 1], start=1):
        x, desired = spec.x[d], spec.y[d][0]
        H = [sig(sum(w[h][i] * x[i] for i in range(2)), alpha) for h in range(2)]
        nd_inpt = sum(v[0][h] * H[h] for h in range(2))  # eq. (6.9)
        F = sig(nd_inpt, alpha)  # eq. (6.10)
        E = desired - F  # eq. (6.6)
        dsse_dv = [-alpha * E * F * (1 - F) * H[h] for h in range(2)]  # eq. (6.30)
        rows = trace.updates[(trace.updates["step"] == step) & (trace.updates["layer"] == "O")]
        np.testing.assert_allclose(rows["grad"], dsse_dv, rtol=1e-12)
        assert list(rows["source"]) == ["H0", "H1"]  # no bias row
        np.testing.assert_allclose(trace.losses["loss"].iloc[step - 1], 0.5 * E ** 2, rtol=1e-12)  # eq. (6.5)
        hidden = spec.layers[0].activation.f(np.array([[sum(w[h][i] * x[i] for i in range(2)) for h in range(2)]]))
        np.testing.assert_allclose(hidden[0], H, rtol=1e-14)
        delta_o = alpha * F * (1 - F) * -E
        dw = np.array([[alpha * H[h] * (1 - H[h]) * v[0][h] * delta_o * x[i] for i in range(2)] for h in range(2)])
        v = v - spec.learning_rate * np.array([dsse_dv])
        w = w - spec.learning_rate * dw
    # the second pattern drives H1 to z = 5.8, alpha z = 11.6: derivative alpha A (1 - A) ~ 2e-5 (section 6.3.2)
    saturated = trace.nodes[(trace.nodes["step"] == 2) & (trace.nodes["unit"] == "H1")]
    assert saturated["da_dz"].item() < 1e-4
    assert saturated["da_dz"].item() == pytest.approx(2 * saturated["a"].item() * (1 - saturated["a"].item()), rel=1e-12)


def test_cs510_update_with_one_minus_alpha():
    """b <- (1 - alpha) b - alpha delta and w_jk <- (1 - alpha) w_jk - alpha a_k delta_j, per sample."""
    trace = run("cs510")
    spec = trace.spec
    alpha = spec.learning_rate
    W1, W2 = spec_weights(spec)
    for step in range(1, trace.step_count() + 1):
        d = (step - 1) % 2
        x, y = spec.x[d], spec.y[d]
        z1 = W1[:, 0] + W1[:, 1:] @ x  # z = wx + b
        a1 = np.tanh(z1)
        z2 = W2[:, 0] + W2[:, 1:] @ a1
        a2 = 1 / (1 + np.exp(-z2))
        delta2 = (a2 - y) * a2 * (1 - a2)  # delta^L = (a^L - y) a^L (1 - a^L)
        delta1 = (1 - np.tanh(z1) ** 2) * (W2[:, 1:].T @ delta2)  # delta^l = sigma'(z^l) sum_k w_kj delta_k
        W2 = (1 - alpha) * W2 - alpha * np.outer(delta2, np.concatenate([[1.0], a1]))
        W1 = (1 - alpha) * W1 - alpha * np.outer(delta1, np.concatenate([[1.0], x]))
        rows = trace.updates[trace.updates["step"] == step]
        np.testing.assert_allclose(rows["w_new"], np.concatenate([W1.ravel(), W2.ravel()]), rtol=1e-12)
        nodes = trace.nodes[trace.nodes["step"] == step]
        np.testing.assert_allclose(nodes["delta"], np.concatenate([delta1, delta2]), rtol=1e-12)


@pytest.mark.parametrize("name", ["davila-sse", "davila-cross-entropy"])
def test_davila_chain_gradient_averaged_over_samples(name):
    """dC/dw^L = 1/n sum_k a^(L-1) sigma'(z^L) dC_k/da^L; dC/db^L likewise without a^(L-1) (section 5)."""
    trace = run(name)
    spec = trace.spec
    (b1, w1), (b2, w2) = (row[0] for row in spec_weights(spec))
    n = len(spec.x)
    for step in range(1, trace.step_count() + 1):
        g = np.zeros(4)
        for k in range(n):
            a0, y = spec.x[k][0], spec.y[k][0]
            z1 = w1 * a0 + b1
            a1 = sig(z1)
            z2 = w2 * a1 + b2  # z^L = w^L a^(L-1) + b^L
            a2 = sig(z2)
            if name == "davila-sse":
                dC_da2 = 2 * (a2 - y)  # dC_k/da^L = 2(a^L - y)
            else:
                dC_da2 = -(y / a2 - (1 - y) / (1 - a2))
            dC_dz2 = a2 * (1 - a2) * dC_da2
            dC_da1 = w2 * dC_dz2  # dC_k/da^(L-1) = w^L sigma'(z^L) dC/da^L
            dC_dz1 = a1 * (1 - a1) * dC_da1
            g += np.array([dC_dz1, dC_dz1 * a0, dC_dz2, dC_dz2 * a1]) / n
        rows = trace.updates[trace.updates["step"] == step]
        np.testing.assert_allclose(rows["grad"], g, rtol=1e-11)
        b1, w1, b2, w2 = np.array([b1, w1, b2, w2]) - spec.learning_rate * g


def test_davila_sse_has_no_half():
    trace = run("davila-sse")
    first = trace.nodes[(trace.nodes["step"] == 1) & (trace.nodes["layer"] == "L")]
    np.testing.assert_allclose(first["dE_da"], 2 * (first["a"] - first["target"]), rtol=1e-15)
    losses = trace.losses[trace.losses["step"] == 1]["loss"].to_numpy()
    np.testing.assert_allclose(losses, (first["a"] - first["target"]).to_numpy() ** 2, rtol=1e-15)


def test_xor_learns_every_pattern():
    trace = run("xor")
    spec = trace.spec
    assert sum(len(t) for t in trace.tables.values()) == 880_000
    (_, a_hidden), (_, yhat) = tracer.forward(spec, trace.final, spec.x)
    assert (np.abs(yhat - spec.y) < 0.5).all()
    assert (np.abs(yhat - spec.y) < 0.05).all()
    assert trace.values.epoch_losses()["loss"].iloc[-1] < 0.01 * trace.values.epoch_losses()["loss"].iloc[0]


def test_softmax_cross_entropy_delta_is_yhat_minus_y():
    trace = run("softmax-classifier")
    out = trace.nodes[trace.nodes["layer"] == "out"]
    np.testing.assert_allclose(out["delta"], out["a"] - out["target"], atol=1e-15)
    sums = out.groupby(["step", "sample"])["a"].sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-14)


# Adaline, bipolar OR, one epoch: the source's table, row by row (y_in, t - y_in, W1 W2 b after, ERROR).
# Its ERROR 0.83356 is 0.913^2 = 0.833569 cut after five decimals, not rounded.
ADALINE_TABLE = [("0.3", "0.7", ("0.17", "0.17", "0.17"), "0.49"),
                 ("0.17", "0.83", ("0.253", "0.087", "0.253"), "0.6889"),
                 ("0.087", "0.913", ("0.1617", "0.1783", "0.3443"), "0.83356"),
                 ("0.0043", "-1.0043", ("0.26213", "0.2787", "0.2439"), "1.0086")]


def test_adaline_delta_rule_prints_the_squared_error_and_updates_by_eta_times_the_error():
    """The delta rule: ERROR = (t - y_in)^2 as printed, w_new = w_old + alpha (t - y_in) x with the source's
    alpha = 0.1 (loss sse with gradient_factor 1: no 2 from the derivative, no halved learning rate)."""
    from printed import matches_printed

    trace = run("adaline")
    assert trace.spec.learning_rate == 0.1
    nodes, u, losses = trace.nodes, trace.updates, trace.losses
    for step, (y_in, error, weights, printed_error) in enumerate(ADALINE_TABLE, start=1):
        assert matches_printed(float(nodes[nodes.step == step].a.iloc[0]), y_in)
        assert matches_printed(-float(nodes[nodes.step == step].delta.iloc[0]), error)  # delta = -(t - y_in)
        new = u[u.step == step].set_index("source").w_new
        for source, printed in zip(("x1", "x2", "bias"), weights):
            assert matches_printed(float(new[source]), printed), (step, source)
        loss = float(losses[losses.step == step].loss.iloc[0])
        if step == 3:  # cut, not rounded
            assert math.floor(loss * 10**5) / 10**5 == pytest.approx(float(printed_error))
        else:
            assert matches_printed(loss, printed_error)


def test_mazur_with_pytorchs_mse_prints_mazurs_numbers():
    """mse over K = 2 outputs is (1/2) sum (target - out)^2, and its derivative out - target: Mazur's E_total
    0.298371109, his output deltas and new weights, from the loss nn.MSELoss() computes."""
    from printed import matches_printed

    trace = run("mazur-mse")
    assert trace.spec.loss.name == "mse"
    assert matches_printed(float(trace.losses.loss.iloc[0]), "0.298371109")
    u = trace.updates[trace.updates.step == 1].set_index(["unit", "source"]).w_new
    for (unit, source), printed in {("o1", "h1"): "0.35891648", ("h1", "i1"): "0.149780716",
                                    ("o2", "h2"): "0.561370121"}.items():
        assert matches_printed(float(u[(unit, source)]), printed)


NEGNEVITSKY_FIRST_ITERATION = {  # section 6.4, x1 = x2 = 1, y_d,5 = 0, four decimals as printed
    "y": {"3": "0.5250", "4": "0.8808", "5": "0.5097"},
    "e": {"5": "-0.5097"},
    "delta": {"5": "-0.1274", "3": "0.0381", "4": "-0.0147"},
    "delta_w": {("5", "3"): "-0.0067", ("5", "4"): "-0.0112", ("5", "bias"): "0.0127",
                ("3", "x1"): "0.0038", ("3", "x2"): "0.0038", ("3", "bias"): "-0.0038",
                ("4", "x1"): "-0.0015", ("4", "x2"): "-0.0015", ("4", "bias"): "0.0015"},
    "w_new": {("3", "x1"): "0.5038", ("4", "x1"): "0.8985", ("3", "x2"): "0.4038", ("4", "x2"): "0.9985",
              ("5", "3"): "-1.2067", ("5", "4"): "1.0888",
              ("3", "bias"): "0.7962", ("4", "bias"): "-0.0985", ("5", "bias"): "0.3127"},
}


def test_negnevitsky_thresholds_and_delta_as_minus_dE_dX_print_the_books_first_iteration():
    """Thresholds θ on a fixed −1 input are the bias rows, with the book's sign (θ3 = 0.8 -> 0.7962), and δ is
    the book's error gradient y(1 − y) e, e = y_d − y: −∂E/∂X (δ5 = −0.1274). The reference is the book's
    arithmetic written out here."""
    from printed import matches_printed

    trace = run("negnevitsky")
    nodes = trace.nodes[trace.nodes.step == 1].set_index("unit")
    updates = trace.updates[trace.updates.step == 1].set_index(["unit", "source"])
    book = NEGNEVITSKY_FIRST_ITERATION
    for unit, printed in book["y"].items():
        assert matches_printed(float(nodes.a[unit]), printed), unit
    assert matches_printed(float(nodes.dE_da["5"]), book["e"]["5"])  # the error e, −∂E/∂y
    for unit, printed in book["delta"].items():
        assert matches_printed(float(nodes.delta[unit]), printed), unit
    for kind in ("delta_w", "w_new"):
        for where, printed in book[kind].items():
            assert matches_printed(float(updates[kind][where]), printed), (kind, where)
    # the book's formulas, independently: X = Σ x w − θ, δ = y(1 − y) e, Δw = α y δ, Δθ = α (−1) δ
    y3, y4 = sig(1 * 0.5 + 1 * 0.4 - 0.8), sig(1 * 0.9 + 1 * 1.0 - (-0.1))
    y5 = sig(y3 * -1.2 + y4 * 1.1 - 0.3)
    d5 = y5 * (1 - y5) * (0 - y5)
    d3, d4 = y3 * (1 - y3) * d5 * -1.2, y4 * (1 - y4) * d5 * 1.1
    assert float(updates.delta_w[("5", "bias")]) == pytest.approx(0.1 * -1 * d5, rel=1e-12)
    assert float(updates.delta_w[("3", "bias")]) == pytest.approx(0.1 * -1 * d3, rel=1e-12)
    assert float(updates.delta_w[("4", "x2")]) == pytest.approx(0.1 * 1 * d4, rel=1e-12)
    assert float(updates.grad[("5", "3")]) == pytest.approx(-y3 * d5, rel=1e-12)  # ∂E/∂w35 = −y3 δ5


ZURADA_EXAMPLE_2_5 = [  # per pattern: net, o, f'(net), the weight vector after it, as printed (three decimals)
    ("2.5", "0.848", "0.140", ("0.974", "-0.948", "0", "0.526")),
    ("-1.948", "-0.75", "0.218", ("0.974", "-0.956", "0.002", "0.531")),
    ("-2.46", "-0.842", "0.145", ("0.947", "-0.929", "0.016", "0.505")),
]


def printed_or_cut(value: float, text: str) -> bool:
    """The value rounded, or cut off, to the printed decimals reads as `text`: the book computes by hand from
    rounded intermediates and prints some values cut (o3 = −0.8426 as −0.842, w3 = 0.0027 as 0.002)."""
    from decimal import ROUND_DOWN, Decimal

    from printed import matches_printed, printed_digits

    unit = Decimal(1).scaleb(-printed_digits(text))
    return matches_printed(value, text) or Decimal(repr(value)).quantize(unit, ROUND_DOWN) == Decimal(text)


@pytest.mark.parametrize("activation", [None, {"name": "tanh", "a": 1, "b": 0.5}], ids=["bipolar", "tanh-gains"])
def test_zurada_delta_rule_with_the_continuous_bipolar_activation(activation):
    """One neuron, o = 2 / (1 + e^(−net)) − 1, f'(net) = ½(1 − o²), ΔW = c (d − o) f'(net) x with c = 0.1: every
    net, o, f'(net) and weight vector of the three steps as the book prints them (rounded or cut to three
    decimals), and δ = (d − o) f'(net). The book's function with λ = 1 is tanh(net / 2), so the same example
    written with tanh's gains a = 1, b = ½ (f' = (b/a)(a − o)(a + o)) gives every printed number too."""
    if activation is None:
        trace = run("zurada")
    else:
        import yaml
        from tracer.io.resources import find_example

        data = yaml.safe_load(find_example("zurada").read_text(encoding="utf-8"))
        data["layers"][0]["activation"] = activation
        trace = tracer.run(tracer.parse_spec(data))
    nodes, updates = trace.nodes, trace.updates
    for step, (net, o, slope, weights) in enumerate(ZURADA_EXAMPLE_2_5, start=1):
        row = nodes[nodes.step == step].iloc[0]
        assert printed_or_cut(float(row.z), net) and printed_or_cut(float(row.a), o), step
        assert printed_or_cut(float(row.da_dz), slope), step
        assert float(row.da_dz) == pytest.approx(0.5 * (1 - float(row.a) ** 2), rel=1e-12)  # Zurada's f'(net)
        d = float(trace.spec.y[step - 1, 0])
        assert float(row.delta) == pytest.approx((d - float(row.a)) * float(row.da_dz), rel=1e-12)
        new = updates[updates.step == step].set_index("source").w_new
        for source, printed in zip(("x1", "x2", "x3", "x4"), weights):
            assert printed_or_cut(float(new[source]), printed), (step, source)


HAGAN_FIRST_ITERATION = {  # chapter 11's example, as printed
    "a1": ("0.321", "0.368"), "a2": "0.446", "e": "1.261", "s2": "-2.522", "s1": ("-0.0495", "0.0997"),
    "W2": ("0.171", "-0.0772"), "b2": "0.732", "W1": ("-0.265", "-0.420"), "b1": ("-0.475", "-0.140"),
}


def test_hagan_matrix_form_sensitivities_with_F_equal_eT_e():
    """Sensitivities s^m = ∂F/∂n^m with F = eᵀe (the loss sse, no ½), so s^2 = −2 Ḟ^2(n^2)(t − a) = −2.522, and
    W(k+1) = W(k) − α s aᵀ: every value of the book's first iteration."""
    from printed import matches_printed

    trace = run("hagan")
    nodes = trace.nodes.set_index("unit")
    new = trace.updates.set_index(["unit", "source"]).w_new
    book = HAGAN_FIRST_ITERATION
    for unit, printed in zip(("h1", "h2"), book["a1"]):
        assert matches_printed(float(nodes.a[unit]), printed)
    assert matches_printed(float(nodes.a["o"]), book["a2"])
    assert matches_printed(float(trace.spec.y[0, 0] - nodes.a["o"]), book["e"])
    assert matches_printed(float(nodes.delta["o"]), book["s2"])
    for unit, printed in zip(("h1", "h2"), book["s1"]):
        assert matches_printed(float(nodes.delta[unit]), printed)
    for source, printed in zip(("h1", "h2"), book["W2"]):
        assert matches_printed(float(new[("o", source)]), printed)
    assert matches_printed(float(new[("o", "bias")]), book["b2"])
    for unit, w, b in zip(("h1", "h2"), book["W1"], book["b1"]):
        assert matches_printed(float(new[(unit, "p")]), w) and matches_printed(float(new[(unit, "bias")]), b)


def test_yeh_rnn_prints_the_forward_pass_and_backpropagates_through_time():
    """Tom Yeh's RNN by hand: h_1 = [3, 6], y_1 = 3, h_2 = [1, 17], y_2 = 16 as printed; then the backward pass
    written out as the books unroll it (the source stops at the forward pass): δy_t = y_t − t_t, dE/dh_t =
    Vᵀ δy_t + Wᵀ δh_(t+1), δh_t = dE/dh_t · ReLU'(z_t), and each shared weight's gradient summed over t."""
    trace = run("yeh-rnn")
    nodes = trace.nodes.set_index("unit")
    printed = {"h1@t1": 3, "h2@t1": 6, "o@t1": 3, "h1@t2": 1, "h2@t2": 17, "o@t2": 16}  # o: the source's y
    assert {u: nodes.a[u] for u in printed} == printed
    U, W, V = [1, 2], [[1, -1], [1, 1]], [-1, 1]
    x, target, eta = [3, 4], [4, 15], 0.01
    h, z = [[0.0, 0.0]], []
    for t in range(2):
        z.append([U[j] * x[t] + sum(W[j][i] * h[t][i] for i in range(2)) for j in range(2)])
        h.append([max(v, 0.0) for v in z[t]])
    y = [sum(V[j] * h[t + 1][j] for j in range(2)) for t in range(2)]
    delta_y = [y[t] - target[t] for t in range(2)]  # 1/2 SSE and a linear output
    delta_h = [[0.0, 0.0], [0.0, 0.0]]
    for t in (1, 0):
        later = [sum(W[k][j] * delta_h[t + 1][k] for k in range(2)) if t == 0 else 0.0 for j in range(2)]
        delta_h[t] = [(V[j] * delta_y[t] + later[j]) * (1.0 if z[t][j] > 0 else 0.0) for j in range(2)]
    for j in range(2):
        assert nodes.delta[f"h{j + 1}@t1"] == pytest.approx(delta_h[0][j], abs=1e-12)
        assert nodes.delta[f"h{j + 1}@t2"] == pytest.approx(delta_h[1][j], abs=1e-12)
    grad = {("h", f"h{j + 1}", "x"): sum(delta_h[t][j] * x[t] for t in range(2)) for j in range(2)}
    grad |= {("h", f"h{j + 1}", f"h{i + 1}"): sum(delta_h[t][j] * h[t][i] for t in range(2))
             for j in range(2) for i in range(2)}
    grad |= {("out", "o", f"h{j + 1}"): sum(delta_y[t] * h[t + 1][j] for t in range(2)) for j in range(2)}
    updates = trace.updates.set_index(["layer", "unit", "source"])
    for where, g in grad.items():
        assert updates.grad[where] == pytest.approx(g, abs=1e-12), where
        assert updates.w_new[where] == pytest.approx(updates.w_old[where] - eta * g, abs=1e-12), where


def test_rmit_convolution_prints_its_feature_map_and_the_pool_routes_ties_to_the_first_maximum():
    """RMIT COSC2779's printed 5x5 cross-correlation of the 7x7 image with [[1,1,1],[0,0,0],[-1,-1,-1]]; then
    ReLU, the 2x2 max pool and the sigmoid output, and back: δo = (o − y) o (1 − o), each pooled cell's dE/da =
    w δo routed to the first maximum of its window, and the kernel's gradient Σ over positions of δ · x."""
    trace = run("rmit-conv-pool")
    nodes = trace.nodes.set_index("unit")
    printed = [[8, 4, 0, 0, 0], [12, 12, 8, 4, 0], [4, 8, 8, 4, 0], [0, 0, 4, 8, 12], [0, 0, 4, 8, 12]]
    assert [[nodes.z[f"c1[{r + 1},{c + 1}]"] for c in range(5)] for r in range(5)] == printed
    spec = trace.spec
    image = spec.x[0].reshape(7, 7)
    kernel, eta = [[1, 1, 1], [0, 0, 0], [-1, -1, -1]], 0.01
    feature = [[max(sum(kernel[i][j] * image[r + i][c + j] for i in range(3) for j in range(3)), 0.0)
                for c in range(5)] for r in range(5)]
    windows = {(R, C): [(2 * R + i, 2 * C + j) for i in range(2) for j in range(2)] for R in range(2) for C in range(2)}
    pooled = {w: max(feature[r][c] for r, c in cells) for w, cells in windows.items()}
    assert pooled == {(0, 0): 12, (0, 1): 8, (1, 0): 8, (1, 1): 8}  # ties in windows (0, 0) and (1, 1)
    out = spec.layers[-1].weights[0]  # bias, then a weight per pooled cell in reading order
    o = sig(out[0] + sum(out[1 + 2 * R + C] * pooled[(R, C)] for R, C in windows))
    delta_o = (o - 1.0) * o * (1 - o)
    delta = [[0.0] * 5 for _ in range(5)]
    for (R, C), cells in windows.items():
        r, c = next(cell for cell in cells if feature[cell[0]][cell[1]] == pooled[(R, C)])  # the first maximum
        delta[r][c] = out[1 + 2 * R + C] * delta_o * (1.0 if feature[r][c] > 0 else 0.0)
    assert nodes.delta["c1[2,1]"] == pytest.approx(delta[1][0], abs=1e-15) and nodes.delta["c1[2,2]"] == 0
    grads = [[sum(delta[r][c] * image[r + i][c + j] for r in range(5) for c in range(5)) for j in range(3)]
             for i in range(3)]
    updates = trace.updates.set_index(["unit", "source"])
    for i in range(3):
        for j in range(3):
            assert updates.grad[("k1", f"w[{i + 1},{j + 1}]")] == pytest.approx(grads[i][j], abs=1e-15)
            assert updates.w_new[("k1", f"w[{i + 1},{j + 1}]")] == pytest.approx(kernel[i][j] - eta * grads[i][j],
                                                                                 abs=1e-15)
