"""models.lfsr against a step-by-step simulation of the spec's LFSR lanes (docs/spec.md section 2)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import lfsr

from . import oracle
from .gen import hyp


def test_step_matches_spec_on_every_state():
    for s in range(1 << 16):
        assert lfsr.step(s) == oracle.lfsr_step(s), f"state {s:04x}"


def test_polynomial_is_maximal():
    s, seen = 1, set()
    for _ in range(lfsr.PERIOD):
        assert s not in seen and s != 0
        seen.add(s)
        s = oracle.lfsr_step(s)
    assert s == 1 and len(seen) == 65535
    assert oracle.lfsr_step(0) == 0  # why a zero lane seed must be replaced


@hyp(200)
@given(seed=st.integers(0, 0xFFFF), lane=st.integers(0, 300))
def test_lane_seed(seed, lane):
    assert int(lfsr.lane_seed(seed, lane)) == oracle.lane_seed(seed, lane)


def test_lane_seed_zero_rule():
    for lane in (0, 1, 15, 53, 215):
        seed = ((lane + 1) * 0x9E37) & 0xFFFF  # makes this lane's state 0
        assert int(lfsr.lane_seed(seed, lane)) == 0xFFFF
        got = lfsr.sr_bits(seed, 0, 3, lane + 1, 16)[:, lane].tolist()
        lanes = oracle.LfsrLanes(seed, lane + 1, 16)
        assert got == [lanes.next_block()[lane] for _ in range(3)]
        assert got[0] == 0xFFFF


def _simulated(seed, first_block, nblocks, block, r, step=lfsr.step):
    lanes = oracle.LfsrLanes(seed, block, r, step=step)
    lanes.skip(first_block)
    return [lanes.next_block() for _ in range(nblocks)]


@pytest.mark.parametrize("r", range(1, 17))
def test_sr_bits_vs_stepping(r, rng):
    seeds = [int(rng.integers(0, 1 << 16)), 0xACE1, 0x9E37]  # 0x9E37 zeroes lane 0
    for seed in seeds:
        first = int(rng.integers(0, 200))
        k = int(rng.integers(1, 7))
        want = _simulated(seed, first, 25, k, r)
        got = lfsr.sr_bits(seed, first, 25, k, r)
        assert got.shape == (25, k)
        assert got.tolist() == want, f"seed={seed:04x} first_block={first} K={k} r={r}"
        assert int(got.max()) < (1 << r)


@pytest.mark.parametrize("r,first", [(16, 4090), (8, 8185), (3, 21840)])
def test_sr_bits_across_the_period(r, first):
    """first_block * r crosses 65535 steps: the orbit jump must wrap like the real register."""
    want = _simulated(0x1234, first, 12, 2, r, step=oracle.lfsr_step)
    assert lfsr.sr_bits(0x1234, first, 12, 2, r).tolist() == want


def test_sr_bits_block_216_lanes(rng):
    seed = int(rng.integers(0, 1 << 16))
    assert lfsr.sr_bits(seed, 3, 4, 216, 8).tolist() == _simulated(seed, 3, 4, 216, 8)


@pytest.mark.parametrize("r", [0, 17, -1])
def test_sr_bits_rejects_widths(r):
    with pytest.raises(ValueError):
        lfsr.sr_bits(0xACE1, 0, 1, 4, r)


def test_defaults():
    assert lfsr.DEFAULT_SEED == 0xACE1 and lfsr.DEFAULT_SR_BITS == 8 and lfsr.TAPS == 0xB400
    assert np.asarray(lfsr.lane_seed(0xACE1, np.arange(4))).tolist() == [oracle.lane_seed(0xACE1, i) for i in range(4)]
