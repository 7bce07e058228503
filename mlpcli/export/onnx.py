"""A run as an ONNX model that takes the raw CSV columns and returns what `mlpcli predict` does.

The graph, in the order `predict` computes it:

    inputs (one per feature column, shape [N, 1]: numbers as float, text as string)
    → text columns one-hot encoded (ai.onnx.ml OneHotEncoder; an unseen category is all zeros)
    → Concat in the run's input order → Sub mean, Div std (standardization)
    → Gemm (+ Relu / Tanh / Sigmoid) per layer
    → classification: `label` (ArgMax, or output > 0.5 for one 0/1 output, looked up in the
      classes) and `probabilities` (Softmax for --loss ce; for mse the outputs clipped to
      [0, 1] and renormalised, as predict's score_ columns)
    → regression: `prediction` = output · y_std + y_mean (original units), one column per target

Opset 17 of the default domain and 3 of ai.onnx.ml, IR version 8: onnxruntime ≥ 1.13 and
other runtimes of 2022 on read it. The class labels, targets and run id are in the metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpcli import __version__, runs
from mlpcli.errors import ConfigError, RunError
from mlpcli.export import require

OPSET = 17
ML_OPSET = 3
IR_VERSION = 8
DTYPES = ("float32", "float64")
TOLERANCE = {"float64": 1e-6, "float32": 1e-4}  # relative, of probabilities and predictions
OUTPUTS = ("label", "probabilities", "prediction")
_ACTIVATION_OPS = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}


@dataclass
class CheckResult:
    rows: int  # rows compared
    max_rel_error: float  # largest relative difference of probabilities or predictions
    tolerance: float


def build_model(run: runs.Run, dtype: str | None = None):
    """The onnx.ModelProto of `run` in `dtype` (default: the run's own dtype)."""
    onnx = require("onnx", "onnx", "ONNX export")
    from onnx import TensorProto, helper, numpy_helper

    model, pre = run.model()
    dtype = dtype or str(model.dtype)
    if dtype not in DTYPES:
        raise ConfigError(f"--dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    np_dtype = np.dtype(dtype)
    elem = TensorProto.FLOAT if dtype == "float32" else TensorProto.DOUBLE
    nodes, inits = [], []

    def const(name, value):
        name = f"mlpcli/{name}"  # apart from the inputs, which are named by the CSV
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op, inputs, output, domain="", **attrs):
        output = output if output in OUTPUTS else f"mlpcli/{output}"
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    clash = sorted(set(pre.features) & set(OUTPUTS))
    if clash:
        raise ConfigError(f"feature column {clash[0]!r} has the name of an output of the ONNX "
                          f"model ({', '.join(OUTPUTS)}); rename the column and retrain")
    inputs, parts = [], []
    for name in pre.features:
        is_text = name in pre.categories
        inputs.append(helper.make_tensor_value_info(
            name, TensorProto.STRING if is_text else elem, ["N", 1]))
        if not is_text:
            parts.append(name)
            continue
        onehot = node("OneHotEncoder", [name], f"{name}:onehot3d", domain="ai.onnx.ml",
                      cats_strings=[str(c) for c in pre.categories[name]], zeros=1)
        flat = node("Reshape", [onehot, const(f"{name}:shape", np.array(
            [-1, len(pre.categories[name])], np.int64))], f"{name}:onehot")
        parts.append(node("Cast", [flat], f"{name}:encoded", to=elem))
    h = node("Concat", parts, "inputs", axis=1) if len(parts) > 1 else parts[0]
    if pre.standardize:
        h = node("Sub", [h, const("x_mean", np.asarray(pre.x_mean, np_dtype))], "centered")
        h = node("Div", [h, const("x_std", np.asarray(pre.x_std, np_dtype))], "standardized")
    params = model.params()
    depth = len(model.sizes) - 1
    for layer in range(1, depth + 1):
        W = const(f"W{layer}", params[f"W{layer}"].astype(np_dtype))
        b = const(f"b{layer}", params[f"b{layer}"].astype(np_dtype))
        h = node("Gemm", [h, W, b], f"z{layer}", transB=1)
        if layer < depth:
            h = node(_ACTIVATION_OPS[model.activation], [h], f"h{layer}")
    outputs = (_classifier_outputs(pre, h, node, const, np_dtype, elem, helper)
               if pre.task == "classification"
               else _regression_outputs(pre, h, node, const, np_dtype, elem, helper))
    graph = helper.make_graph(nodes, f"mlpcli-{run.id}", inputs, outputs, inits)
    onnx_model = helper.make_model(
        graph, producer_name="mlpcli", producer_version=__version__,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)])
    onnx_model.ir_version = IR_VERSION
    meta = {"mlpcli_run": run.id, "task": pre.task, "targets": json.dumps(pre.targets),
            "features": json.dumps(pre.features), "dtype": dtype}
    if pre.task == "classification":
        meta["classes"] = json.dumps(pre.classes)
        meta["probability_kind"] = "softmax" if pre.loss == "ce" else "clipped scores"
    helper.set_model_props(onnx_model, meta)
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def _label_table(classes: list) -> np.ndarray:
    """The class labels as a tensor the graph can Gather from, in their own type."""
    if all(isinstance(c, bool) for c in classes):
        return np.asarray(classes, dtype=bool)
    if all(isinstance(c, int) for c in classes):
        if any(not -2**63 <= c < 2**63 for c in classes):
            raise ConfigError("class labels beyond 64-bit integers cannot be stored in ONNX")
        return np.asarray(classes, dtype=np.int64)
    if all(isinstance(c, (int, float)) for c in classes):
        return np.asarray(classes, dtype=np.float64)
    return np.asarray([str(c) for c in classes], dtype=object)


