"""The lecture's multilayer perceptron, written as the equations: initialisation, forward, loss
and backward on plain per-layer parameters W[l], b[l] (Python lists, layer 1 at index 0).

W_l has shape (units of layer l, units of layer l−1), as in the lecture (z = W x + b); rows of X
are examples, which is why the code multiplies by Wᵀ. For one hidden layer:

    Z = X W1ᵀ + b1     H = σ(Z)     Ŷ = H W2ᵀ + b2          f = Σ_rows ½‖ŷ − y‖²
    G = Ŷ − Y          ∇W2 = Gᵀ H   ∇b2 = Σ_rows G
    Δ = (G W2) ⊙ σ'(Z) ∇W1 = Δᵀ X   ∇b1 = Σ_rows Δ

The trainer runs the same network through kernels.py (one flat θ, aligned buffers, no
allocation per step); tests/test_core_paths.py checks the two give the same gradients.
"""

from __future__ import annotations

import numpy as np

from mlpcli.config import INIT_SCHEMES
from mlpcli.core.losses import reduction_scale, softmax
from mlpcli.errors import ConfigError


def _sigmoid(z):  # 1/(1 + e^−z), written as ½(1 + tanh(z/2)): no overflow for large |z|
    return 0.5 * (1.0 + np.tanh(0.5 * z))


# name -> (σ, σ'), elementwise functions of the pre-activation z
ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
}


def default_init_scheme(activation: str) -> str:
    """He for ReLU (keeps the variance of ReLU activations), Glorot for tanh and sigmoid."""
    return "he" if activation == "relu" else "glorot"


def init_layer(fan_in: int, fan_out: int, scheme: str, rng: np.random.Generator) -> np.ndarray:
    """A (fan_out, fan_in) weight matrix.

    he:     W ~ N(0, 2/fan_in)                                  (He et al. 2015)
    glorot: W ~ U(−a, a), a = √(6/(fan_in + fan_out))            (Glorot & Bengio 2010)
    Biases start at zero.
    """
    if scheme == "he":
        return rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in)
    if scheme == "glorot":
        a = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-a, a, size=(fan_out, fan_in))
    raise ConfigError(f"unknown --init-scheme {scheme!r}; choose one of: {', '.join(INIT_SCHEMES)}")


def forward(W, b, X, activation="relu"):
    """The input H[l] of every layer (H[0] = X) and its pre-activation Z[l]; Ŷ = Z[-1]."""
    sigma, _ = ACTIVATIONS[activation]
    H, Z = [X], []
    for l in range(len(W)):
        Z.append(H[l] @ W[l].T + b[l])  # Z = H Wᵀ + b   (the last one is the linear output Ŷ)
        if l < len(W) - 1:
            H.append(sigma(Z[l]))  # H = σ(Z), the next layer's input
    return H, Z


def loss(Yhat, Y, name="mse"):
    """f summed over the rows, and G = ∂f/∂Ŷ."""
    if name == "mse":
        G = Yhat - Y  # G = Ŷ − Y
        return 0.5 * np.sum(G * G), G  # f = ½ Σ (ŷ − y)²
    P = softmax(Yhat)  # p = softmax(ŷ)
    return -np.sum(Y * np.log(P)), P - Y  # f = −Σ y log p,   G = P − Y


def backward(W, H, Z, G, activation="relu"):
    """∇W[l], ∇b[l] from the output gradient G, top layer first."""
    _, dsigma = ACTIVATIONS[activation]
    dW, db = [None] * len(W), [None] * len(W)
    for l in reversed(range(len(W))):
        dW[l] = G.T @ H[l]  # ∇W = Gᵀ H   (H = X for layer 1)
        db[l] = G.sum(axis=0)  # ∇b = Σ_rows G
        if l > 0:
            G = (G @ W[l]) * dsigma(Z[l - 1])  # Δ = (G W) ⊙ σ'(Z), the layer below's G
    return dW, db


def objective(W, b, X, Y, activation="relu", loss_name="mse", reduction="sum",
              weight_decay=0.0):
    """The training objective f = [1/n] Σ_rows f(ŷ, y) + λ/2 Σ_l ‖W_l‖² and its gradients:
    (f, ∇W, ∇b)."""
    H, Z = forward(W, b, X, activation)
    f, G = loss(Z[-1], Y, loss_name)
    scale = reduction_scale(reduction, len(X))  # 1 for the sum over the rows, 1/n for the mean
    f, G = scale * f, scale * G
    dW, db = backward(W, H, Z, G, activation)
    for l in range(len(W)):
        f += 0.5 * weight_decay * np.sum(W[l] * W[l])  # + λ/2 ‖W‖²
        dW[l] = dW[l] + weight_decay * W[l]  # ∇W + λW
    return f, dW, db
