"""Backprop against independent computations: the lecture's scalar formulas, finite differences,
and one SGD step worked out by hand."""

import numpy as np
import pytest
from conftest import XOR_X, XOR_Y

from mlpcli.core.kernels import MLP, Workspace
from mlpcli.core.losses import ce_grad, mse_grad, outputs_to_proba, softmax
from mlpcli.core.optim import SGD
from mlpcli.errors import ConfigError


def lecture_network(seed=0):
    """The lecture's 2-2-1 network with named scalars drawn at random."""
    rng = np.random.default_rng(seed)
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = rng.normal(size=9)
    model = MLP([2, 2, 1])
    model.W[0][...] = [[w1, w2], [w3, w4]]
    model.W[1][...] = [[w5, w6]]
    model.b[0][...] = [b1, b2]
    model.b[1][...] = [b3]
    return model, (w1, w2, w3, w4, w5, w6, b1, b2, b3)


def grads_of(model, X, Y, scale=None, weight_decay=0.0):
    ws = Workspace(model.sizes, len(X), model.dtype)
    loss = model.loss_grad(model.training_rows(X), Y, ws, mse_grad, scale, weight_decay)
    return loss, model.tensors(model.grad)


@pytest.mark.parametrize("seed", range(5))
def test_backprop_equals_the_lectures_scalar_formulas(seed):
    model, (w1, w2, w3, w4, w5, w6, b1, b2, b3) = lecture_network(seed)
    X = np.random.default_rng(100 + seed).normal(size=(7, 2))
    y = np.random.default_rng(200 + seed).normal(size=7)
    _, g = grads_of(model, X, y[:, None])

    # the lecture, one example at a time, no matrices: ŷ = w5 σ(z1) + w6 σ(z2) + b3
    expected = dict.fromkeys(["w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3"], 0.0)
    for (x1, x2), t in zip(X, y):
        z1, z2 = w1 * x1 + w2 * x2 + b1, w3 * x1 + w4 * x2 + b2
        s1, s2 = max(z1, 0.0), max(z2, 0.0)
        d1, d2 = (1.0 if z1 > 0 else 0.0), (1.0 if z2 > 0 else 0.0)
        err = w5 * s1 + w6 * s2 + b3 - t  # ∂f/∂ŷ
        expected["w1"] += err * w5 * d1 * x1
        expected["w2"] += err * w5 * d1 * x2
        expected["w3"] += err * w6 * d2 * x1
        expected["w4"] += err * w6 * d2 * x2
        expected["w5"] += err * s1
        expected["w6"] += err * s2
        expected["b1"] += err * w5 * d1
        expected["b2"] += err * w6 * d2
        expected["b3"] += err
    got = {
        "w1": g["W1"][0, 0], "w2": g["W1"][0, 1], "w3": g["W1"][1, 0], "w4": g["W1"][1, 1],
        "w5": g["W2"][0, 0], "w6": g["W2"][0, 1], "b1": g["b1"][0], "b2": g["b1"][1],
        "b3": g["b2"][0],
    }
    for name in expected:
        assert got[name] == pytest.approx(expected[name], rel=1e-12, abs=1e-14), name


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("hidden", [[5], [4, 3]])
def test_backprop_equals_finite_differences(activation, hidden):
    rng = np.random.default_rng(1)
    model = MLP.initialized([3, *hidden, 2], activation, rng=rng)
    model.b[0][...] = rng.normal(size=model.b[0].shape)  # move pre-activations off zero
    X, Y = rng.normal(size=(9, 3)), rng.normal(size=(9, 2))
    loss, _ = grads_of(model, X, Y)
    analytic = model.grad.copy()
    eps = 1e-6
    for p in range(model.theta.size):
        keep = model.theta[p]
        model.theta[p] = keep + eps
        f_plus = 0.5 * np.sum((model.forward(X) - Y) ** 2)
        model.theta[p] = keep - eps
        f_minus = 0.5 * np.sum((model.forward(X) - Y) ** 2)
        model.theta[p] = keep
        numeric = (f_plus - f_minus) / (2 * eps)
        assert analytic[p] == pytest.approx(numeric, rel=1e-6, abs=1e-8)
    assert loss == pytest.approx(0.5 * np.sum((model.forward(X) - Y) ** 2), rel=1e-13)