def _classifier_outputs(pre, z, node, const, np_dtype, elem, helper):
    from onnx import TensorProto, numpy_helper

    table = _label_table(pre.classes)
    label_type = numpy_helper.from_array(table, "_").data_type if table.dtype != object \
        else TensorProto.STRING
    k = len(pre.classes)
    zero, one = const("zero", np.asarray(0, np_dtype)), const("one", np.asarray(1, np_dtype))
    if pre.encoding == "binary":  # one output: class 1 when it exceeds 0.5
        above = node("Greater", [z, const("half", np.asarray([0.5], np_dtype))], "above_half")
        index = node("Cast", [node("Squeeze", [above, const("axis1", np.array([1], np.int64))],
                                   "above_half_1d")], "class_index", to=TensorProto.INT64)
        p = node("Clip", [z, zero, one], "p1")
        node("Concat", [node("Sub", [one, p], "p0"), p], "probabilities", axis=1)
    else:
        index = node("ArgMax", [z], "class_index", axis=1, keepdims=0)
        if pre.loss == "ce":
            node("Softmax", [z], "probabilities", axis=1)
        else:  # clipped to [0, 1] and renormalised; a row of zeros gets 1/k each
            clipped = node("Clip", [z, zero, one], "clipped")
            total = node("ReduceSum", [clipped, const("axes1", np.array([1], np.int64))],
                         "total", keepdims=1)
            ratio = node("Div", [clipped, total], "ratio")
            node("Where", [
                node("Greater", [total, zero], "total_positive"), ratio,
                const("uniform", np.full((1, k), 1.0 / k, np_dtype))], "probabilities")
    node("Gather", [const("classes", table), index], "label", axis=0)
    return [helper.make_tensor_value_info("label", label_type, ["N"]),
            helper.make_tensor_value_info("probabilities", elem, ["N", k])]


def _regression_outputs(pre, z, node, const, np_dtype, elem, helper):
    scaled = node("Mul", [z, const("y_std", np.asarray(pre.y_std, np_dtype))], "scaled")
    node("Add", [scaled, const("y_mean", np.asarray(pre.y_mean, np_dtype))], "prediction")
    return [helper.make_tensor_value_info("prediction", elem, ["N", len(pre.targets)])]


def default_path(run_path: Path) -> Path:
    """<run id>.onnx in the current directory; a sweep trial: <sweep id>-<trial>.onnx."""
    if runs.is_sweep(run_path.parent):
        return Path(f"{run_path.parent.name}-{run_path.name}.onnx")
    return Path(f"{run_path.name}.onnx")


def feeds(onnx_model, frame, source: str) -> dict:
    """The model's inputs from a DataFrame of the CSV's columns (as `predict` reads them)."""
    from onnx import TensorProto

    from mlpcli.data.columns import parse_column, raise_bad_cell, require_columns

    names = [i.name for i in onnx_model.graph.input]
    require_columns(frame, names, source, "feature")
    out = {}
    for i in onnx_model.graph.input:
        elem = i.type.tensor_type.elem_type
        column = parse_column(frame[i.name], i.name, source, as_text=elem == TensorProto.STRING)
        raise_bad_cell({i.name: column}, source, "remove the row")
        if elem == TensorProto.STRING:
            out[i.name] = np.asarray(column.values, dtype=object).reshape(-1, 1)
        else:
            dtype = np.float32 if elem == TensorProto.FLOAT else np.float64
            out[i.name] = column.values.astype(dtype).reshape(-1, 1)
    return out


