"""--threads: the auto rule, the limit applied to the loaded BLAS, the record in config.json."""

from __future__ import annotations

import contextlib
import json

import pytest
from conftest import run_dirs
from threadpoolctl import threadpool_info
from threadpoolctl import threadpool_limits as threadpoolctl_limit

from mlpcli.core import threads as th


def _blas_threads_now() -> int:
    return next(p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas")


def test_auto_uses_one_thread_for_small_layers_whatever_the_machine():
    assert th.auto_threads([64, 128, 10], cores=16) == 1
    assert th.auto_threads([784, 512, 10], cores=16) == 1  # 401 408 < 2**20
    assert th.layer_work([784, 512, 10]) == 784 * 512


def test_auto_uses_every_core_for_large_layers_however_busy_the_machine_is(monkeypatch):
    """The count depends on the network alone: a thread count changes a large product's
    rounding, so a load-dependent count would make a seeded run's bits depend on the load."""
    big = [1024, 1024, 10]
    assert th.layer_work(big) >= th.PARALLEL_WORK > th.layer_work([784, 512, 10])
    assert th.auto_threads(big, cores=8) == 8
    monkeypatch.setattr(th, "available_cores", lambda: 2)
    assert th.auto_threads(big) == 2
    assert not hasattr(th, "busy_cores")  # nothing in the rule looks at the load


@pytest.mark.skipif(not any(p.get("user_api") == "blas" for p in threadpool_info()),
                    reason="no BLAS visible to threadpoolctl")
def test_blas_threads_limits_the_loaded_blas_and_says_which():
    with th.blas_threads(1, [2, 3, 1]) as record:
        assert _blas_threads_now() == 1
        assert record == {"threads": 1, "auto": False, "blas": th.blas_name()}
    with th.blas_threads(th.AUTO, [2, 3, 1]) as record:
        assert record["auto"] and record["threads"] == 1 == _blas_threads_now()
    assert th.blas_name().split()[0] in ("openblas", "mkl", "blis", "accelerate", "flexiblas")


@pytest.mark.skipif(not any(p.get("user_api") == "blas" for p in threadpool_info()),
                    reason="no BLAS visible to threadpoolctl")
def test_auto_keeps_an_open_blocks_choice_and_never_raises_the_limit(monkeypatch):
    big = [1024, 1024, 10]
    with th.blas_threads(1, big) as outer, th.blas_threads(th.AUTO, big) as inner:
        assert inner is outer and _blas_threads_now() == 1
    # e.g. a sweep worker, one thread each
    with threadpoolctl_limit(1), th.blas_threads(th.AUTO, big) as record:
        assert record["threads"] == 1 == _blas_threads_now()


def test_the_trainer_applies_the_thread_count_and_keeps_it(monkeypatch):
    import numpy as np

    from mlpcli.config import Config
    from mlpcli.core.kernels import MLP
    from mlpcli.core.train import Trainer

    seen = []

    class Spy:
        def on_epoch_end(self, record, trainer):
            seen.append(_blas_threads_now())

    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))
    cfg = Config(hidden=(4,), epochs=2, patience=0, threads=th.AUTO)
    trainer = Trainer(MLP([3, 4, 1]), X, Y, cfg=cfg, rng=rng, callbacks=[Spy()])
    trainer.run()
    assert seen == [1, 1] and trainer.threads == 1  # small layers: auto is one thread
    trainer.threads = 2  # a trainer run on keeps the count it holds
    trainer.cfg = cfg.replace(epochs=3)
    trainer.run()
    assert seen[-1] == 2 and trainer.threads == 2


def test_train_records_threads_and_blas_in_config_json(cli, runs_dir):
    assert cli("train", "xor", "--epochs", 3, "-q").code == 0
    assert cli("train", "xor", "--epochs", 3, "--threads", 2, "-q").code == 0
    auto, two = (json.loads((p / "config.json").read_text()) for p in run_dirs(runs_dir))
    assert auto["threads"] == {"threads": 1, "auto": True, "blas": th.blas_name()}
    assert auto["options"]["threads"] == 0
    assert two["threads"]["threads"] == 2 and not two["threads"]["auto"]
    assert two["options"]["threads"] == 2
    # resuming may use other threads: they change the speed, not the run
    first = run_dirs(runs_dir)[0].name
    resumed = cli("train", "--resume", first, "--epochs", 6, "--threads", 1, "-q")
    assert resumed.code == 0, resumed.err


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_bad_thread_counts_are_usage_errors(cli, value):
    result = cli("train", "xor", "--threads", value)
    assert result.code == 2 and "--threads" in result.err and "auto" in result.err


def test_gradcheck_and_evaluate_apply_threads(cli, runs_dir, monkeypatch):
    seen = []
    real = th.blas_threads

    @contextlib.contextmanager
    def spy(requested, sizes):
        seen.append((requested, list(sizes)))
        with real(requested, sizes) as record:
            yield record

    monkeypatch.setattr(th, "blas_threads", spy)
    import mlpcli.runs.inference as inference

    monkeypatch.setattr(inference, "blas_threads", spy)
    assert cli("gradcheck", "--hidden", 4, "--threads", 2).code == 0
    cli("train", "xor", "--epochs", 3, "-q")
    assert cli("evaluate", "latest", "xor", "--threads", 1).code == 0
    assert (2, [3, 4, 2]) in seen and (1, [2, 32, 1]) in seen
