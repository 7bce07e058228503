"""Full-batch L-BFGS on the exact training objective, by SciPy as scikit-learn's MLP does:

    f(θ) = s · Σ_i r_i f_i(θ) + λ/2 Σ_l ‖W_l‖²      (s = 1 for --reduction sum, 1/n for mean;
                                                     r_i the class and sample weights, else 1)
    scipy.optimize.minimize(f, θ₀, jac=True, method="L-BFGS-B",
                            options={maxiter: --epochs, ftol, gtol, maxcor})

f and ∇f come from the kernels' forward/backward on all training rows at once (the gradient
training uses everywhere, checked by gradcheck). Each L-BFGS iteration is one "epoch": one row
of metrics.csv, the callbacks, early stopping on the monitored loss. A stop request (Ctrl-C)
aborts the current line search and leaves the weights of the last completed iteration. SciPy's
curvature memory is not saved: a resumed L-BFGS run starts it afresh from the saved weights.
"""

from __future__ import annotations

import contextlib

import numpy as np


class _Interrupted(Exception):
    """Raised inside f(θ) to leave SciPy when a stop was requested."""


def run_lbfgs(trainer, epoch_end):
    """Trainer._loop for --optimizer lbfgs: (status, message, stopped_early)."""
    from scipy.optimize import minimize  # SciPy only for lbfgs (it costs ~0.2 s to import)

    cfg, model = trainer.cfg, trainer.model
    rows, Y, _, scale, _, _, R = trainer.plan.batches[0]  # one batch: every training row
    ws, loss_grad_fn = trainer.plan.ws, trainer.loss_grad_fn
    scale = None if scale == 1.0 else scale
    wd = cfg.resolved_weight_decay
    theta, grad = model.theta, model.grad
    last = theta.astype(np.float64)  # θ of the last completed iteration
    stopped_early = False

    def objective(x):
        if trainer.stop_requested:
            raise _Interrupted
        theta[...] = x
        data = model.loss_grad(rows, Y, ws, loss_grad_fn, scale, wd, None, R)
        f = data * (1.0 if scale is None else scale)
        if wd:
            f += 0.5 * wd * sum(float(np.vdot(W, W)) for W in model.W)
        return f, grad.astype(np.float64)

    def iteration_done(intermediate_result):
        nonlocal stopped_early
        theta[...] = intermediate_result.x
        last[...] = intermediate_result.x
        train_loss, train_acc, _ = trainer.evaluate(trainer.plan.X, trainer.plan.Y, R)
        if trainer._end_epoch(trainer.epoch + 1, train_loss, train_acc, None, None, epoch_end):
            stopped_early = True
            raise StopIteration
        if trainer.stop_requested:
            raise StopIteration

    trainer._clock_start()
    status = "finished"
    with contextlib.suppress(_Interrupted):
        minimize(objective, last.copy(), jac=True, method="L-BFGS-B", callback=iteration_done,
                 options={"maxiter": cfg.epochs - trainer.epoch, "ftol": cfg.ftol,
                          "gtol": cfg.gtol, "maxcor": cfg.maxcor})
    theta[...] = last  # the weights of the last recorded iteration (SciPy's answer)
    if trainer.stop_requested and not stopped_early:
        status = "interrupted"
    return status, "", stopped_early
