"""The training loop: minibatch updates over epochs, reporting to callbacks once per epoch.

For each epoch: shuffle, then for each minibatch forward → loss → backward → (clip) → update,
then evaluate, tell the callbacks, and decide whether to stop. L-BFGS replaces the epochs by its
iterations (lbfgs.py) and shares the rest. The loop never prints and never touches
files; a callback is any object with some of these methods:

    on_train_begin(trainer)    on_epoch_end(record, trainer)    on_train_end(result, trainer)
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from functools import partial

import numpy as np

from mlpcli.core.batches import BatchPlan
from mlpcli.core.kernels import MLP
from mlpcli.core.losses import LOSSES, predicted_class
from mlpcli.core.optim import LearningRate, make_optimizer

EVAL_ROWS = 4096  # rows per forward pass when evaluating (bounds the evaluation buffers)


@dataclass(slots=True)
class EpochRecord:
    """One row of metrics.csv. Losses are per-example means of the data term (reporting units)."""

    epoch: int
    train_loss: float
    val_loss: float | None
    train_acc: float | None
    val_acc: float | None
    lr: float | None  # None for lbfgs (its line search sets each step)
    seconds: float  # wall-clock training time since the run started, at the end of this epoch
    grad_norm: float | None = None  # the epoch's largest global gradient norm, before clipping
    val_bacc: float | None = None  # balanced accuracy: the mean of the per-class recalls
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
    `classification` turns on accuracy. `row_weights` / `val_row_weights`: per-row weights r_i
    of the objective (class and sample weights); reported losses are then weighted means.
    """

    def __init__(self, model: MLP, X_train, Y_train, X_val=None, Y_val=None, *, cfg, rng,
                 loss_weights=None, classification=False, callbacks=(), row_weights=None,
                 val_row_weights=None):
        self.model, self.cfg, self.rng = model, cfg, rng

        def as_model_dtype(A):  # the no-allocation products need C-contiguous, same-dtype data
            return None if A is None else np.ascontiguousarray(A, dtype=model.dtype)

        X_train, Y_train = as_model_dtype(X_train), as_model_dtype(Y_train)
        self.X_val, self.Y_val = as_model_dtype(X_val), as_model_dtype(Y_val)
        row_weights, self.val_row_weights = as_model_dtype(row_weights), val_row_weights
        self.has_val = X_val is not None and len(X_val) > 0
        self.loss_weights = loss_weights
        self.classification = classification
        self.callbacks = list(callbacks)
        self.loss_grad_fn, self.loss_value_fn = LOSSES[cfg.loss]
        self.lbfgs = cfg.optimizer == "lbfgs"  # full batch, run by lbfgs.py
        self.optimizer = None if self.lbfgs else make_optimizer(cfg, model)
        self.learning_rate = LearningRate(cfg)
        # the gradient's norm (grad_norm) only with --clip-norm (inf: measure, never clip): its
        # ~2 µs a step made xor's 4-row epochs 12 % (sgd) to 15 % (adam) slower
        self.clip_norm = cfg.clip_norm
        self.track_norm = cfg.clip_norm is not None

        # regression: R² = 1 − loss / loss of always predicting the rows' mean (pooled over
        # the targets; with one target exactly the usual R²)
        self._mean_loss = None if classification else {
            "train": self._loss_of_mean(Y_train), "val": self._loss_of_mean(self.Y_val)}
        labels = predicted_class(Y_train) if classification else None
        batch_size, shuffle = (len(X_train), False) if self.lbfgs else (cfg.batch_size,
                                                                         cfg.shuffle)
        self.plan = BatchPlan(model, X_train, Y_train, labels, batch_size, shuffle,
                              cfg.reduction, row_weights)
        # reported losses are means per unit of weight: Σ r_i f_i / Σ r_i
        self.train_weight = len(X_train) if row_weights is None else float(row_weights.sum())

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
        optimizer_state = {} if self.optimizer is None else self.optimizer.state
        self._optimizer0 = {k: v.copy() for k, v in optimizer_state.items()}
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
        if self.lbfgs:
            from mlpcli.core.lbfgs import run_lbfgs  # (imports SciPy)

            return run_lbfgs(self, epoch_end)
        theta = self.model.theta
        status, message, stopped_early = "finished", "", False
        self._clock_start()
        while self.epoch < self.cfg.epochs:
            if self.stop_requested:
                status = "interrupted"
                break
            epoch = self.epoch + 1
            lr = self.learning_rate.at(epoch)

            # forward / backward / update over the epoch's minibatches
            outcome = self._train_epoch(lr)
            if outcome is None:  # interrupted mid-epoch: back to the last completed epoch
                self._restore_epoch_start()
                status = "interrupted"
                break
            loss_sum, correct, grad_norm = outcome

            # diverged? (θ·θ is non-finite if any weight is, or if they exceed ~1e154)
            if not (math.isfinite(loss_sum) and math.isfinite(np.dot(theta, theta))):
                self._restore_epoch_start()
                status = "diverged"
                message = diverged_message(epoch, lr, self.cfg)
                break
            train_acc = correct / len(self.plan.X) if self.classification else None
            if self._end_epoch(epoch, loss_sum / self.train_weight, train_acc, lr, grad_norm,
                               epoch_end):
                stopped_early = True
                break
        return status, message, stopped_early

    def _clock_start(self) -> None:
        # seconds: wall-clock time of the whole loop (callbacks included) over all sessions
        self._start, self._elapsed_before = time.perf_counter(), self.elapsed

    def _end_epoch(self, epoch, train_loss, train_acc, lr, grad_norm, epoch_end) -> bool:
        """Evaluate, record, tell the schedule and the callbacks; True to stop early."""
        cfg = self.cfg
        val_loss = val_acc = val_bacc = None
        if self.has_val:
            val_loss, val_acc, val_bacc = self.evaluate(self.X_val, self.Y_val,
                                                        self.val_row_weights)
        self.elapsed = self._elapsed_before + (time.perf_counter() - self._start)
        self.epoch = epoch
        record = EpochRecord(epoch, train_loss, val_loss, train_acc, val_acc, lr, self.elapsed,
                             grad_norm, val_bacc, self._r2(train_loss, "train"),
                             self._r2(val_loss, "val"))
        self.history.append(record)

        # remember the best epoch; early stopping after `patience` epochs without one
        monitored = val_loss if self.has_val else train_loss
        if monitored < self.best - cfg.min_delta:
            self.best, self.best_epoch, self.wait = monitored, epoch, 0
            if cfg.patience:  # only early stopping goes back to the best weights
                np.copyto(self.best_theta, self.model.theta)
        else:
            self.wait += 1
        self.learning_rate.epoch_end(monitored)
        for on_epoch_end in epoch_end:
            on_epoch_end(record, self)
        return bool(cfg.patience and self.wait >= cfg.patience)

    def _train_epoch(self, lr: float):
        """One pass over the training rows; (loss sum, correct count, largest gradient norm or
        None), or None if interrupted."""
        plan, weights = self.plan, self.loss_weights
        self._save_epoch_start()
        plan.reshuffle(self.rng)  # shuffle

        # the optimizer says how to scale the gradient (ε itself, for plain SGD) and λ with it
        grad_scale, update = self.optimizer.updates(lr)
        wd = 0.0 if self.optimizer.decoupled_decay else (
            self.cfg.resolved_weight_decay * grad_scale)
        clip = partial(self._clip, grad_scale) if self.track_norm else None
        loss_grad, loss_grad_fn, ws = self.model.loss_grad, self.loss_grad_fn, plan.ws
        loss_sum, correct, grad_norm = 0.0, 0, 0.0
        rows, last_Y = plan.rows, plan.last_Y
        for Xb, Yb, labels_b, scale, Yhat, gather, Rb in plan.batches:
            if gather is not None:  # (wide rows: this minibatch's own)
                np.take(rows, gather, axis=0, out=Xb, mode="clip")
            # forward / backward / update
            scale = None if scale * grad_scale == 1.0 else scale * grad_scale
            loss_sum += loss_grad(Xb, Yb, ws, loss_grad_fn, scale, wd, weights, Rb)
            if labels_b is not None:
                correct += int(np.count_nonzero(predicted_class(Yhat) == labels_b))
            if clip is not None:
                grad_norm = max(grad_norm, clip())
            update()
            if self.stop_requested and Yb is not last_Y:  # (with batch_gather Xb is one buffer)
                return None
        return loss_sum, correct, (grad_norm if clip is not None else None)

    def _clip(self, grad_scale: float) -> float:
        """The global L2 norm ‖g‖ of the gradient in `grad` (which holds grad_scale · g); with
        --clip-norm C, g ← g · C/(‖g‖ + 1e-6) when that is < 1 (torch.nn.utils.clip_grad_norm_).
        Returns the norm before clipping."""
        grad = self.model.grad
        norm = math.sqrt(float(np.dot(grad, grad))) / grad_scale
        if self.clip_norm is not None:
            coef = self.clip_norm / (norm + 1e-6)
            if coef < 1.0:
                grad *= coef
        return norm

    # --- evaluation --------------------------------------------------------------------------

    def evaluate(self, X, Y, row_weights=None) -> tuple[float, float | None, float | None]:
        """Loss (per-example mean in reporting units; with `row_weights`, Σ r_i f_i / Σ r_i),
        accuracy and balanced accuracy (None for regression)."""
        loss_sum = 0.0
        k = max(Y.shape[1], 2) if self.classification else 0
        hits, counts = np.zeros(k, np.int64), np.zeros(k, np.int64)
        for start in range(0, len(X), EVAL_ROWS):
            Yhat = self.model.forward(X[start : start + EVAL_ROWS])
            Yb = Y[start : start + EVAL_ROWS]
            Rb = None if row_weights is None else row_weights[start : start + EVAL_ROWS]
            loss_sum += self.loss_value_fn(Yhat, Yb, self.loss_weights, Rb)
            if self.classification:
                true = predicted_class(Yb)
                counts += np.bincount(true, minlength=k)
                hits += np.bincount(true[predicted_class(Yhat) == true], minlength=k)
        total = max(len(X), 1) if row_weights is None else float(np.sum(row_weights))
        if not self.classification:
            return loss_sum / total, None, None
        seen = counts > 0
        return (loss_sum / total, int(hits.sum()) / max(len(X), 1),
                float(np.mean(hits[seen] / counts[seen])) if seen.any() else None)

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
        for name, saved in self._optimizer0.items():
            np.copyto(saved, self.optimizer.state[name])
        if self.plan.shuffle:  # (without shuffling the epoch draws nothing from the generator)
            self._rng_state0 = self.rng.bit_generator.state

    def _restore_epoch_start(self):
        np.copyto(self.model.theta, self._theta0)
        for name, saved in self._optimizer0.items():
            np.copyto(self.optimizer.state[name], saved)
        if self.plan.shuffle:
            self.rng.bit_generator.state = self._rng_state0

    def state(self) -> dict:
        """Everything needed to continue exactly where the last completed epoch ended:
        `optimizer` holds the optimizer's arrays (moments, step count; lbfgs: none, its curvature
        memory restarts), `schedule` the plateau schedule's numbers."""
        optimizer_state = {} if self.optimizer is None else self.optimizer.state
        return {
            "epoch": self.epoch,
            "elapsed": self.elapsed,
            "theta": (self.model.theta if self.last_theta is None else self.last_theta).copy(),
            "optimizer": {k: v.copy() for k, v in optimizer_state.items()},
            "schedule": self.learning_rate.state(),
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
        if self.optimizer is not None:  # (ValueError if it is another optimizer's state)
            self.optimizer.load_state(state.get("optimizer") or {})
        self.learning_rate.load_state(state.get("schedule") or {})
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


def outputs(model, X: np.ndarray) -> np.ndarray:
    """Ŷ for every row of X, EVAL_ROWS rows at a time: the hidden activations of a million rows
    are never held at once."""
    if len(X) <= EVAL_ROWS:
        return model.forward(X)
    return np.concatenate([model.forward(X[s : s + EVAL_ROWS])
                           for s in range(0, len(X), EVAL_ROWS)])
