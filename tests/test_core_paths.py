"""The lecture's network (core/model.py) and the fast path the trainer uses (core/kernels.py)
compute the same forward output, objective and gradients."""

import itertools

import numpy as np
import pytest

from mlpcli.core import model as lecture
from mlpcli.core.kernels import MLP

CASES = list(itertools.product(
    ["relu", "tanh", "sigmoid"], ["mse", "ce"], ["sum", "mean"], [(5,), (6, 4), (5, 7, 3)],
    [0.0, 0.03],
))


def problem(loss, hidden, activation, seed=0):
    rng = np.random.default_rng(seed)
    n_in, n_out, rows = 4, 3, 9
    fast = MLP.initialized([n_in, *hidden, n_out], activation, rng=rng)
    for b in fast.b:  # non-zero biases, so a wrong bias gradient cannot hide
        b[...] = rng.normal(scale=0.3, size=b.shape)
    X = rng.standard_normal((rows, n_in))
    Y = np.eye(n_out)[rng.integers(0, n_out, rows)] if loss == "ce" else rng.normal(
        size=(rows, n_out))
    # the lecture's plain per-layer parameters: copies, not views into the fast path's theta
    W = [w.copy() for w in fast.W]
    b = [v.copy() for v in fast.b]
    return fast, W, b, X, Y


def assert_close(got, expected, name):
    """Equal to 1e-12 relative to the tensor's largest entry."""
    scale = max(np.abs(expected).max(), 1e-300)
    assert np.abs(got - expected).max() <= 1e-12 * scale, name


@pytest.mark.parametrize("activation,loss,reduction,hidden,weight_decay", CASES)
def test_fast_path_gradients_equal_the_lectures(activation, loss, reduction, hidden,
                                                weight_decay):
    fast, W, b, X, Y = problem(loss, hidden, activation)
    f, dW, db = lecture.objective(W, b, X, Y, activation, loss, reduction, weight_decay)
    data_term = fast.gradient(X, Y, loss, reduction, weight_decay)
    grads = fast.tensors(fast.grad)
    for l in range(len(W)):
        assert grads[f"W{l + 1}"].shape == dW[l].shape
        assert_close(grads[f"W{l + 1}"], dW[l], f"W{l + 1}")
        assert_close(grads[f"b{l + 1}"], db[l], f"b{l + 1}")
    # the fast path returns Σ_rows f, without the reduction and the penalty
    penalty = 0.5 * weight_decay * sum(np.sum(w * w) for w in W)
    scale = 1.0 if reduction == "sum" else 1.0 / len(X)
    assert scale * data_term + penalty == pytest.approx(f, rel=1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("hidden", [(5,), (6, 4), (5, 7, 3)])
def test_fast_path_forward_equals_the_lectures(activation, hidden):
    fast, W, b, X, _ = problem("mse", hidden, activation, seed=1)
    _, Z = lecture.forward(W, b, X, activation)
    assert_close(fast.forward(X), Z[-1], "Ŷ")


def test_the_lectures_backward_is_the_derivative_of_its_loss():
    """model.py checked on its own, by centered differences of its own objective."""
    _, W, b, X, Y = problem("ce", (4, 3), "tanh", seed=2)
    _, dW, db = lecture.objective(W, b, X, Y, "tanh", "ce", "mean", 0.1)
    eps = 1e-6
    for params, grads in ((W, dW), (b, db)):
        for P, G in zip(params, grads):
            for k in range(P.size):
                old = P.flat[k]
                P.flat[k] = old + eps
                f_plus = lecture.objective(W, b, X, Y, "tanh", "ce", "mean", 0.1)[0]
                P.flat[k] = old - eps
                f_minus = lecture.objective(W, b, X, Y, "tanh", "ce", "mean", 0.1)[0]
                P.flat[k] = old
                assert G.flat[k] == pytest.approx((f_plus - f_minus) / (2 * eps), abs=1e-8)


def test_gradcheck_checks_the_fast_path_training_uses(monkeypatch):
    from mlpcli.core import kernels
    from mlpcli.core.gradcheck import check_gradients

    fast, _, _, X, Y = problem("mse", (5,), "tanh", seed=3)
    assert check_gradients(fast, X, Y).passed
    apply, _ = kernels.IN_PLACE["tanh"]

    def wrong_grad(A, D, tmp):  # D ⊙= 1 − A, not 1 − A²
        np.subtract(1, A, out=tmp)
        np.multiply(D, tmp, out=D)

    monkeypatch.setitem(kernels.IN_PLACE, "tanh", (apply, wrong_grad))
    broken = MLP(fast.sizes, "tanh")
    broken.load_params(fast.params())
    report = check_gradients(broken, X, Y)
    assert not report.passed
    assert [t.name for t in report.parameters if not t.passed] == ["W1", "b1"]
