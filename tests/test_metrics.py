"""Classification and regression scores: hand-computed values, and scikit-learn's on random data."""

import warnings

import numpy as np
import pytest

from mlpcli.core.metrics import (
    classification_report,
    confusion_matrix,
    outputs_report,
    regression_report,
    regression_scores,
    roc_auc,
    roc_curve,
)

LABELS = ["cat", "dog", "fox"]
TRUE = np.array([0, 0, 1, 1, 2, 2, 0])  # cat cat dog dog fox fox cat
PRED = np.array([0, 1, 1, 1, 1, 1, 0])  # fox is never predicted


def test_confusion_matrix_by_hand():
    assert confusion_matrix(TRUE, PRED, 3).tolist() == [[2, 1, 0], [0, 2, 0], [0, 2, 0]]


def test_report_by_hand_with_text_labels_and_a_class_never_predicted():
    r = classification_report(TRUE, PRED, LABELS)
    cat, dog, fox = (r["classes"][k] for k in LABELS)
    # cat: tp 2, fp 0, fn 1 · dog: tp 2, fp 3, fn 0 · fox: tp 0, fp 0, fn 2
    assert cat == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert dog == pytest.approx({"precision": 0.4, "recall": 1.0, "f1": 4 / 7, "support": 2})
    assert fox == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert r["accuracy"] == pytest.approx(4 / 7)
    assert r["balanced_accuracy"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert r["macro avg"]["precision"] == pytest.approx(1.4 / 3)
    assert r["weighted avg"]["precision"] == pytest.approx((3 * 1 + 2 * 0.4) / 7)
    assert r["weighted avg"]["support"] == 7
    assert r["confusion_normalized"][0] == pytest.approx([2 / 3, 1 / 3, 0])
    assert r["notes"] == ["precision of 'fox' is 0: no example was predicted as it"]


def test_a_class_absent_from_the_data_has_recall_0_and_is_left_out_of_balanced_accuracy():
    r = classification_report(np.array([0, 0, 1]), np.array([0, 2, 1]), LABELS)
    assert r["classes"]["fox"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert r["balanced_accuracy"] == pytest.approx((0.5 + 1) / 2)
    assert r["confusion_normalized"][2] == [0.0, 0.0, 0.0]
    assert "recall of 'fox' is 0: no example of it in the data" in r["notes"]


def test_roc_by_hand():
    true, score = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    fpr, tpr, thresholds = roc_curve(true, score)
    assert fpr.tolist() == [0, 0, 0.5, 0.5, 1]
    assert tpr.tolist() == [0, 0.5, 0.5, 1, 1]
    assert thresholds.tolist() == [np.inf, 0.8, 0.4, 0.35, 0.1]
    assert roc_auc(true, score) == pytest.approx(0.75)
    assert roc_auc(np.array([1, 1]), np.array([0.2, 0.3])) is None  # one class: undefined


def test_outputs_report_two_classes_scores_the_positive_class():
    # one mse output column: the clipped score of class 1
    Yhat = np.array([[0.9], [0.2], [0.6], [-0.3]])
    Y = np.array([[1.0], [0.0], [0.0], [1.0]])
    r = outputs_report(Yhat, Y, task="classification", classes=[False, True], loss="mse",
                       y_std=[1.0], targets=["y"])
    assert r["accuracy"] == 0.5
    assert r["roc"]["positive"] == "True"
    assert r["roc"]["auc"] == pytest.approx(0.5)  # scores 0.9, 0 for class 1; 0.2, 0.6 for 0


def test_regression_report_by_hand():
    Y = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])
    Yhat = np.array([[1.0, 1.0], [2.0, 1.0], [3.0, 2.0]])
    r = regression_report(Yhat, Y, [2.0, 1.0], ["a", "b"])
    # target a in original units: errors 2, 0, −2 against values 0, 4, 8 (mean 4, ss_tot 32)
    assert r["targets"]["a"] == pytest.approx({"r2": 1 - 8 / 32, "rmse": np.sqrt(8 / 3),
                                               "mae": 4 / 3})
    assert r["targets"]["b"] == pytest.approx({"r2": None, "rmse": np.sqrt(1 / 3), "mae": 1 / 3})
    assert r["r2"] == pytest.approx(0.75)  # the mean over targets with a defined R²
    assert r["rmse"] == pytest.approx(np.sqrt(9 / 6))
    assert r["mae"] == pytest.approx(5 / 6)
    assert regression_scores(Yhat, Y, [2.0, 1.0]) == {"r2": r["r2"], "rmse": r["rmse"]}


# --- against scikit-learn ---------------------------------------------------------------------

sklearn_metrics = pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize("seed", range(8))
def test_classification_matches_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    K, n = int(rng.integers(2, 6)), int(rng.integers(5, 60))
    true, pred = rng.integers(0, K, n), rng.integers(0, K, n)
    labels = [f"c{k}" for k in range(K)]
    r = classification_report(true, pred, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = sklearn_metrics.classification_report(
            true, pred, labels=range(K), target_names=labels, output_dict=True, zero_division=0)
        balanced = sklearn_metrics.balanced_accuracy_score(true, pred)
    for label in labels:
        for key, sk_key in (("precision", "precision"), ("recall", "recall"),
                            ("f1", "f1-score"), ("support", "support")):
            assert r["classes"][label][key] == pytest.approx(expected[label][sk_key])
    for avg in ("macro avg", "weighted avg"):
        assert r[avg]["precision"] == pytest.approx(expected[avg]["precision"])
        assert r[avg]["recall"] == pytest.approx(expected[avg]["recall"])
        assert r[avg]["f1"] == pytest.approx(expected[avg]["f1-score"])
    assert r["accuracy"] == pytest.approx(sklearn_metrics.accuracy_score(true, pred))
    assert r["balanced_accuracy"] == pytest.approx(balanced)
    assert r["confusion"] == sklearn_metrics.confusion_matrix(true, pred, labels=range(K)).tolist()
    normalized = sklearn_metrics.confusion_matrix(true, pred, labels=range(K), normalize="true")
    np.testing.assert_allclose(r["confusion_normalized"], normalized)


@pytest.mark.parametrize("seed", range(8))
def test_roc_matches_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 80))
    true = rng.integers(0, 2, n)
    true[:2] = [0, 1]  # both classes occur
    score = np.round(rng.random(n), 1)  # ties, as clipped scores have
    fpr, tpr, thresholds = roc_curve(true, score)
    sk_fpr, sk_tpr, sk_thresholds = sklearn_metrics.roc_curve(true, score)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    np.testing.assert_allclose(thresholds[1:], sk_thresholds[1:])
    assert roc_auc(true, score) == pytest.approx(sklearn_metrics.roc_auc_score(true, score))


@pytest.mark.parametrize("seed", range(4))
def test_regression_matches_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    Y, Yhat = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    std = rng.uniform(0.5, 3, 3)
    r = regression_report(Yhat, Y, std, ["a", "b", "c"])
    true, pred = Y * std, Yhat * std
    r2 = sklearn_metrics.r2_score(true, pred, multioutput="raw_values")
    mae = sklearn_metrics.mean_absolute_error(true, pred, multioutput="raw_values")
    mse = sklearn_metrics.mean_squared_error(true, pred, multioutput="raw_values")
    for k, name in enumerate("abc"):
        assert r["targets"][name] == pytest.approx(
            {"r2": r2[k], "mae": mae[k], "rmse": np.sqrt(mse[k])})
    assert r["r2"] == pytest.approx(sklearn_metrics.r2_score(true, pred))
    assert r["mae"] == pytest.approx(sklearn_metrics.mean_absolute_error(true, pred))
