"""An independent exact oracle for docs/spec.md sections 1-3, written from the spec text with Python ints
and `fractions.Fraction`.

Nothing here calls the model's arithmetic (no numpy rounding, no orbit tables, no vectorized shifts): every
value is taken exactly from its binary32 bit pattern, scaled and rounded as a Fraction, and binary32 results
are rounded from Fractions by `round_f32`. Slow on purpose; the tests feed it small samples.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

W_OF_MODE = {0: 16, 1: 8, 2: 4, 3: 16}  # spec section 1; the reserved code 3 decodes as FB24
RTZ, RNE, RNA, SR = 0, 1, 2, 3
INVALID, OVERFLOW = 1, 2
CANONICAL_NAN = 0x7FC00000
POS_INF = 0x7F800000


def pow2(n: int) -> Fraction:
    return Fraction(1 << n) if n >= 0 else Fraction(1, 1 << -n)


def floor_frac(v: Fraction) -> int:
    return v.numerator // v.denominator


# --- binary32 fields, values and rounding ---------------------------------------------------------------
def f32_fields(bits: int) -> tuple[int, int, int]:
    bits = int(bits) & 0xFFFFFFFF
    return bits >> 31, (bits >> 23) & 0xFF, bits & 0x7FFFFF


def f32_kind(bits: int) -> str:
    _, e, f = f32_fields(bits)
    if e == 255:
        return "nan" if f else "inf"
    if e == 0:
        return "subnormal" if f else "zero"
    return "normal"


def f32_value(bits: int) -> Fraction:
    """Exact signed value of a finite binary32 bit pattern (zeros give 0)."""
    s, e, f = f32_fields(bits)
    assert e != 255, "not finite"
    mag = Fraction(f, 1 << 149) if e == 0 else Fraction(f | (1 << 23)) * pow2(e - 150)
    return -mag if s else mag


def round_f32(v: Fraction, zero_sign: int = 0) -> int:
    """Bits of v rounded once to binary32, nearest-even, subnormals kept, overflow to +/-Inf.
    An exact 0 gets sign `zero_sign`; a nonzero value rounding to 0 keeps its own sign."""
    if v == 0:
        return zero_sign << 31
    sign = 1 if v < 0 else 0
    a = -v if sign else v
    e = a.numerator.bit_length() - a.denominator.bit_length()  # floor(log2 a) or one more
    if pow2(e) > a:
        e -= 1
    e = max(e, -126)  # below 2^-126 the spacing stays 2^-149 (subnormals)
    scaled = a / pow2(e - 23)  # significand in units of the ulp, in [2^23, 2^24) for normals
    m = floor_frac(scaled)
    rem = scaled - m
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and m & 1):
        m += 1
    if m == 1 << 24:
        m, e = 1 << 23, e + 1
    if e > 127:
        return (sign << 31) | POS_INF
    if m < (1 << 23):  # subnormal (or zero): exponent field 0
        return (sign << 31) | m
    return (sign << 31) | ((e + 127) << 23) | (m - (1 << 23))


def add_f32(a: int, b: int) -> int:
    """binary32 a + b, nearest-even, from the exact sum. NaN results are canonical."""
    ka, kb = f32_kind(a), f32_kind(b)
    sa, sb = a >> 31 & 1, b >> 31 & 1
    if ka == "nan" or kb == "nan":
        return CANONICAL_NAN
    if ka == "inf" and kb == "inf":
        return a if sa == sb else CANONICAL_NAN
    if ka == "inf":
        return a
    if kb == "inf":
        return b
    exact = f32_value(a) + f32_value(b)
    # IEEE 754: an exact zero sum is +0 in round-to-nearest unless both operands are -0
    return round_f32(exact, zero_sign=sa & sb)


# --- the stochastic-rounding LFSR lanes, stepped one step at a time ------------------------------------
def lfsr_step(s: int) -> int:
    """Spec section 2: lsb = s & 1; s >>= 1; if lsb: s ^= 0xB400."""
    lsb = s & 1
    s >>= 1
    if lsb:
        s ^= 0xB400
    return s


def lane_seed(seed: int, lane: int) -> int:
    s = (seed & 0xFFFF) ^ (((lane + 1) * 0x9E37) % 65536)
    return 0xFFFF if s == 0 else s


class LfsrLanes:
    """K lanes after a seed load; `next_block()` gives one block's rnd values, then steps every lane r times."""

    def __init__(self, seed: int, lanes: int, r: int, step=lfsr_step):
        self.r, self.step = r, step
        self.states = [lane_seed(seed, i) for i in range(lanes)]

    def next_block(self) -> list[int]:
        rnd = [s & ((1 << self.r) - 1) for s in self.states]
        new = []
        for s in self.states:
            for _ in range(self.r):
                s = self.step(s)
            new.append(s)
        self.states = new
        return rnd

    def skip(self, nblocks: int) -> None:
        for _ in range(nblocks):
            self.next_block()


