"""Block Minifloat (BM, Fox et al., ICLR 2021): the format, FP32 -> BM conversion, the exact (Kulisch) block
dot product and the binary32 accumulation across blocks (docs/spec.md, "Block Minifloat"), mirroring rtl/bm_mac.sv.

An element is a minifloat (sign, `e` exponent bits, `m` mantissa bits, subnormals, no Inf/NaN codes) with
exponent bias 2^(e-1); a block of K elements shares an 8-bit signed exponent `se` = floor(log2 max|x|)
(clamped to [-128, 127]), which places the block's largest element in the top binade of the minifloat:
    x = (-1)^s * sig * 2^(sh + lsb0),  sig = [E != 0] * 2^m + mantissa,  sh = max(E, 1) - 1,
    lsb0 = se + 2 - 2 * 2^(e-1) - m      (the exponent of the smallest element's LSB)
The product of two elements is an integer sig_a*sig_b shifted by sh_a + sh_b, so a block's dot product is a
fixed-point (Kulisch) sum, exact in `kulisch_bits(fa, fb, K)` bits (spec section BM.3 proves the width).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import lfsr
from .bfp import FLAG_INVALID, FLAG_OVERFLOW, bits_float32, float32_bits
from .pe import accumulate, term_fp32

RNE, SR = 1, 3  # the codes models.fp2bfp uses for the same rules
ROUNDING_BY_NAME = {"RNE": RNE, "SR": SR}
SE_MIN, SE_MAX = -128, 127  # the shared exponent's range (8-bit signed)
SH_CLAMP = 24 + lfsr.WIDTH + 1  # past this right shift every rounding mode gives 0 (as models.fp2bfp)


@dataclass(frozen=True)
class Minifloat:
    """An element format: 1 sign bit, `e` exponent bits (bias 2^(e-1)), `m` mantissa bits."""
    e: int
    m: int

    def __post_init__(self):
        if not (1 <= self.e <= 5 and 1 <= self.m <= 10):
            raise ValueError(f"unsupported minifloat e{self.e}m{self.m}")

    @property
    def name(self) -> str:
        return f"e{self.e}m{self.m}"

    @property
    def bits(self) -> int:
        return 1 + self.e + self.m

    @property
    def bias(self) -> int:
        return 1 << (self.e - 1)

    @property
    def emax(self) -> int:  # the authors' emax = 2^e - 1 - 2^(e-1)
        return self.bias - 1

    @property
    def emin(self) -> int:  # the authors' emin = -2^(e-1); emin + 1 is the subnormals' exponent
        return -self.bias

    @property
    def sig_max(self) -> int:
        return (1 << (self.m + 1)) - 1

    @property
    def sh_max(self) -> int:  # largest alignment shift of an element, max(E, 1) - 1
        return (1 << self.e) - 2

    def max_value(self) -> float:
        """2^emax (2 - 2^-m): the largest magnitude, relative to 2^offset."""
        return 2.0 ** self.emax * (2 - 2.0 ** -self.m)


E2M5, E4M3, E2M3, E3M2 = Minifloat(2, 5), Minifloat(4, 3), Minifloat(2, 3), Minifloat(3, 2)
# family -> (format of activations and weights, format of error gradients)
FAMILIES = {"BM8": (E2M5, E4M3), "BM6": (E2M3, E3M2)}


def fmt_of(f) -> Minifloat:
    if isinstance(f, Minifloat):
        return f
    if isinstance(f, str) and f[0] == "e" and "m" in f:
        e, m = f[1:].split("m")
        return Minifloat(int(e), int(m))
    raise ValueError(f"not a minifloat format: {f!r}")


def kulisch_bits(fa: Minifloat, fb: Minifloat, block: int) -> int:
    """Signed bits that hold every block dot product exactly: |P| <= K sig_max_a sig_max_b 2^(sh_max_a +
    sh_max_b), reached when every element is the largest code, plus a sign bit (spec section BM.3)."""
    bound = block * fa.sig_max * fb.sig_max << (fa.sh_max + fb.sh_max)
    return bound.bit_length() + 1


def unit_kulisch_bits(fx: Minifloat, fg: Minifloat, block: int) -> int:
    """The Kulisch width of a bm_mac whose A is eXmX or eGmG (per beat) and B eXmX: the wider pair's."""
    return max(kulisch_bits(fx, fx, block), kulisch_bits(fg, fx, block))


