"""bm_mac tests. One alone: `make sim TOPLEVEL=bm_mac TESTCASE=<name> [SEED=n] [SIM=verilator] [WAVES=1]`."""
from __future__ import annotations

import cocotb
import pyuvm
from pyuvm import uvm_factory

from bm_mac_env import (BlockPair, BmMacEnv, BmMacScoreboard, DotItem, DotSequence, dut_params, predict_dot,
                        random_block)
from fbuvm import seeds
from fbuvm.components import FlexBlockTest, ItemSequence, WrongModelScoreboard
from models import block_minifloat as bm


class BmMacBase(FlexBlockTest):
    env_class = BmMacEnv
    kinds = ("random", "quantized", "zero", "subnormal", "top", "extreme")
    max_len = 8
    count = 60
    a_fmt = None

    async def body(self):
        await self.run_sequence(DotSequence("dots", seeds.scaled(self.count), self.max_len, self.kinds,
                                            self.a_fmt))


@pyuvm.test()
class RandomDots(BmMacBase):
    """Dot products of 1..8 block pairs: random codes, converted binary32 data (NaN/Inf/zero/subnormal),
    zero, subnormal-only and top-code blocks, extreme shared exponents, both A formats, cancellation."""


@pyuvm.test()
class QuantizedCorners(BmMacBase):
    """Blocks converted by the model from binary32 with NaN, Inf, zeros and subnormals (flags set), both
    rounding modes, in the gradient format on A."""
    kinds = ("quantized",)
    a_fmt = 1


@pyuvm.test()
class KulischWorstCase(BmMacBase):
    """Every element the top code, one sign, long dot products: the block sum needs every Kulisch bit."""
    kinds = ("top",)
    max_len = 4


@pyuvm.test()
class ExtremeExponents(BmMacBase):
    """Shared exponents near -128 and 127: terms in binary32's subnormal range, overflow to Inf, Inf - Inf."""
    kinds = ("extreme", "top")


@pyuvm.test()
class SingleBlockDots(BmMacBase):
    """Every block pair is its own dot product: one result per cycle."""
    max_len = 1
    count = 150


@pyuvm.test()
class BackPressure(BmMacBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(BmMacBase):
    max_len = 2
    idle, backpressure = "none", "heavy"


@pyuvm.test()
class ResetMidStream(BmMacBase):
    """A reset in the middle of dot products: beats and partial sums in flight are dropped."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(self.run_sequence(DotSequence("before", seeds.scaled(40), self.max_len)))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(10, 120)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(DotSequence("after", seeds.scaled(40), self.max_len))




@pyuvm.test()
class CyclesMatchModel(BmMacBase):
    """Jobs of R dot products of nb block pairs, streamed as one burst with `out` always ready: the cycles
    from the edge that takes the first beat to the one that takes the last result equal
    models.block_minifloat.mac_job_cycles(R, nb) (the cycle model's one-unit case)."""

    async def body(self):
        rng = seeds.rng("jobs")
        k, fx, fg = dut_params()
        self.logger.info("job (R dots x nb blocks)   measured   model")
        for r, nb in ((1, 1), (1, 5), (4, 1), (3, 4), (8, 3)):
            dots = []
            for _ in range(r):
                pairs = []
                for _ in range(nb):
                    a, b = random_block(rng, fx, k, "random"), random_block(rng, fx, k, "random")
                    pairs.append(BlockPair(0, a[1], a[0], 0, b[1], b[0], 0))
                dots.append(pairs)
            first = len(self.env.beat_edges)
            done = self.env.results + r
            await self.run_sequence(ItemSequence(f"job{r}x{nb}", DotItem(f"job{r}x{nb}", dots)))
            while self.env.results < done:
                self.env.new_result.clear()
                await self.env.clock.within(self.env.new_result.wait(), "job result")
            measured = self.env.result_edge - self.env.beat_edges[first]
            model = bm.mac_job_cycles(r, nb)
            self.logger.info(f"{r} x {nb:<22} {measured:>8} {model:>7}")
            assert measured == model, f"job {r} x {nb}: {measured} cycles measured, the model says {model}"
            await self.env.clock.cycles(5)


class _NoSubnormalScoreboard(WrongModelScoreboard, BmMacScoreboard):
    """A deliberately wrong model: subnormal codes of A read as zero (fbuvm's WrongModelScoreboard checks the
    scoreboard fails on the first output where it differs from the right one, and for that reason only)."""

    def corrupt(self, expected):
        return predict_dot([self._wrong(b) for b in expected["beats"]])

    @staticmethod
    def _wrong(beat):
        k, fx, fg = dut_params()
        fa = fg if beat["a_fmt"] else fx
        out = 0
        for i in range(k):
            c = (beat["a_elems"] >> (fa.bits * i)) & ((1 << fa.bits) - 1)
            if (c >> fa.m) & ((1 << fa.e) - 1) == 0:
                c = 0
            out |= c << (fa.bits * i)
        return dict(beat, a_elems=out)


@pyuvm.test()
class ScoreboardCatchesWrongModel(BmMacBase):
    """With a wrong model the scoreboard must fail, naming the first output where the models disagree."""
    kinds = ("subnormal", "random")
    count = 30

    def build_phase(self):
        uvm_factory().set_type_override_by_type(BmMacScoreboard, _NoSubnormalScoreboard)
        super().build_phase()


