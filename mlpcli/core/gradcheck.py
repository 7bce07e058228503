"""Gradient checking: backprop against centered finite differences of the training objective.

For every checked scalar parameter p (all of them up to `max_coords` per tensor, else a seeded
sample), in float64:

    numerical  n = (f(θ + ε e_p) − f(θ − ε e_p)) / 2ε
    relative error = |a − n| / max(|a| + |n|, 1e-12)          (a = backprop's ∂f/∂p; CS231n)

f is the whole training objective: the data term Σ_i r_i f_i with its reduction (r_i: the class
and sample weights, 1 without them), plus the weight-decay penalty λ/2 Σ‖W‖². A coordinate
passes when its relative error ≤ tol or its absolute error ≤ abs_tol. A coordinate whose ±ε
perturbation moves any ReLU pre-activation across 0 sits on a kink, where f has no derivative:
it is counted and reported, never failed.

`lecture_gradients` works the 2-2-1 XOR network's nine partial derivatives out by the lecture's
closed forms (∂f/∂w1 = Σ (ŷ − y) · w5 · σ'(w1x1 + w2x2 + b1) · x1, …) for `--explain`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mlpcli.core.kernels import MLP
from mlpcli.core.losses import reduction_scale
from mlpcli.core.model import ACTIVATIONS

ABS_TOL = 1e-10  # absolute error below which a coordinate passes whatever its relative error


@dataclass
class TensorCheck:
    name: str
    shape: tuple
    checked: int  # coordinates compared
    kinks: int  # of those, coordinates on a ReLU kink (not judged)
    max_abs_error: float
    max_rel_error: float
    passed: bool
    sampled: bool = False  # a random sample of the coordinates, not all of them
    size: int = 0  # coordinates in the tensor

    @property
    def all_kinks(self) -> bool:
        return self.checked > 0 and self.kinks == self.checked


@dataclass
class Coordinate:
    """One checked scalar: for --explain."""

    name: str  # "W1[0,1]"
    value: float
    backprop: float
    numerical: float
    kink: bool
    abs_error: float
    rel_error: float


@dataclass
class GradcheckReport:
    passed: bool
    eps: float
    tol: float
    abs_tol: float
    parameters: list[TensorCheck]
    coordinates: list[Coordinate] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "eps": self.eps,
            "tol": self.tol,
            "abs_tol": self.abs_tol,
            "parameters": [
                {
                    "name": t.name, "shape": list(t.shape), "checked": t.checked,
                    "kinks": t.kinks, "max_abs_error": t.max_abs_error,
                    "max_rel_error": t.max_rel_error, "passed": t.passed,
                    "sampled": t.sampled,
                }
                for t in self.parameters
            ],
        }


def backprop_gradient(model: MLP, X, Y, loss="mse", reduction="sum", weight_decay=0.0,
                      row_weights=None):
    """∂f/∂θ by the code training uses (kernels.MLP.loss_grad), as a flat float64 copy."""
    model.gradient(X, Y, loss, reduction, weight_decay, row_weights)
    return model.grad.astype(np.float64, copy=True)


def check_gradients(model: MLP, X, Y, *, loss="mse", reduction="sum", weight_decay=0.0,
                    eps=1e-6, tol=1e-7, abs_tol=ABS_TOL, max_coords=2000, seed=0,
                    grad_fn=None, keep_coordinates=False, row_weights=None) -> GradcheckReport:
    """Compare the analytic gradient with centered differences, tensor by tensor.

    `grad_fn(model, X, Y, loss, reduction, weight_decay) -> flat gradient` replaces backprop
    (default `backprop_gradient`), e.g. to show that a wrong gradient fails. `row_weights`: the
    per-row weights r_i of the objective (class and sample weights).
    """
    model = model.astype(np.float64)  # gradcheck is always in float64
    X, Y = np.asarray(X, np.float64), np.asarray(Y, np.float64)
    if grad_fn is None:
        analytic = backprop_gradient(model, X, Y, loss, reduction, weight_decay, row_weights)
    else:
        analytic = grad_fn(model, X, Y, loss, reduction, weight_decay)
    analytic = np.asarray(analytic, np.float64).ravel()
    reference = _Objective(model, X, Y, loss, reduction, weight_decay, row_weights)
    rng = np.random.default_rng(seed)

    position = model.tensors(np.arange(model.theta.size))  # where each coordinate is in theta
    checks, coords = [], []
    tensors = model.tensors()
    for name in sorted(tensors, key=lambda k: (int(k[1:]), k[0] == "b")):  # W1, b1, W2, b2, …
        view = tensors[name]
        size = view.size
        idx = np.arange(size)
        sampled = size > max_coords
        if sampled:
            idx = np.sort(rng.choice(size, max_coords, replace=False))
        abs_err, rel_err, kink = np.empty(len(idx)), np.empty(len(idx)), np.empty(len(idx), bool)
        for i, k in enumerate(idx):
            n, on_kink = reference.central_difference(name, np.unravel_index(k, view.shape), eps)
            a = analytic[position[name].flat[k]]
            abs_err[i] = abs(a - n)
            rel_err[i] = abs_err[i] / max(abs(a) + abs(n), 1e-12)
            kink[i] = on_kink
            if keep_coordinates:
                coords.append(Coordinate(_coord_name(name, view.shape, k), float(view.flat[k]),
                                         float(a), n, on_kink, abs_err[i], rel_err[i]))
        judged = ~kink
        ok = (rel_err[judged] <= tol) | (abs_err[judged] <= abs_tol)
        checks.append(TensorCheck(
            name=name, shape=tuple(view.shape), checked=len(idx), kinks=int(kink.sum()),
            max_abs_error=float(abs_err[judged].max()) if judged.any() else 0.0,
            max_rel_error=float(rel_err[judged].max()) if judged.any() else 0.0,
            passed=bool(ok.all()), sampled=sampled, size=size,
        ))
    passed = all(t.passed for t in checks)
    return GradcheckReport(passed, eps, tol, abs_tol, checks, coords)


class _Objective:
    """The training objective f(θ), written out independently of kernels.py, in extended precision.

    Evaluating f in np.longdouble (80-bit on x86-64) keeps the roundoff of f(θ+ε) − f(θ−ε) far
    below the differences being measured, so ε = 1e-6 resolves gradients to ~1e-9 relative even
    for summed losses; it also means the reference shares no code with the backprop it checks.
    Perturbing W_l[i, j] by δ changes only column i of Z_l (by δ·A_{l-1}[:, j]), so each
    evaluation updates that column and recomputes the layers above it.
    """

    def __init__(self, model: MLP, X, Y, loss, reduction, weight_decay, row_weights=None):
        ld = np.longdouble
        self.loss, self.reduction, self.wd = loss, reduction, weight_decay
        self.r = np.ones(len(X), ld) if row_weights is None else np.asarray(row_weights, ld)
        self.W = [W.astype(ld) for W in model.W]
        self.b = [b.astype(ld) for b in model.b]
        self.X, self.Y = X.astype(ld), Y.astype(ld)
        self.sigma, _ = ACTIVATIONS[model.activation]
        self.relu = model.activation == "relu"
        # forward once at θ: every layer's input A_{l-1} and pre-activation Z_l
        self.A, self.Z = [], []
        A = self.X
        for W, b in zip(self.W, self.b):
            self.A.append(A)
            self.Z.append(A @ W.T + b)
            A = self.sigma(self.Z[-1])

    def _value(self, l, Z):
        """f and the hidden pre-activations' signs, given layer l's pre-activation Z."""
        signs, L = [], len(self.W)
        for j in range(l, L - 1):
            if self.relu:
                signs.append(Z > 0)
            Z = self.sigma(Z) @ self.W[j + 1].T + self.b[j + 1]
        Yhat = Z
        if self.loss == "mse":
            f_rows = 0.5 * np.sum((Yhat - self.Y) ** 2, axis=1)
        else:  # −log softmax(ŷ)_true, with log-sum-exp
            S = Yhat - Yhat.max(axis=1, keepdims=True)
            f_rows = np.log(np.sum(np.exp(S), axis=1)) - np.sum(S * self.Y, axis=1)
        f = np.sum(self.r * f_rows)  # Σ_i r_i f_i
        if self.reduction == "mean":
            f = f / len(self.X)
        return f, signs

    def central_difference(self, name: str, index: tuple, eps: float) -> tuple[float, bool]:
        """((f(θ+ε e_p) − f(θ−ε e_p)) / 2ε, whether a ReLU pre-activation changes sign), for
        the coordinate `index` of tensor `name` (W_l[i, j] or b_l[i])."""
        l = int(name[1:]) - 1
        i, j = (index[0], None) if name[0] == "b" else index
        column = np.ones(len(self.X), np.longdouble) if j is None else self.A[l][:, j]
        values, signs = [], []
        for delta in (eps, -eps):
            Z = self.Z[l].copy()
            Z[:, i] += delta * column
            f, s = self._value(l, Z)
            values.append(f)
            signs.append(s)
        diff = values[0] - values[1]
        if self.wd and j is not None:  # λ/2 ((w+ε)² − (w−ε)²) = 2λεw
            diff += 2 * self.wd * eps * self.W[l][i, j]
        kink = any(not np.array_equal(P, M) for P, M in zip(*signs))
        return float(diff / (2 * eps)), kink


def _coord_name(name: str, shape: tuple, k: int) -> str:
    index = np.unravel_index(k, shape)
    return f"{name}[{','.join(map(str, index))}]"


# --- the lecture's hand derivation -------------------------------------------------------------

LECTURE_NAMES = ["w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3"]


def is_lecture_network(model: MLP, loss: str) -> bool:
    """The lecture's XOR network: 2 inputs, 2 hidden units, 1 output, ½(ŷ − y)² loss."""
    return model.sizes == [2, 2, 1] and loss == "mse"


