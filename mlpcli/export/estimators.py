"""MLPClassifier and MLPRegressor: mlpcli's training behind scikit-learn's estimator interface.

    from mlpcli import MLPClassifier
    clf = MLPClassifier(hidden=(64, 32), epochs=200, loss="ce").fit(X, y)
    clf.predict(X), clf.predict_proba(X), clf.score(X, y)

The parameters are the `train` options that describe the model and its training (Config's
fields, with Config's defaults: nothing is repeated here); `fit` hands X and y, as a DataFrame
standing for the CSV, to the very code `mlpcli train` runs (experiment.py), so the same options
and seed give the same weights, bit for bit. `fit(X, y, run_dir="runs")` also writes a run
directory. scikit-learn itself is not needed; when it is installed, clone, GridSearchCV,
Pipeline and check_estimator work with these classes.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings

import numpy as np

from mlpcli.config import Config
from mlpcli.errors import MlpcliError

# Config fields that are not estimator parameters: the data's location and columns (fit's
# arguments), the task (the class), and the run directory's bookkeeping (fit's run_dir)
_NOT_PARAMS = {"data", "target", "features", "drop_columns", "task", "dropna", "sep",
               "encoding", "runs_dir", "name", "checkpoint_every"}
PARAMS = [f.name for f in dataclasses.fields(Config) if f.name not in _NOT_PARAMS]
_DEFAULTS = Config()
DATA_NAME = "fit(X, y)"  # config.json's dataset path for a run written by fit(run_dir=...)


class _MLPEstimator:
    """Shared by both estimators: parameters, fitting, inputs as a DataFrame."""

    _task: str

    def __init__(self, **params):
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword argument(s) "
                            f"{', '.join(unknown)}; parameters: {', '.join(PARAMS)}")
        for name in PARAMS:
            setattr(self, name, params.get(name, getattr(_DEFAULTS, name)))

    # -- scikit-learn's parameter protocol ---------------------------------------------------

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in PARAMS}

    def set_params(self, **params):
        for name, value in params.items():
            if name not in PARAMS:
                raise ValueError(f"Invalid parameter {name!r} for estimator "
                                 f"{type(self).__name__}; valid parameters: {', '.join(PARAMS)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = [f"{name}={getattr(self, name)!r}" for name in PARAMS
                   if _differs(getattr(self, name), getattr(_DEFAULTS, name))]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "weights_")

    def _tags(self, estimator_type: str, **target):
        """scikit-learn's tags (it alone calls this, so it is installed)."""
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        task = ({"classifier_tags": ClassifierTags()} if estimator_type == "classifier"
                else {"regressor_tags": RegressorTags()})
        return Tags(estimator_type=estimator_type, target_tags=TargetTags(required=True, **target),
                    input_tags=InputTags(categorical=True, string=True), **task)

    # -- fitting -------------------------------------------------------------------------------

    def config(self) -> Config:
        """The Config these parameters make (ValueError for a bad value)."""
        values = self.get_params()
        values["hidden"] = _widths(values["hidden"])
        if isinstance(values.get("class_weight"), dict):  # scikit-learn's {class: weight}
            values["class_weight"] = ",".join(f"{k}={v}" for k, v in
                                              values["class_weight"].items())
        try:
            return Config(data=DATA_NAME, task=self._task, name=type(self).__name__.lower(),
                          **values).validated()
        except (MlpcliError, TypeError) as e:
            raise ValueError(str(e)) from None

    def fit(self, X, y, run_dir=None):
        """Train on X (array or DataFrame, text columns one-hot encoded) and y, as
        `mlpcli train` would on a CSV of these columns; `run_dir`: also write a run directory
        there (a runs folder, as --runs-dir). Returns self."""
        from mlpcli import experiment, runs

        cfg = self.config()
        frame, features, targets = self._training_frame(X, y)
        try:
            if run_dir is None:
                trainer, data = experiment.prepare(cfg.replace(target=targets), frame)
                result = trainer.run()
                model, pre = trainer.model, data.preprocessor
                self.run_dir_ = None
            else:
                outcome = experiment.train(cfg.replace(target=targets, runs_dir=str(run_dir)),
                                           frame=frame, argv=[f"{type(self).__name__}.fit"])
                result = outcome.result
                model, pre = runs.Run(outcome.path).model()
                self.run_dir_ = outcome.path
        except MlpcliError as e:
            raise ValueError(str(e)) from None
        if result.status == "diverged":
            warnings.warn(f"{type(self).__name__}: {result.message}", RuntimeWarning,
                          stacklevel=2)
        self.weights_ = model.params()
        self.layers_, self.activation_ = list(model.sizes), model.activation
        self.preprocessor_ = pre
        self.n_features_in_ = len(features)
        if self._named_columns:
            self.feature_names_in_ = np.asarray(features, dtype=object)
        self.n_iter_, self.best_epoch_ = result.epochs_run, result.best_epoch
        self.history_ = [record.as_dict() for record in result.history]
        return self

    def _training_frame(self, X, y):
        import pandas as pd

        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             f"y is None")
        X = _frame(X, "X")
        self._named_columns = _named(X)
        features = [str(c) for c in X.columns] if self._named_columns else \
            [f"x{j}" for j in range(X.shape[1])]
        X.columns = features
        Y = _frame(y, "y")
        if len(Y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(Y)}")
        self._check_target(Y)
        targets = ([str(c) for c in Y.columns] if _named(Y) and isinstance(y, pd.DataFrame)
                   else [str(y.name)] if isinstance(y, pd.Series) and y.name is not None
                   else ["y"] if Y.shape[1] == 1 else [f"y{k}" for k in range(Y.shape[1])])
        clash = set(targets) & set(features)
        if clash:
            raise ValueError(f"target name {sorted(clash)[0]!r} is also a column of X; rename it")
        Y.columns = targets
        frame = pd.concat([X.reset_index(drop=True), Y.reset_index(drop=True)], axis=1)
        return frame, features, targets

    def _check_target(self, Y) -> None:
        """Hook for target checks (the classifier refuses continuous values)."""

    # -- predicting ----------------------------------------------------------------------------

    def _outputs(self, X):
        """The network's outputs for X, through the preprocessing fitted in `fit`."""
        from mlpcli.core.kernels import MLP

        if not self.__sklearn_is_fitted__():
            raise _not_fitted(self)
        X = _frame(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input")
        names = getattr(self, "feature_names_in_", None)
        if names is not None and _named(X) and [str(c) for c in X.columns] != list(names):
            raise ValueError("The feature names should match those that were passed during fit")
        X.columns = self.preprocessor_.features
        model = MLP(self.layers_, self.activation_, np.dtype(self.dtype))
        model.load_params(self.weights_)
        try:
            inputs = self.preprocessor_.transform(X, dtype=model.dtype, source="X")
        except MlpcliError as e:
            raise ValueError(str(e)) from None
        with np.errstate(over="ignore", invalid="ignore"):
            return model.forward(inputs)


class MLPClassifier(_MLPEstimator):
    """mlpcli's network as a scikit-learn classifier (parameters: the `train` options)."""

    _task = "classification"
    _estimator_type = "classifier"

    @property
    def classes_(self) -> np.ndarray:
        if not self.__sklearn_is_fitted__():
            raise AttributeError("classes_ exists once the classifier is fitted")
        return np.asarray(self.preprocessor_.classes)

    def _check_target(self, Y) -> None:
        if Y.shape[1] != 1:
            raise ValueError("MLPClassifier takes one target column; y has "
                             f"{Y.shape[1]}")
        if Y.attrs.get("column_vector"):
            warnings.warn("A column-vector y was passed when a 1d array was expected; using "
                          "y.ravel()", _data_conversion_warning(), stacklevel=4)
        values = Y.iloc[:, 0]
        if values.nunique(dropna=False) < 2:
            raise ValueError(f"y has one class ({values.iloc[0]!r}); classification needs at "
                             f"least two")
        if values.dtype.kind == "f" and not np.all(np.isnan(values) | (values == values.round())):
            raise ValueError("Unknown label type: continuous. MLPClassifier needs class labels; "
                             "use MLPRegressor for continuous targets")

    def predict(self, X) -> np.ndarray:
        outputs = self._outputs(X)
        return self.preprocessor_.predict_labels(outputs)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (loss="ce": softmax), or for loss="mse" the outputs clipped to
        [0, 1] and renormalised (scores, not calibrated probabilities); columns: classes_."""
        from mlpcli.core.losses import outputs_to_proba

        return outputs_to_proba(self._outputs(X), self.preprocessor_.loss)

    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy (weighted by sample_weight if given)."""
        hit = (self.predict(X) == np.asarray(_frame(y, "y").iloc[:, 0], dtype=object))
        return float(np.average(hit, weights=sample_weight))

    def __sklearn_tags__(self):
        return self._tags("classifier")


class MLPRegressor(_MLPEstimator):
    """mlpcli's network as a scikit-learn regressor; several target columns are fine."""

    _task = "regression"
    _estimator_type = "regressor"

    def predict(self, X) -> np.ndarray:
        """Predictions in y's units: shape (n,) for one target, (n, targets) for several."""
        outputs = self._outputs(X)
        pre = self.preprocessor_
        Y = outputs * np.asarray(pre.y_std) + np.asarray(pre.y_mean)
        return Y[:, 0] if Y.shape[1] == 1 and not self._multi_output else Y

    def fit(self, X, y, run_dir=None):
        self._multi_output = np.asarray(y).ndim == 2
        return super().fit(X, y, run_dir=run_dir)

    def score(self, X, y, sample_weight=None) -> float:
        """R² (uniform average over targets), as scikit-learn's regressors score."""
        Y = _frame(y, "y").to_numpy(np.float64)
        P = self.predict(X).reshape(len(Y), -1)
        w = None if sample_weight is None else np.asarray(sample_weight, np.float64)
        mean = np.average(Y, axis=0, weights=w)
        residual = np.average((Y - P) ** 2, axis=0, weights=w)
        total = np.average((Y - mean) ** 2, axis=0, weights=w)
        r2 = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1),
                      np.where(residual == 0, 1.0, 0.0))
        return float(r2.mean())

    def __sklearn_tags__(self):
        return self._tags("regressor", multi_output=True)


