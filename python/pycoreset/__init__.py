"""Weighted coresets of streams and an online learner, from the coreset engine (libCoresetC).

- ``select(X, y, k)``: indices into X and their weights; per class the weights total the class's
  sample weight, so a model fitted on ``X[indices]`` with ``sample_weight=weights`` estimates the
  full-data objective (CRAIG).
- ``StreamingCoreset``: the same over batches (``partial_fit``), with ``coreset_`` and ``weights_``;
  ``wrap`` passes the batches of a data loader through while selecting from them.
- ``OnlineLearner``: a stage that also trains (online steps plus replay of the coreset), with
  ``predict_proba`` and ``to_sklearn()``.
- ``load_coreset(path)``: a coreset file of the `coreset` command line as ``(X, y, weights, ids)``,
  ready for any ``fit(X, y, sample_weight=weights)`` (pure Python).
"""
import ctypes

import numpy as np

from . import _lib
from .files import load_coreset

__all__ = ["select", "StreamingCoreset", "OnlineLearner", "library_version", "load_coreset"]

_LIB = None


def _library():
    global _LIB
    if _LIB is None:
        _LIB = _lib.load()
    return _LIB


def library_version():
    """The C interface's version string."""
    return _library().coreset_version().decode()


def _check(code):
    if code != _lib.OK:
        message = _library().coreset_last_error().decode("utf-8", "replace")
        raise (RuntimeError if code == _lib.ERROR_STATE else ValueError)(message)


def _ptr(a, ctype):
    return a.ctypes.data_as(ctypes.POINTER(ctype)) if a is not None else None


def _is_sparse(X):
    return hasattr(X, "tocsr") and hasattr(X, "nnz")


def _as_array(a):
    """numpy view of a batch part (numpy, list, or a tensor with .numpy())."""
    if hasattr(a, "detach"):
        a = a.detach()
    if hasattr(a, "cpu"):
        a = a.cpu()
    if hasattr(a, "numpy") and not isinstance(a, np.ndarray):
        a = a.numpy()
    return a


def _setting_name(key):
    return key.replace("_", "-")


