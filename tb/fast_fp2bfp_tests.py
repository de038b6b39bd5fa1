"""fast_fp2bfp tests. One alone: `make sim TOPLEVEL=fast_fp2bfp TESTCASE=<name> [SEED=n] [SIM=verilator]`."""
from __future__ import annotations

import cocotb
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import FlexBlockTest, ScoreboardError
from fast_fp2bfp_env import KINDS, FastFp2BfpEnv, FastFp2BfpScoreboard, GroupSequence, params
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


class _SevenNoiseBitsScoreboard(FastFp2BfpScoreboard):
    """A deliberately wrong model: stochastic rounding with 7 noise bits instead of SR_BITS."""

    def convert(self, words, m, rounding, base):
        g, ew = params()
        return fast.quantize(bits_float32(words), m, rounding, g, ew, base=None if ew == 8 else base,
                             seed=self.seed, first_group=self.done, sr_bits=7)


@pyuvm.test()
class ScoreboardCatchesWrongModel(FastFp2BfpBase):
    """The scoreboard, fed the wrong model above, must stop at the first output where the wrong model
    differs from the right one (computed here alongside), naming expected, actual and seed."""
    kinds = ("random", "tie")
    roundings = (fast.SR,)
    count = 40

    def build_phase(self):
        uvm_factory().set_type_override_by_type(FastFp2BfpScoreboard, _SevenNoiseBitsScoreboard)
        super().build_phase()

    def connect_phase(self):
        super().connect_phase()
        sb = self.env.scoreboard
        self.failures, self.first_diff, self.predicted = [], None, 0
        stop, wrong = sb.fail, sb.convert

        def record(message):
            try:
                stop(message)
            except ScoreboardError as e:
                self.failures.append(str(e))

        def convert(words, m, rounding, base):
            bad = wrong(words, m, rounding, base)
            good = FastFp2BfpScoreboard.convert(sb, words, m, rounding, base)
            if self.first_diff is None and not (good.mag == bad.mag).all():
                self.first_diff = self.predicted
            self.predicted += 1
            return bad
        sb.fail, sb.convert = record, convert

    def check_phase(self):
        assert self.first_diff is not None, "the wrong model never differed: the test proves nothing"
        assert self.failures, "the scoreboard did not catch the wrong model"
        first = self.failures[0]
        assert f"mismatch on output #{self.first_diff}\n" in first, first
        assert "expected" in first and "actual" in first and "seed" in first
        self.logger.info(f"caught as expected: {first.splitlines()[0]} ...")
