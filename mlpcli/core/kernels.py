"""The fast path: the network of model.py as the trainer runs it, with no allocation per step.

The same equations as model.py, arranged for speed (benchmarks/README.md says what each trick is
worth):

- every W_l and b_l is a view into one flat vector `theta`, every gradient a view into `grad`
  laid out the same way, so an update is a few whole-vector operations whatever the depth;
- layer 1 is stored as one block [W₁ᵀ; b₁] and multiplied by the training rows [X 1] (made once
  by `training_rows`), so its bias costs nothing forward or backward;
- layers and buffers start on cache lines (ALIGN), products are chosen by size (np.dot or
  np.matmul) and written into a preallocated Workspace;
- activations are applied in place, and σ' is computed from the activation A = σ(Z), so Z is
  never kept:  relu [A > 0],  tanh 1 − A²,  sigmoid A(1 − A); ReLU is max(Z, zeros) against a
  zero array of Z's shape, numpy's vectorized path (against a scalar zero 2.5–4× slower);
- a step's operands (views, transposes, products per layer) are laid out once per batch size
  (`MLP._step`), so a step does no indexing or slicing in Python.

tests/test_core_paths.py checks that this path and model.py give the same gradients.
"""

from __future__ import annotations

import numpy as np

from mlpcli.core.losses import LOSSES, reduction_scale
from mlpcli.core.model import ACTIVATIONS, default_init_scheme, init_layer
from mlpcli.errors import ConfigError

# The version of theta's layout (see MLP), recorded in checkpoints: a flat theta written with
# another layout must not be loaded coordinate by coordinate (weights.npz, by name, always can).
THETA_LAYOUT = 2

# The BLAS runs small products faster when an operand starts on a cache line, so the parameters,
# the workspace and the training rows start on ALIGN-byte boundaries.
ALIGN = 64
SMALL_PRODUCT = 65536  # multiply-adds below which np.dot (less call overhead) beats np.matmul
SMALL_MASK = 4096  # elements below which np.sign (less call overhead) beats np.greater

# --- activations in place -----------------------------------------------------------------------

# Zero as a numpy scalar of the array's own type: a Python or float64 zero would make numpy
# compute a float32 array's ReLU in float64 and cast back
_ZERO = {np.dtype(np.float32): np.float32(0), np.dtype(np.float64): np.float64(0)}


def _relu(Z, zeros):
    np.maximum(Z, zeros, out=Z)  # (against a zero array: numpy's scalar path is 2.5–4× slower)


def _relu_grad(A, D, tmp):  # D ⊙= [A > 0]
    if A.size < SMALL_MASK:
        np.sign(A, out=tmp)  # = [A > 0], as A ≥ 0
    else:
        np.greater(A, _ZERO[A.dtype], out=tmp)  # vectorized
    np.multiply(D, tmp, out=D)


def _tanh(Z, zeros):
    np.tanh(Z, out=Z)


def _tanh_grad(A, D, tmp):  # D ⊙= 1 − A²
    np.multiply(A, A, out=tmp)
    np.subtract(1, tmp, out=tmp)
    np.multiply(D, tmp, out=D)


def _sigmoid(Z, zeros):  # s(z) = ½ (1 + tanh(z/2)), as in model.py
    Z *= 0.5
    np.tanh(Z, out=Z)
    Z *= 0.5
    Z += 0.5


def _sigmoid_grad(A, D, tmp):  # D ⊙= A (1 − A)
    np.subtract(1, A, out=tmp)
    tmp *= A
    np.multiply(D, tmp, out=D)


# name (as in model.ACTIVATIONS) -> (apply in place, multiply a delta by σ' from the activation);
# apply(Z, zeros) is given a zero array of Z's shape
IN_PLACE = {
    "relu": (_relu, _relu_grad),
    "tanh": (_tanh, _tanh_grad),
    "sigmoid": (_sigmoid, _sigmoid_grad),
}

# --- aligned buffers ----------------------------------------------------------------------------


