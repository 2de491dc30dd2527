"""The README's "Feeding a coreset to scikit-learn, XGBoost, LightGBM" example, run as written against the built
`coreset` command line, and pycoreset.load_coreset on its own."""
import os
import re
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import dump_svmlight_file, load_breast_cancer

import pycoreset

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SECTION = "## Feeding a coreset to scikit-learn, XGBoost, LightGBM"


def coreset_binary():
    """CORESET_BINARY, else the `coreset` next to CORESET_LIBRARY (tools/test sets it), else .build/debug."""
    candidates = [os.environ.get("CORESET_BINARY")]
    if os.environ.get("CORESET_LIBRARY"):
        candidates.append(str(Path(os.environ["CORESET_LIBRARY"]).parent / "coreset"))
    candidates.append(str(ROOT / ".build" / "debug" / "coreset"))
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    pytest.skip("no coreset binary (swift build, or set CORESET_BINARY)")


@pytest.fixture
def train_file(tmp_path, monkeypatch):
    """train.svm: breast cancer (569 rows, 30 features, labels +1/-1) in the working directory."""
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))
    dump_svmlight_file(X, np.where(y == 1, 1, -1), str(tmp_path / "train.svm"), zero_based=False)
    monkeypatch.chdir(tmp_path)
    return X, np.where(y == 1, 1.0, -1.0)


def readme_blocks():
    text = README.read_text()
    section = text[text.index(SECTION):]
    section = section[: section.index("\n## ", 1)]
    return (re.search(r"```sh\n(.*?)```", section, re.S).group(1),
            re.search(r"```python\n(.*?)```", section, re.S).group(1))


def test_readme_downstream_example_runs(train_file):
    pytest.importorskip("xgboost", reason="xgboost is not installed (pip install xgboost-cpu)")
    pytest.importorskip("lightgbm", reason="lightgbm is not installed (pip install lightgbm)")
    X_all, y_all = train_file
    binary = coreset_binary()
    shell, python = readme_blocks()
    commands = [line.split("#")[0].strip() for line in shell.splitlines() if line.strip()]
    assert len(commands) == 2 and all(c.startswith("coreset select") for c in commands)
    for command in commands:
        argv = shlex.split(command)
        done = subprocess.run([binary] + argv[1:] + ["-q"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    namespace = {}
    exec(compile(python, str(README), "exec"), namespace)
    # Every element is its row of train.svm, the weights total the rows, the models learned something.
    for name in ["coreset.svm", "coreset-trees.svm"]:
        X, y, w, ids = pycoreset.load_coreset(name, n_features=30)
        assert len(ids) == 100 and len(set(ids)) == 100
        assert np.allclose(X.toarray(), X_all[ids], atol=1e-6) and np.array_equal(y, y_all[ids])
        assert w.sum() == pytest.approx(569)
        for c in (-1.0, 1.0):
            assert w[y == c].sum() == pytest.approx((y_all == c).sum())
    for model in ["trees", "logistic", "light", "svm"]:
        assert namespace[model].score(X_all, y_all) > 0.85, model
    assert np.mean(namespace["boosted"].predict(X_all) == (y_all > 0)) > 0.85


def test_load_coreset_reads_and_refuses(tmp_path):
    path = tmp_path / "c.svm"
    path.write_text("-1 1:0.5 3:2 # id=7 weight=2.5\n# coreset after 10 records: 2 elements\n"
                    "1:4 2:1 # id=3 weight=1.5\n")
    X, y, w, ids = pycoreset.load_coreset(path, sparse=False)
    assert X.tolist() == [[0.5, 0, 2], [0, 1, 0]]
    assert y.tolist() == [-1.0, 1.0]  # an older `label:weight` first field gives its label
    assert w.tolist() == [2.5, 1.5] and ids.tolist() == [7, 3]
    assert pycoreset.load_coreset(path, n_features=5)[0].shape == (2, 5)
    path.write_text("-1 1:0.5\n")
    with pytest.raises(ValueError, match=r"line 1: no '# id=N weight=W' comment"):
        pycoreset.load_coreset(path)
    path.write_text("-1 0:0.5 # id=1 weight=1\n")
    with pytest.raises(ValueError, match=r"line 1: bad feature '0:0.5'"):
        pycoreset.load_coreset(path)
    path.write_text("-1 9:0.5 # id=1 weight=1\n")
    with pytest.raises(ValueError, match="feature 9 is past n_features = 3"):
        pycoreset.load_coreset(path, n_features=3)
