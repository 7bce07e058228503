"""Losses: the data term of the objective and its gradient with respect to the network output.

Both losses give the same simple output gradient, which is why backprop starts the same way:

    mse: f = ½ Σ_k (ŷ_k − y_k)²            ∂f/∂ŷ = ŷ − y
    ce:  f = −log softmax(ŷ)_true = −Σ_k y_k log p_k,  p = softmax(ŷ)     ∂f/∂ŷ = p − y

Functions take the batch's outputs `Yhat` (rows are examples) and targets `Y` and write the
gradient G = ∂f/∂Ŷ into a caller-owned buffer, returning the loss summed over the batch.
`weights` (per output column, optional) scales the *reported* mse to other units, e.g. back to the
original target units when targets were standardized; it never changes the gradient.
`row_weights` (per example r_i, optional: class and sample weights) make the data term
Σ_i r_i f_i: the returned loss and the gradient rows are multiplied by r_i.
"""

from __future__ import annotations

import numpy as np


def softmax(A: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable: subtract each row's max before exponentiating."""
    E = np.exp(A - A.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def mse_grad(Yhat: np.ndarray, Y: np.ndarray, G: np.ndarray, weights=None,
             row_weights=None) -> float:
    """G = Ŷ − Y; returns Σ_rows ½ Σ_k w_k (ŷ_k − y_k)²  (w = 1 when `weights` is None)."""
    np.subtract(Yhat, Y, out=G)
    if row_weights is not None:
        loss = 0.5 * float(np.einsum("ik,ik,i->", G, G, row_weights) if weights is None else
                           np.einsum("ik,ik,k,i->", G, G, weights, row_weights))
        G *= row_weights[:, None]  # ∂(r_i f_i)/∂ŷ_i = r_i (ŷ_i − y_i)
        return loss
    if weights is None:
        return 0.5 * float(np.vdot(G, G))
    return 0.5 * float(np.einsum("ik,ik,k->", G, G, weights))


def ce_grad(Yhat: np.ndarray, Y: np.ndarray, G: np.ndarray, weights=None,
            row_weights=None) -> float:
    """G = softmax(Ŷ) − Y; returns Σ_rows −log p_true, computed with log-sum-exp.

    Y is one-hot. `weights` is accepted for a uniform signature and ignored.
    """
    # shifted logits S = Ŷ − max_k Ŷ  →  log p = S − log Σ exp S   (stable: S ≤ 0)
    np.subtract(Yhat, Yhat.max(axis=1, keepdims=True), out=G)
    log_norm = np.log(np.exp(G).sum(axis=1))
    # −log p_true = log_norm − S_true, summed over rows (Y is one-hot)
    if row_weights is None:
        loss = float(log_norm.sum() - np.vdot(G, Y))
    else:
        loss = float(np.dot(row_weights, log_norm - np.einsum("ik,ik->i", G, Y)))
    np.exp(G, out=G)
    G /= G.sum(axis=1, keepdims=True)  # p = softmax(Ŷ)
    G -= Y  # ∂f/∂Ŷ = p − y
    if row_weights is not None:
        G *= row_weights[:, None]
    return loss


def mse_value(Yhat: np.ndarray, Y: np.ndarray, weights=None, row_weights=None) -> float:
    """Σ_rows ½ Σ_k w_k (ŷ_k − y_k)², allocating (for evaluation, not the training loop)."""
    return mse_grad(Yhat, Y, np.empty_like(Yhat), weights, row_weights)


def ce_value(Yhat: np.ndarray, Y: np.ndarray, weights=None, row_weights=None) -> float:
    """Σ_rows −log softmax(ŷ)_true, allocating."""
    return ce_grad(Yhat, Y, np.empty_like(Yhat), weights, row_weights)


def reduction_scale(reduction: str, rows: int) -> float:
    """The factor on Σ_rows f in the objective: 1 for --reduction sum, 1/rows for mean."""
    return 1.0 if reduction == "sum" else 1.0 / rows


# Registry keyed by the CLI's --loss value: (gradient-writing function, value function).
LOSSES = {
    "mse": (mse_grad, mse_value),
    "ce": (ce_grad, ce_value),
}


def outputs_to_proba(Yhat: np.ndarray, loss: str) -> np.ndarray:
    """Class probabilities from raw outputs.

    ce: softmax. mse: outputs clipped to [0, 1] and renormalised per row; a single output column
    (0/1 targets) is P(class 1), so the two columns are 1 − p and p.
    """
    if loss == "ce":
        return softmax(Yhat)
    P = np.clip(Yhat, 0.0, 1.0)
    if P.shape[1] == 1:
        return np.hstack([1.0 - P, P])
    total = P.sum(axis=1, keepdims=True)
    uniform = np.full_like(P, 1.0 / P.shape[1])
    return np.divide(P, total, out=uniform, where=total > 0)


def predicted_class(Yhat: np.ndarray) -> np.ndarray:
    """Index of the predicted class: output > 0.5 for one output column, else the argmax."""
    if Yhat.shape[1] == 1:
        return (Yhat[:, 0] > 0.5).astype(np.intp)
    return Yhat.argmax(axis=1)
