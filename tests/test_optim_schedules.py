"""Plateau schedule, warm-up, gradient clipping and class weights."""

import math

import numpy as np
import pytest

from mlpcli.config import Config
from mlpcli.core.gradcheck import check_gradients
from mlpcli.core.kernels import MLP
from mlpcli.core.optim import LearningRate, Plateau
from mlpcli.core.train import Trainer
from mlpcli.core.weights import class_weights, row_weights
from mlpcli.errors import ConfigError

# --- plateau (PyTorch's ReduceLROnPlateau, mode min, threshold_mode rel) ----------------------


def lr_sequence(plateau, losses):
    """The learning rate of each epoch: epoch e uses the rate set after epoch e−1's loss."""
    out = []
    for loss in losses:
        out.append(plateau.lr)
        plateau.step(loss)
    return out


def test_plateau_reduces_after_patience_epochs_without_improvement():
    p = Plateau(1.0, factor=0.5, patience=2, threshold=0.1)
    losses = [10, 9.5, 9.2, 9.1, 8.0, 8.0, 8.0, 7.1, 7.0, 7.0]
    # 10 best; 9.5 ≥ 10·0.9: bad 1; 9.2: bad 2; 9.1: bad 3 > 2 → 0.5; 8.0 < 9: best (bad 0);
    # 8.0, 8.0: bad 1, 2; 7.1 < 7.2: best; 7.0, 7.0 ≥ 6.39: bad 1, 2
    assert lr_sequence(p, losses) == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert p.lr == 0.5
    p.step(7.0)  # bad 3 → 0.25
    assert p.lr == 0.25


def test_plateau_cooldown_and_min_lr():
    p = Plateau(1.0, factor=0.1, patience=0, threshold=1e-4, cooldown=2, lr_min=0.005)
    losses = [5, 5, 5, 5, 5, 5, 5, 5, 5]
    # 5 best; 5: bad 1 > 0 → 0.1, cooldown 2; 5: cooldown 1, bad 0; 5: cooldown 0, bad 0;
    # 5: bad 1 → 0.01, cooldown 2; two cooldown epochs; 5: bad 1 → max(0.001, 0.005) = 0.005
    expected = [1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.005]
    assert lr_sequence(p, losses) == pytest.approx(expected, rel=1e-15)
    p.step(5), p.step(5), p.step(5), p.step(5)  # at lr_min: stays
    assert p.lr == 0.005


def test_plateau_skips_reductions_smaller_than_pytorch_eps():
    p = Plateau(2e-8, factor=0.1, patience=0)
    p.step(1.0)
    p.step(1.0)  # 2e-8 − 2e-9 = 1.8e-8 > 1e-8: reduced
    assert p.lr == pytest.approx(2e-9)
    p.step(1.0)  # 2e-9 − 2e-10 < 1e-8: kept
    assert p.lr == pytest.approx(2e-9)


