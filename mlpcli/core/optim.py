"""Stochastic gradient descent, in place on the model's flat parameter vector.

The lecture's rule is W ← W − ε ∇W for every weight matrix and bias vector. Momentum follows
PyTorch's SGD conventions (no dampening), so results can be cross-checked:

    v ← μ v + g          w ← w − ε v                 (momentum)
    v ← μ v + g          w ← w − ε (g + μ v)         (Nesterov)

Weight decay is part of the gradient g (the model adds λW), as in PyTorch.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np


class SGD:
    def __init__(self, theta: np.ndarray, grad: np.ndarray, momentum: float = 0.0,
                 nesterov: bool = False):
        self.theta, self.grad = theta, grad
        self.momentum, self.nesterov = momentum, nesterov
        self.velocity = np.zeros_like(theta) if momentum else None
        self._step = np.empty_like(theta)  # scratch for ε·(direction), reused every step
        # plain SGD's update from grad = ε∇ (see updates); out passed by position: the call is
        # then as cheap as an inline θ −= grad
        self._subtract_grad = partial(np.subtract, theta, grad, theta)

    def step(self, lr: float) -> None:
        """One update from the gradient in `grad`."""
        g, step = self.grad, self._step
        if self.velocity is not None:
            v, mu = self.velocity, self.momentum
            v *= mu
            v += g  # v ← μ v + g
            if self.nesterov:
                np.multiply(v, mu, out=step)
                step += g  # g + μ v
                g = step
            else:
                g = v
        np.multiply(g, lr, out=step)
        self.theta -= step  # w ← w − ε g

    def updates(self, lr: float):
        """How to train at learning rate ε: (the factor to compute `grad` with, the update to
        call after each gradient).

        Plain SGD asks for the gradient times ε, which backprop folds into the minibatch's
        small output gradient: its update is then a single θ −= grad, no pass over θ to
        multiply by ε. With momentum the velocity needs the gradient itself.
        """
        if self.velocity is None:
            return lr, self._subtract_grad  # w ← w − ε∇w
        return 1.0, partial(self.step, lr)


def learning_rate(epoch: int, lr: float, schedule: str = "constant", epochs: int = 1,
                  lr_min: float = 0.0, step_size: int = 100, gamma: float = 0.5) -> float:
    """The learning rate used during `epoch` (1-based).

    constant: ε.   step: ε γ^⌊(epoch−1)/step_size⌋.
    cosine:   ε_min + (ε − ε_min)(1 + cos(π (epoch−1)/epochs))/2, from ε at epoch 1 towards ε_min.
    """
    if schedule == "constant":
        return lr
    if schedule == "step":
        return lr * gamma ** ((epoch - 1) // step_size)
    if schedule == "cosine":
        return lr_min + (lr - lr_min) * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))
    raise ValueError(f"unknown schedule {schedule!r}")
