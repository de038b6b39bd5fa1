"""Block dot products and the binary32 accumulation (docs/spec.md section 3), mirroring rtl/pe.sv and
rtl/fp32_acc.sv."""
from __future__ import annotations

import numpy as np

from .bfp import FLAG_INVALID, FLAG_OVERFLOW, EXP_BIAS, mag_bits

CANONICAL_NAN = np.uint32(0x7FC00000)


def block_dot(sa, ma, sb, mb) -> np.ndarray:
    """Exact block dot product P = sum (-1)^(sa^sb) ma*mb over the last axis, int64."""
    a = np.where(np.asarray(sa).astype(bool), -np.asarray(ma, np.int64), np.asarray(ma, np.int64))
    b = np.where(np.asarray(sb).astype(bool), -np.asarray(mb, np.int64), np.asarray(mb, np.int64))
    return (a * b).sum(axis=-1)


def term_exponent(exp_a, exp_b, mode_a, mode_b) -> np.ndarray:
    """Unbiased power of two of P's LSB: Ea + Eb - 254 - (Wa - 1) - (Wb - 1)."""
    return (np.asarray(exp_a, np.int64) + np.asarray(exp_b, np.int64) - 2 * EXP_BIAS
            - (mag_bits(mode_a) - 1) - (mag_bits(mode_b) - 1))


def term_fp32(p, x) -> np.ndarray:
    """fp32(P * 2^X): one nearest-even rounding of the exact value. Exact via float64: |P| < 2^53 and
    P*2^X stays inside float64's normal range for every legal X (-284 .. 254)."""
    with np.errstate(over="ignore"):
        return np.ldexp(np.asarray(p, np.float64), np.asarray(x, np.int64)).astype(np.float32)


def accumulate(terms, in_flags=None) -> tuple[np.ndarray, np.ndarray]:
    """acc = fp32(acc + t) over axis 0 of `terms` (float32), from acc = +0, in order.

    Returns (result bits as uint32 with NaN canonical, flags). `in_flags` (same leading shape as terms)
    are the operand blocks' flags, ORed into the result's."""
    terms = np.asarray(terms, np.float32)
    acc = np.zeros(terms.shape[1:], np.float32)
    overflow = np.zeros(terms.shape[1:], bool)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in terms:
            acc = acc + t
            overflow |= np.isinf(t) | np.isinf(acc)
    bits = np.array(acc, np.float32).view(np.uint32)  # a copy; 0-d (not a numpy scalar) for 1-D terms
    nan = np.isnan(acc)
    bits[nan] = CANONICAL_NAN
    flags = np.where(nan, FLAG_INVALID, 0) | np.where(overflow, FLAG_OVERFLOW, 0)
    if in_flags is not None:
        flags = flags | np.bitwise_or.reduce(np.asarray(in_flags, np.uint8), axis=0)
    return bits, flags.astype(np.uint8)


ACC_LATENCY = 2  # edges from taking a reduction's last term to taking its result, out_ready high (rtl/fp32_acc.sv)


def acc_job_cycles(terms: int) -> int:
    """fp32_acc's cycles for `terms` terms streamed back to back (any split into reductions), results taken
    at once: from the edge that takes the first term to the one that takes the last result (one term per
    cycle, single-term reductions included: the output FIFO's 3 entries keep one result per cycle)."""
    return terms - 1 + ACC_LATENCY
