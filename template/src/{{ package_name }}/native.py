"""XGBoost prediction through libxgboost's C API, without the Python wrapper.

``import xgboost`` also imports scikit-learn, SciPy and pandas when they are
installed (about 1.2 s and 90 MB here), which the endpoint never uses. The
endpoint only needs two calls of the well-kept C library the wrapper itself
uses: load a model file and ``XGBoosterPredictFromDense`` (the call behind
``Booster.inplace_predict``), so the probabilities are bit-for-bit the
wrapper's. When the shared library cannot be found, :func:`load_booster`
falls back to ``xgboost.Booster``.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Protocol

import numpy as np

_LIBRARY_NAMES = {
    "linux": "libxgboost.so",
    "darwin": "libxgboost.dylib",
    "win32": "xgboost.dll",
}
_PREDICT_CONFIG = json.dumps(
    {
        "type": 0,  # probabilities, as Booster.inplace_predict's default
        "training": False,
        "iteration_begin": 0,
        "iteration_end": 0,
        "missing": float("nan"),
        "strict_shape": False,
        "cache_id": 0,
    }
).encode()


class Booster(Protocol):
    """What the predictor needs from a booster."""

    def inplace_predict(self, data: np.ndarray) -> np.ndarray:
        """Probabilities for the rows of ``data``."""


def _library_path() -> Path | None:
    spec = importlib.util.find_spec("xgboost")
    if spec is None or not spec.submodule_search_locations:
        return None
    name = _LIBRARY_NAMES.get(sys.platform, "libxgboost.so")
    for location in spec.submodule_search_locations:
        for candidate in (Path(location) / "lib" / name, Path(location) / name):
            if candidate.is_file():
                return candidate
    return None


class NativeBooster:
    """A loaded model behind libxgboost's C API."""

    def __init__(self, library: ctypes.CDLL, model_file: Path) -> None:
        """Create a booster handle and load ``model_file`` into it."""
        self._lib = library
        self._handle = ctypes.c_void_p()
        self._check(
            library.XGBoosterCreate(
                None, ctypes.c_uint64(0), ctypes.byref(self._handle)
            )
        )
        self._check(library.XGBoosterLoadModel(self._handle, str(model_file).encode()))
        self._check(library.XGBoosterSetParam(self._handle, b"nthread", b"1"))

    def _check(self, code: int) -> None:
        if code != 0:
            message = self._lib.XGBGetLastError()
            raise RuntimeError(f"libxgboost: {message.decode(errors='replace')}")

    def inplace_predict(self, data: np.ndarray) -> np.ndarray:
        """Predict from a dense float matrix (NaN means missing)."""
        data = np.ascontiguousarray(data, dtype=np.float64)
        interface = json.dumps(data.__array_interface__).encode()
        shape = ctypes.POINTER(ctypes.c_uint64)()
        dims = ctypes.c_uint64()
        result = ctypes.POINTER(ctypes.c_float)()
        self._check(
            self._lib.XGBoosterPredictFromDense(
                self._handle,
                interface,
                _PREDICT_CONFIG,
                None,
                ctypes.byref(shape),
                ctypes.byref(dims),
                ctypes.byref(result),
            )
        )
        out_shape = tuple(int(shape[i]) for i in range(dims.value))
        size = int(np.prod(out_shape))
        # The result buffer belongs to libxgboost's thread-local store: copy it.
        values = np.ctypeslib.as_array(result, shape=(size,)).copy()
        return values.reshape(out_shape)

    def __del__(self) -> None:
        """Free the booster handle."""
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value:
            self._lib.XGBoosterFree(handle)


def load_booster(model_file: Path) -> Booster | Any:
    """The fastest available booster for ``model_file``."""
    path = _library_path()
    if path is not None:
        library = ctypes.CDLL(str(path))
        library.XGBGetLastError.restype = ctypes.c_char_p
        return NativeBooster(library, model_file)
    import xgboost  # noqa: PLC0415 - the slower fallback

    booster = xgboost.Booster(model_file=str(model_file))
    booster.set_param({"nthread": 1})
    return booster