@dataclass
class BMTensor:
    """Blocks of minifloats along the last axis.

    se:    (..., nblocks)     shared exponents, -128..127
    sign, expf, man: (..., nblocks, K) element fields (canonical: sign 0 where the value is 0)
    flags: (..., nblocks)     FLAG_INVALID | FLAG_OVERFLOW
    fmt:   the element format of every block
    """
    se: np.ndarray
    sign: np.ndarray
    expf: np.ndarray
    man: np.ndarray
    flags: np.ndarray
    fmt: Minifloat

    @property
    def block(self) -> int:
        return self.man.shape[-1]

    def sig(self) -> np.ndarray:
        """Significands with the hidden bit (0 for subnormal codes), int64."""
        return np.where(self.expf != 0, 1 << self.fmt.m, 0) + self.man.astype(np.int64)

    def shift(self) -> np.ndarray:
        """Each element's alignment shift max(E, 1) - 1 (its LSB above the block's lsb0)."""
        return np.maximum(self.expf.astype(np.int64), 1) - 1

    def lsb0(self) -> np.ndarray:
        """Per block: the exponent of an LSB at shift 0, se + 2 - 2 bias - m."""
        return self.se.astype(np.int64) + 2 - 2 * self.fmt.bias - self.fmt.m

    def signed_fixed(self) -> np.ndarray:
        """Element values in units of 2^lsb0, int64: (-1)^s sig 2^sh."""
        v = self.sig() << self.shift()
        return np.where(self.sign.astype(bool), -v, v)

    def codes(self) -> np.ndarray:
        """Element bit patterns {sign, expf, man}."""
        f = self.fmt
        return ((self.sign.astype(np.int64) << (f.e + f.m)) | (self.expf.astype(np.int64) << f.m)
                | self.man.astype(np.int64))

    @classmethod
    def from_codes(cls, codes, se, flags, fmt: Minifloat) -> "BMTensor":
        c = np.asarray(codes, np.int64)
        return cls(np.asarray(se, np.int64), (c >> (fmt.e + fmt.m)) & 1, (c >> fmt.m) & ((1 << fmt.e) - 1),
                   c & ((1 << fmt.m) - 1), np.asarray(flags, np.uint8), fmt)

    def to_float32(self) -> np.ndarray:
        """Exact decode, shape (..., nblocks*K). Exact in binary32: at most 11 significant bits and an LSB no
        smaller than 2^-(128 + 2 bias - 2 + m) >= 2^-149 for the formats here (checked)."""
        assert -128 + 2 - 2 * self.fmt.bias - self.fmt.m >= -149
        v = np.ldexp(self.signed_fixed().astype(np.float64), self.lsb0()[..., None])
        out = v.astype(np.float32)
        return out.reshape(*out.shape[:-2], -1)

    def __getitem__(self, idx) -> "BMTensor":
        return BMTensor(self.se[idx], self.sign[idx], self.expf[idx], self.man[idx], self.flags[idx], self.fmt)


# --- FP32 -> BM ------------------------------------------------------------------------------------------
def _blocks(x, block: int) -> np.ndarray:
    bits = float32_bits(x).astype(np.int64)
    if bits.ndim == 0:
        bits = bits[None]
    pad = (-bits.shape[-1]) % block
    if pad:
        bits = np.concatenate([bits, np.zeros(bits.shape[:-1] + (pad,), np.int64)], axis=-1)
    return bits.reshape(*bits.shape[:-1], -1, block)


def floor_log2(bits: np.ndarray) -> np.ndarray:
    """floor(log2 |x|) of binary32 bit patterns; zeros and NaNs give -1000 (never the max), Inf +1000."""
    e = (bits >> 23) & 0xFF
    frac = bits & 0x7FFFFF
    sub = np.frexp(np.maximum(frac, 1).astype(np.float64))[1].astype(np.int64) - 1 - 149  # bit length - 1
    out = np.where(e == 0, np.where(frac == 0, -1000, sub), e - 127)
    return np.where(e == 255, np.where(frac == 0, 1000, -1000), out)