def _signature(cls) -> inspect.Signature:
    """__init__'s signature with each parameter and its Config default (scikit-learn's
    get_params, clone and check_estimator read it)."""
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                 default=getattr(_DEFAULTS, name)) for name in PARAMS]
    return inspect.Signature(params)


_MLPEstimator.__init__.__signature__ = _signature(_MLPEstimator)


def _widths(hidden) -> tuple[int, ...]:
    """hidden=32, (64, 32), [64, 32] or "64,32" → (64, 32)."""
    if isinstance(hidden, str):
        try:
            return tuple(int(h) for h in hidden.split(",") if h.strip())
        except ValueError:
            raise ValueError(f"hidden must be widths such as 32, (64, 32) or '64,32'; got "
                             f"{hidden!r}") from None
    if isinstance(hidden, (int, np.integer)):
        return (int(hidden),)
    return tuple(int(h) for h in hidden)


def _differs(value, default) -> bool:
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return list(value) != list(default)
    return type(value) is not type(default) or value != default


def _frame(A, what: str):
    """X or y as a DataFrame (a copy of the column index, sharing the data)."""
    import pandas as pd

    if hasattr(A, "toarray") or type(A).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{what} is a sparse matrix; mlpcli needs dense data (A.toarray())")
    if isinstance(A, pd.DataFrame):
        return A.copy(deep=False)
    if isinstance(A, pd.Series):
        return A.to_frame()
    array = np.asarray(A)
    if array.ndim == 1 and what == "y":
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise ValueError(f"Expected 2D array for {what}, got {array.ndim}D array instead. "
                         f"Reshape your data: {what}.reshape(-1, 1) for a single feature, "
                         f"{what}.reshape(1, -1) for a single sample")
    for axis, kind in ((0, "sample"), (1, "feature")):
        if array.shape[axis] == 0:
            raise ValueError(f"Found array with 0 {kind}(s) (shape={array.shape}) while a "
                             f"minimum of 1 is required.")
    if np.iscomplexobj(array):
        raise ValueError(f"Complex data not supported in {what}")
    if array.dtype.kind in "fiub" and not np.isfinite(array).all():
        raise ValueError(f"Input {what} contains NaN or infinity; mlpcli trains on finite "
                         f"values only (drop or fill those rows)")
    frame = pd.DataFrame(array)
    frame.attrs["column_vector"] = what == "y" and np.asarray(A).ndim == 2 and array.shape[1] == 1
    return frame


def _named(frame) -> bool:
    """Whether a DataFrame's columns are all strings (scikit-learn's feature names)."""
    return all(isinstance(c, str) for c in frame.columns)


def _data_conversion_warning() -> type[Warning]:
    try:
        from sklearn.exceptions import DataConversionWarning
    except ImportError:
        return UserWarning
    return DataConversionWarning


def _not_fitted(estimator) -> Exception:
    message = (f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
               f"appropriate arguments before using this estimator.")
    try:
        from sklearn.exceptions import NotFittedError
    except ImportError:
        return AttributeError(message)
    return NotFittedError(message)
