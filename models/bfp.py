"""The BFP format (docs/spec.md section 1): modes, the block container, port packing, exact decode."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FB24, FB16, FB12 = 0, 1, 2
MODE_NAMES = {FB24: "FB24", FB16: "FB16", FB12: "FB12"}
MODE_BY_NAME = {v: k for k, v in MODE_NAMES.items()}
MAG_PORT_BITS = 16  # every element's magnitude travels in a 16-bit port slot
EXP_BIAS = 127

FLAG_INVALID = 1  # a NaN was converted (or produced)
FLAG_OVERFLOW = 2  # an infinity was converted (or produced)


def mode_code(mode) -> int:
    """Mode code of a name ('FB16') or code; the reserved code 3 decodes as FB24 (spec section 1)."""
    if isinstance(mode, str):
        return MODE_BY_NAME[mode.upper()]
    mode = int(mode)
    if not 0 <= mode <= 3:
        raise ValueError(f"mode code {mode} is not a 2-bit code")
    return FB24 if mode == 3 else mode


def mag_bits(mode) -> int:
    """Magnitude bits W of a mode: 16, 8 or 4."""
    return 16 >> mode_code(mode)


def cycles_per_block(mode_a, mode_b, block: int = 16) -> int:
    """Cycles a PE spends on one block pair: (Wa/4)*(Wb/4) sub-multipliers per product, 16 per cycle."""
    return (mag_bits(mode_a) // 4) * (mag_bits(mode_b) // 4) * block // 16


@dataclass
class BFPTensor:
    """A tensor of blocks along its last axis.

    exp:   (..., nblocks)     shared biased exponents E, 0..254
    sign:  (..., nblocks, K)  0/1, canonical (0 where mag == 0)
    mag:   (..., nblocks, K)  magnitudes, 0 .. 2^W - 1
    flags: (..., nblocks)     FLAG_INVALID | FLAG_OVERFLOW
    mode:  the precision mode of every block
    """

    exp: np.ndarray
    sign: np.ndarray
    mag: np.ndarray
    flags: np.ndarray
    mode: int

    @property
    def block(self) -> int:
        return self.mag.shape[-1]

    @property
    def width(self) -> int:
        return mag_bits(self.mode)

    def signed_mag(self) -> np.ndarray:
        """Magnitudes with their signs applied, int64."""
        m = self.mag.astype(np.int64)
        return np.where(self.sign.astype(bool), -m, m)

    def lsb_exponent(self) -> np.ndarray:
        """Unbiased power of two of each block's LSB: E - 127 - (W - 1)."""
        return self.exp.astype(np.int64) - EXP_BIAS - (self.width - 1)

    def to_float32(self) -> np.ndarray:
        """Exact decode, shape (..., nblocks*K). Exact in binary32: at most 16 significant bits and an
        LSB no smaller than 2^-141."""
        v = np.ldexp(self.signed_mag().astype(np.float64), self.lsb_exponent()[..., None])
        out = v.astype(np.float32)
        return out.reshape(*out.shape[:-2], -1)

    def __getitem__(self, idx) -> "BFPTensor":
        """Select along the leading (non-block) axes."""
        return BFPTensor(self.exp[idx], self.sign[idx], self.mag[idx], self.flags[idx], self.mode)


def pack_block(sign, mag) -> tuple[int, int]:
    """(sign, mag) arrays of one block -> the port integers: sign bit i, mag bits [16i+15:16i]."""
    s = 0
    m = 0
    for i, (si, mi) in enumerate(zip(np.asarray(sign).tolist(), np.asarray(mag).tolist())):
        s |= (si & 1) << i
        m |= (mi & 0xFFFF) << (MAG_PORT_BITS * i)
    return s, m


