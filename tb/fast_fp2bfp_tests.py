"""fast_fp2bfp tests. One alone: `make sim TOPLEVEL=fast_fp2bfp TESTCASE=<name> [SEED=n] [SIM=verilator]`."""
from __future__ import annotations

import cocotb
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import FlexBlockTest, WrongModelScoreboard
from fast_fp2bfp_env import (KINDS, FastFp2BfpEnv, FastFp2BfpScoreboard, GroupSequence, group_fields, params,
                             unpack_words)
from models import bits_float32, fast


class FastFp2BfpBase(FlexBlockTest):
    env_class = FastFp2BfpEnv
    kinds = ("random",)
    count = 200
    seed_every = 0
    roundings = (fast.RTZ, fast.RNE, fast.RNA, fast.SR)

    async def body(self):
        await self.run_sequence(GroupSequence("groups", seeds.scaled(self.count), kinds=self.kinds,
                                              roundings=self.roundings, seed_every=self.seed_every))


@pyuvm.test()
class RandomGroups(FastFp2BfpBase):
    """Random groups at every precision and rounding (changing between groups), random bases."""


@pyuvm.test()
class CornerGroups(FastFp2BfpBase):
    """Zero, NaN, Inf (with NaN), subnormal, tie, saturation, E = 254 and E = 1 groups, one huge element;
    with 4-bit exponents also bases that clamp the code down (saturation) and up (flush)."""
    kinds = KINDS
    count = 400


@pyuvm.test()
class SeedLoads(FastFp2BfpBase):
    """Stochastic rounding (8-bit LFSR noise) with seed loads between groups and in the cycle a group is
    taken."""
    kinds = ("random", "tie", "saturate")
    roundings = (fast.SR,)
    seed_every = 7


@pyuvm.test()
class BackPressure(FastFp2BfpBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(FastFp2BfpBase):
    count = 80
    idle, backpressure = "none", "heavy"


@pyuvm.test()
class ResetMidStream(FastFp2BfpBase):
    """A reset while groups are in flight: they are dropped and the LFSRs restart from SR_SEED."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(self.run_sequence(GroupSequence("before", seeds.scaled(80), kinds=("random", "tie"))))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(10, 60)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(GroupSequence("after", seeds.scaled(80), kinds=("random", "tie")))


class _SevenNoiseBitsScoreboard(WrongModelScoreboard, FastFp2BfpScoreboard):
    """A deliberately wrong model: stochastic rounding with 7 noise bits instead of SR_BITS (from the LFSR
    state each group was converted with)."""

    def corrupt(self, expected):
        g, ew = params()
        inp = expected["input"]
        seed, first = expected["sr_state"]
        q = fast.quantize(bits_float32(unpack_words(inp["data"], g)), expected["m"], inp["rounding"], g, ew,
                          base=None if ew == 8 else inp["base"], seed=seed, first_group=first, sr_bits=7)
        return {**expected, **group_fields(q, g)}


@pyuvm.test()
class ScoreboardCatchesWrongModel(FastFp2BfpBase):
    """The scoreboard, fed the wrong model above, must stop at the first output where the wrong model
    differs from the right one (fbuvm's WrongModelScoreboard), and for that reason only."""
    kinds = ("random", "tie")
    roundings = (fast.SR,)
    count = 40

    def build_phase(self):
        uvm_factory().set_type_override_by_type(FastFp2BfpScoreboard, _SevenNoiseBitsScoreboard)
        super().build_phase()
