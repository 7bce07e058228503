"""--optimizer lbfgs: SciPy's L-BFGS-B on the exact full-batch objective, one metrics row per
iteration, early stopping and stop requests; against MLPClassifier(solver="lbfgs")."""

import warnings

import numpy as np
import pytest

from mlpcli import experiment
from mlpcli.config import Config
from mlpcli.core.kernels import MLP
from mlpcli.core.train import Trainer
from mlpcli.errors import ConfigError


def iris_trainer(**options):
    cfg = Config(data="iris", optimizer="lbfgs", loss="ce", hidden=(8,), val_frac=0.0,
                 **{"epochs": 50, "patience": 0, **options})
    return experiment.prepare(cfg)


def test_each_iteration_is_one_row_and_the_loss_falls():
    trainer, _ = iris_trainer(epochs=30, gtol=1e-12, ftol=1e-15)
    result = trainer.run()
    assert result.status == "finished" and result.epochs_run == 30
    history = result.history
    assert [r.epoch for r in history] == list(range(1, 31))
    assert all(r.lr is None and r.grad_norm is None for r in history)
    losses = [r.train_loss for r in history]
    assert all(b <= a for a, b in zip(losses, losses[1:]))  # L-BFGS-B's line search: descent
    assert losses[-1] < 0.1 * losses[0]
    # the weights left in the model are the last recorded iteration's
    assert trainer.evaluate(trainer.plan.X, trainer.plan.Y)[0] == pytest.approx(losses[-1],
                                                                                rel=1e-12)


def test_minimizes_the_objective_with_weight_decay():
    """At convergence ∇(data + λ/2‖W‖²) vanishes: the decay is part of the objective."""
    trainer, data = iris_trainer(epochs=500, weight_decay=0.5, reduction="mean", gtol=1e-9,
                                  ftol=1e-15)
    trainer.run()
    model = trainer.model
    model.gradient(data.X_train, data.Y_train, "ce", "mean", 0.5)
    assert np.abs(model.grad).max() < 1e-6
    model.gradient(data.X_train, data.Y_train, "ce", "mean", 0.0)
    assert np.abs(model.grad).max() > 1e-3  # (without the decay term it would not vanish)


def test_stop_request_keeps_the_last_completed_iteration():
    trainer, _ = iris_trainer(epochs=50)
    seen = {}

    class StopAfter3:
        def on_epoch_end(self, record, t):
            if record.epoch == 3:
                seen["theta"] = t.model.theta.copy()
                t.request_stop()

    trainer.callbacks.append(StopAfter3())
    result = trainer.run()
    assert result.status == "interrupted" and result.epochs_run == 3
    assert np.array_equal(trainer.model.theta, seen["theta"])


def test_early_stopping_on_validation_loss_restores_the_best_iteration():
    cfg = Config(data="iris", optimizer="lbfgs", loss="ce", hidden=(16,), epochs=300,
                 patience=5, gtol=1e-12, ftol=1e-15)
    trainer, _ = experiment.prepare(cfg)
    result = trainer.run()
    assert result.stopped_early and result.epochs_run == result.best_epoch + 5
    best = min(r.val_loss for r in result.history)
    assert trainer.evaluate(trainer.X_val, trainer.Y_val)[0] == pytest.approx(best, rel=1e-12)


@pytest.mark.parametrize("options, flag", [(dict(schedule="cosine"), "--schedule"),
                                           (dict(warmup=3), "--warmup"),
                                           (dict(clip_norm=1.0), "--clip-norm"),
                                           (dict(momentum=0.9), "--momentum")])
def test_options_without_meaning_for_lbfgs_are_refused(options, flag):
    with pytest.raises(ConfigError, match=flag):
        Config(optimizer="lbfgs", **options).validated()


def test_not_worse_than_scikit_learn_from_the_same_start():
    """Same data, architecture (4-8-3 relu, softmax cross-entropy averaged over the rows, no
    penalty), initial weights and iteration count: mlpcli's final loss ≤ scikit-learn's × 1.05."""
    sklearn_mlp = pytest.importorskip("sklearn.neural_network")
    iterations = 40
    trainer, data = iris_trainer(epochs=iterations, reduction="mean", gtol=1e-4)
    labels = data.Y_train.argmax(axis=1)
    W0 = {k: v.copy() for k, v in trainer.model.params().items()}

    clf = sklearn_mlp.MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", alpha=0.0,
                                    max_iter=1, random_state=0, tol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the 1-iteration fit does not converge)
        clf.fit(data.X_train, labels)
        clf.coefs_ = [W0["W1"].T.copy(), W0["W2"].T.copy()]
        clf.intercepts_ = [W0["b1"].copy(), W0["b2"].copy()]
        clf.set_params(max_iter=iterations, warm_start=True)
        clf.fit(data.X_train, labels)
    sklearn_loss = clf.loss_

    result = trainer.run()
    ours = result.history[-1].train_loss
    assert result.epochs_run <= iterations
    assert ours <= sklearn_loss * 1.05, (ours, sklearn_loss)


def test_float32_and_class_weights_run():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2))
    labels = (X[:, 0] > 0.8).astype(int)
    Y = np.eye(2)[labels]
    model = MLP.initialized([2, 4, 2], "relu", None, rng, np.float32)
    cfg = Config(hidden=(4,), optimizer="lbfgs", loss="ce", epochs=10, patience=0,
                 dtype="float32").validated()
    weights = np.where(labels == 1, 3.0, 1.0)
    result = Trainer(model, X, Y, cfg=cfg, rng=rng, classification=True,
                     row_weights=weights).run()
    assert result.epochs_run >= 1 and np.isfinite(model.theta).all()
