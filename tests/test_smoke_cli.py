from conftest import run_dirs


def test_train_xor_writes_a_complete_run(cli, runs_dir):
    r = cli("train", "xor", "--quiet")
    assert r.code == 0, r.err
    (run,) = run_dirs(runs_dir)
    for name in ("config.json", "model.json", "weights.npz", "metrics.csv", "predictions.csv",
                 "loss.png", "summary.json"):
        assert (run / name).is_file(), name
