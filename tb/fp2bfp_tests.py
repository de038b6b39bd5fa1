"""fp2bfp tests: variants of one base test (pyuvm factory style). Run one alone with
`make sim TOPLEVEL=fp2bfp TESTCASE=<name> [SEED=n] [SIM=verilator] [WAVES=1]`."""
from __future__ import annotations


import cocotb
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import FlexBlockTest, WrongModelScoreboard
from fp2bfp_env import BlockSequence, BoundarySequence, Fp2BfpEnv, Fp2BfpScoreboard, block_size, unpack_words
from models import Fp2Bfp, bits_float32
from models.fp2bfp import RNA, RNE




class Fp2BfpBase(FlexBlockTest):
    env_class = Fp2BfpEnv
    kinds = ("random",)
    count = 200
    seed_every = 0

    async def body(self):
        await self.run_sequence(BlockSequence("blocks", seeds.scaled(self.count), kinds=self.kinds,
                                              seed_every=self.seed_every))


@pyuvm.test()
class RandomBlocks(Fp2BfpBase):
    """Random blocks over every mode and rounding mode, changing between blocks."""


@pyuvm.test()
class CornerBlocks(Fp2BfpBase):
    """Zero, NaN, Inf, NaN with Inf, subnormal, tie, saturation, E=254 and E=1 blocks, and one huge element."""
    kinds = ("zero_block", "nan", "all_nan", "inf", "nan_inf", "subnormal", "tie", "saturate", "top", "bottom",
             "huge_tiny", "random")
    count = 300


@pyuvm.test()
class RoundingBoundaries(Fp2BfpBase):
    """Every mode and rounding: values one binary32 ulp below, at and above each rounding boundary (half an
    LSB, the saturation point, the flush-to-zero point), with the deciding bit at every depth below the
    LSB, past the 16 kept fraction bits included (fp2bfp_env.boundary_values); shared exponents at the
    bottom (subnormal elements), middle and top of the binary32 range."""

    async def body(self):
        await self.run_sequence(BoundarySequence("boundaries"))


@pyuvm.test()
class BackPressure(Fp2BfpBase):
    """Random idle gaps on the input and bursty back-pressure on the output."""
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(Fp2BfpBase):
    idle, backpressure = "none", "heavy"


@pyuvm.test()
class SeedLoads(Fp2BfpBase):
    """Stochastic rounding with seed loads between blocks and in the same cycle as a taken block."""
    kinds = ("random", "tie")
    seed_every = 7

    async def body(self):
        await self.run_sequence(BlockSequence("sr", seeds.scaled(self.count), roundings=(3,), kinds=self.kinds,
                                              seed_every=self.seed_every))


@pyuvm.test()
class ReservedMode(Fp2BfpBase):
    """Mode code 3 is reserved and converts as FB24."""

    async def body(self):
        await self.run_sequence(BlockSequence("reserved", seeds.scaled(50), modes=(0, 3), kinds=("random", "tie")))


@pyuvm.test()
class ResetMidStream(Fp2BfpBase):
    """A reset while blocks are in flight: they are dropped, and the unit restarts clean (LFSRs reseeded)."""
    idle, backpressure = "random", "random"

    async def body(self):
        seq = BlockSequence("before", seeds.scaled(100), kinds=("random", "tie"))
        task = cocotb.start_soon(self.run_sequence(seq))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(20, 60)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(BlockSequence("after", seeds.scaled(100), kinds=("random", "tie")))


class _WrongTieScoreboard(WrongModelScoreboard, Fp2BfpScoreboard):
    """A deliberately wrong model: RNE blocks converted with ties away from zero (RNA)."""

    def corrupt(self, expected):
        txn = expected["input"]
        if txn["rounding"] != RNE:
            return expected
        q = Fp2Bfp(block_size())(bits_float32(unpack_words(txn["data"], block_size())), txn["mode"], RNA)
        return {**expected, "exp": int(q.exp[0]), "flags": int(q.flags[0]),
                "sign": sum(int(v) << i for i, v in enumerate(q.sign[0])),
                "mag": sum(int(m) << (16 * i) for i, m in enumerate(q.mag[0]))}


@pyuvm.test()
class ScoreboardCatchesWrongModel(Fp2BfpBase):
    """The scoreboard must catch a model with the wrong tie rule, on the first output it gets wrong."""
    kinds = ("tie",)

    def build_phase(self):
        uvm_factory().set_type_override_by_type(Fp2BfpScoreboard, _WrongTieScoreboard)
        super().build_phase()

    async def body(self):
        await self.run_sequence(BlockSequence("ties", 20, roundings=(1,), kinds=("tie",)))

