"""Seeded training gives the same weights, bit for bit, as before the lecture/fast-path split.

tests/data/core_reference.npz holds the weights after four epochs of each case below, written by
`python tests/test_core_reference.py` on commit b35f5ce (the trainer before core/kernels.py and
the optimizer-owned fused SGD step existed). Re-write it only to add cases, on that commit.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from mlpcli.config import Config

REFERENCE = Path(__file__).parent / "data" / "core_reference.npz"

# name -> (rows, inputs, outputs, Config options). The cases cover plain SGD (ε folded into the
# loss scale) for both reductions, momentum, Nesterov, weight decay, every activation and loss,
# 1–3 hidden layers, float32, no shuffling, and both ways of gathering shuffled rows (by the
# epoch for narrow rows; by the minibatch for 128 rows × 65 columns ≥ 64 KiB in float64).
CASES = {
    "plain-sum": (50, 3, 2, dict(hidden=(5,), batch_size=8, lr=0.01)),
    "plain-mean-wd": (50, 3, 2, dict(hidden=(5, 4), batch_size=8, lr=0.1, reduction="mean",
                                     weight_decay=0.01)),
    "momentum-tanh-ce": (60, 4, 3, dict(hidden=(6,), batch_size=16, lr=0.05, momentum=0.9,
                                        activation="tanh", loss="ce", weight_decay=0.001)),
    "nesterov-sigmoid": (40, 3, 2, dict(hidden=(4, 3, 5), batch_size=7, lr=0.05, momentum=0.5,
                                        nesterov=True, activation="sigmoid")),
    "float32-cosine": (50, 3, 2, dict(hidden=(8,), batch_size=8, lr=0.05, dtype="float32",
                                      schedule="cosine")),
    "no-shuffle": (30, 3, 2, dict(hidden=(5,), batch_size=8, lr=0.01, shuffle=False)),
    "batch-gather": (300, 64, 3, dict(hidden=(16,), batch_size=128, lr=0.01, loss="ce",
                                      weight_decay=0.001)),
    "batch-gather-momentum": (300, 64, 2, dict(hidden=(16,), batch_size=128, lr=0.001,
                                               momentum=0.9, reduction="sum")),
}


def train_case(name: str) -> dict[str, np.ndarray]:
    try:
        from mlpcli.core.kernels import MLP
    except ImportError:  # commit b35f5ce, where the reference was written
        from mlpcli.core.model import MLP
    from mlpcli.core.train import Trainer

    n, d, k, options = CASES[name]
    rng = np.random.default_rng(7)
    X = rng.standard_normal((n, d))
    if options.get("loss") == "ce":
        Y = np.eye(k)[rng.integers(0, k, n)]
    else:
        Y = rng.standard_normal((n, k))
    cfg = Config(epochs=4, patience=0, seed=7, **options).validated()
    dtype = np.float32 if options.get("dtype") == "float32" else np.float64
    model = MLP.initialized([d, *cfg.hidden, k], cfg.activation, None, rng, dtype)
    Trainer(model, X, Y, cfg=cfg, rng=rng, classification=cfg.loss == "ce").run()
    return model.params()


@pytest.mark.parametrize("name", CASES)
def test_weights_after_training_equal_the_reference_bit_for_bit(name):
    reference = np.load(REFERENCE, allow_pickle=False)
    got = train_case(name)
    for key, value in got.items():
        expected = reference[f"{name}/{key}"]
        assert value.dtype == expected.dtype
        assert np.array_equal(value, expected), f"{name}: {key} differs"


if __name__ == "__main__":
    arrays = {f"{name}/{k}": v for name in CASES for k, v in train_case(name).items()}
    np.savez(REFERENCE, **arrays)
    print(f"{len(CASES)} cases, {len(arrays)} arrays -> {REFERENCE}", file=sys.stderr)
