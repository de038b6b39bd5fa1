"""A plain floating-point MAC (docs/spec.md, "Block Minifloat", area reference), mirroring rtl/fp_mac.sv.

Operands are IEEE-style floats with `e` exponent bits and `m` fraction bits (bias 2^(e-1) - 1, subnormals,
the all-ones exponent for Inf/NaN): FP8 E4M3 (e=4, m=3) and binary32 (e=8, m=23). Each product is exact,
rounded once to binary32 (fp32(P * 2^X), exact for FP8 operands) and added to the running binary32 sum,
acc = fp32(acc + t), from +0 in order (FlexBlock's accumulator, models.pe.accumulate). An Inf or NaN
operand's product counts as zero and is flagged: NaN, or Inf x 0, sets FLAG_INVALID; any other Inf sets
FLAG_OVERFLOW.
"""
from __future__ import annotations

import numpy as np

from .bfp import FLAG_INVALID, FLAG_OVERFLOW
from .pe import accumulate, term_fp32

FP8_E4M3 = (4, 3)
FP32 = (8, 23)


def decode(bits, e: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(sign, significand, LSB exponent, is Inf/NaN, is NaN) of every operand."""
    bits = np.asarray(bits, np.int64)
    sign = (bits >> (e + m)) & 1
    field = (bits >> m) & ((1 << e) - 1)
    frac = bits & ((1 << m) - 1)
    special = field == (1 << e) - 1
    sig = np.where(field == 0, frac, frac | (1 << m))
    lsb = np.maximum(field, 1) - ((1 << (e - 1)) - 1) - m
    return sign, sig, lsb, special, special & (frac != 0)


def terms(a, b, e: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(binary32 terms, flags) of element-wise products a * b."""
    sa, ga, xa, spa, na = decode(a, e, m)
    sb, gb, xb, spb, nb = decode(b, e, m)
    zero_a = (np.asarray(a, np.int64) & ((1 << (e + m)) - 1)) == 0
    zero_b = (np.asarray(b, np.int64) & ((1 << (e + m)) - 1)) == 0
    special = spa | spb
    p = np.where(special, 0, np.where(sa ^ sb, -(ga * gb), ga * gb))
    invalid = na | nb | (spa & zero_b) | (spb & zero_a)
    flags = np.where(invalid, FLAG_INVALID, 0) | np.where(special & ~invalid, FLAG_OVERFLOW, 0)
    return term_fp32(p, xa + xb), flags.astype(np.uint8)


def mac(a, b, e: int, m: int) -> tuple[int, int]:
    """One reduction over a 1-D sequence of operand pairs: (result bits, flags)."""
    t, f = terms(a, b, e, m)
    bits, flags = accumulate(t[:, None], f[:, None])
    return int(bits[0]), int(flags[0])


LATENCY = 2  # edges from taking a reduction's last pair to pushing its result (rtl/fp_mac.sv)


def job_cycles(pairs: int) -> int:
    """Cycles of `pairs` operand pairs streamed back to back (any split into reductions), results taken at
    once: from the edge that takes the first pair to the one that takes the last result."""
    return pairs + LATENCY
