"""The optimizer owns every update, including plain SGD's fused one."""

import numpy as np
import pytest

from mlpcli.core.optim import SGD


def test_plain_sgd_asks_for_the_gradient_times_lr_and_subtracts_it():
    theta, grad = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.1, -0.2])
    scale, update = SGD(theta, grad).updates(0.1)
    assert scale == 0.1  # backprop is to leave ε∇ in grad …
    grad *= scale
    update()  # … and the update is θ ← θ − grad
    np.testing.assert_array_equal(theta, [1.0 - 0.03, -2.0 - 0.01, 0.5 + 0.02])


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_asks_for_the_gradient_itself(nesterov):
    g = np.array([0.4, -0.2])
    theta, grad = np.array([1.0, -2.0]), g.copy()
    scale, update = SGD(theta, grad, momentum=0.5, nesterov=nesterov).updates(0.1)
    assert scale == 1.0
    expected, v = np.array([1.0, -2.0]), np.zeros(2)
    for _ in range(2):
        update()
        v = 0.5 * v + g  # v ← μ v + g
        expected = expected - 0.1 * (g + 0.5 * v if nesterov else v)
    np.testing.assert_allclose(theta, expected, rtol=1e-15)