def test_warmup_ramps_linearly_then_follows_the_schedule():
    cfg = Config(lr=0.1, warmup=4, schedule="step", step_size=5, gamma=0.5, epochs=20)
    rate = LearningRate(cfg)
    got = [rate.at(e) for e in range(1, 12)]
    expected = [0.025, 0.05, 0.075, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.025]
    np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_trainer_records_the_plateau_learning_rate_per_epoch():
    """Patience 0 and a threshold no epoch can beat (a loss halving): the rate falls by the
    factor after every epoch but the first (which sets the best)."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((8, 2)), rng.standard_normal((8, 1))
    model = MLP.initialized([2, 3, 1], "relu", None, rng)
    cfg = Config(hidden=(3,), epochs=4, patience=0, lr=1e-6, schedule="plateau",
                 plateau_patience=0, factor=0.5, threshold=0.5).validated()
    result = Trainer(model, X, Y, cfg=cfg, rng=rng).run()
    assert [r.lr for r in result.history] == [1e-6, 1e-6, 5e-7, 2.5e-7]


# --- clipping ---------------------------------------------------------------------------------


def clip_trainer(clip_norm, optimizer="sgd", momentum=0.0):
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2)) * 10
    model = MLP.initialized([3, 4, 2], "tanh", None, rng)
    cfg = Config(hidden=(4,), epochs=1, batch_size=16, patience=0, lr=0.01, clip_norm=clip_norm,
                 optimizer=optimizer, momentum=momentum).validated()
    return Trainer(model, X, Y, cfg=cfg, rng=rng), X, Y


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_clipped_gradient_has_norm_c_and_the_same_direction(momentum):
    trainer, X, Y = clip_trainer(0.5, momentum=momentum)
    trainer.model.gradient(X, Y)
    g = trainer.model.grad.copy()
    norm = np.linalg.norm(g)
    assert norm > 0.5  # large targets: clipping is active
    theta0 = trainer.model.theta.copy()
    seen = {}
    original = trainer.optimizer.updates

    def spy(lr):  # look at `grad` as the update receives it
        scale, update = original(lr)

        def wrapped():
            seen["grad"] = trainer.model.grad / scale
            update()
        return scale, wrapped

    trainer.optimizer.updates = spy
    record = trainer.run().history[0]
    clipped = seen["grad"]
    assert np.linalg.norm(clipped) == pytest.approx(0.5 * norm / (norm + 1e-6), rel=1e-12)
    np.testing.assert_allclose(clipped, g * (0.5 / (norm + 1e-6)), rtol=1e-12, atol=1e-15)
    assert record.grad_norm == pytest.approx(norm, rel=1e-12)  # the norm before clipping
    np.testing.assert_allclose(trainer.model.theta, theta0 - 0.01 * clipped, rtol=1e-12)


@pytest.mark.parametrize("clip_norm", [1e6, math.inf])
def test_no_clipping_below_c_and_grad_norm_recorded_for_adam(clip_norm):
    trainer, X, Y = clip_trainer(clip_norm, optimizer="adam")
    trainer.model.gradient(X, Y)
    norm = np.linalg.norm(trainer.model.grad)
    record = trainer.run().history[0]
    assert record.grad_norm == pytest.approx(norm, rel=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_without_clip_norm_grad_norm_is_left_empty(optimizer):
    trainer, _, _ = clip_trainer(None, optimizer)
    assert trainer.run().history[0].grad_norm is None


def test_clip_norm_must_be_positive():
    with pytest.raises(ConfigError, match="--clip-norm must be > 0"):
        Config(clip_norm=0.0).validated()


# --- class weights ------------------------------------------------------------------------------


def test_balanced_class_weights_are_n_over_k_times_count():
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 0])  # 7, 2, 1
    np.testing.assert_allclose(class_weights("balanced", labels, ["a", "b", "c"]),
                               [10 / 21, 10 / 6, 10 / 3], rtol=1e-15)
    np.testing.assert_allclose(class_weights("c=3,a=0.5", labels, ["a", "b", "c"]),
                               [0.5, 1, 3])
    with pytest.raises(ConfigError, match="'d'.*classes: a, b, c"):
        class_weights("d=2", labels, ["a", "b", "c"])


@pytest.mark.parametrize("text", ["cat", "cat=0", "cat=-1", "=2", "cat=x", "cat=2,"])
def test_bad_class_weight_is_a_config_error(text):
    with pytest.raises(ConfigError, match="--class-weight"):
        Config(class_weight=text).validated()


def imbalanced_problem(loss):
    rng = np.random.default_rng(4)
    labels = np.array([0] * 9 + [1] * 3)  # 9 : 3, balanced weights 12/18 and 12/6
    X = rng.standard_normal((12, 2)) + labels[:, None]
    Y = np.eye(2)[labels] if loss == "ce" else labels[:, None].astype(float)
    model = MLP.initialized([2, 3, Y.shape[1]], "tanh", None, rng)
    return model, X, Y, labels


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_balanced_weighted_gradient_equals_the_hand_computation(loss):
    model, X, Y, labels = imbalanced_problem(loss)
    r = row_weights("balanced", labels, [0, 1], None)
    np.testing.assert_allclose(r, np.where(labels == 0, 12 / 18, 12 / 6))
    model.gradient(X, Y, loss, row_weights=r)
    weighted = model.grad.copy()
    # by hand: Σ_i r_i ∇f_i, each ∇f_i from its own one-row gradient
    expected = np.zeros_like(weighted)
    for i in range(len(X)):
        model.gradient(X[i : i + 1], Y[i : i + 1], loss)
        expected += r[i] * model.grad
    np.testing.assert_allclose(weighted, expected, rtol=1e-12, atol=1e-14)
    unweighted = model.gradient(X, Y, loss) and model.grad.copy()
    assert np.abs(unweighted - weighted).max() > 1e-3


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_gradcheck_passes_with_class_weights_and_fails_when_they_are_dropped(loss):
    model, X, Y, labels = imbalanced_problem(loss)
    r = row_weights("balanced", labels, [0, 1], None)
    assert check_gradients(model, X, Y, loss=loss, row_weights=r).passed
    assert check_gradients(model, X, Y, loss=loss, reduction="mean", weight_decay=0.1,
                           row_weights=r).passed

    def unweighted(m, X, Y, loss, reduction, weight_decay):
        m.gradient(X, Y, loss, reduction, weight_decay)
        return m.grad.copy()

    wrong = check_gradients(model, X, Y, loss=loss, row_weights=r, grad_fn=unweighted)
    assert not wrong.passed


def test_weighted_losses_are_weighted_means_and_balanced_accuracy_is_reported():
    model, X, Y, labels = imbalanced_problem("ce")
    r = row_weights("balanced", labels, [0, 1], None)
    cfg = Config(hidden=(3,), epochs=1, loss="ce", patience=0).validated()
    trainer = Trainer(model, X, Y, X, Y, cfg=cfg, rng=np.random.default_rng(0),
                      classification=True, row_weights=r, val_row_weights=r)
    loss, acc, bacc = trainer.evaluate(X, Y, r)
    P = np.exp(model.forward(X))
    P /= P.sum(axis=1, keepdims=True)
    per_row = -np.log(P[np.arange(12), labels])
    assert loss == pytest.approx(np.dot(r, per_row) / r.sum(), rel=1e-12)
    pred = P.argmax(axis=1)
    recalls = [np.mean(pred[labels == c] == c) for c in (0, 1)]
    assert acc == pytest.approx(np.mean(pred == labels))
    assert bacc == pytest.approx(np.mean(recalls))
    assert trainer.run().history[0].val_bacc is not None
    assert math.isfinite(trainer.history[0].train_loss)


def test_a_row_of_weight_two_trains_like_that_row_twice():
    """Sum reduction, one full batch: r = 2 on a row is the same objective as the row repeated."""
    rng = np.random.default_rng(6)
    X, Y = rng.standard_normal((5, 2)), rng.standard_normal((5, 1))
    r = np.array([1.0, 2.0, 1.0, 3.0, 1.0])
    Xd, Yd = np.repeat(X, r.astype(int), axis=0), np.repeat(Y, r.astype(int), axis=0)
    trained = []
    for X_, Y_, weights in ((X, Y, r), (Xd, Yd, None)):
        model = MLP.initialized([2, 4, 1], "tanh", None, np.random.default_rng(0))
        cfg = Config(hidden=(4,), epochs=10, batch_size=len(X_), patience=0, lr=0.01,
                     optimizer="adam").validated()
        result = Trainer(model, X_, Y_, cfg=cfg, rng=np.random.default_rng(0),
                         row_weights=weights).run()
        trained.append((model.theta.copy(), [h.train_loss for h in result.history]))
    np.testing.assert_allclose(trained[0][0], trained[1][0], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(trained[0][1], trained[1][1], rtol=1e-12)  # weighted means
