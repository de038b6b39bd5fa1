"""The core's dense operand packing (docs/spec.md section 6, "Operand word packing"; models.bfp.pack_dense /
unpack_dense, the layout rtl/flexblock_core.sv writes into its bfp_bank words) against an oracle written from
the spec text with Python ints: the block as one integer (exp, flags, then per element magnitude and sign at
the mode's width), cut into words of DW bits."""
from __future__ import annotations

import numpy as np
import pytest

from models import bfp, core
from models.bfp import FB12, FB16, FB24

W_OF_MODE = {FB24: 16, FB16: 8, FB12: 4, 3: 16}  # section 1, restated; the reserved code is FB24


def oracle_words(exp: int, sign: list, mag: list, flags: int, mode: int) -> list[int]:
    """Section 6's layout with Python ints: bits [7:0] E, [9:8] flags, element i at 10 + i (W + 1) (magnitude low,
    sign above), then words of ceil((10 + 17 K) / 3) bits, as many as the block needs."""
    w, k = W_OF_MODE[mode], len(mag)
    v = exp | flags << 8
    for i, (s, m) in enumerate(zip(sign, mag)):
        v |= (m | s << w) << (10 + i * (w + 1))
    bits = 10 + k * (w + 1)
    dw = -(-(10 + 17 * k) // 3)
    return [(v >> (j * dw)) & ((1 << dw) - 1) for j in range(-(-bits // dw))]


def random_block(rng, mode: int, k: int):
    w = W_OF_MODE[mode]
    mag = [int(v) for v in rng.integers(0, 1 << w, k)]
    mag[int(rng.integers(0, k))] = (1 << w) - 1  # an extreme: every bit of some field set
    sign = [int(s) if m else 0 for s, m in zip(rng.integers(0, 2, k), mag)]  # canonical zero
    return int(rng.integers(0, 256)), sign, mag, int(rng.integers(0, 4))


@pytest.mark.parametrize("k", [16, 32, 64])
@pytest.mark.parametrize("mode", [FB24, FB16, FB12, 3])
def test_pack_dense_vs_oracle(rng, mode, k):
    blocks = [random_block(rng, mode, k) for _ in range(12)]
    blocks.append((255, [1] * k, [(1 << W_OF_MODE[mode]) - 1] * k, 3))  # all ones
    blocks.append((0, [0] * k, [0] * k, 0))
    exp, sign, mag, flags = (np.array([b[i] for b in blocks]) for i in range(4))
    words = bfp.pack_dense(exp, sign, mag, flags, mode)
    for t, (e, s, m, f) in enumerate(blocks):
        want = oracle_words(e, s, m, f, mode)
        assert list(words[t]) == want, f"mode {mode} K {k} block {t}"
        got_e, got_s, got_m, got_f = bfp.unpack_dense(want, mode, k)
        assert (got_e, got_f) == (e, f) and got_s.tolist() == s and got_m.tolist() == m


def test_pack_dense_leading_axes(rng):
    """Vectorized over any leading axes: a (2, 3) array of blocks gives (2, 3, words)."""
    e = rng.integers(0, 256, (2, 3))
    m = rng.integers(0, 256, (2, 3, 16))
    s = np.where(m > 0, rng.integers(0, 2, (2, 3, 16)), 0)
    f = rng.integers(0, 4, (2, 3))
    words = bfp.pack_dense(e, s, m, f, FB16)
    assert words.shape == (2, 3, 2)
    for i in range(2):
        for j in range(3):
            assert list(words[i, j]) == oracle_words(int(e[i, j]), s[i, j].tolist(), m[i, j].tolist(), int(f[i, j]), FB16)


@pytest.mark.parametrize("k", [16, 32, 64, 128, 256, 1024, 1 << 15])
def test_words_per_block_every_legal_k(k):
    """K a power of two >= 16: FB12 fits one word (10 + 5K <= DW iff K >= 10), FB16 two (10 + 9K <= 2 DW iff
    K >= 10/7), FB24 three (by DW's definition), and none fits in fewer words."""
    dw = bfp.dense_word_bits(k)
    assert dw == -(-(10 + 17 * k) // 3)
    for mode, words in ((FB12, 1), (FB16, 2), (FB24, 3), (3, 3)):
        bits = 10 + k * (W_OF_MODE[mode] + 1)
        assert bfp.dense_block_bits(mode, k) == bits
        assert bfp.block_words(mode, k) == words
        assert (words - 1) * dw < bits <= words * dw
    assert 3 * dw - (10 + 17 * k) <= 2  # an FB24 block wastes at most 2 bits of its 3 words


def test_k16_figures():
    assert bfp.dense_word_bits(16) == 94
    assert [bfp.dense_block_bits(m) for m in (FB12, FB16, FB24)] == [90, 154, 282]
    assert core.block_bits(FB12) == 90 and core.block_bits(FB12, dense=False) == 282


@pytest.mark.parametrize("ma", [FB24, FB16, FB12])
@pytest.mark.parametrize("mb", [FB24, FB16, FB12])
def test_fetch_never_slower_than_the_array(ma, mb):
    """A block pair's fetch, max(wa, wb) cycles, never exceeds the array's cycles per pair (Wa/4)(Wb/4) (section
    6): so dense packing leaves every steady-state utilization unchanged."""
    f = core.fetch_cycles(ma, mb)
    assert f == max(bfp.block_words(ma), bfp.block_words(mb))
    assert f <= bfp.cycles_per_block(ma, mb)
