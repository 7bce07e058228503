"""Datasets and CSV input through the command line (issue 6).

Bad input ends with exit code 2, one "Error: " line on stderr naming what is wrong and where, no
traceback and no run directory. Readable input trains: bundled names from any directory,
generated sets, categorical features through predict, BOM / semicolon / tab / CRLF files.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from conftest import run_dirs

from mlpcli.data import describe_bundled, generate
from mlpcli.errors import ConfigError, DataError

# --- bad input -----------------------------------------------------------------------------------

XOR_TEXT = "x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"


def _npz(**arrays):
    """A writer of an .npz file holding `arrays` (np.savez: object arrays are pickled)."""
    return lambda path: np.savez(path, **arrays)


def _garbage(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04\x00\x00" + bytes(range(256)) * 8)


HIDDEN_4 = {"W1": np.zeros((4, 2)), "b1": np.zeros(4), "W2": np.zeros((1, 4)), "b2": np.zeros(1)}

# id, files to create (name -> text, or a callable writing the path), arguments, key words
BAD_INPUT = [
    ("missing-file", {}, ["train", "nope.csv"], ["nope.csv", "no such file"]),
    ("directory", {"adir/x.txt": "x"}, ["train", "adir"], ["adir", "is a directory"]),
    ("empty-file", {"empty.csv": ""}, ["train", "empty.csv"], ["empty.csv", "is empty"]),
    ("header-no-rows", {"head.csv": "a,b,y\n"}, ["train", "head.csv"],
     ["head.csv", "header but no rows"]),
    ("single-column", {"one.csv": "y\n1\n2\n3\n"}, ["train", "one.csv"],
     ["one.csv", "only one column", "'y'", "--sep"]),
    ("ragged-row-more-fields", {"ragged.csv": "a,b,y\n1,2,0\n1,2,3,4\n3,4,1\n"},
     ["train", "ragged.csv"], ["ragged.csv", "line 3 has 4 fields, expected 3"]),
    ("ragged-row-after-a-quoted-line-break",
     {"multi.csv": 'a,note,y\n1,"two\nlines",0\n2,plain,1\n3,x,0\n4,"a,b",1,9\n'},
     ["train", "multi.csv"], ["multi.csv", "line 6 has 4 fields, expected 3"]),
    # pandas fills a short row with empty cells: reported as a missing value at that line
    ("ragged-row-fewer-fields", {"short.csv": "a,b,y\n1,2,0\n1,2\n3,4,1\n"},
     ["train", "short.csv"], ["short.csv", "missing value", "column 'y'", "line 3", "--dropna"]),
    ("binary-garbage", {"garbage.csv": _garbage}, ["train", "garbage.csv"],
     ["garbage.csv", "binary"]),
    ("mixed-numbers-and-text", {"mixed.csv": "a,b,y\n1,2,0\n2,x7,1\n3,4,0\n5,6,1\n"},
     ["train", "mixed.csv"], ["mixed.csv", "column 'b'", "line 3", "'x7'"]),
    ("infinite-value", {"inf.csv": "a,b,y\n1,2,0\n2,inf,1\n3,4,0\n"}, ["train", "inf.csv"],
     ["inf.csv", "infinite value", "column 'b'", "line 3"]),
    ("not-utf8", {"latin.csv": lambda p: p.write_bytes("a,b\ncaf\xe9,1\nth\xe9,2\n".encode(
        "latin-1"))}, ["train", "latin.csv"], ["latin.csv", "UTF-8", "--encoding"]),
    ("regression-on-text-target", {}, ["train", "iris", "--task", "regression"],
     ["iris.csv", "'species'", "not numeric", "--task classification"]),
    ("single-class", {"oneclass.csv": "a,b,y\n1,2,0\n3,4,0\n5,6,0\n"},
     ["train", "oneclass.csv"], ["oneclass.csv", "'y'", "single class"]),
    ("target-not-a-column", {}, ["train", "xor", "--target", "nope"],
     ["'nope'", "xor.csv", "columns: x1, x2, y", "--target"]),
    ("drop-columns-not-a-column", {}, ["train", "xor", "--drop-columns", "id"],
     ["'id'", "xor.csv", "columns: x1, x2, y", "--drop-columns"]),
    ("hidden-0", {}, ["train", "xor", "--hidden", "0"], ["--hidden", "'0'", "≥ 1"]),
    ("hidden-negative", {}, ["train", "xor", "--hidden", "-3"], ["--hidden", "'-3'", "≥ 1"]),
    ("hidden-not-a-number", {}, ["train", "xor", "--hidden", "abc"], ["--hidden", "'abc'"]),
    ("lr-0", {}, ["train", "xor", "--lr", "0"], ["--lr", "> 0"]),
    ("lr-negative", {}, ["train", "xor", "--lr", "-1"], ["--lr", "> 0", "-1"]),
    ("batch-size-0", {}, ["train", "xor", "--batch-size", "0"], ["--batch-size", "1"]),
    ("epochs-0", {}, ["train", "xor", "--epochs", "0"], ["--epochs", "1"]),
    ("val-frac-1", {}, ["train", "xor", "--val-frac", "1"], ["--val-frac", "[0, 1)"]),
    ("val-frac-negative", {}, ["train", "xor", "--val-frac", "-0.1"],
     ["--val-frac", "[0, 1)", "-0.1"]),
    ("val-split-leaves-no-train-rows", {"two.csv": "a,y\n1,0\n2,1\n"},
     ["train", "two.csv", "--val-frac", "0.9"], ["--val-frac 0.9", "no training rows", "2 rows"]),
    ("init-missing", {}, ["train", "xor", "--init", "nope.npz"],
     ["--init", "nope.npz", "does not exist"]),
    ("init-not-npz", {"text.npz": "W1,b1\n1,2\n"}, ["train", "xor", "--init", "text.npz"],
     ["--init", "text.npz"]),
    ("init-zip-garbage", {"zipjunk.npz": _garbage}, ["train", "xor", "--init", "zipjunk.npz"],
     ["--init", "zipjunk.npz", "not an .npz"]),
    ("init-object-array", {"obj.npz": _npz(W1=np.array([object()], dtype=object))},
     ["train", "xor", "--init", "obj.npz"], ["--init", "obj.npz", "object arrays"]),
    ("init-lacks-key", {"nokey.npz": _npz(**{k: v for k, v in HIDDEN_4.items() if k != "b2"})},
     ["train", "xor", "--hidden", "4", "--init", "nokey.npz"],
     ["--init", "nokey.npz", "missing array 'b2'"]),
    ("init-wrong-shape", {"shape.npz": _npz(**{**HIDDEN_4, "W1": np.zeros((3, 2))})},
     ["train", "xor", "--hidden", "4", "--init", "shape.npz"],
     ["--init", "shape.npz", "W1", "(3, 2)", "(4, 2)"]),
]


def make_files(root: Path, files: dict) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(path)
        else:
            path.write_text(content)


def assert_one_error_line(r, runs_dir: Path, code: int = 2) -> str:
    """The error line, after checking the exit code, the single stderr line and nothing left."""
    assert r.code == code, (r.code, r.out, r.err)
    assert "Traceback" not in r.out + r.err
    assert r.out == ""
    lines = r.err.splitlines()
    assert len(lines) == 1, r.err
    assert lines[0].startswith("Error: "), r.err
    assert run_dirs(runs_dir) == []
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
    return lines[0]


@pytest.mark.parametrize(("files", "args", "words"), [c[1:] for c in BAD_INPUT],
                         ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_one_line_exit_2_and_nothing_left(cli, tmp_path, runs_dir, files, args,
                                                        words):
    make_files(tmp_path, files)
    # --epochs 5 first: a case that wrongly trains stays fast (a later --epochs wins)
    r = cli(args[0], "--epochs", "5", *args[1:])
    line = assert_one_error_line(r, runs_dir)
    for word in words:
        assert word in line, (word, line)


def test_init_text_file_is_not_called_object_arrays(cli, tmp_path, runs_dir):
    (tmp_path / "text.npz").write_text("W1,b1\n1,2\n")
    line = assert_one_error_line(cli("train", "xor", "--init", "text.npz"), runs_dir)
    assert "object arrays" not in line
    assert "not" in line and ".npz" in line


def test_init_npy_file_is_named_as_such(cli, tmp_path, runs_dir):
    np.save(tmp_path / "w.npy", np.zeros(3))
    line = assert_one_error_line(cli("train", "xor", "--init", "w.npy"), runs_dir)
    assert "single .npy array" in line


def test_debug_shows_the_traceback(cli, tmp_path, runs_dir):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty.csv is empty"):
        cli("train", "empty.csv", "--debug")
    with pytest.raises(ConfigError, match="W1 has shape"):
        make_files(tmp_path, {"shape.npz": _npz(**{**HIDDEN_4, "W1": np.zeros((3, 2))})})
        cli("train", "xor", "--hidden", "4", "--init", "shape.npz", "--debug")
    assert run_dirs(runs_dir) == []
    # the same error without --debug is one line
    assert_one_error_line(cli("train", "empty.csv"), runs_dir)


def test_debug_usage_error_propagates(cli, runs_dir):
    with pytest.raises(typer.BadParameter, match="layer widths"):
        cli("train", "xor", "--hidden", "0", "--debug")
    assert run_dirs(runs_dir) == []


# --- generators ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["moons", "circles", "spirals", "sine", "xor"])
def test_datasets_make_round_trips_to_the_generator(cli, tmp_path, kind):
    r = cli("datasets", "make", kind, "--n", "50", "--seed", "3", "--out", "m.csv")
    assert r.code == 0, r.err
    assert r.out == ""
    assert "wrote 50 rows to m.csv" in r.err
    got = pd.read_csv(tmp_path / "m.csv")
    expected = generate.generate(kind, n=50, seed=3)
    assert list(got.columns) == list(expected.columns)
    assert got.columns[-1] == "y" and len(got) == 50
    # written with 6 significant digits (%.6g)
    np.testing.assert_allclose(got.to_numpy(float), expected.to_numpy(float), rtol=5e-6, atol=0)
    if kind != "sine":
        np.testing.assert_array_equal(got["y"], expected["y"])

    # without --out: the same CSV on stdout
    r2 = cli("datasets", "make", kind, "--n", "50", "--seed", "3")
    assert r2.code == 0, r2.err
    assert r2.out == (tmp_path / "m.csv").read_text()
    # another seed gives other data (noise-free xor: another shuffle of the corners)
    r3 = cli("datasets", "make", kind, "--n", "50", "--seed", "4")
    assert r3.code == 0 and r3.out != r2.out


def test_datasets_make_noise_changes_the_data(cli):
    a = cli("datasets", "make", "moons", "--n", "20", "--noise", "0").out
    b = cli("datasets", "make", "moons", "--n", "20", "--noise", "0.3").out
    assert a != b
    assert pd.read_csv(io.StringIO(a)).shape == (20, 3)


@pytest.mark.parametrize(("args", "word"), [(["--n", "0"], "--n"), (["--noise", "-1"], "--noise")])
def test_datasets_make_bad_options(cli, runs_dir, args, word):
    line = assert_one_error_line(cli("datasets", "make", "moons", *args), runs_dir)
    assert word in line


# --- bundled datasets ----------------------------------------------------------------------------

BUNDLED = {  # name: (rows, features, target, task), as datasets/README.md lists them
    "breast_cancer": (569, 30, "diagnosis", "classification"),
    "circles": (1000, 2, "y", "classification"),
    "digits": (1797, 64, "digit", "classification"),
    "iris": (150, 4, "species", "classification"),
    "moons": (1000, 2, "y", "classification"),
    "sine": (500, 1, "y", "regression"),
    "spirals": (900, 2, "y", "classification"),
    "wine": (178, 13, "cultivar", "classification"),
    "xor": (4, 2, "y", "classification"),
}


def test_describe_bundled():
    got = describe_bundled()
    assert [d["name"] for d in got] == sorted(BUNDLED)
    for d in got:
        assert (d["rows"], d["features"], d["target"], d["task"]) == BUNDLED[d["name"]], d


def test_datasets_list_shows_all_nine(cli):
    r = cli("datasets", "list")
    assert r.code == 0, r.err
    lines = {}
    for line in r.out.splitlines():
        cells = [c for c in line.replace("│", " ").replace("|", " ").split() if c]
        if cells and cells[0] in BUNDLED:
            lines[cells[0]] = cells
    assert sorted(lines) == sorted(BUNDLED)
    for name, (rows, features, target, task) in BUNDLED.items():
        assert lines[name][1:] == [str(rows), str(features), target, task]


def test_bundled_name_works_from_a_directory_without_datasets(cli, tmp_path, runs_dir):
    assert not (tmp_path / "datasets").exists() and not (tmp_path / "iris.csv").exists()
    r = cli("train", "iris", "--quiet", "--epochs", "5")
    assert r.code == 0, r.err
    (run,) = run_dirs(runs_dir)
    config = json.loads((run / "config.json").read_text())
    assert Path(config["dataset"]["path"]).name == "iris.csv"
    assert config["dataset"]["rows"] == 150
    r = cli("predict", "latest", "iris")
    assert r.code == 0, r.err
    assert len(pd.read_csv(io.StringIO(r.out))) == 150


# --- categorical features through train → predict ----------------------------------------------


def test_categorical_features_round_trip_through_predict(cli, tmp_path, runs_dir):
    rng = np.random.default_rng(0)
    colors = ["red", "green", "blue"] * 10
    size = rng.normal(size=30).round(3)
    label = ["yes" if c == "red" else "no" for c in colors]
    pd.DataFrame({"color": colors, "size": size, "label": label}).to_csv(
        tmp_path / "cat.csv", index=False)
    (tmp_path / "other.csv").write_text(
        "color,size\nred,0.1\npurple,0.2\nblue,0.3\npurple,1\nyellow,2\ngreen,0\n")

    r = cli("train", "cat.csv", "--quiet", "--epochs", "50")
    assert r.code == 0, r.err
    (run,) = run_dirs(runs_dir)
    info = json.loads((run / "model.json").read_text())
    assert info["preprocessing"]["categories"] == {"color": ["blue", "green", "red"]}
    assert info["inputs"] == ["color=blue", "color=green", "color=red", "size"]

    r = cli("predict", "latest", "other.csv")
    assert r.code == 0, r.err
    pred = pd.read_csv(io.StringIO(r.out))
    assert len(pred) == 6
    assert list(pred.columns) == ["row", "pred_label", "score_no", "score_yes"]  # no label column
    assert set(pred["pred_label"]) <= {"yes", "no"}
    np.testing.assert_allclose(pred[["score_no", "score_yes"]].sum(axis=1), 1.0)
    warnings = r.err.splitlines()
    assert len(warnings) == 1, r.err  # once, though two rows hold 'purple'
    assert warnings[0].startswith("Warning: ")
    assert "'color'" in warnings[0] and "'purple'" in warnings[0] and "'yellow'" in warnings[0]
    assert "'red'" not in warnings[0]

    # the training file through predict gives the run's own predictions (same encoding)
    r = cli("predict", "latest", "cat.csv")
    assert r.code == 0 and r.err == "", r.err
    again = pd.read_csv(io.StringIO(r.out))
    saved = pd.read_csv(run / "predictions.csv")
    assert list(again["pred_label"]) == list(saved["pred_label"])
    np.testing.assert_allclose(again["score_yes"], saved["score_yes"], rtol=1e-12)


# --- the same table, however it is written -------------------------------------------------------

ROWS = [
    ["x1", "x2", "color", "y"],
    *[[f"{0.37 * i - 5:.2f}", f"{(i * 7) % 11 / 3:.4f}", ["red", "green", "blue"][i % 3],
       str(i % 2)] for i in range(60)],
]


def _csv(delimiter: str = ",", newline: str = "\n", bom: str = "", quote: bool = False,
         tail: str = "") -> str:
    cell = (lambda v: f'"{v}"') if quote else str
    body = newline.join(delimiter.join(cell(v) for v in row) for row in ROWS)
    return bom + body + newline + tail


VARIANTS = {
    "bom": _csv(bom="\ufeff"),
    "semicolon": _csv(";"),
    "tab": _csv("\t"),
    "crlf": _csv(newline="\r\n"),
    "quoted": _csv(quote=True),
    "trailing-blank-lines": _csv(tail="\n\n\n"),
    "bom-semicolon-crlf": _csv(";", "\r\n", "\ufeff"),
}


def _train(cli, runs_dir: Path, data: str, name: str, *extra) -> Path:
    r = cli("train", data, "--quiet", "--epochs", "5", "--name", name, *extra)
    assert r.code == 0, r.err
    (run,) = [p for p in run_dirs(runs_dir) if p.name.endswith(name)]
    return run


def _weights(run: Path) -> dict:
    with np.load(run / "weights.npz", allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_variants_train_to_identical_weights(cli, tmp_path, runs_dir, variant):
    (tmp_path / "comma.csv").write_bytes(_csv().encode())
    (tmp_path / "variant.csv").write_bytes(VARIANTS[variant].encode())
    base = _train(cli, runs_dir, "comma.csv", "base")
    other = _train(cli, runs_dir, "variant.csv", "other")
    w0, w1 = _weights(base), _weights(other)
    assert sorted(w0) == sorted(w1) == ["W1", "W2", "b1", "b2"]
    for key in w0:
        assert np.array_equal(w0[key], w1[key]), key
    m0 = json.loads((base / "model.json").read_text())
    m1 = json.loads((other / "model.json").read_text())
    assert m1["preprocessing"] == m0["preprocessing"]  # same column names, categories, scaling
    assert m0["features"] == ["x1", "x2", "color"]
    c0 = json.loads((base / "config.json").read_text())["dataset"]
    c1 = json.loads((other / "config.json").read_text())["dataset"]
    assert (c1["rows"], c1["columns"], c1["train_rows"]) == (60, 4, 48)
    assert (c0["rows"], c0["columns"], c0["train_rows"]) == (60, 4, 48)


def test_explicit_sep_matches_the_sniffed_one(cli, tmp_path, runs_dir):
    (tmp_path / "t.csv").write_bytes(_csv("\t").encode())
    a = _weights(_train(cli, runs_dir, "t.csv", "sniffed"))
    b = _weights(_train(cli, runs_dir, "t.csv", "given", "--sep", "tab"))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    r = cli("train", "t.csv", "--sep", ",", "--epochs", "5")
    assert "only one column" in assert_one_error_line(r, runs_dir / "none")


# --- messy spreadsheet exports -------------------------------------------------------------------

MISSING = "a,b,c,y\n1,2,,0\n3,4,9,1\n5,,6,0\n7,8,1,1\n2,3,4,0\nNA,1,1,1\n"


def test_missing_values_stop_unless_dropna_which_reports_the_count(cli, tmp_path, runs_dir):
    (tmp_path / "m.csv").write_text(MISSING)
    line = assert_one_error_line(cli("train", "m.csv", "--epochs", "5"), runs_dir)
    assert "m.csv" in line and "column 'c'" in line and "line 2" in line and "--dropna" in line

    r = cli("train", "m.csv", "--epochs", "5", "--dropna")
    assert r.code == 0, r.err
    assert "--dropna dropped 3 of 6 rows" in r.out
    assert "3 train / 0 validation rows" in r.out
    (run,) = run_dirs(runs_dir)
    dataset = json.loads((run / "config.json").read_text())["dataset"]
    assert (dataset["dropped_rows"], dataset["train_rows"]) == (3, 3)


def test_no_dropna_note_when_nothing_is_dropped(cli, tmp_path):
    (tmp_path / "x.csv").write_text(XOR_TEXT)
    r = cli("train", "x.csv", "--epochs", "5", "--dropna")
    assert r.code == 0, r.err
    assert "dropped" not in r.out


def test_id_column_dropped_or_features_chosen(cli, tmp_path, runs_dir):
    (tmp_path / "ids.csv").write_text(
        "id,name,a,b,y\n" + "".join(f'{100 + i},"Smith, {i}",{i % 3},{i % 5},{i % 2}\n'
                                    for i in range(12)))
    run = _train(cli, runs_dir, "ids.csv", "dropped", "--drop-columns", "id,name")
    assert json.loads((run / "model.json").read_text())["features"] == ["a", "b"]
    run = _train(cli, runs_dir, "ids.csv", "chosen", "--features", "b")
    assert json.loads((run / "model.json").read_text())["features"] == ["b"]
    run = _train(cli, runs_dir, "ids.csv", "everything")  # the quoted names are one-hot encoded
    info = json.loads((run / "model.json").read_text())
    assert info["features"] == ["id", "name", "a", "b"]
    assert "name=Smith, 3" in info["inputs"]


def test_decimal_comma_file_trains_and_predicts_on_numbers(cli, tmp_path):
    (tmp_path / "dc.csv").write_text("a;b;y\n1,5;2,25;0\n3,5;4,0;1\n5,25;1,5;0\n2,0;3,75;1\n")
    r = cli("train", "dc.csv", "--epochs", "5", "--val-frac", "0")
    assert r.code == 0, r.err
    assert "read decimal commas as decimal points (1,5 = 1.5) in columns 'a', 'b'" in r.out
    assert "layers 2-32-1" in r.out  # two numeric inputs, not one-hot categories
    r = cli("predict", "latest", "dc.csv")
    assert r.code == 0, r.err
    assert len(r.out.strip().splitlines()) == 5


# --- pipes, compressed and special files, numbers at the edges (issue 19) -----------------------
# Each failed on b35f5ce: stdin lost its first 64 KiB and was hashed empty, .gz was "binary",
# /dev/zero was sniffed, rot13 and CR-only files were "unexpected" exit-1 errors, large integer
# labels were merged, --n 10000000000 was a MemoryError.

def _rows_csv(rows: int = 20_000) -> bytes:
    rng = np.random.default_rng(0)
    A = np.round(rng.uniform(0, 1, (rows, 2)), 6)
    return ("a,b,y\n" + "".join(f"{a},{b},{i % 2}\n" for i, (a, b) in enumerate(A))).encode()


def _dataset_record(runs_dir: Path) -> dict:
    (run,) = run_dirs(runs_dir)
    return json.loads((run / "config.json").read_text())["dataset"]


@pytest.mark.parametrize("data_arg", ["-", "/dev/stdin"])
def test_training_from_a_pipe_on_stdin_sees_every_row(tmp_path, data_arg):
    import hashlib
    import subprocess
    import sys

    data = _rows_csv()
    runs_dir = tmp_path / "runs"
    r = subprocess.run(
        [sys.executable, "-m", "mlpcli", "train", data_arg, "--epochs", "1", "--runs-dir",
         str(runs_dir)], input=data, capture_output=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr.decode()
    record = _dataset_record(runs_dir)
    assert record["rows"] == 20_000
    assert record["train_rows"] + record["val_rows"] == 20_000
    assert record["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_gzip_file_trains_and_predicts(cli, tmp_path, runs_dir):
    import gzip

    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(_rows_csv(3000)))
    assert cli("train", "d.csv.gz", "--epochs", "1").code == 0
    assert _dataset_record(runs_dir)["rows"] == 3000
    r = cli("predict", "latest", "d.csv.gz")
    assert r.code == 0
    assert len(pd.read_csv(io.StringIO(r.out))) == 3000


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["train", "/dev/zero"], ["/dev/zero", "is a device"]),
        (["train", "xor", "--encoding", "rot13"], ["--encoding", "rot13", "not a text encoding"]),
        (["datasets", "make", "moons", "--n", "10000000000"], ["10000000000", "memory"]),
    ],
)
def test_special_files_codecs_and_huge_n_are_one_line_exit_2(cli, runs_dir, args, words):
    line = assert_one_error_line(cli(*args), runs_dir)
    assert all(w in line for w in words), line


def test_a_cr_only_file_trains_like_its_lf_twin(cli, tmp_path, runs_dir):
    text = "x1,x2,y\n" + "0,0,0\n0,1,1\n1,0,1\n1,1,0\n" * 3
    (tmp_path / "lf.csv").write_text(text)
    (tmp_path / "cr.csv").write_bytes(text.replace("\n", "\r").encode())
    for name in ("lf", "cr"):
        assert cli("train", f"{name}.csv", "--epochs", "3", "--name", name).code == 0
    lf, cr = (np.load(next(runs_dir.glob(f"*-{n}")) / "weights.npz") for n in ("lf", "cr"))
    for key in lf.files:
        np.testing.assert_array_equal(lf[key], cr[key])


def test_large_integer_labels_come_back_exactly_from_predict(cli, tmp_path, runs_dir):
    big = 2**53
    labels = [big + k for k in range(4)] * 5
    (tmp_path / "big.csv").write_text(
        "x,y\n" + "".join(f"{i % 4},{y}\n" for i, y in enumerate(labels)))
    assert cli("train", "big.csv", "--task", "classification", "--epochs", "2").code == 0
    (run,) = run_dirs(runs_dir)
    assert json.loads((run / "model.json").read_text())["preprocessing"]["classes"] == [
        big, big + 1, big + 2, big + 3]
    r = cli("predict", "latest", "big.csv")
    assert r.code == 0, r.err
    predicted = pd.read_csv(io.StringIO(r.out), dtype=str)["pred_y"]
    assert set(predicted) <= {str(big + k) for k in range(4)}