def aligned_empty(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on an ALIGN-byte boundary."""
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + ALIGN, np.uint8)
    start = -raw.ctypes.data % ALIGN
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def aligned_zeros(shape, dtype) -> np.ndarray:
    out = aligned_empty(shape, dtype)
    out.fill(0)
    return out


class Workspace:
    """Buffers for one minibatch size, allocated once and reused by every step.

    A[l] holds layer l+1's activations (the last one is Ŷ), D[l] the delta of hidden layer l+1,
    T[l] scratch for σ', zeros[l] zeros of A[l]'s shape (ReLU's max(Z, 0)), `ones` a row of ones
    (Σ_rows G = 1ᵀG as a product). A smaller batch (the last one of an epoch) uses views [:n] of
    them, made once per size by `views(n)`. A workspace serves one network: `steps` keeps, per
    batch size, the operands of its step as `MLP.loss_grad` lays them out.
    """

    def __init__(self, sizes: list[int], rows: int, dtype):
        # per layer, the product function: np.dot for small products, np.matmul for large ones
        # (faster with a transposed operand)
        self.mm = [np.dot if rows * n_in * n_out < SMALL_PRODUCT else np.matmul
                   for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self.A = [aligned_empty((rows, n), dtype) for n in sizes[1:]]
        self.D = [aligned_empty((rows, n), dtype) for n in sizes[1:-1]]
        self.T = [aligned_empty((rows, n), dtype) for n in sizes[1:-1]]
        self.zeros = [aligned_zeros((rows, n), dtype) for n in sizes[1:-1]]
        self.G = aligned_empty((rows, sizes[-1]), dtype)
        self.ones = np.ones(rows, dtype)
        self._views = {}
        self.steps = {}

    def views(self, n: int):
        """(A, D, T, zeros, G, ones) cut to n rows; cached, so the training loop never slices."""
        if n not in self._views:
            self._views[n] = ([a[:n] for a in self.A], [d[:n] for d in self.D],
                              [t[:n] for t in self.T], [z[:n] for z in self.zeros], self.G[:n],
                              self.ones[:n])
        return self._views[n]


class MLP:
    """A fully connected network: input → hidden layers (σ) → linear output.

    `sizes` = [n_in, *hidden, n_out]. Parameters W[l] (n_out_l, n_in_l) and b[l] (n_out_l,), named
    W1, b1, …, WL, bL outside the code, are views into the flat vector `theta`; their gradients
    dW[l], db[l] views into `grad`. Each layer is stored in the layout its products read fastest:

    - layer 1 as one block [W₁ᵀ; b₁] of shape (n_in + 1, n_1): the training rows [X 1] times it
      are X W₁ᵀ + b₁ in one product, and [X 1]ᵀ Δ₁ is [∇W₁ᵀ; ∇b₁];
    - later layers as W_l (n_l, n_{l-1}) row by row, then b_l: the backward product G_l W_l reads
      a contiguous W_l.

    Each layer starts on an ALIGN-byte boundary; the few coordinates of padding between layers
    belong to no parameter and stay zero.
    """

    def __init__(self, sizes, activation: str = "relu", dtype=np.float64):
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ConfigError(f"layer sizes must be positive, got {sizes}")
        if activation not in ACTIVATIONS:
            raise ConfigError(
                f"unknown --activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}"
            )
        self.sizes = sizes
        self.activation = activation
        self.dtype = np.dtype(dtype)
        self.shapes = [(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self.n_layers = len(self.shapes)
        # where each layer starts in theta: after the previous one, rounded up to ALIGN
        per_line = max(1, ALIGN // self.dtype.itemsize)
        self.offsets, end = [], 0
        for o, i in self.shapes:
            start = -(-end // per_line) * per_line
            self.offsets.append(start)
            end = start + (i + 1) * o
        self.theta = aligned_zeros(end, self.dtype)
        self.grad = aligned_zeros(end, self.dtype)
        self.first, self.W, self.b = self._views(self.theta)
        self.dfirst, self.dW, self.db = self._views(self.grad)
        self.WT = [W.T for W in self.W]  # (made once: the training loop never makes views)
        self._act, self._act_grad = IN_PLACE[activation]

    def _views(self, flat):
        """Layer 1's block [W₁ᵀ; b₁], and per layer W and b, as views into `flat`."""
        o, i = self.shapes[0]
        first = flat[: (i + 1) * o].reshape(i + 1, o)  # (layer 1 starts at 0)
        W, b = [first[:i].T], [first[i]]
        for (o, i), start in zip(self.shapes[1:], self.offsets[1:]):
            W.append(flat[start : start + o * i].reshape(o, i))
            b.append(flat[start + o * i : start + o * (i + 1)])
        return first, W, b

    @classmethod
    def initialized(cls, sizes, activation="relu", scheme=None, rng=None, dtype=np.float64):
        """A new network with weights drawn from `rng` by `scheme` (default: by activation)."""
        model = cls(sizes, activation, dtype)
        scheme = scheme or default_init_scheme(activation)
        rng = rng if rng is not None else np.random.default_rng(0)
        for W, (o, i) in zip(model.W, model.shapes):
            W[...] = init_layer(i, o, scheme, rng)
        return model

    def astype(self, dtype) -> MLP:
        """This network if it already has `dtype`, else a copy converted to it."""
        if np.dtype(dtype) == self.dtype:
            return self
        copy = MLP(self.sizes, self.activation, dtype)
        copy.load_params(self.tensors())  # (the padding between layers depends on the dtype)
        return copy

    # --- parameters by name -------------------------------------------------------------------

    def names(self) -> list[str]:
        """Parameter names in theta's order: W1 … WL, then b1 … bL."""
        L = self.n_layers
        return [f"W{l}" for l in range(1, L + 1)] + [f"b{l}" for l in range(1, L + 1)]

    def tensors(self, flat=None) -> dict[str, np.ndarray]:
        """{name: view} into `flat` (default theta), e.g. model.tensors(model.grad)['W1'].

        model.tensors(np.arange(model.theta.size)) says where each coordinate lives in theta.
        """
        _, W, b = self._views(self.theta if flat is None else flat)
        return dict(zip(self.names(), W + b))

    def params(self) -> dict[str, np.ndarray]:
        """Copies of the parameters by name, as saved in weights.npz."""
        return {k: v.copy() for k, v in self.tensors().items()}

    def load_params(self, params, source: str = "weights") -> None:
        """Copy parameters in by name, checking every key and shape."""
        for name, view in self.tensors().items():
            if name not in params:
                have = ", ".join(sorted(params)) or "none"
                raise ConfigError(f"{source}: missing array {name!r} (has: {have})")
            value = np.asarray(params[name])
            if value.shape != view.shape:
                raise ConfigError(
                    f"{source}: {name} has shape {value.shape}, the network needs {view.shape} "
                    f"(layers {self.sizes})"
                )
            if not np.issubdtype(value.dtype, np.number):
                raise ConfigError(f"{source}: {name} is not numeric (dtype {value.dtype})")
            view[...] = value

    # --- the training rows ----------------------------------------------------------------------

    def training_rows(self, X: np.ndarray) -> np.ndarray:
        """X as `loss_grad` reads it, made once: [X 1], aligned, the ones multiplying b₁."""
        rows = aligned_empty((X.shape[0], X.shape[1] + 1), self.dtype)
        rows[:, :-1] = X
        rows[:, -1] = 1
        return rows

    @staticmethod
    def inputs_of(rows: np.ndarray) -> np.ndarray:
        """The columns of training rows that hold X (a view, e.g. to gather shuffled rows into)."""
        return rows[:, :-1]

    # --- forward ----------------------------------------------------------------------------

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Ŷ for the rows of X, allocating (inference and evaluation)."""
        A = np.asarray(X, dtype=self.dtype)
        for WT, b in zip(self.WT[:-1], self.b[:-1]):
            A = A @ WT + b  # Z = A Wᵀ + b
            self._act(A, _ZERO[A.dtype])  # A = σ(Z), in place
        return A @ self.WT[-1] + self.b[-1]  # linear output

    # --- one training step's gradient ------------------------------------------------------

    def loss_grad(self, rows, Y, ws: Workspace, loss_grad_fn, scale=None, weight_decay=0.0,
                  weights=None, row_weights=None) -> float:
        """Forward, loss and backward on a minibatch: the gradient of the training objective

            scale · Σ_rows r_i f(ŷ, y) + λ/2 Σ_l ‖W_l‖²     (scale 1 for the lecture's sum, 1/n
                                                             mean; r_i = 1 without row weights)

        is left in `grad`; returns the unscaled data term Σ_rows f (with `weights`, in reporting
        units) for logging. `rows` are training rows (`training_rows`). The optimizer may fold
        the learning rate into `scale` and `weight_decay`, making `grad` ε times the gradient.
        Everything is written into the workspace's buffers: nothing is allocated.
        """
        forward, backward, A1, Yhat, G, delta1 = ws.steps.get(len(rows)) or self._step(ws, rows)
        act, act_grad, dot = self._act, self._act_grad, np.dot

        # forward propagate: Z_l = A_{l-1} W_lᵀ + b_l, A_l = σ(Z_l); Ŷ = Z_L
        ws.mm[0](rows, self.first, out=A1)  # [X 1] [W₁ᵀ; b₁] = X W₁ᵀ + b₁
        for A_in, zeros, mm, WT, A_out, b in forward:
            act(A_in, zeros)  # in place: A_in now holds σ(Z_{l-1})
            mm(A_in, WT, out=A_out)
            A_out += b

        # loss, and G = ∂f/∂Ŷ
        loss_sum = loss_grad_fn(Yhat, Y, G, weights, row_weights)
        if scale is not None:
            G *= scale  # fold the scalars into the small operand

        # backward propagate: ∇W_l = G_lᵀ A_{l-1}, ∇b_l = 1ᵀ G_l, G_{l-1} = (G_l W_l) ⊙ σ'(Z_{l-1})
        for mm, GT, A_in, dW, ones, G_l, db, W, D, T in backward:
            mm(GT, A_in, out=dW)
            dot(ones, G_l, out=db)
            mm(G_l, W, out=D)
            act_grad(A_in, D, T)
        ws.mm[0](rows.T, delta1, out=self.dfirst)  # [X 1]ᵀ Δ = [∇W₁ᵀ; ∇b₁]

        if weight_decay:
            for W, dW in zip(self.W, self.dW):
                dW += weight_decay * W  # + λW
        return loss_sum

    def _step(self, ws: Workspace, rows):
        """The operands of a step on `rows` (`loss_grad`), laid out once per batch size: per later
        layer forward (A_{l-1}, its zeros, product, W_lᵀ, A_l, b_l), per later layer backward
        (product, G_lᵀ, A_{l-1}, ∇W_l, ones, G_l, ∇b_l, W_l, Δ_{l-1}, σ' scratch), then A₁, Ŷ, G
        and layer 1's delta."""
        n, L = len(rows), self.n_layers
        A, D, T, zeros, G, ones = ws.views(n)
        deltas = [*D, G]  # layer l's delta: D for hidden layers, G for the output
        forward = [(A[l - 1], zeros[l - 1], ws.mm[l], self.WT[l], A[l], self.b[l])
                   for l in range(1, L)]
        backward = [(ws.mm[l], deltas[l].T, A[l - 1], self.dW[l], ones, deltas[l], self.db[l],
                     self.W[l], D[l - 1], T[l - 1]) for l in range(L - 1, 0, -1)]
        ws.steps[n] = forward, backward, A[0], A[-1], G, deltas[0]
        return ws.steps[n]

    def gradient(self, X, Y, loss="mse", reduction="sum", weight_decay=0.0,
                 row_weights=None) -> float:
        """`loss_grad` on the whole of (X, Y) as one batch, allocating its buffers: ∇ of the
        objective is left in `grad`; returns the data term Σ_rows r_i f."""
        X = np.ascontiguousarray(X, dtype=self.dtype)
        Y = np.ascontiguousarray(Y, dtype=self.dtype)
        if row_weights is not None:
            row_weights = np.ascontiguousarray(row_weights, dtype=self.dtype)
        scale = reduction_scale(reduction, len(X))
        return self.loss_grad(self.training_rows(X), Y, Workspace(self.sizes, len(X), self.dtype),
                              LOSSES[loss][0], None if scale == 1.0 else scale, weight_decay,
                              row_weights=row_weights)
