"""Input generators shared by the model tests: numpy-seeded structured blocks, adversarial blocks and
hypothesis strategies, all as binary32 bit patterns (uint32), plus comparison helpers."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from models import bits_float32

from . import oracle

MODES = (0, 1, 2, 3)  # FB24, FB16, FB12, reserved (= FB24)
ROUNDINGS = (0, 1, 2, 3)  # RTZ, RNE, RNA, SR
BLOCKS = (1, 4, 16, 54, 216)
W = oracle.W_OF_MODE


def hyp(max_examples: int, **kw):
    """Hypothesis settings for the model tests: no deadline (the oracle is slow), a fixed example budget."""
    return settings(max_examples=max_examples, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], **kw)


def f32(bits) -> np.ndarray:
    return bits_float32(np.asarray(bits, dtype=np.uint32))


def make_bits(sign, e, frac) -> np.ndarray:
    return ((np.asarray(sign, np.uint64) << 31) | (np.asarray(e, np.uint64) << 23)
            | np.asarray(frac, np.uint64)).astype(np.uint32)


# --- numpy-seeded structured random blocks ---------------------------------------------------------------
def random_bits(rng: np.random.Generator, shape, block: int, specials: bool = True) -> np.ndarray:
    """binary32 patterns of `shape` whose blocks (along the last axis, `block` wide) look like real data:
    per block a base exponent (uniform, sometimes 1, 254 or subnormal territory), elements spread below it
    by a per-block amount, and sprinkled zeros, -0, subnormals, NaNs, infinities and wild bit patterns."""
    shape = tuple(shape)
    n = int(np.prod(shape))
    nb = -(-n // block)
    base = rng.integers(1, 255, nb)
    pick = rng.random(nb)
    base = np.where(pick < 0.08, 254, np.where(pick < 0.16, 1, np.where(pick < 0.24, rng.integers(1, 30, nb), base)))
    spread = rng.choice([0, 1, 3, 8, 20, 40], nb)
    p_special = rng.choice([0.0, 0.0, 0.05, 0.3], nb) if specials else np.zeros(nb)
    base = np.repeat(base, block)[:n]
    spread = np.repeat(spread, block)[:n]
    p_special = np.repeat(p_special, block)[:n]
    e = base - np.floor(rng.random(n) * (spread + 1)).astype(np.int64)
    frac = rng.integers(0, 1 << 23, n)
    # frac patterns that stress rounding: all ones, zero, one, random low bits cleared
    fp = rng.random(n)
    frac = np.where(fp < 0.05, (1 << 23) - 1, np.where(fp < 0.08, 0, np.where(fp < 0.1, 1, frac)))
    frac = np.where((fp >= 0.1) & (fp < 0.2), frac & ~((1 << rng.integers(1, 23, n)) - 1), frac)
    e = np.where(e < 1, 0, e)  # fell below the normals: a subnormal
    sign = rng.integers(0, 2, n)
    bits = make_bits(sign, e, frac)
    kind = rng.random(n)
    special = rng.random(n) < p_special
    sp = np.select(
        [kind < 0.2, kind < 0.35, kind < 0.5, kind < 0.65, kind < 0.8, kind < 0.9],
        [make_bits(0, 0, 0), make_bits(1, 0, 0), make_bits(sign, 0, rng.integers(1, 1 << 23, n)),
         make_bits(sign, 255, rng.integers(1, 1 << 23, n)), make_bits(sign, 255, 0),
         make_bits(0, 255, 1 << 22)],
        rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32))
    bits = np.where(special, sp, bits).astype(np.uint32)
    return bits.reshape(shape)


# --- adversarial blocks ----------------------------------------------------------------------------------
def tie_blocks(rng: np.random.Generator, mode: int, block: int) -> np.ndarray:
    """Blocks whose elements sit exactly halfway between two magnitudes, at every rounding position a
    normal can have (s = 24 - W .. 24) and at the positions subnormals reach (s = E - 1 + 24 - W), with
    both parities of the truncated magnitude, in blocks of many exponents E (254 .. 1). Element 0 holds E.
    Returns (nblocks, block) bits."""
    w = W[mode]
    rows = []
    for e_blk in (254, 200, 127, 40, 30, 26, 25, 24, 10, 2, 1):
        cands = []
        for s in range(24 - w, 25):
            e = e_blk + 24 - w - s  # exponent field of an element whose scaled value is sig / 2^s
            if e < 1:
                continue
            lo = (1 << 23) >> s if s <= 23 else 0
            hi = (1 << 24) >> s
            qs = {lo, hi - 1, int(rng.integers(lo, hi)), lo + 1 if hi > lo + 1 else lo}
            for q in qs:
                sig = (q << s) | (1 << (s - 1))
                if (1 << 23) <= sig < (1 << 24):
                    cands.append(int(make_bits(int(rng.integers(0, 2)), e, sig - (1 << 23))))
        s_sub = e_blk - 1 + 24 - w  # every subnormal of the block
        if s_sub <= 23:
            for q in {0, 1, 2, 3, ((1 << 23) >> s_sub) - 1}:
                frac = (q << s_sub) | (1 << (s_sub - 1))
                if 0 < frac < (1 << 23):
                    cands.append(int(make_bits(int(rng.integers(0, 2)), 0, frac)))
        cands = np.array(cands, dtype=np.uint32)
        rng.shuffle(cands)
        if block == 1:  # a lone element is its block's maximum: its ties are at s = 24 - W
            rows.extend(np.array([[c] for c in cands if (c >> 23) & 0xFF == e_blk or
                                  (e_blk == 1 and (c >> 23) & 0xFF == 0)], np.uint32).reshape(-1, 1))
            continue
        head = make_bits(0, e_blk, int(rng.integers(0, 1 << 23)))
        for j in range(0, len(cands), block - 1):
            chunk = cands[j:j + block - 1]
            row = np.zeros(block, np.uint32)
            row[0] = head
            row[1:1 + len(chunk)] = chunk
            rows.append(row)
    return np.stack(rows)


def saturation_blocks(mode: int, block: int) -> np.ndarray:
    """Blocks whose largest element rounds up past 2^W - 1 under RNE/RNA (and SR with large rnd)."""
    w = W[mode]
    rows = []
    for e in (254, 127, 1):
        for frac in ((1 << 23) - 1, (1 << 23) - (1 << (23 - w)), (1 << 23) - (1 << (23 - w)) - 1,
                     (1 << 23) - (1 << (24 - w)) + 1):
            row = np.zeros(block, np.uint32)
            row[0] = make_bits(0, e, frac)
            if block > 1:
                row[1:] = make_bits(1, e, frac)
            rows.append(row)
    # subnormal-only block whose largest element has every bit set
    row = np.full(block, make_bits(1, 0, (1 << 23) - 1), np.uint32)
    rows.append(row)
    return np.stack(rows)


def special_blocks(block: int) -> np.ndarray:
    """All-zero, all -0, all-NaN, NaN+zeros, Inf, -Inf, NaN+Inf, huge-with-tiny, E=254, E=1 blocks."""
    z = np.zeros(block, np.uint32)
    rows = [z.copy(), np.full(block, 0x80000000, np.uint32), np.full(block, 0x7FC00000, np.uint32),
            np.full(block, 0xFFFFFFFF, np.uint32)]
    for first in (0x7FC00001, 0x7F800000, 0xFF800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x00800000, 0x00000001,
                  0x007FFFFF, 0x80000001, 0x7E800000, 0x3F800000):
        r = z.copy()
        r[0] = first
        rows.append(r)
        if block > 1:
            r = np.full(block, 0x00000001, np.uint32)  # tiny others
            r[0] = first
            r[-1] = 0x3F800001 if first != 0x3F800000 else 0x33800000
            rows.append(r)
    if block > 1:
        r = z.copy()
        r[0], r[1] = 0x7FC00000, 0xFF800000  # NaN and -Inf: both flags
        rows.append(r)
        r = np.full(block, 0x7F7FFFFF, np.uint32)  # E = 254, all max
        r[1] = 0x7F800000
        rows.append(r)
    return np.stack(rows)


# --- hypothesis strategies -------------------------------------------------------------------------------
@st.composite
def block_bits(draw, k: int) -> list[int]:
    """One block of k binary32 patterns, clustered around a drawn exponent, with specials."""
    base = draw(st.one_of(st.integers(1, 254), st.sampled_from([1, 2, 24, 25, 253, 254])))
    out = []
    for _ in range(k):
        kind = draw(st.sampled_from(["near"] * 8 + ["zero", "negzero", "sub", "nan", "inf", "wild"]))
        s = draw(st.integers(0, 1))
        if kind == "near":
            e = base - draw(st.one_of(st.integers(0, 3), st.integers(0, 40)))
            frac = draw(st.one_of(st.integers(0, (1 << 23) - 1),
                                  st.sampled_from([0, 1, (1 << 23) - 1, 1 << 22, (1 << 22) | 1])))
            out.append((s << 31) | (max(e, 0) << 23) | frac)
        elif kind == "zero":
            out.append(0)
        elif kind == "negzero":
            out.append(0x80000000)
        elif kind == "sub":
            out.append((s << 31) | draw(st.integers(1, (1 << 23) - 1)))
        elif kind == "nan":
            out.append((s << 31) | (0xFF << 23) | draw(st.integers(1, (1 << 23) - 1)))
        elif kind == "inf":
            out.append((s << 31) | (0xFF << 23))
        else:
            out.append(draw(st.integers(0, 0xFFFFFFFF)))
    return out


# --- comparing the model's BFPTensor with oracle blocks --------------------------------------------------
def oracle_quantize_array(bits: np.ndarray, mode: int, rounding: int, block: int, seed: int = 0xACE1,
                          first_block: int = 0, r: int = 8) -> list[oracle.Block]:
    """The oracle's blocks of an array of bit patterns (blocks along the last axis, leading axes in C order)."""
    bits = np.asarray(bits, np.uint32)
    rows = bits.reshape(-1, bits.shape[-1]).tolist()
    lanes = None
    if rounding == oracle.SR:
        lanes = oracle.LfsrLanes(seed, block, r)
        lanes.skip(first_block)
    return [b for row in oracle.quantize_rows(rows, mode, rounding, block, lanes, r) for b in row]


