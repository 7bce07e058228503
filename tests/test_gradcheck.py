"""The gradient check: passes on correct gradients, fails on wrong ones, knows kinks."""

import itertools
import json

import numpy as np
import pytest
from conftest import XOR_X, XOR_Y

from mlpcli.core.gradcheck import backprop_gradient, check_gradients, lecture_gradients
from mlpcli.core.kernels import MLP


def problem(loss, sizes, seed=0, activation="relu"):
    rng = np.random.default_rng(seed)
    model = MLP.initialized(sizes, activation, rng=rng)
    X = rng.normal(size=(12, sizes[0]))
    if loss == "ce":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], 12)]
    else:
        Y = rng.normal(size=(12, sizes[-1]))
    return model, X, Y


@pytest.mark.parametrize(
    "loss,reduction,activation,hidden,weight_decay",
    list(itertools.product(["mse", "ce"], ["sum", "mean"], ["relu", "tanh", "sigmoid"],
                           [[6], [5, 4]], [0.0, 0.1])),
)
def test_passes_for_every_option_combination(loss, reduction, activation, hidden, weight_decay):
    model, X, Y = problem(loss, [3, *hidden, 3], activation=activation)
    model.b[0][...] = 0.1  # deeper ReLU layers: keep pre-activations off exact zeros
    report = check_gradients(model, X, Y, loss=loss, reduction=reduction,
                             weight_decay=weight_decay)
    assert report.passed, [(t.name, t.max_rel_error) for t in report.parameters]
    assert max(t.max_rel_error for t in report.parameters) < 1e-7
    assert all(t.checked == t.size for t in report.parameters)


def test_a_wrong_gradient_fails():
    model, X, Y = problem("mse", [3, 5, 2])

    def off_by_a_little(model, X, Y, loss, reduction, weight_decay):
        g = backprop_gradient(model, X, Y, loss, reduction, weight_decay)
        b1_0 = model.tensors(np.arange(g.size))["b1"][0]  # where b1[0] is in theta
        g[b1_0] *= 1.001  # 0.1% off
        return g

    report = check_gradients(model, X, Y, grad_fn=off_by_a_little)
    assert not report.passed
    failed = [t.name for t in report.parameters if not t.passed]
    assert failed == ["b1"]


def test_forgetting_weight_decay_fails():
    model, X, Y = problem("mse", [3, 5, 2])

    def without_decay(model, X, Y, loss, reduction, weight_decay):
        return backprop_gradient(model, X, Y, loss, reduction, 0.0)

    report = check_gradients(model, X, Y, weight_decay=0.1, grad_fn=without_decay)
    assert [t.name for t in report.parameters if not t.passed] == ["W1", "W2"]


def test_large_eps_with_tanh_fails():
    model, X, Y = problem("mse", [3, 5, 2], activation="tanh")
    assert check_gradients(model, X, Y, eps=1e-6).passed
    assert not check_gradients(model, X, Y, eps=0.5).passed


def test_kink_is_reported_not_failed():
    """XOR's (0, 0) row with zero first-layer biases puts z exactly at 0."""
    model = MLP.initialized([2, 2, 1], rng=np.random.default_rng(1))
    report = check_gradients(model, XOR_X, XOR_Y, keep_coordinates=True)
    b1 = next(t for t in report.parameters if t.name == "b1")
    assert b1.kinks == 2 and b1.all_kinks
    assert report.passed
    kinks = {c.name for c in report.coordinates if c.kink}
    assert kinks == {"b1[0]", "b1[1]"}
    # the numerical derivative really is off there: the one-sided slopes differ
    on_kink = [c for c in report.coordinates if c.kink]
    assert all(abs(c.backprop - c.numerical) > 1e-8 for c in on_kink)


