"""Reading coreset files written by the `coreset` command line (pure Python: no libCoresetC needed)."""
import numpy as np

__all__ = ["load_coreset"]


def _label(text):
    try:
        return float(text)
    except ValueError:
        return text


def load_coreset(path, n_features=None, sparse=True):
    """Read a LIBSVM coreset (`coreset select -o FILE`, the default format) with its weights.

    Each line is ``label j:v ... # id=N weight=W`` (features numbered from 1). Returns
    ``(X, y, weights, ids)``: X as a scipy CSR matrix (``sparse=False``: a dense numpy array) with
    ``n_features`` columns (default: the largest feature number in the file; pass the training data's
    dimension so test data lines up), y the labels (floats when all are numbers, else strings),
    ``weights`` the element weights (pass them as ``sample_weight``) and ``ids`` each element's
    position in the input stream (0-based: row ``ids[i]`` of the input file).

    Raises ValueError naming the line for a line without its ``# id=N weight=W`` comment or with a
    malformed feature.
    """
    rows, cols, vals, labels, weights, ids = [], [], [], [], [], []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            body, hash_sign, comment = line.partition("#")
            if not body.strip():
                continue  # blank lines and the '# coreset after ...' comments of --emit-every
            fields = dict(tok.split("=", 1) for tok in comment.split() if "=" in tok) if hash_sign else {}
            if "weight" not in fields or "id" not in fields:
                raise ValueError(f"{path}: line {number}: no '# id=N weight=W' comment (not a coreset file?)")
            tokens = body.split()
            # Coresets of older versions wrote `label:weight` as the first field.
            labels.append(_label(tokens[0].split(":", 1)[0]))
            weights.append(float(fields["weight"]))
            ids.append(int(fields["id"]))
            row = len(labels) - 1
            for tok in tokens[1:]:
                j, colon, v = tok.partition(":")
                try:
                    index, value = int(j), float(v)
                except ValueError:
                    index = 0
                if not colon or index < 1:
                    raise ValueError(f"{path}: line {number}: bad feature {tok!r} (expected j:v with j >= 1)")
                rows.append(row)
                cols.append(index - 1)
                vals.append(value)
    width = max(cols, default=-1) + 1
    if n_features is None:
        n_features = width
    elif width > n_features:
        raise ValueError(f"{path}: feature {width} is past n_features = {n_features}")
    y = np.array(labels, dtype=float if all(isinstance(v, float) for v in labels) else object)
    shape = (len(labels), n_features)
    if sparse:
        import scipy.sparse as sp
        X = sp.csr_matrix((np.array(vals), (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64))),
                          shape=shape)
    else:
        X = np.zeros(shape)
        X[rows, cols] = vals
    return X, y, np.array(weights), np.array(ids, dtype=np.int64)
