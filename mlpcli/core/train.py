"""The training loop: minibatch SGD over epochs, reporting to callbacks once per epoch.

For each epoch: shuffle, then for each minibatch forward → loss → backward → update, then
evaluate, tell the callbacks, and decide whether to stop. The loop never prints and never touches
files; a callback is any object with some of these methods:

    on_train_begin(trainer)    on_epoch_end(record, trainer)    on_train_end(result, trainer)
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from mlpcli.core.losses import LOSSES, predicted_class
from mlpcli.core.model import MLP, Workspace, aligned_empty
from mlpcli.core.optim import SGD, learning_rate

EVAL_ROWS = 4096  # rows per forward pass when evaluating (bounds the evaluation buffers)
GATHER_BYTES = 1 << 20  # shuffling gathers rows through a buffer of this size (stays in cache)
BATCH_GATHER_BYTES = 1 << 16  # minibatches at least this large gather their own rows (measured)


@dataclass(slots=True)
class EpochRecord:
    """One row of metrics.csv. Losses are per-example means of the data term (reporting units)."""

    epoch: int
    train_loss: float
    val_loss: float | None
    train_acc: float | None
    val_acc: float | None
    lr: float
    seconds: float  # wall-clock training time since the run started, at the end of this epoch

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    status: str  # finished | interrupted | diverged
    epochs_run: int
    best_epoch: int
    stopped_early: bool = False
    message: str = ""
    history: list[EpochRecord] = field(default_factory=list)


class Trainer:
    """Trains `model` in place on (X_train, Y_train), validating on (X_val, Y_val) if given.

    `cfg` is a Config (the loop reads the optimizer, objective and loop fields). `rng` drives the
    shuffling. `loss_weights` converts the reported mse to other units (see losses.py);
    `classification` turns on accuracy.
    """

    def __init__(self, model: MLP, X_train, Y_train, X_val=None, Y_val=None, *, cfg, rng,
                 loss_weights=None, classification=False, callbacks=()):
        self.model, self.cfg, self.rng = model, cfg, rng

        def as_model_dtype(A):  # the no-allocation products need C-contiguous, same-dtype data
            return None if A is None else np.ascontiguousarray(A, dtype=model.dtype)

        X_train, Y_train = as_model_dtype(X_train), as_model_dtype(Y_train)
        self.X, self.Y = X_train, Y_train
        self.X_val, self.Y_val = as_model_dtype(X_val), as_model_dtype(Y_val)
        self.has_val = X_val is not None and len(X_val) > 0
        self.loss_weights = loss_weights
        self.classification = classification
        self.callbacks = list(callbacks)
        self.loss_grad_fn, self.loss_value_fn = LOSSES[cfg.loss]
        self.optimizer = SGD(model.theta, model.grad, cfg.momentum, cfg.nesterov)

        n = len(X_train)
        B = min(cfg.batch_size, n)
        self.ws = Workspace(model.sizes, B, model.dtype)
        self.labels = predicted_class(Y_train) if classification else None
        # The rows the minibatches are cut from: one copy [X 1] of the training inputs with a
        # column of ones (see MLP.loss_grad). Shuffling a single minibatch would only reorder a
        # sum: then it is skipped. Two ways to shuffle, the same minibatches either way: narrow
        # rows are gathered a whole epoch at a time into Xs (one call for many small batches);
        # wide ones (a minibatch of ≥ BATCH_GATHER_BYTES) a minibatch at a time from Xs, left
        # unshuffled, into a buffer still in cache when the products read it, instead of two
        # passes over all the data per epoch (mnist-shaped: 40 µs a batch instead of 99 µs).
        self.shuffle = cfg.shuffle and n > B
        self.Xs = model.with_ones(X_train)
        self.batch_gather = self.shuffle and B * self.Xs[0].nbytes >= BATCH_GATHER_BYTES
        if self.shuffle:
            self.perm = np.empty(n, np.intp)
            if self.batch_gather:
                self._xb = aligned_empty((B, self.Xs.shape[1]), self.Xs.dtype)
            else:
                rows = max(1, GATHER_BYTES // max(1, X_train.shape[1] * X_train.itemsize))
                self._gather = np.empty((min(rows, n), X_train.shape[1]), X_train.dtype)
            self.Ys = aligned_empty(Y_train.shape, Y_train.dtype)
            self.labels_s = np.empty_like(self.labels) if classification else None
        else:
            self.Ys, self.labels_s = Y_train, self.labels
        # the minibatches, made once: views of the (shuffled) rows and labels, the reduction's
        # scale (1, or 1/rows), the workspace's view of their outputs Ŷ, and with batch_gather
        # which rows of Xs to gather into the rows' buffer
        self.batches = []
        for s in range(0, n, B):
            rows = min(B, n - s)
            self.batches.append((
                self._xb[:rows] if self.batch_gather else self.Xs[s : s + B],
                self.Ys[s : s + B],
                None if self.labels_s is None else self.labels_s[s : s + B],
                1.0 if cfg.reduction == "sum" else 1.0 / rows,
                self.ws.views(rows)[0][-1],
                self.perm[s : s + B] if self.batch_gather else None,
            ))
        self._last_Y = self.batches[-1][1]

        # progress, all of it saved in a checkpoint
        self.epoch = 0  # epochs completed
        self.elapsed = 0.0  # training seconds over all sessions of this run
        self.best = math.inf  # best monitored loss (val_loss, or train_loss without validation)
        self.best_epoch = 0
        self.best_theta = model.theta.copy()
        self.wait = 0  # epochs since the best one
        self.history: list[EpochRecord] = []

        # the state at the start of the current epoch, restored if it cannot complete
        self._theta0 = model.theta.copy()
        velocity = self.optimizer.velocity
        self._velocity0 = None if velocity is None else velocity.copy()
        self.stop_requested = False
        self.last_theta = None  # the last epoch's weights, once run() put the best ones in place

    def request_stop(self) -> None:
        """Ask the loop to stop after the current minibatch (safe from a signal handler)."""
        self.stop_requested = True

    # --- the loop --------------------------------------------------------------------------

    def run(self) -> TrainResult:
        cfg = self.cfg
        for cb in self.callbacks:
            getattr(cb, "on_train_begin", _nothing)(self)
        epoch_end = [cb.on_epoch_end for cb in self.callbacks if hasattr(cb, "on_epoch_end")]

        # non-finite values are detected and reported below, not warned about per operation
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            status, message, stopped_early = self._loop(epoch_end)
        if cfg.patience and self.best_epoch:  # early stopping keeps the best weights
            self.last_theta = self.model.theta.copy()  # …and state() the last epoch's
            np.copyto(self.model.theta, self.best_theta)
        result = TrainResult(status, self.epoch, self.best_epoch, stopped_early, message,
                             self.history)
        for cb in self.callbacks:
            getattr(cb, "on_train_end", _nothing)(result, self)
        return result

    def _loop(self, epoch_end):
        cfg, theta = self.cfg, self.model.theta
        status, message, stopped_early = "finished", "", False
        # seconds: wall-clock time of the whole loop (callbacks included) over all sessions
        start, elapsed_before = time.perf_counter(), self.elapsed
        while self.epoch < cfg.epochs:
            if self.stop_requested:
                status = "interrupted"
                break
            epoch = self.epoch + 1
            lr = cfg.lr if cfg.schedule == "constant" else learning_rate(
                epoch, cfg.lr, cfg.schedule, cfg.epochs, cfg.lr_min, cfg.step_size, cfg.gamma)

            # forward / backward / update over the epoch's minibatches
            outcome = self._train_epoch(lr)
            if outcome is None:  # interrupted mid-epoch: back to the last completed epoch
                self._restore_epoch_start()
                status = "interrupted"
                break
            loss_sum, correct = outcome

            # diverged? (θ·θ is non-finite if any weight is, or if they exceed ~1e154)
            if not (math.isfinite(loss_sum) and math.isfinite(np.dot(theta, theta))):
                self._restore_epoch_start()
                status = "diverged"
                message = (f"training diverged in epoch {epoch} (loss or weights became "
                           f"non-finite at --lr {lr:g}); try a smaller --lr, e.g. {lr / 10:g}")
                break

            # evaluate
            n = len(self.X)
            train_loss = loss_sum / n
            train_acc = correct / n if self.classification else None
            val_loss = val_acc = None
            if self.has_val:
                val_loss, val_acc = self.evaluate(self.X_val, self.Y_val)
            self.elapsed = elapsed_before + (time.perf_counter() - start)
            self.epoch = epoch
            record = EpochRecord(epoch, train_loss, val_loss, train_acc, val_acc, lr, self.elapsed)
            self.history.append(record)

            # remember the best epoch; stop early?
            monitored = val_loss if self.has_val else train_loss
            if monitored < self.best - cfg.min_delta:
                self.best, self.best_epoch, self.wait = monitored, epoch, 0
                if cfg.patience:  # only early stopping goes back to the best weights
                    np.copyto(self.best_theta, theta)
            else:
                self.wait += 1
            for on_epoch_end in epoch_end:
                on_epoch_end(record, self)
            if cfg.patience and self.wait >= cfg.patience:
                stopped_early = True
                break
        return status, message, stopped_early

    def _train_epoch(self, lr: float):
        """One pass over the training rows; (loss sum, correct count), or None if interrupted."""
        model, ws, cfg = self.model, self.ws, self.cfg
        self._save_epoch_start()

        # shuffle: gather the epoch's rows into the buffers the minibatches are views of, or
        # (batch_gather) only their order (mode="clip": no bounds-checked copy of the output)
        if self.shuffle:
            perm = self.perm
            perm[...] = self.rng.permutation(len(perm))
            if not self.batch_gather:
                # into [X 1] through a small contiguous buffer: a gather straight into the
                # strided columns would allocate a temporary the size of the data, every epoch
                buf, step = self._gather, len(self._gather)
                for s in range(0, len(perm), step):
                    rows = perm[s : s + step]
                    np.take(self.X, rows, axis=0, out=buf[: len(rows)], mode="clip")
                    self.Xs[s : s + len(rows), :-1] = buf[: len(rows)]
            np.take(self.Y, perm, axis=0, out=self.Ys, mode="clip")
            if self.labels_s is not None:
                np.take(self.labels, perm, out=self.labels_s, mode="clip")

        # plain SGD folds ε into the minibatch's scale (and λ): grad is then ε·∇, one update
        plain = self.optimizer.velocity is None
        step_scale = lr if plain else 1.0
        wd = cfg.weight_decay * step_scale
        theta, grad, step = model.theta, model.grad, self.optimizer.step
        loss_grad, loss_grad_fn, weights = model.loss_grad, self.loss_grad_fn, self.loss_weights
        loss_sum, correct = 0.0, 0
        Xs, last_Y = self.Xs, self._last_Y
        for Xb, Yb, labels_b, scale, Yhat, rows in self.batches:
            if rows is not None:  # (batch_gather)
                np.take(Xs, rows, axis=0, out=Xb, mode="clip")
            # forward / backward / update
            scale = None if scale * step_scale == 1.0 else scale * step_scale
            loss_sum += loss_grad(Xb, Yb, ws, loss_grad_fn, scale, wd, weights)
            if labels_b is not None:
                correct += int(np.count_nonzero(predicted_class(Yhat) == labels_b))
            if plain:
                theta -= grad  # w ← w − ε∇w
            else:
                step(lr)
            if self.stop_requested and Yb is not last_Y:  # (with batch_gather Xb is one buffer)
                return None
        return loss_sum, correct

    # --- evaluation --------------------------------------------------------------------------

    def evaluate(self, X, Y) -> tuple[float, float | None]:
        """Per-example mean loss (reporting units) and accuracy (None for regression)."""
        loss_sum, correct = 0.0, 0
        for start in range(0, len(X), EVAL_ROWS):
            Yhat = self.model.forward(X[start : start + EVAL_ROWS])
            Yb = Y[start : start + EVAL_ROWS]
            loss_sum += self.loss_value_fn(Yhat, Yb, self.loss_weights)
            if self.classification:
                correct += int(np.count_nonzero(predicted_class(Yhat) == predicted_class(Yb)))
        n = max(len(X), 1)
        return loss_sum / n, (correct / n if self.classification else None)

    # --- state ----------------------------------------------------------------------------

    def _save_epoch_start(self):
        np.copyto(self._theta0, self.model.theta)
        if self._velocity0 is not None:
            np.copyto(self._velocity0, self.optimizer.velocity)
        if self.shuffle:  # (without shuffling the epoch draws nothing from the generator)
            self._rng_state0 = self.rng.bit_generator.state

    def _restore_epoch_start(self):
        np.copyto(self.model.theta, self._theta0)
        if self._velocity0 is not None:
            np.copyto(self.optimizer.velocity, self._velocity0)
        if self.shuffle:
            self.rng.bit_generator.state = self._rng_state0

    def state(self) -> dict:
        """Everything needed to continue exactly where the last completed epoch ended."""
        return {
            "epoch": self.epoch,
            "elapsed": self.elapsed,
            "theta": (self.model.theta if self.last_theta is None else self.last_theta).copy(),
            "velocity": None if self.optimizer.velocity is None else self.optimizer.velocity.copy(),
            "rng_state": self.rng.bit_generator.state,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "best_theta": self.best_theta.copy(),
            "wait": self.wait,
        }

    def load_state(self, state: dict) -> None:
        self.epoch = int(state["epoch"])
        self.elapsed = float(state["elapsed"])
        np.copyto(self.model.theta, state["theta"])
        if self.optimizer.velocity is not None and state.get("velocity") is not None:
            np.copyto(self.optimizer.velocity, state["velocity"])
        self.rng.bit_generator.state = state["rng_state"]
        self.best = float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        np.copyto(self.best_theta, state["best_theta"])
        self.wait = int(state["wait"])


def _nothing(*args):
    return None
