"""The training loop against updates computed independently in the test."""

import math

import numpy as np
import pytest

from mlpcli.config import Config
from mlpcli.core.kernels import MLP
from mlpcli.core.optim import learning_rate
from mlpcli.core.train import Trainer


def relu_net_grads(params, X, Y, reduction="sum", weight_decay=0.0):
    """Gradients of ½‖ŷ − y‖² for a 1-hidden-layer ReLU net, written out independently."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z = X @ W1.T + b1
    H = np.maximum(Z, 0)
    G = H @ W2.T + b2 - Y
    if reduction == "mean":
        G = G / len(X)
    D = (G @ W2) * (Z > 0)
    grads = {"W1": D.T @ X, "b1": D.sum(0), "W2": G.T @ H, "b2": G.sum(0)}
    grads["W1"] = grads["W1"] + weight_decay * W1
    grads["W2"] = grads["W2"] + weight_decay * W2
    return grads


def make_problem(n=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    Y = rng.normal(size=(n, 2))
    return X, Y


def trained(X, Y, epochs=3, seed=0, **options):
    cfg = Config(hidden=(4,), epochs=epochs, patience=0, shuffle=False, seed=seed,
                 **options).validated()
    rng = np.random.default_rng(seed)
    model = MLP.initialized([X.shape[1], 4, Y.shape[1]], rng=rng)
    start = model.params()
    trainer = Trainer(model, X, Y, cfg=cfg, rng=rng)
    result = trainer.run()
    return start, model, result, trainer


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_no_shuffle_minibatch_steps_equal_steps_by_hand(reduction):
    X, Y = make_problem(10)
    start, model, result, _ = trained(X, Y, epochs=3, batch_size=4, lr=0.01,
                                      reduction=reduction)
    p = {k: v.copy() for k, v in start.items()}
    for _epoch in range(3):
        for s in range(0, 10, 4):  # batches of 4, 4, 2 in file order
            g = relu_net_grads(p, X[s : s + 4], Y[s : s + 4], reduction)
            p = {k: p[k] - 0.01 * g[k] for k in p}
    for k, v in model.params().items():
        np.testing.assert_allclose(v, p[k], rtol=1e-12, atol=1e-14)
    assert result.epochs_run == 3


@pytest.mark.parametrize("mu,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_momentum_and_weight_decay_follow_pytorch_conventions(mu, nesterov):
    X, Y = make_problem(8)
    lr, lam = 0.01, 0.05
    start, model, _, _ = trained(X, Y, epochs=2, batch_size=4, lr=lr, momentum=mu,
                                 nesterov=nesterov, weight_decay=lam)
    p = {k: v.copy() for k, v in start.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    for _epoch in range(2):
        for s in range(0, 8, 4):
            g = relu_net_grads(p, X[s : s + 4], Y[s : s + 4], weight_decay=lam)
            v = {k: mu * v[k] + g[k] for k in p}  # v ← μv + g
            step = {k: g[k] + mu * v[k] for k in p} if nesterov else v
            p = {k: p[k] - lr * step[k] for k in p}
    for k, value in model.params().items():
        np.testing.assert_allclose(value, p[k], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("batch_gather", [False, True])
def test_shuffled_epochs_train_on_the_permuted_rows(monkeypatch, batch_gather):
    """Each epoch's minibatches are the rows of rng.permutation(n): gathered a whole epoch at a
    time in small chunks, or (wide rows) a minibatch at a time."""
    import mlpcli.core.batches

    monkeypatch.setattr(mlpcli.core.batches, "GATHER_BYTES", 3 * 3 * 8)  # 3 rows a chunk: 4 chunks
    monkeypatch.setattr(mlpcli.core.batches, "BATCH_GATHER_BYTES", 1 if batch_gather else 1 << 16)
    X, Y = make_problem(10)
    cfg = Config(hidden=(4,), epochs=2, batch_size=4, patience=0, lr=0.01).validated()
    model = MLP.initialized([3, 4, 2], rng=np.random.default_rng(1))
    p = model.params()
    trainer = Trainer(model, X, Y, cfg=cfg, rng=np.random.default_rng(7))
    assert trainer.plan.batch_gather == batch_gather
    trainer.run()
    order = np.random.default_rng(7)
    for _epoch in range(2):
        perm = order.permutation(10)
        for s in range(0, 10, 4):
            rows = perm[s : s + 4]
            g = relu_net_grads(p, X[rows], Y[rows])
            p = {k: p[k] - 0.01 * g[k] for k in p}
    for k, value in model.params().items():
        np.testing.assert_allclose(value, p[k], rtol=1e-12, atol=1e-14)


def test_schedules():
    assert learning_rate(1, 0.1, "step", step_size=10, gamma=0.5) == 0.1
    assert learning_rate(11, 0.1, "step", step_size=10, gamma=0.5) == pytest.approx(0.05)
    assert learning_rate(21, 0.1, "step", step_size=10, gamma=0.5) == pytest.approx(0.025)
    assert learning_rate(1, 0.1, "cosine", epochs=10, lr_min=0.0) == pytest.approx(0.1)
    assert learning_rate(6, 0.1, "cosine", epochs=10, lr_min=0.0) == pytest.approx(0.05)
    X, Y = make_problem(8)
    _, _, result, _ = trained(X, Y, epochs=4, lr=0.01, schedule="step", step_size=2, gamma=0.1)
    assert [r.lr for r in result.history] == pytest.approx([0.01, 0.01, 0.001, 0.001])


def test_early_stopping_restores_the_best_weights():
    X, Y = make_problem(30, seed=1)
    X_val, Y_val = make_problem(10, seed=2)  # unrelated targets: validation loss soon rises
    cfg = Config(hidden=(4,), epochs=500, patience=5, lr=0.02, batch_size=30,
                 shuffle=False).validated()
    rng = np.random.default_rng(0)
    model = MLP.initialized([3, 4, 2], rng=rng)
    snapshots = {}

    class Keep:
        def on_epoch_end(self, record, trainer):
            snapshots[record.epoch] = trainer.model.theta.copy()

    result = Trainer(model, X, Y, X_val, Y_val, cfg=cfg, rng=rng, callbacks=[Keep()]).run()
    assert result.stopped_early and result.epochs_run < 500
    assert result.epochs_run - result.best_epoch == 5
    val = [r.val_loss for r in result.history]
    assert result.best_epoch == int(np.argmin(val)) + 1
    np.testing.assert_array_equal(model.theta, snapshots[result.best_epoch])


def test_divergence_stops_with_status_and_last_finite_weights():
    X, Y = make_problem(10)
    start, model, result, _ = trained(X, Y, epochs=200, lr=50.0, batch_size=10)
    assert result.status == "diverged"
    assert "smaller --lr" in result.message and f"epoch {result.epochs_run + 1}" in result.message
    assert np.isfinite(model.theta).all()
    assert all(math.isfinite(r.train_loss) for r in result.history)


def test_same_seed_same_weights_different_seed_different():
    X, Y = make_problem(40)

    def run(seed):
        cfg = Config(hidden=(5,), epochs=5, batch_size=8, patience=0, seed=seed).validated()
        rng = np.random.default_rng(seed)
        model = MLP.initialized([3, 5, 2], rng=rng)
        Trainer(model, X, Y, cfg=cfg, rng=rng).run()
        return model.theta.copy()

    np.testing.assert_array_equal(run(7), run(7))
    assert not np.array_equal(run(7), run(8))


@pytest.mark.parametrize("batch_gather", [False, True])
def test_stop_mid_epoch_rolls_back_to_the_last_completed_epoch(monkeypatch, batch_gather):
    import mlpcli.core.batches

    monkeypatch.setattr(mlpcli.core.batches, "BATCH_GATHER_BYTES", 1 if batch_gather else 1 << 16)
    X, Y = make_problem(12)
    cfg = Config(hidden=(4,), epochs=10, batch_size=3, patience=0, momentum=0.5).validated()
    rng = np.random.default_rng(0)
    model = MLP.initialized([3, 4, 2], rng=rng)
    seen = {}

    class StopInEpoch3:
        def on_epoch_end(self, record, trainer):
            seen[record.epoch] = (trainer.model.theta.copy(), trainer.rng.bit_generator.state)
            if record.epoch == 2:
                original = trainer.optimizer.step
                calls = []

                def step(lr):  # request a stop during the second minibatch of epoch 3
                    original(lr)
                    calls.append(1)
                    if len(calls) == 2:
                        trainer.request_stop()

                trainer.optimizer.step = step

    trainer = Trainer(model, X, Y, cfg=cfg, rng=rng, callbacks=[StopInEpoch3()])
    assert trainer.plan.batch_gather == batch_gather
    result = trainer.run()
    assert result.status == "interrupted" and result.epochs_run == 2
    np.testing.assert_array_equal(model.theta, seen[2][0])
    assert trainer.rng.bit_generator.state == seen[2][1]


def test_classification_accuracy_is_logged():
    X = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]]) * 2 - 1
    Y = np.array([[0.0], [1], [1], [0]])
    cfg = Config(hidden=(16,), epochs=3000, lr=0.005, patience=0).validated()
    rng = np.random.default_rng(0)
    model = MLP.initialized([2, 16, 1], rng=rng)
    result = Trainer(model, X, Y, cfg=cfg, rng=rng, classification=True).run()
    assert result.history[-1].train_acc == 1.0
    assert result.history[-1].val_acc is None
    assert np.abs(model.forward(X) - Y).max() < 0.1