@pytest.mark.parametrize("rows,hidden", [(4, 8), (64, 80), (3, 2000), (256, 80)])
def test_relu_backprop_equals_matrix_formulas_small_and_large(rows, hidden):
    """Two hidden ReLU layers against the matrix formulas written out here; the sizes take the
    small (np.sign) and the large (np.greater) way of masking the delta, and np.dot and
    np.matmul products."""
    rng = np.random.default_rng(rows)
    model = MLP.initialized([5, hidden, 7, 3], rng=rng)
    X, Y = rng.standard_normal((rows, 5)), rng.standard_normal((rows, 3))
    W1, W2, W3 = model.W
    b1, b2, b3 = model.b
    Z1 = X @ W1.T + b1
    H1 = np.maximum(Z1, 0)
    Z2 = H1 @ W2.T + b2
    H2 = np.maximum(Z2, 0)
    G3 = H2 @ W3.T + b3 - Y
    G2 = (G3 @ W3) * (Z2 > 0)
    G1 = (G2 @ W2) * (Z1 > 0)
    loss, g = grads_of(model, X, Y)
    assert loss == pytest.approx(0.5 * (G3**2).sum(), rel=1e-12)
    expected = {"W1": G1.T @ X, "W2": G2.T @ H1, "W3": G3.T @ H2,
                "b1": G1.sum(0), "b2": G2.sum(0), "b3": G3.sum(0)}
    for name, value in expected.items():
        np.testing.assert_allclose(g[name], value, rtol=1e-10, atol=1e-12)


def test_mean_reduction_divides_the_gradient_by_the_batch_size():
    model, _ = lecture_network(3)
    _, g_sum = grads_of(model, XOR_X, XOR_Y)
    g_sum = {k: v.copy() for k, v in g_sum.items()}
    _, g_mean = grads_of(model, XOR_X, XOR_Y, scale=1 / 4)
    for k in g_sum:
        np.testing.assert_allclose(g_mean[k], g_sum[k] / 4, rtol=1e-14)


def test_weight_decay_adds_lambda_w_to_weights_only():
    model, _ = lecture_network(4)
    _, g0 = grads_of(model, XOR_X, XOR_Y)
    g0 = {k: v.copy() for k, v in g0.items()}
    _, g = grads_of(model, XOR_X, XOR_Y, weight_decay=0.3)
    np.testing.assert_allclose(g["W1"], g0["W1"] + 0.3 * model.W[0], rtol=1e-14)
    np.testing.assert_allclose(g["W2"], g0["W2"] + 0.3 * model.W[1], rtol=1e-14)
    np.testing.assert_array_equal(g["b1"], g0["b1"])
    np.testing.assert_array_equal(g["b2"], g0["b2"])


def test_one_full_batch_sgd_step_by_hand():
    """W ← W − ε ∇W with the summed gradient, for the lecture's network on XOR."""
    model, _ = lecture_network(5)
    before = model.params()
    _, g = grads_of(model, XOR_X, XOR_Y)
    expected = {k: before[k] - 0.1 * g[k] for k in before}
    SGD(model.theta, model.grad).step(0.1)
    for k, v in model.params().items():
        np.testing.assert_allclose(v, expected[k], rtol=1e-15, atol=1e-15)


