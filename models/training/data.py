"""The data set: scikit-learn's bundled 8x8 digits. scikit-learn is imported here only, and only when the data
are first asked for (a simulation that replays training GEMMs pays for it; one that does not, never)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=1)
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (1797 images, no download), pixels / 16, fixed stratified split:
    1347 train / 450 test. Returns (x_train, y_train, x_test, y_test)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.25, random_state=0, stratify=d.target)
    return xtr, ytr.astype(np.int64), xte, yte.astype(np.int64)


def sklearn_version() -> str:
    import sklearn
    return sklearn.__version__
