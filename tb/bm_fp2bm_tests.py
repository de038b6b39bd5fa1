"""bm_fp2bm tests. One alone: `make sim TOPLEVEL=bm_fp2bm TESTCASE=<name> [SEED=n] [SIM=verilator] [WAVES=1]`."""
from __future__ import annotations

import cocotb
import numpy as np
import pyuvm
from pyuvm import uvm_factory

from bm_fp2bm_env import BmBlockSequence, BmFp2BmEnv, BmFp2BmScoreboard, predict_block
from fbuvm import seeds
from fp2bfp_env import pack_words, unpack_words
from fbuvm.components import FlexBlockTest, WrongModelScoreboard
from models import block_minifloat as bm


class BmFp2BmBase(FlexBlockTest):
    env_class = BmFp2BmEnv
    kinds = ("random",)
    count = 100
    seed_every = 0

    async def body(self):
        await self.run_sequence(BmBlockSequence("blocks", seeds.scaled(self.count), self.kinds,
                                                seed_every=self.seed_every))


@pyuvm.test()
class RandomBlocks(BmFp2BmBase):
    """Random binary32 blocks (any scale, subnormals included), both formats, SR and RNE."""


@pyuvm.test()
class CornerBlocks(BmFp2BmBase):
    """Zero, NaN (some all-NaN), Inf (with NaN), binary32-subnormal, max below 2^-128, RNE ties on the
    block's grid, saturation of the max, wide spreads (minifloat subnormals and flushes)."""
    kinds = ("zero_block", "nan", "inf", "subnormal32", "tiny_max", "tie", "saturate", "spread", "random")
    count = 200


@pyuvm.test()
class SeedLoads(BmFp2BmBase):
    """SR with seed loads between blocks and in the cycle a block is taken."""
    kinds = ("random", "tie", "spread")
    seed_every = 5


@pyuvm.test()
class BackPressure(BmFp2BmBase):
    kinds = ("random", "tie", "nan")
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(BmFp2BmBase):
    idle, backpressure = "none", "heavy"
    count = 60


@pyuvm.test()
class ResetMidStream(BmFp2BmBase):
    """A reset between blocks in flight: they are dropped, and the LFSRs restart from SR_SEED."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(self.run_sequence(BmBlockSequence("before", seeds.scaled(60), seed_every=7)))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(20, 60)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(BmBlockSequence("after", seeds.scaled(60)))


class _TiesAwayScoreboard(WrongModelScoreboard, BmFp2BmScoreboard):
    """A deliberately wrong model: RNE ties rounded away from zero, not to even (every nonzero finite input
    one binary32 ulp further from zero). fbuvm's WrongModelScoreboard checks the scoreboard fails on the
    first output where it differs from the right one, and for that reason only."""

    def corrupt(self, expected):
        txn = expected["input"]
        if txn["sr"]:
            return expected
        words = unpack_words(txn["data"], self.model.block)
        finite = ((words >> 23) & 0xFF) < 255
        nudged = dict(txn, data=pack_words(np.where(finite & ((words & 0x7FFFFFFF) != 0), words + 1, words)))
        wrong = predict_block(bm.BlockMinifloat(self.model.block), nudged)  # RNE: no random bits
        wrong["input"] = txn
        return wrong


@pyuvm.test()
class ScoreboardCatchesWrongModel(BmFp2BmBase):
    """With a wrong model the scoreboard must fail, naming the first output where the models disagree."""
    kinds = ("tie",)
    count = 20

    def build_phase(self):
        uvm_factory().set_type_override_by_type(BmFp2BmScoreboard, _TiesAwayScoreboard)
        super().build_phase()

    async def body(self):
        await self.run_sequence(BmBlockSequence("ties", seeds.scaled(self.count), self.kinds, srs=(0,)))

