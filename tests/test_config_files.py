"""--config and --resume: values checked strictly against Config's field types, special files
refused, run directories accepted (issue 19, item 11 and the config part of item 10).

Before this, `"dropna": "false"` turned dropna ON, `"patience": 2.5` and `"seed": [1, 2]` were
accepted, `{"lr": "0.1"}` ended in "unexpected TypeError" (exit 1), a run directory given to
--config was read as a file, and `--config /dev/zero` read without limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import run_dirs

from mlpcli.config import MAX_CONFIG_BYTES, Config
from mlpcli.errors import ConfigError

# (JSON text of the config, the key the error must name, words of the expected type)
BAD = [
    ('{"lr": "0.1"}', "lr", "finite number"),
    ('{"momentum": null}', "momentum", "finite number"),  # (lr null: the optimizer's default)
    ('{"lr": true}', "lr", "finite number or null"),
    ('{"lr": Infinity}', "lr", "finite number"),
    ('{"lr": NaN}', "lr", "finite number"),
    ('{"lr": [0.1]}', "lr", "finite number"),
    ('{"lr": 1e999}', "lr", "finite number"),
    ('{"momentum": -Infinity}', "momentum", "finite number"),
    ('{"weight_decay": {}}', "weight_decay", "finite number"),
    ('{"epochs": Infinity}', "epochs", "whole number"),
    ('{"epochs": 2.5}', "epochs", "whole number"),
    ('{"epochs": "100"}', "epochs", "whole number"),
    ('{"epochs": 100.0}', "epochs", "whole number"),
    ('{"epochs": null}', "epochs", "whole number"),
    ('{"epochs": false}', "epochs", "whole number"),
    ('{"patience": 2.5}', "patience", "whole number"),
    ('{"seed": [1, 2]}', "seed", "whole number"),
    ('{"seed": "abc"}', "seed", "whole number"),
    ('{"seed": 1e3}', "seed", "whole number"),
    ('{"batch_size": true}', "batch_size", "whole number"),
    ('{"step_size": "10"}', "step_size", "whole number"),
    ('{"dropna": "false"}', "dropna", "JSON boolean"),
    ('{"dropna": 0}', "dropna", "JSON boolean"),
    ('{"standardize": "no"}', "standardize", "JSON boolean"),
    ('{"standardize": null}', "standardize", "JSON boolean"),
    ('{"shuffle": 1}', "shuffle", "JSON boolean"),
    ('{"nesterov": "true"}', "nesterov", "JSON boolean"),
    ('{"hidden": "32"}', "hidden", "list of whole numbers"),
    ('{"hidden": [32, "16"]}', "hidden", "list of whole numbers"),
    ('{"hidden": [32.5]}', "hidden", "list of whole numbers"),
    ('{"hidden": [[32]]}', "hidden", "list of whole numbers"),
    ('{"hidden": [true]}', "hidden", "list of whole numbers"),
    ('{"hidden": null}', "hidden", "list of whole numbers"),
    ('{"target": 3}', "target", "list of column names"),
    ('{"features": ["a", 1]}', "features", "list of column names"),
    ('{"drop_columns": null}', "drop_columns", "list of column names"),
    ('{"loss": 1}', "loss", "string"),
    ('{"activation": null}', "activation", "string"),
    ('{"data": ["xor"]}', "data", "string"),
    ('{"runs_dir": null}', "runs_dir", "string"),
    ('{"val_frac": "0.2"}', "val_frac", "finite number or null"),
    ('{"init": 5}', "init", "string or null"),
    ('{"name": ["a"]}', "name", "string or null"),
    ('{"checkpoint_every": Infinity}', "checkpoint_every", "finite number"),
]


@pytest.mark.parametrize(("text", "key", "expected"), BAD, ids=[t for t, _, _ in BAD])
def test_a_value_of_the_wrong_type_is_a_one_line_error_naming_key_and_type(
        cli, runs_dir, tmp_path, text, key, expected):
    path = tmp_path / "c.json"
    path.write_text(text)
    data = [] if key == "data" else ["xor"]  # DATA on the command line would override it
    r = cli("train", *data, "--config", path, "-q")
    assert r.code == 2, r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert f"'{key}'" in r.err and expected in r.err and str(path) in r.err, r.err
    assert not run_dirs(runs_dir)


@pytest.mark.parametrize(("text", "words"), [
    ('{"optimiser": "adam"}', "unknown option(s) optimiser"),
    ('{"options": null}', "expected a JSON object"),
    ('{"options": [1]}', "expected a JSON object"),
    ("[1, 2]", "expected a JSON object"),
    ('"lr"', "expected a JSON object"),
    ("{", "not valid JSON"),
    ("", "not valid JSON"),
    ("\xff\xfe", "not valid JSON"),
    ('{"lr": 0}', "--lr must be > 0"),
    ('{"seed": -1}', "--seed must be a whole number from 0"),
    ('{"seed": 9223372036854775808}', "--seed"),
    ('{"batch_size": 99999999999999999999}', "--batch-size"),
    ('{"hidden": [0]}', "--hidden"),
    ('{"hidden": []}', "--hidden"),
    ('{"runs_dir": ""}', "--runs-dir must not be empty"),
    ('{"target": [""]}', "--target"),
])
def test_other_bad_config_files_are_one_line_errors(cli, runs_dir, tmp_path, text, words):
    path = tmp_path / "c.json"
    path.write_bytes(text.encode("latin-1"))
    r = cli("train", "xor", "--config", path, "-q")
    assert r.code == 2, r.err
    assert len(r.err.strip().splitlines()) == 1 and words in r.err, r.err
    assert not run_dirs(runs_dir)


def test_booleans_in_a_config_file_mean_what_they_say(cli, runs_dir, tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"dropna": False, "standardize": False, "shuffle": False,
                                "epochs": 3, "hidden": 4}))
    assert cli("train", "xor", "--config", path, "-q").code == 0
    (run,) = run_dirs(runs_dir)
    options = json.loads((run / "config.json").read_text())["options"]
    assert options["dropna"] is False and options["standardize"] is False
    assert options["shuffle"] is False
    assert options["hidden"] == [4]  # a single width is one layer, as --hidden 4


def test_one_value_stands_for_a_one_element_list_as_on_the_command_line():
    cfg = Config.from_dict({"hidden": 32, "target": "a,b", "features": ["x"]}, source="t")
    assert cfg.hidden == (32,) and cfg.target == ("a", "b") and cfg.features == ("x",)
    assert Config.from_dict({"lr": 1}, source="t").lr == 1.0  # a whole number is a number
    assert isinstance(Config.from_dict({"lr": 1}, source="t").lr, float)


def test_config_takes_a_run_directory_and_a_run_id(cli, runs_dir, tmp_path):
    assert cli("train", "xor", "--epochs", "7", "--hidden", "5", "-q").code == 0
    (first,) = run_dirs(runs_dir)
    for spec in (first, first.name):  # runs/<id> (a directory) and the id itself
        r = cli("train", "--config", spec, "--seed", "3", "-q")
        assert r.code == 0, r.err
    for run in run_dirs(runs_dir)[1:]:
        options = json.loads((run / "config.json").read_text())["options"]
        assert options["hidden"] == [5] and options["epochs"] == 7 and options["seed"] == 3


def test_resume_with_config_is_an_error(cli, runs_dir, tmp_path):
    assert cli("train", "xor", "--epochs", "5", "-q").code == 0
    path = tmp_path / "c.json"
    path.write_text('{"lr": 0.01}')
    before = sorted(p.name for p in run_dirs(runs_dir)[0].iterdir())
    r = cli("train", "--resume", "latest", "--config", path, "--epochs", "9")
    assert r.code == 2 and "--resume" in r.err and "--config" in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1
    assert sorted(p.name for p in run_dirs(runs_dir)[0].iterdir()) == before


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_config_from_a_device_is_refused_without_reading_it(cli, runs_dir, device):
    if not os.path.exists(device):
        pytest.skip(f"{device} does not exist here")
    r = cli("train", "xor", "--config", device)
    assert r.code == 2 and "not a regular file" in r.err and device in r.err, r.err


def test_config_from_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "c.json"
    os.mkfifo(fifo)
    r = subprocess.run([sys.executable, "-m", "mlpcli", "train", "xor", "--config", str(fifo)],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "not a regular file" in r.stderr, r.stderr


def test_config_larger_than_a_config_can_be_is_refused(cli, runs_dir, tmp_path):
    path = tmp_path / "big.json"
    path.write_text('{"lr": 0.1' + " " * MAX_CONFIG_BYTES + "}")
    r = cli("train", "xor", "--config", path)
    assert r.code == 2 and "too large" in r.err, r.err


def test_from_dict_names_the_source_and_key():
    with pytest.raises(ConfigError, match=r"^f\.json: 'patience' must be a whole number; got "
                                          r"2\.5$"):
        Config.from_dict({"patience": 2.5}, source="f.json")
