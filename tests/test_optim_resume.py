"""An interrupted and resumed run ends bit for bit where an uninterrupted one does, for every
per-step optimizer: their moments and step counts travel in Trainer.state() and the checkpoint."""

from types import SimpleNamespace

import numpy as np
import pytest

from mlpcli.config import Config
from mlpcli.core.kernels import MLP
from mlpcli.core.train import Trainer
from mlpcli.runs.store import RunWriter, load_checkpoint

OPTIONS = {
    "adam": dict(optimizer="adam", weight_decay=0.01),
    "adamw": dict(optimizer="adamw"),
    "rmsprop": dict(optimizer="rmsprop", momentum=0.5, centered=True),
    "adagrad": dict(optimizer="adagrad", lr_decay=0.01),
    "plateau-warmup-clip": dict(optimizer="adam", schedule="plateau", plateau_patience=1,
                                warmup=2, clip_norm=0.5),
}


def make_trainer(epochs, options):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((30, 3))
    Y = np.eye(3)[rng.integers(0, 3, 30)]
    model = MLP.initialized([3, 6, 3], "relu", None, rng)
    cfg = Config(hidden=(6,), epochs=epochs, batch_size=8, patience=0, loss="ce", lr=0.01,
                 **options).validated()
    # the validation rows make plateau monitor a loss that stops improving
    return Trainer(model, X[:20], Y[:20], X[20:], Y[20:], cfg=cfg, rng=rng,
                   classification=True)


def through_checkpoint(trainer, tmp_path):
    """The trainer's state written and read back as `mlpcli train` does (checkpoint.npz)."""
    writer = SimpleNamespace(path=tmp_path)
    RunWriter.write_checkpoint(writer, trainer)
    return load_checkpoint(tmp_path / "checkpoint.npz")


@pytest.mark.parametrize("name", OPTIONS)
def test_resumed_run_ends_bit_identical(name, tmp_path):
    whole = make_trainer(12, OPTIONS[name])
    whole.run()

    first = make_trainer(5, OPTIONS[name])
    first.run()
    state = through_checkpoint(first, tmp_path)
    assert state["optimizer"] or name == "sgd"
    second = make_trainer(12, OPTIONS[name])
    second.load_state(state)
    second.run()

    assert np.array_equal(second.model.theta, whole.model.theta)
    for key, array in whole.optimizer.state.items():
        assert np.array_equal(second.optimizer.state[key], array), key
    assert [r.lr for r in second.history] == [r.lr for r in whole.history[5:]]


def test_plateau_schedule_state_is_resumed(tmp_path):
    """With patience 1 the learning rate drops during the run; a resumed run keeps the drop."""
    whole = make_trainer(12, OPTIONS["plateau-warmup-clip"])
    whole.run()
    lrs = [r.lr for r in whole.history]
    assert lrs[:2] == [0.005, 0.01] and min(lrs) < 0.01  # warm-up, then a reduction


def test_another_optimizers_state_is_refused(tmp_path):
    first = make_trainer(2, OPTIONS["adam"])
    first.run()
    state = through_checkpoint(first, tmp_path)
    with pytest.raises(ValueError, match="exp_avg"):
        make_trainer(4, OPTIONS["adagrad"]).load_state(state)
