"""Optimizers: each update in place on the model's flat parameter vector θ, from the gradient g
in `grad` (which includes the weight decay λW, except for AdamW). PyTorch's rules and defaults,
so a run can be cross-checked against torch.optim; t counts steps from 1, ε is the learning rate.

    sgd      W ← W − ε g                                         (the lecture's rule)
             momentum μ:  v ← μ v + g,  w ← w − ε v;   Nesterov:  w ← w − ε (g + μ v)
    adam     m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  m̂ = m/(1−β₁ᵗ),  v̂ = v/(1−β₂ᵗ)
             w ← w − ε m̂ / (√v̂ + eps)
    adamw    w ← w − ελw on the weights (decoupled decay, biases excluded), then adam's step
             on the data gradient alone
    rmsprop  v ← αv + (1−α)g²;  centered: ḡ ← αḡ + (1−α)g, d = √(v − ḡ²) + eps, else √v + eps
             w ← w − ε g/d;  momentum μ:  b ← μb + g/d,  w ← w − ε b
    adagrad  s ← s + g²,  w ← w − ε/(1 + (t−1)·lr_decay) · g/(√s + eps)

Every optimizer keeps its state (moments, step count) in the arrays of `state()`, which the
trainer copies into checkpoints, so a resumed run continues bit for bit. L-BFGS is not a
per-step rule: it lives in lbfgs.py.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs")


class Optimizer:
    """Base: `state` holds every array the optimizer updates (a 0-d int64 array for t)."""

    decoupled_decay = False  # True: the gradient excludes λW and the optimizer decays W itself

    def __init__(self, theta: np.ndarray, grad: np.ndarray):
        self.theta, self.grad = theta, grad
        self.state: dict[str, np.ndarray] = {}
        self._tmp = np.empty_like(theta)  # scratch, reused every step

    def updates(self, lr: float):
        """(factor to compute `grad` with, the update to call after each gradient)."""
        return 1.0, partial(self.step, lr)

    def step(self, lr: float) -> None:
        raise NotImplementedError

    def _buffer(self, name: str) -> np.ndarray:
        self.state[name] = np.zeros_like(self.theta)
        return self.state[name]

    def _counter(self) -> np.ndarray:
        self.state["step"] = np.zeros((), np.int64)
        return self.state["step"]

    def load_state(self, state: dict) -> None:
        """Copy saved state in; ValueError if it is another optimizer's."""
        if set(state) != set(self.state):
            raise ValueError(f"optimizer state has {sorted(state) or 'nothing'}, this "
                             f"optimizer needs {sorted(self.state) or 'nothing'}")
        for name, array in self.state.items():
            np.copyto(array, state[name])


class SGD(Optimizer):
    def __init__(self, theta: np.ndarray, grad: np.ndarray, momentum: float = 0.0,
                 nesterov: bool = False):
        super().__init__(theta, grad)
        self.momentum, self.nesterov = momentum, nesterov
        self.velocity = self._buffer("velocity") if momentum else None
        # plain SGD's update from grad = ε∇ (see updates); out passed by position: the call is
        # then as cheap as an inline θ −= grad
        self._subtract_grad = partial(np.subtract, theta, grad, theta)

    def step(self, lr: float) -> None:
        """One update from the gradient in `grad`."""
        g, step = self.grad, self._tmp
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


