"""GEMM on BFP operands, the function `pe_array` computes (docs/spec.md sections 3-4)."""
from __future__ import annotations

import numpy as np

from . import lfsr
from .bfp import BFPTensor, bits_float32
from .fp2bfp import RTZ, Fp2Bfp
from .pe import accumulate, term_exponent, term_fp32


def block_products(a: BFPTensor, b: BFPTensor) -> np.ndarray:
    """P[k, ..., m, n] = exact dot product of row m's and column n's k-th blocks, int64.

    a: (..., M, nb, K) blocks of A's rows; b: (..., N, nb, K) blocks of B's columns; leading axes are a
    batch of independent GEMMs. Computed as a float64 matmul, exact because every partial sum stays
    below 2^53."""
    sa = np.moveaxis(a.signed_mag().astype(np.float64), -2, -3)  # (..., nb, M, K)
    sb = np.moveaxis(b.signed_mag().astype(np.float64), -3, -1)  # (..., nb, K, N)
    return np.moveaxis(np.matmul(sa, sb), -3, 0).astype(np.int64)


def bfp_gemm(a: BFPTensor, b: BFPTensor) -> tuple[np.ndarray, np.ndarray]:
    """C = A x B with blocks along the reduction axis. Returns (C as binary32 bits (..., M, N), flags
    (..., M, N)); leading axes of a and b (the same) are a batch of independent GEMMs."""
    if a.exp.shape[-1] != b.exp.shape[-1] or a.block != b.block or a.exp.shape[:-2] != b.exp.shape[:-2]:
        raise ValueError("A and B must have the same blocks along the reduction axis (and batch axes)")
    p = block_products(a, b)
    k_first = lambda v: np.moveaxis(v, -1, 0)  # (..., M, nb) -> (nb, ..., M)
    x = term_exponent(k_first(a.exp)[..., :, None], k_first(b.exp)[..., None, :], a.mode, b.mode)
    flags = k_first(a.flags)[..., :, None] | k_first(b.flags)[..., None, :]
    return accumulate(term_fp32(p, x), flags)


def gemm(a, b, mode_a, mode_b, rounding=RTZ, block: int = 16, quantizer: Fp2Bfp | None = None):
    """Quantize binary32 A (M x Kdim, blocks along rows) and B (Kdim x N, blocks along columns) and
    multiply them. Returns (C as float32, flags). One quantizer serves both operands, A first."""
    q = quantizer or Fp2Bfp(block, lfsr.DEFAULT_SEED)
    qa = q(np.asarray(a, np.float32), mode_a, rounding)
    qb = q(np.asarray(b, np.float32).T, mode_b, rounding)
    bits, flags = bfp_gemm(qa, qb)
    return bits_float32(bits), flags
