"""The bfloat16 baseline MAC (docs/spec.md, "bfloat16 baseline"), mirroring rtl/bf16_mac.sv.

A beat is a group of N element pairs (bfloat16 bits). Each product is exact (8 x 8-bit significands) and
rounded once to binary32 (exact unless it falls below binary32's normal range or beyond its largest value);
the N products of a group are added in a pairwise tree of binary32 nearest-even additions,
((p0 + p1) + (p2 + p3)) for N = 4, and the group sum is added to the running sum, acc = fp32(acc + s),
from acc = +0, in beat order. NaN results are the canonical 0x7FC00000.
"""
from __future__ import annotations

import math

import numpy as np

from .bfp import FLAG_INVALID, FLAG_OVERFLOW

BF16_NAN = np.uint16(0x7FC0)
CANONICAL_NAN = np.uint32(0x7FC00000)


def to_bf16(x) -> np.ndarray:
    """FP32 -> bfloat16 bits, round to nearest even on the bit pattern: subnormals keep their bits (they
    round like any value: bfloat16 has binary32's exponent field), values at or beyond the largest
    bfloat16 plus half an ulp become +/-Inf, Inf stays Inf, NaN becomes the canonical 0x7FC0."""
    bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    nan = ((bits >> 23) & 0xFF == 0xFF) & (bits & 0x7FFFFF != 0)
    return np.where(nan, np.uint64(BF16_NAN), rounded).astype(np.uint16)


def bf16_to_f32(bits) -> np.ndarray:
    """bfloat16 bits -> their exact binary32 value."""
    return (np.asarray(bits, np.uint32) << 16).view(np.float32)


def products(a_bits, b_bits) -> np.ndarray:
    """fp32(a * b) of bfloat16 operands: the exact product (float64 holds it: 16-bit significand, exponent
    in [-266, 256]) rounded once to binary32. NaN x anything and 0 x Inf are NaN."""
    with np.errstate(over="ignore", invalid="ignore"):
        p = bf16_to_f32(a_bits).astype(np.float64) * bf16_to_f32(b_bits).astype(np.float64)
        return p.astype(np.float32)


def tree_sum(p) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise binary32 sum over the last axis (a power of two long): adjacent pairs, level by level.
    Returns (sum, whether any node, leaves included, was +/-Inf)."""
    p = np.asarray(p, np.float32)
    n = p.shape[-1]
    assert n & (n - 1) == 0, "the group size N must be a power of two"
    inf = np.isinf(p).any(axis=-1)
    with np.errstate(over="ignore", invalid="ignore"):
        while p.shape[-1] > 1:
            p = p[..., 0::2] + p[..., 1::2]
            inf |= np.isinf(p).any(axis=-1)
    return p[..., 0], inf


def mac(a_bits, b_bits) -> tuple[np.ndarray, np.ndarray]:
    """One reduction per leading index: a_bits, b_bits of shape (..., T, N) (T beats of N pairs).

    Returns (result bits uint32, NaN canonical; flags uint8: FLAG_INVALID if the result is NaN,
    FLAG_OVERFLOW if any product, tree node or partial sum was +/-Inf)."""
    s, inf = tree_sum(products(a_bits, b_bits))  # (..., T)
    acc = np.zeros(s.shape[:-1], np.float32)
    overflow = inf.any(axis=-1)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(s.shape[-1]):
            acc = acc + s[..., t]
            overflow |= np.isinf(acc)
    bits = np.array(acc, np.float32).view(np.uint32)
    nan = np.isnan(acc)
    bits[nan] = CANONICAL_NAN
    flags = np.where(nan, FLAG_INVALID, 0) | np.where(overflow, FLAG_OVERFLOW, 0)
    return bits, flags.astype(np.uint8)


def gemm(a, b, lanes: int = 4) -> np.ndarray:
    """C = A @ B (float32 in, binary32 out) as an array of bf16_mac units computes it: operands rounded
    to bfloat16, the reduction axis zero-padded to whole groups of `lanes`."""
    a16, b16 = to_bf16(a), to_bf16(b)
    m, k = a16.shape
    n = b16.shape[1]
    kp = -(-k // lanes) * lanes
    ap = np.zeros((m, kp), np.uint16)
    bp = np.zeros((kp, n), np.uint16)
    ap[:, :k], bp[:k] = a16, b16
    t = kp // lanes
    gb = bp.T.reshape(1, n, t, lanes)
    out = np.empty((m, n), np.uint32)
    rows = max(1, (1 << 20) // max(1, n * kp))  # bound the (rows, n, t, lanes) product arrays
    for i in range(0, m, rows):
        r = min(rows, m - i)
        ga = ap[i:i + r].reshape(r, 1, t, lanes)
        out[i:i + r] = mac(np.broadcast_to(ga, (r, n, t, lanes)), np.broadcast_to(gb, (r, n, t, lanes)))[0]
    return out.view(np.float32)


# --- cycle model ----------------------------------------------------------------------------------------
def latency(lanes: int = 4) -> int:
    """Edges from taking a reduction's last beat to pushing its result: the operand register, the product
    register and one register per tree level (rtl/bf16_mac.sv LATENCY = 2 + log2 N)."""
    return 2 + int(math.log2(lanes))


def fill(lanes: int = 4) -> int:
    """Cycles a job takes beyond its B back-to-back beats (B + fill from the edge taking the first beat to
    the edge taking the last result): the result is pushed LATENCY edges after the last beat and taken
    out of the FIFO at the next edge."""
    return latency(lanes)


def gemm_cycles(m: int, kdim: int, n: int, rows: int = 4, cols: int = 4, lanes: int = 4) -> int:
    """Cycles of an output-stationary rows x cols array of bf16_mac units (one output element each, one
    group of `lanes` pairs per cycle): every output tile takes ceil(Kdim / lanes) beats, back to back, then
    the pipeline drains (first operand beat taken -> last result taken)."""
    return math.ceil(m / rows) * math.ceil(n / cols) * math.ceil(kdim / lanes) + fill(lanes)


class BF16Arithmetic:
    """The training interface (the brief): every GEMM in bfloat16 x bfloat16 -> binary32."""

    name = "BF16"

    def __init__(self, rows: int = 4, cols: int = 4, lanes: int = 4):
        self.rows, self.cols, self.lanes = rows, cols, lanes

    def configure(self, n_layers: int, n_steps: int) -> None:
        pass  # no schedule: one precision throughout

    def gemm(self, a, b, pass_: str, layer: int, step: int, seed: int) -> np.ndarray:
        return gemm(np.asarray(a, np.float32), np.asarray(b, np.float32), self.lanes)

    def cycles(self, m: int, kdim: int, n: int, pass_: str, layer: int) -> int:
        return gemm_cycles(m, kdim, n, self.rows, self.cols, self.lanes)