def assert_blocks_equal(q, expected: list[oracle.Block], bits: np.ndarray, what: str = "") -> None:
    """Every field of every block of BFPTensor q equals the oracle's; the message shows the first mismatch."""
    k = q.block
    exp = q.exp.reshape(-1).tolist()
    sign = q.sign.reshape(-1, k).tolist()
    mag = q.mag.reshape(-1, k).tolist()
    flags = q.flags.reshape(-1).tolist()
    assert len(exp) == len(expected), f"{what}: {len(exp)} blocks, oracle has {len(expected)}"
    flat = np.asarray(bits, np.uint32).reshape(-1, np.asarray(bits).shape[-1])
    per_row = -(-flat.shape[1] // k)
    for n, ob in enumerate(expected):
        got = (exp[n], sign[n], mag[n], flags[n])
        want = (ob.exp, ob.sign, ob.mag, ob.flags)
        if got != want:
            row = flat[n // per_row, (n % per_row) * k:(n % per_row + 1) * k]
            raise AssertionError(
                f"{what}: block {n} differs\n  input  {[f'{int(b):08x}' for b in row]}\n"
                f"  model  exp={got[0]} flags={got[3]} sign={got[1]} mag={got[2]}\n"
                f"  oracle exp={want[0]} flags={want[3]} sign={want[1]} mag={want[2]}")