def lecture_gradients(model: MLP, X, Y, reduction="sum", weight_decay=0.0,
                      row_weights=None) -> dict[str, float]:
    """The nine partial derivatives of f by the lecture's closed forms, summed over the rows.

    ŷ = w5 σ(w1x1 + w2x2 + b1) + w6 σ(w3x1 + w4x2 + b2) + b3,   ∂f/∂p = r (ŷ − y) ∂ŷ/∂p.
    """
    (w1, w2), (w3, w4) = model.W[0]
    w5, w6 = model.W[1][0]
    b1, b2 = model.b[0]
    (b3,) = model.b[1]
    x1, x2, y = X[:, 0], X[:, 1], Y[:, 0]
    sigma, dsigma = ACTIVATIONS[model.activation]

    z1 = w1 * x1 + w2 * x2 + b1
    z2 = w3 * x1 + w4 * x2 + b2
    y_hat = w5 * sigma(z1) + w6 * sigma(z2) + b3
    df_dyhat = y_hat - y  # ∂f/∂ŷ = ŷ − y
    if row_weights is not None:
        df_dyhat = df_dyhat * row_weights  # ∂(r f)/∂ŷ = r (ŷ − y)
    dyhat = {  # ∂ŷ/∂p, one array over the examples each
        "w1": w5 * dsigma(z1) * x1,
        "w2": w5 * dsigma(z1) * x2,
        "w3": w6 * dsigma(z2) * x1,
        "w4": w6 * dsigma(z2) * x2,
        "w5": sigma(z1),
        "w6": sigma(z2),
        "b1": w5 * dsigma(z1),
        "b2": w6 * dsigma(z2),
        "b3": np.ones_like(x1),
    }
    scale = reduction_scale(reduction, len(X))
    values = dict(zip(LECTURE_NAMES, (w1, w2, w3, w4, w5, w6, b1, b2, b3)))
    grads = {}
    for p in LECTURE_NAMES:
        g = scale * float(np.sum(df_dyhat * dyhat[p]))
        if weight_decay and p.startswith("w"):
            g += weight_decay * values[p]  # ∂/∂w of λ/2 w²
        grads[p] = g
    return grads


def lecture_coordinate_names() -> dict[str, str]:
    """Lecture name → tensor coordinate: W1 row by row, then W2, b1, b2."""
    return {
        "w1": "W1[0,0]", "w2": "W1[0,1]", "w3": "W1[1,0]", "w4": "W1[1,1]",
        "w5": "W2[0,0]", "w6": "W2[0,1]", "b1": "b1[0]", "b2": "b1[1]", "b3": "b2[0]",
    }
