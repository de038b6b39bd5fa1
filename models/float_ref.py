"""Float references for error measurements (not bit-exact models of any unit)."""
from __future__ import annotations

import numpy as np

from .bfp import BFPTensor


def gemm_fp64(a, b) -> np.ndarray:
    """The unquantized product in float64."""
    return np.asarray(a, np.float64) @ np.asarray(b, np.float64)


def bfp_gemm_fp64(a: BFPTensor, b: BFPTensor) -> np.ndarray:
    """The product of the quantized operands in float64 (isolates the accumulation's rounding)."""
    fa = a.to_float32().astype(np.float64)
    fb = b.to_float32().astype(np.float64)
    return fa @ fb.T


def quantization_error(x, q: BFPTensor) -> np.ndarray:
    """Decoded minus original, float64, over the padded length."""
    xf = np.asarray(x, np.float64)
    pad = q.mag.shape[-2] * q.block - xf.shape[-1]
    if pad:
        xf = np.concatenate([xf, np.zeros(xf.shape[:-1] + (pad,))], axis=-1)
    return q.to_float32().astype(np.float64) - xf
