"""pycoreset against the built libCoresetC, on scikit-learn's bundled data sets (no download)."""
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.preprocessing import StandardScaler

import pycoreset

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def check_coreset(indices, weights, y, k, sample_weight=None):
    """k distinct valid row indices; per class the weights total the class's sample weight."""
    assert len(indices) == k and len(weights) == k
    assert len(np.unique(indices)) == k
    assert indices.min() >= 0 and indices.max() < len(y)
    assert np.all(weights > 0)
    sw = np.ones(len(y)) if sample_weight is None else sample_weight
    for c in np.unique(y):
        assert weights[y[indices] == c].sum() == pytest.approx(sw[y == c].sum(), rel=1e-9), f"class {c}"


def test_select_dense(cancer):
    X, y = cancer
    indices, weights = pycoreset.select(X, y, 50)
    check_coreset(indices, weights, y, 50)
    # Labels are mapped: strings work the same as their integer codes.
    names = np.array(["benign", "malignant"])[1 - y]
    again, w2 = pycoreset.select(X, names, 50)
    assert np.array_equal(np.sort(again), np.sort(indices))


def test_select_sampled_representatives(cancer):
    X, y = cancer
    medoids, wm = pycoreset.select(X, y, 50, space="feature")
    sampled, ws = pycoreset.select(X, y, 50, space="feature", representatives="sampled")
    check_coreset(sampled, ws, y, 50)
    # The same cells and weights, other rows standing for them.
    assert np.allclose(np.sort(ws), np.sort(wm))
    assert set(sampled.tolist()) != set(medoids.tolist())
    with pytest.raises(ValueError, match="representatives=middle is not one of medoids, sampled"):
        pycoreset.select(X, y, 50, representatives="middle")


def test_select_sample_weight_and_sparse(digits):
    X, y = digits
    sw = np.random.default_rng(0).uniform(0.5, 3.0, len(y))
    indices, weights = pycoreset.select(X, y, 100, sample_weight=sw)
    check_coreset(indices, weights, y, 100, sw)
    # A scipy sparse matrix (digits are ~50% zeros), unsorted and with a duplicate entry summed.
    S = sp.csr_matrix(X)
    indices, weights = pycoreset.select(S, y, 100, sample_weight=sw)
    check_coreset(indices, weights, y, 100, sw)
    coo = S.tocoo()
    order = np.random.default_rng(1).permutation(coo.nnz)
    shuffled = sp.coo_matrix((coo.data[order], (coo.row[order], coo.col[order])), shape=S.shape).tocsc()
    i2, w2 = pycoreset.select(shuffled, y, 100, sample_weight=sw)
    assert np.array_equal(i2, indices) and np.array_equal(w2, weights)


def test_streaming_equals_select_on_the_concatenation(cancer):
    X, y = cancer
    whole = pycoreset.select(X, y, 40, seed=7, algorithm="three-sieves")
    # classes= up front: the first batch holds one class only.
    stream = pycoreset.StreamingCoreset(40, classes=[0, 1], seed=7, algorithm="three-sieves")
    for start, stop in [(0, 1), (1, 100), (100, 333), (333, len(y))]:
        stream.partial_fit(X[start:stop], y[start:stop])
    stream.finish()
    assert stream.n_seen_ == len(y)
    assert np.array_equal(stream.coreset_, whole[0])
    assert np.array_equal(stream.weights_, whole[1])
    assert np.array_equal(stream.labels_, y[whole[0]])
    with pytest.raises(RuntimeError):
        stream.partial_fit(X[:5], y[:5])


class FakeTensor:
    """What the adapter needs of a torch tensor (torch itself is too large for CI): detach/cpu/numpy."""

    def __init__(self, a):
        self.a = a

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.a


def test_wrap_passes_batches_through(digits):
    X, y = digits
    loader = [(FakeTensor(X[i:i + 64]), FakeTensor(y[i:i + 64])) for i in range(0, len(y), 64)]
    stream = pycoreset.StreamingCoreset(60, classes=np.arange(10))
    seen = [len(b[1].a) for b in stream.wrap(loader)]
    assert sum(seen) == len(y)
    check_coreset(stream.coreset_, stream.weights_, y, 60)
    with pytest.raises(ValueError, match="batch must be"):
        list(pycoreset.StreamingCoreset(10).wrap([X[:3]]))


