"""Loads libCoresetC with ctypes and declares the functions of coreset.h."""
import ctypes
import os
from pathlib import Path

OK, ERROR_ARGUMENT, ERROR_DATA, ERROR_STATE = 0, 1, 2, 3
LOSS_LOGISTIC, LOSS_SOFTMAX, LOSS_SQUARED, LOSS_HINGE = 0, 1, 2, 3
PREDICT_DECISION, PREDICT_PROBA = 0, 1

_NAMES = ("libCoresetC.so", "libCoresetC.dylib")


def _candidates():
    env = os.environ.get("CORESET_LIBRARY")
    if env:
        # An explicit choice is the only one: a wrong path must fail, not fall back silently.
        return [Path(env)]
    here = Path(__file__).resolve().parent
    found = [here / n for n in _NAMES]
    repository = here.parent.parent  # python/pycoreset -> the repository, for a source checkout
    for config in ("release", "debug"):
        found += [repository / ".build" / config / n for n in _NAMES]
    return found


def load():
    tried = []
    for path in _candidates():
        tried.append(str(path))
        if path.is_file():
            return _declare(ctypes.CDLL(str(path)))
    raise OSError(
        "libCoresetC not found (tried: " + ", ".join(tried) + "). Build it with "
        "`swift build -c release --product CoresetC` in the repository and set CORESET_LIBRARY to the .so"
    )


def _declare(lib):
    c_int, i64, i32, dbl = ctypes.c_int, ctypes.c_int64, ctypes.c_int32, ctypes.c_double
    vp, dp, lp = ctypes.c_void_p, ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_int64)
    signatures = {
        "coreset_last_error": (ctypes.c_char_p, []),
        "coreset_version": (ctypes.c_char_p, []),
        "coreset_stage_create": (c_int, [ctypes.c_char_p, ctypes.POINTER(vp)]),
        "coreset_stage_free": (None, [vp]),
        "coreset_stage_push_dense": (c_int, [vp, dp, i64, i64, dp, dp]),
        "coreset_stage_push_csr": (c_int, [vp, lp, lp, dp, i64, i64, dp, dp]),
        "coreset_stage_push_text": (c_int, [vp, ctypes.c_char_p, ctypes.c_size_t]),
        "coreset_stage_finish": (c_int, [vp]),
        "coreset_stage_snapshot": (c_int, [vp, ctypes.POINTER(vp)]),
        "coreset_snapshot_free": (None, [vp]),
        "coreset_snapshot_records": (i64, [vp]),
        "coreset_snapshot_skipped": (i64, [vp]),
        "coreset_snapshot_count": (i64, [vp]),
        "coreset_snapshot_elements": (c_int, [vp, lp, dp, ctypes.POINTER(i32)]),
        "coreset_snapshot_progressive_loss": (dbl, [vp]),
        "coreset_snapshot_has_model": (c_int, [vp]),
        "coreset_snapshot_model_shape": (c_int, [vp, ctypes.POINTER(i32), lp, ctypes.POINTER(i32)]),
        "coreset_snapshot_model_parameters": (c_int, [vp, dp, dp]),
        "coreset_snapshot_predict_dense": (c_int, [vp, c_int, dp, i64, i64, i32, dp]),
        "coreset_snapshot_predict_csr": (c_int, [vp, c_int, lp, lp, dp, i64, i64, i32, dp]),
    }
    for name, (restype, argtypes) in signatures.items():
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = argtypes
    return lib