def test_parameter_layout_and_shapes():
    model = MLP([3, 5, 4, 2])
    assert model.names() == ["W1", "W2", "W3", "b1", "b2", "b3"]
    shapes = {k: v.shape for k, v in model.tensors().items()}
    assert shapes == {"W1": (5, 3), "W2": (4, 5), "W3": (2, 4), "b1": (5,), "b2": (4,),
                      "b3": (2,)}
    # layers start on 64-byte lines (8 float64s): layer 1's block [W1ᵀ; b1], (3+1)×5 = 20 entries,
    # at 0; layer 2's W2 (4×5) and b2, 24 entries, at 24; layer 3's W3 (2×4) and b3 at 48
    assert model.offsets == [0, 24, 48]
    assert model.theta.size == 58
    assert all(v.ctypes.data % 64 == 0 for v in [model.first, model.dfirst] + model.W[1:])
    model.W[0][2, 1] = 3.0  # views write through to theta: W1[2,1] is W1ᵀ[1,2]
    assert model.theta[1 * 5 + 2] == 3.0
    model.b[0][4] = 5.0  # b1 is the last row of block 1
    assert model.theta[3 * 5 + 4] == 5.0
    model.W[1][2, 3] = 7.0  # W2 row by row
    assert model.theta[24 + 2 * 5 + 3] == 7.0
    model.b[1][1] = 6.0  # b2 right after W2
    assert model.theta[24 + 20 + 1] == 6.0
    position = model.tensors(np.arange(model.theta.size))
    used = sorted(np.concatenate([v.ravel() for v in position.values()]))
    assert used == list(range(20)) + list(range(24, 58))  # 20…23 is padding
    # float32 packs 16 to a line
    assert MLP([3, 5, 4, 2], dtype=np.float32).offsets == [0, 32, 64]


def test_padding_between_blocks_stays_zero_and_dtype_copies_keep_values():
    model = MLP.initialized([3, 5, 4, 2], rng=np.random.default_rng(0))
    padding = np.ones(model.theta.size, bool)
    for view in model.tensors(np.arange(model.theta.size)).values():
        padding[view.ravel()] = False
    assert padding.sum() == 4
    X, Y = np.random.default_rng(1).standard_normal((6, 3)), np.ones((6, 2))
    ws = Workspace(model.sizes, 6, model.dtype)
    for _ in range(3):
        model.loss_grad(model.training_rows(X), Y, ws, mse_grad, 0.1, weight_decay=0.01)
        SGD(model.theta, model.grad, momentum=0.9).step(0.1)
    assert not model.theta[padding].any() and not model.grad[padding].any()
    assert np.abs(model.theta[~padding]).min() > 0  # …while every parameter moved
    copy = model.astype(np.float32).astype(np.float64)
    for name, value in model.params().items():
        np.testing.assert_allclose(copy.params()[name], value, rtol=1e-7)


def test_load_params_checks_keys_and_shapes():
    model = MLP([2, 3, 1])
    params = model.params()
    with pytest.raises(ConfigError, match="missing array 'b2'"):
        model.load_params({k: v for k, v in params.items() if k != "b2"})
    with pytest.raises(ConfigError, match=r"W1 has shape \(2, 2\).*needs \(3, 2\)"):
        model.load_params({**params, "W1": np.zeros((2, 2))})


def test_he_and_glorot_initialisation_scales():
    rng = np.random.default_rng(0)
    he = MLP.initialized([400, 300, 1], "relu", "he", rng)
    assert he.W[0].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    glorot = MLP.initialized([400, 300, 1], "tanh", "glorot", rng)
    a = np.sqrt(6 / 700)
    assert np.abs(glorot.W[0]).max() <= a
    assert glorot.W[0].std() == pytest.approx(a / np.sqrt(3), rel=0.02)
    assert not he.b[0].any() and not glorot.b[0].any()


def test_cross_entropy_gradient_and_value():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(6, 4)) * 3
    Y = np.eye(4)[rng.integers(0, 4, 6)]
    G = np.empty_like(A)
    loss = ce_grad(A, Y, G)
    P = np.exp(A) / np.exp(A).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.log(P[Y == 1]).sum(), rel=1e-12)
    np.testing.assert_allclose(G, P - Y, atol=1e-15)
    big = np.array([[1000.0, 0.0], [0.0, -1000.0]])  # stable where exp would overflow
    assert np.isfinite(ce_grad(big, np.eye(2), np.empty_like(big)))
    np.testing.assert_allclose(softmax(big).sum(axis=1), 1.0)


def test_mse_probabilities_are_clipped_and_renormalised():
    P = outputs_to_proba(np.array([[1.2, -0.1, 0.3], [0.2, 0.2, 0.0]]), "mse")
    np.testing.assert_allclose(P, [[1 / 1.3, 0, 0.3 / 1.3], [0.5, 0.5, 0]])
    binary = outputs_to_proba(np.array([[0.8], [1.7]]), "mse")
    np.testing.assert_allclose(binary, [[0.2, 0.8], [0.0, 1.0]])
