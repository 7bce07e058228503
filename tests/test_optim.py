"""Adam, AdamW, RMSprop and Adagrad against step-by-step computations from the published update
equations (Kingma & Ba 2015; Loshchilov & Hutter 2019; Hinton's RMSprop as PyTorch documents it,
with momentum and centering; Duchi et al. 2011 with PyTorch's lr_decay), written out here
independently of mlpcli/core/optim.py: 20 steps, float64, relative error ≤ 1e-12."""

import math

import numpy as np
import pytest

from mlpcli.config import Config
from mlpcli.core.kernels import MLP
from mlpcli.core.optim import Adagrad, Adam, AdamW, RMSprop, make_optimizer
from mlpcli.core.train import Trainer

STEPS = 20
RTOL = 1e-12


def reference(name, theta, grad_of, lr, steps=STEPS, *, decay_mask=None, weight_decay=0.0,
              betas=(0.9, 0.999), eps=None, alpha=0.99, momentum=0.0, centered=False,
              lr_decay=0.0):
    """The published rules, one scalar coordinate at a time, in plain Python floats.

    grad_of(θ) is the data gradient; coupled weight decay adds λw on the coordinates of
    `decay_mask` (weights, not biases), AdamW instead shrinks them by ελw before its step."""
    theta = [float(v) for v in theta]
    n = len(theta)
    mask = [1.0] * n if decay_mask is None else [float(v) for v in decay_mask]
    m, v, gbar, buf, s = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
    b1, b2 = betas
    for t in range(1, steps + 1):
        data_grad = [float(x) for x in grad_of(np.array(theta))]
        if name == "adamw":
            theta = [w - lr * weight_decay * k * w for w, k in zip(theta, mask)]
            g = data_grad
        else:
            g = [d + weight_decay * k * w for d, w, k in zip(data_grad, theta, mask)]
        for i in range(n):
            if name in ("adam", "adamw"):
                e = 1e-8 if eps is None else eps
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
                m_hat, v_hat = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
                theta[i] -= lr * m_hat / (math.sqrt(v_hat) + e)
            elif name == "rmsprop":
                e = 1e-8 if eps is None else eps
                v[i] = alpha * v[i] + (1 - alpha) * g[i] ** 2
                if centered:
                    gbar[i] = alpha * gbar[i] + (1 - alpha) * g[i]
                    d = math.sqrt(v[i] - gbar[i] ** 2) + e
                else:
                    d = math.sqrt(v[i]) + e
                if momentum:
                    buf[i] = momentum * buf[i] + g[i] / d
                    theta[i] -= lr * buf[i]
                else:
                    theta[i] -= lr * g[i] / d
            elif name == "adagrad":
                e = 1e-10 if eps is None else eps
                s[i] += g[i] ** 2
                theta[i] -= lr / (1 + (t - 1) * lr_decay) * g[i] / (math.sqrt(s[i]) + e)
    return np.array(theta)