def check(run: runs.Run, onnx_model) -> CheckResult:
    """Run `onnx_model` with onnxruntime on the run's validation rows (its training rows without
    a split: the rows of predictions.csv) and compare with `mlpcli predict`; RunError when a
    label differs or a probability/prediction is off by more than TOLERANCE."""
    ort = require("onnxruntime", "onnx", "--check")
    import pandas as pd

    from mlpcli.data import read_csv, resolve_data

    data = run.config().get("dataset", {}).get("path")
    try:
        rows = pd.read_csv(run.path / "predictions.csv", usecols=["row"])["row"].to_numpy()
    except (OSError, ValueError) as e:
        raise RunError(f"{run.path / 'predictions.csv'}: cannot read its rows for --check ({e})"
                       ) from None
    if not data or not Path(data).exists():
        raise RunError(f"--check runs the model on the run's data, and {data or 'its path'} "
                       f"is not a file here; pass --no-check to export without checking")
    options = run.config().get("options", {})
    sep, encoding = options.get("sep"), options.get("encoding")
    frame = read_csv(resolve_data(data), sep=sep, encoding=encoding)
    if len(frame) <= rows.max(initial=-1):
        raise RunError(f"--check: {data} has fewer rows than when the run was trained; pass "
                       f"--no-check to export without checking")
    frame = frame.iloc[rows].reset_index(drop=True)
    expected, _ = runs.predict_frame(run, frame)
    session = ort.InferenceSession(onnx_model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in session.get_outputs()],
                   session.run(None, feeds(onnx_model, frame, str(data))), strict=True))
    dtypes = {str(run.model()[0].dtype), _model_dtype(onnx_model)}
    tolerance = TOLERANCE["float32" if "float32" in dtypes else "float64"]
    numeric = [c for c in expected.columns if not c.startswith("pred_")] \
        if "label" in got else list(expected.columns)
    want = expected[numeric].to_numpy(np.float64)
    have = (got["probabilities"] if "label" in got else got["prediction"]).astype(np.float64)
    if "label" in got:
        labels = expected.iloc[:, 0].to_numpy()
        bad = [i for i, (a, b) in enumerate(zip(labels, got["label"])) if not _same(a, b)]
        if bad:
            i = bad[0]
            raise RunError(f"ONNX check failed: {len(bad)} of {len(rows)} labels differ from "
                           f"mlpcli predict (data row {rows[i]}: {got['label'][i]!r} vs "
                           f"{labels[i]!r})")
    rel = np.abs(have - want) / np.maximum(np.abs(want), np.finfo(np.float64).tiny)
    rel[np.abs(have - want) <= tolerance * 1e-6] = 0.0  # equal to far below the tolerance
    worst = float(rel.max()) if rel.size else 0.0
    if worst > tolerance:
        raise RunError(f"ONNX check failed: onnxruntime differs from mlpcli predict by "
                       f"{worst:.3g} (relative; tolerance {tolerance:g})")
    return CheckResult(len(rows), worst, tolerance)


def _same(expected, got) -> bool:
    if isinstance(got, bytes):
        got = got.decode()
    return str(expected) == str(got) if isinstance(got, str) else expected == got


def _model_dtype(onnx_model) -> str:
    from onnx import TensorProto

    elem = onnx_model.graph.output[-1].type.tensor_type.elem_type
    return "float32" if elem == TensorProto.FLOAT else "float64"


def export(spec: str, runs_dir="runs", out: Path | None = None, dtype: str | None = None,
           check_with_runtime: bool | None = None) -> tuple[Path, CheckResult | None]:
    """`mlpcli export`: write RUN's ONNX model to `out` (default_path), checked with
    onnxruntime when `check_with_runtime` (None: when onnxruntime is installed)."""
    path = runs.resolve_run(spec, runs_dir)
    if runs.is_sweep(path):
        raise ConfigError(f"{spec!r} is a sweep; export one of its trials: {spec}:best or "
                          f"{spec}/TRIAL")
    run = runs.Run(path)
    onnx_model = build_model(run, dtype)
    if check_with_runtime is None:
        import importlib.util

        check_with_runtime = importlib.util.find_spec("onnxruntime") is not None
    result = check(run, onnx_model) if check_with_runtime else None
    out = Path(out) if out is not None else default_path(path)
    try:
        runs.write_atomic(out, onnx_model.SerializeToString())
    except OSError as e:
        raise ConfigError(f"-o {out}: cannot write ({e.strerror})") from None
    return out, result