def test_sampling_beyond_max_coords():
    model, X, Y = problem("mse", [40, 30, 2])
    report = check_gradients(model, X, Y, max_coords=100, seed=3)
    W1 = report.parameters[0]
    assert W1.sampled and W1.checked == 100 and W1.size == 1200
    assert not report.parameters[1].sampled  # W2 has 60 coordinates


def test_lecture_formulas_agree_with_backprop():
    model = MLP.initialized([2, 2, 1], rng=np.random.default_rng(4))
    model.b[0][...] = [0.3, -0.2]
    X = np.random.default_rng(5).normal(size=(6, 2))
    Y = np.random.default_rng(6).normal(size=(6, 1))
    for reduction, wd in (("sum", 0.0), ("mean", 0.2)):
        hand = lecture_gradients(model, X, Y, reduction, wd)
        g = model.tensors(backprop_gradient(model, X, Y, "mse", reduction, wd))
        got = [*g["W1"].ravel(), *g["W2"].ravel(), *g["b1"], *g["b2"]]
        np.testing.assert_allclose(got, list(hand.values()), rtol=1e-12, atol=1e-14)


# --- the command ---------------------------------------------------------------------------------

def test_cli_default_passes(cli):
    r = cli("gradcheck")
    assert r.code == 0, r.out + r.err
    assert "PASSED" in r.out and "W1" in r.out and "b2" in r.out


def test_cli_json_has_the_documented_keys(cli):
    r = cli("gradcheck", "xor", "--hidden", "3", "--reduction", "mean", "--json")
    assert r.code == 0
    report = json.loads(r.out)
    assert set(report) >= {"passed", "eps", "tol", "parameters"}
    assert report["passed"] is True and report["eps"] == 1e-6 and report["tol"] == 1e-7
    assert [p["name"] for p in report["parameters"]] == ["W1", "b1", "W2", "b2"]  # layer by layer
    for p in report["parameters"]:
        assert set(p) >= {"name", "shape", "checked", "kinks", "max_abs_error",
                          "max_rel_error", "passed"}
    assert report["parameters"][0]["shape"] == [3, 2]


def test_cli_fails_with_exit_1_when_the_tolerance_cannot_be_met(cli):
    r = cli("gradcheck", "--activation", "tanh", "--eps", "0.5", "--json")
    assert r.code == 1
    assert json.loads(r.out)["passed"] is False


def test_cli_explain_shows_the_lectures_nine_scalars_three_ways(cli):
    r = cli("gradcheck", "xor", "--hidden", "2", "--explain", "--seed", "3")
    assert r.code == 0
    rows = [line for line in r.out.splitlines() if line.startswith("│ w") or
            line.startswith("│ b")]
    names = [row.split("│")[1].strip() for row in rows[:9]]
    assert names == ["w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3"]
    for row in rows[:9]:
        cells = [c.strip() for c in row.split("│")[1:-1]]
        hand, backprop, numerical = (float(c) for c in cells[3:6])
        assert hand == pytest.approx(backprop, abs=1e-9)
        if cells[6] != "kink":
            assert numerical == pytest.approx(backprop, abs=1e-7)


def test_cli_checks_a_trained_run_via_init(cli, runs_dir):
    assert cli("train", "xor", "--hidden", "4", "--epochs", "20", "--quiet").code == 0
    (weights,) = runs_dir.glob("*/weights.npz")
    r = cli("gradcheck", "xor", "--hidden", "4", "--init", weights, "--json")
    assert r.code == 0 and json.loads(r.out)["passed"]
    r = cli("gradcheck", "xor", "--hidden", "5", "--init", weights)
    assert r.code == 2 and "shape" in r.err and "W1" in r.err


def test_cli_checks_a_sorted_classification_file(cli):
    """iris's first 16 rows are all one class: classes come from the whole file."""
    r = cli("gradcheck", "iris", "--loss", "ce", "--hidden", "5", "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    # W2 (after W1, b1): 3 classes
    assert report["passed"] and report["parameters"][2]["shape"] == [3, 5]