def test_bad_input_is_refused_with_a_message(cancer):
    X, y = cancer
    bad = X[:20].copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match=r"x\[3\]\[5\]"):
        pycoreset.select(bad, y[:20], 5)
    with pytest.raises(ValueError, match="unknown setting colour"):
        pycoreset.select(X, y, 5, colour="red")
    with pytest.raises(ValueError, match="k must be"):
        pycoreset.select(X, y, 0)
    stream = pycoreset.StreamingCoreset(5).partial_fit(X[:10], y[:10])
    with pytest.raises(ValueError, match="not one of the classes"):
        stream.partial_fit(X[:2], np.array([0, 7]))
    with pytest.raises(ValueError, match="labels are not integers"):
        pycoreset.select(X, y + 0.5, 5)
    with pytest.raises(ValueError, match="weights must be"):
        pycoreset.select(X, y, 5, sample_weight=-np.ones(len(y)))


def test_learner_binary_matches_sklearn(cancer):
    X, y = cancer
    learner = pycoreset.OnlineLearner(50, classes=[0, 1], seed=1)
    for i in range(0, len(y), 64):
        learner.partial_fit(X[i:i + 64], y[i:i + 64])
    p = learner.predict_proba(X)
    assert p.shape == (len(y), 2)
    assert np.mean(learner.predict(X) == y) > 0.9  # it learned: the majority class is 63%
    assert 0 < learner.progressive_loss_ < 0.4
    for kind in ("logistic", "sgd"):
        model = learner.to_sklearn(kind)
        assert np.allclose(model.predict_proba(X), p, rtol=0, atol=1e-12)
        assert np.array_equal(model.predict(X), learner.predict(X))
    # Sparse input predicts the same.
    assert np.allclose(learner.predict_proba(sp.csr_matrix(X)), p, rtol=0, atol=1e-12)
    check_coreset(learner.coreset_, learner.weights_, y, 50)


def test_learner_multiclass_matches_sklearn(digits):
    X, y = digits
    learner = pycoreset.OnlineLearner(100, classes=np.arange(10))
    # Class 9 arrives only in the last batch: before it, its coef_ row is zero, as the engine's logit.
    order = np.argsort(y == 9, kind="stable")
    X, y = X[order], y[order]
    learner.partial_fit(X[:1000], y[:1000])
    early = learner.predict_proba(X)
    assert np.allclose(learner.to_sklearn().predict_proba(X), early, rtol=0, atol=1e-12)
    assert np.all(learner.coef_[9] == 0)
    for i in range(1000, len(y), 200):
        learner.partial_fit(X[i:i + 200], y[i:i + 200])
    p = learner.predict_proba(X)
    assert p.shape == (len(y), 10) and np.allclose(p.sum(axis=1), 1)
    assert np.allclose(learner.to_sklearn().predict_proba(X), p, rtol=0, atol=1e-12)
    assert np.mean(learner.predict(X) == y) > 0.5  # one pass over class-sorted input; chance is 0.1
    with pytest.raises(ValueError, match="one-vs-rest"):
        learner.to_sklearn("sgd")


def test_learner_regression_matches_sklearn():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    learner = pycoreset.OnlineLearner(30, task="regression", eta0=0.02)
    learner.partial_fit(X, y)
    indices, weights = learner.coreset_, learner.weights_
    assert len(np.unique(indices)) == 30 and weights.sum() == pytest.approx(len(y), rel=1e-9)
    for kind in ("linear", "sgd"):
        assert np.allclose(learner.to_sklearn(kind).predict(X), learner.predict(X), rtol=1e-12, atol=1e-12)
    assert np.corrcoef(learner.predict(X), y)[0, 1] > 0.5


def test_readme_example_runs():
    text = README.read_text()
    section = text[text.index("### From C and Python"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(block, str(README), "exec"), {})
