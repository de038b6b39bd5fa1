"""GEMM on BFP operands, the function `pe_array` computes (docs/spec.md sections 3-4)."""
from __future__ import annotations

import numpy as np

import math

from . import lfsr
from .bfp import BFPTensor, bits_float32, cycles_per_block
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
    multiply them. Returns (C as float32, flags). One quantizer serves both operands, A first. `rounding`
    is one rounding mode for both or a pair (A's, B's)."""
    q = quantizer or Fp2Bfp(block, lfsr.DEFAULT_SEED)
    round_a, round_b = rounding if isinstance(rounding, (tuple, list)) else (rounding, rounding)
    qa = q(np.asarray(a, np.float32), mode_a, round_a)
    qb = q(np.asarray(b, np.float32).T, mode_b, round_b)
    bits, flags = bfp_gemm(qa, qb)
    return bits_float32(bits), flags


# Cycles a job adds to its schedule, counted from the rising edge that takes its configuration to the one
# that takes its last result (docs/spec.md section 4): 1 for the operand FIFO, 1 for the sequencer load,
# 4 for the PE pipeline's stages after the last step (multiply, block, term, sum and the result push).
ARRAY_FILL = 6


def gemm_schedule(m: int, kdim: int, n: int, mode_a, mode_b, rows: int = 4, cols: int = 4,
                  block: int = 16) -> int:
    """Cycles the sub-multipliers work on an M x Kdim x N GEMM on a rows x cols array: tiles x block pairs
    x cycles per block pair (`cycles_per_block`), Kdim padded to whole blocks, M and N to whole tiles."""
    tiles = math.ceil(m / rows) * math.ceil(n / cols)
    return tiles * math.ceil(kdim / block) * cycles_per_block(mode_a, mode_b, block)


def gemm_cycles(m: int, kdim: int, n: int, mode_a, mode_b, rows: int = 4, cols: int = 4,
                block: int = 16) -> int:
    """The job's cycles on the RTL when the operands keep up and the results are taken at once: the
    schedule plus ARRAY_FILL. The pe_array bench asserts this on every job run without idle gaps or
    back-pressure."""
    return gemm_schedule(m, kdim, n, mode_a, mode_b, rows, cols, block) + ARRAY_FILL
