"""The stochastic-rounding random bits (docs/spec.md section 2): one 16-bit Galois LFSR per block lane.

Polynomial x^16 + x^14 + x^13 + x^11 + 1, right-shift form (taps 0xB400), period 65535. The RTL steps each
lane SR_BITS times per accepted block; the model jumps directly through the LFSR's orbit table.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

WIDTH = 16
TAPS = 0xB400
PERIOD = (1 << WIDTH) - 1
LANE_KEY = 0x9E37
DEFAULT_SEED = 0xACE1
DEFAULT_SR_BITS = 8


def step(state: int) -> int:
    """One LFSR step (the RTL's single-step function)."""
    lsb = state & 1
    state >>= 1
    return state ^ TAPS if lsb else state


def lane_seed(seed: int, lane) -> np.ndarray:
    """Initial state of lane(s) `lane` after loading `seed`: seed ^ ((lane+1)*0x9E37), 0 -> 0xFFFF."""
    s = (int(seed) ^ ((np.asarray(lane, dtype=np.int64) + 1) * LANE_KEY)) & 0xFFFF
    return np.where(s == 0, 0xFFFF, s)


@lru_cache(maxsize=1)
def _orbit() -> tuple[np.ndarray, np.ndarray]:
    """orbit[t] = state after t steps from 1; position[state] = t (every nonzero state is on the orbit)."""
    orbit = np.empty(PERIOD, dtype=np.int64)
    s = 1
    for t in range(PERIOD):
        orbit[t] = s
        s = step(s)
    assert s == 1, "the polynomial is not maximal"
    position = np.zeros(1 << WIDTH, dtype=np.int64)
    position[orbit] = np.arange(PERIOD)
    return orbit, position


def sr_bits(seed: int, first_block: int, nblocks: int, block: int, r: int = DEFAULT_SR_BITS) -> np.ndarray:
    """Random numbers rnd[n, i] (r bits) for blocks first_block .. first_block+nblocks-1 after a seed load,
    lane i = element position i in its block."""
    if not 1 <= r <= WIDTH:
        raise ValueError(f"SR bits must be 1..{WIDTH}, got {r}")
    orbit, position = _orbit()
    start = position[lane_seed(seed, np.arange(block))]  # (K,)
    n = np.arange(first_block, first_block + nblocks, dtype=np.int64)[:, None]
    states = orbit[(start[None, :] + n * r) % PERIOD]
    return states & ((1 << r) - 1)