class Adam(Optimizer):
    def __init__(self, theta, grad, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(theta, grad)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = self._counter()
        self.m, self.v = self._buffer("exp_avg"), self._buffer("exp_avg_sq")

    def step(self, lr: float) -> None:
        g, m, v, tmp, b1, b2 = self.grad, self.m, self.v, self._tmp, self.beta1, self.beta2
        self.t += 1
        t = int(self.t)
        m *= b1
        m += (1 - b1) * g  # m ← β₁m + (1−β₁)g
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp  # v ← β₂v + (1−β₂)g²
        # ε m̂ / (√v̂ + eps) with m̂ = m/(1−β₁ᵗ), √v̂ = √v/√(1−β₂ᵗ)  (PyTorch's arrangement)
        np.sqrt(v, out=tmp)
        tmp /= math.sqrt(1 - b2**t)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr / (1 - b1**t)
        self.theta -= tmp


class AdamW(Adam):
    decoupled_decay = True

    def __init__(self, theta, grad, weights, weight_decay=0.01, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(theta, grad, betas, eps)
        self.weights, self.weight_decay = weights, weight_decay  # views of the W_l in theta

    def step(self, lr: float) -> None:
        if self.weight_decay:
            for W in self.weights:
                W *= 1 - lr * self.weight_decay  # w ← w − ελw
        super().step(lr)


class RMSprop(Optimizer):
    def __init__(self, theta, grad, alpha=0.99, eps=1e-8, momentum=0.0, centered=False):
        super().__init__(theta, grad)
        self.alpha, self.eps, self.momentum = alpha, eps, momentum
        self.square_avg = self._buffer("square_avg")
        self.grad_avg = self._buffer("grad_avg") if centered else None
        self.buf = self._buffer("momentum_buffer") if momentum else None

    def step(self, lr: float) -> None:
        g, tmp, a = self.grad, self._tmp, self.alpha
        v = self.square_avg
        v *= a
        np.multiply(g, g, out=tmp)
        tmp *= 1 - a
        v += tmp  # v ← αv + (1−α)g²
        if self.grad_avg is not None:
            gbar = self.grad_avg
            gbar *= a
            gbar += (1 - a) * g  # ḡ ← αḡ + (1−α)g
            np.multiply(gbar, gbar, out=tmp)
            np.subtract(v, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)  # √(v − ḡ²)
        else:
            np.sqrt(v, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)  # g / d
        if self.buf is not None:
            self.buf *= self.momentum
            self.buf += tmp  # b ← μb + g/d
            np.multiply(self.buf, lr, out=tmp)
        else:
            tmp *= lr
        self.theta -= tmp


class Adagrad(Optimizer):
    def __init__(self, theta, grad, lr_decay=0.0, eps=1e-10):
        super().__init__(theta, grad)
        self.lr_decay, self.eps = lr_decay, eps
        self.t = self._counter()
        self.sum = self._buffer("sum")

    def step(self, lr: float) -> None:
        g, tmp = self.grad, self._tmp
        self.t += 1
        clr = lr / (1 + (int(self.t) - 1) * self.lr_decay)
        np.multiply(g, g, out=tmp)
        self.sum += tmp  # s ← s + g²
        np.sqrt(self.sum, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= clr
        self.theta -= tmp


def make_optimizer(cfg, model) -> Optimizer:
    """The per-step optimizer `cfg` names, updating `model`'s parameters."""
    theta, grad, name = model.theta, model.grad, cfg.optimizer
    if name == "sgd":
        return SGD(theta, grad, cfg.momentum, cfg.nesterov)
    if name == "adam":
        return Adam(theta, grad, cfg.betas, cfg.adam_eps)
    if name == "adamw":
        return AdamW(theta, grad, model.W, cfg.resolved_weight_decay, cfg.betas, cfg.adam_eps)
    if name == "rmsprop":
        return RMSprop(theta, grad, cfg.alpha, 1e-8, cfg.momentum, cfg.centered)
    if name == "adagrad":
        return Adagrad(theta, grad, cfg.lr_decay, 1e-10)
    raise ValueError(f"{name!r} is not a per-step optimizer")


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


class Plateau:
    """PyTorch's ReduceLROnPlateau, mode "min", threshold_mode "rel": after each epoch,

        improved  ⇔  loss < best · (1 − threshold)        (then best ← loss, bad ← 0; else bad += 1)
        in cooldown: cooldown ← cooldown − 1, bad ← 0
        bad > patience  ⇒  ε ← max(ε · factor, ε_min) (if that lowers ε by more than 1e-8),
                            cooldown ← cooldown epochs, bad ← 0
    """

    EPS = 1e-8  # PyTorch's eps: smaller reductions are skipped

    def __init__(self, lr: float, factor=0.1, patience=10, threshold=1e-4, cooldown=0,
                 lr_min=0.0):
        self.factor, self.patience, self.threshold = factor, patience, threshold
        self.cooldown, self.lr_min = cooldown, lr_min
        self.lr, self.best, self.bad, self.cooldown_left = lr, math.inf, 0, 0

    def step(self, loss: float) -> None:
        if loss < self.best * (1 - self.threshold):
            self.best, self.bad = loss, 0
        else:
            self.bad += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad = 0
        if self.bad > self.patience:
            new_lr = max(self.lr * self.factor, self.lr_min)
            if self.lr - new_lr > self.EPS:
                self.lr = new_lr
            self.cooldown_left, self.bad = self.cooldown, 0

    def state(self) -> dict:
        return {"lr": self.lr, "best": self.best, "bad": self.bad,
                "cooldown_left": self.cooldown_left}

    def load_state(self, state: dict) -> None:
        self.lr, self.best = float(state["lr"]), float(state["best"])
        self.bad, self.cooldown_left = int(state["bad"]), int(state["cooldown_left"])


class LearningRate:
    """ε of each epoch: the schedule's (`learning_rate`, or the plateau's current value), times
    the linear warm-up e/N during the first N = `warmup` epochs."""

    def __init__(self, cfg):
        self.cfg, self.lr = cfg, cfg.resolved_lr
        self.plateau = None
        if cfg.schedule == "plateau":
            self.plateau = Plateau(self.lr, cfg.factor, cfg.plateau_patience, cfg.threshold,
                                   cfg.cooldown, cfg.lr_min)

    def at(self, epoch: int) -> float:
        cfg = self.cfg
        if self.plateau is not None:
            lr = self.plateau.lr
        elif cfg.schedule == "constant":
            lr = self.lr
        else:
            lr = learning_rate(epoch, self.lr, cfg.schedule, cfg.epochs, cfg.lr_min,
                               cfg.step_size, cfg.gamma)
        if epoch <= cfg.warmup:
            lr = lr * epoch / cfg.warmup
        return lr

    def epoch_end(self, monitored: float) -> None:
        """Tell the plateau schedule the epoch's monitored loss."""
        if self.plateau is not None:
            self.plateau.step(monitored)

    def state(self) -> dict:
        return {} if self.plateau is None else self.plateau.state()

    def load_state(self, state: dict) -> None:
        if self.plateau is not None and state:
            self.plateau.load_state(state)


def describe(cfg) -> str:
    """One line naming the optimizer, schedule, clipping and weights with their settings, e.g.
    "optimizer adam (lr 0.001, betas 0.9,0.999, eps 1e-08)  ·  schedule plateau (…)"."""
    opt, wd = cfg.optimizer, cfg.resolved_weight_decay
    if opt == "lbfgs":
        parts = [f"ftol {cfg.ftol:g}", f"gtol {cfg.gtol:g}", f"maxcor {cfg.maxcor}"]
    else:
        parts = [f"lr {cfg.resolved_lr:g}"]
    if opt in ("adam", "adamw"):
        parts += [f"betas {','.join(f'{b:g}' for b in cfg.betas)}", f"eps {cfg.adam_eps:g}"]
    if opt == "rmsprop":
        parts.append(f"alpha {cfg.alpha:g}")
    if cfg.momentum:
        parts.append(f"momentum {cfg.momentum:g}")
    if cfg.nesterov or cfg.centered:
        parts.append("nesterov" if cfg.nesterov else "centered")
    if cfg.lr_decay:
        parts.append(f"lr-decay {cfg.lr_decay:g}")
    if wd:
        parts.append(f"{'decoupled ' if opt == 'adamw' else ''}weight decay {wd:g}")
    parts.append(f"reduction {cfg.reduction}")
    line = [f"optimizer {opt} ({', '.join(parts)})"]
    if cfg.schedule != "constant" or cfg.warmup:
        schedule = {
            "constant": "constant",
            "step": f"step (step-size {cfg.step_size}, gamma {cfg.gamma:g})",
            "cosine": f"cosine (lr-min {cfg.lr_min:g})",
            "plateau": f"plateau (factor {cfg.factor:g}, patience {cfg.plateau_patience}, "
                       f"threshold {cfg.threshold:g}, cooldown {cfg.cooldown}, "
                       f"lr-min {cfg.lr_min:g})",
        }[cfg.schedule]
        line.append(f"schedule {schedule}" + (f", warm-up {cfg.warmup}" if cfg.warmup else ""))
    if cfg.clip_norm is not None:
        line.append(f"clip-norm {cfg.clip_norm:g}")
    if cfg.class_weight is not None:
        line.append(f"class weight {cfg.class_weight}")
    if cfg.sample_weight is not None:
        line.append(f"sample weight {cfg.sample_weight}")
    return "  ·  ".join(line)
