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

from mlpcli.core.batches import BatchPlan
from mlpcli.core.kernels import MLP
from mlpcli.core.losses import LOSSES, predicted_class
from mlpcli.core.optim import SGD, learning_rate

EVAL_ROWS = 4096  # rows per forward pass when evaluating (bounds the evaluation buffers)


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
    train_r2: float | None = None  # regression: 1 − train_loss / (the loss of predicting ȳ)
    val_r2: float | None = None

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
        self.X_val, self.Y_val = as_model_dtype(X_val), as_model_dtype(Y_val)
        self.has_val = X_val is not None and len(X_val) > 0
        self.loss_weights = loss_weights
        self.classification = classification
        self.callbacks = list(callbacks)
        self.loss_grad_fn, self.loss_value_fn = LOSSES[cfg.loss]
        self.optimizer = SGD(model.theta, model.grad, cfg.momentum, cfg.nesterov)

        # regression: R² = 1 − loss / loss of always predicting the rows' mean (pooled over
        # the targets; with one target exactly the usual R²)
        self._mean_loss = None if classification else {
            "train": self._loss_of_mean(Y_train), "val": self._loss_of_mean(self.Y_val)}
        labels = predicted_class(Y_train) if classification else None
        self.plan = BatchPlan(model, X_train, Y_train, labels, cfg.batch_size, cfg.shuffle,
                              cfg.reduction)

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
                message = diverged_message(epoch, lr, cfg)
                break

            # evaluate
            n = len(self.plan.X)
            train_loss = loss_sum / n
            train_acc = correct / n if self.classification else None
            val_loss = val_acc = None
            if self.has_val:
                val_loss, val_acc = self.evaluate(self.X_val, self.Y_val)
            self.elapsed = elapsed_before + (time.perf_counter() - start)
            self.epoch = epoch
            record = EpochRecord(epoch, train_loss, val_loss, train_acc, val_acc, lr, self.elapsed,
                                 self._r2(train_loss, "train"), self._r2(val_loss, "val"))
            self.history.append(record)

            # stop? (remember the best epoch; early stopping after `patience` epochs without one)
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
        plan, weights = self.plan, self.loss_weights
        self._save_epoch_start()
        plan.reshuffle(self.rng)  # shuffle

        # the optimizer says how to scale the gradient (ε itself, for plain SGD) and λ with it
        grad_scale, update = self.optimizer.updates(lr)
        wd = self.cfg.weight_decay * grad_scale
        loss_grad, loss_grad_fn, ws = self.model.loss_grad, self.loss_grad_fn, plan.ws
        loss_sum, correct = 0.0, 0
        rows, last_Y = plan.rows, plan.last_Y
        for Xb, Yb, labels_b, scale, Yhat, gather in plan.batches:
            if gather is not None:  # (wide rows: this minibatch's own)
                np.take(rows, gather, axis=0, out=Xb, mode="clip")
            # forward / backward / update
            scale = None if scale * grad_scale == 1.0 else scale * grad_scale
            loss_sum += loss_grad(Xb, Yb, ws, loss_grad_fn, scale, wd, weights)
            if labels_b is not None:
                correct += int(np.count_nonzero(predicted_class(Yhat) == labels_b))
            update()
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

    def _loss_of_mean(self, Y) -> float | None:
        """Per-example loss of predicting each column's mean (reporting units); None if 0."""
        if Y is None or len(Y) == 0 or self.cfg.loss != "mse":
            return None
        loss = self.loss_value_fn(np.broadcast_to(Y.mean(axis=0), Y.shape), Y,
                                  self.loss_weights) / len(Y)
        return loss if loss > 0 else None

    def _r2(self, loss, split: str) -> float | None:
        base = None if self._mean_loss is None or loss is None else self._mean_loss[split]
        return None if base is None else 1.0 - loss / base

    # --- state ----------------------------------------------------------------------------

    def _save_epoch_start(self):
        np.copyto(self._theta0, self.model.theta)
        if self._velocity0 is not None:
            np.copyto(self._velocity0, self.optimizer.velocity)
        if self.plan.shuffle:  # (without shuffling the epoch draws nothing from the generator)
            self._rng_state0 = self.rng.bit_generator.state

    def _restore_epoch_start(self):
        np.copyto(self.model.theta, self._theta0)
        if self._velocity0 is not None:
            np.copyto(self.optimizer.velocity, self._velocity0)
        if self.plan.shuffle:
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


def diverged_message(epoch: int, lr: float, cfg) -> str:
    """Why training stopped and what to change. With --reduction sum the step grows with the
    batch: above the default batch size, --reduction mean with lr·(default batch) takes the step
    the default batch size would."""
    from mlpcli.config import Config

    message = (f"training diverged in epoch {epoch} (loss or weights became non-finite at "
               f"--lr {lr:g}); try a smaller --lr, e.g. {lr / 10:g}")
    default_batch = Config.batch_size
    if cfg.reduction == "sum" and cfg.batch_size > default_batch:
        message += (f", or --reduction mean --lr {lr * default_batch:g}: the summed gradient "
                    f"of --batch-size {cfg.batch_size} takes {cfg.batch_size / default_batch:g}× "
                    f"the step of the default {default_batch}")
    return message


def _nothing(*args):
    return None