# --- FP32 -> BFP ---------------------------------------------------------------------------------------
@dataclass
class Block:
    exp: int
    sign: list[int] = field(default_factory=list)
    mag: list[int] = field(default_factory=list)
    flags: int = 0


def shared_exponent(bits: list[int]) -> int:
    e_max = 0
    for b in bits:
        kind = f32_kind(b)
        if kind == "nan":
            continue
        e = {"inf": 254, "zero": 0, "subnormal": 1}.get(kind, f32_fields(b)[1])
        e_max = max(e_max, e)
    return e_max


def round_mag(v: Fraction, rounding: int, rnd: int = 0, r: int = 8) -> int:
    """Round a nonnegative exact value to an integer."""
    fl = floor_frac(v)
    rem = v - fl
    if rounding == RTZ:
        return fl
    if rounding == RNE:
        return fl + (rem > Fraction(1, 2) or (rem == Fraction(1, 2) and fl & 1 == 1))
    if rounding == RNA:
        return fl + (rem >= Fraction(1, 2))
    if rounding == SR:
        return floor_frac(v + Fraction(rnd, 1 << r))
    raise ValueError(rounding)


def quantize_block(bits: list[int], mode: int, rounding: int, rnd: list[int] | None = None,
                   r: int = 8) -> Block:
    w = W_OF_MODE[mode]
    top = (1 << w) - 1
    e = shared_exponent(bits)
    scale = pow2((w - 1) - (e - 127))
    out = Block(e)
    for i, b in enumerate(bits):
        kind = f32_kind(b)
        s = f32_fields(b)[0]
        if kind == "nan":
            out.flags |= INVALID
            m, s = 0, 0
        elif kind == "inf":
            out.flags |= OVERFLOW
            m = top
        else:
            v = abs(f32_value(b)) * scale
            m = min(round_mag(v, rounding, rnd[i] if rounding == SR else 0, r), top)
        out.sign.append(s if m else 0)
        out.mag.append(m)
    return out


def quantize_rows(rows: list[list[int]], mode: int, rounding: int, block: int, lanes: LfsrLanes | None = None,
                  r: int = 8) -> list[list[Block]]:
    """rows: lists of binary32 bit patterns; each row zero-padded to whole blocks and cut into blocks.
    For SR, blocks take `lanes.next_block()` in row-major order."""
    out = []
    for row in rows:
        row = list(row) + [0] * ((-len(row)) % block)
        blocks = []
        for j in range(0, len(row), block):
            chunk = row[j:j + block]
            rnd = lanes.next_block() if rounding == SR else None
            blocks.append(quantize_block(chunk, mode, rounding, rnd, r))
        out.append(blocks)
    return out


def decode_block(blk: Block, mode: int) -> list[Fraction]:
    w = W_OF_MODE[mode]
    lsb = pow2(blk.exp - 127 - (w - 1))
    return [(-1 if s else 1) * m * lsb for s, m in zip(blk.sign, blk.mag)]


# --- block dot products and accumulation ---------------------------------------------------------------
def block_dot(sa, ma, sb, mb) -> int:
    return sum((-1 if (x ^ y) & 1 else 1) * int(p) * int(q) for x, p, y, q in zip(sa, ma, sb, mb))


def term_exponent(ea: int, eb: int, mode_a: int, mode_b: int) -> int:
    return ea + eb - 254 - (W_OF_MODE[mode_a] - 1) - (W_OF_MODE[mode_b] - 1)


def term_bits(p: int, x: int) -> int:
    return 0 if p == 0 else round_f32(Fraction(p) * pow2(x))


def accumulate(terms: list[int], in_flags: int = 0) -> tuple[int, int]:
    """terms: binary32 bits in reduction order. Returns (result bits, flags)."""
    acc, flags = 0, in_flags
    for t in terms:
        if f32_kind(t) == "inf":
            flags |= OVERFLOW
        acc = add_f32(acc, t)
        if f32_kind(acc) == "inf":
            flags |= OVERFLOW
    if f32_kind(acc) == "nan":
        acc, flags = CANONICAL_NAN, flags | INVALID
    return acc, flags


def bfp_gemm(a_rows: list[list[Block]], b_cols: list[list[Block]], mode_a: int, mode_b: int):
    """C[m][n] = reduction over k of term(a_rows[m][k] . b_cols[n][k]). Returns (bits, flags) nested lists."""
    bits, flags = [], []
    for ar in a_rows:
        rb, rf = [], []
        for bc in b_cols:
            terms, f = [], 0
            for ba, bb in zip(ar, bc):
                p = block_dot(ba.sign, ba.mag, bb.sign, bb.mag)
                terms.append(term_bits(p, term_exponent(ba.exp, bb.exp, mode_a, mode_b)))
                f |= ba.flags | bb.flags
            r, fl = accumulate(terms, f)
            rb.append(r)
            rf.append(fl)
        bits.append(rb)
        flags.append(rf)
    return bits, flags
