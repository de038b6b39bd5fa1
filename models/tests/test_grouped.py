"""zero_setting_error by direct count; fake_quantize_grouped against manually built groups (docs/spec.md
section 2: the authors' 216 / 108 / 54-element groups)."""
from __future__ import annotations

import numpy as np
import pytest

import models as fb

from . import oracle
from .gen import MODES, f32, oracle_quantize_array, random_bits

GROUP = {0: 6, 1: 12, 2: 24, 3: 6}  # channels per group: FB24, FB16, FB12 (reserved = FB24)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rounding", [fb.RTZ, fb.RNE, fb.RNA, fb.SR])
def test_zero_setting_error(mode, rounding, rng):
    for k in (4, 16, 54):
        bits = random_bits(rng, (3, 100), k)
        q = fb.quantize(f32(bits), mode, rounding, k)
        want_blocks = oracle_quantize_array(bits, mode, rounding, k)
        mags = [m for b in want_blocks for m in b.mag]
        flat = np.concatenate([bits, np.zeros((3, (-100) % k), np.uint32)], 1).reshape(-1).tolist()
        counted = flushed = 0
        for b, m in zip(flat, mags):
            kind = oracle.f32_kind(b)
            if kind in ("zero", "nan"):
                continue
            counted += 1
            flushed += m == 0
        want = flushed / counted if counted else 0.0
        assert fb.zero_setting_error(f32(bits), q) == pytest.approx(want, abs=0, rel=1e-15)


def test_zero_setting_error_edges():
    z = np.zeros(32, np.float32)
    assert fb.zero_setting_error(z, fb.quantize(z, fb.FB12)) == 0.0
    x = np.array([np.nan, -0.0, 1.0, 2.0 ** -10, np.inf, 2.0 ** -200] + [0.0] * 10, np.float32)
    # FB12, E = 254 (Inf): everything finite flushes; nonzero non-NaN: 1.0, 2^-10, Inf, 2^-200(=0 in fp32)
    assert fb.zero_setting_error(x, fb.quantize(x, fb.FB12)) == 2 / 3
    x = np.array([1.0, 2.0 ** -10, 0.5, 0.0], np.float32)
    assert fb.zero_setting_error(x, fb.quantize(x, fb.FB12, block=4)) == 1 / 3
    assert fb.zero_setting_error(x, fb.quantize(x, fb.FB24, block=4)) == 0.0


def manual_groups(x, cg):
    """Rows of [1, cg, *rest] groups (channels zero-padded), n-major: list of (n, c0, flat bits)."""
    n, c = x.shape[:2]
    per = cg * int(np.prod(x.shape[2:], dtype=np.int64))
    out = []
    for i in range(n):
        for c0 in range(0, c, cg):
            chunk = x[i, c0:c0 + cg].reshape(-1)
            out.append((i, c0, np.concatenate([chunk, np.zeros(per - chunk.size, np.float32)])))
    return out, per


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(2, 5, 3, 3), (2, 13, 3, 3), (1, 30, 3, 3), (3, 7), (2, 25), (2, 50)])
def test_fake_quantize_grouped(mode, shape, rng):
    cg = GROUP[mode]
    bits = random_bits(rng, shape, 9 * cg if len(shape) == 4 else cg)
    x = f32(bits)
    for rounding in (fb.RTZ, fb.RNE, fb.SR):
        got = fb.fake_quantize_grouped(x, mode, rounding, seed=0x2468)
        assert got.shape == x.shape and got.dtype == np.float32
        groups, per = manual_groups(x, cg)
        assert per == (cg * 9 if len(shape) == 4 else cg)
        assert per == ({0: 54, 1: 108, 2: 216, 3: 54}[mode] if len(shape) == 4 else cg)
        lanes = oracle.LfsrLanes(0x2468, per, 8)
        for i, c0, g in groups:
            # the model's quantize on the hand-built group, and the oracle, SR bits in group order
            want = oracle.quantize_block(g.view(np.uint32).tolist(), mode, rounding,
                                         lanes.next_block() if rounding == fb.SR else None)
            vals = oracle.decode_block(want, mode)
            sub = got[i, c0:c0 + cg].reshape(-1)
            assert [oracle.f32_value(b) for b in sub.view(np.uint32).tolist()] == vals[:sub.size], \
                f"group n={i} c0={c0} rounding={rounding}"
            if rounding != fb.SR:
                direct = fb.quantize(g, mode, rounding, block=per).to_float32()[:sub.size]
                assert (direct.view(np.uint32) == sub.view(np.uint32)).all()