def quantize(x, fmt, rounding=SR, block: int = 48, seed: int = lfsr.DEFAULT_SEED, first_block: int = 0,
             sr_width: int = lfsr.DEFAULT_SR_BITS) -> BMTensor:
    """Convert x (binary32 values, any shape) to BM blocks of `block` along its last axis (zero-padded).

    For SR, the blocks (C order over the leading axes) take the LFSR bits of block numbers first_block,
    first_block+1, ... after loading `seed`, lane i = element i of its block (models.lfsr, as fp2bfp)."""
    f = fmt_of(fmt)
    rounding = ROUNDING_BY_NAME[rounding.upper()] if isinstance(rounding, str) else int(rounding)
    if rounding not in (RNE, SR):
        raise ValueError("Block Minifloat rounds by SR or RNE")
    bits = _blocks(x, block)
    sign = bits >> 31
    e32 = (bits >> 23) & 0xFF
    frac = bits & 0x7FFFFF
    is_nan = (e32 == 255) & (frac != 0)
    is_inf = (e32 == 255) & (frac == 0)
    l2 = floor_log2(bits)
    se = np.clip(l2.max(axis=-1), SE_MIN, SE_MAX)
    offset = se - f.emax
    e = np.clip(l2 - offset[..., None], f.emin + 1, f.emax)  # the element's binade, relative to 2^offset
    sig = np.where(is_nan | is_inf, 0, np.where(e32 == 0, frac, frac | (1 << 23)))
    lsb32 = np.maximum(e32, 1) - 150
    # q = round(sig * 2^(lsb32 - (e - m + offset))): a right shift by s > 0 (spec section BM.2)
    s = (e - f.m + offset[..., None]) - lsb32
    assert np.all(s[sig != 0] > 0)
    s = np.clip(s, 1, SH_CLAMP)
    if rounding == RNE:
        q = sig >> s
        rem = sig & ((np.int64(1) << s) - 1)
        half = np.int64(1) << (s - 1)
        q = q + ((rem > half) | ((rem == half) & (q & 1 == 1)))
    else:
        nblocks = int(np.prod(bits.shape[:-1]))
        rnd = lfsr.sr_bits(seed, first_block, nblocks, block, sr_width).reshape(bits.shape)
        q = (((sig << sr_width) >> s) + rnd) >> sr_width
    carry = q == (1 << (f.m + 1))  # rounded up into the next binade
    e = e + carry
    q = np.where(carry, 1 << f.m, q)
    sat = (e > f.emax) | is_inf
    e = np.where(sat, f.emax, e)
    q = np.where(sat, f.sig_max, q)
    normal = q >= (1 << f.m)
    expf = np.where(normal, e + f.bias, 0)
    man = q & ((1 << f.m) - 1)
    flags = np.where(is_nan.any(axis=-1), FLAG_INVALID, 0) | np.where(is_inf.any(axis=-1), FLAG_OVERFLOW, 0)
    return BMTensor(se.astype(np.int64), (sign & (q != 0)).astype(np.uint8), expf.astype(np.int64),
                    man.astype(np.int64), flags.astype(np.uint8), f)


class BlockMinifloat:
    """The converter with its state (as models.fp2bfp.Fp2Bfp): seed and blocks converted since its load."""

    def __init__(self, block: int = 48, seed: int = lfsr.DEFAULT_SEED, sr_width: int = lfsr.DEFAULT_SR_BITS):
        self.block, self.sr_width = block, sr_width
        self.load_seed(seed)

    def load_seed(self, seed: int) -> None:
        self.seed = int(seed) & 0xFFFF
        self.blocks_done = 0

    def __call__(self, x, fmt, rounding=SR) -> BMTensor:
        out = quantize(x, fmt, rounding, self.block, self.seed, self.blocks_done, self.sr_width)
        self.blocks_done += int(np.prod(out.se.shape))
        return out


# --- the dot product -------------------------------------------------------------------------------------
def block_dot(a: BMTensor, b: BMTensor) -> tuple[np.ndarray, np.ndarray]:
    """Kulisch block dot products of aligned block pairs (same shapes): P = sum (-1)^(sa^sb) sig_a sig_b
    2^(sh_a + sh_b) as int64 and the exponent X = lsb0_a + lsb0_b of its LSB."""
    p = (a.signed_fixed() * b.signed_fixed()).sum(axis=-1)
    return p, a.lsb0() + b.lsb0()