def _setting_value(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


class StreamingCoreset:
    """A weighted coreset of everything passed to ``partial_fit`` (apricot's streaming API, with
    labels and weights).

    After ``partial_fit`` calls, ``coreset_`` holds the selected rows as indices into the
    concatenation of all batches (0-based, in the order pushed) and ``weights_`` their weights.
    Per class the weights total the class's sample weight (1 per row by default), exactly.
    The result does not depend on how the rows are cut into batches.

    Parameters: ``k`` the coreset size; ``classes`` all labels that will occur (otherwise taken
    from the first batch; a later unknown label is an error); ``task`` "binary", "multiclass" or
    "regression" (default: from the number of classes). Other keyword arguments are the engine's
    settings under their ``coreset run`` names with ``_`` for ``-`` (``algorithm="three-sieves"``,
    ``similarity="cosine"``, ``reference_size=500``, ``seed=1``, ...; see ``coreset.h``).
    ``learn=False`` (the default here) selects in feature space without training a model.
    """

    _learns = False

    def __init__(self, k, *, classes=None, task=None, **settings):
        if "learn" in settings:
            raise TypeError("learn= is fixed by the class: use OnlineLearner for a stage that learns")
        self.k = int(k)
        self.task = task
        self.settings = dict(settings)
        self.classes_ = None if classes is None else np.unique(np.asarray(classes))
        self.n_features_in_ = None
        self._stage = None
        self._snapshot = None
        self._finished = False

    # Stage life.

    def _start(self, y):
        if self.task is None:
            if self.classes_ is None:
                y = np.asarray(y)
                if y.dtype.kind == "f" and not np.all(np.equal(np.mod(y, 1), 0)):
                    raise ValueError("labels are not integers: pass task='regression' for real-valued targets")
                self.classes_ = np.unique(y)
            self.task = "multiclass" if len(self.classes_) > 2 else "binary"
        elif self.task != "regression" and self.classes_ is None:
            self.classes_ = np.unique(np.asarray(y))
        if self.task == "binary" and self.classes_ is not None and len(self.classes_) > 2:
            raise ValueError(f"task='binary' with {len(self.classes_)} classes")
        config = {"task": self.task, "k": self.k, "learn": self._learns}
        config.update({_setting_name(key): value for key, value in self.settings.items()})
        text = " ".join(f"{key}={_setting_value(value)}" for key, value in config.items())
        handle = ctypes.c_void_p()
        _check(_library().coreset_stage_create(text.encode(), ctypes.byref(handle)))
        self._stage = handle

    def __del__(self):
        if getattr(self, "_stage", None) is not None and _LIB is not None:
            _LIB.coreset_stage_free(self._stage)
            self._stage = None
        self._drop_snapshot()

    def _drop_snapshot(self):
        if getattr(self, "_snapshot", None) is not None and _LIB is not None:
            _LIB.coreset_snapshot_free(self._snapshot)
        self._snapshot = None

    def _class_ids(self, y):
        y = np.asarray(_as_array(y)).ravel()
        if self.task == "regression":
            return np.ascontiguousarray(y, dtype=np.float64)
        ids = np.searchsorted(self.classes_, y)
        ids = np.clip(ids, 0, len(self.classes_) - 1)
        unknown = self.classes_[ids] != y
        if np.any(unknown):
            raise ValueError(f"label {y[np.argmax(unknown)]!r} is not one of the classes {list(self.classes_)} "
                             "(pass classes= with every label on the first call)")
        return np.ascontiguousarray(ids, dtype=np.float64)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Adds the rows of X (numpy array or scipy sparse matrix) with labels y and optional
        sample weights (>= 0) to the stream. Returns self."""
        if self._finished:
            raise RuntimeError("partial_fit after finish()")
        if classes is not None and self._stage is None:
            self.classes_ = np.unique(np.asarray(classes))
        X = _as_array(X)
        y = _as_array(y)
        if self._stage is None:
            self._start(y)
        labels = self._class_ids(y)
        sparse = _is_sparse(X)
        if not sparse:
            X = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
            if X.ndim != 2:
                raise ValueError(f"X must be 2-dimensional, not of shape {X.shape}")
        rows, cols = X.shape
        if labels.shape[0] != rows:
            raise ValueError(f"X has {rows} rows but y has {labels.shape[0]} labels")
        w = None
        if sample_weight is not None:
            w = np.ascontiguousarray(np.asarray(_as_array(sample_weight), dtype=np.float64).ravel())
            if w.shape[0] != rows:
                raise ValueError(f"X has {rows} rows but sample_weight has {w.shape[0]} weights")
        if self.n_features_in_ is not None and cols != self.n_features_in_:
            raise ValueError(f"X has {cols} features, earlier batches had {self.n_features_in_}")
        lib = _library()
        if sparse:
            csr = X.tocsr(copy=True)
            csr.sum_duplicates()  # sorts the indices too, as the engine requires
            indptr = np.ascontiguousarray(csr.indptr, dtype=np.int64)
            indices = np.ascontiguousarray(csr.indices, dtype=np.int64)
            data = np.ascontiguousarray(csr.data, dtype=np.float64)
            code = lib.coreset_stage_push_csr(self._stage, _ptr(indptr, ctypes.c_int64), _ptr(indices, ctypes.c_int64),
                                              _ptr(data, ctypes.c_double), rows, cols,
                                              _ptr(labels, ctypes.c_double), _ptr(w, ctypes.c_double))
        else:
            code = lib.coreset_stage_push_dense(self._stage, _ptr(X, ctypes.c_double), rows, cols,
                                                _ptr(labels, ctypes.c_double), _ptr(w, ctypes.c_double))
        _check(code)
        self.n_features_in_ = cols
        self._drop_snapshot()
        return self

    def finish(self):
        """Ends the stream (the selector's last step); partial_fit is refused after it."""
        if self._stage is None:
            raise RuntimeError("finish() before any partial_fit")
        _check(_library().coreset_stage_finish(self._stage))
        self._finished = True
        self._drop_snapshot()
        return self

    def wrap(self, batches):
        """Yields the batches of an iterable (a PyTorch DataLoader, a generator...) unchanged,
        adding each to the coreset first. A batch is (X, y) or (X, y, sample_weight); tensors
        are converted with .numpy()."""
        for batch in batches:
            if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
                raise ValueError("a batch must be (X, y) or (X, y, sample_weight)")
            self.partial_fit(*batch)
            yield batch

    # Results.

    def _snap(self):
        if self._stage is None:
            raise RuntimeError("nothing selected yet: call partial_fit first")
        if self._snapshot is None:
            handle = ctypes.c_void_p()
            _check(_library().coreset_stage_snapshot(self._stage, ctypes.byref(handle)))
            self._snapshot = handle
            n = _library().coreset_snapshot_count(handle)
            ids = np.empty(n, dtype=np.int64)
            weights = np.empty(n, dtype=np.float64)
            classes = np.empty(n, dtype=np.int32)
            _check(_library().coreset_snapshot_elements(handle, _ptr(ids, ctypes.c_int64), _ptr(weights, ctypes.c_double),
                                                         _ptr(classes, ctypes.c_int32)))
            self._elements = (ids, weights, classes)
        return self._snapshot

    @property
    def coreset_(self):
        """Indices of the selected rows (into all rows pushed, in push order), ordered by class, then index."""
        self._snap()
        return self._elements[0].copy()

    @property
    def weights_(self):
        """Weight of each selected row (the sample weight it stands for)."""
        self._snap()
        return self._elements[1].copy()

    @property
    def labels_(self):
        """Label of each selected row (for regression: the target is in the rows themselves)."""
        self._snap()
        ids = self._elements[2]
        return self.classes_[ids] if self.classes_ is not None else ids

    @property
    def n_seen_(self):
        """Rows pushed so far."""
        return int(_library().coreset_snapshot_records(self._snap()))


def select(X, y, k, sample_weight=None, **settings):
    """Selects a weighted coreset of k rows of X (numpy array or scipy sparse matrix).

    Returns (indices, weights): indices into X, and weights that total, per class, the class's
    sample weight. Keyword arguments are those of ``StreamingCoreset``."""
    stream = StreamingCoreset(k, **settings)
    stream.partial_fit(X, y, sample_weight=sample_weight).finish()
    return stream.coreset_, stream.weights_


class OnlineLearner(StreamingCoreset):
    """The engine's online + replay learner: every row is scored, learned from with one SGD step,
    and offered to the selector; the learner then replays the current coreset (its memory),
    ``replay_steps`` draws per row (as ``coreset run``). Logistic loss for two classes, softmax
    for more, squared loss for regression. ``coreset_``/``weights_`` are its memory.

    ``to_sklearn()`` returns a scikit-learn ``LogisticRegression`` (or ``SGDClassifier``, or for
    regression ``LinearRegression``/``SGDRegressor``) with this model's parameters: its
    ``predict_proba`` equals this one's."""

    _learns = True

    def __init__(self, k=1000, *, classes=None, task=None, **settings):
        super().__init__(k, classes=classes, task=task, **settings)

    def _model(self):
        snap = self._snap()
        lib = _library()
        outputs, dimension, loss = ctypes.c_int32(), ctypes.c_int64(), ctypes.c_int32()
        _check(lib.coreset_snapshot_model_shape(snap, ctypes.byref(outputs), ctypes.byref(dimension), ctypes.byref(loss)))
        w = np.zeros(outputs.value * dimension.value, dtype=np.float64)
        b = np.zeros(outputs.value, dtype=np.float64)
        _check(lib.coreset_snapshot_model_parameters(snap, _ptr(w, ctypes.c_double), _ptr(b, ctypes.c_double)))
        return w.reshape(outputs.value, dimension.value), b, loss.value

    def _n_outputs(self):
        """Rows of coef_: 1 for logistic or squared loss, else one per class."""
        return len(self.classes_) if self.task == "multiclass" else 1

    @property
    def coef_(self):
        """Weights, shape (1, n_features) for two classes or regression, (n_classes, n_features)
        for more. Classes the model has not seen yet have zero weights (logit 0)."""
        w, _, _ = self._model()
        d = self.n_features_in_
        coef = np.zeros((self._n_outputs(), d))
        rows, cols = min(w.shape[0], coef.shape[0]), min(w.shape[1], d)
        coef[:rows, :cols] = w[:rows, :cols]
        return coef

    @property
    def intercept_(self):
        _, b, _ = self._model()
        out = np.zeros(self._n_outputs())
        out[:min(len(b), len(out))] = b[:len(out)]
        return out

    @property
    def progressive_loss_(self):
        """Mean loss of each row under the model before it learned from it."""
        return float(_library().coreset_snapshot_progressive_loss(self._snap()))

    def _predict(self, X, what, columns):
        snap = self._snap()
        X = _as_array(X)
        lib = _library()
        rows, cols = X.shape
        out = np.empty((rows, columns), dtype=np.float64)
        if _is_sparse(X):
            csr = X.tocsr()
            indptr = np.ascontiguousarray(csr.indptr, dtype=np.int64)
            indices = np.ascontiguousarray(csr.indices, dtype=np.int64)
            data = np.ascontiguousarray(csr.data, dtype=np.float64)
            code = lib.coreset_snapshot_predict_csr(snap, what, _ptr(indptr, ctypes.c_int64), _ptr(indices, ctypes.c_int64),
                                                    _ptr(data, ctypes.c_double), rows, cols, columns,
                                                    _ptr(out, ctypes.c_double))
        else:
            X = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
            code = lib.coreset_snapshot_predict_dense(snap, what, _ptr(X, ctypes.c_double), rows, cols, columns,
                                                      _ptr(out, ctypes.c_double))
        _check(code)
        return out

    def decision_function(self, X):
        """Linear outputs: shape (n,) for two classes or regression, (n, n_classes) for more."""
        outputs = self._model()[0].shape[0]
        z = self._predict(X, _lib.PREDICT_DECISION, outputs)
        if self.task == "multiclass":
            full = np.zeros((z.shape[0], len(self.classes_)))
            full[:, :z.shape[1]] = z[:, :len(self.classes_)]
            return full
        return z[:, 0]

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``."""
        if self.task == "regression":
            raise AttributeError("a regression learner has no predict_proba")
        return self._predict(X, _lib.PREDICT_PROBA, 2 if self.task == "binary" else len(self.classes_))

    def predict(self, X):
        if self.task == "regression":
            return self.decision_function(X)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def to_sklearn(self, kind="logistic"):
        """A fitted scikit-learn estimator with this model's parameters.

        kind: "logistic" (LogisticRegression) or "sgd" (SGDClassifier with log loss; two classes
        only, since its multiclass probabilities are one-vs-rest, not softmax). Regression gives
        LinearRegression ("logistic" or "linear") or SGDRegressor ("sgd")."""
        coef, intercept = self.coef_, self.intercept_
        if self.task == "regression":
            if kind == "sgd":
                from sklearn.linear_model import SGDRegressor
                model = SGDRegressor()
                model.t_ = 1.0
            else:
                from sklearn.linear_model import LinearRegression
                model = LinearRegression()
            model.coef_, model.intercept_ = coef[0].copy(), (intercept.copy() if kind == "sgd" else float(intercept[0]))
        elif kind == "logistic":
            from sklearn.linear_model import LogisticRegression
            model = LogisticRegression()
            model.coef_, model.intercept_ = coef, intercept
            model.classes_ = self.classes_.copy()
        elif kind == "sgd":
            if self.task != "binary":
                raise ValueError("SGDClassifier's multiclass probabilities are one-vs-rest, not this model's softmax: "
                                 "use kind='logistic'")
            from sklearn.linear_model import SGDClassifier
            model = SGDClassifier(loss="log_loss")
            model.coef_, model.intercept_ = coef, intercept
            model.classes_ = self.classes_.copy()
            model.t_ = 1.0
        else:
            raise ValueError(f"kind={kind!r} is not 'logistic' or 'sgd'")
        model.n_features_in_ = self.n_features_in_
        return model