def quadratic_problem(n=7, seed=0):
    """∇ of ½ θᵀAθ − bᵀθ + ¼Σθ⁴: curved, coupled, and far from its minimum at the start."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    A, b = M @ M.T / n + np.eye(n), rng.standard_normal(n) * 3
    return rng.standard_normal(n) * 2, lambda th: A @ th - b + th**3


def run(opt, theta, grad, grad_of, lr, steps=STEPS):
    for _ in range(steps):
        grad[...] = grad_of(theta)
        scale, update = opt.updates(lr)
        assert scale == 1.0  # these optimizers need the gradient itself
        update()
    return theta


CASES = {
    "adam": (Adam, {}, {}),
    "adam-betas-eps": (Adam, dict(betas=(0.8, 0.99), eps=1e-3), dict(betas=(0.8, 0.99), eps=1e-3)),
    "rmsprop": (RMSprop, {}, {}),
    "rmsprop-momentum": (RMSprop, dict(momentum=0.9), dict(momentum=0.9)),
    "rmsprop-centered": (RMSprop, dict(centered=True), dict(centered=True)),
    "rmsprop-centered-momentum-alpha": (RMSprop, dict(alpha=0.9, momentum=0.5, centered=True),
                                        dict(alpha=0.9, momentum=0.5, centered=True)),
    "adagrad": (Adagrad, {}, {}),
    "adagrad-lr-decay": (Adagrad, dict(lr_decay=0.1), dict(lr_decay=0.1)),
}


@pytest.mark.parametrize("case", CASES)
def test_twenty_steps_equal_the_published_equations(case):
    cls, kwargs, ref_kwargs = CASES[case]
    theta0, grad_of = quadratic_problem()
    theta = theta0.copy()
    grad = np.zeros_like(theta)
    run(cls(theta, grad, **kwargs), theta, grad, grad_of, 0.05)
    name = cls.__name__.lower()
    expected = reference(name, theta0, grad_of, 0.05, **ref_kwargs)
    assert not np.allclose(expected, theta0, rtol=1e-3)  # the steps moved θ
    np.testing.assert_allclose(theta, expected, rtol=RTOL, atol=0)


def test_adamw_decays_the_weights_decoupled_and_not_the_biases():
    theta0, grad_of = quadratic_problem()
    theta, grad = theta0.copy(), np.zeros_like(theta0)
    mask = np.array([1, 1, 0, 1, 0, 1, 1.0])
    weights = [theta[:2], theta[3:4], theta[5:]]  # views, as the model's W_l are
    run(AdamW(theta, grad, weights, weight_decay=0.1), theta, grad, grad_of, 0.05)
    expected = reference("adamw", theta0, grad_of, 0.05, decay_mask=mask, weight_decay=0.1)
    np.testing.assert_allclose(theta, expected, rtol=RTOL, atol=0)
    plain = theta0.copy()  # …and the decay made a difference
    run(Adam(plain, grad), plain, grad, grad_of, 0.05)
    assert np.abs(plain - theta).max() > 1e-3


# --- through the Trainer: minibatch gradients of a network, weight decay on W only -----------

def network_problem(seed=3):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((40, 3)), rng.standard_normal((40, 2))
    model = MLP.initialized([3, 5, 2], "tanh", None, rng)
    return model, X, Y


@pytest.mark.parametrize("options", [
    dict(optimizer="adam"), dict(optimizer="adam", weight_decay=0.05),
    dict(optimizer="adamw"), dict(optimizer="adamw", weight_decay=0.2),
    dict(optimizer="rmsprop", weight_decay=0.05, momentum=0.9, centered=True),
    dict(optimizer="rmsprop"), dict(optimizer="adagrad", weight_decay=0.05, lr_decay=0.01),
], ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_trainer_steps_equal_the_equations_with_minibatch_gradients(options):
    """20 minibatches of 2 rows in file order: the trainer's weights equal the reference fed
    with each minibatch's summed gradient (weight decay excluded from the biases)."""
    model, X, Y = network_problem()
    ref_model, _, _ = network_problem()
    theta0 = model.theta.copy()
    cfg = Config(hidden=(5,), epochs=1, batch_size=2, shuffle=False, patience=0, lr=0.01,
                 **options).validated()
    Trainer(model, X, Y, cfg=cfg, rng=np.random.default_rng(0)).run()

    mask = np.zeros_like(theta0)  # 1 on the weights' coordinates of θ
    for name, view in ref_model.tensors(mask).items():
        if name.startswith("W"):
            view[...] = 1.0
    batches = iter(range(0, 40, 2))

    def grad_of(theta):  # the data gradient of the next minibatch, by the kernels' backprop
        s = next(batches)
        ref_model.theta[...] = theta
        ref_model.gradient(X[s : s + 2], Y[s : s + 2])
        return ref_model.grad.copy()

    kwargs = {k: v for k, v in options.items() if k in ("momentum", "centered", "lr_decay")}
    expected = reference(options["optimizer"], theta0, grad_of, 0.01, decay_mask=mask,
                         weight_decay=cfg.resolved_weight_decay, **kwargs)
    np.testing.assert_allclose(model.theta, expected, rtol=RTOL, atol=1e-15)


def test_adamw_defaults_to_pytorch_weight_decay_and_others_to_none():
    assert Config(optimizer="adamw").resolved_weight_decay == 0.01
    assert Config(optimizer="adam").resolved_weight_decay == 0.0
    assert Config(optimizer="adamw", weight_decay=0.0).resolved_weight_decay == 0.0


def test_optimizer_state_names_follow_pytorch():
    model, _, _ = network_problem()
    names = {o: sorted(make_optimizer(Config(optimizer=o, **extra), model).state)
             for o, extra in [("sgd", {}), ("adam", {}), ("adamw", {}), ("adagrad", {}),
                              ("rmsprop", dict(momentum=0.5, centered=True))]}
    assert names == {"sgd": [], "adam": ["exp_avg", "exp_avg_sq", "step"],
                     "adamw": ["exp_avg", "exp_avg_sq", "step"], "adagrad": ["step", "sum"],
                     "rmsprop": ["grad_avg", "momentum_buffer", "square_avg"]}
