"""An independent exact oracle for the FAST section of docs/spec.md, written from the spec text with Python
ints and fractions.Fraction. It shares no code with models/fast.py: binary32 rounding/addition and the LFSR
lanes are the generic oracle's (models/tests/oracle.py, itself independent of the model); the group
exponent, the 4-bit clamp, the rounding and the dot product are written here element by element.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from . import oracle

RTZ, RNE, RNA, SR = 0, 1, 2, 3


@dataclass
class Group:
    code: int
    base: int
    m: int
    sign: list[int] = field(default_factory=list)
    mag: list[int] = field(default_factory=list)
    flags: int = 0

    @property
    def exp(self) -> int:
        return self.base + self.code


def group_emax(bits: list[int]) -> int:
    """Largest exponent field, NaN ignored, Inf = 254, subnormal = 1, all zero/NaN = 0."""
    best = 0
    for b in bits:
        e = (b >> 23) & 0xFF
        f = b & 0x7FFFFF
        if e == 255:
            if f:
                continue
            e = 254
        elif e == 0:
            e = 1 if f else 0
        best = max(best, e)
    return best


def tensor_base(rows: list[list[int]], g: int) -> int:
    """4-bit exponents: max group exponent of the tensor minus 15, at least 0."""
    top = 0
    for row in rows:
        row = list(row) + [0] * ((-len(row)) % g)
        for j in range(0, len(row), g):
            top = max(top, group_emax(row[j:j + g]))
    return max(top - 15, 0)


def quantize_group(bits: list[int], m: int, rounding: int, exp_bits: int, base: int,
                   rnd: list[int] | None, r: int = 8) -> Group:
    emax = group_emax(bits)
    if exp_bits == 8:
        base, code = 0, emax
    else:
        code = min(max(emax - base, 0), 15)
    top = 2 ** m - 1
    lsb = oracle.pow2(base + code - 127 - (m - 1))
    out = Group(code, base, m)
    for i, b in enumerate(bits):
        s = b >> 31
        kind = oracle.f32_kind(b)
        if kind == "nan":
            out.flags |= oracle.INVALID
            q, s = 0, 0
        elif kind == "inf":
            out.flags |= oracle.OVERFLOW
            q = top
        else:
            v = abs(oracle.f32_value(b)) / lsb
            fl = v.numerator // v.denominator
            if rounding == RTZ:
                q = fl
            elif rounding == RNE:
                rem = v - fl
                q = fl + (1 if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and fl % 2 == 1) else 0)
            elif rounding == RNA:
                q = fl + (1 if v - fl >= Fraction(1, 2) else 0)
            else:
                w = v + Fraction(rnd[i], 2 ** r)
                q = w.numerator // w.denominator
            q = min(q, top)
        out.sign.append(s if q else 0)
        out.mag.append(q)
    return out


def quantize_rows(rows: list[list[int]], m: int, rounding: int, g: int = 16, exp_bits: int = 8,
                  base: int | None = None, seed: int = 0xACE1, first: int = 0, r: int = 8) -> list[list[Group]]:
    if exp_bits == 8:
        base = 0
    elif base is None:
        base = tensor_base(rows, g)
    lanes = oracle.LfsrLanes(seed, g, r)
    lanes.skip(first)
    out = []
    for row in rows:
        row = list(row) + [0] * ((-len(row)) % g)
        groups = []
        for j in range(0, len(row), g):
            rnd = lanes.next_block()
            groups.append(quantize_group(row[j:j + g], m, rounding, exp_bits, base, rnd, r))
        out.append(groups)
    return out


def dot(ga: Group, gb: Group) -> int:
    return sum((-1) ** (x ^ y) * p * q for x, p, y, q in zip(ga.sign, ga.mag, gb.sign, gb.mag))


def term(ga: Group, gb: Group) -> int:
    p = dot(ga, gb)
    x = ga.exp + gb.exp - 254 - (ga.m - 1) - (gb.m - 1)
    return 0 if p == 0 else oracle.round_f32(Fraction(p) * oracle.pow2(x))


def mac(a_groups: list[Group], b_groups: list[Group]) -> tuple[int, int]:
    flags = 0
    terms = []
    for ga, gb in zip(a_groups, b_groups):
        terms.append(term(ga, gb))
        flags |= ga.flags | gb.flags
    return oracle.accumulate(terms, flags)


def gemm(a_rows, b_cols, m_a, m_b, rounding, exp_bits, seed_a, seed_b, g=16):
    """C[i][j] bits from binary32 bit patterns: a_rows M x Kdim, b_cols N x Kdim."""
    qa = quantize_rows(a_rows, m_a, rounding, g, exp_bits, seed=seed_a)
    qb = quantize_rows(b_cols, m_b, rounding, g, exp_bits, seed=seed_b)
    return [[mac(ra, cb) for cb in qb] for ra in qa]