def block_products(a: BMTensor, b: BMTensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All block pairs of a GEMM. a: (M, nb, K) rows of A; b: (N, nb, K) columns of B. Returns P, X, flags,
    each (nb, M, N). P exact: a float64 matmul of integers whose partial sums stay below 2^53."""
    pa = np.moveaxis(a.signed_fixed().astype(np.float64), -2, 0)  # (nb, M, K)
    pb = np.moveaxis(b.signed_fixed().astype(np.float64), -2, 0)  # (nb, N, K)
    assert kulisch_bits(a.fmt, b.fmt, a.block) <= 53
    p = np.matmul(pa, np.swapaxes(pb, -1, -2)).astype(np.int64)
    x = a.lsb0().T[:, :, None] + b.lsb0().T[:, None, :]
    flags = a.flags.T[:, :, None] | b.flags.T[:, None, :]
    return p, x, flags


def bm_gemm(a: BMTensor, b: BMTensor) -> tuple[np.ndarray, np.ndarray]:
    """C = A x B on BM blocks: per block pair the exact Kulisch sum P * 2^X rounded once to binary32
    (nearest-even), then acc = fp32(acc + t) in ascending block order from +0 (spec section BM.4; the
    FlexBlock accumulator, models.pe). Returns (binary32 bits (M, N), flags (M, N))."""
    if a.se.shape[-1] != b.se.shape[-1] or a.block != b.block:
        raise ValueError("A and B must have the same blocks along the reduction axis")
    p, x, flags = block_products(a, b)
    return accumulate(term_fp32(p, x), flags)


def gemm(a, b, fmt_a, fmt_b, rounding=SR, block: int = 48, quantizer: BlockMinifloat | None = None):
    """Quantize binary32 A (M x Kdim, blocks along rows) and B (Kdim x N, blocks along columns), A first,
    with one converter, and multiply. Returns (C as float32, flags)."""
    q = quantizer or BlockMinifloat(block)
    qa = q(np.asarray(a, np.float32), fmt_a, rounding)
    qb = q(np.asarray(b, np.float32).T, fmt_b, rounding)
    bits, flags = bm_gemm(qa, qb)
    return bits_float32(bits), flags


# --- the hardware's schedule (rtl/bm_mac.sv; spec section BM.5) -------------------------------------------
# Rising edges from the one that takes a beat to the one that takes its result (when it is the last of its
# dot product and `out` is ready): beat -> stage 1 -> stage 2 (Kulisch sum) -> fp32_acc's term stage ->
# its sum stage and result push -> result taken.
MAC_LATENCY = 4


def mac_job_cycles(reductions: int, nblocks: int, latency: int = MAC_LATENCY) -> int:
    """Cycles of one bm_mac on `reductions` dot products of `nblocks` block pairs each, operands and results
    streaming without stalls: one block pair per cycle, counted as pe_array's jobs are, from the rising edge
    that takes the first beat to the one that takes the last result (tb/bm_mac_tests.py measures this)."""
    return reductions * max(nblocks, 1) + latency - 1


def array_cycles(m: int, kdim: int, n: int, rows: int = 4, cols: int = 4, block: int = 16,
                 latency: int = MAC_LATENCY) -> int:
    """An R x C array of bm_mac units, output-stationary, A's block broadcast along a row and B's along a
    column (as pe_array): ceil(M/R) ceil(N/C) tiles of ceil(Kdim/K) block pairs, one pair per cycle."""
    tiles = -(-m // rows) * -(-n // cols)
    return mac_job_cycles(tiles, -(-kdim // block), latency)


# --- the training interface (BRIEF.md) -------------------------------------------------------------------
class BMArithmetic:
    """BM training arithmetic: activations and weights in the family's first format, error gradients in its
    second, SR from the LFSR seeded per GEMM, binary32 out (the design computes C = A @ B)."""

    def __init__(self, family: str = "BM8", block: int = 48, rows: int = 4, cols: int = 4,
                 rounding=SR):
        self.fmt_x, self.fmt_g = FAMILIES[family]
        self.name = family if block == 48 else f"{family}-K{block}"
        self.block, self.rows, self.cols, self.rounding = block, rows, cols, rounding

    def configure(self, n_layers: int, n_steps: int) -> None:
        """BM has no precision schedule: the formats are fixed."""
        self.n_layers, self.n_steps = n_layers, n_steps

    def formats(self, pass_: str) -> tuple[Minifloat, Minifloat]:
        """(format of a, format of b): fp = act x W, bp = dZ x W^T, wg = act^T x dZ."""
        return {"fp": (self.fmt_x, self.fmt_x), "bp": (self.fmt_g, self.fmt_x),
                "wg": (self.fmt_x, self.fmt_g)}[pass_]

    def gemm(self, a, b, pass_: str, layer: int, step: int, seed: int) -> np.ndarray:
        fa, fb = self.formats(pass_)
        c, _ = gemm(a, b, fa, fb, self.rounding, self.block, BlockMinifloat(self.block, seed & 0xFFFF))
        return c.astype(np.float32)

    def cycles(self, m: int, kdim: int, n: int, pass_: str, layer: int) -> int:
        return array_cycles(m, kdim, n, self.rows, self.cols, self.block)