def unpack_block(sign_port: int, mag_port: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """The port integers of one block -> (sign, mag) arrays of length `block`."""
    sign = np.array([(sign_port >> i) & 1 for i in range(block)], dtype=np.uint8)
    mag = np.array([(mag_port >> (MAG_PORT_BITS * i)) & 0xFFFF for i in range(block)], dtype=np.int64)
    return sign, mag


# --- dense operand packing (spec section 6, "Operand word packing"): the core's BFP banks ----------------------
# A block in mode W is packed in 8 + 2 + K (W + 1) bits (90 / 154 / 282 for K = 16): bits [7:0] the exponent E,
# [9:8] the flags {overflow, invalid}, then element i at bit 10 + i (W + 1): its magnitude in the low W bits and
# its sign above them. The banks hold words of DW = ceil((10 + 17 K) / 3) bits (94 for K = 16); a block takes
# block_words(mode) of them (FB12 1, FB16 2, FB24 3), word j = bits [j DW, (j + 1) DW) of the packed block, the
# bits above the block 0.
def dense_block_bits(mode, block: int = 16) -> int:
    """Bits of one densely packed block: exponent, flags and `block` elements of sign + W magnitude bits."""
    return 8 + 2 + block * (mag_bits(mode) + 1)


def dense_word_bits(block: int = 16) -> int:
    """DW, the BFP banks' word: a third of an FB24 block, rounded up (94 bits for K = 16)."""
    return -(-dense_block_bits(FB24, block) // 3)


def block_words(mode, block: int = 16) -> int:
    """Bank words of one block: ceil(dense bits / DW); 1 (FB12), 2 (FB16), 3 (FB24) for every K >= 10."""
    return -(-dense_block_bits(mode, block) // dense_word_bits(block))


def _dense_fields(mode, block: int):
    w = mag_bits(mode)
    pos = 10 + np.arange(block) * (w + 1)  # each element's first (magnitude LSB) bit
    return w, pos


def pack_dense(exp, sign, mag, flags, mode) -> np.ndarray:
    """Blocks (exp (...), sign and mag (..., K), flags (...)) -> their bank words, an object array (..., words)
    of Python ints of DW bits each (vectorized over the blocks: a bit matrix, packed per word)."""
    sign, mag = np.asarray(sign, np.int64), np.asarray(mag, np.int64)
    block = mag.shape[-1]
    lead = mag.shape[:-1]
    w, pos = _dense_fields(mode, block)
    dw, nw = dense_word_bits(block), block_words(mode, block)
    bits = np.zeros(lead + (nw * dw,), np.uint8)
    shifts = np.arange(8)
    bits[..., 0:8] = (np.asarray(exp, np.int64)[..., None] >> shifts) & 1
    bits[..., 8:10] = (np.asarray(flags, np.int64)[..., None] >> np.arange(2)) & 1
    for b in range(w):
        bits[..., pos + b] = (mag >> b) & 1
    bits[..., pos + w] = sign & 1
    packed = np.packbits(bits.reshape(lead + (nw, dw)), axis=-1, bitorder="little")  # (..., nw, ceil(dw / 8))
    words = np.empty(lead + (nw,), object)
    words.reshape(-1)[:] = [int.from_bytes(b.tobytes(), "little") for b in packed.reshape(-1, packed.shape[-1])]
    return words


def unpack_dense(words, mode, block: int = 16) -> tuple[int, np.ndarray, np.ndarray, int]:
    """One block's bank words (a sequence of ints, word 0 first) -> (exp, sign (K,), mag (K,), flags)."""
    dw = dense_word_bits(block)
    v = 0
    for j, word in enumerate(words):
        v |= int(word) << (j * dw)
    w, pos = _dense_fields(mode, block)
    elems = [(v >> int(p)) & ((2 << w) - 1) for p in pos]
    sign = np.array([e >> w for e in elems], np.uint8)
    mag = np.array([e & ((1 << w) - 1) for e in elems], np.int64)
    return v & 0xFF, sign, mag, (v >> 8) & 3


def float32_bits(x) -> np.ndarray:
    """binary32 bit patterns of x (as uint32)."""
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32)).view(np.uint32)


def bits_float32(b) -> np.ndarray:
    """binary32 values of uint32 bit patterns."""
    return np.ascontiguousarray(np.asarray(b, dtype=np.uint32)).view(np.float32)
