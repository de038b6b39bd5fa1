"""fp32_acc tests. One alone: `make sim TOPLEVEL=fp32_acc TESTCASE=<name> [SEED=n] [SIM=verilator] [WAVES=1]`."""
from __future__ import annotations


import cocotb
import pyuvm
from pyuvm import uvm_factory

from fbuvm import seeds
from fbuvm.components import BurstItem, FlexBlockTest, ItemSequence, WrongModelScoreboard
from fp32_acc_env import (SWEEP_EXPONENTS, BoundarySequence, Fp32AccEnv, Fp32AccScoreboard, ReductionSequence, TermItem,
                          p_width, random_term)
from models.pe import acc_job_cycles




class Fp32AccBase(FlexBlockTest):
    env_class = Fp32AccEnv
    kinds = ("normal", "random", "tie", "subnormal", "zero")
    max_len = 20
    count = 150

    async def body(self):
        await self.run_sequence(ReductionSequence("reductions", seeds.scaled(self.count), self.max_len, self.kinds))


@pyuvm.test()
class RandomReductions(Fp32AccBase):
    """Reductions of 1..20 terms over the full P and X ranges, ties, subnormals, zeros and cancellation."""


@pyuvm.test()
class SingleTermReductions(Fp32AccBase):
    """Every term is its own reduction: the full-rate case (one result per cycle)."""
    max_len = 1
    count = 400


@pyuvm.test()
class CycleCount(Fp32AccBase):
    """The throughput promise (docs/spec.md section 4, fp32_acc): terms streamed back to back with the results
    taken at once run at one term per cycle, single-term reductions (one result per cycle) included: the
    measured cycles equal models.pe.acc_job_cycles. (Found by scripts/mutate.py: a 2-entry output FIFO, which
    halves the single-term rate, passed every other fp32_acc test.)"""

    async def body(self):
        rng, pw = seeds.rng("jobs"), p_width()
        for n_red, length in ((12, 1), (3, 5), (1, 9), (6, 2)):
            items = [TermItem(f"r{r}t{i}", *random_term(rng, pw, "normal"), 0, i == length - 1)
                     for r in range(n_red) for i in range(length)]
            self.env.timer.start()
            await self.run_sequence(ItemSequence(f"job{n_red}x{length}", BurstItem("job", items)))
            await self.env.drain()
            got, want = self.env.timer.cycles, acc_job_cycles(n_red * length)
            self.logger.info(f"{n_red} reductions x {length} terms: {got} cycles measured, acc_job_cycles {want}")
            assert got == want, f"{n_red} x {length}: {got} cycles measured, acc_job_cycles says {want}"


@pyuvm.test()
class OverflowAndNaN(Fp32AccBase):
    """Terms beyond binary32: Inf of both signs, Inf - Inf = NaN, NaN stays NaN."""
    kinds = ("overflow", "normal", "overflow", "random")


@pyuvm.test()
class BackPressure(Fp32AccBase):
    idle, backpressure = "random", "bursty"


@pyuvm.test()
class HeavyBackPressure(Fp32AccBase):
    max_len = 3
    idle, backpressure = "none", "heavy"


@pyuvm.test()
class ResetMidStream(Fp32AccBase):
    """A reset in the middle of reductions: partial sums are dropped and the next reduction starts at +0."""
    idle, backpressure = "random", "random"

    async def body(self):
        task = cocotb.start_soon(self.run_sequence(ReductionSequence("before", seeds.scaled(60))))
        await self.env.clock.cycles(int(seeds.rng("reset").integers(20, 200)))
        await self.env.clock.reset()
        await task
        await self.run_sequence(ReductionSequence("after", seeds.scaled(60)))


@pyuvm.test()
class ExponentSweep(Fp32AccBase):
    """Reductions of terms within a few binades of each other, swept over every binary32 exponent (twice):
    aligned additions with carries and cancellation at every exponent field, subnormals and overflow
    included. (Found by scripts/mutate.py: losing the top exponent bit in the lesser operand's hidden-bit
    test, wrong only for values in [2, 4), passed the other fp32_acc tests.)"""
    kinds = ("near",)
    max_len = 8

    async def body(self):
        n_red = seeds.scaled(2 * len(SWEEP_EXPONENTS))
        await self.run_sequence(ReductionSequence("sweep", n_red, self.max_len, self.kinds, sweep=True))


@pyuvm.test()
class RoundingBoundaries(Fp32AccBase):
    """The term rounding (fp32(P * 2^X)) and the sum rounding (fp32(acc + t)) one unit below, at and above
    each boundary (half an LSB, the saturation point, the subnormal flush-to-zero point), with the deciding
    bit at every depth below the half bit (fp32_acc_env.term_boundaries, sum_boundaries)."""

    async def body(self):
        await self.run_sequence(BoundarySequence("boundaries"))


class _NoSubnormalScoreboard(WrongModelScoreboard, Fp32AccScoreboard):
    """A deliberately wrong model: subnormal results flushed to a zero of the same sign."""

    def corrupt(self, expected):
        if (expected["result"] >> 23) & 0xFF == 0:
            return {**expected, "result": expected["result"] & 0x8000_0000}
        return expected


@pyuvm.test()
class ScoreboardCatchesWrongModel(Fp32AccBase):
    """The scoreboard must catch a model that flushes subnormal results, on the first output it gets wrong."""
    kinds = ("subnormal",)
    max_len = 1

    def build_phase(self):
        uvm_factory().set_type_override_by_type(Fp32AccScoreboard, _NoSubnormalScoreboard)
        super().build_phase()
